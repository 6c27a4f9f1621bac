package gengoogle

import (
	"sort"
	"strconv"
	"strings"

	"permgraph/bench/gen"
)

// layoutGCP places folders (one top folder per department, sub-folders
// below them), projects (in a random folder, a few under the organisation)
// and service accounts (1 default compute account per project plus a
// skewed share of the rest), and sizes each project's IAM policy.
func (o *Org) layoutGCP() {
	c := o.cfg
	P, F := c.Projects, c.Folders
	if P == 0 {
		return
	}
	o.nTopFolders = min(F, o.nDept)
	o.projFolder = make([]int32, P)
	o.folderProjs = make([][]int32, F)
	for p := range P {
		f := int32(-1)
		if F > 0 && unit(o.hash(domProject, p, 1)) >= 0.03 {
			f = int32(o.hash(domProject, p, 2) % uint64(F))
			o.folderProjs[f] = append(o.folderProjs[f], int32(p))
		}
		o.projFolder[p] = f
	}
	// Service accounts: exactly ServiceAccounts, at least one per project.
	extra := c.ServiceAccounts - P
	w := make([]float64, P)
	sum := 0.0
	for p := range P {
		w[p] = 0.2 + 1.8*unit(o.hash(domSA, p))
		sum += w[p]
	}
	counts := make([]int, P)
	given := 0
	for p := range P {
		counts[p] = 1 + int(float64(extra)*w[p]/sum)
		given += counts[p] - 1
	}
	for p := 0; given < extra; p = (p + 1) % P {
		counts[p]++
		given++
	}
	o.saStart = make([]int32, P+1)
	for p := range P {
		o.saStart[p+1] = o.saStart[p] + int32(counts[p])
	}
	// Project policies get what the organisation, folder and service
	// account policies leave of the Bindings budget.
	folderGrants := 0
	for f := range F {
		folderGrants += o.folderGrantCount(f)
	}
	saGrants := int(float64(c.ServiceAccounts-P) * 0.3 * 1.5)
	nbar := max(float64(pinnedGrants), float64(c.Bindings-len(o.orgGrants())-folderGrants-saGrants)/float64(P))
	o.projGrants = make([]int8, P)
	o.projBase = make([]int8, P)
	o.projCustom = make([]bool, P)
	for p := range P {
		n := int(nbar*(0.3+1.4*unit(o.hash(domProject, p, 3))) + 0.5)
		n = min(max(n, pinnedGrants), maxProjectGrants)
		o.projBase[p] = int8(n)
		o.projGrants[p] = int8(min(64, n+max(3, n/2)))
		o.projCustom[p] = unit(o.hash(domProject, p, 4)) < 0.1
	}
}

const (
	pinnedGrants     = 3  // deployers' run.developer and actAs, a service agent: never churned
	maxProjectGrants = 42 // potential slots stay within a uint64 mask
)

var envs = []string{"prod", "stg", "dev", "sbx"}

func (o *Org) projectEnv(p int) string { return envs[o.hash(domProject, p, 5)%uint64(len(envs))] }

// ProjectID is project p's id, e.g. "checkout-prod-17".
func (o *Org) ProjectID(p int) string {
	return apps[o.hash(domProject, p, 6)%uint64(len(apps))] + "-" + o.projectEnv(p) + "-" + strconv.Itoa(p)
}

// ProjectNumber is project p's number (12 digits).
func (o *Org) ProjectNumber(p int) string { return strconv.FormatInt(400000000000+int64(p)*97, 10) }

// FolderNumber is folder f's number (12 digits).
func (o *Org) FolderNumber(f int) string { return strconv.FormatInt(200000000000+int64(f)*89, 10) }

// folderParent is the parent folder of f, -1 for the organisation.
func (o *Org) folderParent(f int) int {
	if f < o.nTopFolders {
		return -1
	}
	return (f - o.nTopFolders) / 3
}

func (o *Org) folderChildren(f int) (int, int) {
	if f < 0 {
		return 0, o.nTopFolders
	}
	lo := o.nTopFolders + 3*f
	return min(lo, o.cfg.Folders), min(lo+3, o.cfg.Folders)
}

func (o *Org) folderDept(f int) int {
	for o.folderParent(f) >= 0 {
		f = o.folderParent(f)
	}
	return f
}

func (o *Org) folderName(f int) string {
	d := o.deptName(o.folderDept(f))
	if f < o.nTopFolders {
		return d
	}
	return d + "-" + [...]string{"prod", "nonprod", "shared", "sandbox"}[f%4] + "-" + strconv.Itoa(f)
}

