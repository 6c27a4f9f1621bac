package googleretry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	userRateBody = `{"error":{"code":403,"message":"Quota exceeded","errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded","message":"Quota exceeded"}]}}`
	rateBody     = `{"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Rate Limit Exceeded"}]}}`
	forbidBody   = `{"error":{"code":403,"message":"Not Authorized to access this resource/api","errors":[{"domain":"global","reason":"forbidden","message":"Not Authorized to access this resource/api"}]}}`
)

// step is one scripted server reply.
type step struct {
	status     int
	body       string
	retryAfter string
}

// script serves the steps in order (the last one repeats) and records what
// each request carried.
type script struct {
	steps  []step
	n      atomic.Int64
	bodies []string
	auth   []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	b, _ := io.ReadAll(r.Body)
	s.bodies = append(s.bodies, string(b))
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	st := s.steps[min(i, len(s.steps)-1)]
	if st.retryAfter != "" {
		w.Header().Set("Retry-After", st.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st.status)
	io.WriteString(w, st.body)
}

func fast(log *slog.Logger) Options {
	return Options{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, Logger: log}
}

func TestRetries(t *testing.T) {
	ok := step{200, `{"ok":true}`, ""}
	for _, tc := range []struct {
		name        string
		steps       []step
		wantStatus  int
		wantCalls   int64
		wantRetries int64
	}{
		{"success", []step{ok}, 200, 1, 0},
		{"429", []step{{429, `{}`, ""}, ok}, 200, 2, 1},
		{"500 502 503 504", []step{{500, "", ""}, {502, "", ""}, {503, "", ""}, {504, "", ""}, ok}, 200, 5, 4},
		{"403 userRateLimitExceeded", []step{{403, userRateBody, ""}, ok}, 200, 2, 1},
		{"403 rateLimitExceeded", []step{{403, rateBody, ""}, ok}, 200, 2, 1},
		{"403 RATE_LIMIT_EXCEEDED detail", []step{{403, `{"error":{"code":403,"status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED"}]}}`, ""}, ok}, 200, 2, 1},
		{"403 forbidden not retried", []step{{403, forbidBody, ""}, ok}, 403, 1, 0},
		{"403 not json not retried", []step{{403, "<html>denied</html>", ""}, ok}, 403, 1, 0},
		{"404 not retried", []step{{404, `{}`, ""}, ok}, 404, 1, 0},
		{"400 not retried", []step{{400, `{}`, ""}, ok}, 400, 1, 0},
		{"gives up after MaxRetries", []step{{503, `{"error":{"code":503}}`, ""}}, 503, 7, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{steps: tc.steps}
			srv := httptest.NewServer(s)
			defer srv.Close()
			tr := New(nil, fast(nil))
			resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/admin/directory/v1/users")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || s.n.Load() != tc.wantCalls || tr.Retries() != tc.wantRetries {
				t.Fatalf("status %d calls %d retries %d; want %d %d %d", resp.StatusCode, s.n.Load(), tr.Retries(),
					tc.wantStatus, tc.wantCalls, tc.wantRetries)
			}
			// The caller must still see the whole final body (googleapi.CheckResponse parses it).
			last := tc.steps[min(int(tc.wantCalls)-1, len(tc.steps)-1)]
			if string(body) != last.body {
				t.Fatalf("body = %q, want %q", body, last.body)
			}
		})
	}
}

func TestPostBodyRewoundAndNoSecretsLogged(t *testing.T) {
	s := &script{steps: []step{{403, userRateBody, ""}, {429, `{}`, ""}, {200, `{}`, ""}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := New(nil, fast(log))
	const payload = `{"options":{"requestedPolicyVersion":3}}`
	req, _ := http.NewRequest("POST", srv.URL+"/v1/projects/p:getIamPolicy?key=SECRET-KEY", strings.NewReader(payload))
	req.Header.Set("Authorization", "Bearer SECRET-TOKEN")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := cmp.Diff([]string{payload, payload, payload}, s.bodies); d != "" {
		t.Fatalf("bodies sent (-want +got):\n%s", d)
	}
	for i, a := range s.auth {
		if a != "Bearer SECRET-TOKEN" {
			t.Fatalf("attempt %d Authorization = %q; headers must survive retries", i, a)
		}
	}
	if strings.Contains(logs.String(), "SECRET") {
		t.Fatalf("log leaks a secret:\n%s", logs.String())
	}
	if got := strings.Count(logs.String(), "retrying Google API request"); got != 2 {
		t.Fatalf("logged %d retries, want 2:\n%s", got, logs.String())
	}
}

// A body without GetBody cannot be replayed: the first answer is returned.
func TestUnrewindableBodyNotRetried(t *testing.T) {
	s := &script{steps: []step{{503, `{}`, ""}, {200, `{}`, ""}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	tr := New(nil, fast(nil))
	req, _ := http.NewRequest("POST", srv.URL, io.MultiReader(strings.NewReader("x")))
	req.GetBody = nil
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || s.n.Load() != 1 {
		t.Fatalf("status %d calls %d; want 503 after 1 call", resp.StatusCode, s.n.Load())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	s := &script{steps: []step{{429, `{}`, "1"}, {200, `{}`, ""}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	// Backoff alone would wait at most 2 ms; Retry-After says one second.
	tr := New(nil, fast(nil))
	start := time.Now()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Fatalf("retried after %s, want >= 1s (Retry-After)", el)
	}
}

func TestDelay(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := New(nil, Options{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second})
	for _, tc := range []struct {
		name       string
		attempt    int
		retryAfter string
		lo, hi     time.Duration
	}{
		{"seconds", 0, "7", 7 * time.Second, 7 * time.Second},
		{"zero seconds", 3, "0", 0, 0},
		{"http date", 0, now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second, 3 * time.Second},
		{"date in past", 0, now.Add(-time.Hour).Format(http.TimeFormat), 0, 0},
		{"huge capped", 0, "99999999999999", maxRetryAfter, maxRetryAfter},
		{"garbage falls back", 0, "soon", 1, 100 * time.Millisecond},
		{"first backoff", 0, "", 1, 100 * time.Millisecond},
		{"third backoff", 2, "", 1, 400 * time.Millisecond},
		{"capped backoff", 10, "", 1, time.Second},
		{"overflowing shift capped", 200, "", 1, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				d := tr.delay(tc.attempt, tc.retryAfter, now)
				if d < tc.lo || d > tc.hi {
					t.Fatalf("delay = %s, want in [%s, %s]", d, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestContextCancelStopsWaiting(t *testing.T) {
	s := &script{steps: []step{{429, `{}`, "60"}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	tr := New(nil, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("waited %s after the context ended", el)
	}
}

func TestDefaults(t *testing.T) {
	tr := New(nil, Options{})
	want := Options{MaxRetries: 6, BaseDelay: 500 * time.Millisecond, MaxDelay: 32 * time.Second}
	got := tr.o
	got.Logger = nil
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("defaults (-want +got):\n%s", d)
	}
	if New(nil, Options{MaxRetries: -1}).o.MaxRetries != 0 {
		t.Fatal("negative MaxRetries must disable retries")
	}
}
