package workspace

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

const (
	sampleDir = "../../../shared/testdata/gworkspace/"
	base      = "https://admin.googleapis.com/admin/directory/v1/"
)

func sample(t testing.TB, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(sampleDir + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeCapture writes pages as a rawcapture JSON-lines file and returns its
// directory.
func writeCapture(t *testing.T, pages ...rawcapture.Page) string {
	t.Helper()
	dir := t.TempDir()
	var sb strings.Builder
	for _, p := range pages {
		b, err := json.Marshal(rawcapture.Page{URL: p.URL, Status: p.Status, Body: compactJSON(t, p.Body)})
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, CaptureFile), []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func compactJSON(t *testing.T, b json.RawMessage) json.RawMessage {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return b // deliberately malformed pages are written as they are
	}
	out, _ := json.Marshal(v)
	return out
}

func ok(url string, body json.RawMessage) rawcapture.Page {
	return rawcapture.Page{URL: url, Status: 200, Body: body}
}

// TestReplaySamples maps the real Directory API samples in
// shared/testdata/gworkspace (forseti-security and demisto fixtures).
func TestReplaySamples(t *testing.T) {
	var memberPages []json.RawMessage
	if err := json.Unmarshal(sample(t, "forseti-directory-members-list-2pages.json"), &memberPages); err != nil {
		t.Fatal(err)
	}
	// users.insert answers one user with the full projection (addresses,
	// phones, organizations); wrapped as a list page it checks that those
	// fields decode.
	inserted := json.RawMessage(`{"kind":"admin#directory#users","users":[` + string(sample(t, "demisto-directory-user-insert-response.json")) + `]}`)
	dir := writeCapture(t,
		ok(base+"users?customer=my_customer&maxResults=500&alt=json", sample(t, "forseti-directory-users-list.json")),
		ok(base+"users?customer=my_customer&pageToken=x", inserted),
		ok(base+"groups?customer=my_customer", sample(t, "forseti-directory-groups-list.json")),
		ok(base+"groups/11111/members?maxResults=200", memberPages[0]),
		ok(base+"groups/11111/members?pageToken=p2", memberPages[1]),
		ok(base+"customer/my_customer/roleassignments", sample(t, "demisto-directory-roleassignments-list.json")),
		ok("https://admin.googleapis.com/admin/directory/v1/customers/my_customer", json.RawMessage(`{"kind":"admin#directory#customer","id":"C0ignored"}`)),
	)
	c := graph.NewCollection()
	f := NewFile(dir, Options{Customer: "C0sample"})
	if err := f.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	g := c.Source("google:C0sample")
	byID := func(id string) graph.Node {
		t.Helper()
		n, ok := g.Nodes[id]
		if !ok {
			t.Fatalf("node %s missing; have %v", id, keys(g.Nodes))
		}
		return n
	}
	f0 := "false"
	for _, tc := range []struct {
		id   string
		want graph.Node
	}{
		{"gws:user:12345", graph.Node{ID: "gws:user:12345", Kind: graph.NodeUser, Name: "A User", Email: "auser@mydomain.test",
			Attrs: map[string]string{"suspended": f0, "is_admin": f0, "is_delegated_admin": f0, "aliases": "[]"}}},
		// name without fullName falls back to the email
		{"gws:user:113088517730792434177", graph.Node{ID: "gws:user:113088517730792434177", Kind: graph.NodeUser, Name: "newuser@domain.io",
			Email: "newuser@domain.io", Attrs: map[string]string{"suspended": f0, "is_admin": f0, "is_delegated_admin": f0, "aliases": "[]", "created": "creation time"}}},
		{"gws:group:11111", graph.Node{ID: "gws:group:11111", Kind: graph.NodeGroup, Name: "aaaaa", Email: "aaaaa@foo.com",
			Attrs: map[string]string{"aliases": `["aaaaa@foo.com"]`, "direct_members_count": "1"}}},
		{"gcp:sa:writer@my-gcp-project.iam.gserviceaccount.com", graph.Node{ID: "gcp:sa:writer@my-gcp-project.iam.gserviceaccount.com",
			Kind: graph.NodeServiceAccount, Name: "writer@my-gcp-project.iam.gserviceaccount.com", Email: "writer@my-gcp-project.iam.gserviceaccount.com"}},
		// mydomain.com is none of the capture's user or group domains
		{"gws:external:myuser2@mydomain.com", graph.Node{ID: "gws:external:myuser2@mydomain.com", Kind: graph.NodeUser,
			Name: "myuser2@mydomain.com", Email: "myuser2@mydomain.com", Attrs: map[string]string{"external": "true"}}},
		// a member with only an id
		{"gws:user:33333", graph.Node{ID: "gws:user:33333", Kind: graph.NodeUser}},
		// an assignment without assigneeType to an unlisted id
		{"gws:principal:102585217528814888330", graph.Node{ID: "gws:principal:102585217528814888330", Kind: graph.NodeServiceAccount,
			Attrs: map[string]string{"unique_id": "102585217528814888330"}}},
		{"gws:role:13801188331880449", graph.Node{ID: "gws:role:13801188331880449", Kind: graph.NodeRoleDefinition}},
	} {
		if d := cmp.Diff(tc.want, byID(tc.id)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.id, d)
		}
	}
	if n := len(g.Nodes); n != 12 {
		t.Errorf("nodes = %d, want 12 (2 users, 3 groups, 5 members, principal, role): %v", n, keys(g.Nodes))
	}
	owner := g.Edges[graph.EdgeKey{From: "gws:external:myuser2@mydomain.com", Kind: graph.EdgeMemberOf, To: "gws:group:11111"}]
	if owner.Attrs["role"] != "OWNER" || owner.Attrs["type"] != "USER" {
		t.Errorf("myuser2 membership = %+v, want OWNER USER", owner)
	}
	role := g.Edges[graph.EdgeKey{From: "gws:principal:102585217528814888330", Kind: graph.EdgeHasRole, To: "gws:role:13801188331880449"}]
	want := graph.Edge{From: "gws:principal:102585217528814888330", Kind: graph.EdgeHasRole, To: "gws:role:13801188331880449",
		Attrs:    map[string]string{"scope": "CUSTOMER"},
		Evidence: []graph.Evidence{{Source: "directory:roleassignments/13801188331880449", Statement: "CUSTOMER"}}}
	if d := cmp.Diff(want, role); d != "" {
		t.Errorf("role assignment (-want +got):\n%s", d)
	}
	if cnt := f.Counts(); cnt.Memberships != 5 || cnt.Users != 2 || cnt.Groups != 3 || cnt.RoleAssignments != 1 {
		t.Errorf("counts = %+v", cnt)
	}
}

func keys(m map[string]graph.Node) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestReplayErrors(t *testing.T) {
	users := sample(t, "forseti-directory-users-list.json")
	for _, tc := range []struct {
		name  string
		o     Options
		pages []rawcapture.Page
		want  []string
	}{
		{"error answer", Options{Customer: "C1"}, []rawcapture.Page{ok(base+"users", users),
			{URL: base + "groups", Status: 403, Body: sample(t, "forseti-directory-error-403.json")}},
			[]string{"directory.jsonl:2 (/admin/directory/v1/groups)", "HTTP 403", base + "groups"}},
		{"malformed page", Options{Customer: "C1"}, []rawcapture.Page{ok(base+"users", users),
			ok(base+"groups/11111/members", json.RawMessage(`{"kind":"admin#directory#members","members":{"id":1}}`))},
			[]string{"directory.jsonl:2", "malformed page from " + base + "groups/11111/members"}},
		{"no customer id", Options{}, []rawcapture.Page{ok(base+"users", users)}, []string{"pass --customer"}},
		{"no users", Options{Customer: "C1"}, []rawcapture.Page{ok(base+"groups", sample(t, "forseti-directory-groups-list.json"))},
			[]string{"no users.list page"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCapture(t, tc.pages...)
			err := NewFile(dir, tc.o).Collect(context.Background(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("empty dir", func(t *testing.T) {
		err := NewFile(t.TempDir(), Options{}).Collect(context.Background(), graph.NewCollection())
		if err == nil || !strings.Contains(err.Error(), "no raw capture") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		path  string
		kind  pageKind
		group string
	}{
		{"/admin/directory/v1/users", pageUsers, ""},
		{"/proxy/google/admin/directory/v1/groups", pageGroups, ""},
		{"/admin/directory/v1/groups/03x%2Fy/members", pageMembers, "03x/y"},
		{"/admin/directory/v1/customer/my_customer/roles", pageRoles, ""},
		{"/admin/directory/v1/customer/C1/roleassignments", pageRoleAssignments, ""},
		{"/admin/directory/v1/customers/my_customer", pageUnknown, ""},
		{"/v1/projects/p:getIamPolicy", pageUnknown, ""},
	} {
		k, g := classify(tc.path)
		if k != tc.kind || g != tc.group {
			t.Errorf("classify(%q) = %v %q, want %v %q", tc.path, k, g, tc.kind, tc.group)
		}
	}
}

// FuzzWorkspacePage feeds arbitrary bodies to every page parser: no input
// may panic, and whatever is accepted must be a valid graph.
func FuzzWorkspacePage(f *testing.F) {
	var memberPages []json.RawMessage
	json.Unmarshal(sample(f, "forseti-directory-members-list-2pages.json"), &memberPages)
	for _, s := range []struct {
		path string
		body []byte
	}{
		{"/admin/directory/v1/users", sample(f, "forseti-directory-users-list.json")},
		{"/admin/directory/v1/groups", sample(f, "forseti-directory-groups-list.json")},
		{"/admin/directory/v1/groups/11111/members", memberPages[0]},
		{"/admin/directory/v1/customer/my_customer/roleassignments", sample(f, "demisto-directory-roleassignments-list.json")},
		{"/admin/directory/v1/customer/my_customer/roles", []byte(`{"kind":"admin#directory#roles","items":[{"roleId":"1","roleName":"r","rolePrivileges":[{"serviceId":"s","privilegeName":"p"}],"isSuperAdminRole":true}]}`)},
		{"/admin/directory/v1/groups/g/members", []byte(`{"members":[{"type":"CUSTOMER","id":"C1"},{"type":"EXTERNAL","email":"X@Y"},{}]}`)},
	} {
		f.Add(s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		kind, g := classify(path)
		c := graph.NewCollection()
		m := newMapper(c, "google:fuzz")
		m.users["101"] = struct{}{}
		m.groups["g"] = "g@example.com"
		m.domains["example.com"] = struct{}{}
		if err := m.decodePage(kind, g, body); err != nil {
			return
		}
		for _, n := range c.Source("google:fuzz").Nodes {
			if err := n.Validate(); err != nil {
				t.Fatalf("accepted invalid node: %v", err)
			}
		}
		for _, e := range c.Source("google:fuzz").Edges {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted invalid edge: %v", err)
			}
		}
	})
}
