package genazure

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Capture file names (collectors/entra.CaptureFile, azurerbac.CaptureFile).
const (
	GraphFile = "graph.jsonl"
	ARMFile   = "arm.jsonl"
)

const (
	graphRoot = "https://graph.microsoft.com/v1.0"
	armRoot   = "https://management.azure.com"
)

// Stats is what a capture holds, in the units the collectors count, so a
// test can compare an import against it.
type Stats struct {
	Users, Guests, Groups int
	// Memberships counts member -> group edges (users, nested groups and
	// service principals); the hidden group's members are not in it.
	Memberships     int
	MaxGroupMembers int
	// NestingDepth is the longest chain of nested groups (a user in the
	// bottom group of a chain is a member through this many groups).
	NestingDepth int
	// Owners counts Owns edges: owners of groups, service principals and
	// applications.
	Owners                          int
	ServicePrincipals, Applications int
	AppRoleAssignments              int // Microsoft Graph application permissions
	DirectoryRoleDefinitions        int
	// DirectoryRoleAssignments (active, the orphan included) and
	// DirectoryEligible are listed assignments; DirectoryRoleEdges the
	// distinct (principal, role) HasRole edges they make.
	DirectoryRoleAssignments, DirectoryEligible, DirectoryRoleEdges int
	// AUScoped counts HasRole edges of group-managing roles scoped to an
	// administrative unit only: policy/azure warns that it does not model
	// them.
	AUScoped                                                        int
	ManagementGroups, Subscriptions, ResourceGroups, ResourceScopes int
	// UAMIScopes counts user-assigned identities that assignments are
	// scoped to: policy/azure cannot tie them to their service principal
	// (the Entra collector does not read alternativeNames) and warns.
	UAMIScopes      int
	RoleDefinitions int
	// RoleAssignments (active, the unknown principal's included),
	// RBACEligible (imported: not those of the refused subscription),
	// DenyAssignments; RBACRoleEdges the distinct (principal, role
	// definition) HasRole edges.
	RoleAssignments, RBACEligible, DenyAssignments, RBACRoleEdges int
	UnknownPrincipals                                             int
	// Faults are the injected gaps the collectors warn about.
	Faults               []Fault
	GraphLines, ARMLines int
	GraphBytes, ARMBytes int64
	// ThrottledPages counts 429/503 attempts written before their retry.
	ThrottledPages int
}

// Fault is one injected gap: the collector warns naming ID.
type Fault struct{ What, ID string }

// ExpectedWarnings returns, for each warning an import of the capture
// should give (collectors and policy/azure), a text it contains.
func (s Stats) ExpectedWarnings() []string {
	var out []string
	for _, f := range s.Faults {
		out = append(out, f.ID)
	}
	if s.AUScoped > 0 {
		out = append(out, "scoped to administrative units")
	}
	if s.UAMIScopes > 0 {
		out = append(out, "user-assigned identity whose service principal is unknown")
	}
	return out
}

// WriteDir writes the capture of c into dir (created if missing):
// graph.jsonl and arm.jsonl.
func WriteDir(dir string, c Config) (Stats, error) {
	o, err := NewOrg(c)
	if err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("genazure: create %s: %w", dir, err)
	}
	var st Stats
	if err := writeFile(filepath.Join(dir, GraphFile), func(w io.Writer) error { return o.WriteGraph(w, &st) }); err != nil {
		return st, err
	}
	if err := writeFile(filepath.Join(dir, ARMFile), func(w io.Writer) error { return o.WriteARM(w, &st) }); err != nil {
		return st, err
	}
	return st, nil
}

func writeFile(name string, fn func(io.Writer) error) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("genazure: create capture: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("genazure: close %s: %w", name, cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("genazure: write %s: %w", name, err)
	}
	return nil
}

// capture writes response lines: {"url":...,"status":...,"body":...}.
type capture struct {
	w           io.Writer
	head        []byte
	lines, errs int
	bytes       int64
	err         error
}

func (c *capture) page(url string, status int, body []byte) {
	if c.err != nil {
		return
	}
	c.head = append(c.head[:0], `{"url":`...)
	c.head = appendString(c.head, url)
	c.head = append(c.head, `,"status":`...)
	c.head = strconv.AppendInt(c.head, int64(status), 10)
	c.head = append(c.head, `,"body":`...)
	for _, b := range [][]byte{c.head, body, []byte("}\n")} {
		n, err := c.w.Write(b)
		c.bytes += int64(n)
		if err != nil {
			c.err = fmt.Errorf("genazure: write capture: %w", err)
			return
		}
	}
	c.lines++
	if status != 200 {
		c.errs++
	}
}

