package genazure

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
	"permgraph/queries"
)

// smallConfig is the test tenant: 300 users, 60 groups, chains of 4, three
// subscriptions (Platform, Corp with a deployment-stack deny, Sandbox with
// the Contractors deny), 60 service principals and 8 tenant admins (one
// of them an app holding a Graph permission over every group).
func smallConfig() Config {
	c := ForUsers(300)
	c.Groups, c.Depth, c.Subscriptions, c.ServicePrincipals, c.TenantAdmins = 60, 4, 3, 60, 8
	return c
}

// collect imports dir the way `permgraph collect azure --from dir` does
// (collectors/all, then ingest's derivation with policy/azure) and returns
// the one source graph.
func collect(t testing.TB, dir string) *graph.SourceGraph {
	t.Helper()
	ctx := context.Background()
	b, err := all.Build(ctx, config.Source{Type: "azure", From: []string{dir}}, nil)
	if err != nil {
		t.Fatalf("build collector: %v", err)
	}
	sources, err := ingest.Collect(ctx, b.Collector)
	if err != nil {
		t.Fatalf("collect %s: %v", dir, err)
	}
	if len(sources) != 1 {
		t.Fatalf("got %d sources, want one azure tenant", len(sources))
	}
	return sources[0]
}

func write(t testing.TB, c Config) (string, Stats) {
	t.Helper()
	dir := t.TempDir()
	st, err := WriteDir(dir, c)
	if err != nil {
		t.Fatalf("WriteDir: %v", err)
	}
	return dir, st
}

