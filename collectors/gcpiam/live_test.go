package gcpiam

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/collectors/internal/googleretry"
	"permgraph/graph"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

const testSource = "google:C0test"

// dump renders a collection as sorted lines for golden comparison.
func dump(t testing.TB, c *graph.Collection) string {
	t.Helper()
	var lines []string
	for _, g := range c.Sources() {
		for _, n := range g.SortedNodes() {
			var b strings.Builder
			fmt.Fprintf(&b, "node %s %s", n.ID, n.Kind)
			if n.Name != "" {
				fmt.Fprintf(&b, " name=%q", n.Name)
			}
			if n.Email != "" {
				fmt.Fprintf(&b, " email=%s", n.Email)
			}
			for _, k := range graph.SortedAttrKeys(n.Attrs) {
				fmt.Fprintf(&b, " %s=%s", k, n.Attrs[k])
			}
			lines = append(lines, g.Source+" "+b.String())
		}
		for _, e := range g.SortedEdges() {
			var ev []string
			for _, x := range e.Evidence {
				ev = append(ev, x.Source+"|"+x.Statement+"|"+x.Detail)
			}
			sort.Strings(ev)
			lines = append(lines, fmt.Sprintf("%s edge %s -%s-> %s %v", g.Source, e.From, e.Kind, e.To, ev))
		}
		for _, w := range g.Warnings {
			lines = append(lines, g.Source+" warn "+w)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Fatalf("%s (-want +got):\n%s", path, d)
	}
}

func binding(role string, members ...string) map[string]any {
	return map[string]any{"role": role, "members": members}
}

func condBinding(role, title, expr string, members ...string) map[string]any {
	b := binding(role, members...)
	b["condition"] = map[string]any{"title": title, "expression": expr}
	return b
}

func proj(id, number, parent string) map[string]any {
	return map[string]any{"name": "projects/" + number, "projectId": id, "parent": parent,
		"displayName": strings.ToUpper(id), "state": "ACTIVE", "etag": "W/\"x\""}
}

func sa(project, name, uid string, disabled bool) map[string]any {
	email := name + "@" + project + ".iam.gserviceaccount.com"
	m := map[string]any{"name": "projects/" + project + "/serviceAccounts/" + email, "projectId": project,
		"uniqueId": uid, "email": email, "displayName": name, "etag": "MDEwMjE5MjA=", "oauth2ClientId": uid}
	if disabled {
		m["disabled"] = true
	}
	return m
}

// orgFixture: organizations/100 > folders/201 (eng) > folders/301 (team-a),
// folders/202 (ops). Projects: p-root under the org; p-a1..p-a3 and p-gone
// (deleted mid-run: getIamPolicy 404) under eng; p-b1 under team-a; p-iamoff
// (IAM API disabled: serviceAccounts.list 403) under ops.
func orgFixture(t testing.TB) *fakeGCP {
	f := newFake(t)
	f.org = map[string]any{"name": "organizations/100", "displayName": "example.com", "state": "ACTIVE",
		"directoryCustomerId": "C0test", "etag": "BwX"}
	f.folders["organizations/100"] = []map[string]any{
		{"name": "folders/201", "parent": "organizations/100", "displayName": "eng", "state": "ACTIVE"},
		{"name": "folders/202", "parent": "organizations/100", "displayName": "ops", "state": "ACTIVE"},
	}
	f.folders["folders/201"] = []map[string]any{
		{"name": "folders/301", "parent": "folders/201", "displayName": "team-a", "state": "ACTIVE"},
	}
	f.projects["organizations/100"] = []map[string]any{proj("p-root", "1000", "organizations/100")}
	f.projects["folders/201"] = []map[string]any{
		proj("p-a1", "1001", "folders/201"), proj("p-a2", "1002", "folders/201"),
		proj("p-a3", "1003", "folders/201"), proj("p-gone", "1004", "folders/201"),
	}
	f.projects["folders/301"] = []map[string]any{proj("p-b1", "1005", "folders/301")}
	f.projects["folders/202"] = []map[string]any{proj("p-iamoff", "1006", "folders/202")}

	f.policies["organizations/100"] = map[string]any{"version": 3, "etag": "BwOrg=", "bindings": []any{
		binding("roles/resourcemanager.organizationAdmin", "user:admin@example.com", "group:admins@example.com"),
		condBinding("roles/run.admin", "business hours", `request.time.getHours("Europe/Berlin") >= 9 && resource.name.startsWith("projects/p-a")`,
			"group:deployers@example.com"),
		binding("organizations/100/roles/deployer", "group:ci@example.com"),
	}, "auditConfigs": []any{map[string]any{"service": "allServices", "auditLogConfigs": []any{map[string]any{"logType": "ADMIN_READ"}}}}}
	f.policies["folders/201"] = map[string]any{"version": 1, "etag": "BwF201=", "bindings": []any{
		binding("roles/editor", "group:eng@example.com"),
	}}
	f.policies["folders/202"] = map[string]any{"etag": "ACAB"}
	f.policies["folders/301"] = map[string]any{"version": 1, "etag": "BwF301=", "bindings": []any{
		binding("roles/container.developer", "user:bob@example.com"),
	}}
	for _, p := range []string{"p-root", "p-a2", "p-a3", "p-b1", "p-iamoff"} {
		f.policies["projects/"+p] = map[string]any{"version": 1, "etag": "BwP=", "bindings": []any{
			binding("roles/owner", "user:owner-"+p+"@example.com"),
		}}
	}
	// Bindings and members deliberately unsorted.
	f.policies["projects/p-a1"] = map[string]any{"version": 3, "etag": "BwA1=", "bindings": []any{
		binding("roles/viewer", "user:zed@example.com", "allAuthenticatedUsers"),
		binding("projects/p-a1/roles/imagePusher", "serviceAccount:ci@p-a1.iam.gserviceaccount.com"),
		condBinding("roles/iam.serviceAccountUser", "temp", `request.time < timestamp("2030-01-01T00:00:00Z")`, "user:carol@example.com"),
		binding("roles/iam.serviceAccountUser", "domain:example.com"),
	}}
	f.sas["projects/p-a1"] = []map[string]any{
		sa("p-a1", "ci", "111", false), sa("p-a1", "deploy", "112", false), sa("p-a1", "old", "113", true),
	}
	f.sas["projects/p-b1"] = []map[string]any{sa("p-b1", "runner", "121", false)}
	for _, s := range f.sas["projects/p-a1"] {
		f.policies[s["name"].(string)] = map[string]any{"version": 1, "etag": "BwS="}
	}
	f.policies["projects/p-a1/serviceAccounts/deploy@p-a1.iam.gserviceaccount.com"] = map[string]any{"version": 3, "etag": "BwD=", "bindings": []any{
		binding("roles/iam.serviceAccountUser", "user:alice@example.com"),
		condBinding("roles/iam.serviceAccountTokenCreator", "ci only", `request.auth.claims.google.providerId == "ci"`, "serviceAccount:ci@p-a1.iam.gserviceaccount.com"),
	}}
	// runner's policy is missing: getIamPolicy 404 (deleted between list and get).
	f.roles["organizations/100"] = []map[string]any{{"name": "organizations/100/roles/deployer", "title": "Deployer",
		"includedPermissions": []string{"run.services.update", "run.services.create", "iam.serviceAccounts.actAs"}, "stage": "GA", "etag": "x"}}
	f.roles["projects/p-a1"] = []map[string]any{{"name": "projects/p-a1/roles/imagePusher", "title": "Image pusher",
		"includedPermissions": []string{"artifactregistry.repositories.uploadArtifacts"}, "stage": "BETA", "etag": "y"}}
	f.fail(http.MethodGet, "/v1/projects/p-iamoff/serviceAccounts", fakeFailure{status: 403,
		body: googleError(403, "PERMISSION_DENIED", "forbidden", "Identity and Access Management (IAM) API has not been used in project 1006 before or it is disabled.")})
	// Throttling: a 429 with Retry-After on the first folder list, a 403
	// rateLimitExceeded on one project's policy. Both must be retried.
	f.fail(http.MethodGet, "/v3/folders", fakeFailure{status: 429, retryAfter: "0",
		body: googleError(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "Quota exceeded")})
	f.fail(http.MethodPost, "/v3/projects/p-a2:getIamPolicy", fakeFailure{status: 403,
		body: googleError(403, "PERMISSION_DENIED", "rateLimitExceeded", "Rate limit exceeded")})
	f.pageSize = 1 // every list pages: eng's 4 projects take 4 pages, p-a1's accounts 3
	return f
}

func testOptions(srv string) Options {
	return Options{
		Org: "100", Source: testSource,
		ResourceManagerEndpoint: srv + "/", IAMEndpoint: srv + "/",
		HTTPClient:  &http.Client{Transport: http.DefaultTransport},
		Concurrency: 4, PageTimeout: 5 * time.Second,
		Retry: googleretry.Options{MaxRetries: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	}
}

func TestLiveCollectAndReplay(t *testing.T) {
	f := orgFixture(t)
	srv := f.server()
	o := testOptions(srv.URL)
	o.SaveRawDir = filepath.Join(t.TempDir(), "raw")
	live, err := NewLive(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := graph.NewCollection()
	if err := live.Collect(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	liveDump := dump(t, got)
	golden(t, "live", liveDump)
	if live.Retries < 2 {
		t.Errorf("Retries = %d, want >= 2 (429 and 403 rateLimitExceeded)", live.Retries)
	}
	want := Counts{Organizations: 1, Folders: 3, Projects: 7, ServiceAccounts: 4, Policies: 13, Roles: 2, Warnings: 3}
	if d := cmp.Diff(want, live.Counts); d != "" {
		t.Errorf("Counts (-want +got):\n%s", d)
	}
	for _, w := range []string{
		"getIamPolicy projects/p-gone: HTTP 404",
		"list service accounts of projects/p-iamoff: HTTP 403: Identity and Access Management (IAM) API has not been used",
		"getIamPolicy projects/p-b1/serviceAccounts/runner@p-b1.iam.gserviceaccount.com: HTTP 404",
	} {
		if !strings.Contains(liveDump, "warn "+w) {
			t.Errorf("no warning %q", w)
		}
	}
	// Conditional bindings keep their CEL expression.
	pol := got.Source(testSource).Nodes[PolicyID(OrgID("100"))].Attrs["policy"]
	if !strings.Contains(pol, `"condition":{"title":"business hours","expression":"request.time.getHours(\"Europe/Berlin\") >= 9`) {
		t.Errorf("org policy lost its condition: %s", pol)
	}

	raw, err := os.ReadFile(filepath.Join(o.SaveRawDir, RawCaptureFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "Bearer") {
		t.Fatal("capture contains a credential")
	}
	replayed := graph.NewCollection()
	file := NewFile(o.SaveRawDir, Options{Source: testSource})
	if err := file.Collect(t.Context(), replayed); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(liveDump, dump(t, replayed)); d != "" {
		t.Fatalf("replay differs from live (-live +replay):\n%s", d)
	}
	if d := cmp.Diff(live.Counts, file.Counts); d != "" {
		t.Errorf("replay Counts (-live +replay):\n%s", d)
	}
}

func TestLiveExplicitProjects(t *testing.T) {
	f := orgFixture(t)
	srv := f.server()
	o := testOptions(srv.URL)
	o.Org = ""
	o.Projects = []string{"p-a1", "p-missing"}
	live, err := NewLive(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := graph.NewCollection()
	if err := live.Collect(t.Context(), got); err != nil {
		t.Fatal(err)
	}
	g := got.Source(testSource)
	if _, ok := g.Nodes[ProjectID("p-a1")]; !ok {
		t.Error("p-a1 missing")
	}
	if _, ok := g.Nodes[ProjectID("p-root")]; ok {
		t.Error("p-root collected although not listed")
	}
	if _, ok := g.Edges[graph.EdgeKey{From: FolderID("201"), Kind: graph.EdgeContains, To: ProjectID("p-a1")}]; !ok {
		t.Error("Contains folders/201 -> p-a1 missing (from the project's parent)")
	}
	if len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], "get project projects/p-missing: HTTP 403") {
		t.Errorf("warnings = %q", g.Warnings)
	}
}

func TestLiveErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fakeGCP, o *Options)
		want  []string
		is    error
	}{
		{"malformed page", func(f *fakeGCP, o *Options) {
			f.fail(http.MethodGet, "/v3/projects", fakeFailure{status: 200, body: `{"projects": [{"projectId": "x"`})
		}, []string{"malformed page", "/v3/projects"}, nil},
		{"wrong type in page", func(f *fakeGCP, o *Options) {
			f.fail(http.MethodGet, "/v3/folders", fakeFailure{status: 200, body: `{"folders": "nope"}`})
		}, []string{"list folders under organizations/100"}, nil},
		{"org denied", func(f *fakeGCP, o *Options) { o.Org = "organizations/999" },
			[]string{"get organization organizations/999", "resourcemanager.organizations.get"}, ErrPermissionDenied},
		{"rate limit outlives retries", func(f *fakeGCP, o *Options) {
			ff := fakeFailure{status: 403, body: googleError(403, "PERMISSION_DENIED", "rateLimitExceeded", "Rate limit exceeded")}
			f.fail(http.MethodPost, "/v3/projects/p-a3:getIamPolicy", ff, ff, ff, ff, ff)
			o.Retry.MaxRetries = 2
		}, []string{"getIamPolicy projects/p-a3", "Rate limit exceeded"}, nil},
		{"page timeout", func(f *fakeGCP, o *Options) {
			f.hang = "/v3/projects/p-b1:getIamPolicy"
			o.PageTimeout = 100 * time.Millisecond
		}, []string{"page timeout", "p-b1:getIamPolicy"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := orgFixture(t)
			srv := f.server()
			o := testOptions(srv.URL)
			tc.setup(f, &o)
			live, err := NewLive(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			err = live.Collect(t.Context(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestLiveCancel(t *testing.T) {
	f := orgFixture(t)
	f.hang = "/v3/projects/p-b1:getIamPolicy"
	srv := f.server()
	ctx, cancel := contextWithTimeout(t, 100*time.Millisecond)
	defer cancel()
	live, err := NewLive(ctx, testOptions(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	err = live.Collect(ctx, graph.NewCollection())
	if !errors.Is(err, contextDeadline) {
		t.Fatalf("err = %v, want context deadline", err)
	}
}

func TestNewLiveValidates(t *testing.T) {
	if _, err := NewLive(t.Context(), Options{Org: "1"}); err == nil || !strings.Contains(err.Error(), "Source") {
		t.Errorf("no source: %v", err)
	}
	if _, err := NewLive(t.Context(), Options{Source: testSource, HTTPClient: http.DefaultClient}); err == nil || !strings.Contains(err.Error(), "nothing to collect") {
		t.Errorf("no scope: %v", err)
	}
}