func graphError(code, msg string) []byte {
	b := []byte(`{"error":{"code":`)
	b = appendString(b, code)
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	b = append(b, `,"innerError":{"date":"2026-11-01T06:00:00","request-id":"00000000-0000-4000-8000-000000000001","client-request-id":"00000000-0000-4000-8000-000000000002"}}}`...)
	return b
}

func armError(code, msg string) []byte {
	b := []byte(`{"error":{"code":`)
	b = appendString(b, code)
	b = append(b, `,"message":`...)
	b = appendString(b, msg)
	return append(b, `}}`...)
}

// lister pages a list: Graph ({"@odata.context", "@odata.nextLink",
// "value"}) or ARM ({"value", "nextLink"}). Items are appended to items
// after next().
type lister struct {
	c         *capture
	url       string
	context   string // Graph's @odata.context; "" for ARM
	size      int
	items     []byte
	body      []byte
	n, page   int
	pages     int
	retry     int // page preceded by a throttled attempt; -1 none
	retryBody []byte
	retryCode int
	urlHash   uint64
}

func (l *lister) reset(url, context string, size int) {
	l.url, l.context, l.size = url, context, size
	l.items, l.n, l.page, l.retry = l.items[:0], 0, 0, -1
	h := fnv.New64a()
	h.Write([]byte(url))
	l.urlHash = h.Sum64()
}

// next starts an item, flushing a full page first.
func (l *lister) next() {
	if l.n == l.size {
		l.flush(true)
	}
	if l.n > 0 {
		l.items = append(l.items, ',')
	}
	l.n++
}

// full reports whether the next item starts a new page.
func (l *lister) full() bool { return l.n == l.size }

func (l *lister) pageURL(k int) string {
	if k == 0 {
		return l.url
	}
	var b [18]byte
	h1, h2 := splitmix(l.urlHash^uint64(k)), splitmix(l.urlHash+uint64(k))
	for j := range 8 {
		b[j], b[8+j] = byte(h1>>(8*j)), byte(h2>>(8*j))
	}
	b[16], b[17] = byte(k), byte(k>>8)
	sep := "?"
	if strings.Contains(l.url, "?") {
		sep = "&"
	}
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	if l.context != "" {
		tok = "RFNwdAIAAQAAA" + tok // Graph skiptokens start alike
	}
	return l.url + sep + "%24skiptoken=" + tok
}

func (l *lister) flush(more bool) {
	u := l.pageURL(l.page)
	if l.page == l.retry {
		l.c.page(u, l.retryCode, l.retryBody)
	}
	b := append(l.body[:0], '{')
	if l.context != "" {
		b = appendKey(b, "@odata.context", true)
		b = appendString(b, l.context)
		if more {
			b = appendKey(b, "@odata.nextLink", false)
			b = appendString(b, l.pageURL(l.page+1))
		}
		b = appendKey(b, "value", false)
	} else {
		b = appendKey(b, "value", true)
	}
	b = append(b, '[')
	b = append(b, l.items...)
	b = append(b, ']')
	if more && l.context == "" {
		b = appendKey(b, "nextLink", false)
		b = appendString(b, l.pageURL(l.page+1))
	}
	b = append(b, '}')
	l.body = b
	l.c.page(u, 200, b)
	l.items, l.n = l.items[:0], 0
	l.page++
	l.pages++
}

func (l *lister) close() { l.flush(false) }

func graphContext(what string) string { return graphRoot + "/$metadata#" + what }

// refGraphID is the permgraph node id of a principal reference.
func (o *Org) refGraphID(r ref) string {
	switch r.kind() {
	case refUser:
		return "entra:user:" + string(o.appendGUID(nil, domUser, r.idx(), r.gen()))
	case refGroup:
		return "entra:group:" + string(o.appendGUID(nil, domGroup, r.idx(), r.gen()))
	}
	return "entra:sp:" + string(o.appendSPID(nil, r.idx(), r.gen()))
}

func (o *Org) refID(r ref) string {
	id := o.refGraphID(r)
	return id[strings.LastIndexByte(id, ':')+1:]
}

