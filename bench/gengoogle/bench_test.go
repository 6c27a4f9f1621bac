package gengoogle_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"permgraph/bench/gengoogle"
	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
)

// BenchmarkCollectGoogle generates an organisation (untimed) and runs what
// `collect google --from` runs, in process. Sub-benchmarks: "memory" is the
// offline import (Workspace capture replay + CAI) and the GCP derivation
// into a graph.Collection, timed apart; "store" is ingest.Run into a new
// Badger store (import, derive, write the first snapshot and its view
// cache), as the CLI does. Size: GENGOOGLE_BENCH_USERS (default 50000)
// users with groups, projects and bindings in the proportions of the
// 500k-user target (users/5 groups, users/250 projects, 10 bindings per
// project, depth 6). Profile with
//
//	GENGOOGLE_BENCH_USERS=100000 go test -run '^$' -bench CollectGoogle/store -benchtime 1x \
//	    -cpuprofile /tmp/gg.cpu -memprofile /tmp/gg.mem ./bench/gengoogle/
func BenchmarkCollectGoogle(b *testing.B) {
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
	dir := b.TempDir()
	counts, err := o.Write(dir)
	if err != nil {
		b.Fatal(err)
	}
	src := config.Source{Type: "google", From: []string{dir}}

	b.Run("memory", func(b *testing.B) {
		ctx := b.Context()
		var collectD, deriveD time.Duration
		var nodes, edges int
		var heap uint64
		for b.Loop() {
			built, err := all.Build(ctx, src, nil)
			if err != nil {
				b.Fatal(err)
			}
			col := graph.NewCollection()
			t0 := time.Now()
			if err := built.Collector.Collect(ctx, col); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := ingest.DeriveAll(ctx, col.Sources(), nil); err != nil {
				b.Fatal(err)
			}
			collectD += t1.Sub(t0)
			deriveD += time.Since(t1)
			g := col.Sources()[0]
			nodes, edges = len(g.Nodes), len(g.Edges)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = ms.HeapInuse
			runtime.KeepAlive(col)
		}
		n := float64(b.N)
		b.ReportMetric(collectD.Seconds()/n, "collect-s")
		b.ReportMetric(deriveD.Seconds()/n, "derive-s")
		b.ReportMetric(float64(counts.Bytes())/1e6/(collectD.Seconds()/n), "import-MB/s")
		b.ReportMetric(float64(nodes), "nodes")
		b.ReportMetric(float64(edges), "edges")
		b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	})

	b.Run("store", func(b *testing.B) {
		ctx := b.Context()
		var nodes, edges int
		for b.Loop() {
			db := b.TempDir()
			built, err := all.Build(ctx, src, nil)
			if err != nil {
				b.Fatal(err)
			}
			open := func(ctx context.Context) (ingest.Store, error) { return graph.Open(ctx, db, nil) }
			ms, err := ingest.Run(ctx, built.Collector, open, ingest.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if len(ms) != 1 || ms[0].Status != graph.StatusComplete {
				b.Fatalf("manifests %+v", ms)
			}
			nodes, edges = ms[0].Nodes, ms[0].Edges
		}
		b.ReportMetric(float64(nodes), "nodes")
		b.ReportMetric(float64(edges), "edges")
	})
}
