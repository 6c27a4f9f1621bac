package queries

import (
	"sort"
	"strings"

	"permgraph/graph"
)

// WhoCanOptions filter who-can answers.
type WhoCanOptions struct {
	// Cloud limits capabilities to one cloud ("aws", "azure", "gcp", "k8s"); empty = all.
	Cloud string
	// Scope limits capabilities to one scope (an AWS account id, ...); empty = all.
	Scope string
	// IncludeConditional also reports principals whose every path depends on
	// a request-time condition.
	IncludeConditional bool
	// DirectOnly hides answers that need a privilege-escalation edge.
	DirectOnly bool
}

// DeployCapability is the capability name of "deploy a container".
const DeployCapability = "deploy-container"

// WhoCanDeploy lists every principal with a path to a deploy-container
// capability, through group membership, role assumption and escalation.
func WhoCanDeploy(v *graph.View, o WhoCanOptions) (*WhoCanResult, error) {
	var targets []graph.NodeID
	for i := 0; i < v.NumNodes(); i++ {
		id := graph.NodeID(i)
		if v.NodeKind(id) != graph.NodeCapability {
			continue
		}
		n := v.Node(id)
		if n.Attrs["capability"] != DeployCapability {
			continue
		}
		if o.Cloud != "" && !strings.EqualFold(n.Attrs["cloud"], o.Cloud) {
			continue
		}
		if o.Scope != "" && n.Attrs["scope"] != o.Scope {
			continue
		}
		targets = append(targets, id)
	}
	res := reach(v, targets, o)
	res.Capability = DeployCapability
	return res, nil
}

// reach runs one reverse BFS per target (a capability per scope) and merges
// the answers per principal: first path found, all scopes reached.
func reach(v *graph.View, targets []graph.NodeID, o WhoCanOptions) *WhoCanResult {
	res := &WhoCanResult{At: v.At(), Principals: []Principal{}}
	res.Snapshots, res.Warnings = snapshotInfo(v)
	byNode := map[graph.NodeID]*Principal{}
	hidden := map[graph.NodeID]bool{}
	hc := newHopCache(v)
	for _, t := range targets {
		scope := v.Node(t).Attrs["scope"]
		if scope == "" {
			scope = v.NodeIDString(t)
		}
		strict := reverseBFS(v, t, o.DirectOnly, false)
		loose := reverseBFS(v, t, o.DirectOnly, true)
		for n := range loose {
			if n == t {
				continue
			}
			kind := v.NodeKind(n)
			if !kind.IsPrincipal() || kind == graph.NodeService {
				continue
			}
			conditional := false
			nextMap := loose
			if _, ok := strict[n]; ok {
				nextMap = strict
			}
			// A person's account in another directory (SameIdentity) is
			// not a separate answer: its twin, on the path, is listed.
			if _, _, k, _ := v.EdgeEnds(nextMap[n]); k == graph.EdgeSameIdentity {
				continue
			}
			if _, ok := strict[n]; !ok {
				conditional = true
				if !o.IncludeConditional {
					if byNode[n] == nil {
						hidden[n] = true
					}
					continue
				}
			}
			p := byNode[n]
			if p == nil {
				delete(hidden, n)
				p = newPrincipal(hc, n, nextMap, t, conditional)
				byNode[n] = p
			} else if p.Conditional && !conditional {
				// An unconditional path beats a conditional one.
				q := newPrincipal(hc, n, nextMap, t, false)
				q.Scopes = p.Scopes
				*p = *q
			}
			p.Scopes = appendScope(p.Scopes, scope)
		}
	}
	res.HiddenConditional = len(hidden)
	for _, p := range byNode {
		sort.Strings(p.Scopes)
		res.Principals = append(res.Principals, *p)
	}
	sort.Slice(res.Principals, func(i, j int) bool {
		a, b := res.Principals[i], res.Principals[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	return res
}

func appendScope(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// reverseBFS walks edges backwards from target and returns, for every node
// that reaches it, the edge to take next on a shortest path towards it.
func reverseBFS(v *graph.View, target graph.NodeID, directOnly, includeConditional bool) map[graph.NodeID]graph.EdgeID {
	next := map[graph.NodeID]graph.EdgeID{target: ^graph.EdgeID(0)}
	queue := []graph.NodeID{target}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range v.In(cur) {
			from, _, kind, cond := v.EdgeEnds(e)
			if !kind.Traversable() || (directOnly && kind.IsEscalation()) || (cond && !includeConditional) || foldedMembership(v, kind, cur) {
				continue
			}
			if _, seen := next[from]; seen {
				continue
			}
			next[from] = e
			queue = append(queue, from)
		}
	}
	return next
}

// newPrincipal builds the answer row for n by following next-edges to target.
func newPrincipal(hc *hopCache, n graph.NodeID, next map[graph.NodeID]graph.EdgeID, target graph.NodeID, conditional bool) *Principal {
	v := hc.v
	kind := v.NodeKind(n)
	name := hc.name(n)
	if name == "" {
		name = v.NodeIDString(n)
	}
	p := &Principal{ID: v.NodeIDString(n), Kind: kind.String(), Name: name, Via: "direct", Conditional: conditional}
	// Size the path first: at 378k principals growing each path by append
	// was a fifth of who-can's time (docs/performance.md, session 3).
	hops := 0
	for cur := n; cur != target && hops <= len(next); hops++ {
		e, ok := next[cur]
		if !ok {
			break
		}
		_, cur, _, _ = v.EdgeEnds(e)
	}
	p.Path = make([]Hop, 0, hops)
	for cur, steps := n, 0; cur != target && steps <= len(next); steps++ {
		e, ok := next[cur]
		if !ok {
			break
		}
		h := hc.hop(e)
		p.Path = append(p.Path, h)
		_, to, k, _ := v.EdgeEnds(e)
		if k.IsEscalation() {
			p.Via = "escalation"
		}
		// The capability edge carries "incomplete" when the principal's
		// policy data had gaps.
		if inc := hc.incomplete[e]; inc != "" && to == target {
			p.Incomplete = inc
		}
		cur = to
	}
	return p
}

func displayName(n graph.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.ID
}
