package azurerbac

import (
	"strings"

	"permgraph/graph"
)

// Scope types, the values of a scope node's "type" attribute.
const (
	typeManagementGroup = "managementGroup"
	typeSubscription    = "subscription"
	typeResourceGroup   = "resourceGroup"
	typeResource        = "resource"
)

// allPrincipals is the object id a deny assignment uses for "everyone".
const allPrincipals = "00000000-0000-0000-0000-000000000000"

// scopeRef is an ARM scope parsed into its graph id and, when the id itself
// says so, its parent (a resource group's subscription, a resource's group).
type scopeRef struct {
	ID    string // graph id
	Type  string
	ArmID string // as spelled by the API
	// ParentArm is the parent scope when the id itself names it (a resource
	// group's subscription, a resource's group); "" otherwise.
	ParentArm string
}

// parseScope maps an ARM scope to its graph node. The root scope "/" (where
// elevated access and tenant-wide assignments live) is the tenant root
// management group, whose name is the tenant id. ok is false for text that
// is not an ARM scope.
func parseScope(tenant, arm string) (scopeRef, bool) {
	s := strings.TrimRight(strings.TrimSpace(arm), "/")
	if s == "" {
		if strings.HasPrefix(strings.TrimSpace(arm), "/") {
			return scopeRef{ID: mgID(tenant), Type: typeManagementGroup, ArmID: "/"}, true
		}
		return scopeRef{}, false
	}
	if !strings.HasPrefix(s, "/") {
		return scopeRef{}, false
	}
	segs := strings.Split(strings.TrimPrefix(s, "/"), "/")
	for _, x := range segs {
		if x == "" {
			return scopeRef{}, false
		}
	}
	lower := strings.ToLower(s)
	switch {
	case len(segs) == 4 && isMGPrefix(segs):
		return scopeRef{ID: mgID(segs[3]), Type: typeManagementGroup, ArmID: s}, true
	case len(segs) > 4 && isMGPrefix(segs):
		// A resource (or extension) under a management group.
		return scopeRef{ID: "azure:res:" + lower, Type: typeResource, ArmID: s, ParentArm: "/" + strings.Join(segs[:4], "/")}, true
	case len(segs) == 2 && strings.EqualFold(segs[0], "subscriptions"):
		return scopeRef{ID: subID(segs[1]), Type: typeSubscription, ArmID: s}, true
	case len(segs) == 4 && strings.EqualFold(segs[0], "subscriptions") && strings.EqualFold(segs[2], "resourceGroups"):
		return scopeRef{ID: "azure:rg:" + lower, Type: typeResourceGroup, ArmID: s, ParentArm: "/" + strings.Join(segs[:2], "/")}, true
	case len(segs) > 4 && strings.EqualFold(segs[0], "subscriptions") && strings.EqualFold(segs[2], "resourceGroups"):
		return scopeRef{ID: "azure:res:" + lower, Type: typeResource, ArmID: s, ParentArm: "/" + strings.Join(segs[:4], "/")}, true
	case len(segs) > 2 && strings.EqualFold(segs[0], "subscriptions"):
		// A subscription-level resource (/subscriptions/x/providers/...).
		return scopeRef{ID: "azure:res:" + lower, Type: typeResource, ArmID: s, ParentArm: "/" + strings.Join(segs[:2], "/")}, true
	}
	// Any other ARM id (a tenant-level provider resource): a resource with
	// no known parent.
	return scopeRef{ID: "azure:res:" + lower, Type: typeResource, ArmID: s}, true
}

func isMGPrefix(segs []string) bool {
	return len(segs) >= 4 && strings.EqualFold(segs[0], "providers") &&
		strings.EqualFold(segs[1], "Microsoft.Management") && strings.EqualFold(segs[2], "managementGroups")
}

func mgID(name string) string   { return "azure:mg:" + strings.ToLower(name) }
func subID(id string) string    { return "azure:sub:" + strings.ToLower(id) }
func roleDefID(g string) string { return "azure:roledef:" + strings.ToLower(g) }

// lastSegment returns the text after the last "/" (the GUID of a role
// definition or assignment id).
func lastSegment(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// principalRef maps an assignee to its Entra graph id and node kind. Unknown
// types (deleted principals show "Unknown") are service principals, as the
// contract says; ForeignGroup is a group.
func principalRef(id, typ string) (string, graph.NodeKind) {
	id = strings.ToLower(strings.TrimSpace(id))
	switch strings.ToLower(typ) {
	case "user":
		return "entra:user:" + id, graph.NodeUser
	case "group", "foreigngroup":
		return "entra:group:" + id, graph.NodeGroup
	}
	return "entra:sp:" + id, graph.NodeServicePrincipal
}
