package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"permgraph/catalog"
	"permgraph/graph"
)

// DeployCapabilityID is the deploy-container capability of one GCP project.
func DeployCapabilityID(projectID string) string { return "cap:deploy-container:gcp:" + projectID }

// Permissions the escalation rules look at (privesc-edges.md section 3).
// Functions, not package variables: callers cannot change them.
func impersonatePerms() []string {
	return []string{
		"iam.serviceAccounts.actAs",
		"iam.serviceAccounts.getAccessToken",
		"iam.serviceAccounts.signBlob",
		"iam.serviceAccounts.signJwt",
		"iam.serviceAccounts.implicitDelegation",
	}
}

func createKeyPerms() []string { return []string{"iam.serviceAccountKeys.create"} }
func saPolicyPerms() []string  { return []string{"iam.serviceAccounts.setIamPolicy"} }
func assignPerms() []string {
	return []string{
		"resourcemanager.projects.setIamPolicy",
		"resourcemanager.folders.setIamPolicy",
		"resourcemanager.organizations.setIamPolicy",
	}
}

// bits is a set of the permissions the evaluator cares about (recipe
// actions, identities and escalation permissions; a few dozen). Roles are
// reduced to these bits once, so combining grants is an OR, not a set union
// over thousands of permission names.
type bits [2]uint64

const maxPerms = 128

func (b *bits) set(i int)             { b[i/64] |= 1 << (i % 64) }
func (b bits) or(o bits) bits         { return bits{b[0] | o[0], b[1] | o[1]} }
func (b bits) and(o bits) bits        { return bits{b[0] & o[0], b[1] & o[1]} }
func (b bits) andNot(o bits) bits     { return bits{b[0] &^ o[0], b[1] &^ o[1]} }
func (b bits) zero() bool             { return b[0] == 0 && b[1] == 0 }
func (b bits) covers(o bits) bool     { return b.and(o) == o }
func (b bits) has(i int) bool         { return b[i/64]&(1<<(i%64)) != 0 }
func (b bits) intersects(o bits) bool { return !b.and(o).zero() }

// permTable numbers the interesting permissions.
type permTable struct {
	index map[string]int
	names []string
}

func (t *permTable) add(p string) error {
	if _, ok := t.index[p]; ok {
		return nil
	}
	if len(t.names) == maxPerms {
		return fmt.Errorf("more than %d distinct permissions in the deploy recipes and escalation rules", maxPerms)
	}
	t.index[p] = len(t.names)
	t.names = append(t.names, p)
	return nil
}

func (t *permTable) mask(perms []string) bits {
	var b bits
	for _, p := range perms {
		if i, ok := t.index[p]; ok {
			b.set(i)
		}
	}
	return b
}

// list names the permissions of b in table order.
func (t *permTable) list(b bits) []string {
	var out []string
	for i, n := range t.names {
		if b.has(i) {
			out = append(out, n)
		}
	}
	return out
}

// recipe is a deploy recipe reduced to bits: need = actions + identity.
type recipe struct {
	r    catalog.DeployRecipe
	need bits
}

// grant is one binding's role as it applies to one member.
type grant struct {
	policy    string // gcp:iam:... node id
	binding   int    // index in the policy's bindings
	resource  string // graph id of the policy's resource (scope or SA)
	role      string // role name as written ("roles/run.developer")
	cond      string // CEL expression; "" = unconditional
	condTitle string
	mask      bits
}

func (g *grant) conditional() bool { return g.cond != "" }

// deriver holds one Derive run.
type deriver struct {
	ctx     context.Context
	g       *graph.SourceGraph
	google  []*graph.SourceGraph // g first, then other google: sources (context)
	azure   []*graph.SourceGraph
	roles   *catalog.GCPRoles
	perms   permTable
	recipes []recipe

	impBits, keyBits, saPolicyBits, assignBits, identityBits bits
	actAsBit                                                 bits

	tree       *scopeTree
	roleMasks  map[string]bits
	unknown    map[string]bool // roles in bindings that neither the catalog nor a custom role node defines
	grants     []grant
	own        map[string][]int32 // member id -> its grants
	memberOf   map[string][]string
	byEmail    map[string]string // lower email -> gws user/group id (primary wins over alias)
	nodes      map[string]graph.Node
	projMemo   map[string]map[int32]masks
	holderMemo map[string][]string
	inProgress map[string]bool
	deleted    int
}

