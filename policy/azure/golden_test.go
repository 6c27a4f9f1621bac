package azure_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"permgraph/catalog"
	"permgraph/graph"
	"permgraph/policy/azure"
	"permgraph/queries"
)

var update = flag.Bool("update", false, "rewrite golden files")

const tenantID = "11111111-1111-1111-1111-111111111111"

// Built-in role GUIDs (deploy-permissions.md section 2). The permission
// blocks below are the relevant parts of the public definitions, written by
// hand so the goldens do not depend on the shared catalog; the real 928
// definitions are exercised in match_test.go and TestDeriveRealRoles.
const (
	roleOwner        = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	roleContributor  = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	roleUAA          = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	roleRBACAdmin    = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
	roleCAContrib    = "358470bc-b998-42bd-ab17-a7e34c199c0f"
	roleAKSRBACWrite = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
	roleMIOperator   = "f1a07417-d97a-45cb-824c-7a7467783830"
	roleReader       = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

	permContributor = `[{"actions":["*"],"notActions":["Microsoft.Authorization/*/Delete","Microsoft.Authorization/*/Write","Microsoft.Authorization/elevateAccess/Action"],"dataActions":[],"notDataActions":[]}]`
	permOwner       = `[{"actions":["*"],"notActions":[],"dataActions":[],"notDataActions":[]}]`
	permUAA         = `[{"actions":["*/read","Microsoft.Authorization/*","Microsoft.Support/*"],"notActions":[]}]`
	permRBACAdmin   = `[{"actions":["Microsoft.Authorization/roleAssignments/write","Microsoft.Authorization/roleAssignments/delete","*/read","Microsoft.Support/*"],"notActions":[]}]`
	permCAContrib   = `[{"actions":["Microsoft.Authorization/*/read","Microsoft.App/containerApps/*/read","Microsoft.App/containerApps/*/write","Microsoft.App/containerApps/*/delete","Microsoft.App/containerApps/*/action","Microsoft.App/managedEnvironments/read","Microsoft.App/managedEnvironments/join/action"],"notActions":[]}]`
	permAKSWriter   = `[{"actions":["Microsoft.Authorization/*/read","Microsoft.Resources/subscriptions/read"],"dataActions":["Microsoft.ContainerService/managedClusters/apps/deployments/*","Microsoft.ContainerService/managedClusters/pods/*","Microsoft.ContainerService/managedClusters/batch/jobs/*"],"notDataActions":[]}]`
	permMIOperator  = `[{"actions":["Microsoft.ManagedIdentity/userAssignedIdentities/*/read","Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action","Microsoft.Authorization/*/read"],"notActions":[]}]`
	permReader      = `[{"actions":["*/read"],"notActions":[]}]`
)

// tenant builds an Azure source graph the way the entra and azurerbac
// collectors write it (docs/model-azure-gcp.md).
type tenant struct {
	t *testing.T
	g *graph.SourceGraph
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	b := &tenant{t: t, g: graph.NewSourceGraph("azure:" + tenantID)}
	b.node(graph.Node{ID: "entra:tenant:" + tenantID, Kind: graph.NodeScope, Name: "Contoso", Attrs: map[string]string{"type": "tenant"}})
	return b
}

func (b *tenant) node(n graph.Node) {
	b.t.Helper()
	if err := b.g.AddNode(n); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tenant) edge(e graph.Edge) {
	b.t.Helper()
	if len(e.Evidence) == 0 {
		e.Evidence = []graph.Evidence{{Source: "graph:test"}}
	}
	if err := b.g.AddEdge(e); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tenant) user(id, name string) string {
	b.node(graph.Node{ID: "entra:user:" + id, Kind: graph.NodeUser, Name: name, Email: name + "@contoso.com"})
	return "entra:user:" + id
}

func (b *tenant) group(id, name string, attrs ...string) string {
	n := graph.Node{ID: "entra:group:" + id, Kind: graph.NodeGroup, Name: name, Attrs: map[string]string{"security_enabled": "true"}}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attrs[attrs[i]] = attrs[i+1]
	}
	b.node(n)
	return n.ID
}

func (b *tenant) sp(id, name string, attrs ...string) string {
	n := graph.Node{ID: "entra:sp:" + id, Kind: graph.NodeServicePrincipal, Name: name, Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attrs[attrs[i]] = attrs[i+1]
	}
	b.node(n)
	return n.ID
}

