package azure

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestDirectoryRoleTemplateIDs checks the template ids the escalation rules
// use against the shared Entra role list.
func TestDirectoryRoleTemplateIDs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedCatalog, "entra-directory-role-template-ids.json"))
	if err != nil {
		t.Skipf("shared Azure catalog not available: %v", err)
	}
	var ids map[string]struct {
		TemplateID string `json:"template_id"`
	}
	if err := json.Unmarshal(raw, &ids); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"GlobalAdministrator":           roleGlobalAdmin,
		"PrivilegedRoleAdministrator":   rolePrivilegedRole,
		"GroupsAdministrator":           roleGroupsAdmin,
		"UserAdministrator":             roleUserAdmin,
		"ApplicationAdministrator":      roleApplicationAdmin,
		"CloudApplicationAdministrator": roleCloudAppAdmin,
	} {
		if got := ids[name].TemplateID; got != want {
			t.Errorf("%s template id = %q, code uses %q", name, got, want)
		}
	}
}
