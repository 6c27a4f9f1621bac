package response

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/detect/read"
	"permgraph/detect/rules"
	"permgraph/emulate"
	"permgraph/graph"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sampleStore snapshots the sample organisation once per test binary run.
func sampleStore(t *testing.T) *graph.Store {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "db")
	logger := slog.New(slog.DiscardHandler)
	if err := emulate.BuildSampleStore(ctx, "../testdata/sample-org", db, logger); err != nil {
		t.Fatal(err)
	}
	st, err := graph.OpenReadOnly(ctx, db, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// emulateAlert writes scenario name, runs detection and returns the alert
// of rule and the scenario's log directory.
func emulateAlert(t *testing.T, st *graph.Store, name, rule string) (rules.Alert, string) {
	t.Helper()
	ctx := context.Background()
	sc, ok := emulate.Find(name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	dir := filepath.Join(t.TempDir(), name)
	if _, err := emulate.Write(ctx, sc, dir, emulate.DefaultSeed); err != nil {
		t.Fatal(err)
	}
	exp, err := emulate.ReadExpectation(dir)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.RulesFromConfig(exp.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := rules.NewStoreGraph(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	en := rules.NewEngine(sg, exp.Config, rs)
	logs := filepath.Join(dir, emulate.LogsDir)
	r, err := read.Open(ctx, logs, "auto")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var found []rules.Alert
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		as, err := en.Process(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Rule == rule {
				found = append(found, a)
			}
		}
	}
	if len(found) == 0 {
		t.Fatalf("%s: no %s alert", name, rule)
	}
	return found[len(found)-1], logs
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}

func TestIncidentGolden(t *testing.T) {
	st := sampleStore(t)
	for _, tc := range []struct{ scenario, rule string }{{"E1", "R05"}, {"E4", "R05"}} {
		t.Run(tc.scenario, func(t *testing.T) {
			a, logs := emulateAlert(t, st, tc.scenario, tc.rule)
			inc, err := Build(context.Background(), st, a, Options{Logs: []string{logs}})
			if err != nil {
				t.Fatal(err)
			}
			// Scenario directories are temporary: name them stably.
			base := filepath.Dir(logs)
			for _, f := range []string{"md", "json"} {
				var buf bytes.Buffer
				if err := Render(&buf, f, inc); err != nil {
					t.Fatal(err)
				}
				out := strings.ReplaceAll(buf.String(), base, "$SCENARIO")
				golden(t, tc.scenario+"-"+tc.rule+".incident."+f, []byte(out))
				if f == "json" {
					var back map[string]any
					if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
						t.Fatalf("json does not parse: %v", err)
					}
				}
			}
			if len(inc.Cuts) == 0 || len(inc.Containment) == 0 {
				t.Errorf("want cuts and containment commands, got %d and %d", len(inc.Cuts), len(inc.Containment))
			}
			var buf bytes.Buffer
			if err := RenderHTML(&buf, inc); err != nil {
				t.Fatal(err)
			}
		})
	}
}