func (b *tenant) member(m, g string) {
	b.edge(graph.Edge{From: m, Kind: graph.EdgeMemberOf, To: g, Evidence: []graph.Evidence{{Source: "graph:/groups/" + strings.TrimPrefix(g, "entra:group:") + "/members"}}})
}

func (b *tenant) mg(name, parent string) string {
	id := "azure:mg:" + name
	b.node(graph.Node{ID: id, Kind: graph.NodeScope, Name: name, Attrs: map[string]string{"type": "managementGroup", "arm_id": "/providers/Microsoft.Management/managementGroups/" + name}})
	if parent != "" {
		b.edge(graph.Edge{From: parent, Kind: graph.EdgeContains, To: id})
	}
	return id
}

func (b *tenant) sub(id, name, parent string) string {
	sid := "azure:sub:" + id
	b.node(graph.Node{ID: sid, Kind: graph.NodeScope, Name: name, Attrs: map[string]string{"type": "subscription", "arm_id": "/subscriptions/" + id, "state": "Enabled"}})
	if parent != "" {
		b.edge(graph.Edge{From: parent, Kind: graph.EdgeContains, To: sid})
	}
	return sid
}

func (b *tenant) res(arm, parent string) string {
	id := "azure:res:" + strings.ToLower(arm)
	b.node(graph.Node{ID: id, Kind: graph.NodeScope, Name: arm[strings.LastIndex(arm, "/")+1:], Attrs: map[string]string{"type": "resource", "arm_id": arm}})
	if parent != "" {
		b.edge(graph.Edge{From: parent, Kind: graph.EdgeContains, To: id})
	}
	return id
}

func (b *tenant) rg(sub, name string) string {
	arm := "/subscriptions/" + sub + "/resourceGroups/" + name
	id := "azure:rg:" + strings.ToLower(arm)
	b.node(graph.Node{ID: id, Kind: graph.NodeScope, Name: name, Attrs: map[string]string{"type": "resourceGroup", "arm_id": arm}})
	b.edge(graph.Edge{From: "azure:sub:" + sub, Kind: graph.EdgeContains, To: id})
	return id
}

func (b *tenant) roleDef(guid, name, typ, perms string) string {
	id := "azure:roledef:" + guid
	b.node(graph.Node{ID: id, Kind: graph.NodeRoleDefinition, Name: name, Attrs: map[string]string{"type": typ, "permissions": perms, "assignable_scopes": `["/"]`}})
	return id
}

// assign writes an assignment node plus the HasRole/HasPolicy edges.
func (b *tenant) assign(guid, principal, roleGUID, scope string, attrs ...string) {
	b.t.Helper()
	scopeNode, ok := b.g.Nodes[scope]
	if !ok {
		b.t.Fatalf("assign %s: unknown scope %s", guid, scope)
	}
	arm := scopeNode.Attrs["arm_id"]
	n := graph.Node{ID: "azure:ra:" + guid, Kind: graph.NodePolicy, Name: guid, Attrs: map[string]string{"type": "roleAssignment",
		"principal": principal, "principal_type": principalType(principal), "role": "azure:roledef:" + roleGUID, "scope": scope, "scope_arm": arm}}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attrs[attrs[i]] = attrs[i+1]
	}
	b.node(n)
	hr := graph.Edge{From: principal, Kind: graph.EdgeHasRole, To: "azure:roledef:" + roleGUID,
		Evidence: []graph.Evidence{{Source: arm + "/providers/Microsoft.Authorization/roleAssignments/" + guid, Statement: arm}}}
	if n.Attrs["type"] == "roleEligibility" {
		hr.Conditional, hr.Condition = true, "PIM eligible: activation required"
		hr.Attrs = map[string]string{"eligible": "true"}
	}
	b.edge(hr)
	b.edge(graph.Edge{From: principal, Kind: graph.EdgeHasPolicy, To: n.ID})
}

func principalType(id string) string {
	switch {
	case strings.HasPrefix(id, "entra:user:"):
		return "User"
	case strings.HasPrefix(id, "entra:group:"):
		return "Group"
	}
	return "ServicePrincipal"
}

func (b *tenant) deny(guid, scope string, perms string, principals, excludes []string) {
	b.t.Helper()
	p, _ := json.Marshal(principals)
	x, _ := json.Marshal(excludes)
	b.node(graph.Node{ID: "azure:deny:" + guid, Kind: graph.NodePolicy, Name: "deny " + guid, Attrs: map[string]string{"type": "denyAssignment",
		"scope": scope, "scope_arm": b.g.Nodes[scope].Attrs["arm_id"], "permissions": perms, "principals": string(p), "exclude_principals": string(x),
		"does_not_apply_to_child_scopes": "false"}})
}

