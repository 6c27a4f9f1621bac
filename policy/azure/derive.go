package azure

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"permgraph/catalog"
	"permgraph/graph"
)

// Actions the evaluator looks up besides the recipes'.
const (
	roleAssignmentsWrite = "Microsoft.Authorization/roleAssignments/write"
	pimCondition         = "PIM eligible: activation required"
)

// actionKey is one action to look up: control plane or data plane.
type actionKey struct {
	name string
	data bool
}

func (a actionKey) String() string {
	if a.data {
		return "DataAction " + a.name
	}
	return a.name
}

// role is a parsed role definition with memoized grants.
type role struct {
	id, name string
	perms    Permissions
	grants   map[actionKey]grantMemo
}

type grantMemo struct {
	g  Grant
	ok bool
}

func (r *role) grant(a actionKey) (Grant, bool) {
	if m, ok := r.grants[a]; ok {
		return m.g, m.ok
	}
	g, ok := r.perms.Grants(a.name, a.data, Lenient)
	r.grants[a] = grantMemo{g, ok}
	return g, ok
}

// assignment is one `azure:ra:*` node (active or PIM-eligible).
type assignment struct {
	id, arm, principal, role, scope, scopeARM string
	condition                                 string
	eligible                                  bool
}

// conditionText is what makes a grant conditional: PIM eligibility first
// (it must be activated before anything else matters), then the ABAC
// condition of the assignment, then that of the role's block.
func (a *assignment) conditionText(blockCond string) string {
	var parts []string
	if a.eligible {
		parts = append(parts, pimCondition)
	}
	if a.condition != "" {
		parts = append(parts, a.condition)
	}
	if blockCond != "" {
		parts = append(parts, blockCond)
	}
	return strings.Join(parts, " and ")
}

// grantRef is one reason an action is allowed at a capability scope.
type grantRef struct {
	a        *assignment
	roleName string
	pattern  string
	cond     string // empty = unconditional
	via      string // "via management group X" for fanned-out grants
}

func (gr grantRef) evidence(detail string) graph.Evidence {
	return graph.Evidence{Source: gr.a.arm, Statement: gr.roleName, Detail: detail}
}

// Derive evaluates one Azure tenant source (`azure:<tenant-id>`): it adds
// deploy-container capability nodes and Can edges from role assignments
// (minus deny assignments), escalation edges (CanAddMember, CanAddSecret,
// CanAssignRole) and CanImpersonate edges to user-assigned managed
// identities. others are context graphs (for example Entra data kept in
// another source); only g is written.
func Derive(ctx context.Context, g *graph.SourceGraph, recipes []catalog.DeployRecipe, others ...*graph.SourceGraph) error {
	tenant, ok := strings.CutPrefix(g.Source, "azure:")
	if !ok || tenant == "" {
		return fmt.Errorf("derive Azure edges: source %q is not an Azure tenant", g.Source)
	}
	d := newDeriver(ctx, g, tenant, recipes, others)
	if err := d.load(); err != nil {
		return fmt.Errorf("derive Azure edges for %s: %w", g.Source, err)
	}
	if err := d.deploy(); err != nil {
		return fmt.Errorf("derive Azure deploy edges for %s: %w", g.Source, err)
	}
	if err := d.identities(); err != nil {
		return fmt.Errorf("derive Azure managed-identity edges for %s: %w", g.Source, err)
	}
	if err := d.entra(); err != nil {
		return fmt.Errorf("derive Entra escalation edges for %s: %w", g.Source, err)
	}
	return nil
}

type deriver struct {
	ctx     context.Context // checked between principals: a long derive stops on SIGTERM
	g       *graph.SourceGraph
	graphs  []*graph.SourceGraph // g first, then context
	tenant  string
	recipes []catalog.DeployRecipe
	actions []actionKey // every action a recipe needs, deduplicated
	uamiKey actionKey   // identity attach permission, when some recipe names it
	assign  actionKey

	// eligible is the one attribute map of every PIM-eligible escalation
	// edge (graph.SourceGraph merges copy on write): one map per edge was
	// 447 MB for 2.6M CanAddMember edges at 500k users.
	eligible map[string]string

	sc          *scopeTree
	roles       map[string]*role
	assignments map[string][]*assignment // principal -> assignments, sorted by id
	principals  []string
	denies      []*deny
	denyMemo    map[string][]*deny
	mem         *membership
	capAdded    map[string]bool

	// deployers records who got a Can edge from a recipe that can carry a
	// user-assigned identity: principal -> unconditional?
	deployers map[string]bool
	// idGrants are identity attach grants: principal -> UAMI resource -> grants.
	idGrants map[string]map[string][]grantRef
}

