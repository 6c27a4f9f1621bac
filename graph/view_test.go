package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// checkSameView compares two views structurally: same ids, kinds, nodes,
// edges and adjacency (NodeIDs may differ between builds, so everything is
// compared by string id).
func checkSameView(t *testing.T, want, got *View) {
	t.Helper()
	wn, we, wp := viewContent(want)
	gn, ge, gp := viewContent(got)
	if d := cmp.Diff(wn, gn, equateEmpty); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(we, ge, equateEmpty); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wp, gp); d != "" {
		t.Errorf("placeholders (-want +got):\n%s", d)
	}
	if d := cmp.Diff(adjacency(want), adjacency(got)); d != "" {
		t.Errorf("adjacency (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.Manifests(), got.Manifests()); d != "" {
		t.Errorf("manifests (-want +got):\n%s", d)
	}
}

// adjacency renders Out and In of every node by string id.
func adjacency(v *View) map[string][2][]string {
	out := map[string][2][]string{}
	str := func(e EdgeID) string {
		f, to, k, c := v.EdgeEnds(e)
		return fmt.Sprintf("%s -%s-> %s cond=%v", v.NodeIDString(f), k, v.NodeIDString(to), c)
	}
	for i := range v.NumNodes() {
		n := NodeID(i)
		var o, in []string
		for _, e := range v.Out(n) {
			o = append(o, str(e))
		}
		for _, e := range v.In(n) {
			in = append(in, str(e))
		}
		slices.Sort(in)
		out[v.NodeIDString(n)] = [2][]string{o, in}
	}
	return out
}

func TestViewCSR(t *testing.T) {
	g := genGraph("aws:1", 500, 3)
	v := NewViewFromGraphs(day(1), nil, g)
	if v.NumEdges() != len(g.Edges) {
		t.Fatalf("NumEdges = %d, want %d", v.NumEdges(), len(g.Edges))
	}
	// Brute force: every edge appears in its from's Out and its to's In,
	// exactly once, and nowhere else.
	wantOut := map[string][]EdgeKey{}
	wantIn := map[string][]EdgeKey{}
	for _, e := range g.SortedEdges() {
		wantOut[e.From] = append(wantOut[e.From], e.Key())
		wantIn[e.To] = append(wantIn[e.To], e.Key())
	}
	key := func(e EdgeID) EdgeKey {
		f, to, k, _ := v.EdgeEnds(e)
		return EdgeKey{From: v.NodeIDString(f), Kind: k, To: v.NodeIDString(to)}
	}
	sortKeys := func(ks []EdgeKey) {
		slices.SortFunc(ks, func(a, b EdgeKey) int {
			if LessEdgeKey(a, b) {
				return -1
			}
			if LessEdgeKey(b, a) {
				return 1
			}
			return 0
		})
	}
	for i := range v.NumNodes() {
		n := NodeID(i)
		id := v.NodeIDString(n)
		if got, ok := v.Lookup(id); !ok || got != n {
			t.Fatalf("Lookup(%q) = %d, %v; want %d", id, got, ok, n)
		}
		var out, in []EdgeKey
		for _, e := range v.Out(n) {
			out = append(out, key(e))
		}
		for _, e := range v.In(n) {
			in = append(in, key(e))
		}
		// Out is already in (kind, to) order: no sorting before comparing.
		if d := cmp.Diff(wantOut[id], out); d != "" {
			t.Errorf("Out(%s) (-want +got):\n%s", id, d)
		}
		sortKeys(in)
		if d := cmp.Diff(wantIn[id], in); d != "" {
			t.Errorf("In(%s) (-want +got):\n%s", id, d)
		}
	}
	for _, e := range g.Edges {
		f, _ := v.Lookup(e.From)
		var found bool
		for _, id := range v.Out(f) {
			if key(id) == e.Key() {
				found = true
				_, _, _, cond := v.EdgeEnds(id)
				if cond != e.Conditional {
					t.Errorf("EdgeEnds(%v) conditional = %v", e.Key(), cond)
				}
				if d := cmp.Diff(e, v.Edge(id), equateEmpty); d != "" {
					t.Errorf("Edge (-want +got):\n%s", d)
				}
			}
		}
		if !found {
			t.Errorf("edge %v missing from Out", e.Key())
		}
	}
	if _, ok := v.Lookup("nope"); ok {
		t.Error("Lookup(nope) found something")
	}
	if got := v.Out(0); cap(got) != len(got) {
		t.Error("Out returns a slice callers could append into")
	}
}

