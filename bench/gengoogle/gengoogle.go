// Package gengoogle generates a synthetic Google Workspace customer and GCP
// organisation in the offline layout `permgraph collect google --from DIR`
// imports (docs/offline.md): a Directory API raw capture (directory.jsonl)
// and the GCP IAM data as a Cloud Asset Inventory export plus custom-role
// files, or as a raw capture of a live Resource Manager / IAM run
// (gcp.jsonl). It depends on the standard library and bench/gen only.
//
// Every entity is a pure function of (seed, index, churn state): a group's
// member list is computed from its index without building the organisation,
// so any size streams with flat memory and O(total memberships) time. Users
// are user<index>@<domain> in every generator of this repository (the Entra
// generator uses the same scheme), so the same person matches across clouds.
package gengoogle

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"permgraph/bench/gen"
)

// Output formats of the GCP part.
const (
	FormatCAI     = "cai"     // Cloud Asset Inventory export + roles.json files
	FormatCapture = "capture" // raw capture of a live run (gcp.jsonl)
)

// Config sizes and seeds an organisation. Zero fields take the defaults
// documented on each field.
type Config struct {
	Users  int
	Groups int
	// Depth is the longest chain of groups nested in groups (user -> g1 ->
	// ... -> gDepth); default 4.
	Depth    int
	Projects int
	// Folders defaults to Projects/10 (at least 1 when there are projects).
	Folders int
	// ServiceAccounts is the number of user-managed and default service
	// accounts over all projects; default 5 per project.
	ServiceAccounts int
	// Bindings is the approximate number of (member, role) grants over all
	// IAM policies; default 10 per project.
	Bindings int
	// External is the fraction of mailing-list groups with members outside
	// the domain; default 0.15 (negative: none).
	External float64
	Domain   string // default example.com
	Customer string // Workspace customer id, default C03gen0001
	Org      string // GCP organization number, default 100000000001
	Format   string // FormatCAI (default) or FormatCapture
	Seed     uint64
	// Churn is the fraction of items changed per round; Round is the day
	// (0 is the base organisation, day K is day K-1 plus day K's changes).
	Churn float64
	Round int
}

func (c Config) withDefaults() Config {
	if c.Depth == 0 {
		c.Depth = 4
	}
	if c.Folders == 0 && c.Projects > 0 {
		c.Folders = max(1, c.Projects/10)
	}
	if c.ServiceAccounts == 0 {
		c.ServiceAccounts = 5 * c.Projects
	}
	if c.Bindings == 0 {
		c.Bindings = 10 * c.Projects
	}
	if c.External == 0 {
		c.External = 0.15
	}
	if c.External < 0 {
		c.External = 0
	}
	if c.Domain == "" {
		c.Domain = "example.com"
	}
	if c.Customer == "" {
		c.Customer = "C03gen0001"
	}
	if c.Org == "" {
		c.Org = "100000000001"
	}
	if c.Format == "" {
		c.Format = FormatCAI
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Users < 1:
		return errors.New("gengoogle: users must be >= 1")
	case c.Depth < 1 || c.Depth > 20:
		return errors.New("gengoogle: depth must be in [1, 20]")
	case c.Groups < c.Depth+4:
		return fmt.Errorf("gengoogle: groups must be >= depth+4 (%d): all-staff, everyone, announce, one nesting chain and a mailing list", c.Depth+4)
	case c.Projects < 0 || c.Folders < 0 || c.ServiceAccounts < 0 || c.Bindings < 0:
		return errors.New("gengoogle: projects, folders, service accounts and bindings must be >= 0")
	case c.Projects > 0 && c.ServiceAccounts < c.Projects:
		return errors.New("gengoogle: service accounts must be >= projects (every project has its default compute account)")
	case c.Projects > 999999:
		return errors.New("gengoogle: at most 999999 projects")
	case c.External > 1:
		return errors.New("gengoogle: external must be in [0, 1]")
	case c.Churn < 0 || c.Churn > 1:
		return errors.New("gengoogle: churn must be in [0, 1]")
	case c.Round < 0:
		return errors.New("gengoogle: churn round must be >= 0")
	case c.Format != FormatCAI && c.Format != FormatCapture:
		return fmt.Errorf("gengoogle: format %q: want %q or %q", c.Format, FormatCAI, FormatCapture)
	}
	if _, err := strconv.ParseUint(c.Org, 10, 64); err != nil {
		return fmt.Errorf("gengoogle: org %q is not a number", c.Org)
	}
	if strings.ContainsAny(c.Domain, "@/ \"\\") || !strings.Contains(c.Domain, ".") {
		return fmt.Errorf("gengoogle: domain %q is not a DNS name", c.Domain)
	}
	if strings.ContainsAny(c.Customer, "/ \"\\") {
		return fmt.Errorf("gengoogle: customer %q is not a customer id", c.Customer)
	}
	return nil
}

