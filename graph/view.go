package graph

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// NodeID is a node's dense index inside one View. It is not stable across
// views: use the string id to correlate.
type NodeID uint32

// EdgeID is an edge's dense index inside one View.
type EdgeID uint32

// noPayload marks a placeholder node: referenced by an edge, never defined.
const noPayload = math.MaxUint64

// View is an immutable, compact graph for queries: integer ids, CSR
// adjacency, parallel slices for the hot fields and encoded payloads
// (names, attributes, evidence) decoded only on demand. The scale target
// (~600k nodes, ~5M edges in well under 1 GiB) is why nothing per edge holds
// a pointer. A View is safe for concurrent use.
type View struct {
	at        time.Time
	manifests []Manifest

	// Node ids are substrings of one string and the id index is a sorted
	// permutation (binary search) instead of a map: the view then holds
	// almost no pointers, so loading it allocates a few large slices and
	// the garbage collector has nothing to scan.
	idData string
	idOff  []uint64 // id of node n is idData[idOff[n]:idOff[n+1]]
	byID   []NodeID // nodes ordered by id
	nkind  []NodeKind
	noff   []uint64 // offset of the node's payload in narena, or noPayload
	narena []byte

	efrom, eto []NodeID
	ekind      []EdgeKind
	econd      []uint64 // bitset: conditional
	eoff       []uint64 // offset of the edge's payload in earena
	earena     []byte

	// A view loaded from the cache file has every array above except in
	// and seq pointing into the mapped file (viewcache.go). Such memory
	// must never escape to callers, and methods reading it end with
	// runtime.KeepAlive(v) so the mapping cannot be released mid-read.

	// Edges are numbered in (from, kind, to) order, so a node's out-edges
	// are the contiguous ids outStart[n]..outStart[n+1]; seq is the identity
	// slice that Out re-slices (no allocation per call).
	outStart []uint32
	seq      []EdgeID
	inStart  []uint32
	in       []EdgeID

	mapped bool // arrays point into a mapped cache file

	namesOnce sync.Once
	names     map[string][]NodeID
}

// At is the point in time the view answers for; for the latest view, the
// newest collection time among its snapshots.
func (v *View) At() time.Time { return v.at }

// Manifests returns the snapshots the view was built from.
func (v *View) Manifests() []Manifest { return slices.Clone(v.manifests) }

// NumNodes counts nodes, placeholders included.
func (v *View) NumNodes() int { return len(v.nkind) }

// NumEdges counts edges.
func (v *View) NumEdges() int { return len(v.efrom) }

// Lookup maps a string id to the view's NodeID.
func (v *View) Lookup(id string) (NodeID, bool) {
	i, ok := slices.BinarySearchFunc(v.byID, id, func(n NodeID, id string) int {
		return strings.Compare(v.idAt(n), id)
	})
	var n NodeID
	if ok {
		n = v.byID[i]
	}
	runtime.KeepAlive(v)
	return n, ok
}

// NodeKind is the node's kind; NodeInvalid for a placeholder.
func (v *View) NodeKind(n NodeID) NodeKind {
	k := v.nkind[n]
	runtime.KeepAlive(v)
	return k
}

// NodeIDString is the node's string id.
func (v *View) NodeIDString(n NodeID) string {
	if v.mapped {
		// A substring would point into the mapped file, which is released
		// when the view is collected; callers keep ids far longer.
		s := strings.Clone(v.idAt(n))
		runtime.KeepAlive(v)
		return s
	}
	return v.idAt(n)
}

// idAt is the node's id without copying, for use inside View methods.
func (v *View) idAt(n NodeID) string { return v.idData[v.idOff[n]:v.idOff[n+1]] }

// Node decodes the full node. A placeholder (an edge endpoint no source
// defined) comes back with Kind NodeInvalid and Name set to its id.
func (v *View) Node(n NodeID) Node {
	id := v.NodeIDString(n)
	off := v.noff[n]
	if off == noPayload {
		return Node{ID: id, Kind: NodeInvalid, Name: id}
	}
	node, err := decodeNodePayload(id, arenaPayload(v.narena, off))
	runtime.KeepAlive(v)
	if err != nil {
		// Built views hold payloads we encoded ourselves and the cache file
		// is written atomically, so this means a damaged disk. One bad
		// record must not take down a server: degrade visibly instead.
		return Node{ID: id, Kind: v.nkind[n], Name: id, Attrs: map[string]string{"permgraph.error": err.Error()}}
	}
	node.Kind = v.nkind[n]
	return node
}

