package awsorg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"permgraph/collectors/internal/awsclient"
	"permgraph/graph"
)

// Defaults for the live collector, the same for every AWS collector: 8
// attempts, at most 20 s between them. Organizations throttles with
// TooManyRequestsException (HTTP 400 in the API reference, 429 in the
// current service model); the SDK's standard retryer treats that code as a
// throttle whatever the status, backing off up to MaxBackoff. When neither
// --region, AWS_REGION nor the shared config names a region, us-east-1 is
// used: Organizations is a global service, and in the aws partition its
// endpoint is organizations.us-east-1.amazonaws.com.
const (
	DefaultMaxAttempts = awsclient.DefaultMaxAttempts
	DefaultMaxBackoff  = awsclient.DefaultMaxBackoff
	DefaultPageTimeout = 5 * time.Minute
)

// Sentinel errors, wrapped together with the SDK error so callers can both
// classify (errors.Is) and show the provider's message.
var (
	// ErrAccessDenied means the caller may not call an Organizations read
	// operation: it lacks organizations:Describe*/List*, or it runs in a
	// member account that is not a delegated administrator.
	ErrAccessDenied = errors.New("access denied")
	// ErrNotInOrganization means the credentials' account is not a member
	// of any organisation (AWSOrganizationsNotInUseException).
	ErrNotInOrganization = errors.New("account is not in an AWS organization")
	// ErrCredentialsRejected means AWS did not accept the credentials.
	ErrCredentialsRejected = errors.New("credentials rejected")
)

// LiveOptions configures NewLiveClient.
type LiveOptions struct {
	// Profile selects a shared config/credentials profile (--profile);
	// empty means the SDK default chain.
	Profile string
	// Region overrides the configured region; empty falls back to the
	// default chain and then to us-east-1.
	Region string
	// EndpointURL overrides the Organizations endpoint (--endpoint-url).
	EndpointURL string
	// MaxAttempts is the total number of attempts per request, including the
	// first (default DefaultMaxAttempts).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts (default DefaultMaxBackoff).
	MaxBackoff time.Duration
	// HTTPClient replaces the SDK's HTTP client (tests).
	HTTPClient *http.Client
	// Logger receives the SDK's retry messages at debug level. Request and
	// signing logs are never enabled, so credentials cannot reach it.
	Logger *slog.Logger
}

// NewLiveClient builds an Organizations client from the default AWS
// configuration chain with a retryer that waits out throttling.
func NewLiveClient(ctx context.Context, o LiveOptions) (*organizations.Client, error) {
	cfg, err := awsclient.LoadConfig(ctx, awsclient.Options{
		Profile: o.Profile, Region: o.Region,
		EndpointURL: o.EndpointURL, EndpointExample: "https://organizations.us-east-1.amazonaws.com",
		MaxAttempts: o.MaxAttempts, MaxBackoff: o.MaxBackoff,
		HTTPClient: o.HTTPClient, Logger: o.Logger,
		Retryables: []retry.IsErrorRetryable{retryServiceException},
	})
	if err != nil {
		return nil, fmt.Errorf("awsorg: %w", err)
	}
	client := organizations.NewFromConfig(cfg.AWS, func(oo *organizations.Options) {
		if o.EndpointURL != "" {
			oo.BaseEndpoint = aws.String(o.EndpointURL)
		}
	})
	if o.Logger != nil {
		o.Logger.Debug("awsorg: Organizations client ready", "profile", o.Profile, "region", cfg.AWS.Region,
			"endpoint", cfg.Endpoint, "max_attempts", cfg.MaxAttempts, "max_backoff", cfg.MaxBackoff)
	}
	return client, nil
}

// retryServiceException retries Organizations' ServiceException ("try again
// later"), which the API reference documents with HTTP 400 and so escapes
// the SDK's 5xx rule. Every call this package makes is a read.
var retryServiceException = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ServiceException" {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// LiveCollector reads one organisation's structure and SCPs through the
// Organizations API and maps them exactly as FileCollector maps a file.
// It needs organizations:Describe* and organizations:List* and must run in
// the management account or a delegated administrator account.
type LiveCollector struct {
	// Client is the Organizations client, from NewLiveClient or a test.
	Client *organizations.Client
	Logger *slog.Logger
	// PageTimeout bounds each request including its retries (default
	// DefaultPageTimeout; negative disables it).
	PageTimeout time.Duration
	// Counts is filled in by Collect.
	Counts Counts
}

// liveRun is the state of one Collect call.
type liveRun struct {
	client  *organizations.Client
	log     *slog.Logger
	timeout time.Duration
	// management is the management account id once known, for messages.
	management string
	calls      int
}

