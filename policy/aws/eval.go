package aws

import (
	"fmt"
	"strings"
)

// Policy is a parsed document with where it came from, for evidence.
type Policy struct {
	ID   string // graph id of the policy node
	Name string
	// Via says how the principal holds it: "inline", "managed", or
	// "group <name>" for group policies; shown in explanations.
	Via string
	Doc *Document
}

// PrincipalPolicies is everything on the identity side of one principal.
type PrincipalPolicies struct {
	Identity []Policy
	// Boundary caps Identity; nil when the principal has no boundary.
	Boundary *Policy
	// SCPs are the service control policies on the principal's account's
	// path from the organisation root down to the account, one level each;
	// nil when no Organizations data applies (no org data, the management
	// account, service-linked roles, SCPs disabled).
	SCPs []SCPLevel
	// Incomplete lists reasons the set is known to be partial (a policy
	// attached but not exported, a document that failed to parse).
	Incomplete []string
}

// SCPLevel is the SCPs attached at one level (root, OU or account). Every
// level must allow a request; within a level one allowing SCP suffices.
type SCPLevel struct {
	Scope    string // node id of the root, OU or account
	Name     string
	Policies []Policy
}

// Request is one authorization question. An empty Resource means "some
// resource of the action's service" (can P run any task at all?).
type Request struct {
	Action   string
	Resource string
	// Vars holds known policy variables and context keys with lower-case
	// names, e.g. "aws:username" for IAM users (see Vars and WithVar).
	Vars map[string]string
}

// Decision is the outcome of an evaluation.
type Decision uint8

const (
	// ImplicitDeny: nothing allows the request.
	ImplicitDeny Decision = iota
	// Allowed: allowed (possibly only under a condition, see Result.Conditional).
	Allowed
	// ExplicitDeny: an unconditional Deny matched.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case ExplicitDeny:
		return "explicit-deny"
	}
	return "implicit-deny"
}

// StatementRef names one statement that took part in a decision.
type StatementRef struct {
	PolicyID   string `json:"policy"`
	PolicyName string `json:"policy_name,omitempty"`
	Via        string `json:"via,omitempty"`
	Statement  string `json:"statement"`
	Effect     string `json:"effect"`
	Condition  string `json:"condition,omitempty"`
	// Boundary is true for statements of a permissions boundary.
	Boundary bool `json:"boundary,omitempty"`
	// SCP names the organisation level (root/OU/account) of an SCP statement.
	SCP string `json:"scp,omitempty"`
}

// Result is a three-valued answer: denied, allowed, or allowed only if a
// request-time condition holds (Conditional, with the conditions listed).
type Result struct {
	Decision    Decision
	Conditional bool
	Conditions  []string
	Allow       []StatementRef
	Deny        []StatementRef
	Incomplete  []string
}

// Allowed reports whether the request is allowed, counting conditional
// allows only when includeConditional is set.
func (r Result) IsAllowed(includeConditional bool) bool {
	return r.Decision == Allowed && (includeConditional || !r.Conditional)
}

// tri is a three-valued truth: no < maybe (conditional) < yes.
type tri uint8

const (
	triNo tri = iota
	triMaybe
	triYes
)

func minTri(a, b tri) tri {
	if a < b {
		return a
	}
	return b
}

type matchSet struct {
	allowYes, allowMaybe, denyYes, denyMaybe []StatementRef
}

func (m *matchSet) allow() tri {
	switch {
	case len(m.allowYes) > 0:
		return triYes
	case len(m.allowMaybe) > 0:
		return triMaybe
	}
	return triNo
}

// Evaluate decides req against the identity policies, boundary and SCPs of
// one principal: explicit deny wins; otherwise an identity Allow is needed
// and, when a boundary is set, a boundary Allow too (a boundary caps, never
// grants), and every SCP level must allow. Resource policies other than
// trust policies are not consulted.
func Evaluate(pp *PrincipalPolicies, req Request) Result {
	return Prepare(pp, req.Action, req.Vars).Evaluate(req.Resource)
}

// candidate is a statement whose action (and, when decidable, condition)
// already matched; only its resource is left to check.
type candidate struct {
	policy   *Policy
	st       *Statement
	boundary bool
	scp      int // SCP level index, -1 for identity and boundary statements
	maybe    bool
	cond     string    // undecided condition entries (JSON), when maybe
	pats     []pattern // Resource/NotResource with variables resolved
}

// Prepared is Evaluate specialised to one principal, action and context:
// action and condition matching are done once, so checking many resources
// (an escalation rule against every user of an account) costs one resource
// match per candidate statement.
type Prepared struct {
	pp     *PrincipalPolicies
	action string
	svc    string
	vars   map[string]string
	cands  []candidate
}

