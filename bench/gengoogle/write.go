package gengoogle

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// File names written into the output directory.
const (
	DirectoryFile   = "directory.jsonl"        // Directory API raw capture
	GCPCaptureFile  = "gcp.jsonl"              // Resource Manager / IAM raw capture (FormatCapture)
	CAIResourceFile = "cai-resources.jsonl"    // CAI export, content type RESOURCE (FormatCAI)
	CAIPolicyFile   = "cai-iam-policies.jsonl" // CAI export, content type IAM_POLICY (FormatCAI)
)

// Page sizes of the live collectors (collectors/workspace, collectors/gcpiam).
const (
	usersPage   = 500
	groupsPage  = 200
	membersPage = 200
	saPage      = 100
	crmPage     = 100
)

// Field masks the Workspace collector sends (collectors/workspace/live.go);
// the recorded URLs carry them like a real --save-raw capture.
const (
	usersFields   = "kind,nextPageToken,users(id,primaryEmail,name/fullName,suspended,isAdmin,isDelegatedAdmin,aliases,nonEditableAliases,lastLoginTime,creationTime,customerId)"
	groupsFields  = "kind,nextPageToken,groups(id,email,name,aliases,nonEditableAliases,directMembersCount)"
	membersFields = "kind,nextPageToken,members(id,email,role,type,status)"
	rolesFields   = "kind,nextPageToken,items(roleId,roleName,rolePrivileges,isSuperAdminRole)"
	assignFields  = "kind,nextPageToken,items(roleAssignmentId,roleId,assignedTo,assigneeType,scopeType,orgUnitId,condition)"
)

const (
	directoryBase = "https://admin.googleapis.com/admin/directory/v1/"
	crmBase       = "https://cloudresourcemanager.googleapis.com/v3/"
	iamBase       = "https://iam.googleapis.com/v1/"
)

// FileSize is one written file.
type FileSize struct {
	Name  string
	Bytes int64
}

// Counts is what Write wrote, in the terms of the graph the import builds.
type Counts struct {
	Users, Groups int
	// ExternalUsers and PartnerGroups are distinct group members outside
	// the directory (gws:external nodes, other customers' groups);
	// CustomerMembers is 1 when a group has the CUSTOMER member.
	ExternalUsers, PartnerGroups, CustomerMembers int
	Memberships                                   int // members.list rows: MemberOf edges
	Owners, Managers                              int
	Depth                                         int // longest chain of nested groups
	AdminRoles, RoleAssignments                   int
	Organizations, Folders, Projects              int
	ServiceAccounts                               int
	Policies                                      int // IAM policy nodes the import creates
	CustomRoles                                   int
	// Grants are (member, role) pairs over all bindings, ConditionalGrants
	// those under a condition, BindingPairs the distinct pairs (the
	// evaluator's HasRole edges to GCP roles), PredefinedRoles the distinct
	// predefined roles bound, ExternalPrincipals the distinct members no
	// collector emits (other domains, service agents, allUsers, workload
	// identity sets) for which the evaluator adds a node.
	Grants, ConditionalGrants, BindingPairs int
	PredefinedRoles, ExternalPrincipals     int
	Pages                                   int // captured API pages
	Files                                   []FileSize
}

// Nodes is the number of nodes the import (before evaluation) creates.
func (c Counts) Nodes() int {
	return c.Users + c.Groups + c.ExternalUsers + c.PartnerGroups + c.CustomerMembers + c.AdminRoles +
		c.ServiceAccounts + c.Organizations + c.Folders + c.Projects + c.Policies + c.CustomRoles
}

// Edges is the number of edges the import creates: memberships, admin
// role assignments, and one Contains edge per folder and project.
func (c Counts) Edges() int { return c.Memberships + c.RoleAssignments + c.Folders + c.Projects }

// DerivedNodes is Nodes plus what policy/gcp adds: one deploy capability
// per project, one node per predefined role bound and per external member,
// and the customer's "every group" set that its super admins reach.
func (c Counts) DerivedNodes() int {
	n := c.Nodes() + c.Projects + c.PredefinedRoles + c.ExternalPrincipals
	if c.Users > 0 && c.Groups > 0 { // the first users are super admins
		n++
	}
	return n
}

// Bytes is the total size written.
func (c Counts) Bytes() int64 {
	var n int64
	for _, f := range c.Files {
		n += f.Bytes
	}
	return n
}

// ours reports whether a file name is one Write produces (and may replace).
func ours(name string) bool {
	switch name {
	case DirectoryFile, GCPCaptureFile, CAIResourceFile, CAIPolicyFile:
		return true
	}
	return strings.HasSuffix(name, ".roles.json") && (strings.HasPrefix(name, "organization-") || strings.HasPrefix(name, "project-"))
}

