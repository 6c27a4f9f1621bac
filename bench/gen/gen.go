// Package gen generates synthetic but realistic AWS IAM organisations in the
// `aws iam get-account-authorization-details` (GAAD) export format, for
// benchmarks (bench/README.md). It depends on the standard library only.
//
// Every entity is a pure function of (seed, index, churn state), so an
// export of any size is streamed element by element (Write) and a fixture
// can ask for one entity without building the others. Churn: with Churn c,
// each of the Round days changes about c of the users (a third of those are
// leavers replaced by joiners, the rest change groups, tags or inline
// policies), groups (attachments, inline policies), roles and customer
// managed policies (a new default version); day K's org is day K-1's plus
// day K's changes, so successive snapshots differ by about c.
package gen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// DefaultAccount is the account id used when Config.Account is empty.
const DefaultAccount = "111122223333"

// Config sizes and seeds an organisation.
type Config struct {
	Users, Groups, Roles int
	// Policies counts customer managed policies; a fixed set of AWS managed
	// policies is always added (AWSManagedPolicies).
	Policies int
	Account  string
	Seed     uint64
	// Churn is the fraction of users, groups, roles and policies changed
	// per round; Round is the day: 0 is the base organisation.
	Churn float64
	Round int
}

// ForPrincipals returns a config of n principals (users + roles) in the
// proportions of the scale target in ARCHITECTURE.md section 8 (500k users,
// 100k groups, 20k roles), with one customer managed policy per 20
// principals and 1% churn per round.
func ForPrincipals(n int) Config {
	users := int(int64(n) * 500 / 520)
	return Config{
		Users:    max(users, 1),
		Roles:    max(n-users, 0),
		Groups:   max(int(int64(n)*100/520), 2),
		Policies: max(n/20, 30),
		Account:  DefaultAccount,
		Seed:     1,
		Churn:    0.01,
	}
}

// Principals is Users + Roles.
func (c Config) Principals() int { return c.Users + c.Roles }

func (c Config) validate() error {
	switch {
	case c.Users < 1:
		return fmt.Errorf("gen: users must be >= 1")
	case c.Groups < 2:
		return fmt.Errorf("gen: groups must be >= 2 (AllStaff and Administrators)")
	case c.Roles < 0 || c.Policies < 0:
		return fmt.Errorf("gen: roles and policies must be >= 0")
	case c.Churn < 0 || c.Churn > 1:
		return fmt.Errorf("gen: churn must be in [0, 1]")
	case c.Round < 0:
		return fmt.Errorf("gen: churn round must be >= 0")
	}
	if len(c.Account) != 12 {
		return fmt.Errorf("gen: account %q is not a 12-digit id", c.Account)
	}
	if _, err := strconv.ParseUint(c.Account, 10, 64); err != nil {
		return fmt.Errorf("gen: account %q is not a 12-digit id", c.Account)
	}
	return nil
}

// Org is a generated organisation. Its methods are safe for concurrent use.
type Org struct {
	cfg        Config
	nBoundary  int
	nTeams     int
	awsManaged []ManagedPolicy
}