// directoryRole writes HasRole principal -> entra:role:<template>.
func (b *tenant) directoryRole(principal, template, name string, eligible bool) {
	b.node(graph.Node{ID: "entra:role:" + template, Kind: graph.NodeRoleDefinition, Name: name, Attrs: map[string]string{"template_id": template, "builtin": "true"}})
	e := graph.Edge{From: principal, Kind: graph.EdgeHasRole, To: "entra:role:" + template, Attrs: map[string]string{"scope": "/"},
		Evidence: []graph.Evidence{{Source: "graph:/roleManagement/directory/roleAssignments/" + template + "-" + strings.TrimPrefix(principal, "entra:")}}}
	if eligible {
		e.Conditional, e.Condition = true, "PIM eligible: activation required"
		e.Attrs["eligible"] = "true"
	}
	b.edge(e)
}

func recipes(t *testing.T) []catalog.DeployRecipe {
	t.Helper()
	d, err := catalog.LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	return d.Azure
}

var testAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// whoCan derives the tenant and runs who-can deploy for Azure.
func (b *tenant) whoCan(o queries.WhoCanOptions) *queries.WhoCanResult {
	b.t.Helper()
	if err := azure.Derive(b.t.Context(), b.g, recipes(b.t)); err != nil {
		b.t.Fatal(err)
	}
	v := graph.NewViewFromGraphs(testAt, nil, b.g)
	o.Cloud, o.Paths = "azure", true
	res, err := queries.WhoCanDeploy(v, o)
	if err != nil {
		b.t.Fatal(err)
	}
	return res
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update): %v", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// summary is a compact, order-stable view of who-can for assertions.
func summary(res *queries.WhoCanResult) map[string]string {
	out := map[string]string{}
	for _, p := range res.Principals {
		s := p.Via + " " + strings.Join(p.Scopes, ",")
		if p.Conditional {
			s += " conditional"
		}
		out[p.Name] = s
	}
	return out
}

func checkSummary(t *testing.T, res *queries.WhoCanResult, want map[string]string) {
	t.Helper()
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("who-can mismatch (-want +got):\n%s", diff)
	}
}

const (
	sub1 = "00000000-0000-0000-0000-00000000aaaa"
	sub2 = "00000000-0000-0000-0000-00000000bbbb"
	sub3 = "00000000-0000-0000-0000-00000000cccc"
)

// (a) user -> group A -> group B; B holds Contributor at a management group
// above two subscriptions: the user reaches both subscriptions' capability.
func TestGoldenNestedGroupInheritsMGContributor(t *testing.T) {
	b := newTenant(t)
	root := b.mg(tenantID, "")
	prod := b.mg("prod", root)
	b.sub(sub1, "prod-1", prod)
	b.sub(sub2, "prod-2", prod)
	b.sub(sub3, "dev-1", root) // outside the management group
	b.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	alice := b.user("a1", "alice")
	ga := b.group("ga", "group A")
	gb := b.group("gb", "group B")
	b.member(alice, ga)
	b.member(ga, gb)
	b.assign("ra-contrib-mg", gb, roleContributor, prod)
	res := b.whoCan(queries.WhoCanOptions{})
	checkSummary(t, res, map[string]string{
		"alice":   "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
		"group A": "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
		"group B": "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
	})
	golden(t, "nested-group-mg-contributor.json", res)
}

