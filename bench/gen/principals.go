package gen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
)

type groupProfile uint8

const (
	gpAllStaff groupProfile = iota
	gpAdmins
	gpDevelopers
	gpDeployers
	gpReadOnly
	gpData
	gpOps
	gpRestricted
	numGroupProfiles
)

var groupProfileNames = [numGroupProfiles]string{"AllStaff", "Administrators", "developers", "deployers", "readonly", "data", "ops", "restricted"}

var groupProfileWeights = [numGroupProfiles]int{gpDevelopers: 35, gpDeployers: 10, gpReadOnly: 20, gpData: 15, gpOps: 10, gpRestricted: 10}

var fixedGroupProfiles = []groupProfile{gpAllStaff, gpAdmins, gpDeployers, gpDevelopers, gpRestricted}

var businessGroupProfiles = []groupProfile{gpReadOnly, gpReadOnly, gpData, gpData, gpRestricted}

func (o *Org) groupProfile(g int) groupProfile {
	if g < len(fixedGroupProfiles) {
		return fixedGroupProfiles[g]
	}
	if !o.technical(o.groupTeam(g)) {
		return businessGroupProfiles[o.hash(domGroupKind, g)%uint64(len(businessGroupProfiles))]
	}
	return groupProfile(Weighted(unit(o.hash(domGroupKind, g)), groupProfileWeights[:]))
}

// groupTeam is the team owning group g (AllStaff and Administrators: 0).
func (o *Org) groupTeam(g int) int {
	if g < 2 {
		return 0
	}
	return (g - 2) % o.nTeams
}

func (o *Org) groupPathName(g int) (path, name string) {
	p := o.groupProfile(g)
	if p == gpAllStaff || p == gpAdmins {
		return "/", groupProfileNames[p]
	}
	t := o.groupTeam(g)
	return "/teams/" + o.teamDept(t) + "/", o.teamName(t) + "-" + groupProfileNames[p] + "-" + strconv.Itoa(g)
}

// pickGroup draws one of team's groups, skewed towards the team's first
// ones: a few large groups, a long tail of small ones.
func (o *Org) pickGroup(r *rand.Rand, team int) int {
	per := (o.cfg.Groups - 2 - team + o.nTeams - 1) / o.nTeams
	if per <= 0 {
		return 2 + r.IntN(max(o.cfg.Groups-2, 1))
	}
	u := r.Float64()
	return 2 + team + int(u*u*float64(per))*o.nTeams
}

