package gcp_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
	"permgraph/policy/gcp"
	"permgraph/queries"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenAt = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// checkWhoCan runs who-can deploy (gcp) over the derived graph and compares
// it with testdata/<name>.json.
func checkWhoCan(t *testing.T, f *fixture, name string, o queries.WhoCanOptions, others ...*graph.SourceGraph) *queries.WhoCanResult {
	t.Helper()
	v := graph.NewViewFromGraphs(goldenAt, nil, append([]*graph.SourceGraph{f.g}, others...)...)
	o.Cloud, o.Paths = "gcp", true
	res, err := queries.WhoCanDeploy(v, o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return res
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./policy/gcp -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		var w any
		var g any
		_ = json.Unmarshal(want, &w)
		_ = json.Unmarshal(got, &g)
		t.Errorf("%s mismatch (-want +got):\n%s", path, cmp.Diff(w, g))
	}
	return res
}

func principal(res *queries.WhoCanResult, id string) (queries.Principal, bool) {
	for _, p := range res.Principals {
		if p.ID == id {
			return p, true
		}
	}
	return queries.Principal{}, false
}

// nestedGroupFixture: alice is in platform-inner, which is in platform;
// platform holds roles/run.developer on folder 10 (project prod-app below).
func nestedGroupFixture(t *testing.T) (*fixture, map[string]string) {
	f := newFixture(t)
	org := f.org("1")
	folder := f.folder("10", org)
	f.project("prod-app", folder)
	f.project("other", org)
	ids := map[string]string{
		"alice": f.user("u1", "Alice", "alice@example.com"),
		"inner": f.group("g1", "platform-inner", "platform-inner@example.com"),
		"outer": f.group("g2", "platform", "platform@example.com"),
		"sa":    f.sa("runtime@prod-app.iam.gserviceaccount.com", "prod-app"),
	}
	f.member(ids["alice"], ids["inner"], "MEMBER")
	f.member(ids["inner"], ids["outer"], "MEMBER")
	return f, ids
}

// (a) run.developer through nested groups at a folder. Without actAs the
// group can only run existing jobs with overrides (no actAs needed), so
// its Can edge names that recipe alone; with roles/iam.serviceAccountUser
// the create/update recipes appear too.
func TestWhoCanNestedGroupFolder(t *testing.T) {
	t.Run("run-developer-only", func(t *testing.T) {
		f, ids := nestedGroupFixture(t)
		f.policy("gcp:folder:10", bind("roles/run.developer", "group:platform@example.com"))
		f.derive()
		res := checkWhoCan(t, f, "whocan-nested-rundev", queries.WhoCanOptions{})
		e, ok := f.edge(ids["outer"], graph.EdgeCan, gcp.DeployCapabilityID("prod-app"))
		if !ok || e.Attrs["recipes"] != "run-jobs-run-with-overrides" {
			t.Errorf("platform -> prod-app Can = %+v, %v; want only run-jobs-run-with-overrides (no actAs)", e, ok)
		}
		if _, ok := f.edge(ids["outer"], graph.EdgeCan, gcp.DeployCapabilityID("other")); ok {
			t.Error("a folder binding must not reach a project outside the folder")
		}
		if p, ok := principal(res, ids["alice"]); !ok || p.Via != "direct" || len(p.Path) != 3 {
			t.Errorf("alice = %+v, %v; want direct over MemberOf, MemberOf, Can", p, ok)
		}
	})
	t.Run("with-service-account-user", func(t *testing.T) {
		f, ids := nestedGroupFixture(t)
		f.policy("gcp:folder:10", bind("roles/run.developer", "group:platform@example.com"),
			bind("roles/iam.serviceAccountUser", "group:platform@example.com"))
		f.derive()
		checkWhoCan(t, f, "whocan-nested-rundev-sauser", queries.WhoCanOptions{})
		e, _ := f.edge(ids["outer"], graph.EdgeCan, gcp.DeployCapabilityID("prod-app"))
		if e.Attrs["recipes"] == "" || e.Attrs["recipes"] == "run-jobs-run-with-overrides" {
			t.Errorf("platform recipes = %q, want the actAs recipes too", e.Attrs["recipes"])
		}
	})
	t.Run("actas-from-sa-policy-combined", func(t *testing.T) {
		// The group has run.developer; alice alone holds actAs on the
		// runtime SA. Only alice, combining both, can deploy a service.
		f, ids := nestedGroupFixture(t)
		f.policy("gcp:folder:10", bind("roles/run.developer", "group:platform@example.com"))
		f.policy(ids["sa"], bind("roles/iam.serviceAccountUser", "user:Alice@Example.com"))
		f.derive()
		checkWhoCan(t, f, "whocan-nested-rundev-combined", queries.WhoCanOptions{})
		e, ok := f.edge(ids["alice"], graph.EdgeCan, gcp.DeployCapabilityID("prod-app"))
		if !ok || e.Attrs["combined"] != "true" {
			t.Fatalf("alice -> prod-app Can = %+v, %v; want a combined edge", e, ok)
		}
		if _, ok := f.edge(ids["inner"], graph.EdgeCan, gcp.DeployCapabilityID("prod-app")); ok {
			t.Error("the inner group has no bindings and one parent: it needs no edge of its own")
		}
	})
}