func newDeriver(ctx context.Context, g *graph.SourceGraph, tenant string, recipes []catalog.DeployRecipe, others []*graph.SourceGraph) *deriver {
	d := &deriver{eligible: map[string]string{"eligible": "true"}, ctx: ctx, g: g, graphs: append([]*graph.SourceGraph{g}, others...), tenant: tenant, recipes: recipes,
		sc: newScopeTree(), roles: map[string]*role{}, assignments: map[string][]*assignment{}, denyMemo: map[string][]*deny{},
		mem: newMembership(len(g.Nodes)), capAdded: map[string]bool{}, deployers: map[string]bool{}, idGrants: map[string]map[string][]grantRef{},
		assign: actionKey{name: roleAssignmentsWrite}}
	seen := map[actionKey]bool{}
	for _, r := range recipes {
		for _, a := range r.Actions {
			k := actionKey{name: a}
			if !seen[k] {
				seen[k] = true
				d.actions = append(d.actions, k)
			}
		}
		for _, a := range r.DataActions {
			k := actionKey{name: a, data: true}
			if !seen[k] {
				seen[k] = true
				d.actions = append(d.actions, k)
			}
		}
		if r.Identity != "" {
			d.uamiKey = actionKey{name: r.Identity}
		}
	}
	return d
}

// node looks id up in g, then in the context graphs.
func (d *deriver) node(id string) (graph.Node, bool) {
	for _, sg := range d.graphs {
		if n, ok := sg.Nodes[id]; ok {
			return n, true
		}
	}
	return graph.Node{}, false
}

// load reads scopes, role definitions, assignments, deny assignments and
// memberships from every graph.
func (d *deriver) load() error {
	seen := map[string]bool{}
	var raNodes, denyNodes []graph.Node
	for _, sg := range d.graphs {
		for id, n := range sg.Nodes {
			if seen[id] {
				continue
			}
			seen[id] = true
			switch {
			case n.Kind == graph.NodeScope && isScopeID(id):
				d.sc.addNode(n)
			case strings.HasPrefix(id, "azure:roledef:"):
				r := &role{id: id, name: n.Name, grants: map[actionKey]grantMemo{}}
				ps, err := ParsePermissions(n.Attrs["permissions"])
				if err != nil {
					d.warn("role definition %s (%s): permissions unusable, role ignored: %v", n.Name, id, err)
				}
				r.perms = ps
				if r.name == "" {
					r.name = id
				}
				d.roles[id] = r
			case strings.HasPrefix(id, "azure:ra:"):
				raNodes = append(raNodes, n)
			case strings.HasPrefix(id, "azure:deny:") || n.Attrs["type"] == "denyAssignment":
				denyNodes = append(denyNodes, n)
			}
		}
		for _, e := range sg.Edges {
			switch e.Kind {
			case graph.EdgeContains:
				d.sc.addContains(e.From, e.To)
			case graph.EdgeMemberOf:
				d.mem.add(e.From, e.To)
			}
		}
	}
	d.sc.finish()
	d.mem.finish()
	sort.Slice(raNodes, func(i, j int) bool { return raNodes[i].ID < raNodes[j].ID })
	for _, n := range raNodes {
		a, err := d.parseAssignment(n)
		if err != nil {
			d.warn("%v", err)
			continue
		}
		if _, ok := d.assignments[a.principal]; !ok {
			d.principals = append(d.principals, a.principal)
		}
		d.assignments[a.principal] = append(d.assignments[a.principal], a)
	}
	sort.Strings(d.principals)
	sort.Slice(denyNodes, func(i, j int) bool { return denyNodes[i].ID < denyNodes[j].ID })
	for _, n := range denyNodes {
		dn, err := parseDeny(n)
		if err != nil {
			// A deny we cannot read could hide a removal; say so rather
			// than silently over-reporting.
			d.warn("deny assignment %s unusable, ignored (answers at %s may be too broad): %v", n.ID, n.Attrs["scope_arm"], err)
			continue
		}
		d.denies = append(d.denies, dn)
	}
	return nil
}

