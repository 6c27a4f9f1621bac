// Package genazure generates synthetic, deterministic Entra ID + Azure RBAC
// tenants in the offline capture layout that `permgraph collect azure --from
// DIR` replays (docs/offline.md): DIR/graph.jsonl, one Microsoft Graph
// response per line with @odata.nextLink paging at 999 objects, and
// DIR/arm.jsonl, one Azure Resource Manager page per line. Bodies use the
// real wire shapes the collectors decode with the msgraph and ARM SDK
// models. It depends on the standard library only; bench/genazure/README.md
// describes the organisation and the measured sizes.
//
// Every entity is a pure function of (seed, index, churn state), so any
// size streams with flat memory: a group's member list is computed from
// the group alone (department, team and nesting-chain groups by formula,
// the many small groups as blocks of a per-layer pseudo-random permutation
// of the users), in time proportional to its members. Churn: with Churn c,
// each of the Round days replaces about c/3 and modifies about 2c/3 of the
// users, modifies about c of the groups (members, names, owners), replaces
// about c of the Azure role assignments and directory role assignments, and
// modifies about c of the service principals and applications; day K is
// day K-1 plus day K's changes.
//
// Identity contract shared with the Google Workspace generator
// (bench/gengoogle): user slot i is `user<i>@<Domain>` (Domain defaults to
// example.com), at every churn round: a replaced user (a leaver whose slot
// a joiner takes) gets a new object id and display name but keeps the
// slot's UPN and mail, so the same person has the same address in both
// clouds. Slots with i%50 == 7 are guests (UPN
// `user<i>_partner.example#EXT#@<tenant>.onmicrosoft.com`, mail
// `user<i>@partner.example`); UPN, Mail and IsGuest compute them. Slots
// 0-63 (IT staff, holders of the tenant-wide admin roles) are never
// replaced.
package genazure

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Defaults and fixed sizes.
const (
	// DefaultDomain is the verified domain of member users' UPNs.
	DefaultDomain = "example.com"
	// GuestDomain is the home domain of guest users.
	GuestDomain = "partner.example"
	// GraphPageSize is the $top the Entra collector asks for.
	GraphPageSize = 999
	// armPageSize is where ARM lists are split into nextLink pages.
	armPageSize = 1000
	// nLayers is how many small groups a member user can be in at most:
	// layer j partitions all users into small groups, and a user takes
	// part in layers 0..extra-1.
	nLayers = 5
	// maxGen bounds replacements per slot (the generation is packed in 20
	// bits of a member reference).
	maxGen = 1<<20 - 1
)

// Config sizes and seeds a tenant.
type Config struct {
	Users, Groups int
	// Depth is the number of groups in each nesting chain: a user in the
	// bottom group reaches the top one through Depth groups.
	Depth             int
	ServicePrincipals int
	Applications      int
	// DirectoryRoles and PIMEligible count directory role assignments
	// (active, and PIM-eligible schedules) besides a few fixed ones.
	DirectoryRoles, PIMEligible int
	Subscriptions               int
	// ResourceGroups is per subscription.
	ResourceGroups int
	// RoleAssignments and RBACEligible count Azure role assignments
	// (active, and PIM-eligible) besides about a dozen fixed ones.
	RoleAssignments, RBACEligible int
	// TenantAdmins counts tenant-wide holders of what manages every group
	// (Global / Privileged Role / Groups / User Administrator, Graph
	// Group/Directory/RoleManagement ReadWrite), besides the Tenant Admins
	// and Break Glass groups. policy/azure gives each holder one CanAddMember
	// edge to a tenant-wide set node that has one edge per group (TenantAdmins
	// + Groups edges; TenantAdmins x Groups before session 5); ordinary assignments of these roles are scoped to administrative
	// units instead.
	TenantAdmins int
	// Domain is the verified domain of member UPNs (DefaultDomain).
	Domain string
	// Tenant is the directory id; empty derives one from Seed.
	Tenant string
	Seed   uint64
	// Churn is the fraction changed per round; Round is the day (0 is the
	// base tenant).
	Churn float64
	Round int
	// Faults injects what real captures contain: throttled pages retried
	// (429/503, no warning), a group whose members are hidden (403), a
	// directory role assignment of a deleted principal, an Azure role
	// assignment of a deleted principal ("Unknown"), and a subscription
	// whose PIM eligibility list is refused (403). Stats.Faults lists the
	// ones that produce collector warnings.
	Faults bool
}

