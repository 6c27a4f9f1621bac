package awsiam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"permgraph/collectors/internal/awsclient"
	"permgraph/graph"
)

// Defaults for the live collector, the same for every AWS collector: 8
// attempts, at most 20 s between them. IAM throttles with HTTP 400
// "Throttling" (not 429); the SDK's standard retryer already classifies that
// code as a throttle and backs off from a 1 s base, capped by MaxBackoff.
// When neither --region, AWS_REGION nor the shared config names a region,
// us-east-1 is used: IAM is a global service, and in the aws partition every
// region resolves to iam.amazonaws.com, signed for us-east-1.
const (
	DefaultMaxAttempts = awsclient.DefaultMaxAttempts
	DefaultMaxBackoff  = awsclient.DefaultMaxBackoff
	DefaultPageTimeout = 5 * time.Minute
)

// Sentinel errors, wrapped together with the SDK error so callers can both
// classify (errors.Is) and show the provider's message.
var (
	// ErrAccessDenied means the caller's identity may not call
	// iam:GetAccountAuthorizationDetails.
	ErrAccessDenied = errors.New("access denied")
	// ErrCredentialsRejected means AWS did not accept the credentials
	// (unknown key, bad signature, expired session token).
	ErrCredentialsRejected = errors.New("credentials rejected")
)

// LiveOptions configures NewLiveClient.
type LiveOptions struct {
	// Profile selects a shared config/credentials profile (--profile);
	// empty means the default chain (env, AWS_PROFILE, default profile, SSO,
	// web identity, container and instance roles).
	Profile string
	// Region overrides the configured region; empty falls back to the
	// default chain and then to us-east-1.
	Region string
	// EndpointURL overrides the IAM endpoint (--endpoint-url), for example a
	// VPC endpoint or a test server. GovCloud and China need only Region.
	EndpointURL string
	// MaxAttempts is the total number of attempts per request, including the
	// first (default DefaultMaxAttempts).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts (default DefaultMaxBackoff).
	// Tests shrink it to milliseconds.
	MaxBackoff time.Duration
	// HTTPClient replaces the SDK's HTTP client (tests).
	HTTPClient *http.Client
	// Logger receives the SDK's retry messages at debug level. Request and
	// signing logs are never enabled, so credentials cannot reach it.
	Logger *slog.Logger
	// AssumeRoleARN, when set, makes the client assume this role (with the
	// default chain's credentials) before calling IAM: how an organisation
	// run reaches member accounts (e.g. OrganizationAccountAccessRole).
	AssumeRoleARN string
}

// NewLiveClient builds an IAM client from the default AWS configuration
// chain with a retryer suited to IAM's throttling.
func NewLiveClient(ctx context.Context, o LiveOptions) (*iam.Client, error) {
	cfg, err := awsclient.LoadConfig(ctx, awsclient.Options{
		Profile: o.Profile, Region: o.Region,
		EndpointURL: o.EndpointURL, EndpointExample: "https://iam.example.com",
		MaxAttempts: o.MaxAttempts, MaxBackoff: o.MaxBackoff,
		HTTPClient: o.HTTPClient, Logger: o.Logger, AssumeRoleARN: o.AssumeRoleARN,
	})
	if err != nil {
		return nil, fmt.Errorf("awsiam: %w", err)
	}
	client := iam.NewFromConfig(cfg.AWS, func(iopts *iam.Options) {
		if o.EndpointURL != "" {
			iopts.BaseEndpoint = aws.String(o.EndpointURL)
		}
	})
	if o.Logger != nil {
		o.Logger.Debug("awsiam: IAM client ready", "profile", o.Profile, "region", cfg.AWS.Region,
			"endpoint", cfg.Endpoint, "max_attempts", cfg.MaxAttempts, "max_backoff", cfg.MaxBackoff)
	}
	return client, nil
}

// LiveCollector reads one AWS account's IAM configuration with
// GetAccountAuthorizationDetails and maps it exactly as FileCollector maps an
// export of the same call.
type LiveCollector struct {
	// Client is the IAM client, built by NewLiveClient or injected by tests.
	Client *iam.Client
	Logger *slog.Logger
	// PageTimeout bounds each page request including its retries (default
	// DefaultPageTimeout; negative disables it), so a hung connection cannot
	// stall a scheduled snapshot forever.
	PageTimeout time.Duration
	// STS, when set, is asked once per Collect who the caller is
	// (sts:GetCallerIdentity needs no permission), so the snapshot manifest
	// can name the identity this run's CloudTrail events carry. Nil skips
	// it (tests, offline). NewLiveSTS builds one from the IAM client.
	STS *sts.Client
	// Counts is filled in by Collect.
	Counts Counts

	identities []string
}

