package azurerbac

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testOptions(f *fakeARM, cred *fakeCred) Options {
	return Options{
		Credential: cred, HTTPClient: f.srv.Client(), ARMEndpoint: f.srv.URL,
		Concurrency: 2, PageTimeout: 10 * time.Second,
		MaxRetries: 3, RetryDelay: time.Millisecond, MaxRetryDelay: 3 * time.Second,
	}
}

func collectLive(t *testing.T, o Options) (*graph.Collection, error) {
	t.Helper()
	l, err := NewLive(o)
	if err != nil {
		t.Fatal(err)
	}
	c := graph.NewCollection()
	return c, l.Collect(context.Background(), c)
}

// goldenGraph is the stable JSON form of one source graph.
type goldenGraph struct {
	Nodes    []graph.Node `json:"nodes"`
	Edges    []graph.Edge `json:"edges"`
	Warnings []string     `json:"warnings"`
}

func sourceGraph(t *testing.T, c *graph.Collection) *graph.SourceGraph {
	t.Helper()
	srcs := c.Sources()
	if len(srcs) != 1 || srcs[0].Source != "azure:"+tTenant {
		var ids []string
		for _, s := range srcs {
			ids = append(ids, s.Source)
		}
		t.Fatalf("sources = %v, want [azure:%s]", ids, tTenant)
	}
	return srcs[0]
}

func checkGolden(t *testing.T, name string, g *graph.SourceGraph) {
	t.Helper()
	got, err := json.MarshalIndent(goldenGraph{g.SortedNodes(), g.SortedEdges(), g.Warnings}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if d := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(got))); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

