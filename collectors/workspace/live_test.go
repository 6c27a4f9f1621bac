package workspace

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"permgraph/collectors/internal/googleretry"
	"permgraph/collectors/workspace/fakedirectory"
	"permgraph/graph"
)

// These tests run the real google-api-go-client Directory service (URL
// building, query encoding, JSON decoding) and the real retry transport
// against fakedirectory over HTTP.

const (
	testCustomer = "C01abcd2"
	testToken    = "ya29.SECRET-TEST-TOKEN"
)

// fixture is a small customer that exercises every mapping rule.
func fixture() *fakedirectory.Directory {
	return &fakedirectory.Directory{
		CustomerID: testCustomer,
		MaxPage:    2, // 5 users -> 3 pages, 3 members of platform -> 2 pages
		Users: []fakedirectory.User{
			{ID: "101", Email: "Alice@Example.com", FullName: "Alice Admin", Admin: true, Aliases: []string{"Alice.A@example.com"},
				LastLogin: "2026-01-02T03:04:05.000Z", Created: "2020-01-01T00:00:00.000Z"},
			{ID: "102", Email: "bob@example.com", FullName: "Bob Suspended", Suspended: true},
			{ID: "103", Email: "carol@example.com", FullName: "Carol Delegated", Delegated: true},
			{ID: "104", Email: "dave@example.org", FullName: "Dave Second Domain"},
			{ID: "105", Email: "erin@example.com", FullName: "Erin"},
		},
		Groups: []fakedirectory.Group{
			{ID: "g1", Email: "eng@example.com", Name: "Engineering", Aliases: []string{"engineering@example.com"}},
			{ID: "g2", Email: "platform@example.com", Name: "Platform"},
			{ID: "g3", Email: "gone@example.com", Name: "Gone"},
			{ID: "g4", Email: "all@example.com", Name: "Everyone"},
		},
		Members: map[string][]fakedirectory.Member{
			"g1": {
				{ID: "101", Email: "alice@example.com", Role: "OWNER", Type: "USER"},
				{ID: "103", Email: "carol@example.com", Role: "MANAGER", Type: "USER"},
				{ID: "g2", Email: "platform@example.com", Role: "MEMBER", Type: "GROUP"},
				{ID: "777", Email: "Partner@Partner.example", Role: "MEMBER", Type: "USER"},
				{ID: "888", Email: "deployer@proj.iam.gserviceaccount.com", Role: "MEMBER", Type: "USER"},
			},
			"g2": {
				{ID: "102", Email: "bob@example.com", Role: "MEMBER", Type: "USER"},
				{ID: "104", Email: "dave@example.org", Role: "MEMBER", Type: "USER"},
				{ID: "og1", Email: "team@other.example", Role: "MEMBER", Type: "GROUP"},
			},
			"g3": {{ID: "105", Email: "erin@example.com", Role: "MEMBER", Type: "USER"}},
			"g4": {
				{ID: testCustomer, Role: "MEMBER", Type: "CUSTOMER"},
				{ID: "999", Email: "guest@gmail.com", Role: "MEMBER", Type: "EXTERNAL"},
			},
		},
		Deleted: map[string]bool{"g3": true},
		Roles: []fakedirectory.Role{
			{ID: 100, Name: "_SEED_ADMIN_ROLE", SuperAdmin: true, Privileges: []fakedirectory.Privilege{{Service: "00haapch16h1ysv", Name: "USERS_ALL"}, {Service: "01ci93xb3tmzyin", Name: "GROUPS_ALL"}}},
			{ID: 200, Name: "_GROUPS_ADMIN_ROLE", Privileges: []fakedirectory.Privilege{{Service: "01ci93xb3tmzyin", Name: "GROUPS_ALL"}}},
		},
		Assignments: []fakedirectory.Assignment{
			{ID: 1, RoleID: 100, AssignedTo: "101", AssigneeType: "user", ScopeType: "CUSTOMER"},
			{ID: 2, RoleID: 200, AssignedTo: "g2", AssigneeType: "group", ScopeType: "ORG_UNIT", OrgUnitID: "03ph8a2z1"},
			{ID: 3, RoleID: 200, AssignedTo: "1122334455", ScopeType: "CUSTOMER"}, // a service account by uniqueId
			{ID: 4, RoleID: 200, AssignedTo: "103", AssigneeType: "user", ScopeType: "CUSTOMER",
				Condition: "api.getAttribute('cloudidentity.googleapis.com/groups.labels', []).hasAny(['groups.security'])"},
		},
	}
}

