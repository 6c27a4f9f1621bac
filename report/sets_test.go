package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
	"permgraph/report"
)

// TestGroupAddersThroughTenantSet: a tenant-wide Groups Administrator
// reaches a group through policy/azure's set node; the report's "can add
// members" names the administrators (once each), not the set.
func TestGroupAddersThroughTenantSet(t *testing.T) {
	g := graph.NewSourceGraph("azure:t")
	all, plain, grp := "entra:tenant:t/groups", "entra:tenant:t/groups/not-role-assignable", "entra:group:deploy"
	capID := "cap:deploy-container:azure:sub:s1"
	nodes := []graph.Node{
		{ID: all, Kind: graph.NodeScope, Name: "every group"},
		{ID: plain, Kind: graph.NodeScope, Name: "every group that is not role-assignable"},
		{ID: grp, Kind: graph.NodeGroup, Name: "deployers"},
		{ID: "entra:user:ga", Kind: graph.NodeUser, Name: "groups-admin"},
		{ID: "entra:user:pra", Kind: graph.NodeUser, Name: "priv-role-admin"},
		{ID: "entra:user:own", Kind: graph.NodeUser, Name: "owner"},
		{ID: capID, Kind: graph.NodeCapability, Attrs: map[string]string{"capability": "deploy-container", "cloud": "azure", "scope": "/subscriptions/s1"}},
	}
	for _, n := range nodes {
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []graph.Edge{
		{From: "entra:user:ga", Kind: graph.EdgeCanAddMember, To: plain},
		{From: "entra:user:pra", Kind: graph.EdgeCanAddMember, To: all},
		{From: all, Kind: graph.EdgeCanAddMember, To: plain},
		{From: plain, Kind: graph.EdgeCanAddMember, To: grp},
		{From: "entra:user:own", Kind: graph.EdgeCanAddMember, To: grp},
		{From: "entra:user:ga", Kind: graph.EdgeCanAddMember, To: grp}, // also scoped to the group: listed once
		{From: grp, Kind: graph.EdgeCan, To: capID},
	} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	r, err := report.Build(context.Background(), report.Input{View: graph.NewViewFromGraphs(at, nil, g)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PrivilegedGroups) != 1 {
		t.Fatalf("privileged groups: %+v", r.PrivilegedGroups)
	}
	want := []report.Ref{{ID: "entra:user:ga", Kind: "user", Name: "groups-admin"}, {ID: "entra:user:own", Kind: "user", Name: "owner"},
		{ID: "entra:user:pra", Kind: "user", Name: "priv-role-admin"}}
	if diff := cmp.Diff(want, r.PrivilegedGroups[0].CanAddMembers); diff != "" {
		t.Errorf("can add members (-want +got):\n%s", diff)
	}
}
