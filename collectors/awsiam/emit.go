package awsiam

import (
	"fmt"
	"strings"

	"permgraph/graph"
)

// Node id helpers. Ids are "aws:" + ARN for IAM entities so they are stable
// across renames of display names and unique across accounts.

// NodeID returns the graph id of an IAM entity or policy ARN.
func NodeID(arn string) string { return "aws:" + arn }

// AccountNodeID is the id of an account as a trust-policy principal.
func AccountNodeID(account string) string { return "aws:account:" + account }

// ServiceNodeID is the id of a service principal such as ecs-tasks.amazonaws.com.
func ServiceNodeID(service string) string { return "aws:service:" + service }

// SourceID is the snapshot source of one AWS account.
func SourceID(account string) string { return "aws:" + account }

// InlinePolicyID is the id of an inline policy embedded in a user, group or role.
func InlinePolicyID(ownerARN, policyName string) string {
	return "aws:" + ownerARN + "#inline/" + policyName
}

// AccountFromARN returns the account field of an ARN ("" if absent or "aws").
func AccountFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[4] == "aws" {
		return ""
	}
	return parts[4]
}

// emitter maps GAAD records to graph nodes and edges for one account. It keeps
// only what it must to resolve references that GAAD gives by name (a user's
// GroupList names groups that appear later in the file).
type emitter struct {
	sink    graph.Sink
	account string
	// pendingMembers holds user ARN -> group names until groups are known.
	pendingMembers []membership
	groupARNs      map[string]string // group name -> ARN
	referenced     map[string]bool   // managed policy ARNs referenced by attachments
	defined        map[string]bool   // managed policy ARNs defined in Policies
	counts         Counts
	// queued holds what was emitted before the account was known (an
	// export may start with an entity whose ARN lacks an account id).
	queuedNodes []graph.Node
	queuedEdges []graph.Edge
	warnings    []string
}

type membership struct{ userARN, group string }

// Counts is what one import saw, for logs, tests and the manifest.
type Counts struct {
	Users, Groups, Roles, Policies, InlinePolicies int
	// Truncated is set when the export says IsTruncated=true: it holds only
	// the first page(s), so answers from it are incomplete.
	Truncated bool
}

func newEmitter(sink graph.Sink) *emitter {
	return &emitter{sink: sink, groupARNs: map[string]string{}, referenced: map[string]bool{}, defined: map[string]bool{}}
}

func (e *emitter) source() string { return SourceID(e.account) }

func (e *emitter) node(n graph.Node) error {
	if e.account == "" {
		e.queuedNodes = append(e.queuedNodes, n)
		return nil
	}
	return e.sink.AddNode(e.source(), n)
}

func (e *emitter) edge(ed graph.Edge) error {
	if e.account == "" {
		e.queuedEdges = append(e.queuedEdges, ed)
		return nil
	}
	return e.sink.AddEdge(e.source(), ed)
}

func (e *emitter) flushQueued() error {
	for _, n := range e.queuedNodes {
		if err := e.sink.AddNode(e.source(), n); err != nil {
			return err
		}
	}
	for _, ed := range e.queuedEdges {
		if err := e.sink.AddEdge(e.source(), ed); err != nil {
			return err
		}
	}
	e.queuedNodes, e.queuedEdges = nil, nil
	return nil
}

// setAccount fixes the account from an entity ARN; every entity in one export
// belongs to the same account.
func (e *emitter) setAccount(what, arn string) error {
	if !strings.HasPrefix(arn, "arn:") || strings.Count(arn, ":") < 5 {
		return fmt.Errorf("%s: Arn %q is not an IAM ARN", what, arn)
	}
	acct := AccountFromARN(arn)
	if acct == "" {
		if !strings.Contains(arn, ":policy/") {
			// Seen in real demo data (arn:aws:iam::aws:user/USER): keep the
			// entity in the export's account and say so.
			e.warnings = append(e.warnings, fmt.Sprintf("%s: Arn %q has no account id; kept in the export's account", what, arn))
		}
		return nil // AWS managed policy: the account comes from principals
	}
	if e.account == "" {
		e.account = acct
		if err := e.sink.AddNode(e.source(), graph.Node{ID: AccountNodeID(acct), Kind: graph.NodeAccount, Name: acct, Attrs: map[string]string{"account": acct}}); err != nil {
			return err
		}
		return e.flushQueued()
	}
	if acct != e.account {
		return fmt.Errorf("%s: Arn %q belongs to account %s, export is for account %s", what, arn, acct, e.account)
	}
	return nil
}

func tagAttrs(attrs map[string]string, tags oneOrMany[gaadTag]) {
	for _, t := range tags {
		attrs["tag:"+t.Key] = t.Value
	}
}