// WriteGraph writes the Microsoft Graph capture in the order the live
// collector requests it: organization, directory roles, users, groups
// (each page followed by its groups' members and owners), service
// principals and applications (each followed by owners), Microsoft
// Graph's app roles and their holders, role assignments, PIM
// eligibilities.
func (o *Org) WriteGraph(w io.Writer, st *Stats) error {
	c := &capture{w: w}
	var l, sub lister
	l.c, sub.c = c, c
	cfg := o.cfg

	org := []byte(`{"@odata.context":`)
	org = appendString(org, graphContext("organization(id,displayName)"))
	org = append(org, `,"value":[{"id":"`...)
	org = append(org, o.tenant...)
	org = append(org, `","displayName":"Example Corp"}]}`...)
	c.page(graphRoot+"/organization?%24select=id%2CdisplayName", 200, org)

	l.reset(graphRoot+"/roleManagement/directory/roleDefinitions?%24select=id%2CdisplayName%2CtemplateId%2CisBuiltIn",
		graphContext("roleManagement/directory/roleDefinitions(id,displayName,templateId,isBuiltIn)"), 1<<30)
	for _, r := range dirRoles {
		l.next()
		l.items = append(l.items, `{"id":"`+r.id+`","displayName":`...)
		l.items = appendString(l.items, r.name)
		l.items = append(l.items, `,"templateId":"`+r.id+`","isBuiltIn":true}`...)
	}
	l.close()
	st.DirectoryRoleDefinitions = len(dirRoles)

	l.reset(graphRoot+"/users?%24select=id%2CdisplayName%2CuserPrincipalName%2Cmail%2CotherMails%2CaccountEnabled%2CuserType%2CcreatedDateTime%2CsignInActivity&%24top=999",
		graphContext("users(id,displayName,userPrincipalName,mail,otherMails,accountEnabled,userType,createdDateTime,signInActivity)"), GraphPageSize)
	if cfg.Faults {
		l.retry, l.retryCode, l.retryBody = min(1, (cfg.Users-1)/GraphPageSize), 429, graphError("TooManyRequests", "Too many requests")
	}
	for i := range cfg.Users {
		l.next()
		l.items = o.appendUser(l.items, i)
		if IsGuest(i) {
			st.Guests++
		}
	}
	l.close()
	st.Users = cfg.Users

	// Groups: after each page, the members and owners of its groups.
	var members, owners []ref
	var itemBuf []byte
	fanOut := func(from, to int) {
		for g := from; g < to; g++ {
			gen, _ := o.groupState(g)
			id := string(o.appendGUID(nil, domGroup, g, gen))
			members = o.members(g, members)
			mu := graphRoot + "/groups/" + id + "/members?%24select=id&%24top=999"
			if g == o.hiddenGroup {
				c.page(mu, 403, graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
				st.Faults = append(st.Faults, Fault{What: "members of a group with hidden membership (403)", ID: id})
			} else {
				sub.reset(mu, graphContext("directoryObjects(id)"), GraphPageSize)
				if cfg.Faults && g == 1 {
					sub.retry, sub.retryCode, sub.retryBody = 0, 503, graphError("serviceNotAvailable", "Service unavailable")
				}
				for _, r := range members {
					sub.next()
					sub.items = o.appendRef(sub.items, r)
				}
				sub.close()
				st.Memberships += len(members)
				st.MaxGroupMembers = max(st.MaxGroupMembers, len(members))
			}
			owners = o.owners(g, members, owners)
			sub.reset(graphRoot+"/groups/"+id+"/owners?%24select=id", graphContext("directoryObjects(id)"), 1<<30)
			for _, r := range owners {
				sub.next()
				sub.items = o.appendRef(sub.items, r)
			}
			sub.close()
			st.Owners += len(owners)
		}
	}
	l.reset(graphRoot+"/groups?%24select=id%2CdisplayName%2Cmail%2CsecurityEnabled%2CmailEnabled%2CgroupTypes%2CisAssignableToRole%2CmembershipRule&%24top=999",
		graphContext("groups(id,displayName,mail,securityEnabled,mailEnabled,groupTypes,isAssignableToRole,membershipRule)"), GraphPageSize)
	first := 0
	for g := range cfg.Groups {
		if l.full() {
			l.flush(true)
			fanOut(first, g)
			first = g
		}
		l.next()
		l.items = o.appendGroup(l.items, g)
	}
	l.close()
	fanOut(first, cfg.Groups)
	st.Groups = cfg.Groups
	st.NestingDepth = max(cfg.Depth, 2) // chains; teams nested in Cloud Engineering and some small groups

	// Service principals and applications, each page followed by owners.
	spOwnersOf := func(from, to int) {
		for s := from; s < to; s++ {
			gen, _ := o.spState(s)
			owners = o.spOwners(s, owners)
			sub.reset(graphRoot+"/servicePrincipals/"+string(o.appendSPID(nil, s, gen))+"/owners?%24select=id", graphContext("directoryObjects(id)"), 1<<30)
			for _, r := range owners {
				sub.next()
				sub.items = o.appendRef(sub.items, r)
			}
			sub.close()
			st.Owners += len(owners)
		}
	}
	l.reset(graphRoot+"/servicePrincipals?%24select=id%2CappId%2CdisplayName%2CservicePrincipalType%2CaccountEnabled%2CappOwnerOrganizationId&%24top=999",
		graphContext("servicePrincipals(id,appId,displayName,servicePrincipalType,accountEnabled,appOwnerOrganizationId)"), GraphPageSize)
	first = 0
	for s := range cfg.ServicePrincipals {
		if l.full() {
			l.flush(true)
			spOwnersOf(first, s)
			first = s
		}
		l.next()
		l.items = o.appendSP(l.items, s)
	}
	l.close()
	spOwnersOf(first, cfg.ServicePrincipals)
	st.ServicePrincipals = cfg.ServicePrincipals

	appOwnersOf := func(from, to int) {
		for a := from; a < to; a++ {
			owners = o.appOwners(a, owners)
			sub.reset(graphRoot+"/applications/"+o.guid(domApp, a, 0)+"/owners?%24select=id", graphContext("directoryObjects(id)"), 1<<30)
			for _, r := range owners {
				sub.next()
				sub.items = o.appendRef(sub.items, r)
			}
			sub.close()
			st.Owners += len(owners)
		}
	}
	l.reset(graphRoot+"/applications?%24select=id%2CappId%2CdisplayName&%24top=999", graphContext("applications(id,appId,displayName)"), GraphPageSize)
	first = 0
	for a := range cfg.Applications {
		if l.full() {
			l.flush(true)
			appOwnersOf(first, a)
			first = a
		}
		l.next()
		l.items = o.appendApp(l.items, a)
	}
	l.close()
	appOwnersOf(first, cfg.Applications)
	st.Applications = cfg.Applications

	// Microsoft Graph's app roles, then who holds them.
	graphSP := string(o.appendSPID(nil, 0, 0))
	b := []byte(`{"@odata.context":`)
	b = appendString(b, graphContext("servicePrincipals(id,appId,appRoles)/$entity"))
	b = append(b, `,"id":"`+graphSP+`","appId":"`+graphAppID+`","appRoles":[`...)
	for i, r := range graphAppRoles {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"`+r.id+`","value":"`+r.value+`","displayName":`...)
		b = appendString(b, r.name)
		b = append(b, `,"description":`...)
		b = appendString(b, r.name)
		b = append(b, `,"allowedMemberTypes":["Application"],"isEnabled":true,"origin":"Application"}`...)
	}
	b = append(b, "]}"...)
	c.page(graphRoot+"/servicePrincipals/"+graphSP+"?%24select=id%2CappId%2CappRoles", 200, b)
	l.reset(graphRoot+"/servicePrincipals/"+graphSP+"/appRoleAssignedTo?%24select=id%2CprincipalId%2CprincipalType%2CappRoleId%2CresourceId&%24top=999",
		graphContext("servicePrincipals('"+graphSP+"')/appRoleAssignedTo(id,principalId,principalType,appRoleId,resourceId)"), GraphPageSize)
	var grants []graphGrant
	for s := o.spBase; s < cfg.ServicePrincipals; s++ {
		grants = o.graphGrants(s, grants[:0])
		for _, g := range grants {
			l.next()
			l.items = o.appendGraphGrant(l.items, g, graphSP)
		}
		st.AppRoleAssignments += len(grants)
	}
	for t := range cfg.TenantAdmins {
		if _, g, ok := o.tenantAdmin(t); !ok {
			l.next()
			l.items = o.appendGraphGrant(l.items, g, graphSP)
			st.AppRoleAssignments++
		}
	}
	l.close()

	// Directory role assignments, active then eligible.
	pairs := map[string]*pairScope{}
	note := func(a dirAssignment) {
		if a.orphan {
			return
		}
		k := o.refGraphID(a.principal) + "|" + a.role
		p := pairs[k]
		if p == nil {
			p = &pairScope{role: a.role}
			pairs[k] = p
		}
		root := a.scope == "/"
		if a.eligible {
			p.elig, p.eligRoot = true, p.eligRoot || root
		} else {
			p.active, p.activeRoot = true, p.activeRoot || root
		}
	}
	emit := func(a dirAssignment) {
		l.next()
		itemBuf = o.appendDirAssignment(itemBuf[:0], a)
		l.items = append(l.items, itemBuf...)
		note(a)
		if a.eligible {
			st.DirectoryEligible++
		} else {
			st.DirectoryRoleAssignments++
		}
	}
	l.reset(graphRoot+"/roleManagement/directory/roleAssignments?%24expand=principal",
		graphContext("roleManagement/directory/roleAssignments(principal())"), GraphPageSize)
	for _, a := range o.fixedDirAssignments() {
		if !a.eligible {
			emit(a)
		}
	}
	for t := range cfg.TenantAdmins {
		if a, _, ok := o.tenantAdmin(t); ok && !a.eligible {
			emit(a)
		}
	}
	for i := range cfg.DirectoryRoles {
		emit(o.dirAssignment(i, false))
	}
	if cfg.Faults {
		a := o.orphanAssignment()
		emit(a)
		st.Faults = append(st.Faults, Fault{What: "directory role assignment of a deleted principal", ID: a.id})
	}
	l.close()
	l.reset(graphRoot+"/roleManagement/directory/roleEligibilitySchedules?%24expand=principal",
		graphContext("roleManagement/directory/roleEligibilitySchedules(principal())"), GraphPageSize)
	for _, a := range o.fixedDirAssignments() {
		if a.eligible {
			emit(a)
		}
	}
	for t := range cfg.TenantAdmins {
		if a, _, ok := o.tenantAdmin(t); ok && a.eligible {
			emit(a)
		}
	}
	for i := range cfg.PIMEligible {
		emit(o.dirAssignment(i, true))
	}
	l.close()
	st.DirectoryRoleEdges = len(pairs)
	for _, p := range pairs {
		if (p.role == roleGroupsAdm || p.role == roleUserAdm) && !(p.activeRoot || (!p.active && p.eligRoot)) {
			st.AUScoped++
		}
	}
	st.GraphLines, st.GraphBytes = c.lines, c.bytes
	st.ThrottledPages += c.errs - boolInt(o.hiddenGroup >= 0)
	if c.err != nil {
		return c.err
	}
	return nil
}

// pairScope is what the Entra collector merges into one HasRole edge.
type pairScope struct {
	role                               string
	active, activeRoot, elig, eligRoot bool
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (o *Org) appendGraphGrant(dst []byte, g graphGrant, graphSP string) []byte {
	gen, _ := o.spState(g.sp)
	dst = append(dst, `{"id":"`...)
	dst = append(dst, o.roleAssignmentID(domAppRole, g.sp<<4|g.role, gen)[:43]...)
	dst = append(dst, `","principalId":"`...)
	dst = o.appendSPID(dst, g.sp, gen)
	dst = append(dst, `","principalType":"ServicePrincipal","appRoleId":"`...)
	dst = append(dst, graphAppRoles[g.role].id...)
	dst = append(dst, `","resourceId":"`...)
	dst = append(dst, graphSP...)
	return append(dst, `"}`...)
}

// appendDirAssignment appends a unifiedRoleAssignment or
// unifiedRoleEligibilitySchedule with its $expand-ed principal.
func (o *Org) appendDirAssignment(dst []byte, a dirAssignment) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, a.id)
	dst = append(dst, `,"principalId":"`...)
	if a.orphan {
		dst = o.appendGUID(dst, domUser, 1<<41+1, 0)
	} else {
		dst = append(dst, o.refID(a.principal)...)
	}
	dst = append(dst, `","roleDefinitionId":"`+a.role+`","directoryScopeId":`...)
	dst = appendString(dst, a.scope)
	if a.eligible {
		dst = append(dst, `,"memberType":"Direct","status":"Provisioned","createdUsing":null,"scheduleInfo":{"startDateTime":"2026-01-05T09:00:00Z","expiration":{"type":"noExpiration","endDateTime":null,"duration":null}}`...)
	}
	dst = append(dst, `,"principal":`...)
	switch {
	case a.orphan:
		return append(dst, "null}"...)
	case a.principal.kind() == refUser:
		i := a.principal.idx()
		dst = append(dst, `{"@odata.type":"#microsoft.graph.user","id":"`...)
		dst = o.appendGUID(dst, domUser, i, a.principal.gen())
		dst = append(dst, `","displayName":`...)
		dst = appendString(dst, o.user(i).name)
		dst = append(dst, `,"userPrincipalName":`...)
		dst = appendString(dst, o.UPN(i))
	case a.principal.kind() == refGroup:
		g := a.principal.idx()
		dst = append(dst, `{"@odata.type":"#microsoft.graph.group","id":"`...)
		dst = o.appendGUID(dst, domGroup, g, a.principal.gen())
		dst = append(dst, `","displayName":`...)
		dst = appendString(dst, o.group(g).name)
	default:
		s := a.principal.idx()
		p := o.sp(s)
		dst = append(dst, `{"@odata.type":"#microsoft.graph.servicePrincipal","id":"`...)
		dst = o.appendSPID(dst, s, p.gen)
		dst = append(dst, `","displayName":`...)
		dst = appendString(dst, p.name)
		dst = append(dst, `,"appId":"`...)
		dst = append(dst, p.appID...)
		dst = append(dst, '"')
	}
	return append(dst, "}}"...)
}