// CallerIdentities returns who the last Collect called AWS as: the caller
// ARN and, for a role session, also the role's ARN (CloudTrail logs the
// session; detect resolves sessions to their role). Empty when unknown.
func (c *LiveCollector) CallerIdentities() []string { return c.identities }

// NewLiveSTS returns an STS client with the IAM client's region,
// credentials, HTTP client and retryer (at most 2 attempts: the identity is
// informational). endpoint overrides the STS endpoint; empty reuses the
// IAM client's custom endpoint when it has one (a test server or an
// emulator serving both), else the regional STS endpoint.
func NewLiveSTS(client *iam.Client, endpoint string) *sts.Client {
	o := client.Options()
	so := sts.Options{
		Region: o.Region, Credentials: o.Credentials, HTTPClient: o.HTTPClient,
		Retryer: o.Retryer, RetryMaxAttempts: 2, Logger: o.Logger, ClientLogMode: o.ClientLogMode, AppID: o.AppID,
		BaseEndpoint: o.BaseEndpoint,
	}
	if endpoint != "" {
		so.BaseEndpoint = aws.String(endpoint)
	}
	return sts.New(so)
}

// identityTimeout bounds the GetCallerIdentity call.
const identityTimeout = 15 * time.Second

// callerIdentities asks STS who the credentials are. A failure is logged at
// debug level and yields nothing: it must never stop a collection.
func callerIdentities(ctx context.Context, client *sts.Client, log *slog.Logger) []string {
	ctx, cancel := context.WithTimeout(ctx, identityTimeout)
	defer cancel()
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Debug("awsiam: sts:GetCallerIdentity failed; this run's identity is not recorded", "err", err)
		return nil
	}
	arn := aws.ToString(out.Arn)
	if arn == "" {
		return nil
	}
	ids := []string{arn}
	if role := roleOfSession(arn); role != "" {
		ids = append(ids, role)
	}
	return ids
}

// roleOfSession maps arn:PARTITION:sts::ACCT:assumed-role/NAME/SESSION to
// arn:PARTITION:iam::ACCT:role/NAME ("" for any other ARN). The role's path
// is not in the session ARN.
func roleOfSession(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return ""
	}
	name, _, ok := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
	if !ok || name == "" {
		return ""
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + name
}

// Collect pages through GetAccountAuthorizationDetails (no filter: users,
// groups, roles, customer and AWS managed policies) and streams each page
// into sink; no page is kept once it has been emitted.
func (c *LiveCollector) Collect(ctx context.Context, sink graph.Sink) error {
	if c.Client == nil {
		return errors.New("awsiam: live collector has no IAM client")
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := c.PageTimeout
	if timeout == 0 {
		timeout = DefaultPageTimeout
	}
	c.identities = nil
	if c.STS != nil {
		c.identities = callerIdentities(ctx, c.STS, log)
	}

	em := newEmitter(sink)
	defer func() { c.Counts = em.counts }()
	lc := liveConverter{em: em}
	p := iam.NewGetAccountAuthorizationDetailsPaginator(c.Client, &iam.GetAccountAuthorizationDetailsInput{})
	page := 0
	prevMarker := ""
	for p.HasMorePages() {
		page++
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("awsiam: GetAccountAuthorizationDetails page %d: %w", page, err)
		}
		out, err := awsclient.CallWithTimeout(ctx, timeout, func(ctx context.Context) (*iam.GetAccountAuthorizationDetailsOutput, error) {
			return p.NextPage(ctx, withRejectEmptyBody)
		})
		if err != nil {
			return classifyPageError(ctx, page, timeout, err)
		}
		marker := aws.ToString(out.Marker)
		if out.IsTruncated && marker == "" {
			return fmt.Errorf("awsiam: GetAccountAuthorizationDetails page %d: response has IsTruncated=true but no Marker; refusing to return a partial account", page)
		}
		if marker != "" && marker == prevMarker {
			return fmt.Errorf("awsiam: GetAccountAuthorizationDetails page %d: IAM returned the same Marker as the previous page; stopping to avoid an endless loop", page)
		}
		prevMarker = marker
		if err := lc.page(out); err != nil {
			return fmt.Errorf("awsiam: GetAccountAuthorizationDetails page %d: %w", page, err)
		}
		log.Debug("awsiam: GetAccountAuthorizationDetails page", "page", page,
			"users", len(out.UserDetailList), "groups", len(out.GroupDetailList),
			"roles", len(out.RoleDetailList), "policies", len(out.Policies), "truncated", out.IsTruncated)
	}
	warnings, err := em.finish()
	if err != nil {
		return fmt.Errorf("awsiam: GetAccountAuthorizationDetails: %w", err)
	}
	for _, w := range warnings {
		sink.Warn(em.source(), w)
	}
	log.Info("awsiam: collected IAM", "account", em.account, "pages", page,
		"users", em.counts.Users, "groups", em.counts.Groups, "roles", em.counts.Roles,
		"policies", em.counts.Policies, "inline_policies", em.counts.InlinePolicies, "warnings", len(warnings))
	return nil
}

