package all

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/config"
	"permgraph/graph"
)

const sample = "../../testdata/sample-org"

func TestBuildOfflineSourcesFromTheSample(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     config.Source
		sources []string
	}{
		{"aws files", config.Source{Type: "aws", From: []string{filepath.Join(sample, "aws-111122223333.json")}, OrgFrom: filepath.Join(sample, "aws-org.json")},
			[]string{"aws-org:o-sample12345", "aws:111122223333"}},
		{"azure capture", config.Source{Type: "azure", From: []string{filepath.Join(sample, "azure", "day1")}},
			[]string{"azure:0c0c0c0c-1111-4111-8111-000000000001"}},
		{"google capture and CAI", config.Source{Type: "google", From: []string{filepath.Join(sample, "google", "day1")}},
			[]string{"google:C0corp123"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(context.Background(), tc.src, nil)
			if err != nil {
				t.Fatal(err)
			}
			col := graph.NewCollection()
			if err := b.Collector.Collect(context.Background(), col); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range col.Sources() {
				got = append(got, g.Source)
				if len(g.Warnings) > 0 {
					t.Errorf("%s: unexpected warnings %v", g.Source, g.Warnings)
				}
			}
			sort.Strings(got)
			if d := cmp.Diff(tc.sources, got); d != "" {
				t.Errorf("sources (-want +got):\n%s", d)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		src  config.Source
		want string
	}{
		{"azure from a file", config.Source{Name: "corp", Type: "azure", From: []string{filepath.Join(sample, "aws-org.json")}}, "source corp: from:"},
		{"azure az exports without tenant", config.Source{Type: "azure", From: []string{dir}}, "pass --tenant"},
		{"google from nowhere", config.Source{Type: "google", From: []string{filepath.Join(dir, "none")}}, "is not a directory"},
		{"unknown type", config.Source{Type: "oracle"}, `unknown type "oracle"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(context.Background(), tc.src, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A configured account, tenant or customer names the source a failure
	// is recorded under.
	b, err := Build(context.Background(), config.Source{Type: "aws", Account: "123456789012", From: []string{"x.json"}}, nil)
	if err != nil || b.Hint != "aws:123456789012" {
		t.Fatalf("hint = %q, %v", b.Hint, err)
	}
}

// A directory with only a Workspace capture is a Workspace-only source: the
// GCP reader finds no data and is skipped, not failed.
func TestGoogleWorkspaceOnly(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(sample, "google", "day1", "directory.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "directory.jsonl"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	built, err := Build(context.Background(), config.Source{Type: "google", From: []string{dir}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	col := graph.NewCollection()
	if err := built.Collector.Collect(context.Background(), col); err != nil {
		t.Fatal(err)
	}
	srcs := col.Sources()
	if len(srcs) != 1 || srcs[0].Source != "google:C0corp123" {
		t.Fatalf("sources %v", srcs)
	}
	for id := range srcs[0].Nodes {
		if strings.HasPrefix(id, "gcp:") {
			t.Fatalf("GCP node %s from a Workspace-only directory", id)
		}
	}
}
