package entra

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/collectors/internal/azauth"
	"permgraph/graph"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// testToken is what the fake must receive as bearer token and what must
// never appear in a capture or a log line.
const testToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.UEVSTUdSQVBILVRFU1QtVE9LRU4.c2ln"

// dump renders a collection as sorted, diffable lines.
func dump(c *graph.Collection) []string {
	var out []string
	for _, sg := range c.Sources() {
		out = append(out, "source "+sg.Source)
		for _, n := range sg.SortedNodes() {
			line := fmt.Sprintf("node %s %s name=%q", n.ID, n.Kind, n.Name)
			if n.Email != "" {
				line += fmt.Sprintf(" email=%q", n.Email)
			}
			for _, k := range graph.SortedAttrKeys(n.Attrs) {
				line += fmt.Sprintf(" %s=%q", k, n.Attrs[k])
			}
			out = append(out, line)
		}
		for _, e := range sg.SortedEdges() {
			line := fmt.Sprintf("edge %s -%s-> %s", e.From, e.Kind, e.To)
			if e.Conditional {
				line += fmt.Sprintf(" condition=%q", e.Condition)
			}
			for _, k := range graph.SortedAttrKeys(e.Attrs) {
				line += fmt.Sprintf(" %s=%q", k, e.Attrs[k])
			}
			for _, ev := range e.Evidence {
				line += fmt.Sprintf(" [%s|%s|%s]", ev.Source, ev.Statement, ev.Detail)
			}
			out = append(out, line)
		}
		for _, w := range sg.Warnings {
			out = append(out, "warn "+w)
		}
	}
	return out
}

func golden(t *testing.T, name string, got []string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	text := strings.Join(got, "\n") + "\n"
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), text); d != "" {
		t.Errorf("graph differs from %s (-want +got):\n%s", path, d)
	}
}

type testRun struct {
	f    *fakeGraph
	o    Options
	logs *bytes.Buffer
}

func newTestRun(t *testing.T, f *fakeGraph) *testRun {
	t.Helper()
	tok, err := azauth.NewStaticToken(testToken)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	return &testRun{f: f, logs: logs, o: Options{
		GraphEndpoint: f.srv.URL,
		Credential:    tok,
		HTTPClient:    f.srv.Client(),
		Concurrency:   4,
		SaveRawDir:    filepath.Join(t.TempDir(), "raw"),
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}}
}

func (r *testRun) live(t *testing.T, ctx context.Context) (*graph.Collection, *Live, error) {
	t.Helper()
	l, err := NewLive(r.o)
	if err != nil {
		t.Fatal(err)
	}
	c := graph.NewCollection()
	return c, l, l.Collect(ctx, c)
}

func (r *testRun) replay(t *testing.T) (*graph.Collection, error) {
	t.Helper()
	c := graph.NewCollection()
	return c, NewFile(r.o.SaveRawDir, Options{Logger: r.o.Logger}).Collect(t.Context(), c)
}

// assertNoSecrets checks the capture and the logs for the token.
func (r *testRun) assertNoSecrets(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(r.o.SaveRawDir, CaptureFile))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"capture": string(raw), "logs": r.logs.String()} {
		for _, secret := range []string{"Bearer", testToken, "UEVSTUdSQVBILVRFU1QtVE9LRU4"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contains %q", name, secret)
			}
		}
	}
}

// TestLiveCollect runs the real SDK client over the fake with paging (3
// pages for users and for a group's members), a 429 honouring Retry-After,
// a 503, and a 403 on one group's members; then replays the capture and
// expects the identical graph.
func TestLiveCollect(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	fixtureTenant(f, true)
	f.throttle["/users?skip=2"] = 1
	f.unavailable["/groups?skip=0"] = 1
	r := newTestRun(t, f)

	start := time.Now()
	live, l, err := r.live(t, t.Context())
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	golden(t, "live", dump(live))

	if n := f.count("/users?skip=2"); n != 2 {
		t.Errorf("users page 2 requested %d times, want 2 (429 then retry)", n)
	}
	if elapsed < time.Second {
		t.Errorf("collection took %v; the 429's Retry-After: 1 was not honoured", elapsed)
	}
	if n := f.count("/groups?skip=0"); n != 2 {
		t.Errorf("groups page 1 requested %d times, want 2 (503 then retry)", n)
	}
	if got := l.Retries.Load(); got != 2 {
		t.Errorf("Retries = %d, want 2", got)
	}
	for _, p := range []string{"/users?skip=4", "/groups/" + gDevs + "/members?skip=4"} {
		if f.count(p) != 1 {
			t.Errorf("page %s requested %d times, want 1 (3 pages expected)", p, f.count(p))
		}
	}
	if got := f.selects["/groups/"+gDevs+"/members"]; got != "id" {
		t.Errorf("members $select = %q, want id", got)
	}
	f.mu.Lock()
	auth := f.auth
	f.mu.Unlock()
	if d := cmp.Diff(map[string]int{"Bearer " + testToken: len(f.requests)}, auth); d != "" {
		t.Errorf("Authorization headers (-want +got):\n%s", d)
	}
	if !strings.Contains(r.logs.String(), "members of group "+gSecret+" not read: HTTP 403 (Authorization_RequestDenied)") {
		t.Errorf("the 403 on one group's members was not logged:\n%s", r.logs)
	}
	r.assertNoSecrets(t)

	replayed, err := r.replay(t)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(dump(live), dump(replayed)); d != "" {
		t.Errorf("replayed graph differs from the live one (-live +replay):\n%s", d)
	}
}

