package azurerbac

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

const sharedSamples = "../../../shared/testdata/azure-rbac/"

func TestFileAzCLI(t *testing.T) {
	c := graph.NewCollection()
	f := NewFile(filepath.Join("testdata", "az"), Options{Tenant: strings.ToUpper(tTenant)})
	if err := f.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	g := sourceGraph(t, c)
	want := Counts{Subscriptions: 1, RoleDefinitions: 3, RoleAssignments: 3}
	if d := cmp.Diff(want, f.Counts); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	ci := "entra:sp:" + pCI
	e, ok := g.Edges[graph.EdgeKey{From: ci, Kind: graph.EdgeHasRole, To: "azure:roledef:f58310d9-a9f6-439a-9e8d-f62e7b41a168"}]
	if !ok || !e.Conditional || !strings.HasPrefix(e.Condition, "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}))") {
		t.Errorf("conditional RBAC-admin edge = %+v (found %v)", e, ok)
	}
	if _, ok := g.Nodes["entra:user:"+pAlice]; !ok {
		t.Error("principal ids are not lower-cased")
	}
	aks := "azure:res:/subscriptions/" + tSub1 + "/resourcegroups/apps/providers/microsoft.containerservice/managedclusters/aks1"
	if _, ok := g.Edges[graph.EdgeKey{From: "azure:rg:/subscriptions/" + tSub1 + "/resourcegroups/apps", Kind: graph.EdgeContains, To: aks}]; !ok {
		t.Error("rg -> AKS cluster Contains edge missing")
	}
	if n := g.Nodes["azure:roledef:b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"]; n.Attrs["missing_definition"] != "true" {
		t.Errorf("uncollected role = %+v", n)
	}
	checkGolden(t, "az.golden.json", g)
}

