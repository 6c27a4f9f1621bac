package queries

import (
	"slices"
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
	// Paths fills Principal.Path, hop by hop with evidence, for every answerRow.
	// Without it rows carry the path's length and the node holding the
	// capability, and WhoCanResult.Explain builds one answerRow's path on demand:
	// at 378k principals building every path took 16 s instead of well
	// under one (docs/performance.md, session 4).
	Paths bool
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

// noEdge marks a node the search has not reached; seedEdge a node it
// started from.
const (
	noEdge   = ^graph.EdgeID(0)
	seedEdge = noEdge - 1
)

// bfsTree is one reverse breadth-first search: for every node that reaches
// a seed, the edge to take next on a shortest path towards it. Arrays
// indexed by node id, reused between targets: at 630k nodes maps made the
// search and the path walks several times slower.
type bfsTree struct {
	next    []graph.EdgeID
	reached []graph.NodeID // in BFS order, seeds first
	// skipped is set when the search left out a conditional edge: only
	// then can a search that includes them reach more.
	skipped bool
}

func newBFSTree(n int) *bfsTree {
	t := &bfsTree{next: make([]graph.EdgeID, n)}
	for i := range t.next {
		t.next[i] = noEdge
	}
	return t
}

func (t *bfsTree) has(n graph.NodeID) bool { return t.next[n] != noEdge }

// search fills t from seeds, forgetting the last search in time
// proportional to what it reached.
func (t *bfsTree) search(v *graph.View, seeds []graph.NodeID, directOnly, includeConditional bool) {
	for _, n := range t.reached {
		t.next[n] = noEdge
	}
	t.reached = t.reached[:0]
	t.skipped = false
	for _, n := range seeds {
		if t.next[n] == noEdge {
			t.next[n] = seedEdge
			t.reached = append(t.reached, n)
		}
	}
	for i := 0; i < len(t.reached); i++ {
		cur := t.reached[i]
		for _, e := range v.In(cur) {
			from, _, kind, cond := v.EdgeEnds(e)
			if t.next[from] != noEdge || !kind.Traversable() || (directOnly && kind.IsEscalation()) || foldedMembership(v, kind, cur) {
				continue
			}
			if cond && !includeConditional {
				t.skipped = true
				continue
			}
			t.next[from] = e
			t.reached = append(t.reached, from)
		}
	}
}

// walk appends n's path (edge ids, towards the seed) to slab and fills
// r's summary of it while the edges are in cache.
func (t *bfsTree) walk(v *graph.View, n graph.NodeID, slab []graph.EdgeID, r *answerRow) []graph.EdgeID {
	r.off, r.n, r.escalation, r.holder, r.last = int32(len(slab)), 0, false, n, noEdge
	for cur := n; t.next[cur] < seedEdge && int(r.n) <= len(t.reached); r.n++ {
		e := t.next[cur]
		slab = append(slab, e)
		from, to, k, _ := v.EdgeEnds(e)
		r.escalation = r.escalation || k.IsEscalation()
		r.holder, r.last, cur = from, e, to
		if t.next[to] >= seedEdge {
			r.seed = to
		}
	}
	if r.n == 0 {
		r.seed = n
	}
	return slab
}

// answerRow is a principal's answer while the search runs; paths are kept as edge
// ids in one shared slab.
type answerRow struct {
	node        graph.NodeID
	off, n      int32 // the path's edges: slab[off : off+n]
	conditional bool
	escalation  bool         // an escalation edge on the path
	holder      graph.NodeID // the last edge's tail: holds the capability
	last        graph.EdgeID // the last edge (noEdge: none)
	seed        graph.NodeID // where the path ends
	scopes      []string
	// tail, for WhoCanAction, is the evaluated permission: a hop after the
	// edges, with the seed's incompleteness.
	tail       *Hop
	incomplete string
}

// answerRows merges answers per principal across searches.
type answerRows struct {
	rows   []answerRow
	slab   []graph.EdgeID
	rowOf  []int32 // index in rows plus one; -1: reached only under a condition and left out
	hidden int
}

func newAnswerRows(nodes int) *answerRows { return &answerRows{rowOf: make([]int32, nodes)} }

// add records that n reaches the capability (in strict if unconditionally,
// else only in loose) and returns its answerRow, or nil when it is left out.
func (rs *answerRows) add(v *graph.View, n graph.NodeID, strict, loose *bfsTree, includeConditional bool) *answerRow {
	inStrict := strict.has(n)
	if !inStrict && !includeConditional {
		if rs.rowOf[n] == 0 {
			rs.rowOf[n] = -1
			rs.hidden++
		}
		return nil
	}
	t := loose
	if inStrict {
		t = strict
	}
	if rs.rowOf[n] <= 0 {
		if rs.rowOf[n] < 0 {
			rs.hidden--
		}
		rs.rows = append(rs.rows, answerRow{node: n, conditional: !inStrict})
		r := &rs.rows[len(rs.rows)-1]
		rs.slab = t.walk(v, n, rs.slab, r)
		rs.rowOf[n] = int32(len(rs.rows))
		return r
	}
	r := &rs.rows[rs.rowOf[n]-1]
	if r.conditional && inStrict {
		// An unconditional path beats a conditional one.
		rs.slab = t.walk(v, n, rs.slab, r)
		r.conditional = false
		r.tail = nil
	}
	return r
}

// reach runs one reverse BFS per target (a capability per scope) and merges
// the answers per principal: first path found, all scopes reached.
func reach(v *graph.View, targets []graph.NodeID, o WhoCanOptions) *WhoCanResult {
	res := &WhoCanResult{At: v.At(), Principals: []Principal{}}
	res.Snapshots, res.Warnings = snapshotInfo(v)
	strict, looseTree := newBFSTree(v.NumNodes()), newBFSTree(v.NumNodes())
	rs := newAnswerRows(v.NumNodes())
	for _, target := range targets {
		scope := v.Node(target).Attrs["scope"]
		if scope == "" {
			scope = v.NodeIDString(target)
		}
		seeds := []graph.NodeID{target}
		strict.search(v, seeds, o.DirectOnly, false)
		loose := strict // the same search unless a conditional edge was left out
		if strict.skipped {
			loose = looseTree
			loose.search(v, seeds, o.DirectOnly, true)
		}
		if rs.rows == nil {
			// Most answers come from the first search: size for it.
			rs.rows = make([]answerRow, 0, len(loose.reached))
			rs.slab = make([]graph.EdgeID, 0, 4*len(loose.reached))
		}
		for _, n := range loose.reached[1:] {
			kind := v.NodeKind(n)
			if !kind.IsPrincipal() || kind == graph.NodeService {
				continue
			}
			t := loose
			if strict.has(n) {
				t = strict
			}
			// A person's account in another directory (SameIdentity) is
			// not a separate answer: its twin, on the path, is listed.
			if _, _, k, _ := v.EdgeEnds(t.next[n]); k == graph.EdgeSameIdentity {
				continue
			}
			if r := rs.add(v, n, strict, loose, o.IncludeConditional); r != nil {
				r.scopes = appendScope(r.scopes, scope)
			}
		}
	}
	res.HiddenConditional = rs.hidden
	res.finish(v, rs.rows, rs.slab, o.Paths)
	return res
}

// finish turns rows into Principals sorted by name then id: kind, how
// (direct or escalation), path length and the node holding the capability.
func (res *WhoCanResult) finish(v *graph.View, rows []answerRow, slab []graph.EdgeID, paths bool) {
	// Holders are few (roles, groups) and shared by many rows.
	holders := map[graph.NodeID][2]string{}
	holderOf := func(n graph.NodeID) (id, name string) {
		if h, ok := holders[n]; ok {
			return h[0], h[1]
		}
		id, name = v.NodeIDString(n), v.NodeName(n)
		if name == "" {
			name = id
		}
		holders[n] = [2]string{id, name}
		return id, name
	}
	// Ids and names go into one buffer (two allocations per row
	// otherwise), then small keys are sorted, not whole rows: at 378k rows
	// both were a large share of the query.
	var buf []byte
	for i := range min(len(rows), 64) { // size the buffer from a sample
		buf = v.AppendNodeName(v.AppendNodeID(buf, rows[i].node), rows[i].node)
	}
	if len(rows) > 64 {
		buf = make([]byte, 0, len(buf)*len(rows)/64*9/8)
	}
	buf = buf[:0]
	ends := make([]int32, 0, 2*len(rows))
	for i := range rows {
		buf = v.AppendNodeID(buf, rows[i].node)
		ends = append(ends, int32(len(buf)))
		buf = v.AppendNodeName(buf, rows[i].node)
		ends = append(ends, int32(len(buf)))
	}
	text := string(buf)
	buf = nil
	// The first eight bytes of the name as an integer decide most
	// comparisons without touching the strings.
	type sortKey struct {
		prefix   uint64
		name, id string
		i        int32
	}
	keys := make([]sortKey, len(rows))
	start := int32(0)
	for i := range rows {
		idEnd, nameEnd := ends[2*i], ends[2*i+1]
		id, name := text[start:idEnd], text[idEnd:nameEnd]
		if name == "" {
			name = id
		}
		keys[i] = sortKey{namePrefix(name), name, id, int32(i)}
		start = nameEnd
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.prefix != b.prefix {
			if a.prefix < b.prefix {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	incomplete := map[graph.EdgeID]string{}
	order := make([]int32, len(rows))
	res.Principals = make([]Principal, len(rows))
	for i, k := range keys {
		order[i] = k.i
		r := &rows[k.i]
		p := &res.Principals[i]
		*p = Principal{ID: k.id, Kind: v.NodeKind(r.node).String(), Name: k.name, Via: "direct",
			Conditional: r.conditional, Scopes: r.scopes, Hops: int(r.n), Incomplete: r.incomplete}
		if p.Scopes == nil {
			p.Scopes = []string{}
		}
		if r.escalation {
			p.Via = "escalation"
		}
		// The holder of the capability: the last edge's tail, or for an
		// evaluated permission the principal whose policy allows it.
		holder := r.holder
		if r.tail != nil {
			p.Hops++
			holder = r.seed
		} else if r.last != noEdge {
			// The capability edge carries "incomplete" when the
			// principal's policy data had gaps.
			inc, ok := incomplete[r.last]
			if !ok {
				inc = v.EdgeAttr(r.last, "incomplete")
				incomplete[r.last] = inc
			}
			p.Incomplete = inc
		}
		if holder != r.node {
			p.Through, p.ThroughName = holderOf(holder)
		}
	}
	res.paths = &pathIndex{v: v, rows: rows, order: order, slab: slab}
	if paths {
		for i := range res.Principals {
			res.Principals[i].Path = res.Explain(i)
		}
	}
}

// namePrefix is s's first eight bytes, big-endian and zero-padded, so
// integer order is byte order.
func namePrefix(s string) uint64 {
	var x uint64
	for i := range 8 {
		x <<= 8
		if i < len(s) {
			x |= uint64(s[i])
		}
	}
	return x
}

// pathIndex keeps every answerRow's path as edge ids so Explain can build one
// path with its evidence on demand.
type pathIndex struct {
	v     *graph.View
	rows  []answerRow
	order []int32 // rows[order[i]] is Principals[i]
	slab  []graph.EdgeID
	hc    *hopCache
}

// Explain returns the path behind answerRow i of Principals, hop by hop with the
// evidence of each hop: Path itself when the query filled it, else built
// now. It returns nil for a result decoded from JSON without paths. Not
// safe for concurrent use.
func (res *WhoCanResult) Explain(i int) []Hop {
	if i < 0 || i >= len(res.Principals) {
		return nil
	}
	if p := res.Principals[i].Path; p != nil || res.paths == nil {
		return p
	}
	x := res.paths
	if x.hc == nil {
		x.hc = newHopCache(x.v)
	}
	r := x.rows[x.order[i]]
	hops := make([]Hop, 0, int(r.n)+1)
	for _, e := range x.slab[r.off : r.off+r.n] {
		hops = append(hops, x.hc.hop(e))
	}
	if r.tail != nil {
		hops = append(hops, *r.tail)
	}
	return hops
}

func appendScope(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func displayName(n graph.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.ID
}