// (b) A custom role with "*" minus ACI and Container Apps (and everything
// else that deploys) is not a deployer; Reader is not either.
func TestGoldenCustomRoleNotActions(t *testing.T) {
	b := newTenant(t)
	s := b.sub(sub1, "prod-1", "")
	b.roleDef("c0ffee00-0000-0000-0000-000000000001", "Almost Contributor", "CustomRole",
		`[{"actions":["*"],"notActions":["Microsoft.ContainerInstance/*","Microsoft.App/*","Microsoft.ContainerService/*","Microsoft.Web/*","Microsoft.Authorization/*/Write"]}]`)
	b.roleDef("c0ffee00-0000-0000-0000-000000000002", "ACI only", "CustomRole",
		`[{"actions":["*"],"notActions":["Microsoft.App/*","Microsoft.ContainerService/*","Microsoft.Web/*","Microsoft.Authorization/*/Write"]}]`)
	b.roleDef(roleReader, "Reader", "BuiltInRole", permReader)
	bob := b.user("b1", "bob")
	carol := b.user("c1", "carol")
	dan := b.user("d1", "dan")
	b.assign("ra-custom", bob, "c0ffee00-0000-0000-0000-000000000001", s)
	b.assign("ra-aci", carol, "c0ffee00-0000-0000-0000-000000000002", s)
	b.assign("ra-reader", dan, roleReader, s)
	res := b.whoCan(queries.WhoCanOptions{})
	checkSummary(t, res, map[string]string{"carol": "direct /subscriptions/" + sub1})
	golden(t, "custom-role-notactions.json", res)
}

// (c) A deny assignment at a subscription removes one principal's deploy
// right there (directly and through a denied group), not at other
// subscriptions, and not for an excluded principal of an everyone-deny.
func TestGoldenDenyAssignment(t *testing.T) {
	b := newTenant(t)
	root := b.mg(tenantID, "")
	s1 := b.sub(sub1, "prod-1", root)
	b.sub(sub2, "prod-2", root)
	s3 := b.sub(sub3, "locked", root)
	b.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	erin := b.user("e1", "erin")
	frank := b.user("f1", "frank")
	gina := b.user("g1", "gina")
	henry := b.user("h1", "henry")
	deployers := b.group("deployers", "deployers")
	blocked := b.group("blocked", "blocked people")
	b.member(frank, deployers)
	b.member(gina, deployers)
	b.member(gina, blocked)
	b.assign("ra-erin", erin, roleContributor, root)
	b.assign("ra-deployers", deployers, roleContributor, root)
	b.assign("ra-henry", henry, roleContributor, s3)
	denyWrites := `[{"actions":["*/write","*/action"],"notActions":["*/read"]}]`
	// erin is denied at prod-1 only; gina through her group "blocked people".
	b.deny("deny-erin", s1, denyWrites, []string{erin, blocked}, nil)
	// Everyone is denied at "locked" except henry.
	b.deny("deny-all", s3, denyWrites, []string{"*"}, []string{henry})
	res := b.whoCan(queries.WhoCanOptions{})
	checkSummary(t, res, map[string]string{
		"erin":      "direct /subscriptions/" + sub2,
		"frank":     "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
		"gina":      "direct /subscriptions/" + sub2,
		"deployers": "direct /subscriptions/" + sub2,
		"henry":     "direct /subscriptions/" + sub3,
	})
	if res.HiddenConditional != 0 {
		// gina is conditional at prod-1 (through the conditional group
		// edge) but unconditional at prod-2, so she is not hidden.
		t.Errorf("hidden conditional = %d", res.HiddenConditional)
	}
	golden(t, "deny-assignment.json", res)
	cond := b.whoCan(queries.WhoCanOptions{IncludeConditional: true})
	checkSummary(t, cond, map[string]string{
		"erin":      "direct /subscriptions/" + sub2,
		"frank":     "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
		"gina":      "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
		"deployers": "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
		"henry":     "direct /subscriptions/" + sub3,
	})
}

// (d) The owner of a group that holds Contributor reaches deploy by adding
// itself (CanAddMember, via=escalation); a Groups Administrator cannot reach
// a role-assignable group.
func TestGoldenGroupOwnerEscalation(t *testing.T) {
	b := newTenant(t)
	s := b.sub(sub1, "prod-1", "")
	b.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	ops := b.group("ops", "ops", "role_assignable", "true")
	ivan := b.user("i1", "ivan")
	judy := b.user("j1", "judy")
	b.edge(graph.Edge{From: ivan, Kind: graph.EdgeOwns, To: ops, Evidence: []graph.Evidence{{Source: "graph:/groups/ops/owners"}}})
	b.directoryRole(judy, "fdd7a751-b60b-444a-984c-02652fe8fa1c", "Groups Administrator", false)
	b.assign("ra-ops", ops, roleContributor, s)
	res := b.whoCan(queries.WhoCanOptions{})
	checkSummary(t, res, map[string]string{
		"ops":  "direct /subscriptions/" + sub1,
		"ivan": "escalation /subscriptions/" + sub1,
	})
	golden(t, "group-owner-escalation.json", res)
}

