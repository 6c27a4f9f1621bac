package azure

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// Entra directory role template ids (stable across tenants; checked
// against shared/catalog/azure/entra-directory-role-template-ids.json in
// tests).
const (
	roleGlobalAdmin       = "62e90394-69f5-4237-9190-012177145e10"
	rolePrivilegedRole    = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	roleGroupsAdmin       = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	roleUserAdmin         = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	roleApplicationAdmin  = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	roleCloudAppAdmin     = "158c047a-c907-4556-b7ef-446551a6b5f7"
	graphAppID            = "00000003-0000-0000-c000-000000000000"
	elevateAccessDetail   = "Microsoft.Authorization/elevateAccess/Action makes a Global Administrator User Access Administrator at root scope /, who can then assign any Azure role"
	roleAssignableWarning = "role-assignable groups need Privileged Role Administrator or an owner"
)

// entraRules is what each directory role or Graph app role lets its holder
// do; built per call (no package state).
type entraRules struct {
	allGroups, plainGroups, allSPs, tenant map[string]bool
}

func directoryRoleRules() entraRules {
	return entraRules{
		// Global Administrator and Privileged Role Administrator manage
		// every group, including role-assignable ones.
		allGroups: map[string]bool{roleGlobalAdmin: true, rolePrivilegedRole: true},
		// Groups / User Administrator manage only groups that cannot hold
		// directory roles.
		plainGroups: map[string]bool{roleGroupsAdmin: true, roleUserAdmin: true},
		allSPs:      map[string]bool{roleApplicationAdmin: true, roleCloudAppAdmin: true},
		// Both can make anyone Global Administrator (PRA assigns it; GA
		// holds it), and GA can elevate to User Access Administrator at /.
		tenant: map[string]bool{roleGlobalAdmin: true, rolePrivilegedRole: true},
	}
}

func graphAppRoleRules() entraRules {
	return entraRules{
		allGroups:   map[string]bool{"rolemanagement.readwrite.directory": true},
		plainGroups: map[string]bool{"directory.readwrite.all": true, "group.readwrite.all": true, "groupmember.readwrite.all": true},
		allSPs:      map[string]bool{"application.readwrite.all": true, "rolemanagement.readwrite.directory": true},
		// AppRoleAssignment.ReadWrite.All grants itself any Graph app role,
		// RoleManagement.ReadWrite.Directory any directory role.
		tenant: map[string]bool{"approleassignment.readwrite.all": true, "rolemanagement.readwrite.directory": true},
	}
}

// holder is one principal holding a directory role or Graph app role.
type holder struct {
	principal, key, name string // key: template id or lower app-role value
	scope                string // directoryScopeId; "/" = tenant
	conditional          bool
	condition            string
	evidence             graph.Evidence
}

