package awsiam

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"permgraph/graph"
)

// Defaults for the live collector. IAM throttles with HTTP 400 "Throttling"
// (not 429); the SDK's standard retryer already classifies that code as a
// throttle and backs off from a 1 s base, capped by MaxBackoff.
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 20 * time.Second
	DefaultPageTimeout = 5 * time.Minute
	// defaultRegion is used when neither --region, AWS_REGION nor the shared
	// config names one. IAM is a global service: in the aws partition every
	// region resolves to iam.amazonaws.com, signed for us-east-1.
	defaultRegion = "us-east-1"
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
	if o.MaxAttempts < 0 {
		return nil, fmt.Errorf("awsiam: max attempts must be >= 1, got %d", o.MaxAttempts)
	}
	if o.MaxBackoff < 0 {
		return nil, fmt.Errorf("awsiam: max backoff must not be negative, got %s", o.MaxBackoff)
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
			return nil, fmt.Errorf("awsiam: --endpoint-url: want an absolute http(s) URL such as https://iam.example.com")
		}
		endpointForLog = u.Redacted()
	}

	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				so.MaxBackoff = maxBackoff
				// The default token bucket fails fast with "retry quota
				// exceeded" under sustained throttling (aws-sdk-go-v2 #1665,
				// ratelimit.None added in #2562); a sequential paginator
				// should wait instead.
				so.RateLimiter = ratelimit.None
				so.Retryables = append(so.Retryables, retryTruncatedBody)
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
		opts = append(opts, config.WithLogger(slogAWSLogger{l: o.Logger}), config.WithClientLogMode(aws.LogRetries))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		if o.Profile != "" {
			return nil, fmt.Errorf("awsiam: load AWS config for profile %q: %w", o.Profile, err)
		}
		return nil, fmt.Errorf("awsiam: load AWS config: %w", err)
	}
	if o.AssumeRoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), o.AssumeRoleARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = "permgraph-collect"
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	client := iam.NewFromConfig(cfg, func(iopts *iam.Options) {
		if o.EndpointURL != "" {
			iopts.BaseEndpoint = aws.String(o.EndpointURL)
		}
	})
	if o.Logger != nil {
		o.Logger.Debug("awsiam: IAM client ready", "profile", o.Profile, "region", cfg.Region,
			"endpoint", endpointForLog, "max_attempts", maxAttempts, "max_backoff", maxBackoff)
	}
	return client, nil
}

// retryTruncatedBody retries a response whose body ended early (connection
// reset while reading a multi-megabyte page). The SDK surfaces that as a
// non-retryable deserialization error; GetAccountAuthorizationDetails is
// read-only, so repeating it is safe.
var retryTruncatedBody = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// slogAWSLogger bridges the SDK's logging.Logger to slog: SDK debug lines
// (retry attempts) at debug, SDK warnings at warn.
type slogAWSLogger struct {
	l   *slog.Logger
	ctx context.Context
}

func (s slogAWSLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	s.l.Log(s.ctx, level, "aws-sdk: "+fmt.Sprintf(format, v...))
}

func (s slogAWSLogger) WithContext(ctx context.Context) logging.Logger {
	return slogAWSLogger{l: s.l, ctx: ctx}
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
	// Counts is filled in by Collect.
	Counts Counts
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
		out, err := nextPage(ctx, p, timeout)
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

// nextPage fetches one page under the page timeout.
func nextPage(ctx context.Context, p *iam.GetAccountAuthorizationDetailsPaginator, timeout time.Duration) (*iam.GetAccountAuthorizationDetailsOutput, error) {
	if timeout <= 0 {
		return p.NextPage(ctx, withRejectEmptyBody)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := p.NextPage(ctx, withRejectEmptyBody)
	if err != nil && ctx.Err() != nil {
		return nil, &pageTimeoutError{err: ctx.Err(), sdk: err}
	}
	return out, err
}

// withRejectEmptyBody makes a 2xx response with an empty body an error. The
// SDK's awsQuery deserializer accepts it as an empty result (IsTruncated
// false, no Marker), so the paginator would stop and the collection would
// silently miss every later page. The error wraps io.ErrUnexpectedEOF, which
// NewLiveClient's retryer retries.
func withRejectEmptyBody(o *iam.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		// Added last with After, so it is innermost in the deserialize step
		// and sees the raw response before the operation deserializer.
		return stack.Deserialize.Add(rejectEmptyBody{}, middleware.After)
	})
}

type rejectEmptyBody struct{}

func (rejectEmptyBody) ID() string { return "permgraphRejectEmptyBody" }

func (rejectEmptyBody) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if !ok || resp.StatusCode < 200 || resp.StatusCode >= 300 || resp.Body == nil {
		return out, md, err
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

// pageTimeoutError marks an error caused by the per-page (or parent)
// deadline rather than by IAM.
type pageTimeoutError struct{ err, sdk error }

func (e *pageTimeoutError) Error() string { return e.sdk.Error() }
func (e *pageTimeoutError) Unwrap() error { return e.err }

var (
	accessDeniedCodes = map[string]bool{"AccessDenied": true, "AccessDeniedException": true}
	badCredsCodes     = map[string]bool{
		"InvalidClientTokenId": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
		"MissingAuthenticationToken": true, "ExpiredToken": true, "ExpiredTokenException": true,
		"UnrecognizedClientException": true, "RequestExpired": true,
	}
)

// classifyPageError wraps a failed page with the operation, page number and,
// for the errors a user can act on, what to do.
func classifyPageError(ctx context.Context, page int, timeout time.Duration, err error) error {
	const op = "awsiam: GetAccountAuthorizationDetails"
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s page %d: %w", op, page, ctxErr)
	}
	var pt *pageTimeoutError
	if errors.As(err, &pt) {
		return fmt.Errorf("%s page %d: no complete response within the page timeout (%s): %w", op, page, timeout, pt.err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := ae.ErrorCode(); {
		case accessDeniedCodes[code]:
			return fmt.Errorf("%s page %d: %w: the AWS identity lacks permission iam:GetAccountAuthorizationDetails "+
				"(grant it, for example with the AWS managed SecurityAudit policy, and check SCPs and permission boundaries): %w",
				op, page, ErrAccessDenied, err)
		case badCredsCodes[code]:
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
