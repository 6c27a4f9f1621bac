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

func viewOf(t *testing.T, path string) *graph.View {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("sample not available: %v", err)
	}
	gs, err := Collect(context.Background(), &awsiam.FileCollector{Path: path, AllowTruncated: true})
	if err != nil {
		t.Fatal(err)
	}
	return graph.NewViewFromGraphs(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil, gs...)
}

func TestGoldenWhoCanDeploy(t *testing.T) {
	tests := []struct {
		name, file string
	}{
		{"sample-org", "../testdata/sample-org/aws-111122223333.json"},
		{"cloudsplaining-test", "../../shared/testdata/gaad/cloudsplaining-test-authz-details.json"},
		{"cloudmapper-demo", "../../shared/testdata/gaad/cloudmapper-demo-gaad.json"},
		{"cloudsplaining-v2", "../../shared/testdata/gaad/cloudsplaining-authz-v2.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := viewOf(t, tt.file)
			res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{IncludeConditional: true})
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
	strict, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{})
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
	loose, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{IncludeConditional: true})
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
	rt, err := queries.WhoCanAction(v, "ecs:RunTask", "arn:aws:ecs:us-east-1:111122223333:task-definition/app:1", queries.WhoCanOptions{})
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