// folderAncestors lists f and its ancestors as CAI writes them, up to the
// organisation.
func (o *Org) folderAncestors(f int, out []string) []string {
	for ; f >= 0; f = o.folderParent(f) {
		out = append(out, "folders/"+o.FolderNumber(f))
	}
	return append(out, "organizations/"+o.cfg.Org)
}

func (o *Org) projectParent(p int) string {
	if f := o.projFolder[p]; f >= 0 {
		return "folders/" + o.FolderNumber(int(f))
	}
	return "organizations/" + o.cfg.Org
}

func (o *Org) projectAncestors(p int) []string {
	return o.folderAncestors(int(o.projFolder[p]), []string{"projects/" + o.ProjectNumber(p)})
}

// projectDept is the department owning project p (its folder's).
func (o *Org) projectDept(p int) int {
	if f := o.projFolder[p]; f >= 0 {
		return o.folderDept(int(f))
	}
	return p % o.nDept
}

// Service accounts.

func (o *Org) saCount(p int) int { return int(o.saStart[p+1] - o.saStart[p]) }

// saIndex is the global index of project p's k-th service account (the
// last one when p has fewer).
func (o *Org) saIndex(p, k int) int { return int(o.saStart[p]) + min(k, o.saCount(p)-1) }

// saProject splits a global service account index into (project, k).
func (o *Org) saProject(s int) (int, int) {
	p := sort.Search(o.cfg.Projects, func(p int) bool { return int(o.saStart[p+1]) > s })
	return p, s - int(o.saStart[p])
}

// SAEmail is service account s's email.
func (o *Org) SAEmail(s int) string {
	p, k := o.saProject(s)
	pid := o.ProjectID(p)
	switch k {
	case 0:
		return o.ProjectNumber(p) + "-compute@developer.gserviceaccount.com"
	case 1:
		return "deployer@" + pid + ".iam.gserviceaccount.com"
	case 2:
		return "runtime@" + pid + ".iam.gserviceaccount.com"
	case 3:
		return "ci-builder@" + pid + ".iam.gserviceaccount.com"
	}
	return apps[o.hash(domSA, s, 1)%uint64(len(apps))] + "-sa-" + strconv.Itoa(k) + "@" + pid + ".iam.gserviceaccount.com"
}

func (o *Org) saDisplayName(s int) string {
	_, k := o.saProject(s)
	switch k {
	case 0:
		return "Compute Engine default service account"
	case 1:
		return "Cloud Run deployer"
	case 2:
		return "Cloud Run runtime"
	case 3:
		return "CI builder"
	}
	return "workload " + strconv.Itoa(k)
}

// SAUniqueID is service account s's numeric unique id (21 digits).
func (o *Org) SAUniqueID(s int) string {
	return string(appendDecimalID(nil, '1', fmix(uint64(s)^o.idKey(domSA))))
}

// saDisabled is the account's state at the current round (3% disabled
// on day 0; each day Churn of them toggle).
func (o *Org) saDisabled(s int) bool {
	d := unit(o.hash(domSA, s, 2)) < 0.03
	for r := 1; r <= o.cfg.Round; r++ {
		if o.happens(domSAEvent, s, r, o.cfg.Churn) {
			d = !d
		}
	}
	return d
}

// Custom roles.

type customRole struct {
	id, title, stage string
	perms            []string
}

func orgCustomRoles() []customRole {
	return []customRole{
		{"platformDeployer", "Platform Deployer", "GA", []string{"artifactregistry.repositories.downloadArtifacts", "iam.serviceAccounts.actAs", "run.services.create", "run.services.get", "run.services.update"}},
		{"gkeWorkloadDeployer", "GKE Workload Deployer", "GA", []string{"container.clusters.get", "container.deployments.create", "container.deployments.update", "container.pods.create", "container.pods.get"}},
		{"securityAuditor", "Security Auditor", "GA", []string{"iam.roles.get", "iam.roles.list", "logging.logEntries.list", "resourcemanager.projects.getIamPolicy"}},
		{"breakGlass", "Break Glass", "BETA", []string{"iam.serviceAccountKeys.create", "resourcemanager.projects.setIamPolicy"}},
		{"legacyBuilder", "Legacy Builder", "DEPRECATED", []string{"cloudbuild.builds.create", "storage.objects.create"}},
	}
}

