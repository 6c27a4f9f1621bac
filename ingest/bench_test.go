package ingest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"permgraph/bench/gen"
	"permgraph/collectors/awsiam"
	"permgraph/graph"
)

// BenchmarkCollectAndStore runs the scheduled job end to end on generated
// exports: import + derive + write of the first snapshot into a new store,
// then daily snapshots with 1% churn, as separate store openings (each
// `permgraph collect` is its own process). It reports the first and the
// churn snapshot times and the store size after 1 and after N snapshots.
//
// Size: PERMGRAPH_BENCH_PRINCIPALS (default 20000). N:
// PERMGRAPH_BENCH_SNAPSHOTS (default 10); churn snapshots stop early once
// PERMGRAPH_BENCH_BUDGET (a Go duration, default 10m) has been spent, and
// the snapshots metric says how many were taken.
func BenchmarkCollectAndStore(b *testing.B) {
	c := gen.ForPrincipals(gen.EnvPrincipals(20000))
	snapshots := envInt("PERMGRAPH_BENCH_SNAPSHOTS", 10)
	budget := 10 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("PERMGRAPH_BENCH_BUDGET")); err == nil && d > 0 {
		budget = d
	}
	tmp := b.TempDir()
	export := func(day int) string {
		cfg := c
		cfg.Round = day
		path := filepath.Join(tmp, "gaad-day"+strconv.Itoa(day)+".json")
		if _, err := os.Stat(path); err == nil {
			return path
		}
		if _, err := gen.WriteFile(path, cfg); err != nil {
			b.Fatal(err)
		}
		return path
	}
	day0 := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	var (
		first, firstCPU, churn, churnCPU, readPrev time.Duration
		size1, sizeN                               int64
		taken, churns, diff                        int
		last                                       graph.Manifest
	)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db := filepath.Join(tmp, "db")
		if err := os.RemoveAll(db); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		first, firstCPU, churn, churnCPU, readPrev, churns, diff = 0, 0, 0, 0, 0, 0, 0
		for day := 0; day < snapshots; day++ {
			if day > 1 && time.Since(start) > budget {
				break
			}
			path := export(day)
			b.StartTimer()
			t0, c0 := time.Now(), gen.CPUTime()
			open := func(ctx context.Context) (Store, error) { return graph.Open(ctx, db, nil) }
			ms, err := Run(b.Context(), &awsiam.FileCollector{Path: path}, open, Options{At: day0.AddDate(0, 0, day)})
			if err != nil {
				b.Fatal(err)
			}
			took, cpu := time.Since(t0), gen.CPUTime()-c0
			b.StopTimer()
			if len(ms) != 1 || ms[0].Status != graph.StatusComplete {
				b.Fatalf("day %d: manifests %+v", day, ms)
			}
			last = ms[0]
			if day == 0 {
				first, firstCPU = took, cpu
				size1 = dirSize(b, db)
			} else {
				churn += took
				churnCPU += cpu
				churns++
				diff += ms[0].Added + ms[0].Removed + ms[0].Changed
			}
			taken = day + 1
		}
		sizeN = dirSize(b, db)
		// What Run spends re-reading the previous snapshot as derivation
		// context (ingest.contextFrom), measured on its own.
		st, err := graph.OpenReadOnly(context.Background(), db, nil)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := st.ReadSnapshot(b.Context(), last); err != nil {
			b.Fatal(err)
		}
		readPrev = time.Since(t0)
		st.Close()
		b.StartTimer()
	}
	fi, err := os.Stat(export(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(c.Principals()), "principals")
	b.ReportMetric(float64(fi.Size())/1e6, "export-MB")
	b.ReportMetric(first.Seconds(), "first-s")
	b.ReportMetric(firstCPU.Seconds(), "first-cpu-s")
	if churns > 0 {
		b.ReportMetric(churn.Seconds()/float64(churns), "churn-s")
		b.ReportMetric(churnCPU.Seconds()/float64(churns), "churn-cpu-s")
		// Items (nodes + edges) added, removed or changed per churn day, as
		// a percentage of the snapshot: the generator's 1% of entities,
		// amplified by derivation.
		b.ReportMetric(100*float64(diff)/float64(churns)/float64(max(last.Nodes+last.Edges, 1)), "churn-items-%")
	}
	b.ReportMetric(readPrev.Seconds(), "read-prev-s")
	b.ReportMetric(float64(size1)/1e6, "store-MB-1")
	b.ReportMetric(float64(sizeN)/1e6, "store-MB-N")
	b.ReportMetric(float64(taken), "snapshots")
	b.ReportMetric(float64(last.Nodes+last.Edges), "items")
	if size1 > 0 {
		b.ReportMetric(float64(sizeN)/float64(size1), "growth-x")
	}
}

// dirSize is the apparent size of the files under dir (du -sb).
func dirSize(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