// (b) A conditional binding is hidden by default and shown, marked, with
// IncludeConditional.
func TestWhoCanConditional(t *testing.T) {
	f := newFixture(t)
	org := f.org("1")
	f.project("prod-app", org)
	carol := f.user("u3", "Carol", "carol@example.com")
	f.user("u4", "Dan", "dan@example.com")
	f.policy("gcp:project:prod-app",
		gcp.Binding{Role: "roles/editor", Members: []string{"user:carol@example.com"},
			Condition: &gcp.Condition{Title: "until end of 2026", Expression: `request.time < timestamp("2027-01-01T00:00:00Z")`}},
		bind("roles/container.developer", "user:dan@example.com"))
	f.derive()
	res := checkWhoCan(t, f, "whocan-conditional-default", queries.WhoCanOptions{})
	if res.HiddenConditional != 1 {
		t.Errorf("hidden conditional = %d, want 1 (carol)", res.HiddenConditional)
	}
	res = checkWhoCan(t, f, "whocan-conditional-included", queries.WhoCanOptions{IncludeConditional: true})
	if p, ok := principal(res, carol); !ok || !p.Conditional {
		t.Errorf("carol = %+v, %v; want a conditional answer", p, ok)
	}
	e, _ := f.edge(carol, graph.EdgeHasRole, "gcp:role:roles/editor")
	if !e.Conditional || e.Condition == "" || e.Evidence[0].Detail != "until end of 2026" {
		t.Errorf("HasRole = %+v; want conditional with the CEL expression and the title", e)
	}
}

// (c) Principals that cannot deploy themselves but can become a service
// account that can: token creator / actAs (CanImpersonate, an identity
// hop like CanAssume, so "direct") and key creation (CanCreateKey, an
// escalation).
func TestWhoCanThroughServiceAccount(t *testing.T) {
	f := newFixture(t)
	org := f.org("1")
	f.project("prod-app", org)
	sa := f.sa("deployer@prod-app.iam.gserviceaccount.com", "prod-app")
	dave := f.user("u5", "Dave", "dave@example.com")
	erin := f.user("u6", "Erin", "erin@example.com")
	frank := f.user("u7", "Frank", "frank@example.com")
	f.policy("gcp:project:prod-app",
		bind("roles/editor", "serviceAccount:deployer@prod-app.iam.gserviceaccount.com"),
		bind("roles/iam.serviceAccountUser", "user:frank@example.com"))
	f.policy(sa,
		bind("roles/iam.serviceAccountTokenCreator", "user:dave@example.com"),
		bind("roles/iam.serviceAccountKeyAdmin", "user:erin@example.com"))
	f.derive()
	res := checkWhoCan(t, f, "whocan-via-service-account", queries.WhoCanOptions{})
	for _, c := range []struct {
		id, via string
		kind    graph.EdgeKind
	}{
		{dave, "direct", graph.EdgeCanImpersonate},
		{frank, "escalation", graph.EdgeCanPassRole}, // actAs only: attach it to a workload (GCP's PassRole)
		{erin, "escalation", graph.EdgeCanCreateKey},
	} {
		if _, ok := f.edge(c.id, graph.EdgeCan, gcp.DeployCapabilityID("prod-app")); ok {
			t.Errorf("%s must not deploy directly", c.id)
		}
		if _, ok := f.edge(c.id, c.kind, sa); !ok {
			t.Errorf("%s: no %s edge to the SA", c.id, c.kind)
		}
		p, ok := principal(res, c.id)
		if !ok || p.Via != c.via || len(p.Path) != 2 || p.Path[0].To != sa {
			t.Errorf("%s = %+v, %v; want via=%s through the SA", c.id, p, ok, c.via)
		}
	}
}

// (d) Workspace group escalation: an OWNER reaches the group's rights by
// membership (owners are members) and also gets CanAddMember; a Groups
// Admin who is no member reaches them only by adding itself.
func TestWhoCanGroupAdmin(t *testing.T) {
	f := newFixture(t)
	org := f.org("1")
	f.project("prod-app", org)
	grace := f.user("u8", "Grace", "grace@example.com")
	heidi := f.user("u9", "Heidi", "heidi@example.com")
	grp := f.group("g3", "gke-deployers", "gke-deployers@example.com")
	f.member(grace, grp, "OWNER")
	f.must(f.g.AddNode(graph.Node{ID: "gws:role:91", Kind: graph.NodeRoleDefinition, Name: "Groups Admin",
		Attrs: map[string]string{"privileges": `["00haapch16h1ysv/GROUPS_ALL","00haapch16h1ysv/GROUPS_RETRIEVE"]`, "super_admin": "false"}}))
	f.must(f.g.AddEdge(graph.Edge{From: heidi, Kind: graph.EdgeHasRole, To: "gws:role:91", Attrs: map[string]string{"scope": "CUSTOMER"}}))
	f.policy("gcp:project:prod-app", bind("roles/container.developer", "group:gke-deployers@example.com"))
	f.derive()
	res := checkWhoCan(t, f, "whocan-group-admin", queries.WhoCanOptions{})
	if e, ok := f.edge(grace, graph.EdgeCanAddMember, grp); !ok || e.Evidence[0].Statement != "role OWNER" {
		t.Errorf("grace CanAddMember = %+v, %v", e, ok)
	}
	if p, ok := principal(res, heidi); !ok || p.Via != "escalation" || p.Path[0].Edge != "CanAddMember" {
		t.Errorf("heidi = %+v, %v; want via=escalation over CanAddMember", p, ok)
	}
	if p, ok := principal(res, grace); !ok || p.Via != "direct" {
		t.Errorf("grace = %+v, %v; want direct (an owner is a member)", p, ok)
	}
}
