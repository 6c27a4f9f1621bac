package graph

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestScale measures the store at a chosen size; it runs only with
// PERMGRAPH_SCALE_USERS set (about 2.9 edges per user: 1700000 gives ~5M
// edges). Loading is measured in child processes so their peak RSS is the
// query side alone, without the generator's graph.
//
//	PERMGRAPH_SCALE_USERS=1700000 go test -run TestScale -v -timeout 1h ./graph/
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
	ctx := t.Context()
	g := genGraph("aws:111122223333", users, 1)
	t.Logf("graph: %d nodes, %d edges", len(g.Nodes), len(g.Edges))
	s, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.WriteSnapshot(ctx, g, day(0)); err != nil {
		t.Fatal(err)
	}
	t.Logf("first snapshot: %v (data %v, view cache %v)", time.Since(start).Round(time.Millisecond),
		s.lastWrite.dataTook.Round(time.Millisecond), s.lastWrite.cacheTook.Round(time.Millisecond))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	app, alloc := dirSize(t, dir)
	t.Logf("store after 1 snapshot: %d MiB apparent, %d MiB allocated", app>>20, alloc>>20)
	s, err = Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		g = mutate(g, 0.01, uint64(i))
		runtime.GC()
		start = time.Now()
		if _, err := s.WriteSnapshot(ctx, g, day(i)); err != nil {
			t.Fatal(err)
		}
		t.Logf("1%%-churn snapshot %d: %v (data %v, view cache %v, %d keys written)", i, time.Since(start).Round(time.Millisecond),
			s.lastWrite.dataTook.Round(time.Millisecond), s.lastWrite.cacheTook.Round(time.Millisecond),
			s.lastWrite.itemWrites+s.lastWrite.logWrites)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	app, alloc = dirSize(t, dir)
	t.Logf("store after 3 snapshots: %d MiB apparent, %d MiB allocated", app>>20, alloc>>20)
	g = nil
	for _, mode := range []string{"cache", "rebuild"} {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestScale$", "-test.v")
		cmd.Env = append(os.Environ(), "PERMGRAPH_SCALE_CHILD="+mode, "PERMGRAPH_SCALE_DIR="+dir)
		out, err := cmd.CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "scale_test.go") {
				t.Log(strings.TrimSpace(l))
			}
		}
		if err != nil {
			t.Fatalf("child %s: %v\n%s", mode, err, out)
		}
	}
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
	capID, _ := v.Lookup("cap:deploy-container:aws:111122223333")
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