func projectCustomRole() customRole {
	return customRole{"appDeployer", "App Deployer", "GA", []string{"iam.serviceAccounts.actAs", "run.services.get", "run.services.update"}}
}

func (o *Org) orgRoleName(id string) string { return "organizations/" + o.cfg.Org + "/roles/" + id }

// IAM grants.

type condition struct{ title, description, expression string }

type grant struct {
	role, member string
	cond         *condition
}

type weightedRole struct {
	role   string
	weight int
}

// Role mixes by member kind. "org:" names an organisation custom role,
// "project:" the project's own custom role.
var (
	humanRoles = []weightedRole{
		{"roles/viewer", 20}, {"roles/run.developer", 10}, {"roles/container.developer", 8}, {"roles/iam.serviceAccountUser", 8},
		{"roles/logging.viewer", 6}, {"roles/monitoring.viewer", 5}, {"roles/storage.objectViewer", 6}, {"roles/bigquery.dataViewer", 5},
		{"roles/bigquery.user", 4}, {"roles/editor", 5}, {"roles/owner", 1}, {"roles/run.admin", 3}, {"roles/container.admin", 1},
		{"roles/cloudfunctions.developer", 3}, {"roles/cloudbuild.builds.editor", 3}, {"roles/clouddeploy.releaser", 2},
		{"roles/secretmanager.secretAccessor", 3}, {"roles/cloudsql.client", 3}, {"roles/pubsub.publisher", 2},
		{"roles/iam.serviceAccountTokenCreator", 1}, {"roles/iam.serviceAccountKeyAdmin", 1}, {"roles/resourcemanager.projectIamAdmin", 1},
		{"roles/container.viewer", 2}, {"roles/run.invoker", 2}, {"org:gkeWorkloadDeployer", 2}, {"org:securityAuditor", 2}, {"project:appDeployer", 3},
	}
	saRoles = []weightedRole{
		{"roles/run.admin", 15}, {"roles/container.developer", 10}, {"roles/iam.serviceAccountUser", 15}, {"roles/storage.admin", 8},
		{"roles/artifactregistry.writer", 10}, {"roles/cloudsql.client", 10}, {"roles/pubsub.publisher", 10}, {"roles/secretmanager.secretAccessor", 10},
		{"roles/logging.logWriter", 8}, {"roles/monitoring.metricWriter", 8}, {"roles/errorreporting.writer", 5}, {"roles/editor", 5},
		{"org:platformDeployer", 3},
	}
	outsiderRoles = []weightedRole{{"roles/viewer", 5}, {"roles/bigquery.dataViewer", 3}, {"roles/logging.viewer", 2}, {"roles/run.developer", 1}}
	wifRoles      = []weightedRole{{"roles/run.developer", 4}, {"roles/artifactregistry.writer", 4}, {"roles/container.developer", 2}}
)

func (o *Org) pickRole(h uint64, table []weightedRole, p int) string {
	ws := make([]int, len(table))
	for i, r := range table {
		ws[i] = r.weight
		if strings.HasPrefix(r.role, "project:") && (p < 0 || !o.projCustom[p]) {
			ws[i] = 0
		}
	}
	r := table[gen.Weighted(unit(h), ws)].role
	switch {
	case strings.HasPrefix(r, "org:"):
		return o.orgRoleName(strings.TrimPrefix(r, "org:"))
	case strings.HasPrefix(r, "project:"):
		return "projects/" + o.ProjectID(p) + "/roles/" + strings.TrimPrefix(r, "project:")
	}
	return r
}

func (o *Org) conditionFor(h uint64, p int) *condition {
	switch h % 4 {
	case 0:
		return &condition{"expires-2027", "temporary access, ticket OPS-" + strconv.Itoa(int(h>>8%9000)+1000), `request.time < timestamp("2027-01-01T00:00:00Z")`}
	case 1:
		return &condition{"business-hours", "", `request.time.getHours("Europe/Berlin") >= 9 && request.time.getHours("Europe/Berlin") <= 17`}
	case 2:
		pid := "_"
		if p >= 0 {
			pid = o.ProjectID(p)
		}
		return &condition{"dev-services-only", "only services whose name starts with dev-", `resource.name.startsWith("projects/` + pid + `/locations/europe-west1/services/dev-")`}
	}
	return &condition{"sandbox-tag", "", `resource.matchTag("` + o.cfg.Org + `/env", "sandbox")`}
}

