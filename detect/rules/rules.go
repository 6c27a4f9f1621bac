package rules

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"permgraph/detect/event"
	"permgraph/queries"
)

// Shared response steps (the ADS "Response" section); each rule adds its
// own first steps. Commands are printed for a person to run, never run.
var commonResponse = []string{
	"Confirm with the principal's owner whether the activity was expected.",
	"If not: contain (disable the credential or session), preserve the audit logs, and review the principal's permissions (permgraph what-can).",
	"Document the incident and any permission change made.",
}

func response(first ...string) []string {
	return append(append([]string{}, first...), commonResponse...)
}

// DefaultRules is the standard rule set with default parameters; b keeps the
// first-seen baseline (nil: an in-memory one for this run).
func DefaultRules(b Baseline) []Rule {
	rs, _ := RulesFromConfig(Config{}, b) // defaults always parse
	return rs
}

// RulesFromConfig builds the rule set with cfg.Params applied (durations
// like "10m", integers, ratios) and cfg.Disabled removed. Unknown rule ids
// or parameters, and invalid change windows, are errors, so a typo never
// silently keeps a default.
func RulesFromConfig(cfg Config, b Baseline) ([]Rule, error) {
	if b == nil {
		b = NewMemoryBaseline()
	}
	p := paramSet{cfg: cfg.Params, used: map[string]bool{}}
	burst := DiscoveryBurstParams{Window: p.dur("R01", "window", 10*time.Minute), MinActions: p.int("R01", "min_actions", 3),
		MinTargets: p.int("R01", "min_targets", 10), MinEvents: p.int("R01", "min_events", 25), Suppress: p.dur("R01", "suppress", time.Hour)}
	probe := SelfProbeParams{Window: p.dur("R03", "window", 10*time.Minute), MinDenied: p.int("R03", "min_denied", 10),
		DeniedRatio: p.float("R03", "denied_ratio", 0.4), MinActions: p.int("R03", "min_actions", 5), Suppress: p.dur("R03", "suppress", time.Hour)}
	all := []Rule{
		NewFirstSeenDiscovery(FirstSeenParams{History: p.dur("R02", "history", 14*24*time.Hour)}, b),
		NewDiscoveryBurst(burst),
		NewSelfProbe(probe),
		NewNoPathDeploy(),
		NewFreshGrantDeploy(FreshGrantParams{Lookback: p.dur("R05", "lookback", 24*time.Hour)}),
		NewUnusualChain(ChainParams{History: p.dur("R06", "history", 14*24*time.Hour), SessionTTL: p.dur("R06", "session_ttl", 12*time.Hour)}, b),
		NewRuntimeIdentity(),
		NewPrivilegedSpec(),
		NewExec(),
		NewDiscoveryThenDeploy(DiscoveryThenDeployParams{Window: p.dur("R10", "window", 2*time.Hour)}),
		NewVolumeSpike(volumeParams(&p)),
	}
	if p.err != nil {
		return nil, p.err
	}
	if err := validateChangeWindows(cfg.ChangeWindows); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, r := range all {
		ids[r.Meta().ID] = true
	}
	for id, kv := range cfg.Params {
		if !ids[id] {
			return nil, fmt.Errorf("rules config: params: unknown rule %q", id)
		}
		for k := range kv {
			if !p.used[id+"."+k] {
				return nil, fmt.Errorf("rules config: params.%s: unknown parameter %q", id, k)
			}
		}
	}
	off := map[string]bool{}
	for _, id := range cfg.Disabled {
		if !ids[id] {
			return nil, fmt.Errorf("rules config: disabled: unknown rule %q", id)
		}
		off[id] = true
	}
	var out []Rule
	for _, r := range all {
		if !off[r.Meta().ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// paramSet reads overrides, remembering which were used and the first error.
type paramSet struct {
	cfg  map[string]map[string]string
	used map[string]bool
	err  error
}

func (p *paramSet) raw(rule, key string) (string, bool) {
	p.used[rule+"."+key] = true
	v, ok := p.cfg[rule][key]
	return v, ok
}

func (p *paramSet) fail(rule, key, v string, err error) {
	if p.err == nil {
		p.err = fmt.Errorf("rules config: params.%s.%s = %q: %w", rule, key, v, err)
	}
}

func (p *paramSet) dur(rule, key string, def time.Duration) time.Duration {
	v, ok := p.raw(rule, key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err == nil && d <= 0 {
		err = fmt.Errorf("must be positive")
	}
	if err != nil {
		p.fail(rule, key, v, err)
		return def
	}
	return d
}

func (p *paramSet) int(rule, key string, def int) int {
	v, ok := p.raw(rule, key)
	if !ok {
		return def
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n <= 0 {
		p.fail(rule, key, v, fmt.Errorf("want a positive integer"))
		return def
	}
	return n
}

func (p *paramSet) float(rule, key string, def float64) float64 {
	v, ok := p.raw(rule, key)
	if !ok {
		return def
	}
	var f float64
	if _, err := fmt.Sscanf(v, "%g", &f); err != nil || f <= 0 || f > 1 {
		p.fail(rule, key, v, fmt.Errorf("want a ratio in (0, 1]"))
		return def
	}
	return f
}

func isDiscovery(c event.Class) bool {
	return c == event.DiscoveryGroup || c == event.DiscoveryPermission || c == event.SelfProbe
}

// bulkDiscovery are single calls that dump whole permission graphs.
var bulkDiscovery = map[string]bool{
	"GetAccountAuthorizationDetails": true,
	"SearchAllIamPolicies":           true,
	"AnalyzeIamPolicy":               true,
}

// whoami reports a call that only names the caller (sts GetCallerIdentity):
// every SDK, CLI and Terraform run makes it, so it is not a permission probe
// on its own (DETECTIONS.md R03 triggers) and does not open an R10 sequence.
// It still counts in R01's window.
func whoami(e *event.Event) bool {
	return e.Cloud == "aws" && actionName(e) == "GetCallerIdentity"
}

// controllerCreated reports a pod created by a Kubernetes controller for
// its owner (ownerReferences set, actor a kube-system controller): the
// owning workload's create is what the deploy rules judge (DETECTIONS.md
// R04/R08). A user setting ownerReferences is not skipped.
func controllerCreated(e *event.Event) bool {
	if e.Detail("ownerKind") == "" {
		return false
	}
	a := e.Actor.Raw
	return strings.HasPrefix(a, "system:serviceaccount:kube-system:") || a == "system:kube-controller-manager"
}

func actionName(e *event.Event) string {
	a := e.Action
	if i := strings.LastIndexAny(a, ":./"); i >= 0 {
		return a[i+1:]
	}
	return a
}

// toolAgents are user agents of enumeration tools and raw HTTP libraries.
var toolAgents = []string{"pacu", "hound", "roadrecon", "graphrunner", "python-requests", "aiohttp", "go-http-client", "access_matrix", "curl/"}

func toolAgent(ua string) bool {
	l := strings.ToLower(ua)
	for _, t := range toolAgents {
		if strings.Contains(l, t) {
			return true
		}
	}
	return false
}

// ---- R01 ----

// DiscoveryBurstParams tune R01.
type DiscoveryBurstParams struct {
	Window                            time.Duration
	MinActions, MinTargets, MinEvents int
	Suppress                          time.Duration
}

type discoveryBurst struct {
	p DiscoveryBurstParams
	w *window
}

// NewDiscoveryBurst is R01 disc.group_enum_burst.
func NewDiscoveryBurst(p DiscoveryBurstParams) Rule {
	return &discoveryBurst{p: p, w: newWindow(p.Window)}
}

func (r *discoveryBurst) Meta() Meta {
	return Meta{ID: "R01", Name: "disc.group_enum_burst", Title: "Cloud group / permission enumeration burst", Severity: Low,
		Attack: []string{"T1069.003", "T1087.004"},
		Params: map[string]string{"window": r.p.Window.String(), "min_actions": fmt.Sprint(r.p.MinActions), "min_targets": fmt.Sprint(r.p.MinTargets),
			"min_events": fmt.Sprint(r.p.MinEvents), "suppress": r.p.Suppress.String()},
		Response: response("List what the principal enumerated (the alert's events) and whether it can deploy: permgraph what-can <actor>.")}
}

func (r *discoveryBurst) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	if !isDiscovery(e.Class) {
		return nil, nil
	}
	if e.Outcome != event.Success && e.Outcome != event.Denied {
		return nil, nil
	}
	aw := r.w.add(c.Key(), stamp{t: e.Time, action: e.Action, resource: e.Resource, outcome: e.Outcome, ref: refOf(e)})
	bulk := bulkDiscovery[actionName(e)]
	if !bulk && !(len(aw.actions) >= r.p.MinActions && (len(aw.targets) >= r.p.MinTargets || len(aw.live()) >= r.p.MinEvents)) {
		return nil, nil
	}
	key := "R01|" + c.Key() + "|" + bucket(e.Time, r.p.Suppress)
	if c.Seen(key) {
		return nil, nil
	}
	m := r.Meta()
	sev := m.Severity
	var labels []string
	if c.hasNode && c.view.NodeKind(c.actor).String() == "role" {
		sev, labels = sev.up(1), append(labels, "workload-or-role-session")
	}
	if toolAgent(e.Actor.UserAgent) {
		sev, labels = sev.up(1), append(labels, "tool-user-agent")
	}
	if bulk {
		labels = append(labels, "bulk-enumeration:"+actionName(e))
	}
	a := newAlert(m, sev, c, e, fmt.Sprintf("%s made %d discovery calls (%d distinct actions, %d targets) within %s", c.Actor().Name, len(aw.live()), len(aw.actions), len(aw.targets), r.p.Window))
	a.Labels = labels
	a.Events = refsOf(aw.live(), 20)
	a.Key = key
	return []Alert{a}, nil
}

// ---- R03 ----

// SelfProbeParams tune R03.
type SelfProbeParams struct {
	Window      time.Duration
	MinDenied   int
	DeniedRatio float64
	MinActions  int
	Suppress    time.Duration
}

type selfProbe struct {
	p    SelfProbeParams
	w    *window
	meta Meta
}

// NewSelfProbe is R03 disc.self_permission_probe.
func NewSelfProbe(p SelfProbeParams) Rule {
	r := &selfProbe{p: p, w: newWindow(p.Window)}
	r.meta = r.buildMeta()
	return r
}

func (r *selfProbe) Meta() Meta { return r.meta }

func (r *selfProbe) buildMeta() Meta {
	return Meta{ID: "R03", Name: "disc.self_permission_probe", Title: "Principal probing its own effective permissions", Severity: Medium,
		Attack: []string{"T1069.003", "T1087.004", "T1613"},
		Params: map[string]string{"window": r.p.Window.String(), "min_denied": fmt.Sprint(r.p.MinDenied), "denied_ratio": fmt.Sprint(r.p.DeniedRatio),
			"min_actions": fmt.Sprint(r.p.MinActions), "suppress": r.p.Suppress.String()},
		Response: response("Check where the credential was used from (source IP, user agent) and whether it was recently issued or leaked.")}
}

func (r *selfProbe) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	m := r.Meta()
	if e.Class == event.SelfProbe && e.Outcome != event.Failed && !whoami(e) {
		if c.Seen(m.ID + "|" + c.Key() + "|" + bucket(e.Time, r.p.Suppress)) {
			return nil, nil
		}
		sev := m.Severity
		if toolAgent(e.Actor.UserAgent) {
			sev = sev.up(1)
		}
		a := newAlert(m, sev, c, e, fmt.Sprintf("%s called %s, which enumerates its own permissions", c.Actor().Name, e.Action))
		a.Key = m.ID + "|" + c.Key() + "|" + bucket(e.Time, r.p.Suppress)
		return []Alert{a}, nil
	}
	if e.Class == event.Other {
		return nil, nil
	}
	aw := r.w.add(c.Key(), stamp{t: e.Time, action: e.Action, outcome: e.Outcome, ref: refOf(e)})
	denied := aw.nDenied
	if e.Outcome != event.Denied || denied < r.p.MinDenied || float64(denied) < r.p.DeniedRatio*float64(len(aw.live())) || len(aw.denied) < r.p.MinActions {
		return nil, nil
	}
	key := m.ID + "|" + c.Key() + "|" + bucket(e.Time, r.p.Suppress)
	if c.Seen(key) {
		return nil, nil
	}
	a := newAlert(m, m.Severity, c, e, fmt.Sprintf("%s was denied %d times across %d actions within %s (trial-and-error permission probing)", c.Actor().Name, denied, len(aw.denied), r.p.Window))
	a.Labels = []string{"denial-ratio"}
	a.Events = refsOf(aw.live(), 20)
	a.Key = key
	return []Alert{a}, nil
}

// ---- R04 ----

// noPathDeploy keeps its Meta: building it allocates, and deploys ask for
// it on every event.
type noPathDeploy struct{ meta *Meta }

// NewNoPathDeploy is R04 deploy.no_snapshot_path.
func NewNoPathDeploy() Rule {
	m := noPathDeploy{}.buildMeta()
	return noPathDeploy{meta: &m}
}

func (r noPathDeploy) Meta() Meta {
	if r.meta != nil {
		return *r.meta
	}
	return r.buildMeta()
}

func (noPathDeploy) buildMeta() Meta {
	return Meta{ID: "R04", Name: "deploy.no_snapshot_path", Title: "Container deployed by a principal with no path to deploy", Severity: High,
		Attack: []string{"T1610", "T1078.004"}, Params: map[string]string{},
		Response: response("Inspect the deployed workload (image, command, role) and stop it if unexpected.",
			"Find how the principal obtained deploy rights: compare snapshots (permgraph who-can deploy --at <before>) and recent grant events.")}
}

// deployScope is the scope a deploy event needs the capability at, in the
// form capability nodes carry: the AWS account id, the GCP project id, or
// for Azure the lower-cased ARM id of the deployed resource (or its
// subscription), which a capability at the subscription or resource group
// covers (see scopeCovered).
func deployScope(e *event.Event) string {
	switch e.Cloud {
	case "aws", "gcp":
		return e.Scope
	case "azure":
		if r := strings.ToLower(e.Resource); strings.HasPrefix(r, "/subscriptions/") {
			return r
		}
		if e.Scope != "" {
			return "/subscriptions/" + strings.ToLower(e.Scope)
		}
	}
	return ""
}

func (r noPathDeploy) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	if e.Class != event.Deploy || e.Outcome != event.Success || e.Actor.Type == "AWSService" || controllerCreated(e) || c.Approved("R04") {
		return nil, nil
	}
	m := r.Meta()
	key := m.ID + "|" + c.Key() + "|" + e.Action + "|" + bucket(e.Time, time.Hour)
	if !c.hasNode {
		if c.duplicate(key) {
			return nil, nil
		}
		a := newAlert(m, Medium, c, e, fmt.Sprintf("deploy %s by %q, an identity the snapshot does not know", e.Action, e.Actor.Raw))
		a.Labels = []string{"unresolved-actor"}
		switch {
		case len(c.view.Manifests()) == 0:
			a.Labels = append(a.Labels, "no-snapshot-before-event")
		case e.Cloud == "aws" && e.Scope != "":
			if _, ok := c.view.Lookup("aws:account:" + e.Scope); !ok {
				// The account was never collected: a coverage gap more
				// than a finding.
				a.Severity = Low
				a.Labels = append(a.Labels, "account-not-collected")
			}
		}
		a.Key = key
		return []Alert{a}, nil
	}
	via, path, err := c.DeployPath(deployScope(e))
	if err != nil {
		return nil, err
	}
	if via == "direct" {
		return nil, nil
	}
	if c.HasRecentGrant(24 * time.Hour) {
		return nil, nil // a grant in the stream explains it: R05 reports it
	}
	if c.duplicate(key) {
		return nil, nil
	}
	a := newAlert(m, m.Severity, c, e, fmt.Sprintf("%s deployed (%s) but the snapshot gives it no path to deploy", c.Actor().Name, e.Action))
	if via == "escalation" {
		a.Summary = fmt.Sprintf("%s deployed (%s); the snapshot reaches deploy only through a privilege-escalation path", c.Actor().Name, e.Action)
		a.Labels = []string{"escalation-only-path"}
		a.EvidencePath = path
	} else {
		a.Labels = []string{"no-path"}
	}
	a.Key = key
	return []Alert{a}, nil
}

// ---- R05 ----

// FreshGrantParams tune R05.
type FreshGrantParams struct{ Lookback time.Duration }

type freshGrant struct {
	p    FreshGrantParams
	meta Meta
}

// NewFreshGrantDeploy is R05 deploy.after_fresh_grant.
func NewFreshGrantDeploy(p FreshGrantParams) Rule {
	r := &freshGrant{p: p}
	r.meta = r.buildMeta()
	return r
}

func (r *freshGrant) Meta() Meta { return r.meta }

func (r *freshGrant) buildMeta() Meta {
	return Meta{ID: "R05", Name: "deploy.after_fresh_grant", Title: "Deployment shortly after gaining deploy rights", Severity: High,
		Attack: []string{"T1098.003", "T1610"}, Params: map[string]string{"lookback": r.p.Lookback.String()},
		Response: response("Review the grant (who granted it, through which group or policy) and revoke it if not approved.",
			"Inspect and stop the deployed workload if unexpected.")}
}

func (r *freshGrant) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	if e.Class == event.Grant && e.Outcome == event.Success && e.Detail("op") != "remove" {
		return r.lateGrant(c, e), nil
	}
	if e.Class != event.Deploy || e.Outcome != event.Success || !c.hasNode {
		return nil, nil
	}
	hasRecent := c.HasRecentGrant(r.p.Lookback)
	via, path, err := c.DeployPath(deployScope(e))
	if err != nil {
		return nil, err
	}
	gainedInSnapshots := false
	if via != "none" {
		// Only a path now can have been gained: the view before (often
		// an older snapshot set, rebuilt from the store) is not needed
		// otherwise.
		before, _, err := c.DeployPathAt(e.Time.Add(-r.p.Lookback), deployScope(e))
		if err != nil {
			return nil, err
		}
		gainedInSnapshots = before == "none"
	}
	if !hasRecent && !gainedInSnapshots {
		return nil, nil
	}
	m := r.Meta()
	key := m.ID + "|" + c.Key() + "|" + bucket(e.Time, time.Hour)
	if c.duplicate(key) {
		return nil, nil
	}
	recent := c.RecentGrants(r.p.Lookback)
	a := newAlert(m, m.Severity, c, e, fmt.Sprintf("%s deployed (%s) within %s of gaining deploy rights", c.Actor().Name, e.Action, r.p.Lookback))
	a.EvidencePath = path
	if len(recent) > 0 {
		a.Labels = append(a.Labels, "grant-event-in-stream")
		a.Events = append(recent, a.Events...)
	}
	if gainedInSnapshots {
		a.Labels = append(a.Labels, "gained-between-snapshots")
	}
	a.Key = key
	return []Alert{a}, nil
}

// lateGrant handles a grant delivered after the deploy it explains (the
// Workspace and Activity logs arrive hours late): an R04 already sent for
// the grantee, deployed within Lookback after the grant's own time, is
// upgraded to R05. The R04 stays sent; the R05 names it.
func (r *freshGrant) lateGrant(c *Context, e *event.Event) []Alert {
	var out []Alert
	for _, k := range []string{"member", "user", "principal"} {
		who := e.Detail(k)
		if who == "" {
			continue
		}
		for _, prev := range c.RecentAlerts("R04", who) {
			d := prev.Time.Sub(e.Time)
			if d < 0 || d > r.p.Lookback {
				continue
			}
			m := r.Meta()
			a := prev
			a.Rule, a.Title, a.Attack, a.Response = m.ID, m.Title, m.Attack, m.Response
			if a.Severity < m.Severity {
				a.Severity = m.Severity
			}
			a.Summary = fmt.Sprintf("%s deployed %s after a grant at %s that arrived late (upgrades %s)", prev.Actor.Name, d, e.Time.UTC().Format(time.RFC3339), prev.Rule)
			a.Labels = append(append([]string{}, prev.Labels...), "late-grant", "supersedes:"+prev.Key)
			a.Events = append([]EventRef{refOf(e)}, prev.Events...)
			a.Key = m.ID + "|late|" + prev.Key
			out = append(out, a)
		}
	}
	return out
}

// ---- R08 ----

type privilegedSpec struct{}

// NewPrivilegedSpec is R08 deploy.privileged_spec_nonplatform.
func NewPrivilegedSpec() Rule { return privilegedSpec{} }

func (privilegedSpec) Meta() Meta {
	return Meta{ID: "R08", Name: "deploy.privileged_spec_nonplatform", Title: "Host-escape-capable workload by a non-platform principal", Severity: High,
		Attack: []string{"T1610", "T1611"}, Params: map[string]string{},
		Response: response("Stop the workload and inspect the node it ran on for host changes.")}
}

var privilegedFlags = []string{"privileged", "hostPath", "hostNetwork", "hostPID"}

func (r privilegedSpec) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	if e.Class != event.Deploy || e.Outcome != event.Success || controllerCreated(e) {
		return nil, nil
	}
	var flags []string
	for _, f := range privilegedFlags {
		if e.Detail(f) == "true" {
			flags = append(flags, f)
		}
	}
	if len(flags) == 0 || contains(c.en.cfg.Platform, c.Key()) || contains(c.en.cfg.Platform, e.Actor.Raw) {
		return nil, nil
	}
	m := r.Meta()
	a := newAlert(m, m.Severity, c, e, fmt.Sprintf("%s deployed a workload with %s", c.Actor().Name, strings.Join(flags, ", ")))
	a.Labels = flags
	a.Key = m.ID + "|" + c.Key() + "|" + e.ID + "|" + e.Resource
	return []Alert{a}, nil
}

