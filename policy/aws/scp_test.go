package aws

import (
	"context"
	"testing"

	"permgraph/graph"
)

// orgFixture builds an Organizations source: root -> OU "workloads" ->
// OU "prod" -> account 111122223333, plus a management account.
type orgFixture struct {
	f *fixture
	g *graph.SourceGraph
}

func newOrg(f *fixture, scpEnabled bool) *orgFixture {
	o := &orgFixture{f: f, g: graph.NewSourceGraph("aws-org:o-test")}
	enabled := "true"
	if !scpEnabled {
		enabled = "false"
	}
	f.must(o.g.AddNode(graph.Node{ID: "aws:orgroot:r-1", Kind: graph.NodeScope, Name: "Root", Attrs: map[string]string{"type": "root", "org": "o-test", "scp_enabled": enabled}}))
	f.must(o.g.AddNode(graph.Node{ID: "aws:ou:ou-w", Kind: graph.NodeScope, Name: "workloads", Attrs: map[string]string{"type": "ou", "org": "o-test", "parent": "aws:orgroot:r-1"}}))
	f.must(o.g.AddNode(graph.Node{ID: "aws:ou:ou-p", Kind: graph.NodeScope, Name: "prod", Attrs: map[string]string{"type": "ou", "org": "o-test", "parent": "aws:ou:ou-w"}}))
	f.must(o.g.AddNode(graph.Node{ID: "aws:account:" + fxAccount, Kind: graph.NodeAccount, Name: "prod-app", Attrs: map[string]string{"account": fxAccount, "org": "o-test", "parent": "aws:ou:ou-p"}}))
	return o
}

func (o *orgFixture) scp(id, at, doc string) {
	pid := "aws:scp:" + id
	if _, ok := o.g.Nodes[pid]; !ok {
		o.f.must(o.g.AddNode(graph.Node{ID: pid, Kind: graph.NodePolicy, Name: id, Attrs: map[string]string{"document": doc, "policy_type": "SERVICE_CONTROL_POLICY"}}))
	}
	o.f.must(o.g.AddEdge(graph.Edge{From: at, Kind: graph.EdgeHasPolicy, To: pid, Evidence: []graph.Evidence{{Source: pid}}}))
}

