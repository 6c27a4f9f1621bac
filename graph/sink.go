package graph

import (
	"fmt"
	"maps"
	"sort"
	"unsafe"
)

// Sink receives what a collector enumerates. A collection may cover several
// sources (an AWS organisation has one source per account); each node and edge
// belongs to exactly one source.
type Sink interface {
	AddNode(source string, n Node) error
	AddEdge(source string, e Edge) error
	// Warn records a non-fatal gap that makes answers about source incomplete.
	Warn(source, msg string)
}

// SourceGraph is one source's collected (and later derived) nodes and edges,
// held once in memory between collection and the snapshot write.
type SourceGraph struct {
	Source string
	Nodes  map[string]Node
	Edges  map[EdgeKey]Edge
	// Warnings are non-fatal gaps (for example a policy attached but absent
	// from the export); they are stored in the snapshot manifest.
	Warnings []string
	// Collection is the run that collected the graph (set by ingest); it
	// is stored in the snapshot manifest.
	Collection *CollectionRun

	// Arena holds the graph's strings and evidence (see Arena). It is
	// storage, not content: graphs compare equal whatever it holds.
	Arena Arena `json:"-"`
}

// Arena gives a graph's strings and evidence a few large homes. At
// millions of edges a graph of individually allocated ids, names and
// evidence slices is tens of millions of heap objects, and every garbage
// collection while it is live (collection, derive, the snapshot write)
// marks them all: copying them into shared chunks cut a collection of a
// 1M-user graph from 5.5 to 1.2 CPU-s (docs/performance.md). Equal strings
// share one copy. Chunks are append-only, so handed-out strings never
// change; the state sits behind a pointer so that copies of a SourceGraph
// append to the same chunks instead of overwriting each other's.
type Arena struct{ p *arenaState }

type arenaState struct {
	m     map[string]string
	chunk []byte
	evs   []Evidence
}

// Equal makes every Arena equal (go-cmp calls it instead of looking
// inside): where a graph's strings live is not part of what it says.
func (Arena) Equal(Arena) bool { return true }

// internMax: longer strings (policy documents) are kept as they are; they
// are few, and copying them would only add work.
const internMax = 512

func (a *Arena) state() *arenaState {
	if a.p == nil {
		a.p = &arenaState{m: map[string]string{}}
	}
	return a.p
}

func (a *Arena) str(x string) string {
	if x == "" || len(x) > internMax {
		return x
	}
	return a.state().str(x)
}

func (in *arenaState) str(x string) string {
	if y, ok := in.m[x]; ok {
		return y
	}
	if cap(in.chunk)-len(in.chunk) < len(x) {
		in.chunk = make([]byte, 0, 256<<10)
	}
	start := len(in.chunk)
	in.chunk = append(in.chunk, x...)
	y := unsafe.String(&in.chunk[start], len(x))
	in.m[y] = y
	return y
}

// evidence copies ev into a shared chunk; the result's capacity is its
// length, so appending to it (AddEdge merging) reallocates instead of
// overwriting a neighbour.
func (a *Arena) evidence(ev []Evidence) []Evidence {
	if len(ev) == 0 {
		return ev
	}
	in := a.state()
	if cap(in.evs)-len(in.evs) < len(ev) {
		in.evs = make([]Evidence, 0, max(len(ev), 2048))
	}
	start := len(in.evs)
	for _, e := range ev {
		in.evs = append(in.evs, Evidence{Source: a.str(e.Source), Statement: a.str(e.Statement), Detail: a.str(e.Detail)})
	}
	return in.evs[start:len(in.evs):len(in.evs)]
}

// node re-homes n's strings; attribute values are replaced in place (same
// content), so a caller still holding the map sees no difference.
func (a *Arena) node(n Node) Node {
	n.ID, n.Name, n.Email = a.str(n.ID), a.str(n.Name), a.str(n.Email)
	for k, v := range n.Attrs {
		n.Attrs[k] = a.str(v)
	}
	return n
}

func (a *Arena) edge(e Edge) Edge {
	e.From, e.To, e.Condition = a.str(e.From), a.str(e.To), a.str(e.Condition)
	e.Evidence = a.evidence(e.Evidence)
	for k, v := range e.Attrs {
		if s := a.str(v); unsafe.StringData(s) != unsafe.StringData(v) {
			e.Attrs[k] = s // a shared map is written once, with an equal value
		}
	}
	return e
}

// NewSourceGraph returns an empty graph for source.
func NewSourceGraph(source string) *SourceGraph {
	return &SourceGraph{Source: source, Nodes: map[string]Node{}, Edges: map[EdgeKey]Edge{}}
}