// Write generates the organisation into dir (created if missing). Files a
// previous Write left there are replaced; any other file is an error,
// since `collect google --from` would import it too.
func (o *Org) Write(dir string) (Counts, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Counts{}, fmt.Errorf("gengoogle: create %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Counts{}, fmt.Errorf("gengoogle: read %s: %w", dir, err)
	}
	for _, e := range entries {
		if !ours(e.Name()) {
			return Counts{}, fmt.Errorf("gengoogle: %s holds %s, which is not generated output: use an empty directory", dir, e.Name())
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return Counts{}, fmt.Errorf("gengoogle: remove old output: %w", err)
		}
	}
	w := &writer{o: o, dir: dir, tally: newTally(o.cfg.Domain)}
	if err := w.file(DirectoryFile, w.directory); err != nil {
		return Counts{}, err
	}
	if o.cfg.Projects > 0 {
		if o.cfg.Format == FormatCapture {
			err = w.file(GCPCaptureFile, w.gcpCapture)
		} else {
			err = w.cai()
		}
		if err != nil {
			return Counts{}, err
		}
	}
	w.c.BindingPairs = len(w.tally.pairs)
	w.c.PredefinedRoles = len(w.tally.roles)
	w.c.ExternalPrincipals = len(w.tally.external)
	w.c.Depth = o.cfg.Depth
	return w.c, nil
}

// writer holds one Write: the counts, the binding tally, a line buffer.
type writer struct {
	o     *Org
	dir   string
	out   *bufio.Writer
	c     Counts
	tally *tally
	line  []byte
}

// file creates name, runs fill on a buffered writer, and records the size.
func (w *writer) file(name string, fill func() error) (err error) {
	path := filepath.Join(w.dir, name)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gengoogle: create %s: %w", path, err)
	}
	cw := &countingWriter{w: f}
	w.out = bufio.NewWriterSize(cw, 1<<20)
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("gengoogle: close %s: %w", path, cerr)
		}
	}()
	if err := fill(); err != nil {
		return fmt.Errorf("gengoogle: write %s: %w", path, err)
	}
	if err := w.out.Flush(); err != nil {
		return fmt.Errorf("gengoogle: write %s: %w", path, err)
	}
	w.c.Files = append(w.c.Files, FileSize{Name: name, Bytes: cw.n})
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// page writes one raw capture line {"url":...,"status":200,"body":...}.
func (w *writer) page(u string, body []byte) error {
	b := w.line[:0]
	b = append(b, `{"url":`...)
	b = appendStr(b, u)
	b = append(b, `,"status":200,"body":`...)
	b = append(b, body...)
	b = append(b, "}\n"...)
	w.line = b
	w.c.Pages++
	_, err := w.out.Write(b)
	return err
}

// token is the nextPageToken of page n of one listing: opaque, distinct.
func (o *Org) token(list uint64, key, n int) string {
	return "Q" + strconv.FormatUint(o.hash(list, key, uint64(n), 0x70a6e), 36)
}

func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	v.Set("alt", "json")
	v.Set("prettyPrint", "false")
	return v.Encode()
}

// JSON helpers: output is built by appending, one page at a time.

func appendStr(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendKey(b []byte, first bool, k string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = appendStr(b, k)
	return append(b, ':')
}

func appendKV(b []byte, first bool, k, v string) []byte {
	return appendStr(appendKey(b, first, k), v)
}

func appendBool(b []byte, k string, v bool) []byte {
	return strconv.AppendBool(appendKey(b, false, k), v)
}

func appendStrList(b []byte, xs []string) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, x)
	}
	return append(b, ']')
}

func timestamp(h uint64, fromYear, years int) string {
	days := int(h % uint64(years*365))
	y := fromYear + days/365
	d := days % 365
	m := d/31 + 1
	if m > 12 {
		m = 12
	}
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.000Z", y, m, d%28+1, h>>20%24, h>>28%60, h>>36%60)
}