// Out lists the edges leaving n, ordered by (kind, to id). The slice is
// shared: do not modify it.
func (v *View) Out(n NodeID) []EdgeID {
	lo, hi := v.outStart[n], v.outStart[n+1]
	runtime.KeepAlive(v)
	return v.seq[lo:hi:hi]
}

// In lists the edges entering n, ordered by edge id. The slice is shared.
func (v *View) In(n NodeID) []EdgeID {
	lo, hi := v.inStart[n], v.inStart[n+1]
	runtime.KeepAlive(v)
	return v.in[lo:hi:hi]
}

// EdgeEnds returns the hot fields of an edge without decoding its payload.
func (v *View) EdgeEnds(e EdgeID) (from, to NodeID, kind EdgeKind, conditional bool) {
	from, to, kind, conditional = v.efrom[e], v.eto[e], v.ekind[e], v.econd[e/64]&(1<<(e%64)) != 0
	runtime.KeepAlive(v)
	return from, to, kind, conditional
}

// Edge decodes the full edge including evidence.
func (v *View) Edge(e EdgeID) Edge {
	k := EdgeKey{From: v.NodeIDString(v.efrom[e]), Kind: v.ekind[e], To: v.NodeIDString(v.eto[e])} // copies
	edge, err := decodeEdgePayload(k, arenaPayload(v.earena, v.eoff[e]))
	runtime.KeepAlive(v)
	if err == nil {
		return edge
	}
	_, _, _, cond := v.EdgeEnds(e)
	return Edge{From: k.From, Kind: k.Kind, To: k.To, Conditional: cond,
		Attrs: map[string]string{"permgraph.error": err.Error()}}
}

// FindByName returns the nodes whose Name or Email equals name, ignoring
// case, in NodeID order. The index is built on first use: only path-style
// queries with human input need it.
func (v *View) FindByName(name string) []NodeID {
	v.namesOnce.Do(v.buildNames)
	return slices.Clone(v.names[strings.ToLower(name)])
}

func (v *View) buildNames() {
	v.names = make(map[string][]NodeID)
	add := func(s string, n NodeID) {
		if s == "" {
			return
		}
		k := strings.ToLower(s)
		ns := v.names[k]
		if len(ns) > 0 && ns[len(ns)-1] == n {
			return // name and email equal
		}
		v.names[k] = append(ns, n)
	}
	for i, off := range v.noff {
		if off == noPayload {
			continue
		}
		// The decoded strings are copies: the index may outlive a mapping.
		name, email := nodeNameEmail(arenaPayload(v.narena, off))
		add(name, NodeID(i))
		add(email, NodeID(i))
	}
	runtime.KeepAlive(v)
}

// arena entries are uvarint length | payload.
func appendArena(arena, p []byte) ([]byte, uint64) {
	off := uint64(len(arena))
	return appendArenaEntry(arena, p), off
}

func arenaPayload(arena []byte, off uint64) []byte {
	d := decoder{b: arena[off:]}
	return d.bytesN(d.uvarint())
}

// ViewBuilder accumulates nodes and edges (from any number of sources) and
// builds a View. It is single-use: Build hands its memory to the View, and
// the builder must not be used afterwards.
type ViewBuilder struct {
	ids   []string
	index map[string]NodeID
	// lazy counts the leading ids not in index yet: a source written just
	// now is added in bulk (memSource.addNodes) and indexed only if another
	// source needs a lookup, which a single-source view never does.
	lazy   int
	nkind  []NodeKind
	noff   []uint64
	narena []byte

	efrom, eto []NodeID
	ekind      []EdgeKind
	econd      []bool
	eoff       []uint64
	earena     []byte

	scratch []byte
}

// NewViewBuilder returns an empty builder.
func NewViewBuilder() *ViewBuilder { return newViewBuilderSized(0, 0, 0) }

// newViewBuilderSized pre-sizes the builder: growing a 600k-entry map and
// 5M-entry slices step by step costs more than the whole scan.
func newViewBuilderSized(nodes, indexed, edges int) *ViewBuilder {
	return &ViewBuilder{
		index: make(map[string]NodeID, indexed),
		ids:   make([]string, 0, nodes), nkind: make([]NodeKind, 0, nodes), noff: make([]uint64, 0, nodes),
		efrom: make([]NodeID, 0, edges), eto: make([]NodeID, 0, edges), ekind: make([]EdgeKind, 0, edges),
		econd: make([]bool, 0, edges), eoff: make([]uint64, 0, edges),
	}
}

