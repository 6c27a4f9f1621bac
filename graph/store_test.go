package graph

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func write(t *testing.T, s *Store, g *SourceGraph, at time.Time) Manifest {
	t.Helper()
	m, err := s.WriteSnapshot(t.Context(), g, at)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// smallGraphs returns two snapshots of one source that differ by adds,
// removes and changes of nodes and edges, plus a dangling edge.
func smallGraphs(t *testing.T) (g1, g2 *SourceGraph) {
	const src = "aws:111122223333"
	g1 = NewSourceGraph(src)
	g1.Warnings = []string{"policy X attached but missing"}
	alice := "aws:arn:aws:iam::111122223333:user/alice"
	bob := "aws:arn:aws:iam::111122223333:user/bob"
	devs := "aws:arn:aws:iam::111122223333:group/devs|ops" // '|' in ids must work
	role := "aws:arn:aws:iam::111122223333:role/deployer"
	capd := "cap:deploy-container:aws:111122223333"
	mustAddNode(t, g1, Node{ID: alice, Kind: NodeUser, Name: "alice", Email: "Alice@Example.com", Attrs: map[string]string{"enabled": "true"}})
	mustAddNode(t, g1, Node{ID: bob, Kind: NodeUser, Name: "bob"})
	mustAddNode(t, g1, Node{ID: devs, Kind: NodeGroup, Name: "devs"})
	mustAddNode(t, g1, Node{ID: role, Kind: NodeRole, Name: "deployer"})
	mustAddNode(t, g1, Node{ID: capd, Kind: NodeCapability, Name: "deploy-container"})
	mustAddEdge(t, g1, Edge{From: alice, Kind: EdgeMemberOf, To: devs, Evidence: []Evidence{{Source: alice, Detail: "GroupList"}}})
	mustAddEdge(t, g1, Edge{From: bob, Kind: EdgeMemberOf, To: devs, Evidence: []Evidence{{Source: bob, Detail: "GroupList"}}})
	mustAddEdge(t, g1, Edge{From: devs, Kind: EdgeCanAssume, To: role, Conditional: true, Condition: "aws:MultiFactorAuthPresent",
		Evidence: []Evidence{{Source: role, Statement: "0", Detail: "trust policy"}}, Attrs: map[string]string{"cross-account": "false"}})
	mustAddEdge(t, g1, Edge{From: role, Kind: EdgeCan, To: capd, Evidence: []Evidence{{Source: "aws:policy/ecs", Statement: "1", Detail: "ecs:RunTask"}}})
	mustAddEdge(t, g1, Edge{From: role, Kind: EdgeHasPolicy, To: "aws:arn:aws:iam::aws:policy/Missing"}) // dangling

	g2 = cloneGraph(g1)
	g2.Warnings = nil
	delete(g2.Nodes, bob) // removed node
	delete(g2.Edges, EdgeKey{From: bob, Kind: EdgeMemberOf, To: devs})
	carol := "aws:arn:aws:iam::111122223333:user/carol"
	mustAddNode(t, g2, Node{ID: carol, Kind: NodeUser, Name: "carol"}) // added
	mustAddEdge(t, g2, Edge{From: carol, Kind: EdgeCanAddMember, To: devs, Evidence: []Evidence{{Source: "aws:policy/iam", Detail: "iam:AddUserToGroup"}}})
	a := g2.Nodes[alice] // changed node
	a.Attrs = map[string]string{"enabled": "false"}
	g2.Nodes[alice] = a
	k := EdgeKey{From: role, Kind: EdgeCan, To: capd} // changed edge
	e := g2.Edges[k]
	e.Evidence = append(e.Evidence, Evidence{Source: "aws:policy/ecs2"})
	g2.Edges[k] = e
	return g1, g2
}

func TestStoreTwoSnapshots(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	g1, g2 := smallGraphs(t)
	m1 := write(t, s, g1, day(1))
	m2 := write(t, s, g2, day(2))

	want1 := Manifest{ID: g1.Source + "@1", Source: g1.Source, Seq: 1, At: day(1), Status: StatusComplete,
		Warnings: g1.Warnings, Nodes: 5, Edges: 5, Added: 10}
	want2 := Manifest{ID: g1.Source + "@2", Source: g1.Source, Seq: 2, At: day(2), Status: StatusComplete,
		Nodes: 5, Edges: 5, Added: 2, Removed: 2, Changed: 2}
	ignoreWritten := cmpopts.IgnoreFields(Manifest{}, "Written")
	for _, c := range []struct{ want, got Manifest }{{want1, m1}, {want2, m2}} {
		if d := cmp.Diff(c.want, c.got, ignoreWritten); d != "" {
			t.Errorf("manifest (-want +got):\n%s", d)
		}
		if c.got.Written.IsZero() {
			t.Errorf("%s: Written not set", c.got.ID)
		}
	}

	for _, c := range []struct {
		m Manifest
		g *SourceGraph
	}{{m1, g1}, {m2, g2}} {
		got, err := s.ReadSnapshot(t.Context(), c.m)
		if err != nil {
			t.Fatal(err)
		}
		checkGraphEquals(t, c.g, got)
		v, err := s.View(t.Context(), c.m.At)
		if err != nil {
			t.Fatal(err)
		}
		checkViewEquals(t, v, c.g)
		_, _, ph := viewContent(v)
		if d := cmp.Diff([]string{"aws:arn:aws:iam::aws:policy/Missing"}, ph); d != "" {
			t.Errorf("placeholders (-want +got):\n%s", d)
		}
		if !v.At().Equal(c.m.At) {
			t.Errorf("view At = %v, want %v", v.At(), c.m.At)
		}
	}

	tests := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"before first", day(0), []string{}},
		{"at first", day(1), []string{m1.ID}},
		{"between", day(1).Add(time.Hour), []string{m1.ID}},
		{"at second", day(2), []string{m2.ID}},
		{"after", day(30), []string{m2.ID}},
		{"zero is latest", time.Time{}, []string{m2.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.LatestAt(t.Context(), tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, manifestIDs(got)); d != "" {
				t.Errorf("LatestAt(%v) (-want +got):\n%s", tc.at, d)
			}
		})
	}

	v, err := s.View(t.Context(), day(0))
	if err != nil {
		t.Fatal(err)
	}
	if v.NumNodes() != 0 || v.NumEdges() != 0 {
		t.Errorf("view before first snapshot has %d nodes, %d edges", v.NumNodes(), v.NumEdges())
	}
	if _, err := s.Snapshot(t.Context(), g1.Source+"@9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Snapshot(missing) = %v, want ErrNotFound", err)
	}
	got, err := s.Snapshot(t.Context(), m2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m2, got); d != "" {
		t.Errorf("Snapshot(%s) (-want +got):\n%s", m2.ID, d)
	}
}

