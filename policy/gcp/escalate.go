package gcp

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// escalate adds the IAM escalation edges of every principal's own bindings
// (groups keep theirs; queries walk MemberOf down to the members):
// CanImpersonate / CanCreateKey / CanEditPolicy towards service accounts,
// CanAssignRole towards project deploy capabilities.
func (d *deriver) escalate() error {
	ids := make([]string, 0, len(d.own))
	for id := range d.own {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for i, id := range ids {
		if i%1024 == 0 {
			if err := d.ctx.Err(); err != nil {
				return fmt.Errorf("derive %s: %w", d.g.Source, err)
			}
		}
		for _, gi := range d.own[id] {
			if err := d.escalateGrant(id, &d.grants[gi]); err != nil {
				return fmt.Errorf("derive %s: escalation edges of %s (%s binding %d): %w", d.g.Source, id, d.grants[gi].policy, d.grants[gi].binding, err)
			}
		}
	}
	return nil
}

func (d *deriver) escalateGrant(from string, gr *grant) error {
	imp, key, saPol, assign := gr.mask.and(d.impBits), gr.mask.and(d.keyBits), gr.mask.and(d.saPolicyBits), gr.mask.and(d.assignBits)
	if imp.zero() && key.zero() && saPol.zero() && assign.zero() {
		return nil
	}
	edge := func(kind graph.EdgeKind, to string, b bits, what string) graph.Edge {
		detail := fmt.Sprintf("%s on %s grants %s: %s", gr.role, gr.resource, strings.Join(d.perms.list(b), ", "), what)
		e := graph.Edge{From: from, Kind: kind, To: to,
			Evidence: []graph.Evidence{{Source: gr.policy, Statement: fmt.Sprintf("bindings[%d]", gr.binding), Detail: detail}}}
		if gr.conditional() {
			e.Conditional, e.Condition = true, gr.cond
			e.Evidence[0].Detail += fmt.Sprintf(" if %q", firstNonEmpty(gr.condTitle, gr.cond))
		}
		return e
	}
	var sas []string
	if _, onSA := d.tree.saProject[gr.resource]; onSA || strings.HasPrefix(gr.resource, "gcp:sa:") {
		sas = []string{gr.resource}
	} else if !imp.zero() || !key.zero() || !saPol.zero() {
		// A binding on a scope applies to every service account below it.
		for _, p := range d.tree.projectsUnder(gr.resource) {
			sas = append(sas, d.tree.projSAs[p]...)
		}
	}
	for _, sa := range sas {
		if sa == from {
			continue
		}
		// Minting tokens or signing as the account is becoming it (an
		// identity hop, like sts:AssumeRole); actAs alone only lets one
		// attach it to a workload one deploys: GCP's iam:PassRole, an
		// escalation edge.
		tok := imp.andNot(d.actAsBit)
		act := imp.and(d.actAsBit)
		if !tok.zero() {
			act = bits{}
		}
		for _, k := range []struct {
			kind graph.EdgeKind
			b    bits
			what string
		}{
			{graph.EdgeCanImpersonate, tok, "mint tokens for / sign as the service account"},
			{graph.EdgeCanPassRole, act, "attach the service account to a workload it deploys (actAs)"},
			{graph.EdgeCanCreateKey, key, "create a key for the service account"},
			{graph.EdgeCanEditPolicy, saPol, "rewrite the service account's IAM policy (grant itself token creator)"},
		} {
			if k.b.zero() {
				continue
			}
			if err := d.g.AddEdge(edge(k.kind, sa, k.b, k.what)); err != nil {
				return err
			}
		}
	}
	if !assign.zero() && isScope(gr.resource) {
		for _, p := range d.tree.projectsUnder(gr.resource) {
			pid := strings.TrimPrefix(d.tree.projects[p], "gcp:project:")
			if err := d.g.AddEdge(edge(graph.EdgeCanAssignRole, DeployCapabilityID(pid), assign, "grant itself any role in "+pid)); err != nil {
				return err
			}
		}
	}
	return nil
}

// groupAdminPrivilege reports whether an Admin SDK privilege allows
// changing any group's membership (privilegeName; the service id is not
// checked).
func groupAdminPrivilege(name string) bool {
	switch strings.ToUpper(name) {
	case "GROUPS_ALL", "GROUPS_UPDATE":
		return true
	}
	return false
}

// workspaceEscalation adds CanAddMember edges: a group OWNER or MANAGER can
// add members (itself included) to that group; a super admin, or a holder
// of an admin role with group privileges, to every group of the customer.
func (d *deriver) workspaceEscalation() error {
	var groups []string
	for id := range d.g.Nodes {
		if strings.HasPrefix(id, "gws:group:") {
			groups = append(groups, id)
		}
	}
	sort.Strings(groups)
	// One pass over the edges picks the few that matter (sorting every
	// edge of a large customer costs more than the rest of this function).
	var owners, roleEdges []graph.Edge
	for _, e := range d.g.Edges {
		switch {
		case e.Kind == graph.EdgeMemberOf && strings.HasPrefix(e.To, "gws:group:"):
			if r := strings.ToUpper(e.Attrs["role"]); r == "OWNER" || r == "MANAGER" {
				owners = append(owners, e)
			}
		case e.Kind == graph.EdgeHasRole && strings.HasPrefix(e.To, "gws:role:"):
			roleEdges = append(roleEdges, e)
		}
	}
	byKey := func(list []graph.Edge) {
		sort.Slice(list, func(i, j int) bool { return graph.LessEdgeKey(list[i].Key(), list[j].Key()) })
	}
	byKey(owners)
	byKey(roleEdges)
	for _, e := range owners {
		role := strings.ToUpper(e.Attrs["role"])
		src := e.To
		if len(e.Evidence) > 0 && e.Evidence[0].Source != "" {
			src = e.Evidence[0].Source
		}
		if err := d.g.AddEdge(graph.Edge{From: e.From, Kind: graph.EdgeCanAddMember, To: e.To,
			Evidence: []graph.Evidence{{Source: src, Statement: "role " + role, Detail: "a group " + strings.ToLower(role) + " can add members to the group, itself included"}}}); err != nil {
			return fmt.Errorf("derive %s: CanAddMember %s -> %s: %w", d.g.Source, e.From, e.To, err)
		}
	}
	type admin struct {
		id          string
		ev          graph.Evidence
		conditional bool
		condition   string
	}
	var admins []admin
	adminRoles := map[string]string{} // gws:role id -> why it administers groups
	var candidates []graph.Node
	for id, n := range d.g.Nodes {
		if strings.HasPrefix(id, "gws:role:") || strings.HasPrefix(id, "gws:user:") && n.Attrs["is_admin"] == "true" {
			candidates = append(candidates, n)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].ID < candidates[j].ID })
	for _, n := range candidates {
		switch {
		case strings.HasPrefix(n.ID, "gws:user:"):
			admins = append(admins, admin{id: n.ID, ev: graph.Evidence{Source: n.ID, Statement: "is_admin", Detail: "super admin: can change any group's membership"}})
		case strings.HasPrefix(n.ID, "gws:role:"):
			if n.Attrs["super_admin"] == "true" {
				adminRoles[n.ID] = "super admin role"
				continue
			}
			var privs []string
			if err := json.Unmarshal([]byte(n.Attrs["privileges"]), &privs); err != nil {
				continue
			}
			for _, p := range privs {
				name := p[strings.LastIndexByte(p, '/')+1:]
				if groupAdminPrivilege(name) {
					adminRoles[n.ID] = "admin role with privilege " + p
					break
				}
			}
		}
	}
	for _, e := range roleEdges {
		why, ok := adminRoles[e.To]
		if !ok {
			continue
		}
		a := admin{id: e.From, ev: graph.Evidence{Source: e.To, Statement: "assignment scope " + firstNonEmpty(e.Attrs["scope"], "CUSTOMER"),
			Detail: fmt.Sprintf("%s (%s): can change any group's membership", d.g.Nodes[e.To].Name, why)}}
		if e.Attrs["scope"] == "ORG_UNIT" {
			// Groups belong to the customer, not to an org unit: whether an
			// OU-scoped assignment reaches them is not decided offline.
			a.conditional, a.condition = true, "admin role scoped to org unit "+e.Attrs["org_unit"]
		}
		if e.Conditional {
			a.conditional, a.condition = true, firstNonEmpty(e.Condition, a.condition)
		}
		admins = append(admins, a)
	}
	if len(admins) == 0 || len(groups) == 0 {
		return nil
	}
	// Administrators reach every group through one set node, as
	// policy/azure's tenant-wide roles do (docs/model-azure-gcp.md): admins
	// + groups edges instead of admins x groups.
	set := "gws:customer:" + strings.TrimPrefix(d.g.Source, "google:") + "/groups"
	if err := d.g.AddNode(graph.Node{ID: set, Kind: graph.NodeScope, Name: "every group of the Workspace customer",
		Attrs: map[string]string{"type": "customer-groups"}}); err != nil {
		return fmt.Errorf("derive %s: add %s: %w", d.g.Source, set, err)
	}
	for _, a := range admins {
		if err := d.g.AddEdge(graph.Edge{From: a.id, Kind: graph.EdgeCanAddMember, To: set, Evidence: []graph.Evidence{a.ev},
			Conditional: a.conditional, Condition: a.condition}); err != nil {
			return fmt.Errorf("derive %s: CanAddMember %s -> %s: %w", d.g.Source, a.id, set, err)
		}
	}
	for i, gid := range groups {
		if i%4096 == 0 {
			if err := d.ctx.Err(); err != nil {
				return fmt.Errorf("derive %s: %w", d.g.Source, err)
			}
		}
		if err := d.g.AddEdge(graph.Edge{From: set, Kind: graph.EdgeCanAddMember, To: gid,
			Evidence: []graph.Evidence{{Source: gid, Detail: "a group of the customer"}}}); err != nil {
			return fmt.Errorf("derive %s: CanAddMember %s -> %s: %w", d.g.Source, set, gid, err)
		}
	}
	return nil
}