func wantFixtureGraph() ([]graph.Node, []graph.Edge, []string) {
	f := "false"
	user := func(id, name, email, susp, adm, del, aliases string) graph.Node {
		return graph.Node{ID: "gws:user:" + id, Kind: graph.NodeUser, Name: name, Email: email, Attrs: map[string]string{
			"suspended": susp, "is_admin": adm, "is_delegated_admin": del, "aliases": aliases}}
	}
	alice := user("101", "Alice Admin", "alice@example.com", f, "true", f, `["alice.a@example.com"]`)
	alice.Attrs["last_login"] = "2026-01-02T03:04:05.000Z"
	alice.Attrs["created"] = "2020-01-01T00:00:00.000Z"
	grp := func(id, name, email, aliases, count string) graph.Node {
		return graph.Node{ID: "gws:group:" + id, Kind: graph.NodeGroup, Name: name, Email: email,
			Attrs: map[string]string{"aliases": aliases, "direct_members_count": count}}
	}
	nodes := []graph.Node{
		{ID: "gcp:sa:deployer@proj.iam.gserviceaccount.com", Kind: graph.NodeServiceAccount,
			Name: "deployer@proj.iam.gserviceaccount.com", Email: "deployer@proj.iam.gserviceaccount.com"},
		{ID: "gws:customer:" + testCustomer, Kind: graph.NodeGroup, Name: "all users in customer", Attrs: map[string]string{"type": "customer"}},
		{ID: "gws:external:guest@gmail.com", Kind: graph.NodeUser, Name: "guest@gmail.com", Email: "guest@gmail.com", Attrs: map[string]string{"external": "true"}},
		{ID: "gws:external:partner@partner.example", Kind: graph.NodeUser, Name: "partner@partner.example", Email: "partner@partner.example", Attrs: map[string]string{"external": "true"}},
		grp("g1", "Engineering", "eng@example.com", `["engineering@example.com"]`, "5"),
		grp("g2", "Platform", "platform@example.com", `[]`, "3"),
		grp("g3", "Gone", "gone@example.com", `[]`, "1"),
		grp("g4", "Everyone", "all@example.com", `[]`, "2"),
		{ID: "gws:group:og1", Kind: graph.NodeGroup, Email: "team@other.example", Attrs: map[string]string{"external": "true"}},
		{ID: "gws:principal:1122334455", Kind: graph.NodeServiceAccount, Attrs: map[string]string{"unique_id": "1122334455"}},
		{ID: "gws:role:100", Kind: graph.NodeRoleDefinition, Name: "_SEED_ADMIN_ROLE", Attrs: map[string]string{
			"privileges": `["00haapch16h1ysv/USERS_ALL","01ci93xb3tmzyin/GROUPS_ALL"]`, "super_admin": "true"}},
		{ID: "gws:role:200", Kind: graph.NodeRoleDefinition, Name: "_GROUPS_ADMIN_ROLE", Attrs: map[string]string{
			"privileges": `["01ci93xb3tmzyin/GROUPS_ALL"]`, "super_admin": f}},
		alice,
		user("102", "Bob Suspended", "bob@example.com", "true", f, f, `[]`),
		user("103", "Carol Delegated", "carol@example.com", f, f, "true", `[]`),
		user("104", "Dave Second Domain", "dave@example.org", f, f, f, `[]`),
		user("105", "Erin", "erin@example.com", f, f, f, `[]`),
	}
	mem := func(from, group, role, typ string) graph.Edge {
		return graph.Edge{From: from, Kind: graph.EdgeMemberOf, To: "gws:group:" + group,
			Attrs:    map[string]string{"role": role, "type": typ},
			Evidence: []graph.Evidence{{Source: "directory:groups/" + group + "/members", Detail: role}}}
	}
	has := func(from, role, id, scope, ou string) graph.Edge {
		e := graph.Edge{From: from, Kind: graph.EdgeHasRole, To: "gws:role:" + role, Attrs: map[string]string{"scope": scope},
			Evidence: []graph.Evidence{{Source: "directory:roleassignments/" + id, Statement: scope}}}
		if ou != "" {
			e.Attrs["org_unit"] = ou
			e.Evidence[0].Statement = scope + " " + ou
		}
		return e
	}
	carolRole := has("gws:user:103", "200", "4", "CUSTOMER", "")
	carolRole.Conditional = true
	carolRole.Condition = "api.getAttribute('cloudidentity.googleapis.com/groups.labels', []).hasAny(['groups.security'])"
	edges := []graph.Edge{
		mem("gcp:sa:deployer@proj.iam.gserviceaccount.com", "g1", "MEMBER", "USER"),
		mem("gws:customer:"+testCustomer, "g4", "MEMBER", "CUSTOMER"),
		mem("gws:external:guest@gmail.com", "g4", "MEMBER", "EXTERNAL"),
		mem("gws:external:partner@partner.example", "g1", "MEMBER", "USER"),
		mem("gws:group:g2", "g1", "MEMBER", "GROUP"),
		has("gws:group:g2", "200", "2", "ORG_UNIT", "03ph8a2z1"),
		mem("gws:group:og1", "g2", "MEMBER", "GROUP"),
		has("gws:principal:1122334455", "200", "3", "CUSTOMER", ""),
		mem("gws:user:101", "g1", "OWNER", "USER"),
		has("gws:user:101", "100", "1", "CUSTOMER", ""),
		mem("gws:user:102", "g2", "MEMBER", "USER"),
		mem("gws:user:103", "g1", "MANAGER", "USER"),
		carolRole,
		mem("gws:user:104", "g2", "MEMBER", "USER"),
	}
	warnings := []string{"workspace: group gone@example.com (id g3) was deleted during collection (members.list answered 404): its memberships are missing from this snapshot"}
	return nodes, edges, warnings
}

