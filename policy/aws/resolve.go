package aws

import (
	"fmt"
	"strings"

	"permgraph/graph"
)

// Graph is the read access the resolver needs; both a collected
// SourceGraph (at snapshot time) and a query View (at query time) provide it.
type Graph interface {
	Node(id string) (graph.Node, bool)
	// Targets returns the ids that id points to along edges of kind.
	Targets(id string, kind graph.EdgeKind) []string
}

// Resolver gathers and parses the policies that apply to principals,
// caching parsed documents (managed policies are shared by many principals).
type Resolver struct {
	g    Graph
	docs map[string]parsedDoc
}

type parsedDoc struct {
	doc *Document
	err string
}

// NewResolver returns a resolver over g.
func NewResolver(g Graph) *Resolver { return &Resolver{g: g, docs: map[string]parsedDoc{}} }

// document returns the parsed document of a policy node, or why it is unknown.
func (r *Resolver) document(id string, attr string) parsedDoc {
	key := id + "\x00" + attr
	if d, ok := r.docs[key]; ok {
		return d
	}
	var d parsedDoc
	n, ok := r.g.Node(id)
	switch {
	case !ok:
		d.err = fmt.Sprintf("policy %s is not in the graph", id)
	case n.Attrs[attr] == "":
		d.err = fmt.Sprintf("policy %s has no document in the export", strings.TrimPrefix(id, "aws:"))
	default:
		doc, err := Parse(n.Attrs[attr])
		if err != nil {
			d.err = fmt.Sprintf("policy %s: %v", strings.TrimPrefix(id, "aws:"), err)
		} else {
			d.doc = doc
		}
	}
	r.docs[key] = d
	return d
}

func (r *Resolver) policy(id, via string, pp *PrincipalPolicies) *Policy {
	d := r.document(id, "document")
	if d.err != "" {
		pp.Incomplete = append(pp.Incomplete, d.err)
		return nil
	}
	name := id
	if n, ok := r.g.Node(id); ok && n.Name != "" {
		name = n.Name
	}
	return &Policy{ID: id, Name: name, Via: via, Doc: d.doc}
}

// PrincipalPolicies returns the identity policies of a user (its own and its
// groups') or role, and its permissions boundary.
func (r *Resolver) PrincipalPolicies(id string) *PrincipalPolicies {
	pp := &PrincipalPolicies{}
	add := func(owner, via string) {
		for _, pid := range r.g.Targets(owner, graph.EdgeHasPolicy) {
			v := via
			if v == "" {
				v = "managed"
				if n, ok := r.g.Node(pid); ok && n.Attrs["inline"] == "true" {
					v = "inline"
				}
			}
			if p := r.policy(pid, v, pp); p != nil {
				pp.Identity = append(pp.Identity, *p)
			}
		}
	}
	add(id, "")
	for _, gid := range r.g.Targets(id, graph.EdgeMemberOf) {
		name := gid
		if n, ok := r.g.Node(gid); ok {
			if n.Name != "" {
				name = n.Name
			}
			if n.Attrs["missing_details"] == "true" {
				pp.Incomplete = append(pp.Incomplete, fmt.Sprintf("group %s is not in the export", name))
			}
		}
		add(gid, "group "+name)
	}
	pp.SCPs = r.scpChain(id, pp)
	if b := r.g.Targets(id, graph.EdgeHasBoundary); len(b) > 0 {
		if p := r.policy(b[0], "boundary", pp); p != nil {
			pp.Boundary = p
		} else {
			// An unknown boundary caps to an unknown set: deny nothing
			// silently, but say the answer is incomplete.
			pp.Incomplete = append(pp.Incomplete, "permissions boundary document unknown")
		}
	}
	return pp
}

// scpChain returns the SCP levels that govern a principal, root first, or
// nil when none apply. The Organizations collector links each account and
// OU to its parent through the "parent" attribute and attaches SCPs with
// HasPolicy edges.
func (r *Resolver) scpChain(id string, pp *PrincipalPolicies) []SCPLevel {
	n, ok := r.g.Node(id)
	if !ok || n.Attrs["service_linked"] == "true" {
		return nil // SCPs do not restrict service-linked roles
	}
	acct := accountOf(n.Attrs["arn"])
	if acct == "" {
		return nil
	}
	an, ok := r.g.Node("aws:account:" + acct)
	if !ok || an.Attrs["org"] == "" || an.Attrs["management"] == "true" {
		return nil // no Organizations data, or the management account (SCPs never apply)
	}
	var chain []graph.Node
	seen := map[string]bool{}
	for cur := an; ; {
		chain = append(chain, cur)
		seen[cur.ID] = true
		parent := cur.Attrs["parent"]
		if parent == "" || seen[parent] {
			break
		}
		next, ok := r.g.Node(parent)
		if !ok {
			pp.Incomplete = append(pp.Incomplete, fmt.Sprintf("organisation parent %s of %s is missing; SCPs not evaluated", parent, cur.ID))
			return nil
		}
		cur = next
	}
	root := chain[len(chain)-1]
	if root.Attrs["scp_enabled"] == "false" {
		return nil
	}
	levels := make([]SCPLevel, 0, len(chain))
	for i := len(chain) - 1; i >= 0; i-- {
		lvl := SCPLevel{Scope: chain[i].ID, Name: chain[i].Name}
		if lvl.Name == "" {
			lvl.Name = chain[i].ID
		}
		for _, pid := range r.g.Targets(chain[i].ID, graph.EdgeHasPolicy) {
			pn, ok := r.g.Node(pid)
			if !ok || pn.Attrs["policy_type"] != "SERVICE_CONTROL_POLICY" {
				continue
			}
			if p := r.policy(pid, "SCP", pp); p != nil {
				lvl.Policies = append(lvl.Policies, *p)
			}
		}
		levels = append(levels, lvl)
	}
	return levels
}

// Trust returns the parsed trust policy of a role.
func (r *Resolver) Trust(roleID string) (*Document, error) {
	d := r.document(roleID, "trust_policy")
	if d.err != "" {
		return nil, fmt.Errorf("%s", d.err)
	}
	return d.doc, nil
}

// Vars returns the context keys and policy variables known offline for a
// principal node, with lower-case names: who it is and its tags (tags are
// complete, so a missing aws:PrincipalTag/<k> is known to be absent).
func Vars(n graph.Node) map[string]string {
	v := map[string]string{tagsComplete: ""}
	arn := n.Attrs["arn"]
	if acct := accountOf(arn); acct != "" {
		v["aws:principalaccount"] = acct
	}
	if arn != "" {
		v["aws:principalarn"] = arn
	}
	switch n.Kind {
	case graph.NodeUser:
		v["aws:username"] = n.Name
		v["aws:principaltype"] = "User"
		if id := n.Attrs["unique_id"]; id != "" {
			v["aws:userid"] = id
		}
	case graph.NodeRole:
		v["aws:principaltype"] = "AssumedRole"
	}
	for k, val := range n.Attrs {
		if strings.HasPrefix(k, "tag:") {
			v["aws:principaltag/"+strings.ToLower(k[4:])] = val
		}
	}
	return v
}

// WithVar returns a copy of vars with one more key (lower-cased).
func WithVar(vars map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(vars)+1)
	for k, v := range vars {
		out[k] = v
	}
	out[strings.ToLower(key)] = value
	return out
}

func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[4] == "aws" {
		return ""
	}
	return parts[4]
}
