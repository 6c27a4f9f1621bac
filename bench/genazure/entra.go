package genazure

import (
	"encoding/base64"
	"slices"
	"strconv"
	"time"

	benchgen "permgraph/bench/gen"
)

// ref is a member or owner: kind, slot index and generation packed so that
// sorting a list dedupes it (a slot has one generation per round).
type ref uint64

const (
	refUser  ref = 0
	refGroup ref = 1
	refSP    ref = 2
)

func mkref(kind ref, idx, gen int) ref { return kind<<62 | ref(idx)<<20 | ref(gen) }
func (r ref) kind() ref                { return r >> 62 }
func (r ref) idx() int                 { return int(r >> 20 & (1<<42 - 1)) }
func (r ref) gen() int                 { return int(r & maxGen) }

// extraWeights is the distribution of how many small groups (layers) a
// member user is in, 0-5; with All Staff, a department and usually a team
// that makes 2-8 groups per person.
var extraWeights = []int{5, 15, 20, 25, 20, 15}

// userCore is what membership needs of a user slot.
type userCore struct {
	gen, ver int
	extra    int // small-group layers taken part in
	inTeam   bool
}

// itStaff slots are long-tenured IT staff: never replaced (they still
// change), so the tenant-wide admins picked among them keep their object
// ids. (Until session 5 a replaced tenant-wide admin moved one
// CanAddMember edge per group; policy/azure now links it to one set node.)
const itStaff = 64

func (o *Org) userState(i int) (gen, ver int) {
	share := 1.0 / 3
	if i < itStaff {
		share = 0
	}
	return o.state(domUser, i, share)
}

func (o *Org) userGen(i int) int {
	gen, _ := o.userState(i)
	return gen
}

// pickStaff maps h to an IT staff slot (not a guest).
func (o *Org) pickStaff(h uint64) int {
	u := int(h % uint64(min(itStaff, o.cfg.Users)))
	if IsGuest(u) && u+1 < o.cfg.Users {
		u++
	}
	return u
}

func (o *Org) userCore(i int) userCore {
	gen, ver := o.userState(i)
	c := userCore{gen: gen, ver: ver}
	h := o.hash(domUser, i, uint64(gen))
	guest := IsGuest(i)
	lo, hi := 0, nLayers
	if guest {
		// Guests are only in one or two small (project) groups.
		lo, hi = 1, 2
		c.extra = 1 + int(h>>63)
	} else {
		c.extra = benchgen.Weighted(unit(h), extraWeights)
		c.inTeam = unit(splitmix(h^1)) < 0.9
	}
	for v := 1; v <= ver; v++ {
		m := o.hash(domUserMut, i, uint64(gen), uint64(v))
		switch x := m % 100; {
		case x < 40: // joins or leaves a small group
			if m>>40&1 == 0 {
				c.extra++
			} else {
				c.extra--
			}
			c.extra = min(max(c.extra, lo), hi)
		case x < 50 && !guest: // moves in or out of a team
			c.inTeam = !c.inTeam
		}
	}
	return c
}

// pickUser maps h to a member (non-guest) user slot.
func (o *Org) pickUser(h uint64) int {
	n := o.cfg.Users
	u := int(h % uint64(n))
	if IsGuest(u) {
		if u+1 < n {
			u++
		} else if u > 0 {
			u--
		}
	}
	return u
}

func (o *Org) userRef(u int) ref { return mkref(refUser, u, o.userGen(u)) }

func (o *Org) hostileRate() float64 { return min(0.05, max(0.001, 5/float64(o.cfg.Users))) }

func (o *Org) personName(h uint64) string {
	if unit(splitmix(h^0x51)) < o.hostileRate() {
		return hostileNames[(h>>8)%uint64(len(hostileNames))]
	}
	return firstNames[h%uint64(len(firstNames))] + " " + lastNames[(h>>16)%uint64(len(lastNames))]
}

// userDetails is a user's directory object at the current round.
type userDetails struct {
	userCore
	name                string
	enabled, signedIn   bool
	hasMail, otherMail  bool
	created, lastSignIn time.Time
}

