package graph

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScale measures the store at a chosen size; it runs only with
// PERMGRAPH_SCALE_USERS set. The default shape (genGraph) has about 2.9
// edges per user (1700000 gives ~5M edges); PERMGRAPH_SCALE_SHAPE=target is
// issue 10's enterprise (genEnterprise: 500000 users give 100k groups, 20k
// roles and ~5M edges). PERMGRAPH_SCALE_SNAPSHOTS (default 3) snapshots are
// written, each after ~1% churn. Loading and queries are measured in child
// processes so their peak RSS is the query side alone (PERMGRAPH_SCALE_NOCHILD
// skips them); PERMGRAPH_SCALE_PROFILE=DIR writes CPU and allocation profiles
// of each snapshot write there. bench/scale.sh runs it.
//
//	PERMGRAPH_SCALE_USERS=1700000 go test -run TestScale -v -timeout 1h ./graph/
//	PERMGRAPH_SCALE_SHAPE=target PERMGRAPH_SCALE_USERS=500000 PERMGRAPH_SCALE_SNAPSHOTS=30 go test -run '^TestScale$' -v -timeout 3h ./graph/
func TestScale(t *testing.T) {
	if mode := os.Getenv("PERMGRAPH_SCALE_CHILD"); mode != "" {
		scaleChild(t, mode)
		return
	}
	users, _ := strconv.Atoi(os.Getenv("PERMGRAPH_SCALE_USERS"))
	if users == 0 {
		t.Skip("set PERMGRAPH_SCALE_USERS to run")
	}
	dir := os.Getenv("PERMGRAPH_SCALE_DIR")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "db")
	}
	snapshots := 3
	if n, _ := strconv.Atoi(os.Getenv("PERMGRAPH_SCALE_SNAPSHOTS")); n > 0 {
		snapshots = n
	}
	ctx := t.Context()
	var g *SourceGraph
	genStart := time.Now()
	if os.Getenv("PERMGRAPH_SCALE_SHAPE") == "target" {
		// Not an AWS source: queries walk memberships of non-AWS groups.
		g = genEnterprise("azure:00000000-0000-0000-0000-00000000000a", users, users/5, users/25, 1)
	} else {
		g = genGraph("aws:111122223333", users, 1)
	}
	t.Logf("graph: %d nodes, %d edges (generated in %v; peak RSS so far %s)", len(g.Nodes), len(g.Edges),
		time.Since(genStart).Round(time.Millisecond), peakRSS())
	s, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	prof := startScaleProfile(t, "first")
	start, cpu0 := time.Now(), processCPU()
	if _, err := s.WriteSnapshot(ctx, g, day(0)); err != nil {
		t.Fatal(err)
	}
	prof()
	t.Logf("first snapshot: %v wall, %.1f CPU-s (encode %v, data %v, view cache %v); peak RSS so far %s", time.Since(start).Round(time.Millisecond),
		(processCPU() - cpu0).Seconds(), s.lastWrite.encodeTook.Round(time.Millisecond), s.lastWrite.dataTook.Round(time.Millisecond),
		s.lastWrite.cacheTook.Round(time.Millisecond), peakRSS())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	app, alloc := dirSize(t, dir)
	t.Logf("store after 1 snapshot: %d MiB apparent, %d MiB allocated", app>>20, alloc>>20)
	s, err = Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	first := app
	ekeys := slices.Collect(maps.Keys(g.Edges))
	nids := slices.Collect(maps.Keys(g.Nodes))
	slices.SortFunc(ekeys, func(a, b EdgeKey) int { return cmpEdgeKey(a, b) })
	slices.Sort(nids)
	var churnWall, churnCPU []time.Duration
	for i := 1; i < snapshots; i++ {
		mutateInPlace(g, 0.01, uint64(i), ekeys, nids)
		runtime.GC()
		prof = startScaleProfile(t, "churn"+strconv.Itoa(i))
		start, cpu0 = time.Now(), processCPU()
		if _, err := s.WriteSnapshot(ctx, g, day(i)); err != nil {
			t.Fatal(err)
		}
		prof()
		churnWall, churnCPU = append(churnWall, time.Since(start)), append(churnCPU, processCPU()-cpu0)
		lw := s.lastWrite
		// Sizes of a closed store: an open one has preallocated files.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		a, _ := dirSize(t, dir)
		if s, err = Open(ctx, dir, testLogger(t)); err != nil {
			t.Fatal(err)
		}
		t.Logf("1%%-churn snapshot %d: %v wall, %.1f CPU-s (encode %v, data %v, view cache %v, %d keys written); store %d MiB (%.2fx)", i,
			churnWall[len(churnWall)-1].Round(time.Millisecond), churnCPU[len(churnCPU)-1].Seconds(),
			lw.encodeTook.Round(time.Millisecond), lw.dataTook.Round(time.Millisecond), lw.cacheTook.Round(time.Millisecond),
			lw.itemWrites+lw.logWrites, a>>20, float64(a)/float64(first))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	app, alloc = dirSize(t, dir)
	t.Logf("store after %d snapshots: %d MiB apparent (%.2fx one snapshot), %d MiB allocated; writer peak RSS %s", snapshots,
		app>>20, float64(app)/float64(first), alloc>>20, peakRSS())
	if len(churnWall) > 0 {
		slices.Sort(churnWall)
		slices.Sort(churnCPU)
		t.Logf("churn snapshots: median %v wall, %.1f CPU-s; max %v wall", churnWall[len(churnWall)/2].Round(time.Millisecond),
			churnCPU[len(churnCPU)/2].Seconds(), churnWall[len(churnWall)-1].Round(time.Millisecond))
	}
	g, ekeys, nids = nil, nil, nil
	if os.Getenv("PERMGRAPH_SCALE_NOCHILD") != "" {
		return
	}
	for _, mode := range []string{"cache", "queries", "rebuild"} {
		run := "-test.run=^TestScale$"
		if mode == "queries" {
			run = "-test.run=^TestScaleQueries$"
		}
		cmd := exec.CommandContext(ctx, os.Args[0], run, "-test.v")
		cmd.Env = append(os.Environ(), "PERMGRAPH_SCALE_CHILD="+mode, "PERMGRAPH_SCALE_DIR="+dir)
		out, err := cmd.CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "scale_test.go") || strings.Contains(l, "scale_queries_test.go") {
				t.Log(strings.TrimSpace(l))
			}
		}
		if err != nil {
			t.Fatalf("child %s: %v\n%s", mode, err, out)
		}
	}
}

