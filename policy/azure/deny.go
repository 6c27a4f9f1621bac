package azure

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// allPrincipals is the id ARM uses in a deny assignment for "everyone".
const allPrincipals = "00000000-0000-0000-0000-000000000000"

// membership is the Entra MemberOf graph (direct edges, nested groups as
// group -> group), with memoized transitive closures.
type membership struct {
	parents  map[string][]string // member -> groups it is a direct member of
	members  map[string][]string // group -> direct members
	ancMemo  map[string]map[string]bool
	leafMemo map[string][]string
}

// newMembership sizes the index for about nodes members: growing a map of
// 500k members step by step was half of loading a 500k-user tenant.
func newMembership(nodes int) *membership {
	return &membership{parents: make(map[string][]string, nodes), members: make(map[string][]string, nodes/8),
		ancMemo: map[string]map[string]bool{}, leafMemo: map[string][]string{}}
}

func (m *membership) add(member, group string) {
	m.parents[member] = append(m.parents[member], group)
	m.members[group] = append(m.members[group], member)
}

func (m *membership) finish() {
	for _, l := range m.parents {
		sort.Strings(l)
	}
	for _, l := range m.members {
		sort.Strings(l)
	}
}

func (m *membership) isGroup(id string) bool { return strings.HasPrefix(id, "entra:group:") }

// ancestors returns every group id is a transitive member of (not id itself).
func (m *membership) ancestors(id string) map[string]bool {
	if a, ok := m.ancMemo[id]; ok {
		return a
	}
	out := map[string]bool{}
	queue := append([]string(nil), m.parents[id]...)
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if out[g] || g == id {
			continue
		}
		out[g] = true
		queue = append(queue, m.parents[g]...)
	}
	m.ancMemo[id] = out
	return out
}

