package entra

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"permgraph/graph"
)

// builder maps SDK models to graph nodes and edges. Live and File feed it the
// same models, in whatever order pages arrive (Live fans out, so order is
// not fixed): everything that depends on more than one page (role edges,
// the app -> sp link, app_roles, warnings) is buffered and written by finish,
// which makes the graph independent of page order. It is safe for
// concurrent use; graph.Sink is not, so every sink call holds mu.
type builder struct {
	mu     sync.Mutex
	sink   graph.Sink
	source string
	counts Counts

	warnings map[string]struct{}
	// kinds maps an object id to its graph id, for role assignment
	// principals the $expand did not type.
	kinds map[string]string
	// spByAppID links applications to their service principal.
	spByAppID map[string]string
	apps      map[string]string // application object id -> appId
	// roleTemplate maps roleDefinitionId -> templateId (equal for built-in
	// roles; kept for custom roles whose ids may differ).
	roleTemplate map[string]string
	grants       []roleGrant
	// appRoleValues maps resource sp id -> appRoleId -> value.
	appRoleValues map[string]map[string]string
	appRoleGrants map[string][]appRoleGrant
	graphSP       string // object id of the Microsoft Graph sp, once seen
}

type roleGrant struct {
	id, principalID, principal, roleDef, scope string
	eligible                                   bool
}

// appRoleGrant is one element of the app_roles attribute.
type appRoleGrant struct {
	Principal string `json:"principal"`
	AppRoleID string `json:"appRoleId"`
	Value     string `json:"value,omitempty"`
}