// masks are the permission bits a principal holds at one project:
// unconditionally (u) and counting conditional bindings too (a).
type masks struct{ u, a bits }

// Derive evaluates one Google source (Workspace + GCP IAM) and adds HasRole,
// Can deploy-container, escalation and SameIdentity edges to it.
//
// others are the other sources of the run: other google: sources resolve
// members by email; azure: sources supply Entra users for SameIdentity.
func Derive(ctx context.Context, g *graph.SourceGraph, recipes []catalog.DeployRecipe, others ...*graph.SourceGraph) error {
	if !strings.HasPrefix(g.Source, "google:") {
		return fmt.Errorf("derive GCP edges: source %q is not a google source", g.Source)
	}
	roles, err := catalog.LoadGCPRoles()
	if err != nil {
		return fmt.Errorf("derive %s: %w", g.Source, err)
	}
	d := &deriver{ctx: ctx, g: g, google: []*graph.SourceGraph{g}, roles: roles,
		perms: permTable{index: map[string]int{}}, roleMasks: map[string]bits{}, unknown: map[string]bool{},
		own: map[string][]int32{}, memberOf: map[string][]string{}, byEmail: map[string]string{},
		nodes: map[string]graph.Node{}, projMemo: map[string]map[int32]masks{},
		holderMemo: map[string][]string{}, inProgress: map[string]bool{}}
	for _, o := range others {
		switch {
		case o == g:
		case strings.HasPrefix(o.Source, "google:"):
			d.google = append(d.google, o)
		case strings.HasPrefix(o.Source, "azure:"):
			d.azure = append(d.azure, o)
		}
	}
	if err := d.compile(recipes); err != nil {
		return fmt.Errorf("derive %s: %w", g.Source, err)
	}
	d.index()
	d.tree = buildScopeTree(d.google)
	if err := d.capabilities(); err != nil {
		return err
	}
	if err := d.bindings(); err != nil {
		return err
	}
	if err := d.deploy(); err != nil {
		return err
	}
	if err := d.escalate(); err != nil {
		return err
	}
	if err := d.workspaceEscalation(); err != nil {
		return err
	}
	if err := d.sameIdentity(); err != nil {
		return err
	}
	d.warnings()
	return nil
}

// compile numbers the interesting permissions and reduces recipes to bits.
func (d *deriver) compile(recipes []catalog.DeployRecipe) error {
	for _, list := range [][]string{impersonatePerms(), createKeyPerms(), saPolicyPerms(), assignPerms()} {
		for _, p := range list {
			if err := d.perms.add(p); err != nil {
				return err
			}
		}
	}
	for _, r := range recipes {
		for _, p := range r.Actions {
			if err := d.perms.add(p); err != nil {
				return err
			}
		}
		if r.Identity != "" {
			if err := d.perms.add(r.Identity); err != nil {
				return err
			}
		}
	}
	for _, r := range recipes {
		need := d.perms.mask(r.Actions)
		if r.Identity != "" {
			id := d.perms.mask([]string{r.Identity})
			need = need.or(id)
			d.identityBits = d.identityBits.or(id)
		}
		d.recipes = append(d.recipes, recipe{r: r, need: need})
	}
	d.impBits = d.perms.mask(impersonatePerms())
	d.actAsBit = d.perms.mask([]string{"iam.serviceAccounts.actAs"})
	d.keyBits = d.perms.mask(createKeyPerms())
	d.saPolicyBits = d.perms.mask(saPolicyPerms())
	d.assignBits = d.perms.mask(assignPerms())
	return nil
}

// index collects what member resolution and group folding need from the
// google sources: Workspace emails and MemberOf edges.
func (d *deriver) index() {
	// Aliases are indexed first so that a primary email always wins.
	for pass := 0; pass < 2; pass++ {
		for i := len(d.google) - 1; i >= 0; i-- { // g last: its own nodes win
			for _, n := range d.google[i].Nodes {
				if !strings.HasPrefix(n.ID, "gws:user:") && !strings.HasPrefix(n.ID, "gws:group:") {
					continue
				}
				if pass == 0 {
					var aliases []string
					if json.Unmarshal([]byte(n.Attrs["aliases"]), &aliases) == nil {
						for _, a := range aliases {
							d.byEmail[strings.ToLower(a)] = n.ID
						}
					}
				} else if n.Email != "" {
					d.byEmail[strings.ToLower(n.Email)] = n.ID
				}
			}
		}
	}
	for _, sg := range d.google {
		for _, e := range sg.Edges {
			if e.Kind == graph.EdgeMemberOf {
				d.memberOf[e.From] = append(d.memberOf[e.From], e.To)
			}
		}
	}
	for k, list := range d.memberOf {
		sort.Strings(list)
		d.memberOf[k] = compactStrings(list)
	}
}

