package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"permgraph/catalog"
	"permgraph/graph"
)

// multiGraph adapts the account being derived plus context graphs (the
// organisation's structure and SCPs, other accounts of the same run) to the
// Graph interface. Nodes present in several graphs merge; the first wins.
// Other accounts are indexed only when one of their ids is looked up, so
// deriving N accounts does not cost N*N full-graph passes.
type multiGraph struct {
	eager     []*graph.SourceGraph
	byAccount map[string]*graph.SourceGraph // other AWS accounts, indexed lazily
	indexed   map[*graph.SourceGraph]bool
	out       map[string]map[graph.EdgeKind][]string
}

func newMultiGraph(g *graph.SourceGraph, others ...*graph.SourceGraph) *multiGraph {
	mg := &multiGraph{eager: []*graph.SourceGraph{g}, byAccount: map[string]*graph.SourceGraph{}, indexed: map[*graph.SourceGraph]bool{},
		out: map[string]map[graph.EdgeKind][]string{}}
	for _, o := range others {
		if acct, ok := strings.CutPrefix(o.Source, "aws:"); ok {
			mg.byAccount[acct] = o
			continue
		}
		mg.eager = append(mg.eager, o)
	}
	for _, e := range mg.eager {
		mg.index(e)
	}
	return mg
}

func (m *multiGraph) index(g *graph.SourceGraph) {
	if m.indexed[g] {
		return
	}
	m.indexed[g] = true
	for _, e := range g.Edges {
		t := m.out[e.From]
		if t == nil {
			t = map[graph.EdgeKind][]string{}
			m.out[e.From] = t
		}
		t[e.Kind] = append(t[e.Kind], e.To)
	}
	// Map order is random; keep target lists sorted so policy order and
	// evidence are deterministic.
	for _, t := range m.out {
		for _, list := range t {
			sort.Strings(list)
		}
	}
}

// graphsFor returns the graphs that may hold id: the eager ones and, for an
// id of another collected account, that account's graph.
func (m *multiGraph) graphsFor(id string) []*graph.SourceGraph {
	acct := accountOf(strings.TrimPrefix(id, "aws:"))
	if o, ok := m.byAccount[acct]; ok {
		m.index(o)
		return append(append([]*graph.SourceGraph{}, m.eager...), o)
	}
	return m.eager
}

func (m *multiGraph) Node(id string) (graph.Node, bool) {
	gs := m.graphsFor(id)
	if strings.HasPrefix(id, "aws:arn:aws:iam::aws:") {
		// AWS managed policies appear in every account's export.
		gs = append(append([]*graph.SourceGraph{}, gs...), m.others()...)
	}
	var out graph.Node
	found := false
	for _, g := range gs {
		n, ok := g.Nodes[id]
		if !ok {
			continue
		}
		if !found {
			out, found = n, true
			continue
		}
		for k, v := range n.Attrs {
			if _, ok := out.Attrs[k]; !ok {
				if len(out.Attrs) == 0 {
					out.Attrs = map[string]string{}
				} else {
					out.Attrs = cloneAttrs(out.Attrs)
				}
				out.Attrs[k] = v
			}
		}
	}
	return out, found
}