func fastRetry() googleretry.Options {
	return googleretry.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
}

// flaky injects one 403 userRateLimitExceeded on the first users page and
// one 429 with Retry-After on the second groups page.
func flaky(d *fakedirectory.Directory) {
	var mu sync.Mutex
	done := map[string]bool{}
	d.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/admin/directory/v1/users" && q.Get("pageToken") == "" && !done["403"]:
			done["403"] = true
			fakedirectory.WriteError(w, http.StatusForbidden, "userRateLimitExceeded", "Quota exceeded for quota metric 'Queries'")
			return true
		case r.URL.Path == "/admin/directory/v1/groups" && q.Get("pageToken") != "" && !done["429"]:
			done["429"] = true
			w.Header().Set("Retry-After", "1")
			fakedirectory.WriteError(w, http.StatusTooManyRequests, "rateLimitExceeded", "Too many requests")
			return true
		}
		return false
	}
}

func newLive(t *testing.T, srvURL string, o Options) *Live {
	t.Helper()
	o.Endpoint = srvURL
	if o.HTTPClient == nil && o.TokenSource == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Retry == (googleretry.Options{}) {
		o.Retry = fastRetry()
	}
	l, err := NewLive(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func graphOf(t *testing.T, c *graph.Collection) ([]graph.Node, []graph.Edge, []string) {
	t.Helper()
	srcs := c.Sources()
	if len(srcs) != 1 {
		t.Fatalf("got %d sources, want 1", len(srcs))
	}
	g := srcs[0]
	if g.Source != "google:"+testCustomer {
		t.Fatalf("source = %q, want google:%s", g.Source, testCustomer)
	}
	w := slices.Clone(g.Warnings)
	slices.Sort(w)
	return g.SortedNodes(), g.SortedEdges(), w
}

// TestLiveThenReplay collects the fixture live through a 403
// userRateLimitExceeded, a 429 with Retry-After, a deleted group and
// multi-page lists, with --save-raw and a bearer token; then replays the
// capture and expects the identical graph.
func TestLiveThenReplay(t *testing.T) {
	d := fixture()
	d.BearerToken = testToken
	flaky(d)
	srv := httptest.NewServer(d)
	defer srv.Close()
	raw := filepath.Join(t.TempDir(), "raw")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := newLive(t, srv.URL, Options{SaveRawDir: raw, Logger: log, Concurrency: 3,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken, TokenType: "Bearer"})})

	start := time.Now()
	live := graph.NewCollection()
	if err := l.Collect(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Errorf("collection took %s; the 429 asked for Retry-After: 1", time.Since(start))
	}
	wantN, wantE, wantW := wantFixtureGraph()
	gotN, gotE, gotW := graphOf(t, live)
	if d := cmp.Diff(wantN, gotN); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantE, gotE); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantW, gotW); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
	if l.Retries() != 2 {
		t.Errorf("retries = %d, want 2 (one 403 userRateLimitExceeded, one 429)", l.Retries())
	}
	// users 3 pages, groups 2, roles 1, assignments 2, members g1 3 + g2 2 + g4 1
	// (g3 is a 404) = 14 pages; plus the deleted group's 404 and 2 retries.
	c := l.Counts()
	if c.Pages != 14 || c.Users != 5 || c.Groups != 4 || c.Memberships != 10 || c.Roles != 2 || c.RoleAssignments != 4 || c.DeletedGroups != 1 {
		t.Errorf("counts = %+v", c)
	}
	if got := d.Requests(); got != 17 {
		t.Errorf("requests = %d, want 17", got)
	}

	capture, err := os.ReadFile(filepath.Join(raw, CaptureFile))
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"capture": string(capture), "log": logs.String()} {
		if strings.Contains(text, "SECRET") {
			t.Errorf("%s contains the token", what)
		}
	}
	if strings.Contains(string(capture), `"status":429`) || strings.Contains(string(capture), "userRateLimitExceeded") {
		t.Errorf("capture holds retried answers; it must hold only final ones")
	}

	replay := graph.NewCollection()
	f := NewFile(raw, Options{})
	if err := f.Collect(context.Background(), replay); err != nil {
		t.Fatal(err)
	}
	rN, rE, rW := graphOf(t, replay)
	if d := cmp.Diff(gotN, rN); d != "" {
		t.Errorf("replayed nodes differ (-live +replay):\n%s", d)
	}
	if d := cmp.Diff(gotE, rE); d != "" {
		t.Errorf("replayed edges differ (-live +replay):\n%s", d)
	}
	if d := cmp.Diff(gotW, rW); d != "" {
		t.Errorf("replayed warnings differ (-live +replay):\n%s", d)
	}
	if f.Counts() != l.Counts() {
		t.Errorf("replay counts %+v != live %+v", f.Counts(), l.Counts())
	}
}

