// Package response turns a stored alert into an incident record: a timeline
// of the alert's events, the actor's other activity around it and the
// permission changes that touched the actor's deploy paths; the actor's
// paths at the event's time and now; the rule's ATT&CK mapping, blind spots
// and false positives (from its ADS document); a response checklist; and
// containment and revocation commands, printed for a responder to run, never
// executed (docs/response.md).
package response

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"permgraph/detect/event"
	"permgraph/detect/read"
	"permgraph/detect/rules"
	"permgraph/docs/ads"
	"permgraph/graph"
	"permgraph/queries"
)

// Store is the part of graph.Store an incident reads.
type Store interface {
	Snapshots(ctx context.Context) ([]graph.Manifest, error)
	View(ctx context.Context, at time.Time) (*graph.View, error)
	Changes(ctx context.Context, source string, fromSeq, toSeq uint64) (graph.ChangeSet, error)
}

// Options tune Build.
type Options struct {
	// Logs are files or directories read with detect/read for the actor's
	// activity around the alert (and the full records of its events).
	Logs []string
	// Window is how far before the alert's first event and after its time
	// the actor's activity is collected (default 6h).
	Window time.Duration
	Logger *slog.Logger
}

// Incident is the record of one alert.
type Incident struct {
	ID      string      `json:"id"`
	Alert   rules.Alert `json:"alert"`
	Rule    RuleInfo    `json:"rule"`
	Window  Window      `json:"window"`
	Sources []string    `json:"log_sources,omitempty"`
	// Timeline merges the alert's events (in_alert), the actor's other
	// activity, and permission changes, in time order.
	Timeline          []Entry                    `json:"timeline"`
	PermissionChanges []queries.CapabilityChange `json:"permission_changes"`
	EdgeChanges       []EdgeChange               `json:"edge_changes"`
	PathsAtEvent      PathSet                    `json:"paths_at_event"`
	PathsNow          PathSet                    `json:"paths_now"`
	// Containment stops the workload and the credential the actor used.
	Containment []Command `json:"containment"`
	// Reverts undo grants the actor made in the window (from the logs).
	Reverts []Command `json:"reverts"`
	// Cuts remove the actor's deploy paths in the graph, cheapest first.
	Cuts      []CutPlan `json:"cuts"`
	Checklist []Step    `json:"checklist"`
	Warnings  []string  `json:"warnings,omitempty"`

	full        []event.Event // the alert's events as read from the logs
	grantEvents []event.Event // successful grants by the actor in the window
	actorEvent  *event.Event  // a full record of the actor's (the credential used)
	deploys     []event.Event // the actor's other successful deploys in the window
}

// RuleInfo is the rule's ADS material.
type RuleInfo struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Attack         []Attack `json:"attack"`
	BlindSpots     string   `json:"blind_spots"`
	FalsePositives string   `json:"false_positives"`
	Response       []string `json:"response"`
}

// Attack is one ATT&CK technique.
type Attack struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// Window is the activity window.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Entry is one timeline row.
type Entry struct {
	Time time.Time `json:"time"`
	// Kind: "alert-event", "activity", "permission-change", "alert".
	Kind     string    `json:"kind"`
	InAlert  bool      `json:"in_alert,omitempty"`
	Action   string    `json:"action"`
	Class    string    `json:"class,omitempty"`
	Outcome  string    `json:"outcome,omitempty"`
	Scope    string    `json:"scope,omitempty"`
	Resource string    `json:"resource,omitempty"`
	Summary  string    `json:"summary,omitempty"`
	Ref      event.Ref `json:"ref,omitzero"`
}

// EdgeChange is a changed edge on or next to the actor's paths.
type EdgeChange struct {
	Change string `json:"change"` // added | removed | changed
	// Between are the times of the two snapshot sets compared.
	Between [2]time.Time `json:"between"`
	queries.EdgeRef
}

// PathSet is the actor's deploy paths in one view.
type PathSet struct {
	At        time.Time      `json:"at"`
	Snapshots []string       `json:"snapshots"`
	Paths     []queries.Path `json:"paths"`
	Truncated bool           `json:"truncated,omitempty"`
	Note      string         `json:"note,omitempty"`
}

// Step is one response step with its checklist items.
type Step struct {
	Step  string   `json:"step"`
	Items []string `json:"items"`
	Notes string   `json:"notes"`
}

