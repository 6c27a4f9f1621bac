// Package awsorg collects the structure of an AWS organisation (root,
// organisational units, accounts) and its service control policies (SCPs),
// live through the Organizations API or from a JSON file built with the AWS
// CLI (docs/aws-organizations.md). Each organisation is one source,
// OrgSourceID(orgID).
package awsorg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// Values of the "type" attribute of scope nodes.
const (
	KindRoot = "root"
	KindOU   = "ou"
)

// PolicyTypeSCP is the Organizations policy type this package collects.
const PolicyTypeSCP = "SERVICE_CONTROL_POLICY"

// OrgSourceID is the snapshot source of one organisation, e.g. "aws-org:o-abc123".
func OrgSourceID(orgID string) string { return "aws-org:" + orgID }

// RootNodeID is the graph id of an organisation root.
func RootNodeID(rootID string) string { return "aws:orgroot:" + rootID }

// OUNodeID is the graph id of an organisational unit.
func OUNodeID(ouID string) string { return "aws:ou:" + ouID }

// AccountNodeID is the graph id of an AWS account (the same id the IAM
// collector gives the account as a trust-policy principal).
func AccountNodeID(accountID string) string { return "aws:account:" + accountID }

// SCPNodeID is the graph id of a service control policy.
func SCPNodeID(policyID string) string { return "aws:scp:" + policyID }

// Counts is what one collection saw, for logs and tests.
type Counts struct {
	Roots, OUs, Accounts, Policies, Attachments int
}

// Records: the subset of the Organizations API shapes the graph needs, in
// the form both the live converter and the file reader produce. Timestamps
// are RFC 3339 (UTC) or empty; Content is compact JSON.

type orgRecord struct {
	ID, Arn, FeatureSet                                   string
	MasterAccountID, MasterAccountArn, MasterAccountEmail string
}

type rootRecord struct {
	ID, Arn, Name string
	// SCPStatus is the Status of the SERVICE_CONTROL_POLICY entry of the
	// root's PolicyTypes ("" when absent, i.e. disabled).
	SCPStatus string
}

type ouRecord struct {
	ID, Arn, Name, ParentID string
}

type accountRecord struct {
	ID, Arn, Email, Name, Status, State, JoinedMethod, Joined, ParentID string
}

type targetRecord struct {
	TargetID, Arn, Name, Type string
}

type policyRecord struct {
	ID, Arn, Name, Description, Type string
	AwsManaged                       bool
	Content                          string
	Targets                          []targetRecord
}

// pendingRef is a reference to a root or OU that must exist once the whole
// input has been read.
type pendingRef struct {
	where  string // e.g. `Accounts[3] (account "444455556666"): field ParentId`
	parent string // root or OU id
}

type pendingTarget struct {
	where  string
	target targetRecord
}

// emitter maps records to graph nodes and edges for one organisation and
// checks that the structure is a tree whose references resolve. In strict
// mode (file import) every inconsistency is an error; otherwise (live, where
// the organisation may change while it is being walked) inconsistencies
// between the structure and policy targets are warnings.
type emitter struct {
	sink   graph.Sink
	strict bool

	org      orgRecord
	orgKnown bool
	// queued holds records seen before the organisation (a hand-edited file
	// may list Organization last); they are emitted once it is known.
	queued []func() error

	roots    map[string]bool
	ous      map[string]string // OU id -> parent id
	accounts map[string]bool
	policies map[string]bool

	// structureDone is set (live, after the walk) once every root, OU and
	// account is known, so policy targets are checked as they arrive; a
	// file's targets are checked at finish.
	structureDone  bool
	parents        []pendingRef
	targets        []pendingTarget
	managementSeen bool

	counts   Counts
	warnings []string
}

func newEmitter(sink graph.Sink, strict bool) *emitter {
	return &emitter{sink: sink, strict: strict, roots: map[string]bool{}, ous: map[string]string{},
		accounts: map[string]bool{}, policies: map[string]bool{}}
}

func (e *emitter) source() string { return OrgSourceID(e.org.ID) }

func (e *emitter) warnf(format string, args ...any) {
	e.warnings = append(e.warnings, fmt.Sprintf(format, args...))
}

func (e *emitter) node(n graph.Node) error { return e.sink.AddNode(e.source(), n) }

func (e *emitter) edge(from string, kind graph.EdgeKind, to, evSource, detail string) error {
	return e.sink.AddEdge(e.source(), graph.Edge{From: from, Kind: kind, To: to,
		Evidence: []graph.Evidence{{Source: evSource, Detail: detail}}})
}

