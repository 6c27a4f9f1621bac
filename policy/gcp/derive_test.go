package gcp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"permgraph/catalog"
	"permgraph/graph"
	"permgraph/policy/gcp"
)

func TestMemberResolution(t *testing.T) {
	f := newFixture(t)
	org := f.org("1")
	f.project("p1", org)
	alice := f.user("u1", "Alice", "alice@example.com", "aliases", `["a@example.com"]`)
	grp := f.group("g1", "eng", "eng@example.com")
	f.policy("gcp:project:p1", bind("roles/viewer",
		"user:ALICE@example.com", "user:a@example.com", "user:bob@partner.com",
		"group:eng@example.com", "group:eng-ext@partner.com", "user:eng@example.com",
		"serviceAccount:svc@p1.iam.gserviceaccount.com", "domain:example.com", "allUsers", "allAuthenticatedUsers",
		"principalSet://iam.googleapis.com/locations/global/workforcePools/pool/group/admins",
		"deleted:user:old@example.com?uid=123"))
	f.derive()
	for _, from := range []string{
		alice, grp, "gcp:principal:user:bob@partner.com", "gcp:principal:group:eng-ext@partner.com",
		"gcp:principal:user:eng@example.com", // user: never resolves to a group
		"gcp:sa:svc@p1.iam.gserviceaccount.com", "gcp:principal:domain:example.com", "gcp:principal:allUsers",
		"gcp:principal:allAuthenticatedUsers",
		"gcp:principal:principalSet://iam.googleapis.com/locations/global/workforcePools/pool/group/admins",
	} {
		if _, ok := f.edge(from, graph.EdgeHasRole, "gcp:role:roles/viewer"); !ok {
			t.Errorf("no HasRole from %s", from)
		}
		if _, ok := f.g.Nodes[from]; !ok {
			t.Errorf("member node %s missing", from)
		}
	}
	if e, _ := f.edge(alice, graph.EdgeHasRole, "gcp:role:roles/viewer"); len(e.Evidence) != 2 {
		t.Errorf("alice (primary + alias) evidence = %v, want 2 entries", e.Evidence)
	}
	if n := f.g.Nodes["gcp:role:roles/viewer"]; n.Name != "Viewer" || n.Kind != graph.NodeRoleDefinition {
		t.Errorf("predefined role node = %+v", n)
	}
	if !strings.Contains(strings.Join(f.g.Warnings, "\n"), "deleted principals") {
		t.Errorf("warnings = %v, want the deleted member counted", f.g.Warnings)
	}
}

func TestCustomRoleAndUnknownRole(t *testing.T) {
	f := newFixture(t)
	org := f.org("1")
	f.project("p1", org)
	u := f.user("u1", "U", "u@example.com")
	f.must(f.g.AddNode(graph.Node{ID: "gcp:role:organizations/1/roles/gkeDeployer", Kind: graph.NodeRoleDefinition,
		Attrs: map[string]string{"permissions": `["container.clusters.get","container.pods.create"]`, "stage": "GA"}}))
	f.policy("gcp:org:1", bind("organizations/1/roles/gkeDeployer", "user:u@example.com"), bind("roles/does.notExist", "user:u@example.com"))
	f.derive()
	e, ok := f.edge(u, graph.EdgeCan, gcp.DeployCapabilityID("p1"))
	if !ok || e.Attrs["recipes"] != "gke-pods-create" || !strings.Contains(e.Evidence[0].Detail, "organizations/1/roles/gkeDeployer on gcp:org:1") {
		t.Errorf("Can via custom role = %+v, %v", e, ok)
	}
	if !strings.Contains(strings.Join(f.g.Warnings, "\n"), "roles/does.notExist") {
		t.Errorf("warnings = %v, want the unknown role named", f.g.Warnings)
	}
}

func TestEscalationScopes(t *testing.T) {
	f := newFixture(t)
	org := f.org("1")
	fo := f.folder("10", org)
	f.project("p1", fo)
	f.project("p2", fo)
	f.project("p3", org)
	sa1 := f.sa("a@p1.iam.gserviceaccount.com", "p1")
	sa3 := f.sa("c@p3.iam.gserviceaccount.com", "p3")
	admin := f.user("u1", "Admin", "admin@example.com")
	keys := f.user("u2", "Keys", "keys@example.com")
	f.policy(fo, bind("roles/resourcemanager.folderAdmin", "user:admin@example.com"),
		bind("roles/iam.serviceAccountKeyAdmin", "user:keys@example.com"))
	f.derive()
	for _, p := range []string{"p1", "p2"} {
		if _, ok := f.edge(admin, graph.EdgeCanAssignRole, gcp.DeployCapabilityID(p)); !ok {
			t.Errorf("folder admin: no CanAssignRole to %s", p)
		}
	}
	if _, ok := f.edge(admin, graph.EdgeCanAssignRole, gcp.DeployCapabilityID("p3")); ok {
		t.Error("folder admin must not reach a project outside the folder")
	}
	if _, ok := f.edge(keys, graph.EdgeCanCreateKey, sa1); !ok {
		t.Error("folder key admin: no CanCreateKey to an SA below the folder")
	}
	if _, ok := f.edge(keys, graph.EdgeCanCreateKey, sa3); ok {
		t.Error("folder key admin must not reach an SA outside the folder")
	}
	if n := f.g.Nodes[gcp.DeployCapabilityID("p3")]; n.Attrs["scope"] != "p3" || n.Attrs["cloud"] != "gcp" {
		t.Errorf("capability node = %+v", n)
	}
}