// Build assembles the incident record of alert a.
func Build(ctx context.Context, st Store, a rules.Alert, o Options) (*Incident, error) {
	if o.Window <= 0 {
		o.Window = 6 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	inc := &Incident{ID: a.Key, Alert: a, Timeline: []Entry{}, PermissionChanges: []queries.CapabilityChange{}, EdgeChanges: []EdgeChange{},
		Containment: []Command{}, Reverts: []Command{}, Cuts: []CutPlan{}}
	first := a.Time
	for _, e := range a.Events {
		if e.Time.Before(first) {
			first = e.Time
		}
	}
	inc.Window = Window{From: first.Add(-o.Window), To: a.Time.Add(o.Window)}
	inc.Rule = ruleInfo(a)
	if err := inc.readLogs(ctx, o); err != nil {
		return nil, err
	}
	deployEv, deployFull := inc.deployEvent()
	evTime := a.Time
	if deployEv != nil {
		evTime = deployEv.Time
	}
	vAt, err := st.View(ctx, evTime)
	if err != nil {
		return nil, fmt.Errorf("incident: graph at %s: %w", evTime.Format(time.RFC3339), err)
	}
	vNow, err := st.View(ctx, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("incident: latest graph: %w", err)
	}
	scope := ""
	if deployEv != nil {
		scope = deployEv.Scope
	}
	inc.PathsAtEvent = deployPaths(vAt, a.Actor.ID, scope)
	inc.PathsNow = deployPaths(vNow, a.Actor.ID, scope)
	if err := inc.permissionChanges(ctx, st, evTime, vAt); err != nil {
		return nil, err
	}
	inc.Containment = containment(a, deployEv, deployFull, inc.actorEvent, inc.deploys)
	inc.Reverts = reverts(inc.grantEvents)
	inc.Cuts, err = cutPlans(vNow, a.Actor.ID, scope)
	if err != nil {
		inc.Warnings = append(inc.Warnings, err.Error())
	}
	sortTimeline(inc.Timeline)
	inc.Checklist = checklist(inc)
	return inc, nil
}

// ruleInfo reads the rule's ADS document.
func ruleInfo(a rules.Alert) RuleInfo {
	ri := RuleInfo{ID: a.Rule, Name: a.Title, Response: a.Response, Attack: []Attack{}}
	for _, t := range a.Attack {
		ri.Attack = append(ri.Attack, Attack{ID: t, URL: "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t, ".", "/") + "/"})
	}
	doc, err := ads.Doc(a.Rule)
	if err != nil {
		ri.BlindSpots, ri.FalsePositives = "(no ADS document for this rule)", "(no ADS document for this rule)"
		return ri
	}
	f, body, err := ads.Parse(doc)
	if err != nil {
		return ri
	}
	if f.Name != "" {
		ri.Name = f.Name
	}
	ri.BlindSpots = section(body, "Blind Spots and Assumptions")
	ri.FalsePositives = section(body, "False Positives")
	return ri
}

// section returns the text under "## name" up to the next "## ".
func section(body, name string) string {
	_, rest, ok := strings.Cut(body, "\n## "+name+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest)
}

// actorEvent is the first full record of the alert's events found in the
// logs (its identity fields name the credential used).
type matcher struct {
	ids map[string]bool
}

func (m *matcher) add(s string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s != "" {
		m.ids[s] = true
	}
}

func (m *matcher) match(e *event.Event) bool {
	for _, s := range []string{e.Actor.Raw, e.Actor.SessionIssuer, e.Actor.ID, e.Actor.CanonicalARN, e.Actor.Impersonator} {
		if s != "" && m.ids[strings.ToLower(s)] {
			return true
		}
	}
	return false
}

func refKey(r event.Ref) string { return fmt.Sprintf("%s:%d:%d", r.File, r.Line, r.Index) }

// readLogs collects the alert's full events and the actor's activity.
func (inc *Incident) readLogs(ctx context.Context, o Options) error {
	a := inc.Alert
	inAlert := map[string]bool{}
	for _, e := range a.Events {
		inAlert[refKey(e.Ref)] = true
	}
	m := &matcher{ids: map[string]bool{}}
	m.add(a.Actor.Source)
	m.add(a.Actor.Origin)
	for _, id := range []string{a.Actor.ID, a.Actor.Origin} {
		if s, ok := strings.CutPrefix(id, "aws:"); ok {
			m.add(s)
		}
	}
	// Two passes: the alert's own records add their identity fields
	// (object ids, session issuers) to the matcher first.
	var all []event.Event
	for _, p := range o.Logs {
		r, err := read.Open(ctx, p, "auto")
		if err != nil {
			return fmt.Errorf("incident: open %s: %w", p, err)
		}
		inc.Sources = append(inc.Sources, p)
		for {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return fmt.Errorf("incident: read %s: %w", p, err)
			}
			if inAlert[refKey(ev.Ref)] {
				inc.full = append(inc.full, ev)
				m.add(ev.Actor.Raw)
				m.add(ev.Actor.SessionIssuer)
				m.add(ev.Actor.ID)
				continue
			}
			if ev.Time.Before(inc.Window.From) || ev.Time.After(inc.Window.To) {
				continue
			}
			all = append(all, ev)
		}
		r.Close()
	}
	for _, e := range a.Events {
		en := Entry{Time: e.Time, Kind: "alert-event", InAlert: true, Action: e.Action, Class: e.Class.String(), Outcome: e.Outcome.String(), Scope: e.Scope, Ref: e.Ref}
		if f := inc.fullOf(e); f != nil {
			en.Resource = f.Resource
		}
		inc.Timeline = append(inc.Timeline, en)
	}
	for i := range all {
		e := &all[i]
		if !m.match(e) {
			continue
		}
		inc.Timeline = append(inc.Timeline, Entry{Time: e.Time, Kind: "activity", Action: e.Action, Class: e.Class.String(), Outcome: e.Outcome.String(),
			Scope: e.Scope, Resource: e.Resource, Ref: e.Ref})
		if e.Class == event.Grant && e.Outcome == event.Success {
			inc.grantEvents = append(inc.grantEvents, *e)
		}
		if e.Class == event.Deploy && e.Outcome == event.Success && (len(a.Events) == 0 || !e.Time.Before(a.Events[0].Time)) {
			inc.deploys = append(inc.deploys, *e)
		}
	}
	for _, f := range inc.full {
		if f.Class == event.Grant && f.Outcome == event.Success {
			inc.grantEvents = append(inc.grantEvents, f)
		}
	}
	sort.SliceStable(inc.grantEvents, func(i, j int) bool { return inc.grantEvents[i].Time.Before(inc.grantEvents[j].Time) })
	inc.Timeline = append(inc.Timeline, Entry{Time: a.Time, Kind: "alert", Action: a.Rule + " " + a.Title, Summary: a.Summary})
	if len(o.Logs) == 0 {
		inc.Warnings = append(inc.Warnings, "no --logs given: the timeline has the alert's events only, and workload commands use placeholders")
	} else if len(inc.full) == 0 {
		inc.Warnings = append(inc.Warnings, "the alert's events were not found in the given logs (refs differ): activity matched by the alert's actor only")
	}
	return nil
}

func (inc *Incident) fullOf(r rules.EventRef) *event.Event {
	for i := range inc.full {
		if refKey(inc.full[i].Ref) == refKey(r.Ref) {
			return &inc.full[i]
		}
	}
	return nil
}

// deployEvent is the alert's last successful deploy (or exec) event.
func (inc *Incident) deployEvent() (*rules.EventRef, *event.Event) {
	for i := len(inc.Alert.Events) - 1; i >= 0; i-- {
		e := &inc.Alert.Events[i]
		if (e.Class == event.Deploy || e.Class == event.Exec) && e.Outcome == event.Success {
			f := inc.fullOf(*e)
			if f != nil {
				inc.actorEvent = f
			}
			return e, f
		}
	}
	if len(inc.full) > 0 {
		inc.actorEvent = &inc.full[len(inc.full)-1]
	}
	return nil, nil
}

func sortTimeline(t []Entry) {
	rank := map[string]int{"permission-change": 0, "alert-event": 1, "activity": 2, "alert": 3}
	sort.SliceStable(t, func(i, j int) bool {
		if !t[i].Time.Equal(t[j].Time) {
			return t[i].Time.Before(t[j].Time)
		}
		if rank[t[i].Kind] != rank[t[j].Kind] {
			return rank[t[i].Kind] < rank[t[j].Kind]
		}
		return refKey(t[i].Ref) < refKey(t[j].Ref)
	})
}

// deployPaths lists the actor's paths to deploy in v (every simple path,
// bounded), preferring the event's scope.
func deployPaths(v *graph.View, actor, scope string) PathSet {
	ps := PathSet{At: v.At(), Snapshots: []string{}, Paths: []queries.Path{}}
	for _, m := range v.Manifests() {
		ps.Snapshots = append(ps.Snapshots, m.ID)
	}
	n, ok := v.Lookup(actor)
	if !ok {
		ps.Note = "the actor is not in this graph"
		return ps
	}
	targets := deployTargets(v, n, scope)
	if len(targets) == 0 {
		ps.Note = "no path to deploy"
		if scope != "" {
			ps.Note += " in scope " + scope
		}
		return ps
	}
	for _, t := range targets {
		res, err := queries.FindPath(v, actor, v.NodeIDString(t), queries.PathOptions{All: true, MaxPaths: 20})
		if err != nil {
			continue
		}
		ps.Paths = append(ps.Paths, res.Paths...)
		ps.Truncated = ps.Truncated || res.Truncated
	}
	return ps
}

// deployTargets are the deploy capabilities n reaches, limited to those
// naming scope when any does.
func deployTargets(v *graph.View, n graph.NodeID, scope string) []graph.NodeID {
	all, err := queries.ResolveTargets(v, "deploy")
	if err != nil {
		return nil
	}
	var reached []graph.NodeID
	for _, t := range all {
		if res, err := queries.FindPath(v, v.NodeIDString(n), v.NodeIDString(t), queries.PathOptions{}); err == nil && len(res.Paths) > 0 {
			reached = append(reached, t)
		}
	}
	if scope == "" {
		return reached
	}
	var in []graph.NodeID
	for _, t := range reached {
		if strings.Contains(v.NodeIDString(t), scope) || strings.Contains(v.Node(t).Attrs["scope"], scope) {
			in = append(in, t)
		}
	}
	if len(in) > 0 {
		return in
	}
	return reached
}

// permissionChanges diffs, per source, the snapshot before the one current
// at the event with it, and that one with the next, and keeps what touched
// the actor or a node on its deploy paths.
func (inc *Incident) permissionChanges(ctx context.Context, st Store, at time.Time, vAt *graph.View) error {
	all, err := st.Snapshots(ctx)
	if err != nil {
		return fmt.Errorf("incident: list snapshots: %w", err)
	}
	onPath := map[string]bool{inc.Alert.Actor.ID: true}
	for _, ps := range []PathSet{inc.PathsAtEvent, inc.PathsNow} {
		for _, p := range ps.Paths {
			for _, h := range p.Hops {
				onPath[h.From], onPath[h.To] = true, true
			}
		}
	}
	for _, h := range inc.Alert.EvidencePath {
		onPath[h.From], onPath[h.To] = true, true
	}
	cur := map[string]graph.Manifest{}
	for _, m := range all {
		if m.Status != graph.StatusComplete || m.At.After(at) {
			continue
		}
		if c, ok := cur[m.Source]; !ok || m.Seq > c.Seq {
			cur[m.Source] = m
		}
	}
	type pair struct{ from, to graph.Manifest }
	var before, after []pair
	var nextAt time.Time
	for src, c := range cur {
		var prev, next graph.Manifest
		for _, m := range all {
			if m.Source != src || m.Status != graph.StatusComplete {
				continue
			}
			if m.Seq < c.Seq && m.Seq > prev.Seq {
				prev = m
			}
			if m.Seq > c.Seq && (next.Seq == 0 || m.Seq < next.Seq) {
				next = m
			}
		}
		if prev.Seq != 0 {
			before = append(before, pair{prev, c})
		}
		if next.Seq != 0 {
			after = append(after, pair{c, next})
			if next.At.After(nextAt) {
				nextAt = next.At
			}
		}
	}
	run := func(ps []pair, to *graph.View) error {
		if len(ps) == 0 {
			return nil
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].to.Source < ps[j].to.Source })
		var scs []queries.SourceChange
		for _, p := range ps {
			sc := queries.SourceChange{Source: p.to.Source, From: p.from, To: p.to}
			if sc.Forward, err = st.Changes(ctx, p.to.Source, p.from.Seq, p.to.Seq); err != nil {
				return fmt.Errorf("incident: %w", err)
			}
			if sc.Backward, err = st.Changes(ctx, p.to.Source, p.to.Seq, p.from.Seq); err != nil {
				return fmt.Errorf("incident: %w", err)
			}
			scs = append(scs, sc)
		}
		d, err := queries.Diff(ctx, to, scs, queries.DiffOptions{})
		if err != nil {
			return fmt.Errorf("incident: diff: %w", err)
		}
		for _, c := range d.Capabilities {
			if c.Principal != inc.Alert.Actor.ID && !touches(c.Cause, onPath) {
				continue
			}
			inc.PermissionChanges = append(inc.PermissionChanges, c)
			inc.Timeline = append(inc.Timeline, Entry{Time: d.To, Kind: "permission-change", Action: c.Change + " " + c.Capability, Scope: c.Scope, Summary: c.Summary})
		}
		for _, l := range []struct {
			change string
			list   []queries.EdgeRef
		}{{"added", d.Edges.Added}, {"removed", d.Edges.Removed}, {"changed", d.Edges.Changed}} {
			for _, e := range l.list {
				if !onPath[e.From] && !onPath[e.To] {
					continue
				}
				inc.EdgeChanges = append(inc.EdgeChanges, EdgeChange{Change: l.change, Between: [2]time.Time{d.From, d.To}, EdgeRef: e})
				inc.Timeline = append(inc.Timeline, Entry{Time: d.To, Kind: "permission-change", Action: l.change + " " + e.Edge,
					Summary: nameOr(e.FromName, e.From) + " -" + e.Edge + "-> " + nameOr(e.ToName, e.To) + " (between snapshots " + d.From.UTC().Format(time.RFC3339) + " and " + d.To.UTC().Format(time.RFC3339) + ")"})
			}
		}
		return nil
	}
	if err := run(before, vAt); err != nil {
		return err
	}
	if len(after) > 0 {
		vNext, err := st.View(ctx, nextAt)
		if err != nil {
			return fmt.Errorf("incident: graph at %s: %w", nextAt.Format(time.RFC3339), err)
		}
		if err := run(after, vNext); err != nil {
			return err
		}
	}
	return nil
}

