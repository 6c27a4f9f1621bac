package gen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

type roleKind uint8

const (
	rkECSTask roleKind = iota
	rkLambda
	rkAppRunner
	rkEC2
	rkJump       // trusts the account root; may assume deploy roles
	rkDeploy     // trusts jump roles (a chain); deploys ECS tasks
	rkProdDeploy // trusts a deploy role (chain of three)
	rkAdmin      // trusts the account root, usually with MFA
	rkSAML       // federated SSO
	rkOIDC       // CI/CD via web identity
	rkCrossAccount
	rkServiceLinked
	rkWorkload // developer-created role under a permissions boundary
	numRoleKinds
)

var roleKindWeights = [numRoleKinds]int{
	rkECSTask: 18, rkLambda: 14, rkAppRunner: 3, rkEC2: 7, rkJump: 4, rkDeploy: 6, rkProdDeploy: 2, rkAdmin: 4,
	rkSAML: 10, rkOIDC: 3, rkCrossAccount: 5, rkServiceLinked: 10, rkWorkload: 14,
}

var fixedRoleKinds = []roleKind{rkECSTask, rkLambda, rkJump, rkDeploy, rkAppRunner, rkAdmin, rkSAML, rkProdDeploy, rkOIDC, rkCrossAccount, rkWorkload, rkServiceLinked}

func (o *Org) roleKind(r int) roleKind {
	if r < len(fixedRoleKinds) {
		return fixedRoleKinds[r]
	}
	k := roleKind(Weighted(unit(o.hash(domRoleKind, r)), roleKindWeights[:]))
	// Admin roles stay a few dozen whatever the size: a large organisation
	// does not have thousands of account-wide admin roles.
	if k == rkAdmin && capped(o.hash(domRoleKind, r, 2), o.cfg.Roles*roleKindWeights[rkAdmin]/100, 40) {
		k = rkSAML
	}
	return k
}

// roleTeam is the team owning role r.
func (o *Org) roleTeam(r int) int { return r % o.nTeams }

// rootTrusted reports whether jump role r trusts the whole account (the
// account root) rather than named team members; kept to ~30 roles.
func (o *Org) rootTrusted(r int) bool {
	return r < len(fixedRoleKinds) || !capped(o.hash(domRole, r, 21), o.cfg.Roles*roleKindWeights[rkJump]/100, 30)
}

var serviceLinked = []string{"ecs", "elasticloadbalancing", "autoscaling", "rds", "organizations", "support", "trustedadvisor", "sso", "config", "guardduty"}

func (o *Org) rolePathName(r int) (path, name string) {
	team, app, n := o.teamName(o.roleTeam(r)), o.app(domRole, r), strconv.Itoa(r)
	switch o.roleKind(r) {
	case rkECSTask:
		return "/ecs/", team + "-" + app + "-task-" + n
	case rkLambda:
		return "/lambda/", team + "-" + app + "-fn-" + n
	case rkAppRunner:
		return "/apprunner/", team + "-" + app + "-instance-" + n
	case rkEC2:
		return "/", team + "-ec2-" + app + "-" + n
	case rkJump:
		return "/jump/", "jump-" + team + "-" + n
	case rkDeploy:
		return "/deploy/", "deployer-" + team + "-" + n
	case rkProdDeploy:
		return "/deploy/prod/", "prod-deployer-" + team + "-" + n
	case rkAdmin:
		return "/admin/", "admin-" + team + "-" + n
	case rkSAML:
		return "/sso/", "sso-" + team + "-" + app + "-" + n
	case rkOIDC:
		return "/ci/", "github-actions-" + team + "-" + app + "-" + n
	case rkCrossAccount:
		return "/external/", "audit-" + team + "-" + n
	case rkServiceLinked:
		svc := serviceLinked[o.hash(domRole, r, 5)%uint64(len(serviceLinked))]
		return "/aws-service-role/" + svc + ".amazonaws.com/", "AWSServiceRoleFor" + strings.ToUpper(svc[:1]) + svc[1:] + "_" + n
	default:
		return "/app/", team + "-" + app + "-" + n
	}
}

func (o *Org) roleARN(r int) string {
	path, name := o.rolePathName(r)
	return o.arn("role", path, name)
}

// findTeamRole returns a role of kind k owned by team, from a
// pseudo-random start.
func (o *Org) findTeamRole(k roleKind, team int, h uint64) (int, bool) {
	per := (o.cfg.Roles - team + o.nTeams - 1) / o.nTeams
	if per <= 0 {
		return 0, false
	}
	start := int(h % uint64(per))
	for j := 0; j < per; j++ {
		r := team + ((start+j)%per)*o.nTeams
		if o.roleKind(r) == k {
			return r, true
		}
	}
	return 0, false
}