// Directory API capture, in the order the live collector requests it:
// users, groups, admin roles, role assignments, then every group's members.
func (w *writer) directory() error {
	o := w.o
	c := o.cfg
	as := o.assignments()
	var body []byte
	for start, n := 0, 0; start < c.Users; start, n = start+usersPage, n+1 {
		end := min(start+usersPage, c.Users)
		body = append(body[:0], `{"kind":"admin#directory#users"`...)
		if end < c.Users {
			body = appendKV(body, false, "nextPageToken", o.token(domUser, 0, n))
		}
		body = append(body, `,"users":[`...)
		for u := start; u < end; u++ {
			if u > start {
				body = append(body, ',')
			}
			body = o.appendUser(body, u, as)
		}
		body = append(body, "]}"...)
		tok := ""
		if n > 0 {
			tok = o.token(domUser, 0, n-1)
		}
		if err := w.page(directoryBase+"users?"+query("customer", "my_customer", "fields", usersFields, "maxResults", "500", "pageToken", tok), body); err != nil {
			return err
		}
		w.c.Users += end - start
	}

	for start, n := 0, 0; start < c.Groups; start, n = start+groupsPage, n+1 {
		end := min(start+groupsPage, c.Groups)
		body = append(body[:0], `{"kind":"admin#directory#groups"`...)
		if end < c.Groups {
			body = appendKV(body, false, "nextPageToken", o.token(domGroup, 0, n))
		}
		body = append(body, `,"groups":[`...)
		for g := start; g < end; g++ {
			if g > start {
				body = append(body, ',')
			}
			s := o.groupState(g)
			body = appendKV(append(body, '{'), true, "id", o.GroupID(g))
			body = appendKV(body, false, "email", o.GroupEmail(g))
			body = appendKV(body, false, "name", o.groupName(g, s))
			if a := o.groupAlias(g); a != "" {
				body = appendStrList(appendKey(body, false, "aliases"), []string{a})
			}
			body = appendKV(body, false, "directMembersCount", strconv.Itoa(o.countMembers(g, s)))
			body = append(body, '}')
		}
		body = append(body, "]}"...)
		tok := ""
		if n > 0 {
			tok = o.token(domGroup, 0, n-1)
		}
		if err := w.page(directoryBase+"groups?"+query("customer", "my_customer", "fields", groupsFields, "maxResults", "200", "pageToken", tok), body); err != nil {
			return err
		}
		w.c.Groups += end - start
	}

	body = append(body[:0], `{"kind":"admin#directory#roles","items":[`...)
	for i, r := range adminRoles() {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendKV(append(body, '{'), true, "roleId", strconv.FormatInt(r.id, 10))
		body = appendKV(body, false, "roleName", r.name)
		body = append(appendKey(body, false, "rolePrivileges"), '[')
		for k, p := range r.privileges {
			if k > 0 {
				body = append(body, ',')
			}
			body = appendKV(append(body, '{'), true, "serviceId", "00haapch16h1ysv")
			body = append(appendKV(body, false, "privilegeName", p), '}')
		}
		body = append(body, ']')
		if r.super {
			body = appendBool(body, "isSuperAdminRole", true)
		}
		body = append(body, '}')
		w.c.AdminRoles++
	}
	body = append(body, "]}"...)
	if err := w.page(directoryBase+"customer/my_customer/roles?"+query("fields", rolesFields, "maxResults", "100"), body); err != nil {
		return err
	}
	body = append(body[:0], `{"kind":"admin#directory#roleAssignments","items":[`...)
	for i, a := range as {
		if i > 0 {
			body = append(body, ',')
		}
		body = appendKV(append(body, '{'), true, "roleAssignmentId", strconv.FormatInt(a.id, 10))
		body = appendKV(body, false, "roleId", strconv.FormatInt(a.role, 10))
		if a.user >= 0 {
			body = appendKV(body, false, "assignedTo", o.UserID(a.user))
			body = appendKV(body, false, "assigneeType", "user")
		} else {
			body = appendKV(body, false, "assignedTo", o.GroupID(a.group))
			body = appendKV(body, false, "assigneeType", "group")
		}
		body = appendKV(body, false, "scopeType", a.scope)
		if a.orgUnit != "" {
			body = appendKV(body, false, "orgUnitId", a.orgUnit)
		}
		if a.condition != "" {
			body = appendKV(body, false, "condition", a.condition)
		}
		body = append(body, '}')
		w.c.RoleAssignments++
	}
	body = append(body, "]}"...)
	if err := w.page(directoryBase+"customer/my_customer/roleassignments?"+query("fields", assignFields, "maxResults", "200"), body); err != nil {
		return err
	}

	ext := make([]bool, o.extPool)
	var partner [partnerGroups]bool
	pageBuf := make([]member, 0, membersPage+1)
	for g := range c.Groups {
		s := o.groupState(g)
		gid := o.GroupID(g)
		base := directoryBase + "groups/" + url.PathEscape(gid) + "/members?"
		n := 0
		var werr error
		flush := func(last bool) {
			if werr != nil {
				return
			}
			body = append(body[:0], `{"kind":"admin#directory#members"`...)
			if !last {
				body = appendKV(body, false, "nextPageToken", o.token(domMember, g, n))
			}
			if len(pageBuf) > 0 {
				body = append(body, `,"members":[`...)
				for i, m := range pageBuf[:min(len(pageBuf), membersPage)] {
					if i > 0 {
						body = append(body, ',')
					}
					body = o.appendMember(body, m)
				}
				body = append(body, ']')
			}
			body = append(body, '}')
			tok := ""
			if n > 0 {
				tok = o.token(domMember, g, n-1)
			}
			werr = w.page(base+query("fields", membersFields, "maxResults", "200", "pageToken", tok), body)
			n++
		}
		o.members(g, s, func(m member) {
			if len(pageBuf) == membersPage {
				flush(false)
				pageBuf = pageBuf[:0]
			}
			pageBuf = append(pageBuf, m)
			w.c.Memberships++
			switch m.role {
			case roleOwner:
				w.c.Owners++
			case roleManager:
				w.c.Managers++
			}
			switch m.kind {
			case mExternal:
				if !ext[m.idx] {
					ext[m.idx] = true
					w.c.ExternalUsers++
				}
			case mPartnerGroup:
				if !partner[m.idx] {
					partner[m.idx] = true
					w.c.PartnerGroups++
				}
			case mCustomer:
				w.c.CustomerMembers = 1
			}
		})
		flush(true)
		pageBuf = pageBuf[:0]
		if werr != nil {
			return werr
		}
	}
	return nil
}

