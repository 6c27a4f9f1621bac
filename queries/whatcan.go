package queries

import (
	"sort"
	"time"

	"permgraph/graph"
	awspolicy "permgraph/policy/aws"
)

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
	Incomplete   []string    `json:"incomplete,omitempty"`
}

// WhatCan walks forward from a principal: every capability and identity it
// reaches (shortest path, unconditional paths preferred), and its policies.
func WhatCan(v *graph.View, principal string) (*WhatCanResult, error) {
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
	if n.Kind == graph.NodeUser || n.Kind == graph.NodeRole {
		pp := awspolicy.NewResolver(viewGraph{v}).PrincipalPolicies(n.ID)
		for _, p := range pp.Identity {
			res.Policies = append(res.Policies, PolicyRef{ID: p.ID, Name: p.Name, Via: p.Via})
		}
		if pp.Boundary != nil {
			res.Policies = append(res.Policies, PolicyRef{ID: pp.Boundary.ID, Name: pp.Boundary.Name, Via: "boundary"})
		}
		res.Incomplete = pp.Incomplete
	}
	return res, nil
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
			queue = append(queue, to)
		}
	}
	return prev
}