// Reserve sizes the graph for about nodes nodes and edges edges, so a bulk
// import does not grow its maps step by step: splitting and rehashing a
// map of millions of entries as it grew was 9 of a 500k-user Entra
// replay's 21 CPU-s (session 5, docs/performance.md). It is a hint; the
// graph holds any number of entries either way.
func (g *SourceGraph) Reserve(nodes, edges int) {
	if nodes > len(g.Nodes) {
		m := make(map[string]Node, nodes)
		maps.Copy(m, g.Nodes)
		g.Nodes = m
	}
	if edges > len(g.Edges) {
		m := make(map[EdgeKey]Edge, edges)
		maps.Copy(m, g.Edges)
		g.Edges = m
	}
	// Every node brings a few distinct strings (id, name, e-mail,
	// timestamps); edges mostly reuse them.
	if in := g.Arena.state(); 3*nodes > len(in.m) {
		m := make(map[string]string, 3*nodes)
		maps.Copy(m, in.m)
		in.m = m
	}
}

// AddNode adds or merges n: later non-empty fields and attributes win, so a
// node first seen as a reference (id and kind only) is completed later.
func (g *SourceGraph) AddNode(n Node) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("add node to %s: %w", g.Source, err)
	}
	old, ok := g.Nodes[n.ID]
	if !ok {
		n = g.Arena.node(n)
		g.Nodes[n.ID] = n
		return nil
	}
	if n.Name != "" {
		old.Name = n.Name
	}
	if n.Email != "" {
		old.Email = n.Email
	}
	if len(n.Attrs) > 0 {
		if old.Attrs == nil {
			old.Attrs = map[string]string{}
		}
		for k, v := range n.Attrs {
			old.Attrs[k] = v
		}
	}
	old.Kind = n.Kind
	g.Nodes[n.ID] = old
	return nil
}

// AddEdge adds e, merging evidence into an existing edge with the same key.
// An edge is unconditional as soon as one unconditional reason exists.
func (g *SourceGraph) AddEdge(e Edge) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("add edge to %s: %w", g.Source, err)
	}
	k := e.Key()
	old, ok := g.Edges[k]
	if !ok {
		e = g.Arena.edge(e)
		g.Edges[e.Key()] = e
		return nil
	}
	old.Evidence = append(old.Evidence, e.Evidence...)
	if old.Conditional && !e.Conditional {
		old.Conditional, old.Condition = false, ""
	}
	// Copy on write: callers may share one attribute map between many
	// edges (2.6M tenant-wide CanAddMember edges each allocated their own
	// {"eligible": "true"}: 447 MB at 500k users), so a merge never writes
	// into the map it found.
	for ak, av := range e.Attrs {
		if cur, ok := old.Attrs[ak]; ok && cur == av {
			continue
		}
		merged := make(map[string]string, len(old.Attrs)+len(e.Attrs))
		maps.Copy(merged, old.Attrs)
		maps.Copy(merged, e.Attrs)
		old.Attrs = merged
		break
	}
	g.Edges[k] = old
	return nil
}

// SortedNodes returns nodes ordered by id (deterministic writes and output).
func (g *SourceGraph) SortedNodes() []Node {
	out := make([]Node, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// SortedEdges returns edges ordered by (from, kind, to).
func (g *SourceGraph) SortedEdges() []Edge {
	out := make([]Edge, 0, len(g.Edges))
	for _, e := range g.Edges {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return LessEdgeKey(out[i].Key(), out[j].Key()) })
	return out
}

// LessEdgeKey orders edge keys by from, kind, to.
func LessEdgeKey(a, b EdgeKey) bool {
	if a.From != b.From {
		return a.From < b.From
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	return a.To < b.To
}

// Collection is a Sink that keeps one SourceGraph per source.
type Collection struct {
	sources map[string]*SourceGraph
	order   []string
	last    *SourceGraph // collectors add millions of items to one source in a row
}

// NewCollection returns an empty collection.
func NewCollection() *Collection { return &Collection{sources: map[string]*SourceGraph{}} }

// Source returns (creating if needed) the graph of one source.
func (c *Collection) Source(id string) *SourceGraph {
	if c.last != nil && c.last.Source == id {
		return c.last
	}
	g, ok := c.sources[id]
	if !ok {
		g = NewSourceGraph(id)
		c.sources[id] = g
		c.order = append(c.order, id)
	}
	c.last = g
	return g
}

// Sources returns the source graphs in the order they were first seen.
func (c *Collection) Sources() []*SourceGraph {
	out := make([]*SourceGraph, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.sources[id])
	}
	return out
}

// Reserve sizes source's graph (SourceGraph.Reserve).
func (c *Collection) Reserve(source string, nodes, edges int) { c.Source(source).Reserve(nodes, edges) }

func (c *Collection) AddNode(source string, n Node) error { return c.Source(source).AddNode(n) }
func (c *Collection) AddEdge(source string, e Edge) error { return c.Source(source).AddEdge(e) }

func (c *Collection) Warn(source, msg string) {
	g := c.Source(source)
	g.Warnings = append(g.Warnings, msg)
}