// withRejectEmptyBody makes a 2xx response with an empty body an error
// (see awsclient.RejectEmptyBody): the SDK's awsQuery deserializer would
// take it as a last page and the collection would silently miss every later
// page. The error is retried like a body cut short.
func withRejectEmptyBody(o *iam.Options) {
	o.APIOptions = append(o.APIOptions, awsclient.RejectEmptyBody("permgraphRejectEmptyBody"))
}

// classifyPageError wraps a failed page with the operation, page number and,
// for the errors a user can act on, what to do.
func classifyPageError(ctx context.Context, page int, timeout time.Duration, err error) error {
	const op = "awsiam: GetAccountAuthorizationDetails"
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s page %d: %w", op, page, ctxErr)
	}
	var pt *awsclient.PageTimeoutError
	if errors.As(err, &pt) {
		return fmt.Errorf("%s page %d: no complete response within the page timeout (%s): %w", op, page, timeout, pt.Err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := ae.ErrorCode(); {
		case awsclient.AccessDenied(code):
			return fmt.Errorf("%s page %d: %w: the AWS identity lacks permission iam:GetAccountAuthorizationDetails "+
				"(grant it, for example with the AWS managed SecurityAudit policy, and check SCPs and permission boundaries): %w",
				op, page, ErrAccessDenied, err)
		case awsclient.CredentialsRejected(code):
			return fmt.Errorf("%s page %d: %w (%s): check --profile, refresh the SSO or session credentials, and the system clock: %w",
				op, page, ErrCredentialsRejected, code, err)
		}
	}
	return fmt.Errorf("%s page %d: %w", op, page, err)
}

// liveConverter turns SDK page types into the gaad* records the emitter
// understands. Entities that arrive before the account is known (an AWS
// managed policy's ARN names no account) are queued by the emitter itself.
type liveConverter struct {
	em *emitter
}

func (lc *liveConverter) page(out *iam.GetAccountAuthorizationDetailsOutput) error {
	for i, u := range out.UserDetailList {
		g, err := convertUser(u)
		if err == nil {
			err = lc.em.user(g)
		}
		if err != nil {
			return fmt.Errorf("UserDetailList[%d]: %w", i, err)
		}
	}
	for i, gd := range out.GroupDetailList {
		g, err := convertGroup(gd)
		if err == nil {
			err = lc.em.group(g)
		}
		if err != nil {
			return fmt.Errorf("GroupDetailList[%d]: %w", i, err)
		}
	}
	for i, r := range out.RoleDetailList {
		g, err := convertRole(r)
		if err == nil {
			err = lc.em.role(g)
		}
		if err != nil {
			return fmt.Errorf("RoleDetailList[%d]: %w", i, err)
		}
	}
	for i, pd := range out.Policies {
		g, err := convertPolicy(pd)
		if err == nil {
			err = lc.em.policy(g)
		}
		if err != nil {
			return fmt.Errorf("Policies[%d]: %w", i, err)
		}
	}
	return nil
}

// rawDocument carries an API policy document (URL-encoded JSON text) as a
// JSON string, which normalizeDocument decodes like an export's string form.
func rawDocument(s *string) (json.RawMessage, error) {
	if s == nil {
		return nil, nil
	}
	b, err := json.Marshal(*s)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func isoDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func convertAttached(in []types.AttachedPolicy) []gaadAttachedPolicy {
	if len(in) == 0 {
		return nil
	}
	out := make([]gaadAttachedPolicy, len(in))
	for i, p := range in {
		out[i] = gaadAttachedPolicy{PolicyName: aws.ToString(p.PolicyName), PolicyArn: aws.ToString(p.PolicyArn)}
	}
	return out
}

func convertInline(in []types.PolicyDetail) ([]gaadInlinePolicy, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]gaadInlinePolicy, len(in))
	for i, p := range in {
		doc, err := rawDocument(p.PolicyDocument)
		if err != nil {
			return nil, fmt.Errorf("inline policy %q: field PolicyDocument: %w", aws.ToString(p.PolicyName), err)
		}
		out[i] = gaadInlinePolicy{PolicyName: aws.ToString(p.PolicyName), PolicyDocument: doc}
	}
	return out, nil
}