// leafMembers returns the users and service principals that are transitive
// members of group, sorted.
func (m *membership) leafMembers(group string) []string {
	if l, ok := m.leafMemo[group]; ok {
		return l
	}
	var out []string
	seen := map[string]bool{group: true}
	queue := append([]string(nil), m.members[group]...)
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if seen[x] {
			continue
		}
		seen[x] = true
		if m.isGroup(x) {
			queue = append(queue, m.members[x]...)
			continue
		}
		if strings.HasPrefix(x, "entra:user:") || strings.HasPrefix(x, "entra:sp:") {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	m.leafMemo[group] = out
	return out
}

// deny is a parsed deny assignment.
type deny struct {
	id, arm, scope, scopeARM string
	noChild                  bool
	perms                    Permissions
	all                      bool
	principals, excludes     map[string]bool
	memo                     map[actionKey]bool
}

func parseDeny(n graph.Node) (*deny, error) {
	at := n.Attrs
	d := &deny{id: n.ID, arm: at["arm_id"], scope: at["scope"], scopeARM: at["scope_arm"], noChild: at["does_not_apply_to_child_scopes"] == "true",
		principals: map[string]bool{}, excludes: map[string]bool{}, memo: map[actionKey]bool{}}
	if d.arm == "" {
		d.arm = strings.TrimSuffix(d.scopeARM, "/") + "/providers/Microsoft.Authorization/denyAssignments/" + strings.TrimPrefix(n.ID, "azure:deny:")
	}
	if d.scope == "" && !isRootScope("", d.scopeARM) {
		return nil, fmt.Errorf("no scope")
	}
	ps, err := ParsePermissions(at["permissions"])
	if err != nil {
		return nil, err
	}
	d.perms = ps
	for attr, set := range map[string]map[string]bool{"principals": d.principals, "exclude_principals": d.excludes} {
		if strings.TrimSpace(at[attr]) == "" {
			continue
		}
		var ids []string
		if err := json.Unmarshal([]byte(at[attr]), &ids); err != nil {
			return nil, fmt.Errorf("parse %s: %w", attr, err)
		}
		for _, id := range ids {
			set[id] = true
		}
	}
	d.all = d.principals["*"] || d.principals[allPrincipals]
	return d, nil
}

// deniesAction reports whether the deny's permissions cover action k (same
// matching as role definitions: Actions minus NotActions per block).
func (dn *deny) deniesAction(k actionKey) bool {
	if v, ok := dn.memo[k]; ok {
		return v
	}
	_, v := dn.perms.Grants(k.name, k.data, Lenient)
	dn.memo[k] = v
	return v
}

// deniesAt returns the deny assignments whose scope covers capability scope
// c: the deny's own scope and, unless does_not_apply_to_child_scopes, every
// scope below it. A deny below c (say on one resource group of a
// subscription) does not remove the subscription's capability: the
// principal can still deploy elsewhere in it.
func (d *deriver) deniesAt(c string) []*deny {
	if l, ok := d.denyMemo[c]; ok {
		return l
	}
	var out []*deny
	for _, dn := range d.denies {
		switch {
		case isRootScope(dn.scope, dn.scopeARM):
			if !dn.noChild {
				out = append(out, dn)
			}
		case dn.noChild:
			if dn.scope == c {
				out = append(out, dn)
			}
		case d.sc.within(c, dn.scope):
			out = append(out, dn)
		}
	}
	d.denyMemo[c] = out
	return out
}

// coveredBy reports whether deny dn applies to principal p: p is listed, or
// is a transitive member of a listed group, or the deny names everyone; and
// p is neither excluded nor a transitive member of an excluded group.
func (d *deriver) coveredBy(p string, dn *deny) bool {
	anc := d.mem.ancestors(p)
	if dn.excludes[p] || anyIn(anc, dn.excludes) {
		return false
	}
	return dn.all || dn.principals[p] || anyIn(anc, dn.principals)
}

func anyIn(set, in map[string]bool) bool {
	if len(in) < len(set) {
		for k := range in {
			if set[k] {
				return true
			}
		}
		return false
	}
	for k := range set {
		if in[k] {
			return true
		}
	}
	return false
}

// deniedFor returns the granted actions that a deny covering p removes,
// each mapped to the deny's ARM id.
func (d *deriver) deniedFor(p string, denies []*deny, grants capGrants) map[actionKey]string {
	var out map[actionKey]string
	for _, dn := range denies {
		if !d.coveredBy(p, dn) {
			continue
		}
		for k := range grants {
			if dn.deniesAction(k) {
				if out == nil {
					out = map[actionKey]string{}
				}
				if out[k] == "" {
					out[k] = dn.arm
				}
			}
		}
	}
	return out
}

// groupCanWithDenies writes the Can edges of a group grantee when deny
// assignments apply at the capability scope. A graph edge from the group
// reaches every member, so a deny that covers only some members cannot be
// expressed on the group edge alone:
//   - every member the deny leaves able to deploy gets its own Can edge
//     (evidence: the group's assignment, "through group G");
//   - the group's own edge is kept only if the deny does not cover the group
//     itself, and it becomes conditional when some current member is
//     blocked (who-can then hides blocked members by default and shows them
//     as conditional with --include-conditional; a new member would be
//     blocked or not depending on the deny, hence "conditional").
func (d *deriver) groupCanWithDenies(group, c string, grants capGrants, denies []*deny, groupResults []recipeResult) error {
	var ok []string
	okResults := map[string][]recipeResult{}
	blocked := 0
	blockers := map[string]bool{}
	for _, l := range d.mem.leafMembers(group) {
		denied := d.deniedFor(l, denies, grants)
		res := d.recipesAt(c, grants, denied)
		if len(res) == 0 {
			blocked++
			for _, arm := range denied {
				blockers[arm] = true
			}
			continue
		}
		ok = append(ok, l)
		okResults[l] = res
	}
	if len(groupResults) > 0 && blocked == 0 {
		return d.writeCan(group, c, groupResults, "")
	}
	var ids []string
	for id := range blockers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(groupResults) > 0 {
		capID, err := d.ensureCapability(c)
		if err != nil {
			return err
		}
		e := canEdge(group, capID, groupResults)
		cond := fmt.Sprintf("member not covered by deny assignment %s (it blocks %d current member(s))", strings.Join(ids, ", "), blocked)
		if e.Conditional {
			cond = e.Condition + " and " + cond
		}
		e.Conditional, e.Condition = true, cond
		e.Attrs["partial_deny"] = strings.Join(ids, ",")
		if err := d.addEdge(e); err != nil {
			return err
		}
	}
	name := group
	if n, found := d.node(group); found && n.Name != "" {
		name = n.Name
	}
	for _, l := range ok {
		note := fmt.Sprintf("through group %s (%s); member edge because a deny assignment at this scope covers part of the group", name, group)
		if err := d.writeCan(l, c, okResults[l], note); err != nil {
			return err
		}
	}
	return nil
}
