package azurerbac

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"permgraph/graph"
)

// Counts summarises one collection.
type Counts struct {
	ManagementGroups int
	Subscriptions    int
	ResourceGroups   int
	RoleDefinitions  int
	RoleAssignments  int
	Eligible         int
	DenyAssignments  int
}

// permBlock is one element of a role definition's (or deny assignment's)
// permissions, kept as a block: NotActions only subtract from the Actions
// of their own block.
type permBlock struct {
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	Condition        string   `json:"condition,omitempty"`
	ConditionVersion string   `json:"conditionVersion,omitempty"`
}

type scopeRec struct {
	ArmID     string
	Type      string
	Name      string // display name
	State     string // subscriptions
	ParentArm string // management group hierarchy
}

type roleDefRec struct {
	ArmID            string
	Name             string // GUID
	RoleName         string
	RoleType         string
	Permissions      []permBlock
	AssignableScopes []string
}

type assignmentRec struct {
	ArmID            string
	Name             string // GUID
	PrincipalID      string
	PrincipalType    string
	RoleDefinitionID string
	Scope            string
	Condition        string
	ConditionVersion string
	Eligible         bool
	MemberType       string
}

type principalRec struct{ ID, Type string }

type denyRec struct {
	ArmID       string
	Name        string // GUID
	DenyName    string
	Scope       string
	Permissions []permBlock
	Principals  []principalRec
	Exclude     []principalRec
	NoChildren  bool
}

// edgeAcc accumulates one edge: emission order varies with the parallel
// subscription workers, so edges are merged here and written sorted at the
// end, which makes a live run and the replay of its capture identical.
type edgeAcc struct {
	evidence    map[graph.Evidence]bool
	conditions  map[string]bool
	conditional bool // false as soon as one unconditional reason exists
}

// emitter turns records into graph facts. It is safe for concurrent use;
// every sink call happens under its lock.
type emitter struct {
	mu       sync.Mutex
	sink     graph.Sink
	tenant   string
	source   string
	scopes   map[string]bool       // authoritative scope nodes written
	refs     map[string]graph.Node // scopes known only from a reference
	roleDefs map[string]bool
	roleRefs map[string]string // role graph id -> first referencing assignment
	roleArm  map[string]string // role graph id -> roleDefinitionId as referenced
	policies map[string]bool
	nodes    map[string]bool // principal stubs written
	edges    map[graph.EdgeKey]*edgeAcc
	warnings map[string]bool
	counts   Counts
}

func newEmitter(sink graph.Sink, tenant string) *emitter {
	t := strings.ToLower(strings.TrimSpace(tenant))
	return &emitter{
		sink: sink, tenant: t, source: "azure:" + t,
		scopes: map[string]bool{}, refs: map[string]graph.Node{},
		roleDefs: map[string]bool{}, roleRefs: map[string]string{}, roleArm: map[string]string{},
		policies: map[string]bool{}, nodes: map[string]bool{},
		edges: map[graph.EdgeKey]*edgeAcc{}, warnings: map[string]bool{},
	}
}

// warn queues a warning; finish writes them sorted and once each.
func (e *emitter) warn(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.warnings[msg] = true
}

func (e *emitter) edge(from string, kind graph.EdgeKind, to string, ev graph.Evidence, condition string) {
	k := graph.EdgeKey{From: from, Kind: kind, To: to}
	acc, ok := e.edges[k]
	if !ok {
		acc = &edgeAcc{evidence: map[graph.Evidence]bool{}, conditions: map[string]bool{}, conditional: true}
		e.edges[k] = acc
	}
	acc.evidence[ev] = true
	if condition == "" {
		acc.conditional = false
	} else {
		acc.conditions[condition] = true
	}
}