func convertBoundary(b *types.AttachedPermissionsBoundary) *gaadBoundary {
	if b == nil {
		return nil
	}
	return &gaadBoundary{PermissionsBoundaryType: string(b.PermissionsBoundaryType), PermissionsBoundaryArn: aws.ToString(b.PermissionsBoundaryArn)}
}

func convertTags(in []types.Tag) []gaadTag {
	if len(in) == 0 {
		return nil
	}
	out := make([]gaadTag, len(in))
	for i, t := range in {
		out[i] = gaadTag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)}
	}
	return out
}

func convertUser(u types.UserDetail) (gaadUser, error) {
	inline, err := convertInline(u.UserPolicyList)
	if err != nil {
		return gaadUser{}, fmt.Errorf("user %q: %w", aws.ToString(u.UserName), err)
	}
	return gaadUser{
		Path:                    aws.ToString(u.Path),
		UserName:                aws.ToString(u.UserName),
		UserID:                  aws.ToString(u.UserId),
		Arn:                     aws.ToString(u.Arn),
		CreateDate:              isoDate(u.CreateDate),
		GroupList:               u.GroupList,
		AttachedManagedPolicies: convertAttached(u.AttachedManagedPolicies),
		UserPolicyList:          inline,
		PermissionsBoundary:     convertBoundary(u.PermissionsBoundary),
		Tags:                    convertTags(u.Tags),
	}, nil
}

func convertGroup(g types.GroupDetail) (gaadGroup, error) {
	inline, err := convertInline(g.GroupPolicyList)
	if err != nil {
		return gaadGroup{}, fmt.Errorf("group %q: %w", aws.ToString(g.GroupName), err)
	}
	return gaadGroup{
		Path:                    aws.ToString(g.Path),
		GroupName:               aws.ToString(g.GroupName),
		GroupID:                 aws.ToString(g.GroupId),
		Arn:                     aws.ToString(g.Arn),
		CreateDate:              isoDate(g.CreateDate),
		GroupPolicyList:         inline,
		AttachedManagedPolicies: convertAttached(g.AttachedManagedPolicies),
	}, nil
}

func convertRole(r types.RoleDetail) (gaadRole, error) {
	what := fmt.Sprintf("role %q", aws.ToString(r.RoleName))
	inline, err := convertInline(r.RolePolicyList)
	if err != nil {
		return gaadRole{}, fmt.Errorf("%s: %w", what, err)
	}
	trust, err := rawDocument(r.AssumeRolePolicyDocument)
	if err != nil {
		return gaadRole{}, fmt.Errorf("%s: field AssumeRolePolicyDocument: %w", what, err)
	}
	out := gaadRole{
		Path:                     aws.ToString(r.Path),
		RoleName:                 aws.ToString(r.RoleName),
		RoleID:                   aws.ToString(r.RoleId),
		Arn:                      aws.ToString(r.Arn),
		CreateDate:               isoDate(r.CreateDate),
		AssumeRolePolicyDocument: trust,
		RolePolicyList:           inline,
		AttachedManagedPolicies:  convertAttached(r.AttachedManagedPolicies),
		PermissionsBoundary:      convertBoundary(r.PermissionsBoundary),
		Tags:                     convertTags(r.Tags),
	}
	if lu := r.RoleLastUsed; lu != nil && (lu.LastUsedDate != nil || lu.Region != nil) {
		out.RoleLastUsed = &gaadRoleLastUsed{LastUsedDate: isoDate(lu.LastUsedDate), Region: aws.ToString(lu.Region)}
	}
	return out, nil
}

func convertPolicy(p types.ManagedPolicyDetail) (gaadPolicy, error) {
	out := gaadPolicy{
		PolicyName:       aws.ToString(p.PolicyName),
		PolicyID:         aws.ToString(p.PolicyId),
		Arn:              aws.ToString(p.Arn),
		Path:             aws.ToString(p.Path),
		DefaultVersionID: aws.ToString(p.DefaultVersionId),
		AttachmentCount:  int(aws.ToInt32(p.AttachmentCount)),
		IsAttachable:     p.IsAttachable,
		CreateDate:       isoDate(p.CreateDate),
		UpdateDate:       isoDate(p.UpdateDate),
	}
	for i, v := range p.PolicyVersionList {
		doc, err := rawDocument(v.Document)
		if err != nil {
			return gaadPolicy{}, fmt.Errorf("policy %q: PolicyVersionList[%d]: field Document: %w", out.PolicyName, i, err)
		}
		out.PolicyVersionList = append(out.PolicyVersionList, gaadPolicyVersion{
			Document:         doc,
			VersionID:        aws.ToString(v.VersionId),
			IsDefaultVersion: v.IsDefaultVersion,
			CreateDate:       isoDate(v.CreateDate),
		})
	}
	return out, nil
}
