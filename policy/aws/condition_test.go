package aws

import (
	"strings"
	"testing"

	"permgraph/graph"
)

func TestConditions(t *testing.T) {
	alice := graph.Node{ID: "aws:arn:aws:iam::111122223333:user/alice", Kind: graph.NodeUser, Name: "alice",
		Attrs: map[string]string{"arn": "arn:aws:iam::111122223333:user/alice", "tag:team": "platform"}}
	role := graph.Node{ID: "aws:arn:aws:iam::111122223333:role/ci", Kind: graph.NodeRole, Name: "ci",
		Attrs: map[string]string{"arn": "arn:aws:iam::111122223333:role/ci"}}
	stmt := func(cond string) string {
		return `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + cond + `}]}`
	}
	passTo := func(svc string) map[string]string { return WithVar(Vars(alice), "iam:PassedToService", svc) }
	tests := []struct {
		rule, name string
		policy     string
		vars       map[string]string
		want       Decision
		wantCond   bool
		wantText   string
	}{
		{"PassedToService", "StringEquals matches", stmt(`{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}`), passTo("ecs-tasks.amazonaws.com"), Allowed, false, ""},
		{"PassedToService", "StringEquals other service", stmt(`{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}`), passTo("lambda.amazonaws.com"), ImplicitDeny, false, ""},
		{"PassedToService", "StringLike list", stmt(`{"StringLike":{"iam:PassedToService":["lambda.amazonaws.com","ecs-tasks.*"]}}`), passTo("ecs-tasks.amazonaws.com"), Allowed, false, ""},
		{"PassedToService", "key name case-insensitive", stmt(`{"StringEquals":{"IAM:passedToService":"ecs-tasks.amazonaws.com"}}`), passTo("ecs-tasks.amazonaws.com"), Allowed, false, ""},
		{"PassedToService", "value case-sensitive", stmt(`{"StringEquals":{"iam:PassedToService":"ECS-TASKS.amazonaws.com"}}`), passTo("ecs-tasks.amazonaws.com"), ImplicitDeny, false, ""},
		{"PassedToService", "IgnoreCase operator", stmt(`{"StringEqualsIgnoreCase":{"iam:PassedToService":"ECS-TASKS.amazonaws.com"}}`), passTo("ecs-tasks.amazonaws.com"), Allowed, false, ""},
		{"PassedToService", "unknown outside PassRole", stmt(`{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}`), Vars(alice), Allowed, true, "iam:PassedToService"},
		{"PrincipalArn", "ArnLike matches", stmt(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}`), Vars(alice), Allowed, false, ""},
		{"PrincipalArn", "ArnNotLike excludes", stmt(`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}`), Vars(alice), ImplicitDeny, false, ""},
		{"PrincipalArn", "StringNotEquals other", stmt(`{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/bob"}}`), Vars(alice), Allowed, false, ""},
		{"PrincipalAccount", "equals", stmt(`{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}`), Vars(role), Allowed, false, ""},
		{"PrincipalTag", "tag matches", stmt(`{"StringEquals":{"aws:PrincipalTag/team":"platform"}}`), Vars(alice), Allowed, false, ""},
		{"PrincipalTag", "tag differs", stmt(`{"StringEquals":{"aws:PrincipalTag/team":"data"}}`), Vars(alice), ImplicitDeny, false, ""},
		{"PrincipalTag", "tag absent", stmt(`{"StringEquals":{"aws:PrincipalTag/owner":"x"}}`), Vars(alice), ImplicitDeny, false, ""},
		{"PrincipalTag", "absent with IfExists", stmt(`{"StringEqualsIfExists":{"aws:PrincipalTag/owner":"x"}}`), Vars(alice), Allowed, false, ""},
		{"PrincipalTag", "Null true on absent", stmt(`{"Null":{"aws:PrincipalTag/owner":"true"}}`), Vars(alice), Allowed, false, ""},
		{"PrincipalTag", "Null false on absent", stmt(`{"Null":{"aws:PrincipalTag/owner":"false"}}`), Vars(alice), ImplicitDeny, false, ""},
		{"PrincipalTag", "policy variable in value", stmt(`{"StringEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/team}"}}`), Vars(alice), Allowed, false, ""},
		{"request keys", "MFA stays conditional", stmt(`{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`), Vars(alice), Allowed, true, "aws:MultiFactorAuthPresent"},
		{"request keys", "RequestedRegion stays conditional", stmt(`{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}`), Vars(alice), Allowed, true, "aws:RequestedRegion"},
		{"request keys", "known false beats unknown", stmt(`{"StringEquals":{"aws:PrincipalTag/team":"data"},"Bool":{"aws:SecureTransport":"true"}}`), Vars(alice), ImplicitDeny, false, ""},
		{"request keys", "known true leaves only unknown part", stmt(`{"StringEquals":{"aws:PrincipalTag/team":"platform"},"Bool":{"aws:SecureTransport":"true"}}`), Vars(alice), Allowed, true, "aws:SecureTransport"},
		{"request keys", "numeric operators are not guessed", stmt(`{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}`), Vars(alice), Allowed, true, "NumericLessThan"},
		{"ForAnyValue", "set operator on single value", stmt(`{"ForAnyValue:StringEquals":{"aws:PrincipalTag/team":["x","platform"]}}`), Vars(alice), Allowed, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			pp := &PrincipalPolicies{Identity: []Policy{pol(t, "p", tt.policy)}}
			got := Evaluate(pp, Request{Action: "iam:PassRole", Resource: "arn:aws:iam::111122223333:role/x", Vars: tt.vars})
			if got.Decision != tt.want || (got.Decision == Allowed && got.Conditional != tt.wantCond) {
				t.Fatalf("got %s conditional=%v, want %s conditional=%v (%s)", got.Decision, got.Conditional, tt.want, tt.wantCond, got.Explain())
			}
			if tt.wantText != "" && !strings.Contains(strings.Join(got.Conditions, " "), tt.wantText) {
				t.Fatalf("conditions %q do not show %q", got.Conditions, tt.wantText)
			}
		})
	}
}

