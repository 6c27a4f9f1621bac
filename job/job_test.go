package job

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"permgraph/bench/gen"
	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/internal/awstest"
	"permgraph/queries"
)

// fakeIAM answers GetAccountAuthorizationDetails in the IAM query
// protocol's XML for one account, or AccessDenied while failing is set.
func fakeIAM(t *testing.T, account string, users int, failing *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "unexpected request", 400)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		// The collector asks STS who it is (same custom endpoint); that
		// needs no permission, so it answers even when IAM denies.
		if r.Form.Get("Action") == "GetCallerIdentity" {
			fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::%s:assumed-role/permgraph-reader/job</Arn><UserId>AROA:job</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-0</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, account, account)
			return
		}
		if r.Form.Get("Action") != "GetAccountAuthorizationDetails" {
			http.Error(w, "unexpected request", 400)
			return
		}
		if failing.Load() {
			w.WriteHeader(403)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: iam:GetAccountAuthorizationDetails</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`)
			return
		}
		var b strings.Builder
		for i := range users {
			fmt.Fprintf(&b, `<member><Path>/</Path><UserName>user%d</UserName><UserId>AIDA%012d</UserId><Arn>arn:aws:iam::%s:user/user%d</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><GroupList/><AttachedManagedPolicies/><Tags/></member>`, i, i, account, i)
		}
		fmt.Fprintf(w, `<GetAccountAuthorizationDetailsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated><UserDetailList>%s</UserDetailList><GroupDetailList/><RoleDetailList/><Policies/></GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>`, b.String())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newRunner(t *testing.T, db string, cfg *config.Config) *Runner {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &Runner{
		Config: cfg,
		DB:     db,
		Build:  func(ctx context.Context, s config.Source) (all.Built, error) { return all.Build(ctx, s, nil) },
		Open:   func(ctx context.Context) (*graph.Store, error) { return graph.Open(ctx, db, nil) },
	}
}

func TestJobOneSourceFailsOthersLand(t *testing.T) {
	awstest.Isolate(t, "AKIDEXAMPLE", "secret", "")
	var okFail, badFail atomic.Bool
	good := fakeIAM(t, "111122223333", 3, &okFail)
	bad := fakeIAM(t, "444455556666", 2, &badFail)
	db := filepath.Join(t.TempDir(), "db")
	cfg := &config.Config{Concurrency: 2, Sources: []config.Source{
		{Name: "good", Type: "aws", Account: "111122223333", EndpointURL: good.URL, Region: "us-east-1"},
		{Name: "bad", Type: "aws", Account: "444455556666", EndpointURL: bad.URL, Region: "us-east-1"},
	}}
	r := newRunner(t, db, cfg)
	r.Now = func() time.Time { return time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) }
	if s, err := r.RunOnce(t.Context()); err != nil || s.Failed != 0 {
		t.Fatalf("first run: %v (summary %+v)", err, s)
	}

	badFail.Store(true)
	r.Now = func() time.Time { return time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC) }
	var progress atomic.Int32
	r.Progress = func([]SourceStatus) { progress.Add(1) }
	r.ProgressEvery = time.Millisecond
	s, err := r.RunOnce(t.Context())
	if err == nil || !strings.Contains(err.Error(), "source bad") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("second run error = %v, want it to name source bad and AccessDenied", err)
	}
	if s.Failed != 1 || s.Sources[0].State != "done" || s.Sources[1].State != "failed" || s.Sources[0].Nodes == 0 {
		t.Fatalf("summary %+v", s.Sources)
	}
	// sts:GetCallerIdentity, then one GetAccountAuthorizationDetails page
	// each; AccessDenied is not retried.
	if s.Sources[0].Requests != 2 || s.Sources[1].Requests != 2 {
		t.Errorf("requests = %d, %d; want 2, 2", s.Sources[0].Requests, s.Sources[1].Requests)
	}
	if progress.Load() == 0 {
		t.Error("no progress reported")
	}
	st, err := graph.OpenReadOnly(t.Context(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	latest, err := st.LatestAt(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range latest {
		got[m.Source] = m.ID + " " + m.At.Format("15:04")
	}
	want := map[string]string{"aws:111122223333": "aws:111122223333@2 06:00", "aws:444455556666": "aws:444455556666@1 00:00"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("latest snapshots = %v, want %v", got, want)
	}
	all, _ := st.Snapshots(t.Context())
	var partial []string
	for _, m := range all {
		if m.Status == graph.StatusPartial {
			partial = append(partial, m.ID+" "+strings.Join(m.Reasons, ";"))
		}
	}
	if len(partial) != 1 || !strings.HasPrefix(partial[0], "aws:444455556666@2 ") || !strings.Contains(partial[0], "AccessDenied") {
		t.Fatalf("partial records = %v", partial)
	}
	// Every manifest, the failed run's too, records who collected and when
	// (detect suppresses that run's own discovery by it).
	for _, m := range all {
		c := m.Collection
		if c == nil || c.Start.IsZero() || c.End.Before(c.Start) {
			t.Errorf("%s: collection run = %+v", m.ID, c)
			continue
		}
		acct := strings.TrimPrefix(m.Source, "aws:")
		want := []string{"arn:aws:sts::" + acct + ":assumed-role/permgraph-reader/job", "arn:aws:iam::" + acct + ":role/permgraph-reader"}
		if fmt.Sprint(c.Identities) != fmt.Sprint(want) {
			t.Errorf("%s: identities = %q, want %q", m.ID, c.Identities, want)
		}
	}
}

func TestJobLockPreventsOverlap(t *testing.T) {
	db := t.TempDir()
	unlock, err := lockJob(db)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, db, &config.Config{Sources: []config.Source{{Type: "aws", From: []string{"x.json"}}}})
	if _, err := r.RunOnce(t.Context()); !errors.Is(err, ErrJobRunning) {
		t.Fatalf("second job: %v, want ErrJobRunning", err)
	}
	unlock()
	if _, err := r.RunOnce(t.Context()); errors.Is(err, ErrJobRunning) {
		t.Fatalf("lock not released: %v", err)
	}
}

func TestJobRetention(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "gaad.json")
	if _, err := gen.WriteFile(f, gen.ForPrincipals(40)); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "db")
	cfg := &config.Config{Retention: config.Retention{Keep: 2}, Sources: []config.Source{{Type: "aws", From: []string{f}}}}
	r := newRunner(t, db, cfg)
	for i := range 4 {
		r.Now = func() time.Time { return time.Date(2026, 11, 1+i, 0, 0, 0, 0, time.UTC) }
		if _, err := r.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	st, err := graph.OpenReadOnly(t.Context(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, _ := st.Snapshots(t.Context())
	if len(ms) != 2 || ms[0].Seq != 3 || ms[1].Seq != 4 {
		t.Fatalf("after retention keep 2: %v", ms)
	}
}

// The kill and concurrency tests run the job in a child process (this test
// binary re-executed) that writes snapshots of two alternating
// organisations until it is killed.
const childEnv = "PERMGRAPH_JOB_CHILD"

func TestJobChildProcess(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("helper for the subprocess tests")
	}
	parts := strings.Split(spec, "|") // db|fileA|fileB
	cfgA := &config.Config{Sources: []config.Source{{Type: "aws", From: []string{parts[1]}}}}
	cfgB := &config.Config{Sources: []config.Source{{Type: "aws", From: []string{parts[2]}}}}
	for i := 0; ; i++ {
		cfg := cfgA
		if i%2 == 1 {
			cfg = cfgB
		}
		r := newRunner(t, parts[0], cfg)
		r.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour) }
		if _, err := r.RunOnce(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "child run:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stdout, "wrote", i)
	}
}

func startChild(t *testing.T, db, a, b string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJobChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+db+"|"+a+"|"+b)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func twoOrgs(t *testing.T) (dir, a, b string) {
	dir = t.TempDir()
	a, b = filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	ca := gen.ForPrincipals(3000)
	cb := ca
	cb.Round = 3 // 3 days of churn: a different but overlapping organisation
	for _, x := range []struct {
		p string
		c gen.Config
	}{{a, ca}, {b, cb}} {
		if _, err := gen.WriteFile(x.p, x.c); err != nil {
			t.Fatal(err)
		}
	}
	return dir, a, b
}

// TestJobKilledMidWrite: SIGKILL at random points of repeated writes; the
// store opens, every complete snapshot reads, and a new job can run.
func TestJobKilledMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir, a, b := twoOrgs(t)
	db := filepath.Join(dir, "db")
	for round, delay := range []time.Duration{700 * time.Millisecond, 1900 * time.Millisecond, 3100 * time.Millisecond} {
		cmd := startChild(t, db, a, b)
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		st, err := graph.Open(t.Context(), db, nil)
		if err != nil {
			t.Fatalf("round %d: store does not open after SIGKILL: %v", round, err)
		}
		ms, err := st.Snapshots(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Status != graph.StatusComplete {
				continue
			}
			g, err := st.ReadSnapshot(t.Context(), m)
			if err != nil || len(g.Nodes) != m.Nodes || len(g.Edges) != m.Edges {
				t.Fatalf("round %d: snapshot %s unreadable or incomplete after SIGKILL: %v", round, m.ID, err)
			}
		}
		st.Close()
		unlock, err := lockJob(db)
		if err != nil {
			t.Fatalf("round %d: job lock stuck after SIGKILL: %v", round, err)
		}
		unlock()
	}
}

// TestQueryDuringWrite: while another process writes snapshots, who-can
// deploy from the latest view always equals the answer of one complete
// snapshot, never a mix.
func TestQueryDuringWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	dir, a, b := twoOrgs(t)
	db := filepath.Join(dir, "db")
	answers := map[string]bool{}
	for _, f := range []string{a, b} {
		odb := filepath.Join(t.TempDir(), "one")
		r := newRunner(t, odb, &config.Config{Sources: []config.Source{{Type: "aws", From: []string{f}}}})
		if _, err := r.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		answers[whoCanKey(t, odb)] = true
	}
	if len(answers) != 2 {
		t.Fatal("the two organisations must give different answers")
	}
	cmd := startChild(t, db, a, b)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// The 8 s of querying start at the first snapshot: on a loaded machine
	// the child may take a while to write it.
	deadline := time.Now().Add(60 * time.Second)
	checked := 0
	for time.Now().Before(deadline) {
		v, err := graph.LoadLatestView(t.Context(), db, nil)
		if err != nil {
			time.Sleep(20 * time.Millisecond) // no snapshot yet
			continue
		}
		if checked == 0 {
			deadline = time.Now().Add(8 * time.Second)
		}
		res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !answers[key(res)] {
			t.Fatalf("query during write saw an answer of neither snapshot (%d principals)", len(res.Principals))
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d queries ran during the writes", checked)
	}
	t.Logf("%d consistent answers during writes", checked)
}

func whoCanKey(t *testing.T, db string) string {
	t.Helper()
	v, err := graph.LoadLatestView(t.Context(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return key(res)
}

func key(res *queries.WhoCanResult) string {
	var b strings.Builder
	for _, p := range res.Principals {
		b.WriteString(p.ID)
		b.WriteString(p.Via)
		b.WriteByte('\n')
	}
	return b.String()
}
