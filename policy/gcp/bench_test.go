package gcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"permgraph/catalog"
	"permgraph/graph"
	"permgraph/policy/gcp"
)

// benchOrg generates a Google source the size of a large customer: users,
// groups (some nested), folders and projects, two service accounts per
// project, and IAM bindings (mostly on projects, some on folders, a few on
// the organisation, 5% conditional) with a realistic role mix.
func benchOrg(tb testing.TB, users, groups, projects, bindings int) *graph.SourceGraph {
	tb.Helper()
	g := graph.NewSourceGraph("google:Cbench")
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	must(g.AddNode(graph.Node{ID: "gcp:org:1", Kind: graph.NodeScope}))
	folders := max(projects/40, 1)
	for i := range folders {
		id := fmt.Sprintf("gcp:folder:%d", 100+i)
		must(g.AddNode(graph.Node{ID: id, Kind: graph.NodeScope}))
		must(g.AddEdge(graph.Edge{From: "gcp:org:1", Kind: graph.EdgeContains, To: id}))
	}
	for i := range projects {
		id := fmt.Sprintf("gcp:project:p%d", i)
		must(g.AddNode(graph.Node{ID: id, Kind: graph.NodeScope}))
		must(g.AddEdge(graph.Edge{From: fmt.Sprintf("gcp:folder:%d", 100+i%folders), Kind: graph.EdgeContains, To: id}))
		for j := range 2 {
			must(g.AddNode(graph.Node{ID: fmt.Sprintf("gcp:sa:sa%d@p%d.iam.gserviceaccount.com", j, i), Kind: graph.NodeServiceAccount,
				Attrs: map[string]string{"project": fmt.Sprintf("p%d", i)}}))
		}
	}
	for i := range users {
		attrs := map[string]string{}
		if i < 3 {
			attrs["is_admin"] = "true"
		}
		must(g.AddNode(graph.Node{ID: fmt.Sprintf("gws:user:%d", i), Kind: graph.NodeUser, Email: fmt.Sprintf("user%d@example.com", i), Attrs: attrs}))
	}
	for i := range groups {
		must(g.AddNode(graph.Node{ID: fmt.Sprintf("gws:group:%d", i), Kind: graph.NodeGroup, Email: fmt.Sprintf("group%d@example.com", i)}))
		if i > 0 && i%10 == 0 { // 10% nested in an earlier group
			must(g.AddEdge(graph.Edge{From: fmt.Sprintf("gws:group:%d", i), Kind: graph.EdgeMemberOf, To: fmt.Sprintf("gws:group:%d", r.IntN(i)), Attrs: map[string]string{"role": "MEMBER"}}))
		}
	}
	for i := range users {
		for k := range 3 {
			role := "MEMBER"
			if k == 0 && i%50 == 0 {
				role = "OWNER"
			}
			must(g.AddEdge(graph.Edge{From: fmt.Sprintf("gws:user:%d", i), Kind: graph.EdgeMemberOf, To: fmt.Sprintf("gws:group:%d", r.IntN(groups)), Attrs: map[string]string{"role": role}}))
		}
	}
	roles := []string{"roles/viewer", "roles/viewer", "roles/browser", "roles/run.developer", "roles/container.developer", "roles/editor",
		"roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator", "roles/cloudbuild.builds.editor", "roles/storage.admin",
		"roles/logging.viewer", "roles/run.invoker", "roles/resourcemanager.projectIamAdmin", "roles/cloudfunctions.developer"}
	pols := map[string]*gcp.Policy{}
	var order []string
	for i := range bindings {
		var res string
		switch x := r.IntN(1000); {
		case x < 2: // 0.2%: a few dozen organisation-wide bindings
			res = "gcp:org:1"
		case x < 100:
			res = fmt.Sprintf("gcp:folder:%d", 100+r.IntN(folders))
		case x < 150:
			p := r.IntN(projects)
			res = fmt.Sprintf("gcp:sa:sa%d@p%d.iam.gserviceaccount.com", r.IntN(2), p)
		default:
			res = fmt.Sprintf("gcp:project:p%d", r.IntN(projects))
		}
		role := roles[r.IntN(len(roles))]
		if res == "gcp:org:1" && (role == "roles/editor" || role == "roles/iam.serviceAccountUser") {
			role = "roles/viewer" // org-wide editor for a random group would make everyone a deployer
		}
		b := gcp.Binding{Role: role}
		for range 1 + r.IntN(3) {
			switch x := r.IntN(10); {
			case x < 7:
				b.Members = append(b.Members, fmt.Sprintf("group:group%d@example.com", r.IntN(groups)))
			case x < 9:
				b.Members = append(b.Members, fmt.Sprintf("user:user%d@example.com", r.IntN(users)))
			default:
				b.Members = append(b.Members, fmt.Sprintf("serviceAccount:sa%d@p%d.iam.gserviceaccount.com", r.IntN(2), r.IntN(projects)))
			}
		}
		if i%20 == 0 {
			b.Condition = &gcp.Condition{Title: "temporary", Expression: `request.time < timestamp("2027-01-01T00:00:00Z")`}
		}
		if pols[res] == nil {
			pols[res] = &gcp.Policy{Version: 3}
			order = append(order, res)
		}
		pols[res].Bindings = append(pols[res].Bindings, b)
	}
	for _, res := range order {
		doc, err := json.Marshal(pols[res])
		must(err)
		must(g.AddNode(graph.Node{ID: "gcp:iam:" + res, Kind: graph.NodePolicy, Attrs: map[string]string{"resource": res, "policy": string(doc)}}))
	}
	return g
}

