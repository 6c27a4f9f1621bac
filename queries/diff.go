package queries

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"permgraph/graph"
)

// SourceChange is what the store reports for one source between two
// snapshots: Forward = Changes(from, to) (Added/Changed hold the new
// values), Backward = Changes(to, from) (its Changed holds the old values).
// From is zero when the source had no snapshot at the earlier time.
type SourceChange struct {
	Source   string
	From, To graph.Manifest
	Forward  graph.ChangeSet
	Backward graph.ChangeSet
}

// DiffOptions tune Diff.
type DiffOptions struct {
	// Capability limits capability changes to one capability name
	// (default deploy-container).
	Capability string
}

// ObjectRef is one added, removed or changed node.
type ObjectRef struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"`
}

// EdgeRef is one added, removed or changed edge, with its evidence.
type EdgeRef struct {
	Source string `json:"source"`
	Hop
}

// CapabilityChange is one principal gaining or losing a capability.
type CapabilityChange struct {
	// Change is "gained", "lost", or "changed" (still held, but now only
	// conditionally / unconditionally, or now needing escalation).
	Change     string `json:"change"`
	Principal  string `json:"principal"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Capability string `json:"capability"`
	Cloud      string `json:"cloud"`
	Scope      string `json:"scope"`
	// Before and After are "none", "conditional" or "yes".
	Before string `json:"before"`
	After  string `json:"after"`
	// Via is "direct" or "escalation" on the side that holds the capability
	// (after for gained and changed, before for lost).
	Via string `json:"via"`
	// Cause lists the changed edges on that path: what made the difference.
	Cause []Hop `json:"cause"`
	// Path is the full path on that side.
	Path []Hop `json:"path"`
	// Summary is one sentence: "alice gained deploy-container on aws
	// 111122223333 via group ecs-deployers (MemberOf added)".
	Summary string `json:"summary"`
}

// SourceDiffInfo names the two snapshots compared for one source.
type SourceDiffInfo struct {
	Source  string `json:"source"`
	From    string `json:"from"` // "" when the source is new
	To      string `json:"to"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Changed int    `json:"changed"`
}

// DiffResult is the answer of `permgraph diff`, at three levels.
type DiffResult struct {
	From    time.Time        `json:"from"`
	To      time.Time        `json:"to"`
	Sources []SourceDiffInfo `json:"sources"`
	Objects struct {
		Added   []ObjectRef `json:"added"`
		Removed []ObjectRef `json:"removed"`
		Changed []ObjectRef `json:"changed"`
	} `json:"objects"`
	Edges struct {
		Added   []EdgeRef `json:"added"`
		Removed []EdgeRef `json:"removed"`
		Changed []EdgeRef `json:"changed"`
	} `json:"edges"`
	// Escalations are the added and removed privilege-escalation edges
	// (also listed under Edges).
	Escalations struct {
		Added   []EdgeRef `json:"added"`
		Removed []EdgeRef `json:"removed"`
	} `json:"escalations"`
	Capabilities []CapabilityChange `json:"capabilities"`
	// Candidates is how many principals were re-evaluated: the cost of the
	// capability diff follows it, not the size of the graph.
	Candidates int `json:"candidates"`
}