func TestLiveCollectAndReplay(t *testing.T) {
	f := newFakeARM(t)
	fixture(f)
	cred := &fakeCred{}
	o := testOptions(f, cred)
	raw := filepath.Join(t.TempDir(), "raw")
	o.SaveRawDir = raw
	c, err := collectLive(t, o)
	if err != nil {
		t.Fatal(err)
	}
	g := sourceGraph(t, c)

	sub1 := "/subscriptions/" + tSub1
	t.Run("retries", func(t *testing.T) {
		if n := f.hitCount(sub1+"/providers/Microsoft.Authorization/roleAssignments", 1); n != 2 {
			t.Errorf("throttled page requested %d times, want 2 (429 + retry after Retry-After)", n)
		}
		if n := f.hitCount(sub1+"/providers/Microsoft.Authorization/roleDefinitions", 0); n != 2 {
			t.Errorf("503 page requested %d times, want 2", n)
		}
		if n := f.hitCount(sub1+"/providers/Microsoft.Authorization/roleAssignments", 2); n != 1 {
			t.Errorf("page 3 requested %d times, want 1", n)
		}
	})
	t.Run("token audience", func(t *testing.T) {
		want := map[string]bool{f.srv.URL + "/.default": true}
		if d := cmp.Diff(want, cred.scopes); d != "" {
			t.Errorf("token scopes (-want +got):\n%s", d)
		}
	})
	t.Run("warnings", func(t *testing.T) {
		s2 := "/subscriptions/" + tSub2
		want := []string{
			s2 + ": list resource groups failed with HTTP 403 AuthorizationFailed; " + consequences[opResourceGroups],
			"/subscriptions/" + tSub3 + ": list PIM eligible role assignments failed with HTTP 400 AadPremiumLicenseRequired; " + consequences[opEligibility],
			s2 + ": list deny assignments failed with HTTP 403 AuthorizationFailed; " + consequences[opDenyAssignments],
			s2 + ": list PIM eligible role assignments failed with HTTP 403 AuthorizationFailed; " + consequences[opEligibility],
			s2 + ": list role assignments failed with HTTP 403 AuthorizationFailed; " + consequences[opRoleAssignments],
			s2 + ": list role definitions failed with HTTP 403 AuthorizationFailed; " + consequences[opRoleDefinitions],
		}
		sortStrings(want)
		if d := cmp.Diff(want, g.Warnings); d != "" {
			t.Errorf("warnings (-want +got):\n%s", d)
		}
	})
	t.Run("contract", func(t *testing.T) {
		node := func(id string) graph.Node {
			t.Helper()
			n, ok := g.Nodes[id]
			if !ok {
				t.Fatalf("node %s missing", id)
			}
			return n
		}
		edge := func(from string, k graph.EdgeKind, to string) graph.Edge {
			t.Helper()
			e, ok := g.Edges[graph.EdgeKey{From: from, Kind: k, To: to}]
			if !ok {
				t.Fatalf("edge %s -%s-> %s missing", from, k, to)
			}
			return e
		}
		if n := node("azure:mg:platform"); n.Attrs["type"] != "managementGroup" || n.Attrs["arm_id"] != mgPlatform || n.Name != "Platform" {
			t.Errorf("platform mg = %+v", n)
		}
		if n := node("azure:sub:" + tSub3); n.Attrs["state"] != "Warned" || n.Name != "Sandbox" {
			t.Errorf("sub3 = %+v", n)
		}
		edge("azure:mg:"+tTenant, graph.EdgeContains, "azure:mg:platform")
		edge("azure:mg:platform", graph.EdgeContains, "azure:sub:"+tSub1)
		edge("azure:mg:"+tTenant, graph.EdgeContains, "azure:sub:"+tSub2)
		rgWeb := "azure:rg:/subscriptions/" + tSub1 + "/resourcegroups/web-rg"
		edge("azure:sub:"+tSub1, graph.EdgeContains, rgWeb)
		if n := node(rgWeb); n.Attrs["arm_id"] != sub1+"/resourceGroups/Web-RG" || n.Name != "Web-RG" {
			t.Errorf("rg listed by ARM keeps ARM's spelling, got %+v", n)
		}
		storage := "azure:res:" + strings.ToLower(sub1+"/resourceGroups/data-rg/providers/Microsoft.Storage/storageAccounts/BuildCache")
		edge("azure:rg:/subscriptions/"+tSub1+"/resourcegroups/data-rg", graph.EdgeContains, storage)
		if n := node(storage); n.Attrs["type"] != "resource" {
			t.Errorf("storage = %+v", n)
		}

		var blocks []permBlock
		dep := node("azure:roledef:" + gDeployer)
		if err := json.Unmarshal([]byte(dep.Attrs["permissions"]), &blocks); err != nil || len(blocks) != 2 {
			t.Fatalf("deployer permissions = %s (%v): want 2 blocks", dep.Attrs["permissions"], err)
		}
		if dep.Name != "Deployer" || dep.Attrs["type"] != "CustomRole" || dep.Attrs["assignable_scopes"] != `["`+sub1+`"]` {
			t.Errorf("deployer = %+v", dep)
		}
		if n := node("azure:roledef:" + gMGRole); n.Name != "Platform Deployer" {
			t.Errorf("management-group custom role (fetched by id) = %+v", n)
		}

		ci := "entra:sp:" + pCI
		e := edge(ci, graph.EdgeHasRole, "azure:roledef:"+gDeployer)
		if e.Conditional {
			t.Errorf("CI has an unconditional Deployer assignment at Web-RG, edge = %+v", e)
		}
		if len(e.Evidence) != 2 {
			t.Errorf("CI Deployer evidence = %+v, want both assignments", e.Evidence)
		}
		ra := node("azure:ra:11111111-0000-4000-8000-000000000103")
		wantRA := map[string]string{"type": "roleAssignment", "principal": ci, "principal_type": "ServicePrincipal",
			"role": "azure:roledef:" + gDeployer, "scope": storage, "scope_arm": sub1 + "/resourceGroups/data-rg/providers/Microsoft.Storage/storageAccounts/BuildCache",
			"condition": abacCondition, "condition_version": "2.0",
			"arm_id": sub1 + "/resourceGroups/data-rg/providers/Microsoft.Storage/storageAccounts/BuildCache/providers/Microsoft.Authorization/roleAssignments/11111111-0000-4000-8000-000000000103"}
		if d := cmp.Diff(wantRA, ra.Attrs); d != "" {
			t.Errorf("conditional assignment attrs (-want +got):\n%s", d)
		}
		edge(ci, graph.EdgeHasPolicy, "azure:ra:11111111-0000-4000-8000-000000000103")

		el := edge("entra:user:"+pAlice, graph.EdgeHasRole, "azure:roledef:"+gOwner)
		if el.Conditional {
			t.Errorf("alice is an active Owner at sub1 and eligible at data-rg: the edge must be unconditional: %+v", el)
		}
		eli := node("azure:ra:eeeeeeee-0000-4000-8000-000000000001")
		if eli.Attrs["type"] != "roleEligibility" || eli.Attrs["member_type"] != "Direct" {
			t.Errorf("eligibility node = %+v", eli)
		}
		// The root-scope assignment hangs on the tenant root group and is
		// listed once although three listings return it.
		root := node("azure:ra:f0000000-0000-4000-8000-0000000000f1")
		if root.Attrs["scope"] != "azure:mg:"+tTenant || root.Attrs["scope_arm"] != "/" {
			t.Errorf("root assignment = %+v", root)
		}
		if e := edge("entra:user:"+pBob, graph.EdgeHasRole, "azure:roledef:"+gUAA); len(e.Evidence) != 1 {
			t.Errorf("root assignment evidence = %+v, want one", e.Evidence)
		}
		if n := node("entra:sp:" + pGhost); n.Kind != graph.NodeServicePrincipal {
			t.Errorf("unknown principal type = %+v", n)
		}
		if n := node("entra:group:" + pOps); n.Kind != graph.NodeGroup {
			t.Errorf("group = %+v", n)
		}
		deny := node("azure:deny:dddddddd-0000-4000-8000-000000000001")
		if deny.Attrs["principals"] != `["*"]` || deny.Attrs["exclude_principals"] != `["`+ci+`"]` ||
			deny.Attrs["does_not_apply_to_child_scopes"] != "false" || deny.Attrs["type"] != "denyAssignment" {
			t.Errorf("deny = %+v", deny)
		}
	})
	checkGolden(t, "live.golden.json", g)

	t.Run("capture has no token", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(raw, CaptureFile))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "Bearer") || strings.Contains(string(b), "test-token") {
			t.Fatal("capture contains the bearer token")
		}
		if !f.authz["Bearer "+testToken] {
			t.Fatal("fake never saw the token: the test proves nothing")
		}
	})
	t.Run("replay", func(t *testing.T) {
		fc := graph.NewCollection()
		file := NewFile(raw, Options{})
		if err := file.Collect(context.Background(), fc); err != nil {
			t.Fatal(err)
		}
		got := sourceGraph(t, fc)
		if d := cmp.Diff(g, got); d != "" {
			t.Errorf("replay differs from the live graph (-live +replay):\n%s", d)
		}
	})
}