func (o *Org) groupMember(g int) string { return "group:" + o.GroupEmail(g) }
func (o *Org) userMember(u int) string  { return "user:" + o.UserEmail(u) }
func (o *Org) saMember(s int) string    { return "serviceAccount:" + o.SAEmail(s) }

func (o *Org) wifMember(p int, h uint64) string {
	return "principalSet://iam.googleapis.com/projects/" + o.ProjectNumber(p) +
		"/locations/global/workloadIdentityPools/github/attribute.repository/acme/" + apps[h%uint64(len(apps))]
}

// deployersOf is the group project p's deploy grants go to: its deployers
// access group, else one of its department's teams, else all-staff.
func (o *Org) deployersOf(p int) int {
	if 2*p < o.nAccess {
		return o.accessStart + 2*p
	}
	d := o.projectDept(p)
	if lo, hi := o.deptLeaves(d); hi > lo {
		return o.leafGroup(lo + p%(hi-lo))
	}
	if o.treeLevels >= 2 {
		return o.levelStart[1] + d
	}
	return gAllStaff
}

// chainHead is the top group of nesting chain c.
func (o *Org) chainHead(c int) int { return o.chainStart + c*o.cfg.Depth }

// ChainGroup is the group index of level l (0 = top) of nesting chain c;
// chain 0's top group holds roles/owner on the organisation, so its
// deepest group reaches deploy through Depth-1 nested memberships.
func (o *Org) ChainGroup(c, l int) int { return o.chainHead(c) + l }

// deptUser picks a user of department d.
func (o *Org) deptUser(d int, h uint64) int {
	lo, hi := o.deptUsers(d)
	return lo + int(h%uint64(hi-lo))
}

// deptGroup picks a group of department d: a team, sometimes a level
// above it.
func (o *Org) deptGroup(d int, h uint64) int {
	lo, hi := o.deptLeaves(d)
	if hi <= lo {
		return gAllStaff
	}
	t := lo + int(h%uint64(hi-lo))
	if h>>40%10 == 0 && o.treeLevels >= 3 {
		return o.levelStart[o.treeLevels-2] + t/o.fan
	}
	return o.leafGroup(t)
}

// projectGrant is slot s of project p's policy.
func (o *Org) projectGrant(p, s int) grant {
	switch s {
	case 0:
		return grant{role: "roles/run.developer", member: o.groupMember(o.deployersOf(p))}
	case 1:
		return grant{role: "roles/iam.serviceAccountUser", member: o.groupMember(o.deployersOf(p))}
	case 2:
		if p%2 == 0 {
			return grant{role: "roles/cloudbuild.builds.builder", member: "serviceAccount:" + o.ProjectNumber(p) + "@cloudbuild.gserviceaccount.com"}
		}
		return grant{role: "roles/run.serviceAgent", member: "serviceAccount:service-" + o.ProjectNumber(p) + "@serverless-robot-prod.iam.gserviceaccount.com"}
	}
	h := o.hash(domGrant, p, uint64(s))
	d := o.projectDept(p)
	x := unit(h)
	h2, h3 := o.hash(domGrant, p, uint64(s), 1), o.hash(domGrant, p, uint64(s), 2)
	var g grant
	human := false
	switch {
	case x < 0.40:
		human = true
		y := unit(h2)
		switch {
		case y < 0.40 && 2*p+1 < o.nAccess:
			g.member = o.groupMember(o.accessStart + 2*p + int(h3%2))
		case y < 0.85:
			g.member = o.groupMember(o.deptGroup(d, h3))
		case y < 0.95 && o.nMisc > 0:
			g.member = o.groupMember(o.miscStart + int(h3%uint64(o.nMisc)))
		default:
			g.member = o.groupMember(o.chainHead(int(h3 % uint64(o.nChains))))
		}
		g.role = o.pickRole(h, humanRoles, p)
	case x < 0.70:
		human = true
		g.member = o.userMember(o.deptUser(d, h2))
		g.role = o.pickRole(h, humanRoles, p)
	case x < 0.88:
		sp := p
		if unit(h2) < 0.25 {
			sp = int(h3 % uint64(o.cfg.Projects)) // a service account of another project
		}
		g.member = o.saMember(o.saIndex(sp, int(h3>>32%uint64(max(1, o.saCount(sp))))))
		g.role = o.pickRole(h, saRoles, p)
	case x < 0.92:
		g.member = "user:contractor" + strconv.Itoa(int(h2%uint64(o.contractorPool))) + "@" + consumer[h2>>40%2]
		g.role = o.pickRole(h, outsiderRoles, p)
		human = true
	case x < 0.95:
		g.member = "domain:" + o.cfg.Domain
		g.role = [...]string{"roles/viewer", "roles/browser"}[h2%2]
	case x < 0.97:
		k := int(h2 % 10)
		g.member = "group:support-" + strconv.Itoa(k) + "@vendor-" + strconv.Itoa(k%3) + ".example"
		g.role = o.pickRole(h, outsiderRoles, p)
	case x < 0.985:
		g.member = o.wifMember(p, h2)
		g.role = o.pickRole(h, wifRoles, p)
	default:
		g.member, g.role = "allUsers", "roles/run.invoker"
	}
	if o.projectEnv(p) == "prod" && (g.role == "roles/editor" || g.role == "roles/owner") && h3%2 == 0 {
		g.role = "roles/viewer"
	}
	if human && unit(o.hash(domGrant, p, uint64(s), 3)) < 0.08 {
		g.cond = o.conditionFor(o.hash(domGrant, p, uint64(s), 4), p)
	}
	return g
}

