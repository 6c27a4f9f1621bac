package genazure

import (
	"context"
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
)

// benchUsers is $PERMGRAPH_BENCH_USERS, else def.
func benchUsers(def int) int {
	if n, err := strconv.Atoi(os.Getenv("PERMGRAPH_BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkGenerate writes a tenant of $PERMGRAPH_BENCH_USERS (20,000)
// users to io.Discard.
func BenchmarkGenerate(b *testing.B) {
	o, err := NewOrg(ForUsers(benchUsers(20000)))
	if err != nil {
		b.Fatal(err)
	}
	var st Stats
	for b.Loop() {
		st = Stats{}
		if err := o.WriteGraph(io.Discard, &st); err != nil {
			b.Fatal(err)
		}
		if err := o.WriteARM(io.Discard, &st); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(st.GraphBytes + st.ARMBytes)
	b.ReportMetric(float64(st.Memberships)/(b.Elapsed().Seconds()/float64(b.N)), "memberships/s")
}

// BenchmarkImport replays a generated capture of $PERMGRAPH_BENCH_USERS
// (20,000) users the way `collect azure --from` does, in process: the
// collectors into a graph.Collection (collect-s), policy/azure through
// ingest.DeriveAll (derive-s), then, unless $PERMGRAPH_BENCH_STORE is 0,
// the snapshot write into a new store (store-s, as ingest.Run does it).
// Run it with -cpuprofile to see where a large tenant's time goes.
func BenchmarkImport(b *testing.B) {
	dir := b.TempDir()
	st, err := WriteDir(dir, ForUsers(benchUsers(20000)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	withStore := os.Getenv("PERMGRAPH_BENCH_STORE") != "0"
	var collectS, deriveS, storeS float64
	var nodes, edges int
	var heap uint64
	for b.Loop() {
		bl, err := all.Build(ctx, config.Source{Type: "azure", From: []string{dir}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		col := graph.NewCollection()
		if err := bl.Collector.Collect(ctx, col); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := ingest.DeriveAll(ctx, col.Sources(), nil); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		collectS += t1.Sub(t0).Seconds()
		deriveS += t2.Sub(t1).Seconds()
		if withStore {
			st, err := graph.Open(ctx, b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.WriteSnapshots(ctx, col.Sources(), time.Now()); err != nil {
				b.Fatal(err)
			}
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
			storeS += time.Since(t2).Seconds()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapInuse)
		nodes, edges = 0, 0
		for _, g := range col.Sources() {
			nodes += len(g.Nodes)
			edges += len(g.Edges)
		}
	}
	n := float64(b.N)
	b.SetBytes(st.GraphBytes + st.ARMBytes)
	b.ReportMetric(collectS/n, "collect-s")
	b.ReportMetric(deriveS/n, "derive-s")
	if withStore {
		b.ReportMetric(storeS/n, "store-s")
	}
	b.ReportMetric(float64(nodes), "nodes")
	b.ReportMetric(float64(edges), "edges")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}
