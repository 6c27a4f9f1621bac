// Package gcp evaluates a collected Google source (Workspace directory plus
// GCP IAM, docs/model-azure-gcp.md): it resolves IAM policy members to graph
// nodes, expands roles to permissions, and derives HasRole, Can
// deploy-container, escalation and SameIdentity edges
// (docs/evaluation-gcp.md).
package gcp

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Policy is a GCP IAM allow policy as the collector stores it (the
// getIamPolicy response, attr "policy" of a gcp:iam:* node). Fields the
// evaluator does not use (auditConfigs) are ignored.
type Policy struct {
	Version  int       `json:"version,omitempty"`
	Etag     string    `json:"etag,omitempty"`
	Bindings []Binding `json:"bindings,omitempty"`
}

// Binding grants Role to Members, optionally under an IAM Condition.
type Binding struct {
	Role      string     `json:"role"`
	Members   []string   `json:"members,omitempty"`
	Condition *Condition `json:"condition,omitempty"`
}

// Condition is an IAM Condition: a CEL expression evaluated per request.
type Condition struct {
	Expression  string `json:"expression"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// ParsePolicy decodes an IAM policy. A binding without a role, or a role or
// member that could not be a graph id (empty, control characters, invalid
// UTF-8), makes the whole policy an error: the evaluator then warns and
// skips the policy instead of guessing which part is trustworthy.
func ParsePolicy(b []byte) (*Policy, error) {
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse IAM policy: %w", err)
	}
	// Empty lists become nil so that a policy compares equal to itself
	// after a JSON round trip (omitempty drops them).
	if len(p.Bindings) == 0 {
		p.Bindings = nil
	}
	for i, bd := range p.Bindings {
		if len(bd.Members) == 0 {
			p.Bindings[i].Members = nil
		}
		if !cleanToken(bd.Role) {
			return nil, fmt.Errorf("parse IAM policy: binding %d: role %q is empty or not printable", i, bd.Role)
		}
		for _, m := range bd.Members {
			if !cleanToken(m) {
				return nil, fmt.Errorf("parse IAM policy: binding %d (%s): member %q is empty or not printable", i, bd.Role, m)
			}
		}
		if c := bd.Condition; c != nil && !utf8.ValidString(c.Expression+c.Title+c.Description) {
			return nil, fmt.Errorf("parse IAM policy: binding %d (%s): condition is not valid UTF-8", i, bd.Role)
		}
	}
	return &p, nil
}

// cleanToken reports whether s can become part of a node id: non-empty,
// valid UTF-8, no control characters (NUL would break the store's keys).
func cleanToken(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// MemberKind classifies an IAM member string.
type MemberKind uint8

const (
	MemberUnknown          MemberKind = iota
	MemberUser                        // user:email
	MemberGroup                       // group:email
	MemberServiceAccount              // serviceAccount:email
	MemberDomain                      // domain:example.com
	MemberAllUsers                    // allUsers
	MemberAllAuthenticated            // allAuthenticatedUsers
	MemberPrincipal                   // principal:// and principalSet:// (workload / workforce identity federation)
	MemberDeleted                     // deleted:user:...?uid=..., a principal that no longer exists
	MemberConvenience                 // projectOwner:/projectEditor:/projectViewer: (bucket policies)
)

// Member is a parsed IAM member.
type Member struct {
	Raw   string
	Kind  MemberKind
	Email string // lower-cased, for user/group/serviceAccount
}

// ParseMember classifies one member string as IAM writes it. Emails are
// case-insensitive in IAM and stored lower-cased in the graph.
func ParseMember(s string) Member {
	m := Member{Raw: s}
	prefix, rest, ok := strings.Cut(s, ":")
	switch {
	case s == "allUsers":
		m.Kind = MemberAllUsers
	case s == "allAuthenticatedUsers":
		m.Kind = MemberAllAuthenticated
	case !ok || rest == "":
		m.Kind = MemberUnknown
	case prefix == "user":
		m.Kind, m.Email = MemberUser, strings.ToLower(rest)
	case prefix == "group":
		m.Kind, m.Email = MemberGroup, strings.ToLower(rest)
	case prefix == "serviceAccount":
		m.Kind, m.Email = MemberServiceAccount, strings.ToLower(rest)
	case prefix == "domain":
		m.Kind, m.Email = MemberDomain, strings.ToLower(rest)
	case prefix == "principal" || prefix == "principalSet":
		m.Kind = MemberPrincipal
	case prefix == "deleted":
		m.Kind = MemberDeleted
	case prefix == "projectOwner" || prefix == "projectEditor" || prefix == "projectViewer":
		m.Kind = MemberConvenience
	}
	return m
}
