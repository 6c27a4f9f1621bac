package queries

import (
	"fmt"
	"strings"
	"time"

	"permgraph/graph"
)

// PathOptions tune path searches.
type PathOptions struct {
	MaxDepth int  // 0 = default (8)
	All      bool // every simple path up to MaxDepth (bounded by MaxPaths), not just the shortest
	MaxPaths int  // 0 = default (50)
	// IncludeConditional lets All walk edges that hold only under a condition
	// (the shortest-path search falls back to them by itself).
	IncludeConditional bool
}

// Path is one route from FROM to TO.
type Path struct {
	Conditional bool   `json:"conditional"`
	Via         string `json:"via"`
	Hops        []Hop  `json:"hops"`
}

// PathResult answers "how does X reach Y".
type PathResult struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	At        time.Time `json:"at"`
	Snapshots []string  `json:"snapshots"`
	Paths     []Path    `json:"paths"`
	Truncated bool      `json:"truncated,omitempty"`
}

// ResolveTargets resolves TO: a node, or "deploy" for every deploy-container
// capability.
func ResolveTargets(v *graph.View, to string) ([]graph.NodeID, error) {
	if strings.EqualFold(to, "deploy") || strings.EqualFold(to, DeployCapability) {
		var out []graph.NodeID
		for i := 0; i < v.NumNodes(); i++ {
			id := graph.NodeID(i)
			if v.NodeKind(id) == graph.NodeCapability && v.Node(id).Attrs["capability"] == DeployCapability {
				out = append(out, id)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("resolve %q: no deploy-container capability in this snapshot: %w", to, ErrNotFound)
		}
		return out, nil
	}
	id, err := Resolve(v, to)
	if err != nil {
		return nil, err
	}
	return []graph.NodeID{id}, nil
}

// FindPath finds how from reaches to: the shortest path (unconditional edges
// first, then any), or every simple path with All.
func FindPath(v *graph.View, from, to string, o PathOptions) (*PathResult, error) {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 8
	}
	if o.MaxPaths <= 0 {
		o.MaxPaths = 50
	}
	src, err := Resolve(v, from)
	if err != nil {
		return nil, err
	}
	targets, err := ResolveTargets(v, to)
	if err != nil {
		return nil, err
	}
	isTarget := map[graph.NodeID]bool{}
	for _, t := range targets {
		isTarget[t] = true
	}
	res := &PathResult{From: v.NodeIDString(src), To: to, At: v.At(), Paths: []Path{}}
	if len(targets) == 1 {
		res.To = v.NodeIDString(targets[0])
	}
	res.Snapshots, _ = snapshotInfo(v)
	if o.All {
		res.Truncated = allPaths(v, src, isTarget, o, res)
		return res, nil
	}
	// Prefer a path that holds unconditionally; otherwise show a conditional
	// one, flagged, since "how" deserves an answer either way.
	for _, cond := range []bool{false, true} {
		if p, ok := shortest(v, src, isTarget, o.MaxDepth, cond); ok {
			res.Paths = append(res.Paths, p)
			break
		}
	}
	return res, nil
}

func shortest(v *graph.View, src graph.NodeID, isTarget map[graph.NodeID]bool, maxDepth int, includeConditional bool) (Path, bool) {
	prev := map[graph.NodeID]graph.EdgeID{src: ^graph.EdgeID(0)}
	depth := map[graph.NodeID]int{src: 0}
	queue := []graph.NodeID{src}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if isTarget[cur] && cur != src {
			return buildPath(v, src, cur, prev), true
		}
		if depth[cur] >= maxDepth {
			continue
		}
		for _, e := range v.Out(cur) {
			_, to, kind, cond := v.EdgeEnds(e)
			if !kind.Traversable() || (cond && !includeConditional) {
				continue
			}
			if _, seen := prev[to]; seen {
				continue
			}
			prev[to] = e
			depth[to] = depth[cur] + 1
			if !foldedMembership(v, kind, to) || isTarget[to] {
				queue = append(queue, to)
			}
		}
	}
	return Path{}, false
}

func buildPath(v *graph.View, src, dst graph.NodeID, prev map[graph.NodeID]graph.EdgeID) Path {
	var edges []graph.EdgeID
	for cur := dst; cur != src; {
		e := prev[cur]
		edges = append(edges, e)
		cur, _, _, _ = v.EdgeEnds(e)
	}
	p := Path{Via: "direct", Hops: []Hop{}}
	for i := len(edges) - 1; i >= 0; i-- {
		h := hopOf(v, edges[i])
		_, _, kind, cond := v.EdgeEnds(edges[i])
		p.Conditional = p.Conditional || cond
		if kind.IsEscalation() {
			p.Via = "escalation"
		}
		p.Hops = append(p.Hops, h)
	}
	return p
}

// allPaths enumerates simple paths by depth-first search; it reports whether
// it stopped at MaxPaths.
func allPaths(v *graph.View, src graph.NodeID, isTarget map[graph.NodeID]bool, o PathOptions, res *PathResult) bool {
	onPath := map[graph.NodeID]bool{src: true}
	var stack []graph.EdgeID
	truncated := false
	var walk func(cur graph.NodeID)
	walk = func(cur graph.NodeID) {
		if truncated {
			return
		}
		if isTarget[cur] && cur != src {
			if len(res.Paths) >= o.MaxPaths {
				truncated = true
				return
			}
			p := Path{Via: "direct", Hops: []Hop{}}
			for _, e := range stack {
				_, _, kind, cond := v.EdgeEnds(e)
				p.Conditional = p.Conditional || cond
				if kind.IsEscalation() {
					p.Via = "escalation"
				}
				p.Hops = append(p.Hops, hopOf(v, e))
			}
			res.Paths = append(res.Paths, p)
			return
		}
		if len(stack) >= o.MaxDepth {
			return
		}
		for _, e := range v.Out(cur) {
			_, to, kind, cond := v.EdgeEnds(e)
			if !kind.Traversable() || onPath[to] || (cond && !o.IncludeConditional) {
				continue
			}
			if foldedMembership(v, kind, to) && !isTarget[to] {
				continue
			}
			onPath[to] = true
			stack = append(stack, e)
			walk(to)
			stack = stack[:len(stack)-1]
			delete(onPath, to)
		}
	}
	walk(src)
	return truncated
}
