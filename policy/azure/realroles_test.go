package azure_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"permgraph/graph"
	"permgraph/policy/azure"
	"permgraph/queries"
)

var sharedCatalog = filepath.Join("..", "..", "..", "shared", "catalog", "azure")

// TestDeriveRealRoles loads all 928 real built-in role definitions as the
// collector would write them and checks who deploys with a few of them.
func TestDeriveRealRoles(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedCatalog, "built-in-roles-raw.json"))
	if err != nil {
		t.Skipf("shared Azure catalog not available: %v", err)
	}
	var roles []struct {
		Name        string          `json:"name"`
		RoleName    string          `json:"roleName"`
		RoleType    string          `json:"roleType"`
		Permissions json.RawMessage `json:"permissions"`
	}
	if err := json.Unmarshal(raw, &roles); err != nil {
		t.Fatal(err)
	}
	b := newTenant(t)
	s := b.sub(sub1, "prod-1", "")
	rg := b.rg(sub1, "k8s")
	cluster := b.res("/subscriptions/"+sub1+"/resourceGroups/k8s/providers/Microsoft.ContainerService/managedClusters/aks1", rg)
	byName := map[string]string{}
	for _, r := range roles {
		b.roleDef(strings.ToLower(r.Name), r.RoleName, r.RoleType, string(r.Permissions))
		byName[r.RoleName] = strings.ToLower(r.Name)
	}
	want := map[string]string{}
	for i, tc := range []struct {
		role, scope string
		deploys     bool
	}{
		{"Contributor", s, true},
		{"Owner", s, true},
		{"Reader", s, false},
		{"Container Apps Contributor", s, true}, // lenient /*/
		{"Container Apps Operator", s, true},    // containerApps exec
		{"Container Apps Jobs Operator", s, true},
		{"Azure Container Instances Contributor Role", s, true},
		{"Website Contributor", s, true},
		{"Managed Identity Operator", s, false},
		{"User Access Administrator", s, true}, // by escalation
		{"Azure Kubernetes Service Cluster User Role", cluster, false},
		{"Azure Kubernetes Service Cluster Admin Role", cluster, true},
		{"Azure Kubernetes Service RBAC Writer", cluster, true},
		{"Azure Kubernetes Service RBAC Reader", cluster, false},
	} {
		guid, ok := byName[tc.role]
		if !ok {
			t.Fatalf("built-in role %q not in catalog", tc.role)
		}
		name := "u" + string(rune('a'+i))
		u := b.user(name, tc.role)
		b.assign("ra-"+name, u, guid, tc.scope)
		if tc.deploys {
			want[tc.role] = "yes"
		}
	}
	if err := azure.Derive(t.Context(), b.g, recipes(t)); err != nil {
		t.Fatal(err)
	}
	if len(b.g.Warnings) > 0 {
		t.Errorf("warnings: %v", b.g.Warnings)
	}
	res, err := queries.WhoCanDeploy(graph.NewViewFromGraphs(testAt, nil, b.g), queries.WhoCanOptions{Cloud: "azure"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range res.Principals {
		got[p.Name] = "yes"
	}
	for role := range want {
		if got[role] == "" {
			t.Errorf("%s should deploy", role)
		}
	}
	for role := range got {
		if want[role] == "" {
			t.Errorf("%s should not deploy", role)
		}
	}
}