func (o *Org) appendUser(b []byte, u int, as []assignment) []byte {
	s := o.userState(u)
	b = append(b, `{"id":`...)
	b = append(o.appendUserID(append(b, '"'), u), '"')
	b = append(b, `,"primaryEmail":"`...)
	b = append(o.appendUserEmail(b, u), '"')
	b = append(b, `,"name":{"fullName":`...)
	b = append(appendStr(b, o.userName(u, s.ver)), '}')
	b = appendBool(b, "isAdmin", u < superAdmins)
	b = appendBool(b, "isDelegatedAdmin", o.delegatedAdmin(u, as))
	b = appendBool(b, "suspended", s.suspended)
	var aliases []string
	if unit(o.hash(domName, u, 3)) < 0.1 {
		f := strings.ToLower(firstNames[o.hash(domName, u, 1)%uint64(len(firstNames))])
		aliases = append(aliases, f+"."+strconv.Itoa(u)+"@"+o.cfg.Domain)
	}
	if s.ver%2 == 1 {
		aliases = append(aliases, "user"+strconv.Itoa(u)+".alt@"+o.cfg.Domain)
	}
	if len(aliases) > 0 {
		b = appendStrList(appendKey(b, false, "aliases"), aliases)
	}
	login := "1970-01-01T00:00:00.000Z" // never logged in
	if unit(o.hash(domName, u, 4)) >= 0.03 {
		login = timestamp(o.hash(domName, u, 5, uint64(s.ver)), 2026, 1)
	}
	b = appendKV(b, false, "lastLoginTime", login)
	b = appendKV(b, false, "creationTime", timestamp(o.hash(domName, u, 6), 2014, 12))
	b = appendKV(b, false, "customerId", o.cfg.Customer)
	return append(b, '}')
}

func (o *Org) appendMember(b []byte, m member) []byte {
	status := "ACTIVE"
	b = append(b, '{')
	switch m.kind {
	case mUser:
		b = append(b, `"id":"`...)
		b = append(o.appendUserID(b, m.idx), '"')
		b = append(b, `,"email":"`...)
		b = append(o.appendUserEmail(b, m.idx), '"')
		b = appendKV(b, false, "type", "USER")
		if o.userState(m.idx).suspended {
			status = "SUSPENDED"
		}
	case mGroup:
		b = appendKV(b, true, "id", o.GroupID(m.idx))
		b = appendKV(b, false, "email", o.GroupEmail(m.idx))
		b = appendKV(b, false, "type", "GROUP")
	case mExternal:
		if id := o.externalID(m.idx); id != "" {
			b = appendKV(b, true, "id", id)
			b = appendKV(b, false, "email", o.externalEmail(m.idx))
			b = appendKV(b, false, "type", "USER")
		} else {
			b = appendKV(b, true, "email", o.externalEmail(m.idx))
			b = appendKV(b, false, "type", "EXTERNAL")
		}
	case mPartnerGroup:
		b = appendKV(b, true, "id", o.partnerGroupID(m.idx))
		b = appendKV(b, false, "email", o.partnerGroupEmail(m.idx))
		b = appendKV(b, false, "type", "GROUP")
	case mCustomer:
		b = appendKV(b, true, "id", o.cfg.Customer)
		b = appendKV(b, false, "type", "CUSTOMER")
	case mServiceAcct:
		b = appendKV(b, true, "id", o.SAUniqueID(m.idx))
		b = appendKV(b, false, "email", o.SAEmail(m.idx))
		b = appendKV(b, false, "type", "USER")
	}
	b = appendKV(b, false, "role", roleNames[m.role])
	b = appendKV(b, false, "status", status)
	return append(b, '}')
}

