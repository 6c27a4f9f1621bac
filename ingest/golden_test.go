package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/collectors/awsiam"
	"permgraph/collectors/awsorg"
	"permgraph/graph"
	"permgraph/queries"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update): %v", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func viewOf(t *testing.T, paths ...string) *graph.View {
	t.Helper()
	var m Multi
	for _, path := range paths {
		if _, err := os.Stat(path); err != nil {
			t.Skipf("sample not available: %v", err)
		}
		if filepath.Base(path) == "aws-org.json" {
			m = append(m, &awsorg.FileCollector{Path: path})
			continue
		}
		m = append(m, &awsiam.FileCollector{Path: path, AllowTruncated: true})
	}
	gs, err := Collect(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return graph.NewViewFromGraphs(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil, gs...)
}

func TestGoldenWhoCanDeploy(t *testing.T) {
	tests := []struct {
		name  string
		files []string
	}{
		{"sample-org", []string{"../testdata/sample-org/aws-111122223333.json"}},
		{"sample-org-multi-account", []string{"../testdata/sample-org/aws-org.json", "../testdata/sample-org/aws-111122223333.json", "../testdata/sample-org/aws-444455556666.json"}},
		{"cloudsplaining-test", []string{"../../shared/testdata/gaad/cloudsplaining-test-authz-details.json"}},
		{"cloudmapper-demo", []string{"../../shared/testdata/gaad/cloudmapper-demo-gaad.json"}},
		{"cloudsplaining-v2", []string{"../../shared/testdata/gaad/cloudsplaining-authz-v2.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := viewOf(t, tt.files...)
			res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{IncludeConditional: true, Paths: true})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".who-can-deploy.json", res)
		})
	}
}

// TestSampleOrgAnswers pins the facts the sample organisation was written to
// exercise (testdata/sample-org/README.md), independently of golden files.
func TestSampleOrgAnswers(t *testing.T) {
	v := viewOf(t, "../testdata/sample-org/aws-111122223333.json")
	strict, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{Paths: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]queries.Principal{}
	for _, p := range strict.Principals {
		got[p.Name] = p
	}
	for _, name := range []string{"alice", "bob", "ci-bot", "DeployRole", "JumpRole"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s should be able to deploy", name)
		}
	}
	for _, name := range []string{"carol", "erin", "dave", "AuditRole", "AppTaskRole"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s must not be able to deploy (unconditionally)", name)
		}
	}
	for name, edge := range map[string]string{"frank": "CanUpdateTrust", "gina": "CanAddMember"} {
		if p, ok := got[name]; !ok || p.Via != "escalation" || p.Path[0].Edge != edge {
			t.Errorf("%s should deploy via escalation (%s), got %+v", name, edge, p)
		}
	}
	if p := got["bob"]; len(p.Path) != 3 || p.Path[0].Edge != "CanAssume" {
		t.Errorf("bob deploys only via the role chain, got path %+v", p.Path)
	}
	if strict.HiddenConditional != 1 {
		t.Errorf("hidden conditional = %d, want 1 (dave)", strict.HiddenConditional)
	}
	loose, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{IncludeConditional: true, Paths: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range loose.Principals {
		if p.Name == "dave" {
			found = p.Conditional && p.Path[0].Condition != ""
		}
	}
	if !found {
		t.Error("dave should deploy conditionally, with the condition shown")
	}
	// who-can for an arbitrary action at query time: carol's explicit deny.
	rt, err := queries.WhoCanAction(v, "ecs:RunTask", "arn:aws:ecs:us-east-1:111122223333:task-definition/app:1", queries.WhoCanOptions{Paths: true})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range rt.Principals {
		names[p.Name] = true
	}
	if !names["alice"] || !names["bob"] || names["carol"] || names["erin"] {
		t.Errorf("who-can ecs:RunTask = %v", names)
	}
}

func TestSampleOrgAcrossAccounts(t *testing.T) {
	v := viewOf(t, "../testdata/sample-org/aws-org.json", "../testdata/sample-org/aws-111122223333.json", "../testdata/sample-org/aws-444455556666.json")
	res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{IncludeConditional: true, Paths: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Principals {
		if p.Name == "sandbox-dev" {
			t.Errorf("sandbox-dev holds ecs:* and PassRole but the Sandbox SCP denies deploys: %+v", p)
		}
	}
	path, err := queries.FindPath(v, "ops-bot", "AuditRole", queries.PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(path.Paths) != 1 || !path.Paths[0].Conditional || path.Paths[0].Hops[0].Edge != "CanAssume" {
		t.Fatalf("ops-bot should reach prod's AuditRole across accounts, conditionally (ExternalId): %+v", path.Paths)
	}
}
