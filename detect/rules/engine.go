package rules

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"permgraph/detect/event"
	"permgraph/graph"
	"permgraph/queries"
)

// Meta describes a rule; ADS documents are checked against it.
type Meta struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Title    string            `json:"title"`
	Severity Severity          `json:"severity"`
	Attack   []string          `json:"attack"`
	Params   map[string]string `json:"params"`
	Response []string          `json:"response"`
}

// Rule is one detection. Observe sees every event in stream order and may
// return alerts; rules keep their own windows.
type Rule interface {
	Meta() Meta
	Observe(ctx context.Context, c *Context, e *event.Event) ([]Alert, error)
}

// Config tunes the engine (the detection part of permgraph.yaml).
type Config struct {
	// Allow lists principals (graph ids or raw identities) whose activity is
	// suppressed, each with the user agent it normally uses: a stolen key
	// used from another tool is not suppressed. Empty UserAgent = any.
	Allow []AllowEntry `yaml:"allow" json:"allow"`
	// Platform lists principals expected to deploy privileged workloads (R08).
	Platform []string `yaml:"platform" json:"platform"`
	// Collectors lists the identities permgraph's own collection runs as;
	// their discovery activity is suppressed (and counted).
	Collectors []string `yaml:"collectors" json:"collectors"`
	// ApprovedDeployers lists groups (graph ids or names) whose members,
	// direct or nested, are expected to deploy: their deploys are
	// suppressed for the deploy rules (R04, R06, R07, R11) and counted.
	ApprovedDeployers []string `yaml:"approved_deployers" json:"approved_deployers"`
	// ChangeWindows are planned releases and maintenance: R11 (deploy
	// volume) does not fire on deploys inside one, in its scopes.
	ChangeWindows []ChangeWindow `yaml:"change_windows" json:"change_windows,omitempty"`
	// Params overrides rule parameters by rule id, e.g. R01: {window: 5m}.
	Params map[string]map[string]string `yaml:"params" json:"params"`
	// Disabled lists rule ids to skip.
	Disabled []string `yaml:"disabled" json:"disabled"`
}

// AllowEntry is one allowlisted (principal, user agent) pair.
type AllowEntry struct {
	Principal string `yaml:"principal" json:"principal"`
	UserAgent string `yaml:"user_agent" json:"user_agent"`
	Reason    string `yaml:"reason" json:"reason"`
}

// Stats counts what the engine did.
type Stats struct {
	Events     int            `json:"events"`
	Alerts     map[string]int `json:"alerts"`
	Suppressed map[string]int `json:"suppressed"` // by reason
	Duplicates int            `json:"duplicates"`
	Unresolved int            `json:"unresolved_actors"`
}

// Engine runs rules over events.
type Engine struct {
	rules []Rule
	graph Graph
	cfg   Config
	// seen dedupes alert keys in two generations: when the current one
	// fills, the previous is dropped, so a long-running consumer's memory
	// stays bounded while keys of recent alerts (the ones a replay or a
	// window repeats) are remembered.
	seen, seenOld map[string]bool
	maxSeen       int // per generation (maxSeenKeys; tests shrink it)
	// views caches what the engine derives from a view (who can deploy,
	// resolved actors); viewOrder evicts the oldest so views swapped out
	// over a long run are released. lastView/lastState skip the map for
	// the common case of consecutive events on one view.
	views     map[*graph.View]*viewState
	viewOrder []*graph.View
	lastView  *graph.View
	lastState *viewState
	// cur and cctx hold the event and context of the Process call in
	// progress: rules get pointers to them, and keeping them in the engine
	// saves two heap allocations per event.
	cur   event.Event
	cctx  Context
	stats Stats
	// grants is the delta journal: grant events from the stream by grantee
	// (lower-cased name or raw identity), for R04/R05.
	grants map[string][]EventRef
	// recent keeps recent alerts by actor (lower-cased name and raw
	// identity), so a late grant can upgrade an earlier R04.
	recent map[string][]Alert
	// newest is the newest event time seen; grantTTL how long a grant or
	// an alert in the journals can still matter (the longest lookback of
	// R04 and R05). Sweeps of grants and recent use them.
	newest                  time.Time
	grantTTL                time.Duration
	grantSweep, recentSweep sweeper
	// sessions maps temporary access key ids from AssumeRole responses in
	// the stream to who obtained them: the actor's origin.
	sessions map[string]session
	// runs are permgraph's own collection runs recorded in the snapshot
	// manifests: per lower-cased identity, its windows (widened by
	// collectorRunMargin, merged, sorted).
	runs map[string][]runWindow
}