func cloneGraph(g *graph.SourceGraph) *graph.SourceGraph {
	return &graph.SourceGraph{Source: g.Source, Nodes: maps.Clone(g.Nodes), Edges: maps.Clone(g.Edges)}
}

// BenchmarkDerive: 50k users, 20k groups, 2k projects, 20k bindings.
func BenchmarkDerive(b *testing.B) {
	base := benchOrg(b, 50000, 20000, 2000, 20000)
	d, err := catalog.LoadDeploy()
	if err != nil {
		b.Fatal(err)
	}
	nodes, edges := len(base.Nodes), len(base.Edges)
	b.ReportAllocs()
	b.ResetTimer()
	var derived int
	for b.Loop() {
		b.StopTimer()
		g := cloneGraph(base)
		b.StartTimer()
		if err := gcp.Derive(context.Background(), g, d.GCP); err != nil {
			b.Fatal(err)
		}
		derived = len(g.Edges) - edges
		if b.N == 1 || derived == 0 {
			kinds := map[graph.EdgeKind]int{}
			for _, e := range g.Edges {
				kinds[e.Kind]++
			}
			b.Logf("edges by kind: %v", kinds)
		}
	}
	b.ReportMetric(float64(nodes), "nodes")
	b.ReportMetric(float64(derived), "derived-edges")
}

// TestBenchOrgSmall runs the generator and Derive at a small size so the
// benchmark code cannot rot unnoticed.
func TestBenchOrgSmall(t *testing.T) {
	g := benchOrg(t, 500, 200, 20, 200)
	d, err := catalog.LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	if err := gcp.Derive(context.Background(), g, d.GCP); err != nil {
		t.Fatal(err)
	}
	kinds := map[graph.EdgeKind]int{}
	for _, e := range g.Edges {
		kinds[e.Kind]++
	}
	for _, k := range []graph.EdgeKind{graph.EdgeCan, graph.EdgeHasRole, graph.EdgeCanImpersonate, graph.EdgeCanAddMember, graph.EdgeCanAssignRole} {
		if kinds[k] == 0 {
			t.Errorf("no %s edges in the generated org (%v)", k, kinds)
		}
	}
}
