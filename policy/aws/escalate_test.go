package aws

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"permgraph/graph"
)

func hasEdge(g *graph.SourceGraph, from string, kind graph.EdgeKind, to string) (graph.Edge, bool) {
	e, ok := g.Edges[graph.EdgeKey{From: from, Kind: kind, To: to}]
	return e, ok
}

// TestEscalationEdges: one fixture account per edge kind where the edge must
// appear, and a near miss where it must not.
func TestEscalationEdges(t *testing.T) {
	capID := DeployCapabilityID(fxAccount)
	passAndRun := func(actions, passResource, svc string) string {
		return `{"Statement":[{"Effect":"Allow","Action":` + actions + `,"Resource":"*"},` +
			`{"Effect":"Allow","Action":"iam:PassRole","Resource":"` + passResource + `","Condition":{"StringEquals":{"iam:PassedToService":"` + svc + `"}}}]}`
	}
	type tc struct {
		name  string
		build func(f *fixture) (from string, kind graph.EdgeKind, to string)
		want  bool
	}
	var tests []tc
	add := func(name string, want bool, build func(f *fixture) (string, graph.EdgeKind, string)) {
		tests = append(tests, tc{name, build, want})
	}
	// Credentials of another user.
	for _, act := range []string{"iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"} {
		act := act
		add(act+" on target user", true, func(f *fixture) (string, graph.EdgeKind, string) {
			u := f.user("target")
			return f.user("attacker", allow(`"`+act+`"`, fxARN("user", "target"))), graph.EdgeCanCreateKey, u
		})
		add(act+" on another user (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
			u := f.user("target")
			f.user("other")
			return f.user("attacker", allow(`"`+act+`"`, fxARN("user", "other"))), graph.EdgeCanCreateKey, u
		})
	}
	add("UpdateAssumeRolePolicy", true, func(f *fixture) (string, graph.EdgeKind, string) {
		r := f.role("admin", trustService("ec2.amazonaws.com"))
		return f.user("attacker", allow(`"iam:UpdateAssumeRolePolicy"`, fxARN("role", "admin"))), graph.EdgeCanUpdateTrust, r
	})
	add("UpdateAssumeRolePolicy with explicit deny (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		r := f.role("admin", trustService("ec2.amazonaws.com"))
		return f.user("attacker", allow(`"iam:*"`, "*"), `{"Statement":[{"Effect":"Deny","Action":"iam:UpdateAssumeRolePolicy","Resource":"*"},{"Effect":"Deny","Action":["iam:Put*","iam:Attach*","iam:CreatePolicyVersion","iam:SetDefaultPolicyVersion"],"Resource":"*"}]}`), graph.EdgeCanUpdateTrust, r
	})
	add("AddUserToGroup", true, func(f *fixture) (string, graph.EdgeKind, string) {
		g := f.group("deployers", nil, allow(`"*"`, "*"))
		return f.user("attacker", allow(`"iam:AddUserToGroup"`, fxARN("group", "deployers"))), graph.EdgeCanAddMember, g
	})
	add("AddUserToGroup on another group (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		g := f.group("deployers", nil)
		f.group("readers", nil)
		return f.user("attacker", allow(`"iam:AddUserToGroup"`, fxARN("group", "readers"))), graph.EdgeCanAddMember, g
	})
	// PassRole + compute, one per service.
	compute := []struct{ name, svc, actions string }{
		{"ECS task-role override", "ecs-tasks.amazonaws.com", `["ecs:RunTask"]`},
		{"ECS create service", "ecs-tasks.amazonaws.com", `["ecs:RegisterTaskDefinition","ecs:CreateService"]`},
		{"Lambda create+invoke", "lambda.amazonaws.com", `["lambda:CreateFunction","lambda:InvokeFunction"]`},
		{"EC2", "ec2.amazonaws.com", `["ec2:RunInstances"]`},
		{"CodeBuild", "codebuild.amazonaws.com", `["codebuild:CreateProject","codebuild:StartBuild"]`},
		{"Glue", "glue.amazonaws.com", `["glue:CreateDevEndpoint"]`},
		{"CloudFormation", "cloudformation.amazonaws.com", `["cloudformation:CreateStack"]`},
		{"SageMaker", "sagemaker.amazonaws.com", `["sagemaker:CreateTrainingJob"]`},
		{"App Runner", "tasks.apprunner.amazonaws.com", `["apprunner:CreateService"]`},
	}
	for _, c := range compute {
		c := c
		add("PassRole+"+c.name, true, func(f *fixture) (string, graph.EdgeKind, string) {
			r := f.role("target", trustService(c.svc))
			return f.user("attacker", passAndRun(c.actions, fxARN("role", "target"), c.svc)), graph.EdgeCanPassRole, r
		})
		add("PassRole+"+c.name+" PassRole resource mismatch (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
			r := f.role("target", trustService(c.svc))
			return f.user("attacker", passAndRun(c.actions, fxARN("role", "other"), c.svc)), graph.EdgeCanPassRole, r
		})
		add("PassRole+"+c.name+" role trusts another service (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
			r := f.role("target", trustService("states.amazonaws.com"))
			return f.user("attacker", passAndRun(c.actions, fxARN("role", "target"), c.svc)), graph.EdgeCanPassRole, r
		})
	}
	add("PassRole+ECS blocked by boundary (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		r := f.role("target", trustService("ecs-tasks.amazonaws.com"))
		a := f.user("attacker", passAndRun(`["ecs:RunTask"]`, fxARN("role", "target"), "ecs-tasks.amazonaws.com"))
		f.boundary(a, allow(`"iam:PassRole"`, "*"))
		return a, graph.EdgeCanPassRole, r
	})
	add("PassRole to lambda only, role trusts ECS (near miss on PassedToService)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		r := f.role("target", trustService("ecs-tasks.amazonaws.com"))
		return f.user("attacker", passAndRun(`["ecs:RunTask"]`, fxARN("role", "target"), "lambda.amazonaws.com")), graph.EdgeCanPassRole, r
	})
	// Self-escalation by rewriting policies.
	add("PutUserPolicy on self", true, func(f *fixture) (string, graph.EdgeKind, string) {
		return f.user("attacker", allow(`"iam:PutUserPolicy"`, fxARN("user", "attacker"))), graph.EdgeCanAttachPolicy, capID
	})
	add("PutUserPolicy on another user (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		f.user("other")
		return f.user("attacker", allow(`"iam:PutUserPolicy"`, fxARN("user", "other"))), graph.EdgeCanAttachPolicy, capID
	})
	add("AttachGroupPolicy on own group", true, func(f *fixture) (string, graph.EdgeKind, string) {
		a := f.user("attacker", allow(`"iam:AttachGroupPolicy"`, fxARN("group", "mine")))
		f.group("mine", []string{a})
		return a, graph.EdgeCanAttachPolicy, capID
	})
	add("AttachGroupPolicy on a group it is not in (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		a := f.user("attacker", allow(`"iam:AttachGroupPolicy"`, fxARN("group", "theirs")))
		f.group("theirs", nil)
		return a, graph.EdgeCanAttachPolicy, capID
	})
	add("AttachRolePolicy on a role it can assume", true, func(f *fixture) (string, graph.EdgeKind, string) {
		f.role("ops", trustAccount)
		return f.user("attacker", `{"Statement":[{"Effect":"Allow","Action":["iam:AttachRolePolicy","sts:AssumeRole"],"Resource":"`+fxARN("role", "ops")+`"}]}`), graph.EdgeCanAttachPolicy, capID
	})
	add("AttachRolePolicy on a role it cannot assume (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		f.role("ops", trustService("ec2.amazonaws.com"))
		return f.user("attacker", allow(`["iam:AttachRolePolicy","sts:AssumeRole"]`, fxARN("role", "ops"))), graph.EdgeCanAttachPolicy, capID
	})
	for _, act := range []string{"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"} {
		act := act
		add(act+" on own customer-managed policy", true, func(f *fixture) (string, graph.EdgeKind, string) {
			a := f.user("attacker")
			f.managed("AttackerPolicy", allow(`"`+act+`"`, fxARN("policy", "AttackerPolicy")), false, a)
			return a, graph.EdgeCanEditPolicy, capID
		})
		add(act+" on a policy not attached to it (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
			a := f.user("attacker", allow(`"`+act+`"`, fxARN("policy", "Other")))
			f.managed("Other", allow(`"s3:GetObject"`, "*"), false, f.user("someone"))
			return a, graph.EdgeCanEditPolicy, capID
		})
	}
	add("EKS access entry", true, func(f *fixture) (string, graph.EdgeKind, string) {
		return f.user("attacker", allow(`["eks:CreateAccessEntry","eks:AssociateAccessPolicy"]`, "*")), graph.EdgeCanAssignRole, capID
	})
	add("EKS CreateAccessEntry alone (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		return f.user("attacker", allow(`["eks:CreateAccessEntry"]`, "*")), graph.EdgeCanAssignRole, capID
	})
	add("ECR image push", true, func(f *fixture) (string, graph.EdgeKind, string) {
		return f.user("attacker", allow(`["ecr:GetAuthorizationToken","ecr:InitiateLayerUpload","ecr:UploadLayerPart","ecr:CompleteLayerUpload","ecr:PutImage"]`, "*")), graph.EdgeCanPushImage, capID
	})
	add("ECR read-only (near miss)", false, func(f *fixture) (string, graph.EdgeKind, string) {
		return f.user("attacker", allow(`["ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]`, "*")), graph.EdgeCanPushImage, capID
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			from, kind, to := tt.build(f)
			g := f.derive()
			e, ok := hasEdge(g, from, kind, to)
			if ok != tt.want {
				t.Fatalf("edge %s -%s-> %s present=%v, want %v", from, kind, to, ok, tt.want)
			}
			if ok && (len(e.Evidence) == 0 || e.Attrs["technique"] == "") {
				t.Fatalf("escalation edge without evidence: %+v", e)
			}
		})
	}
}

