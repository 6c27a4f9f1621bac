package azure_test

import (
	"fmt"
	"testing"

	"permgraph/graph"
	"permgraph/policy/azure"
)

// benchTenant generates a tenant: 50k users, 10k groups (each user in two
// groups, every tenth group nested), 500 service principals, 5 management
// groups over 50 subscriptions with 4 resource groups each, 2k role
// assignments (Contributor / Reader / Container Apps Contributor / UAA at
// every level), 1k group owners, a few directory roles and two deny
// assignments.
func benchTenant(b *testing.B) *graph.SourceGraph {
	t := &tenant{t: &testing.T{}, g: graph.NewSourceGraph("azure:" + tenantID)}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	node := func(n graph.Node) { must(t.g.AddNode(n)) }
	edge := func(e graph.Edge) { must(t.g.AddEdge(e)) }
	node(graph.Node{ID: "entra:tenant:" + tenantID, Kind: graph.NodeScope, Attrs: map[string]string{"type": "tenant"}})
	root := "azure:mg:" + tenantID
	node(graph.Node{ID: root, Kind: graph.NodeScope, Attrs: map[string]string{"type": "managementGroup"}})
	var mgs, subs, rgs []string
	for i := range 5 {
		id := fmt.Sprintf("azure:mg:mg%d", i)
		node(graph.Node{ID: id, Kind: graph.NodeScope, Attrs: map[string]string{"type": "managementGroup"}})
		edge(graph.Edge{From: root, Kind: graph.EdgeContains, To: id})
		mgs = append(mgs, id)
	}
	for i := range 50 {
		sid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		id := "azure:sub:" + sid
		node(graph.Node{ID: id, Kind: graph.NodeScope, Attrs: map[string]string{"type": "subscription", "arm_id": "/subscriptions/" + sid}})
		edge(graph.Edge{From: mgs[i%5], Kind: graph.EdgeContains, To: id})
		subs = append(subs, id)
		for j := range 4 {
			arm := fmt.Sprintf("/subscriptions/%s/resourcegroups/rg%d", sid, j)
			rid := "azure:rg:" + arm
			node(graph.Node{ID: rid, Kind: graph.NodeScope, Attrs: map[string]string{"type": "resourceGroup", "arm_id": arm}})
			edge(graph.Edge{From: id, Kind: graph.EdgeContains, To: rid})
			rgs = append(rgs, rid)
		}
	}
	for guid, perm := range map[string]string{roleContributor: permContributor, roleReader: permReader, roleCAContrib: permCAContrib, roleUAA: permUAA} {
		node(graph.Node{ID: "azure:roledef:" + guid, Kind: graph.NodeRoleDefinition, Name: guid, Attrs: map[string]string{"permissions": perm}})
	}
	const users, groups = 50000, 10000
	for i := range groups {
		attrs := map[string]string{}
		if i%100 == 0 {
			attrs["role_assignable"] = "true"
		}
		node(graph.Node{ID: fmt.Sprintf("entra:group:g%d", i), Kind: graph.NodeGroup, Name: fmt.Sprintf("group %d", i), Attrs: attrs})
		if i%10 == 9 {
			edge(graph.Edge{From: fmt.Sprintf("entra:group:g%d", i), Kind: graph.EdgeMemberOf, To: fmt.Sprintf("entra:group:g%d", i-9)})
		}
	}
	for i := range users {
		id := fmt.Sprintf("entra:user:u%d", i)
		node(graph.Node{ID: id, Kind: graph.NodeUser, Name: fmt.Sprintf("user %d", i)})
		edge(graph.Edge{From: id, Kind: graph.EdgeMemberOf, To: fmt.Sprintf("entra:group:g%d", i%groups)})
		edge(graph.Edge{From: id, Kind: graph.EdgeMemberOf, To: fmt.Sprintf("entra:group:g%d", (i*7+3)%groups)})
		if i < 1000 {
			edge(graph.Edge{From: id, Kind: graph.EdgeOwns, To: fmt.Sprintf("entra:group:g%d", i*10%groups)})
		}
	}
	for i := range 500 {
		node(graph.Node{ID: fmt.Sprintf("entra:sp:s%d", i), Kind: graph.NodeServicePrincipal, Attrs: map[string]string{"sp_type": "Application"}})
	}
	for i, r := range []string{"62e90394-69f5-4237-9190-012177145e10", "fdd7a751-b60b-444a-984c-02652fe8fa1c", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"} {
		node(graph.Node{ID: "entra:role:" + r, Kind: graph.NodeRoleDefinition})
		for j := range 3 {
			edge(graph.Edge{From: fmt.Sprintf("entra:user:u%d", 100*i+j), Kind: graph.EdgeHasRole, To: "entra:role:" + r, Attrs: map[string]string{"scope": "/"}})
		}
	}
	roles := []string{roleContributor, roleReader, roleCAContrib, roleUAA}
	for i := range 2000 {
		var scope string
		switch i % 4 {
		case 0:
			scope = mgs[i%len(mgs)]
		case 1:
			scope = subs[i%len(subs)]
		default:
			scope = rgs[i%len(rgs)]
		}
		principal := fmt.Sprintf("entra:group:g%d", i*5%groups)
		if i%3 == 0 {
			principal = fmt.Sprintf("entra:user:u%d", i*25%users)
		}
		id := fmt.Sprintf("azure:ra:%08d", i)
		attrs := map[string]string{"type": "roleAssignment", "principal": principal, "role": "azure:roledef:" + roles[i%len(roles)], "scope": scope, "scope_arm": "/x"}
		if i%50 == 0 {
			attrs["type"] = "roleEligibility"
		}
		node(graph.Node{ID: id, Kind: graph.NodePolicy, Attrs: attrs})
	}
	for i, s := range subs[:2] {
		node(graph.Node{ID: fmt.Sprintf("azure:deny:d%d", i), Kind: graph.NodePolicy, Attrs: map[string]string{"type": "denyAssignment", "scope": s, "scope_arm": "/x",
			"permissions": `[{"actions":["*/write"]}]`, "principals": fmt.Sprintf(`["entra:group:g%d"]`, i*13)}})
	}
	return t.g
}

func cloneGraph(g *graph.SourceGraph) *graph.SourceGraph {
	c := graph.NewSourceGraph(g.Source)
	for k, n := range g.Nodes {
		c.Nodes[k] = n
	}
	for k, e := range g.Edges {
		c.Edges[k] = e
	}
	return c
}

// BenchmarkDerive measures Derive over the generated tenant (the clone of
// the input graph is outside the timer).
func BenchmarkDerive(b *testing.B) {
	base := benchTenant(b)
	rs := recipes(&testing.T{})
	b.ReportAllocs()
	var added int
	for b.Loop() {
		b.StopTimer()
		g := cloneGraph(base)
		b.StartTimer()
		if err := azure.Derive(b.Context(), g, rs); err != nil {
			b.Fatal(err)
		}
		added = len(g.Edges) - len(base.Edges)
	}
	b.ReportMetric(float64(added), "edges-added")
}
