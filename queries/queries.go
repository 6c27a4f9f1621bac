// Package queries answers who-can, path and what-can over a graph.View:
// breadth-first searches on the compact in-memory graph, with the evidence of
// every hop.
package queries

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"permgraph/graph"
)

// ErrNotFound means a principal or node named in a query does not exist.
var ErrNotFound = errors.New("not found")

// ErrAmbiguous means a name matched several nodes.
var ErrAmbiguous = errors.New("ambiguous name")

// Hop is one step of a path with the evidence behind it.
type Hop struct {
	From        string           `json:"from"`
	FromName    string           `json:"from_name,omitempty"`
	Edge        string           `json:"edge"`
	To          string           `json:"to"`
	ToName      string           `json:"to_name,omitempty"`
	Evidence    []graph.Evidence `json:"evidence"`
	Conditional bool             `json:"conditional,omitempty"`
	Condition   string           `json:"condition,omitempty"`
}

// Principal is one answer row of who-can.
type Principal struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	Via         string   `json:"via"` // "direct" or "escalation"
	Conditional bool     `json:"conditional"`
	Scopes      []string `json:"scopes"`
	// Hops is the length of the path behind the answer.
	Hops int `json:"hops"`
	// Through is the node holding the capability (the role, group or
	// service account whose grant the path ends in); empty when the
	// principal holds it itself.
	Through     string `json:"through,omitempty"`
	ThroughName string `json:"through_name,omitempty"`
	// Path is the path hop by hop with evidence, when the query asked for
	// paths (WhoCanOptions.Paths); else WhoCanResult.Explain builds it.
	Path []Hop `json:"path,omitempty"`
	// Incomplete says why the answer for this principal may be partial.
	Incomplete string `json:"incomplete,omitempty"`
}

// WhoCanResult is the answer to who-can deploy / who-can ACTION.
type WhoCanResult struct {
	Capability string      `json:"capability"`
	Resource   string      `json:"resource,omitempty"`
	At         time.Time   `json:"at"`
	Snapshots  []string    `json:"snapshots"`
	Principals []Principal `json:"principals"`
	// HiddenConditional counts principals that qualify only under a
	// request-time condition and were left out (no --include-conditional).
	HiddenConditional int `json:"hidden_conditional,omitempty"`
	// Warnings are gaps in the underlying snapshots.
	Warnings []string `json:"warnings,omitempty"`

	paths *pathIndex // for Explain
}

// Resolve finds a node by id, ARN, email, UPN or display name.
func Resolve(v *graph.View, s string) (graph.NodeID, error) {
	if s == "" {
		return 0, fmt.Errorf("resolve: empty name: %w", ErrNotFound)
	}
	for _, cand := range []string{s, "aws:" + s} {
		if id, ok := v.Lookup(cand); ok {
			return id, nil
		}
	}
	matches := v.FindByName(s)
	switch len(matches) {
	case 0:
		return 0, fmt.Errorf("resolve %q: no node with that id, ARN, email or name: %w", s, ErrNotFound)
	case 1:
		return matches[0], nil
	}
	ids := make([]string, 0, len(matches))
	for _, m := range matches {
		ids = append(ids, v.NodeIDString(m))
	}
	sort.Strings(ids)
	return 0, fmt.Errorf("resolve %q: %d nodes have that name (%s); give the id or ARN: %w", s, len(ids), strings.Join(ids, ", "), ErrAmbiguous)
}

// snapshotInfo lists the ids and warnings of the snapshots behind a view.
func snapshotInfo(v *graph.View) ([]string, []string) {
	ids, warnings := []string{}, []string(nil)
	for _, m := range v.Manifests() {
		ids = append(ids, m.ID)
		for _, w := range m.Warnings {
			warnings = append(warnings, m.Source+": "+w)
		}
	}
	return ids, warnings
}

func hopOf(v *graph.View, e graph.EdgeID) Hop {
	return newHopCache(v).hop(e)
}

// hopCache memoizes hops and node names while one query builds many paths:
// who-can answers share most hops (every path ends at the same capability),
// and decoding an edge's evidence is the expensive part.
type hopCache struct {
	v          *graph.View
	hops       map[graph.EdgeID]Hop
	names      map[graph.NodeID]string
	incomplete map[graph.EdgeID]string // attrs["incomplete"] of decoded edges
}

func newHopCache(v *graph.View) *hopCache {
	return &hopCache{v: v, hops: map[graph.EdgeID]Hop{}, names: map[graph.NodeID]string{}, incomplete: map[graph.EdgeID]string{}}
}

func (c *hopCache) name(n graph.NodeID) string {
	if s, ok := c.names[n]; ok {
		return s
	}
	s := c.v.Node(n).Name
	c.names[n] = s
	return s
}

func (c *hopCache) hop(e graph.EdgeID) Hop {
	if h, ok := c.hops[e]; ok {
		return h
	}
	full := c.v.Edge(e)
	from, to, _, _ := c.v.EdgeEnds(e)
	ev := full.Evidence
	if ev == nil {
		ev = []graph.Evidence{}
	}
	h := Hop{From: full.From, FromName: c.name(from), Edge: full.Kind.String(), To: full.To, ToName: c.name(to),
		Evidence: ev, Conditional: full.Conditional, Condition: full.Condition}
	c.hops[e] = h
	if inc := full.Attrs["incomplete"]; inc != "" {
		c.incomplete[e] = inc
	}
	return h
}

// foldedMembership reports whether e is an AWS group membership. AWS group
// policies are already folded into each member's own Can edges (so a
// member's explicit Deny applies), and an AWS group's Can edge says what
// joining it grants (for CanAddMember). So searches do not walk from an AWS
// group to its members, and a forward walk stops at the group.
func foldedMembership(v *graph.View, kind graph.EdgeKind, group graph.NodeID) bool {
	return kind == graph.EdgeMemberOf && v.NodeIDHasPrefix(group, "aws:")
}