// projectMask is the set of active grant slots of project p at the current
// round: day 0 the first projBase slots; each day each unpinned slot flips
// with a probability that changes about Churn of the project's grants.
func (o *Org) projectMask(p int) uint64 {
	n, N := int(o.projBase[p]), int(o.projGrants[p])
	m := uint64(1)<<n - 1
	if N <= pinnedGrants {
		return m
	}
	q := o.cfg.Churn * float64(n) / float64(N-pinnedGrants)
	for r := 1; r <= o.cfg.Round; r++ {
		for s := pinnedGrants; s < N; s++ {
			if unit(o.hash(domChurn+domProjectEvent, p, uint64(r), uint64(s))) < q {
				m ^= 1 << s
			}
		}
	}
	return m
}

func (o *Org) projectGrants(p int) []grant {
	m := o.projectMask(p)
	var out []grant
	for s := range int(o.projGrants[p]) {
		if m&(1<<s) != 0 {
			out = append(out, o.projectGrant(p, s))
		}
	}
	return out
}

// folderGrantCount is the number of grants in folder f's policy: top
// folders always have one, half the others.
func (o *Org) folderGrantCount(f int) int {
	if f >= o.nTopFolders && unit(o.hash(domFolder, f, 1)) >= 0.5 {
		return 0
	}
	return 2 + int(o.hash(domFolder, f, 2)%4)
}

func (o *Org) folderGrants(f int) []grant {
	n := o.folderGrantCount(f)
	d := o.folderDept(f)
	var out []grant
	for s := range n {
		h := o.hash(domFolder, f, 3, uint64(s))
		if s == 0 {
			g := gAllStaff
			if o.treeLevels >= 2 {
				g = o.levelStart[1] + d
			}
			out = append(out, grant{role: [...]string{"roles/browser", "roles/viewer"}[h%2], member: o.groupMember(g)})
			continue
		}
		switch h % 5 {
		case 0, 1:
			out = append(out, grant{role: [...]string{"roles/run.developer", "roles/container.developer", "roles/logging.viewer"}[h>>8%3],
				member: o.groupMember(o.deptGroup(d, h>>16))})
		case 2:
			out = append(out, grant{role: "roles/iam.serviceAccountUser", member: o.groupMember(o.deptGroup(d, h>>16))})
		case 3:
			out = append(out, grant{role: "roles/editor", member: o.userMember(o.deptUser(d, h>>16)), cond: o.conditionFor(0, -1)})
		default:
			out = append(out, grant{role: "roles/run.admin", member: o.groupMember(o.chainHead(int(h >> 16 % uint64(o.nChains))))})
		}
	}
	return out
}

// orgGrants is the organisation's policy: an organisation admin, owners
// through the first nesting chain, security reviewers, the domain as
// browsers, a billing viewer, a custom deployer role and a time-bound
// break-glass role.
func (o *Org) orgGrants() []grant {
	out := []grant{
		{role: "roles/resourcemanager.organizationAdmin", member: o.userMember(0)},
		{role: "roles/owner", member: o.groupMember(o.chainHead(0))},
		{role: "roles/browser", member: "domain:" + o.cfg.Domain},
		{role: "roles/billing.viewer", member: o.userMember(min(1, o.cfg.Users-1))},
		{role: o.orgRoleName("platformDeployer"), member: o.groupMember(o.deployersOf(0))},
		// Break-glass access that expires: a conditional binding.
		{role: o.orgRoleName("breakGlass"), member: o.userMember(int(o.hash(domUser, 5, 99) % uint64(o.cfg.Users))), cond: o.conditionFor(0, -1)},
	}
	if o.nChains > 1 {
		out[4].member = o.groupMember(o.chainHead(1))
	}
	if o.nMisc > securityIdx {
		sec := o.groupMember(o.miscStart + securityIdx)
		out = append(out, grant{role: "roles/iam.securityReviewer", member: sec}, grant{role: "roles/orgpolicy.policyViewer", member: sec})
	}
	return out
}