// AddNode adds n. When a node with the same id was added before (another
// source), fields merge: the first non-empty Name, Email and valid Kind win,
// attributes are united with the first value winning.
func (b *ViewBuilder) AddNode(n Node) {
	b.scratch = appendNodePayload(b.scratch[:0], n)
	b.addRawNode(n.ID, b.scratch)
}

// AddEdge adds e, creating placeholder nodes for endpoints not (yet) added.
// Edges with the same (from, kind, to) are merged by Build.
func (b *ViewBuilder) AddEdge(e Edge) {
	b.scratch = appendEdgePayload(b.scratch[:0], e)
	b.addRawEdge(e.From, e.Kind, e.To, b.scratch)
}

// syncIndex adds the lazily added ids to index.
func (b *ViewBuilder) syncIndex() {
	for i := range b.lazy {
		b.index[b.ids[i]] = NodeID(i)
	}
	b.lazy = 0
}

func (b *ViewBuilder) intern(id string) NodeID {
	b.syncIndex()
	if n, ok := b.index[id]; ok {
		return n
	}
	n := NodeID(len(b.ids))
	id = strings.Clone(id) // never retain a caller's (or Badger's) buffer
	b.ids = append(b.ids, id)
	b.index[id] = n
	b.nkind = append(b.nkind, NodeInvalid)
	b.noff = append(b.noff, noPayload)
	return n
}

// internOwned is intern for ids that are immutable heap strings (a
// SourceGraph's): Build copies every id into one string, so they need no
// clone of their own.
func (b *ViewBuilder) internOwned(id string) NodeID {
	b.syncIndex()
	return b.internOwnedNotLazy(id)
}

// internOwnedNotLazy is internOwned for an id known not to be among the
// lazily added ones (an edge endpoint that is no node of the bulk-added
// source), so the index need not be completed for it.
func (b *ViewBuilder) internOwnedNotLazy(id string) NodeID {
	if n, ok := b.index[id]; ok {
		return n
	}
	n := NodeID(len(b.ids))
	b.ids = append(b.ids, id)
	b.index[id] = n
	b.nkind = append(b.nkind, NodeInvalid)
	b.noff = append(b.noff, noPayload)
	return n
}

// internBytes is intern for ids read from keys: the map lookup with
// string(id) does not allocate, so only new ids cost an allocation.
func (b *ViewBuilder) internBytes(id []byte) NodeID {
	b.syncIndex()
	if n, ok := b.index[string(id)]; ok {
		return n
	}
	return b.intern(string(id))
}

func (b *ViewBuilder) addRawNodeBytes(id, p []byte) { b.addNodePayload(b.internBytes(id), p) }

func (b *ViewBuilder) addRawEdgeBytes(from []byte, kind EdgeKind, to []byte, p []byte) {
	b.addEdgePayload(b.internBytes(from), kind, b.internBytes(to), p)
}

// addRawNode takes an encoded node payload (as stored) and copies it.
func (b *ViewBuilder) addRawNode(id string, p []byte) { b.addNodePayload(b.intern(id), p) }

func (b *ViewBuilder) addNodePayload(n NodeID, p []byte) {
	id := b.ids[n]
	if b.noff[n] == noPayload {
		var off uint64
		b.narena, off = appendArena(b.narena, p)
		b.noff[n] = off
		if len(p) > 0 {
			b.nkind[n] = NodeKind(p[0])
		}
		return
	}
	// Same node from a second source: rare, so decode, merge, re-encode.
	old, err1 := decodeNodePayload(id, arenaPayload(b.narena, b.noff[n]))
	add, err2 := decodeNodePayload(id, p)
	if err1 != nil || err2 != nil {
		return // keep the first; store payloads are checked on read
	}
	m := mergeNode(old, add)
	var off uint64
	b.narena, off = appendArena(b.narena, appendNodePayload(nil, m))
	b.noff[n] = off
	b.nkind[n] = m.Kind
}

func mergeNode(a, b Node) Node {
	if a.Kind == NodeInvalid {
		a.Kind = b.Kind
	}
	if a.Name == "" {
		a.Name = b.Name
	}
	if a.Email == "" {
		a.Email = b.Email
	}
	if len(b.Attrs) > 0 {
		m := make(map[string]string, len(a.Attrs)+len(b.Attrs))
		for k, v := range b.Attrs {
			m[k] = v
		}
		for k, v := range a.Attrs {
			m[k] = v
		}
		a.Attrs = m
	}
	return a
}

