package aws

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, text string) *Document {
	t.Helper()
	d, err := Parse(text)
	if err != nil {
		t.Fatalf("parse %s: %v", text, err)
	}
	return d
}

func pol(t *testing.T, name, text string) Policy {
	return Policy{ID: "aws:" + name, Name: name, Via: "inline", Doc: mustParse(t, text)}
}

const (
	allowRunTask  = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:RunTask","Resource":"*"}}`
	allowEcsStar  = `{"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`
	denyRunTask   = `{"Statement":[{"Effect":"Deny","Action":"ecs:RunTask","Resource":"*"}]}`
	denyEcsStar   = `{"Statement":[{"Effect":"Deny","Action":"ECS:*","Resource":"*"}]}`
	allowCondMFA  = `{"Statement":[{"Effect":"Allow","Action":"ecs:RunTask","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`
	denyCondIP    = `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	allowNotIAM   = `{"Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"*"}]}`
	allowTaskDef  = `{"Statement":[{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:ecs:us-east-1:111122223333:task-definition/app:*"}]}`
	allowNotRes   = `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}]}`
	denyNotRes    = `{"Statement":[{"Effect":"Deny","Action":"s3:GetObject","NotResource":"arn:aws:s3:::public/*"}]}`
	allowS3Star   = `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	allowHome     = `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`
	allowHomeUnk  = `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:PrincipalTag/team}/*"}]}`
	boundaryECS   = `{"Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`
	boundaryS3    = `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	allowWildQ    = `{"Statement":[{"Effect":"Allow","Action":"ecs:?unTask","Resource":"*"}]}`
	allowPassApp  = `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app/*"}]}`
	allowDenyS3   = `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"arn:aws:s3:::prod"}]}`
	denyNotECS    = `{"Statement":[{"Effect":"Deny","NotAction":["ecs:*"],"Resource":"*"}]}`
	denyNotIAMRes = `{"Statement":[{"Effect":"Deny","NotAction":"iam:Get*","NotResource":"arn:aws:iam::111122223333:role/public"}]}`
	allowTaskOnly = `{"Statement":[{"Effect":"Allow","Action":"ecs:RunTask","Resource":"arn:aws:s3:::not-ecs"}]}`
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		rule, name string
		identity   []string
		boundary   string
		req        Request
		want       Decision
		wantCond   bool
	}{
		{"default implicit deny", "no policies", nil, "", Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"default implicit deny", "other action", []string{allowRunTask}, "", Request{Action: "ecs:StopTask"}, ImplicitDeny, false},
		{"allow", "exact action", []string{allowRunTask}, "", Request{Action: "ecs:RunTask"}, Allowed, false},
		{"action case-insensitive", "lower-case request", []string{allowRunTask}, "", Request{Action: "ECS:runtask"}, Allowed, false},
		{"action wildcard *", "service star", []string{allowEcsStar}, "", Request{Action: "ecs:CreateService"}, Allowed, false},
		{"action wildcard ?", "single char", []string{allowWildQ}, "", Request{Action: "ecs:RunTask"}, Allowed, false},
		{"explicit deny wins", "deny same policy set", []string{allowEcsStar, denyRunTask}, "", Request{Action: "ecs:RunTask"}, ExplicitDeny, false},
		{"explicit deny wins", "deny wildcard upper-case", []string{allowEcsStar, denyEcsStar}, "", Request{Action: "ecs:RunTask"}, ExplicitDeny, false},
		{"explicit deny wins", "deny other action leaves allow", []string{allowEcsStar, denyRunTask}, "", Request{Action: "ecs:StartTask"}, Allowed, false},
		{"conditions marked", "conditional allow", []string{allowCondMFA}, "", Request{Action: "ecs:RunTask"}, Allowed, true},
		{"conditions marked", "unconditional allow beats conditional", []string{allowCondMFA, allowRunTask}, "", Request{Action: "ecs:RunTask"}, Allowed, false},
		{"conditions marked", "conditional deny makes allow conditional", []string{allowRunTask, denyCondIP}, "", Request{Action: "ecs:RunTask"}, Allowed, true},
		{"conditions marked", "conditional deny alone still denies implicitly", []string{denyCondIP}, "", Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"NotAction", "allow everything but iam", []string{allowNotIAM}, "", Request{Action: "ecs:RunTask"}, Allowed, false},
		{"NotAction", "excluded action not granted", []string{allowNotIAM}, "", Request{Action: "iam:PassRole", Resource: "arn:aws:iam::111122223333:role/x"}, ImplicitDeny, false},
		{"NotAction+Deny", "deny all but ECS leaves ECS", []string{allowEcsStar, denyNotECS}, "", Request{Action: "ecs:RunTask"}, Allowed, false},
		{"NotAction+Deny", "deny all but ECS blocks S3", []string{allowS3Star, denyNotECS}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ExplicitDeny, false},
		{"NotAction+Deny", "NotAction with NotResource: excluded resource passes", []string{allowS3Star, denyNotIAMRes}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:iam::111122223333:role/public"}, Allowed, false},
		{"NotAction+Deny", "NotAction with NotResource: other resource denied", []string{allowS3Star, denyNotIAMRes}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ExplicitDeny, false},
		{"resource wildcard", "task definition family", []string{allowTaskDef}, "", Request{Action: "ecs:RunTask", Resource: "arn:aws:ecs:us-east-1:111122223333:task-definition/app:7"}, Allowed, false},
		{"resource wildcard", "other family", []string{allowTaskDef}, "", Request{Action: "ecs:RunTask", Resource: "arn:aws:ecs:us-east-1:111122223333:task-definition/web:7"}, ImplicitDeny, false},
		{"resource any", "scoped allow counts for some resource", []string{allowTaskDef}, "", Request{Action: "ecs:RunTask"}, Allowed, false},
		{"resource any", "other service ARN does not count", []string{allowTaskOnly}, "", Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"resource any", "scoped deny does not deny every resource", []string{allowDenyS3}, "", Request{Action: "s3:DeleteBucket"}, Allowed, false},
		{"resource exact deny", "scoped deny on its resource", []string{allowDenyS3}, "", Request{Action: "s3:DeleteBucket", Resource: "arn:aws:s3:::prod"}, ExplicitDeny, false},
		{"NotResource", "allow outside secret", []string{allowNotRes}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::data/x"}, Allowed, false},
		{"NotResource", "secret excluded", []string{allowNotRes}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::secret/x"}, ImplicitDeny, false},
		{"NotResource", "deny all but public", []string{allowS3Star, denyNotRes}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::private/x"}, ExplicitDeny, false},
		{"NotResource", "public stays allowed", []string{allowS3Star, denyNotRes}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::public/x"}, Allowed, false},
		{"policy variables", "known username", []string{allowHome}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/f", Vars: map[string]string{"aws:username": "alice"}}, Allowed, false},
		{"policy variables", "other user's home", []string{allowHome}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/bob/f", Vars: map[string]string{"aws:username": "alice"}}, ImplicitDeny, false},
		{"policy variables", "unknown variable is conditional", []string{allowHomeUnk}, "", Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/x/f"}, Allowed, true},
		{"boundary caps", "boundary allows too", []string{allowEcsStar}, boundaryECS, Request{Action: "ecs:RunTask"}, Allowed, false},
		{"boundary caps", "boundary does not allow", []string{allowEcsStar}, boundaryS3, Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"boundary never grants", "boundary alone", nil, boundaryECS, Request{Action: "ecs:RunTask"}, ImplicitDeny, false},
		{"PassRole resource", "path wildcard matches", []string{allowPassApp}, "", Request{Action: "iam:PassRole", Resource: "arn:aws:iam::111122223333:role/app/AppTaskRole"}, Allowed, false},
		{"PassRole resource", "other path", []string{allowPassApp}, "", Request{Action: "iam:PassRole", Resource: "arn:aws:iam::111122223333:role/admin/Admin"}, ImplicitDeny, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			pp := &PrincipalPolicies{}
			for i, text := range tt.identity {
				pp.Identity = append(pp.Identity, pol(t, "p"+string(rune('0'+i)), text))
			}
			if tt.boundary != "" {
				b := pol(t, "boundary", tt.boundary)
				pp.Boundary = &b
			}
			got := Evaluate(pp, tt.req)
			if got.Decision != tt.want || (got.Decision == Allowed && got.Conditional != tt.wantCond) {
				t.Fatalf("Evaluate = %s (conditional=%v), want %s (conditional=%v): %s", got.Decision, got.Conditional, tt.want, tt.wantCond, got.Explain())
			}
			if got.Decision == Allowed && len(got.Allow) == 0 {
				t.Fatalf("allowed without evidence")
			}
			if got.Conditional && len(got.Conditions) == 0 {
				t.Fatalf("conditional without condition text")
			}
		})
	}
}

func TestEvaluateTrust(t *testing.T) {
	const acct = "111122223333"
	alice := TrustPrincipal{Type: "AWS", Value: "arn:aws:iam::111122223333:user/alice", Account: acct}
	ext := TrustPrincipal{Type: "AWS", Value: "arn:aws:iam::444455556666:user/mallory", Account: "444455556666"}
	tests := []struct {
		name      string
		trust     string
		p         TrustPrincipal
		allowed   bool
		named     bool
		condition bool
	}{
		{"names principal ARN", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}`, alice, true, true, false},
		{"names account root delegates", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`, alice, true, false, false},
		{"names bare account id", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}`, alice, true, false, false},
		{"other account not trusted", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`, ext, false, false, false},
		{"cross-account trusted by account", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["444455556666"]},"Action":"sts:AssumeRole"}]}`, ext, true, false, false},
		{"star principal", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`, ext, true, true, false},
		{"deny in trust blocks", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:*"}]}`, alice, false, false, false},
		{"conditional trust", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}`, alice, true, false, true},
		{"wrong action", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:TagSession"}]}`, alice, false, false, false},
		{"service principal", `{"Statement":[{"Effect":"Allow","Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`, TrustPrincipal{Type: "Service", Value: "ecs-tasks.amazonaws.com"}, true, true, false},
		{"service not listed", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, TrustPrincipal{Type: "Service", Value: "ecs-tasks.amazonaws.com"}, false, false, false},
		{"SAML federation", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta"},"Action":"sts:AssumeRoleWithSAML"}]}`, TrustPrincipal{Type: "Federated", Value: "arn:aws:iam::111122223333:saml-provider/Okta"}, true, true, false},
		{"OIDC needs web identity action", `{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRole"}]}`, TrustPrincipal{Type: "Federated", Value: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EvaluateTrust(mustParse(t, tt.trust), "aws:role", tt.p)
			if got.Allowed != tt.allowed || (got.Allowed && (got.NamesPrincipal != tt.named || got.Conditional != tt.condition)) {
				t.Fatalf("got allowed=%v named=%v conditional=%v, want %v %v %v", got.Allowed, got.NamesPrincipal, got.Conditional, tt.allowed, tt.named, tt.condition)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}`, "Statement[0]: field Effect"},
		{`{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, "neither Action nor NotAction"},
		{`{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}]}`, "both Action and NotAction"},
		{`{"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}`, "field Action"},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Principal":"me"}]}`, "field Principal"},
		{`{"Statement":`, "parse policy"},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"k":{"x":1}}}}]}`, "Condition.StringEquals.k"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.doc)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) error = %v, want it to mention %q", tt.doc, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{allowRunTask, allowEcsStar, allowCondMFA, allowNotIAM, denyNotRes, allowHome,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["1","2"]},"Action":"sts:AssumeRole"}]}`, `{}`, `[]`, `{"Statement":{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, err := Parse(text)
		if err != nil {
			return
		}
		// Any parsed document must evaluate without panicking.
		pp := &PrincipalPolicies{Identity: []Policy{{ID: "p", Doc: d}}}
		_ = Evaluate(pp, Request{Action: "ecs:RunTask"})
		_ = Evaluate(pp, Request{Action: "iam:PassRole", Resource: "arn:aws:iam::1:role/x", Vars: map[string]string{"aws:username": "u"}})
		_ = EvaluateTrust(d, "r", TrustPrincipal{Type: "AWS", Value: "arn:aws:iam::1:user/u", Account: "1"})
	})
}
