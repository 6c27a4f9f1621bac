package awsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"permgraph/internal/awstest"
)

const (
	testAccessKey = "AKIAAWSCLIENTTEST000"
	testSecretKey = "awsclient-test-secret-key-do-not-log"
)

// setAWSTestEnv isolates the SDK's default chain from the machine: static
// test credentials, no config files, no region, no endpoint overrides.
func setAWSTestEnv(t *testing.T) {
	t.Helper()
	awstest.Isolate(t, testAccessKey, testSecretKey, "")
}

func TestLoadConfigRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"negative attempts", Options{MaxAttempts: -1}, "max attempts must be >= 1, got -1"},
		{"negative backoff", Options{MaxBackoff: -time.Second}, "max backoff must not be negative, got -1s"},
		{"relative endpoint", Options{EndpointURL: "iam.example.com", EndpointExample: "https://x.example"},
			"--endpoint-url: want an absolute http(s) URL such as https://x.example"},
		{"endpoint without host", Options{EndpointURL: "https://"}, "--endpoint-url"},
		{"endpoint with other scheme", Options{EndpointURL: "ftp://iam.example.com"}, "--endpoint-url"},
		{"unparsable endpoint", Options{EndpointURL: "https://[::1"}, "--endpoint-url"},
		{"unknown profile", Options{Profile: "no-such-profile"}, `load AWS config for profile "no-such-profile"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setAWSTestEnv(t)
			_, err := LoadConfig(t.Context(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Run("zero options", func(t *testing.T) {
		setAWSTestEnv(t)
		c, err := LoadConfig(t.Context(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.AWS.Region != "us-east-1" {
			t.Errorf("Region = %q, want us-east-1", c.AWS.Region)
		}
		if c.MaxAttempts != DefaultMaxAttempts || c.MaxBackoff != DefaultMaxBackoff {
			t.Errorf("MaxAttempts, MaxBackoff = %d, %s; want %d, %s", c.MaxAttempts, c.MaxBackoff, DefaultMaxAttempts, DefaultMaxBackoff)
		}
		if got := c.AWS.Retryer().MaxAttempts(); got != DefaultMaxAttempts {
			t.Errorf("retryer MaxAttempts = %d, want %d", got, DefaultMaxAttempts)
		}
		if c.Endpoint != "" {
			t.Errorf("Endpoint = %q, want empty", c.Endpoint)
		}
	})
	t.Run("region from the environment beats the default", func(t *testing.T) {
		setAWSTestEnv(t)
		t.Setenv("AWS_REGION", "eu-west-1")
		c, err := LoadConfig(t.Context(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.AWS.Region != "eu-west-1" {
			t.Errorf("Region = %q, want eu-west-1", c.AWS.Region)
		}
	})
	t.Run("explicit options", func(t *testing.T) {
		setAWSTestEnv(t)
		t.Setenv("AWS_REGION", "eu-west-1")
		c, err := LoadConfig(t.Context(), Options{Region: "us-gov-west-1", MaxAttempts: 3, MaxBackoff: time.Millisecond,
			EndpointURL: "https://user:hunter2@iam.example.com/x"})
		if err != nil {
			t.Fatal(err)
		}
		if c.AWS.Region != "us-gov-west-1" {
			t.Errorf("Region = %q, want us-gov-west-1", c.AWS.Region)
		}
		if got := c.AWS.Retryer().MaxAttempts(); got != 3 || c.MaxAttempts != 3 || c.MaxBackoff != time.Millisecond {
			t.Errorf("retryer MaxAttempts = %d, Config = %d, %s; want 3, 3, 1ms", got, c.MaxAttempts, c.MaxBackoff)
		}
		if strings.Contains(c.Endpoint, "hunter2") || !strings.Contains(c.Endpoint, "iam.example.com") {
			t.Errorf("Endpoint = %q, want the URL with its password redacted", c.Endpoint)
		}
		if c.AWS.BaseEndpoint != nil {
			t.Errorf("aws.Config.BaseEndpoint = %q, want nil (the caller sets its client's)", *c.AWS.BaseEndpoint)
		}
	})
}

func TestRetryables(t *testing.T) {
	setAWSTestEnv(t)
	extra := retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "PermgraphTryAgain" {
			return aws.TrueTernary
		}
		return aws.UnknownTernary
	})
	plain, err := LoadConfig(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	withExtra, err := LoadConfig(t.Context(), Options{Retryables: []retry.IsErrorRetryable{extra}})
	if err != nil {
		t.Fatal(err)
	}
	cutShort := &smithy.DeserializationError{Err: fmt.Errorf("read body: %w", io.ErrUnexpectedEOF)}
	tryAgain := &smithy.GenericAPIError{Code: "PermgraphTryAgain", Message: "later", Fault: smithy.FaultClient}
	for _, tc := range []struct {
		name  string
		cfg   Config
		err   error
		retry bool
	}{
		{"body cut short", plain, cutShort, true},
		{"body cut short, with extra", withExtra, cutShort, true},
		{"extra code without extra", plain, tryAgain, false},
		{"extra code with extra", withExtra, tryAgain, true},
		{"other deserialization error", withExtra, &smithy.DeserializationError{Err: errors.New("bad XML")}, false},
	} {
		if got := tc.cfg.AWS.Retryer().IsErrorRetryable(tc.err); got != tc.retry {
			t.Errorf("%s: IsErrorRetryable = %v, want %v", tc.name, got, tc.retry)
		}
	}
}

const callerIdentityXML = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::111122223333:user/alice</Arn>
    <UserId>AIDAALICE</UserId>
    <Account>111122223333</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`

const assumeRoleXML = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAASSUMEDROLE00000</AccessKeyId>
      <SecretAccessKey>assumed-secret</SecretAccessKey>
      <SessionToken>assumed-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::444455556666:assumed-role/Audit/permgraph-collect</Arn>
      <AssumedRoleId>AROAAUDIT:permgraph-collect</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata>
</AssumeRoleResponse>`

// fakeSTS answers awsQuery STS requests: the first emptyBodies
// GetCallerIdentity requests get a 200 with no body, later ones a full
// response. It records each request's form and Authorization header.
type fakeSTS struct {
	srv         *httptest.Server
	mu          sync.Mutex
	emptyBodies int
	reqs        []fakeRequest
}

type fakeRequest struct {
	form          url.Values
	authorization string
}

func newFakeSTS(t *testing.T, emptyBodies int) *fakeSTS {
	f := &fakeSTS{emptyBodies: emptyBodies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, fakeRequest{form: r.PostForm, authorization: r.Header.Get("Authorization")})
		empty := false
		if r.PostForm.Get("Action") == "GetCallerIdentity" && f.emptyBodies > 0 {
			f.emptyBodies--
			empty = true
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		switch {
		case empty:
			w.WriteHeader(http.StatusOK)
		case r.PostForm.Get("Action") == "AssumeRole":
			io.WriteString(w, assumeRoleXML)
		default:
			io.WriteString(w, callerIdentityXML)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

// callerIdentity calls GetCallerIdentity on f with a client built from c,
// with or without RejectEmptyBody.
func callerIdentity(ctx context.Context, c Config, f *fakeSTS, reject bool) (*sts.GetCallerIdentityOutput, error) {
	client := sts.NewFromConfig(c.AWS, func(o *sts.Options) {
		o.BaseEndpoint = aws.String(f.srv.URL)
		if reject {
			o.APIOptions = append(o.APIOptions, RejectEmptyBody("testRejectEmptyBody"))
		}
	})
	return client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
}

func TestRejectEmptyBody(t *testing.T) {
	t.Run("retried, and retries are logged without credentials", func(t *testing.T) {
		setAWSTestEnv(t)
		f := newFakeSTS(t, 2)
		logs := &bytes.Buffer{}
		c, err := LoadConfig(t.Context(), Options{MaxBackoff: time.Millisecond, HTTPClient: f.srv.Client(),
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		out, err := callerIdentity(t.Context(), c, f, true)
		if err != nil {
			t.Fatalf("GetCallerIdentity: %v", err)
		}
		if aws.ToString(out.Account) != "111122223333" {
			t.Errorf("Account = %q, want 111122223333", aws.ToString(out.Account))
		}
		if n := len(f.requests()); n != 3 {
			t.Errorf("%d requests, want 3 (two empty bodies retried)", n)
		}
		if got := strings.Count(logs.String(), "aws-sdk: retrying request"); got != 2 {
			t.Errorf("%d retry lines in the log, want 2:\n%s", got, logs.String())
		}
		for _, secret := range []string{testAccessKey, testSecretKey, "Authorization"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("log contains %q:\n%s", secret, logs.String())
			}
		}
	})
	t.Run("error once attempts run out", func(t *testing.T) {
		setAWSTestEnv(t)
		f := newFakeSTS(t, 5)
		c, err := LoadConfig(t.Context(), Options{MaxAttempts: 2, MaxBackoff: time.Millisecond, HTTPClient: f.srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = callerIdentity(t.Context(), c, f, true)
		var de *smithy.DeserializationError
		if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &de) || !strings.Contains(err.Error(), "HTTP 200 with an empty body") {
			t.Fatalf("err = %v, want a deserialization error for the empty body wrapping io.ErrUnexpectedEOF", err)
		}
		if n := len(f.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("without it the SDK takes an empty body as an empty result", func(t *testing.T) {
		// What RejectEmptyBody guards against; if the SDK starts refusing
		// empty bodies itself, this fails and the middleware may go.
		setAWSTestEnv(t)
		f := newFakeSTS(t, 1)
		c, err := LoadConfig(t.Context(), Options{MaxBackoff: time.Millisecond, HTTPClient: f.srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		out, err := callerIdentity(t.Context(), c, f, false)
		if err != nil || aws.ToString(out.Account) != "" {
			t.Fatalf("GetCallerIdentity = %v, %v; want an empty result and no error", out, err)
		}
	})
}

func TestLoadConfigAssumeRole(t *testing.T) {
	setAWSTestEnv(t)
	f := newFakeSTS(t, 0)
	t.Setenv("AWS_ENDPOINT_URL_STS", f.srv.URL) // reaches the provider's own STS client
	const role = "arn:aws:iam::444455556666:role/Audit"
	c, err := LoadConfig(t.Context(), Options{HTTPClient: f.srv.Client(), AssumeRoleARN: role})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callerIdentity(t.Context(), c, f, true); err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want AssumeRole then GetCallerIdentity", len(reqs))
	}
	ar, gci := reqs[0], reqs[1]
	if ar.form.Get("Action") != "AssumeRole" || ar.form.Get("RoleArn") != role || ar.form.Get("RoleSessionName") != "permgraph-collect" {
		t.Errorf("first request = %v, want AssumeRole of %s as permgraph-collect", ar.form, role)
	}
	if !strings.Contains(ar.authorization, "Credential="+testAccessKey+"/") {
		t.Errorf("AssumeRole signed with %q, want the default chain's key", ar.authorization)
	}
	if !strings.Contains(gci.authorization, "Credential=ASIAASSUMEDROLE00000/") {
		t.Errorf("GetCallerIdentity signed with %q, want the assumed role's key", gci.authorization)
	}
}

func TestCallWithTimeout(t *testing.T) {
	// blocked stands for an SDK call on a hung connection.
	blocked := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, fmt.Errorf("operation error: %w", ctx.Err())
	}
	t.Run("deadline expires", func(t *testing.T) {
		_, err := CallWithTimeout(t.Context(), 10*time.Millisecond, blocked)
		var pt *PageTimeoutError
		if !errors.As(err, &pt) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a *PageTimeoutError wrapping context.DeadlineExceeded", err)
		}
		if err.Error() != "operation error: context deadline exceeded" {
			t.Errorf("Error() = %q, want the SDK's message", err.Error())
		}
	})
	t.Run("parent cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := CallWithTimeout(ctx, time.Minute, blocked)
		var pt *PageTimeoutError
		if errors.As(err, &pt) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want the call's own error, not a *PageTimeoutError", err)
		}
	})
	t.Run("success and non-positive timeout", func(t *testing.T) {
		for _, timeout := range []time.Duration{time.Minute, 0, -1} {
			out, err := CallWithTimeout(t.Context(), timeout, func(ctx context.Context) (int, error) {
				_, has := ctx.Deadline()
				if has != (timeout > 0) {
					t.Errorf("timeout %s: deadline set = %v", timeout, has)
				}
				return 42, nil
			})
			if out != 42 || err != nil {
				t.Errorf("timeout %s: got %d, %v; want 42, nil", timeout, out, err)
			}
		}
	})
}

func TestErrorCodes(t *testing.T) {
	for _, code := range []string{"AccessDenied", "AccessDeniedException"} {
		if !AccessDenied(code) || CredentialsRejected(code) {
			t.Errorf("%s: want access denied only", code)
		}
	}
	for _, code := range []string{"InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature",
		"MissingAuthenticationToken", "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException", "RequestExpired"} {
		if !CredentialsRejected(code) || AccessDenied(code) {
			t.Errorf("%s: want credentials rejected only", code)
		}
	}
	for _, code := range []string{"", "Throttling", "NoSuchEntity", "accessdenied"} {
		if AccessDenied(code) || CredentialsRejected(code) {
			t.Errorf("%s: want neither", code)
		}
	}
}