func newBuilder(sink graph.Sink, source string) *builder {
	return &builder{
		sink: sink, source: source,
		warnings:      map[string]struct{}{},
		kinds:         map[string]string{},
		spByAppID:     map[string]string{},
		apps:          map[string]string{},
		roleTemplate:  map[string]string{},
		appRoleValues: map[string]map[string]string{},
		appRoleGrants: map[string][]appRoleGrant{},
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func boolAttr(attrs map[string]string, key string, p *bool) {
	if p != nil {
		attrs[key] = strconv.FormatBool(*p)
	}
}

func timeAttr(attrs map[string]string, key string, t *time.Time) {
	if t != nil && !t.IsZero() {
		attrs[key] = t.UTC().Format(time.RFC3339)
	}
}

func setIf(attrs map[string]string, key, v string) {
	if v != "" {
		attrs[key] = v
	}
}

func jsonList(xs []string) string {
	if xs == nil {
		xs = []string{}
	}
	b, _ := json.Marshal(xs) // a string slice always marshals
	return string(b)
}

func (b *builder) addNode(n graph.Node) error {
	if err := b.sink.AddNode(b.source, n); err != nil {
		return fmt.Errorf("entra: %w", err)
	}
	return nil
}

func (b *builder) addEdge(e graph.Edge) error {
	if err := b.sink.AddEdge(b.source, e); err != nil {
		return fmt.Errorf("entra: %w", err)
	}
	return nil
}

func (b *builder) warn(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.warnings[msg] = struct{}{}
}

func (b *builder) tenant(id, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if name == "" {
		name = id
	}
	return b.addNode(graph.Node{ID: tenantID(id), Kind: graph.NodeScope, Name: name, Attrs: map[string]string{"type": "tenant"}})
}

// userRec is what the mapping takes from a user object. The live run and
// the kiota replay fill it from the SDK model (userOf), the fast replay
// straight from the page (decode.go), so both share one mapping.
type userRec struct {
	id, displayName, upn, mail, userType string
	enabled                              optBool
	// created and lastSignIn are zero when absent (the mapping skips zero
	// times either way).
	created, lastSignIn time.Time
	otherMails          []string
}

// optBool is a nullable JSON boolean without a pointer.
type optBool uint8

const (
	boolAbsent optBool = iota
	boolFalse
	boolTrue
)

func optBoolOf(p *bool) optBool {
	switch {
	case p == nil:
		return boolAbsent
	case *p:
		return boolTrue
	}
	return boolFalse
}

func optBoolAttr(attrs map[string]string, key string, v optBool) {
	if v != boolAbsent {
		attrs[key] = strconv.FormatBool(v == boolTrue)
	}
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func userOf(u models.Userable) userRec {
	r := userRec{
		id: str(u.GetId()), displayName: str(u.GetDisplayName()), upn: str(u.GetUserPrincipalName()),
		mail: str(u.GetMail()), userType: str(u.GetUserType()), enabled: optBoolOf(u.GetAccountEnabled()),
		created: timeOf(u.GetCreatedDateTime()), otherMails: u.GetOtherMails(),
	}
	if s := u.GetSignInActivity(); s != nil {
		r.lastSignIn = timeOf(s.GetLastSignInDateTime())
	}
	return r
}

func (b *builder) user(u models.Userable) error {
	r := userOf(u)
	return b.addUser(&r)
}

func (b *builder) addUser(u *userRec) error {
	id := u.id
	if id == "" {
		return fmt.Errorf("entra: user without id")
	}
	upn := u.upn
	userType := u.userType
	attrs := map[string]string{
		"external": strconv.FormatBool(strings.EqualFold(userType, "Guest") || strings.Contains(strings.ToUpper(upn), "#EXT#")),
	}
	setIf(attrs, "upn", upn)
	setIf(attrs, "mail", u.mail)
	setIf(attrs, "user_type", userType)
	optBoolAttr(attrs, "enabled", u.enabled)
	timeAttr(attrs, "created", &u.created)
	timeAttr(attrs, "last_sign_in", &u.lastSignIn)
	if om := u.otherMails; len(om) > 0 {
		attrs["other_mails"] = jsonList(om)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.kinds[id] = userID(id)
	b.counts.Users++
	return b.addNode(graph.Node{ID: userID(id), Kind: graph.NodeUser, Name: u.displayName, Email: strings.ToLower(upn), Attrs: attrs})
}

// groupRec is what the mapping takes from a group object (see userRec).
type groupRec struct {
	id, displayName, mail, membershipRule string
	securityEnabled, mailEnabled          optBool
	roleAssignable                        optBool
	groupTypes                            []string
}

func groupOf(g models.Groupable) groupRec {
	return groupRec{
		id: str(g.GetId()), displayName: str(g.GetDisplayName()), mail: str(g.GetMail()),
		membershipRule: str(g.GetMembershipRule()), securityEnabled: optBoolOf(g.GetSecurityEnabled()),
		mailEnabled: optBoolOf(g.GetMailEnabled()), roleAssignable: optBoolOf(g.GetIsAssignableToRole()),
		groupTypes: g.GetGroupTypes(),
	}
}

func (b *builder) group(g models.Groupable) error {
	r := groupOf(g)
	return b.addGroup(&r)
}

func (b *builder) addGroup(g *groupRec) error {
	id := g.id
	if id == "" {
		return fmt.Errorf("entra: group without id")
	}
	types := g.groupTypes
	dynamic := false
	for _, t := range types {
		dynamic = dynamic || strings.EqualFold(t, "DynamicMembership")
	}
	attrs := map[string]string{"group_types": jsonList(types), "dynamic": strconv.FormatBool(dynamic)}
	optBoolAttr(attrs, "security_enabled", g.securityEnabled)
	optBoolAttr(attrs, "mail_enabled", g.mailEnabled)
	// isAssignableToRole is null for groups created without it: false.
	attrs["role_assignable"] = strconv.FormatBool(g.roleAssignable == boolTrue)
	setIf(attrs, "membership_rule", g.membershipRule)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.kinds[id] = groupID(id)
	b.counts.Groups++
	return b.addNode(graph.Node{ID: groupID(id), Kind: graph.NodeGroup, Name: g.displayName, Email: g.mail, Attrs: attrs})
}

func (b *builder) servicePrincipal(s models.ServicePrincipalable) error {
	id := str(s.GetId())
	if id == "" {
		return fmt.Errorf("entra: service principal without id")
	}
	app := str(s.GetAppId())
	attrs := map[string]string{}
	setIf(attrs, "app_id", app)
	setIf(attrs, "sp_type", str(s.GetServicePrincipalType()))
	boolAttr(attrs, "enabled", s.GetAccountEnabled())
	if t := s.GetAppOwnerOrganizationId(); t != nil {
		attrs["app_owner_tenant"] = t.String()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.kinds[id] = spID(id)
	if app != "" {
		b.spByAppID[strings.ToLower(app)] = id
	}
	if strings.EqualFold(app, graphAppID) {
		b.graphSP = id
	}
	b.counts.ServicePrincipals++
	return b.addNode(graph.Node{ID: spID(id), Kind: graph.NodeServicePrincipal, Name: str(s.GetDisplayName()), Attrs: attrs})
}

// appRoles records the app roles a resource service principal defines, so
// assignments (which carry only the appRoleId) can be named by value.
func (b *builder) appRoles(s models.ServicePrincipalable) {
	id := str(s.GetId())
	m := map[string]string{}
	for _, r := range s.GetAppRoles() {
		if r.GetId() != nil {
			m[r.GetId().String()] = str(r.GetValue())
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.appRoleValues[id] = m
}

func (b *builder) application(a models.Applicationable) error {
	id := str(a.GetId())
	if id == "" {
		return fmt.Errorf("entra: application without id")
	}
	attrs := map[string]string{"type": "application"}
	setIf(attrs, "app_id", str(a.GetAppId()))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.kinds[id] = appID(id)
	b.apps[id] = strings.ToLower(str(a.GetAppId()))
	b.counts.Applications++
	return b.addNode(graph.Node{ID: appID(id), Kind: graph.NodeServicePrincipal, Name: str(a.GetDisplayName()), Attrs: attrs})
}

func (b *builder) roleDefinition(d models.UnifiedRoleDefinitionable) error {
	id := str(d.GetId())
	if id == "" {
		return fmt.Errorf("entra: role definition without id")
	}
	tmpl := str(d.GetTemplateId())
	if tmpl == "" {
		tmpl = id
	}
	attrs := map[string]string{"template_id": tmpl}
	boolAttr(attrs, "builtin", d.GetIsBuiltIn())
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roleTemplate[id] = tmpl
	b.counts.RoleDefinitions++
	return b.addNode(graph.Node{ID: roleID(tmpl), Kind: graph.NodeRoleDefinition, Name: str(d.GetDisplayName()), Attrs: attrs})
}

// objType is the type of a directory object as far as the graph cares.
type objType uint8

const (
	objOther objType = iota // devices, org contacts, untyped objects
	objUser
	objGroup
	objSP
)

// objRec is a typed directory object (a members/owners entry or an
// $expand): its type and id.
type objRec struct {
	typ objType
	id  string
}

// objOf types an SDK directory object by its Go type, which kiota chose
// from @odata.type.
func objOf(o models.DirectoryObjectable) objRec {
	r := objRec{id: str(o.GetId())}
	switch o.(type) {
	case *models.User:
		r.typ = objUser
	case *models.Group:
		r.typ = objGroup
	case *models.ServicePrincipal:
		r.typ = objSP
	}
	return r
}

// principalOf returns the graph id of a typed directory object (from a
// members/owners page or an $expand), "" for types that hold no permissions
// here (devices, org contacts).
func principalOf(o objRec) string {
	if o.id == "" {
		return ""
	}
	switch o.typ {
	case objUser:
		return userID(o.id)
	case objGroup:
		return groupID(o.id)
	case objSP:
		return spID(o.id)
	}
	return ""
}

// member writes member -> group (direct membership).
func (b *builder) member(group string, o models.DirectoryObjectable) error {
	return b.addMember(group, objOf(o))
}

func (b *builder) addMember(group string, o objRec) error {
	return b.addMembers(group, []objRec{o})
}

// addMembers writes one page of a group's members. The group id and the
// evidence are built once per page, not per member (the sink copies
// evidence it keeps): 2.9M memberships at 500k users.
func (b *builder) addMembers(group string, objs []objRec) error {
	to := groupID(group)
	ev := []graph.Evidence{{Source: "graph:/groups/" + group + "/members"}}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range objs {
		from := principalOf(o)
		if from == "" {
			b.counts.SkippedMembers++
			continue
		}
		b.counts.Memberships++
		if err := b.addEdge(graph.Edge{From: from, Kind: graph.EdgeMemberOf, To: to, Evidence: ev}); err != nil {
			return err
		}
	}
	return nil
}

// owner writes owner -> target; coll is the Graph collection of the target
// ("groups", "servicePrincipals", "applications").
func (b *builder) owner(coll, target string, o models.DirectoryObjectable) error {
	return b.addOwner(coll, target, objOf(o))
}

func (b *builder) addOwner(coll, target string, o objRec) error {
	from := principalOf(o)
	var to string
	switch coll {
	case "groups":
		to = groupID(target)
	case "servicePrincipals":
		to = spID(target)
	case "applications":
		to = appID(target)
	default:
		return fmt.Errorf("entra: owners of unknown collection %q", coll)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Only users and service principals can own directory objects.
	if from == "" || strings.HasPrefix(from, "entra:group:") {
		return nil
	}
	b.counts.Owners++
	return b.addEdge(graph.Edge{From: from, Kind: graph.EdgeOwns, To: to,
		Evidence: []graph.Evidence{{Source: "graph:/" + coll + "/" + target + "/owners"}}})
}

// roleAssignment buffers one active or eligible directory role assignment;
// finish merges them per (principal, role).
func (b *builder) roleAssignment(id, principalID string, principal models.DirectoryObjectable, roleDef, scope string, eligible bool) {
	p := ""
	if principal != nil {
		p = principalOf(objOf(principal))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if eligible {
		b.counts.EligibleAssignments++
	} else {
		b.counts.RoleAssignments++
	}
	b.grants = append(b.grants, roleGrant{id: id, principalID: principalID, principal: p, roleDef: roleDef, scope: scope, eligible: eligible})
}

func (b *builder) appRoleAssignment(resource string, a models.AppRoleAssignmentable) {
	if a.GetPrincipalId() == nil || a.GetAppRoleId() == nil {
		return
	}
	pid := a.GetPrincipalId().String()
	var p string
	switch str(a.GetPrincipalType()) {
	case "User":
		p = userID(pid)
	case "Group":
		p = groupID(pid)
	default:
		p = spID(pid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counts.AppRoleAssignments++
	b.appRoleGrants[resource] = append(b.appRoleGrants[resource], appRoleGrant{Principal: p, AppRoleID: a.GetAppRoleId().String()})
}

// finish writes everything that needed the whole tenant: role edges (active
// wins over eligible), app -> sp links, app_roles and the warnings, sorted.
func (b *builder) finish() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.finishRoles(); err != nil {
		return err
	}
	appIDs := make([]string, 0, len(b.apps))
	for id := range b.apps {
		appIDs = append(appIDs, id)
	}
	sort.Strings(appIDs)
	for _, id := range appIDs {
		if sp, ok := b.spByAppID[b.apps[id]]; ok && b.apps[id] != "" {
			if err := b.addNode(graph.Node{ID: appID(id), Kind: graph.NodeServicePrincipal, Attrs: map[string]string{"sp": spID(sp)}}); err != nil {
				return err
			}
		}
	}
	resources := make([]string, 0, len(b.appRoleGrants))
	for r := range b.appRoleGrants {
		resources = append(resources, r)
	}
	sort.Strings(resources)
	for _, r := range resources {
		gs := b.appRoleGrants[r]
		for i := range gs {
			gs[i].Value = b.appRoleValues[r][gs[i].AppRoleID]
		}
		sort.Slice(gs, func(i, j int) bool {
			if gs[i].Principal != gs[j].Principal {
				return gs[i].Principal < gs[j].Principal
			}
			return gs[i].AppRoleID < gs[j].AppRoleID
		})
		js, err := json.Marshal(gs)
		if err != nil {
			return fmt.Errorf("entra: encode app_roles of %s: %w", r, err)
		}
		if err := b.addNode(graph.Node{ID: spID(r), Kind: graph.NodeServicePrincipal, Attrs: map[string]string{"app_roles": string(js)}}); err != nil {
			return err
		}
	}
	ws := make([]string, 0, len(b.warnings))
	for w := range b.warnings {
		ws = append(ws, w)
	}
	sort.Strings(ws)
	for _, w := range ws {
		b.sink.Warn(b.source, w)
	}
	return nil
}

func (b *builder) finishRoles() error {
	type key struct{ from, to string }
	byKey := map[key][]roleGrant{}
	var keys []key
	for _, g := range b.grants {
		from := g.principal
		if from == "" {
			from = b.kinds[g.principalID]
		}
		if from == "" || strings.HasPrefix(from, "entra:app:") {
			b.warnings[fmt.Sprintf("entra: role assignment %s: principal %s is not a listed user, group or service principal; skipped", g.id, g.principalID)] = struct{}{}
			continue
		}
		tmpl := b.roleTemplate[g.roleDef]
		if tmpl == "" {
			tmpl = g.roleDef
		}
		k := key{from, roleID(tmpl)}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], g)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].from != keys[j].from {
			return keys[i].from < keys[j].from
		}
		return keys[i].to < keys[j].to
	})
	for _, k := range keys {
		gs := byKey[k]
		sort.Slice(gs, func(i, j int) bool {
			if gs[i].eligible != gs[j].eligible {
				return !gs[i].eligible
			}
			return gs[i].id < gs[j].id
		})
		e := graph.Edge{From: k.from, Kind: graph.EdgeHasRole, To: k.to, Attrs: map[string]string{}}
		active := false
		scopes := map[string]bool{}
		for _, g := range gs {
			ev := graph.Evidence{Source: g.id, Statement: g.scope}
			if g.eligible {
				ev.Detail = "PIM eligible"
			} else {
				active = true
			}
			e.Evidence = append(e.Evidence, ev)
		}
		// The edge's scope comes from the assignments that grant it now:
		// the active ones when any exist, else the eligible ones.
		for _, g := range gs {
			if g.eligible == !active {
				scopes[g.scope] = true
			}
		}
		e.Attrs["scope"] = pickScope(scopes)
		if len(scopes) > 1 {
			all := make([]string, 0, len(scopes))
			for s := range scopes {
				all = append(all, s)
			}
			sort.Strings(all)
			e.Attrs["scopes"] = jsonList(all)
		}
		if !active {
			e.Attrs["eligible"] = "true"
			e.Conditional, e.Condition = true, "PIM eligible: activation required"
		}
		if err := b.addEdge(e); err != nil {
			return err
		}
	}
	return nil
}

// pickScope returns "/" (tenant-wide) when any assignment is tenant-wide,
// else the first scope in order; the full list goes to the "scopes" attr.
func pickScope(scopes map[string]bool) string {
	if scopes["/"] || len(scopes) == 0 {
		return "/"
	}
	all := make([]string, 0, len(scopes))
	for s := range scopes {
		all = append(all, s)
	}
	sort.Strings(all)
	return all[0]
}