func TestStoreLatestAtInterleavedSources(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	a1 := genGraph("aws:1", 30, 1)
	b1 := genGraph("aws:2", 20, 2)
	a2 := mutate(a1, 0.1, 3)
	b2 := mutate(b1, 0.1, 4)
	// a@1 day1, b@1 day2, a@2 day3, b@2 day4
	write(t, s, a1, day(1))
	write(t, s, b1, day(2))
	write(t, s, a2, day(3))
	write(t, s, b2, day(4))
	if _, err := s.RecordPartial(t.Context(), "aws:2", day(5), []string{"throttled"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		at   time.Time
		want []string
		gs   []*SourceGraph
	}{
		{day(0), []string{}, nil},
		{day(1), []string{"aws:1@1"}, []*SourceGraph{a1}},
		{day(2).Add(time.Minute), []string{"aws:1@1", "aws:2@1"}, []*SourceGraph{a1, b1}},
		{day(3), []string{"aws:1@2", "aws:2@1"}, []*SourceGraph{a2, b1}},
		{day(6), []string{"aws:1@2", "aws:2@2"}, []*SourceGraph{a2, b2}},
		{time.Time{}, []string{"aws:1@2", "aws:2@2"}, []*SourceGraph{a2, b2}},
	}
	for _, tc := range tests {
		t.Run(tc.at.Format(time.DateTime), func(t *testing.T) {
			got, err := s.LatestAt(t.Context(), tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, manifestIDs(got)); d != "" {
				t.Errorf("LatestAt (-want +got):\n%s", d)
			}
			v, err := s.View(t.Context(), tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, manifestIDs(v.Manifests())); d != "" {
				t.Errorf("View manifests (-want +got):\n%s", d)
			}
			checkViewEquals(t, v, tc.gs...)
		})
	}

	all, err := s.Snapshots(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"aws:1@1", "aws:1@2", "aws:2@1", "aws:2@2", "aws:2@3"}, manifestIDs(all)); d != "" {
		t.Errorf("Snapshots (-want +got):\n%s", d)
	}
}