func (o *Org) user(i int) userDetails {
	d := userDetails{userCore: o.userCore(i)}
	h := o.hash(domUser, i, uint64(d.gen), 7)
	d.name = o.personName(h)
	d.enabled = unit(splitmix(h^2)) >= 0.04
	d.created = dateIn(splitmix(h^3), 0, 4200)
	if d.gen > 0 {
		d.created = dateIn(splitmix(h^3), 4200, 4290) // joiners are recent
	}
	// Sign-in times change only with churn, so that an unchanged user is
	// an unchanged node from one day to the next.
	d.signedIn = unit(splitmix(h^4)) < 0.87
	d.lastSignIn = dateIn(splitmix(h^5), 4200, 4320)
	d.hasMail = IsGuest(i) || unit(splitmix(h^6)) >= 0.05
	d.otherMail = unit(splitmix(h^8)) < 0.08
	for v := 1; v <= d.ver; v++ {
		m := o.hash(domUserMut, i, uint64(d.gen), uint64(v))
		switch x := m % 100; {
		case x >= 50 && x < 70:
			d.name = o.personName(splitmix(m))
		case x >= 70 && x < 85:
			d.enabled = !d.enabled
		case x >= 85:
			d.signedIn, d.lastSignIn = true, dateIn(splitmix(m), 4300, 4330)
		}
	}
	return d
}