// WriteARM writes the Azure Resource Manager capture in the live
// collector's order: subscriptions, the management group hierarchy, each
// management group's own assignments, then per subscription its resource
// groups, role definitions, role assignments (those inherited from above
// included, as ARM lists them), deny assignments and PIM eligibilities,
// and finally the custom role no subscription lists, fetched by id.
func (o *Org) WriteARM(w io.Writer, st *Stats) error {
	c := &capture{w: w}
	var l lister
	l.c = c
	cfg := o.cfg
	nSub := cfg.Subscriptions

	l.reset(armRoot+"/subscriptions?api-version=2022-12-01", "", armPageSize)
	for s := range nSub {
		l.next()
		l.items = append(l.items, `{"id":"`+o.subArm(s)+`","authorizationSource":"RoleBased","managedByTenants":[],"subscriptionId":"`+o.subID(s)+`","tenantId":"`+o.tenant+`","displayName":`...)
		l.items = appendString(l.items, o.subName(s))
		state := "Enabled"
		if o.subMG(s) == mgDecommissioned {
			state = "Warned"
		}
		l.items = append(l.items, `,"state":"`+state+`","subscriptionPolicies":{"locationPlacementId":"Public_2014-09-01","quotaId":"EnterpriseAgreement_2014-09-01","spendingLimit":"Off"}}`...)
	}
	l.close()

	l.reset(armRoot+"/providers/Microsoft.Management/getEntities?api-version=2021-04-01", "", armPageSize)
	entity := func(id, typ, name, display, parent string) {
		l.next()
		l.items = append(l.items, `{"id":"`+id+`","type":"`+typ+`","name":"`+name+`","properties":{"tenantId":"`+o.tenant+`","displayName":`...)
		l.items = appendString(l.items, display)
		if parent == "" {
			l.items = append(l.items, `,"parent":null`...)
		} else {
			l.items = append(l.items, `,"parent":{"id":"`+parent+`"}`...)
		}
		l.items = append(l.items, `,"permissions":"view","inheritedPermissions":"view"}}`...)
	}
	for m := range nMG {
		parent := ""
		if p := mgDefs[m].parent; p >= 0 {
			parent = o.mgArm(p)
		}
		entity(o.mgArm(m), "Microsoft.Management/managementGroups", o.mgName(m), mgDefs[m].display, parent)
	}
	for s := range nSub {
		entity(o.subArm(s), "/subscriptions", o.subID(s), o.subName(s), o.mgArm(o.subMG(s)))
	}
	l.close()
	st.ManagementGroups, st.Subscriptions = nMG, nSub

	// Buckets of assignment indices: the fixed ones are few; pool
	// assignments are regenerated when listed.
	fixed := o.fixedAssignments()
	var unknown *rbacAssignment
	if cfg.Faults {
		u := o.unknownAssignment()
		unknown = &u
	}
	bySub := make([][]int32, nSub)
	byMG := make([][]int32, nMG)
	eligBySub := make([][]int32, nSub)
	for i := range cfg.RoleAssignments {
		a := o.poolAssignment(i, false)
		if a.sub >= 0 {
			bySub[a.sub] = append(bySub[a.sub], int32(i))
		} else {
			byMG[a.mg] = append(byMG[a.mg], int32(i))
		}
	}
	for i := range cfg.RBACEligible {
		a := o.poolAssignment(i, true)
		eligBySub[a.sub] = append(eligBySub[a.sub], int32(i))
	}

	var itemBuf []byte
	add := func(a rbacAssignment, listedAt int) {
		l.next()
		itemBuf = o.appendRBAC(itemBuf[:0], a, listedAt)
		l.items = append(l.items, itemBuf...)
	}
	for m := range nMG {
		l.reset(armRoot+o.mgArm(m)+"/providers/Microsoft.Authorization/roleAssignments?%24filter=atScope%28%29&api-version=2022-04-01", "", armPageSize)
		for _, a := range fixed {
			if a.sub < 0 && a.mg == m {
				add(a, -1)
			}
		}
		for _, i := range byMG[m] {
			add(o.poolAssignment(int(i), false), -1)
		}
		l.close()
	}

	refusedSub := -1
	if cfg.Faults {
		refusedSub = nSub - 1
	}
	for s := range nSub {
		sa := o.subArm(s)
		l.reset(armRoot+sa+"/resourcegroups?api-version=2021-04-01", "", armPageSize)
		for k := range cfg.ResourceGroups {
			l.next()
			loc := locations[o.hash(domRG, s, uint64(k), 1)%uint64(len(locations))]
			l.items = append(l.items, `{"id":"`+o.rgArm(s, k)+`","name":"`+o.rgName(s, k)+`","type":"Microsoft.Resources/resourceGroups","location":"`+loc+`","properties":{"provisioningState":"Succeeded"}}`...)
		}
		l.close()

		l.reset(armRoot+sa+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", "", armPageSize)
		for r := range o.subRoleBase {
			l.next()
			l.items = o.appendRoleDef(l.items, r, sa)
		}
		if r := o.subRole(s); r >= 0 {
			l.next()
			l.items = o.appendRoleDef(l.items, r, sa)
		}
		l.close()

		l.reset(armRoot+sa+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", armPageSize)
		if cfg.Faults && s == 0 {
			l.retry, l.retryCode, l.retryBody = 0, 429, armError("TooManyRequests", "The request is being throttled.")
		}
		mg := o.subMG(s)
		for _, a := range fixed {
			if a.scope == "/" || (a.sub < 0 && a.mg >= 0 && mgAncestor(a.mg, mg)) || a.sub == s {
				add(a, s)
			}
		}
		for m := range nMG {
			if mgAncestor(m, mg) {
				for _, i := range byMG[m] {
					add(o.poolAssignment(int(i), false), s)
				}
			}
		}
		for _, i := range bySub[s] {
			add(o.poolAssignment(int(i), false), s)
		}
		if unknown != nil && unknown.sub == s {
			add(*unknown, s)
		}
		l.close()

		l.reset(armRoot+sa+"/providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01", "", armPageSize)
		for _, d := range o.denies(s) {
			l.next()
			l.items = o.appendDeny(l.items, d)
			st.DenyAssignments++
		}
		l.close()

		eu := armRoot + sa + "/providers/Microsoft.Authorization/roleEligibilityScheduleInstances?api-version=2020-10-01"
		if s == refusedSub {
			c.page(eu, 403, armError("AuthorizationFailed", "The client 'permgraph-reader' with object id '"+o.guid(domSP, 1<<40, 0)+
				"' does not have authorization to perform action 'Microsoft.Authorization/roleEligibilityScheduleInstances/read' over scope '"+sa+"' or the scope is invalid."))
			st.Faults = append(st.Faults, Fault{What: "PIM eligibility list refused (403)", ID: sa})
			continue
		}
		l.reset(eu, "", armPageSize)
		for _, i := range eligBySub[s] {
			add(o.poolAssignment(int(i), true), s)
		}
		l.close()
	}

	// The management group's custom role, which no subscription lists.
	mr := o.armRoles[o.mgRole]
	b := o.appendRoleDef(nil, o.mgRole, mr.DefScope)
	c.page(armRoot+mr.DefScope+"/providers/Microsoft.Authorization/roleDefinitions/"+mr.GUID+"?api-version=2022-04-01", 200, b)

	o.rbacStats(st, fixed, unknown, refusedSub)
	st.ResourceGroups = nSub * cfg.ResourceGroups
	st.RoleDefinitions = len(o.armRoles)
	st.ARMLines, st.ARMBytes = c.lines, c.bytes
	st.ThrottledPages += c.errs - boolInt(refusedSub >= 0)
	if c.err != nil {
		return c.err
	}
	return nil
}

// rbacStats counts the logical assignments once (lists repeat inherited
// ones per subscription).
func (o *Org) rbacStats(st *Stats, fixed []rbacAssignment, unknown *rbacAssignment, refusedSub int) {
	pairs := map[string]bool{}
	resources := map[string]bool{}
	note := func(a rbacAssignment) {
		who := "entra:sp:" + a.unknown
		if a.unknown == "" {
			who = o.refGraphID(a.principal)
		}
		pairs[who+"|"+o.armRoles[a.role].GUID] = true
		if strings.Contains(a.scope, "/providers/") && strings.HasPrefix(a.scope, "/subscriptions/") {
			resources[strings.ToLower(a.scope)] = true
		}
		if a.eligible {
			st.RBACEligible++
		} else {
			st.RoleAssignments++
		}
	}
	for _, a := range fixed {
		note(a)
	}
	for i := range o.cfg.RoleAssignments {
		note(o.poolAssignment(i, false))
	}
	for i := range o.cfg.RBACEligible {
		if a := o.poolAssignment(i, true); a.sub != refusedSub {
			note(a)
		}
	}
	if unknown != nil {
		note(*unknown)
		st.UnknownPrincipals = 1
	}
	st.RBACRoleEdges, st.ResourceScopes = len(pairs), len(resources)
	for r := range resources {
		if strings.Contains(r, "/microsoft.managedidentity/userassignedidentities/") {
			st.UAMIScopes++
		}
	}
}

// roleDefArm is a role definition's id as listed at scope (a built-in
// role is listed under every subscription; at a management group ARM
// spells it tenant-level).
func (o *Org) roleDefArm(r int, scope string) string {
	d := o.armRoles[r]
	if d.DefScope != "" && !strings.HasPrefix(d.DefScope, "/subscriptions/") {
		scope = d.DefScope
	}
	if !strings.HasPrefix(scope, "/subscriptions/") && d.DefScope == "" {
		scope = ""
	}
	return scope + "/providers/Microsoft.Authorization/roleDefinitions/" + d.GUID
}

func (o *Org) appendRoleDef(dst []byte, r int, scope string) []byte {
	d := o.armRoles[r]
	typ, assignable := "BuiltInRole", []string{"/"}
	if d.DefScope != "" {
		typ, assignable = "CustomRole", []string{d.DefScope}
	}
	dst = append(dst, `{"id":"`+o.roleDefArm(r, scope)+`","name":"`+d.GUID+`","type":"Microsoft.Authorization/roleDefinitions","properties":{"roleName":`...)
	dst = appendString(dst, d.Name)
	dst = append(dst, `,"type":"`+typ+`","description":`...)
	dst = appendString(dst, d.Description)
	dst = append(dst, `,"assignableScopes":`...)
	dst = appendStrings(dst, assignable)
	dst = append(dst, `,"permissions":[`...)
	for i, p := range d.Perms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"actions":`...)
		dst = appendStrings(dst, nonNil(p.Actions))
		dst = append(dst, `,"notActions":`...)
		dst = appendStrings(dst, nonNil(p.NotActions))
		dst = append(dst, `,"dataActions":`...)
		dst = appendStrings(dst, nonNil(p.DataActions))
		dst = append(dst, `,"notDataActions":`...)
		dst = appendStrings(dst, nonNil(p.NotDataActions))
		dst = append(dst, '}')
	}
	return append(dst, `],"createdOn":"2015-02-02T21:55:09.8806423Z","updatedOn":"2024-06-01T00:00:00.0000000Z","createdBy":null,"updatedBy":null}}`...)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// appendRBAC appends a role assignment or eligibility schedule instance as
// listed at subscription listedAt (-1: at a management group).
func (o *Org) appendRBAC(dst []byte, a rbacAssignment, listedAt int) []byte {
	kind := "roleAssignments"
	if a.eligible {
		kind = "roleEligibilityScheduleInstances"
	}
	prefix := strings.TrimSuffix(a.scope, "/")
	listScope := ""
	if listedAt >= 0 {
		listScope = o.subArm(listedAt)
	}
	dst = append(dst, `{"id":"`+prefix+`/providers/Microsoft.Authorization/`+kind+`/`+a.guid+`","name":"`+a.guid+`","type":"Microsoft.Authorization/`+kind+`","properties":{"scope":"`+a.scope+`","roleDefinitionId":"`+o.roleDefArm(a.role, listScope)+`","principalId":"`...)
	if a.unknown != "" {
		dst = append(dst, a.unknown...)
	} else {
		dst = append(dst, o.refID(a.principal)...)
	}
	dst = append(dst, `","principalType":"`+a.principalType()+`"`...)
	if a.eligible {
		sched := o.guid(domRBACElig, 1<<30, 0)
		return append(dst, `,"roleEligibilityScheduleId":"`+prefix+`/providers/Microsoft.Authorization/roleEligibilitySchedules/`+sched+`","status":"Provisioned","startDateTime":"2026-01-05T09:00:00Z","endDateTime":"2027-01-05T09:00:00Z","memberType":"Direct","createdOn":"2026-01-05T09:00:00Z"}}`...)
	}
	dst = append(dst, `,"condition":`...)
	if a.condition != "" {
		dst = appendString(dst, a.condition)
		dst = append(dst, `,"conditionVersion":"2.0"`...)
	} else {
		dst = append(dst, `null,"conditionVersion":null`...)
	}
	creator := o.refID(o.userRef(o.pickUser(o.hash(domRA, 1<<30+9))))
	return append(dst, `,"createdOn":"2025-03-10T09:00:00.0000000Z","updatedOn":"2025-03-10T09:00:00.0000000Z","createdBy":"`+creator+`","updatedBy":"`+creator+`","delegatedManagedIdentityResourceId":null,"description":null}}`...)
}

func (o *Org) appendDeny(dst []byte, d denyAssignment) []byte {
	dst = append(dst, `{"id":"`+d.scope+`/providers/Microsoft.Authorization/denyAssignments/`+d.guid+`","name":"`+d.guid+`","type":"Microsoft.Authorization/denyAssignments","properties":{"denyAssignmentName":`...)
	dst = appendString(dst, d.name)
	dst = append(dst, `,"description":`...)
	dst = appendString(dst, d.name)
	dst = append(dst, `,"permissions":[{"actions":`...)
	dst = appendStrings(dst, d.actions)
	dst = append(dst, `,"notActions":[],"dataActions":[],"notDataActions":[]}],"scope":"`+d.scope+`","doNotApplyToChildScopes":false,"principals":[`...)
	if d.everyone {
		dst = append(dst, `{"id":"00000000-0000-0000-0000-000000000000","type":"SystemDefined"}],"excludePrincipals":[{"id":"`+o.refID(d.exclude)+`","type":"ServicePrincipal"}],"isSystemProtected":true}}`...)
		return dst
	}
	return append(dst, `{"id":"`+o.refID(d.principal)+`","type":"Group"}],"excludePrincipals":[],"isSystemProtected":false}}`...)
}