func TestStoreChanges(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	g1, g2 := smallGraphs(t)
	g3 := cloneGraph(g2) // g3 reverts alice's change: alice differs 1->2 and 2->3 but not 1->3
	alice := "aws:arn:aws:iam::111122223333:user/alice"
	g3.Nodes[alice] = g1.Nodes[alice]
	write(t, s, g1, day(1))
	write(t, s, g2, day(2))
	m3 := write(t, s, g3, day(3))
	if m3.Changed != 1 || m3.Added != 0 || m3.Removed != 0 {
		t.Errorf("manifest 3 counts = +%d -%d ~%d, want +0 -0 ~1", m3.Added, m3.Removed, m3.Changed)
	}
	empty := NewSourceGraph(g1.Source)

	tests := []struct {
		name     string
		from, to uint64
		a, b     *SourceGraph
	}{
		{"1 to 2", 1, 2, g1, g2},
		{"2 to 3", 2, 3, g2, g3},
		{"1 to 3 excludes reverted", 1, 3, g1, g3},
		{"reverse", 3, 1, g3, g1},
		{"from empty", 0, 1, empty, g1},
		{"same", 2, 2, g2, g2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Changes(t.Context(), g1.Source, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			want := diffGraphs(tc.a, tc.b)
			if d := cmp.Diff(want, got, sortChangeSet); d != "" {
				t.Errorf("Changes(%d, %d) (-want +got):\n%s", tc.from, tc.to, d)
			}
		})
	}

	p, err := s.RecordPartial(t.Context(), g1.Source, day(4), []string{"boom"})
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{p.Seq, 99} {
		if _, err := s.Changes(t.Context(), g1.Source, 1, seq); err == nil {
			t.Errorf("Changes(1, %d) succeeded, want error for a partial/missing snapshot", seq)
		}
	}
}