// appendUser appends user slot i as a Graph user object with the fields
// the collector selects.
func (o *Org) appendUser(dst []byte, i int) []byte {
	d := o.user(i)
	dst = append(dst, `{"id":"`...)
	dst = o.appendGUID(dst, domUser, i, d.gen)
	dst = append(dst, `","displayName":`...)
	dst = appendString(dst, d.name)
	dst = append(dst, `,"userPrincipalName":`...)
	dst = appendString(dst, o.UPN(i))
	dst = append(dst, `,"mail":`...)
	if d.hasMail {
		dst = appendString(dst, o.Mail(i))
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"otherMails":[`...)
	if d.otherMail {
		dst = appendString(dst, "user"+strconv.Itoa(i)+".home@mail.example")
	}
	dst = append(dst, `],"accountEnabled":`...)
	dst = appendBool(dst, d.enabled)
	if IsGuest(i) {
		dst = append(dst, `,"userType":"Guest","createdDateTime":`...)
	} else {
		dst = append(dst, `,"userType":"Member","createdDateTime":`...)
	}
	dst = appendTime(dst, d.created)
	dst = append(dst, `,"signInActivity":`...)
	if d.signedIn {
		dst = append(dst, `{"lastSignInDateTime":`...)
		dst = appendTime(dst, d.lastSignIn)
		dst = append(dst, `,"lastNonInteractiveSignInDateTime":`...)
		dst = appendTime(dst, d.lastSignIn.Add(-3*time.Hour))
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}')
}

type groupKind uint8

const (
	gkAllStaff groupKind = iota
	gkSpecial
	gkDept
	gkTeam
	gkChain
	gkSmall
)

func (o *Org) kindOf(g int) (groupKind, int) {
	switch {
	case g == 0:
		return gkAllStaff, 0
	case g < o.deptStart:
		return gkSpecial, g - 1
	case g < o.teamStart:
		return gkDept, g - o.deptStart
	case g < o.chainStart:
		return gkTeam, g - o.teamStart
	case g < o.smallStart:
		return gkChain, g - o.chainStart
	}
	return gkSmall, g - o.smallStart
}

// groupState: small (project) groups are deleted and re-created; the
// others only change.
func (o *Org) groupState(g int) (gen, ver int) {
	share := 0.0
	if k, _ := o.kindOf(g); k == gkSmall {
		share = 1.0 / 3
	}
	return o.state(domGroup, g, share)
}

func (o *Org) groupRef(g int) ref {
	gen, _ := o.groupState(g)
	return mkref(refGroup, g, gen)
}

var specialGroupNames = [nSpecial]string{"Tenant Admins", "Helpdesk Operators", "Break Glass Accounts", "Azure Platform Owners", "Cloud Engineering", "AKS Cluster Admins", "Contractors", "Security Operations"}

// group is one group's directory object.
type group struct {
	kind                  groupKind
	k, gen, ver           int
	name, mail, rule      string
	types                 []string
	security, mailEnabled bool
	roleAssignable        int8 // -1 null (never set), 0 false, 1 true
}

func (o *Org) deptName(d int) string {
	n := deptNames[d%len(deptNames)]
	if d >= len(deptNames) {
		n += " " + strconv.Itoa(d/len(deptNames)+1)
	}
	return n
}

func (o *Org) group(g int) group {
	kind, k := o.kindOf(g)
	gen, ver := o.groupState(g)
	gr := group{kind: kind, k: k, gen: gen, ver: ver, security: true, roleAssignable: -1, types: []string{}}
	h := o.hash(domGroup, g, uint64(gen))
	switch kind {
	case gkAllStaff:
		gr.name, gr.types, gr.rule = "All Staff", []string{"DynamicMembership"}, `(user.userType -eq "Member")`
	case gkSpecial:
		gr.name = specialGroupNames[k]
		gr.roleAssignable = 0
		if k <= spBreakGlass {
			gr.roleAssignable = 1
		}
	case gkDept:
		gr.name = o.deptName(k) + " Department"
	case gkTeam:
		gr.name = "team-" + slug(o.deptName(k%o.nDept)) + "-" + strconv.Itoa(k/o.nDept)
	case gkChain:
		c, l := k/o.cfg.Depth, k%o.cfg.Depth
		gr.name = slug(o.deptName(c%o.nDept)) + "-" + levelNames[l%len(levelNames)]
		if l >= len(levelNames) {
			gr.name += strconv.Itoa(l / len(levelNames))
		}
		gr.name += "-" + strconv.Itoa(c)
	case gkSmall:
		app := appNames[h>>8%uint64(len(appNames))]
		topic := topics[h>>16%uint64(len(topics))]
		s := strconv.Itoa(k)
		switch x := h % 20; {
		case x < 8:
			gr.name = "proj-" + app + "-" + s
		case x < 14: // Microsoft 365 group: anyone may create one and name it
			gr.name, gr.types, gr.security, gr.mailEnabled = topic+" "+s, []string{"Unified"}, false, true
			gr.mail = slug(topic) + "-" + s + "@" + o.cfg.Domain
			if unit(splitmix(h^0x77)) < 0.03 {
				gr.name = o.personName(splitmix(h^0x78) | 1)
				if unit(splitmix(h^0x79)) < 0.5 {
					gr.name = hostileNames[h>>24%uint64(len(hostileNames))]
				}
			}
		case x < 17:
			gr.name, gr.security, gr.mailEnabled = "dl-"+slug(topic)+"-"+s, false, true
			gr.mail = gr.name + "@" + o.cfg.Domain
		default:
			gr.name = "sec-" + app + "-" + envNames[h>>24%uint64(len(envNames))] + "-" + s
		}
		if gen > 0 {
			gr.name += " (v" + strconv.Itoa(gen+1) + ")"
		}
	}
	for v := 1; v <= ver; v++ {
		if m := o.hash(domGroupMut, g, uint64(gen), uint64(v)); m%10 >= 5 && m%10 < 7 {
			gr.name += " *"
		}
	}
	return gr
}

func (o *Org) appendGroup(dst []byte, g int) []byte {
	gr := o.group(g)
	dst = append(dst, `{"id":"`...)
	dst = o.appendGUID(dst, domGroup, g, gr.gen)
	dst = append(dst, `","displayName":`...)
	dst = appendString(dst, gr.name)
	dst = append(dst, `,"mail":`...)
	dst = appendStringOrNull(dst, gr.mail)
	dst = append(dst, `,"securityEnabled":`...)
	dst = appendBool(dst, gr.security)
	dst = append(dst, `,"mailEnabled":`...)
	dst = appendBool(dst, gr.mailEnabled)
	dst = append(dst, `,"groupTypes":`...)
	dst = appendStrings(dst, gr.types)
	dst = append(dst, `,"isAssignableToRole":`...)
	switch gr.roleAssignable {
	case -1:
		dst = append(dst, "null"...)
	default:
		dst = appendBool(dst, gr.roleAssignable == 1)
	}
	dst = append(dst, `,"membershipRule":`...)
	dst = appendStringOrNull(dst, gr.rule)
	return append(dst, '}')
}

// members returns group g's direct members (users, nested groups, service
// principals), deduplicated, in time proportional to their number.
func (o *Org) members(g int, buf []ref) []ref {
	kind, k := o.kindOf(g)
	gen, ver := o.groupState(g)
	buf = buf[:0]
	n := o.cfg.Users
	h := o.hash(domGroup, g, uint64(gen), 11)
	switch kind {
	case gkAllStaff:
		// A dynamic group: every member user, no manual changes.
		for u := range n {
			if !IsGuest(u) {
				buf = append(buf, o.userRef(u))
			}
		}
		return buf
	case gkSpecial:
		buf = o.specialMembers(g, k, buf)
	case gkDept:
		for u := k; u < n; u += o.nDept {
			if !IsGuest(u) {
				buf = append(buf, o.userRef(u))
			}
		}
	case gkTeam:
		for u := k; u < n; u += o.nTeam {
			if c := o.userCore(u); !IsGuest(u) && c.inTeam {
				buf = append(buf, mkref(refUser, u, c.gen))
			}
		}
	case gkChain:
		if k%o.cfg.Depth == 0 {
			for j := range 5 + int(h%20) {
				buf = append(buf, o.userRef(o.pickUser(o.hash(domPick, g, uint64(j)))))
			}
		} else {
			buf = append(buf, o.groupRef(g-1))
			if h%3 == 0 {
				buf = append(buf, o.userRef(o.pickUser(splitmix(h))))
			}
		}
	case gkSmall:
		j, q := k%nLayers, k/nLayers
		l := &o.layers[j]
		for p := l.starts[q]; p < l.starts[q+1]; p++ {
			u := int(l.perm.at(uint64(p)))
			if c := o.userCore(u); c.extra > j {
				buf = append(buf, mkref(refUser, u, c.gen))
			}
		}
		if k%50 == 0 && o.nTeam > 0 {
			buf = append(buf, o.groupRef(o.teamStart+int(h>>8%uint64(o.nTeam))))
		}
		if k%40 == 1 && o.nTenantSP > 0 {
			buf = append(buf, o.spRef(o.tenantSPIndex(int(h>>16%uint64(o.nTenantSP)))))
		}
	}
	for v := 1; v <= ver; v++ {
		m := o.hash(domGroupMut, g, uint64(gen), uint64(v))
		if m%10 >= 5 {
			continue
		}
		// One person leaves (the user member with the least hash), one or
		// two join.
		best, bestH := -1, uint64(0)
		for i, r := range buf {
			if r.kind() != refUser {
				continue
			}
			if x := splitmix(m ^ uint64(r.idx())); best < 0 || x < bestH {
				best, bestH = i, x
			}
		}
		if best >= 0 && len(buf) > 1 {
			buf[best] = buf[len(buf)-1]
			buf = buf[:len(buf)-1]
		}
		for a := range 1 + int(m>>8%2) {
			buf = append(buf, o.userRef(o.pickUser(splitmix(m+uint64(a)+1))))
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// specialMembers lists the fixed groups' members: a few people each,
// Cloud Engineering with three team groups nested, AKS Cluster Admins
// with two pipelines' service principals, Contractors made of guests.
func (o *Org) specialMembers(g, k int, buf []ref) []ref {
	n := o.cfg.Users
	users := func(count int) {
		for j := range count {
			buf = append(buf, o.userRef(o.pickUser(o.hash(domPick, g, uint64(j)))))
		}
	}
	switch k {
	case spTenantAdmins:
		users(6)
	case spHelpdesk:
		users(max(5, n/20000))
	case spBreakGlass:
		users(2)
	case spPlatformOwners:
		users(5)
	case spCloudEngineering:
		users(40)
		for j := range min(3, o.nTeam) {
			buf = append(buf, o.groupRef(o.teamStart+int(o.hash(domPick, g, uint64(1000+j))%uint64(o.nTeam))))
		}
	case spAKSAdmins:
		users(15)
		for j := range min(2, o.nTenantSP) {
			buf = append(buf, o.spRef(o.tenantSPIndex(int(o.hash(domPick, g, uint64(2000+j))%uint64(o.nTenantSP)))))
		}
	case spContractors:
		count, guests := max(3, n/200), (n+42)/50
		if guests == 0 {
			users(count)
			break
		}
		for j := range count {
			u := 50*int(o.hash(domPick, g, uint64(j))%uint64(guests)) + 7
			buf = append(buf, o.userRef(u))
		}
	case spSecOps:
		users(20)
	}
	return buf
}

// owners returns group g's owners (users, rarely a service principal),
// usually picked among its members.
func (o *Org) owners(g int, members, buf []ref) []ref {
	kind, _ := o.kindOf(g)
	gen, ver := o.groupState(g)
	h := o.hash(domGroup, g, uint64(gen), 21)
	count := 0
	switch kind {
	case gkAllStaff, gkChain:
		count = 1
	case gkSpecial, gkDept:
		count = 1 + int(h%2)
	case gkTeam:
		if unit(h) < 0.8 {
			count = 1
		}
	case gkSmall:
		count = benchgen.Weighted(unit(h), []int{30, 45, 20, 5})
	}
	pick := func(x uint64) ref {
		for t := range 3 {
			if len(members) == 0 {
				break
			}
			if r := members[(x>>(8*t))%uint64(len(members))]; r.kind() == refUser {
				return r
			}
		}
		return o.userRef(o.pickUser(x))
	}
	buf = buf[:0]
	for j := range count {
		buf = append(buf, pick(splitmix(h+uint64(j))))
	}
	if kind == gkSmall && count > 0 && o.nTenantSP > 0 && unit(splitmix(h^0x5b)) < 0.04 {
		buf[0] = o.spRef(o.tenantSPIndex(int(h >> 20 % uint64(o.nTenantSP))))
	}
	for v := 1; v <= ver; v++ {
		if m := o.hash(domGroupMut, g, uint64(gen), uint64(v)); m%10 >= 7 {
			if len(buf) > 0 {
				buf[0] = pick(splitmix(m))
			} else {
				buf = append(buf, pick(splitmix(m)))
			}
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// appendRef appends a directory object as a members/owners page lists it.
func (o *Org) appendRef(dst []byte, r ref) []byte {
	switch r.kind() {
	case refUser:
		dst = append(dst, `{"@odata.type":"#microsoft.graph.user","id":"`...)
		dst = o.appendGUID(dst, domUser, r.idx(), r.gen())
	case refGroup:
		dst = append(dst, `{"@odata.type":"#microsoft.graph.group","id":"`...)
		dst = o.appendGUID(dst, domGroup, r.idx(), r.gen())
	default:
		dst = append(dst, `{"@odata.type":"#microsoft.graph.servicePrincipal","id":"`...)
		dst = o.appendSPID(dst, r.idx(), r.gen())
	}
	return append(dst, `"}`...)
}

type spKind uint8

const (
	skGraph spKind = iota
	skFirstParty
	skTenantApp
	skMI
	skThirdParty
)

// spKindOf returns the kind of service principal s and its rank (tenant
// apps: the application it belongs to).
func (o *Org) spKindOf(s int) (spKind, int) {
	if s == 0 {
		return skGraph, 0
	}
	if s < o.spBase {
		return skFirstParty, s - 1
	}
	r := s - o.spBase
	switch x := r % 10; {
	case x < 6:
		return skTenantApp, 6*(r/10) + x
	case x < 9:
		return skMI, r
	}
	return skThirdParty, r
}

func (o *Org) tenantSPIndex(rank int) int { return o.spBase + 10*(rank/6) + rank%6 }

// spState: managed identities are deleted and re-created with their
// resource; the others only change (owners, enabled).
func (o *Org) spState(s int) (gen, ver int) {
	share := 0.0
	if k, _ := o.spKindOf(s); k == skMI {
		share = 1.0 / 3
	}
	return o.state(domSP, s, share)
}

func (o *Org) spRef(s int) ref {
	gen, _ := o.spState(s)
	return mkref(refSP, s, gen)
}

func (o *Org) appendSPID(dst []byte, s, gen int) []byte { return o.appendGUID(dst, domSP, s, gen) }

var vendors = []string{"Zoom", "Slack", "Salesforce", "DocuSign", "GitHub", "Atlassian Cloud", "ServiceNow", "Workday", "Snowflake", "Datadog"}

// appName is the display name of tenant application a (and of its
// service principal).
func (o *Org) appName(a int) string {
	h := o.hash(domApp, a, 3)
	if unit(splitmix(h^0x31)) < o.hostileRate()/2 {
		return hostileNames[h>>8%uint64(len(hostileNames))]
	}
	app, env := appNames[h%uint64(len(appNames))], envNames[h>>16%uint64(len(envNames))]
	if h>>32%5 == 0 {
		return "ci-deploy-" + app + "-" + env + "-" + strconv.Itoa(a)
	}
	return app + "-" + env + "-" + strconv.Itoa(a)
}

func (o *Org) appendAppID(dst []byte, a int) []byte { return o.appendGUID(dst, domAppID, a, 0) }

// spInfo is a service principal's directory object.
type spInfo struct {
	kind             spKind
	rank, gen        int
	appID, name, typ string
	ownerOrg         string
	enabled          bool
}

func (o *Org) sp(s int) spInfo {
	kind, rank := o.spKindOf(s)
	gen, ver := o.spState(s)
	h := o.hash(domSP, s, uint64(gen))
	p := spInfo{kind: kind, rank: rank, gen: gen, typ: "Application", ownerOrg: msTenant,
		enabled: unit(splitmix(h^2)) >= 0.05 || kind == skGraph || kind == skFirstParty}
	for v := 1; v <= ver; v++ {
		if m := o.hash(domSPMut, s, uint64(gen), uint64(v)); m%2 == 1 {
			p.enabled = !p.enabled
		}
	}
	switch kind {
	case skGraph:
		p.appID, p.name = graphAppID, "Microsoft Graph"
	case skFirstParty:
		p.appID, p.name = firstPartyApps[rank].appID, firstPartyApps[rank].name
	case skTenantApp:
		p.appID, p.ownerOrg, p.name = string(o.appendAppID(nil, rank)), o.tenant, o.appName(rank)
	case skMI:
		p.appID, p.typ, p.ownerOrg = o.guid(domAppID, 1<<40+s, gen), "ManagedIdentity", ""
		app, env := appNames[h>>8%uint64(len(appNames))], envNames[h>>16%uint64(len(envNames))]
		if rank%3 == 0 {
			p.name = "aks-" + app + "-" + env + "-agentpool-" + strconv.Itoa(rank)
		} else {
			p.name = "id-" + app + "-" + env + "-" + strconv.Itoa(rank)
		}
	case skThirdParty:
		p.appID = o.guid(domAppID, 2<<40+s, 0)
		p.name = vendors[rank/10%len(vendors)] + " " + strconv.Itoa(rank)
		p.ownerOrg = o.guid(domTenant, 1+rank/10%len(vendors), 0)
	}
	return p
}

func (o *Org) appendSP(dst []byte, s int) []byte {
	p := o.sp(s)
	dst = append(dst, `{"id":"`...)
	dst = o.appendSPID(dst, s, p.gen)
	dst = append(dst, `","appId":"`...)
	dst = append(dst, p.appID...)
	dst = append(dst, `","displayName":`...)
	dst = appendString(dst, p.name)
	dst = append(dst, `,"servicePrincipalType":"`...)
	dst = append(dst, p.typ...)
	dst = append(dst, `","accountEnabled":`...)
	dst = appendBool(dst, p.enabled)
	dst = append(dst, `,"appOwnerOrganizationId":`...)
	dst = appendStringOrNull(dst, p.ownerOrg)
	return append(dst, '}')
}

// spOwners: 40% of tenant apps' service principals have one or two user
// owners; other kinds have none.
func (o *Org) spOwners(s int, buf []ref) []ref {
	buf = buf[:0]
	if k, _ := o.spKindOf(s); k != skTenantApp {
		return buf
	}
	gen, ver := o.spState(s)
	h := o.hash(domSP, s, uint64(gen), 5)
	if unit(h) < 0.4 {
		for j := range 1 + int(h>>32%2) {
			buf = append(buf, o.userRef(o.pickUser(splitmix(h+uint64(j)))))
		}
	}
	for v := 1; v <= ver; v++ {
		if m := o.hash(domSPMut, s, uint64(gen), uint64(v)); m%2 == 0 {
			r := o.userRef(o.pickUser(splitmix(m)))
			if len(buf) > 0 {
				buf[0] = r
			} else {
				buf = append(buf, r)
			}
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

func (o *Org) appState(a int) (gen, ver int) { return o.state(domApp, a, 0) }

func (o *Org) appendApp(dst []byte, a int) []byte {
	dst = append(dst, `{"id":"`...)
	dst = o.appendGUID(dst, domApp, a, 0)
	dst = append(dst, `","appId":"`...)
	dst = o.appendAppID(dst, a)
	dst = append(dst, `","displayName":`...)
	dst = appendString(dst, o.appName(a))
	return append(dst, '}')
}

// appOwners: 80% of applications have one to three user owners.
func (o *Org) appOwners(a int, buf []ref) []ref {
	buf = buf[:0]
	_, ver := o.appState(a)
	h := o.hash(domApp, a, 5)
	if unit(h) < 0.8 {
		for j := range 1 + int(h>>32%3) {
			buf = append(buf, o.userRef(o.pickUser(splitmix(h+uint64(j)))))
		}
	}
	for v := 1; v <= ver; v++ {
		r := o.userRef(o.pickUser(o.hash(domApp, a, 6, uint64(v))))
		if len(buf) > 0 {
			buf[0] = r
		} else {
			buf = append(buf, r)
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// graphGrant is one Microsoft Graph application permission held by a
// service principal.
type graphGrant struct {
	sp   int
	role int // index in graphAppRoles
}

// graphGrants appends the Graph permissions of service principal s: 12%
// of tenant apps and managed identities hold one to three ordinary ones.
func (o *Org) graphGrants(s int, dst []graphGrant) []graphGrant {
	if k, _ := o.spKindOf(s); k != skTenantApp && k != skMI {
		return dst
	}
	gen, _ := o.spState(s)
	h := o.hash(domAppRole, s, uint64(gen))
	if unit(h) >= 0.12 {
		return dst
	}
	w := make([]int, len(graphAppRoles))
	for i, r := range graphAppRoles {
		w[i] = r.weight
	}
	start := len(dst)
	for j := range 1 + int(h>>40%3) {
		r := benchgen.Weighted(unit(splitmix(h+uint64(j))), w)
		dup := false
		for _, x := range dst[start:] {
			dup = dup || x.role == r
		}
		if !dup {
			dst = append(dst, graphGrant{sp: s, role: r})
		}
	}
	return dst
}

// dirAssignment is one directory role assignment or eligibility.
type dirAssignment struct {
	id        string
	principal ref
	group     bool // principal is a group
	orphan    bool // principal deleted: not listed, no $expand
	role      string
	scope     string
	eligible  bool
}

// appendRoleAssignmentID appends an id shaped like Graph's (base64url of
// the role and principal, then "-1").
func (o *Org) roleAssignmentID(dom uint64, i, gen int) string {
	var b [32]byte
	for k := range 4 {
		h := o.hash(domID+dom, i, uint64(gen), uint64(10+k))
		for j := range 8 {
			b[8*k+j] = byte(h >> (8 * j))
		}
	}
	return base64.RawURLEncoding.EncodeToString(b[:]) + "-1"
}

func (o *Org) adminUnit(h uint64) string {
	return "/administrativeUnits/" + o.guid(domTenant, 100+int(h%8), 0)
}

// tenantAdmin returns fixed holder t of what manages every group (see
// Config.TenantAdmins): users holding Global / Privileged Role / Groups /
// User Administrator tenant-wide, active or PIM-eligible, and service
// principals holding a Graph permission of that reach. ok is false for a
// Graph grant (graphGrant set instead).
func (o *Org) tenantAdmin(t int) (a dirAssignment, gg graphGrant, ok bool) {
	// Tenant-wide admins change ten times less often than other
	// assignments: each one is an edge to every group.
	gen, _ := o.stateAt(domDirRA, 1<<30+t, o.cfg.Churn/10, 1)
	h := o.hash(domDirRA, 1<<30+t, uint64(gen))
	a = dirAssignment{principal: o.userRef(o.pickStaff(h)), scope: "/"}
	switch t % 8 {
	case 0:
		a.role = roleGA
	case 1:
		a.role, a.eligible = roleGA, true
	case 2:
		a.role, a.eligible = rolePRA, true
	case 3:
		a.role = roleGroupsAdm
	case 4:
		a.role = roleUserAdm
	case 5:
		a.role, a.eligible = roleUserAdm, true
	case 6:
		if o.nTenantSP > 0 {
			names := []int{9, 7, 8, 10} // Directory.ReadWrite.All, Group.ReadWrite.All, GroupMember.ReadWrite.All, RoleManagement.ReadWrite.Directory
			s := o.tenantSPIndex(int(h>>8) % o.nTenantSP)
			return a, graphGrant{sp: s, role: names[t/8%len(names)]}, false
		}
		a.role = roleGroupsAdm
	case 7:
		a.role, a.eligible = roleGroupsAdm, true
	}
	if a.eligible {
		a.id = o.guid(domPIM, 1<<30+t, gen)
	} else {
		a.id = o.roleAssignmentID(domDirRA, 1<<30+t, gen)
	}
	return a, gg, true
}

// dirAssignment returns ordinary directory role assignment i (eligible:
// of the PIM pool). Roles that manage every group are scoped to an
// administrative unit; application administrators often to one app.
func (o *Org) dirAssignment(i int, eligible bool) dirAssignment {
	dom := domDirRA
	if eligible {
		dom = domPIM
	}
	gen, _ := o.state(dom, i, 1)
	h := o.hash(dom, i, uint64(gen))
	r := dirRoles[benchgen.Weighted(unit(h), dirRoleWeights())]
	a := dirAssignment{role: r.id, scope: "/", eligible: eligible}
	if unit(splitmix(h^1)) < 0.1 && o.nTenantSP > 0 && !eligible {
		a.principal = o.spRef(o.tenantSPIndex(int(splitmix(h^2) % uint64(o.nTenantSP))))
	} else {
		a.principal = o.userRef(o.pickUser(splitmix(h ^ 3)))
	}
	switch x := unit(splitmix(h ^ 4)); {
	case r.tenantWide, r.au && x < 0.3:
		a.scope = o.adminUnit(splitmix(h ^ 5))
	case (r.id == roleAppAdm || r.id == roleCloudApp) && x < 0.6 && o.cfg.Applications > 0:
		a.scope = "/" + o.guid(domApp, int(splitmix(h^6)%uint64(o.cfg.Applications)), 0)
	}
	if eligible {
		a.id = o.guid(dom, i, gen)
	} else {
		a.id = o.roleAssignmentID(dom, i, gen)
	}
	return a
}

// fixedDirAssignments: Break Glass holds Global Administrator, Tenant
// Admins is eligible for it, Helpdesk Operators holds Helpdesk
// Administrator tenant-wide (all three are role-assignable groups).
func (o *Org) fixedDirAssignments() []dirAssignment {
	return []dirAssignment{
		{id: o.roleAssignmentID(domDirRA, 1<<31+1, 0), principal: o.groupRef(1 + spBreakGlass), group: true, role: roleGA, scope: "/"},
		{id: o.guid(domPIM, 1<<31+2, 0), principal: o.groupRef(1 + spTenantAdmins), group: true, role: roleGA, scope: "/", eligible: true},
		{id: o.roleAssignmentID(domDirRA, 1<<31+3, 0), principal: o.groupRef(1 + spHelpdesk), group: true, role: roleHelpdesk, scope: "/"},
	}
}

// orphanAssignment is a role assignment whose principal was deleted
// (Faults): Graph still lists it, without an expandable principal.
func (o *Org) orphanAssignment() dirAssignment {
	return dirAssignment{id: o.roleAssignmentID(domDirRA, 1<<31+9, 0), orphan: true, role: roleGlobalRead, scope: "/"}
}