// later runs fn now if the organisation is known, else once it is.
func (e *emitter) later(fn func() error) error {
	if e.orgKnown {
		return fn()
	}
	e.queued = append(e.queued, fn)
	return nil
}

// ID shapes, from the Organizations API reference patterns (kept loose on
// length so a longer future id is not rejected).
func isLowerAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func validOrgID(s string) bool  { return strings.HasPrefix(s, "o-") && isLowerAlnum(s[2:]) }
func validRootID(s string) bool { return strings.HasPrefix(s, "r-") && isLowerAlnum(s[2:]) }

// validOUID wants "ou-<root part>-<own part>".
func validOUID(s string) bool {
	rest, ok := strings.CutPrefix(s, "ou-")
	if !ok {
		return false
	}
	root, own, ok := strings.Cut(rest, "-")
	return ok && isLowerAlnum(root) && isLowerAlnum(own)
}

func validAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validPolicyID(s string) bool {
	if !strings.HasPrefix(s, "p-") || len(s) == 2 {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// organization fixes the organisation; it must come exactly once.
func (e *emitter) organization(o orgRecord) error {
	if e.orgKnown {
		return fmt.Errorf("organization given twice")
	}
	if !validOrgID(o.ID) {
		return fmt.Errorf("field Id: %q is not an organization id (o-…)", o.ID)
	}
	if o.MasterAccountID == "" {
		return fmt.Errorf("field MasterAccountId: missing")
	}
	if !validAccountID(o.MasterAccountID) {
		return fmt.Errorf("field MasterAccountId: %q is not a 12-digit account id", o.MasterAccountID)
	}
	e.org, e.orgKnown = o, true
	queued := e.queued
	e.queued = nil
	for _, fn := range queued {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// parentNodeID returns the node id of a root or OU id, or "" if the id has
// neither shape.
func parentNodeID(id string) string {
	switch {
	case validRootID(id):
		return RootNodeID(id)
	case validOUID(id):
		return OUNodeID(id)
	}
	return ""
}

// requireParent checks (now, or at finish) that parent is a known root or OU.
func (e *emitter) requireParent(where, parent string) {
	if e.roots[parent] {
		return
	}
	if _, ok := e.ous[parent]; ok {
		return
	}
	e.parents = append(e.parents, pendingRef{where: where, parent: parent})
}

func (e *emitter) root(where string, r rootRecord) error {
	if !validRootID(r.ID) {
		return fmt.Errorf("%s: field Id: %q is not a root id (r-…)", where, r.ID)
	}
	if e.roots[r.ID] {
		return fmt.Errorf("%s: root %s listed twice", where, r.ID)
	}
	e.roots[r.ID] = true
	e.counts.Roots++
	return e.later(func() error {
		scp := "false"
		if r.SCPStatus == "ENABLED" {
			scp = "true"
		}
		if r.SCPStatus != "" && r.SCPStatus != "ENABLED" {
			e.warnf("root %s: service control policies are %s; treated as disabled until the change completes", r.ID, r.SCPStatus)
		}
		attrs := map[string]string{"type": KindRoot, "org": e.org.ID, "management_account": e.org.MasterAccountID, "scp_enabled": scp}
		setIf(attrs, "arn", r.Arn)
		setIf(attrs, "feature_set", e.org.FeatureSet)
		return e.node(graph.Node{ID: RootNodeID(r.ID), Kind: graph.NodeScope, Name: r.Name, Attrs: attrs})
	})
}

// ou emits an OU; it reports false (and warns, live) for an OU seen before.
func (e *emitter) ou(where string, o ouRecord) (bool, error) {
	what := fmt.Sprintf("%s (OU %q)", where, o.ID)
	if !validOUID(o.ID) {
		return false, fmt.Errorf("%s: field Id: %q is not an OU id (ou-…)", what, o.ID)
	}
	pnode := parentNodeID(o.ParentID)
	if o.ParentID == "" {
		return false, fmt.Errorf("%s: field ParentId: missing", what)
	}
	if pnode == "" {
		return false, fmt.Errorf("%s: field ParentId: %q is not a root or OU id", what, o.ParentID)
	}
	if o.ParentID == o.ID {
		return false, fmt.Errorf("%s: field ParentId: the OU is its own parent", what)
	}
	if _, dup := e.ous[o.ID]; dup {
		if e.strict {
			return false, fmt.Errorf("%s: OU listed twice", what)
		}
		e.warnf("OU %s was listed under two parents (moved during collection?); kept under %s", o.ID, e.ous[o.ID])
		return false, nil
	}
	e.ous[o.ID] = o.ParentID
	e.counts.OUs++
	e.requireParent(what+": field ParentId", o.ParentID)
	return true, e.later(func() error {
		id := OUNodeID(o.ID)
		attrs := map[string]string{"type": KindOU, "org": e.org.ID, "parent": pnode}
		setIf(attrs, "arn", o.Arn)
		if err := e.node(graph.Node{ID: id, Kind: graph.NodeScope, Name: o.Name, Attrs: attrs}); err != nil {
			return err
		}
		return e.edge(pnode, graph.EdgeContains, id, id, "organizational unit")
	})
}

func (e *emitter) account(where string, a accountRecord) error {
	what := fmt.Sprintf("%s (account %q)", where, a.ID)
	if !validAccountID(a.ID) {
		return fmt.Errorf("%s: field Id: %q is not a 12-digit account id", what, a.ID)
	}
	pnode := parentNodeID(a.ParentID)
	if a.ParentID == "" {
		return fmt.Errorf("%s: field ParentId: missing", what)
	}
	if pnode == "" {
		return fmt.Errorf("%s: field ParentId: %q is not a root or OU id", what, a.ParentID)
	}
	if e.accounts[a.ID] {
		if e.strict {
			return fmt.Errorf("%s: account listed twice", what)
		}
		e.warnf("account %s was listed under two parents (moved during collection?); kept where first seen", a.ID)
		return nil
	}
	e.accounts[a.ID] = true
	e.counts.Accounts++
	e.requireParent(what+": field ParentId", a.ParentID)
	return e.later(func() error {
		id := AccountNodeID(a.ID)
		attrs := map[string]string{"account": a.ID, "org": e.org.ID, "parent": pnode}
		setIf(attrs, "arn", a.Arn)
		setIf(attrs, "email", a.Email)
		// Status is retired by AWS in 2026 in favour of State; fall back.
		status := a.Status
		if status == "" {
			status = a.State
		}
		setIf(attrs, "status", status)
		setIf(attrs, "state", a.State)
		setIf(attrs, "joined_method", a.JoinedMethod)
		setIf(attrs, "joined", a.Joined)
		if a.ID == e.org.MasterAccountID {
			attrs["management"] = "true"
			e.managementSeen = true
		}
		if err := e.node(graph.Node{ID: id, Kind: graph.NodeAccount, Name: a.Name, Attrs: attrs}); err != nil {
			return err
		}
		return e.edge(pnode, graph.EdgeContains, id, id, "member account")
	})
}

// targetNodeID maps a policy target to its node id, checking that the id has
// the shape its Type says (Type may be empty: inferred from the id).
func targetNodeID(t targetRecord) (string, error) {
	typ := t.Type
	if typ == "" {
		switch {
		case validRootID(t.TargetID):
			typ = "ROOT"
		case validOUID(t.TargetID):
			typ = "ORGANIZATIONAL_UNIT"
		case validAccountID(t.TargetID):
			typ = "ACCOUNT"
		default:
			return "", fmt.Errorf("field TargetId: %q is not a root, OU or account id", t.TargetID)
		}
	}
	switch typ {
	case "ROOT":
		if validRootID(t.TargetID) {
			return RootNodeID(t.TargetID), nil
		}
	case "ORGANIZATIONAL_UNIT":
		if validOUID(t.TargetID) {
			return OUNodeID(t.TargetID), nil
		}
	case "ACCOUNT":
		if validAccountID(t.TargetID) {
			return AccountNodeID(t.TargetID), nil
		}
	default:
		return "", fmt.Errorf("field Type: %q is not ROOT, ORGANIZATIONAL_UNIT or ACCOUNT", typ)
	}
	return "", fmt.Errorf("field TargetId: %q is not a valid id for Type %s", t.TargetID, typ)
}

func (e *emitter) targetKnown(t targetRecord) bool {
	switch {
	case validRootID(t.TargetID):
		return e.roots[t.TargetID]
	case validOUID(t.TargetID):
		_, ok := e.ous[t.TargetID]
		return ok
	}
	return e.accounts[t.TargetID]
}

// markStructureDone says every root, OU and account has been emitted: later
// policy targets are checked as they arrive.
func (e *emitter) markStructureDone() { e.structureDone = true }

// policy emits an SCP and its attachments. A policy of another type is
// skipped with a warning.
func (e *emitter) policy(where string, p policyRecord) error {
	what := fmt.Sprintf("%s (policy %q)", where, p.ID)
	if !validPolicyID(p.ID) {
		return fmt.Errorf("%s: field PolicySummary.Id: %q is not a policy id (p-…)", what, p.ID)
	}
	if p.Type == "" {
		return fmt.Errorf("%s: field PolicySummary.Type: missing (want %s)", what, PolicyTypeSCP)
	}
	if p.Type != PolicyTypeSCP {
		e.warnf("policy %s (%s) is a %s, not a service control policy; ignored", p.ID, p.Name, p.Type)
		return nil
	}
	if p.Content == "" {
		return fmt.Errorf("%s: field Content: missing", what)
	}
	if e.policies[p.ID] {
		return fmt.Errorf("%s: policy listed twice", what)
	}
	e.policies[p.ID] = true
	e.counts.Policies++
	type attach struct {
		to     string
		target targetRecord
	}
	var attaches []attach
	for j, t := range p.Targets {
		twhere := fmt.Sprintf("%s: Targets[%d]", what, j)
		to, err := targetNodeID(t)
		if err != nil {
			return fmt.Errorf("%s: %w", twhere, err)
		}
		if e.structureDone && !e.targetKnown(t) {
			if e.strict {
				return fmt.Errorf("%s: field TargetId: %q is not a root, OU or account of this organization", twhere, t.TargetID)
			}
			e.warnf("SCP %s (%s) is attached to %s %s, which the walk of the organization did not find (created or moved during collection?); attachment ignored",
				p.ID, p.Name, strings.ToLower(t.Type), t.TargetID)
			continue
		}
		if !e.structureDone {
			e.targets = append(e.targets, pendingTarget{where: twhere + ": field TargetId", target: t})
		}
		attaches = append(attaches, attach{to: to, target: t})
	}
	e.counts.Attachments += len(attaches)
	return e.later(func() error {
		id := SCPNodeID(p.ID)
		attrs := map[string]string{"document": p.Content, "policy_type": p.Type, "aws_managed": fmt.Sprint(p.AwsManaged)}
		setIf(attrs, "arn", p.Arn)
		setIf(attrs, "description", p.Description)
		if err := e.node(graph.Node{ID: id, Kind: graph.NodePolicy, Name: p.Name, Attrs: attrs}); err != nil {
			return err
		}
		for _, a := range attaches {
			if err := e.edge(a.to, graph.EdgeHasPolicy, id, id, "SCP attached"); err != nil {
				return err
			}
		}
		return nil
	})
}

// finish checks the deferred references and returns the warnings, sorted.
func (e *emitter) finish() ([]string, error) {
	if !e.orgKnown {
		return nil, fmt.Errorf("no Organization: the organization id and management account are unknown")
	}
	if len(e.roots) == 0 {
		return nil, fmt.Errorf("no Roots: an organization has at least one root")
	}
	for _, r := range e.parents {
		if e.roots[r.parent] {
			continue
		}
		if _, ok := e.ous[r.parent]; ok {
			continue
		}
		return nil, fmt.Errorf("%s: unknown parent %q (not a root or OU in this organization)", r.where, r.parent)
	}
	// Every OU must reach a root: a cycle of OUs naming each other is not a tree.
	for id := range e.ous {
		cur := id
		for steps := 0; ; steps++ {
			p := e.ous[cur]
			if e.roots[p] {
				break
			}
			if steps > len(e.ous) {
				return nil, fmt.Errorf("OU %s: its ParentId chain never reaches a root (cycle)", id)
			}
			cur = p
		}
	}
	for _, t := range e.targets {
		if !e.targetKnown(t.target) {
			return nil, fmt.Errorf("%s: %q is not a root, OU or account of this organization", t.where, t.target.TargetID)
		}
	}
	e.parents, e.targets = nil, nil
	if !e.managementSeen {
		e.warnf("management account %s is not among the accounts of the organization", e.org.MasterAccountID)
	}
	w := append([]string(nil), e.warnings...)
	sort.Strings(w)
	return w, nil
}

// compactContent checks that an SCP's content is a JSON object and returns
// it compacted (key order and string escapes kept as authored).
func compactContent(text string) (string, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return "", fmt.Errorf("empty")
	}
	if t[0] != '{' {
		return "", fmt.Errorf("not a JSON object")
	}
	var b bytes.Buffer
	b.Grow(len(t))
	if err := json.Compact(&b, []byte(t)); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	return b.String(), nil
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}