// TestLiveFallbacks covers the licence-dependent reads: no P1 (no
// signInActivity) and no P2 (no PIM), each a warning, replayed alike.
func TestLiveFallbacks(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	fixtureTenant(f, false)
	f.noSignIn = true
	f.status["/roleManagement/directory/roleEligibilitySchedules"] = 400
	f.status["/applications/"+appDeploy+"/owners"] = 404 // deleted while we read
	r := newTestRun(t, f)
	live, _, err := r.live(t, t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := dump(live)
	for _, want := range []string{
		"warn " + warnSignIn,
		"warn " + warnPIM("HTTP 400 (AadPremiumLicenseRequired)"),
		"warn entra: owners of application " + appDeploy + " not read: HTTP 404 (Request_ResourceNotFound)",
	} {
		if !contains(got, want) {
			t.Errorf("missing %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	for _, line := range got {
		if !strings.HasPrefix(line, "warn ") && (strings.Contains(line, "last_sign_in") || strings.Contains(line, "eligible")) {
			t.Errorf("unexpected %s", line)
		}
	}
	if n := f.count("/users?skip=0"); n != 2 {
		t.Errorf("users page 1 requested %d times, want 2 (with and without signInActivity)", n)
	}
	replayed, err := r.replay(t)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, dump(replayed)); d != "" {
		t.Errorf("replay (-live +replay):\n%s", d)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestLiveErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		setup   func(f *fakeGraph, o *Options)
		cancel  time.Duration
		want    string
		wantErr error
	}{
		{name: "malformed next page", setup: func(f *fakeGraph, _ *Options) { f.malformed["/groups/"+gDevs+"/members?skip=2"] = true },
			want: "list /groups/" + gDevs + "/members (next page GET /v1.0/groups/" + gDevs + "/members)"},
		{name: "malformed first page", setup: func(f *fakeGraph, _ *Options) { f.malformed["/users?skip=0"] = true },
			want: "list /users (page 1)"},
		{name: "users forbidden", setup: func(f *fakeGraph, _ *Options) { f.status["/users"] = 403 },
			want: "list /users (page 1)"},
		{name: "throttled beyond retries", setup: func(f *fakeGraph, o *Options) {
			f.throttle["/groups?skip=0"] = 10
			f.throttleAfter = "0"
			o.MaxRetries = 2
		}, want: "list /groups (page 1)"},
		{name: "page timeout", setup: func(f *fakeGraph, o *Options) {
			f.hang["/applications?skip=0"] = true
			o.PageTimeout = 200 * time.Millisecond
		}, want: "page timeout (200ms)"},
		{name: "cancelled", setup: func(f *fakeGraph, _ *Options) { f.hang["/servicePrincipals?skip=0"] = true },
			cancel: 300 * time.Millisecond, wantErr: context.Canceled},
		{name: "wrong tenant", setup: func(_ *fakeGraph, o *Options) { o.Tenant = "bbbbbbbb-0000-4000-8000-000000000002" },
			want: "not the requested tenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGraph(t)
			fixtureTenant(f, true)
			r := newTestRun(t, f)
			tc.setup(f, &r.o)
			ctx := t.Context()
			if tc.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tc.cancel, cancel)
				defer cancel()
			}
			start := time.Now()
			_, _, err := r.live(t, ctx)
			if err == nil {
				t.Fatal("Collect succeeded")
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