// TestStoreGrowsWithChange writes one ~20k-edge snapshot and nine 1%-churn
// snapshots and checks that each later write touches only changed keys.
func TestStoreGrowsWithChange(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 10 snapshots")
	}
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	g := genGraph("aws:111122223333", 6000, 42)
	items := len(g.Nodes) + len(g.Edges)
	t.Logf("graph: %d nodes, %d edges", len(g.Nodes), len(g.Edges))
	start := time.Now()
	write(t, s, g, day(0))
	t.Logf("first write: %v", time.Since(start))
	if s.lastWrite.itemWrites != items {
		t.Errorf("first write wrote %d item keys, want %d", s.lastWrite.itemWrites, items)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	app1, alloc1 := dirSize(t, dir)

	s, err = Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var churnTime time.Duration
	for i := 1; i < 10; i++ {
		next := mutate(g, 0.01, uint64(i))
		want := diffGraphs(g, next).count()
		start := time.Now()
		m := write(t, s, next, day(i))
		churnTime += time.Since(start)
		st := s.lastWrite
		if got := m.Added + m.Removed + m.Changed; got != want {
			t.Errorf("snapshot %d: manifest counts %d changes, reference diff %d", i, got, want)
		}
		if st.itemWrites != want || st.logWrites != want {
			t.Errorf("snapshot %d: wrote %d item keys and %d log keys for %d changes", i, st.itemWrites, st.logWrites, want)
		}
		if limit := items * 3 / 100; st.itemWrites > limit {
			t.Errorf("snapshot %d: %d item writes for 1%% churn of %d items (limit %d)", i, st.itemWrites, items, limit)
		}
		g = next
	}
	t.Logf("1%%-churn writes: %v average", churnTime/9)
	last, err := s.LatestAt(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadSnapshot(t.Context(), last[0])
	if err != nil {
		t.Fatal(err)
	}
	checkGraphEquals(t, g, got)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	app10, alloc10 := dirSize(t, dir)
	fi, err := os.Stat(filepath.Join(dir, viewCacheName))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("store size after 1 snapshot: %d KiB apparent, %d KiB allocated", app1>>10, alloc1>>10)
	t.Logf("store size after 10 snapshots: %d KiB apparent, %d KiB allocated (%.2fx); of which view cache %d KiB",
		app10>>10, alloc10>>10, float64(alloc10)/float64(alloc1), fi.Size()>>10)
	if alloc10 > 2*alloc1 {
		t.Errorf("10 snapshots with 1%% churn take %d bytes, more than twice one snapshot (%d)", alloc10, alloc1)
	}
}

// checkAfterFailedWrite reopens dir and checks that the failed write left
// no trace readers can see and that the next write is correct.
func checkAfterFailedWrite(t *testing.T, dir string, m1 Manifest, g1, g2 *SourceGraph, readOnlyFirst bool) {
	t.Helper()
	if readOnlyFirst {
		ro, err := OpenReadOnly(t.Context(), dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		latest, err := ro.LatestAt(t.Context(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{m1.ID}, manifestIDs(latest)); d != "" {
			t.Errorf("read-only latest after crash (-want +got):\n%s", d)
		}
		got, err := ro.ReadSnapshot(t.Context(), m1)
		if err != nil {
			t.Fatal(err)
		}
		checkGraphEquals(t, g1, got)
		if err := ro.Close(); err != nil {
			t.Fatal(err)
		}
	}

	s := openTest(t, dir)
	latest, err := s.LatestAt(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{m1.ID}, manifestIDs(latest)); d != "" {
		t.Fatalf("latest after failed write (-want +got):\n%s", d)
	}
	got, err := s.ReadSnapshot(t.Context(), m1)
	if err != nil {
		t.Fatal(err)
	}
	checkGraphEquals(t, g1, got)
	v, err := s.View(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkViewEquals(t, v, g1)

	m2 := write(t, s, g2, day(2))
	if m2.Seq != 3 {
		t.Errorf("write after failed write got seq %d, want 3 (2 must not be reused)", m2.Seq)
	}
	want := diffGraphs(g1, g2)
	if got := m2.Added + m2.Removed + m2.Changed; got != want.count() {
		t.Errorf("manifest counts %d changes, want %d", got, want.count())
	}
	for _, c := range []struct {
		m Manifest
		g *SourceGraph
	}{{m1, g1}, {m2, g2}} {
		got, err := s.ReadSnapshot(t.Context(), c.m)
		if err != nil {
			t.Fatal(err)
		}
		checkGraphEquals(t, c.g, got)
	}
	cs, err := s.Changes(t.Context(), g1.Source, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, cs, sortChangeSet); d != "" {
		t.Errorf("Changes(1, 3) (-want +got):\n%s", d)
	}
	// Normalisation must have removed every trace of seq 2.
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if k[0] == prefixChange {
				if seq, _, _ := parseChangeKey(k, len(sourcePrefix(prefixChange, g1.Source))); seq == 2 {
					t.Errorf("change-log key of dead seq 2 survived: %q", k)
				}
				continue
			}
			if k[0] != prefixNode && k[0] != prefixEdge {
				continue
			}
			err := it.Item().Value(func(v []byte) error {
				ivs, err := decodeIntervals(nil, v)
				for _, iv := range ivs {
					if iv.from == 2 || iv.to == 2 {
						t.Errorf("item %q still has an interval boundary at dead seq 2: %+v", k, ivs)
					}
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStoreFailedWrite(t *testing.T) {
	g1 := genGraph("aws:111122223333", 300, 5)
	g2 := mutate(g1, 0.05, 6)
	changes := diffGraphs(g1, g2).count()
	tests := []struct {
		name      string
		failAfter int
		cancel    bool
	}{
		{"after first item", 1, false},
		{"midway", changes / 2, false},
		{"after last item", changes, false},
		{"context cancelled midway", changes / 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			s, err := Open(t.Context(), dir, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			m1 := write(t, s, g1, day(1))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s.failAfter = tc.failAfter
			want := errInjected
			if tc.cancel {
				s.crash, want = cancel, context.Canceled
			}
			if _, err := s.WriteSnapshot(ctx, g2, day(2)); !errors.Is(err, want) {
				t.Fatalf("write error = %v, want %v", err, want)
			}
			if !tc.cancel && s.lastWrite.itemWrites != tc.failAfter {
				t.Errorf("failed after %d item writes, want %d", s.lastWrite.itemWrites, tc.failAfter)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			checkAfterFailedWrite(t, dir, m1, g1, g2, false)
		})
	}
}

// TestStoreCrash kills a writer process mid-write (no Close, no deferred
// cleanup) and checks recovery, first through a read-only open.
func TestStoreCrash(t *testing.T) {
	if os.Getenv("PERMGRAPH_CRASH_DIR") != "" {
		return // running as the helper process
	}
	dir := filepath.Join(t.TempDir(), "db")
	g1 := genGraph("aws:111122223333", 2000, 5)
	g2 := mutate(g1, 0.2, 6)
	s, err := Open(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	m1 := write(t, s, g1, day(1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestStoreCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "PERMGRAPH_CRASH_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("helper: want exit code 3, got %v\n%s", err, out)
	}
	checkAfterFailedWrite(t, dir, m1, g1, g2, true)
}

func TestStoreCrashHelper(t *testing.T) {
	dir := os.Getenv("PERMGRAPH_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process for TestStoreCrash")
	}
	g1 := genGraph("aws:111122223333", 2000, 5)
	g2 := mutate(g1, 0.2, 6)
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.failAfter = diffGraphs(g1, g2).count() / 2
	s.crash = func() { os.Exit(3) }
	_, err = s.WriteSnapshot(context.Background(), g2, day(2))
	t.Fatalf("crash hook did not run: %v", err)
}

func TestStoreRecordPartial(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	g1, g2 := smallGraphs(t)
	m1 := write(t, s, g1, day(1))
	p, err := s.RecordPartial(t.Context(), g1.Source, day(2), []string{"AccessDenied on ListRoles"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Seq != 2 || p.Status != StatusPartial || p.ID != g1.Source+"@2" {
		t.Errorf("partial manifest = %+v", p)
	}
	for _, at := range []time.Time{{}, day(3)} {
		latest, err := s.LatestAt(t.Context(), at)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{m1.ID}, manifestIDs(latest)); d != "" {
			t.Errorf("LatestAt(%v) with a newer partial (-want +got):\n%s", at, d)
		}
	}
	if _, err := s.ReadSnapshot(t.Context(), p); err == nil {
		t.Error("ReadSnapshot(partial) succeeded")
	}
	got, err := s.Snapshot(t.Context(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("Snapshot(partial) (-want +got):\n%s", d)
	}
	// A partial source with no complete snapshot is absent from LatestAt.
	if _, err := s.RecordPartial(t.Context(), "azure:tenant", day(2), []string{"auth"}); err != nil {
		t.Fatal(err)
	}
	m3 := write(t, s, g2, day(3))
	if m3.Seq != 3 {
		t.Errorf("write after partial got seq %d, want 3", m3.Seq)
	}
	if m3.Added+m3.Removed+m3.Changed != diffGraphs(g1, g2).count() {
		t.Errorf("counts against previous complete snapshot wrong: %+v", m3)
	}
	latest, err := s.LatestAt(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{m3.ID}, manifestIDs(latest)); d != "" {
		t.Errorf("LatestAt (-want +got):\n%s", d)
	}
}

func TestStoreInvalidInputChangesNothing(t *testing.T) {
	good, _ := smallGraphs(t)
	tests := []struct {
		name  string
		build func() *SourceGraph
	}{
		{"invalid edge kind", func() *SourceGraph {
			g := cloneGraph(good)
			e := Edge{From: "a", Kind: EdgeInvalid, To: "b"}
			g.Edges[e.Key()] = e
			return g
		}},
		{"edge endpoint with NUL", func() *SourceGraph {
			g := cloneGraph(good)
			e := Edge{From: "a\x00b", Kind: EdgeMemberOf, To: "b"}
			g.Edges[e.Key()] = e
			return g
		}},
		{"edge to an empty id", func() *SourceGraph {
			g := cloneGraph(good)
			e := Edge{From: "a", Kind: EdgeMemberOf, To: ""}
			g.Edges[e.Key()] = e
			return g
		}},
		{"edge target with NUL", func() *SourceGraph {
			g := cloneGraph(good)
			e := Edge{From: "a", Kind: EdgeMemberOf, To: "b\x00"}
			g.Edges[e.Key()] = e
			return g
		}},
		{"edge map key mismatch", func() *SourceGraph {
			g := cloneGraph(good)
			e := Edge{From: "a", Kind: EdgeMemberOf, To: "b"}
			g.Edges[EdgeKey{From: "a", Kind: EdgeMemberOf, To: "c"}] = e
			return g
		}},
		{"invalid node kind", func() *SourceGraph {
			g := cloneGraph(good)
			g.Nodes["x"] = Node{ID: "x"}
			return g
		}},
		{"node map key mismatch", func() *SourceGraph {
			g := cloneGraph(good)
			g.Nodes["y"] = Node{ID: "x", Kind: NodeUser}
			return g
		}},
		{"empty source", func() *SourceGraph {
			g := cloneGraph(good)
			g.Source = ""
			return g
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, filepath.Join(t.TempDir(), "db"))
			m1 := write(t, s, good, day(1))
			before := dumpKeys(t, s)
			if _, err := s.WriteSnapshot(t.Context(), tc.build(), day(2)); err == nil {
				t.Fatal("invalid snapshot accepted")
			}
			if d := cmp.Diff(before, dumpKeys(t, s)); d != "" {
				t.Errorf("store changed by rejected write (-before +after):\n%s", d)
			}
			m2 := write(t, s, good, day(3))
			if m2.Seq != m1.Seq+1 {
				t.Errorf("next seq %d, want %d", m2.Seq, m1.Seq+1)
			}
		})
	}
}

func dumpKeys(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().Key())] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStoreDirPermissions(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(dir string) error
	}{
		{"created", func(string) error { return nil }},
		{"existing too open", func(dir string) error { return os.Mkdir(dir, 0o755) }},
		{"nested", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			if tc.prepare == nil {
				dir = filepath.Join(dir, "a", "b")
			} else if err := tc.prepare(dir); err != nil {
				t.Fatal(err)
			}
			s := openTest(t, dir)
			fi, err := os.Stat(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o700 {
				t.Errorf("store dir mode %v, want 0700", got)
			}
		})
	}
}

func TestOpenReadOnly(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nope")
		_, err := OpenReadOnly(t.Context(), dir, nil)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no store at "+dir) {
			t.Errorf("OpenReadOnly(missing) = %v", err)
		}
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("read-only open created %s", dir)
		}
	})
	t.Run("empty dir", func(t *testing.T) {
		_, err := OpenReadOnly(t.Context(), t.TempDir(), nil)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("OpenReadOnly(empty dir) = %v, want ErrNotFound", err)
		}
	})
	t.Run("reads and refuses writes", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "db")
		s, err := Open(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		g1, g2 := smallGraphs(t)
		m1 := write(t, s, g1, day(1))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Two read-only openers share the store.
		ro1, err := OpenReadOnly(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ro1.Close()
		ro2, err := OpenReadOnly(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ro2.Close()
		got, err := ro2.ReadSnapshot(t.Context(), m1)
		if err != nil {
			t.Fatal(err)
		}
		checkGraphEquals(t, g1, got)
		if _, err := ro1.WriteSnapshot(t.Context(), g2, day(2)); err == nil {
			t.Error("write through read-only store succeeded")
		}
		if _, err := ro1.RecordPartial(t.Context(), g1.Source, day(2), nil); err == nil {
			t.Error("RecordPartial through read-only store succeeded")
		}
	})
}

func TestStoreLockBusy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	rw, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	if _, err := OpenReadOnly(ctx, dir, nil); !errors.Is(err, ErrStoreBusy) {
		t.Fatalf("OpenReadOnly while a writer holds the store = %v, want ErrStoreBusy", err)
	}
	// A reader waits for the writer to finish.
	done := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		done <- rw.Close()
	}()
	ro, err := OpenReadOnly(t.Context(), dir, nil)
	if err != nil {
		t.Fatalf("OpenReadOnly did not wait for the writer: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// And a writer waits for readers.
	ctx, cancel = context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	if _, err := Open(ctx, dir, nil); !errors.Is(err, ErrStoreBusy) {
		t.Errorf("Open while a reader holds the store = %v, want ErrStoreBusy", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStoreSchemaVersion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(txn *badger.Txn) error { return txn.Set(keySchema, []byte("2")) })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(context.Context, string, *slog.Logger) (*Store, error){
		"Open": Open, "OpenReadOnly": OpenReadOnly,
	} {
		if s, err := open(t.Context(), dir, nil); err == nil || !strings.Contains(err.Error(), "newer") {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("%s on a newer schema = %v, want refusal", name, err)
		}
	}
}

func TestStoreViewCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s := openTest(t, dir)
	if _, err := LoadLatestView(t.Context(), dir, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadLatestView on empty store = %v, want ErrNotFound", err)
	}
	g1, g2 := smallGraphs(t)
	other := genGraph("aws:444455556666", 50, 9)
	write(t, s, g1, day(1))
	write(t, s, other, day(1))
	m2 := write(t, s, g2, day(2))

	v, err := LoadLatestView(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkViewEquals(t, v, g2, other)
	if d := cmp.Diff([]string{"aws:111122223333@2", "aws:444455556666@1"}, manifestIDs(v.Manifests())); d != "" {
		t.Errorf("cached view manifests (-want +got):\n%s", d)
	}
	if !v.At().Equal(m2.At) {
		t.Errorf("cached view At = %v, want %v", v.At(), m2.At)
	}
	built, err := s.buildView(t.Context(), v.At(), v.Manifests())
	if err != nil {
		t.Fatal(err)
	}
	checkSameView(t, built, v)

	// A partial does not change the latest view, so the cache stays valid.
	if _, err := s.RecordPartial(t.Context(), g1.Source, day(3), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.cachedView(mustLatest(t, s)); !ok {
		t.Error("cache invalid after RecordPartial")
	}

	// A corrupt cache is ignored and rebuilt.
	path := filepath.Join(dir, viewCacheName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(viewCacheMagic)+12] ^= 0xff // inside the checksummed header
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLatestView(t.Context(), dir, nil); err == nil {
		t.Error("LoadLatestView accepted a corrupt file")
	}
	v2, err := s.View(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkViewEquals(t, v2, g2, other)
	if _, err := LoadLatestView(t.Context(), dir, nil); err != nil {
		t.Errorf("cache not rewritten by View: %v", err)
	}
}

func mustLatest(t *testing.T, s *Store) []Manifest {
	t.Helper()
	ms, err := s.LatestAt(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// Readers at a complete seq see the same data while a write is in progress
// (here: stopped half-way, before its manifest).
func TestStoreReadsDuringWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s := openTest(t, dir)
	g1 := genGraph("aws:1", 200, 1)
	g2 := mutate(g1, 0.1, 2)
	m1 := write(t, s, g1, day(1))
	s.failAfter = diffGraphs(g1, g2).count() / 2
	if _, err := s.WriteSnapshot(t.Context(), g2, day(2)); !errors.Is(err, errInjected) {
		t.Fatalf("want injected failure, got %v", err)
	}
	s.failAfter = 0
	got, err := s.ReadSnapshot(t.Context(), m1)
	if err != nil {
		t.Fatal(err)
	}
	checkGraphEquals(t, g1, got)
	v, err := s.View(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	checkViewEquals(t, v, g1)
}

func TestStoreWriteSnapshots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s := openTest(t, dir)
	a, b := genGraph("aws:1", 40, 1), genGraph("aws:2", 30, 2)
	bad := cloneGraph(b)
	bad.Nodes["x"] = Node{ID: "x"} // invalid kind
	if ms, err := s.WriteSnapshots(t.Context(), []*SourceGraph{a, bad}, day(1)); err == nil || len(ms) != 0 {
		t.Fatalf("WriteSnapshots with an invalid graph = %v, %v; want error and nothing written", manifestIDs(ms), err)
	}
	if ms := mustLatest(t, s); len(ms) != 0 {
		t.Fatalf("rejected batch wrote %v", manifestIDs(ms))
	}
	if _, err := s.WriteSnapshots(t.Context(), []*SourceGraph{a, a}, day(1)); err == nil {
		t.Error("WriteSnapshots accepted the same source twice")
	}
	ms, err := s.WriteSnapshots(t.Context(), []*SourceGraph{a, b}, day(1))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"aws:1@1", "aws:2@1"}, manifestIDs(ms)); d != "" {
		t.Errorf("manifests (-want +got):\n%s", d)
	}
	v, err := LoadLatestView(t.Context(), dir, nil)
	if err != nil {
		t.Fatalf("no view cache after WriteSnapshots: %v", err)
	}
	checkViewEquals(t, v, a, b)
	if _, ok := s.cachedView(mustLatest(t, s)); !ok {
		t.Error("view cache does not match the latest manifests")
	}
}

// Kind numbers are part of the on-disk format (edge keys, payloads, the
// view cache). New kinds go at the end; reordering needs a schema bump.
func TestKindNumbersAreStable(t *testing.T) {
	nodes := map[NodeKind]uint8{NodeUser: 1, NodeGroup: 2, NodeRole: 3, NodeServicePrincipal: 4, NodeServiceAccount: 5,
		NodeAccount: 6, NodeService: 7, NodeFederated: 8, NodePolicy: 9, NodeRoleDefinition: 10, NodeScope: 11, NodeCapability: 12}
	edges := map[EdgeKind]uint8{EdgeMemberOf: 1, EdgeOwns: 2, EdgeContains: 3, EdgeCanAssume: 4, EdgeCanImpersonate: 5,
		EdgeSameIdentity: 6, EdgeHasRole: 7, EdgeCan: 8, EdgeHasPolicy: 9, EdgeHasBoundary: 10, EdgeCanAddMember: 11,
		EdgeCanAttachPolicy: 12, EdgeCanEditPolicy: 13, EdgeCanCreateKey: 14, EdgeCanUpdateTrust: 15, EdgeCanPassRole: 16,
		EdgeCanAssignRole: 17, EdgeCanAddSecret: 18}
	for k, want := range nodes {
		if uint8(k) != want {
			t.Errorf("%v = %d, stored data says %d", k, k, want)
		}
	}
	for k, want := range edges {
		if uint8(k) != want {
			t.Errorf("%v = %d, stored data says %d", k, k, want)
		}
	}
}

// TestWriteSnapshotsAndRelease: the releasing write stores exactly what
// WriteSnapshots stores (manifests, snapshots, latest view) and leaves the
// graphs without their maps.
func TestWriteSnapshotsAndRelease(t *testing.T) {
	plain := openTest(t, filepath.Join(t.TempDir(), "plain"))
	rel := openTest(t, filepath.Join(t.TempDir(), "release"))
	g1, g2 := smallGraphs(t)
	for i, g := range []*SourceGraph{g1, g2} {
		want, err := plain.WriteSnapshots(t.Context(), []*SourceGraph{cloneGraph(g)}, day(i+1))
		if err != nil {
			t.Fatal(err)
		}
		c := cloneGraph(g)
		got, err := rel.WriteSnapshotsAndRelease(t.Context(), []*SourceGraph{c}, day(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got, cmpopts.IgnoreFields(Manifest{}, "Written")); d != "" {
			t.Errorf("snapshot %d manifests (-plain +release):\n%s", i+1, d)
		}
		if c.Nodes != nil || c.Edges != nil || c.Source != g.Source {
			t.Errorf("snapshot %d: graph after release has %d nodes, %d edges, source %q", i+1, len(c.Nodes), len(c.Edges), c.Source)
		}
		read, err := rel.ReadSnapshot(t.Context(), got[0])
		if err != nil {
			t.Fatal(err)
		}
		checkGraphEquals(t, g, read)
		v, err := rel.View(t.Context(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		checkViewEquals(t, v, g)
	}
}