func (m *multiGraph) others() []*graph.SourceGraph {
	out := make([]*graph.SourceGraph, 0, len(m.byAccount))
	for _, g := range m.byAccount {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

func cloneAttrs(m map[string]string) map[string]string {
	c := make(map[string]string, len(m)+2)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m *multiGraph) Targets(id string, k graph.EdgeKind) []string {
	m.graphsFor(id) // index the owning account's graph on first use
	return m.out[id][k]
}

// DeployCapabilityID is the capability node of "deploy a container" in an account.
func DeployCapabilityID(account string) string { return "cap:deploy-container:aws:" + account }

// Derive evaluates one collected AWS account and adds what follows from its
// policies: CanAssume edges (trust policy AND, where needed, identity policy)
// and Can edges to the account's deploy-container capability. Evidence on
// each edge names the statements that decided it.
//
// others holds other graphs of the same organisation: the Organizations
// source (for SCPs) and other AWS accounts (to resolve cross-account trust to
// concrete principals). It may be empty.
func Derive(ctx context.Context, g *graph.SourceGraph, recipes []catalog.DeployRecipe, others ...*graph.SourceGraph) error {
	account := strings.TrimPrefix(g.Source, "aws:")
	if account == g.Source || account == "" {
		return fmt.Errorf("derive AWS edges: source %q is not an AWS account", g.Source)
	}
	sg := newMultiGraph(g, others...)
	res := NewResolver(sg)
	d := &deriver{ctx: ctx, g: g, account: account, res: res, pp: map[string]*PrincipalPolicies{}, assume: map[string]*Prepared{}, byARN: map[string]string{}, varsOf: map[string]map[string]string{}, context: others}
	for _, n := range g.SortedNodes() {
		if n.Kind == graph.NodeUser || n.Kind == graph.NodeRole {
			d.principals = append(d.principals, n)
			if arn := n.Attrs["arn"]; arn != "" {
				d.byARN[arn] = n.ID
			}
		}
	}
	trusts := map[string][]string{} // service -> role ids that trust it
	for _, n := range d.principals {
		if n.Kind != graph.NodeRole {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("derive %s: %w", g.Source, err)
		}
		services, err := d.roleTrust(n)
		if err != nil {
			return err
		}
		for _, s := range services {
			trusts[strings.ToLower(s)] = append(trusts[strings.ToLower(s)], n.ID)
		}
	}
	d.recipes, d.trusts = recipes, trusts
	if err := d.escalate(trusts); err != nil {
		return fmt.Errorf("derive escalation edges for %s: %w", g.Source, err)
	}
	return d.deploy()
}

type deriver struct {
	ctx        context.Context // checked between principals: a long derive stops on SIGTERM
	g          *graph.SourceGraph
	account    string
	res        *Resolver
	principals []graph.Node
	byARN      map[string]string
	pp         map[string]*PrincipalPolicies
	assume     map[string]*Prepared // sts:AssumeRole pre-check per principal
	varsOf     map[string]map[string]string
	recipes    []catalog.DeployRecipe
	trusts     map[string][]string // service -> roles that trust it
	capAdded   bool
	incomplete int
	context    []*graph.SourceGraph
	externals  map[string][]graph.Node // account -> users and roles, from context
}

// external returns the users and roles of another account found in the
// context graphs.
func (d *deriver) external(account string) []graph.Node {
	if d.externals == nil {
		d.externals = map[string][]graph.Node{}
	}
	if list, ok := d.externals[account]; ok {
		return list
	}
	var list []graph.Node
	if account != d.account {
		for _, c := range d.context {
			if c.Source != "aws:"+account {
				continue
			}
			for _, n := range c.Nodes {
				if n.Kind == graph.NodeUser || n.Kind == graph.NodeRole {
					list = append(list, n)
				}
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	}
	d.externals[account] = list
	return list
}

// crossAccount adds CanAssume edges from principals of another collected
// account into role when the trust statement naming value (an account or a
// principal ARN) allows them and their identity policies allow
// sts:AssumeRole on the role.
func (d *deriver) crossAccount(role graph.Node, trust *Document, value, acct string) error {
	roleARN := role.Attrs["arn"]
	for _, p := range d.external(acct) {
		if !isAccountPrincipal(value) && p.Attrs["arn"] != value {
			continue
		}
		vars := d.vars(p)
		tr := EvaluateTrust(trust, role.ID, TrustPrincipal{Type: "AWS", Value: p.Attrs["arn"], Account: acct, Vars: vars})
		if !tr.Allowed {
			continue
		}
		idr := Evaluate(d.policies(p.ID), Request{Action: "sts:AssumeRole", Resource: roleARN, Vars: vars})
		if idr.Decision != Allowed {
			continue
		}
		e := graph.Edge{From: p.ID, Kind: graph.EdgeCanAssume, To: role.ID,
			Evidence:    graph.MergeEvidence(append(trustEvidence(role.ID, tr), statementEvidence(idr.Allow, "cross-account sts:AssumeRole")...)),
			Conditional: tr.Conditional || idr.Conditional, Attrs: map[string]string{"cross_account": acct}}
		if e.Conditional {
			e.Condition = firstNonEmpty(tr.Condition, strings.Join(idr.Conditions, " and "))
		}
		// No node is added: the principal belongs to its own account's
		// source, and views merge sources by node id.
		if err := d.g.AddEdge(e); err != nil {
			return err
		}
	}
	return nil
}

func (d *deriver) vars(n graph.Node) map[string]string {
	if v, ok := d.varsOf[n.ID]; ok {
		return v
	}
	v := Vars(n)
	d.varsOf[n.ID] = v
	return v
}

// ensureCapability adds the account's deploy-container node once.
func (d *deriver) ensureCapability() error {
	if d.capAdded {
		return nil
	}
	d.capAdded = true
	return d.g.AddNode(graph.Node{ID: DeployCapabilityID(d.account), Kind: graph.NodeCapability, Name: "deploy-container (aws " + d.account + ")",
		Attrs: map[string]string{"capability": "deploy-container", "cloud": "aws", "scope": d.account}})
}

func (d *deriver) policies(id string) *PrincipalPolicies {
	if p, ok := d.pp[id]; ok {
		return p
	}
	p := d.res.PrincipalPolicies(id)
	d.pp[id] = p
	return p
}

func trustEvidence(roleID string, tr TrustResult) []graph.Evidence {
	var ev []graph.Evidence
	for _, s := range tr.Statements {
		ev = append(ev, graph.Evidence{Source: roleID + "#trust", Statement: s.Statement, Detail: fmt.Sprintf("trust policy %s", strings.ToLower(s.Effect))})
	}
	return ev
}

func statementEvidence(refs []StatementRef, detail string) []graph.Evidence {
	var ev []graph.Evidence
	for _, s := range refs {
		if s.SCP != "" && s.Effect == "Allow" {
			continue // SCP allows only pass a request through; they explain nothing
		}
		via := ""
		if s.Via != "" {
			via = " (" + s.Via + ")"
		}
		ev = append(ev, graph.Evidence{Source: s.PolicyID, Statement: s.Statement, Detail: fmt.Sprintf("%s %s by %s%s", strings.ToLower(s.Effect), detail, s.PolicyName, via)})
	}
	return ev
}

// roleTrust adds CanAssume edges into one role and returns the services that
// may assume it.
func (d *deriver) roleTrust(role graph.Node) ([]string, error) {
	trust, err := d.res.Trust(role.ID)
	if err != nil {
		d.g.Warnings = append(d.g.Warnings, fmt.Sprintf("role %s: trust policy unusable: %v", role.Name, err))
		return nil, nil
	}
	roleARN := role.Attrs["arn"]
	var services []string
	named := TrustedPrincipals(trust)
	add := func(from graph.Node, tr TrustResult, extra []graph.Evidence, conditional bool, cond string) error {
		if err := d.g.AddNode(from); err != nil {
			return err
		}
		e := graph.Edge{From: from.ID, Kind: graph.EdgeCanAssume, To: role.ID, Evidence: append(trustEvidence(role.ID, tr), extra...),
			Conditional: conditional || tr.Conditional}
		if e.Conditional {
			e.Condition = firstNonEmpty(cond, tr.Condition)
		}
		return d.g.AddEdge(e)
	}
	for _, svc := range named["Service"] {
		tr := EvaluateTrust(trust, role.ID, TrustPrincipal{Type: "Service", Value: svc})
		if !tr.Allowed {
			continue
		}
		services = append(services, svc)
		if err := add(graph.Node{ID: "aws:service:" + svc, Kind: graph.NodeService, Name: svc}, tr, nil, false, ""); err != nil {
			return nil, err
		}
	}
	for _, fed := range named["Federated"] {
		tr := EvaluateTrust(trust, role.ID, TrustPrincipal{Type: "Federated", Value: fed})
		if !tr.Allowed {
			continue
		}
		id := "aws:federated:" + fed
		if strings.HasPrefix(fed, "arn:") {
			id = "aws:" + fed
		}
		if err := add(graph.Node{ID: id, Kind: graph.NodeFederated, Name: fed}, tr, nil, false, ""); err != nil {
			return nil, err
		}
	}
	allInAccount, wildcard := false, false
	var specific []string
	for _, v := range named["AWS"] {
		acct := accountOfPrincipal(v)
		switch {
		case v == "*":
			allInAccount, wildcard = true, true
			tr := EvaluateTrust(trust, role.ID, TrustPrincipal{Type: "AWS", Value: "*"})
			if tr.Allowed {
				if err := add(graph.Node{ID: "aws:principal:*", Kind: graph.NodeAccount, Name: "any AWS principal", Attrs: map[string]string{"external": "true"}}, tr, nil, false, ""); err != nil {
					return nil, err
				}
			}
		case acct == d.account && isAccountPrincipal(v):
			allInAccount = true
		case acct == d.account:
			specific = append(specific, v)
		case acct != "" && len(d.external(acct)) > 0:
			// The other account is in this run or the store: resolve the
			// trust to its concrete principals, each needing its own
			// identity allow (cross-account always does).
			if err := d.crossAccount(role, trust, v, acct); err != nil {
				return nil, err
			}
		case acct != "":
			// Another account we have not collected: whether its principals
			// may call AssumeRole is decided by their own policies.
			tr := EvaluateTrust(trust, role.ID, TrustPrincipal{Type: "AWS", Value: v, Account: acct})
			if !tr.Allowed {
				continue
			}
			from := graph.Node{ID: "aws:account:" + acct, Kind: graph.NodeAccount, Name: acct, Attrs: map[string]string{"account": acct, "external": "true"}}
			if !isAccountPrincipal(v) {
				from = graph.Node{ID: "aws:" + v, Kind: kindFromARN(v), Name: nameFromARN(v), Attrs: map[string]string{"arn": v, "external": "true"}}
			}
			if err := add(from, tr, []graph.Evidence{{Source: role.ID + "#trust", Detail: "cross-account: the caller's own identity policy must also allow sts:AssumeRole"}}, false, ""); err != nil {
				return nil, err
			}
		default:
			// Unique ids (AROA.../AIDA...) stand for deleted principals.
			d.g.Warnings = append(d.g.Warnings, fmt.Sprintf("role %s: trust policy names %q, which is not a principal ARN (a deleted principal?)", role.Name, v))
		}
	}
	candidates := d.principals
	if !allInAccount {
		candidates = nil
		for _, arn := range specific {
			if id, ok := d.byARN[arn]; ok {
				n := d.g.Nodes[id]
				candidates = append(candidates, n)
			}
		}
	}
	namedHere := make(map[string]bool, len(specific))
	for _, arn := range specific {
		namedHere[arn] = true
	}
	for _, p := range candidates {
		if p.ID == role.ID {
			continue
		}
		// A trust that names only the account needs the caller's identity
		// policy to allow sts:AssumeRole on the role: most principals have
		// no such statement, and the prepared pre-check says so without
		// evaluating the trust policy for every (principal, role) pair.
		if allInAccount && !wildcard && !namedHere[p.Attrs["arn"]] {
			if prep := d.assumePrepared(p); !prep.MayAllow() || !prep.MaybeAllowed(roleARN) {
				continue
			}
		}
		tr := EvaluateTrust(trust, role.ID, TrustPrincipal{Type: "AWS", Value: p.Attrs["arn"], Account: d.account, Vars: d.vars(p)})
		if !tr.Allowed {
			continue
		}
		idr := Evaluate(d.policies(p.ID), Request{Action: "sts:AssumeRole", Resource: roleARN, Vars: d.vars(p)})
		if idr.Decision == ExplicitDeny {
			continue
		}
		var extra []graph.Evidence
		conditional, cond := false, ""
		if tr.NamesPrincipal {
			// Same account and named in the trust policy: no identity allow
			// is needed, but an identity Deny still applies.
			if len(idr.Deny) > 0 {
				conditional, cond = true, strings.Join(idr.Conditions, " and ")
				extra = statementEvidence(idr.Deny, "sts:AssumeRole")
			}
		} else {
			if idr.Decision != Allowed {
				continue
			}
			extra = statementEvidence(idr.Allow, "sts:AssumeRole")
			if idr.Conditional {
				conditional, cond = true, strings.Join(idr.Conditions, " and ")
			}
		}
		if err := add(p, tr, extra, conditional, cond); err != nil {
			return nil, err
		}
	}
	sort.Strings(services)
	return services, nil
}

// assumePrepared is the principal's identity policies filtered to
// sts:AssumeRole, computed once per principal and derive.
func (d *deriver) assumePrepared(p graph.Node) *Prepared {
	if prep, ok := d.assume[p.ID]; ok {
		return prep
	}
	prep := Prepare(d.policies(p.ID), "sts:AssumeRole", d.vars(p))
	d.assume[p.ID] = prep
	return prep
}

func isAccountPrincipal(v string) bool {
	if len(v) == 12 && strings.Trim(v, "0123456789") == "" {
		return true
	}
	return strings.HasPrefix(v, "arn:") && strings.HasSuffix(v, ":root")
}

func accountOfPrincipal(v string) string {
	if len(v) == 12 && strings.Trim(v, "0123456789") == "" {
		return v
	}
	return accountOf(v)
}

func kindFromARN(arn string) graph.NodeKind {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		switch {
		case strings.HasPrefix(parts[5], "user/"):
			return graph.NodeUser
		case strings.HasPrefix(parts[5], "role/"):
			return graph.NodeRole
		}
	}
	return graph.NodeAccount
}

func nameFromARN(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// recipeResult is how one principal satisfies one deploy recipe.
type recipeResult struct {
	recipe      catalog.DeployRecipe
	conditional bool
	conditions  []string
	evidence    []graph.Evidence
}

func (d *deriver) deploy() error {
	capID := DeployCapabilityID(d.account)
	for _, p := range d.principals {
		if err := d.ctx.Err(); err != nil {
			return fmt.Errorf("derive %s: %w", d.g.Source, err)
		}
		pp := d.policies(p.ID)
		if len(pp.Incomplete) > 0 {
			d.incomplete++
		}
		results := d.recipesFor(p, pp, d.vars(p))
		if len(results) == 0 {
			continue
		}
		if err := d.ensureCapability(); err != nil {
			return err
		}
		if err := d.g.AddEdge(canEdge(p.ID, capID, results, pp)); err != nil {
			return err
		}
	}
	if d.incomplete > 0 {
		d.g.Warnings = append(d.g.Warnings, fmt.Sprintf("%d principals have incomplete policy data; their answers are marked incomplete", d.incomplete))
	}
	return nil
}

// recipesFor returns the deploy recipes a principal satisfies, unconditional
// ones first.
func (d *deriver) recipesFor(p graph.Node, pp *PrincipalPolicies, vars map[string]string) []recipeResult {
	var results []recipeResult
	for _, r := range d.recipes {
		if rr, ok := d.tryRecipe(p, pp, vars, r, d.trusts); ok {
			results = append(results, rr)
		}
	}
	sort.SliceStable(results, func(i, j int) bool { return !results[i].conditional && results[j].conditional })
	return results
}

// canEdge is the Can edge for satisfied recipes: evidence explains the best
// recipe; the others are listed by id.
func canEdge(from, capID string, results []recipeResult, pp *PrincipalPolicies) graph.Edge {
	e := graph.Edge{From: from, Kind: graph.EdgeCan, To: capID, Attrs: map[string]string{}}
	var ids []string
	for _, rr := range results {
		ids = append(ids, rr.recipe.ID)
	}
	e.Evidence = graph.MergeEvidence(results[0].evidence)
	e.Attrs["recipes"] = strings.Join(ids, ",")
	if results[0].conditional {
		e.Conditional = true
		e.Condition = strings.Join(results[0].conditions, " and ")
	}
	if len(pp.Incomplete) > 0 {
		e.Attrs["incomplete"] = strings.Join(pp.Incomplete, "; ")
	}
	return e
}

func (d *deriver) tryRecipe(p graph.Node, pp *PrincipalPolicies, vars map[string]string, r catalog.DeployRecipe, trusts map[string][]string) (recipeResult, bool) {
	rr := recipeResult{recipe: r}
	for _, action := range r.Actions {
		res := Evaluate(pp, Request{Action: action, Vars: vars})
		if res.Decision != Allowed {
			return rr, false
		}
		rr.addResult(res, r.ID+": "+action)
	}
	if r.PassRoleTo == "" {
		return rr, true
	}
	passVars := WithVar(vars, "iam:PassedToService", r.PassRoleTo)
	var best *Result
	var bestRole string
	pass := Prepare(pp, "iam:PassRole", passVars)
	if !pass.MayAllow() {
		return rr, false
	}
	for _, roleID := range trusts[strings.ToLower(r.PassRoleTo)] {
		role := d.g.Nodes[roleID]
		res := pass.Evaluate(role.Attrs["arn"])
		if res.Decision != Allowed {
			continue
		}
		if best == nil || (best.Conditional && !res.Conditional) {
			r := res
			best, bestRole = &r, role.Name
		}
		if !res.Conditional {
			break
		}
	}
	if best == nil {
		return rr, false
	}
	rr.addResult(*best, fmt.Sprintf("%s: iam:PassRole %s to %s", r.ID, bestRole, r.PassRoleTo))
	return rr, true
}

func (rr *recipeResult) addResult(res Result, detail string) {
	rr.evidence = append(rr.evidence, statementEvidence(res.Allow, detail)...)
	if res.Conditional {
		rr.conditional = true
		for _, c := range res.Conditions {
			rr.conditions = appendUnique(rr.conditions, c)
		}
	}
}