// Prepare filters the principal's statements down to those that apply to
// action under vars.
func Prepare(pp *PrincipalPolicies, action string, vars map[string]string) *Prepared {
	p := &Prepared{pp: pp, action: action, svc: actionService(action), vars: vars}
	add := func(pol *Policy, boundary bool, scp int) {
		if pol.Doc == nil {
			return
		}
		for i := range pol.Doc.Statement {
			st := &pol.Doc.Statement[i]
			if !actionMatches(st, action) {
				continue
			}
			c := candidate{policy: pol, st: st, boundary: boundary, scp: scp, pats: resolvePatterns(st, vars)}
			if st.HasCondition() {
				holds, rest := evalCondition(st.Condition, vars)
				if holds == triNo {
					continue // the condition is known to be false for this request
				}
				if holds == triMaybe {
					c.maybe, c.cond = true, conditionText(rest)
				}
			}
			p.cands = append(p.cands, c)
		}
	}
	for i := range pp.Identity {
		add(&pp.Identity[i], false, -1)
	}
	if pp.Boundary != nil {
		add(pp.Boundary, true, -1)
	}
	for i := range pp.SCPs {
		for j := range pp.SCPs[i].Policies {
			add(&pp.SCPs[i].Policies[j], false, i)
		}
	}
	return p
}

// MayAllow reports whether the action could be allowed on some resource:
// an identity Allow exists, the boundary (if any) and every SCP level have an
// Allow, and no unconditional Deny covers every resource. A cheap filter
// before evaluating many resources.
func (p *Prepared) MayAllow() bool {
	ident, bound := false, false
	var scp uint64
	for i := range p.cands {
		c := &p.cands[i]
		if c.st.Effect == EffectDeny {
			if !c.maybe && len(c.st.NotResource) == 0 {
				for _, pt := range c.pats {
					if pt.text == "*" && !pt.unresolved {
						return false
					}
				}
			}
			continue
		}
		switch {
		case c.boundary:
			bound = true
		case c.scp >= 0:
			if c.scp < 64 {
				scp |= 1 << uint(c.scp)
			}
		default:
			ident = true
		}
	}
	if !ident || (p.pp.Boundary != nil && !bound) {
		return false
	}
	for i := range p.pp.SCPs {
		if i < 64 && scp&(1<<uint(i)) == 0 {
			return false
		}
	}
	return true
}

// MaybeAllowed is a fast, allocation-free pre-check of Evaluate: false
// means Evaluate(resource) would not allow; true means it might.
func (p *Prepared) MaybeAllowed(resource string) bool {
	var identAllow, boundAllow bool
	var scpAllow uint64 // bit per SCP level (levels beyond 64 are not pre-checked)
	for i := range p.cands {
		c := &p.cands[i]
		ok, varDependent := matchResources(c.st, c.pats, p.svc, resource)
		if !ok {
			continue
		}
		if c.st.Effect == EffectDeny {
			if !c.maybe && !varDependent {
				return false
			}
			continue
		}
		switch {
		case c.boundary:
			boundAllow = true
		case c.scp >= 0:
			if c.scp < 64 {
				scpAllow |= 1 << uint(c.scp)
			}
		default:
			identAllow = true
		}
	}
	if !identAllow || (p.pp.Boundary != nil && !boundAllow) {
		return false
	}
	for i := range p.pp.SCPs {
		if i < 64 && scpAllow&(1<<uint(i)) == 0 {
			return false
		}
	}
	return true
}