// ---- R09 ----

type execRule struct{}

// NewExec is R09 deploy.exec_or_inject_into_workload.
func NewExec() Rule { return execRule{} }

func (execRule) Meta() Meta {
	return Meta{ID: "R09", Name: "deploy.exec_or_inject_into_workload", Title: "Execution in or injection into a running workload", Severity: Medium,
		Attack: []string{"T1609", "T1610"}, Params: map[string]string{},
		Response: response("Identify the workload and what ran in it; rotate the workload identity's credentials if the session was not expected.")}
}

func (r execRule) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	if e.Class != event.Exec || e.Outcome != event.Success {
		return nil, nil
	}
	m := r.Meta()
	sev := m.Severity
	var labels []string
	if via, _, err := c.DeployPath(deployScope(e)); err == nil && via != "direct" {
		sev, labels = sev.up(1), []string{"no-direct-deploy-path"}
	}
	a := newAlert(m, sev, c, e, fmt.Sprintf("%s executed in a running workload (%s)", c.Actor().Name, e.Action))
	a.Labels = labels
	a.Key = m.ID + "|" + c.Key() + "|" + e.Resource + "|" + bucket(e.Time, time.Hour)
	return []Alert{a}, nil
}

// ---- R10 ----

// DiscoveryThenDeployParams tune R10.
type DiscoveryThenDeployParams struct{ Window time.Duration }