func TestLiveErrors(t *testing.T) {
	malformedMembers := func(body string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/admin/directory/v1/groups/g2/members" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, body)
				return true
			}
			return false
		}
	}
	forbidden, err := os.ReadFile("../../../shared/testdata/gworkspace/forseti-directory-error-403.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		intercept func(w http.ResponseWriter, r *http.Request) bool
		want      []string
		requests  int64
	}{
		{"truncated page", malformedMembers(`{"kind":"admin#directory#members","members":[{"id":"1`),
			[]string{"members.list of group platform@example.com page 1", "/admin/directory/v1/groups/g2/members", "malformed page"}, 0},
		{"wrong type", malformedMembers(`{"kind":"admin#directory#members","members":"everyone"}`),
			[]string{"GET http://", "/admin/directory/v1/groups/g2/members", "malformed page"}, 0},
		{"wrong kind", malformedMembers(`{"kind":"admin#directory#users","users":[]}`),
			[]string{"/admin/directory/v1/groups/g2/members", `malformed page: page kind is "admin#directory#users"`}, 0},
		{"member without anything is fine but null member is not", malformedMembers(`{"kind":"admin#directory#members","members":[null]}`),
			[]string{"/admin/directory/v1/groups/g2/members", "members[0]: null member"}, 0},
		{"forbidden not retried", func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write(forbidden)
			return true
		}, []string{"users.list page 1", "access denied", "Not Authorized to access this resource/api"}, 1},
		{"unauthorized", func(w http.ResponseWriter, r *http.Request) bool {
			fakedirectory.WriteError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
			return true
		}, []string{"users.list page 1", "credentials rejected", "admin.directory.user.readonly"}, 1},
		{"endless page token", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/admin/directory/v1/groups" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"kind":"admin#directory#groups","groups":[],"nextPageToken":"same"}`)
				return true
			}
			return false
		}, []string{"groups.list page 2", "own token as nextPageToken"}, 0},
		{"server error after retries", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/admin/directory/v1/customer/my_customer/roles" {
				fakedirectory.WriteError(w, http.StatusServiceUnavailable, "backendError", "Backend Error")
				return true
			}
			return false
		}, []string{"roles.list page 1", "/admin/directory/v1/customer/my_customer/roles", "503"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fixture()
			d.Intercept = tc.intercept
			srv := httptest.NewServer(d)
			defer srv.Close()
			l := newLive(t, srv.URL, Options{Retry: googleretry.Options{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetries: 2}})
			err := l.Collect(context.Background(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.requests > 0 && d.Requests() != tc.requests {
				t.Errorf("requests = %d, want %d", d.Requests(), tc.requests)
			}
		})
	}
}

