package graph

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Edges may share one attribute map (policy/azure gives every PIM-eligible
// escalation edge the same one): merging into one edge must leave the map,
// and so every other edge, as it was.
func TestAddEdgeMergeCopiesSharedAttrs(t *testing.T) {
	shared := map[string]string{"eligible": "true"}
	g := NewSourceGraph("azure:t")
	for _, to := range []string{"azure:g1", "azure:g2"} {
		if err := g.AddEdge(Edge{From: "azure:u", Kind: EdgeCanAddMember, To: to, Attrs: shared, Evidence: []Evidence{{Source: "a"}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Same key again: an equal attribute changes nothing, a new one merges.
	for _, attrs := range []map[string]string{{"eligible": "true"}, {"scope": "/"}} {
		if err := g.AddEdge(Edge{From: "azure:u", Kind: EdgeCanAddMember, To: "azure:g1", Attrs: attrs, Evidence: []Evidence{{Source: "b"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff(map[string]string{"eligible": "true"}, shared); d != "" {
		t.Errorf("the shared map was written (-want +got):\n%s", d)
	}
	got := map[string]map[string]string{}
	for k, e := range g.Edges {
		got[k.To] = e.Attrs
	}
	want := map[string]map[string]string{
		"azure:g1": {"eligible": "true", "scope": "/"},
		"azure:g2": {"eligible": "true"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("edge attributes (-want +got):\n%s", d)
	}
	if n := len(g.Edges[EdgeKey{From: "azure:u", Kind: EdgeCanAddMember, To: "azure:g1"}].Evidence); n != 3 {
		t.Errorf("merged evidence: %d entries, want 3", n)
	}
}

// TestReserveKeepsContent: Reserve before, between and after adds changes
// nothing a graph says.
func TestReserveKeepsContent(t *testing.T) {
	want := genGraph("aws:111111111111", 50, 7)
	got := NewSourceGraph(want.Source)
	got.Reserve(10, 10)
	i := 0
	for _, n := range want.SortedNodes() {
		if i++; i == len(want.Nodes)/2 {
			got.Reserve(len(want.Nodes), len(want.Edges))
		}
		mustAddNode(t, got, n)
	}
	for _, e := range want.SortedEdges() {
		mustAddEdge(t, got, e)
	}
	got.Reserve(1, 1) // smaller than what it holds: a no-op
	checkGraphEquals(t, want, got)
	c := NewCollection()
	c.Reserve("aws:1", 100, 100)
	if g := c.Source("aws:1"); len(g.Nodes) != 0 || len(c.Sources()) != 1 {
		t.Errorf("Reserve made content: %+v", g)
	}
}
