package graph

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// encodeSource must give, whatever the ids' memory looks like (shared by
// the Arena, fresh copies, substrings of one buffer) and whether or not
// edge endpoints are nodes, the sorted items and payloads that
// SortedNodes and SortedEdges give.
func TestEncodeSource(t *testing.T) {
	arena := genGraph("aws:1", 50, 1)
	mustAddEdge(t, arena, Edge{From: "aws:arn:aws:iam::1:user/user00003", Kind: EdgeSameIdentity, To: "entra:user:elsewhere"})
	mustAddEdge(t, arena, Edge{From: "azure:outside", Kind: EdgeMemberOf, To: "aws:arn:aws:iam::1:group/group00001"})

	// Fresh strings for every id: nothing shares memory with a node id.
	fresh := NewSourceGraph("aws:1")
	for id, n := range arena.Nodes {
		n.ID = strings.Clone(id)
		fresh.Nodes[n.ID] = n
	}
	for _, e := range arena.Edges {
		e.From, e.To = strings.Clone(e.From), strings.Clone(e.To)
		fresh.Edges[e.Key()] = e
	}

	// Ids that are prefixes of each other and cut from one buffer, so an
	// endpoint starts where a longer node id does.
	buf := "aws:x/abcdef"
	sub := NewSourceGraph("aws:2")
	for _, id := range []string{buf[:12], buf[:9], buf[:7]} {
		sub.Nodes[id] = Node{ID: id, Kind: NodeUser}
	}
	for _, e := range []Edge{
		{From: buf[:12], Kind: EdgeMemberOf, To: buf[:10]}, // endpoint-only id sharing a node's start
		{From: buf[:10], Kind: EdgeMemberOf, To: buf[:9]},
		{From: buf[:9], Kind: EdgeMemberOf, To: buf[:7]},
		{From: buf[:7], Kind: EdgeCanAssume, To: buf[:8]},
		{From: buf[:7], Kind: EdgeMemberOf, To: buf[:12]},
	} {
		sub.Edges[e.Key()] = e
	}

	tests := []struct {
		name string
		g    *SourceGraph
	}{
		{"ids shared by the arena", arena},
		{"fresh strings", fresh},
		{"prefix ids cut from one buffer", sub},
		{"empty", NewSourceGraph("aws:3")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := encodeSource(t.Context(), tc.g)
			if err != nil {
				t.Fatal(err)
			}
			type item struct {
				Key     string
				Payload []byte
				Cond    bool
			}
			var want, got []item
			for _, n := range tc.g.SortedNodes() {
				want = append(want, item{Key: n.ID, Payload: appendNodePayload(nil, n)})
			}
			for _, e := range tc.g.SortedEdges() {
				want = append(want, item{Key: string(appendEdgeKey(nil, "", e.Key())), Payload: appendEdgePayload(nil, e), Cond: e.Conditional})
			}
			for _, r := range src.nodeRanks() {
				got = append(got, item{Key: src.ids[r], Payload: arenaPayload(src.npay, src.noff[r])})
			}
			for i, it := range src.edges {
				got = append(got, item{Key: string(appendEdgeKey(nil, "", src.edgeKey(i))), Payload: arenaPayload(src.epay, it.off), Cond: it.cond})
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("encoded items (-want +got):\n%s", d)
			}
			if !slicesSorted(src.ids) {
				t.Errorf("ids not sorted: %q", src.ids)
			}
			if src.nodes != len(tc.g.Nodes) {
				t.Errorf("nodes = %d, want %d", src.nodes, len(tc.g.Nodes))
			}
		})
	}
}

func slicesSorted(ids []string) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			return false
		}
	}
	return true
}