func TestImportMatchesStats(t *testing.T) {
	c := smallConfig()
	o, err := NewOrg(c)
	if err != nil {
		t.Fatal(err)
	}
	dir, st := write(t, c)
	g := collect(t, dir)
	if want := "azure:" + o.Tenant(); g.Source != want {
		t.Errorf("source %s, want %s", g.Source, want)
	}

	// Warnings: exactly the injected ones.
	expected := st.ExpectedWarnings()
	if len(expected) < 5 {
		t.Errorf("expected warnings %q: want the 3 injected faults and the administrative-unit and identity notes", expected)
	}
	if len(g.Warnings) != len(expected) {
		t.Errorf("got %d warnings, want %d:\n%s", len(g.Warnings), len(expected), strings.Join(g.Warnings, "\n"))
	}
	for _, e := range expected {
		n := 0
		for _, w := range g.Warnings {
			if strings.Contains(w, e) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d warnings mention %q, want 1:\n%s", n, e, strings.Join(g.Warnings, "\n"))
		}
	}

	nodes := map[string]int{}
	for id := range g.Nodes {
		i := strings.Index(id, ":")
		j := strings.Index(id[i+1:], ":")
		nodes[id[:i+1+j+1]]++
	}
	edges := map[string]int{}
	for k := range g.Edges {
		key := k.Kind.String()
		if k.Kind == graph.EdgeHasRole {
			key += "->" + k.To[:strings.Index(k.To, ":")]
		}
		edges[key]++
	}
	check := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: imported %d, generator wrote %d", what, got, want)
		}
	}
	check("users", nodes["entra:user:"], st.Users)
	check("groups", nodes["entra:group:"], st.Groups)
	check("service principals", nodes["entra:sp:"], st.ServicePrincipals+st.UnknownPrincipals)
	check("applications", nodes["entra:app:"], st.Applications)
	check("directory roles", nodes["entra:role:"], st.DirectoryRoleDefinitions)
	check("role definitions", nodes["azure:roledef:"], st.RoleDefinitions)
	check("role assignments", nodes["azure:ra:"], st.RoleAssignments+st.RBACEligible)
	check("deny assignments", nodes["azure:deny:"], st.DenyAssignments)
	check("management groups", nodes["azure:mg:"], st.ManagementGroups)
	check("subscriptions", nodes["azure:sub:"], st.Subscriptions)
	check("resource groups", nodes["azure:rg:"], st.ResourceGroups)
	check("resource scopes", nodes["azure:res:"], st.ResourceScopes)
	check("memberships", edges["MemberOf"], st.Memberships)
	check("owners", edges["Owns"], st.Owners)
	check("directory HasRole edges", edges["HasRole->entra"], st.DirectoryRoleEdges)
	check("Azure HasRole edges", edges["HasRole->azure"], st.RBACRoleEdges)
	check("HasPolicy edges", edges["HasPolicy"], st.RoleAssignments+st.RBACEligible)
	check("Contains edges", edges["Contains"], st.ManagementGroups-1+st.Subscriptions+st.ResourceGroups+st.ResourceScopes)
	graphSP := g.Nodes["entra:sp:"+string(o.appendSPID(nil, 0, 0))]
	var grants []json.RawMessage
	if err := json.Unmarshal([]byte(graphSP.Attrs["app_roles"]), &grants); err != nil && st.AppRoleAssignments > 0 {
		t.Errorf("app_roles of Microsoft Graph: %v", err)
	}
	check("Graph app role grants", len(grants), st.AppRoleAssignments)
	if edges["Can"] == 0 || edges["CanAddMember"] == 0 || edges["CanAddSecret"] == 0 || edges["CanAssignRole"] == 0 {
		t.Errorf("derived edges %v: want Can, CanAddMember, CanAddSecret and CanAssignRole", edges)
	}
	if st.AppRoleAssignments == 0 || st.DenyAssignments < 2 || st.RBACEligible == 0 || st.DirectoryEligible == 0 || st.ResourceScopes == 0 {
		t.Errorf("the test tenant lacks a feature: %+v", st)
	}
	t.Logf("stats %+v", st)
	t.Logf("nodes %v edges %v", nodes, edges)

	// Nesting: the longest chain of groups is what the generator says.
	if got := longestGroupChain(g); got != st.NestingDepth || got != c.Depth {
		t.Errorf("longest nested group chain %d, stats say %d, depth %d", got, st.NestingDepth, c.Depth)
	}

	// Groups per user: 1-8 for almost everyone.
	perUser := map[string]int{}
	for k := range g.Edges {
		if k.Kind == graph.EdgeMemberOf && strings.HasPrefix(k.From, "entra:user:") {
			perUser[k.From]++
		}
	}
	counts := make([]int, 0, st.Users)
	inRange := 0
	for id, n := range g.Nodes {
		if n.Kind == graph.NodeUser && strings.HasPrefix(id, "entra:user:") {
			counts = append(counts, perUser[id])
			if perUser[id] >= 1 && perUser[id] <= 8 {
				inRange++
			}
		}
	}
	slices.Sort(counts)
	if med := counts[len(counts)/2]; med < 3 || med > 7 || inRange < len(counts)*95/100 || counts[len(counts)-1] > 12 {
		t.Errorf("groups per user: median %d, %d of %d in 1-8, max %d", med, inRange, len(counts), counts[len(counts)-1])
	}

	// who-can deploy: users reach it, and the bottom group of chain 0
	// reaches it through the whole chain.
	v := graph.NewViewFromGraphs(time.Now(), nil, g)
	res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{Cloud: "azure", Paths: true})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	bottom := "entra:group:" + string(o.appendGUID(nil, domGroup, o.chainStart, 0))
	chainHops := -1
	for _, p := range res.Principals {
		kinds[p.Kind]++
		if p.ID == bottom {
			chainHops = 0
			for _, h := range p.Path {
				if h.Edge == graph.EdgeMemberOf.String() {
					chainHops++
				}
			}
		}
	}
	if kinds["user"] == 0 || kinds["user"] == st.Users {
		t.Errorf("who-can deploy: %v principals; want some users, not all", kinds)
	}
	if chainHops != c.Depth-1 {
		t.Errorf("chain 0's bottom group reaches deploy through %d MemberOf hops, want %d", chainHops, c.Depth-1)
	}
}

// longestGroupChain is the number of groups in the longest chain of
// group-in-group memberships.
func longestGroupChain(g *graph.SourceGraph) int {
	parents := map[string][]string{}
	for k := range g.Edges {
		if k.Kind == graph.EdgeMemberOf && strings.HasPrefix(k.From, "entra:group:") {
			parents[k.From] = append(parents[k.From], k.To)
		}
	}
	memo := map[string]int{}
	var depth func(string) int
	depth = func(id string) int {
		if d, ok := memo[id]; ok {
			return d
		}
		memo[id] = 1 // cycle guard
		d := 1
		for _, p := range parents[id] {
			d = max(d, 1+depth(p))
		}
		memo[id] = d
		return d
	}
	best := 0
	for id, n := range g.Nodes {
		if n.Kind == graph.NodeGroup {
			best = max(best, depth(id))
		}
	}
	return best
}

func fileHash(t testing.TB, name string) [32]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestDeterministic(t *testing.T) {
	c := smallConfig()
	a, _ := write(t, c)
	b, _ := write(t, c)
	c.Seed = 2
	other, _ := write(t, c)
	for _, f := range []string{GraphFile, ARMFile} {
		ha, hb, ho := fileHash(t, filepath.Join(a, f)), fileHash(t, filepath.Join(b, f)), fileHash(t, filepath.Join(other, f))
		if ha != hb {
			t.Errorf("%s: same seed, different bytes", f)
		}
		if ha == ho {
			t.Errorf("%s: seeds 1 and 2 gave the same bytes", f)
		}
	}
}

