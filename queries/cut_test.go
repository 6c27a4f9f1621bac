package queries

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

// cutGraph builds a view from "from kind to" triples over entra-style ids
// (so memberships are walked) and one capability node "cap".
func cutGraph(t *testing.T, edges []string) *graph.View {
	t.Helper()
	g := graph.NewSourceGraph("test")
	nodes := map[string]bool{}
	addNode := func(id string) {
		if nodes[id] {
			return
		}
		nodes[id] = true
		n := graph.Node{ID: id, Name: id}
		switch {
		case id == "cap" || strings.HasPrefix(id, "cap"):
			n.Kind = graph.NodeCapability
			n.Attrs = map[string]string{"capability": DeployCapability, "scope": id}
		case strings.HasPrefix(id, "g:"):
			n.Kind = graph.NodeGroup
		case strings.HasPrefix(id, "r:"):
			n.Kind = graph.NodeRole
		case strings.HasPrefix(id, "s:"):
			n.Kind = graph.NodeScope
		default:
			n.Kind = graph.NodeUser
		}
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range edges {
		f := strings.Fields(s)
		addNode(f[0])
		addNode(f[2])
		k, err := graph.ParseEdgeKind(f[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := g.AddEdge(graph.Edge{From: f[0], Kind: k, To: f[2], Evidence: []graph.Evidence{{Source: "ev:" + s}}}); err != nil {
			t.Fatal(err)
		}
	}
	return graph.NewViewFromGraphs(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), nil, g)
}

func TestCheapestCut(t *testing.T) {
	type want struct {
		edges  []string // "from kind to" of Cuts[0]
		losers []string // ids in Cuts[0].BlastRadius
	}
	tests := []struct {
		name    string
		edges   []string
		actor   string
		targets []string
		want    want
	}{
		{
			name:  "single membership: first hop, nobody else loses",
			edges: []string{"eve MemberOf g:dev", "bob MemberOf g:dev", "g:dev Can cap"},
			actor: "eve", targets: []string{"cap"},
			want: want{edges: []string{"eve MemberOf g:dev"}},
		},
		{
			// eve is in two groups nested in g:mid; g:mid is in g:deploy,
			// which bob uses directly. Cutting g:mid -> g:deploy (a middle
			// hop) costs nobody and one edge; the last hop costs bob; the
			// first hops need two edges.
			name: "middle hop beats first and last hops",
			edges: []string{
				"eve MemberOf g:a1", "eve MemberOf g:a2",
				"g:a1 MemberOf g:mid", "g:a2 MemberOf g:mid",
				"g:mid MemberOf g:deploy", "bob MemberOf g:deploy",
				"g:deploy Can cap",
			},
			actor: "eve", targets: []string{"cap"},
			want: want{edges: []string{"g:mid MemberOf g:deploy"}},
		},
		{
			// As above but carol is in g:mid: the middle hop now costs
			// carol, so the two first hops (a set, found by min-cut) win.
			name: "two-edge set with no blast radius beats one edge with one",
			edges: []string{
				"eve MemberOf g:a1", "eve MemberOf g:a2",
				"g:a1 MemberOf g:mid", "g:a2 MemberOf g:mid", "carol MemberOf g:mid",
				"g:mid MemberOf g:deploy", "bob MemberOf g:deploy",
				"g:deploy Can cap",
			},
			actor: "eve", targets: []string{"cap"},
			want: want{edges: []string{"eve MemberOf g:a1", "eve MemberOf g:a2"}},
		},
		{
			// eve's only hop is an escalation to a group many use: cut it.
			name: "escalation edge, not the shared grant",
			edges: []string{
				"eve CanAddMember g:deploy", "bob MemberOf g:deploy", "ann MemberOf g:deploy",
				"g:deploy Can cap",
			},
			actor: "eve", targets: []string{"cap"},
			want: want{edges: []string{"eve CanAddMember g:deploy"}},
		},
		{
			// eve assumes a role through a group that also holds other
			// grants; the role's trust (eve's group -> role) is cheaper to
			// cut than the role's grant (used by the CI user too), and the
			// group is shared with bob, who also uses it for the role.
			name: "role chain: cut the identity hop, not the grant",
			edges: []string{
				"eve MemberOf g:ops", "eve MemberOf g:ops2", "bob MemberOf g:ops",
				"g:ops CanAssume r:deploy", "g:ops2 CanAssume r:deploy", "ci CanAssume r:deploy",
				"r:deploy Can cap",
			},
			actor: "eve", targets: []string{"cap"},
			// g:ops CanAssume costs bob; both eve memberships cost nobody.
			want: want{edges: []string{"eve MemberOf g:ops", "eve MemberOf g:ops2"}},
		},
		{
			// Two scopes: the cut must remove both; a shared group serves
			// one scope only for dan, who keeps the other.
			name: "two targets",
			edges: []string{
				"eve MemberOf g:x", "g:x Can cap1", "g:x Can cap2", "dan MemberOf g:x",
			},
			actor: "eve", targets: []string{"cap1", "cap2"},
			want: want{edges: []string{"eve MemberOf g:x"}},
		},
		{
			// Unavoidable blast radius: eve is the group (no other hop).
			name: "only shared edges: least blast radius",
			edges: []string{
				"eve CanAssume r:a", "eve CanAssume r:b",
				"r:a Can cap", "r:b MemberOf g:big", "g:big Can cap",
				"u1 CanAssume r:a", "u2 MemberOf g:big", "u3 MemberOf g:big",
			},
			actor: "eve", targets: []string{"cap"},
			want: want{edges: []string{"eve CanAssume r:a", "eve CanAssume r:b"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := cutGraph(t, tc.edges)
			a, ok := v.Lookup(tc.actor)
			if !ok {
				t.Fatalf("no actor %s", tc.actor)
			}
			var ts []graph.NodeID
			for _, s := range tc.targets {
				id, ok := v.Lookup(s)
				if !ok {
					t.Fatalf("no target %s", s)
				}
				ts = append(ts, id)
			}
			res, err := CheapestCut(v, a, ts, CutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Cuts) == 0 {
				t.Fatal("no cut")
			}
			var got want
			for _, h := range res.Cuts[0].Edges {
				got.edges = append(got.edges, h.From+" "+h.Edge+" "+h.To)
			}
			for _, l := range res.Cuts[0].BlastRadius {
				got.losers = append(got.losers, l.ID)
			}
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); d != "" {
				t.Errorf("cheapest cut (-want +got):\n%s\nall: %+v", d, res.Cuts)
			}
		})
	}
}

// AWS group policies are folded into members' Can edges: detaching the
// group's policy (cutting the group's Can edge) removes the members' edges
// backed by it, so the members are its blast radius.
func TestCheapestCutAWSGroupFolding(t *testing.T) {
	g := graph.NewSourceGraph("aws:1")
	grp, eve, bob, capID := "aws:arn:aws:iam::1:group/Deployers", "aws:arn:aws:iam::1:user/eve", "aws:arn:aws:iam::1:user/bob", "cap:deploy-container:aws:1"
	for _, n := range []graph.Node{{ID: grp, Kind: graph.NodeGroup}, {ID: eve, Kind: graph.NodeUser}, {ID: bob, Kind: graph.NodeUser},
		{ID: capID, Kind: graph.NodeCapability, Attrs: map[string]string{"capability": DeployCapability}}} {
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	pol := []graph.Evidence{{Source: "aws:arn:aws:iam::1:policy/DeployersPolicy"}}
	for _, e := range []graph.Edge{
		{From: eve, Kind: graph.EdgeCanAddMember, To: grp, Evidence: []graph.Evidence{{Source: eve + "#inline/GroupAdmin"}}},
		{From: grp, Kind: graph.EdgeCan, To: capID, Evidence: pol},
		{From: bob, Kind: graph.EdgeMemberOf, To: grp},
		{From: bob, Kind: graph.EdgeCan, To: capID, Evidence: pol},
	} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	v := graph.NewViewFromGraphs(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), nil, g)
	a, _ := v.Lookup(eve)
	c, _ := v.Lookup(capID)
	res, err := CheapestCut(v, a, []graph.NodeID{c}, CutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cuts) != 2 {
		t.Fatalf("want 2 cuts, got %+v", res.Cuts)
	}
	if e := res.Cuts[0].Edges[0]; e.Edge != "CanAddMember" || len(res.Cuts[0].BlastRadius) != 0 {
		t.Errorf("cheapest: %+v", res.Cuts[0])
	}
	if br := res.Cuts[1].BlastRadius; len(br) != 1 || br[0].ID != bob {
		t.Errorf("group policy cut: blast radius %+v, want bob", br)
	}
}

func TestCheapestCutBlastRadius(t *testing.T) {
	// The only cuts are shared: the report must name who loses what.
	v := cutGraph(t, []string{"eve MemberOf g:d", "g:d Can cap", "g:d MemberOf g:e", "bob MemberOf g:e", "g:e Can cap"})
	a, _ := v.Lookup("eve")
	c, _ := v.Lookup("cap")
	res, err := CheapestCut(v, a, []graph.NodeID{c}, CutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Cuts[0]
	if len(got.Edges) != 1 || got.Edges[0].From != "eve" || len(got.BlastRadius) != 0 {
		t.Fatalf("cheapest: %+v", got)
	}
	// The last hop g:d Can cap alone does not disconnect eve (g:d -> g:e -> cap).
	for _, cut := range res.Cuts {
		if len(cut.Edges) == 1 && cut.Edges[0].From == "g:d" && cut.Edges[0].Edge == "Can" {
			t.Errorf("g:d Can cap listed as a cut, but eve keeps g:d -> g:e -> cap")
		}
	}
	if _, err := CheapestCut(v, c, []graph.NodeID{a}, CutOptions{}); err == nil {
		t.Error("want an error when the actor reaches no target")
	}
}

// TestCheapestCutSkipsStructuralEdges: edges out of a scope node (a tenant,
// or policy/azure's "every group that is not role-assignable") are not
// something one revokes; the cut goes on the role holder's edge into it.
func TestCheapestCutSkipsStructuralEdges(t *testing.T) {
	v := cutGraph(t, []string{"eve CanAddMember s:groups", "bob CanAddMember s:groups", "s:groups CanAddMember g:a",
		"g:a Can cap"})
	a, _ := v.Lookup("eve")
	c, _ := v.Lookup("cap")
	res, err := CheapestCut(v, a, []graph.NodeID{c}, CutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cuts) == 0 || len(res.Cuts[0].Edges) != 1 || res.Cuts[0].Edges[0].From != "eve" || len(res.Cuts[0].BlastRadius) != 0 {
		t.Fatalf("cheapest: %+v, want eve -> s:groups alone", res.Cuts)
	}
	for _, cut := range res.Cuts {
		for _, e := range cut.Edges {
			if e.From == "s:groups" {
				t.Errorf("cut %+v removes an edge out of the set node", cut)
			}
		}
	}
}