func TestSameIdentity(t *testing.T) {
	f := newFixture(t)
	gu := f.user("u1", "Alice", "alice@example.com")
	f.user("u2", "Bob", "bob@example.com")
	az := graph.NewSourceGraph("azure:tenant-1")
	f.must(az.AddNode(graph.Node{ID: "entra:user:o1", Kind: graph.NodeUser, Email: "alice@example.com", Attrs: map[string]string{"upn": "Alice@Example.com"}}))
	f.must(az.AddNode(graph.Node{ID: "entra:user:o2", Kind: graph.NodeUser, Email: "robert@corp.onmicrosoft.com", Attrs: map[string]string{"upn": "robert@corp.onmicrosoft.com", "mail": "BOB@example.com"}}))
	f.must(az.AddNode(graph.Node{ID: "entra:user:o3", Kind: graph.NodeUser, Email: "carol@example.com"}))

	alone := newFixture(t)
	alone.user("u1", "Alice", "alice@example.com")
	alone.derive()
	for _, e := range alone.g.Edges {
		if e.Kind == graph.EdgeSameIdentity {
			t.Fatalf("SameIdentity without an azure source: %+v", e)
		}
	}

	f.derive(az)
	for _, pair := range [][2]string{{gu, "entra:user:o1"}, {"gws:user:u2", "entra:user:o2"}} {
		if _, ok := f.edge(pair[0], graph.EdgeSameIdentity, pair[1]); !ok {
			t.Errorf("no SameIdentity %s -> %s", pair[0], pair[1])
		}
		if _, ok := f.edge(pair[1], graph.EdgeSameIdentity, pair[0]); !ok {
			t.Errorf("no SameIdentity %s -> %s", pair[1], pair[0])
		}
	}
	if e, _ := f.edge("gws:user:u2", graph.EdgeSameIdentity, "entra:user:o2"); !strings.Contains(e.Evidence[0].Detail, "mail") {
		t.Errorf("evidence = %+v, want the matched attribute", e.Evidence)
	}
}

func TestWorkspaceAdmins(t *testing.T) {
	f := newFixture(t)
	sup := f.user("u1", "Root", "root@example.com", "is_admin", "true")
	ou := f.user("u2", "OU admin", "ou@example.com")
	mgr := f.user("u3", "Manager", "mgr@example.com")
	mem := f.user("u4", "Member", "mem@example.com")
	g1 := f.group("g1", "one", "one@example.com")
	g2 := f.group("g2", "two", "two@example.com")
	f.member(mgr, g1, "MANAGER")
	f.member(mem, g1, "MEMBER")
	f.must(f.g.AddNode(graph.Node{ID: "gws:role:7", Kind: graph.NodeRoleDefinition, Name: "Groups Editor", Attrs: map[string]string{"privileges": `["x/GROUPS_UPDATE"]`}}))
	f.must(f.g.AddEdge(graph.Edge{From: ou, Kind: graph.EdgeHasRole, To: "gws:role:7", Attrs: map[string]string{"scope": "ORG_UNIT", "org_unit": "/eng"}}))
	f.derive()
	// Administrators reach every group through the customer's set node.
	set := "gws:customer:" + strings.TrimPrefix(f.g.Source, "google:") + "/groups"
	if n, ok := f.g.Nodes[set]; !ok || n.Kind != graph.NodeScope {
		t.Fatalf("set node %s = %+v, %v; want a scope node", set, n, ok)
	}
	if e, ok := f.edge(sup, graph.EdgeCanAddMember, set); !ok || e.Conditional {
		t.Errorf("super admin -> %s = %+v, %v", set, e, ok)
	}
	if e, ok := f.edge(ou, graph.EdgeCanAddMember, set); !ok || !e.Conditional {
		t.Errorf("OU-scoped groups admin -> %s = %+v, %v; want conditional", set, e, ok)
	}
	for _, g := range []string{g1, g2} {
		if e, ok := f.edge(set, graph.EdgeCanAddMember, g); !ok || e.Conditional {
			t.Errorf("%s -> %s = %+v, %v", set, g, e, ok)
		}
		for _, a := range []string{sup, ou} {
			if _, ok := f.edge(a, graph.EdgeCanAddMember, g); ok {
				t.Errorf("%s -> %s: admins reach groups through the set, not one edge each", a, g)
			}
		}
	}
	if _, ok := f.edge(mgr, graph.EdgeCanAddMember, g1); !ok {
		t.Error("a MANAGER can add members")
	}
	if _, ok := f.edge(mem, graph.EdgeCanAddMember, g1); ok {
		t.Error("a plain MEMBER cannot add members")
	}
}

func TestDeriveErrors(t *testing.T) {
	d, err := catalog.LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	if err := gcp.Derive(context.Background(), graph.NewSourceGraph("aws:1"), d.GCP); err == nil {
		t.Error("Derive accepted a non-google source")
	}
	f := newFixture(t)
	f.project("p1", f.org("1"))
	f.must(f.g.AddNode(graph.Node{ID: "gcp:iam:gcp:project:p1", Kind: graph.NodePolicy, Attrs: map[string]string{"resource": "gcp:project:p1", "policy": `{"bindings":[{"role":""}]}`}}))
	f.derive()
	if !strings.Contains(strings.Join(f.g.Warnings, "\n"), "gcp:iam:gcp:project:p1 unusable") {
		t.Errorf("warnings = %v, want the broken policy named", f.g.Warnings)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f = newFixture(t)
	f.policy("gcp:project:p1", bind("roles/viewer", "user:x@example.com"))
	if err := gcp.Derive(ctx, f.g, d.GCP); !errors.Is(err, context.Canceled) {
		t.Errorf("Derive with a cancelled context = %v", err)
	}
}
