package workspace

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"permgraph/graph"
)

// userRecs emits a users.list page read by the replay's decoder.
func (m *mapper) userRecs(kind string, recs []userRec) error {
	if err := checkKind(kind, kindUsers); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	for i := range recs {
		if recs[i].id == "" {
			return fmt.Errorf("users[%d]: field \"id\" is missing", i)
		}
		if err := m.user(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// groupRecs emits a groups.list page read by the replay's decoder.
func (m *mapper) groupRecs(kind string, recs []groupRec) error {
	if err := checkKind(kind, kindGroups); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	for i := range recs {
		if recs[i].id == "" {
			return fmt.Errorf("groups[%d]: field \"id\" is missing", i)
		}
		if _, err := m.group(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// memberEdges holds the replay's MemberOf edges of each group until the
// group's last captured members page, then emits each distinct edge once.
//
// That lets edges with the same role and type share one attribute map (a
// map per edge was ~300 bytes and two heap objects, times 1.8M
// memberships at 500k users): a shared map is only safe if the graph never
// merges another edge into it, which it does when one member is listed
// twice in a group (pages that overlap, a hand-made capture). Such repeats
// are merged here instead, as graph.SourceGraph.AddEdge would merge them:
// evidence in page order, the last listing's role and type.
type memberEdges struct {
	m      *mapper
	groups map[string]*groupEdges
	// attrs are the shared attribute maps by role and type; last is the
	// one used last (most members of a page share it).
	attrs    map[[2]string]map[string]string
	lastKey  [2]string
	lastAttr map[string]string
	// free holds index maps of flushed groups for reuse.
	free []map[string]int32
}

type groupEdges struct {
	pages int // captured members pages not yet replayed
	edges []memberEdge
	at    map[string]int32 // from -> index in edges
}

type memberEdge struct {
	from  string
	attrs map[string]string
	role  string           // evidence detail of the first listing
	more  []graph.Evidence // evidence of later listings
}

func newMemberEdges(m *mapper) memberEdges {
	return memberEdges{m: m, groups: map[string]*groupEdges{}, attrs: map[[2]string]map[string]string{}}
}

// expect notes one more captured members page of group g.
func (me *memberEdges) expect(g string) {
	ge := me.groups[g]
	if ge == nil {
		ge = &groupEdges{}
		me.groups[g] = ge
	}
	ge.pages++
}

// page is membersPage for the replay: nodes are emitted now, edges when
// the group's last page is done. null is the index of a null member (-1:
// none), an error once the members before it are mapped.
func (me *memberEdges) page(g, kind string, recs []memberRec, null int) error {
	if err := checkKind(kind, kindMembers); err != nil {
		return err
	}
	m := me.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	ge := me.groups[g]
	if ge == nil { // not announced by expect: emit at the end
		ge = &groupEdges{}
		me.groups[g] = ge
	}
	to := groupID(g)
	for i := range recs {
		rec := &recs[i]
		n, cur, ok := m.memberNode(rec.id, rec.email, rec.typ)
		if !ok {
			m.sink.Warn(m.source, fmt.Sprintf("workspace: group %s (%s): member %d has neither id nor email; skipped", m.groups[g], g, i))
			continue
		}
		if !cur.unchanged(n) {
			if err := m.sink.AddNode(m.source, n); err != nil {
				return err
			}
			cur.added(n)
		}
		role := strings.ToUpper(rec.role)
		if role == "" {
			role = "MEMBER"
		}
		typ := strings.ToUpper(rec.typ)
		e := graph.Edge{From: n.ID, Kind: graph.EdgeMemberOf, To: to}
		if err := e.Validate(); err != nil {
			// The sink refuses it now (a group key with a NUL): let it
			// say so where the edge-by-edge replay would have.
			e.Attrs = map[string]string{"role": role, "type": typ}
			e.Evidence = []graph.Evidence{{Source: "directory:groups/" + g + "/members", Detail: role}}
			if err := m.sink.AddEdge(m.source, e); err != nil {
				return err
			}
			m.counts.Memberships++
			continue
		}
		me.add(ge, n.ID, role, typ)
		m.counts.Memberships++
	}
	if null >= 0 {
		return fmt.Errorf("members[%d]: null member", null)
	}
	return nil
}

func (me *memberEdges) add(ge *groupEdges, from, role, typ string) {
	key := [2]string{role, typ}
	attrs := me.lastAttr
	if attrs == nil || key != me.lastKey {
		if attrs = me.attrs[key]; attrs == nil {
			attrs = map[string]string{"role": role, "type": typ}
			me.attrs[key] = attrs
		}
		me.lastKey, me.lastAttr = key, attrs
	}
	if j := me.find(ge, from); j >= 0 {
		e := &ge.edges[j]
		e.attrs = attrs
		e.more = append(e.more, graph.Evidence{Detail: role})
		return
	}
	if ge.at != nil {
		ge.at[from] = int32(len(ge.edges))
	}
	ge.edges = append(ge.edges, memberEdge{from: from, attrs: attrs, role: role})
}

// smallGroup is the size up to which a group's edges are searched
// linearly: most groups are teams and short lists.
const smallGroup = 16

// find returns the index of the edge from from in ge, or -1.
func (me *memberEdges) find(ge *groupEdges, from string) int {
	if ge.at == nil {
		for i := range ge.edges {
			if ge.edges[i].from == from {
				return i
			}
		}
		if len(ge.edges) < smallGroup {
			return -1
		}
		if n := len(me.free); n > 0 {
			ge.at, me.free = me.free[n-1], me.free[:n-1]
		} else {
			ge.at = make(map[string]int32, 2*smallGroup)
		}
		for i := range ge.edges {
			ge.at[ge.edges[i].from] = int32(i)
		}
		return -1
	}
	if j, ok := ge.at[from]; ok {
		return int(j)
	}
	return -1
}

// pageDone counts one of g's pages as replayed and emits g's edges after
// its last.
func (me *memberEdges) pageDone(g string) error {
	ge := me.groups[g]
	if ge == nil {
		return nil
	}
	if ge.pages--; ge.pages > 0 {
		return nil
	}
	return me.flush(g, ge)
}

func (me *memberEdges) flush(g string, ge *groupEdges) error {
	delete(me.groups, g)
	m := me.m
	m.mu.Lock()
	defer m.mu.Unlock()
	to := groupID(g)
	// One evidence source per group, shared by its edges.
	src := "directory:groups/" + g + "/members"
	for i := range ge.edges {
		e := &ge.edges[i]
		ev := make([]graph.Evidence, 1+len(e.more))
		ev[0] = graph.Evidence{Source: src, Detail: e.role}
		for j, x := range e.more {
			ev[1+j] = graph.Evidence{Source: src, Detail: x.Detail}
		}
		if err := m.sink.AddEdge(m.source, graph.Edge{From: e.from, Kind: graph.EdgeMemberOf, To: to, Attrs: e.attrs, Evidence: ev}); err != nil {
			return err
		}
	}
	// Keep small index maps for the next groups; clearing a map costs its
	// capacity, so the index of a list of thousands is dropped.
	if ge.at != nil && len(ge.at) <= 1024 {
		clear(ge.at)
		me.free = append(me.free, ge.at)
	}
	return nil
}

// flushAll emits the edges of groups whose pages did not all come (none
// should remain).
func (me *memberEdges) flushAll() error {
	left := slices.Sorted(maps.Keys(me.groups))
	for _, g := range left {
		if err := me.flush(g, me.groups[g]); err != nil {
			return err
		}
	}
	return nil
}