func (d *deriver) warn(format string, args ...any) {
	d.g.Warnings = append(d.g.Warnings, fmt.Sprintf(format, args...))
}

func (d *deriver) parseAssignment(n graph.Node) (*assignment, error) {
	at := n.Attrs
	a := &assignment{id: n.ID, principal: at["principal"], role: strings.ToLower(at["role"]), scope: at["scope"], scopeARM: at["scope_arm"],
		condition: strings.TrimSpace(at["condition"]), eligible: at["type"] == "roleEligibility" || at["eligible"] == "true"}
	if a.principal == "" || a.role == "" || (a.scope == "" && a.scopeARM == "") {
		return nil, fmt.Errorf("role assignment %s: principal, role and scope are required, assignment ignored", n.ID)
	}
	if a.scope == "" && a.scopeARM != "/" {
		return nil, fmt.Errorf("role assignment %s: no scope graph id for %q, assignment ignored", n.ID, a.scopeARM)
	}
	a.arm = at["arm_id"]
	if a.arm == "" {
		// The contract gives no assignment ARM id attribute; rebuild it the
		// way ARM spells it so evidence matches the portal and audit logs.
		guid := strings.TrimPrefix(n.ID, "azure:ra:")
		kind := "roleAssignments"
		if a.eligible {
			kind = "roleEligibilityScheduleInstances"
		}
		a.arm = strings.TrimSuffix(a.scopeARM, "/") + "/providers/Microsoft.Authorization/" + kind + "/" + guid
	}
	return a, nil
}

// deploy evaluates every principal's assignments and writes Can and
// CanAssignRole edges.
func (d *deriver) deploy() error {
	for _, p := range d.principals {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		if err := d.principalEdges(p); err != nil {
			return fmt.Errorf("principal %s: %w", p, err)
		}
	}
	return nil
}

// capGrants is what one principal's assignments allow at one capability
// scope: action -> reasons, in assignment order.
type capGrants map[actionKey][]grantRef

func (d *deriver) principalEdges(p string) error {
	byCap := map[string]capGrants{}
	var capOrder []string
	assignAt := map[string][]grantRef{}
	var assignOrder []string
	for _, a := range d.assignments[p] {
		r, ok := d.roles[a.role]
		if !ok {
			d.warn("role assignment %s names role definition %s, which was not collected; assignment ignored", a.id, a.role)
			continue
		}
		targets := d.sc.capScopes(a.scope, a.scopeARM)
		via := ""
		if !strings.HasPrefix(a.scope, prefixSub) && !strings.HasPrefix(a.scope, prefixRG) && !strings.HasPrefix(a.scope, prefixRes) {
			via = "via management group " + d.sc.displayScope(a.scope)
			if isRootScope(a.scope, a.scopeARM) {
				via = "via root scope /"
			}
		}
		for _, k := range d.actions {
			gr, ok := r.grant(k)
			if !ok {
				continue
			}
			ref := grantRef{a: a, roleName: r.name, pattern: gr.Pattern, cond: a.conditionText(gr.Condition), via: via}
			for _, c := range targets {
				cg := byCap[c]
				if cg == nil {
					cg = capGrants{}
					byCap[c] = cg
					capOrder = append(capOrder, c)
				}
				cg[k] = append(cg[k], ref)
			}
		}
		if gr, ok := r.grant(d.assign); ok {
			ref := grantRef{a: a, roleName: r.name, pattern: gr.Pattern, cond: a.conditionText(gr.Condition), via: via}
			for _, c := range targets {
				if _, ok := assignAt[c]; !ok {
					assignOrder = append(assignOrder, c)
				}
				assignAt[c] = append(assignAt[c], ref)
			}
		}
		if d.uamiKey.name != "" {
			if gr, ok := r.grant(d.uamiKey); ok {
				d.noteIdentityGrant(p, a, grantRef{a: a, roleName: r.name, pattern: gr.Pattern, cond: a.conditionText(gr.Condition), via: via})
			}
		}
	}
	sort.Strings(capOrder)
	for _, c := range capOrder {
		if err := d.capEdges(p, c, byCap[c]); err != nil {
			return err
		}
	}
	sort.Strings(assignOrder)
	for _, c := range assignOrder {
		if err := d.assignRoleEdge(p, c, assignAt[c]); err != nil {
			return err
		}
	}
	return nil
}