func TestLiveCancelAndPageTimeout(t *testing.T) {
	d := fixture()
	d.Latency = 300 * time.Millisecond
	srv := httptest.NewServer(d)
	defer srv.Close()

	t.Run("cancel", func(t *testing.T) {
		l := newLive(t, srv.URL, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		err := l.Collect(ctx, graph.NewCollection())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("cancel took %s", el)
		}
	})
	t.Run("page timeout", func(t *testing.T) {
		l := newLive(t, srv.URL, Options{PageTimeout: 50 * time.Millisecond})
		err := l.Collect(context.Background(), graph.NewCollection())
		if err == nil || !strings.Contains(err.Error(), "users.list page 1") || !strings.Contains(err.Error(), "page timeout (50ms)") {
			t.Fatalf("err = %v, want a users.list page timeout", err)
		}
	})
}

func TestSourceID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		omit    bool
		o       Options
		want    string
		wantErr error
	}{
		{"from users customerId", false, Options{}, "google:" + testCustomer, nil},
		{"explicit source wins", false, Options{Source: "google:X"}, "google:X", nil},
		{"no customerId, alias", true, Options{}, "", ErrNoCustomerID},
		{"no customerId, --customer", true, Options{Customer: testCustomer}, "google:" + testCustomer, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fixture()
			for i := range d.Users {
				d.Users[i].OmitCustomerID = tc.omit
			}
			srv := httptest.NewServer(d)
			defer srv.Close()
			l := newLive(t, srv.URL, tc.o)
			c := graph.NewCollection()
			err := l.Collect(context.Background(), c)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && c.Sources()[0].Source != tc.want {
				t.Fatalf("source = %q, want %q", c.Sources()[0].Source, tc.want)
			}
		})
	}
}
