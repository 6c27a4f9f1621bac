// Package report builds the quarterly permission review: a report model
// computed from the queries (who can deploy and how, privileged groups and
// their owners, risky members, escalation paths, changes since the last
// review, alerts) and renderers for HTML, Markdown, CSV and JSON.
//
// Every name in the model comes from a cloud directory and is
// attacker-controlled: the HTML renderer uses html/template only, the CSV
// renderer neutralises formula prefixes and the Markdown renderer escapes
// markup (see Safe*).
package report

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"permgraph/detect/rules"
	"permgraph/graph"
	"permgraph/queries"
)

// DefaultDormantDays is how long without a sign-in makes a member dormant.
const DefaultDormantDays = 90

// Input is what a report is built from.
type Input struct {
	View *graph.View
	// Diff is the capability diff since the previous review (nil: none).
	Diff *queries.DiffResult
	// Since starts the review period (alerts before it are left out); zero
	// = Diff.From, or no lower bound.
	Since time.Time
	// Alerts are the stored detection alerts; Build keeps those in the period.
	Alerts []rules.Alert
	// DormantDays overrides DefaultDormantDays.
	DormantDays int
}

// Ref names a node.
type Ref struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// CloudSummary counts one cloud.
type CloudSummary struct {
	Cloud      string `json:"cloud"`
	Principals int    `json:"principals"` // users, roles, service principals, service accounts
	Groups     int    `json:"groups"`
	// Deployers counts the non-group principals that can deploy, split into
	// direct, escalation, conditional and eligible-only (each deployer in
	// exactly one of them).
	Deployers      int `json:"deployers"`
	Direct         int `json:"direct"`
	Escalation     int `json:"escalation"`
	Conditional    int `json:"conditional"`
	EligibleOnly   int `json:"eligible_only"`
	DeployerGroups int `json:"deployer_groups"`
}

// Deployer is one principal that can deploy containers in one cloud, with
// its shortest path (and the evidence of every hop).
type Deployer struct {
	queries.Principal
	Cloud string `json:"cloud"`
	// Eligible is true when the path needs a PIM-style activation.
	Eligible bool `json:"eligible"`
	// Category is direct, escalation, conditional or eligible-only.
	Category string `json:"category"`
}

// Member is one (direct or nested) member of a privileged group.
type Member struct {
	Ref
	// Through is the nested group the membership comes through ("" = direct).
	Through    string   `json:"through,omitempty"`
	Role       string   `json:"role,omitempty"` // Workspace MEMBER/MANAGER/OWNER
	Flags      []string `json:"flags,omitempty"`
	LastSignIn string   `json:"last_sign_in,omitempty"`
}

// Group is a group whose members can deploy.
type Group struct {
	Ref
	Cloud         string   `json:"cloud"`
	Via           string   `json:"via"`
	Conditional   bool     `json:"conditional"`
	Scopes        []string `json:"scopes"`
	Owners        []Ref    `json:"owners"`
	CanAddMembers []Ref    `json:"can_add_members"`
	Members       []Member `json:"members"`
}

// RiskyMember is an external, guest, disabled or dormant member of a
// deploy-capable group.
type RiskyMember struct {
	Group      Ref      `json:"group"`
	Member     Ref      `json:"member"`
	Through    string   `json:"through,omitempty"`
	Flags      []string `json:"flags"`
	LastSignIn string   `json:"last_sign_in,omitempty"`
}

// Escalation is a deploy path that needs a privilege-escalation edge.
type Escalation struct {
	Principal Ref    `json:"principal"`
	Cloud     string `json:"cloud"`
	Length    int    `json:"length"`
	// BlastRadius is the number of scopes (accounts, subscriptions,
	// resource groups, projects) the principal can deploy to.
	BlastRadius int      `json:"blast_radius"`
	Techniques  []string `json:"techniques"`
	Conditional bool     `json:"conditional"`
	Path        string   `json:"path"`
}