// recipeResult is how grants satisfy one recipe.
type recipeResult struct {
	recipe      catalog.DeployRecipe
	conditional bool
	eligible    bool
	conditions  []string
	evidence    []graph.Evidence
}

// recipesAt returns the recipes the grants satisfy at capability scope c,
// skipping denied actions; unconditional results first.
func (d *deriver) recipesAt(c string, grants capGrants, denied map[actionKey]string) []recipeResult {
	resType := d.sc.resourceType(c)
	var out []recipeResult
	for _, r := range d.recipes {
		if resType != "" && !recipeFitsResource(r, resType) {
			continue
		}
		rr := recipeResult{recipe: r}
		ok := true
		for _, k := range recipeActions(r) {
			if denied[k] != "" {
				ok = false
				break
			}
			best, found := bestGrant(grants[k])
			if !found {
				ok = false
				break
			}
			detail := fmt.Sprintf("%s: %s (matched %s) at %s", r.ID, k, best.pattern, d.sc.arm(c))
			if best.via != "" {
				detail += " " + best.via
			}
			rr.evidence = append(rr.evidence, best.evidence(detail))
			if best.cond != "" {
				rr.conditional = true
				rr.conditions = appendUnique(rr.conditions, best.cond)
				rr.eligible = rr.eligible || best.a.eligible
			}
		}
		if ok {
			out = append(out, rr)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return !out[i].conditional && out[j].conditional })
	return out
}

func recipeActions(r catalog.DeployRecipe) []actionKey {
	out := make([]actionKey, 0, len(r.Actions)+len(r.DataActions))
	for _, a := range r.Actions {
		out = append(out, actionKey{name: a})
	}
	for _, a := range r.DataActions {
		out = append(out, actionKey{name: a, data: true})
	}
	return out
}

// recipeFitsResource reports whether a recipe can act on a resource of type
// typ: an assignment on a storage account grants no AKS pod creation, and
// one on a managed identity no deploy at all.
func recipeFitsResource(r catalog.DeployRecipe, typ string) bool {
	for _, k := range recipeActions(r) {
		if strings.HasPrefix(strings.ToLower(k.name), typ+"/") {
			return true
		}
	}
	return false
}

func anyRecipeFits(recipes []catalog.DeployRecipe, typ string) bool {
	for _, r := range recipes {
		if recipeFitsResource(r, typ) {
			return true
		}
	}
	return false
}

// bestGrant prefers an unconditional reason; among equals, the first
// (assignments are in id order, so evidence is deterministic).
func bestGrant(refs []grantRef) (grantRef, bool) {
	for _, r := range refs {
		if r.cond == "" {
			return r, true
		}
	}
	if len(refs) > 0 {
		return refs[0], true
	}
	return grantRef{}, false
}

// canEdge is the Can edge for satisfied recipes: evidence explains the best
// recipe; all satisfied recipe ids are listed in attrs.
func canEdge(from, capID string, results []recipeResult) graph.Edge {
	e := graph.Edge{From: from, Kind: graph.EdgeCan, To: capID, Attrs: map[string]string{}}
	ids := make([]string, 0, len(results))
	for _, rr := range results {
		ids = append(ids, rr.recipe.ID)
	}
	e.Evidence = graph.MergeEvidence(results[0].evidence)
	e.Attrs["recipes"] = strings.Join(ids, ",")
	if results[0].conditional {
		e.Conditional = true
		e.Condition = strings.Join(results[0].conditions, " and ")
		if results[0].eligible {
			e.Attrs["eligible"] = "true"
		}
	}
	return e
}

