// Package awsclient holds what the AWS collectors share around the SDK,
// independent of the service they call: loading the configuration with a
// retryer that waits out throttling, the SDK-to-slog log bridge, a
// middleware that refuses an empty 2xx body, the per-page timeout, and the
// error codes that mean "access denied" or "credentials rejected".
//
// Each collector still builds its own service client from Config.AWS and
// keeps its own exported options, defaults and sentinel errors; this package
// only removes the parts that were written twice.
package awsclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"permgraph/internal/httpstats"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Defaults for Options.MaxAttempts and Options.MaxBackoff. The SDK's
// standard retryer classifies the throttling codes of IAM ("Throttling",
// HTTP 400) and Organizations ("TooManyRequestsException") as throttles and
// backs off from a 1 s base, capped by MaxBackoff.
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 20 * time.Second
)

// defaultRegion is used when neither Options.Region, AWS_REGION nor the
// shared config names one. The collectors call global services (IAM,
// Organizations): in the aws partition they resolve to their us-east-1
// endpoint, and requests are signed for us-east-1.
const defaultRegion = "us-east-1"

// assumeRoleSessionName names the session when Options.AssumeRoleARN is set.
const assumeRoleSessionName = "permgraph-collect"

// Options configures LoadConfig. The zero value loads the SDK's default
// chain with the package defaults.
type Options struct {
	// Profile selects a shared config/credentials profile (--profile);
	// empty means the default chain (env, AWS_PROFILE, default profile, SSO,
	// web identity, container and instance roles).
	Profile string
	// Region overrides the configured region; empty falls back to the
	// default chain and then to us-east-1.
	Region string
	// EndpointURL is validated here (an absolute http or https URL) and
	// returned redacted in Config.Endpoint for logs. The caller sets it as
	// its service client's BaseEndpoint: it is deliberately not put in the
	// aws.Config, which would also redirect the STS client of AssumeRoleARN.
	EndpointURL string
	// EndpointExample completes the error for a malformed EndpointURL:
	// "want an absolute http(s) URL such as " + EndpointExample.
	EndpointExample string
	// MaxAttempts is the total number of attempts per request, including
	// the first (0 means DefaultMaxAttempts; negative is an error).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts (0 means
	// DefaultMaxBackoff; negative is an error).
	MaxBackoff time.Duration
	// HTTPClient replaces the SDK's HTTP client (tests).
	HTTPClient *http.Client
	// Logger receives the SDK's retry messages at debug level and its
	// warnings at warn. Request and signing logs are never enabled, so
	// credentials cannot reach it.
	Logger *slog.Logger
	// AssumeRoleARN, when set, makes the configuration's credentials those
	// of this role, assumed with the default chain's credentials.
	AssumeRoleARN string
	// Retryables are extra retry rules for errors that are retryable for
	// the caller's service but that the SDK does not retry. A response
	// body cut short (io.ErrUnexpectedEOF, which RejectEmptyBody also
	// reports) is always retried: every collector call is a read.
	Retryables []retry.IsErrorRetryable
}

// Config is what LoadConfig resolved.
type Config struct {
	// AWS is the loaded configuration, for the service's NewFromConfig.
	AWS aws.Config
	// Endpoint is Options.EndpointURL with any password redacted, or "".
	Endpoint string
	// MaxAttempts and MaxBackoff are the retryer's effective settings.
	MaxAttempts int
	MaxBackoff  time.Duration
}

// LoadConfig validates o and loads the AWS configuration from the SDK's
// default chain with a standard retryer that has no retry quota. Its errors
// carry no package prefix; the caller adds its own.
func LoadConfig(ctx context.Context, o Options) (Config, error) {
	if o.MaxAttempts < 0 {
		return Config{}, fmt.Errorf("max attempts must be >= 1, got %d", o.MaxAttempts)
	}
	if o.MaxBackoff < 0 {
		return Config{}, fmt.Errorf("max backoff must not be negative, got %s", o.MaxBackoff)
	}
	c := Config{MaxAttempts: o.MaxAttempts, MaxBackoff: o.MaxBackoff}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Config{}, fmt.Errorf("--endpoint-url: want an absolute http(s) URL such as %s", o.EndpointExample)
		}
		c.Endpoint = u.Redacted()
	}

	retryables := append(append([]retry.IsErrorRetryable(nil), o.Retryables...), retryCutShortBody)
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = c.MaxAttempts
				so.MaxBackoff = c.MaxBackoff
				// The default token bucket fails fast with "retry quota
				// exceeded" under sustained throttling (aws-sdk-go-v2 #1665,
				// ratelimit.None added in #2562); a sequential collector
				// should wait instead, and service quotas are low.
				so.RateLimiter = ratelimit.None
				so.Retryables = append(so.Retryables, retryables...)
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
	// Requests are counted for the snapshot job's summary (when the
	// context carries a counter).
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(httpstats.WrapDoer(o.HTTPClient)))
	} else {
		opts = append(opts, config.WithHTTPClient(httpstats.WrapDoer(awshttp.NewBuildableClient())))
	}
	if o.Logger != nil {
		opts = append(opts, config.WithLogger(slogLogger{l: o.Logger}), config.WithClientLogMode(aws.LogRetries))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		if o.Profile != "" {
			return Config{}, fmt.Errorf("load AWS config for profile %q: %w", o.Profile, err)
		}
		return Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	if o.AssumeRoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), o.AssumeRoleARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = assumeRoleSessionName
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	c.AWS = cfg
	return c, nil
}