func TestLiveMalformedPage(t *testing.T) {
	f := newFakeARM(t)
	fixture(f)
	path := "/subscriptions/" + tSub1 + "/providers/Microsoft.Authorization/roleAssignments"
	f.raw[strings.ToLower(path)+"#1"] = `{"value":[{"id":5,"properties":`
	_, err := collectLive(t, testOptions(f, &fakeCred{}))
	if err == nil {
		t.Fatal("malformed page accepted")
	}
	for _, want := range []string{"list role assignments page 2", f.srv.URL + path, "skiptoken=1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestLiveFatalStatus(t *testing.T) {
	f := newFakeARM(t)
	fixture(f)
	f.script["/subscriptions#0"] = []int{500, 500, 500, 500}
	_, err := collectLive(t, testOptions(f, &fakeCred{}))
	if err == nil || !strings.Contains(err.Error(), "list subscriptions page 1") || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err = %v, want the subscription list failure after retries", err)
	}
	if n := f.hitCount("/subscriptions", 0); n != 4 {
		t.Errorf("requests = %d, want 1 + MaxRetries(3)", n)
	}
}

func TestLiveCancelAndTimeout(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		f := newFakeARM(t)
		fixture(f)
		l, err := NewLive(testOptions(f, &fakeCred{}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = l.Collect(ctx, graph.NewCollection())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("page timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		l, err := NewLive(Options{Credential: &fakeCred{}, HTTPClient: srv.Client(), ARMEndpoint: srv.URL,
			PageTimeout: 50 * time.Millisecond, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = l.Collect(context.Background(), graph.NewCollection())
		if err == nil || !strings.Contains(err.Error(), "page timeout") {
			t.Fatalf("err = %v, want a page timeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s", d)
		}
	})
}

func TestNewLiveEndpoints(t *testing.T) {
	for _, tc := range []struct{ endpoint, audience, err string }{
		{"", "https://management.core.windows.net/", ""},
		{"https://management.usgovcloudapi.net/", "https://management.core.usgovcloudapi.net/", ""},
		{"https://management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn/", ""},
		{"https://arm.contoso.example", "https://arm.contoso.example", ""},
		{"http://management.azure.com", "", "must be an https:// URL"},
	} {
		l, err := NewLive(Options{Credential: &fakeCred{}, ARMEndpoint: tc.endpoint})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.endpoint, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.endpoint, err)
			continue
		}
		if l.o.ARMAudience != tc.audience {
			t.Errorf("%q: audience = %q, want %q", tc.endpoint, l.o.ARMAudience, tc.audience)
		}
	}
	if _, err := NewLive(Options{}); err == nil {
		t.Error("no credential accepted")
	}
}

func TestSubscriptionFilter(t *testing.T) {
	f := newFakeARM(t)
	fixture(f)
	o := testOptions(f, &fakeCred{})
	o.Subscriptions = []string{strings.ToUpper(tSub3), "dddddddd-0000-4000-8000-00000000dddd"}
	c, err := collectLive(t, o)
	if err != nil {
		t.Fatal(err)
	}
	g := sourceGraph(t, c)
	if f.hitCount("/subscriptions/"+tSub1+"/providers/Microsoft.Authorization/roleAssignments", 0) != 0 {
		t.Error("sub1 was read although not selected")
	}
	joined := strings.Join(g.Warnings, "\n")
	if !strings.Contains(joined, "dddddddd-0000-4000-8000-00000000dddd: requested subscription is not visible") ||
		strings.Contains(joined, tSub2) {
		t.Errorf("warnings = %s", joined)
	}
}
