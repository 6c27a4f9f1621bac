package gcp

import (
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// projectMasks is what a principal's own bindings grant at each project. A
// binding on a service account counts only for the recipes' identity
// permission (actAs on an SA of that project); its other permissions are
// about the SA itself and handled as escalation.
func (d *deriver) projectMasks(id string) map[int32]masks {
	if m, ok := d.projMemo[id]; ok {
		return m
	}
	m := map[int32]masks{}
	add := func(p int32, b bits, conditional bool) {
		cur := m[p]
		cur.a = cur.a.or(b)
		if !conditional {
			cur.u = cur.u.or(b)
		}
		m[p] = cur
	}
	for _, gi := range d.own[id] {
		gr := &d.grants[gi]
		if p, ok := d.tree.saProject[gr.resource]; ok {
			if b := gr.mask.and(d.identityBits); !b.zero() {
				add(p, b, gr.conditional())
			}
			continue
		}
		for _, p := range d.tree.projectsUnder(gr.resource) {
			add(p, gr.mask, gr.conditional())
		}
	}
	d.projMemo[id] = m
	return m
}

// holders returns the principals whose own bindings id inherits: id itself
// when it has bindings, plus (transitively) every group it is a member of
// that has. Memoised for groups; a membership cycle contributes nothing
// beyond the point where it closes.
func (d *deriver) holders(id string) []string {
	if h, ok := d.holderMemo[id]; ok {
		return h
	}
	if d.inProgress[id] {
		return nil
	}
	d.inProgress[id] = true
	var h []string
	if len(d.own[id]) > 0 {
		h = append(h, id)
	}
	for _, p := range d.memberOf[id] {
		h = append(h, d.holders(p)...)
	}
	sort.Strings(h)
	h = compactStrings(h)
	delete(d.inProgress, id)
	d.holderMemo[id] = h
	return h
}

// status is how well m satisfies need: 2 unconditionally, 1 only with
// conditional bindings, 0 not at all.
func status(m masks, need bits) int {
	switch {
	case m.u.covers(need):
		return 2
	case m.a.covers(need):
		return 1
	}
	return 0
}

func orMasks(a, b masks) masks { return masks{u: a.u.or(b.u), a: a.a.or(b.a)} }

// deploy adds Can edges to project deploy capabilities.
//
// Every principal with bindings gets an edge where its own bindings satisfy
// a recipe (groups too: queries walk MemberOf down to the members). A
// principal also gets an edge where only the combination of its own and its
// groups' bindings satisfies a recipe (run.developer through one group,
// serviceAccountUser through another): no single group's edge would show
// that path. It gets no edge where one of its groups already qualifies, so
// answers stay one edge per reason.
func (d *deriver) deploy() error {
	ids := make([]string, 0, len(d.own)+len(d.memberOf))
	for id := range d.own {
		ids = append(ids, id)
	}
	for id := range d.memberOf {
		if len(d.own[id]) == 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for i, id := range ids {
		if i%1024 == 0 {
			if err := d.ctx.Err(); err != nil {
				return fmt.Errorf("derive %s: %w", d.g.Source, err)
			}
		}
		if err := d.deployFor(id); err != nil {
			return fmt.Errorf("derive %s: deploy edges of %s: %w", d.g.Source, id, err)
		}
	}
	return nil
}

func (d *deriver) deployFor(x string) error {
	var own map[int32]masks
	if len(d.own[x]) > 0 {
		own = d.projectMasks(x)
	}
	var parents [][]string
	var inherited []string
	for _, p := range d.memberOf[x] {
		if h := d.holders(p); len(h) > 0 {
			parents = append(parents, h)
			inherited = append(inherited, h...)
		}
	}
	sort.Strings(inherited)
	inherited = compactStrings(inherited)
	if len(own) == 0 && len(inherited) < 2 {
		return nil // at most one group's bindings: that group's own edge is the path
	}
	maps := make(map[string]map[int32]masks, len(inherited))
	for _, h := range inherited {
		maps[h] = d.projectMasks(h)
	}
	cands := map[int32]bool{}
	for p := range own {
		cands[p] = true
	}
	if len(inherited) >= 2 {
		// A combination needs two holders at one project; every such project
		// appears in some map other than the largest, so the largest (an
		// organisation-wide binding) is only probed, never walked.
		largest := inherited[0]
		for _, h := range inherited[1:] {
			if len(maps[h]) > len(maps[largest]) {
				largest = h
			}
		}
		count := map[int32]int{}
		for _, h := range inherited {
			if h == largest {
				continue
			}
			for p := range maps[h] {
				count[p]++
			}
		}
		for p, c := range count {
			if _, ok := maps[largest][p]; ok {
				c++
			}
			if c >= 2 {
				cands[p] = true
			}
		}
	}
	projects := make([]int32, 0, len(cands))
	for p := range cands {
		projects = append(projects, p)
	}
	sort.Slice(projects, func(i, j int) bool { return projects[i] < projects[j] })
	for _, p := range projects {
		ownM := own[p]
		comb := ownM
		for _, h := range inherited {
			comb = orMasks(comb, maps[h][p])
		}
		parentMasks := make([]masks, len(parents))
		for i, set := range parents {
			for _, h := range set {
				parentMasks[i] = orMasks(parentMasks[i], maps[h][p])
			}
		}
		// A recipe earns x an edge when x's own bindings satisfy it, or
		// when the combination satisfies it better than every one of x's
		// groups does (otherwise the group's edge is the path).
		level, combined := 0, false
		var recs []*recipe
		for i := range d.recipes {
			r := &d.recipes[i]
			sc := status(comb, r.need)
			if sc == 0 {
				continue
			}
			so := status(ownM, r.need)
			sp := 0
			for _, pm := range parentMasks {
				sp = max(sp, status(pm, r.need))
			}
			if so == 0 && sc <= sp {
				continue
			}
			if sc > level {
				level, recs = sc, nil
			}
			if sc == level {
				if len(recs) == 0 {
					combined = so < sc
				}
				recs = append(recs, r)
			}
		}
		if level == 0 {
			continue
		}
		hs := []string{x}
		if combined {
			hs = append(hs, inherited...)
		}
		e, err := d.canEdge(x, p, hs, recs, level == 2, combined)
		if err != nil {
			return err
		}
		if err := d.g.AddEdge(e); err != nil {
			return err
		}
	}
	return nil
}

// canEdge explains the first satisfied recipe with the bindings that supply
// its permissions at project p.
func (d *deriver) canEdge(x string, p int32, hs []string, recs []*recipe, unconditional, combined bool) (graph.Edge, error) {
	r := recs[0]
	pid := strings.TrimPrefix(d.tree.projects[p], "gcp:project:")
	e := graph.Edge{From: x, Kind: graph.EdgeCan, To: DeployCapabilityID(pid), Attrs: map[string]string{}}
	ids := make([]string, len(recs))
	for i, rr := range recs {
		ids[i] = rr.r.ID
	}
	e.Attrs["recipes"] = strings.Join(ids, ",")
	if combined {
		e.Attrs["combined"] = "true"
	}
	var conds []string
	for _, h := range hs {
		for _, gi := range d.own[h] {
			gr := &d.grants[gi]
			if unconditional && gr.conditional() {
				continue
			}
			if !d.tree.appliesTo(gr.resource, p) {
				continue
			}
			eff := gr.mask
			if _, onSA := d.tree.saProject[gr.resource]; onSA {
				eff = eff.and(d.identityBits)
			}
			contrib := eff.and(r.need)
			if contrib.zero() {
				continue
			}
			detail := fmt.Sprintf("%s on %s grants %s (recipe %s)", gr.role, gr.resource, strings.Join(d.perms.list(contrib), ", "), r.r.ID)
			if gr.conditional() {
				detail += fmt.Sprintf(" if %q", firstNonEmpty(gr.condTitle, gr.cond))
				conds = appendUnique(conds, gr.cond)
			}
			if h != x {
				detail += " via group " + h
			}
			e.Evidence = append(e.Evidence, graph.Evidence{Source: gr.policy, Statement: fmt.Sprintf("bindings[%d]", gr.binding), Detail: detail})
		}
	}
	if len(e.Evidence) == 0 {
		return e, fmt.Errorf("no binding explains recipe %s at %s", r.r.ID, pid)
	}
	if !unconditional {
		e.Conditional, e.Condition = true, strings.Join(conds, " and ")
	}
	return e, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
