package queries

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if d := cmp.Diff(string(want), string(b)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}

// diffOrg builds one Entra-like source. Each flag switches one change on.
type diffOrg struct {
	nestInner   bool // inner group nested into the deploying group (alice gains)
	carolDirect bool // carol's own assignment (removed later: carol loses)
	bobCond     bool // bob's membership becomes conditional
	erin        bool // erin, owner of the deploying group, appears (escalation)
	frank       bool // frank exists with deploy rights (removed later)
	policyRev   string
}

func (o diffOrg) graph(t *testing.T) *graph.SourceGraph {
	t.Helper()
	g := graph.NewSourceGraph("azure:tenant1")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	node := func(id string, k graph.NodeKind, name string, attrs map[string]string) {
		must(g.AddNode(graph.Node{ID: id, Kind: k, Name: name, Attrs: attrs}))
	}
	edge := func(from string, k graph.EdgeKind, to, ev string, cond bool) {
		e := graph.Edge{From: from, Kind: k, To: to, Evidence: []graph.Evidence{{Source: ev}}}
		if cond {
			e.Conditional, e.Condition = true, "PIM eligible: activation required"
		}
		must(g.AddEdge(e))
	}
	const capID = "cap:deploy-container:azure:sub:s1"
	node(capID, graph.NodeCapability, "deploy-container (azure sub s1)", map[string]string{"capability": "deploy-container", "cloud": "azure", "scope": "/subscriptions/s1"})
	node("entra:group:deployers", graph.NodeGroup, "deployers", nil)
	node("entra:group:inner", graph.NodeGroup, "inner", nil)
	node("entra:user:alice", graph.NodeUser, "alice", nil)
	node("entra:user:bob", graph.NodeUser, "bob", nil)
	node("entra:user:carol", graph.NodeUser, "carol", nil)
	node("azure:ra:1", graph.NodePolicy, "Contributor at s1", map[string]string{"rev": o.policyRev})
	edge("entra:group:deployers", graph.EdgeCan, capID, "azure:ra:1", false)
	edge("entra:user:alice", graph.EdgeMemberOf, "entra:group:inner", "graph:/groups/inner/members", false)
	edge("entra:user:bob", graph.EdgeMemberOf, "entra:group:deployers", "graph:/groups/deployers/members", o.bobCond)
	if o.nestInner {
		edge("entra:group:inner", graph.EdgeMemberOf, "entra:group:deployers", "graph:/groups/deployers/members", false)
	}
	if o.carolDirect {
		edge("entra:user:carol", graph.EdgeCan, capID, "azure:ra:2", false)
	}
	if o.erin {
		node("entra:user:erin", graph.NodeUser, "erin", nil)
		edge("entra:user:erin", graph.EdgeOwns, "entra:group:deployers", "graph:/groups/deployers/owners", false)
		edge("entra:user:erin", graph.EdgeCanAddMember, "entra:group:deployers", "owner of group deployers", false)
	}
	if o.frank {
		node("entra:user:frank", graph.NodeUser, "frank", nil)
		edge("entra:user:frank", graph.EdgeMemberOf, "entra:group:deployers", "graph:/groups/deployers/members", false)
	}
	return g
}