// Diff reports what changed between two points in time. to is the graph at
// the later time; the earlier graph is to with the change sets undone, so
// nothing proportional to the whole graph is rebuilt. Capability changes
// are found by re-evaluating only the principals that can reach an endpoint
// of a changed edge, on both sides.
func Diff(ctx context.Context, to *graph.View, changes []SourceChange, o DiffOptions) (*DiffResult, error) {
	if o.Capability == "" {
		o.Capability = DeployCapability
	}
	res := &DiffResult{To: to.At()}
	before := newSide(to)
	after := newSide(to)
	changedKeys := map[graph.EdgeKey]string{} // edge key -> "added" | "removed" | "changed"
	for _, sc := range changes {
		if !sc.From.At.IsZero() && (res.From.IsZero() || sc.From.At.Before(res.From)) {
			res.From = sc.From.At
		}
		info := SourceDiffInfo{Source: sc.Source, From: sc.From.ID, To: sc.To.ID}
		f, b := sc.Forward, sc.Backward
		info.Added = len(f.AddedNodes) + len(f.AddedEdges)
		info.Removed = len(f.RemovedNodes) + len(f.RemovedEdges)
		info.Changed = len(f.ChangedNodes) + len(f.ChangedEdges)
		res.Sources = append(res.Sources, info)
		for _, n := range f.AddedNodes {
			res.Objects.Added = append(res.Objects.Added, objRef(sc.Source, n))
		}
		for _, n := range f.RemovedNodes {
			res.Objects.Removed = append(res.Objects.Removed, objRef(sc.Source, n))
			before.nodes[n.ID] = n
		}
		for _, n := range f.ChangedNodes {
			res.Objects.Changed = append(res.Objects.Changed, objRef(sc.Source, n))
		}
		for _, e := range f.AddedEdges {
			before.hide[e.Key()] = true
			changedKeys[e.Key()] = "added"
			r := EdgeRef{Source: sc.Source, Hop: after.hop(e)}
			res.Edges.Added = append(res.Edges.Added, r)
			if e.Kind.IsEscalation() {
				res.Escalations.Added = append(res.Escalations.Added, r)
			}
		}
		for _, e := range f.RemovedEdges {
			before.add(e)
			changedKeys[e.Key()] = "removed"
			r := EdgeRef{Source: sc.Source, Hop: before.hop(e)}
			res.Edges.Removed = append(res.Edges.Removed, r)
			if e.Kind.IsEscalation() {
				res.Escalations.Removed = append(res.Escalations.Removed, r)
			}
		}
		for _, e := range f.ChangedEdges {
			changedKeys[e.Key()] = "changed"
			res.Edges.Changed = append(res.Edges.Changed, EdgeRef{Source: sc.Source, Hop: after.hop(e)})
		}
		// The old versions of changed edges replace the view's version on
		// the earlier side (a condition added or dropped changes answers).
		for _, e := range b.ChangedEdges {
			before.hide[e.Key()] = true
			before.add(e)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	// Candidates: every principal that reaches the tail of a changed edge,
	// on either side.
	seeds := map[string]bool{}
	for k := range changedKeys {
		seeds[k.From] = true
	}
	cands := map[string]bool{}
	for _, s := range []*side{before, after} {
		for id := range s.reverseReach(seeds) {
			cands[id] = true
		}
	}
	ids := make([]string, 0, len(cands))
	for id := range cands {
		k, _ := before.kindOf(id)
		if ka, ok := after.kindOf(id); ok {
			k = ka
		}
		if k.IsPrincipal() && k != graph.NodeService {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	res.Candidates = len(ids)
	for i, id := range ids {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("diff: %w", err)
			}
		}
		b := before.capabilities(id, o.Capability)
		a := after.capabilities(id, o.Capability)
		capIDs := map[string]bool{}
		for c := range b {
			capIDs[c] = true
		}
		for c := range a {
			capIDs[c] = true
		}
		for c := range capIDs {
			rb, ra := b[c], a[c]
			if rb.status() == ra.status() && rb.via() == ra.via() {
				continue
			}
			cc := CapabilityChange{Principal: id, Capability: o.Capability, Before: rb.status(), After: ra.status()}
			holder, hs := ra, after
			switch {
			case rb.status() == "none":
				cc.Change = "gained"
			case ra.status() == "none":
				cc.Change, holder, hs = "lost", rb, before
			default:
				cc.Change = "changed"
			}
			cc.Via = holder.via()
			n := hs.node(id)
			cc.Kind, cc.Name = n.Kind.String(), displayName(n)
			capNode := hs.node(c)
			if capNode.Kind == graph.NodeInvalid {
				capNode = before.node(c)
			}
			cc.Cloud, cc.Scope = capNode.Attrs["cloud"], capNode.Attrs["scope"]
			if cc.Scope == "" {
				cc.Scope = c
			}
			var why []string // "MemberOf deployers added", one per changed hop
			for _, e := range holder.path() {
				h := hs.hop(e)
				cc.Path = append(cc.Path, h)
				if how := changedKeys[e.Key()]; how != "" {
					cc.Cause = append(cc.Cause, h)
					why = append(why, fmt.Sprintf("%s %s %s", h.Edge, nameOrID(h.ToName, h.To), how))
				}
			}
			if cc.Cause == nil {
				cc.Cause = []Hop{}
			}
			cc.Summary = summarize(cc, why)
			res.Capabilities = append(res.Capabilities, cc)
		}
	}
	sort.Slice(res.Capabilities, func(i, j int) bool {
		a, b := res.Capabilities[i], res.Capabilities[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		return a.Scope < b.Scope
	})
	fillEmpty(res)
	return res, nil
}

func fillEmpty(res *DiffResult) {
	for _, p := range []*[]ObjectRef{&res.Objects.Added, &res.Objects.Removed, &res.Objects.Changed} {
		if *p == nil {
			*p = []ObjectRef{}
		}
	}
	for _, p := range []*[]EdgeRef{&res.Edges.Added, &res.Edges.Removed, &res.Edges.Changed, &res.Escalations.Added, &res.Escalations.Removed} {
		if *p == nil {
			*p = []EdgeRef{}
		}
	}
	if res.Capabilities == nil {
		res.Capabilities = []CapabilityChange{}
	}
	if res.Sources == nil {
		res.Sources = []SourceDiffInfo{}
	}
}

func objRef(source string, n graph.Node) ObjectRef {
	return ObjectRef{Source: source, ID: n.ID, Kind: n.Kind.String(), Name: n.Name}
}

// summarize writes the one-line explanation of a capability change; why
// names the changed hops on its path.
func summarize(cc CapabilityChange, why []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s on %s %s", cc.Name, cc.Change, cc.Capability, cc.Cloud, cc.Scope)
	if cc.Change == "changed" {
		fmt.Fprintf(&b, " (%s -> %s)", cc.Before, cc.After)
	}
	if cc.Via == "escalation" {
		b.WriteString(" by privilege escalation")
	}
	if len(why) > 0 {
		b.WriteString(" via ")
		b.WriteString(strings.Join(why, ", "))
	}
	return b.String()
}

func nameOrID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// side is one side of a diff: the view, with some edges hidden and others
// added, addressed by string ids so nodes absent from the view (removed
// ones) work too.
type side struct {
	v     *graph.View
	hide  map[graph.EdgeKey]bool
	out   map[string][]graph.Edge
	in    map[string][]graph.Edge
	nodes map[string]graph.Node
}

func newSide(v *graph.View) *side {
	return &side{v: v, hide: map[graph.EdgeKey]bool{}, out: map[string][]graph.Edge{}, in: map[string][]graph.Edge{}, nodes: map[string]graph.Node{}}
}

func (s *side) add(e graph.Edge) {
	s.out[e.From] = append(s.out[e.From], e)
	s.in[e.To] = append(s.in[e.To], e)
}

func (s *side) node(id string) graph.Node {
	if n, ok := s.nodes[id]; ok {
		return n
	}
	if nid, ok := s.v.Lookup(id); ok {
		return s.v.Node(nid)
	}
	return graph.Node{ID: id}
}

func (s *side) kindOf(id string) (graph.NodeKind, bool) {
	if n, ok := s.nodes[id]; ok {
		return n.Kind, true
	}
	if nid, ok := s.v.Lookup(id); ok {
		return s.v.NodeKind(nid), true
	}
	return graph.NodeInvalid, false
}

func (s *side) isAWSGroup(id string) bool {
	k, _ := s.kindOf(id)
	return k == graph.NodeGroup && strings.HasPrefix(id, "aws:")
}

// lite is an edge without its evidence, enough to walk.
type lite struct {
	from, to string
	kind     graph.EdgeKind
	cond     bool
	view     graph.EdgeID // valid when fromView
	fromView bool
	full     graph.Edge // when !fromView
}

func (l lite) key() graph.EdgeKey { return graph.EdgeKey{From: l.from, Kind: l.kind, To: l.to} }

func (s *side) edges(id string, outgoing bool, fn func(lite)) {
	if nid, ok := s.v.Lookup(id); ok {
		list := s.v.In(nid)
		if outgoing {
			list = s.v.Out(nid)
		}
		for _, e := range list {
			f, t, k, c := s.v.EdgeEnds(e)
			l := lite{from: s.v.NodeIDString(f), to: s.v.NodeIDString(t), kind: k, cond: c, view: e, fromView: true}
			if len(s.hide) > 0 && s.hide[l.key()] {
				continue
			}
			fn(l)
		}
	}
	extra := s.in[id]
	if outgoing {
		extra = s.out[id]
	}
	for _, e := range extra {
		fn(lite{from: e.From, to: e.To, kind: e.Kind, cond: e.Conditional, full: e})
	}
}

// reverseReach returns every node that reaches a seed along traversable
// edges (conditional ones included: a superset is fine for candidates).
func (s *side) reverseReach(seeds map[string]bool) map[string]bool {
	seen := make(map[string]bool, len(seeds))
	queue := make([]string, 0, len(seeds))
	for id := range seeds {
		seen[id] = true
		queue = append(queue, id)
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		awsGroup := s.isAWSGroup(cur)
		s.edges(cur, false, func(l lite) {
			if !l.kind.Traversable() || seen[l.from] || (awsGroup && l.kind == graph.EdgeMemberOf) {
				return
			}
			seen[l.from] = true
			queue = append(queue, l.from)
		})
	}
	return seen
}

// reachInfo is how one principal reaches one capability on one side.
type reachInfo struct {
	strict, loose []graph.Edge // paths; nil when not reached that way
}

func (r reachInfo) status() string {
	switch {
	case r.strict != nil:
		return "yes"
	case r.loose != nil:
		return "conditional"
	}
	return "none"
}

func (r reachInfo) path() []graph.Edge {
	if r.strict != nil {
		return r.strict
	}
	return r.loose
}

func (r reachInfo) via() string {
	if r.status() == "none" {
		return ""
	}
	for _, e := range r.path() {
		if e.Kind.IsEscalation() {
			return "escalation"
		}
	}
	return "direct"
}

// capabilities walks forward from id and returns the capabilities named
// capName it reaches, with a shortest unconditional and any-condition path.
func (s *side) capabilities(id, capName string) map[string]reachInfo {
	out := map[string]reachInfo{}
	for _, strict := range []bool{true, false} {
		prev := map[string]lite{id: {}}
		queue := []string{id}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			s.edges(cur, true, func(l lite) {
				if !l.kind.Traversable() || (strict && l.cond) {
					return
				}
				if _, ok := prev[l.to]; ok {
					return
				}
				prev[l.to] = l
				if k, _ := s.kindOf(l.to); k == graph.NodeCapability {
					if s.node(l.to).Attrs["capability"] == capName {
						r := out[l.to]
						p := s.pathTo(prev, id, l.to)
						if strict {
							r.strict = p
						} else {
							r.loose = p
						}
						out[l.to] = r
					}
					return
				}
				if l.kind == graph.EdgeMemberOf && s.isAWSGroup(l.to) {
					return // the member's own Can edges already fold the group's policies
				}
				queue = append(queue, l.to)
			})
		}
	}
	return out
}

func (s *side) pathTo(prev map[string]lite, src, dst string) []graph.Edge {
	var rev []graph.Edge
	for cur := dst; cur != src && len(rev) <= len(prev); {
		l := prev[cur]
		rev = append(rev, s.full(l))
		cur = l.from
	}
	p := make([]graph.Edge, len(rev))
	for i := range rev {
		p[i] = rev[len(rev)-1-i]
	}
	return p
}

func (s *side) full(l lite) graph.Edge {
	if l.fromView {
		return s.v.Edge(l.view)
	}
	return l.full
}

// hop renders an edge with display names from this side.
func (s *side) hop(e graph.Edge) Hop {
	ev := e.Evidence
	if ev == nil {
		ev = []graph.Evidence{}
	}
	return Hop{From: e.From, FromName: s.node(e.From).Name, Edge: e.Kind.String(), To: e.To, ToName: s.node(e.To).Name,
		Evidence: ev, Conditional: e.Conditional, Condition: e.Condition}
}
