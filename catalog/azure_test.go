package catalog

import (
	"strings"
	"testing"
)

// TestAzureRecipes checks that every Azure recipe parses with the fields the
// Azure evaluator relies on: Azure-shaped action names (Provider/type/verb),
// identity only as the UAMI assign action, and a source.
func TestAzureRecipes(t *testing.T) {
	d, err := LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Azure) < 15 {
		t.Fatalf("azure catalog has %d recipes", len(d.Azure))
	}
	ids := map[string]bool{}
	identity := 0
	for _, r := range d.Azure {
		if ids[r.ID] {
			t.Errorf("duplicate recipe id %s", r.ID)
		}
		ids[r.ID] = true
		if r.Service == "" || r.Source == "" {
			t.Errorf("recipe %s: service and source are required", r.ID)
		}
		if r.PassRoleTo != "" {
			t.Errorf("recipe %s: pass_role_to is AWS-only", r.ID)
		}
		for _, a := range append(append([]string{}, r.Actions...), r.DataActions...) {
			if !strings.HasPrefix(a, "Microsoft.") || strings.Count(a, "/") < 2 || strings.ContainsAny(a, "* ") {
				t.Errorf("recipe %s: %q is not a concrete Azure action", r.ID, a)
			}
		}
		switch r.Identity {
		case "":
		case "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action":
			identity++
		default:
			t.Errorf("recipe %s: unexpected identity permission %q", r.ID, r.Identity)
		}
	}
	for _, want := range []string{"aci-create-container-group", "containerapps-write", "containerapps-job-start",
		"aks-list-admin-credential", "aks-run-command", "aks-rbac-pods-write", "appservice-site-config-write", "aci-exec"} {
		if !ids[want] {
			t.Errorf("recipe %s missing", want)
		}
	}
	if identity == 0 {
		t.Error("no recipe names the UAMI assign permission")
	}
}