// Collect walks the organisation: DescribeOrganization, ListRoots, then
// breadth-first ListOrganizationalUnitsForParent and ListAccountsForParent
// from each root, then ListPolicies (SCPs), DescribePolicy and
// ListTargetsForPolicy for each. Every list is paged to its end.
func (c *LiveCollector) Collect(ctx context.Context, sink graph.Sink) error {
	if c.Client == nil {
		return errors.New("awsorg: live collector has no Organizations client")
	}
	r := &liveRun{client: c.Client, log: c.Logger, timeout: c.PageTimeout}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.timeout == 0 {
		r.timeout = DefaultPageTimeout
	}
	em := newEmitter(sink, false)
	defer func() { c.Counts = em.counts }()

	org, err := call(ctx, r, "DescribeOrganization", "", func(ctx context.Context) (*organizations.DescribeOrganizationOutput, error) {
		return r.client.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}, withRejectEmptyBody)
	})
	if err != nil {
		return err
	}
	if org.Organization == nil {
		return opErr("DescribeOrganization: response has no Organization")
	}
	o := org.Organization
	if err := em.organization(orgRecord{
		ID: aws.ToString(o.Id), Arn: aws.ToString(o.Arn), FeatureSet: string(o.FeatureSet),
		MasterAccountID: aws.ToString(o.MasterAccountId), MasterAccountArn: aws.ToString(o.MasterAccountArn),
		MasterAccountEmail: aws.ToString(o.MasterAccountEmail),
	}); err != nil {
		return opErr("DescribeOrganization: Organization: %w", err)
	}
	r.management = em.org.MasterAccountID

	// Breadth-first: parents holds the roots and OUs whose children are
	// still to be listed.
	var parents []string
	err = eachPage(ctx, r, "ListRoots", "",
		organizations.NewListRootsPaginator(r.client, &organizations.ListRootsInput{}),
		func(out *organizations.ListRootsOutput) *string { return out.NextToken },
		func(out *organizations.ListRootsOutput) (int, error) {
			for i, root := range out.Roots {
				rec := rootRecord{ID: aws.ToString(root.Id), Arn: aws.ToString(root.Arn), Name: aws.ToString(root.Name)}
				for _, pt := range root.PolicyTypes {
					if pt.Type == types.PolicyTypeServiceControlPolicy {
						rec.SCPStatus = string(pt.Status)
					}
				}
				if err := em.root(fmt.Sprintf("Roots[%d]", i), rec); err != nil {
					return 0, err
				}
				parents = append(parents, rec.ID)
			}
			return len(out.Roots), nil
		})
	if err != nil {
		return err
	}
	if len(parents) == 0 {
		return opErr("ListRoots: the organization has no root")
	}
	for len(parents) > 0 {
		parent := parents[0]
		parents = parents[1:]
		err := eachPage(ctx, r, "ListOrganizationalUnitsForParent", parent,
			organizations.NewListOrganizationalUnitsForParentPaginator(r.client,
				&organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)}),
			func(out *organizations.ListOrganizationalUnitsForParentOutput) *string { return out.NextToken },
			func(out *organizations.ListOrganizationalUnitsForParentOutput) (int, error) {
				for i, ou := range out.OrganizationalUnits {
					rec := ouRecord{ID: aws.ToString(ou.Id), Arn: aws.ToString(ou.Arn), Name: aws.ToString(ou.Name), ParentID: parent}
					isNew, err := em.ou(fmt.Sprintf("OrganizationalUnits[%d]", i), rec)
					if err != nil {
						return 0, err
					}
					if isNew {
						parents = append(parents, rec.ID)
					}
				}
				return len(out.OrganizationalUnits), nil
			})
		if err != nil {
			return err
		}
		err = eachPage(ctx, r, "ListAccountsForParent", parent,
			organizations.NewListAccountsForParentPaginator(r.client,
				&organizations.ListAccountsForParentInput{ParentId: aws.String(parent)}),
			func(out *organizations.ListAccountsForParentOutput) *string { return out.NextToken },
			func(out *organizations.ListAccountsForParentOutput) (int, error) {
				for i, a := range out.Accounts {
					rec := accountRecord{ID: aws.ToString(a.Id), Arn: aws.ToString(a.Arn), Email: aws.ToString(a.Email),
						Name: aws.ToString(a.Name), Status: string(a.Status), State: string(a.State),
						JoinedMethod: string(a.JoinedMethod), Joined: rfc3339(a.JoinedTimestamp), ParentID: parent}
					if err := em.account(fmt.Sprintf("Accounts[%d]", i), rec); err != nil {
						return 0, err
					}
				}
				return len(out.Accounts), nil
			})
		if err != nil {
			return err
		}
	}
	em.markStructureDone()

	if em.org.FeatureSet == string(types.OrganizationFeatureSetConsolidatedBilling) {
		// Only organisations with all features have policies.
		r.log.Debug("awsorg: organization has consolidated billing only; no SCPs to list", "org", em.org.ID)
	} else if err := r.collectSCPs(ctx, em); err != nil {
		return err
	}

	warnings, err := em.finish()
	if err != nil {
		return fmt.Errorf("awsorg: %w", err)
	}
	for _, w := range warnings {
		sink.Warn(em.source(), w)
	}
	r.log.Info("awsorg: collected organization", "org", em.org.ID, "calls", r.calls,
		"roots", em.counts.Roots, "ous", em.counts.OUs, "accounts", em.counts.Accounts,
		"scps", em.counts.Policies, "attachments", em.counts.Attachments, "warnings", len(warnings))
	return nil
}