// retryCutShortBody retries a response whose body ended early (connection
// reset while reading a multi-megabyte page), which the SDK reports as a
// non-retryable deserialization error.
var retryCutShortBody = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
})

// slogLogger bridges the SDK's logging.Logger to slog: SDK debug lines
// (retry attempts) at debug, SDK warnings at warn.
type slogLogger struct {
	l   *slog.Logger
	ctx context.Context
}

func (s slogLogger) Logf(c logging.Classification, format string, v ...any) {
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

func (s slogLogger) WithContext(ctx context.Context) logging.Logger {
	return slogLogger{l: s.l, ctx: ctx}
}

// RejectEmptyBody returns an API option (for a service client's
// Options.APIOptions) that makes a 2xx response with an empty body an error.
// The SDK's awsQuery and JSON deserializers accept such a body as an empty
// result with no pagination token, so a paginator would stop early and the
// collection would silently miss every later page. The error is a
// *smithy.DeserializationError wrapping io.ErrUnexpectedEOF, which
// LoadConfig's retryer retries. id names the middleware in the stack.
func RejectEmptyBody(id string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		// Added last with After, so it is innermost in the deserialize step
		// and sees the raw response before the operation deserializer.
		return stack.Deserialize.Add(rejectEmptyBody{id: id}, middleware.After)
	}
}

type rejectEmptyBody struct{ id string }

func (m rejectEmptyBody) ID() string { return m.id }

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

// PageTimeoutError marks a request that failed because CallWithTimeout's
// deadline expired, not because of the service. Error is the SDK's message;
// errors.Is sees the deadline error.
type PageTimeoutError struct {
	// Err is the timeout context's error (context.DeadlineExceeded).
	Err error
	// SDK is the error the SDK call returned.
	SDK error
}

func (e *PageTimeoutError) Error() string { return e.SDK.Error() }
func (e *PageTimeoutError) Unwrap() error { return e.Err }

// CallWithTimeout runs fn, one SDK call with its retries, under a deadline
// of timeout (none when timeout <= 0), so a hung connection cannot stall a
// collection forever. When fn fails after that deadline expired while ctx
// itself is still live, the error is a *PageTimeoutError; errors caused by
// ctx are returned as fn returned them, for the caller to report as such.
func CallWithTimeout[O any](ctx context.Context, timeout time.Duration, fn func(context.Context) (O, error)) (O, error) {
	if timeout <= 0 {
		return fn(ctx)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := fn(tctx)
	if err != nil && tctx.Err() != nil && ctx.Err() == nil {
		return out, &PageTimeoutError{Err: tctx.Err(), SDK: err}
	}
	return out, err
}

// AccessDenied reports whether code, a smithy.APIError's ErrorCode, means
// the identity may not call the operation.
func AccessDenied(code string) bool {
	return code == "AccessDenied" || code == "AccessDeniedException"
}

// credentialsRejectedCodes are the error codes with which AWS refuses the
// credentials themselves (unknown key, bad signature, expired session token,
// skewed clock).
var credentialsRejectedCodes = map[string]bool{
	"InvalidClientTokenId": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
	"MissingAuthenticationToken": true, "ExpiredToken": true, "ExpiredTokenException": true,
	"UnrecognizedClientException": true, "RequestExpired": true,
}

// CredentialsRejected reports whether code, a smithy.APIError's ErrorCode,
// means AWS did not accept the credentials. A collector may accept further
// codes particular to its service's protocol.
func CredentialsRejected(code string) bool {
	return credentialsRejectedCodes[code]
}