// tally collects the binding statistics over all policies. Its sets grow
// with the number of bindings (tens of thousands), not with users.
type tally struct {
	domain   string
	pairs    map[string]struct{}
	roles    map[string]struct{}
	external map[string]struct{}
}

func newTally(domain string) *tally {
	return &tally{domain: domain, pairs: map[string]struct{}{}, roles: map[string]struct{}{}, external: map[string]struct{}{}}
}

// collected reports whether an IAM member names a node a collector emits:
// a directory user or group, or a service account of the organisation.
func (t *tally) collected(m string) bool {
	kind, email, _ := strings.Cut(m, ":")
	switch kind {
	case "user", "group":
		return strings.HasSuffix(email, "@"+t.domain)
	case "serviceAccount":
		return strings.HasSuffix(email, "-compute@developer.gserviceaccount.com") ||
			(strings.HasSuffix(email, ".iam.gserviceaccount.com") && !strings.Contains(email, "@serverless-robot-prod."))
	}
	return false
}

func (w *writer) count(bs []binding) {
	for _, b := range bs {
		if strings.HasPrefix(b.role, "roles/") {
			w.tally.roles[b.role] = struct{}{}
		}
		for _, m := range b.members {
			w.c.Grants++
			if b.cond != nil {
				w.c.ConditionalGrants++
			}
			w.tally.pairs[m+"\x00"+b.role] = struct{}{}
			if !w.tally.collected(m) {
				w.tally.external[m] = struct{}{}
			}
		}
	}
}