// findRoleBefore returns the skip-th nearest role of kind k with a lower
// index (so trust chains never loop), of the same team if there is one.
func (o *Org) findRoleBefore(k roleKind, r int, skip int) (int, bool) {
	for j := r - o.nTeams; j >= 0; j -= o.nTeams {
		if o.roleKind(j) == k {
			if skip == 0 {
				return j, true
			}
			skip--
		}
	}
	for j := r - 1; j >= 0 && j >= r-4000; j-- {
		if o.roleKind(j) == k {
			if skip == 0 {
				return j, true
			}
			skip--
		}
	}
	return 0, false
}

// findRoleFor returns a role of team that the service may assume.
func (o *Org) findRoleFor(service string, team int, h uint64) (int, bool) {
	switch service {
	case "ecs-tasks.amazonaws.com":
		return o.findTeamRole(rkECSTask, team, h)
	case "lambda.amazonaws.com":
		return o.findTeamRole(rkLambda, team, h)
	case "tasks.apprunner.amazonaws.com":
		return o.findTeamRole(rkAppRunner, team, h)
	}
	return 0, false
}

// teamUserPrincipal names a user of team in a trust policy: its ARN, or,
// when that user has since been replaced, the unique id IAM shows for a
// deleted principal.
func (o *Org) teamUserPrincipal(team int, h uint64) string {
	per := (o.cfg.Users - team + o.nTeams - 1) / o.nTeams
	if per <= 0 {
		return "arn:aws:iam::" + o.cfg.Account + ":root"
	}
	i := team + int(h%uint64(per))*o.nTeams
	if gen, _ := o.state(domUser, i, true); gen > 0 {
		return o.uniqueID("AIDA", domUser, i, 0)
	}
	return o.User(i).Arn
}

func serviceTrust(r *rand.Rand, acct, service string) *PolicyDoc {
	st := Statement{Effect: "Allow", Principal: map[string]any{"Service": service}, Action: "sts:AssumeRole"}
	if r.IntN(5) == 0 {
		st.Condition = cond("StringEquals", "aws:SourceAccount", acct)
	}
	return doc(st)
}