// collectSCPs lists the SCPs and, for each, its content and targets.
func (r *liveRun) collectSCPs(ctx context.Context, em *emitter) error {
	return eachPage(ctx, r, "ListPolicies", "",
		organizations.NewListPoliciesPaginator(r.client, &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy}),
		func(out *organizations.ListPoliciesOutput) *string { return out.NextToken },
		func(out *organizations.ListPoliciesOutput) (int, error) {
			for i, s := range out.Policies {
				id := aws.ToString(s.Id)
				rec := policyRecord{ID: id, Arn: aws.ToString(s.Arn), Name: aws.ToString(s.Name),
					Description: aws.ToString(s.Description), Type: string(s.Type), AwsManaged: s.AwsManaged}
				where := fmt.Sprintf("Policies[%d]", i)
				if !validPolicyID(id) {
					return 0, fmt.Errorf("%s: field Id: %q is not a policy id (p-…)", where, id)
				}
				if rec.Type == "" {
					rec.Type = PolicyTypeSCP // the list was filtered to SCPs
				}
				desc, err := call(ctx, r, "DescribePolicy", id, func(ctx context.Context) (*organizations.DescribePolicyOutput, error) {
					return r.client.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)}, withRejectEmptyBody)
				})
				if err != nil {
					return 0, err
				}
				if desc.Policy == nil || desc.Policy.Content == nil {
					return 0, opErr("DescribePolicy %s: response has no Policy.Content", id)
				}
				if ds := desc.Policy.PolicySummary; ds != nil && ds.Id != nil && *ds.Id != id {
					return 0, opErr("DescribePolicy %s: response describes policy %q", id, aws.ToString(ds.Id))
				}
				rec.Content, err = compactContent(*desc.Policy.Content)
				if err != nil {
					return 0, opErr("DescribePolicy %s (%s): field Content: %w", id, rec.Name, err)
				}
				err = eachPage(ctx, r, "ListTargetsForPolicy", id,
					organizations.NewListTargetsForPolicyPaginator(r.client, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(id)}),
					func(out *organizations.ListTargetsForPolicyOutput) *string { return out.NextToken },
					func(out *organizations.ListTargetsForPolicyOutput) (int, error) {
						for _, t := range out.Targets {
							rec.Targets = append(rec.Targets, targetRecord{TargetID: aws.ToString(t.TargetId),
								Arn: aws.ToString(t.Arn), Name: aws.ToString(t.Name), Type: string(t.Type)})
						}
						return len(out.Targets), nil
					})
				if err != nil {
					return 0, err
				}
				if err := em.policy(where, rec); err != nil {
					return 0, err
				}
			}
			return len(out.Policies), nil
		})
}

func rfc3339(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// pager is what the SDK's generated paginators have in common.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*organizations.Options)) (O, error)
}