func (e *emitter) inline(ownerARN string, list oneOrMany[gaadInlinePolicy], what string) error {
	for i, p := range list {
		doc, err := normalizeDocument(p.PolicyDocument)
		if err != nil {
			return fmt.Errorf("%s: inline policy %d (%q): field PolicyDocument: %w", what, i, p.PolicyName, err)
		}
		id := InlinePolicyID(ownerARN, p.PolicyName)
		if err := e.node(graph.Node{ID: id, Kind: graph.NodePolicy, Name: p.PolicyName,
			Attrs: map[string]string{"document": doc, "inline": "true", "owner": NodeID(ownerARN)}}); err != nil {
			return err
		}
		if err := e.edge(graph.Edge{From: NodeID(ownerARN), Kind: graph.EdgeHasPolicy, To: id,
			Evidence: []graph.Evidence{{Source: id, Detail: "inline policy " + p.PolicyName}}}); err != nil {
			return err
		}
		e.counts.InlinePolicies++
	}
	return nil
}

func (e *emitter) attached(ownerARN string, list oneOrMany[gaadAttachedPolicy]) error {
	for _, p := range list {
		if p.PolicyArn == "" {
			return fmt.Errorf("%s: attached policy %q: field PolicyArn is empty", ownerARN, p.PolicyName)
		}
		e.referenced[p.PolicyArn] = true
		if err := e.edge(graph.Edge{From: NodeID(ownerARN), Kind: graph.EdgeHasPolicy, To: NodeID(p.PolicyArn),
			Evidence: []graph.Evidence{{Source: NodeID(p.PolicyArn), Detail: "managed policy " + p.PolicyName + " attached"}}}); err != nil {
			return err
		}
	}
	return nil
}

func (e *emitter) boundary(ownerARN string, b *gaadBoundary) error {
	if b == nil || b.PermissionsBoundaryArn == "" {
		return nil
	}
	e.referenced[b.PermissionsBoundaryArn] = true
	return e.edge(graph.Edge{From: NodeID(ownerARN), Kind: graph.EdgeHasBoundary, To: NodeID(b.PermissionsBoundaryArn),
		Evidence: []graph.Evidence{{Source: NodeID(b.PermissionsBoundaryArn), Detail: "permissions boundary"}}})
}

func (e *emitter) user(u gaadUser) error {
	what := fmt.Sprintf("user %q", u.UserName)
	if u.Arn == "" {
		return fmt.Errorf("%s: field Arn is missing", what)
	}
	if err := e.setAccount(what, u.Arn); err != nil {
		return err
	}
	attrs := map[string]string{"arn": u.Arn, "unique_id": u.UserID, "path": u.Path}
	if d := normalizeDate(u.CreateDate); d != "" {
		attrs["created"] = d
	}
	tagAttrs(attrs, u.Tags)
	if err := e.node(graph.Node{ID: NodeID(u.Arn), Kind: graph.NodeUser, Name: u.UserName, Attrs: attrs}); err != nil {
		return err
	}
	for _, g := range u.GroupList {
		e.pendingMembers = append(e.pendingMembers, membership{userARN: u.Arn, group: g})
	}
	if err := e.inline(u.Arn, u.UserPolicyList, what); err != nil {
		return err
	}
	if err := e.attached(u.Arn, u.AttachedManagedPolicies); err != nil {
		return err
	}
	e.counts.Users++
	return e.boundary(u.Arn, u.PermissionsBoundary)
}

func (e *emitter) group(g gaadGroup) error {
	what := fmt.Sprintf("group %q", g.GroupName)
	if g.Arn == "" {
		return fmt.Errorf("%s: field Arn is missing", what)
	}
	if err := e.setAccount(what, g.Arn); err != nil {
		return err
	}
	attrs := map[string]string{"arn": g.Arn, "unique_id": g.GroupID, "path": g.Path}
	if d := normalizeDate(g.CreateDate); d != "" {
		attrs["created"] = d
	}
	if err := e.node(graph.Node{ID: NodeID(g.Arn), Kind: graph.NodeGroup, Name: g.GroupName, Attrs: attrs}); err != nil {
		return err
	}
	e.groupARNs[g.GroupName] = g.Arn
	if err := e.inline(g.Arn, g.GroupPolicyList, what); err != nil {
		return err
	}
	e.counts.Groups++
	return e.attached(g.Arn, g.AttachedManagedPolicies)
}