type discoveryThenDeploy struct {
	p      DiscoveryThenDeployParams
	disc   map[string]*refQueue
	newest time.Time // newest discovery time queued, for sweeps
	sweep  sweeper
}

// refQueue keeps an actor's recent events: older than a cutoff or beyond a
// count are dropped, in O(1) amortized per push.
type refQueue struct {
	items []EventRef
	head  int
}

func (q *refQueue) live() []EventRef { return q.items[q.head:] }

func (q *refQueue) push(r EventRef, cutoff time.Time, max int) {
	q.items = append(q.items, r)
	for q.head < len(q.items) && (q.items[q.head].Time.Before(cutoff) || len(q.items)-q.head > max) {
		q.items[q.head] = EventRef{}
		q.head++
	}
	if q.head >= compactMin && q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		q.items, q.head = q.items[:n], 0
	}
}

// NewDiscoveryThenDeploy is R10 seq.discovery_then_deploy.
func NewDiscoveryThenDeploy(p DiscoveryThenDeployParams) Rule {
	return &discoveryThenDeploy{p: p, disc: map[string]*refQueue{}}
}

func (r *discoveryThenDeploy) Meta() Meta {
	return Meta{ID: "R10", Name: "seq.discovery_then_deploy", Title: "Discovery or denied attempts, then deployment or grant", Severity: High,
		Attack: []string{"T1069.003", "T1610"}, Params: map[string]string{"window": r.p.Window.String()},
		Response: response("Treat as an intrusion in progress: contain the credential first, then inspect what was deployed or granted.")}
}

