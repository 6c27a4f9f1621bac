package emulate

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/detect/rules"
	"permgraph/graph"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sampleGraph builds the sample organisation into a temporary store.
func sampleGraph(t *testing.T) *rules.StoreGraph {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "db")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := BuildSampleStore(ctx, filepath.Join("..", "testdata", "sample-org"), db, logger); err != nil {
		t.Fatal(err)
	}
	st, err := graph.OpenReadOnly(ctx, db, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g, err := rules.NewStoreGraph(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestEmulateValidateAll(t *testing.T) {
	ctx := context.Background()
	g := sampleGraph(t)
	dir := t.TempDir()
	start := time.Now()
	if _, err := WriteAll(ctx, dir, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	emu := time.Since(start)
	dirs, err := ScenarioDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	rep, err := Validate(ctx, dirs, g, rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("emulate %s, validate %s", emu, time.Since(start))
	var sb strings.Builder
	if err := WriteTable(&sb, rep); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "validation.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), sb.String()); d != "" {
		t.Errorf("validation table differs from %s (-want +got):\n%s", golden, d)
	}
	if !rep.Pass {
		t.Errorf("validation failed:\n%s", sb.String())
	}
}