// (e) A PIM-eligible Contributor is hidden by default and shown, as
// conditional, with IncludeConditional.
func TestGoldenPIMEligible(t *testing.T) {
	b := newTenant(t)
	s := b.sub(sub1, "prod-1", "")
	b.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	kim := b.user("k1", "kim")
	b.assign("ra-kim-eligible", kim, roleContributor, s, "type", "roleEligibility")
	res := b.whoCan(queries.WhoCanOptions{})
	checkSummary(t, res, map[string]string{})
	if res.HiddenConditional != 1 {
		t.Errorf("hidden conditional = %d, want 1", res.HiddenConditional)
	}
	golden(t, "pim-eligible-default.json", res)
	b2 := newTenant(t)
	s = b2.sub(sub1, "prod-1", "")
	b2.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	kim = b2.user("k1", "kim")
	b2.assign("ra-kim-eligible", kim, roleContributor, s, "type", "roleEligibility")
	cond := b2.whoCan(queries.WhoCanOptions{IncludeConditional: true})
	checkSummary(t, cond, map[string]string{"kim": "direct /subscriptions/" + sub1 + " conditional"})
	if e := b2.g.Edges[graph.EdgeKey{From: kim, Kind: graph.EdgeCan, To: azure.DeployCapabilityID(s)}]; e.Attrs["eligible"] != "true" || e.Condition != "PIM eligible: activation required" {
		t.Errorf("eligible edge = %+v", e)
	}
	golden(t, "pim-eligible-include-conditional.json", cond)
}

// The /*/ case: Container Apps Contributor (containerApps/*/write) deploys
// under the lenient rule Derive uses; an ABAC condition makes it
// conditional.
func TestGoldenContainerAppsContributorLenient(t *testing.T) {
	b := newTenant(t)
	s := b.sub(sub1, "prod-1", "")
	rg := b.rg(sub1, "apps")
	b.roleDef(roleCAContrib, "Container Apps Contributor", "BuiltInRole", permCAContrib)
	leo := b.user("l1", "leo")
	mia := b.user("m1", "mia")
	b.assign("ra-leo", leo, roleCAContrib, rg)
	b.assign("ra-mia", mia, roleCAContrib, s, "condition", "@Resource[Microsoft.App/containerApps:name] StringStartsWith 'mia-'", "condition_version", "2.0")
	res := b.whoCan(queries.WhoCanOptions{IncludeConditional: true})
	checkSummary(t, res, map[string]string{
		"leo": "direct /subscriptions/" + sub1 + "/resourcegroups/apps",
		"mia": "direct /subscriptions/" + sub1 + " conditional",
	})
	golden(t, "container-apps-contributor.json", res)
}

// AKS: AKS RBAC Writer on a cluster grants pods/write (a data action):
// deployer at that cluster; Contributor has no data actions but has
// listClusterAdminCredential: deployer at its subscription. Reader on the
// cluster is not.
func TestGoldenAKSDataActions(t *testing.T) {
	b := newTenant(t)
	s := b.sub(sub1, "prod-1", "")
	rg := b.rg(sub1, "k8s")
	cluster := b.res("/subscriptions/"+sub1+"/resourceGroups/k8s/providers/Microsoft.ContainerService/managedClusters/aks1", rg)
	kv := b.res("/subscriptions/"+sub1+"/resourceGroups/k8s/providers/Microsoft.KeyVault/vaults/kv1", rg)
	b.roleDef(roleAKSRBACWrite, "Azure Kubernetes Service RBAC Writer", "BuiltInRole", permAKSWriter)
	b.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	b.roleDef(roleReader, "Reader", "BuiltInRole", permReader)
	nina := b.user("n1", "nina")
	omar := b.user("o1", "omar")
	pat := b.user("p1", "pat")
	quinn := b.user("q1", "quinn")
	b.assign("ra-nina", nina, roleAKSRBACWrite, cluster)
	b.assign("ra-omar", omar, roleContributor, s)
	b.assign("ra-pat", pat, roleReader, cluster)
	b.assign("ra-quinn", quinn, roleAKSRBACWrite, kv) // no pods on a key vault
	res := b.whoCan(queries.WhoCanOptions{})
	checkSummary(t, res, map[string]string{
		"nina": "direct /subscriptions/" + sub1 + "/resourcegroups/k8s/providers/microsoft.containerservice/managedclusters/aks1",
		"omar": "direct /subscriptions/" + sub1,
	})
	e := b.g.Edges[graph.EdgeKey{From: omar, Kind: graph.EdgeCan, To: azure.DeployCapabilityID(s)}]
	if !strings.Contains(e.Attrs["recipes"], "aks-list-admin-credential") || strings.Contains(e.Attrs["recipes"], "aks-rbac-pods-write") {
		t.Errorf("Contributor recipes = %q", e.Attrs["recipes"])
	}
	golden(t, "aks-data-actions.json", res)
}