func TestDiffCapabilityLevels(t *testing.T) {
	ctx := context.Background()
	st, err := graph.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t1 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	t2 := t1.Add(6 * time.Hour)
	m1, err := st.WriteSnapshot(ctx, diffOrg{carolDirect: true, frank: true, policyRev: "1"}.graph(t), t1)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := st.WriteSnapshot(ctx, diffOrg{nestInner: true, bobCond: true, erin: true, policyRev: "2"}.graph(t), t2)
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := st.Changes(ctx, m2.Source, m1.Seq, m2.Seq)
	if err != nil {
		t.Fatal(err)
	}
	bwd, err := st.Changes(ctx, m2.Source, m2.Seq, m1.Seq)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.View(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Diff(ctx, v, []SourceChange{{Source: m2.Source, From: m1, To: m2, Forward: fwd, Backward: bwd}}, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Who, Change, Before, After, Via, Summary string }
	var got []row
	for _, c := range res.Capabilities {
		got = append(got, row{c.Name, c.Change, c.Before, c.After, c.Via, c.Summary})
	}
	want := []row{
		{"alice", "gained", "none", "yes", "direct", "alice gained deploy-container on azure /subscriptions/s1 via MemberOf deployers added"},
		{"bob", "changed", "yes", "conditional", "direct", "bob changed deploy-container on azure /subscriptions/s1 (yes -> conditional) via MemberOf deployers changed"},
		{"carol", "lost", "yes", "none", "direct", "carol lost deploy-container on azure /subscriptions/s1 via Can deploy-container (azure sub s1) removed"},
		{"erin", "gained", "none", "yes", "escalation", "erin gained deploy-container on azure /subscriptions/s1 by privilege escalation via CanAddMember deployers added"},
		{"frank", "lost", "yes", "none", "direct", "frank lost deploy-container on azure /subscriptions/s1 via MemberOf deployers removed"},
		{"inner", "gained", "none", "yes", "direct", "inner gained deploy-container on azure /subscriptions/s1 via MemberOf deployers added"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("capability changes (-want +got):\n%s", d)
	}
	if len(res.Escalations.Added) != 1 || res.Escalations.Added[0].From != "entra:user:erin" {
		t.Errorf("escalations added = %+v", res.Escalations.Added)
	}
	golden(t, "diff/levels.json", res)
}

// TestDiffCostFollowsChange: the candidates re-evaluated are those near the
// change, not the whole graph.
func TestDiffCostFollowsChange(t *testing.T) {
	ctx := context.Background()
	st, err := graph.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	build := func(extra bool) *graph.SourceGraph {
		g := graph.NewSourceGraph("azure:t")
		g.AddNode(graph.Node{ID: "cap:x", Kind: graph.NodeCapability, Attrs: map[string]string{"capability": "deploy-container", "cloud": "azure", "scope": "s"}})
		for i := 0; i < 2000; i++ {
			grp := "entra:group:g" + itoa(i%50)
			u := "entra:user:u" + itoa(i)
			g.AddNode(graph.Node{ID: grp, Kind: graph.NodeGroup})
			g.AddNode(graph.Node{ID: u, Kind: graph.NodeUser, Name: "u" + itoa(i)})
			g.AddEdge(graph.Edge{From: u, Kind: graph.EdgeMemberOf, To: grp})
		}
		g.AddEdge(graph.Edge{From: "entra:group:g0", Kind: graph.EdgeCan, To: "cap:x"})
		if extra {
			g.AddNode(graph.Node{ID: "entra:user:new", Kind: graph.NodeUser, Name: "new"})
			g.AddEdge(graph.Edge{From: "entra:user:new", Kind: graph.EdgeMemberOf, To: "entra:group:g7"})
		}
		return g
	}
	m1, _ := st.WriteSnapshot(ctx, build(false), time.Unix(1000, 0))
	m2, err := st.WriteSnapshot(ctx, build(true), time.Unix(2000, 0))
	if err != nil {
		t.Fatal(err)
	}
	fwd, _ := st.Changes(ctx, m2.Source, m1.Seq, m2.Seq)
	bwd, _ := st.Changes(ctx, m2.Source, m2.Seq, m1.Seq)
	v, _ := st.View(ctx, time.Time{})
	res, err := Diff(ctx, v, []SourceChange{{Source: m2.Source, From: m1, To: m2, Forward: fwd, Backward: bwd}}, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Candidates != 1 {
		t.Errorf("re-evaluated %d principals for a one-user change, want 1", res.Candidates)
	}
	if len(res.Capabilities) != 0 {
		t.Errorf("joining a group without rights changed capabilities: %+v", res.Capabilities)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// BenchmarkDiff: the same 100-edge change in organisations of growing size.
// Changes + Diff time stays flat while the graph grows (the latest view is
// loaded from the cache file, as the CLI does).
func BenchmarkDiff(b *testing.B) {
	for _, users := range []int{10_000, 100_000} {
		b.Run("users="+strconv.Itoa(users), func(b *testing.B) {
			ctx := context.Background()
			dir := filepath.Join(b.TempDir(), "db")
			st, err := graph.Open(ctx, dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			build := func(round int) *graph.SourceGraph {
				g := graph.NewSourceGraph("azure:t")
				groups := users / 20
				for i := 0; i < groups; i++ {
					g.AddNode(graph.Node{ID: "entra:group:g" + strconv.Itoa(i), Kind: graph.NodeGroup, Name: "g" + strconv.Itoa(i)})
					if i%10 == 0 {
						c := "cap:deploy-container:azure:sub:s" + strconv.Itoa(i)
						g.AddNode(graph.Node{ID: c, Kind: graph.NodeCapability, Attrs: map[string]string{"capability": "deploy-container", "cloud": "azure", "scope": "s" + strconv.Itoa(i)}})
						g.AddEdge(graph.Edge{From: "entra:group:g" + strconv.Itoa(i), Kind: graph.EdgeCan, To: c, Evidence: []graph.Evidence{{Source: "ra" + strconv.Itoa(i)}}})
					}
				}
				for i := 0; i < users; i++ {
					u := "entra:user:u" + strconv.Itoa(i)
					g.AddNode(graph.Node{ID: u, Kind: graph.NodeUser, Name: "u" + strconv.Itoa(i)})
					grp := i % groups
					if round > 0 && i < 100 {
						grp = (grp + 1) % groups // 100 users move group: 100 removed + 100 added edges
					}
					g.AddEdge(graph.Edge{From: u, Kind: graph.EdgeMemberOf, To: "entra:group:g" + strconv.Itoa(grp)})
				}
				return g
			}
			m1, err := st.WriteSnapshot(ctx, build(0), time.Unix(1000, 0))
			if err != nil {
				b.Fatal(err)
			}
			m2, err := st.WriteSnapshot(ctx, build(1), time.Unix(2000, 0))
			if err != nil {
				b.Fatal(err)
			}
			v, err := graph.LoadLatestView(ctx, dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				fwd, err := st.Changes(ctx, m2.Source, m1.Seq, m2.Seq)
				if err != nil {
					b.Fatal(err)
				}
				bwd, err := st.Changes(ctx, m2.Source, m2.Seq, m1.Seq)
				if err != nil {
					b.Fatal(err)
				}
				res, err := Diff(ctx, v, []SourceChange{{Source: m2.Source, From: m1, To: m2, Forward: fwd, Backward: bwd}}, DiffOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Edges.Added) != 100 {
					b.Fatalf("added %d edges", len(res.Edges.Added))
				}
			}
			b.StopTimer()
			st.Close()
		})
	}
}