// eachPage pages p to its end, handing each page to fn (which returns the
// number of items, for the debug log). subject names the parent or policy.
// An empty page with a NextToken is normal for Organizations and is followed;
// a NextToken equal to the previous one is an error rather than a loop.
func eachPage[O any](ctx context.Context, r *liveRun, op, subject string, p pager[O], next func(O) *string, fn func(O) (int, error)) error {
	prev := ""
	for page := 1; p.HasMorePages(); page++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("awsorg: %s page %d: %w", label(op, subject), page, err)
		}
		out, err := callOnce(ctx, r, func(ctx context.Context) (O, error) { return p.NextPage(ctx, withRejectEmptyBody) })
		if err != nil {
			return r.classify(ctx, op, subject, page, err)
		}
		tok := aws.ToString(next(out))
		if tok != "" && tok == prev {
			return fmt.Errorf("awsorg: %s page %d: Organizations returned the same NextToken as the previous page; stopping to avoid an endless loop", label(op, subject), page)
		}
		prev = tok
		n, err := fn(out)
		if err != nil {
			var le *liveError
			if errors.As(err, &le) {
				return err
			}
			return fmt.Errorf("awsorg: %s page %d: %w", label(op, subject), page, err)
		}
		r.log.Debug("awsorg: page", "op", op, "subject", subject, "page", page, "items", n, "more", tok != "")
	}
	return nil
}

// call makes one non-paginated request.
func call[O any](ctx context.Context, r *liveRun, op, subject string, fn func(context.Context) (O, error)) (O, error) {
	if err := ctx.Err(); err != nil {
		var zero O
		return zero, fmt.Errorf("awsorg: %s: %w", label(op, subject), err)
	}
	out, err := callOnce(ctx, r, fn)
	if err != nil {
		var zero O
		return zero, r.classify(ctx, op, subject, 0, err)
	}
	return out, nil
}

// callOnce runs fn (one SDK call with its retries) under the page timeout.
func callOnce[O any](ctx context.Context, r *liveRun, fn func(context.Context) (O, error)) (O, error) {
	r.calls++
	return awsclient.CallWithTimeout(ctx, r.timeout, fn)
}

func label(op, subject string) string {
	if subject == "" {
		return op
	}
	return op + " " + subject
}

// liveError marks an error already wrapped with its operation, so outer
// pages do not wrap it again.
type liveError struct{ err error }

// opErr is an error about an operation's response: "awsorg: " + format.
func opErr(format string, args ...any) error {
	return &liveError{err: fmt.Errorf("awsorg: "+format, args...)}
}

func (e *liveError) Error() string { return e.err.Error() }
func (e *liveError) Unwrap() error { return e.err }

// credentialsRejected adds to awsclient's codes the JSON protocol's
// signature error, which Organizations may return.
func credentialsRejected(code string) bool {
	return awsclient.CredentialsRejected(code) || code == "InvalidSignatureException"
}

// classify wraps a failed request with the operation, the subject, the page
// and, for errors a user can act on, what to do.
func (r *liveRun) classify(ctx context.Context, op, subject string, page int, err error) error {
	where := "awsorg: " + label(op, subject)
	if page > 0 {
		where = fmt.Sprintf("%s page %d", where, page)
	}
	wrap := func(format string, args ...any) error { return &liveError{err: fmt.Errorf(format, args...)} }
	if ctxErr := ctx.Err(); ctxErr != nil {
		return wrap("%s: %w", where, ctxErr)
	}
	var pt *awsclient.PageTimeoutError
	if errors.As(err, &pt) {
		return wrap("%s: no complete response within the page timeout (%s): %w", where, r.timeout, pt.Err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case awsclient.AccessDenied(code):
			mgmt := ""
			if r.management != "" {
				mgmt = " (" + r.management + ")"
			}
			return wrap("%s: %w: the AWS identity lacks permission organizations:%s, or runs in a member account that is not a delegated administrator. "+
				"Grant organizations:Describe* and organizations:List* (for example the AWS managed policy AWSOrganizationsReadOnlyAccess) "+
				"and run the collector in the organization's management account%s or a delegated administrator account: %w",
				where, ErrAccessDenied, op, mgmt, err)
		case code == "AWSOrganizationsNotInUseException":
			return wrap("%s: %w: the account of these credentials is not a member of an organization; "+
				"run the collector with credentials of the organization's management account or a delegated administrator account: %w",
				where, ErrNotInOrganization, err)
		case credentialsRejected(code):
			return wrap("%s: %w (%s): check --profile, refresh the SSO or session credentials, and the system clock: %w",
				where, ErrCredentialsRejected, code, err)
		}
	}
	return wrap("%s: %w", where, err)
}

// withRejectEmptyBody makes a 2xx response with an empty body an error
// (see awsclient.RejectEmptyBody): the SDK's JSON deserializer would take it
// as an empty result with no NextToken, so a paginator would stop early and
// the walk would silently miss children. The error is retried like a body
// cut short.
func withRejectEmptyBody(o *organizations.Options) {
	o.APIOptions = append(o.APIOptions, awsclient.RejectEmptyBody("permgraphOrgRejectEmptyBody"))
}