// Role is role r at the current churn round.
func (o *Org) Role(r int) Role {
	_, ver := o.state(domRole, r, false)
	k := o.roleKind(r)
	rng := o.rng(domRole, r, 0, 0)
	acct := o.cfg.Account
	style := dateStyle(rng)
	path, name := o.rolePathName(r)
	team := o.roleTeam(r)
	tname := o.teamName(team)
	created := randTime(rng, 0, 3600)
	role := Role{
		Path: path, RoleName: name, RoleID: o.uniqueID("AROA", domRole, r, 0), Arn: o.arn("role", path, name),
		CreateDate: created.Format(style), InstanceProfileList: []InstanceProfile{}, RolePolicyList: []InlinePolicy{},
		AttachedManagedPolicies: []AttachedPolicy{}, Tags: []Tag{},
	}
	root := "arn:aws:iam::" + acct + ":root"
	h := o.hash(domRole, r, 11)
	var trust *PolicyDoc
	attach := func(p policyKind) {
		if i, ok := o.findPolicy(p, team, rng.Uint64()); ok {
			role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, o.policyRef(i))
		}
	}
	inline := func(name string, k policyKind) {
		role.RolePolicyList = append(role.RolePolicyList, InlinePolicy{PolicyName: name,
			PolicyDocument: Document{Policy: o.kindDoc(rng, k, team, rng.Uint64()), Encoding: docEncoding(rng, 3, 1)}})
	}
	switch k {
	case rkECSTask, rkLambda, rkAppRunner, rkWorkload:
		svc := map[roleKind]string{rkECSTask: "ecs-tasks.amazonaws.com", rkLambda: "lambda.amazonaws.com", rkAppRunner: "tasks.apprunner.amazonaws.com"}[k]
		if k == rkWorkload {
			svc = pick(rng, []string{"ecs-tasks.amazonaws.com", "lambda.amazonaws.com"})
			if b, ok := o.findPolicy(pkBoundary, team, rng.Uint64()); ok {
				role.PermissionsBoundary = &Boundary{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: o.policyARN(b)}
			}
		}
		trust = serviceTrust(rng, acct, svc)
		switch k {
		case rkECSTask:
			if rng.IntN(3) == 0 {
				role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsECSTaskExecution))
			}
		case rkLambda:
			role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsLambdaBasic))
		}
		for range 1 + rng.IntN(2) {
			attach(pick(rng, []policyKind{pkS3, pkS3, pkDynamo, pkSecrets}))
		}
		if rng.IntN(3) == 0 {
			inline(app(rng)+"-access", pick(rng, []policyKind{pkS3, pkSecrets, pkDynamo}))
		}
	case rkEC2:
		trust = serviceTrust(rng, acct, "ec2.amazonaws.com")
		role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsSSMCore))
		attach(pkS3)
		role.InstanceProfileList = append(role.InstanceProfileList, InstanceProfile{
			Path: "/", InstanceProfileName: name, InstanceProfileID: o.uniqueID("AIPA", domRole, r, 0),
			Arn: o.arn("instance-profile", "/", name), CreateDate: role.CreateDate,
			Roles: []InstanceProfileRole{{Path: path, RoleName: name, RoleID: role.RoleID, Arn: role.Arn, CreateDate: role.CreateDate,
				AssumeRolePolicyDocument: Document{Policy: serviceTrust(rng, acct, "ec2.amazonaws.com")}}},
		})
	case rkJump:
		var principal any = root
		if !o.rootTrusted(r) {
			var named []string
			for k := range 1 + rng.IntN(3) {
				named = append(named, o.teamUserPrincipal(team, h+uint64(k)*0x9E3779B97F4A7C15))
			}
			principal = one(named...)
		}
		st := Statement{Effect: "Allow", Principal: map[string]any{"AWS": principal}, Action: "sts:AssumeRole"}
		if rng.IntN(3) == 0 {
			st.Condition = mfaCond()
		}
		trust = doc(st)
		res := any("arn:aws:iam::" + acct + ":role/deploy/deployer-" + tname + "-*")
		if d, ok := o.findTeamRole(rkDeploy, team, h); ok && rng.IntN(2) == 0 {
			res = o.roleARN(d)
		}
		role.RolePolicyList = append(role.RolePolicyList, InlinePolicy{PolicyName: "AssumeDeployRoles",
			PolicyDocument: Document{Policy: doc(Statement{Sid: "AssumeDeploy", Effect: "Allow", Action: "sts:AssumeRole", Resource: res})}})
		role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsViewOnly))
	case rkDeploy, rkProdDeploy:
		prev := rkJump
		if k == rkProdDeploy {
			prev = rkDeploy
		}
		var trusted []string
		for skip := range 1 + rng.IntN(2) {
			if j, ok := o.findRoleBefore(prev, r, skip); ok {
				trusted = append(trusted, o.roleARN(j))
			}
		}
		if len(trusted) == 0 {
			trusted = []string{root}
		}
		st := Statement{Effect: "Allow", Principal: map[string]any{"AWS": one(trusted...)}, Action: "sts:AssumeRole"}
		if k == rkProdDeploy && rng.IntN(2) == 0 {
			st.Condition = mfaCond()
		}
		trust = doc(st)
		if k == rkDeploy {
			if rng.IntN(2) == 0 {
				inline("DeployECS", pkECSDeploy)
			} else {
				attach(pick(rng, []policyKind{pkECSDeploy, pkLambdaDeploy, pkAppRunnerDeploy}))
			}
			attach(pkECR)
			if rng.IntN(3) == 0 {
				role.RolePolicyList = append(role.RolePolicyList, InlinePolicy{PolicyName: "AssumeProdDeploy",
					PolicyDocument: Document{Policy: doc(Statement{Effect: "Allow", Action: "sts:AssumeRole", Resource: "arn:aws:iam::" + acct + ":role/deploy/prod/prod-deployer-" + tname + "-*"})}})
			}
		} else if team == 0 {
			role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(pick(rng, []int{awsECSFull, awsLambdaFull})))
		} else {
			attach(pick(rng, []policyKind{pkECSDeploy, pkLambdaDeploy}))
		}
	case rkAdmin:
		principal := any(root)
		if rng.IntN(3) == 0 {
			principal = acct
		}
		st := Statement{Effect: "Allow", Principal: map[string]any{"AWS": principal}, Action: "sts:AssumeRole"}
		if rng.IntN(4) != 0 {
			st.Condition = mfaCond()
		}
		trust = doc(st)
		role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(pick(rng, []int{awsAdmin, awsReadOnly, awsPowerUser})))
	case rkSAML:
		idp := pick(rng, []string{"Okta", "AzureAD", "Google"})
		trust = doc(Statement{Effect: "Allow", Principal: map[string]any{"Federated": "arn:aws:iam::" + acct + ":saml-provider/" + idp},
			Action: "sts:AssumeRoleWithSAML", Condition: cond("StringEquals", "SAML:aud", "https://signin.aws.amazon.com/saml")})
		switch x := rng.IntN(20); {
		case x < 8:
			role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsReadOnly))
		case x < 12 && team == 0:
			role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsPowerUser))
		case x < 18 || team != 0:
			attach(pick(rng, []policyKind{pkECSDeploy, pkLambdaDeploy, pkS3, pkDynamo}))
			attach(pkReadOnly)
		default:
			role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsAdmin))
		}
	case rkOIDC:
		provider := "token.actions.githubusercontent.com"
		trust = doc(Statement{Effect: "Allow", Principal: map[string]any{"Federated": "arn:aws:iam::" + acct + ":oidc-provider/" + provider},
			Action: "sts:AssumeRoleWithWebIdentity", Condition: map[string]map[string]any{
				"StringEquals": {provider + ":aud": "sts.amazonaws.com"},
				"StringLike":   {provider + ":sub": "repo:example-org/" + tname + "-" + o.app(domRole, r) + ":*"},
			}})
		inline("CIDeploy", pick(rng, []policyKind{pkECSDeploy, pkLambdaDeploy}))
		attach(pkECR)
	case rkCrossAccount:
		ext := pick(rng, []string{"444455556666", "777788889999", "210987654321"})
		principal := any("arn:aws:iam::" + ext + ":root")
		if rng.IntN(2) == 0 {
			principal = "arn:aws:iam::" + ext + ":role/SecurityAudit"
		}
		trust = doc(Statement{Effect: "Allow", Principal: map[string]any{"AWS": principal}, Action: "sts:AssumeRole",
			Condition: cond("StringEquals", "sts:ExternalId", fmt.Sprintf("%x", rng.Uint64()))})
		role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(pick(rng, []int{awsReadOnly, awsViewOnly})))
	case rkServiceLinked:
		svc := strings.TrimSuffix(strings.TrimPrefix(path, "/aws-service-role/"), "/")
		trust = doc(Statement{Effect: "Allow", Principal: map[string]any{"Service": svc}, Action: "sts:AssumeRole"})
		role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, awsRef(awsECSServiceRole))
	}
	if role.PermissionsBoundary == nil && k != rkServiceLinked && rng.IntN(20) == 0 {
		if b, ok := o.findPolicy(pkBoundary, team, rng.Uint64()); ok {
			role.PermissionsBoundary = &Boundary{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: o.policyARN(b)}
		}
	}
	if rng.IntN(5) < 2 {
		role.Tags = append(role.Tags, Tag{Key: "team", Value: tname}, Tag{Key: "env", Value: pick(rng, []string{"prod", "staging", "dev"})})
	}
	if rng.IntN(10) < 7 {
		role.RoleLastUsed = RoleLastUsed{LastUsedDate: randTime(rng, 3600, 3900).Format(style), Region: pick(rng, regions)}
	}
	role.AssumeRolePolicyDocument = Document{Policy: trust, Encoding: docEncoding(rng, 3, 0)}
	if ver > 0 {
		o.mutateRole(&role, o.rng(domRole, r, 0, ver), team, style)
	}
	return role
}

