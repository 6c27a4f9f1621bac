package response

import (
	"strings"
	"testing"
	"time"

	"permgraph/graph"
	"permgraph/queries"
)

// TestRevokeEntraGroupHops: ownership gives an owner removal; a tenant-wide
// role reaches the group through a set node, whose edge is structure (no
// command), and the holder's edge into the set is revoked through its
// evidence, never as group ownership.
func TestRevokeEntraGroupHops(t *testing.T) {
	g := graph.NewSourceGraph("azure:t")
	set, grp := "entra:tenant:t/groups/not-role-assignable", "entra:group:g1"
	for _, n := range []graph.Node{{ID: set, Kind: graph.NodeScope, Name: "every group that is not role-assignable"},
		{ID: grp, Kind: graph.NodeGroup, Name: "deployers"}, {ID: "entra:user:o1", Kind: graph.NodeUser}, {ID: "entra:user:a1", Kind: graph.NodeUser}} {
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	v := graph.NewViewFromGraphs(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), nil, g)
	tests := []struct {
		name       string
		hop        queries.Hop
		wantShell  string // prefix; "" when the command is manual
		wantManual string // substring
	}{
		{"owner", queries.Hop{From: "entra:user:o1", Edge: "CanAddMember", To: grp,
			Evidence: []graph.Evidence{{Source: "graph:/groups/g1/owners", Statement: "owner"}}}, "az ad group owner remove", ""},
		{"set to group", queries.Hop{From: set, FromName: "every group that is not role-assignable", Edge: "CanAddMember", To: grp,
			Evidence: []graph.Evidence{{Source: grp, Detail: "not role-assignable"}}}, "", "structure, not a grant"},
		{"role scoped to the group", queries.Hop{From: "entra:user:a1", Edge: "CanAddMember", To: grp,
			Evidence: []graph.Evidence{{Source: "assignment-7", Statement: "Groups Administrator", Detail: "can add members to this group"}}}, "", `remove "assignment-7"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := revoke(v, tt.hop)
			if len(cmds) != 1 {
				t.Fatalf("commands = %+v, want one", cmds)
			}
			c := cmds[0]
			if tt.wantShell != "" && !strings.HasPrefix(c.Shell, tt.wantShell) {
				t.Errorf("shell = %q, want prefix %q (manual %q)", c.Shell, tt.wantShell, c.Manual)
			}
			if tt.wantManual != "" && (c.Shell != "" || !strings.Contains(c.Manual, tt.wantManual)) {
				t.Errorf("got shell %q manual %q, want manual containing %q", c.Shell, c.Manual, tt.wantManual)
			}
		})
	}
}
