// Package reporttest holds test fixtures shared by the report and server
// tests: a graph whose names are attacker-controlled payloads, and a
// headless Chromium for browser tests.
package reporttest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"permgraph/graph"
)

// Hostile names planted in the graph.
const (
	ImgName       = `<img src=x onerror=alert(1)>`
	ScriptName    = `</script><script>alert(1)</script>`
	FormulaName   = `=HYPERLINK("http://x","y")`
	FlagName      = `"><svg onload=window.pwned=1><script>window.pwned=1</script>`
	OwnerName     = `'-alert(1)-'`
	MarkdownName  = "| [click](javascript:alert(1)) **x** `y`\\"
	GuestName     = `@guest`
	Subscription  = "/subscriptions/5b5b5b5b-0000-4000-8000-00000000000f"
	CapabilityID  = "cap:deploy-container:azure:sub:5b5b5b5b-0000-4000-8000-00000000000f"
	TenantSource  = "azure:hostile-tenant"
	HostileAt     = "2026-11-02T06:00:00Z"
	EvidenceEvil  = `<script>window.pwned=1</script>`
	ConditionEvil = `{"StringEquals":{"x":"</script><img src=x onerror=alert(1)>"}}`
)

// HostileView builds a small Entra/Azure graph whose group, user and
// policy names are injection payloads: every group grants deploy rights,
// every member is listed in the review.
func HostileView(t testing.TB) *graph.View {
	t.Helper()
	at, _ := time.Parse(time.RFC3339, HostileAt)
	g := graph.NewSourceGraph(TenantSource)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user := func(id, name string, attrs map[string]string) string {
		id = "entra:user:" + id
		must(g.AddNode(graph.Node{ID: id, Kind: graph.NodeUser, Name: name, Attrs: attrs}))
		return id
	}
	group := func(id, name string) string {
		id = "entra:group:" + id
		must(g.AddNode(graph.Node{ID: id, Kind: graph.NodeGroup, Name: name}))
		must(g.AddEdge(graph.Edge{From: id, Kind: graph.EdgeCan, To: CapabilityID,
			Evidence: []graph.Evidence{{Source: Subscription + "/roleAssignments/" + name, Statement: name, Detail: EvidenceEvil}}}))
		return id
	}
	must(g.AddNode(graph.Node{ID: CapabilityID, Kind: graph.NodeCapability, Name: "deploy-container (azure " + Subscription + ")",
		Attrs: map[string]string{"capability": "deploy-container", "cloud": "azure", "scope": Subscription}}))
	gImg := group("img", ImgName)
	gScript := group("script", ScriptName)
	gFormula := group("formula", FormulaName)
	gFlag := group("flag", FlagName)
	guest := user("guest", GuestName, map[string]string{"external": "true", "user_type": "Guest", "last_sign_in": "2025-01-02T03:04:05Z", "enabled": "true"})
	bob := user("bob", "bob", map[string]string{"last_sign_in": "2026-11-01T00:00:00Z"})
	md := user("md", MarkdownName, nil)
	owner := user("owner", OwnerName, nil)
	cond := user("cond", "conditional-carl", nil)
	for _, e := range []graph.Edge{
		{From: guest, Kind: graph.EdgeMemberOf, To: gImg},
		{From: bob, Kind: graph.EdgeMemberOf, To: gScript},
		{From: md, Kind: graph.EdgeMemberOf, To: gFormula},
		{From: gFlag, Kind: graph.EdgeMemberOf, To: gImg},
		{From: owner, Kind: graph.EdgeOwns, To: gImg},
		{From: owner, Kind: graph.EdgeCanAddMember, To: gScript, Evidence: []graph.Evidence{{Source: "graph:/groups/script/owners", Detail: ScriptName}}},
		{From: cond, Kind: graph.EdgeCan, To: CapabilityID, Conditional: true, Condition: ConditionEvil,
			Evidence: []graph.Evidence{{Source: FormulaName, Statement: "0", Detail: ImgName}}},
	} {
		must(g.AddEdge(e))
	}
	m := graph.Manifest{ID: TenantSource + "@1", Source: TenantSource, Seq: 1, At: at, Status: graph.StatusComplete}
	return graph.NewViewFromGraphs(at, []graph.Manifest{m}, g)
}

// Chromium finds a Chromium or Chrome binary: $PERMGRAPH_CHROMIUM, then
// the usual names on PATH. Without one the test is skipped, unless
// PERMGRAPH_REQUIRE_BROWSER=1 (CI), which fails it.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PERMGRAPH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PERMGRAPH_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium binary found and PERMGRAPH_REQUIRE_BROWSER=1 (apt-get install -y chromium)")
	}
	t.Skip("no chromium binary found (apt-get install -y chromium, or set PERMGRAPH_CHROMIUM); set PERMGRAPH_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// Browser starts headless Chromium and returns a tab context, cancelled
// at the end of the test.
func Browser(t testing.TB) context.Context {
	t.Helper()
	bin := Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", bin, err)
	}
	return ctx
}

// ArtifactDir is where browser tests save screenshots: $PERMGRAPH_ARTIFACTS,
// else a fresh temporary directory that outlives the test (its path is logged).
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PERMGRAPH_ARTIFACTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "permgraph-artifacts-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
