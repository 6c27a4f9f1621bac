package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var updateReport = flag.Bool("update", false, "rewrite the golden reports under ../report/testdata/")

// demoStore snapshots the sample organisation on its two days (and stores
// the demo's alerts) into a temporary store.
func demoStore(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := run(t, "demo", "--dir", db, "--sample", filepath.Join("..", "testdata", "sample-org")); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	return db
}

func TestReportGolden(t *testing.T) {
	db := demoStore(t)
	for _, format := range []string{"md", "json"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := run(t, "--db", db, "report", "--format", format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("..", "report", "testdata", "demo."+format)
			if *updateReport {
				if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cli -run TestReportGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("report differs from %s (-want +got; -update to accept):\n%s", golden, diff)
			}
		})
	}
}

func TestReportContent(t *testing.T) {
	db := demoStore(t)
	code, stdout, stderr := run(t, "--db", db, "-o", "json", "report")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Clouds []struct {
			Cloud                                      string
			Deployers, Direct, Escalation, Conditional int
			EligibleOnly                               int `json:"eligible_only"`
		}
		Deployers []struct{ Name, Cloud, Category string }
		Changes   struct {
			Capabilities []struct{ Change, Name string }
		}
		Alerts []struct {
			Rule   string
			Attack []string
		}
		Checklist []struct{ Owner struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	cat := map[string]string{}
	for _, d := range r.Deployers {
		cat[d.Cloud+"/"+d.Name] = d.Category
	}
	for k, want := range map[string]string{
		"aws/alice": "direct", "aws/bob": "direct", "aws/frank": "escalation", "aws/gina": "escalation", "aws/dave": "conditional",
		"azure/Jane Park": "eligible-only", "azure/Kim Lee": "escalation", "gcp/Leo Ruiz": "direct",
	} {
		if cat[k] != want {
			t.Errorf("deployer %s: category %q, want %q", k, cat[k], want)
		}
	}
	if _, ok := cat["aws/carol"]; ok {
		t.Errorf("carol (explicit deny) listed as a deployer")
	}
	for _, c := range r.Clouds {
		if c.Direct+c.Escalation+c.Conditional+c.EligibleOnly != c.Deployers {
			t.Errorf("%s: categories do not add up: %+v", c.Cloud, c)
		}
	}
	gained := map[string]bool{}
	for _, c := range r.Changes.Capabilities {
		gained[c.Name] = c.Change == "gained"
	}
	if !gained["Leo Ruiz"] || !gained["Ivan Petrov (contractor)"] {
		t.Errorf("changes: want Leo and Ivan gained, got %+v", r.Changes.Capabilities)
	}
	if len(r.Alerts) != 3 || len(r.Alerts[0].Attack) == 0 {
		t.Errorf("alerts: want 3 with ATT&CK ids, got %+v", r.Alerts)
	}
	if len(r.Checklist) == 0 {
		t.Errorf("no checklist")
	}
}

func TestReportFormatsAndFlags(t *testing.T) {
	db := collected(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		file string
		want string
	}{
		{"html by extension", []string{"report", "--out", filepath.Join(dir, "r.html")}, 0, "r.html", "<!DOCTYPE html>"},
		{"csv by flag", []string{"report", "--format", "csv", "--out", filepath.Join(dir, "r.txt")}, 0, "r.txt", "principal,id,kind,cloud,capability"},
		{"single snapshot: no changes", []string{"report", "--format", "md"}, 0, "", "No earlier snapshot to compare with"},
		{"since a time", []string{"report", "--format", "md", "--since", "2025-06-01"}, 0, "", "Review period since 2025-06-01"},
		{"bad since", []string{"report", "--since", "last quarter"}, 2, "", "snapshot id"},
		{"unknown snapshot", []string{"report", "--since", "aws:1@9"}, 1, "", "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"--db", db}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			got := stdout + stderr
			if tt.file != "" {
				b, err := os.ReadFile(filepath.Join(dir, tt.file))
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("output lacks %q:\n%.600s", tt.want, got)
			}
		})
	}
}

// TestReportCSVRows checks one row per (principal, capability, scope, path).
func TestReportCSVRows(t *testing.T) {
	db := demoStore(t)
	code, stdout, stderr := run(t, "--db", db, "report", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		key := r[1] + "|" + r[4] + "|" + r[5]
		if seen[key] {
			t.Errorf("duplicate row for %s", key)
		}
		seen[key] = true
		if r[10] == "" {
			t.Errorf("row without a path: %v", r)
		}
	}
	// Cloud Root (Workspace super admin) reaches both GCP projects.
	if !seen["gws:user:100000000000000000006|deploy-container|ml-prod"] || !seen["gws:user:100000000000000000006|deploy-container|web-prod"] {
		t.Errorf("want one row per scope for Cloud Root; rows: %v", seen)
	}
}

func TestServeRefusesRemote(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:0", false, true}, {"[::1]:0", false, true}, {"localhost:0", false, true},
		{"0.0.0.0:8080", false, false}, {":8080", false, false}, {"192.0.2.1:80", false, false},
		{"0.0.0.0:8080", true, true}, {"nonsense", false, false},
	} {
		err := checkListenAddr(tt.addr, tt.remote)
		if (err == nil) != tt.ok {
			t.Errorf("checkListenAddr(%q, %v) = %v, want ok=%v", tt.addr, tt.remote, err, tt.ok)
		}
	}
	code, _, stderr := run(t, "serve", "--addr", "0.0.0.0:0")
	if code != ExitUsage || !strings.Contains(stderr, "--allow-remote") {
		t.Errorf("serve on 0.0.0.0: exit %d, %s", code, stderr)
	}
}

// TestServeStore serves a real store on a loopback listener and reads the
// API the way the UI does.
func TestServeStore(t *testing.T) {
	db := demoStore(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &globalOptions{DB: db, Output: "table", LogFormat: "text", stdout: io.Discard, stderr: io.Discard}
	if err := g.setup(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serveOn(ctx, g, ln, serveOptions{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second}
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/api/who-can", 200, `"capability": "deploy-container"`},
		{"/api/who-can?paths=1", 200, `"evidence"`},
		{"/api/path?from=bob&to=deploy", 200, `"edge": "CanAssume"`},
		{"/api/what-can?principal=alice@corp.example", 400, "ambiguous"},
		{"/api/what-can?principal=gina", 200, `"capabilities"`},
		{"/api/snapshots", 200, `"aws:111122223333@2"`},
		{"/api/diff", 200, `"Leo Ruiz gained deploy-container`},
		{"/api/diff?from=aws:111122223333@1", 200, `"capabilities"`},
		{"/api/alerts", 200, `"R05"`},
		{"/api/report", 200, `"privileged_groups"`},
		{"/report", 200, "Permission review"},
		{"/", 200, "/static/app.js"},
	} {
		resp, err := client.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("GET %s: %d, want %d with %q:\n%.400s", tt.path, resp.StatusCode, tt.code, tt.want, b)
		}
	}
}