// ensureCapability adds the deploy-container node of a scope once.
func (d *deriver) ensureCapability(scopeID string) (string, error) {
	id := DeployCapabilityID(scopeID)
	if d.capAdded[id] {
		return id, nil
	}
	d.capAdded[id] = true
	arm := d.sc.arm(scopeID)
	err := d.g.AddNode(graph.Node{ID: id, Kind: graph.NodeCapability, Name: "deploy-container (azure " + arm + ")",
		Attrs: map[string]string{"capability": "deploy-container", "cloud": "azure", "scope": arm}})
	if err != nil {
		return "", fmt.Errorf("add capability %s: %w", id, err)
	}
	return id, nil
}

// ensurePrincipal adds a stub node for an assignee the Entra collector did
// not write (a deleted principal, or one outside the collected tenant), so
// the edge has both ends in the view.
func (d *deriver) ensurePrincipal(id string) error {
	if _, ok := d.node(id); ok {
		return nil
	}
	kind := graph.NodeServicePrincipal
	switch {
	case strings.HasPrefix(id, "entra:user:"):
		kind = graph.NodeUser
	case strings.HasPrefix(id, "entra:group:"):
		kind = graph.NodeGroup
	}
	if err := d.g.AddNode(graph.Node{ID: id, Kind: kind, Attrs: map[string]string{"unresolved": "true"}}); err != nil {
		return fmt.Errorf("add principal %s: %w", id, err)
	}
	return nil
}

func (d *deriver) addEdge(e graph.Edge) error {
	if err := d.ensurePrincipal(e.From); err != nil {
		return err
	}
	if err := d.g.AddEdge(e); err != nil {
		return fmt.Errorf("add %s edge %s -> %s: %w", e.Kind, e.From, e.To, err)
	}
	return nil
}

// capEdges writes the Can edge(s) of principal p at capability scope c,
// applying deny assignments (see deny.go for the group rules).
func (d *deriver) capEdges(p, c string, grants capGrants) error {
	denies := d.deniesAt(c)
	denied := d.deniedFor(p, denies, grants)
	results := d.recipesAt(c, grants, denied)
	if len(denies) == 0 || !d.mem.isGroup(p) {
		if len(results) == 0 {
			return nil
		}
		return d.writeCan(p, c, results, "")
	}
	return d.groupCanWithDenies(p, c, grants, denies, results)
}

func (d *deriver) writeCan(from, c string, results []recipeResult, extra string) error {
	capID, err := d.ensureCapability(c)
	if err != nil {
		return err
	}
	e := canEdge(from, capID, results)
	if extra != "" {
		e.Evidence = append(e.Evidence, graph.Evidence{Source: e.Evidence[0].Source, Statement: e.Evidence[0].Statement, Detail: extra})
	}
	for _, rr := range results {
		if rr.recipe.Identity != "" {
			if !rr.conditional {
				d.deployers[from] = true
			} else if _, ok := d.deployers[from]; !ok {
				d.deployers[from] = false
			}
			break
		}
	}
	return d.addEdge(e)
}

// assignRoleEdge writes CanAssignRole p -> capability of c: holding
// roleAssignments/write at c means p can grant itself Contributor there.
func (d *deriver) assignRoleEdge(p, c string, refs []grantRef) error {
	if typ := d.sc.resourceType(c); typ != "" && !anyRecipeFits(d.recipes, typ) {
		return nil // assigning roles on, say, a key vault deploys nothing
	}
	denies := d.deniesAt(c)
	if len(denies) > 0 {
		denied := d.deniedFor(p, denies, capGrants{d.assign: refs})
		if denied[d.assign] != "" {
			return nil
		}
	}
	best, ok := bestGrant(refs)
	if !ok {
		return nil
	}
	capID, err := d.ensureCapability(c)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%s (matched %s) at %s: can assign itself a deploying role (e.g. Contributor)", roleAssignmentsWrite, best.pattern, d.sc.arm(c))
	if best.via != "" {
		detail += " " + best.via
	}
	e := graph.Edge{From: p, Kind: graph.EdgeCanAssignRole, To: capID, Evidence: []graph.Evidence{best.evidence(detail)}}
	if best.cond != "" {
		e.Conditional, e.Condition = true, best.cond
		if best.a.eligible {
			e.Attrs = d.eligible
		}
	}
	return d.addEdge(e)
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
