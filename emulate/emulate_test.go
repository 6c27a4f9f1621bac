package emulate

import (
	"context"
	"encoding/json"
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

// TestFirstSeenNeedsBaseline shows X4-first-seen exercises the first-seen
// baseline both ways: with a history longer than the emulated window the
// first-seen alerts cannot fire (the coverage gate), and with a history
// shorter than a day the daily look-alikes are no longer in the baseline
// and alert.
func TestFirstSeenNeedsBaseline(t *testing.T) {
	ctx := context.Background()
	g := sampleGraph(t)
	sc, ok := Find("X4-first-seen")
	if !ok {
		t.Fatal("no scenario X4-first-seen")
	}
	dir := t.TempDir()
	if _, err := Write(ctx, sc, dir, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	check := func(history string) ScenarioResult {
		t.Helper()
		cfg := rules.Config{Params: map[string]map[string]string{"R02": {"history": history}, "R06": {"history": history}}}
		rep, err := Validate(ctx, []string{dir}, g, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Scenarios[0]
	}
	status := func(sr ScenarioResult) map[string]string {
		out := map[string]string{}
		for _, e := range sr.Expectations {
			out[e.Rule+":"+e.Label] = e.Status
		}
		return out
	}

	long := check("480h") // 20 days: the baseline never covers it
	want := map[string]string{"R02:": StatusMissed, "R10:": StatusDetected, "R06:first-seen-chain": StatusMissed,
		"R06:chain-not-in-snapshot": StatusDetected, "R05:": StatusOptional}
	if d := cmp.Diff(want, status(long)); d != "" || long.Pass {
		t.Errorf("history 480h: pass %v, expectations (-want +got):\n%s", long.Pass, d)
	}

	short := check("12h") // the daily routine is older than the history
	benign := map[string]bool{}
	for _, fp := range short.FalsePositives {
		if fp.Kind == "benign" {
			benign[fp.Rule+" "+fp.Actor] = true
		}
	}
	for _, w := range []string{"R02 gina", "R06 DeployRole"} {
		if !benign[w] {
			t.Errorf("history 12h: want a false positive %q on a daily look-alike, got %+v", w, short.FalsePositives)
		}
	}
	if short.Pass {
		t.Error("history 12h: validation passed although look-alikes alerted")
	}
}

// TestVolumeNeedsBaseline shows X5-deploy-spike exercises R11's history
// gate and its change windows: with min_history longer than the emulated
// window the burst is missed, and without the scenario's change window the
// Saturday maintenance alerts.
func TestVolumeNeedsBaseline(t *testing.T) {
	ctx := context.Background()
	g := sampleGraph(t)
	sc, ok := Find("X5-deploy-spike")
	if !ok {
		t.Fatal("no scenario X5-deploy-spike")
	}
	dir := t.TempDir()
	if _, err := Write(ctx, sc, dir, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	long := rules.Config{Params: map[string]map[string]string{"R11": {"min_history": "480h"}}}
	rep, err := Validate(ctx, []string{dir}, g, long)
	if err != nil {
		t.Fatal(err)
	}
	if sr := rep.Scenarios[0]; sr.Pass || sr.Expectations[0].Status != StatusMissed {
		t.Errorf("min_history 480h: want the burst missed, got pass %v, %+v", sr.Pass, sr.Expectations)
	}

	exp, err := ReadExpectation(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Config.ChangeWindows) != 1 {
		t.Fatalf("X5 config: want one change window, got %+v", exp.Config.ChangeWindows)
	}
	exp.Config.ChangeWindows = nil
	data, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ExpectFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = Validate(ctx, []string{dir}, g, rules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sr := rep.Scenarios[0]
	var benign []string
	for _, fp := range sr.FalsePositives {
		benign = append(benign, fp.Rule+" "+fp.Kind+" "+fp.Reason)
	}
	if sr.Pass || len(benign) != 1 || !strings.Contains(benign[0], "R11 benign alerted on benign look-alike b-maintenance") {
		t.Errorf("without the change window: want one R11 alert on b-maintenance, got pass %v, %v", sr.Pass, benign)
	}
}