// Escalation through roles: User Access Administrator / RBAC Administrator
// (matched through roleAssignments/write, not by name), Privileged Role
// Administrator via the tenant node, Application Administrator via
// CanAddSecret to a deploying service principal, an eligible Groups
// Administrator (conditional), and a Managed Identity Operator who can
// deploy gets CanImpersonate to the identity's service principal.
func TestGoldenRoleEscalation(t *testing.T) {
	b := newTenant(t)
	root := b.mg(tenantID, "")
	s1 := b.sub(sub1, "prod-1", root)
	s2 := b.sub(sub2, "prod-2", root)
	rg := b.rg(sub2, "ids")
	uami := b.res("/subscriptions/"+sub2+"/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/deploy-mi", rg)
	b.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	b.roleDef(roleUAA, "User Access Administrator", "BuiltInRole", permUAA)
	b.roleDef(roleRBACAdmin, "Role Based Access Control Administrator", "BuiltInRole", permRBACAdmin)
	b.roleDef(roleMIOperator, "Managed Identity Operator", "BuiltInRole", permMIOperator)
	b.roleDef(roleOwner, "Owner", "BuiltInRole", permOwner)
	ruth := b.user("r1", "ruth")
	sam := b.user("s1", "sam")
	tina := b.user("t1", "tina")
	uma := b.user("u1", "uma")
	vic := b.user("v1", "vic")
	walt := b.user("w1", "walt")
	ciSP := b.sp("ci", "ci-pipeline", "sp_type", "Application")
	miSP := b.sp("mi", "deploy-mi", "sp_type", "ManagedIdentity", "alternative_names", `["isExplicit=True","/subscriptions/`+sub2+`/resourcegroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/deploy-mi"]`)
	plain := b.group("plain", "plain deployers")
	b.assign("ra-ruth-uaa", ruth, roleUAA, root)
	b.assign("ra-sam-rbac", sam, roleRBACAdmin, s1, "condition", "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {acdd72a7-3385-48ef-bd42-f606fba81ae7}", "condition_version", "2.0")
	b.directoryRole(tina, "e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator", false)
	b.directoryRole(uma, "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator", false)
	b.assign("ra-ci", ciSP, roleContributor, s2)
	b.directoryRole(vic, "fdd7a751-b60b-444a-984c-02652fe8fa1c", "Groups Administrator", true)
	b.assign("ra-plain", plain, roleContributor, s1)
	b.assign("ra-walt", walt, roleContributor, s2)
	b.assign("ra-walt-mio", walt, roleMIOperator, rg)
	b.assign("ra-mi", miSP, roleOwner, s1)
	res := b.whoCan(queries.WhoCanOptions{IncludeConditional: true})
	both := "/subscriptions/" + sub1 + ",/subscriptions/" + sub2
	checkSummary(t, res, map[string]string{
		"ruth": "escalation " + both,
		"sam":  "escalation /subscriptions/" + sub1 + " conditional",
		"tina": "escalation " + both,
		// Contributor at prod-2 includes assign/action on deploy-mi there,
		// so ci-pipeline (and uma, who can become it) also reach prod-1
		// through the identity's Owner role.
		"uma":             "escalation " + both,
		"ci-pipeline":     "direct " + both,
		"vic":             "escalation /subscriptions/" + sub1 + " conditional",
		"plain deployers": "direct /subscriptions/" + sub1,
		"walt":            "direct /subscriptions/" + sub1 + ",/subscriptions/" + sub2,
		"deploy-mi":       "direct /subscriptions/" + sub1,
	})
	if _, ok := b.g.Edges[graph.EdgeKey{From: walt, Kind: graph.EdgeCanImpersonate, To: miSP}]; !ok {
		t.Error("walt (Contributor + Managed Identity Operator) should impersonate the UAMI")
	}
	spSet := "entra:tenant:" + tenantID + "/service-principals"
	if _, ok := b.g.Edges[graph.EdgeKey{From: spSet, Kind: graph.EdgeCanAddSecret, To: miSP}]; ok {
		t.Error("no secrets on managed identities")
	}
	if _, ok := b.g.Edges[graph.EdgeKey{From: uma, Kind: graph.EdgeCanAddSecret, To: spSet}]; !ok {
		t.Error("uma (Application Administrator) should reach every secretable service principal through the set")
	}
	if _, ok := b.g.Edges[graph.EdgeKey{From: ciSP, Kind: graph.EdgeCanImpersonate, To: miSP}]; !ok || uami == "" {
		t.Error("ci-pipeline (Contributor at prod-2) should impersonate the UAMI in prod-2")
	}
	golden(t, "role-escalation.json", res)
}