// items fingerprints every node and edge (with attributes and evidence).
func items(g *graph.SourceGraph) map[string]string {
	out := make(map[string]string, len(g.Nodes)+len(g.Edges))
	for id, n := range g.Nodes {
		out["n "+id] = fmt.Sprint(n)
	}
	for k, e := range g.Edges {
		out[fmt.Sprint("e ", k)] = fmt.Sprint(e)
	}
	return out
}

func TestChurn(t *testing.T) {
	c := smallConfig()
	c.Churn = 0.05
	day0, st0 := write(t, c)
	c.Round = 1
	day1, st1 := write(t, c)
	for _, f := range []string{GraphFile, ARMFile} {
		if fileHash(t, filepath.Join(day0, f)) == fileHash(t, filepath.Join(day1, f)) {
			t.Errorf("%s: day 1 is day 0", f)
		}
	}
	a, b := items(collect(t, day0)), items(collect(t, day1))
	added, removed, changed := 0, 0, 0
	for k, v := range b {
		switch old, ok := a[k]; {
		case !ok:
			added++
		case old != v:
			changed++
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			removed++
		}
	}
	frac := float64(added+removed+changed) / float64(len(a))
	t.Logf("day 0 -> 1 at churn %.2f: %d items, +%d -%d ~%d (%.2f%%); memberships %d -> %d",
		c.Churn, len(a), added, removed, changed, 100*frac, st0.Memberships, st1.Memberships)
	if frac < c.Churn/4 || frac > 3*c.Churn {
		t.Errorf("changed fraction %.4f, want about the churn %.2f", frac, c.Churn)
	}

	// A later day builds on the earlier one: day 2 differs from day 1 by
	// about as much as day 1 from day 0.
	c.Round = 2
	day2, _ := write(t, c)
	d := items(collect(t, day2))
	diff := 0
	for k, v := range d {
		if b[k] != v {
			diff++
		}
	}
	for k := range b {
		if _, ok := d[k]; !ok {
			diff++
		}
	}
	if f2 := float64(diff) / float64(len(b)); f2 > 3*c.Churn || f2 < c.Churn/4 {
		t.Errorf("day 1 -> 2 changed %.4f, want about the churn %.2f (days accumulate)", f2, c.Churn)
	}
}

func TestPermIsBijection(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 7, 50, 1000, 4097} {
		p := newPerm(n, n*31)
		seen := make([]bool, n)
		for x := range n {
			y := p.at(x)
			if y >= n || seen[y] {
				t.Fatalf("n=%d: perm(%d)=%d repeats or is out of range", n, x, y)
			}
			seen[y] = true
		}
	}
}

func TestHostileNamesStayValidJSON(t *testing.T) {
	for _, s := range append(slices.Clone(hostileNames), "bad \xff utf8", "nul \x00 and \x1f") {
		b := appendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("%q round-trips to %q", s, back)
		}
	}
}

// TestMembershipIsPerGroup checks that a group's member list does not
// depend on which other groups were computed before it (the capture
// streams), and that member lists have no duplicates.
func TestMembershipIsPerGroup(t *testing.T) {
	c := smallConfig()
	c.Churn, c.Round = 0.2, 3
	o, err := NewOrg(c)
	if err != nil {
		t.Fatal(err)
	}
	var buf []ref
	first := make([][]ref, c.Groups)
	for g := range c.Groups {
		buf = o.members(g, buf)
		first[g] = slices.Clone(buf)
	}
	for g := c.Groups - 1; g >= 0; g-- {
		buf = o.members(g, buf)
		if !slices.Equal(buf, first[g]) {
			t.Fatalf("group %d: members differ on a second computation", g)
		}
		for i := 1; i < len(buf); i++ {
			if buf[i].kind() == buf[i-1].kind() && buf[i].idx() == buf[i-1].idx() {
				t.Fatalf("group %d lists %v twice", g, buf[i])
			}
		}
	}
}

func TestUPNContract(t *testing.T) {
	o, err := NewOrg(ForUsers(100))
	if err != nil {
		t.Fatal(err)
	}
	if got := o.UPN(3); got != "user3@example.com" {
		t.Errorf("UPN(3) = %q", got)
	}
	if got := o.UPN(7); got != "user7_partner.example#EXT#@example.onmicrosoft.com" || o.Mail(7) != "user7@partner.example" {
		t.Errorf("guest 7: UPN %q mail %q", got, o.Mail(7))
	}
}