func (b *ViewBuilder) addRawEdge(from string, kind EdgeKind, to string, p []byte) {
	b.addEdgePayload(b.intern(from), kind, b.intern(to), p)
}

func (b *ViewBuilder) addEdgePayload(f NodeID, kind EdgeKind, t NodeID, p []byte) {
	var off uint64
	b.earena, off = appendArena(b.earena, p)
	b.addEdgeAt(f, kind, t, off, edgePayloadConditional(p))
}

// addEdgeAt adds an edge whose payload is already in earena at off.
func (b *ViewBuilder) addEdgeAt(f NodeID, kind EdgeKind, t NodeID, off uint64, conditional bool) {
	b.efrom = append(b.efrom, f)
	b.eto = append(b.eto, t)
	b.ekind = append(b.ekind, kind)
	b.econd = append(b.econd, conditional)
	b.eoff = append(b.eoff, off)
}

// Build sorts and deduplicates edges and builds both CSR indexes. ms are
// the manifests the content came from (recorded, not interpreted).
func (b *ViewBuilder) Build(at time.Time, ms []Manifest) *View {
	numNodes := len(b.ids)
	m := len(b.efrom)
	if b.inOrder() {
		// One source written just now arrives in order with no duplicate:
		// the builder's slices become the view's as they are (at 5M edges,
		// 100 MB of sorting scratch and copies not needed).
		v := &View{
			at: at, manifests: slices.Clone(ms),
			nkind: b.nkind, noff: b.noff, narena: b.narena,
			efrom: b.efrom, eto: b.eto, ekind: b.ekind, eoff: b.eoff, earena: b.earena,
			econd: packBits(b.econd),
		}
		v.setIDs(b.ids)
		*b = ViewBuilder{}
		v.buildCSR()
		return v
	}

	// Counting sort by from, then each node's bucket by (kind, to): linear
	// in practice, where a global sort of 5M edges costs seconds.
	outStart := make([]uint32, numNodes+1)
	for _, f := range b.efrom {
		outStart[f+1]++
	}
	for i := 1; i <= numNodes; i++ {
		outStart[i] += outStart[i-1]
	}
	perm := make([]uint32, m)
	next := slices.Clone(outStart[:numNodes])
	for i, f := range b.efrom {
		perm[next[f]] = uint32(i)
		next[f]++
	}
	next = nil
	for n := range numNodes {
		bucket := perm[outStart[n]:outStart[n+1]]
		if len(bucket) < 2 {
			continue
		}
		slices.SortStableFunc(bucket, func(x, y uint32) int {
			if c := cmp.Compare(b.ekind[x], b.ekind[y]); c != 0 {
				return c
			}
			return strings.Compare(b.ids[b.eto[x]], b.ids[b.eto[y]])
		})
	}

	// Apply the permutation, merging duplicates (same key from two sources)
	// as SourceGraph.AddEdge does: evidence appended, unconditional wins.
	v := &View{
		at: at, manifests: slices.Clone(ms),
		nkind: b.nkind, noff: b.noff, narena: b.narena,
		efrom: make([]NodeID, 0, m), eto: make([]NodeID, 0, m), ekind: make([]EdgeKind, 0, m),
		eoff: make([]uint64, 0, m), earena: b.earena,
	}
	cond := make([]bool, 0, m)
	for _, i := range perm {
		last := len(v.efrom) - 1
		if last >= 0 && v.efrom[last] == b.efrom[i] && v.ekind[last] == b.ekind[i] && v.eto[last] == b.eto[i] {
			k := EdgeKey{From: b.ids[b.efrom[i]], Kind: b.ekind[i], To: b.ids[b.eto[i]]}
			old, err1 := decodeEdgePayload(k, arenaPayload(v.earena, v.eoff[last]))
			add, err2 := decodeEdgePayload(k, arenaPayload(b.earena, b.eoff[i]))
			if err1 != nil || err2 != nil {
				continue
			}
			merged := mergeEdge(old, add)
			v.earena, v.eoff[last] = appendArena(v.earena, appendEdgePayload(nil, merged))
			cond[last] = merged.Conditional
			continue
		}
		v.efrom = append(v.efrom, b.efrom[i])
		v.eto = append(v.eto, b.eto[i])
		v.ekind = append(v.ekind, b.ekind[i])
		v.eoff = append(v.eoff, b.eoff[i])
		cond = append(cond, b.econd[i])
	}
	perm = nil
	v.econd = packBits(cond)
	v.setIDs(b.ids)
	*b = ViewBuilder{} // the view owns the memory now
	v.buildCSR()
	return v
}

