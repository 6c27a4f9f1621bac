package gcp_test

import (
	"context"
	"encoding/json"
	"testing"

	"permgraph/catalog"
	"permgraph/graph"
	"permgraph/policy/gcp"
)

// fixture builds a Google source graph the way the Workspace and GCP IAM
// collectors shape it (docs/model-azure-gcp.md), without importing them.
type fixture struct {
	t *testing.T
	g *graph.SourceGraph
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, g: graph.NewSourceGraph("google:C01abcd2")}
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) scope(id, typ, parent string) string {
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodeScope, Name: id, Attrs: map[string]string{"type": typ}}))
	if parent != "" {
		f.must(f.g.AddEdge(graph.Edge{From: parent, Kind: graph.EdgeContains, To: id}))
	}
	return id
}

func (f *fixture) org(num string) string { return f.scope("gcp:org:"+num, "organization", "") }
func (f *fixture) folder(num, parent string) string {
	return f.scope("gcp:folder:"+num, "folder", parent)
}
func (f *fixture) project(id, parent string) string {
	return f.scope("gcp:project:"+id, "project", parent)
}

func (f *fixture) user(id, name, email string, attrs ...string) string {
	n := graph.Node{ID: "gws:user:" + id, Kind: graph.NodeUser, Name: name, Email: email, Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attrs[attrs[i]] = attrs[i+1]
	}
	f.must(f.g.AddNode(n))
	return n.ID
}

func (f *fixture) group(id, name, email string) string {
	n := graph.Node{ID: "gws:group:" + id, Kind: graph.NodeGroup, Name: name, Email: email}
	f.must(f.g.AddNode(n))
	return n.ID
}

func (f *fixture) member(member, group, role string) {
	typ := "USER"
	if len(member) > 10 && member[:10] == "gws:group:" {
		typ = "GROUP"
	}
	f.must(f.g.AddEdge(graph.Edge{From: member, Kind: graph.EdgeMemberOf, To: group,
		Attrs: map[string]string{"role": role, "type": typ}, Evidence: []graph.Evidence{{Source: "directory:/groups/" + group + "/members"}}}))
}

func (f *fixture) sa(email, projectID string) string {
	id := "gcp:sa:" + email
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodeServiceAccount, Name: email, Email: email, Attrs: map[string]string{"project": projectID}}))
	return id
}

// policy adds the IAM policy node of a resource with raw member strings.
func (f *fixture) policy(resource string, bindings ...gcp.Binding) string {
	b, err := json.Marshal(gcp.Policy{Version: 3, Etag: "BwX=", Bindings: bindings})
	f.must(err)
	id := "gcp:iam:" + resource
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodePolicy, Name: resource, Attrs: map[string]string{"resource": resource, "policy": string(b)}}))
	return id
}

func bind(role string, members ...string) gcp.Binding {
	return gcp.Binding{Role: role, Members: members}
}

func (f *fixture) derive(others ...*graph.SourceGraph) {
	f.t.Helper()
	d, err := catalog.LoadDeploy()
	f.must(err)
	f.must(gcp.Derive(context.Background(), f.g, d.GCP, others...))
}

func (f *fixture) edge(from string, kind graph.EdgeKind, to string) (graph.Edge, bool) {
	e, ok := f.g.Edges[graph.EdgeKey{From: from, Kind: kind, To: to}]
	return e, ok
}
