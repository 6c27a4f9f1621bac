package catalog

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

const (
	sharedGCP      = "../../shared/catalog/gcp/"
	compactRolesIn = sharedGCP + "gcp-role-permissions.compact.json"
)

func loadGCPRoles(t *testing.T) *GCPRoles {
	t.Helper()
	c, err := LoadGCPRoles()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readShared reads a file of ../shared, skipping the test when the shared
// data is not checked out next to the module.
func readShared(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s not present", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGCPRolesReproducible regenerates the embedded catalog from ../shared
// and compares bytes: the file is generated, never edited by hand, and the
// generator is deterministic.
func TestGCPRolesReproducible(t *testing.T) {
	in := readShared(t, compactRolesIn)
	var buf bytes.Buffer
	if _, _, err := WriteGCPRolesGzip(in, &buf); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir() + "/gcp-roles.tsv.gz"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, gcpRolesGz) {
		t.Fatalf("catalog/gcp-roles.tsv.gz (%d bytes) differs from a fresh generation (%d bytes): run go generate ./catalog", len(gcpRolesGz), len(again))
	}
	if len(gcpRolesGz) > 256<<10 {
		t.Errorf("embedded GCP role catalog is %d bytes; keep it under 256 KiB", len(gcpRolesGz))
	}
}

func TestGCPRolesContent(t *testing.T) {
	c := loadGCPRoles(t)
	if c.Len() < 2000 || c.NumPermissions() < 10000 {
		t.Fatalf("catalog has %d roles / %d permissions, want the full predefined set", c.Len(), c.NumPermissions())
	}
	for _, tc := range []struct {
		role, perm string
		want       bool
	}{
		{"roles/run.developer", "run.services.create", true},
		{"roles/run.developer", "iam.serviceAccounts.actAs", false},
		{"roles/run.developer", "run.services.setIamPolicy", false},
		{"roles/editor", "iam.serviceAccounts.actAs", true},
		{"roles/editor", "resourcemanager.projects.setIamPolicy", false},
		{"roles/owner", "resourcemanager.projects.setIamPolicy", true},
		{"roles/iam.serviceAccountUser", "iam.serviceAccounts.actAs", true},
		{"roles/viewer", "run.services.create", false},
	} {
		if got := c.Has(tc.role, tc.perm); got != tc.want {
			t.Errorf("Has(%s, %s) = %v, want %v", tc.role, tc.perm, got, tc.want)
		}
		perms, ok := c.Permissions(tc.role)
		if !ok {
			t.Errorf("Permissions(%s): role missing", tc.role)
		}
		if _, found := slices.BinarySearch(perms, tc.perm); found != tc.want {
			t.Errorf("Permissions(%s) contains %s = %v, want %v", tc.role, tc.perm, found, tc.want)
		}
	}
	if _, ok := c.Permissions("projects/p/roles/custom"); ok {
		t.Error("a custom role name must not be found in the predefined catalog")
	}
	if r, ok := c.Role("roles/run.developer"); !ok || r.Title != "Cloud Run Developer" || r.Stage != "GA" {
		t.Errorf("Role(roles/run.developer) = %+v, %v", r, ok)
	}
	if got := c.RolesWith("no.such.permission"); got != nil {
		t.Errorf("RolesWith(unknown) = %v", got)
	}
}

// TestGCPRolesMatchExpectations checks the catalog against the expectations
// computed independently in ../shared: the key-role matrix (each key role's
// key permissions) and permission -> roles for every deploy/privesc
// permission.
func TestGCPRolesMatchExpectations(t *testing.T) {
	c := loadGCPRoles(t)
	var byPerm map[string][]string
	if err := json.Unmarshal(readShared(t, sharedGCP+"gcp-deploy-privesc-permission-to-roles.json"), &byPerm); err != nil {
		t.Fatal(err)
	}
	for perm, want := range byPerm {
		got := c.RolesWith(perm)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("RolesWith(%s): got %d roles, want %d\n got %v\nwant %v", perm, len(got), len(want), got, want)
		}
	}
	var matrix map[string][]string
	if err := json.Unmarshal(readShared(t, sharedGCP+"gcp-key-role-matrix.json"), &matrix); err != nil {
		t.Fatal(err)
	}
	if len(matrix) < 20 {
		t.Fatalf("key-role matrix has %d roles", len(matrix))
	}
	for role, want := range matrix {
		perms, ok := c.Permissions(role)
		if !ok {
			t.Errorf("key role %s missing", role)
			continue
		}
		// The matrix lists the key permissions (those of the deploy/privesc
		// table) the role holds.
		var got []string
		for _, p := range perms {
			if _, key := byPerm[p]; key {
				got = append(got, p)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s key permissions:\n got %v\nwant %v", role, got, want)
		}
	}
}

// TestDeployGCPPermissionsExist: every permission a GCP recipe names must be
// granted by some predefined role, so a typo cannot silently disable a
// recipe.
func TestDeployGCPPermissionsExist(t *testing.T) {
	c := loadGCPRoles(t)
	d, err := LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.GCP) < 10 {
		t.Fatalf("deploy-gcp.yaml has %d recipes", len(d.GCP))
	}
	ids := map[string]bool{}
	for _, r := range d.GCP {
		if ids[r.ID] {
			t.Errorf("duplicate recipe id %s", r.ID)
		}
		ids[r.ID] = true
		names := slices.Clone(r.Actions)
		if r.Identity != "" {
			names = append(names, r.Identity)
		}
		for _, p := range names {
			if !c.PermissionKnown(p) {
				t.Errorf("recipe %s names %s, which no predefined role grants", r.ID, p)
			}
		}
		if len(r.DataActions) > 0 || r.PassRoleTo != "" {
			t.Errorf("recipe %s: data_actions / pass_role_to are not GCP fields", r.ID)
		}
	}
	// Spot checks that tie the recipes to the role data: run.developer
	// holds the Cloud Run create recipe's actions but not its identity.
	for _, r := range d.GCP {
		if r.ID != "run-services-create" {
			continue
		}
		for _, a := range r.Actions {
			if !c.Has("roles/run.developer", a) {
				t.Errorf("roles/run.developer lacks %s", a)
			}
		}
		if c.Has("roles/run.developer", r.Identity) {
			t.Errorf("roles/run.developer unexpectedly has %s", r.Identity)
		}
	}
}

func TestParseGCPRolesRejectsDamage(t *testing.T) {
	for _, in := range []string{
		"p\tb\np\ta\n",                         // permissions out of order
		"p\ta\nr\troles/x\tGA\tX\t5\n",         // index out of range
		"p\ta\np\tb\nr\troles/x\tGA\tX\t1,0\n", // duplicate (zero delta)
		"x\ty\n",
	} {
		if _, err := parseGCPRoles(bytes.NewReader([]byte(in))); err == nil {
			t.Errorf("parseGCPRoles(%q) accepted damaged input", in)
		}
	}
}
