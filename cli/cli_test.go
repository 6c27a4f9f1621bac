package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleGAAD = "../testdata/sample-org/aws-111122223333.json"

// run executes the CLI in-process and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func collected(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "db")
	if code, _, stderr := run(t, "--db", db, "collect", "aws", "--from", sampleGAAD, "--at", "2026-01-01T00:00:00Z"); code != 0 {
		t.Fatalf("collect: exit %d: %s", code, stderr)
	}
	return db
}

func TestExitCodes(t *testing.T) {
	db := collected(t)
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"who-can deploy", []string{"--db", db, "who-can", "deploy"}, 0, "alice"},
		{"unknown flag", []string{"--db", db, "who-can", "deploy", "--nope"}, 2, "unknown flag"},
		{"bad output format", []string{"--db", db, "-o", "xml", "who-can", "deploy"}, 2, "unknown output format"},
		{"missing argument", []string{"--db", db, "path", "bob"}, 2, "want 2 argument"},
		{"unknown principal", []string{"--db", db, "what-can", "nobody"}, 2, "no node"},
		{"no path", []string{"--db", db, "path", "erin", "deploy"}, 1, "no path"},
		{"missing store", []string{"--db", filepath.Join(t.TempDir(), "none"), "who-can", "deploy"}, 1, "permgraph collect"},
		{"before first snapshot", []string{"--db", db, "who-can", "deploy", "--at", "2025-01-01"}, 1, "no complete snapshot"},
		{"bad time", []string{"--db", db, "who-can", "deploy", "--at", "yesterday"}, 2, "bad time"},
		{"report: bad format", []string{"--db", db, "report", "--format", "xml"}, 2, "unknown report format"},
		{"k8s not collected", []string{"--db", db, "who-can", "deploy", "--cloud", "k8s"}, 1, "not collected yet"},
		{"azure, none collected", []string{"--db", db, "who-can", "deploy", "--cloud", "azure"}, 0, "0 principal"},
		{"bad permission", []string{"--db", db, "who-can", "RunTask"}, 1, "want a permission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit = %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("output does not mention %q\nstdout: %s\nstderr: %s", tt.want, stdout, stderr)
			}
		})
	}
}

