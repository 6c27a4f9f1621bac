package workspace

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	admin "google.golang.org/api/admin/directory/v1"

	"permgraph/graph"
)

// Page kinds as the Directory API labels them; a page whose kind is set to
// something else is not what the URL promised and is refused.
const (
	kindUsers           = "admin#directory#users"
	kindGroups          = "admin#directory#groups"
	kindMembers         = "admin#directory#members"
	kindRoles           = "admin#directory#roles"
	kindRoleAssignments = "admin#directory#roleAssignments"
)

// Counts summarises one collection.
type Counts struct {
	Users, Groups, Memberships, Roles, RoleAssignments int
	// DeletedGroups are groups listed by groups.list whose members.list
	// answered 404 (deleted during the run); each is also a sink warning.
	DeletedGroups int
	Pages         int
}

// mapper turns Directory API pages into graph facts. Live and File feed it
// the same decoded admin.* structs in the same order (users, groups, roles,
// role assignments, then members), so both produce the identical graph.
//
// Member resolution needs the whole user and group lists (is this member one
// of the customer's users, or external?), which is why members come last.
// It is safe for concurrent use: member pages arrive from several workers.
type mapper struct {
	mu     sync.Mutex
	sink   graph.Sink
	source string
	// users and groups hold the ids listed for this customer; domains the
	// email domains of those users and groups. A few bytes per object: 50k
	// users cost a few MB.
	users   map[string]struct{}
	groups  map[string]string // id -> email, to name a deleted group
	domains map[string]struct{}
	counts  Counts
	// listed and groupEmails, when set (the capture replay), hold the email
	// each listed user's and group's node has, by directory id; listed then
	// replaces users. A member record repeating that email need not be
	// sent to the sink: at 500k users that is ~1.5M AddNode calls that
	// change nothing (each would also leave the record's strings in the
	// graph in place of its interned ones).
	listed      map[string]string
	groupEmails map[string]string
}

// trackNodes makes the mapper remember listed users' and groups' emails
// (see listed).
func (m *mapper) trackNodes() {
	m.listed, m.groupEmails = map[string]string{}, map[string]string{}
}

// isUser reports whether id is one of the listed users.
func (m *mapper) isUser(id string) bool {
	if m.listed != nil {
		_, ok := m.listed[id]
		return ok
	}
	_, ok := m.users[id]
	return ok
}

func newMapper(sink graph.Sink, source string) *mapper {
	return &mapper{sink: sink, source: source, users: map[string]struct{}{},
		groups: map[string]string{}, domains: map[string]struct{}{}}
}

// SourceID is the graph source of a Workspace customer.
func SourceID(customerID string) string { return "google:" + customerID }

func userID(id string) string       { return "gws:user:" + id }
func groupID(id string) string      { return "gws:group:" + id }
func roleID(id int64) string        { return "gws:role:" + strconv.FormatInt(id, 10) }
func externalID(e string) string    { return "gws:external:" + e }
func customerNode(id string) string { return "gws:customer:" + id }
func saID(email string) string      { return "gcp:sa:" + email }

func checkKind(got, want string) error {
	if got != "" && got != want {
		return fmt.Errorf("page kind is %q, want %q", got, want)
	}
	return nil
}

func boolStr(b bool) string { return strconv.FormatBool(b) }

// jsonList encodes a string list as the JSON attr the model asks for,
// sorted so that two collections of the same data compare equal.
func jsonList(xs []string) string {
	if len(xs) == 0 {
		return "[]" // most users and groups: no allocation
	}
	out := slices.Clone(xs)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	b, _ := json.Marshal(out) // a []string always marshals
	return string(b)
}

