package workspace_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"permgraph/bench/gengoogle"
	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
)

// graphHash is a digest of everything a collection says: every source's
// nodes and edges sorted by key (attributes sorted, evidence in stored
// order) and its warnings in order. Two collections with the same hash
// store the same snapshot.
func graphHash(c *graph.Collection) string {
	h := sha256.New()
	for _, g := range c.Sources() {
		fmt.Fprintf(h, "source %q\n", g.Source)
		for _, n := range g.SortedNodes() {
			fmt.Fprintf(h, "node %q %d %q %q", n.ID, n.Kind, n.Name, n.Email)
			writeAttrs(h, n.Attrs)
		}
		for _, e := range g.SortedEdges() {
			fmt.Fprintf(h, "edge %q %d %q %t %q", e.From, e.Kind, e.To, e.Conditional, e.Condition)
			writeAttrs(h, e.Attrs)
			for _, ev := range e.Evidence {
				fmt.Fprintf(h, " ev %q %q %q", ev.Source, ev.Statement, ev.Detail)
			}
			io.WriteString(h, "\n")
		}
		for _, w := range g.Warnings {
			fmt.Fprintf(h, "warn %q\n", w)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeAttrs(h hash.Hash, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, " %q=%q", k, m[k])
	}
	io.WriteString(h, "\n")
}

// TestGoldenGeneratedOrg imports generated organisations through the path
// `collect google --from` takes and compares the collected graph with the
// digest the multi-pass replay (before the single-read index, commit
// 05f0b9c) produced, so a faster reader cannot change a stored snapshot.
// A deliberate change of bench/gengoogle's output or of the graph model
// changes the digests too: then check that TestReplayMatchesReference*
// still pass and paste the new digests.
func TestGoldenGeneratedOrg(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and imports several organisations")
	}
	for _, tc := range []struct {
		name string
		c    gengoogle.Config
		want string
	}{
		{"cai", gengoogle.Config{Users: 3000, Groups: 600, Depth: 6, Projects: 12, Seed: 7}, goldenCAI},
		{"capture", gengoogle.Config{Users: 2000, Groups: 500, Depth: 5, Projects: 8, Seed: 3, Format: gengoogle.FormatCapture}, goldenCapture},
		{"churn day 2", gengoogle.Config{Users: 2500, Groups: 500, Depth: 4, Projects: 10, Seed: 5, Churn: 0.05, Round: 2}, goldenChurn},
		// The same capture with its pages shuffled over two files: kinds
		// interleave and groups' member pages are split and reordered.
		{"shuffled", gengoogle.Config{Users: 2000, Groups: 400, Depth: 5, Projects: 6, Seed: 11}, goldenShuffled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := gengoogle.New(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if _, err := o.Write(dir); err != nil {
				t.Fatal(err)
			}
			if tc.name == "shuffled" {
				shuffleCapture(t, dir)
			}
			ctx := context.Background()
			built, err := all.Build(ctx, config.Source{Type: "google", From: []string{dir}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			col := graph.NewCollection()
			if err := built.Collector.Collect(ctx, col); err != nil {
				t.Fatal(err)
			}
			if got := graphHash(col); got != tc.want {
				t.Errorf("graph digest = %s, want %s", got, tc.want)
			}
		})
	}
}

// shuffleCapture rewrites dir/directory.jsonl with its lines in a fixed
// pseudo-random order, the first third moved to dir/0-extra.jsonl.
func shuffleCapture(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "directory.jsonl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	cut := len(lines) / 3
	if err := os.WriteFile(filepath.Join(dir, "0-extra.jsonl"), []byte(strings.Join(lines[:cut], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines[cut:], "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

const (
	goldenShuffled = "a92cf034246bf8027a487c026824cf4b5228ece585fa0d373cffc55520f5602b"
	goldenCAI      = "a1a76f2191740e7249525f7653ea553189e1f49ff179130b08a2ed91fb3aa5bd"
	goldenCapture  = "3179a7811a291a016b4ef2591da643f95498131ed1691ed585946d15cd82d172"
	goldenChurn    = "d5787844c04dd40a4c66a30cb223793e8149c59fed0be1157b2fb5853025ab8f"
)

// BenchmarkImportGoogle times what `collect google --from` does before
// evaluation (the Workspace replay and the GCP import into a
// graph.Collection) in process CPU seconds, which a shared machine's load
// distorts less than wall time. The organisation is generated like
// bench/gengoogle's BenchmarkCollectGoogle (GENGOOGLE_BENCH_USERS, default
// 50000), or read from GENGOOGLE_DIR.
//
//	GENGOOGLE_BENCH_USERS=250000 go test -run '^$' -bench ImportGoogle -benchtime 1x ./collectors/workspace/
func BenchmarkImportGoogle(b *testing.B) {
	dir := os.Getenv("GENGOOGLE_DIR")
	if dir == "" {
		users := 50000
		if v, err := strconv.Atoi(os.Getenv("GENGOOGLE_BENCH_USERS")); err == nil && v > 0 {
			users = v
		}
		c := gengoogle.Config{Users: users, Groups: users / 5, Depth: 6, Projects: max(1, users/250), Seed: 1}
		c.Bindings = 10 * c.Projects
		o, err := gengoogle.New(c)
		if err != nil {
			b.Fatal(err)
		}
		dir = b.TempDir()
		if _, err := o.Write(dir); err != nil {
			b.Fatal(err)
		}
	}
	ctx := b.Context()
	var cpu time.Duration
	var heap uint64
	for b.Loop() {
		runtime.GC()
		built, err := all.Build(ctx, config.Source{Type: "google", From: []string{dir}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		col := graph.NewCollection()
		t0 := processCPU(b)
		if err := built.Collector.Collect(ctx, col); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - t0
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		runtime.KeepAlive(col)
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
