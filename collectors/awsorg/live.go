package awsorg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"permgraph/graph"
)

// Defaults for the live collector. Organizations throttles with
// TooManyRequestsException (HTTP 400 in the API reference, 429 in the
// current service model); the SDK's standard retryer treats that code as a
// throttle whatever the status, backing off up to MaxBackoff.
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 20 * time.Second
	DefaultPageTimeout = 5 * time.Minute
	// defaultRegion is used when neither --region, AWS_REGION nor the shared
	// config names one. Organizations is a global service: in the aws
	// partition its endpoint is organizations.us-east-1.amazonaws.com.
	defaultRegion = "us-east-1"
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
	if o.MaxAttempts < 0 {
		return nil, fmt.Errorf("awsorg: max attempts must be >= 1, got %d", o.MaxAttempts)
	}
	if o.MaxBackoff < 0 {
		return nil, fmt.Errorf("awsorg: max backoff must not be negative, got %s", o.MaxBackoff)
	}
	maxAttempts := o.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = DefaultMaxAttempts
	}
	maxBackoff := o.MaxBackoff
	if maxBackoff == 0 {
		maxBackoff = DefaultMaxBackoff
	}
	endpointForLog := ""
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("awsorg: --endpoint-url: want an absolute http(s) URL such as https://organizations.us-east-1.amazonaws.com")
		}
		endpointForLog = u.Redacted()
	}

	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				so.MaxBackoff = maxBackoff
				// Without a rate limiter: the default token bucket gives up
				// with "retry quota exceeded" under sustained throttling,
				// and Organizations' request quotas are low.
				so.RateLimiter = ratelimit.None
				so.Retryables = append(so.Retryables, retryServiceException, retryCutShortBody)
			})
		}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	} else {
		opts = append(opts, config.WithDefaultRegion(defaultRegion))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	if o.Logger != nil {
		opts = append(opts, config.WithLogger(sdkLogger{l: o.Logger}), config.WithClientLogMode(aws.LogRetries))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		if o.Profile != "" {
			return nil, fmt.Errorf("awsorg: load AWS config for profile %q: %w", o.Profile, err)
		}
		return nil, fmt.Errorf("awsorg: load AWS config: %w", err)
	}
	client := organizations.NewFromConfig(cfg, func(oo *organizations.Options) {
		if o.EndpointURL != "" {
			oo.BaseEndpoint = aws.String(o.EndpointURL)
		}
	})
	if o.Logger != nil {
		o.Logger.Debug("awsorg: Organizations client ready", "profile", o.Profile, "region", cfg.Region,
			"endpoint", endpointForLog, "max_attempts", maxAttempts, "max_backoff", maxBackoff)
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

// retryCutShortBody retries a response whose body ended early (connection
// reset mid-body), which the SDK reports as a deserialization error.
var retryCutShortBody = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// sdkLogger forwards the SDK's log lines to slog: debug lines (retries) at
// debug, warnings at warn.
type sdkLogger struct {
	l   *slog.Logger
	ctx context.Context
}

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	s.l.Log(ctx, level, "aws-sdk: "+fmt.Sprintf(format, v...))
}

func (s sdkLogger) WithContext(ctx context.Context) logging.Logger {
	return sdkLogger{l: s.l, ctx: ctx}
}

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
	if r.timeout <= 0 {
		return fn(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	out, err := fn(tctx)
	if err != nil && tctx.Err() != nil && ctx.Err() == nil {
		return out, &pageTimeoutError{err: tctx.Err(), sdk: err}
	}
	return out, err
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

type pageTimeoutError struct{ err, sdk error }

func (e *pageTimeoutError) Error() string { return e.sdk.Error() }
func (e *pageTimeoutError) Unwrap() error { return e.err }

var badCredsCodes = map[string]bool{
	"InvalidClientTokenId": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
	"MissingAuthenticationToken": true, "ExpiredToken": true, "ExpiredTokenException": true,
	"UnrecognizedClientException": true, "RequestExpired": true, "InvalidSignatureException": true,
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
	var pt *pageTimeoutError
	if errors.As(err, &pt) {
		return wrap("%s: no complete response within the page timeout (%s): %w", where, r.timeout, pt.err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case code == "AccessDeniedException" || code == "AccessDenied":
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
		case badCredsCodes[code]:
			return wrap("%s: %w (%s): check --profile, refresh the SSO or session credentials, and the system clock: %w",
				where, ErrCredentialsRejected, code, err)
		}
	}
	return wrap("%s: %w", where, err)
}

// withRejectEmptyBody makes a 2xx response with an empty body an error. The
// SDK's JSON deserializer takes it as an empty result with no NextToken, so
// a paginator would stop early and the walk would silently miss children.
// The error wraps io.ErrUnexpectedEOF, which the retryer retries.
func withRejectEmptyBody(o *organizations.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		// Added last with After: innermost in the deserialize step, so it
		// sees the raw response before the operation deserializer.
		return stack.Deserialize.Add(rejectEmptyBody{}, middleware.After)
	})
}

type rejectEmptyBody struct{}

func (rejectEmptyBody) ID() string { return "permgraphOrgRejectEmptyBody" }

func (rejectEmptyBody) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 || resp.Body == nil {
		return out, md, nil
	}
	br := bufio.NewReader(resp.Body)
	if _, perr := br.Peek(1); errors.Is(perr, io.EOF) {
		_ = resp.Body.Close()
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("HTTP %d with an empty body: %w", resp.StatusCode, io.ErrUnexpectedEOF)}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{br, resp.Body}
	return out, md, nil
}
