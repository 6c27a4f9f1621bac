package graph

import (
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// equateEmpty: the codec returns nil for empty attrs and evidence.
var equateEmpty = cmpopts.EquateEmpty()

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

func mustAddNode(t testing.TB, g *SourceGraph, n Node) {
	t.Helper()
	if err := g.AddNode(n); err != nil {
		t.Fatal(err)
	}
}

func mustAddEdge(t testing.TB, g *SourceGraph, e Edge) {
	t.Helper()
	if err := g.AddEdge(e); err != nil {
		t.Fatal(err)
	}
}

// cloneGraph deep-copies g (maps and slices), so mutations do not alias.
func cloneGraph(g *SourceGraph) *SourceGraph {
	c := NewSourceGraph(g.Source)
	c.Warnings = slices.Clone(g.Warnings)
	for k, n := range g.Nodes {
		n.Attrs = maps.Clone(n.Attrs)
		c.Nodes[k] = n
	}
	for k, e := range g.Edges {
		e.Evidence = slices.Clone(e.Evidence)
		e.Attrs = maps.Clone(e.Attrs)
		c.Edges[k] = e
	}
	return c
}

// genGraph builds a synthetic AWS-like source: users in groups, groups
// with policies, roles assumable by users, capability edges (some
// conditional). About 3.3 edges per user.
func genGraph(source string, users int, seed uint64) *SourceGraph {
	rng := rand.New(rand.NewPCG(seed, 7))
	g := NewSourceGraph(source)
	groups, roles := max(users/12, 2), max(users/30, 2)
	acct := strings.TrimPrefix(source, "aws:")
	arn := func(kind string, i int) string {
		return fmt.Sprintf("aws:arn:aws:iam::%s:%s/%s%05d", acct, kind, kind, i)
	}
	add := func(n Node) { _ = g.AddNode(n) }
	for i := range groups {
		add(Node{ID: arn("group", i), Kind: NodeGroup, Name: fmt.Sprintf("group%05d", i)})
		pol := arn("policy", i)
		add(Node{ID: pol, Kind: NodePolicy, Name: fmt.Sprintf("policy%05d", i), Attrs: map[string]string{"managed": "true"}})
		_ = g.AddEdge(Edge{From: arn("group", i), Kind: EdgeHasPolicy, To: pol,
			Evidence: []Evidence{{Source: pol, Detail: "managed policy attached"}}})
	}
	capID := "cap:deploy-container:aws:" + acct
	add(Node{ID: capID, Kind: NodeCapability, Name: "deploy-container"})
	for i := range roles {
		add(Node{ID: arn("role", i), Kind: NodeRole, Name: fmt.Sprintf("role%05d", i)})
		if i%3 == 0 {
			_ = g.AddEdge(Edge{From: arn("role", i), Kind: EdgeCan, To: capID,
				Evidence: []Evidence{{Source: arn("policy", i%groups), Statement: "0", Detail: "ecs:RunTask"}}})
		}
	}
	for i := range users {
		u := arn("user", i)
		add(Node{ID: u, Kind: NodeUser, Name: fmt.Sprintf("user%05d", i), Email: fmt.Sprintf("user%05d@example.com", i),
			Attrs: map[string]string{"created": "2024-01-01", "enabled": "true"}})
		for range 1 + rng.IntN(4) {
			_ = g.AddEdge(Edge{From: u, Kind: EdgeMemberOf, To: arn("group", rng.IntN(groups)),
				Evidence: []Evidence{{Source: u, Detail: "GroupList"}}})
		}
		if rng.IntN(4) == 0 {
			e := Edge{From: u, Kind: EdgeCanAssume, To: arn("role", rng.IntN(roles)),
				Evidence: []Evidence{{Source: arn("role", 0), Statement: "trust", Detail: "sts:AssumeRole"}}}
			if rng.IntN(3) == 0 {
				e.Conditional, e.Condition = true, `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`
			}
			_ = g.AddEdge(e)
		}
	}
	return g
}

// mutate returns a copy of g with about frac of its items changed: a third
// of the changes remove edges, a third add edges, a third change payloads.
func mutate(g *SourceGraph, frac float64, seed uint64) *SourceGraph {
	rng := rand.New(rand.NewPCG(seed, 11))
	c := cloneGraph(g)
	total := len(g.Nodes) + len(g.Edges)
	k := max(int(frac*float64(total)), 3)
	ekeys := slices.SortedFunc(maps.Keys(c.Edges), func(a, b EdgeKey) int {
		if LessEdgeKey(a, b) {
			return -1
		}
		if LessEdgeKey(b, a) {
			return 1
		}
		return 0
	})
	nids := slices.Sorted(maps.Keys(c.Nodes))
	for i := range k {
		switch i % 3 {
		case 0: // remove an edge
			ek := ekeys[rng.IntN(len(ekeys))]
			delete(c.Edges, ek)
		case 1: // add an edge (new user, maybe new node)
			u := fmt.Sprintf("aws:arn:aws:iam::x:user/new-%d-%d", seed, i)
			c.Nodes[u] = Node{ID: u, Kind: NodeUser, Name: fmt.Sprintf("new%d", i)}
			e := Edge{From: u, Kind: EdgeMemberOf, To: nids[rng.IntN(len(nids))], Evidence: []Evidence{{Source: u, Detail: "GroupList"}}}
			c.Edges[e.Key()] = e
		case 2: // change a payload
			if rng.IntN(2) == 0 {
				ek := ekeys[rng.IntN(len(ekeys))]
				if e, ok := c.Edges[ek]; ok {
					e.Evidence = append(e.Evidence, Evidence{Source: "changed", Detail: fmt.Sprint(seed, i)})
					c.Edges[ek] = e
				}
			} else {
				id := nids[rng.IntN(len(nids))]
				n := c.Nodes[id]
				n.Attrs = maps.Clone(n.Attrs)
				if n.Attrs == nil {
					n.Attrs = map[string]string{}
				}
				n.Attrs["last-sign-in"] = fmt.Sprint(seed, i)
				c.Nodes[id] = n
			}
		}
	}
	return c
}

// diffGraphs is the reference ChangeSet between two graphs of one source.
func diffGraphs(a, b *SourceGraph) ChangeSet {
	var cs ChangeSet
	for id, n := range b.Nodes {
		old, ok := a.Nodes[id]
		switch {
		case !ok:
			cs.AddedNodes = append(cs.AddedNodes, n)
		case !nodeEqual(old, n):
			cs.ChangedNodes = append(cs.ChangedNodes, n)
		}
	}
	for id, n := range a.Nodes {
		if _, ok := b.Nodes[id]; !ok {
			cs.RemovedNodes = append(cs.RemovedNodes, n)
		}
	}
	for k, e := range b.Edges {
		old, ok := a.Edges[k]
		switch {
		case !ok:
			cs.AddedEdges = append(cs.AddedEdges, e)
		case !edgeEqual(old, e):
			cs.ChangedEdges = append(cs.ChangedEdges, e)
		}
	}
	for k, e := range a.Edges {
		if _, ok := b.Edges[k]; !ok {
			cs.RemovedEdges = append(cs.RemovedEdges, e)
		}
	}
	return cs
}

// nodeEqual and edgeEqual are the reference equality (nil equals empty),
// written out because cmp.Equal is too slow for 20k-item diffs.
func nodeEqual(a, b Node) bool {
	return a.ID == b.ID && a.Kind == b.Kind && a.Name == b.Name && a.Email == b.Email && maps.Equal(a.Attrs, b.Attrs)
}

func edgeEqual(a, b Edge) bool {
	return a.Key() == b.Key() && a.Conditional == b.Conditional && a.Condition == b.Condition &&
		slices.Equal(a.Evidence, b.Evidence) && maps.Equal(a.Attrs, b.Attrs)
}

// sortChangeSet puts a ChangeSet in the order Changes returns.
var sortChangeSet = cmp.Options{
	cmpopts.SortSlices(func(a, b Node) bool { return a.ID < b.ID }),
	cmpopts.SortSlices(func(a, b Edge) bool { return LessEdgeKey(a.Key(), b.Key()) }),
	equateEmpty,
}

func (cs ChangeSet) count() int {
	return len(cs.AddedNodes) + len(cs.RemovedNodes) + len(cs.ChangedNodes) +
		len(cs.AddedEdges) + len(cs.RemovedEdges) + len(cs.ChangedEdges)
}

// viewContent flattens a view into comparable maps: defined nodes, and
// edges by key (placeholders are reported separately).
func viewContent(v *View) (nodes map[string]Node, edges map[EdgeKey]Edge, placeholders []string) {
	nodes, edges = map[string]Node{}, map[EdgeKey]Edge{}
	for i := range v.NumNodes() {
		n := v.Node(NodeID(i))
		if n.Kind == NodeInvalid {
			placeholders = append(placeholders, n.ID)
			continue
		}
		nodes[n.ID] = n
	}
	for i := range v.NumEdges() {
		e := v.Edge(EdgeID(i))
		edges[e.Key()] = e
	}
	slices.Sort(placeholders)
	return nodes, edges, placeholders
}

// unionGraphs is what a view of several sources should contain when the
// sources do not overlap.
func unionGraphs(gs ...*SourceGraph) (map[string]Node, map[EdgeKey]Edge) {
	nodes, edges := map[string]Node{}, map[EdgeKey]Edge{}
	for _, g := range gs {
		maps.Copy(nodes, g.Nodes)
		maps.Copy(edges, g.Edges)
	}
	return nodes, edges
}

func checkViewEquals(t *testing.T, v *View, gs ...*SourceGraph) {
	t.Helper()
	wantN, wantE := unionGraphs(gs...)
	gotN, gotE, _ := viewContent(v)
	if d := cmp.Diff(wantN, gotN, equateEmpty); d != "" {
		t.Errorf("view nodes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantE, gotE, equateEmpty); d != "" {
		t.Errorf("view edges (-want +got):\n%s", d)
	}
}

func checkGraphEquals(t *testing.T, want, got *SourceGraph) {
	t.Helper()
	if d := cmp.Diff(want, got, equateEmpty); d != "" {
		t.Errorf("graph (-want +got):\n%s", d)
	}
}

// dirSize returns the apparent size (what filepath.Walk reports; Badger
// preallocates sparse files) and the allocated size of dir.
func dirSize(t testing.TB, dir string) (apparent, allocated int64) {
	t.Helper()
	err := filepath.Walk(dir, func(_ string, fi fs.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		apparent += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return apparent, allocated
}

func manifestIDs(ms []Manifest) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// genEnterprise builds a graph in the shape of issue 10's scale target:
// users, groups (60% nested in a lower-numbered group, so chains form),
// roles (a third can deploy, a fifth assumable by a group), users in 1-18
// groups (about 9.5 memberships each: 500k users give ~5M edges) and one
// user in ten able to assume a role directly.
func genEnterprise(source string, users, groups, roles int, seed uint64) *SourceGraph {
	rng := rand.New(rand.NewPCG(seed, 13))
	g := NewSourceGraph(source)
	id := func(kind string, i int) string { return fmt.Sprintf("%s:%s:%07d", source, kind, i) }
	capID := "cap:deploy-container:" + source
	_ = g.AddNode(Node{ID: capID, Kind: NodeCapability, Name: "deploy-container",
		Attrs: map[string]string{"capability": "deploy-container", "cloud": "azure", "scope": source}})
	policies := max(groups/10, 1)
	for i := range policies {
		_ = g.AddNode(Node{ID: id("policy", i), Kind: NodePolicy, Name: fmt.Sprintf("policy%d", i), Attrs: map[string]string{"managed": "true"}})
	}
	for i := range groups {
		gid := id("group", i)
		_ = g.AddNode(Node{ID: gid, Kind: NodeGroup, Name: fmt.Sprintf("group %d", i)})
		_ = g.AddEdge(Edge{From: gid, Kind: EdgeHasPolicy, To: id("policy", i%policies), Evidence: []Evidence{{Source: id("policy", i%policies), Detail: "attached"}}})
		if i > 0 && rng.IntN(10) < 6 {
			_ = g.AddEdge(Edge{From: gid, Kind: EdgeMemberOf, To: id("group", rng.IntN(i)), Evidence: []Evidence{{Source: gid, Detail: "nested"}}})
		}
		if rng.IntN(5) == 0 {
			_ = g.AddEdge(Edge{From: gid, Kind: EdgeCanAssume, To: id("role", rng.IntN(roles)), Evidence: []Evidence{{Source: "trust", Statement: "0", Detail: "sts:AssumeRoleWithSAML"}}})
		}
	}
	for i := range roles {
		rid := id("role", i)
		_ = g.AddNode(Node{ID: rid, Kind: NodeRole, Name: fmt.Sprintf("role%d", i)})
		if i%3 == 0 {
			_ = g.AddEdge(Edge{From: rid, Kind: EdgeCan, To: capID, Evidence: []Evidence{{Source: id("policy", i%policies), Statement: "0", Detail: "ecs:RunTask"}}})
		}
	}
	for i := range users {
		u := id("user", i)
		_ = g.AddNode(Node{ID: u, Kind: NodeUser, Name: fmt.Sprintf("user %d", i), Email: fmt.Sprintf("user%d@example.com", i),
			Attrs: map[string]string{"created": "2024-01-01", "enabled": "true"}})
		for range 1 + rng.IntN(18) {
			_ = g.AddEdge(Edge{From: u, Kind: EdgeMemberOf, To: id("group", rng.IntN(groups)), Evidence: []Evidence{{Source: u, Detail: "memberOf"}}})
		}
		if rng.IntN(10) == 0 {
			_ = g.AddEdge(Edge{From: u, Kind: EdgeCanAssume, To: id("role", rng.IntN(roles)), Evidence: []Evidence{{Source: "trust", Statement: "0", Detail: "sts:AssumeRole"}}})
		}
	}
	return g
}

// mutateInPlace changes about frac of g's items in place (a third removed
// edges, a third new users with a membership, a third changed payloads),
// like mutate without copying a multi-million-edge graph. ekeys and nids
// are g's keys and ids from before the first round (stale keys are fine).
func mutateInPlace(g *SourceGraph, frac float64, seed uint64, ekeys []EdgeKey, nids []string) {
	rng := rand.New(rand.NewPCG(seed, 11))
	k := max(int(frac*float64(len(g.Nodes)+len(g.Edges))), 3)
	for i := range k {
		switch i % 3 {
		case 0:
			delete(g.Edges, ekeys[rng.IntN(len(ekeys))])
		case 1:
			u := fmt.Sprintf("%s:user:new-%d-%d", g.Source, seed, i)
			_ = g.AddNode(Node{ID: u, Kind: NodeUser, Name: fmt.Sprintf("new %d", i)})
			_ = g.AddEdge(Edge{From: u, Kind: EdgeMemberOf, To: nids[rng.IntN(len(nids))], Evidence: []Evidence{{Source: u, Detail: "memberOf"}}})
		case 2:
			if rng.IntN(2) == 0 {
				ek := ekeys[rng.IntN(len(ekeys))]
				if e, ok := g.Edges[ek]; ok {
					e.Evidence = append(slices.Clip(e.Evidence), Evidence{Source: "changed", Detail: fmt.Sprint(seed, i)})
					g.Edges[ek] = e
				}
			} else {
				id := nids[rng.IntN(len(nids))]
				n := g.Nodes[id]
				n.Attrs = maps.Clone(n.Attrs)
				if n.Attrs == nil {
					n.Attrs = map[string]string{}
				}
				n.Attrs["last-sign-in"] = fmt.Sprint(seed, i)
				g.Nodes[id] = n
			}
		}
	}
}
