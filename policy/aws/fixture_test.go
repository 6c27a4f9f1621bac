package aws

import (
	"context"
	"testing"

	"permgraph/catalog"
	"permgraph/graph"
)

// fixture builds a small AWS account graph the way the collector shapes it,
// without importing the collector.
type fixture struct {
	t *testing.T
	g *graph.SourceGraph
}

const fxAccount = "111122223333"

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, g: graph.NewSourceGraph("aws:" + fxAccount)}
}

func fxARN(kind, name string) string { return "arn:aws:iam::" + fxAccount + ":" + kind + "/" + name }
func fxID(kind, name string) string  { return "aws:" + fxARN(kind, name) }

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) inline(owner, name, doc string) {
	id := owner + "#inline/" + name
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodePolicy, Name: name, Attrs: map[string]string{"document": doc, "inline": "true"}}))
	f.must(f.g.AddEdge(graph.Edge{From: owner, Kind: graph.EdgeHasPolicy, To: id, Evidence: []graph.Evidence{{Source: id}}}))
}

func (f *fixture) user(name string, docs ...string) string {
	id := fxID("user", name)
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodeUser, Name: name, Attrs: map[string]string{"arn": fxARN("user", name)}}))
	for i, d := range docs {
		f.inline(id, name+"-p"+string(rune('0'+i)), d)
	}
	return id
}

func (f *fixture) role(name, trust string, docs ...string) string {
	id := fxID("role", name)
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodeRole, Name: name, Attrs: map[string]string{"arn": fxARN("role", name), "trust_policy": trust}}))
	for i, d := range docs {
		f.inline(id, name+"-p"+string(rune('0'+i)), d)
	}
	return id
}

func (f *fixture) group(name string, members []string, docs ...string) string {
	id := fxID("group", name)
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodeGroup, Name: name, Attrs: map[string]string{"arn": fxARN("group", name)}}))
	for _, m := range members {
		f.must(f.g.AddEdge(graph.Edge{From: m, Kind: graph.EdgeMemberOf, To: id, Evidence: []graph.Evidence{{Source: m}}}))
	}
	for i, d := range docs {
		f.inline(id, name+"-p"+string(rune('0'+i)), d)
	}
	return id
}

func (f *fixture) managed(name, doc string, awsManaged bool, attachTo ...string) string {
	arn := fxARN("policy", name)
	attrs := map[string]string{"document": doc, "arn": arn}
	if awsManaged {
		arn = "arn:aws:iam::aws:policy/" + name
		attrs["arn"], attrs["aws_managed"] = arn, "true"
	}
	id := "aws:" + arn
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodePolicy, Name: name, Attrs: attrs}))
	for _, o := range attachTo {
		f.must(f.g.AddEdge(graph.Edge{From: o, Kind: graph.EdgeHasPolicy, To: id, Evidence: []graph.Evidence{{Source: id}}}))
	}
	return id
}

func (f *fixture) boundary(owner, doc string) {
	id := owner + "#boundary"
	f.must(f.g.AddNode(graph.Node{ID: id, Kind: graph.NodePolicy, Name: "boundary", Attrs: map[string]string{"document": doc}}))
	f.must(f.g.AddEdge(graph.Edge{From: owner, Kind: graph.EdgeHasBoundary, To: id, Evidence: []graph.Evidence{{Source: id}}}))
}

func (f *fixture) derive() *graph.SourceGraph {
	f.t.Helper()
	d, err := catalog.LoadDeploy()
	if err != nil {
		f.t.Fatal(err)
	}
	f.must(Derive(context.Background(), f.g, d.AWS))
	return f.g
}

func allow(actions, resource string) string {
	return `{"Statement":[{"Effect":"Allow","Action":` + actions + `,"Resource":"` + resource + `"}]}`
}

func trustService(svc string) string {
	return `{"Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
}

const trustAccount = `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`

func mustDeploy(t *testing.T) []catalog.DeployRecipe {
	t.Helper()
	d, err := catalog.LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	return d.AWS
}
