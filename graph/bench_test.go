package graph

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// benchUsers sizes the benchmark graphs: ~2.9 edges and ~1.2 nodes per
// user. PERMGRAPH_BENCH_USERS=500000 approximates the scale target.
func benchUsers(b *testing.B) int {
	if s := os.Getenv("PERMGRAPH_BENCH_USERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 20000
}

func BenchmarkWriteSnapshot(b *testing.B) {
	g := genGraph("aws:111122223333", benchUsers(b), 1)
	items := float64(len(g.Nodes) + len(g.Edges))
	b.Run("first", func(b *testing.B) {
		var cache, cpu time.Duration
		for b.Loop() {
			b.StopTimer()
			dir := filepath.Join(b.TempDir(), "db")
			s, err := Open(b.Context(), dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			c0 := processCPU()
			b.StartTimer()
			if _, err := s.WriteSnapshot(b.Context(), g, day(0)); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu += processCPU() - c0
			cache += s.lastWrite.cacheTook
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			app, alloc := dirSize(b, dir)
			b.ReportMetric(float64(app)/items, "disk-B/item")
			b.ReportMetric(float64(alloc), "disk-alloc-B")
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/items, "ns/item")
		b.ReportMetric(float64(cache.Milliseconds())/float64(b.N), "viewcache-ms/op")
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	})
	b.Run("churn1pct", func(b *testing.B) {
		s, err := Open(b.Context(), filepath.Join(b.TempDir(), "db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if _, err := s.WriteSnapshot(b.Context(), g, day(0)); err != nil {
			b.Fatal(err)
		}
		cur := g
		var writes int
		var cache, cpu time.Duration
		i := 0
		for b.Loop() {
			b.StopTimer()
			i++
			next := mutate(cur, 0.01, uint64(i))
			runtime.GC()
			c0 := processCPU()
			b.StartTimer()
			if _, err := s.WriteSnapshot(b.Context(), next, day(i)); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu += processCPU() - c0
			b.StartTimer()
			writes += s.lastWrite.itemWrites + s.lastWrite.logWrites
			cache += s.lastWrite.cacheTook
			cur = next
		}
		b.ReportMetric(float64(writes)/float64(b.N), "keys-written/op")
		b.ReportMetric(float64(cache.Milliseconds())/float64(b.N), "viewcache-ms/op")
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	})
}

func BenchmarkViewBuild(b *testing.B) {
	g := genGraph("aws:111122223333", benchUsers(b), 1)
	dir := filepath.Join(b.TempDir(), "db")
	s, err := Open(b.Context(), dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	m, err := s.WriteSnapshot(b.Context(), g, day(0))
	if err != nil {
		b.Fatal(err)
	}
	report := func(b *testing.B, v *View) {
		b.ReportMetric(float64(v.NumEdges()), "edges")
		b.ReportMetric(float64(v.memBytes())/float64(v.NumEdges()), "view-B/edge")
	}
	b.Run("fromGraphs", func(b *testing.B) {
		var v *View
		for b.Loop() {
			v = NewViewFromGraphs(time.Time{}, nil, g)
		}
		report(b, v)
	})
	b.Run("fromStore", func(b *testing.B) {
		var v *View
		for b.Loop() {
			if v, err = s.buildView(b.Context(), m.At, []Manifest{m}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, v)
	})
	b.Run("fromCacheFile", func(b *testing.B) {
		var v *View
		for b.Loop() {
			if v, err = LoadLatestView(b.Context(), dir, nil); err != nil {
				b.Fatal(err)
			}
		}
		report(b, v)
		fi, err := os.Stat(filepath.Join(dir, viewCacheName))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/float64(v.NumEdges()), "file-B/edge")
	})
	runtime.KeepAlive(g)
}