func TestEscalationIndirectImagePush(t *testing.T) {
	f := newFixture(t)
	a := f.user("attacker", allow(`["ecr:*"]`, "*"))
	g := f.derive()
	e, ok := hasEdge(g, a, graph.EdgeCanPushImage, DeployCapabilityID(fxAccount))
	if !ok || e.Attrs["indirect"] != "true" {
		t.Fatalf("image push edge should be marked indirect: %+v %v", e, ok)
	}
}

func TestSelfAdminGetsNoPrincipalEdges(t *testing.T) {
	f := newFixture(t)
	a := f.user("admin", allow(`"*"`, "*"))
	u := f.user("victim")
	g := f.derive()
	if _, ok := hasEdge(g, a, graph.EdgeCanCreateKey, u); ok {
		t.Fatal("a principal that can rewrite its own policy should not get principal-to-principal edges")
	}
	if _, ok := hasEdge(g, a, graph.EdgeCanAttachPolicy, DeployCapabilityID(fxAccount)); !ok {
		t.Fatal("admin should self-escalate")
	}
}

func TestDeriveStopsOnCancel(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 50; i++ {
		f.user(fmt.Sprintf("u%d", i), allow(`"*"`, "*"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Derive(ctx, f.g, mustDeploy(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Derive on a cancelled context: err = %v, want context.Canceled", err)
	}
}