func touches(hops []queries.Hop, nodes map[string]bool) bool {
	for _, h := range hops {
		if nodes[h.From] || nodes[h.To] {
			return true
		}
	}
	return false
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// checklist follows the response steps of the detection strategy.
func checklist(inc *Incident) []Step {
	a := inc.Alert
	inv := []string{
		fmt.Sprintf("Confirm with the owner of %s whether the activity between %s and %s was expected.", a.Actor.Name, inc.Window.From.UTC().Format(time.RFC3339), inc.Window.To.UTC().Format(time.RFC3339)),
		"Review every timeline row marked in the alert and the actor's other activity.",
		"Check the rule's false-positive notes below before escalating.",
	}
	for _, r := range inc.Rule.Response {
		inv = append(inv, "Rule guidance: "+r)
	}
	cont := []string{"Stop the workload (commands below, after capturing its definition for forensics).", "Disable the credential or session the actor used."}
	if len(inc.Reverts) > 0 {
		cont = append(cont, "Revert the grants the actor made (commands below).")
	}
	if len(inc.Cuts) > 0 {
		cont = append(cont, "Cut the actor's deploy path: the cheapest cut first; read its blast radius before running it.")
	}
	return []Step{
		{Step: "investigation", Items: inv},
		{Step: "containment", Items: cont},
		{Step: "forensics", Items: []string{
			"Preserve the audit logs of the window (" + strings.Join(append([]string{}, inc.Sources...), ", ") + ").",
			"Capture the deployed workload's definition, image digest and runtime identity before stopping it.",
			"Record the snapshots the paths were computed from: " + strings.Join(inc.PathsAtEvent.Snapshots, ", ") + ".",
		}},
		{Step: "permission review", Items: []string{
			"Decide whether the actor should keep each remaining path to deploy (paths now, below).",
			"Review the permission changes listed below and whoever made them.",
			"Re-run `permgraph who-can deploy` after the changes and compare with `permgraph diff`.",
		}},
		{Step: "documentation", Items: []string{
			"Record the decision (true positive, benign, tuning) and any allowlist change.",
			"Record every command run, by whom and when, and the permission changes made.",
		}},
	}
}
