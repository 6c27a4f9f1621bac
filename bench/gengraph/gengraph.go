// Package gengraph turns a generated organisation (bench/gen) straight into
// the graph.SourceGraph that the AWS collector would produce from its
// export, for benchmarks of packages that must not import a collector
// (policy/aws, queries). It mirrors collectors/awsiam's mapping (ids,
// attributes, evidence); TestGengraphMatchesCollector in
// collectors/awsiam/bench_test.go fails when the two drift apart.
package gengraph

import (
	"strings"
	"time"

	"permgraph/bench/gen"
	"permgraph/graph"
)

// Collected returns the collected (not yet derived) graph of o.
func Collected(o *gen.Org) *graph.SourceGraph {
	c := o.Config()
	acct := o.Account()
	g := graph.NewSourceGraph("aws:" + acct)
	b := builder{g: g}
	b.node(graph.Node{ID: "aws:account:" + acct, Kind: graph.NodeAccount, Name: acct, Attrs: map[string]string{"account": acct}})
	for i := 0; i < c.Users; i++ {
		b.user(o.User(i), acct)
	}
	for i := 0; i < c.Groups; i++ {
		b.group(o.Group(i))
	}
	for i := 0; i < c.Roles; i++ {
		b.role(o.Role(i))
	}
	for i := 0; i < o.NumManagedPolicies(); i++ {
		b.policy(o.ManagedPolicy(i))
	}
	for _, m := range b.members {
		arn, ok := b.groups[m[1]]
		if !ok {
			arn = "arn:aws:iam::" + acct + ":group/" + m[1]
			b.node(graph.Node{ID: "aws:" + arn, Kind: graph.NodeGroup, Name: m[1], Attrs: map[string]string{"arn": arn, "missing_details": "true"}})
		}
		b.edge(graph.Edge{From: "aws:" + m[0], Kind: graph.EdgeMemberOf, To: "aws:" + arn,
			Evidence: []graph.Evidence{{Source: "aws:" + m[0], Detail: "GroupList"}}})
	}
	return g
}

type builder struct {
	g       *graph.SourceGraph
	members [][2]string       // user ARN, group name
	groups  map[string]string // group name -> ARN
}

func (b *builder) node(n graph.Node) {
	if err := b.g.AddNode(n); err != nil {
		panic(err) // generated ids are never empty
	}
}

func (b *builder) edge(e graph.Edge) {
	if err := b.g.AddEdge(e); err != nil {
		panic(err)
	}
}

// date normalises the generator's date forms to RFC 3339 UTC, as the
// collector does.
func date(s string) string {
	if s == "" {
		return ""
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return s
}

func (b *builder) common(arn, id, path, created string) map[string]string {
	attrs := map[string]string{"arn": arn, "unique_id": id, "path": path}
	if d := date(created); d != "" {
		attrs["created"] = d
	}
	return attrs
}

func tags(attrs map[string]string, ts []gen.Tag) {
	for _, t := range ts {
		attrs["tag:"+t.Key] = t.Value
	}
}

func (b *builder) inline(owner string, list []gen.InlinePolicy) {
	for _, p := range list {
		id := "aws:" + owner + "#inline/" + p.PolicyName
		b.node(graph.Node{ID: id, Kind: graph.NodePolicy, Name: p.PolicyName,
			Attrs: map[string]string{"document": p.PolicyDocument.Compact(), "inline": "true", "owner": "aws:" + owner}})
		b.edge(graph.Edge{From: "aws:" + owner, Kind: graph.EdgeHasPolicy, To: id,
			Evidence: []graph.Evidence{{Source: id, Detail: "inline policy " + p.PolicyName}}})
	}
}

func (b *builder) attached(owner string, list []gen.AttachedPolicy) {
	for _, p := range list {
		b.edge(graph.Edge{From: "aws:" + owner, Kind: graph.EdgeHasPolicy, To: "aws:" + p.PolicyArn,
			Evidence: []graph.Evidence{{Source: "aws:" + p.PolicyArn, Detail: "managed policy " + p.PolicyName + " attached"}}})
	}
}

func (b *builder) boundary(owner string, pb *gen.Boundary) {
	if pb == nil || pb.PermissionsBoundaryArn == "" {
		return
	}
	b.edge(graph.Edge{From: "aws:" + owner, Kind: graph.EdgeHasBoundary, To: "aws:" + pb.PermissionsBoundaryArn,
		Evidence: []graph.Evidence{{Source: "aws:" + pb.PermissionsBoundaryArn, Detail: "permissions boundary"}}})
}

func (b *builder) user(u gen.User, acct string) {
	attrs := b.common(u.Arn, u.UserID, u.Path, u.CreateDate)
	tags(attrs, u.Tags)
	b.node(graph.Node{ID: "aws:" + u.Arn, Kind: graph.NodeUser, Name: u.UserName, Attrs: attrs})
	for _, g := range u.GroupList {
		b.members = append(b.members, [2]string{u.Arn, g})
	}
	b.inline(u.Arn, u.UserPolicyList)
	b.attached(u.Arn, u.AttachedManagedPolicies)
	b.boundary(u.Arn, u.PermissionsBoundary)
}

func (b *builder) group(g gen.Group) {
	b.node(graph.Node{ID: "aws:" + g.Arn, Kind: graph.NodeGroup, Name: g.GroupName, Attrs: b.common(g.Arn, g.GroupID, g.Path, g.CreateDate)})
	if b.groups == nil {
		b.groups = map[string]string{}
	}
	b.groups[g.GroupName] = g.Arn
	b.inline(g.Arn, g.GroupPolicyList)
	b.attached(g.Arn, g.AttachedManagedPolicies)
}

func (b *builder) role(r gen.Role) {
	attrs := b.common(r.Arn, r.RoleID, r.Path, r.CreateDate)
	attrs["trust_policy"] = r.AssumeRolePolicyDocument.Compact()
	if d := date(r.RoleLastUsed.LastUsedDate); d != "" {
		attrs["last_used"] = d
	}
	if strings.HasPrefix(r.Path, "/aws-service-role/") {
		attrs["service_linked"] = "true"
	}
	tags(attrs, r.Tags)
	b.node(graph.Node{ID: "aws:" + r.Arn, Kind: graph.NodeRole, Name: r.RoleName, Attrs: attrs})
	b.inline(r.Arn, r.RolePolicyList)
	b.attached(r.Arn, r.AttachedManagedPolicies)
	b.boundary(r.Arn, r.PermissionsBoundary)
}

func (b *builder) policy(p gen.ManagedPolicy) {
	attrs := map[string]string{"arn": p.Arn, "unique_id": p.PolicyID, "path": p.Path, "default_version": p.DefaultVersionID}
	if d := p.DefaultDocument(); d != nil {
		attrs["document"] = d.Compact()
	} else {
		attrs["missing_document"] = "true"
	}
	if strings.HasPrefix(p.Arn, "arn:aws:iam::aws:") {
		attrs["aws_managed"] = "true"
	}
	if d := date(p.UpdateDate); d != "" {
		attrs["updated"] = d
	}
	b.node(graph.Node{ID: "aws:" + p.Arn, Kind: graph.NodePolicy, Name: p.PolicyName, Attrs: attrs})
}
