package azure

import (
	"sort"
	"strings"

	"permgraph/graph"
)

// Scope id prefixes of the contract (docs/model-azure-gcp.md).
const (
	prefixMG  = "azure:mg:"
	prefixSub = "azure:sub:"
	prefixRG  = "azure:rg:"
	prefixRes = "azure:res:"
)

// uamiType is the lower-cased ARM type segment of a user-assigned identity.
const uamiType = "/providers/microsoft.managedidentity/userassignedidentities/"

// DeployCapabilityID is the deploy-container capability node of one Azure
// scope graph id (subscription, resource group or resource).
func DeployCapabilityID(scopeID string) string {
	return "cap:deploy-container:azure:" + strings.TrimPrefix(scopeID, "azure:")
}

// scopeTree is the management-group / subscription / resource-group /
// resource hierarchy read from scope nodes and Contains edges. Built once
// per Derive call.
type scopeTree struct {
	nodes    map[string]graph.Node
	parent   map[string]string
	children map[string][]string
	subs     []string // every subscription scope id, sorted
	uamis    []string // user-assigned identity resource ids, sorted
	subsMemo map[string][]string
}

func newScopeTree() *scopeTree {
	return &scopeTree{nodes: map[string]graph.Node{}, parent: map[string]string{}, children: map[string][]string{}, subsMemo: map[string][]string{}}
}

func isScopeID(id string) bool {
	return strings.HasPrefix(id, prefixMG) || strings.HasPrefix(id, prefixSub) || strings.HasPrefix(id, prefixRG) || strings.HasPrefix(id, prefixRes)
}

func (t *scopeTree) addNode(n graph.Node) {
	if _, ok := t.nodes[n.ID]; ok {
		return
	}
	t.nodes[n.ID] = n
	switch {
	case strings.HasPrefix(n.ID, prefixSub):
		t.subs = append(t.subs, n.ID)
	case strings.HasPrefix(n.ID, prefixRes) && strings.Contains(t.arm(n.ID), uamiType):
		t.uamis = append(t.uamis, n.ID)
	}
}

func (t *scopeTree) addContains(from, to string) {
	if _, ok := t.parent[to]; ok {
		return // first parent wins; a scope has one parent in ARM
	}
	t.parent[to] = from
	t.children[from] = append(t.children[from], to)
}

func (t *scopeTree) finish() {
	sort.Strings(t.subs)
	sort.Strings(t.uamis)
	for _, c := range t.children {
		sort.Strings(c)
	}
}

// arm returns the lower-cased ARM id of a scope graph id: the node's arm_id
// attribute when present, else rebuilt from the id (which is already the
// lower-cased ARM id for resource groups and resources).
func (t *scopeTree) arm(id string) string {
	if n, ok := t.nodes[id]; ok && n.Attrs["arm_id"] != "" {
		return strings.ToLower(n.Attrs["arm_id"])
	}
	switch {
	case strings.HasPrefix(id, prefixSub):
		return "/subscriptions/" + strings.TrimPrefix(id, prefixSub)
	case strings.HasPrefix(id, prefixRG):
		return strings.TrimPrefix(id, prefixRG)
	case strings.HasPrefix(id, prefixRes):
		return strings.TrimPrefix(id, prefixRes)
	case strings.HasPrefix(id, prefixMG):
		return "/providers/microsoft.management/managementgroups/" + strings.TrimPrefix(id, prefixMG)
	}
	return id
}

// parentOf returns the parent scope: the Contains parent, else (for
// resource groups and resources the collector did not link) the one implied
// by the ARM id, so inheritance still works without explicit edges.
func (t *scopeTree) parentOf(id string) string {
	if p, ok := t.parent[id]; ok {
		return p
	}
	arm := t.arm(id)
	parts := strings.Split(strings.TrimPrefix(arm, "/"), "/")
	switch {
	case strings.HasPrefix(id, prefixRes) && len(parts) >= 4 && parts[0] == "subscriptions" && parts[2] == "resourcegroups":
		return prefixRG + "/subscriptions/" + parts[1] + "/resourcegroups/" + parts[3]
	case strings.HasPrefix(id, prefixRes) && len(parts) >= 2 && parts[0] == "subscriptions":
		return prefixSub + parts[1]
	case strings.HasPrefix(id, prefixRG) && len(parts) >= 2 && parts[0] == "subscriptions":
		return prefixSub + parts[1]
	}
	return ""
}

// within reports whether scope id equals anc or lies below it. A scope
// whose parent is unknown is a root (the contract's rule).
func (t *scopeTree) within(id, anc string) bool {
	for steps := 0; id != "" && steps < 64; steps++ {
		if id == anc {
			return true
		}
		id = t.parentOf(id)
	}
	return false
}

// isRootScope reports whether an assignment's scope is the tenant root "/"
// (elevated User Access Administrator and similar): it covers everything.
func isRootScope(scopeID, scopeARM string) bool {
	return strings.TrimSpace(scopeARM) == "/" || scopeID == "azure:root" || scopeID == "azure:/"
}

// capScopes returns the scopes whose deploy capability an assignment at
// scopeID reaches: the scope itself for a subscription, resource group or
// resource; every subscription below it for a management group (and all
// subscriptions for the root scope).
func (t *scopeTree) capScopes(scopeID, scopeARM string) []string {
	if isRootScope(scopeID, scopeARM) {
		return t.subs
	}
	if strings.HasPrefix(scopeID, prefixSub) || strings.HasPrefix(scopeID, prefixRG) || strings.HasPrefix(scopeID, prefixRes) {
		return []string{scopeID}
	}
	if s, ok := t.subsMemo[scopeID]; ok {
		return s
	}
	var out []string
	seen := map[string]bool{scopeID: true}
	queue := []string{scopeID}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range t.children[cur] {
			if seen[c] {
				continue
			}
			seen[c] = true
			if strings.HasPrefix(c, prefixSub) {
				out = append(out, c)
				continue // capabilities stop at subscriptions
			}
			queue = append(queue, c)
		}
	}
	sort.Strings(out)
	t.subsMemo[scopeID] = out
	return out
}

// resourceType returns the lower-cased ARM resource type of a resource
// scope ("microsoft.containerservice/managedclusters"), or "" for other
// scopes.
func (t *scopeTree) resourceType(id string) string {
	if !strings.HasPrefix(id, prefixRes) {
		return ""
	}
	arm := t.arm(id)
	i := strings.LastIndex(arm, "/providers/")
	if i < 0 {
		return ""
	}
	parts := strings.Split(arm[i+len("/providers/"):], "/")
	if len(parts) < 2 {
		return ""
	}
	typ := parts[0] + "/" + parts[1]
	for j := 3; j < len(parts); j += 2 {
		typ += "/" + parts[j]
	}
	return typ
}

// displayScope names a scope for evidence: its display name when known.
func (t *scopeTree) displayScope(id string) string {
	if n, ok := t.nodes[id]; ok && n.Name != "" {
		return n.Name
	}
	return strings.TrimPrefix(id, "azure:")
}