// Org is a generated organisation. Its methods are safe for concurrent use
// once New returned: everything computed up front is read-only.
type Org struct {
	cfg Config

	// Group index layout (groups.list order): the three specials, the
	// organisation tree level by level, nesting chains, access groups,
	// mailing lists.
	treeLevels  int   // levels of the org tree including all-staff (level 0)
	fan         int   // children per tree node below the departments
	nDept       int   // tree nodes at level 1
	levelStart  []int // group index of the first node of level l (1..treeLevels-1)
	levelCount  []int
	leafUsers   []int32 // leaves+1 user boundaries of the tree's leaves
	chainStart  int
	nChains     int
	accessStart int
	nAccess     int
	miscStart   int
	nMisc       int
	// layerBounds[j] are the position boundaries of the mailing lists of
	// layer j (misc index i is in layer i%layers, rank i/layers).
	layerBounds [layers][]int32
	// masks caches each user's mailing-list layer bits at the current round
	// (one byte per user): computing them replays the churn rounds.
	masks []uint8

	attackers []int // user indices with attacker-style names

	// GCP
	nTopFolders    int
	projFolder     []int32 // project -> folder index, -1 = under the organisation
	folderProjs    [][]int32
	saStart        []int32 // project -> first service account index; len Projects+1
	projGrants     []int8  // potential grant slots per project
	projBase       []int8  // slots active on day 0
	projCustom     []bool  // project has its own custom role
	extPool        int     // external member addresses in mailing lists
	contractorPool int
}

// Group categories.
const (
	gAllStaff = 0
	gEveryone = 1
	gAnnounce = 2
	nSpecial  = 3
)

// layers is the number of mailing-list layers: a user is in at most one
// list per layer, so a list never repeats a member, and at most maxLists.
const (
	layers   = 7
	maxLists = 6
	teamSize = 20
	deptSize = 5000
)

// New checks c and lays the organisation out. Its cost is O(groups +
// projects + users/8·rounds): per-group and per-project boundaries and one
// byte per user; no membership is built.
func New(c Config) (*Org, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	o := &Org{cfg: c}
	o.layoutGroups()
	o.layoutUsers()
	o.layoutGCP()
	return o, nil
}

// Config returns the configuration with defaults applied.
func (o *Org) Config() Config { return o.cfg }

// layoutGroups splits the group budget: org tree (departments down to
// teams, at most 35% of groups), nesting chains of Depth groups, access
// groups bound in IAM (two per project at most), mailing lists (the rest).
func (o *Org) layoutGroups() {
	c := o.cfg
	G, U, D := c.Groups, c.Users, c.Depth
	o.nChains = max(1, G/1000)
	for o.nChains > 1 && o.nChains*D > G/10 {
		o.nChains--
	}
	rest := G - nSpecial - o.nChains*D
	// Tree groups below all-staff; at least two mailing lists remain.
	budget := min(G*35/100, rest-2)
	o.nDept = min(max(2, int(math.Round(float64(U)/deptSize))), 200, max(1, U/2))
	// The tallest tree that fits: levels 0 (all-staff) .. L-1 (teams).
	o.treeLevels, o.fan = 1, 0
	for L := D; L >= 2; L-- {
		if L == 2 {
			if o.nDept <= budget {
				o.treeLevels = 2
			}
			break
		}
		target := max(float64(o.nDept), float64(U)/teamSize)
		f := max(2, int(math.Round(math.Pow(target/float64(o.nDept), 1/float64(L-2)))))
		for ; f >= 2; f-- {
			cost, leaves := treeCost(o.nDept, f, L)
			if cost-1 <= budget && leaves <= max(1, U/2) {
				break
			}
		}
		if f >= 2 {
			o.treeLevels, o.fan = L, f
			break
		}
	}
	next := nSpecial
	o.levelStart = make([]int, o.treeLevels)
	o.levelCount = make([]int, o.treeLevels)
	n := o.nDept
	for l := 1; l < o.treeLevels; l++ {
		o.levelStart[l], o.levelCount[l] = next, n
		next += n
		n *= max(o.fan, 1)
	}
	rest -= next - nSpecial
	o.chainStart = next
	next += o.nChains * D
	o.nAccess = min(2*c.Projects, max(0, rest*15/100))
	o.accessStart = next
	next += o.nAccess
	o.miscStart = next
	o.nMisc = G - next
}

// treeCost is the group count of a tree with nDept departments, fan-out f
// and L levels (all-staff included), and its number of leaves.
func treeCost(nDept, f, L int) (int, int) {
	cost, n := 1, nDept
	for l := 1; l < L; l++ {
		cost += n
		if l < L-1 {
			n *= f
		}
	}
	return cost, n
}

// leaves is the number of tree nodes holding users directly.
func (o *Org) leaves() int {
	if o.treeLevels <= 1 {
		return 1
	}
	return o.levelCount[o.treeLevels-1]
}

