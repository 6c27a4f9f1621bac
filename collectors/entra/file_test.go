package entra

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

// sharedSample is a real Graph response shared by all helpers (see
// PROVENANCE.md there); tests read it in place, never copy it.
func sharedSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", "msgraph", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseSamples decodes the documented / captured Graph responses the
// way File does and checks the graph lines they produce.
func TestParseSamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file  string
		kind  pageKind
		owner string
		want  []string // lines that must be present in the dump
		count int      // number of node+edge lines
	}{
		{file: "msdocs-graph-v1-users-list.json", kind: pageUsers, count: 2, want: []string{
			`node entra:user:6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0 user name="Conf Room Adams" email="adams@contoso.com" external="false" mail="Adams@contoso.com" upn="Adams@contoso.com"`,
			`node entra:user:4562bcc8-c436-4f95-b7c0-4f8ce89dca5e user name="MOD Administrator" email="admin@contoso.com" external="false" upn="admin@contoso.com"`,
		}},
		{file: "demisto-graph-groups-list.json", kind: pageGroups, count: 2, want: []string{
			`node entra:group:TestDist group name="TestDist" email="testdist@demistodev.onmicrosoft.com" dynamic="false" group_types="[]" mail_enabled="true" role_assignable="false" security_enabled="false"`,
			`node entra:group:DemistoTeam group name="DemistoTeam" email="DemistoTeam@demistodev.onmicrosoft.com" dynamic="false" group_types="[\"Unified\"]" mail_enabled="true" role_assignable="false" security_enabled="false"`,
		}},
		{file: "msdocs-graph-v1-group-transitivemembers.json", kind: pageGroupMembers, owner: "g1", count: 1, want: []string{
			`edge entra:user:11111111-2222-3333-4444-555555555555 -MemberOf-> entra:group:g1 [graph:/groups/g1/members||]`,
		}},
		// A cast response carries no @odata.type: the objects are plain
		// directoryObjects and must not be guessed into users.
		{file: "msdocs-graph-v1-group-transitivemembers-microsoft.graph.group-cast.json", kind: pageGroupMembers, owner: "g1", count: 0},
		{file: "msdocs-graph-v1-group-transitivemembers-microsoft.graph.group-cast.json", kind: pageGroups, count: 2, want: []string{
			`node entra:group:4d0ef681-e88f-42a3-a2db-e6bf1e249e10 group name="Executives" email="Executives@contoso.com" dynamic="false" group_types="[]" mail_enabled="true" role_assignable="false"`,
		}},
		// A mixed directoryObject page (delta) dispatches on @odata.type.
		{file: "msdocs-graph-v1-directoryobjects-delta-page1.json", kind: pageGroupOwners, owner: "g2", count: 1, want: []string{
			`edge entra:user:87d349ed-44d7-43e1-9a83-5f2406dee5bd -Owns-> entra:group:g2 [graph:/groups/g2/owners||]`,
		}},
		{file: "msdocs-graph-v1-directory-roleassignments-expand-principal.json", kind: pageRoleAssignments, count: 3, want: []string{
			`edge entra:user:ace08ec9-aa11-4ada-9145-addf0398233e -HasRole-> entra:role:62e90394-69f5-4237-9190-012177145e10 scope="/" [lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1|/|]`,
		}},
		// Without $expand the principal is unknown unless listed: skipped
		// with a warning, never guessed.
		{file: "msdocs-graph-v1-directory-roleassignments-filter-principalid.json", kind: pageRoleAssignments, count: 0, want: []string{
			`warn entra: role assignment lAPpYvVpN0KRkAEhdxReEHJ1hPGqSKpHlqMuxhkE9B8-1: principal f1847572-48aa-47aa-96a3-2ec61904f41f is not a listed user, group or service principal; skipped`,
		}},
	} {
		t.Run(tc.file+"/"+tc.owner+string(rune('0'+tc.kind)), func(t *testing.T) {
			t.Parallel()
			pg, err := parsePage(tc.kind, sharedSample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			c := graph.NewCollection()
			b := newBuilder(c, "azure:t")
			if err := b.apply(tc.kind, tc.owner, pg); err != nil {
				t.Fatal(err)
			}
			if err := b.finish(); err != nil {
				t.Fatal(err)
			}
			got := dump(c)
			n := 0
			for _, l := range got {
				if strings.HasPrefix(l, "node ") || strings.HasPrefix(l, "edge ") {
					n++
				}
			}
			if n != tc.count {
				t.Errorf("%d node/edge lines, want %d:\n%s", n, tc.count, strings.Join(got, "\n"))
			}
			for _, w := range tc.want {
				if !contains(got, w) {
					t.Errorf("missing\n  %s\nin\n  %s", w, strings.Join(got, "\n  "))
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path  string
		kind  pageKind
		owner string
	}{
		{"/v1.0/users", pageUsers, ""},
		{"/v1.0/groups/abc/members", pageGroupMembers, "abc"},
		{"/v1.0/groups/abc/owners", pageGroupOwners, "abc"},
		{"/v1.0/servicePrincipals/sp1", pageServicePrincipal, "sp1"},
		{"/v1.0/serviceprincipals/sp1/approleassignedto", pageSPAppRoleAssignedTo, "sp1"},
		{"/prefix/v1.0/roleManagement/directory/roleEligibilitySchedules", pageRoleEligibility, ""},
		{"/v1.0/me", pageUnknown, ""},
		{"/beta/users", pageUnknown, ""},
	} {
		k, owner := classify(tc.path)
		if k != tc.kind || owner != tc.owner {
			t.Errorf("classify(%q) = %v, %q; want %v, %q", tc.path, k, owner, tc.kind, tc.owner)
		}
	}
}

func writeCapture(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CaptureFile), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	users := `{"url":"https://graph.microsoft.com/v1.0/users?$top=999","status":200,"body":{"value":[{"id":"u1","userPrincipalName":"u@x"}]}}`
	org := `{"url":"https://graph.microsoft.com/v1.0/organization","status":200,"body":{"value":[{"id":"T1","displayName":"X"}]}}`
	for _, tc := range []struct {
		name   string
		lines  []string
		tenant string
		want   string
		is     error
	}{
		{name: "no organization", lines: []string{users}, want: "pass --tenant", is: ErrNoTenant},
		{name: "bad body", lines: []string{org, `{"url":"https://graph.microsoft.com/v1.0/groups","status":200,"body":"<html>"}`},
			want: "graph.jsonl:2 (/v1.0/groups): page body is not a JSON object"},
		{name: "unknown path", lines: []string{org, `{"url":"https://graph.microsoft.com/v1.0/me","status":200,"body":{}}`},
			want: "unexpected Graph path /v1.0/me"},
		{name: "fatal status", lines: []string{org, `{"url":"https://graph.microsoft.com/v1.0/groups","status":401,"body":{"error":{"code":"InvalidAuthenticationToken"}}}`},
			want: "HTTP 401 (InvalidAuthenticationToken)"},
		{name: "tenant mismatch", lines: []string{org}, tenant: "T2", want: "is of tenant t1, not T2"},
		// The pipelined replay reads ahead; the first error in file order
		// still wins, whether the builder or the reader finds it.
		{name: "builder error before a broken line", lines: []string{org, users,
			`{"url":"https://graph.microsoft.com/v1.0/groups","status":401,"body":{"error":{"code":"InvalidAuthenticationToken"}}}`,
			users, `{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":{"value":[BROKEN`},
			want: "graph.jsonl:3 (/v1.0/groups): the live run got HTTP 401"},
		{name: "broken line after good pages", lines: []string{org, users, users, `{"url":"https://graph.microsoft.com/v1.0/users","status":`},
			want: "graph.jsonl:4: not a page record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeCapture(t, tc.lines...)
			err := NewFile(dir, Options{Tenant: tc.tenant}).Collect(t.Context(), graph.NewCollection())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.is)
			}
		})
	}
	t.Run("tenant flag without organization page", func(t *testing.T) {
		t.Parallel()
		c := graph.NewCollection()
		if err := NewFile(writeCapture(t, users), Options{Tenant: "T9"}).Collect(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"source azure:t9",
			`node entra:tenant:t9 scope name="t9" type="tenant"`,
			`node entra:user:u1 user name="" email="u@x" external="false" upn="u@x"`,
		}
		if d := cmp.Diff(want, dump(c)); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}

// FuzzEntraPage feeds arbitrary bodies to the offline page parser for
// every page kind: it may reject them, never panic.
func FuzzEntraPage(f *testing.F) {
	for _, s := range []string{
		"msdocs-graph-v1-users-list.json", "demisto-graph-groups-list.json",
		"msdocs-graph-v1-directoryobjects-delta-page1.json", "msdocs-graph-v1-directory-roleassignments-expand-principal.json",
	} {
		f.Add(uint8(pageUsers), sharedSample(f, s))
	}
	f.Add(uint8(pageServicePrincipal), []byte(`{"id":"x","appRoles":[{"id":"9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8","value":"v"}]}`))
	f.Add(uint8(pageSPAppRoleAssignedTo), []byte(`{"value":[{"principalId":"not-a-guid","appRoleId":null}]}`))
	f.Add(uint8(pageGroupMembers), []byte(`{"value":[{"@odata.type":"#microsoft.graph.user"}],"@odata.nextLink":5}`))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		k := pageKind(kind%uint8(pageRoleEligibility)) + 1
		pg, err := parsePage(k, body)
		if err != nil {
			return
		}
		b := newBuilder(graph.NewCollection(), "azure:fuzz")
		_ = b.apply(k, "owner", pg) // may reject items without ids
		if err := b.finish(); err != nil {
			t.Fatalf("finish: %v", err)
		}
	})
}