// Evaluate decides the prepared action on resource ("" = some resource).
func (p *Prepared) Evaluate(resource string) Result {
	pp := p.pp
	var res Result
	res.Incomplete = pp.Incomplete
	var ident, bound matchSet
	scps := make([]matchSet, len(pp.SCPs))
	for i := range p.cands {
		c := &p.cands[i]
		ok, varDependent := matchResources(c.st, c.pats, p.svc, resource)
		if !ok {
			continue
		}
		via := c.policy.Via
		scpName := ""
		if c.scp >= 0 {
			scpName = pp.SCPs[c.scp].Name
			via = "SCP at " + scpName
		}
		ref := StatementRef{PolicyID: c.policy.ID, PolicyName: c.policy.Name, Via: via, Statement: c.st.Label(), Effect: c.st.Effect.String(),
			Boundary: c.boundary, SCP: scpName, Condition: c.cond}
		conditional := c.maybe
		if varDependent {
			conditional = true
			if ref.Condition == "" {
				ref.Condition = "resource uses a policy variable whose value is unknown offline"
			}
		}
		m := &ident
		switch {
		case c.boundary:
			m = &bound
		case c.scp >= 0:
			m = &scps[c.scp]
		}
		switch {
		case c.st.Effect == EffectDeny && conditional:
			m.denyMaybe = append(m.denyMaybe, ref)
		case c.st.Effect == EffectDeny:
			m.denyYes = append(m.denyYes, ref)
		case conditional:
			m.allowMaybe = append(m.allowMaybe, ref)
		default:
			m.allowYes = append(m.allowYes, ref)
		}
	}
	res.Deny = append(append(append(res.Deny, ident.denyYes...), bound.denyYes...), append(ident.denyMaybe, bound.denyMaybe...)...)
	explicit := len(ident.denyYes) + len(bound.denyYes)
	for i := range scps {
		res.Deny = append(append(res.Deny, scps[i].denyYes...), scps[i].denyMaybe...)
		explicit += len(scps[i].denyYes)
	}
	if explicit > 0 {
		res.Decision = ExplicitDeny
		return res
	}
	allowed := ident.allow()
	if pp.Boundary != nil {
		allowed = minTri(allowed, bound.allow())
	}
	for i := range scps {
		allowed = minTri(allowed, scps[i].allow())
	}
	if allowed == triNo {
		res.Decision = ImplicitDeny
		return res
	}
	res.Decision = Allowed
	if allowed == triYes {
		res.Allow = append(ident.allowYes, bound.allowYes...)
		for i := range scps {
			res.Allow = append(res.Allow, scps[i].allowYes...)
		}
	} else {
		res.Allow = append(append(ident.allowYes, ident.allowMaybe...), append(bound.allowYes, bound.allowMaybe...)...)
		for i := range scps {
			res.Allow = append(append(res.Allow, scps[i].allowYes...), scps[i].allowMaybe...)
		}
		res.Conditional = true
		for _, s := range res.Allow {
			if s.Condition != "" {
				res.Conditions = appendUnique(res.Conditions, s.Condition)
			}
		}
	}
	maybeDenies := append(append([]StatementRef{}, ident.denyMaybe...), bound.denyMaybe...)
	for i := range scps {
		maybeDenies = append(maybeDenies, scps[i].denyMaybe...)
	}
	for _, d := range maybeDenies {
		// A conditional Deny makes the allow depend on the request: the
		// request is allowed only when the deny's condition does not hold.
		res.Conditional = true
		res.Conditions = appendUnique(res.Conditions, "not "+d.Condition)
	}
	return res
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func actionMatches(st *Statement, action string) bool {
	if len(st.NotAction) > 0 {
		for _, p := range st.NotAction {
			if MatchAction(p, action) {
				return false
			}
		}
		return true
	}
	for _, p := range st.Action {
		if MatchAction(p, action) {
			return true
		}
	}
	return false
}

// substitute resolves ${var} from vars; unresolved variables become '*' and
// are reported. ${*}, ${?} and ${$} are IAM's escapes for literal characters.
func substitute(pattern string, vars map[string]string) (string, bool) {
	i := strings.Index(pattern, "${")
	if i < 0 {
		return pattern, false
	}
	unresolved := false
	var sb strings.Builder
	for i >= 0 {
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			break
		}
		sb.WriteString(pattern[:i])
		name := pattern[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			sb.WriteString(name) // literal; a rare case we accept as a wildcard
		default:
			if v, ok := vars[strings.ToLower(name)]; ok {
				sb.WriteString(v)
			} else {
				unresolved = true
				sb.WriteByte('*')
			}
		}
		pattern = pattern[i+j+1:]
		i = strings.Index(pattern, "${")
	}
	sb.WriteString(pattern)
	return sb.String(), unresolved
}

// pattern is a Resource/NotResource entry with policy variables resolved.
type pattern struct {
	text       string
	unresolved bool // a variable was unknown and became '*'
}

// resolvePatterns substitutes policy variables in a statement's Resource or
// NotResource list once per context.
func resolvePatterns(st *Statement, vars map[string]string) []pattern {
	list := st.Resource
	if len(st.NotResource) > 0 {
		list = st.NotResource
	}
	out := make([]pattern, len(list))
	for i, raw := range list {
		out[i].text, out[i].unresolved = substitute(raw, vars)
	}
	return out
}

// matchResources is resourceMatches over pre-resolved patterns.
func matchResources(st *Statement, pats []pattern, svc, resource string) (bool, bool) {
	anyResource := resource == ""
	if len(st.NotResource) > 0 {
		if anyResource && st.Effect == EffectDeny {
			// Deny-all-except leaves the excluded resources reachable.
			return false, false
		}
		varDep := false
		for _, p := range pats {
			varDep = varDep || p.unresolved
			if anyResource {
				// "some resource not in the list" exists unless the list
				// covers the whole service.
				if resourceCoversService(p.text, svc) {
					return false, false
				}
				continue
			}
			if MatchResource(p.text, resource) {
				return false, false
			}
		}
		return true, varDep
	}
	if len(st.Resource) == 0 {
		// Trust policies have no Resource: the role itself is the resource.
		return true, false
	}
	for _, p := range pats {
		if anyResource {
			if st.Effect == EffectDeny {
				if resourceCoversService(p.text, svc) {
					return true, p.unresolved
				}
				continue
			}
			if resourceCouldBelongTo(p.text, svc) {
				return true, p.unresolved
			}
			continue
		}
		if MatchResource(p.text, resource) {
			return true, p.unresolved
		}
	}
	return false, false
}

// Explain renders a result in one line for logs and errors.
func (r Result) Explain() string {
	var parts []string
	parts = append(parts, r.Decision.String())
	if r.Conditional {
		parts = append(parts, fmt.Sprintf("conditional on %s", strings.Join(r.Conditions, " and ")))
	}
	for _, s := range r.Allow {
		parts = append(parts, fmt.Sprintf("allow: %s stmt %s", s.PolicyName, s.Statement))
	}
	for _, s := range r.Deny {
		parts = append(parts, fmt.Sprintf("deny: %s stmt %s", s.PolicyName, s.Statement))
	}
	return strings.Join(parts, "; ")
}