// node finds a node in the google sources (g first).
func (d *deriver) node(id string) (graph.Node, bool) {
	if n, ok := d.nodes[id]; ok {
		return n, true
	}
	for _, sg := range d.google {
		if n, ok := sg.Nodes[id]; ok {
			d.nodes[id] = n
			return n, true
		}
	}
	return graph.Node{}, false
}

// capabilities adds the deploy-container node of every project, so that
// who-can --scope <project> knows the project even when nobody can deploy.
func (d *deriver) capabilities() error {
	for _, p := range d.tree.projects {
		pid := strings.TrimPrefix(p, "gcp:project:")
		if err := d.g.AddNode(graph.Node{ID: DeployCapabilityID(pid), Kind: graph.NodeCapability, Name: "deploy-container (gcp " + pid + ")",
			Attrs: map[string]string{"capability": "deploy-container", "cloud": "gcp", "scope": pid}}); err != nil {
			return fmt.Errorf("derive %s: add capability for %s: %w", d.g.Source, p, err)
		}
	}
	return nil
}

// roleMask reduces a role to the interesting permissions: predefined roles
// from the embedded catalog, custom roles from their gcp:role node.
func (d *deriver) roleMask(role string) (bits, error) {
	if m, ok := d.roleMasks[role]; ok {
		return m, nil
	}
	var m bits
	if perms, ok := d.roles.Permissions(role); ok {
		m = d.perms.mask(perms)
		r, _ := d.roles.Role(role)
		if err := d.g.AddNode(graph.Node{ID: "gcp:role:" + role, Kind: graph.NodeRoleDefinition, Name: r.Title,
			Attrs: map[string]string{"stage": r.Stage, "predefined": "true"}}); err != nil {
			return m, fmt.Errorf("add role node %s: %w", role, err)
		}
	} else if n, ok := d.node("gcp:role:" + role); ok {
		var perms []string
		if err := json.Unmarshal([]byte(n.Attrs["permissions"]), &perms); err != nil && n.Attrs["permissions"] != "" {
			d.g.Warnings = append(d.g.Warnings, fmt.Sprintf("custom role %s: permissions attr is not a JSON list: %v", role, err))
		}
		m = d.perms.mask(perms)
	} else {
		d.unknown[role] = true
		if err := d.g.AddNode(graph.Node{ID: "gcp:role:" + role, Kind: graph.NodeRoleDefinition, Name: role,
			Attrs: map[string]string{"unknown": "true"}}); err != nil {
			return m, fmt.Errorf("add role node %s: %w", role, err)
		}
	}
	d.roleMasks[role] = m
	return m, nil
}

// bindings parses every IAM policy node, resolves members, adds HasRole
// edges and records each member's grants.
func (d *deriver) bindings() error {
	var policies []graph.Node
	for id, n := range d.g.Nodes {
		if n.Kind == graph.NodePolicy && strings.HasPrefix(id, "gcp:iam:") {
			policies = append(policies, n)
		}
	}
	sort.Slice(policies, func(i, j int) bool { return policies[i].ID < policies[j].ID })
	for _, n := range policies {
		if err := d.ctx.Err(); err != nil {
			return fmt.Errorf("derive %s: %w", d.g.Source, err)
		}
		resource := n.Attrs["resource"]
		if resource == "" {
			resource = strings.TrimPrefix(n.ID, "gcp:iam:")
		}
		p, err := ParsePolicy([]byte(n.Attrs["policy"]))
		if err != nil {
			d.g.Warnings = append(d.g.Warnings, fmt.Sprintf("IAM policy %s unusable, its bindings are ignored: %v", n.ID, err))
			continue
		}
		for i, b := range p.Bindings {
			mask, err := d.roleMask(b.Role)
			if err != nil {
				return fmt.Errorf("derive %s: policy %s binding %d: %w", d.g.Source, n.ID, i, err)
			}
			gr := grant{policy: n.ID, binding: i, resource: resource, role: b.Role, mask: mask}
			if b.Condition != nil && strings.TrimSpace(b.Condition.Expression) != "" {
				gr.cond, gr.condTitle = b.Condition.Expression, b.Condition.Title
			}
			gi := int32(len(d.grants))
			d.grants = append(d.grants, gr)
			for _, raw := range b.Members {
				id, err := d.resolve(raw)
				if err != nil {
					return fmt.Errorf("derive %s: policy %s binding %d: %w", d.g.Source, n.ID, i, err)
				}
				if id == "" {
					continue
				}
				e := graph.Edge{From: id, Kind: graph.EdgeHasRole, To: "gcp:role:" + b.Role,
					Evidence: []graph.Evidence{{Source: n.ID, Statement: fmt.Sprintf("bindings[%d] at %s", i, resource), Detail: gr.condTitle}}}
				if gr.conditional() {
					e.Conditional, e.Condition = true, gr.cond
				}
				if err := d.g.AddEdge(e); err != nil {
					return fmt.Errorf("derive %s: policy %s binding %d: %w", d.g.Source, n.ID, i, err)
				}
				if !mask.zero() {
					d.own[id] = append(d.own[id], gi)
				}
			}
		}
	}
	return nil
}

