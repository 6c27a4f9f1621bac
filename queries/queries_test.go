package queries

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

// testGraph builds a small multi-hop graph by hand:
//
//	alice -MemberOf-> devs -HasRole-> ... (Entra-like nesting)
//	bob -CanAssume-> jump -CanAssume-> deployer -Can-> cap(acct1)
//	carol -CanAddMember-> admins -Can-> cap(acct1)    (escalation)
//	dave -Can(conditional)-> cap(acct2)
//	erin -MemberOf-> inner -MemberOf-> outer -Can-> cap(acct2)
func testGraph(t *testing.T) *graph.View {
	t.Helper()
	g := graph.NewSourceGraph("test:1")
	nodes := []graph.Node{
		{ID: "u:alice", Kind: graph.NodeUser, Name: "alice"},
		{ID: "u:bob", Kind: graph.NodeUser, Name: "bob", Email: "bob@example.com"},
		{ID: "u:carol", Kind: graph.NodeUser, Name: "carol"},
		{ID: "u:dave", Kind: graph.NodeUser, Name: "dave"},
		{ID: "u:erin", Kind: graph.NodeUser, Name: "erin"},
		{ID: "u:twin1", Kind: graph.NodeUser, Name: "twin"},
		{ID: "u:twin2", Kind: graph.NodeUser, Name: "twin"},
		{ID: "r:jump", Kind: graph.NodeRole, Name: "jump"},
		{ID: "r:deployer", Kind: graph.NodeRole, Name: "deployer"},
		{ID: "g:devs", Kind: graph.NodeGroup, Name: "devs"},
		{ID: "g:admins", Kind: graph.NodeGroup, Name: "admins"},
		{ID: "g:inner", Kind: graph.NodeGroup, Name: "inner"},
		{ID: "g:outer", Kind: graph.NodeGroup, Name: "outer"},
		{ID: "svc:ecs", Kind: graph.NodeService, Name: "ecs-tasks"},
		{ID: "cap:1", Kind: graph.NodeCapability, Name: "deploy 1", Attrs: map[string]string{"capability": DeployCapability, "cloud": "aws", "scope": "acct1"}},
		{ID: "cap:2", Kind: graph.NodeCapability, Name: "deploy 2", Attrs: map[string]string{"capability": DeployCapability, "cloud": "azure", "scope": "acct2"}},
	}
	for _, n := range nodes {
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(s string) []graph.Evidence { return []graph.Evidence{{Source: s, Detail: "test"}} }
	edges := []graph.Edge{
		{From: "u:alice", Kind: graph.EdgeMemberOf, To: "g:devs", Evidence: ev("m1")},
		{From: "u:bob", Kind: graph.EdgeCanAssume, To: "r:jump", Evidence: ev("t1")},
		{From: "r:jump", Kind: graph.EdgeCanAssume, To: "r:deployer", Evidence: ev("t2")},
		{From: "r:deployer", Kind: graph.EdgeCan, To: "cap:1", Evidence: ev("p1")},
		{From: "u:carol", Kind: graph.EdgeCanAddMember, To: "g:admins", Evidence: ev("e1")},
		{From: "g:admins", Kind: graph.EdgeCan, To: "cap:1", Evidence: ev("p2")},
		{From: "u:dave", Kind: graph.EdgeCan, To: "cap:2", Evidence: ev("p3"), Conditional: true, Condition: "mfa"},
		{From: "u:erin", Kind: graph.EdgeMemberOf, To: "g:inner", Evidence: ev("m2")},
		{From: "g:inner", Kind: graph.EdgeMemberOf, To: "g:outer", Evidence: ev("m3")},
		{From: "g:outer", Kind: graph.EdgeCan, To: "cap:2", Evidence: ev("p4")},
		{From: "svc:ecs", Kind: graph.EdgeCanAssume, To: "r:deployer", Evidence: ev("t3")},
		// A policy attachment is explanation, not a hop.
		{From: "g:devs", Kind: graph.EdgeHasPolicy, To: "cap:1", Evidence: ev("x")},
	}
	for _, e := range edges {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	return graph.NewViewFromGraphs(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), nil, g)
}

type row struct {
	Name, Via string
	Cond      bool
	Scopes    string
	Path      string
}

// rows summarises an answer built without paths, explaining each row on
// demand, and checks each row's summary (hops, holder) against its path.
func rows(t *testing.T, res *WhoCanResult) []row {
	t.Helper()
	var out []row
	for i, p := range res.Principals {
		if p.Path != nil {
			t.Errorf("%s: path filled without WhoCanOptions.Paths", p.Name)
		}
		path := res.Explain(i)
		if p.Hops != len(path) {
			t.Errorf("%s: hops = %d, path has %d", p.Name, p.Hops, len(path))
		}
		if holder := path[len(path)-1].From; (holder == p.ID) != (p.Through == "") || (p.Through != "" && p.Through != holder) {
			t.Errorf("%s: through = %q, last hop from %q", p.Name, p.Through, holder)
		}
		var hops []string
		for _, h := range path {
			hops = append(hops, h.Edge+">"+h.To)
			if len(h.Evidence) == 0 {
				t.Errorf("%s: hop %s has no evidence", p.Name, h.Edge)
			}
		}
		out = append(out, row{p.Name, p.Via, p.Conditional, strings.Join(p.Scopes, ","), strings.Join(hops, " ")})
	}
	return out
}

func TestWhoCanDeploy(t *testing.T) {
	v := testGraph(t)
	tests := []struct {
		name       string
		opts       WhoCanOptions
		want       []row
		wantHidden int
	}{
		{"default hides conditional", WhoCanOptions{}, []row{
			{"admins", "direct", false, "acct1", "Can>cap:1"},
			{"bob", "direct", false, "acct1", "CanAssume>r:jump CanAssume>r:deployer Can>cap:1"},
			{"carol", "escalation", false, "acct1", "CanAddMember>g:admins Can>cap:1"},
			{"deployer", "direct", false, "acct1", "Can>cap:1"},
			{"erin", "direct", false, "acct2", "MemberOf>g:inner MemberOf>g:outer Can>cap:2"},
			{"inner", "direct", false, "acct2", "MemberOf>g:outer Can>cap:2"},
			{"jump", "direct", false, "acct1", "CanAssume>r:deployer Can>cap:1"},
			{"outer", "direct", false, "acct2", "Can>cap:2"},
		}, 1},
		{"include conditional", WhoCanOptions{IncludeConditional: true, Cloud: "azure"}, []row{
			{"dave", "direct", true, "acct2", "Can>cap:2"},
			{"erin", "direct", false, "acct2", "MemberOf>g:inner MemberOf>g:outer Can>cap:2"},
			{"inner", "direct", false, "acct2", "MemberOf>g:outer Can>cap:2"},
			{"outer", "direct", false, "acct2", "Can>cap:2"},
		}, 0},
		{"direct only drops escalation", WhoCanOptions{DirectOnly: true, Scope: "acct1"}, []row{
			{"admins", "direct", false, "acct1", "Can>cap:1"},
			{"bob", "direct", false, "acct1", "CanAssume>r:jump CanAssume>r:deployer Can>cap:1"},
			{"deployer", "direct", false, "acct1", "Can>cap:1"},
			{"jump", "direct", false, "acct1", "CanAssume>r:deployer Can>cap:1"},
		}, 0},
		{"unknown scope is empty", WhoCanOptions{Scope: "nope"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := WhoCanDeploy(v, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rows(t, res)); diff != "" {
				t.Errorf("principals (-want +got):\n%s", diff)
			}
			// Asking for paths up front gives the same rows, paths filled.
			tt.opts.Paths = true
			full, err := WhoCanDeploy(v, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range full.Principals {
				if diff := cmp.Diff(res.Explain(i), p.Path); diff != "" || p.Hops != res.Principals[i].Hops {
					t.Errorf("%s: path with Paths differs from Explain (-explain +paths):\n%s", p.Name, diff)
				}
			}
			if res.HiddenConditional != tt.wantHidden {
				t.Errorf("hidden conditional = %d, want %d", res.HiddenConditional, tt.wantHidden)
			}
			for _, p := range res.Principals {
				for _, h := range p.Path {
					if len(h.Evidence) == 0 {
						t.Errorf("%s: hop %s has no evidence", p.Name, h.Edge)
					}
				}
			}
		})
	}
}

func TestFindPath(t *testing.T) {
	v := testGraph(t)
	res, err := FindPath(v, "bob", "deploy", PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Paths) != 1 || len(res.Paths[0].Hops) != 3 || res.Paths[0].Hops[2].To != "cap:1" {
		t.Fatalf("bob -> deploy: %+v", res.Paths)
	}
	// Conditional-only routes are still shown, flagged.
	res, err = FindPath(v, "dave", "deploy", PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Paths) != 1 || !res.Paths[0].Conditional {
		t.Fatalf("dave -> deploy: want one conditional path, got %+v", res.Paths)
	}
	// Max depth cuts long paths.
	res, err = FindPath(v, "bob", "deploy", PathOptions{MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Paths) != 0 {
		t.Fatalf("max depth 2: want no path, got %+v", res.Paths)
	}
	// --all enumerates; alice reaches nothing.
	res, err = FindPath(v, "carol", "cap:1", PathOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Paths) != 1 || res.Paths[0].Via != "escalation" {
		t.Fatalf("carol: %+v", res.Paths)
	}
	res, err = FindPath(v, "alice", "deploy", PathOptions{})
	if err != nil || len(res.Paths) != 0 {
		t.Fatalf("alice: paths %+v err %v (HasPolicy must not be a hop)", res.Paths, err)
	}
}

func TestResolve(t *testing.T) {
	v := testGraph(t)
	for in, want := range map[string]string{"u:bob": "u:bob", "bob": "u:bob", "BOB@example.com": "u:bob", "Jump": "r:jump"} {
		id, err := Resolve(v, in)
		if err != nil || v.NodeIDString(id) != want {
			t.Errorf("Resolve(%q) = %v, %v; want %s", in, v.NodeIDString(id), err, want)
		}
	}
	if _, err := Resolve(v, "twin"); !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "u:twin1") {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := Resolve(v, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

func TestWhatCan(t *testing.T) {
	v := testGraph(t)
	res, err := WhatCan(v, "bob", WhatCanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var caps, ids []string
	for _, c := range res.Capabilities {
		caps = append(caps, c.ID)
	}
	for _, c := range res.Identities {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{"cap:1"}, caps); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"r:deployer", "r:jump"}, ids); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
}

// namePrefix must never order two names against their byte order.
func TestNamePrefixKeepsOrder(t *testing.T) {
	names := []string{"", "a", "ab", "ab\x00", "ab\x00c", "abcdefgh", "abcdefghi", "abcdefgg", "Zed", "zed", "\xff", "é", "user0100064", "user01000640"}
	for _, a := range names {
		for _, b := range names {
			pa, pb := namePrefix(a), namePrefix(b)
			if (pa < pb && a >= b) || (pa > pb && a <= b) {
				t.Errorf("namePrefix orders %q and %q against their bytes", a, b)
			}
		}
	}
}
