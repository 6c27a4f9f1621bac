package queries

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"permgraph/catalog"
	"permgraph/graph"
	awspolicy "permgraph/policy/aws"
)

// WhatCanOptions select extra detail for what-can.
type WhatCanOptions struct {
	// Service lists the concrete actions of one AWS service prefix (ecs,
	// iam, ...) that the principal may call, expanded from the catalog.
	Service string
	Actions *catalog.AWSActions
}

// ActionDecision is one concrete action and the statements that decide it.
type ActionDecision struct {
	Action      string                   `json:"action"`
	Access      string                   `json:"access"`
	Decision    string                   `json:"decision"` // allowed | explicit-deny
	Conditional bool                     `json:"conditional"`
	Conditions  []string                 `json:"conditions,omitempty"`
	Statements  []awspolicy.StatementRef `json:"statements"`
}

// Reached is a node a principal can get to, with how.
type Reached struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Via         string `json:"via"`
	Conditional bool   `json:"conditional"`
	Path        []Hop  `json:"path"`
}

// PolicyRef is a policy that applies to the principal.
type PolicyRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Via  string `json:"via"`
}

// WhatCanResult answers "what can X do": capabilities and identities it
// reaches, and the policies that apply to it directly.
type WhatCanResult struct {
	Principal    Reached     `json:"principal"`
	At           time.Time   `json:"at"`
	Snapshots    []string    `json:"snapshots"`
	Capabilities []Reached   `json:"capabilities"`
	Identities   []Reached   `json:"identities"`
	Policies     []PolicyRef `json:"policies"`
	// Actions is set with WhatCanOptions.Service: allowed and explicitly
	// denied actions of that service (implicit denies are omitted).
	Actions    []ActionDecision `json:"actions,omitempty"`
	Incomplete []string         `json:"incomplete,omitempty"`
}

// WhatCan walks forward from a principal: every capability and identity it
// reaches (shortest path, unconditional paths preferred), and its policies.
func WhatCan(v *graph.View, principal string, o WhatCanOptions) (*WhatCanResult, error) {
	src, err := Resolve(v, principal)
	if err != nil {
		return nil, err
	}
	n := v.Node(src)
	res := &WhatCanResult{Principal: Reached{ID: n.ID, Kind: n.Kind.String(), Name: displayName(n), Path: []Hop{}}, At: v.At(),
		Capabilities: []Reached{}, Identities: []Reached{}, Policies: []PolicyRef{}}
	res.Snapshots, _ = snapshotInfo(v)
	strict := forwardBFS(v, src, false)
	loose := forwardBFS(v, src, true)
	for dst := range loose {
		if dst == src {
			continue
		}
		kind := v.NodeKind(dst)
		if kind != graph.NodeCapability && !kind.IsPrincipal() {
			continue
		}
		prev, conditional := strict, false
		if _, ok := strict[dst]; !ok {
			prev, conditional = loose, true
		}
		p := buildPath(v, src, dst, prev)
		dn := v.Node(dst)
		r := Reached{ID: dn.ID, Kind: dn.Kind.String(), Name: displayName(dn), Via: p.Via, Conditional: conditional, Path: p.Hops}
		if kind == graph.NodeCapability {
			res.Capabilities = append(res.Capabilities, r)
		} else {
			res.Identities = append(res.Identities, r)
		}
	}
	for _, list := range [][]Reached{res.Capabilities, res.Identities} {
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	}
	// AWS identity policies: other clouds grant through role assignments and
	// bindings, which the capabilities and paths above already explain.
	if (n.Kind == graph.NodeUser || n.Kind == graph.NodeRole) && strings.HasPrefix(n.ID, "aws:") {
		pp := awspolicy.NewResolver(viewGraph{v}).PrincipalPolicies(n.ID)
		for _, p := range pp.Identity {
			res.Policies = append(res.Policies, PolicyRef{ID: p.ID, Name: p.Name, Via: p.Via})
		}
		if pp.Boundary != nil {
			res.Policies = append(res.Policies, PolicyRef{ID: pp.Boundary.ID, Name: pp.Boundary.Name, Via: "boundary"})
		}
		res.Incomplete = pp.Incomplete
		if o.Service != "" {
			acts, err := serviceActions(pp, n, o)
			if err != nil {
				return nil, err
			}
			res.Actions = acts
		}
	} else if o.Service != "" {
		return nil, fmt.Errorf("what-can --service: %s is a %s; actions are evaluated for AWS users and roles", n.ID, n.Kind)
	}
	return res, nil
}

func serviceActions(pp *awspolicy.PrincipalPolicies, n graph.Node, o WhatCanOptions) ([]ActionDecision, error) {
	if o.Actions == nil {
		return nil, fmt.Errorf("what-can --service: no action catalog loaded")
	}
	list := o.Actions.Service(o.Service)
	if len(list) == 0 {
		return nil, fmt.Errorf("what-can --service %q: no such AWS service prefix in the action catalog: %w", o.Service, ErrNotFound)
	}
	vars := awspolicy.Vars(n)
	out := []ActionDecision{}
	for _, a := range list {
		r := awspolicy.Evaluate(pp, awspolicy.Request{Action: a.Name, Vars: vars})
		switch r.Decision {
		case awspolicy.Allowed:
			out = append(out, ActionDecision{Action: a.Name, Access: a.Access, Decision: r.Decision.String(), Conditional: r.Conditional, Conditions: r.Conditions, Statements: r.Allow})
		case awspolicy.ExplicitDeny:
			out = append(out, ActionDecision{Action: a.Name, Access: a.Access, Decision: r.Decision.String(), Statements: r.Deny})
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Action) < strings.ToLower(out[j].Action) })
	return out, nil
}

func forwardBFS(v *graph.View, src graph.NodeID, includeConditional bool) map[graph.NodeID]graph.EdgeID {
	prev := map[graph.NodeID]graph.EdgeID{src: ^graph.EdgeID(0)}
	queue := []graph.NodeID{src}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range v.Out(cur) {
			_, to, kind, cond := v.EdgeEnds(e)
			if !kind.Traversable() || (cond && !includeConditional) {
				continue
			}
			if _, seen := prev[to]; seen {
				continue
			}
			prev[to] = e
			if !foldedMembership(v, kind, to) {
				queue = append(queue, to)
			}
		}
	}
	return prev
}