// sameIdentity links a Workspace user to the Entra user with the same
// address: the Workspace primary email equals the Entra UPN or mail,
// case-insensitively. Only when an azure: source is in the context; both
// edges go into the Google source (views merge sources by node id).
func (d *deriver) sameIdentity() error {
	if len(d.azure) == 0 {
		return nil
	}
	byAddr := map[string][]string{}
	why := map[[2]string]string{}
	for _, az := range d.azure {
		for id, n := range az.Nodes {
			if !strings.HasPrefix(id, "entra:user:") {
				continue
			}
			for _, f := range []struct{ attr, v string }{{"upn", n.Attrs["upn"]}, {"upn", n.Email}, {"mail", n.Attrs["mail"]}} {
				a := strings.ToLower(strings.TrimSpace(f.v))
				if a == "" {
					continue
				}
				if _, dup := why[[2]string{a, id}]; dup {
					continue
				}
				why[[2]string{a, id}] = f.attr
				byAddr[a] = append(byAddr[a], id)
			}
		}
	}
	for _, list := range byAddr {
		sort.Strings(list)
	}
	var users []graph.Node
	for id, n := range d.g.Nodes {
		if strings.HasPrefix(id, "gws:user:") && n.Email != "" {
			users = append(users, n)
		}
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	for _, n := range users {
		addr := strings.ToLower(n.Email)
		for _, eid := range byAddr[addr] {
			detail := fmt.Sprintf("Workspace primary email %s equals the Entra user's %s", addr, why[[2]string{addr, eid}])
			for _, e := range []graph.Edge{
				{From: n.ID, Kind: graph.EdgeSameIdentity, To: eid, Evidence: []graph.Evidence{{Source: n.ID, Detail: detail}}},
				{From: eid, Kind: graph.EdgeSameIdentity, To: n.ID, Evidence: []graph.Evidence{{Source: eid, Detail: detail}}},
			} {
				if err := d.g.AddEdge(e); err != nil {
					return fmt.Errorf("derive %s: SameIdentity %s <-> %s: %w", d.g.Source, n.ID, eid, err)
				}
			}
		}
	}
	return nil
}
