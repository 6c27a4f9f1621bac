package gengoogle_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"permgraph/bench/gengoogle"
	"permgraph/catalog"
	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
	"permgraph/queries"
)

// small is the test organisation: 300 users, 60 groups, nesting depth 4,
// 3 projects.
func small() gengoogle.Config {
	return gengoogle.Config{Users: 300, Groups: 60, Depth: 4, Projects: 3, Seed: 7}
}

func generate(t *testing.T, c gengoogle.Config) (string, gengoogle.Counts) {
	t.Helper()
	o, err := gengoogle.New(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	counts, err := o.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, counts
}

// importDir runs what `permgraph collect google --from DIR` runs: the
// collector collectors/all builds for the source, then the derivation
// ingest applies (policy/gcp for google: sources). It returns the graph
// as collected and as derived.
func importDir(t *testing.T, dir string) (collected, derived *graph.SourceGraph) {
	t.Helper()
	ctx := context.Background()
	b, err := all.Build(ctx, config.Source{Type: "google", From: []string{dir}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	col := graph.NewCollection()
	if err := b.Collector.Collect(ctx, col); err != nil {
		t.Fatal(err)
	}
	srcs := col.Sources()
	if len(srcs) != 1 || srcs[0].Source != "google:C03gen0001" {
		t.Fatalf("sources %v, want one google:C03gen0001", srcs)
	}
	g := srcs[0]
	if len(g.Warnings) > 0 {
		t.Errorf("import warnings: %q", g.Warnings)
	}
	collected = clone(g)
	if err := ingest.DeriveAll(ctx, srcs, nil); err != nil {
		t.Fatal(err)
	}
	if len(g.Warnings) > 0 {
		t.Errorf("derive warnings: %q", g.Warnings)
	}
	return collected, g
}

func clone(g *graph.SourceGraph) *graph.SourceGraph {
	c := graph.NewSourceGraph(g.Source)
	for id, n := range g.Nodes {
		c.Nodes[id] = n
	}
	for k, e := range g.Edges {
		c.Edges[k] = e
	}
	return c
}

func edgesOf(g *graph.SourceGraph, kind graph.EdgeKind, toPrefix string) int {
	n := 0
	for _, e := range g.Edges {
		if e.Kind == kind && strings.HasPrefix(e.To, toPrefix) {
			n++
		}
	}
	return n
}

// checkCounts compares the imported graph with what the generator says it
// wrote.
func checkCounts(t *testing.T, c gengoogle.Counts, collected, derived *graph.SourceGraph) {
	t.Helper()
	if got, want := len(collected.Nodes), c.Nodes(); got != want {
		t.Errorf("imported nodes = %d, generator wrote %d (%+v)", got, want, c)
	}
	if got, want := len(collected.Edges), c.Edges(); got != want {
		t.Errorf("imported edges = %d, generator wrote %d", got, want)
	}
	if got, want := edgesOf(collected, graph.EdgeMemberOf, ""), c.Memberships; got != want {
		t.Errorf("MemberOf edges = %d, memberships written %d", got, want)
	}
	if got, want := len(derived.Nodes), c.DerivedNodes(); got != want {
		t.Errorf("derived nodes = %d, generator expects %d", got, want)
	}
	if got, want := edgesOf(derived, graph.EdgeHasRole, "gcp:role:"), c.BindingPairs; got != want {
		t.Errorf("HasRole edges to GCP roles = %d, distinct member-role pairs written %d", got, want)
	}
	prefix := map[string]int{}
	for id := range collected.Nodes {
		p := id[:strings.LastIndexByte(id[:min(len(id), 12)], ':')+1]
		prefix[p]++
	}
	for p, want := range map[string]int{"gws:user:": c.Users, "gcp:project:": c.Projects, "gcp:folder:": c.Folders, "gcp:sa:": c.ServiceAccounts} {
		if prefix[p] != want {
			t.Errorf("%s nodes = %d, want %d", p, prefix[p], want)
		}
	}
}

// nestingDepth is the longest chain of groups nested in groups.
func nestingDepth(g *graph.SourceGraph) int {
	parents := map[string][]string{}
	for _, e := range g.Edges {
		if e.Kind == graph.EdgeMemberOf && strings.HasPrefix(e.From, "gws:group:") {
			parents[e.From] = append(parents[e.From], e.To)
		}
	}
	memo := map[string]int{}
	var up func(string, int) int
	up = func(id string, guard int) int {
		if d, ok := memo[id]; ok {
			return d
		}
		if guard > 64 {
			return 0 // a cycle; the generator writes none
		}
		d := 1
		for _, p := range parents[id] {
			d = max(d, 1+up(p, guard+1))
		}
		memo[id] = d
		return d
	}
	best := 0
	for id := range g.Nodes {
		if strings.HasPrefix(id, "gws:group:") {
			best = max(best, up(id, 0))
		}
	}
	return best
}

func TestImportMatchesCounts(t *testing.T) {
	c := small()
	dir, counts := generate(t, c)
	collected, derived := importDir(t, dir)
	checkCounts(t, counts, collected, derived)

	if d := nestingDepth(collected); d != c.Depth {
		t.Errorf("nesting depth = %d, want %d", d, c.Depth)
	}
	if counts.Depth != c.Depth {
		t.Errorf("generator reports depth %d", counts.Depth)
	}

	// Users are in 1-8 groups directly (a handful of owners and admins
	// more); every user in at least one.
	per := map[string]int{}
	for _, e := range collected.Edges {
		if e.Kind == graph.EdgeMemberOf && strings.HasPrefix(e.From, "gws:user:") {
			per[e.From]++
		}
	}
	inRange := 0
	for id := range collected.Nodes {
		if !strings.HasPrefix(id, "gws:user:") {
			continue
		}
		if per[id] == 0 {
			t.Errorf("user %s is in no group", id)
		}
		if per[id] <= 8 {
			inRange++
		}
	}
	if inRange < counts.Users*95/100 {
		t.Errorf("only %d of %d users are in 1-8 groups", inRange, counts.Users)
	}

	// Owners and managers, external members, attacker-style names.
	roles := map[string]int{}
	for _, e := range collected.Edges {
		if e.Kind == graph.EdgeMemberOf {
			roles[e.Attrs["role"]]++
		}
	}
	if roles["OWNER"] != counts.Owners || roles["MANAGER"] != counts.Managers || counts.Owners == 0 || counts.Managers == 0 {
		t.Errorf("member roles %v, generator wrote %d owners, %d managers", roles, counts.Owners, counts.Managers)
	}
	ext, attacker := 0, 0
	for id, n := range collected.Nodes {
		if strings.HasPrefix(id, "gws:external:") {
			ext++
		}
		if strings.HasPrefix(id, "gws:user:") && strings.ContainsAny(n.Name[:1], "=+-@\"<") {
			attacker++
		}
	}
	if ext == 0 || ext != counts.ExternalUsers {
		t.Errorf("external members = %d, generator wrote %d", ext, counts.ExternalUsers)
	}
	if attacker == 0 {
		t.Error("no user with an attacker-style display name")
	}

	// Deploy: Can edges exist, conditional bindings were written, and a
	// user reaches deploy through the whole nesting chain (the chain's
	// head holds roles/owner on the organisation).
	if n := edgesOf(derived, graph.EdgeCan, "cap:deploy-container:gcp:"); n == 0 {
		t.Fatal("no Can deploy-container edge")
	}
	if counts.ConditionalGrants == 0 || edgesOf(derived, graph.EdgeHasRole, "gcp:role:") == 0 {
		t.Errorf("conditional grants %d", counts.ConditionalGrants)
	}
	hasConditional := false
	for _, e := range derived.Edges {
		if e.Kind == graph.EdgeHasRole && e.Conditional && strings.HasPrefix(e.To, "gcp:role:") {
			hasConditional = true
		}
	}
	if !hasConditional {
		t.Error("no conditional HasRole edge")
	}
	v := view(derived)
	res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{Paths: true})
	if err != nil {
		t.Fatal(err)
	}
	users := 0
	for _, p := range res.Principals {
		if strings.HasPrefix(p.ID, "gws:user:") {
			users++
		}
	}
	if users == 0 {
		t.Error("no user can deploy")
	}
	o, _ := gengoogle.New(c)
	deep := "gws:group:" + o.GroupID(o.ChainGroup(0, c.Depth-1))
	hops := -1
	for _, p := range res.Principals {
		if p.ID == deep {
			hops = 0
			for _, h := range p.Path {
				if h.Edge == "MemberOf" {
					hops++
				}
			}
		}
	}
	t.Logf("%d principals can deploy (%d users), %d Can edges; deepest chain group %s reaches deploy through %d memberships",
		len(res.Principals), users, edgesOf(derived, graph.EdgeCan, ""), deep, hops)
	if hops != c.Depth-1 {
		t.Errorf("deepest chain group: %d memberships on its deploy path, want %d", hops, c.Depth-1)
	}
}

func view(g *graph.SourceGraph) *graph.View {
	b := graph.NewViewBuilder()
	for _, n := range g.SortedNodes() {
		b.AddNode(n)
	}
	for _, e := range g.SortedEdges() {
		b.AddEdge(e)
	}
	return b.Build(time.Now(), nil)
}

// The live-capture layout (gcp.jsonl) imports to the same evaluated answer
// as the Cloud Asset Inventory layout; only the empty policies the live
// walk also reads differ.
func TestCaptureFormatMatchesCAI(t *testing.T) {
	c := small()
	c.Format = gengoogle.FormatCapture
	dir, counts := generate(t, c)
	collected, derived := importDir(t, dir)
	checkCounts(t, counts, collected, derived)
	if counts.Policies != 1+counts.Folders+counts.Projects+counts.ServiceAccounts {
		t.Errorf("capture policies = %d: every scope and account is read", counts.Policies)
	}

	_, caiDerived := importDir(t, func() string { d, _ := generate(t, small()); return d }())
	keys := func(g *graph.SourceGraph) []string {
		var out []string
		for k, e := range g.Edges {
			if k.Kind != graph.EdgeMemberOf && k.Kind != graph.EdgeContains {
				out = append(out, fmt.Sprintf("%s %s %s %v", k.From, k.Kind, k.To, e.Conditional))
			}
		}
		sort.Strings(out)
		return out
	}
	a, b := keys(derived), keys(caiDerived)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("evaluated edges differ between capture (%d) and CAI (%d) layouts", len(a), len(b))
	}
}

// A larger, deeper organisation exercises the full layout (department
// tree of several levels, access groups, many lists).
func TestLargerLayout(t *testing.T) {
	c := gengoogle.Config{Users: 6000, Groups: 1500, Depth: 6, Projects: 40, Seed: 3}
	dir, counts := generate(t, c)
	collected, derived := importDir(t, dir)
	checkCounts(t, counts, collected, derived)
	if d := nestingDepth(collected); d != c.Depth {
		t.Errorf("nesting depth = %d, want %d", d, c.Depth)
	}
	sizes := map[string]int{}
	for _, e := range collected.Edges {
		if e.Kind == graph.EdgeMemberOf {
			sizes[e.To]++
		}
	}
	var s []int
	for _, n := range sizes {
		s = append(s, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(s)))
	small := 0
	for _, n := range s {
		if n <= 30 {
			small++
		}
	}
	t.Logf("group sizes: largest %v, %d of %d groups with <= 30 members", s[:5], small, len(s))
	if s[0] < c.Users/5 || small < len(s)/2 {
		t.Errorf("want a few huge groups and many small ones: largest %v, %d small of %d", s[:5], small, len(s))
	}
}

// Edge sizes: the fewest groups allowed, no nesting, Workspace only,
// the live-capture layout with folders of several levels.
func TestEdgeConfigs(t *testing.T) {
	for _, c := range []gengoogle.Config{
		{Users: 10, Groups: 8, Depth: 4, Projects: 2},
		{Users: 50, Groups: 20, Depth: 1, Projects: 1},
		{Users: 40, Groups: 30, Depth: 3},
		{Users: 2000, Groups: 300, Depth: 5, Projects: 30, Folders: 25, Format: gengoogle.FormatCapture, Churn: 0.1, Round: 2},
	} {
		t.Run(fmt.Sprintf("%du-%dg-d%d-p%d", c.Users, c.Groups, c.Depth, c.Projects), func(t *testing.T) {
			dir, counts := generate(t, c)
			collected, derived := importDir(t, dir)
			checkCounts(t, counts, collected, derived)
			if d := nestingDepth(collected); d != c.Depth {
				t.Errorf("nesting depth = %d, want %d", d, c.Depth)
			}
		})
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	c := small()
	d1, _ := generate(t, c)
	d2, _ := generate(t, c)
	if diff := compareDirs(t, d1, d2); diff != "" {
		t.Errorf("same seed, different output: %s", diff)
	}
	c.Seed++
	d3, _ := generate(t, c)
	if compareDirs(t, d1, d3) == "" {
		t.Error("another seed gave identical output")
	}
	c = small()
	c.Churn, c.Round = 0.02, 1
	d4, _ := generate(t, c)
	if compareDirs(t, d1, d4) == "" {
		t.Error("day 1 is identical to day 0")
	}
}

// compareDirs returns "" when both directories hold the same files with
// the same bytes, else the first difference.
func compareDirs(t *testing.T, a, b string) string {
	t.Helper()
	ea, _ := os.ReadDir(a)
	eb, _ := os.ReadDir(b)
	if len(ea) != len(eb) {
		return fmt.Sprintf("%d files vs %d", len(ea), len(eb))
	}
	for i := range ea {
		if ea[i].Name() != eb[i].Name() {
			return "file " + ea[i].Name() + " vs " + eb[i].Name()
		}
		x, err := os.ReadFile(filepath.Join(a, ea[i].Name()))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, eb[i].Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			return ea[i].Name() + " differs"
		}
	}
	return ""
}

// items is a snapshot's content as the store compares it: one canonical
// string per node and per edge, keyed by id.
func items(g *graph.SourceGraph) map[string]string {
	out := map[string]string{}
	for id, n := range g.Nodes {
		out["n "+id] = fmt.Sprintf("%v %q %q %v", n.Kind, n.Name, n.Email, sortedAttrs(n.Attrs))
	}
	for k, e := range g.Edges {
		out[fmt.Sprintf("e %s %s %s", k.From, k.Kind, k.To)] = fmt.Sprintf("%v %q %v %v", e.Conditional, e.Condition, sortedAttrs(e.Attrs), e.Evidence)
	}
	return out
}

func sortedAttrs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// A churn round changes about the churn fraction of the items (nodes and
// edges, evaluated layer included), and rounds accumulate.
func TestChurn(t *testing.T) {
	const churn = 0.05
	c := small()
	c.Users, c.Groups, c.Projects = 1000, 150, 10
	c.Churn = churn
	var days []map[string]string
	for day := range 3 {
		c.Round = day
		dir, counts := generate(t, c)
		collected, derived := importDir(t, dir)
		checkCounts(t, counts, collected, derived)
		days = append(days, items(derived))
	}
	changed := func(a, b map[string]string) int {
		n := 0
		for k, v := range a {
			if w, ok := b[k]; !ok || w != v {
				n++
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				n++
			}
		}
		return n
	}
	d1, d2, d02 := changed(days[0], days[1]), changed(days[1], days[2]), changed(days[0], days[2])
	f1 := float64(d1) / float64(len(days[0]))
	t.Logf("items day 0: %d; changed day 0->1: %d (%.2f%%), 1->2: %d, 0->2: %d", len(days[0]), d1, 100*f1, d2, d02)
	if f1 < churn/4 || f1 > churn*3 {
		t.Errorf("day 1 changed %.2f%% of the items, want about %.0f%%", 100*f1, 100*churn)
	}
	if d02 <= d1 || d02 <= d2 {
		t.Errorf("rounds do not accumulate: 0->1 %d, 1->2 %d, 0->2 %d", d1, d2, d02)
	}
}

// Every predefined role the generator binds is in the embedded catalog
// (else the evaluator warns and grants nothing), and the deploy recipes
// are what make the deploy edges above.
func TestRolesKnown(t *testing.T) {
	roles, err := catalog.LoadGCPRoles()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range gengoogle.PredefinedRoles() {
		if _, ok := roles.Permissions(r); !ok {
			t.Errorf("role %s is not in the catalog", r)
		}
	}
}

func TestWriteRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := gengoogle.New(small())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Write(dir); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("err = %v, want a refusal naming notes.txt", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []gengoogle.Config{
		{Users: 0, Groups: 10},
		{Users: 10, Groups: 5, Depth: 4},
		{Users: 10, Groups: 50, Format: "gcloud"},
		{Users: 10, Groups: 50, Churn: 2},
		{Users: 10, Groups: 50, Projects: 5, ServiceAccounts: 2},
	} {
		if _, err := gengoogle.New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}