const fullAccess = `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

func TestSCPEvaluation(t *testing.T) {
	root, ou, prod, acct := "aws:orgroot:r-1", "aws:ou:ou-w", "aws:ou:ou-p", "aws:account:"+fxAccount
	tests := []struct {
		rule, name string
		scps       func(o *orgFixture)
		enabled    bool
		principal  func(f *fixture) string
		req        Request
		want       Decision
		wantCond   bool
	}{
		{"SCP every level allows", "FullAWSAccess everywhere", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
		}, true, nil, Request{Action: "ecs:RunTask"}, Allowed, false},
		{"SCP every level must allow", "OU without an allowing SCP", func(o *orgFixture) {
			for _, at := range []string{root, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("s3only", ou, allow(`"s3:*"`, "*"))
		}, true, nil, Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"SCP every level must allow", "allowed at every level by different SCPs", func(o *orgFixture) {
			for _, at := range []string{root, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("ecsonly", ou, allow(`"ecs:*"`, "*"))
		}, true, nil, Request{Action: "ecs:RunTask"}, Allowed, false},
		{"SCP explicit deny wins", "deny ECS at prod OU", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("noecs", prod, `{"Statement":[{"Effect":"Deny","Action":"ecs:*","Resource":"*"}]}`)
		}, true, nil, Request{Action: "ecs:RunTask"}, ExplicitDeny, false},
		{"SCP NotAction deny", "deny everything except listed", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("lock", root, `{"Statement":[{"Effect":"Deny","NotAction":["s3:*","iam:*"],"Resource":"*"}]}`)
		}, true, nil, Request{Action: "ecs:RunTask"}, ExplicitDeny, false},
		{"SCP NotAction deny", "listed action passes", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("lock", root, `{"Statement":[{"Effect":"Deny","NotAction":["ecs:*","iam:*"],"Resource":"*"}]}`)
		}, true, nil, Request{Action: "ecs:RunTask"}, Allowed, false},
		{"SCP conditional deny", "region lock depends on request", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("region", root, `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}`)
		}, true, nil, Request{Action: "ecs:RunTask"}, Allowed, true},
		{"SCP never grants", "SCP allows but identity does not", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
		}, true, func(f *fixture) string { return f.user("nobody") }, Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"SCPs disabled", "deny SCP ignored when SCPs are off", func(o *orgFixture) {
			o.scp("noecs", root, `{"Statement":[{"Effect":"Deny","Action":"ecs:*","Resource":"*"}]}`)
		}, false, nil, Request{Action: "ecs:RunTask"}, Allowed, false},
		{"SCP and boundary", "both must allow: boundary blocks", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
		}, true, func(f *fixture) string {
			u := f.user("bounded", allow(`"ecs:*"`, "*"))
			f.boundary(u, allow(`"s3:*"`, "*"))
			return u
		}, Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"SCP and boundary", "boundary allows, SCP denies", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("noecs", acct, `{"Statement":[{"Effect":"Deny","Action":"ecs:RunTask","Resource":"*"}]}`)
		}, true, func(f *fixture) string {
			u := f.user("bounded", allow(`"ecs:*"`, "*"))
			f.boundary(u, allow(`"ecs:*"`, "*"))
			return u
		}, Request{Action: "ecs:RunTask"}, ExplicitDeny, false},
		{"SCPs skip service-linked roles", "deny SCP does not bind a service-linked role", func(o *orgFixture) {
			for _, at := range []string{root, ou, prod, acct} {
				o.scp("full", at, fullAccess)
			}
			o.scp("noecs", root, `{"Statement":[{"Effect":"Deny","Action":"ecs:*","Resource":"*"}]}`)
		}, true, func(f *fixture) string {
			id := f.role("AWSServiceRoleForECS", trustService("ecs.amazonaws.com"), allow(`"ecs:*"`, "*"))
			n := f.g.Nodes[id]
			n.Attrs["service_linked"] = "true"
			f.g.Nodes[id] = n
			return id
		}, Request{Action: "ecs:RunTask"}, Allowed, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			f := newFixture(t)
			o := newOrg(f, tt.enabled)
			tt.scps(o)
			var id string
			if tt.principal != nil {
				id = tt.principal(f)
			} else {
				id = f.user("dev", allow(`"ecs:*"`, "*"))
			}
			r := NewResolver(newMultiGraph(f.g, o.g))
			n := f.g.Nodes[id]
			req := tt.req
			req.Vars = Vars(n)
			got := Evaluate(r.PrincipalPolicies(id), req)
			if got.Decision != tt.want || (got.Decision == Allowed && got.Conditional != tt.wantCond) {
				t.Fatalf("got %s conditional=%v, want %s conditional=%v: %s", got.Decision, got.Conditional, tt.want, tt.wantCond, got.Explain())
			}
		})
	}
}

func TestManagementAccountIgnoresSCPs(t *testing.T) {
	f := newFixture(t)
	o := newOrg(f, true)
	n := o.g.Nodes["aws:account:"+fxAccount]
	n.Attrs["management"] = "true"
	o.scp("noecs", "aws:orgroot:r-1", `{"Statement":[{"Effect":"Deny","Action":"ecs:*","Resource":"*"}]}`)
	id := f.user("dev", allow(`"ecs:*"`, "*"))
	r := NewResolver(newMultiGraph(f.g, o.g))
	got := Evaluate(r.PrincipalPolicies(id), Request{Action: "ecs:RunTask", Vars: Vars(f.g.Nodes[id])})
	if got.Decision != Allowed {
		t.Fatalf("management account must ignore SCPs: %s", got.Explain())
	}
}

func TestDeriveAppliesSCPs(t *testing.T) {
	f := newFixture(t)
	o := newOrg(f, true)
	for _, at := range []string{"aws:orgroot:r-1", "aws:ou:ou-w", "aws:ou:ou-p", "aws:account:" + fxAccount} {
		o.scp("full", at, fullAccess)
	}
	o.scp("noecs", "aws:ou:ou-p", `{"Statement":[{"Effect":"Deny","Action":["ecs:*","lambda:*","apprunner:*","batch:*"],"Resource":"*"}]}`)
	f.role("task", trustService("ecs-tasks.amazonaws.com"))
	u := f.user("dev", allow(`"*"`, "*"))
	d := mustDeploy(t)
	if err := Derive(context.Background(), f.g, d, o.g); err != nil {
		t.Fatal(err)
	}
	if _, ok := hasEdge(f.g, u, graph.EdgeCan, DeployCapabilityID(fxAccount)); ok {
		t.Fatal("an SCP denying every deploy service must remove the Can edge")
	}
}

func TestSelfEscalationRespectsSCPs(t *testing.T) {
	f := newFixture(t)
	o := newOrg(f, true)
	for _, at := range []string{"aws:orgroot:r-1", "aws:ou:ou-w", "aws:ou:ou-p", "aws:account:" + fxAccount} {
		o.scp("full", at, fullAccess)
	}
	o.scp("noecs", "aws:ou:ou-p", `{"Statement":[{"Effect":"Deny","Action":["ecs:*","lambda:*","apprunner:*","batch:*"],"Resource":"*"}]}`)
	f.role("task", trustService("ecs-tasks.amazonaws.com"))
	u := f.user("dev", allow(`"iam:PutUserPolicy"`, fxARN("user", "dev")))
	if err := Derive(context.Background(), f.g, mustDeploy(t), o.g); err != nil {
		t.Fatal(err)
	}
	if _, ok := hasEdge(f.g, u, graph.EdgeCanAttachPolicy, DeployCapabilityID(fxAccount)); ok {
		t.Fatal("rewriting its own policy cannot beat an SCP that denies every deploy service")
	}
}

func TestCrossAccountTrustResolved(t *testing.T) {
	// Account 111122223333 has a role trusting account 444455556666; that
	// account is in the same run, so the trust resolves to its principals
	// whose own policies allow sts:AssumeRole on the role.
	f := newFixture(t)
	target := f.role("Deploy", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole"}]}`, allow(`"ecs:*"`, "*"))
	other := graph.NewSourceGraph("aws:444455556666")
	addUser := func(name, doc string) string {
		arn := "arn:aws:iam::444455556666:user/" + name
		id := "aws:" + arn
		f.must(other.AddNode(graph.Node{ID: id, Kind: graph.NodeUser, Name: name, Attrs: map[string]string{"arn": arn}}))
		if doc != "" {
			pid := id + "#inline/p"
			f.must(other.AddNode(graph.Node{ID: pid, Kind: graph.NodePolicy, Name: "p", Attrs: map[string]string{"document": doc, "inline": "true"}}))
			f.must(other.AddEdge(graph.Edge{From: id, Kind: graph.EdgeHasPolicy, To: pid, Evidence: []graph.Evidence{{Source: pid}}}))
		}
		return id
	}
	yes := addUser("ops", allow(`"sts:AssumeRole"`, fxARN("role", "Deploy")))
	no := addUser("dev", allow(`"s3:*"`, "*"))
	if err := Derive(context.Background(), f.g, mustDeploy(t), other); err != nil {
		t.Fatal(err)
	}
	if e, ok := hasEdge(f.g, yes, graph.EdgeCanAssume, target); !ok || e.Attrs["cross_account"] != "444455556666" {
		t.Fatalf("ops should assume Deploy across accounts: %+v %v", e, ok)
	}
	if _, ok := hasEdge(f.g, no, graph.EdgeCanAssume, target); ok {
		t.Fatal("dev has no sts:AssumeRole allow and must not assume Deploy")
	}
	if _, ok := hasEdge(f.g, "aws:account:444455556666", graph.EdgeCanAssume, target); ok {
		t.Fatal("a collected account resolves to principals, not to the account node")
	}
}