// ForUsers returns a config of n users in the proportions of the scale
// target (500k users, 100k groups, 5k service principals, 20
// subscriptions), nesting depth 6 and 1% churn per round.
func ForUsers(n int) Config {
	return Config{
		Users:             max(n, 1),
		Groups:            max(n/5, 40),
		Depth:             6,
		ServicePrincipals: max(n/100, 20),
		Applications:      max(n/200, 8),
		DirectoryRoles:    max(n/2000, 10),
		PIMEligible:       max(n/2000, 10),
		Subscriptions:     max(n/25000, 2),
		ResourceGroups:    min(max(n/10000, 3), 50),
		RoleAssignments:   max(n/25, 40),
		RBACEligible:      max(n/500, 4),
		TenantAdmins:      min(max(n/20000, 4), 24),
		Domain:            DefaultDomain,
		Seed:              1,
		Churn:             0.01,
		Faults:            true,
	}
}

func (c Config) validate() error {
	switch {
	case c.Users < 1:
		return errors.New("genazure: users must be >= 1")
	case c.Depth < 1:
		return errors.New("genazure: depth must be >= 1")
	case c.ServicePrincipals < 1:
		return errors.New("genazure: service principals must be >= 1 (Microsoft Graph)")
	case c.Applications < 0 || c.DirectoryRoles < 0 || c.PIMEligible < 0 || c.RoleAssignments < 0 || c.RBACEligible < 0 || c.TenantAdmins < 0:
		return errors.New("genazure: counts must be >= 0")
	case c.Subscriptions < 1:
		return errors.New("genazure: subscriptions must be >= 1")
	case c.ResourceGroups < 1:
		return errors.New("genazure: resource groups must be >= 1")
	case c.Churn < 0 || c.Churn > 1:
		return errors.New("genazure: churn must be in [0, 1]")
	case c.Round < 0 || c.Round > maxGen:
		return fmt.Errorf("genazure: churn round must be in [0, %d]", maxGen)
	case c.Users > 1<<40:
		return errors.New("genazure: too many users")
	case strings.ContainsAny(c.Domain, "@/ \"\\") || c.Domain == "":
		return fmt.Errorf("genazure: domain %q is not a DNS name", c.Domain)
	}
	if need := minGroups(c); c.Groups < need {
		return fmt.Errorf("genazure: groups must be >= %d for depth %d (All Staff, %d fixed groups, departments, teams, two nesting chains, small groups)", need, c.Depth, nSpecial)
	}
	return nil
}

func minGroups(c Config) int { return 1 + nSpecial + 2 + 2 + 2*c.Depth + nLayers }

// Group index layout: All Staff, the fixed groups, departments, teams,
// nesting chains, then small groups.
type layout struct {
	deptStart, nDept   int
	teamStart, nTeam   int
	chainStart, nChain int
	smallStart, nSmall int
}

// Fixed groups (index 1+spX).
const (
	spTenantAdmins = iota
	spHelpdesk
	spBreakGlass
	spPlatformOwners
	spCloudEngineering
	spAKSAdmins
	spContractors
	spSecOps
	nSpecial
)

// Org is a generated tenant. Its methods are safe for concurrent use: all
// state is fixed by NewOrg.
type Org struct {
	cfg    Config
	tenant string
	layout
	// layers partition the users into small groups.
	layers [nLayers]layer
	// Service principals: 0 is Microsoft Graph, then first-party apps,
	// then from spBase tenant apps, managed identities and third-party
	// apps; nTenantSP counts the tenant apps (application a <-> rank a).
	spBase, nTenantSP int
	hiddenGroup       int // group whose members answer 403; -1 without Faults
	// Azure role definitions: built-in, then the subscriptions' custom
	// roles from subRoleBase, then the management-group one (mgRole).
	armRoles            []roleDef
	roleByName          map[string]int
	subRoleBase, mgRole int
}

