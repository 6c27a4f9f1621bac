package graph

import (
	"fmt"
	"sort"
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
}

// NewSourceGraph returns an empty graph for source.
func NewSourceGraph(source string) *SourceGraph {
	return &SourceGraph{Source: source, Nodes: map[string]Node{}, Edges: map[EdgeKey]Edge{}}
}

// AddNode adds or merges n: later non-empty fields and attributes win, so a
// node first seen as a reference (id and kind only) is completed later.
func (g *SourceGraph) AddNode(n Node) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("add node to %s: %w", g.Source, err)
	}
	old, ok := g.Nodes[n.ID]
	if !ok {
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
		g.Edges[k] = e
		return nil
	}
	old.Evidence = append(old.Evidence, e.Evidence...)
	if old.Conditional && !e.Conditional {
		old.Conditional, old.Condition = false, ""
	}
	for ak, av := range e.Attrs {
		if old.Attrs == nil {
			old.Attrs = map[string]string{}
		}
		old.Attrs[ak] = av
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
}

// NewCollection returns an empty collection.
func NewCollection() *Collection { return &Collection{sources: map[string]*SourceGraph{}} }

// Source returns (creating if needed) the graph of one source.
func (c *Collection) Source(id string) *SourceGraph {
	g, ok := c.sources[id]
	if !ok {
		g = NewSourceGraph(id)
		c.sources[id] = g
		c.order = append(c.order, id)
	}
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

func (c *Collection) AddNode(source string, n Node) error { return c.Source(source).AddNode(n) }
func (c *Collection) AddEdge(source string, e Edge) error { return c.Source(source).AddEdge(e) }

func (c *Collection) Warn(source, msg string) {
	g := c.Source(source)
	g.Warnings = append(g.Warnings, msg)
}