// Changes is the capability diff since the previous review.
type Changes struct {
	From               time.Time                  `json:"from"`
	To                 time.Time                  `json:"to"`
	Sources            []queries.SourceDiffInfo   `json:"sources"`
	Capabilities       []queries.CapabilityChange `json:"capabilities"`
	EscalationsAdded   []queries.EdgeRef          `json:"escalations_added"`
	EscalationsRemoved []queries.EdgeRef          `json:"escalations_removed"`
}

// Alert is a detection alert in the review period.
type Alert struct {
	Time     time.Time `json:"time"`
	Rule     string    `json:"rule"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	Attack   []string  `json:"attack"`
	Actor    string    `json:"actor"`
	Summary  string    `json:"summary"`
}

// ChecklistItem asks an owner to confirm one membership.
type ChecklistItem struct {
	Group   Ref      `json:"group"`
	Member  Ref      `json:"member"`
	Through string   `json:"through,omitempty"`
	Flags   []string `json:"flags,omitempty"`
}

// OwnerChecklist is the review work of one group owner.
type OwnerChecklist struct {
	Owner Ref             `json:"owner"`
	Items []ChecklistItem `json:"items"`
}

// Report is the review model every renderer draws from.
type Report struct {
	At               time.Time        `json:"at"`
	Since            time.Time        `json:"since,omitzero"`
	Snapshots        []string         `json:"snapshots"`
	DormantDays      int              `json:"dormant_days"`
	Clouds           []CloudSummary   `json:"clouds"`
	Deployers        []Deployer       `json:"deployers"`
	PrivilegedGroups []Group          `json:"privileged_groups"`
	RiskyMembers     []RiskyMember    `json:"risky_members"`
	Escalations      []Escalation     `json:"escalations"`
	Changes          *Changes         `json:"changes"`
	Alerts           []Alert          `json:"alerts"`
	Checklist        []OwnerChecklist `json:"checklist"`
	Warnings         []string         `json:"warnings,omitempty"`
}

// Clouds are the clouds a report covers, in order.
func Clouds() []string { return []string{"aws", "azure", "gcp"} }

// CloudOf maps a node id to its cloud by the id's provider prefix.
func CloudOf(id string) string {
	prefix, _, _ := strings.Cut(id, ":")
	switch prefix {
	case "aws", "aws-org":
		return "aws"
	case "entra", "azure":
		return "azure"
	case "gws", "gcp":
		return "gcp"
	case "k8s":
		return "k8s"
	case "cap":
		parts := strings.SplitN(id, ":", 4)
		if len(parts) >= 3 {
			return parts[2]
		}
	}
	return prefix
}

// NoOwnerName names the owner of the checklist items of groups without a
// recorded owner (an empty id).
const NoOwnerName = "(no owner recorded: cloud administrators)"

// Build computes the report model.
func Build(ctx context.Context, in Input) (*Report, error) {
	v := in.View
	if v == nil {
		return nil, fmt.Errorf("report: no graph")
	}
	r := &Report{At: v.At(), Since: in.Since, DormantDays: in.DormantDays,
		Deployers: []Deployer{}, PrivilegedGroups: []Group{}, RiskyMembers: []RiskyMember{},
		Escalations: []Escalation{}, Alerts: []Alert{}, Checklist: []OwnerChecklist{}, Snapshots: []string{}}
	if r.DormantDays <= 0 {
		r.DormantDays = DefaultDormantDays
	}
	if r.Since.IsZero() && in.Diff != nil {
		r.Since = in.Diff.From
	}
	for _, m := range v.Manifests() {
		r.Snapshots = append(r.Snapshots, m.ID)
		for _, w := range m.Warnings {
			r.Warnings = append(r.Warnings, m.Source+": "+w)
		}
	}
	counts := countNodes(v)
	for _, cloud := range Clouds() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{Cloud: cloud, IncludeConditional: true, Paths: true})
		if err != nil {
			return nil, fmt.Errorf("report: who can deploy in %s: %w", cloud, err)
		}
		cs := counts[cloud]
		cs.Cloud = cloud
		for _, p := range res.Principals {
			d := Deployer{Principal: p, Cloud: cloud, Eligible: eligible(v, p.Path)}
			switch {
			case d.Eligible:
				d.Category = "eligible-only"
			case p.Conditional:
				d.Category = "conditional"
			case p.Via == "escalation":
				d.Category = "escalation"
			default:
				d.Category = "direct"
			}
			r.Deployers = append(r.Deployers, d)
			if p.Kind == graph.NodeGroup.String() {
				cs.DeployerGroups++
				continue
			}
			cs.Deployers++
			switch d.Category {
			case "eligible-only":
				cs.EligibleOnly++
			case "conditional":
				cs.Conditional++
			case "escalation":
				cs.Escalation++
			default:
				cs.Direct++
			}
		}
		r.Clouds = append(r.Clouds, cs)
	}
	r.buildGroups(v)
	r.buildEscalations()
	r.buildChecklist()
	if in.Diff != nil {
		d := in.Diff
		r.Changes = &Changes{From: d.From, To: d.To, Sources: d.Sources, Capabilities: d.Capabilities,
			EscalationsAdded: d.Escalations.Added, EscalationsRemoved: d.Escalations.Removed}
		for _, p := range []*[]queries.EdgeRef{&r.Changes.EscalationsAdded, &r.Changes.EscalationsRemoved} {
			if *p == nil {
				*p = []queries.EdgeRef{}
			}
		}
		if r.Changes.Sources == nil {
			r.Changes.Sources = []queries.SourceDiffInfo{}
		}
		if r.Changes.Capabilities == nil {
			r.Changes.Capabilities = []queries.CapabilityChange{}
		}
	}
	for _, a := range in.Alerts {
		if !r.Since.IsZero() && a.Time.Before(r.Since) {
			continue
		}
		attack := a.Attack
		if attack == nil {
			attack = []string{}
		}
		r.Alerts = append(r.Alerts, Alert{Time: a.Time.UTC(), Rule: a.Rule, Title: a.Title, Severity: a.Severity.String(),
			Attack: attack, Actor: a.Actor.Name, Summary: a.Summary})
	}
	return r, nil
}

func countNodes(v *graph.View) map[string]CloudSummary {
	out := map[string]CloudSummary{}
	for i := 0; i < v.NumNodes(); i++ {
		n := graph.NodeID(i)
		k := v.NodeKind(n)
		switch k {
		case graph.NodeUser, graph.NodeRole, graph.NodeServicePrincipal, graph.NodeServiceAccount, graph.NodeGroup:
		default:
			continue
		}
		c := CloudOf(v.NodeIDString(n))
		cs := out[c]
		if k == graph.NodeGroup {
			cs.Groups++
		} else {
			cs.Principals++
		}
		out[c] = cs
	}
	return out
}

// edgeAttrs finds the attributes of the edge behind a hop.
func edgeAttrs(v *graph.View, h queries.Hop) map[string]string {
	from, ok := v.Lookup(h.From)
	if !ok {
		return nil
	}
	to, ok := v.Lookup(h.To)
	if !ok {
		return nil
	}
	for _, e := range v.Out(from) {
		_, t, k, _ := v.EdgeEnds(e)
		if t == to && k.String() == h.Edge {
			return v.Edge(e).Attrs
		}
	}
	return nil
}

// eligible reports whether a path needs a PIM-eligible assignment.
func eligible(v *graph.View, path []queries.Hop) bool {
	for _, h := range path {
		if !h.Conditional {
			continue
		}
		if edgeAttrs(v, h)["eligible"] == "true" {
			return true
		}
	}
	return false
}

func refOf(v *graph.View, n graph.NodeID) Ref {
	node := v.Node(n)
	name := node.Name
	if name == "" {
		name = node.ID
	}
	return Ref{ID: node.ID, Kind: node.Kind.String(), Name: name}
}

// memberFlags says why a member deserves a second look; lastSignIn is the
// last sign-in when the directory reports it.
func memberFlags(node graph.Node, at time.Time, dormantDays int) (flags []string, lastSignIn string) {
	a := node.Attrs
	if a["external"] == "true" || strings.EqualFold(a["user_type"], "guest") {
		flags = append(flags, "external")
	}
	if a["enabled"] == "false" || a["suspended"] == "true" || a["disabled"] == "true" {
		flags = append(flags, "disabled")
	}
	for _, k := range []string{"last_sign_in", "last_login", "password_last_used"} {
		if s := a[k]; s != "" {
			lastSignIn = s
			break
		}
	}
	if lastSignIn != "" && !at.IsZero() {
		if t, err := time.Parse(time.RFC3339, lastSignIn); err == nil {
			if at.Sub(t) > time.Duration(dormantDays)*24*time.Hour {
				flags = append(flags, "dormant")
			}
		}
	}
	return flags, lastSignIn
}

// addersVia is n itself, or, when n is a tenant-wide set (policy/azure:
// "every group that is not role-assignable"), whoever reaches that set:
// the report names the administrators, not the set.
func addersVia(v *graph.View, n graph.NodeID, seen map[graph.NodeID]bool) []Ref {
	if v.NodeKind(n) != graph.NodeScope {
		return []Ref{refOf(v, n)}
	}
	if seen[n] {
		return nil
	}
	seen[n] = true
	var out []Ref
	for _, e := range v.In(n) {
		if from, _, k, _ := v.EdgeEnds(e); k == graph.EdgeCanAddMember {
			out = append(out, addersVia(v, from, seen)...)
		}
	}
	return out
}

// buildGroups lists the deploy-capable groups with owners and (nested)
// members, and the risky members among them.
func (r *Report) buildGroups(v *graph.View) {
	seen := map[string]bool{}
	for _, d := range r.Deployers {
		if d.Kind != graph.NodeGroup.String() || seen[d.ID] {
			continue
		}
		seen[d.ID] = true
		gid, ok := v.Lookup(d.ID)
		if !ok {
			continue
		}
		g := Group{Ref: refOf(v, gid), Cloud: d.Cloud, Via: d.Via, Conditional: d.Conditional, Scopes: d.Scopes,
			Owners: []Ref{}, CanAddMembers: []Ref{}, Members: []Member{}}
		for _, e := range v.In(gid) {
			from, _, k, _ := v.EdgeEnds(e)
			switch {
			case k == graph.EdgeOwns:
				g.Owners = append(g.Owners, refOf(v, from))
			case k == graph.EdgeCanAddMember:
				g.CanAddMembers = append(g.CanAddMembers, addersVia(v, from, map[graph.NodeID]bool{})...)
			case k == graph.EdgeMemberOf && v.Edge(e).Attrs["role"] == "OWNER":
				g.Owners = append(g.Owners, refOf(v, from))
			}
		}
		g.Members = members(v, gid, r.At, r.DormantDays)
		sortRefs(g.Owners)
		sortRefs(g.CanAddMembers)
		g.CanAddMembers = slices.CompactFunc(g.CanAddMembers, func(a, b Ref) bool { return a.ID == b.ID })
		for _, m := range g.Members {
			if len(m.Flags) == 0 {
				continue
			}
			r.RiskyMembers = append(r.RiskyMembers, RiskyMember{Group: g.Ref, Member: m.Ref, Through: m.Through, Flags: m.Flags, LastSignIn: m.LastSignIn})
		}
		r.PrivilegedGroups = append(r.PrivilegedGroups, g)
	}
	sort.SliceStable(r.PrivilegedGroups, func(i, j int) bool {
		a, b := r.PrivilegedGroups[i], r.PrivilegedGroups[j]
		if a.Cloud != b.Cloud {
			return a.Cloud < b.Cloud
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
}

// members walks MemberOf edges backwards from a group: direct members
// first, then members of nested groups (breadth first, each once).
func members(v *graph.View, gid graph.NodeID, at time.Time, dormantDays int) []Member {
	out := []Member{}
	type item struct {
		n       graph.NodeID
		through string
	}
	seen := map[graph.NodeID]bool{gid: true}
	queue := []item{{gid, ""}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, e := range v.In(cur.n) {
			from, _, k, _ := v.EdgeEnds(e)
			if k != graph.EdgeMemberOf || seen[from] {
				continue
			}
			seen[from] = true
			node := v.Node(from)
			m := Member{Ref: refOf(v, from), Through: cur.through, Role: v.Edge(e).Attrs["role"]}
			m.Flags, m.LastSignIn = memberFlags(node, at, dormantDays)
			out = append(out, m)
			if node.Kind == graph.NodeGroup {
				through := m.Name
				if cur.through != "" {
					through = cur.through + " > " + m.Name
				}
				queue = append(queue, item{from, through})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Through == "") != (out[j].Through == "") {
			return out[i].Through == ""
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func sortRefs(rs []Ref) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Name != rs[j].Name {
			return rs[i].Name < rs[j].Name
		}
		return rs[i].ID < rs[j].ID
	})
}

// buildEscalations ranks deploy paths that need escalation: shortest
// first, then the widest blast radius.
func (r *Report) buildEscalations() {
	for _, d := range r.Deployers {
		if d.Via != "escalation" {
			continue
		}
		e := Escalation{Principal: Ref{ID: d.ID, Kind: d.Kind, Name: d.Name}, Cloud: d.Cloud, Length: len(d.Path),
			BlastRadius: len(d.Scopes), Conditional: d.Conditional, Path: PathText(d.Path), Techniques: []string{}}
		for _, h := range d.Path {
			if k, err := graph.ParseEdgeKind(h.Edge); err == nil && k.IsEscalation() {
				e.Techniques = append(e.Techniques, h.Edge)
			}
		}
		r.Escalations = append(r.Escalations, e)
	}
	sort.SliceStable(r.Escalations, func(i, j int) bool {
		a, b := r.Escalations[i], r.Escalations[j]
		if a.Length != b.Length {
			return a.Length < b.Length
		}
		if a.BlastRadius != b.BlastRadius {
			return a.BlastRadius > b.BlastRadius
		}
		if a.Conditional != b.Conditional {
			return !a.Conditional
		}
		return a.Principal.Name < b.Principal.Name
	})
}

// buildChecklist groups every membership of a privileged group under the
// owners who should confirm it (groups without a recorded owner fall to
// NoOwnerName: the cloud's administrators).
func (r *Report) buildChecklist() {
	byOwner := map[string]*OwnerChecklist{}
	var order []string
	add := func(owner Ref, it ChecklistItem) {
		key := owner.ID + "\x00" + owner.Name
		c := byOwner[key]
		if c == nil {
			c = &OwnerChecklist{Owner: owner, Items: []ChecklistItem{}}
			byOwner[key] = c
			order = append(order, key)
		}
		c.Items = append(c.Items, it)
	}
	for _, g := range r.PrivilegedGroups {
		owners := g.Owners
		if len(owners) == 0 {
			owners = []Ref{{Name: NoOwnerName}}
		}
		for _, o := range owners {
			for _, m := range g.Members {
				add(o, ChecklistItem{Group: g.Ref, Member: m.Ref, Through: m.Through, Flags: m.Flags})
			}
		}
	}
	sort.Strings(order)
	for _, k := range order {
		r.Checklist = append(r.Checklist, *byOwner[k])
	}
	// The unowned bucket goes last: it is the cloud admins' residue.
	sort.SliceStable(r.Checklist, func(i, j int) bool {
		return r.Checklist[i].Owner.ID != "" && r.Checklist[j].Owner.ID == ""
	})
}

// PathText renders a path as "a -Edge-> b -Edge-> c".
func PathText(hops []queries.Hop) string {
	if len(hops) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(nameOr(hops[0].FromName, hops[0].From))
	for _, h := range hops {
		fmt.Fprintf(&sb, " -%s-> %s", h.Edge, nameOr(h.ToName, h.To))
	}
	return sb.String()
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}