// startScaleProfile writes a CPU profile of one snapshot write to
// $PERMGRAPH_SCALE_PROFILE/<name>.cpu.pprof, and the allocation profile
// before and after it (<name>.allocs0.pprof, <name>.allocs.pprof), when
// that directory is set; the returned func stops it. Profiling only the
// write keeps graph generation out of the picture.
func startScaleProfile(t *testing.T, name string) func() {
	dir := os.Getenv("PERMGRAPH_SCALE_PROFILE")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	// The allocs profile is cumulative: compare with -diff_base allocs0.
	if err := writeProfile(filepath.Join(dir, name+".allocs0.pprof"), "allocs"); err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := writeProfile(filepath.Join(dir, name+".allocs.pprof"), "allocs"); err != nil {
			t.Fatal(err)
		}
	}
}

func writeProfile(path, name string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func scaleChild(t *testing.T, mode string) {
	ctx := context.Background()
	dir := os.Getenv("PERMGRAPH_SCALE_DIR")
	start := time.Now()
	var v *View
	var err error
	switch mode {
	case "refresh": // rewrite the cache (e.g. after a format change)
		s, err := Open(ctx, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.View(ctx, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("refresh: %v", time.Since(start).Round(time.Millisecond))
		return
	case "cache":
		v, err = LoadLatestView(ctx, dir, nil)
	case "rebuild":
		var s *Store
		if s, err = OpenReadOnly(ctx, dir, nil); err == nil {
			var ms []Manifest
			if ms, err = s.LatestAt(ctx, time.Time{}); err == nil {
				v, err = s.buildView(ctx, time.Time{}, ms)
			}
			_ = s.Close()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	// A reverse BFS from the capability, as who-can would do.
	bfs := time.Now()
	var capID NodeID
	for i := range v.NumNodes() {
		if v.NodeKind(NodeID(i)) == NodeCapability {
			capID = NodeID(i)
		}
	}
	seen := make([]bool, v.NumNodes())
	queue := []NodeID{capID}
	seen[capID] = true
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range v.In(n) {
			f, _, k, _ := v.EdgeEnds(e)
			if k.Traversable() && !seen[f] {
				seen[f] = true
				queue = append(queue, f)
			}
		}
	}
	reached := 0
	for _, s := range seen {
		if s {
			reached++
		}
	}
	t.Logf("%s: view of %d nodes, %d edges in %v (~%d MiB); reverse BFS reached %d nodes in %v; peak RSS %s",
		mode, v.NumNodes(), v.NumEdges(), took.Round(time.Millisecond), v.memBytes()>>20, reached,
		time.Since(bfs).Round(time.Millisecond), peakRSS())
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("VmHWM:")) {
			return strings.Join(strings.Fields(string(l[len("VmHWM:"):])), " ")
		}
	}
	return "?"
}

func cmpEdgeKey(a, b EdgeKey) int {
	switch {
	case LessEdgeKey(a, b):
		return -1
	case LessEdgeKey(b, a):
		return 1
	}
	return 0
}