// layer is one partition of the users into small groups: group q holds
// the users at permuted positions [starts[q], starts[q+1]).
type layer struct {
	starts []int64
	perm   perm
}

// NewOrg checks c and returns the tenant it describes.
func NewOrg(c Config) (*Org, error) {
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	o := &Org{cfg: c, hiddenGroup: -1}
	o.tenant = strings.ToLower(c.Tenant)
	if o.tenant == "" {
		o.tenant = string(o.appendGUID(nil, domTenant, 0, 0))
	}
	o.planGroups()
	o.planLayers()
	o.spBase = 1 + len(firstPartyApps)
	if n := c.ServicePrincipals - o.spBase; n > 0 {
		o.nTenantSP = 6*(n/10) + min(n%10, 6)
	}
	if c.Faults && o.nSmall > 3 {
		o.hiddenGroup = o.smallStart + 3
	}
	o.planRoles()
	return o, nil
}

// planGroups splits Config.Groups: about one department per 5,000 users,
// teams of about 40, one nesting chain per 1,000 groups (at least two),
// and the rest small groups.
func (o *Org) planGroups() {
	c := o.cfg
	rest := c.Groups - 1 - nSpecial
	nChain := max(2, c.Groups/1000)
	for nChain > 2 && nChain*c.Depth > rest/4 {
		nChain--
	}
	o.nChain = nChain
	o.nDept = min(max(c.Users/5000, 2), max(rest/20, 2))
	perDept := min(max(c.Users/(40*o.nDept), 1), max(rest*15/100/o.nDept, 1))
	for perDept > 1 && rest-o.nDept-perDept*o.nDept-nChain*c.Depth < nLayers {
		perDept--
	}
	o.nTeam = perDept * o.nDept
	o.deptStart = 1 + nSpecial
	o.teamStart = o.deptStart + o.nDept
	o.chainStart = o.teamStart + o.nTeam
	o.smallStart = o.chainStart + o.nChain*c.Depth
	o.nSmall = c.Groups - o.smallStart
}

// planLayers sizes the small groups of each layer with a heavy-tailed
// weight (Pareto, alpha 1.5, capped): most hold a few dozen people, a few
// several hundred.
func (o *Org) planLayers() {
	n := int64(o.cfg.Users)
	for j := range nLayers {
		m := 0
		if o.nSmall > j {
			m = (o.nSmall-j-1)/nLayers + 1
		}
		w := make([]float64, m)
		total := 0.0
		for q := range m {
			u := unit(o.hash(domLayer, q, uint64(j)))
			w[q] = math.Min(math.Pow(1-u, -1/1.5), 60)
			total += w[q]
		}
		starts := make([]int64, m+1)
		acc := 0.0
		for q := range m {
			starts[q] = int64(float64(n) * acc / total)
			acc += w[q]
		}
		starts[m] = n
		o.layers[j] = layer{starts: starts, perm: newPerm(uint64(n), o.hash(domPerm, j))}
	}
}

// Config returns the tenant's configuration.
func (o *Org) Config() Config { return o.cfg }

// Tenant is the directory (tenant) id.
func (o *Org) Tenant() string { return o.tenant }

// UPN is the user principal name of user slot i.
func (o *Org) UPN(i int) string {
	if IsGuest(i) {
		return "user" + strconv.Itoa(i) + "_" + GuestDomain + "#EXT#@" + o.onMicrosoft()
	}
	return "user" + strconv.Itoa(i) + "@" + o.cfg.Domain
}

// Mail is the mail address of user slot i (guests: their home address).
func (o *Org) Mail(i int) string {
	if IsGuest(i) {
		return "user" + strconv.Itoa(i) + "@" + GuestDomain
	}
	return "user" + strconv.Itoa(i) + "@" + o.cfg.Domain
}

// IsGuest reports whether user slot i is a B2B guest (2% of slots).
func IsGuest(i int) bool { return i%50 == 7 }