// Group is group g at the current churn round.
func (o *Org) Group(g int) Group {
	_, ver := o.state(domGroup, g, false)
	r := o.rng(domGroup, g, 0, 0)
	style := dateStyle(r)
	path, name := o.groupPathName(g)
	team := o.groupTeam(g)
	grp := Group{Path: path, GroupName: name, GroupID: o.uniqueID("AGPA", domGroup, g, 0), Arn: o.arn("group", path, name),
		CreateDate: randTime(r, 0, 3600).Format(style), GroupPolicyList: []InlinePolicy{}, AttachedManagedPolicies: []AttachedPolicy{}}
	attach := func(k policyKind, fallback int) {
		if i, ok := o.findPolicy(k, team, r.Uint64()); ok {
			grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, o.policyRef(i))
		} else if fallback >= 0 {
			grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, awsRef(fallback))
		}
	}
	inline := func(name string, k policyKind) {
		grp.GroupPolicyList = append(grp.GroupPolicyList, InlinePolicy{PolicyName: name,
			PolicyDocument: Document{Policy: o.kindDoc(r, k, team, r.Uint64()), Encoding: docEncoding(r, 4, 2)}})
	}
	switch o.groupProfile(g) {
	case gpAllStaff:
		grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, awsRef(awsChangePassword))
		attach(pkSelfService, -1)
	case gpAdmins:
		grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, awsRef(awsAdmin))
	case gpDevelopers:
		for range 1 + r.IntN(2) {
			attach(pick(r, []policyKind{pkS3, pkDynamo, pkReadOnly, pkECR, pkSecrets}), -1)
		}
		if r.IntN(10) < 3 {
			attach(pick(r, []policyKind{pkECSDeploy, pkLambdaDeploy}), -1)
		}
		if r.IntN(10) == 0 {
			attach(pkAssumeJump, -1)
		}
	case gpDeployers:
		attach(pick(r, []policyKind{pkECSDeploy, pkECSDeploy, pkLambdaDeploy, pkAppRunnerDeploy, pkBatchDeploy, pkEKSAdmin}), -1)
		attach(pkECR, awsECRPowerUser)
		if team == 0 && r.IntN(2) == 0 {
			// AWS's full-access policies pass any role to their service:
			// only the platform team holds them.
			grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, awsRef(pick(r, []int{awsECSFull, awsLambdaFull, awsAppRunnerFull})))
		}
	case gpReadOnly:
		grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, awsRef(pick(r, []int{awsReadOnly, awsViewOnly, awsS3ReadOnly})))
	case gpData:
		attach(pkS3, awsS3ReadOnly)
		attach(pick(r, []policyKind{pkS3, pkDynamo}), -1)
	case gpOps:
		switch {
		case team == 0 && r.IntN(10) < 3:
			grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, awsRef(awsPowerUser))
		case team == 0:
			attach(pkPowerUserMFA, awsPowerUser)
		default:
			// Power users outside the platform team work through their
			// team's jump and deploy roles.
			attach(pkReadOnly, awsViewOnly)
		}
		if r.IntN(10) < 3 {
			attach(pkAssumeJump, -1)
		}
	case gpRestricted:
		attach(pkGuardrail, -1)
		attach(pkReadOnly, awsViewOnly)
		grp.GroupPolicyList = append(grp.GroupPolicyList, InlinePolicy{PolicyName: "NoContainers", PolicyDocument: Document{
			Policy: doc(Statement{Sid: "NoContainers", Effect: "Deny", Action: []string{"ecs:*", "lambda:CreateFunction", "lambda:UpdateFunctionCode", "apprunner:*", "batch:SubmitJob"}, Resource: "*"}),
		}})
	}
	if p := o.groupProfile(g); p != gpAdmins && p != gpAllStaff && r.IntN(10) < 4 {
		inline(o.teamName(team)+"-inline-"+strconv.Itoa(r.IntN(100)), pick(r, []policyKind{pkS3, pkDynamo, pkReadOnly, pkSecrets, pkECSDeploy}))
	}
	if ver > 0 {
		m := o.rng(domGroup, g, 0, ver)
		switch x := m.IntN(10); {
		case x < 4 && len(grp.AttachedManagedPolicies) > 1:
			grp.AttachedManagedPolicies = grp.AttachedManagedPolicies[1:]
		case x < 7:
			if i, ok := o.findPolicy(pick(m, []policyKind{pkS3, pkDynamo, pkReadOnly, pkECR, pkECSDeploy}), team, m.Uint64()); ok {
				grp.AttachedManagedPolicies = addAttached(grp.AttachedManagedPolicies, o.policyRef(i))
			}
		default:
			grp.GroupPolicyList = append(grp.GroupPolicyList, InlinePolicy{PolicyName: "change-" + strconv.Itoa(m.IntN(1000)),
				PolicyDocument: Document{Policy: o.kindDoc(m, pick(m, []policyKind{pkS3, pkDynamo, pkReadOnly}), team, m.Uint64())}})
		}
	}
	return grp
}

// groupCounts is the distribution of how many groups a person is in (1-5).
var groupCounts = []int{30, 30, 20, 12, 8}

// userTeam is the team of user slot i.
func (o *Org) userTeam(i int) int { return i % o.nTeams }

