package azure

import (
	"strings"
	"testing"
)

// refMatch is an exponential reference matcher straight from the rule's
// wording: `*` matches any run; in lenient mode a `*` between two slashes
// may instead swallow its following `/` (so `/*/` matches a single `/`).
func refMatch(p, s string, i int, lenient bool) bool {
	if i == len(p) {
		return s == ""
	}
	if p[i] == '*' {
		if lenient && i > 0 && p[i-1] == '/' && i+1 < len(p) && p[i+1] == '/' && refMatch(p, s, i+2, lenient) {
			return true
		}
		for k := 0; k <= len(s); k++ {
			if refMatch(p, s[k:], i+1, lenient) {
				return true
			}
		}
		return false
	}
	return s != "" && p[i] == s[0] && refMatch(p, s[1:], i+1, lenient)
}

// FuzzAzureMatch checks the matcher against the reference, its invariants
// (strict implies lenient, case-insensitivity, literal patterns are
// EqualFold) and that the permissions parser never panics.
func FuzzAzureMatch(f *testing.F) {
	seeds := [][2]string{
		{"Microsoft.App/containerApps/*/write", "Microsoft.App/containerApps/write"},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "microsoft.managedidentity/userassignedidentities/assign/action"},
		{"*/read", "Microsoft.Web/sites/read"},
		{"a/*/*/b", "a/b"},
		{"/*/", "/"},
		{"*", ""},
		{`[{"actions":["*"],"notActions":["Microsoft.Authorization/*/Write"]}]`, "Microsoft.Authorization/roleAssignments/write"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, action string) {
		strict := MatchAction(pattern, action, Strict)
		lenient := MatchAction(pattern, action, Lenient)
		if strict && !lenient {
			t.Fatalf("%q ~ %q: strict match but not lenient", pattern, action)
		}
		if !strings.Contains(pattern, "*") && strict != strings.EqualFold(pattern, action) && strings.ToLower(pattern) != strings.ToLower(action) {
			t.Fatalf("literal %q ~ %q = %v", pattern, action, strict)
		}
		if MatchAction(strings.ToUpper(pattern), strings.ToLower(action), Lenient) != MatchAction(strings.ToLower(pattern), strings.ToLower(action), Lenient) {
			t.Fatalf("%q ~ %q: case changes the answer", pattern, action)
		}
		if len(pattern) <= 16 && len(action) <= 24 && strings.Count(pattern, "*") <= 4 {
			p, s := strings.ToLower(pattern), strings.ToLower(action)
			if want := refMatch(p, s, 0, false); strict != want {
				t.Fatalf("strict %q ~ %q = %v, reference %v", pattern, action, strict, want)
			}
			if want := refMatch(p, s, 0, true); lenient != want {
				t.Fatalf("lenient %q ~ %q = %v, reference %v", pattern, action, lenient, want)
			}
		}
		if ps, err := ParsePermissions(pattern); err == nil {
			ps.Grants(action, false, Lenient)
			ps.Grants(action, true, Strict)
		}
	})
}