// TestFileSharedSamples reads the real ARM and az CLI samples: list pages,
// single objects and an x-ms-examples file.
func TestFileSharedSamples(t *testing.T) {
	for _, tc := range []struct {
		file         string
		defs, assign int
		check        func(t *testing.T, g *graph.SourceGraph)
	}{
		{file: "azure-rest-api-specs-RoleAssignments_ListForResourceGroup.json", assign: 2, check: func(t *testing.T, g *graph.SourceGraph) {
			n := g.Nodes["azure:ra:96786e4b-dede-4c2e-8736-8ab911987f08"]
			if n.Attrs["scope"] != "azure:rg:/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/resourcegroups/testrg" ||
				n.Attrs["principal"] != "entra:user:ce2ce14e-85d7-4629-bdbc-454d0519d987" ||
				n.Attrs["role"] != "azure:roledef:0b5fe924-9a61-425c-96af-cfe6e287ca2d" {
				t.Errorf("rg assignment = %+v", n)
			}
		}},
		{file: "azurecli-recorded-roleassignment-create-response.json", assign: 1},
		{file: "azurecli-recorded-roleassignments-list-SLICE.json", assign: 12, check: func(t *testing.T, g *graph.SourceGraph) {
			owners := 0
			for k := range g.Edges {
				if k.Kind == graph.EdgeHasRole && k.To == "azure:roledef:"+gOwner && strings.HasPrefix(k.From, "entra:sp:") {
					owners++
				}
			}
			if owners == 0 {
				t.Error("no service principal Owner edges")
			}
		}},
		{file: "azurecli-recorded-roledefinitions-filter-reader.json", defs: 1, check: func(t *testing.T, g *graph.SourceGraph) {
			n := g.Nodes["azure:roledef:"+gReader]
			want := `[{"actions":["*/read"],"notActions":[],"dataActions":[],"notDataActions":[]}]`
			if n.Name != "Reader" || n.Attrs["type"] != "BuiltInRole" || n.Attrs["permissions"] != want || n.Attrs["assignable_scopes"] != `["/"]` {
				t.Errorf("reader = %+v", n)
			}
		}},
		{file: "msdocs-arm-roleassignments-list-2022-04-01.json", assign: 1},
		{file: "msdocs-arm-roledefinition-get-reader-builtin.json", defs: 1, check: func(t *testing.T, g *graph.SourceGraph) {
			// No dataActions keys in this API version: still four arrays.
			want := `[{"actions":["*/read"],"notActions":[],"dataActions":[],"notDataActions":[]}]`
			if got := g.Nodes["azure:roledef:"+gReader].Attrs["permissions"]; got != want {
				t.Errorf("permissions = %s", got)
			}
		}},
		{file: "msdocs-arm-roledefinitions-list-customrole.json", defs: 1, check: func(t *testing.T, g *graph.SourceGraph) {
			n := g.Nodes["azure:roledef:{roledefinitionid1}"]
			var blocks []permBlock
			if err := json.Unmarshal([]byte(n.Attrs["permissions"]), &blocks); err != nil || len(blocks) != 1 ||
				len(blocks[0].Actions) != 8 || blocks[0].NotActions[0] != "Microsoft.CostManagement/exports/delete" || n.Attrs["type"] != "CustomRole" {
				t.Errorf("custom role = %+v (%v)", n, err)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := graph.NewCollection()
			em := newEmitter(c, tTenant)
			n, err := importExport(context.Background(), em, sharedSamples+tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if err := em.finish(); err != nil {
				t.Fatal(err)
			}
			if n != tc.defs+tc.assign || em.counts.RoleDefinitions != tc.defs || em.counts.RoleAssignments != tc.assign {
				t.Errorf("records = %d, counts = %+v; want %d definitions, %d assignments", n, em.counts, tc.defs, tc.assign)
			}
			if tc.check != nil {
				tc.check(t, c.Source("azure:"+tTenant))
			}
		})
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const okRA = `{"principalId":"p1","principalType":"User","roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/r1","scope":"/subscriptions/s1","name":"n1"}`

func TestFileErrors(t *testing.T) {
	capture := func(lines ...string) map[string]string {
		return map[string]string{"arm.jsonl": strings.Join(lines, "\n")}
	}
	for _, tc := range []struct {
		name   string
		files  map[string]string
		tenant string
		want   []string
	}{
		{"missing principal", map[string]string{"x.json": `[` + okRA + `,{"roleDefinitionId":"/a/roleDefinitions/r","scope":"/subscriptions/s","name":"n2"}]`},
			tTenant, []string{"x.json: record 1", "field principalId"}},
		{"bad scope", map[string]string{"x.json": `[{"principalId":"p","roleDefinitionId":"/a/roleDefinitions/r","scope":"subscriptions/s","name":"n"}]`},
			tTenant, []string{"x.json: record 0", "field scope"}},
		{"truncated", map[string]string{"x.json": `[` + okRA + `,{"principalId":"p"`}, tTenant, []string{"x.json", "record 1", "unexpected end of file"}},
		{"wrong type", map[string]string{"x.json": `[{"principalId": 5}]`}, tTenant, []string{"x.json", "record 0", "principalId"}},
		{"unknown record after known", map[string]string{"x.json": `[` + okRA + `,{"foo":1}]`}, tTenant, []string{"x.json: record 1", "not an Azure RBAC record"}},
		{"trailing data", map[string]string{"x.json": `[] []`}, tTenant, []string{"x.json", "trailing data"}},
		{"value not array", map[string]string{"x.json": `{"value": 3}`}, tTenant, []string{"x.json", "field value: want an array"}},
		{"page element error", map[string]string{"x.json": `{"value":[` + okRA + `,{"name":"n3","properties":{"principalId":"p","roleDefinitionId":"/x/roleDefinitions/r","scope":"nope"}}]}`},
			tTenant, []string{"x.json: value[1]", "field scope"}},
		{"no tenant", map[string]string{"x.json": `[` + okRA + `]`}, "", []string{"tenant unknown", "--tenant"}},
		{"empty dir", map[string]string{}, tTenant, []string{"holds no capture"}},
		{"malformed page", capture(`{"url":"https://m.example/subscriptions?api-version=2022-12-01","status":200,"body":{"value":[{"id":5}]}}`),
			tTenant, []string{"arm.jsonl:1 (/subscriptions)", "list subscriptions"}},
		{"page record error", capture(`{"url":"https://m.example/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01","status":200,"body":{"value":[{"name":"a","properties":{"roleDefinitionId":"/r/roleDefinitions/x"}}]}}`),
			tTenant, []string{"arm.jsonl:1", "list role assignments", "value[0]", "field principalId"}},
		{"fatal status", capture(`{"url":"https://m.example/subscriptions/s1/resourcegroups?api-version=2021-04-01","status":500,"body":{"error":{"code":"InternalServerError"}}}`),
			tTenant, []string{"arm.jsonl:1", "list resource groups failed with HTTP 500 InternalServerError"}},
		{"bad capture line", capture(`not json`), tTenant, []string{"arm.jsonl:1: not a page record"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			err := NewFile(dir, Options{Tenant: tc.tenant}).Collect(context.Background(), graph.NewCollection())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestFileCaptureDispatch(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		// Graph pages share the directory; they are skipped.
		"graph.jsonl": `{"url":"https://graph.microsoft.com/v1.0/users?$top=999","status":200,"body":{"value":[{"id":"u1"}]}}`,
		"arm.jsonl": strings.Join([]string{
			`{"url":"https://m.example/subscriptions?api-version=2022-12-01","status":200,"body":{"value":[{"id":"/subscriptions/S1","subscriptionId":"S1","tenantId":"` + tTenant + `","displayName":"one","state":"Enabled"}]}}`,
			// throttled then retried: no warning
			`{"url":"https://m.example/subscriptions/S1/resourcegroups?api-version=2021-04-01","status":429,"body":{"error":{"code":"TooManyRequests"}}}`,
			`{"url":"https://m.example/subscriptions/S1/resourcegroups?api-version=2021-04-01","status":200,"body":{"value":[{"id":"/subscriptions/S1/resourceGroups/RG","name":"RG"}]}}`,
			`{"url":"https://m.example/subscriptions/S1/providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01","status":403,"body":{"error":{"code":"AuthorizationFailed"}}}`,
			`{"url":"https://m.example/some/other/arm/path?api-version=1","status":200,"body":{}}`,
		}, "\n"),
	})
	c := graph.NewCollection()
	if err := NewFile(dir, Options{}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	g := sourceGraph(t, c)
	want := []string{"/subscriptions/S1: list deny assignments failed with HTTP 403 AuthorizationFailed; " + consequences[opDenyAssignments]}
	if d := cmp.Diff(want, g.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
	if _, ok := g.Edges[graph.EdgeKey{From: "azure:sub:s1", Kind: graph.EdgeContains, To: "azure:rg:/subscriptions/s1/resourcegroups/rg"}]; !ok {
		t.Error("resource group page not replayed")
	}
}

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want scopeRef
		ok   bool
	}{
		{"/", scopeRef{ID: "azure:mg:" + tTenant, Type: typeManagementGroup, ArmID: "/"}, true},
		{"/providers/Microsoft.Management/managementGroups/Corp", scopeRef{ID: "azure:mg:corp", Type: typeManagementGroup, ArmID: "/providers/Microsoft.Management/managementGroups/Corp"}, true},
		{"/subscriptions/ABC/", scopeRef{ID: "azure:sub:abc", Type: typeSubscription, ArmID: "/subscriptions/ABC"}, true},
		{"/subscriptions/ABC/resourceGroups/RG", scopeRef{ID: "azure:rg:/subscriptions/abc/resourcegroups/rg", Type: typeResourceGroup,
			ArmID: "/subscriptions/ABC/resourceGroups/RG", ParentArm: "/subscriptions/ABC"}, true},
		{"/subscriptions/a/resourceGroups/r/providers/Microsoft.Web/sites/w/slots/s", scopeRef{ID: "azure:res:/subscriptions/a/resourcegroups/r/providers/microsoft.web/sites/w/slots/s",
			Type: typeResource, ArmID: "/subscriptions/a/resourceGroups/r/providers/Microsoft.Web/sites/w/slots/s", ParentArm: "/subscriptions/a/resourceGroups/r"}, true},
		{"/subscriptions/a/providers/Microsoft.Security/pricings/x", scopeRef{ID: "azure:res:/subscriptions/a/providers/microsoft.security/pricings/x",
			Type: typeResource, ArmID: "/subscriptions/a/providers/Microsoft.Security/pricings/x", ParentArm: "/subscriptions/a"}, true},
		{"subscriptions/a", scopeRef{}, false},
		{"/subscriptions//x", scopeRef{}, false},
		{"", scopeRef{}, false},
	} {
		got, ok := parseScope(tTenant, tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseScope(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDescribePath(t *testing.T) {
	for _, tc := range []struct{ path, op, scope string }{
		{"/subscriptions", opSubscriptions, "tenant"},
		{"/providers/Microsoft.Management/getEntities", opEntities, "tenant"},
		{"/subscriptions/S/resourcegroups", opResourceGroups, "/subscriptions/S"},
		{"/subscriptions/S/providers/Microsoft.Authorization/roleAssignments", opRoleAssignments, "/subscriptions/S"},
		{"/providers/Microsoft.Management/managementGroups/M/providers/Microsoft.Authorization/roleAssignments", opRoleAssignments, "/providers/Microsoft.Management/managementGroups/M"},
		{"/subscriptions/S/providers/microsoft.authorization/roledefinitions", opRoleDefinitions, "/subscriptions/S"},
		{"/providers/Microsoft.Authorization/roleDefinitions/G", opRoleDefinition, "/"},
		{"/subscriptions/S/providers/Microsoft.Authorization/denyAssignments", opDenyAssignments, "/subscriptions/S"},
		{"/subscriptions/S/providers/Microsoft.Authorization/roleEligibilityScheduleInstances", opEligibility, "/subscriptions/S"},
		{"/v1.0/users", "", ""},
		{"/subscriptions/S/resourcegroups/rg", "", ""},
	} {
		op, scope, ok := describePath(tc.path)
		if op != tc.op || scope != tc.scope || ok != (tc.op != "") {
			t.Errorf("describePath(%q) = %q, %q, %v", tc.path, op, scope, ok)
		}
	}
}