func (r *discoveryThenDeploy) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	k := c.Key()
	if whoami(e) {
		return nil, nil
	}
	if isDiscovery(e.Class) || e.Outcome == event.Denied {
		if e.Time.After(r.newest) {
			r.newest = e.Time
		}
		q := r.disc[k]
		if q == nil {
			if r.sweep.due(len(r.disc)) {
				for actor, q := range r.disc {
					if r.newest.Sub(latestRef(q.live())) > r.p.Window+idleSlack {
						delete(r.disc, actor)
					}
				}
				r.sweep.done(len(r.disc))
			}
			q = &refQueue{}
			r.disc[k] = q
		}
		q.push(refOf(e), e.Time.Add(-r.p.Window), 50)
		return nil, nil
	}
	if (e.Class != event.Deploy && e.Class != event.Grant) || e.Outcome != event.Success {
		return nil, nil
	}
	var prior []EventRef
	if q := r.disc[k]; q != nil {
		for _, d := range q.live() {
			if dt := e.Time.Sub(d.Time); dt >= 0 && dt <= r.p.Window {
				prior = append(prior, d)
			}
		}
	}
	if len(prior) == 0 || c.Seen("R10|"+k+"|"+bucket(e.Time, r.p.Window)) {
		return nil, nil
	}
	m := r.Meta()
	sev := m.Severity
	if e.Class == event.Deploy {
		if via, _, err := c.DeployPath(deployScope(e)); err == nil && via != "direct" {
			sev = sev.up(1)
		}
	}
	a := newAlert(m, sev, c, e, fmt.Sprintf("%s did %d discovery or denied calls, then %s (%s) within %s", c.Actor().Name, len(prior), strings.ToLower(e.Class.String()), e.Action, r.p.Window))
	if len(prior) > 20 {
		prior = prior[len(prior)-20:]
	}
	a.Events = append(prior, refOf(e))
	a.Key = m.ID + "|" + k + "|" + bucket(e.Time, r.p.Window)
	return []Alert{a}, nil
}

// ---- helpers ----

func newAlert(m Meta, sev Severity, c *Context, e *event.Event, summary string) Alert {
	return Alert{Rule: m.ID, Title: m.Title, Severity: sev, Attack: m.Attack, Time: e.Time, Actor: c.Actor(),
		Events: []EventRef{refOf(e)}, EvidencePath: []queries.Hop{}, Response: m.Response, Snapshots: c.Snapshots(), Summary: summary}
}

func refsOf(list []stamp, max int) []EventRef {
	if len(list) > max {
		list = list[len(list)-max:]
	}
	out := make([]EventRef, len(list))
	for i, s := range list {
		out[i] = s.ref
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
