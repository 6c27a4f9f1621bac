package graph

import (
	"strings"
	"testing"
	"time"
)

// The cheap accessors must agree with the full decoders, on a built view and
// on the same view mapped from its cache file.
func TestViewNameAccessors(t *testing.T) {
	g := NewSourceGraph("aws:111122223333")
	nodes := []Node{
		{ID: "aws:u1", Kind: NodeUser, Name: "alice", Email: "alice@example.com"},
		{ID: "aws:u2", Kind: NodeUser},
		{ID: "azure:g1", Kind: NodeGroup, Name: "=cmd|' /C calc'!A0 <b>"},
	}
	for _, n := range nodes {
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []Edge{
		{From: "aws:u1", Kind: EdgeMemberOf, To: "azure:g1", Attrs: map[string]string{"incomplete": "no boundary"}},
		{From: "aws:u2", Kind: EdgeMemberOf, To: "aws:ghost"}, // placeholder end
	} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	built := NewViewFromGraphs(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), nil, g)
	views := map[string]*View{"built": built, "mapped": mappedCopy(t, built)}
	for name, v := range views {
		for i := range v.NumNodes() {
			n := NodeID(i)
			full := v.Node(n)
			if got := v.NodeName(n); got != full.Name {
				t.Errorf("%s: NodeName(%s) = %q, Node().Name = %q", name, full.ID, got, full.Name)
			}
			if got := string(v.AppendNodeName([]byte("x"), n)); got != "x"+full.Name {
				t.Errorf("%s: AppendNodeName(%s) = %q, want %q", name, full.ID, got, "x"+full.Name)
			}
			if got := string(v.AppendNodeID(nil, n)); got != full.ID {
				t.Errorf("%s: AppendNodeID = %q, want %q", name, got, full.ID)
			}
			if !v.NodeIDHasPrefix(n, full.ID[:3]) || v.NodeIDHasPrefix(n, full.ID+"x") {
				t.Errorf("%s: NodeIDHasPrefix(%s) wrong", name, full.ID)
			}
			if strings.HasPrefix(full.ID, "aws:") != v.NodeIDHasPrefix(n, "aws:") {
				t.Errorf("%s: NodeIDHasPrefix(%s, aws:) wrong", name, full.ID)
			}
		}
		for i := range v.NumEdges() {
			e := EdgeID(i)
			if got, want := v.EdgeAttr(e, "incomplete"), v.Edge(e).Attrs["incomplete"]; got != want {
				t.Errorf("%s: EdgeAttr = %q, want %q", name, got, want)
			}
		}
	}
}

// mappedCopy writes v as a view cache file and maps it back.
func mappedCopy(t *testing.T, v *View) *View {
	t.Helper()
	path, err := writeViewTemp(t.TempDir(), v)
	if err != nil {
		t.Fatal(err)
	}
	m, err := readViewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