// layoutUsers sizes the tree's leaves (teams of ~20 people, departments of
// very different sizes) and the mailing lists (a heavy-tailed mix of a few
// large lists and many small ones), and computes every user's list bits.
func (o *Org) layoutUsers() {
	U := o.cfg.Users
	nl := o.leaves()
	perDept := max(1, nl/o.nDept)
	w := make([]float64, nl)
	total := 0.0
	for t := range nl {
		dw := 0.3 + 3.7*math.Pow(unit(o.hash(domDept, t/perDept)), 3) // a few departments are much larger
		w[t] = dw * (0.25 + 1.75*unit(o.hash(domTeam, t)))
		total += w[t]
	}
	o.leafUsers = make([]int32, nl+1)
	acc := 0.0
	for t := range nl {
		acc += w[t]
		// Every leaf keeps at least one user.
		o.leafUsers[t+1] = int32(t + 1 + int(float64(U-nl)*acc/total))
	}
	o.leafUsers[nl] = int32(U)

	for j := range layers {
		n := 0
		for i := j; i < o.nMisc; i += layers {
			n++
		}
		b := make([]int32, n+1)
		ws := make([]float64, n)
		sum := 0.0
		for r := range n {
			i := r*layers + j
			x := 1.0
			if i > 1 { // list 0 (it-helpdesk) and 1 (security) stay small
				x = math.Min(500, math.Pow(1-unit(o.hash(domList, i)), -1/1.2))
			}
			ws[r] = x
			sum += x
		}
		acc := 0.0
		for r := range n {
			acc += ws[r]
			b[r+1] = int32(float64(U) * acc / sum)
		}
		if n > 0 {
			b[n] = int32(U)
		}
		o.layerBounds[j] = b
	}
	o.masks = make([]uint8, U)
	for u := range U {
		o.masks[u] = o.userMask(u)
	}
	na := min(U, 3+U/100000)
	for k := range na {
		o.attackers = append(o.attackers, int(o.hash(domAttack, k)%uint64(U)))
	}
	o.extPool = max(20, U/50)
	o.contractorPool = max(5, U/1000)
}

// Hash domains keep the random streams of different entity kinds apart.
const (
	domUser uint64 = iota + 1
	domUserEvent
	domSuspend
	domName
	domDept
	domTeam
	domList
	domListEvent
	domAttack
	domPerm
	domGroup
	domGroupEvent
	domMember
	domFolder
	domProject
	domProjectEvent
	domGrant
	domSA
	domSAEvent
	domID
	domChurn = 100
)

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// fmix is a bijection of uint64 (splitmix's finalizer without the
// increment): distinct indexes give distinct ids.
func fmix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func (o *Org) hash(dom uint64, i int, more ...uint64) uint64 {
	h := splitmix(splitmix(o.cfg.Seed^0x243F6A8885A308D3) ^ dom)
	h = splitmix(h ^ uint64(i))
	for _, v := range more {
		h = splitmix(h ^ v)
	}
	return h
}

// happens reports whether the churn event of (dom, i) fires on day r with
// probability p.
func (o *Org) happens(dom uint64, i, r int, p float64) bool {
	return unit(o.hash(domChurn+dom, i, uint64(r))) < p
}

// listCounts is the day-0 distribution of mailing lists per user (0..6).
var listCounts = []int{12, 30, 25, 15, 10, 5, 3}

// userMask is the set of mailing-list layers user u is in at the current
// round: day 0 picks listCounts distinct layers; each day about 3·Churn of
// the users join or leave one list.
func (o *Org) userMask(u int) uint8 {
	h := o.hash(domUser, u)
	k := gen.Weighted(unit(h), listCounts)
	var mask uint8
	for n := 0; bitsSet(mask) < k && n < 64; n++ {
		mask |= 1 << (splitmix(h+uint64(n)) % layers)
	}
	for r := 1; r <= o.cfg.Round; r++ {
		if !o.happens(domUserEvent, u, r, 3*o.cfg.Churn) {
			continue
		}
		b := uint8(1) << (o.hash(domUserEvent, u, uint64(r)) % layers)
		switch {
		case mask&b != 0:
			mask &^= b
		case bitsSet(mask) < maxLists:
			mask |= b
		}
	}
	return mask
}

func bitsSet(m uint8) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// userState is a user's node attributes at the current round.
type userState struct {
	suspended bool
	ver       int // renames and alias changes since day 0
}

func (o *Org) userState(u int) userState {
	s := userState{suspended: unit(o.hash(domSuspend, u)) < 0.02}
	for r := 1; r <= o.cfg.Round; r++ {
		if !o.happens(domUser, u, r, o.cfg.Churn) {
			continue
		}
		if o.hash(domUser, u, uint64(r))%3 == 0 {
			s.suspended = !s.suspended // a leaver is suspended, a returner reactivated
		} else {
			s.ver++
		}
	}
	return s
}

// permute maps position p of mailing-list layer j to a user: a Feistel
// network over the next power of four above Users with cycle walking, so
// it is a bijection of [0, Users).
func (o *Org) permute(j, p int) int {
	n := uint64(o.cfg.Users)
	half := uint(1)
	for uint64(1)<<(2*half) < n {
		half++
	}
	mask := uint64(1)<<half - 1
	x := uint64(p)
	key := o.hash(domPerm, j)
	for {
		l, r := x>>half, x&mask
		for round := uint64(0); round < 4; round++ {
			l, r = r, l^(splitmix(r^key^round<<56)&mask)
		}
		x = l<<half | r
		if x < n {
			return int(x)
		}
	}
}
