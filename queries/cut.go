package queries

import (
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// CutOptions tune CheapestCut. The traversal rules are those of who-can:
// traversable edges, AWS group memberships folded, conditional edges only
// with IncludeConditional, escalation edges unless DirectOnly.
type CutOptions struct {
	DirectOnly         bool
	IncludeConditional bool
	// MaxCuts bounds the alternatives returned (0 = 5).
	MaxCuts int
}

// CapabilityLoss is one other principal that loses capabilities when a
// cut is applied.
type CapabilityLoss struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Lost are the capability nodes (of the cut's targets) it no longer reaches.
	Lost []string `json:"lost"`
}

// Cut is a set of edges whose removal leaves the actor no path to any of
// the targets, with its exact blast radius.
type Cut struct {
	Edges []Hop `json:"edges"`
	// BlastRadius lists the other principals that lose at least one target.
	BlastRadius []CapabilityLoss `json:"blast_radius"`
	// Method is "single-edge" or "min-cut" (a set found by max-flow).
	Method string `json:"method"`
}

// Cost orders cuts: fewest other principals, then fewest (principal,
// capability) pairs, then fewest edges.
func (c Cut) Cost() (principals, pairs, edges int) {
	for _, l := range c.BlastRadius {
		pairs += len(l.Lost)
	}
	return len(c.BlastRadius), pairs, len(c.Edges)
}

// CutResult is the answer of CheapestCut: Cuts[0] is the cheapest.
type CutResult struct {
	Actor   string   `json:"actor"`
	Targets []string `json:"targets"`
	// Subgraph is how many edges lie on some path from the actor to a target.
	Subgraph int   `json:"subgraph_edges"`
	Cuts     []Cut `json:"cuts"`
}

// CheapestCut finds the edge, or the smallest set of edges, whose removal
// takes away the actor's paths to every target while removing the fewest
// other principals' paths to those targets.
//
// Method: the edges on the actor's paths form a subgraph H (tail reachable
// from the actor, head reaching a target). Each edge of H is weighted by
// its exact blast radius when removed alone (other principals that then
// reach fewer targets), times |H|+1, plus one, so blast radius dominates
// and edge count breaks ties. A minimum s-t cut of H (Edmonds-Karp from the
// actor to a super-sink behind the targets) gives a cut set; every single
// edge of H that alone disconnects the actor is a candidate too. Blast
// radius is not additive (a principal with two routes loses only when both
// are cut), so each candidate's blast radius is recomputed exactly on the
// graph without its edges, and the candidates are ranked on that.
//
// Targets the actor does not reach are ignored; an error is returned when
// it reaches none.
func CheapestCut(v *graph.View, actor graph.NodeID, targets []graph.NodeID, o CutOptions) (*CutResult, error) {
	if o.MaxCuts <= 0 {
		o.MaxCuts = 5
	}
	res := &CutResult{Actor: v.NodeIDString(actor), Targets: []string{}, Cuts: []Cut{}}
	// Reach per target before any cut.
	before := map[graph.NodeID]map[graph.NodeID]graph.EdgeID{}
	var reached []graph.NodeID
	seenT := map[graph.NodeID]bool{}
	for _, t := range targets {
		if seenT[t] {
			continue
		}
		seenT[t] = true
		r := reverseReach(v, t, nil, o)
		if _, ok := r[actor]; ok && t != actor {
			before[t] = r
			reached = append(reached, t)
		}
	}
	if len(reached) == 0 {
		return nil, fmt.Errorf("cut: %s reaches none of the %d target(s): %w", v.NodeIDString(actor), len(targets), ErrNotFound)
	}
	sort.Slice(reached, func(i, j int) bool { return v.NodeIDString(reached[i]) < v.NodeIDString(reached[j]) })
	for _, t := range reached {
		res.Targets = append(res.Targets, v.NodeIDString(t))
	}
	// H: edges whose tail the actor reaches and whose head reaches a target.
	upstream := map[graph.NodeID]bool{} // nodes that reach some target
	for _, r := range before {
		for n := range r {
			upstream[n] = true
		}
	}
	fwd := forwardReach(v, actor, nil, o)
	var H []graph.EdgeID
	for n := range fwd {
		if !upstream[n] || seenT[n] {
			continue
		}
		for _, e := range v.Out(n) {
			_, to, kind, cond := v.EdgeEnds(e)
			if !walkable(v, kind, cond, to, o) || !upstream[to] {
				continue
			}
			if _, ok := fwd[to]; ok {
				H = append(H, e)
			}
		}
	}
	sort.Slice(H, func(i, j int) bool { return H[i] < H[j] })
	res.Subgraph = len(H)
	hc := newHopCache(v)
	// The actor's accounts in other directories (SameIdentity) are the
	// same person: not blast radius.
	self := map[graph.NodeID]bool{actor: true}
	for _, e := range v.Out(actor) {
		if _, to, k, _ := v.EdgeEnds(e); k == graph.EdgeSameIdentity {
			self[to] = true
		}
	}
	for _, e := range v.In(actor) {
		if from, _, k, _ := v.EdgeEnds(e); k == graph.EdgeSameIdentity {
			self[from] = true
		}
	}
	loss := func(cut []graph.EdgeID) []CapabilityLoss {
		ex := coupled(v, cut)
		lost := map[graph.NodeID][]string{}
		for _, t := range reached {
			after := reverseReach(v, t, ex, o)
			for n := range before[t] {
				if self[n] || n == t || !countable(v, n) {
					continue
				}
				if _, ok := after[n]; !ok {
					lost[n] = append(lost[n], v.NodeIDString(t))
				}
			}
		}
		out := make([]CapabilityLoss, 0, len(lost))
		for n, ts := range lost {
			sort.Strings(ts)
			name := hc.name(n)
			if name == "" {
				name = v.NodeIDString(n)
			}
			out = append(out, CapabilityLoss{ID: v.NodeIDString(n), Kind: v.NodeKind(n).String(), Name: name, Lost: ts})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		return out
	}
	disconnects := func(cut []graph.EdgeID) bool {
		ex := coupled(v, cut)
		r := forwardReach(v, actor, ex, o)
		for _, t := range reached {
			if _, ok := r[t]; ok {
				return false
			}
		}
		return true
	}
	mk := func(edges []graph.EdgeID, method string, bl []CapabilityLoss) Cut {
		c := Cut{Method: method, BlastRadius: bl}
		for _, e := range edges {
			c.Edges = append(c.Edges, hc.hop(e))
		}
		return c
	}
	var cands []Cut
	single := map[graph.EdgeID]int{} // edge -> weight
	for _, e := range H {
		if structural(v, e) {
			single[e] = -1
			continue
		}
		bl := loss([]graph.EdgeID{e})
		w := 0
		for _, l := range bl {
			w += len(l.Lost)
		}
		single[e] = len(bl)*(len(reached)+1) + w
		if disconnects([]graph.EdgeID{e}) {
			cands = append(cands, mk([]graph.EdgeID{e}, "single-edge", bl))
		}
	}
	if mc := minCut(v, actor, reached, H, single); len(mc) > 1 {
		cands = append(cands, mk(mc, "min-cut", loss(mc)))
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a1, a2, a3 := cands[i].Cost()
		b1, b2, b3 := cands[j].Cost()
		if a1 != b1 {
			return a1 < b1
		}
		if a2 != b2 {
			return a2 < b2
		}
		if a3 != b3 {
			return a3 < b3
		}
		return cutKey(cands[i]) < cutKey(cands[j])
	})
	if len(cands) > o.MaxCuts {
		cands = cands[:o.MaxCuts]
	}
	res.Cuts = append(res.Cuts, cands...)
	return res, nil
}

// coupled is the set of edges that disappear with cut. An AWS group's Can
// edge is removed by detaching the group's policy, and AWS group policies
// are folded into each member's own Can edge: those member edges to the
// same capability, backed by the same policy, go too.
func coupled(v *graph.View, cut []graph.EdgeID) map[graph.EdgeID]bool {
	ex := make(map[graph.EdgeID]bool, len(cut))
	for _, e := range cut {
		ex[e] = true
		g, t, kind, _ := v.EdgeEnds(e)
		if kind != graph.EdgeCan || v.NodeKind(g) != graph.NodeGroup || !strings.HasPrefix(v.NodeIDString(g), "aws:") {
			continue
		}
		srcs := map[string]bool{}
		for _, ev := range v.Edge(e).Evidence {
			srcs[ev.Source] = true
		}
		for _, m := range v.In(g) {
			u, _, mk, _ := v.EdgeEnds(m)
			if mk != graph.EdgeMemberOf {
				continue
			}
			for _, f := range v.Out(u) {
				if _, ft, fk, _ := v.EdgeEnds(f); fk != graph.EdgeCan || ft != t {
					continue
				}
				for _, ev := range v.Edge(f).Evidence {
					if srcs[ev.Source] {
						ex[f] = true
						break
					}
				}
			}
		}
	}
	return ex
}

func cutKey(c Cut) string {
	var sb strings.Builder
	for _, h := range c.Edges {
		sb.WriteString(h.From + "|" + h.Edge + "|" + h.To + ";")
	}
	return sb.String()
}

// structural reports whether e leaves a scope node: a tenant or a derived
// set such as "every group that is not role-assignable" standing for every
// group a tenant-wide role reaches. No one revokes such an edge; the cut
// belongs on the edge into the scope (the role assignment).
func structural(v *graph.View, e graph.EdgeID) bool {
	from, _, _, _ := v.EdgeEnds(e)
	return v.NodeKind(from) == graph.NodeScope
}

// countable says whether n's loss counts in a blast radius: principals that
// hold credentials or run workloads. Groups are not counted (their members
// are) and cloud services are not principals one revokes.
func countable(v *graph.View, n graph.NodeID) bool {
	k := v.NodeKind(n)
	return k.IsPrincipal() && k != graph.NodeService && k != graph.NodeGroup
}

// walkable applies who-can's traversal rules to one edge ending at to.
func walkable(v *graph.View, kind graph.EdgeKind, cond bool, to graph.NodeID, o CutOptions) bool {
	return kind.Traversable() && !(o.DirectOnly && kind.IsEscalation()) && !(cond && !o.IncludeConditional) && !foldedMembership(v, kind, to)
}

// reverseReach is the set of nodes with a path to target, without the
// excluded edges.
func reverseReach(v *graph.View, target graph.NodeID, excluded map[graph.EdgeID]bool, o CutOptions) map[graph.NodeID]graph.EdgeID {
	next := map[graph.NodeID]graph.EdgeID{target: ^graph.EdgeID(0)}
	queue := []graph.NodeID{target}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range v.In(cur) {
			if excluded[e] {
				continue
			}
			from, _, kind, cond := v.EdgeEnds(e)
			if !walkable(v, kind, cond, cur, o) {
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

// forwardReach is the set of nodes src reaches without the excluded edges.
func forwardReach(v *graph.View, src graph.NodeID, excluded map[graph.EdgeID]bool, o CutOptions) map[graph.NodeID]struct{} {
	seen := map[graph.NodeID]struct{}{src: {}}
	queue := []graph.NodeID{src}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range v.Out(cur) {
			if excluded[e] {
				continue
			}
			_, to, kind, cond := v.EdgeEnds(e)
			if !walkable(v, kind, cond, to, o) {
				continue
			}
			if _, ok := seen[to]; ok {
				continue
			}
			seen[to] = struct{}{}
			queue = append(queue, to)
		}
	}
	return seen
}

// minCut runs Edmonds-Karp on H from src to a super-sink fed by the
// targets and returns the saturated edges crossing the minimum cut.
// Capacity of e: weight[e]*(|H|+1)+1.
func minCut(v *graph.View, src graph.NodeID, targets []graph.NodeID, H []graph.EdgeID, weight map[graph.EdgeID]int) []graph.EdgeID {
	type arc struct {
		to   int
		cap  int64
		rev  int
		edge graph.EdgeID
		real bool
	}
	idx := map[graph.NodeID]int{}
	node := func(n graph.NodeID) int {
		if i, ok := idx[n]; ok {
			return i
		}
		idx[n] = len(idx)
		return idx[n]
	}
	s := node(src)
	var adj [][]arc
	grow := func(i int) {
		for len(adj) <= i {
			adj = append(adj, nil)
		}
	}
	add := func(a, b int, c int64, e graph.EdgeID, real bool) {
		grow(a)
		grow(b)
		adj[a] = append(adj[a], arc{to: b, cap: c, rev: len(adj[b]), edge: e, real: real})
		adj[b] = append(adj[b], arc{to: a, cap: 0, rev: len(adj[a]) - 1})
	}
	for _, t := range targets {
		node(t)
	}
	scale := int64(len(H) + 1)
	const inf = int64(1) << 60
	for _, e := range H {
		from, to, _, _ := v.EdgeEnds(e)
		c := int64(weight[e])*scale + 1
		if weight[e] < 0 { // structural: never cut
			c = inf
		}
		add(node(from), node(to), c, e, true)
	}
	sink := len(idx)
	for _, t := range targets {
		add(node(t), sink, inf, 0, false)
	}
	grow(sink)
	for {
		// BFS for an augmenting path.
		prev := make([][2]int, len(adj))
		for i := range prev {
			prev[i] = [2]int{-1, -1}
		}
		prev[s] = [2]int{s, -1}
		q := []int{s}
		for len(q) > 0 && prev[sink][0] < 0 {
			u := q[0]
			q = q[1:]
			for i, a := range adj[u] {
				if a.cap > 0 && prev[a.to][0] < 0 {
					prev[a.to] = [2]int{u, i}
					q = append(q, a.to)
				}
			}
		}
		if prev[sink][0] < 0 {
			// Residual reachability from s defines the source side.
			side := make([]bool, len(adj))
			side[s] = true
			q = []int{s}
			for len(q) > 0 {
				u := q[0]
				q = q[1:]
				for _, a := range adj[u] {
					if a.cap > 0 && !side[a.to] {
						side[a.to] = true
						q = append(q, a.to)
					}
				}
			}
			var out []graph.EdgeID
			for u := range adj {
				if !side[u] {
					continue
				}
				for _, a := range adj[u] {
					if a.real && !side[a.to] {
						out = append(out, a.edge)
					}
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
			return out
		}
		f := inf
		for x := sink; x != s; x = prev[x][0] {
			if c := adj[prev[x][0]][prev[x][1]].cap; c < f {
				f = c
			}
		}
		for x := sink; x != s; x = prev[x][0] {
			a := &adj[prev[x][0]][prev[x][1]]
			a.cap -= f
			adj[a.to][a.rev].cap += f
		}
	}
}