// User is user slot i at the current churn round (a replaced user is a
// different person with a different name in the same slot).
func (o *Org) User(i int) User {
	gen, ver := o.state(domUser, i, true)
	r := o.rng(domUser, i, gen, 0)
	style := dateStyle(r)
	team := o.userTeam(i)
	dept, tname := o.teamDept(team), o.teamName(team)
	automation := r.IntN(100) < 5 && o.technical(team)
	var path, name string
	if automation {
		path, name = "/automation/", fmt.Sprintf("ci-%s-%s-%d", tname, pick(r, apps), i)
	} else {
		path = "/"
		if r.IntN(2) == 0 {
			path = "/" + dept + "/"
		}
		name = fmt.Sprintf("%s.%s%d", pick(r, firstNames), pick(r, lastNames), i)
	}
	if gen > 0 {
		name += "-" + strconv.Itoa(gen)
	}
	from := 0
	if gen > 0 {
		from = 3600 // joiners are recent
	}
	u := User{Path: path, UserName: name, UserID: o.uniqueID("AIDA", domUser, i, gen), Arn: o.arn("user", path, name),
		CreateDate: randTime(r, from, 3900).Format(style), GroupList: []string{}, AttachedManagedPolicies: []AttachedPolicy{}, Tags: []Tag{}}
	inline := func(name string, k policyKind) {
		u.UserPolicyList = append(u.UserPolicyList, InlinePolicy{PolicyName: name,
			PolicyDocument: Document{Policy: o.kindDoc(r, k, team, r.Uint64()), Encoding: docEncoding(r, 5, 2)}})
	}
	if automation {
		inline("deploy-"+tname, pick(r, []policyKind{pkECSDeploy, pkECSDeploy, pkLambdaDeploy, pkAppRunnerDeploy}))
		if r.IntN(2) == 0 {
			inline("artifacts", pick(r, []policyKind{pkECR, pkS3}))
		}
	} else {
		want := 1 + Weighted(r.Float64(), groupCounts)
		var gs []int
		if r.IntN(10) < 6 {
			gs = append(gs, 0) // AllStaff
		}
		// Administrators stay a few dozen people whatever the size.
		if !capped(r.Uint64(), o.cfg.Users*4/1000, 40) && r.IntN(1000) < 4 {
			gs = append(gs, 1)
		}
		for tries := 0; len(gs) < want && tries < 20; tries++ {
			t := team
			if r.IntN(10) == 0 {
				t = r.IntN(o.nTeams) // a group of another team
			}
			if g := o.pickGroup(r, t); !slices.Contains(gs, g) {
				gs = append(gs, g)
			}
		}
		for _, g := range gs {
			_, gname := o.groupPathName(g)
			u.GroupList = append(u.GroupList, gname)
		}
		if r.IntN(100) < 8 {
			switch x := r.IntN(20); {
			case x < 3:
				u.UserPolicyList = append(u.UserPolicyList, InlinePolicy{PolicyName: "NoContainers", PolicyDocument: Document{
					Policy: doc(Statement{Sid: "NoContainers", Effect: "Deny", Action: []string{"ecs:RunTask", "ecs:StartTask", "ecs:CreateService", "ecs:UpdateService"}, Resource: "*"})}})
			case x < 7 && o.technical(team):
				inline("deploy-"+tname, pick(r, []policyKind{pkECSDeploy, pkLambdaDeploy}))
			default:
				inline(name+"-access", pick(r, []policyKind{pkS3, pkDynamo, pkSelfService, pkSecrets, pkAssumeJump}))
			}
		}
	}
	if r.IntN(10) == 0 {
		if r.IntN(2) == 0 {
			u.AttachedManagedPolicies = addAttached(u.AttachedManagedPolicies, awsRef(awsChangePassword))
		}
		if p, ok := o.findPolicy(pick(r, []policyKind{pkS3, pkReadOnly, pkECR, pkAssumeJump, pkECSDeploy}), team, r.Uint64()); ok {
			u.AttachedManagedPolicies = addAttached(u.AttachedManagedPolicies, o.policyRef(p))
		}
	}
	if r.IntN(20) == 0 {
		if b, ok := o.findPolicy(pkBoundary, team, r.Uint64()); ok {
			u.PermissionsBoundary = &Boundary{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: o.policyARN(b)}
		}
	}
	if r.IntN(10) < 3 {
		u.Tags = append(u.Tags, Tag{Key: "team", Value: tname}, Tag{Key: "cost-center", Value: fmt.Sprintf("cc-%03d", r.IntN(400))})
	}
	if ver > 0 {
		o.mutateUser(&u, o.rng(domUser, i, gen, ver), team)
	}
	return u
}

// mutateUser applies one day's change: a group joined, left or swapped, a
// tag changed or an inline policy added.
func (o *Org) mutateUser(u *User, m *rand.Rand, team int) {
	switch x := m.IntN(20); {
	case x < 8:
		_, g := o.groupPathName(o.pickGroup(m, team))
		if !slices.Contains(u.GroupList, g) {
			if len(u.GroupList) >= 5 {
				u.GroupList[len(u.GroupList)-1] = g
			} else {
				u.GroupList = append(u.GroupList, g)
			}
		}
	case x < 13 && len(u.GroupList) > 1:
		u.GroupList = u.GroupList[:len(u.GroupList)-1]
	case x < 16:
		u.Tags = append(u.Tags, Tag{Key: "manager", Value: pick(m, firstNames) + "." + pick(m, lastNames)})
	default:
		u.UserPolicyList = append(u.UserPolicyList, InlinePolicy{PolicyName: "temp-access-" + strconv.Itoa(m.IntN(1000)),
			PolicyDocument: Document{Policy: o.kindDoc(m, pick(m, []policyKind{pkS3, pkDynamo, pkECSDeploy, pkAssumeJump}), team, m.Uint64())}})
	}
}