func TestWhoCanDeployJSONShape(t *testing.T) {
	db := collected(t)
	code, stdout, stderr := run(t, "--db", db, "-o", "json", "who-can", "deploy", "--include-conditional", "--paths")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Capability string `json:"capability"`
		At         string `json:"at"`
		Principals []struct {
			ID, Kind, Name, Via string
			Conditional         *bool
			Scopes              []string
			Hops                int
			Through             string
			Path                []struct {
				From, Edge, To string
				Evidence       []map[string]string
			}
		} `json:"principals"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("decode: %v\n%s", err, stdout)
	}
	if res.Capability != "deploy-container" || res.At == "" || len(res.Principals) == 0 {
		t.Fatalf("unexpected result: %+v", res)
	}
	for _, p := range res.Principals {
		if p.ID == "" || p.Kind == "" || (p.Via != "direct" && p.Via != "escalation") || p.Conditional == nil || len(p.Scopes) == 0 || len(p.Path) == 0 || p.Hops != len(p.Path) {
			t.Errorf("principal missing fields: %+v", p)
		}
		if (p.Through == "") != (p.Path[len(p.Path)-1].From == p.ID) {
			t.Errorf("%s: through %q, but the capability hop starts at %s", p.Name, p.Through, p.Path[len(p.Path)-1].From)
		}
		for _, h := range p.Path {
			if h.From == "" || h.Edge == "" || h.To == "" || len(h.Evidence) == 0 {
				t.Errorf("%s: hop missing fields: %+v", p.Name, h)
			}
		}
	}
	// Without --paths the same rows come without paths: hops and the
	// holder of the grant only.
	_, lean, _ := run(t, "--db", db, "-o", "json", "who-can", "deploy", "--include-conditional")
	var short struct {
		Principals []map[string]any `json:"principals"`
	}
	if err := json.Unmarshal([]byte(lean), &short); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(short.Principals) != len(res.Principals) {
		t.Fatalf("%d principals without --paths, %d with", len(short.Principals), len(res.Principals))
	}
	for i, p := range short.Principals {
		if _, ok := p["path"]; ok || p["hops"] != float64(res.Principals[i].Hops) || p["id"] != res.Principals[i].ID {
			t.Errorf("row %d without --paths: %v", i, p)
		}
	}
}

func TestFailedImportLeavesStoreUnchanged(t *testing.T) {
	db := collected(t)
	_, before, _ := run(t, "--db", db, "-o", "json", "who-can", "deploy")
	bad := filepath.Join(t.TempDir(), "broken.json")
	sample, err := os.ReadFile(sampleGAAD)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, sample[:len(sample)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "--db", db, "collect", "aws", "--from", bad)
	if code != 1 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "offset") {
		t.Fatalf("exit %d, stderr %s: want exit 1 naming the file and offset", code, stderr)
	}
	_, after, _ := run(t, "--db", db, "-o", "json", "who-can", "deploy")
	if before != after {
		t.Fatalf("answer changed after a failed import:\nbefore %s\nafter %s", before, after)
	}
	_, list, _ := run(t, "--db", db, "snapshots", "list")
	if !strings.Contains(list, "partial") || !strings.Contains(list, "complete") {
		t.Fatalf("snapshots list should show the complete and the partial snapshot:\n%s", list)
	}
}

func TestOutputFormatsAreSafe(t *testing.T) {
	// A hostile user name: formula for spreadsheets, ANSI escape for terminals,
	// Markdown table breaker.
	dir := t.TempDir()
	gaad := filepath.Join(dir, "gaad.json")
	hostile := "=HYPERLINK(\"http://x\")\u001b[31m|evil"
	doc := map[string]any{
		"UserDetailList": []any{map[string]any{
			"UserName": hostile, "Arn": "arn:aws:iam::111122223333:user/evil",
			"UserPolicyList": []any{map[string]any{"PolicyName": "p", "PolicyDocument": map[string]any{
				"Statement": []any{map[string]any{"Effect": "Allow", "Action": "lambda:UpdateFunctionCode", "Resource": "*"}}}}},
		}},
	}
	b, _ := json.Marshal(doc)
	if err := os.WriteFile(gaad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "db")
	if code, _, stderr := run(t, "--db", db, "collect", "aws", "--from", gaad); code != 0 {
		t.Fatalf("collect: %s", stderr)
	}
	for _, format := range []string{"table", "csv", "md"} {
		_, out, _ := run(t, "--db", db, "-o", format, "who-can", "deploy")
		if strings.ContainsRune(out, '\u001b') {
			t.Errorf("%s output carries a raw escape character", format)
		}
		switch format {
		case "csv":
			if !strings.Contains(out, "'=HYPERLINK") {
				t.Errorf("csv: formula not defused:\n%s", out)
			}
		case "md":
			if !strings.Contains(out, `\|evil`) {
				t.Errorf("md: pipe not escaped:\n%s", out)
			}
		}
	}
}

func TestStoreDirIsPrivate(t *testing.T) {
	db := collected(t)
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("store dir mode = %o, want 700", perm)
	}
}

func TestDemo(t *testing.T) {
	code, out, stderr := run(t, "demo", "--sample", "../testdata/sample-org")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"who-can deploy", "alice", "bob -CanAssume-> JumpRole -CanAssume-> DeployRole", "evidence:", "frank -CanUpdateTrust-> DeployRole", "R01", "R05", "R10",
		"== day 2", "who-can deploy --cloud gcp", "Jane Park -MemberOf-> ML leads -MemberOf-> ML team", "Alice Ng -CanPassRole-> Cloud Run deployer",
		"Leo Ruiz gained deploy-container on gcp ml-prod via MemberOf ML leads added",
		"who-can deploy --cloud azure", "Alice Ng -MemberOf-> aci-operators -MemberOf-> platform-admins -Can->",
		"Ivan Petrov (contractor) gained deploy-container on azure", "Kim Lee -CanAddMember-> aci-operators",
		"Alice Ng -SameIdentity-> Alice Ng", "-CanPassRole-> Cloud Run deployer"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// who-can lists a person once: not again through the twin account.
	if strings.Contains(out, "Alice Ng -SameIdentity-> Alice Ng -MemberOf->") {
		t.Errorf("who-can lists a SameIdentity twin as a separate answer:\n%s", out)
	}
}

func TestDetectStoresAlertsAndFailOn(t *testing.T) {
	db := collected(t)
	trail := "../testdata/sample-org/cloudtrail-incident.jsonl"
	code, out, stderr := run(t, "--db", db, "detect", trail, "--fail-on", "high")
	if code != ExitAlerts {
		t.Fatalf("exit %d, want 3 (high alerts fired)\n%s", code, stderr)
	}
	if !strings.Contains(out, `"rule":"R05"`) || !strings.Contains(stderr, "34 records") {
		t.Fatalf("want JSON-line alerts and a record count:\n%s\n%s", out, stderr)
	}
	// Stored once: a second run adds nothing new and alerts lists them.
	run(t, "--db", db, "detect", trail)
	code, list, _ := run(t, "--db", db, "alerts", "--rule", "R05")
	if code != 0 || strings.Count(list, "R05") != 1 {
		t.Fatalf("alerts --rule R05: exit %d\n%s", code, list)
	}
	code, _, _ = run(t, "--db", db, "detect", trail, "--fail-on", "critical", "--no-store")
	if code != 0 {
		t.Fatalf("no critical alert: exit %d", code)
	}
}

// detect --config permgraph.yaml: the snapshot job's own identities (its
// detection.collectors) are expected to enumerate groups, so R01 stays quiet
// for them while the rest of the incident still alerts.
func TestDetectJobConfigSuppressesCollectors(t *testing.T) {
	db := collected(t)
	trail := "../testdata/sample-org/cloudtrail-incident.jsonl"
	cfg := filepath.Join(t.TempDir(), "permgraph.yaml")
	os.WriteFile(cfg, []byte("sources: [{type: aws, from: [x.json]}]\ndetection:\n  collectors: [\"arn:aws:iam::111122223333:user/ops/gina\"]\n"), 0o600)
	code, out, stderr := run(t, "--db", db, "detect", trail, "--no-store")
	if code != 0 || !strings.Contains(out, `"rule":"R01"`) {
		t.Fatalf("without config: exit %d, R01 expected\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = run(t, "--db", db, "detect", trail, "--no-store", "--config", cfg)
	if code != 0 || strings.Contains(out, `"rule":"R01"`) {
		t.Fatalf("with the job's identity in permgraph.yaml: exit %d, want no R01\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := run(t, "--db", db, "detect", trail, "--config", filepath.Join(t.TempDir(), "none.yaml")); code != 2 {
		t.Fatalf("missing config: exit %d\n%s", code, stderr)
	}
}