// inOrder reports whether the edges are strictly in (from, kind, to id)
// order, so that Build has nothing to sort or merge.
func (b *ViewBuilder) inOrder() bool {
	for i := 1; i < len(b.efrom); i++ {
		f0, f1 := b.efrom[i-1], b.efrom[i]
		if f0 != f1 {
			if f0 > f1 {
				return false
			}
			continue
		}
		k0, k1 := b.ekind[i-1], b.ekind[i]
		if k0 != k1 {
			if k0 > k1 {
				return false
			}
			continue
		}
		if strings.Compare(b.ids[b.eto[i-1]], b.ids[b.eto[i]]) >= 0 {
			return false
		}
	}
	return true
}

// setIDs packs ids into idData/idOff and sorts the lookup permutation.
func (v *View) setIDs(ids []string) {
	size := 0
	for _, id := range ids {
		size += len(id)
	}
	var sb strings.Builder
	sb.Grow(size)
	v.idOff = make([]uint64, len(ids)+1)
	for i, id := range ids {
		sb.WriteString(id)
		v.idOff[i+1] = uint64(sb.Len())
	}
	v.idData = sb.String()
	v.byID = make([]NodeID, len(ids))
	for i := range v.byID {
		v.byID[i] = NodeID(i)
	}
	slices.SortFunc(v.byID, func(a, b NodeID) int { return strings.Compare(ids[a], ids[b]) })
}

func mergeEdge(a, b Edge) Edge {
	a.Evidence = append(slices.Clip(a.Evidence), b.Evidence...)
	if a.Conditional && !b.Conditional {
		a.Conditional, a.Condition = false, ""
	}
	if len(b.Attrs) > 0 {
		m := make(map[string]string, len(a.Attrs)+len(b.Attrs))
		for k, v := range a.Attrs {
			m[k] = v
		}
		for k, v := range b.Attrs {
			m[k] = v
		}
		a.Attrs = m
	}
	return a
}

func packBits(bs []bool) []uint64 {
	out := make([]uint64, (len(bs)+63)/64)
	for i, b := range bs {
		if b {
			out[i/64] |= 1 << (i % 64)
		}
	}
	return out
}

// buildCSR derives outStart, seq, inStart and in from the (sorted) edge
// slices; it is also how a view loaded from its cache file gets them.
func (v *View) buildCSR() {
	numNodes, m := len(v.nkind), len(v.efrom)
	v.outStart = make([]uint32, numNodes+1)
	v.inStart = make([]uint32, numNodes+1)
	for i := range m {
		v.outStart[v.efrom[i]+1]++
		v.inStart[v.eto[i]+1]++
	}
	for i := 1; i <= numNodes; i++ {
		v.outStart[i] += v.outStart[i-1]
		v.inStart[i] += v.inStart[i-1]
	}
	v.seq = make([]EdgeID, m)
	for i := range v.seq {
		v.seq[i] = EdgeID(i)
	}
	v.in = make([]EdgeID, m)
	next := slices.Clone(v.inStart[:numNodes])
	for i, t := range v.eto {
		v.in[next[t]] = EdgeID(i)
		next[t]++
	}
}

// NewViewFromGraphs builds a view straight from in-memory source graphs
// (tests, demo, and callers that just collected).
func NewViewFromGraphs(at time.Time, ms []Manifest, gs ...*SourceGraph) *View {
	b := NewViewBuilder()
	for _, g := range gs {
		for _, n := range g.SortedNodes() {
			b.AddNode(n)
		}
	}
	for _, g := range gs {
		for _, e := range g.SortedEdges() {
			b.AddEdge(e)
		}
	}
	return b.Build(at, ms)
}

// memBytes estimates the view's heap footprint (benchmarks and
// docs/storage.md), excluding the lazily built name index.
func (v *View) memBytes() int {
	size := len(v.idData) + len(v.idOff)*8 + len(v.byID)*4 + len(v.nkind) + len(v.noff)*8
	size += len(v.narena) + len(v.earena)
	size += len(v.efrom)*(4+4+1+8) + len(v.econd)*8
	size += (len(v.outStart) + len(v.inStart) + len(v.seq) + len(v.in)) * 4
	return size
}
