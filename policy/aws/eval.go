package aws

import (
	"fmt"
	"regexp"
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

// Evaluate decides req against the identity policies and boundary of one
// principal: explicit deny wins; otherwise an identity Allow is needed and,
// when a boundary is set, a boundary Allow too (a boundary caps, never
// grants). SCPs and resource policies are not consulted here.
func Evaluate(pp *PrincipalPolicies, req Request) Result {
	var res Result
	res.Incomplete = pp.Incomplete
	var ident, bound matchSet
	for i := range pp.Identity {
		collect(&pp.Identity[i], req, false, &ident)
	}
	if pp.Boundary != nil {
		collect(pp.Boundary, req, true, &bound)
	}
	scps := make([]matchSet, len(pp.SCPs))
	for i := range pp.SCPs {
		for j := range pp.SCPs[i].Policies {
			p := pp.SCPs[i].Policies[j]
			p.Via = "SCP at " + pp.SCPs[i].Name
			collectSCP(&p, req, pp.SCPs[i].Name, &scps[i])
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

// collectSCP is collect for an SCP: statements are marked with their level.
func collectSCP(p *Policy, req Request, level string, m *matchSet) {
	collect(p, req, false, m)
	for _, list := range []*[]StatementRef{&m.allowYes, &m.allowMaybe, &m.denyYes, &m.denyMaybe} {
		for i := range *list {
			(*list)[i].SCP = level
		}
	}
}

func collect(p *Policy, req Request, boundary bool, m *matchSet) {
	if p.Doc == nil {
		return
	}
	for i := range p.Doc.Statement {
		st := &p.Doc.Statement[i]
		ok, varDependent := statementMatches(st, req)
		if !ok {
			continue
		}
		ref := StatementRef{PolicyID: p.ID, PolicyName: p.Name, Via: p.Via, Statement: st.Label(), Effect: st.Effect.String(), Boundary: boundary}
		conditional := false
		if st.HasCondition() {
			holds, rest := evalCondition(st.Condition, req.Vars)
			switch holds {
			case triNo:
				continue // the condition is known to be false for this request
			case triMaybe:
				conditional = true
				ref.Condition = conditionText(rest)
			}
		}
		if varDependent {
			conditional = true
			if ref.Condition == "" {
				ref.Condition = "resource uses a policy variable whose value is unknown offline"
			}
		}
		switch {
		case st.Effect == EffectDeny && conditional:
			m.denyMaybe = append(m.denyMaybe, ref)
		case st.Effect == EffectDeny:
			m.denyYes = append(m.denyYes, ref)
		case conditional:
			m.allowMaybe = append(m.allowMaybe, ref)
		default:
			m.allowYes = append(m.allowYes, ref)
		}
	}
}

// statementMatches reports whether st applies to req by action and resource.
// varDependent is set when the match relied on a policy variable that could
// not be resolved (treated as '*' and so conditional).
func statementMatches(st *Statement, req Request) (ok, varDependent bool) {
	if !actionMatches(st, req.Action) {
		return false, false
	}
	return resourceMatches(st, req)
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

var policyVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// substitute resolves ${var} from vars; unresolved variables become '*' and
// are reported. ${*}, ${?} and ${$} are IAM's escapes for literal characters.
func substitute(pattern string, vars map[string]string) (string, bool) {
	if !strings.Contains(pattern, "${") {
		return pattern, false
	}
	unresolved := false
	out := policyVar.ReplaceAllStringFunc(pattern, func(m string) string {
		name := m[2 : len(m)-1]
		switch name {
		case "*", "?", "$":
			return name // literal; a rare case we accept as a wildcard
		}
		if v, ok := vars[strings.ToLower(name)]; ok {
			return v
		}
		unresolved = true
		return "*"
	})
	return out, unresolved
}

func resourceMatches(st *Statement, req Request) (bool, bool) {
	svc := actionService(req.Action)
	anyResource := req.Resource == ""
	if len(st.NotResource) > 0 {
		if anyResource && st.Effect == EffectDeny {
			// Deny-all-except leaves the excluded resources reachable.
			return false, false
		}
		varDep := false
		for _, raw := range st.NotResource {
			p, unresolved := substitute(raw, req.Vars)
			varDep = varDep || unresolved
			if anyResource {
				// "some resource not in the list" exists unless the list
				// covers the whole service.
				if resourceCoversService(p, svc) {
					return false, false
				}
				continue
			}
			if MatchResource(p, req.Resource) {
				return false, false
			}
		}
		return true, varDep
	}
	if len(st.Resource) == 0 {
		// Trust policies have no Resource: the role itself is the resource.
		return true, false
	}
	for _, raw := range st.Resource {
		p, unresolved := substitute(raw, req.Vars)
		if anyResource {
			if st.Effect == EffectDeny {
				if resourceCoversService(p, svc) {
					return true, unresolved
				}
				continue
			}
			if resourceCouldBelongTo(p, svc) {
				return true, unresolved
			}
			continue
		}
		if MatchResource(p, req.Resource) {
			return true, unresolved
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