// saGrants is service account s's policy: three in ten non-default
// accounts let someone act as them, mint tokens or create keys.
func (o *Org) saGrants(s int) []grant {
	p, k := o.saProject(s)
	if k == 0 || unit(o.hash(domSA, s, 3)) >= 0.3 {
		return nil
	}
	d := o.projectDept(p)
	var out []grant
	switch {
	case 2*p < o.nAccess:
		out = append(out, grant{role: "roles/iam.serviceAccountUser", member: o.groupMember(o.accessStart + 2*p)})
	case o.saCount(p) > 3 && k != 3:
		out = append(out, grant{role: "roles/iam.serviceAccountUser", member: o.saMember(o.saIndex(p, 3))})
	default:
		out = append(out, grant{role: "roles/iam.serviceAccountUser", member: o.userMember(o.deptUser(d, o.hash(domSA, s, 4)))})
	}
	if h := o.hash(domSA, s, 5); h%2 == 0 {
		switch x := unit(h); {
		case x < 0.4:
			out = append(out, grant{role: "roles/iam.serviceAccountTokenCreator", member: o.userMember(o.deptUser(d, h>>8))})
		case x < 0.7:
			out = append(out, grant{role: "roles/iam.workloadIdentityUser", member: o.wifMember(p, h>>8)})
		default:
			out = append(out, grant{role: "roles/iam.serviceAccountKeyAdmin", member: o.userMember(o.deptUser(d, h>>8))})
		}
	}
	return out
}

// binding is one IAM binding: a role, sorted distinct members, an optional
// condition.
type binding struct {
	role    string
	members []string
	cond    *condition
}

// bindingsOf groups grants by (role, condition), members sorted and
// de-duplicated, bindings sorted by role then condition.
func bindingsOf(gs []grant) []binding {
	key := func(g grant) string {
		if g.cond == nil {
			return g.role
		}
		return g.role + "\x00" + g.cond.expression + "\x00" + g.cond.title
	}
	idx := map[string]int{}
	var out []binding
	for _, g := range gs {
		k := key(g)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, binding{role: g.role, cond: g.cond})
		}
		out[i].members = append(out[i].members, g.member)
	}
	for i := range out {
		sort.Strings(out[i].members)
		ms := out[i].members[:0]
		for j, m := range out[i].members {
			if j == 0 || m != out[i].members[j-1] {
				ms = append(ms, m)
			}
		}
		out[i].members = ms
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].role != out[j].role {
			return out[i].role < out[j].role
		}
		return condSortKey(out[i].cond) < condSortKey(out[j].cond)
	})
	return out
}

func condSortKey(c *condition) string {
	if c == nil {
		return ""
	}
	return "\x01" + c.expression + "\x00" + c.title
}

// PredefinedRoles lists every predefined role the generator can bind (for
// tests: each must be in the evaluator's catalog).
func PredefinedRoles() []string {
	set := map[string]bool{}
	for _, table := range [][]weightedRole{humanRoles, saRoles, outsiderRoles, wifRoles} {
		for _, r := range table {
			if strings.HasPrefix(r.role, "roles/") {
				set[r.role] = true
			}
		}
	}
	for _, r := range []string{"roles/run.developer", "roles/iam.serviceAccountUser", "roles/cloudbuild.builds.builder", "roles/run.serviceAgent",
		"roles/viewer", "roles/browser", "roles/run.invoker", "roles/container.developer", "roles/logging.viewer", "roles/editor", "roles/run.admin",
		"roles/resourcemanager.organizationAdmin", "roles/owner", "roles/billing.viewer", "roles/iam.securityReviewer", "roles/orgpolicy.policyViewer",
		"roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser", "roles/iam.serviceAccountKeyAdmin", "roles/storage.objectViewer"} {
		set[r] = true
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