func (e *emitter) role(r gaadRole) error {
	what := fmt.Sprintf("role %q", r.RoleName)
	if r.Arn == "" {
		return fmt.Errorf("%s: field Arn is missing", what)
	}
	if err := e.setAccount(what, r.Arn); err != nil {
		return err
	}
	trust, err := normalizeDocument(r.AssumeRolePolicyDocument)
	if err != nil {
		return fmt.Errorf("%s: field AssumeRolePolicyDocument: %w", what, err)
	}
	attrs := map[string]string{"arn": r.Arn, "unique_id": r.RoleID, "path": r.Path, "trust_policy": trust}
	if d := normalizeDate(r.CreateDate); d != "" {
		attrs["created"] = d
	}
	if r.RoleLastUsed != nil {
		if d := normalizeDate(r.RoleLastUsed.LastUsedDate); d != "" {
			attrs["last_used"] = d
		}
	}
	if strings.HasPrefix(r.Path, "/aws-service-role/") {
		attrs["service_linked"] = "true"
	}
	tagAttrs(attrs, r.Tags)
	if err := e.node(graph.Node{ID: NodeID(r.Arn), Kind: graph.NodeRole, Name: r.RoleName, Attrs: attrs}); err != nil {
		return err
	}
	if err := e.inline(r.Arn, r.RolePolicyList, what); err != nil {
		return err
	}
	if err := e.attached(r.Arn, r.AttachedManagedPolicies); err != nil {
		return err
	}
	e.counts.Roles++
	return e.boundary(r.Arn, r.PermissionsBoundary)
}

func (e *emitter) policy(p gaadPolicy) error {
	what := fmt.Sprintf("policy %q", p.PolicyName)
	if p.Arn == "" {
		return fmt.Errorf("%s: field Arn is missing", what)
	}
	if err := e.setAccount(what, p.Arn); err != nil {
		return err
	}
	var doc string
	found := false
	for i, v := range p.PolicyVersionList {
		if !v.IsDefaultVersion && v.VersionID != p.DefaultVersionID {
			continue
		}
		d, err := normalizeDocument(v.Document)
		if err != nil {
			return fmt.Errorf("%s: PolicyVersionList[%d]: field Document: %w", what, i, err)
		}
		doc, found = d, true
		break
	}
	attrs := map[string]string{"arn": p.Arn, "unique_id": p.PolicyID, "path": p.Path, "default_version": p.DefaultVersionID}
	if found {
		attrs["document"] = doc
	} else {
		attrs["missing_document"] = "true"
	}
	if AccountFromARN(p.Arn) == "" {
		attrs["aws_managed"] = "true"
	}
	if d := normalizeDate(p.UpdateDate); d != "" {
		attrs["updated"] = d
	}
	e.defined[p.Arn] = true
	e.counts.Policies++
	return e.node(graph.Node{ID: NodeID(p.Arn), Kind: graph.NodePolicy, Name: p.PolicyName, Attrs: attrs})
}

// finish resolves deferred references. It returns warnings for gaps that make
// answers incomplete (for example a managed policy attached but not exported,
// as with `--filter User Role` exports).
func (e *emitter) finish() ([]string, error) {
	if e.account == "" {
		return nil, fmt.Errorf("no IAM entity with an account id found")
	}
	if err := e.flushQueued(); err != nil {
		return nil, err
	}
	warnings := e.warnings
	for _, m := range e.pendingMembers {
		arn, ok := e.groupARNs[m.group]
		if !ok {
			// GAAD exports filtered to users only lack GroupDetailList; the
			// membership is real, so keep it with a path-less ARN.
			arn = fmt.Sprintf("arn:aws:iam::%s:group/%s", e.account, m.group)
			if err := e.node(graph.Node{ID: NodeID(arn), Kind: graph.NodeGroup, Name: m.group, Attrs: map[string]string{"arn": arn, "missing_details": "true"}}); err != nil {
				return nil, err
			}
			warnings = append(warnings, fmt.Sprintf("group %q is named in a GroupList but absent from GroupDetailList; its policies are unknown", m.group))
		}
		if err := e.edge(graph.Edge{From: NodeID(m.userARN), Kind: graph.EdgeMemberOf, To: NodeID(arn),
			Evidence: []graph.Evidence{{Source: NodeID(m.userARN), Detail: "GroupList"}}}); err != nil {
			return nil, err
		}
	}
	for arn := range e.referenced {
		if e.defined[arn] {
			continue
		}
		if err := e.node(graph.Node{ID: NodeID(arn), Kind: graph.NodePolicy, Name: policyNameFromARN(arn),
			Attrs: map[string]string{"arn": arn, "missing_document": "true"}}); err != nil {
			return nil, err
		}
		warnings = append(warnings, fmt.Sprintf("managed policy %s is attached but not in the export; answers involving it are incomplete", arn))
	}
	sortStrings(warnings)
	return warnings, nil
}

func policyNameFromARN(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