func TestViewFindByName(t *testing.T) {
	g := NewSourceGraph("entra:t")
	mustAddNode(t, g, Node{ID: "entra:user:1", Kind: NodeUser, Name: "Alice Smith", Email: "alice@corp.example"})
	mustAddNode(t, g, Node{ID: "entra:user:2", Kind: NodeUser, Name: "alice@corp.example"})
	mustAddNode(t, g, Node{ID: "entra:group:3", Kind: NodeGroup, Name: "Admins"})
	mustAddNode(t, g, Node{ID: "entra:user:4", Kind: NodeUser, Name: "bob", Email: "BOB"}) // same string twice
	mustAddEdge(t, g, Edge{From: "entra:user:1", Kind: EdgeMemberOf, To: "dangling"})
	v := NewViewFromGraphs(time.Time{}, nil, g)
	ids := func(ns []NodeID) []string {
		var out []string
		for _, n := range ns {
			out = append(out, v.NodeIDString(n))
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name string
		want []string
	}{
		{"ALICE@corp.example", []string{"entra:user:1", "entra:user:2"}},
		{"alice smith", []string{"entra:user:1"}},
		{"admins", []string{"entra:group:3"}},
		{"bob", []string{"entra:user:4"}},
		{"alice", nil},
		{"dangling", nil}, // placeholders have no name to find
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, ids(v.FindByName(tc.name))); d != "" {
			t.Errorf("FindByName(%q) (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestViewMergeAcrossSources(t *testing.T) {
	a := NewSourceGraph("aws:1")
	b := NewSourceGraph("entra:t")
	// b's edge points at a node only a defines; a's edge at a node nobody defines.
	mustAddEdge(t, b, Edge{From: "entra:user:1", Kind: EdgeSameIdentity, To: "aws:user:alice", Evidence: []Evidence{{Source: "b"}}})
	mustAddEdge(t, a, Edge{From: "aws:user:alice", Kind: EdgeSameIdentity, To: "entra:user:1", Evidence: []Evidence{{Source: "a"}}})
	mustAddEdge(t, a, Edge{From: "aws:user:alice", Kind: EdgeMemberOf, To: "aws:group:gone"})
	mustAddNode(t, a, Node{ID: "aws:user:alice", Kind: NodeUser, Name: "alice", Attrs: map[string]string{"k": "a", "only-a": "1"}})
	mustAddNode(t, b, Node{ID: "aws:user:alice", Kind: NodeUser, Name: "Alice B", Email: "alice@x", Attrs: map[string]string{"k": "b", "only-b": "2"}})
	mustAddNode(t, b, Node{ID: "entra:user:1", Kind: NodeUser, Name: "alice"})
	// Same edge key from both sources: merged, unconditional wins.
	mustAddEdge(t, a, Edge{From: "entra:user:1", Kind: EdgeCanAssume, To: "aws:user:alice", Conditional: true, Condition: "c",
		Evidence: []Evidence{{Source: "ea"}}})
	mustAddEdge(t, b, Edge{From: "entra:user:1", Kind: EdgeCanAssume, To: "aws:user:alice", Evidence: []Evidence{{Source: "eb"}}})

	// Edges first, then nodes: placeholders must pick up the kind later.
	bld := NewViewBuilder()
	for _, g := range []*SourceGraph{a, b} {
		for _, e := range g.SortedEdges() {
			bld.AddEdge(e)
		}
	}
	for _, g := range []*SourceGraph{a, b} {
		for _, n := range g.SortedNodes() {
			bld.AddNode(n)
		}
	}
	v := bld.Build(day(1), nil)

	alice, _ := v.Lookup("aws:user:alice")
	want := Node{ID: "aws:user:alice", Kind: NodeUser, Name: "alice", Email: "alice@x",
		Attrs: map[string]string{"k": "a", "only-a": "1", "only-b": "2"}}
	if d := cmp.Diff(want, v.Node(alice)); d != "" {
		t.Errorf("merged node (-want +got):\n%s", d)
	}
	gone, ok := v.Lookup("aws:group:gone")
	if !ok {
		t.Fatal("no placeholder for dangling endpoint")
	}
	if d := cmp.Diff(Node{ID: "aws:group:gone", Kind: NodeInvalid, Name: "aws:group:gone"}, v.Node(gone)); d != "" {
		t.Errorf("placeholder (-want +got):\n%s", d)
	}
	if v.NodeKind(gone) != NodeInvalid || v.NodeKind(alice) != NodeUser {
		t.Errorf("NodeKind: gone=%v alice=%v", v.NodeKind(gone), v.NodeKind(alice))
	}
	if v.NumEdges() != 4 {
		t.Errorf("NumEdges = %d, want 4 (duplicate key merged)", v.NumEdges())
	}
	e1, _ := v.Lookup("entra:user:1")
	var merged []Edge
	for _, e := range v.Out(e1) {
		if _, _, k, _ := v.EdgeEnds(e); k == EdgeCanAssume {
			merged = append(merged, v.Edge(e))
		}
	}
	wantE := []Edge{{From: "entra:user:1", Kind: EdgeCanAssume, To: "aws:user:alice", Evidence: []Evidence{{Source: "ea"}, {Source: "eb"}}}}
	if d := cmp.Diff(wantE, merged, equateEmpty); d != "" {
		t.Errorf("merged edge (-want +got):\n%s", d)
	}
}

func TestViewCacheRoundTrip(t *testing.T) {
	g := genGraph("aws:1", 300, 4)
	mustAddEdge(t, g, Edge{From: "x", Kind: EdgeMemberOf, To: "y"}) // placeholders
	ms := []Manifest{{ID: "aws:1@1", Source: "aws:1", Seq: 1, At: day(1), Status: StatusComplete}}
	v := NewViewFromGraphs(day(1), ms, g)
	dir := t.TempDir()
	tmp, err := writeViewTemp(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readViewFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	checkSameView(t, v, got)
	if !got.At().Equal(v.At()) {
		t.Errorf("At = %v, want %v", got.At(), v.At())
	}
	// The copying path (hosts without mmap) reads the same view.
	data, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := parseView(data, false)
	if err != nil {
		t.Fatal(err)
	}
	checkSameView(t, v, copied)

	// What a mapped view hands out must survive the view and its mapping.
	var ids []string
	var ins [][]EdgeID
	var nodes []Node
	for i := range got.NumNodes() {
		ids = append(ids, got.NodeIDString(NodeID(i)))
		ins = append(ins, got.In(NodeID(i)))
		nodes = append(nodes, got.Node(NodeID(i)))
	}
	names := got.FindByName("user00001")
	got = nil
	for range 3 {
		runtime.GC()
	}
	for i, id := range ids {
		n, _ := v.Lookup(id)
		if d := cmp.Diff(v.Node(n), nodes[i], equateEmpty); d != "" {
			t.Fatalf("node after unmap (-want +got):\n%s", d)
		}
		if len(ins[i]) != len(v.In(n)) {
			t.Fatalf("In(%s) after unmap has %d edges, want %d", id, len(ins[i]), len(v.In(n)))
		}
	}
	if len(names) != 1 {
		t.Errorf("FindByName(user00001) = %v", names)
	}
	// Truncated files are rejected, not half-loaded.
	b, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, b[:len(b)-10], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readViewFile(short); err == nil {
		t.Error("truncated cache accepted")
	}
}

func TestCodecRoundTrip(t *testing.T) {
	nodes := []Node{
		{ID: "n", Kind: NodeUser},
		{ID: "n2", Kind: NodeScope, Name: "näme", Email: "e", Attrs: map[string]string{"a": "", "b": "2"}},
	}
	for _, n := range nodes {
		got, err := decodeNodePayload(n.ID, appendNodePayload(nil, n))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(n, got, equateEmpty); d != "" {
			t.Errorf("node (-want +got):\n%s", d)
		}
	}
	edges := []Edge{
		{From: "a", Kind: EdgeMemberOf, To: "b"},
		{From: "a", Kind: EdgeCan, To: "b", Conditional: true, Condition: "a",
			Evidence: []Evidence{{Source: "a", Statement: "b", Detail: ""}, {Source: "zz", Detail: "b"}},
			Attrs:    map[string]string{"a": "b", "b": "a"}},
	}
	for _, e := range edges {
		p := appendEdgePayload(nil, e)
		got, err := decodeEdgePayload(e.Key(), p)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(e, got, equateEmpty); d != "" {
			t.Errorf("edge (-want +got):\n%s", d)
		}
		if edgePayloadConditional(p) != e.Conditional {
			t.Errorf("edgePayloadConditional wrong for %v", e.Key())
		}
		if _, err := decodeEdgePayload(e.Key(), p[:len(p)-1]); err == nil {
			t.Errorf("truncated edge payload accepted")
		}
	}
	ivs := []interval{{1, 3, []byte("x")}, {3, 0, nil}}
	got, err := decodeIntervals(nil, encodeIntervals(ivs))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(ivs, got, cmp.AllowUnexported(interval{}), equateEmpty); d != "" {
		t.Errorf("intervals (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		seq  uint64
		want string
		ok   bool
	}{{0, "", false}, {1, "x", true}, {2, "x", true}, {3, "", true}, {100, "", true}} {
		p, ok, err := payloadAt(encodeIntervals(ivs), tc.seq)
		if err != nil || ok != tc.ok || string(p) != tc.want {
			t.Errorf("payloadAt(%d) = %q, %v, %v; want %q, %v", tc.seq, p, ok, err, tc.want, tc.ok)
		}
	}
}

func TestKeysOrderMatchesSortedEdges(t *testing.T) {
	keys := []EdgeKey{
		{From: "a", Kind: EdgeMemberOf, To: "b"},
		{From: "a", Kind: EdgeMemberOf, To: "b\x01"},
		{From: "a", Kind: EdgeCan, To: "a"},
		{From: "a\x01", Kind: EdgeMemberOf, To: "a"},
		{From: "ab", Kind: EdgeMemberOf, To: ""},
		{From: "a|b", Kind: EdgeMemberOf, To: "a"},
	}
	for i := 1; i < len(keys); i++ {
		a := appendEdgeKey(nil, "s", keys[i-1])
		b := appendEdgeKey(nil, "s", keys[i])
		if !LessEdgeKey(keys[i-1], keys[i]) || string(a) >= string(b) {
			t.Errorf("order of %q and %q disagrees between keys and LessEdgeKey", keys[i-1], keys[i])
		}
		src, isEdge, _, ek, err := parseItemKey(b)
		if err != nil || !isEdge || src != "s" || ek != keys[i] {
			t.Errorf("parseItemKey(%q) = %q, %v, %v, %v", b, src, isEdge, ek, err)
		}
	}
	for _, id := range []string{"aws:1@3", "gws:a@b.example@12"} {
		src, seq, err := ParseSnapshotID(id)
		if err != nil || SnapshotID(src, seq) != id {
			t.Errorf("ParseSnapshotID(%q) = %q, %d, %v", id, src, seq, err)
		}
	}
	for _, id := range []string{"aws", "@1", "aws@0", "aws@x"} {
		if _, _, err := ParseSnapshotID(id); err == nil {
			t.Errorf("ParseSnapshotID(%q) accepted", id)
		}
	}
}

// TestViewMemory logs bytes per edge of a view (no assertion: the numbers
// feed docs/storage.md).
func TestViewMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	g := genGraph("aws:1", 20000, 1)
	v := NewViewFromGraphs(time.Time{}, nil, g)
	t.Logf("view of %d nodes, %d edges: ~%d KiB, %.0f bytes/edge (edge arena %d KiB)",
		v.NumNodes(), v.NumEdges(), v.memBytes()>>10, float64(v.memBytes())/float64(v.NumEdges()), len(v.earena)>>10)
}

// The latest-view cache is built from the graphs just written (memSource);
// it must be the view a rebuild from the store gives, node numbering
// included (who-can and path break ties by it).
func TestViewCacheFromMemoryMatchesStore(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b, c := genGraph("aws:111122223333", 300, 1), NewSourceGraph("entra:t"), genGraph("aws:444455556666", 200, 2)
	// b overlaps a: a node and an edge key both define, and a dangling endpoint.
	mustAddNode(t, b, Node{ID: "aws:arn:aws:iam::111122223333:user/user00001", Kind: NodeUser, Name: "from entra", Email: "u1@x",
		Attrs: map[string]string{"k": "b"}})
	mustAddNode(t, b, Node{ID: "entra:user:1", Kind: NodeUser, Name: "u1"})
	mustAddEdge(t, b, Edge{From: "entra:user:1", Kind: EdgeSameIdentity, To: "aws:arn:aws:iam::111122223333:user/user00001",
		Evidence: []Evidence{{Source: "upn"}}})
	mustAddEdge(t, b, Edge{From: "entra:user:1", Kind: EdgeMemberOf, To: "entra:group:gone"})
	for k, e := range a.Edges {
		if k.Kind == EdgeMemberOf {
			e.Evidence = []Evidence{{Source: "from entra"}}
			e.Conditional, e.Condition = true, "c"
			mustAddEdge(t, b, e)
			break
		}
	}
	check := func(step string) {
		t.Helper()
		checkCacheMatchesStore(t, s, dir, step)
	}
	// Alone, b's edges name ids that are no node of b (a's group and user,
	// a dangling group): they rank between b's own ids.
	dirB := filepath.Join(t.TempDir(), "db")
	sb, err := Open(ctx, dirB, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if _, err := sb.WriteSnapshot(ctx, b, day(0)); err != nil {
		t.Fatal(err)
	}
	checkCacheMatchesStore(t, sb, dirB, "one source with endpoint-only ids")
	if _, err := s.WriteSnapshot(ctx, c, day(0)); err != nil {
		t.Fatal(err)
	}
	check("one source")
	if _, err := s.WriteSnapshots(ctx, []*SourceGraph{b, a}, day(1)); err != nil {
		t.Fatal(err)
	}
	check("batch of two over a stored third")
	if _, err := s.WriteSnapshot(ctx, mutate(a, 0.05, 3), day(2)); err != nil {
		t.Fatal(err)
	}
	check("churn of one of three")
}

// checkCacheMatchesStore compares the store's cached latest view with one
// rebuilt from the store, node numbering included.
func checkCacheMatchesStore(t *testing.T, s *Store, dir, step string) {
	t.Helper()
	ctx := t.Context()
	cached, err := LoadLatestView(ctx, dir, nil)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	ms, err := s.LatestAt(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := s.buildView(ctx, viewTime(time.Time{}, ms), ms)
	if err != nil {
		t.Fatal(err)
	}
	checkSameView(t, rebuilt, cached)
	if rebuilt.NumNodes() != cached.NumNodes() {
		t.Fatalf("%s: %d nodes cached, %d rebuilt", step, cached.NumNodes(), rebuilt.NumNodes())
	}
	for i := range rebuilt.NumNodes() {
		if w, g := rebuilt.NodeIDString(NodeID(i)), cached.NodeIDString(NodeID(i)); w != g {
			t.Fatalf("%s: node %d is %q cached, %q rebuilt", step, i, g, w)
		}
	}
}