func lowerAll(xs ...[]string) []string {
	var out []string
	for _, l := range xs {
		for _, x := range l {
			if x = strings.ToLower(strings.TrimSpace(x)); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

func domainOf(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		return email[i+1:]
	}
	return ""
}

// users emits one users.list page.
func (m *mapper) usersPage(p *admin.Users) error {
	if err := checkKind(p.Kind, kindUsers); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	for i, u := range p.Users {
		if u == nil || u.Id == "" {
			return fmt.Errorf("users[%d]: field \"id\" is missing", i)
		}
		r := userRec{id: u.Id, email: u.PrimaryEmail, suspended: u.Suspended, isAdmin: u.IsAdmin,
			isDelegatedAdmin: u.IsDelegatedAdmin, aliases: u.Aliases, nonEditableAliases: u.NonEditableAliases,
			lastLogin: u.LastLoginTime, created: u.CreationTime}
		if u.Name != nil {
			r.hasName, r.fullName = true, u.Name.FullName
		}
		if err := m.user(&r); err != nil {
			return err
		}
	}
	return nil
}

// userRec is what the mapper takes from a users.list entry, whichever
// decoder read it (admin.User, or the capture replay's own).
type userRec struct {
	id, email, fullName                  string
	hasName                              bool // a "name" object was present
	suspended, isAdmin, isDelegatedAdmin bool
	aliases, nonEditableAliases          []string
	lastLogin, created                   string
}

// user emits one user; callers hold mu and have checked r.id.
func (m *mapper) user(r *userRec) error {
	email := strings.ToLower(r.email)
	n := graph.Node{ID: userID(r.id), Kind: graph.NodeUser, Email: email, Attrs: map[string]string{
		"suspended":          boolStr(r.suspended),
		"is_admin":           boolStr(r.isAdmin),
		"is_delegated_admin": boolStr(r.isDelegatedAdmin),
		"aliases":            jsonList(lowerAll(r.aliases, r.nonEditableAliases)),
	}}
	if r.hasName {
		n.Name = r.fullName
	}
	if n.Name == "" {
		n.Name = email
	}
	if r.lastLogin != "" {
		n.Attrs["last_login"] = r.lastLogin
	}
	if r.created != "" {
		n.Attrs["created"] = r.created
	}
	if err := m.sink.AddNode(m.source, n); err != nil {
		return err
	}
	if m.listed != nil {
		noteEmail(m.listed, r.id, email)
	} else {
		m.users[r.id] = struct{}{}
	}
	if d := domainOf(email); d != "" {
		m.domains[d] = struct{}{}
	}
	m.counts.Users++
	return nil
}

// groupsPage emits one groups.list page and returns the group ids, in page
// order, for the members stage.
func (m *mapper) groupsPage(p *admin.Groups) ([]group, error) {
	if err := checkKind(p.Kind, kindGroups); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	out := make([]group, 0, len(p.Groups))
	for i, g := range p.Groups {
		if g == nil || g.Id == "" {
			return nil, fmt.Errorf("groups[%d]: field \"id\" is missing", i)
		}
		r := groupRec{id: g.Id, email: g.Email, name: g.Name, aliases: g.Aliases,
			nonEditableAliases: g.NonEditableAliases, directMembersCount: strconv.FormatInt(g.DirectMembersCount, 10)}
		gr, err := m.group(&r)
		if err != nil {
			return nil, err
		}
		out = append(out, gr)
	}
	return out, nil
}

// groupRec is what the mapper takes from a groups.list entry.
type groupRec struct {
	id, email, name             string
	aliases, nonEditableAliases []string
	directMembersCount          string // decimal, as strconv.FormatInt writes it
}

// group emits one group; callers hold mu and have checked r.id.
func (m *mapper) group(r *groupRec) (group, error) {
	email := strings.ToLower(r.email)
	n := graph.Node{ID: groupID(r.id), Kind: graph.NodeGroup, Name: r.name, Email: email, Attrs: map[string]string{
		"aliases":              jsonList(lowerAll(r.aliases, r.nonEditableAliases)),
		"direct_members_count": r.directMembersCount,
	}}
	if n.Name == "" {
		n.Name = email
	}
	if err := m.sink.AddNode(m.source, n); err != nil {
		return group{}, err
	}
	if m.groupEmails != nil {
		noteEmail(m.groupEmails, r.id, email)
	}
	m.groups[r.id] = email
	if d := domainOf(email); d != "" {
		m.domains[d] = struct{}{}
	}
	m.counts.Groups++
	return group{id: r.id, email: email}, nil
}

// group is what the members stage needs to know about a listed group.
type group struct{ id, email string }

// rolesPage emits one roles.list page.
func (m *mapper) rolesPage(p *admin.Roles) error {
	if err := checkKind(p.Kind, kindRoles); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	for i, r := range p.Items {
		if r == nil || r.RoleId == 0 {
			return fmt.Errorf("items[%d]: field \"roleId\" is missing", i)
		}
		privs := make([]string, 0, len(r.RolePrivileges))
		for _, pr := range r.RolePrivileges {
			if pr != nil {
				privs = append(privs, pr.ServiceId+"/"+pr.PrivilegeName)
			}
		}
		n := graph.Node{ID: roleID(r.RoleId), Kind: graph.NodeRoleDefinition, Name: r.RoleName, Attrs: map[string]string{
			"privileges":  jsonList(privs),
			"super_admin": boolStr(r.IsSuperAdminRole),
		}}
		if err := m.sink.AddNode(m.source, n); err != nil {
			return err
		}
		m.counts.Roles++
	}
	return nil
}

// roleAssignmentsPage emits HasRole edges for one roleAssignments.list page.
func (m *mapper) roleAssignmentsPage(p *admin.RoleAssignments) error {
	if err := checkKind(p.Kind, kindRoleAssignments); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	for i, a := range p.Items {
		if a == nil || a.RoleId == 0 || a.AssignedTo == "" {
			return fmt.Errorf("items[%d]: fields \"roleId\" and \"assignedTo\" are required", i)
		}
		from, err := m.assignee(a)
		if err != nil {
			return fmt.Errorf("items[%d]: %w", i, err)
		}
		// A role that roles.list did not return (deleted, or the caller may
		// list assignments but not roles) still gets a reference node.
		if err := m.sink.AddNode(m.source, graph.Node{ID: roleID(a.RoleId), Kind: graph.NodeRoleDefinition}); err != nil {
			return err
		}
		scope := a.ScopeType
		if scope == "" {
			scope = "CUSTOMER"
		}
		e := graph.Edge{From: from, Kind: graph.EdgeHasRole, To: roleID(a.RoleId),
			Attrs:    map[string]string{"scope": scope},
			Evidence: []graph.Evidence{{Source: "directory:roleassignments/" + strconv.FormatInt(a.RoleAssignmentId, 10), Statement: scope}},
		}
		if a.OrgUnitId != "" {
			e.Attrs["org_unit"] = a.OrgUnitId
			e.Evidence[0].Statement = scope + " " + a.OrgUnitId
		}
		if a.Condition != "" {
			e.Conditional, e.Condition = true, a.Condition
		}
		if err := m.sink.AddEdge(m.source, e); err != nil {
			return err
		}
		m.counts.RoleAssignments++
	}
	return nil
}

// assignee is the graph id of a role assignment's principal: a listed user
// or group, else what assigneeType says. Admin roles can also be assigned to
// a service account, named only by its numeric uniqueId; that principal gets
// a gws:principal:<uniqueId> node (attr unique_id) so the assignment is kept
// and the evaluator can match it to the gcp:sa node with that unique_id.
func (m *mapper) assignee(a *admin.RoleAssignment) (string, error) {
	id := a.AssignedTo
	if m.isUser(id) {
		return userID(id), nil
	}
	if _, ok := m.groups[id]; ok {
		return groupID(id), nil
	}
	var n graph.Node
	switch strings.ToLower(a.AssigneeType) {
	case "user":
		n = graph.Node{ID: userID(id), Kind: graph.NodeUser}
	case "group":
		n = graph.Node{ID: groupID(id), Kind: graph.NodeGroup}
	default:
		n = graph.Node{ID: "gws:principal:" + id, Kind: graph.NodeServiceAccount, Attrs: map[string]string{"unique_id": id}}
	}
	if err := m.sink.AddNode(m.source, n); err != nil {
		return "", err
	}
	return n.ID, nil
}

// membersPage emits the MemberOf edges of one members.list page of group g.
func (m *mapper) membersPage(g string, p *admin.Members) error {
	if err := checkKind(p.Kind, kindMembers); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.Pages++
	to := groupID(g)
	// One evidence string per page, shared by its edges: 250k memberships
	// would otherwise allocate 250k copies.
	src := "directory:groups/" + g + "/members"
	for i, mem := range p.Members {
		if mem == nil {
			return fmt.Errorf("members[%d]: null member", i)
		}
		n, ok := m.member(mem)
		if !ok {
			m.sink.Warn(m.source, fmt.Sprintf("workspace: group %s (%s): member %d has neither id nor email; skipped", m.groups[g], g, i))
			continue
		}
		if err := m.sink.AddNode(m.source, n); err != nil {
			return err
		}
		role := strings.ToUpper(mem.Role)
		if role == "" {
			role = "MEMBER"
		}
		e := graph.Edge{From: n.ID, Kind: graph.EdgeMemberOf, To: to,
			Attrs:    map[string]string{"role": role, "type": strings.ToUpper(mem.Type)},
			Evidence: []graph.Evidence{{Source: src, Detail: role}},
		}
		if err := m.sink.AddEdge(m.source, e); err != nil {
			return err
		}
		m.counts.Memberships++
	}
	return nil
}

// member resolves a group member to a node:
//   - CUSTOMER: "all users in the customer", gws:customer:<id>;
//   - GROUP: gws:group:<id> (a group of another customer is marked external);
//   - a service account email: gcp:sa:<email>, so GCP bindings and Workspace
//     memberships meet on one node;
//   - EXTERNAL, or a USER that is not one of the customer's users and whose
//     domain is not one of the customer's: gws:external:<email>;
//   - otherwise gws:user:<id>.
//
// The returned node carries only what the member record says; a listed
// user's or group's own node already has the rest.
func (m *mapper) member(mem *admin.Member) (graph.Node, bool) {
	n, _, ok := m.memberNode(mem.Id, mem.Email, mem.Type)
	return n, ok
}

// memberNode is member for a member record's id, email and type as
// captured. When the node is a listed user's or group's and the mapper
// tracks them, cur holds the email that node has.
func (m *mapper) memberNode(id, email, typ string) (n graph.Node, cur tracked, ok bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	typ = strings.ToUpper(typ)
	switch {
	case typ == "CUSTOMER" && id != "":
		return graph.Node{ID: customerNode(id), Kind: graph.NodeGroup, Name: "all users in customer",
			Attrs: map[string]string{"type": "customer"}}, tracked{}, true
	case typ == "GROUP" && id != "":
		n := graph.Node{ID: groupID(id), Kind: graph.NodeGroup, Email: email}
		if _, ok := m.groups[id]; !ok && email != "" && !m.ownDomain(email) {
			n.Attrs = map[string]string{"external": "true"}
		}
		if e, ok := m.groupEmails[id]; ok {
			cur = tracked{m.groupEmails, id, e}
		}
		return n, cur, true
	case strings.HasSuffix(email, ".gserviceaccount.com"):
		return graph.Node{ID: saID(email), Kind: graph.NodeServiceAccount, Name: email, Email: email}, tracked{}, true
	}
	if id != "" && typ != "EXTERNAL" {
		if m.listed != nil {
			if e, ok := m.listed[id]; ok {
				return graph.Node{ID: userID(id), Kind: graph.NodeUser, Email: email}, tracked{m.listed, id, e}, true
			}
		} else if _, ok := m.users[id]; ok {
			return graph.Node{ID: userID(id), Kind: graph.NodeUser, Email: email}, tracked{}, true
		}
	}
	if email != "" && (typ == "EXTERNAL" || !m.ownDomain(email)) {
		return graph.Node{ID: externalID(email), Kind: graph.NodeUser, Name: email, Email: email,
			Attrs: map[string]string{"external": "true"}}, tracked{}, true
	}
	if id != "" {
		return graph.Node{ID: userID(id), Kind: graph.NodeUser, Email: email}, tracked{}, true
	}
	if email != "" {
		return graph.Node{ID: externalID(email), Kind: graph.NodeUser, Name: email, Email: email,
			Attrs: map[string]string{"external": "true"}}, tracked{}, true
	}
	return graph.Node{}, tracked{}, false
}

// tracked is a listed user's or group's entry in listed or groupEmails:
// the email its node has (in is nil for other nodes).
type tracked struct {
	in    map[string]string
	id    string
	email string
}

// unchanged reports whether adding n, the node of a member record for this
// listed user or group, would leave the graph as it is: n carries only id,
// kind and an email that is empty or the one the node has (the node's kind
// is the same: listed users and groups are only ever added with theirs).
func (t tracked) unchanged(n graph.Node) bool {
	return t.in != nil && n.Name == "" && n.Attrs == nil && (n.Email == "" || n.Email == t.email)
}

// added records n's email as the node's after AddNode merged it.
func (t tracked) added(n graph.Node) {
	if t.in != nil {
		noteEmail(t.in, t.id, n.Email)
	}
}

// noteEmail records in emails the email node id has after AddNode merged
// email into it (an empty email leaves it as it was).
func noteEmail(emails map[string]string, id, email string) {
	if _, ok := emails[id]; !ok || email != "" {
		emails[id] = email
	}
}

func (m *mapper) ownDomain(email string) bool {
	_, ok := m.domains[domainOf(email)]
	return ok
}

// deletedGroup records that group g vanished between groups.list and
// members.list: its memberships are missing from this snapshot.
func (m *mapper) deletedGroup(g string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts.DeletedGroups++
	m.sink.Warn(m.source, fmt.Sprintf("workspace: group %s (id %s) was deleted during collection "+
		"(members.list answered 404): its memberships are missing from this snapshot", m.groups[g], g))
}