func (o *Org) onMicrosoft() string {
	label, _, _ := strings.Cut(o.cfg.Domain, ".")
	return label + ".onmicrosoft.com"
}

// Hash domains keep the streams of different entity kinds independent.
const (
	domUser uint64 = iota + 1
	domUserMut
	domGroup
	domGroupMut
	domSP
	domSPMut
	domApp
	domAppID
	domDirRA
	domPIM
	domRA
	domRBACElig
	domSub
	domRG
	domLayer
	domPerm
	domPick
	domTenant
	domRoleDef
	domAppRole
	domToken
	domChurn = 1000
	domID    = 2000
)

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func (o *Org) hash(dom uint64, i int, more ...uint64) uint64 {
	h := splitmix(splitmix(splitmix(0x243F6A8885A308D3^o.cfg.Seed)^dom) ^ uint64(i))
	for _, v := range more {
		h = splitmix(h ^ v)
	}
	return h
}

// state replays the churn rounds of entity i: gen counts replacements,
// ver modifications since the last one. Of the changed entities a share
// replaceShare is replaced.
func (o *Org) state(dom uint64, i int, replaceShare float64) (gen, ver int) {
	return o.stateAt(dom, i, o.cfg.Churn, replaceShare)
}

// stateAt is state at change rate c per round.
func (o *Org) stateAt(dom uint64, i int, c, replaceShare float64) (gen, ver int) {
	if c <= 0 {
		return 0, 0
	}
	for r := 1; r <= o.cfg.Round; r++ {
		u := unit(o.hash(domChurn+dom, i, uint64(r)))
		switch {
		case u < c*replaceShare:
			gen, ver = gen+1, 0
		case u < c:
			ver++
		}
	}
	return gen, ver
}

const hexDigits = "0123456789abcdef"

// appendGUID appends a version-4 GUID that is a pure function of (dom, i,
// gen).
func (o *Org) appendGUID(dst []byte, dom uint64, i, gen int) []byte {
	h1, h2 := o.hash(domID+dom, i, uint64(gen), 1), o.hash(domID+dom, i, uint64(gen), 2)
	var b [36]byte
	k := 0
	for n := range 32 {
		if k == 8 || k == 13 || k == 18 || k == 23 {
			b[k] = '-'
			k++
		}
		var nib uint64
		if n < 16 {
			nib = h1 >> (4 * n) & 15
		} else {
			nib = h2 >> (4 * (n - 16)) & 15
		}
		switch n {
		case 12:
			nib = 4
		case 16:
			nib = 8 | nib&3
		}
		b[k] = hexDigits[nib]
		k++
	}
	return append(dst, b[:]...)
}

func (o *Org) guid(dom uint64, i, gen int) string { return string(o.appendGUID(nil, dom, i, gen)) }

// perm is a bijection of [0, n): a 4-round Feistel network on the
// smallest even-width power of two >= n, cycle-walked back into range.
type perm struct {
	n    uint64
	half uint
	mask uint64
	keys [4]uint64
}

func newPerm(n, seed uint64) perm {
	p := perm{n: n}
	if n > 1 {
		p.half = uint(bits.Len64(n-1)+1) / 2
	}
	p.mask = 1<<p.half - 1
	for r := range p.keys {
		p.keys[r] = splitmix(seed + uint64(r)*0x9E3779B97F4A7C15)
	}
	return p
}

func (p perm) at(x uint64) uint64 {
	if p.n <= 1 {
		return 0
	}
	for {
		l, r := x>>p.half, x&p.mask
		for _, k := range p.keys {
			l, r = r, l^(splitmix(r^k)&p.mask)
		}
		x = l<<p.half | r
		if x < p.n {
			return x
		}
	}
}

var epoch = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// dateIn is a time in [epoch + fromDays, epoch + toDays), from h.
func dateIn(h uint64, fromDays, toDays int) time.Time {
	days := fromDays + int(h%uint64(toDays-fromDays))
	return epoch.Add(time.Duration(days)*24*time.Hour + time.Duration((h>>32)%86400)*time.Second)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05Z")
	return append(dst, '"')
}
