// Package graph holds permgraph's data model (node and edge kinds, stable ids,
// evidence), the temporal Badger store and the compact in-memory view that
// queries run on.
package graph

import (
	"fmt"
	"sort"
	"strings"
)

// NodeKind is the closed set of node types. The zero value is invalid so a
// forgotten assignment is caught by Validate.
type NodeKind uint8

const (
	NodeInvalid NodeKind = iota
	NodeUser
	NodeGroup
	NodeRole             // AWS IAM role
	NodeServicePrincipal // Entra service principal / app
	NodeServiceAccount   // GCP service account
	NodeAccount          // AWS account (the "root" principal of trust policies)
	NodeService          // cloud service principal, e.g. ecs-tasks.amazonaws.com
	NodeFederated        // SAML / OIDC identity provider
	NodePolicy           // a policy document (managed or inline)
	NodeRoleDefinition   // Azure role definition / GCP role / Entra directory role
	NodeScope            // subscription, resource group, project, folder, org, cluster
	NodeCapability       // cap:deploy-container per cloud and scope, or a raw permission
	nodeKindEnd
)

var nodeKindNames = [...]string{
	NodeInvalid:          "invalid",
	NodeUser:             "user",
	NodeGroup:            "group",
	NodeRole:             "role",
	NodeServicePrincipal: "service-principal",
	NodeServiceAccount:   "service-account",
	NodeAccount:          "account",
	NodeService:          "service",
	NodeFederated:        "federated-provider",
	NodePolicy:           "policy",
	NodeRoleDefinition:   "role-definition",
	NodeScope:            "scope",
	NodeCapability:       "capability",
}

func (k NodeKind) String() string {
	if k < nodeKindEnd {
		return nodeKindNames[k]
	}
	return fmt.Sprintf("NodeKind(%d)", uint8(k))
}

// ParseNodeKind is the inverse of String.
func ParseNodeKind(s string) (NodeKind, error) {
	for k := NodeUser; k < nodeKindEnd; k++ {
		if nodeKindNames[k] == s {
			return k, nil
		}
	}
	return NodeInvalid, fmt.Errorf("unknown node kind %q", s)
}