// TestTenantWideRolesLinkThroughSets: a tenant-wide group or application
// administrator gets one edge to a set node, and the set one edge per
// member, instead of one edge per (holder, group). Role-assignable groups
// are only in "every group" (Global / Privileged Role Administrator).
func TestTenantWideRolesLinkThroughSets(t *testing.T) {
	b := newTenant(t)
	root := b.mg(tenantID, "")
	s1 := b.sub(sub1, "prod-1", root)
	b.roleDef(roleContributor, "Contributor", "BuiltInRole", permContributor)
	const groupsAdmin, pra = "fdd7a751-b60b-444a-984c-02652fe8fa1c", "e8611ab8-c189-46e8-94e1-60213ab1f814"
	var admins []string
	for _, n := range []string{"ga1", "ga2", "ga3"} {
		u := b.user(n, n)
		b.directoryRole(u, groupsAdmin, "Groups Administrator", false)
		admins = append(admins, u)
	}
	priv := b.user("pra", "pra")
	b.directoryRole(priv, pra, "Privileged Role Administrator", false)
	var plain []string
	for _, n := range []string{"p1", "p2", "p3", "p4"} {
		plain = append(plain, b.group(n, n))
	}
	ra := b.group("ra", "role-assignable deployers", "role_assignable", "true")
	b.assign("ra-ra", ra, roleContributor, s1)
	b.assign("ra-p1", plain[0], roleContributor, s1)
	res := b.whoCan(queries.WhoCanOptions{})

	all, plainSet := "entra:tenant:"+tenantID+"/groups", "entra:tenant:"+tenantID+"/groups/not-role-assignable"
	want := map[graph.EdgeKey]bool{{From: all, Kind: graph.EdgeCanAddMember, To: plainSet}: true,
		{From: all, Kind: graph.EdgeCanAddMember, To: ra}: true, {From: priv, Kind: graph.EdgeCanAddMember, To: all}: true}
	for _, a := range admins {
		want[graph.EdgeKey{From: a, Kind: graph.EdgeCanAddMember, To: plainSet}] = true
	}
	for _, g := range plain {
		want[graph.EdgeKey{From: plainSet, Kind: graph.EdgeCanAddMember, To: g}] = true
	}
	got := map[graph.EdgeKey]bool{}
	for k := range b.g.Edges {
		if k.Kind == graph.EdgeCanAddMember {
			got[k] = true
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.SortMaps(func(a, b graph.EdgeKey) bool { return graph.LessEdgeKey(a, b) })); diff != "" {
		t.Errorf("CanAddMember edges (-want +got):\n%s", diff)
	}
	for _, id := range []string{all, plainSet} {
		if n, ok := b.g.Nodes[id]; !ok || n.Kind != graph.NodeScope {
			t.Errorf("set node %s = %+v, %v; want a scope node", id, n, ok)
		}
	}
	// Groups Administrators reach deploy through p1 only, not through the
	// role-assignable group; the PRA through both.
	for _, r := range res.Principals {
		switch r.Name {
		case "ga1", "ga2", "ga3":
			if r.Through != plain[0] || r.Hops != 3 {
				t.Errorf("%s: through %s in %d hops, want %s in 3 (admin -> set -> group -> capability)", r.Name, r.Through, r.Hops, plain[0])
			}
		}
	}
	checkSummary(t, res, map[string]string{
		"ga1": "escalation /subscriptions/" + sub1, "ga2": "escalation /subscriptions/" + sub1, "ga3": "escalation /subscriptions/" + sub1,
		"pra": "escalation /subscriptions/" + sub1,
		"p1":  "direct /subscriptions/" + sub1, "role-assignable deployers": "direct /subscriptions/" + sub1,
	})
}
