package awsiam

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/bench/gen"
	"permgraph/bench/gengraph"
	"permgraph/graph"
)

// benchSharedGAAD is the largest third-party GAAD sample beside the checkout.
const benchSharedGAAD = "../../../shared/testdata/gaad/cloudsplaining-test-authz-details.json"

// TestGengraphMatchesCollector keeps the benchmark fixture honest: the graph
// bench/gengraph builds for policy/aws and queries benchmarks (which must not
// import a collector) must be exactly what this collector imports from the
// same generated export. If the collector's mapping changes, update
// bench/gengraph to match.
func TestGengraphMatchesCollector(t *testing.T) {
	c := gen.ForPrincipals(300)
	c.Churn, c.Round = 0.2, 3 // exercise the churn mutations too
	o, err := gen.NewOrg(c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := o.Write(&buf); err != nil {
		t.Fatal(err)
	}
	col := graph.NewCollection()
	if _, err := ImportGAAD(context.Background(), &buf, col); err != nil {
		t.Fatalf("import generated export: %v", err)
	}
	srcs := col.Sources()
	if len(srcs) != 1 {
		t.Fatalf("want one source, got %d", len(srcs))
	}
	got, want := srcs[0], gengraph.Collected(o)
	if len(got.Nodes) < c.Principals() || len(got.Edges) < c.Users {
		t.Fatalf("import too small: %d nodes, %d edges", len(got.Nodes), len(got.Edges))
	}
	if len(got.Warnings) > 0 {
		t.Errorf("generated export imports with warnings (it should be complete): %q", got.Warnings)
	}
	if diff := cmp.Diff(want.Nodes, got.Nodes); diff != "" {
		t.Errorf("nodes: bench/gengraph (-) and the collector (+) differ:\n%s", diff)
	}
	if diff := cmp.Diff(want.Edges, got.Edges); diff != "" {
		t.Errorf("edges: bench/gengraph (-) and the collector (+) differ:\n%s", diff)
	}
}

// BenchmarkImportGAAD measures the streaming import (decode, normalise
// documents, emit into an in-memory collection) in MB/s of export text.
func BenchmarkImportGAAD(b *testing.B) {
	b.Run("cloudsplaining", func(b *testing.B) {
		if _, err := os.Stat(benchSharedGAAD); err != nil {
			b.Skipf("shared sample not available: %v", err)
		}
		benchImportFile(b, benchSharedGAAD)
	})
	b.Run("generated", func(b *testing.B) {
		c := gen.ForPrincipals(gen.EnvPrincipals(20000))
		path := filepath.Join(b.TempDir(), "gaad.json")
		st, err := gen.WriteFile(path, c)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(c.Principals()), "principals")
		b.ReportMetric(float64(st.Bytes)/1e6, "export-MB")
		benchImportFile(b, path)
	})
}

func benchImportFile(b *testing.B, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	var col *graph.Collection
	var counts Counts
	for b.Loop() {
		col = graph.NewCollection()
		fc := &FileCollector{Path: path, AllowTruncated: true}
		if err := fc.Collect(b.Context(), col); err != nil {
			b.Fatal(err)
		}
		counts = fc.Counts
	}
	b.ReportMetric(float64(counts.Users+counts.Roles)*float64(b.N)/b.Elapsed().Seconds(), "principals/s")
	// Heap held by the collected graph (what ingest keeps until the write).
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	runtime.KeepAlive(col)
}