func TestConditionalDenyKnownFalse(t *testing.T) {
	// A Deny whose condition is known not to hold does not apply at all.
	alice := graph.Node{ID: "a", Kind: graph.NodeUser, Name: "alice", Attrs: map[string]string{"arn": "arn:aws:iam::111122223333:user/alice", "tag:team": "platform"}}
	pp := &PrincipalPolicies{Identity: []Policy{
		pol(t, "allow", allowRunTask),
		pol(t, "deny", `{"Statement":[{"Effect":"Deny","Action":"ecs:*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"platform"}}}]}`),
	}}
	got := Evaluate(pp, Request{Action: "ecs:RunTask", Vars: Vars(alice)})
	if got.Decision != Allowed || got.Conditional {
		t.Fatalf("platform member: %s", got.Explain())
	}
	alice.Attrs["tag:team"] = "data"
	got = Evaluate(pp, Request{Action: "ecs:RunTask", Vars: Vars(alice)})
	if got.Decision != ExplicitDeny {
		t.Fatalf("data member: want explicit deny, got %s", got.Explain())
	}
}

func FuzzCondition(f *testing.F) {
	f.Add(`{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}`, "iam:passedtoservice", "ecs-tasks.amazonaws.com")
	f.Add(`{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*"]}}`, "aws:tagkeys", "ab")
	f.Add(`{"Null":{"aws:PrincipalTag/x":"true"}}`, "aws:principaltag/*", "")
	f.Fuzz(func(t *testing.T, cond, key, value string) {
		d, err := Parse(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + cond + `}]}`)
		if err != nil {
			return
		}
		vars := map[string]string{strings.ToLower(key): value}
		holds, rest := evalCondition(d.Statement[0].Condition, vars)
		if holds == triMaybe && len(rest) == 0 {
			t.Fatalf("undecided condition with nothing left to show: %s", cond)
		}
		if holds != triMaybe && rest != nil {
			t.Fatalf("decided condition with leftovers: %s", cond)
		}
	})
}