// MarshalText makes kinds readable in JSON output and stored values.
func (k NodeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind name.
func (k *NodeKind) UnmarshalText(b []byte) error {
	v, err := ParseNodeKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// IsPrincipal reports whether nodes of this kind can act (hold credentials
// or be assumed), as opposed to policies, scopes and capabilities.
func (k NodeKind) IsPrincipal() bool {
	switch k {
	case NodeUser, NodeGroup, NodeRole, NodeServicePrincipal, NodeServiceAccount, NodeAccount, NodeService, NodeFederated:
		return true
	}
	return false
}

// EdgeKind is the closed set of edge types (ARCHITECTURE.md section 3).
type EdgeKind uint8

const (
	EdgeInvalid EdgeKind = iota
	// structure
	EdgeMemberOf // user/group -> group
	EdgeOwns     // owner -> group/app/sp
	EdgeContains // scope -> child scope
	// identity hops
	EdgeCanAssume      // principal -> AWS role (trust AND identity policy allow)
	EdgeCanImpersonate // GCP actAs / token creator; Azure managed identity
	EdgeSameIdentity   // cross-cloud link by verified email/UPN
	// grants
	EdgeHasRole     // principal -> role definition at scope
	EdgeCan         // principal -> capability, after evaluation
	EdgeHasPolicy   // principal/group -> policy document attached to it (inline or managed)
	EdgeHasBoundary // principal -> permissions boundary policy
	// escalation
	EdgeCanAddMember
	EdgeCanAttachPolicy
	EdgeCanEditPolicy
	EdgeCanCreateKey
	EdgeCanUpdateTrust
	EdgeCanPassRole
	EdgeCanAssignRole
	EdgeCanAddSecret
	// EdgeCanPushImage: push to a registry that deployed workloads pull
	// from (image tampering); indirect, it fires on the next pull.
	EdgeCanPushImage
	edgeKindEnd
)

var edgeKindNames = [...]string{
	EdgeInvalid:         "invalid",
	EdgeMemberOf:        "MemberOf",
	EdgeOwns:            "Owns",
	EdgeContains:        "Contains",
	EdgeCanAssume:       "CanAssume",
	EdgeCanImpersonate:  "CanImpersonate",
	EdgeSameIdentity:    "SameIdentity",
	EdgeHasRole:         "HasRole",
	EdgeCan:             "Can",
	EdgeHasPolicy:       "HasPolicy",
	EdgeHasBoundary:     "HasBoundary",
	EdgeCanAddMember:    "CanAddMember",
	EdgeCanAttachPolicy: "CanAttachPolicy",
	EdgeCanEditPolicy:   "CanEditPolicy",
	EdgeCanCreateKey:    "CanCreateKey",
	EdgeCanUpdateTrust:  "CanUpdateTrust",
	EdgeCanPassRole:     "CanPassRole",
	EdgeCanAssignRole:   "CanAssignRole",
	EdgeCanAddSecret:    "CanAddSecret",
	EdgeCanPushImage:    "CanPushImage",
}

func (k EdgeKind) String() string {
	if k < edgeKindEnd {
		return edgeKindNames[k]
	}
	return fmt.Sprintf("EdgeKind(%d)", uint8(k))
}

// ParseEdgeKind is the inverse of String (case-insensitive).
func ParseEdgeKind(s string) (EdgeKind, error) {
	for k := EdgeMemberOf; k < edgeKindEnd; k++ {
		if strings.EqualFold(edgeKindNames[k], s) {
			return k, nil
		}
	}
	return EdgeInvalid, fmt.Errorf("unknown edge kind %q", s)
}

func (k EdgeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k *EdgeKind) UnmarshalText(b []byte) error {
	v, err := ParseEdgeKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// IsEscalation reports whether traversing this edge means abusing a permission
// to become or join another principal (PMapper / BloodHound style).
func (k EdgeKind) IsEscalation() bool { return k >= EdgeCanAddMember && k < edgeKindEnd }

// Traversable reports whether a path from a principal towards a capability
// may go along this edge: membership, identity hops, grants and escalation.
// Policy attachments and scope containment are explanation, not hops.
func (k EdgeKind) Traversable() bool {
	switch k {
	case EdgeMemberOf, EdgeCanAssume, EdgeCanImpersonate, EdgeSameIdentity, EdgeHasRole, EdgeCan:
		return true
	}
	return k.IsEscalation()
}

// Node is a vertex. ID is stable and provider-prefixed, never a display name.
type Node struct {
	ID    string            `json:"id"`
	Kind  NodeKind          `json:"kind"`
	Name  string            `json:"name,omitempty"`
	Email string            `json:"email,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Evidence says why an edge exists: the policy and statement, or the role
// assignment, that created it.
type Evidence struct {
	// Source is the id of the policy, role assignment or API object.
	Source string `json:"source"`
	// Statement identifies the statement inside Source (index or Sid), if any.
	Statement string `json:"statement,omitempty"`
	// Detail is a short human explanation, e.g. the actions it allows.
	Detail string `json:"detail,omitempty"`
}

// Edge is a directed, typed relation with its evidence.
type Edge struct {
	From     string     `json:"from"`
	Kind     EdgeKind   `json:"kind"`
	To       string     `json:"to"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Conditional is true when the edge holds only under a request-time
	// condition; Condition carries the condition text.
	Conditional bool              `json:"conditional,omitempty"`
	Condition   string            `json:"condition,omitempty"`
	Attrs       map[string]string `json:"attrs,omitempty"`
}

// Key is the identity of an edge inside a source: one edge per (from, kind, to).
func (e Edge) Key() EdgeKey { return EdgeKey{From: e.From, Kind: e.Kind, To: e.To} }

// EdgeKey identifies an edge.
type EdgeKey struct {
	From string
	Kind EdgeKind
	To   string
}

// Validate checks the invariants every stored node must hold.
func (n Node) Validate() error {
	if n.ID == "" {
		return fmt.Errorf("node has empty id")
	}
	if strings.IndexByte(n.ID, 0) >= 0 {
		return fmt.Errorf("node id %q contains NUL", n.ID)
	}
	if n.Kind == NodeInvalid || n.Kind >= nodeKindEnd {
		return fmt.Errorf("node %q has invalid kind %d", n.ID, n.Kind)
	}
	return nil
}

// Validate checks the invariants every stored edge must hold.
func (e Edge) Validate() error {
	if e.From == "" || e.To == "" {
		return fmt.Errorf("edge %s has empty endpoint (%q -> %q)", e.Kind, e.From, e.To)
	}
	if strings.IndexByte(e.From, 0) >= 0 || strings.IndexByte(e.To, 0) >= 0 {
		return fmt.Errorf("edge %q -> %q contains NUL", e.From, e.To)
	}
	if e.Kind == EdgeInvalid || e.Kind >= edgeKindEnd {
		return fmt.Errorf("edge %q -> %q has invalid kind %d", e.From, e.To, e.Kind)
	}
	return nil
}

// SortedAttrKeys returns the attribute names in order, for stable output.
func SortedAttrKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MergeEvidence folds evidence with the same source and statement into one
// entry (details joined with "; "), so a statement or role assignment that
// grants several actions of a recipe is listed once.
func MergeEvidence(in []Evidence) []Evidence {
	var out []Evidence
	index := map[string]int{}
	for _, ev := range in {
		k := ev.Source + "\x00" + ev.Statement
		if i, ok := index[k]; ok {
			out[i].Detail += "; " + ev.Detail
			continue
		}
		index[k] = len(out)
		out = append(out, ev)
	}
	return out
}