// runWindow is a time range [from, to] in which an identity collected.
type runWindow struct{ from, to time.Time }

// collectorRunMargin widens a recorded run's window on both sides: clock
// skew between the job's host and the cloud's audit log, and the first and
// last calls' latency.
const collectorRunMargin = 10 * time.Minute

// CollectionRunSource is implemented by a Graph that knows the collection
// runs recorded with its snapshots (StoreGraph): the engine then
// suppresses those runs' own discovery calls.
type CollectionRunSource interface {
	CollectionRuns() []graph.CollectionRun
}

// indexRuns builds Engine.runs: for each identity, the union of its runs'
// widened windows as sorted disjoint intervals.
func indexRuns(runs []graph.CollectionRun) map[string][]runWindow {
	by := map[string][]runWindow{}
	for _, r := range runs {
		if r.Start.IsZero() || r.End.Before(r.Start) {
			continue
		}
		w := runWindow{from: r.Start.Add(-collectorRunMargin), to: r.End.Add(collectorRunMargin)}
		for _, id := range r.Identities {
			if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
				by[id] = append(by[id], w)
			}
		}
	}
	for id, ws := range by {
		sort.Slice(ws, func(i, j int) bool { return ws[i].from.Before(ws[j].from) })
		merged := ws[:1]
		for _, w := range ws[1:] {
			last := &merged[len(merged)-1]
			if !w.from.After(last.to) {
				if w.to.After(last.to) {
					last.to = w.to
				}
				continue
			}
			merged = append(merged, w)
		}
		by[id] = merged
	}
	return by
}

// inRun reports whether identity id (lower-cased) collected around t.
func (en *Engine) inRun(id string, t time.Time) bool {
	ws := en.runs[id]
	if len(ws) == 0 {
		return false
	}
	// The first window ending at or after t is the only candidate.
	i := sort.Search(len(ws), func(i int) bool { return !ws[i].to.Before(t) })
	return i < len(ws) && !t.Before(ws[i].from)
}

// collectorRun reports whether e's actor is an identity a recorded
// collection run used, within that run's window. The actor is matched by
// its raw identity, logged id, session issuer, the role of an assumed-role
// session, and its resolved graph node (id with and without the provider
// prefix).
func (en *Engine) collectorRun(c *Context, e *event.Event) bool {
	if len(en.runs) == 0 {
		return false
	}
	cands := []string{e.Actor.Raw, e.Actor.ID, e.Actor.SessionIssuer, sessionRole(e.Actor.Raw)}
	if c.hasNode {
		cands = append(cands, c.key)
		for _, p := range []string{"aws:", "entra:user:", "entra:sp:", "gcp:sa:", "gcp:principal:user:"} {
			if rest, ok := strings.CutPrefix(c.key, p); ok {
				cands = append(cands, rest)
			}
		}
	}
	for _, id := range cands {
		if id != "" && en.inRun(strings.ToLower(id), e.Time) {
			return true
		}
	}
	return false
}