// appendPolicy writes an IAM policy (version 3 when a binding is
// conditional); the etag is a hash of the content, so it changes exactly
// when the policy does.
func appendPolicy(b []byte, bs []binding) []byte {
	var inner []byte
	version := 1
	for i, bd := range bs {
		if i > 0 {
			inner = append(inner, ',')
		}
		inner = appendKV(append(inner, '{'), true, "role", bd.role)
		inner = appendStrList(appendKey(inner, false, "members"), bd.members)
		if bd.cond != nil {
			version = 3
			inner = append(appendKey(inner, false, "condition"), '{')
			inner = appendKV(inner, true, "title", bd.cond.title)
			if bd.cond.description != "" {
				inner = appendKV(inner, false, "description", bd.cond.description)
			}
			inner = append(appendKV(inner, false, "expression", bd.cond.expression), '}')
		}
		inner = append(inner, '}')
	}
	h := fnv.New64a()
	h.Write(inner)
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(version), 10)
	b = appendKV(b, false, "etag", "BwY"+strconv.FormatUint(h.Sum64(), 36))
	if len(bs) > 0 {
		b = append(b, `,"bindings":[`...)
		b = append(b, inner...)
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendRole(b []byte, name string, r customRole) []byte {
	b = appendKV(append(b, '{'), true, "name", name)
	b = appendKV(b, false, "title", r.title)
	b = appendKV(b, false, "description", "Created by the platform team")
	perms := append([]string(nil), r.perms...)
	sort.Strings(perms)
	b = appendStrList(appendKey(b, false, "includedPermissions"), perms)
	b = appendKV(b, false, "stage", r.stage)
	b = appendKV(b, false, "etag", "BwX"+strconv.Itoa(len(perms)))
	return append(b, '}')
}

func (o *Org) projectDisplayName(p int) string {
	a := apps[o.hash(domProject, p, 6)%uint64(len(apps))]
	return strings.ToUpper(a[:1]) + a[1:] + " " + o.projectEnv(p) + " " + strconv.Itoa(p)
}

// cai writes the Cloud Asset Inventory export (RESOURCE and IAM_POLICY
// content types, as `gcloud asset export` writes them) and the custom
// roles as roles.list answers (CAI has no role definitions).
func (w *writer) cai() error {
	o := w.o
	c := o.cfg
	orgName := "organizations/" + c.Org
	crmAsset := "//cloudresourcemanager.googleapis.com/"
	err := w.file(CAIResourceFile, func() error {
		var b []byte
		line := func() error {
			b = append(b, '\n')
			_, err := w.out.Write(b)
			return err
		}
		b = appendKV(append(b[:0], '{'), true, "name", crmAsset+orgName)
		b = appendKV(b, false, "assetType", "cloudresourcemanager.googleapis.com/Organization")
		b = append(b, `,"resource":{"version":"v1","discoveryName":"Organization","data":{`...)
		b = appendKV(b, true, "name", orgName)
		b = appendKV(b, false, "displayName", c.Domain)
		b = append(appendKV(b, false, "lifecycleState", "ACTIVE"), `,"owner":{"directoryCustomerId":`...)
		b = append(appendStr(b, c.Customer), "}}}"...)
		b = append(appendStrList(appendKey(b, false, "ancestors"), []string{orgName}), '}')
		if err := line(); err != nil {
			return err
		}
		w.c.Organizations = 1
		for f := range c.Folders {
			parent := orgName
			if pf := o.folderParent(f); pf >= 0 {
				parent = "folders/" + o.FolderNumber(pf)
			}
			name := "folders/" + o.FolderNumber(f)
			b = appendKV(append(b[:0], '{'), true, "name", crmAsset+name)
			b = appendKV(b, false, "assetType", "cloudresourcemanager.googleapis.com/Folder")
			b = append(b, `,"resource":{"version":"v2","discoveryName":"Folder"`...)
			b = append(appendKV(b, false, "parent", crmAsset+parent), `,"data":{`...)
			b = appendKV(b, true, "name", name)
			b = appendKV(b, false, "parent", parent)
			b = appendKV(b, false, "displayName", o.folderName(f))
			b = append(appendKV(b, false, "lifecycleState", "ACTIVE"), "}}"...)
			b = append(appendStrList(appendKey(b, false, "ancestors"), o.folderAncestors(f, nil)), '}')
			if err := line(); err != nil {
				return err
			}
			w.c.Folders++
		}
		for p := range c.Projects {
			anc := o.projectAncestors(p)
			parent := o.projectParent(p)
			b = appendKV(append(b[:0], '{'), true, "name", crmAsset+"projects/"+o.ProjectNumber(p))
			b = appendKV(b, false, "assetType", "cloudresourcemanager.googleapis.com/Project")
			b = append(b, `,"resource":{"version":"v1","discoveryName":"Project"`...)
			b = append(appendKV(b, false, "parent", crmAsset+parent), `,"data":{`...)
			b = appendKV(b, true, "projectNumber", o.ProjectNumber(p))
			b = appendKV(b, false, "projectId", o.ProjectID(p))
			b = appendKV(b, false, "lifecycleState", "ACTIVE")
			b = appendKV(b, false, "name", o.projectDisplayName(p))
			typ, id, _ := strings.Cut(parent, "s/")
			b = append(appendKey(b, false, "parent"), '{')
			b = appendKV(b, true, "type", typ)
			b = append(appendKV(b, false, "id", id), "}}}"...)
			b = append(appendStrList(appendKey(b, false, "ancestors"), anc), '}')
			if err := line(); err != nil {
				return err
			}
			w.c.Projects++
			for s := int(o.saStart[p]); s < int(o.saStart[p+1]); s++ {
				email, uid, pid := o.SAEmail(s), o.SAUniqueID(s), o.ProjectID(p)
				b = appendKV(append(b[:0], '{'), true, "name", "//iam.googleapis.com/projects/"+pid+"/serviceAccounts/"+uid)
				b = appendKV(b, false, "assetType", "iam.googleapis.com/ServiceAccount")
				b = append(b, `,"resource":{"version":"v1","discoveryName":"ServiceAccount"`...)
				b = append(appendKV(b, false, "parent", crmAsset+"projects/"+o.ProjectNumber(p)), `,"data":{`...)
				b = appendKV(b, true, "email", email)
				b = appendKV(b, false, "uniqueId", uid)
				b = appendKV(b, false, "projectId", pid)
				b = appendKV(b, false, "displayName", o.saDisplayName(s))
				b = appendKV(b, false, "name", "projects/"+pid+"/serviceAccounts/"+email)
				b = appendKV(b, false, "oauth2ClientId", uid)
				if o.saDisabled(s) {
					b = appendBool(b, "disabled", true)
				}
				b = append(b, "}}"...)
				b = append(appendStrList(appendKey(b, false, "ancestors"), anc), '}')
				if err := line(); err != nil {
					return err
				}
				w.c.ServiceAccounts++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	err = w.file(CAIPolicyFile, func() error {
		var b []byte
		asset := func(name, typ string, bs []binding, anc []string) error {
			if len(bs) == 0 {
				return nil
			}
			b = appendKV(append(b[:0], '{'), true, "name", name)
			b = appendKV(b, false, "asset_type", typ)
			b = appendPolicy(appendKey(b, false, "iam_policy"), bs)
			b = append(appendStrList(appendKey(b, false, "ancestors"), anc), "}\n"...)
			_, err := w.out.Write(b)
			return err
		}
		policy := func(gs []grant) []binding {
			bs := bindingsOf(gs)
			w.count(bs)
			if len(bs) > 0 {
				w.c.Policies++
			}
			return bs
		}
		if err := asset(crmAsset+orgName, "cloudresourcemanager.googleapis.com/Organization", policy(o.orgGrants()), []string{orgName}); err != nil {
			return err
		}
		for f := range c.Folders {
			name := crmAsset + "folders/" + o.FolderNumber(f)
			if err := asset(name, "cloudresourcemanager.googleapis.com/Folder", policy(o.folderGrants(f)), o.folderAncestors(f, nil)); err != nil {
				return err
			}
		}
		for p := range c.Projects {
			anc := o.projectAncestors(p)
			if err := asset(crmAsset+"projects/"+o.ProjectNumber(p), "cloudresourcemanager.googleapis.com/Project", policy(o.projectGrants(p)), anc); err != nil {
				return err
			}
			for s := int(o.saStart[p]); s < int(o.saStart[p+1]); s++ {
				name := "//iam.googleapis.com/projects/" + o.ProjectID(p) + "/serviceAccounts/" + o.SAUniqueID(s)
				if err := asset(name, "iam.googleapis.com/ServiceAccount", policy(o.saGrants(s)), anc); err != nil {
					return err
				}
			}
			if p%4 == 0 {
				// Buckets: asset types without a node in the graph
				// contract, which the importer counts and skips.
				bs := bindingsOf([]grant{{role: "roles/storage.objectViewer", member: o.groupMember(o.deployersOf(p))}})
				if err := asset("//storage.googleapis.com/"+o.ProjectID(p)+"-artifacts", "storage.googleapis.com/Bucket", bs, anc); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	if err := w.file("organization-"+c.Org+".roles.json", func() error {
		b := []byte(`{"roles":[`)
		for i, r := range orgCustomRoles() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRole(b, o.orgRoleName(r.id), r)
			w.c.CustomRoles++
		}
		b = append(b, "]}\n"...)
		_, err := w.out.Write(b)
		return err
	}); err != nil {
		return err
	}
	for p := range c.Projects {
		if !o.projCustom[p] {
			continue
		}
		pid := o.ProjectID(p)
		if err := w.file("project-"+pid+".roles.json", func() error {
			r := projectCustomRole()
			b := append(appendRole([]byte(`{"roles":[`), "projects/"+pid+"/roles/"+r.id, r), "]}\n"...)
			w.c.CustomRoles++
			_, err := w.out.Write(b)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// gcpCapture writes what a live `collect google --save-raw` run records
// from Resource Manager v3 and IAM v1: the organization, the folder tree
// level by level with the projects under each parent, then the policies,
// service accounts and custom roles of every scope, then every service
// account's policy. Every policy is read, so every scope and account gets
// a policy node, empty or not.
func (w *writer) gcpCapture() error {
	o := w.o
	c := o.cfg
	orgName := "organizations/" + c.Org
	var b []byte
	b = appendKV(append(b[:0], '{'), true, "name", orgName)
	b = appendKV(b, false, "displayName", c.Domain)
	b = appendKV(b, false, "state", "ACTIVE")
	b = append(appendKV(b, false, "directoryCustomerId", c.Customer), '}')
	if err := w.page(crmBase+orgName+"?"+query(), b); err != nil {
		return err
	}
	w.c.Organizations = 1

	// list writes the pages of one list call; item appends element i.
	list := func(u string, key, n int, field string, listID uint64, item func(b []byte, i int) []byte, pageSize int) error {
		for start, pg := 0, 0; start < n || pg == 0; start, pg = start+pageSize, pg+1 {
			end := min(start+pageSize, n)
			b = append(b[:0], '{')
			first := true
			if end > start {
				b = append(appendKey(b, true, field), '[')
				for i := start; i < end; i++ {
					if i > start {
						b = append(b, ',')
					}
					b = item(b, i)
				}
				b = append(b, ']')
				first = false
			}
			if end < n {
				b = appendKV(b, first, "nextPageToken", o.token(listID, key, pg))
			}
			b = append(b, '}')
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			tok := ""
			if pg > 0 {
				tok = "&pageToken=" + url.QueryEscape(o.token(listID, key, pg-1))
			}
			if err := w.page(u+sep+query()+tok, b); err != nil {
				return err
			}
		}
		return nil
	}
	folderItem := func(b []byte, f int) []byte {
		parent := orgName
		if pf := o.folderParent(f); pf >= 0 {
			parent = "folders/" + o.FolderNumber(pf)
		}
		b = appendKV(append(b, '{'), true, "name", "folders/"+o.FolderNumber(f))
		b = appendKV(b, false, "parent", parent)
		b = appendKV(b, false, "displayName", o.folderName(f))
		return append(appendKV(b, false, "state", "ACTIVE"), '}')
	}
	projectItem := func(b []byte, p int) []byte {
		b = appendKV(append(b, '{'), true, "name", "projects/"+o.ProjectNumber(p))
		b = appendKV(b, false, "parent", o.projectParent(p))
		b = appendKV(b, false, "projectId", o.ProjectID(p))
		b = appendKV(b, false, "state", "ACTIVE")
		return append(appendKV(b, false, "displayName", o.projectDisplayName(p)), '}')
	}
	var orgProjects []int
	for p := range c.Projects {
		if o.projFolder[p] < 0 {
			orgProjects = append(orgProjects, p)
		}
	}
	for level := []int{-1}; len(level) > 0; {
		var next []int
		for _, parent := range level {
			pname := orgName
			projs := orgProjects
			if parent >= 0 {
				pname = "folders/" + o.FolderNumber(parent)
				projs = projs[:0:0]
				for _, p := range o.folderProjs[parent] {
					projs = append(projs, int(p))
				}
			}
			lo, hi := o.folderChildren(parent)
			err := list(crmBase+"folders?parent="+url.QueryEscape(pname), parent+1, hi-lo, "folders", domFolder,
				func(b []byte, i int) []byte { return folderItem(b, lo+i) }, crmPage)
			if err != nil {
				return err
			}
			for f := lo; f < hi; f++ {
				next = append(next, f)
				w.c.Folders++
			}
			err = list(crmBase+"projects?parent="+url.QueryEscape(pname), parent+1, len(projs), "projects", domProject,
				func(b []byte, i int) []byte { return projectItem(b, projs[i]) }, crmPage)
			if err != nil {
				return err
			}
			w.c.Projects += len(projs)
		}
		level = next
	}

	policy := func(u string, gs []grant) error {
		bs := bindingsOf(gs)
		w.count(bs)
		w.c.Policies++
		return w.page(u, appendPolicy(b[:0], bs))
	}
	if err := policy(crmBase+orgName+":getIamPolicy?"+query(), o.orgGrants()); err != nil {
		return err
	}
	roles := orgCustomRoles()
	err := list(iamBase+orgName+"/roles?pageSize=1000&view=FULL", 0, len(roles), "roles", domID,
		func(b []byte, i int) []byte { return appendRole(b, o.orgRoleName(roles[i].id), roles[i]) }, 1000)
	if err != nil {
		return err
	}
	w.c.CustomRoles += len(roles)
	for f := range c.Folders {
		if err := policy(crmBase+"folders/"+o.FolderNumber(f)+":getIamPolicy?"+query(), o.folderGrants(f)); err != nil {
			return err
		}
	}
	for p := range c.Projects {
		pid := o.ProjectID(p)
		if err := policy(crmBase+"projects/"+pid+":getIamPolicy?"+query(), o.projectGrants(p)); err != nil {
			return err
		}
		lo := int(o.saStart[p])
		err := list(iamBase+"projects/"+pid+"/serviceAccounts?pageSize=100", p, o.saCount(p), "accounts", domSA,
			func(b []byte, i int) []byte {
				s := lo + i
				email, uid := o.SAEmail(s), o.SAUniqueID(s)
				b = appendKV(append(b, '{'), true, "name", "projects/"+pid+"/serviceAccounts/"+email)
				b = appendKV(b, false, "projectId", pid)
				b = appendKV(b, false, "uniqueId", uid)
				b = appendKV(b, false, "email", email)
				b = appendKV(b, false, "displayName", o.saDisplayName(s))
				b = appendKV(b, false, "oauth2ClientId", uid)
				if o.saDisabled(s) {
					b = appendBool(b, "disabled", true)
				}
				return append(b, '}')
			}, saPage)
		if err != nil {
			return err
		}
		w.c.ServiceAccounts += o.saCount(p)
		n := 0
		if o.projCustom[p] {
			n = 1
		}
		r := projectCustomRole()
		err = list(iamBase+"projects/"+pid+"/roles?pageSize=1000&view=FULL", p, n, "roles", domID,
			func(b []byte, _ int) []byte { return appendRole(b, "projects/"+pid+"/roles/"+r.id, r) }, 1000)
		if err != nil {
			return err
		}
		w.c.CustomRoles += n
	}
	for p := range c.Projects {
		pid := o.ProjectID(p)
		for s := int(o.saStart[p]); s < int(o.saStart[p+1]); s++ {
			u := iamBase + "projects/" + pid + "/serviceAccounts/" + o.SAEmail(s) + ":getIamPolicy?" + query("options.requestedPolicyVersion", "3")
			if err := policy(u, o.saGrants(s)); err != nil {
				return err
			}
		}
	}
	if w.c.Folders != c.Folders || w.c.Projects != c.Projects {
		return errors.New("internal: the folder walk missed folders or projects")
	}
	return nil
}
