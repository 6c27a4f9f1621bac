package queries

import (
	"fmt"
	"slices"
	"strings"

	"permgraph/graph"
	awspolicy "permgraph/policy/aws"
)

// viewGraph lets the AWS policy resolver read a View.
type viewGraph struct{ v *graph.View }

func (g viewGraph) Node(id string) (graph.Node, bool) {
	n, ok := g.v.Lookup(id)
	if !ok {
		return graph.Node{}, false
	}
	return g.v.Node(n), true
}

func (g viewGraph) Targets(id string, k graph.EdgeKind) []string {
	n, ok := g.v.Lookup(id)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range g.v.Out(n) {
		_, to, kind, _ := g.v.EdgeEnds(e)
		if kind == k {
			out = append(out, g.v.NodeIDString(to))
		}
	}
	return out
}

// WhoCanAction answers "who can perform ACTION (on RESOURCE)": AWS
// principals whose identity policies allow it are evaluated now, then
// everyone who reaches them by role assumption, membership or escalation.
// An empty resource means "some resource".
func WhoCanAction(v *graph.View, action, resource string, o WhoCanOptions) (*WhoCanResult, error) {
	if !strings.Contains(action, ":") {
		return nil, fmt.Errorf("who-can %q: want a permission like ecs:RunTask (or 'deploy')", action)
	}
	if o.Cloud != "" && !strings.EqualFold(o.Cloud, "aws") {
		return nil, fmt.Errorf("who-can %s --cloud %s: only AWS permissions can be evaluated so far", action, o.Cloud)
	}
	resAccount := ""
	if resource != "" && resource != "*" {
		if !strings.HasPrefix(resource, "arn:") {
			return nil, fmt.Errorf("who-can %s --resource %q: want an ARN", action, resource)
		}
		parts := strings.SplitN(resource, ":", 6)
		if len(parts) == 6 {
			resAccount = parts[4]
		}
	}
	if resource == "*" {
		resource = ""
	}
	res := &WhoCanResult{Capability: action, Resource: resource, At: v.At(), Principals: []Principal{}}
	res.Snapshots, res.Warnings = snapshotInfo(v)
	resolver := awspolicy.NewResolver(viewGraph{v})
	type seed struct {
		hop         Hop
		conditional bool
		incomplete  string
	}
	seeds := map[graph.NodeID]seed{}
	for i := 0; i < v.NumNodes(); i++ {
		id := graph.NodeID(i)
		k := v.NodeKind(id)
		if k != graph.NodeUser && k != graph.NodeRole {
			continue
		}
		n := v.Node(id)
		arn := n.Attrs["arn"]
		if !strings.HasPrefix(n.ID, "aws:") || arn == "" || n.Attrs["external"] == "true" {
			continue
		}
		if o.Scope != "" && accountOfARN(arn) != o.Scope {
			continue
		}
		// Identity policies alone grant access only inside the principal's
		// own account; cross-account needs a resource policy (not modelled yet).
		if resAccount != "" && resAccount != "aws" && accountOfARN(arn) != resAccount && resAccount != "" && !strings.Contains(resAccount, "*") {
			continue
		}
		pp := resolver.PrincipalPolicies(n.ID)
		r := awspolicy.Evaluate(pp, awspolicy.Request{Action: action, Resource: resource, Vars: awspolicy.Vars(n)})
		if r.Decision != awspolicy.Allowed {
			continue
		}
		target := action
		if resource != "" {
			target += " on " + resource
		}
		h := Hop{From: n.ID, FromName: n.Name, Edge: graph.EdgeCan.String(), To: target, Evidence: []graph.Evidence{}, Conditional: r.Conditional}
		for _, s := range r.Allow {
			detail := "allow " + action + " by " + s.PolicyName
			if s.Via != "" {
				detail += " (" + s.Via + ")"
			}
			h.Evidence = append(h.Evidence, graph.Evidence{Source: s.PolicyID, Statement: s.Statement, Detail: detail})
		}
		if r.Conditional {
			h.Condition = strings.Join(r.Conditions, " and ")
		}
		seeds[id] = seed{hop: h, conditional: r.Conditional, incomplete: strings.Join(pp.Incomplete, "; ")}
	}
	// Multi-source reverse BFS from the directly allowed principals;
	// strict (unconditional seeds and edges) first, then loose.
	var strictSeeds, looseSeeds []graph.NodeID
	for id, s := range seeds {
		looseSeeds = append(looseSeeds, id)
		if !s.conditional {
			strictSeeds = append(strictSeeds, id)
		}
	}
	slices.Sort(strictSeeds)
	slices.Sort(looseSeeds)
	strict, loose := newBFSTree(v.NumNodes()), newBFSTree(v.NumNodes())
	strict.search(v, strictSeeds, o.DirectOnly, false)
	loose.search(v, looseSeeds, o.DirectOnly, true)
	rs := newAnswerRows(v.NumNodes())
	for _, n := range loose.reached {
		kind := v.NodeKind(n)
		if !kind.IsPrincipal() || kind == graph.NodeService {
			continue
		}
		r := rs.add(v, n, strict, loose, o.IncludeConditional)
		if r == nil {
			continue
		}
		seed := r.seed
		s := seeds[seed]
		r.tail, r.incomplete = &s.hop, s.incomplete
		r.scopes = []string{}
		if acct := accountOfARN(v.Node(seed).Attrs["arn"]); acct != "" {
			r.scopes = append(r.scopes, acct)
		}
	}
	res.HiddenConditional = rs.hidden
	res.finish(v, rs.rows, rs.slab, o.Paths)
	return res, nil
}

func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// EvaluateAWS decides one request for an AWS principal of the view (its
// identity policies, boundary and SCPs), adding extra context keys such as
// iam:PassedToService.
func EvaluateAWS(v *graph.View, principalID, action, resource string, extra map[string]string) (awspolicy.Result, error) {
	n, ok := v.Lookup(principalID)
	if !ok {
		return awspolicy.Result{}, fmt.Errorf("evaluate %s for %s: %w", action, principalID, ErrNotFound)
	}
	node := v.Node(n)
	vars := awspolicy.Vars(node)
	for k, val := range extra {
		vars = awspolicy.WithVar(vars, k, val)
	}
	pp := awspolicy.NewResolver(viewGraph{v}).PrincipalPolicies(principalID)
	return awspolicy.Evaluate(pp, awspolicy.Request{Action: action, Resource: resource, Vars: vars}), nil
}
