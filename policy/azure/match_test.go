package azure

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedCatalog is the read-only Azure data of the design folder; tests read
// it in place and skip when it is absent (it is never copied into the repo).
var sharedCatalog = filepath.Join("..", "..", "..", "shared", "catalog", "azure")

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		strict, lenient bool
	}{
		{"*", "Microsoft.App/containerApps/write", true, true},
		{"Microsoft.App/*", "microsoft.app/containerapps/write", true, true},
		{"MICROSOFT.CONTAINERINSTANCE/containerGroups/*", "Microsoft.ContainerInstance/containerGroups/write", true, true},
		// The /*/ trap: a strict glob needs at least "//" around the star.
		{"Microsoft.App/containerApps/*/write", "Microsoft.App/containerApps/write", false, true},
		{"Microsoft.App/containerApps/*/write", "Microsoft.App/containerApps/revisions/write", true, true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", false, true},
		// Collapsing removes one segment's star, not the whole tail.
		{"Microsoft.App/containerApps/*/write", "Microsoft.App/containerAppswrite", false, false},
		{"Microsoft.App/*/*/write", "Microsoft.App/write", false, true},
		{"*/read", "Microsoft.App/containerApps/write", false, false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true, true},
		{"", "", true, true},
		{"a", "", false, false},
	}
	for _, tc := range tests {
		if got := MatchAction(tc.pattern, tc.action, Strict); got != tc.strict {
			t.Errorf("strict %q ~ %q = %v, want %v", tc.pattern, tc.action, got, tc.strict)
		}
		if got := MatchAction(tc.pattern, tc.action, Lenient); got != tc.lenient {
			t.Errorf("lenient %q ~ %q = %v, want %v", tc.pattern, tc.action, got, tc.lenient)
		}
	}
}

func TestGrantsNotActionsSubtractPerBlock(t *testing.T) {
	ps, err := ParsePermissions(`[{"actions":["*"],"notActions":["Microsoft.ContainerInstance/*"]},
		{"Actions":["Microsoft.ContainerInstance/containerGroups/write"],"condition":"@Resource[x] StringEquals 'y'"}]`)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := ps.Grants("Microsoft.ContainerInstance/containerGroups/write", false, Lenient)
	if !ok || g.Block != 1 || g.Condition == "" {
		t.Fatalf("second block must grant conditionally, got %+v %v", g, ok)
	}
	if _, ok := ps.Grants("Microsoft.ContainerService/managedClusters/pods/write", true, Lenient); ok {
		t.Fatal("control-plane * must not grant a data action")
	}
	if g, ok := ps.Grants("Microsoft.Web/sites/write", false, Lenient); !ok || g.Pattern != "*" || g.Condition != "" {
		t.Fatalf("sites/write: %+v %v", g, ok)
	}
}

type builtinRole struct {
	Name        string          `json:"name"`
	RoleName    string          `json:"roleName"`
	Permissions json.RawMessage `json:"permissions"`
}

type expectedRole struct {
	RoleName  string `json:"roleName"`
	ID        string `json:"id"`
	Condition bool   `json:"condition"`
}

type expectedAction struct {
	Roles       []expectedRole `json:"roles"`
	LenientOnly []string       `json:"lenient_only"`
}

// TestBuiltinRolesMatchComputedMapping runs the matcher over the 928 real
// built-in role definitions and compares, for every deploy/escalation action
// of the shared catalog, the roles that grant it with the precomputed mapping:
// Strict must give exactly "roles", Lenient "roles" plus "lenient_only". The
// condition flag (granting block carries an ABAC condition) must agree too.
func TestBuiltinRolesMatchComputedMapping(t *testing.T) {
	rawRoles, err := os.ReadFile(filepath.Join(sharedCatalog, "built-in-roles-raw.json"))
	if err != nil {
		t.Skipf("shared Azure catalog not available: %v", err)
	}
	rawExpected, err := os.ReadFile(filepath.Join(sharedCatalog, "azure-deploy-privesc-roles.json"))
	if err != nil {
		t.Skipf("shared Azure catalog not available: %v", err)
	}
	var roles []builtinRole
	if err := json.Unmarshal(rawRoles, &roles); err != nil {
		t.Fatal(err)
	}
	var expected struct {
		Control map[string]expectedAction `json:"control_plane_actions"`
		Data    map[string]expectedAction `json:"data_actions"`
	}
	if err := json.Unmarshal(rawExpected, &expected); err != nil {
		t.Fatal(err)
	}
	parsed := make([]Permissions, len(roles))
	for i, r := range roles {
		ps, err := ParsePermissions(string(r.Permissions))
		if err != nil {
			t.Fatalf("role %s: %v", r.RoleName, err)
		}
		parsed[i] = ps
	}
	check := func(action string, data bool, exp expectedAction) {
		t.Helper()
		var wantStrict, wantLenient []string
		for _, r := range exp.Roles {
			wantStrict = append(wantStrict, label(r.RoleName, r.Condition))
		}
		wantLenient = append(wantLenient, wantStrict...)
		for _, n := range exp.LenientOnly {
			wantLenient = append(wantLenient, label(n, false))
		}
		for _, mode := range []Mode{Strict, Lenient} {
			var got []string
			for i, r := range roles {
				if g, ok := parsed[i].Grants(action, data, mode); ok {
					got = append(got, label(r.RoleName, g.Condition != ""))
				}
			}
			want := wantStrict
			if mode == Lenient {
				want = wantLenient
			}
			sort.Strings(got)
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (%s, data=%v) roles mismatch (-want +got):\n%s", action, mode, data, diff)
			}
		}
	}
	if len(expected.Control) < 20 || len(expected.Data) < 5 {
		t.Fatalf("expected mapping looks truncated: %d control, %d data actions", len(expected.Control), len(expected.Data))
	}
	for a, exp := range expected.Control {
		check(a, false, exp)
	}
	for a, exp := range expected.Data {
		check(a, true, exp)
	}
}

func label(name string, cond bool) string {
	if cond {
		return name + " [condition]"
	}
	return name
}
