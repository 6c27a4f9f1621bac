// Package googleretry is the http.RoundTripper that retries Google API
// requests which failed for quota or transient server reasons. It sits
// under the google-api-go-client services (option.WithHTTPClient), because
// the generated clients do not retry list calls themselves.
//
// Retried: HTTP 429, 500, 502, 503, 504, and 403 whose JSON error reason is
// rateLimitExceeded or userRateLimitExceeded (Google's older APIs, the Admin
// SDK among them, signal per-user quota with a 403, not a 429). Every other
// 403 (forbidden, insufficientPermissions, domain-wide delegation missing)
// is returned at once: retrying a permission error only delays the message
// the operator needs.
package googleretry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Defaults, applied when the Options field is zero.
const (
	DefaultMaxRetries = 6
	DefaultBaseDelay  = 500 * time.Millisecond
	DefaultMaxDelay   = 32 * time.Second
	// maxRetryAfter bounds a server-supplied Retry-After: Google sends
	// seconds, but a broken proxy sending an HTTP date far in the future must
	// not park a scheduled collection for hours.
	maxRetryAfter = 5 * time.Minute
	// maxErrorBody bounds how much of a 403 body is read to find the reason;
	// Google error bodies are a few hundred bytes.
	maxErrorBody = 64 << 10
)

// Options configures New. Zero fields take the defaults; a negative
// MaxRetries disables retrying.
type Options struct {
	// MaxRetries is the number of retries after the first attempt.
	MaxRetries int
	// BaseDelay is the first backoff ceiling; it doubles per retry.
	BaseDelay time.Duration
	// MaxDelay caps the backoff ceiling.
	MaxDelay time.Duration
	// Logger receives one debug line per retry (method, URL path, status,
	// attempt, delay). Headers, query strings and bodies are never logged:
	// the query may carry an API key, the headers the bearer token.
	Logger *slog.Logger
}

// Transport retries Google API requests. It is safe for concurrent use.
type Transport struct {
	next    http.RoundTripper
	o       Options
	log     *slog.Logger
	retries atomic.Int64
}

// New wraps next (http.DefaultTransport when nil).
func New(next http.RoundTripper, o Options) *Transport {
	if next == nil {
		next = http.DefaultTransport
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = DefaultMaxRetries
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = DefaultBaseDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.MaxDelay < o.BaseDelay {
		o.MaxDelay = o.BaseDelay
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Transport{next: next, o: o, log: log}
}

// Retries is the number of retries made so far (for the run summary).
func (t *Transport) Retries() int64 { return t.retries.Load() }

// RoundTrip sends req, retrying as described in the package comment. When
// the retries are used up the last response is returned unchanged, so the
// caller (googleapi.CheckResponse) reports Google's own error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// A body that cannot be rewound can be sent only once.
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("googleretry: rewind body of %s %s: %w", req.Method, req.URL.Path, err)
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		retry, err := retryable(resp)
		if err != nil {
			return nil, fmt.Errorf("googleretry: read error body of %s %s: %w", req.Method, req.URL.Path, err)
		}
		if !retry || attempt >= t.o.MaxRetries || !rewindable {
			return resp, nil
		}
		delay := t.delay(attempt, resp.Header.Get("Retry-After"), time.Now())
		// Drain so the connection is reused; the body is small.
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		t.retries.Add(1)
		t.log.Debug("googleretry: retrying Google API request", "method", req.Method, "path", req.URL.Path,
			"status", resp.StatusCode, "attempt", attempt+1, "max_retries", t.o.MaxRetries, "delay", delay)
		if err := sleep(ctx, delay); err != nil {
			return nil, fmt.Errorf("googleretry: waiting to retry %s %s (HTTP %d): %w", req.Method, req.URL.Path, resp.StatusCode, err)
		}
	}
}

// retryable classifies resp. For a 403 it reads the body to find the reason
// and puts it back so the caller still sees the whole response.
func retryable(resp *http.Response) (bool, error) {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	case http.StatusForbidden:
	default:
		return false, nil
	}
	if resp.Body == nil {
		return false, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	return RateLimitReason(b), nil
}

// RateLimitReason reports whether a Google error body names a rate-limit
// reason: errors[].reason (Admin SDK and other discovery APIs) or an
// ErrorInfo detail with reason RATE_LIMIT_EXCEEDED (newer APIs).
func RateLimitReason(body []byte) bool {
	var e struct {
		Error struct {
			Errors []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, x := range e.Error.Errors {
		if x.Reason == "rateLimitExceeded" || x.Reason == "userRateLimitExceeded" {
			return true
		}
	}
	for _, x := range e.Error.Details {
		if x.Reason == "RATE_LIMIT_EXCEEDED" {
			return true
		}
	}
	return false
}

// delay is the wait before retry number attempt+1: the server's Retry-After
// when it sent one, else full-jitter exponential backoff (a uniformly random
// wait up to min(MaxDelay, BaseDelay*2^attempt)), which spreads concurrent
// workers that were throttled together.
func (t *Transport) delay(attempt int, retryAfter string, now time.Time) time.Duration {
	if d, ok := parseRetryAfter(retryAfter, now); ok {
		return min(d, maxRetryAfter)
	}
	ceil := t.o.MaxDelay
	if attempt < 32 {
		if c := t.o.BaseDelay << attempt; c > 0 && c < ceil {
			ceil = c
		}
	}
	return rand.N(ceil) + 1
}

// parseRetryAfter reads delta-seconds or an HTTP date (RFC 9110 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		// Compare before multiplying so a huge value cannot overflow.
		if s > int(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