// sessionRole maps arn:P:sts::ACCT:assumed-role/NAME/SESSION to
// arn:P:iam::ACCT:role/NAME (what the collector records besides its
// session ARN); "" otherwise.
func sessionRole(arn string) string {
	if !strings.Contains(arn, ":assumed-role/") {
		return ""
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" {
		return ""
	}
	name, _, ok := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
	if !ok || name == "" {
		return ""
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + name
}

// session is one set of temporary credentials seen being issued.
type session struct {
	caller    string // graph key or raw identity of the AssumeRole caller
	callerRaw string
	role      string // assumed role (session) ARN
	at        time.Time
	ref       EventRef
}

// sessionTTL bounds how long issued credentials are remembered (the STS
// maximum is 12 h).
const sessionTTL = 12 * time.Hour

// NewEngine builds an engine with rules (use DefaultRules for the standard set).
func NewEngine(g Graph, cfg Config, rules []Rule) *Engine {
	en := &Engine{rules: rules, graph: g, cfg: cfg, seen: map[string]bool{}, maxSeen: maxSeenKeys, views: map[*graph.View]*viewState{},
		stats: Stats{Alerts: map[string]int{}, Suppressed: map[string]int{}}, grants: map[string][]EventRef{}, recent: map[string][]Alert{}, sessions: map[string]session{}}
	if rs, ok := g.(CollectionRunSource); ok {
		en.runs = indexRuns(rs.CollectionRuns())
	}
	// R04 looks back 24 h for grants; R05 as configured.
	en.grantTTL = 24 * time.Hour
	for _, r := range rules {
		if fg, ok := r.(*freshGrant); ok {
			en.grantTTL = max(en.grantTTL, fg.p.Lookback)
		}
	}
	return en
}

// Rules returns the engine's rules.
func (en *Engine) Rules() []Rule { return en.rules }

// Stats returns counters so far.
func (en *Engine) Stats() Stats { return en.stats }

// Context is what a rule sees about one event: the graph at its time and
// the resolved actor.
type Context struct {
	en      *Engine
	ctx     context.Context
	e       *event.Event
	view    *graph.View
	actor   graph.NodeID
	hasNode bool
	key     string
	res     *resolvedActor
	// approved is set when the actor belongs to an approved deployer group.
	approved bool
}

// Approved reports whether the actor is in an approved deployer group; deploy
// rules that honour it call Suppress to count the suppression.
func (c *Context) Approved(rule string) bool {
	if c.approved {
		c.en.stats.Suppressed["approved-deployer:"+rule]++
	}
	return c.approved
}

// Key identifies the actor across events: its graph node when resolved,
// else the raw identity.
func (c *Context) Key() string { return c.key }

// View is the graph at the event's time.
func (c *Context) View() *graph.View { return c.view }

// ActorNode returns the resolved actor node.
func (c *Context) ActorNode() (graph.NodeID, bool) { return c.actor, c.hasNode }

// Origin returns the session the actor used, if its issuing AssumeRole was
// seen in the stream within the credential lifetime.
func (c *Context) Origin() (session, bool) {
	if c.e.Actor.AccessKeyID == "" {
		return session{}, false
	}
	s, ok := c.en.sessions[c.e.Actor.AccessKeyID]
	if !ok || c.e.Time.Sub(s.at) > sessionTTL || c.e.Time.Before(s.at) {
		return session{}, false
	}
	return s, true
}

// Actor is the alert actor for this event.
func (c *Context) Actor() Actor {
	a := Actor{ID: c.key, Name: c.e.Actor.Raw, Source: c.e.Actor.Raw, Resolved: "unresolved"}
	if s, ok := c.Origin(); ok && s.caller != c.key {
		a.Origin = s.caller
	}
	if c.hasNode {
		a.ID, a.Resolved = c.key, "graph"
		if name := c.res.nodeName(c.view); name != "" {
			a.Name = name
		}
	}
	return a
}

// Snapshots lists the snapshot ids behind the view.
func (c *Context) Snapshots() []string {
	var ids []string
	for _, m := range c.view.Manifests() {
		ids = append(ids, m.ID)
	}
	return ids
}

// DeployPath reports how the actor could deploy at the event's time:
// "direct", "escalation" (only through an escalation edge) or "none", with
// the path.
func (c *Context) DeployPath(scope string) (string, []queries.Hop, error) {
	return c.en.deployPathAt(c.view, c.actor, c.hasNode, scope)
}

// DeployPathAt is DeployPath at another time (R05 compares with before).
func (c *Context) DeployPathAt(t time.Time, scope string) (string, []queries.Hop, error) {
	v, err := c.en.graph.ViewAt(c.ctx, t)
	if err != nil {
		return "", nil, err
	}
	r := c.en.resolve(v, c.e)
	return c.en.deployPathAt(v, r.node, r.ok, scope)
}

func (en *Engine) deployPathAt(v *graph.View, n graph.NodeID, ok bool, scope string) (string, []queries.Hop, error) {
	if !ok {
		return "none", nil, nil
	}
	vs := en.state(v)
	if vs.deploy == nil {
		idx, err := newDeployIndex(v)
		if err != nil {
			return "", nil, err
		}
		vs.deploy = idx
	}
	p, path, found := vs.deploy.principal(n)
	if !found {
		return "none", nil, nil
	}
	if scope != "" && len(p.Scopes) > 0 && !scopeCovered(p.Scopes, scope) {
		return "none", nil, nil
	}
	return p.Via, path, nil
}

// scopeCovered reports whether one of the capability scopes covers scope:
// equal, or (Azure ARM ids) a parent path of it.
func scopeCovered(scopes []string, scope string) bool {
	for _, s := range scopes {
		if s == scope || (strings.HasPrefix(s, "/") && strings.HasPrefix(scope, s+"/")) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RecentGrants returns grant events in the stream that named the actor
// (by graph name or raw identity) within lookback before the event.
func (c *Context) RecentGrants(lookback time.Duration) []EventRef {
	var out []EventRef
	c.recentGrants(lookback, func(g *EventRef) bool {
		out = append(out, *g)
		return true
	})
	return out
}

// HasRecentGrant reports whether RecentGrants would return any: the deploy
// rules ask on every deploy and need the list only for an alert, and a
// busy grantee's journal holds up to 100 refs.
func (c *Context) HasRecentGrant(lookback time.Duration) bool {
	found := false
	c.recentGrants(lookback, func(*EventRef) bool {
		found = true
		return false
	})
	return found
}

// recentGrants calls fn for each grant RecentGrants returns, in its order,
// until fn returns false.
func (c *Context) recentGrants(lookback time.Duration, fn func(*EventRef) bool) {
	scan := func(name string) bool {
		list := c.en.grants[name]
		for i := range list {
			if d := c.e.Time.Sub(list[i].Time); d >= 0 && d <= lookback && !fn(&list[i]) {
				return false
			}
		}
		return true
	}
	if c.hasNode {
		c.res.nodeName(c.view)
		if !scan(c.res.lowerName) {
			return
		}
	}
	scan(c.res.lowerRaw)
}

// RecentAlerts returns alerts of rule already reported for an actor name
// or raw identity (lower-cased).
func (c *Context) RecentAlerts(rule, who string) []Alert {
	var out []Alert
	for _, a := range c.en.recent[strings.ToLower(who)] {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// Seen reports whether an alert with key was already reported: rules check
// it before building an alert they would only drop.
func (c *Context) Seen(key string) bool { return c.en.seenKey(key) }

// duplicate is Seen for a rule that would otherwise return the alert: it
// counts the duplicate as the engine would have on dropping it, so the
// stats do not depend on where the check is made.
func (c *Context) duplicate(key string) bool {
	if c.en.seenKey(key) {
		c.en.stats.Duplicates++
		return true
	}
	return false
}

// Bounds of the engine's caches (see seen and deploy).
const (
	maxSeenKeys   = 1 << 20
	maxViewsCache = 4
)

func (en *Engine) seenKey(key string) bool { return en.seen[key] || en.seenOld[key] }

func (en *Engine) markSeen(key string) {
	if len(en.seen) >= en.maxSeen {
		en.seenOld, en.seen = en.seen, map[string]bool{}
	}
	en.seen[key] = true
}

// Process runs every rule on one event and returns new (deduplicated,
// not suppressed) alerts.
func (en *Engine) Process(ctx context.Context, ev event.Event) ([]Alert, error) {
	en.stats.Events++
	if ev.Time.After(en.newest) {
		en.newest = ev.Time
	}
	v, err := en.graph.ViewAt(ctx, ev.Time)
	if err != nil {
		return nil, err
	}
	en.cur = ev
	e := &en.cur
	// Drop the references when done: the engine must not keep the last
	// event's details or the caller's context alive.
	defer func() { en.cur, en.cctx = event.Event{}, Context{} }()
	ra := en.resolve(v, e)
	en.cctx = Context{en: en, ctx: ctx, e: e, view: v, actor: ra.node, hasNode: ra.ok, key: ra.key, res: ra}
	c := &en.cctx
	if !ra.ok {
		en.stats.Unresolved++
	}
	if e.Class == event.Grant && e.Outcome == event.Success && e.Detail("op") != "remove" {
		for _, k := range []string{"member", "user", "principal"} {
			if who := strings.ToLower(e.Detail(k)); who != "" {
				if _, ok := en.grants[who]; !ok && en.grantSweep.due(len(en.grants)) {
					en.sweepJournals()
				}
				list := append(en.grants[who], refOf(e))
				if len(list) > 100 {
					list = list[len(list)-100:]
				}
				en.grants[who] = list
			}
		}
	}
	if e.Class == event.Identity && e.Outcome == event.Success {
		if key := e.Detail("newAccessKeyId"); key != "" {
			en.sessions[key] = session{caller: c.key, callerRaw: c.Actor().Name, role: e.Detail("assumedRoleArn"), at: e.Time, ref: refOf(e)}
			if len(en.sessions) > 100000 {
				for k, s := range en.sessions {
					if e.Time.Sub(s.at) > sessionTTL {
						delete(en.sessions, k)
					}
				}
			}
		}
	}
	if e.Class == event.Deploy && len(en.cfg.ApprovedDeployers) > 0 && c.hasNode && en.approved(v, c.actor) {
		c.approved = true
	}
	if reason := en.suppressed(c, e); reason != "" {
		if e.Class != event.Other {
			en.stats.Suppressed[reason]++
		}
		return nil, nil
	}
	var out []Alert
	for _, r := range en.rules {
		as, err := r.Observe(ctx, c, e)
		if err != nil {
			return out, fmt.Errorf("rule %s: %w", r.Meta().ID, err)
		}
		for _, a := range as {
			if en.seenKey(a.Key) {
				en.stats.Duplicates++
				continue
			}
			en.markSeen(a.Key)
			en.stats.Alerts[a.Rule]++
			out = append(out, a)
			for _, k := range []string{strings.ToLower(a.Actor.Name), strings.ToLower(a.Actor.Source)} {
				if k == "" {
					continue
				}
				if _, ok := en.recent[k]; !ok && en.recentSweep.due(len(en.recent)) {
					en.sweepJournals()
				}
				list := append(en.recent[k], a)
				if len(list) > 50 {
					list = list[len(list)-50:]
				}
				en.recent[k] = list
			}
		}
	}
	return out, nil
}

// sweepJournals drops the grantees and actors of the grant journal and of
// the recent alerts whose newest entry is older than any lookback can
// reach (grantTTL, plus idleSlack for late events).
func (en *Engine) sweepJournals() {
	idle := func(t time.Time) bool { return en.newest.Sub(t) > en.grantTTL+idleSlack }
	for name, list := range en.grants {
		if idle(latestRef(list)) {
			delete(en.grants, name)
		}
	}
	en.grantSweep.done(len(en.grants))
	for name, list := range en.recent {
		var newest time.Time
		for _, a := range list {
			if a.Time.After(newest) {
				newest = a.Time
			}
		}
		if idle(newest) {
			delete(en.recent, name)
		}
	}
	en.recentSweep.done(len(en.recent))
}

// viewState is what the engine derives from one view, each part computed
// on first use.
type viewState struct {
	deploy *deployIndex
	// actors memoizes resolveActor by raw identity (hashing one string is
	// cheaper than hashing the whole signature): a stream repeats a few
	// thousand actors, and each resolution is several binary searches over
	// string ids. others holds the rare actors that share a raw identity
	// with a different signature.
	actors map[string]*resolvedActor
	others map[actorSig]*resolvedActor
	// slots is a direct-mapped cache in front of actors (see actorSlot):
	// most events hit it with one pointer-equal signature compare.
	slots [actorSlots]*resolvedActor
}

// maxResolvedActors bounds viewState.actors; the map is cleared when full.
const maxResolvedActors = 1 << 16

// actorSig is every field of an event that resolveActor and the actor key
// read: equal signatures resolve alike in one view.
type actorSig struct {
	cloud, typ, raw, account, id, issuer, canonical string
}

// resolvedActor is an actor resolved in one view, with the strings rules
// ask for again and again.
type resolvedActor struct {
	sig  actorSig
	node graph.NodeID
	ok   bool
	key  string // Context.Key
	// lowerRaw is the lower-cased raw identity (grant journal key).
	lowerRaw string
	// name and lowerName are the node's display name, decoded on first
	// use (named).
	named           bool
	name, lowerName string
}

// nodeName returns the resolved node's name (the node must be resolved).
func (r *resolvedActor) nodeName(v *graph.View) string {
	if !r.named {
		r.name = v.Node(r.node).Name
		r.lowerName = strings.ToLower(r.name)
		r.named = true
	}
	return r.name
}

// state returns v's cached state, creating it (and evicting the oldest
// view's) when v is new.
func (en *Engine) state(v *graph.View) *viewState {
	if v == en.lastView && en.lastState != nil {
		return en.lastState
	}
	vs, ok := en.views[v]
	if !ok {
		vs = &viewState{actors: map[string]*resolvedActor{}, others: map[actorSig]*resolvedActor{}}
		en.views[v] = vs
		en.viewOrder = append(en.viewOrder, v)
		if len(en.viewOrder) > maxViewsCache {
			delete(en.views, en.viewOrder[0])
			en.viewOrder = en.viewOrder[1:]
		}
	}
	en.lastView, en.lastState = v, vs
	return vs
}

// resolve is resolveActor memoized per view, with the actor's key.
func (en *Engine) resolve(v *graph.View, e *event.Event) *resolvedActor {
	a := &e.Actor
	sig := actorSig{cloud: e.Cloud, typ: a.Type, raw: a.Raw, account: a.Account, id: a.ID, issuer: a.SessionIssuer, canonical: a.CanonicalARN}
	vs := en.state(v)
	slot := &vs.slots[actorSlot(a.Raw)]
	if r := *slot; r != nil && r.sig == sig {
		r.sig = sig // see below
		return r
	}
	first := vs.actors[a.Raw]
	if first != nil && first.sig == sig {
		// Equal values: keep this event's strings, which the parser's
		// shared-string cache hands out again, so the next compare of
		// this actor stops at the pointers.
		first.sig = sig
		*slot = first
		return first
	}
	if first != nil {
		if r, ok := vs.others[sig]; ok {
			return r
		}
	}
	r := &resolvedActor{sig: sig, lowerRaw: strings.ToLower(a.Raw)}
	r.node, r.ok = resolveActor(v, e)
	switch {
	case r.ok:
		r.key = v.NodeIDString(r.node)
	case a.Raw != "":
		r.key = e.Cloud + ":" + a.Raw
	default:
		r.key = e.Cloud + ":unknown"
	}
	if len(vs.actors)+len(vs.others) >= maxResolvedActors {
		clear(vs.actors)
		clear(vs.others)
		clear(vs.slots[:])
		first = nil
	}
	if first == nil {
		vs.actors[a.Raw] = r
	} else {
		vs.others[sig] = r
	}
	*slot = r
	return r
}

// actorSlots is the size of viewState.slots (a power of two): several
// times the few thousand actors of a busy stream, so that few collide.
const actorSlots = 1 << actorSlotBits

const actorSlotBits = 14

// actorSlot picks raw's slot in viewState.slots from its length and last
// bytes (where ARNs, emails and session names differ) without hashing the
// whole string.
func actorSlot(raw string) int {
	h := uint64(len(raw))
	if n := len(raw); n >= 8 {
		h ^= uint64(raw[n-1]) | uint64(raw[n-2])<<8 | uint64(raw[n-3])<<16 | uint64(raw[n-4])<<24 |
			uint64(raw[n-5])<<32 | uint64(raw[n-6])<<40 | uint64(raw[n-7])<<48 | uint64(raw[n-8])<<56
	} else {
		for i := 0; i < n; i++ {
			h = h<<8 | uint64(raw[i])
		}
	}
	return int((h * 0x9E3779B97F4A7C15) >> (64 - actorSlotBits))
}

// approved reports whether n is a member (direct or nested) of an approved
// deployer group.
func (en *Engine) approved(v *graph.View, n graph.NodeID) bool {
	want := map[graph.NodeID]bool{}
	for _, g := range en.cfg.ApprovedDeployers {
		if id, ok := v.Lookup(g); ok {
			want[id] = true
			continue
		}
		for _, id := range v.FindByName(g) {
			if v.NodeKind(id) == graph.NodeGroup {
				want[id] = true
			}
		}
	}
	seen := map[graph.NodeID]bool{n: true}
	frontier := []graph.NodeID{n}
	for depth := 0; depth < 8 && len(frontier) > 0; depth++ {
		var next []graph.NodeID
		for _, cur := range frontier {
			for _, e := range v.Out(cur) {
				_, to, kind, _ := v.EdgeEnds(e)
				if kind != graph.EdgeMemberOf || seen[to] {
					continue
				}
				if want[to] {
					return true
				}
				seen[to] = true
				next = append(next, to)
			}
		}
		frontier = next
	}
	return false
}

// suppressed applies the allowlist (principal AND its usual user agent) and
// permgraph's own collector identities: the configured ones at any time,
// the ones the snapshot job recorded only within their runs' windows. Only
// discovery-class calls are suppressed for collectors: a deploy or grant by
// a collector identity (a stolen key) still alerts.
func (en *Engine) suppressed(c *Context, e *event.Event) string {
	discovery := e.Class == event.DiscoveryGroup || e.Class == event.DiscoveryPermission || e.Class == event.SelfProbe
	if discovery {
		for _, id := range en.cfg.Collectors {
			if id == c.key || id == e.Actor.Raw {
				return "permgraph-collector"
			}
		}
		if en.collectorRun(c, e) {
			return "collector-run"
		}
	}
	for _, a := range en.cfg.Allow {
		if a.Principal != c.key && a.Principal != e.Actor.Raw {
			continue
		}
		if a.UserAgent == "" || strings.Contains(e.Actor.UserAgent, a.UserAgent) {
			return "allowlist"
		}
	}
	return ""
}

// sweeper bounds a per-actor map over a long stream: once the map holds
// sweepAt keys, the caller drops the entries idle for longer than they can
// matter, and the next sweep waits until the map has doubled (O(1)
// amortized per new key). Below sweepMinKeys nothing is ever dropped, so
// ordinary runs keep every entry.
type sweeper struct{ at int }

// compactMin is the fewest evicted slots worth compacting a queue for.
const compactMin = 8

// sweepMinKeys is the map size of the first sweep.
const sweepMinKeys = 1 << 16

// idleSlack is how far beyond its own horizon an entry must be idle, by
// the newest event time seen, before a sweep drops it: late events within
// it still find their actor's state.
const idleSlack = time.Hour

func (s *sweeper) due(n int) bool { return n >= max(s.at, sweepMinKeys) }

func (s *sweeper) done(n int) { s.at = max(sweepMinKeys, 2*n) }

// latestRef is the newest time in refs (kept in arrival order, which late
// events make differ from time order); zero for none.
func latestRef(refs []EventRef) time.Time {
	var t time.Time
	for _, r := range refs {
		if r.Time.After(t) {
			t = r.Time
		}
	}
	return t
}

// window is a per-actor sliding window of recent events with running
// counts, so each event costs O(1) amortized however busy the actor is.
type window struct {
	span   time.Duration
	byKey  map[string]*actorWindow
	max    int
	newest time.Time // newest event time added, for sweeps
	sweep  sweeper
}

type actorWindow struct {
	items   []stamp // items[head:] are live, in time order
	head    int
	actions map[string]int
	targets map[string]int
	denied  map[string]int // denied calls by action
	nDenied int
}

// live returns the events in the window.
func (aw *actorWindow) live() []stamp { return aw.items[aw.head:] }

type stamp struct {
	t        time.Time
	action   string
	resource string
	outcome  event.Outcome
	ref      EventRef
}

func newWindow(span time.Duration) *window {
	return &window{span: span, byKey: map[string]*actorWindow{}, max: 10000}
}

// add records s for key, drops what fell out of the window (or beyond max
// items) and returns the actor's window. Late events are kept in time order.
func (w *window) add(key string, s stamp) *actorWindow {
	if s.t.After(w.newest) {
		w.newest = s.t
	}
	aw := w.byKey[key]
	if aw == nil {
		if w.sweep.due(len(w.byKey)) {
			for k, x := range w.byKey {
				if l := x.live(); len(l) == 0 || w.newest.Sub(l[len(l)-1].t) > w.span+idleSlack {
					delete(w.byKey, k)
				}
			}
			w.sweep.done(len(w.byKey))
		}
		aw = &actorWindow{actions: map[string]int{}, targets: map[string]int{}, denied: map[string]int{}}
		w.byKey[key] = aw
	}
	i := len(aw.items)
	for i > aw.head && aw.items[i-1].t.After(s.t) {
		i--
	}
	aw.items = append(aw.items, stamp{})
	copy(aw.items[i+1:], aw.items[i:])
	aw.items[i] = s
	aw.count(s, 1)
	newest := aw.items[len(aw.items)-1].t
	for aw.head < len(aw.items) && (newest.Sub(aw.items[aw.head].t) > w.span || len(aw.items)-aw.head > w.max) {
		aw.count(aw.items[aw.head], -1)
		aw.items[aw.head] = stamp{}
		aw.head++
	}
	// Compact once evicted slots outnumber live ones: eviction stays O(1)
	// amortized, and an actor with a few events an hour does not pile up
	// dead slots over a long stream (a bound of 64 dead slots per actor was
	// ~20 KB each across every actor ever seen).
	if aw.head >= compactMin && aw.head > len(aw.items)/2 {
		n := copy(aw.items, aw.items[aw.head:])
		aw.items = aw.items[:n]
		aw.head = 0
	}
	return aw
}

func (aw *actorWindow) count(s stamp, d int) {
	bump := func(m map[string]int, k string) {
		if k == "" {
			return
		}
		if m[k] += d; m[k] <= 0 {
			delete(m, k)
		}
	}
	bump(aw.actions, s.action)
	bump(aw.targets, s.resource)
	if s.outcome == event.Denied {
		bump(aw.denied, s.action)
		aw.nDenied += d
	}
}

// bucket is a dedupe bucket: one alert per actor per span.
func bucket(t time.Time, span time.Duration) string {
	return strconv.FormatInt(t.Truncate(span).Unix(), 10)
}