func app(r *rand.Rand) string { return pick(r, apps) }

// mutateRole applies one day's change to a role: a policy attached or
// detached, an inline policy rewritten, a tag changed or a new last use.
func (o *Org) mutateRole(role *Role, m *rand.Rand, team int, style string) {
	switch x := m.IntN(10); {
	case x < 3 && len(role.AttachedManagedPolicies) > 1:
		role.AttachedManagedPolicies = role.AttachedManagedPolicies[:len(role.AttachedManagedPolicies)-1]
	case x < 5:
		if i, ok := o.findPolicy(pick(m, []policyKind{pkS3, pkDynamo, pkSecrets, pkReadOnly}), team, m.Uint64()); ok {
			role.AttachedManagedPolicies = addAttached(role.AttachedManagedPolicies, o.policyRef(i))
		}
	case x < 7:
		role.RolePolicyList = append(role.RolePolicyList, InlinePolicy{PolicyName: "change-" + strconv.Itoa(m.IntN(1000)),
			PolicyDocument: Document{Policy: o.kindDoc(m, pick(m, []policyKind{pkS3, pkDynamo, pkSecrets}), team, m.Uint64())}})
	case x < 8:
		role.Tags = append(role.Tags, Tag{Key: "change-ticket", Value: fmt.Sprintf("CHG-%06d", m.IntN(1000000))})
	default:
		role.RoleLastUsed = RoleLastUsed{LastUsedDate: epoch.Add(time.Duration(3900+m.IntN(300)) * 24 * time.Hour).Format(style), Region: pick(m, regions)}
	}
}