// entra writes CanAddMember, CanAddSecret and tenant-level CanAssignRole
// edges from group/app ownership, directory roles and Graph app roles.
func (d *deriver) entra() error {
	var groups, sps []graph.Node
	seen := map[string]bool{}
	var owns, hasRole []graph.Edge
	var holders []holder
	for _, sg := range d.graphs {
		for id, n := range sg.Nodes {
			if seen[id] {
				continue
			}
			seen[id] = true
			switch {
			case strings.HasPrefix(id, "entra:group:"):
				groups = append(groups, n)
			case strings.HasPrefix(id, "entra:sp:"):
				sps = append(sps, n)
				if n.Attrs["app_id"] == graphAppID && n.Attrs["app_roles"] != "" {
					hs, err := appRoleHolders(n)
					if err != nil {
						d.warn("service principal %s: app_roles unusable: %v", id, err)
					}
					holders = append(holders, hs...)
				}
			}
		}
		for _, e := range sg.Edges {
			switch {
			case e.Kind == graph.EdgeOwns:
				owns = append(owns, e)
			case e.Kind == graph.EdgeHasRole && strings.HasPrefix(e.To, "entra:role:"):
				hasRole = append(hasRole, e)
			}
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	sort.Slice(sps, func(i, j int) bool { return sps[i].ID < sps[j].ID })
	sort.Slice(owns, func(i, j int) bool { return graph.LessEdgeKey(owns[i].Key(), owns[j].Key()) })
	sort.Slice(hasRole, func(i, j int) bool { return graph.LessEdgeKey(hasRole[i].Key(), hasRole[j].Key()) })

	if err := d.ownership(owns); err != nil {
		return err
	}
	for _, e := range hasRole {
		tid := strings.ToLower(strings.TrimPrefix(e.To, "entra:role:"))
		name := tid
		if n, ok := d.node(e.To); ok && n.Name != "" {
			name = n.Name
		}
		src := e.To
		if len(e.Evidence) > 0 && e.Evidence[0].Source != "" {
			src = e.Evidence[0].Source
		}
		h := holder{principal: e.From, key: tid, name: name, scope: e.Attrs["scope"], conditional: e.Conditional, condition: e.Condition,
			evidence: graph.Evidence{Source: src, Statement: name}}
		if h.conditional && h.condition == "" {
			h.condition = pimCondition
		}
		holders = append(holders, h)
	}
	dirRules, appRules := directoryRoleRules(), graphAppRoleRules()
	used := map[string]bool{} // tenant-wide set nodes holders were linked to
	tenantReached := false
	unscoped := 0
	for _, h := range holders {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		rules := dirRules
		if strings.HasPrefix(h.key, "app:") {
			rules = appRules
		}
		key := strings.TrimPrefix(h.key, "app:")
		if h.scope != "" && h.scope != "/" {
			if rules.allGroups[key] || rules.plainGroups[key] || rules.allSPs[key] || rules.tenant[key] {
				ok, err := d.scopedHolder(h, key, rules)
				if err != nil {
					return err
				}
				if !ok {
					unscoped++
				}
			}
			continue
		}
		if rules.allGroups[key] || rules.plainGroups[key] {
			set := d.tenantID() + setPlainGroups
			if rules.allGroups[key] {
				set = d.tenantID() + setAllGroups
			}
			used[set] = true
			if err := d.escalation(h, graph.EdgeCanAddMember, set, "can add members to every group"+groupScopeNote(rules.allGroups[key])); err != nil {
				return err
			}
		}
		if rules.allSPs[key] {
			used[d.tenantID()+setSPs] = true
			if err := d.escalation(h, graph.EdgeCanAddSecret, d.tenantID()+setSPs, "can add a credential to every application / service principal"); err != nil {
				return err
			}
		}
		if rules.tenant[key] {
			tenantReached = true
			if err := d.escalation(h, graph.EdgeCanAssignRole, d.tenantID(), "can assign any directory role (including Global Administrator) in the tenant"); err != nil {
				return err
			}
		}
	}
	if unscoped > 0 {
		d.warn("%d directory role assignments are scoped to administrative units; their escalation edges are not modelled", unscoped)
	}
	if err := d.setEdges(used, groups, sps); err != nil {
		return err
	}
	if tenantReached {
		return d.tenantEdges()
	}
	return nil
}

// Tenant-wide set nodes (ids: the tenant node's id plus these suffixes).
// A tenant-wide role reaches every group (or service principal) through
// one set node, so 26 Groups Administrators over 100k groups are 26 + 100k
// edges instead of 2.6M (BloodHound links the role to every group for the
// same reason). Paths gain one hop: holder -> set -> group.
const (
	setAllGroups   = "/groups"
	setPlainGroups = "/groups/not-role-assignable"
	setSPs         = "/service-principals"
)

// setEdges writes the set nodes holders were linked to and their edges to
// every member: "every group" = the role-assignable groups plus the set of
// the others.
func (d *deriver) setEdges(used map[string]bool, groups, sps []graph.Node) error {
	all, plain, spSet := d.tenantID()+setAllGroups, d.tenantID()+setPlainGroups, d.tenantID()+setSPs
	if !used[all] {
		all = ""
	}
	if !used[plain] && all == "" {
		plain = "" // "every group" includes the plain set, so it exists with it
	}
	if !used[spSet] {
		spSet = ""
	}
	add := func(id, name, typ string) error {
		if err := d.g.AddNode(graph.Node{ID: id, Kind: graph.NodeScope, Name: name, Attrs: map[string]string{"type": typ, "tenant": d.tenant}}); err != nil {
			return fmt.Errorf("add tenant set %s: %w", id, err)
		}
		return nil
	}
	member := func(kind graph.EdgeKind, set, to, detail string) error {
		e := graph.Edge{From: set, Kind: kind, To: to, Evidence: []graph.Evidence{{Source: to, Detail: detail}}}
		if err := d.g.AddEdge(e); err != nil {
			return fmt.Errorf("add tenant set edge %s -> %s: %w", set, to, err)
		}
		return nil
	}
	if plain != "" {
		if err := add(plain, "every group that is not role-assignable", setTypePlainGroups); err != nil {
			return err
		}
	}
	if all != "" {
		if err := add(all, "every group", setTypeAllGroups); err != nil {
			return err
		}
		if err := member(graph.EdgeCanAddMember, all, plain, "includes every group that is not role-assignable"); err != nil {
			return err
		}
	}
	for _, g := range groups {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		switch {
		case g.Attrs["role_assignable"] != "true" && plain != "":
			if err := member(graph.EdgeCanAddMember, plain, g.ID, "not role-assignable"); err != nil {
				return err
			}
		case g.Attrs["role_assignable"] == "true" && all != "":
			if err := member(graph.EdgeCanAddMember, all, g.ID, "role-assignable"); err != nil {
				return err
			}
		}
	}
	if spSet == "" {
		return nil
	}
	if err := add(spSet, "every service principal that accepts credentials", setTypeSPs); err != nil {
		return err
	}
	for _, sp := range sps {
		if !secretable(sp) {
			continue
		}
		if err := member(graph.EdgeCanAddSecret, spSet, sp.ID, "accepts credentials (not a managed identity)"); err != nil {
			return err
		}
	}
	return nil
}

// Set node types (Attrs["type"]); queries and response treat edges out of
// these nodes as structure, not as something to revoke.
const (
	setTypeAllGroups   = "tenant-groups"
	setTypePlainGroups = "tenant-groups-not-role-assignable"
	setTypeSPs         = "tenant-service-principals"
)

func groupScopeNote(all bool) string {
	if all {
		return ", including role-assignable ones"
	}
	return " that is not role-assignable (" + roleAssignableWarning + ")"
}

// secretable reports whether credentials can be added to a service
// principal: Entra refuses them on managed identities.
func secretable(sp graph.Node) bool {
	return !strings.EqualFold(sp.Attrs["sp_type"], "ManagedIdentity")
}

func (d *deriver) tenantID() string { return "entra:tenant:" + d.tenant }

// scopedHolder handles a directory role assigned on one object
// (directoryScopeId "/<objectId>", e.g. Application Administrator of one
// app): the edge goes to that object only. Administrative-unit scopes are
// not modelled (AU membership is not collected); it reports false then.
func (d *deriver) scopedHolder(h holder, key string, rules entraRules) (bool, error) {
	obj := strings.TrimPrefix(h.scope, "/")
	if strings.Contains(obj, "/") {
		return false, nil
	}
	if g, ok := d.node("entra:group:" + obj); ok && (rules.allGroups[key] || rules.plainGroups[key]) {
		if !rules.allGroups[key] && g.Attrs["role_assignable"] == "true" {
			return true, nil
		}
		return true, d.escalation(h, graph.EdgeCanAddMember, g.ID, "can add members to this group (role scoped to it)")
	}
	if !rules.allSPs[key] {
		return true, nil
	}
	sp := ""
	if n, ok := d.node("entra:sp:" + obj); ok {
		sp = n.ID
	} else if n, ok := d.node("entra:app:" + obj); ok {
		sp = n.Attrs["sp"]
	}
	if sp == "" {
		return true, nil
	}
	return true, d.escalation(h, graph.EdgeCanAddSecret, sp, "can add a credential to this application (role scoped to it)")
}

func (d *deriver) escalation(h holder, kind graph.EdgeKind, to, what string) error {
	if h.principal == to {
		return nil
	}
	ev := h.evidence
	ev.Detail = fmt.Sprintf("%s %s", h.name, what)
	e := graph.Edge{From: h.principal, Kind: kind, To: to, Evidence: []graph.Evidence{ev}}
	if h.conditional {
		e.Conditional, e.Condition = true, h.condition
		if h.condition == pimCondition {
			e.Attrs = d.eligible
		}
	}
	return d.addEdge(e)
}

// ownership writes owner -> group (CanAddMember) and owner -> sp
// (CanAddSecret, also for owners of the application behind an sp).
func (d *deriver) ownership(owns []graph.Edge) error {
	for _, o := range owns {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		src := o.From + " owns " + o.To
		if len(o.Evidence) > 0 && o.Evidence[0].Source != "" {
			src = o.Evidence[0].Source
		}
		h := holder{principal: o.From, name: "owner", evidence: graph.Evidence{Source: src, Statement: "owner"}}
		switch {
		case strings.HasPrefix(o.To, "entra:group:"):
			if err := d.escalation(h, graph.EdgeCanAddMember, o.To, "of the group can add members, even to a role-assignable group"); err != nil {
				return err
			}
		case strings.HasPrefix(o.To, "entra:sp:"):
			if n, ok := d.node(o.To); ok && !secretable(n) {
				continue
			}
			if err := d.escalation(h, graph.EdgeCanAddSecret, o.To, "of the service principal can add a credential to it"); err != nil {
				return err
			}
		case strings.HasPrefix(o.To, "entra:app:"):
			app, _ := d.node(o.To)
			sp := app.Attrs["sp"]
			if sp == "" {
				continue // no service principal in this tenant: nothing to sign in as
			}
			h.evidence.Statement = "application owner"
			if err := d.escalation(h, graph.EdgeCanAddSecret, sp, "of the application can add a credential and sign in as its service principal"); err != nil {
				return err
			}
		}
	}
	return nil
}

// tenantEdges links the tenant node to every subscription's deploy
// capability: full control of the directory means elevateAccess to User
// Access Administrator at "/", so GA / PRA holders (PRA by first making
// itself GA) reach every subscription through the tenant node.
func (d *deriver) tenantEdges() error {
	tid := d.tenantID()
	if _, ok := d.node(tid); !ok {
		if err := d.g.AddNode(graph.Node{ID: tid, Kind: graph.NodeScope, Name: d.tenant, Attrs: map[string]string{"type": "tenant"}}); err != nil {
			return fmt.Errorf("add tenant node: %w", err)
		}
	}
	for _, s := range d.sc.subs {
		capID, err := d.ensureCapability(s)
		if err != nil {
			return err
		}
		e := graph.Edge{From: tid, Kind: graph.EdgeCanAssignRole, To: capID,
			Evidence: []graph.Evidence{{Source: tid, Statement: "Global Administrator", Detail: elevateAccessDetail + " on " + d.sc.arm(s)}}}
		if err := d.g.AddEdge(e); err != nil {
			return fmt.Errorf("add tenant edge to %s: %w", capID, err)
		}
	}
	return nil
}

// appRoleHolders reads the Graph app role assignments recorded on the
// Microsoft Graph service principal (attr app_roles).
func appRoleHolders(graphSP graph.Node) ([]holder, error) {
	var list []struct {
		Principal string `json:"principal"`
		AppRoleID string `json:"appRoleId"`
		Value     string `json:"value"`
	}
	if err := json.Unmarshal([]byte(graphSP.Attrs["app_roles"]), &list); err != nil {
		return nil, fmt.Errorf("parse app_roles: %w", err)
	}
	var out []holder
	for _, a := range list {
		if a.Principal == "" || a.Value == "" {
			continue
		}
		p := a.Principal
		if !strings.HasPrefix(p, "entra:") {
			p = "entra:sp:" + p
		}
		out = append(out, holder{principal: p, key: "app:" + strings.ToLower(a.Value), name: "Graph app role " + a.Value, scope: "/",
			evidence: graph.Evidence{Source: graphSP.ID + "#app_roles", Statement: a.Value}})
	}
	return out, nil
}