// TestSurveyCountsRecords: the size hint counts the ids of directory
// objects (nodes) and of member / owner lists (edges) in a capture, and
// replay reserves that much in a sink that can.
func TestSurveyCountsRecords(t *testing.T) {
	dir := t.TempDir()
	lines := []string{
		`{"url":"https://graph.microsoft.com/v1.0/organization","status":200,"body":{"value":[{"id":"t1","displayName":"T"}]}}`,
		`{"url":"https://graph.microsoft.com/v1.0/users?$select=id","status":200,"body":{"value":[{"id":"u1"},{"id":"u2"},{"id":"u3"}]}}`,
		`{"url":"https://graph.microsoft.com/v1.0/groups","status":200,"body":{"value":[{"id":"g1"}]}}`,
		`{"url":"https://graph.microsoft.com/v1.0/groups/g1/members","status":200,"body":{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1"},{"@odata.type":"#microsoft.graph.user","id":"u2"}]}}`,
		`{"url":"https://graph.microsoft.com/v1.0/groups/g1/owners","status":429,"body":{"error":{"code":"TooManyRequests"}}}`,
		`{"url":"https://graph.microsoft.com/v1.0/groups/g1/owners","status":200,"body":{"value":[{"@odata.type":"#microsoft.graph.user","id":"u3"}]}}`,
	}
	file := filepath.Join(dir, CaptureFile)
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes, edges, err := survey(t.Context(), file)
	if err != nil {
		t.Fatal(err)
	}
	if nodes != 4 || edges != 3 {
		t.Errorf("survey = %d nodes, %d edges; want 4, 3", nodes, edges)
	}
	if _, _, err := survey(t.Context(), filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Error("survey of a missing file: no error")
	}
}