// resolve turns an IAM member into a graph id (docs/model-azure-gcp.md, "GCP
// IAM"), adding a node for members the collectors did not emit. "" means
// the member is skipped (deleted principals).
func (d *deriver) resolve(raw string) (string, error) {
	m := ParseMember(raw)
	var n graph.Node
	switch m.Kind {
	case MemberUser, MemberGroup:
		kind, what := graph.NodeUser, "user"
		if m.Kind == MemberGroup {
			kind, what = graph.NodeGroup, "group"
		}
		// A user: member only matches a Workspace user (and group: a
		// group), even if the email is taken by the other kind.
		if id, ok := d.byEmail[m.Email]; ok && strings.HasPrefix(id, "gws:"+what+":") {
			return id, nil
		}
		n = graph.Node{ID: "gcp:principal:" + what + ":" + m.Email, Kind: kind, Name: m.Email, Email: m.Email,
			Attrs: map[string]string{"external": "true", "type": what}}
	case MemberServiceAccount:
		id := "gcp:sa:" + m.Email
		if _, ok := d.node(id); ok {
			return id, nil
		}
		// Not collected: another organisation's SA or a Google service agent.
		n = graph.Node{ID: id, Kind: graph.NodeServiceAccount, Name: m.Email, Email: m.Email, Attrs: map[string]string{"external": "true"}}
	case MemberDomain:
		n = graph.Node{ID: "gcp:principal:domain:" + m.Email, Kind: graph.NodeGroup, Name: "everyone in " + m.Email, Attrs: map[string]string{"type": "domain"}}
	case MemberAllUsers:
		n = graph.Node{ID: "gcp:principal:allUsers", Kind: graph.NodeGroup, Name: "allUsers (anyone, unauthenticated)", Attrs: map[string]string{"type": "public"}}
	case MemberAllAuthenticated:
		n = graph.Node{ID: "gcp:principal:allAuthenticatedUsers", Kind: graph.NodeGroup, Name: "allAuthenticatedUsers (any Google account)", Attrs: map[string]string{"type": "public"}}
	case MemberPrincipal:
		n = graph.Node{ID: "gcp:principal:" + raw, Kind: graph.NodeFederated, Name: raw, Attrs: map[string]string{"type": "federated"}}
	case MemberDeleted:
		d.deleted++
		return "", nil
	default:
		n = graph.Node{ID: "gcp:principal:" + raw, Kind: graph.NodeGroup, Name: raw, Attrs: map[string]string{"type": "other"}}
	}
	if _, ok := d.node(n.ID); !ok {
		if err := d.g.AddNode(n); err != nil {
			return "", fmt.Errorf("add member %q: %w", raw, err)
		}
		d.nodes[n.ID] = n
	}
	return n.ID, nil
}

func (d *deriver) warnings() {
	if len(d.unknown) > 0 {
		var list []string
		for r := range d.unknown {
			list = append(list, r)
		}
		sort.Strings(list)
		d.g.Warnings = append(d.g.Warnings, fmt.Sprintf("%d roles in IAM bindings are neither predefined (catalog) nor collected custom roles; they grant nothing here: %s", len(list), strings.Join(list, ", ")))
	}
	if d.deleted > 0 {
		d.g.Warnings = append(d.g.Warnings, fmt.Sprintf("%d IAM members name deleted principals; ignored", d.deleted))
	}
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