// NewOrg checks c and returns the organisation it describes.
func NewOrg(c Config) (*Org, error) {
	if c.Account == "" {
		c.Account = DefaultAccount
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	o := &Org{cfg: c}
	if c.Policies >= 8 {
		o.nBoundary = min(max(c.Policies/100, 1), 20)
	}
	// Teams keep the organisation's fan-out bounded as it grows: a large
	// organisation has more teams, not bigger ones. Users, groups, roles and
	// customer policies are striped over teams; grants and wildcards are
	// scoped to the holder's team, except in team 0 (the platform team).
	o.nTeams = max(len(depts), c.Principals()/teamSize)
	o.awsManaged = o.buildAWSManaged()
	return o, nil
}

// teamSize is the number of principals per team.
const teamSize = 400

// teamName is e.g. "eng-t17". Role, bucket and function names start with
// it followed by '-', so "eng-t1-*" never matches team eng-t17's resources.
func (o *Org) teamName(t int) string { return depts[t%len(depts)] + "-t" + strconv.Itoa(t) }

func (o *Org) teamDept(t int) string { return depts[t%len(depts)] }

// businessDepts do not build software: their people read data and
// reports, and neither deploy nor run CI.
var businessDepts = map[string]bool{"finance": true, "sales": true, "support": true, "marketing": true, "growth": true}

func (o *Org) technical(t int) bool { return !businessDepts[o.teamDept(t)] }

// capped reports whether an entity of a kind that should stay rare in
// absolute terms is dropped: of about expected such entities, keep ~limit.
func capped(h uint64, expected, limit int) bool {
	if expected <= limit {
		return false
	}
	return unit(h)*float64(expected) >= float64(limit)
}

// Config returns the organisation's configuration.
func (o *Org) Config() Config { return o.cfg }

// Account is the account id.
func (o *Org) Account() string { return o.cfg.Account }

// NumManagedPolicies counts the Policies list: AWS managed, then customer.
func (o *Org) NumManagedPolicies() int { return len(o.awsManaged) + o.cfg.Policies }

// ManagedPolicy returns element i of the Policies list.
func (o *Org) ManagedPolicy(i int) ManagedPolicy {
	if i < len(o.awsManaged) {
		return o.awsManaged[i]
	}
	return o.customerPolicy(i - len(o.awsManaged))
}

// Hash domains keep the streams of different entity kinds independent.
const (
	domUser uint64 = iota + 1
	domGroup
	domRole
	domPolicy
	domPolicyDoc
	domRoleKind
	domPolicyKind
	domGroupKind
	domDept
	domID
	domChurn = 100
)

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func mix(vals ...uint64) uint64 {
	h := uint64(0x243F6A8885A308D3)
	for _, v := range vals {
		h = splitmix(h ^ v)
	}
	return h
}

func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func (o *Org) hash(dom uint64, i int, more ...uint64) uint64 {
	h := mix(o.cfg.Seed, dom, uint64(i))
	for _, v := range more {
		h = splitmix(h ^ v)
	}
	return h
}

// rng is the random stream of one entity version.
func (o *Org) rng(dom uint64, i, gen, ver int) *rand.Rand {
	return rand.New(rand.NewPCG(o.hash(dom, i), mix(uint64(gen), uint64(ver), dom)))
}

// state replays the churn rounds of one entity: gen counts replacements
// (leaver + joiner in the same slot), ver modifications since then.
func (o *Org) state(dom uint64, i int, replaceable bool) (gen, ver int) {
	c := o.cfg.Churn
	if c <= 0 {
		return 0, 0
	}
	for r := 1; r <= o.cfg.Round; r++ {
		u := unit(o.hash(domChurn+dom, i, uint64(r)))
		switch {
		case replaceable && u < c/3:
			gen, ver = gen+1, 0
		case u < c:
			ver++
		}
	}
	return gen, ver
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// uniqueID looks like an IAM unique id: a 4-letter type prefix and 17
// base32 characters.
func (o *Org) uniqueID(prefix string, dom uint64, i, gen int) string {
	b := make([]byte, 0, 21)
	b = append(b, prefix...)
	h1, h2 := o.hash(domID+dom, i, uint64(gen), 1), o.hash(domID+dom, i, uint64(gen), 2)
	for k := 0; k < 12; k++ {
		b = append(b, idAlphabet[h1&31])
		h1 >>= 5
	}
	for k := 0; k < 5; k++ {
		b = append(b, idAlphabet[h2&31])
		h2 >>= 5
	}
	return string(b)
}

var (
	depts      = []string{"platform", "eng", "data", "sre", "security", "finance", "sales", "support", "marketing", "ml", "qa", "ops", "mobile", "web", "payments", "growth"}
	apps       = []string{"api", "web", "worker", "billing", "search", "ingest", "auth", "reports", "checkout", "catalog", "notify", "etl", "ledger", "gateway", "scheduler", "media"}
	firstNames = []string{"alex", "maria", "li", "sam", "fatima", "jonas", "priya", "diego", "yuki", "omar", "emma", "noah", "ava", "liam", "mia", "lucas", "zoe", "ivan", "sara", "kenji", "amara", "felix", "nina", "hugo", "leila", "mateo", "chloe", "arjun", "ines", "tom"}
	lastNames  = []string{"garcia", "chen", "smith", "muller", "rossi", "kim", "nguyen", "silva", "khan", "novak", "brown", "tanaka", "dubois", "okafor", "johansson", "kowalski", "patel", "lopez", "ivanova", "cohen", "martin", "sato", "haddad", "jensen", "costa", "meyer", "walsh", "ortiz", "ali", "berg"}
	regions    = []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"}
)

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func (o *Org) app(dom uint64, i int) string {
	return apps[o.hash(domDept+dom, i, 7)%uint64(len(apps))]
}

var epoch = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// dateStyle picks how an entity's dates are written: mostly AWS CLI ISO
// forms, some boto3 str(datetime).
func dateStyle(r *rand.Rand) string {
	switch x := r.IntN(20); {
	case x < 14:
		return "2006-01-02T15:04:05Z"
	case x < 17:
		return "2006-01-02T15:04:05+00:00"
	default:
		return "2006-01-02 15:04:05+00:00"
	}
}

// randTime is a time in [epoch + fromDays, epoch + toDays).
func randTime(r *rand.Rand, fromDays, toDays int) time.Time {
	return epoch.Add(time.Duration(fromDays+r.IntN(toDays-fromDays))*24*time.Hour + time.Duration(r.IntN(86400))*time.Second)
}

func docEncoding(r *rand.Rand, urlPct, strPct int) Encoding {
	switch x := r.IntN(100); {
	case x < urlPct:
		return EncURL
	case x < urlPct+strPct:
		return EncString
	}
	return EncObject
}

func (o *Org) arn(kind, path, name string) string {
	return "arn:aws:iam::" + o.cfg.Account + ":" + kind + path + name
}

// Weighted picks an index of w with probability proportional to w[i], for
// u uniform in [0, 1) (the other generators share it).
func Weighted(u float64, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	t := int(u * float64(total))
	for i, x := range w {
		if t < x {
			return i
		}
		t -= x
	}
	return len(w) - 1
}

// EnvPrincipals is the benchmark size: $PERMGRAPH_BENCH_PRINCIPALS, or def
// when unset or not a positive number.
func EnvPrincipals(def int) int {
	if n, err := strconv.Atoi(os.Getenv("PERMGRAPH_BENCH_PRINCIPALS")); err == nil && n > 0 {
		return n
	}
	return def
}