// scope writes an authoritative scope node (from a listing) and its
// parent link.
func (e *emitter) scope(r scopeRec) error {
	ref, ok := parseScope(e.tenant, r.ArmID)
	if !ok {
		return fmt.Errorf("field id: %q is not an ARM scope", r.ArmID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	attrs := map[string]string{"type": ref.Type, "arm_id": ref.ArmID}
	if r.State != "" {
		attrs["state"] = r.State
	}
	name := r.Name
	if name == "" {
		name = lastSegment(ref.ArmID)
	}
	if err := e.sink.AddNode(e.source, graph.Node{ID: ref.ID, Kind: graph.NodeScope, Name: name, Attrs: attrs}); err != nil {
		return err
	}
	if !e.scopes[ref.ID] {
		e.scopes[ref.ID] = true
		switch ref.Type {
		case typeManagementGroup:
			e.counts.ManagementGroups++
		case typeSubscription:
			e.counts.Subscriptions++
		case typeResourceGroup:
			e.counts.ResourceGroups++
		}
	}
	parentArm := r.ParentArm
	if parentArm == "" {
		parentArm = ref.ParentArm
	}
	if parentArm != "" {
		p, ok := parseScope(e.tenant, parentArm)
		if !ok {
			return fmt.Errorf("field parent: %q is not an ARM scope", parentArm)
		}
		if p.ID != ref.ID {
			e.edge(p.ID, graph.EdgeContains, ref.ID, graph.Evidence{Source: strings.ToLower(ref.ArmID)}, "")
			e.refScope(p)
		}
	}
	return nil
}

// refScope remembers a scope known only because something names it; it is
// written at the end unless a listing wrote it. Caller holds e.mu.
func (e *emitter) refScope(ref scopeRef) {
	for {
		old, ok := e.refs[ref.ID]
		if !ok || ref.ArmID < old.Attrs["arm_id"] {
			e.refs[ref.ID] = graph.Node{ID: ref.ID, Kind: graph.NodeScope, Name: lastSegment(ref.ArmID),
				Attrs: map[string]string{"type": ref.Type, "arm_id": ref.ArmID}}
		}
		if ref.ParentArm == "" {
			return
		}
		p, ok := parseScope(e.tenant, ref.ParentArm)
		if !ok || p.ID == ref.ID {
			return
		}
		e.edge(p.ID, graph.EdgeContains, ref.ID, graph.Evidence{Source: strings.ToLower(ref.ArmID)}, "")
		ref = p
	}
}

func jsonAttr(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null" // strings and string slices always marshal
	}
	return string(b)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func normPerms(in []permBlock) []permBlock {
	out := make([]permBlock, len(in))
	for i, p := range in {
		out[i] = permBlock{Actions: nonNil(p.Actions), NotActions: nonNil(p.NotActions), DataActions: nonNil(p.DataActions),
			NotDataActions: nonNil(p.NotDataActions), Condition: p.Condition, ConditionVersion: p.ConditionVersion}
	}
	return out
}

func (e *emitter) roleDefinition(r roleDefRec) error {
	guid := strings.ToLower(strings.TrimSpace(r.Name))
	if guid == "" {
		guid = strings.ToLower(lastSegment(r.ArmID))
	}
	if guid == "" {
		return fmt.Errorf("field name: role definition has no name (GUID)")
	}
	id := roleDefID(guid)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.roleDefs[id] {
		return nil // the same role listed at another scope
	}
	n := graph.Node{ID: id, Kind: graph.NodeRoleDefinition, Name: r.RoleName, Attrs: map[string]string{
		"type":              r.RoleType,
		"permissions":       jsonAttr(normPerms(r.Permissions)),
		"assignable_scopes": jsonAttr(nonNil(r.AssignableScopes)),
	}}
	if err := e.sink.AddNode(e.source, n); err != nil {
		return err
	}
	e.roleDefs[id] = true
	e.counts.RoleDefinitions++
	return nil
}

// principal writes a stub (id and kind only) so edges never dangle; the
// Entra collector completes it. Caller holds e.mu.
func (e *emitter) principal(id, typ string) (string, error) {
	gid, kind := principalRef(id, typ)
	if !e.nodes[gid] {
		if err := e.sink.AddNode(e.source, graph.Node{ID: gid, Kind: kind}); err != nil {
			return "", err
		}
		e.nodes[gid] = true
	}
	return gid, nil
}

// eligibleCondition is the edge condition of a PIM-eligible assignment.
const eligibleCondition = "PIM eligible: activation required"

func (e *emitter) assignment(r assignmentRec) error {
	guid := strings.ToLower(strings.TrimSpace(r.Name))
	if guid == "" {
		guid = strings.ToLower(lastSegment(r.ArmID))
	}
	switch {
	case guid == "":
		return fmt.Errorf("field name: role assignment has no name (GUID)")
	case strings.TrimSpace(r.PrincipalID) == "":
		return fmt.Errorf("field principalId: role assignment %s has no principal", guid)
	case lastSegment(r.RoleDefinitionID) == "":
		return fmt.Errorf("field roleDefinitionId: role assignment %s has no role", guid)
	}
	scopeArm := r.Scope
	if scopeArm == "" {
		// The assignment id is <scope>/providers/Microsoft.Authorization/...
		if i := strings.Index(strings.ToLower(r.ArmID), "/providers/microsoft.authorization/"); i >= 0 {
			scopeArm = r.ArmID[:i]
			if scopeArm == "" {
				scopeArm = "/"
			}
		}
	}
	ref, ok := parseScope(e.tenant, scopeArm)
	if !ok {
		return fmt.Errorf("field scope: role assignment %s: %q is not an ARM scope", guid, scopeArm)
	}
	id := "azure:ra:" + guid
	role := roleDefID(lastSegment(r.RoleDefinitionID))
	typ := "roleAssignment"
	if r.Eligible {
		typ = "roleEligibility"
	}
	armID := r.ArmID
	if armID == "" {
		armID = id
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.policies[id] {
		return nil // an inherited assignment listed again under another subscription
	}
	who, err := e.principal(r.PrincipalID, r.PrincipalType)
	if err != nil {
		return err
	}
	attrs := map[string]string{
		"type": typ, "principal": who, "principal_type": r.PrincipalType, "role": role,
		"scope": ref.ID, "scope_arm": scopeArm, "arm_id": armID,
	}
	if r.Condition != "" {
		attrs["condition"] = r.Condition
	}
	if r.ConditionVersion != "" {
		attrs["condition_version"] = r.ConditionVersion
	}
	if r.MemberType != "" {
		attrs["member_type"] = r.MemberType
	}
	if err := e.sink.AddNode(e.source, graph.Node{ID: id, Kind: graph.NodePolicy, Attrs: attrs}); err != nil {
		return err
	}
	e.policies[id] = true
	if r.Eligible {
		e.counts.Eligible++
	} else {
		e.counts.RoleAssignments++
	}
	e.refScope(ref)
	if _, ok := e.roleRefs[role]; !ok || armID < e.roleRefs[role] {
		e.roleRefs[role] = armID
	}
	if old, ok := e.roleArm[role]; !ok || r.RoleDefinitionID < old {
		e.roleArm[role] = r.RoleDefinitionID
	}
	var cond string
	switch {
	case r.Eligible && r.Condition != "":
		cond = eligibleCondition + "; condition: " + r.Condition
	case r.Eligible:
		cond = eligibleCondition
	default:
		cond = r.Condition
	}
	e.edge(who, graph.EdgeHasRole, role, graph.Evidence{Source: armID, Statement: scopeArm, Detail: typ}, cond)
	e.edge(who, graph.EdgeHasPolicy, id, graph.Evidence{Source: armID, Detail: typ}, "")
	return nil
}

func (e *emitter) principalIDs(in []principalRec) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if strings.EqualFold(strings.TrimSpace(p.ID), allPrincipals) {
			out = append(out, "*")
			continue
		}
		gid, _ := principalRef(p.ID, p.Type)
		out = append(out, gid)
	}
	return out
}

func (e *emitter) deny(r denyRec) error {
	guid := strings.ToLower(strings.TrimSpace(r.Name))
	if guid == "" {
		guid = strings.ToLower(lastSegment(r.ArmID))
	}
	if guid == "" {
		return fmt.Errorf("field name: deny assignment has no name (GUID)")
	}
	ref, ok := parseScope(e.tenant, r.Scope)
	if !ok {
		return fmt.Errorf("field scope: deny assignment %s: %q is not an ARM scope", guid, r.Scope)
	}
	id := "azure:deny:" + guid
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.policies[id] {
		return nil
	}
	n := graph.Node{ID: id, Kind: graph.NodePolicy, Name: r.DenyName, Attrs: map[string]string{
		"type": "denyAssignment", "scope": ref.ID, "scope_arm": r.Scope, "arm_id": r.ArmID,
		"permissions":                    jsonAttr(normPerms(r.Permissions)),
		"principals":                     jsonAttr(e.principalIDs(r.Principals)),
		"exclude_principals":             jsonAttr(e.principalIDs(r.Exclude)),
		"does_not_apply_to_child_scopes": fmt.Sprint(r.NoChildren),
	}}
	if err := e.sink.AddNode(e.source, n); err != nil {
		return err
	}
	e.policies[id] = true
	e.counts.DenyAssignments++
	e.refScope(ref)
	return nil
}

// finish writes what was held back: scopes known only by reference, stubs
// for referenced but uncollected role definitions, every edge (evidence
// sorted) and the warnings, all in a fixed order.
func (e *emitter) finish() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range sortedKeys(e.refs) {
		if e.scopes[id] {
			continue
		}
		if err := e.sink.AddNode(e.source, e.refs[id]); err != nil {
			return err
		}
	}
	for _, role := range sortedKeys(e.roleRefs) {
		if e.roleDefs[role] {
			continue
		}
		if err := e.sink.AddNode(e.source, graph.Node{ID: role, Kind: graph.NodeRoleDefinition,
			Attrs: map[string]string{"missing_definition": "true"}}); err != nil {
			return err
		}
		e.warnings[fmt.Sprintf("role definition %s is assigned (e.g. by %s) but was not collected; "+
			"what it grants is unknown", strings.TrimPrefix(role, "azure:roledef:"), e.roleRefs[role])] = true
	}
	keys := make([]graph.EdgeKey, 0, len(e.edges))
	for k := range e.edges {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return graph.LessEdgeKey(keys[i], keys[j]) })
	for _, k := range keys {
		acc := e.edges[k]
		ev := make([]graph.Evidence, 0, len(acc.evidence))
		for x := range acc.evidence {
			ev = append(ev, x)
		}
		sort.Slice(ev, func(i, j int) bool {
			a, b := ev[i], ev[j]
			if a.Source != b.Source {
				return a.Source < b.Source
			}
			if a.Statement != b.Statement {
				return a.Statement < b.Statement
			}
			return a.Detail < b.Detail
		})
		edge := graph.Edge{From: k.From, Kind: k.Kind, To: k.To, Evidence: ev}
		if acc.conditional {
			edge.Conditional = true
			conds := sortedKeys(acc.conditions)
			if len(conds) == 1 {
				edge.Condition = conds[0]
			} else {
				edge.Condition = "(" + strings.Join(conds, ") OR (") + ")"
			}
		}
		if err := e.sink.AddEdge(e.source, edge); err != nil {
			return err
		}
	}
	for _, w := range sortedKeys(e.warnings) {
		e.sink.Warn(e.source, w)
	}
	e.edges = map[graph.EdgeKey]*edgeAcc{}
	e.warnings = map[string]bool{}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// missingRoles returns the ARM ids of role definitions that assignments
// reference but no listing returned.
func (e *emitter) missingRoles() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, role := range sortedKeys(e.roleArm) {
		if !e.roleDefs[role] {
			out = append(out, e.roleArm[role])
		}
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
