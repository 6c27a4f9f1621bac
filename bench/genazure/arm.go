package genazure

import (
	"strconv"
	"strings"

	benchgen "permgraph/bench/gen"
)

// roleDef is an Azure role definition.
type roleDef struct {
	GUID, Name, Description string
	Perms                   []permBlock
	// DefScope is where a custom role is defined (its assignable scope);
	// "" for built-in roles.
	DefScope string
}

type permBlock struct {
	Actions, NotActions, DataActions, NotDataActions []string
}

// Management groups: the tenant root group (named by the tenant id), then
// a landing-zone hierarchy.
const (
	mgRoot = iota
	mgPlatform
	mgLandingZones
	mgCorp
	mgOnline
	mgSandbox
	mgDecommissioned
	nMG
)

var mgDefs = [nMG]struct {
	name, display string
	parent        int
}{
	{"", "Tenant Root Group", -1},
	{"Platform", "Platform", mgRoot},
	{"LandingZones", "Landing Zones", mgRoot},
	{"Corp", "Corp", mgLandingZones},
	{"Online", "Online", mgLandingZones},
	{"Sandbox", "Sandbox", mgRoot},
	{"Decommissioned", "Decommissioned", mgRoot},
}

func (o *Org) mgName(m int) string {
	if m == mgRoot {
		return o.tenant
	}
	return mgDefs[m].name
}

func (o *Org) mgArm(m int) string {
	return "/providers/Microsoft.Management/managementGroups/" + o.mgName(m)
}

// mgAncestor reports whether management group anc is m or above it.
func mgAncestor(anc, m int) bool {
	for ; m >= 0; m = mgDefs[m].parent {
		if m == anc {
			return true
		}
	}
	return false
}

// subMG is the management group of subscription s: a platform
// subscription, a Corp and a Sandbox one, then Corp, Online, Sandbox and
// Decommissioned landing zones 4:3:2:1.
func (o *Org) subMG(s int) int {
	switch s {
	case 0:
		return mgPlatform
	case 1:
		return mgCorp
	case 2:
		return mgSandbox
	}
	switch r := (s - 3) % 10; {
	case r < 4:
		return mgCorp
	case r < 7:
		return mgOnline
	case r < 9:
		return mgSandbox
	}
	return mgDecommissioned
}

func (o *Org) subID(s int) string { return o.guid(domSub, s, 0) }

func (o *Org) subArm(s int) string { return "/subscriptions/" + o.subID(s) }

func (o *Org) subName(s int) string {
	h := o.hash(domSub, s, 1)
	app, env := appNames[h%uint64(len(appNames))], envNames[h>>8%uint64(len(envNames))]
	n := strconv.Itoa(s)
	switch o.subMG(s) {
	case mgPlatform:
		return "platform-management-" + n
	case mgCorp:
		return "corp-" + app + "-" + env + "-" + n
	case mgOnline:
		return "online-" + app + "-" + env + "-" + n
	case mgSandbox:
		return "sandbox-" + strings.ToLower(firstNames[h>>16%uint64(len(firstNames))]) + "-" + n
	}
	return "legacy-" + app + "-" + n
}

func (o *Org) rgName(s, k int) string {
	h := o.hash(domRG, s, uint64(k))
	return "rg-" + appNames[h%uint64(len(appNames))] + "-" + envNames[h>>8%uint64(len(envNames))] + "-" + strconv.Itoa(k)
}

func (o *Org) rgArm(s, k int) string { return o.subArm(s) + "/resourceGroups/" + o.rgName(s, k) }

var locations = []string{"westeurope", "northeurope", "eastus2", "swedencentral", "uksouth"}

// resourceType is the ARM type and name prefix of a resource kind that
// assignments may be scoped to.
func resourceType(kind string) (provider, prefix string) {
	switch kind {
	case "aks":
		return "Microsoft.ContainerService/managedClusters", "aks-"
	case "storage":
		return "Microsoft.Storage/storageAccounts", "st"
	case "vault":
		return "Microsoft.KeyVault/vaults", "kv-"
	case "acr":
		return "Microsoft.ContainerRegistry/registries", "acr"
	}
	return "Microsoft.ManagedIdentity/userAssignedIdentities", "id-"
}

func (o *Org) resourceArm(s, k int, kind string, h uint64) string {
	provider, prefix := resourceType(kind)
	name := prefix + appNames[h%uint64(len(appNames))] + strconv.Itoa(int(h>>8%4))
	return o.rgArm(s, k) + "/providers/" + provider + "/" + name
}

// planRoles lists the role definitions: the built-in ones, an "App
// Deployer" custom role in every third subscription (assignable there
// only), and "Platform Deployer" defined at the Platform management group,
// which no subscription lists (the collector fetches it by id).
func (o *Org) planRoles() {
	o.armRoles = builtinRoles()
	o.roleByName = map[string]int{}
	for i, r := range o.armRoles {
		o.roleByName[r.Name] = i
	}
	o.subRoleBase = len(o.armRoles)
	for s := 1; s < o.cfg.Subscriptions; s += 3 {
		o.armRoles = append(o.armRoles, roleDef{
			GUID: o.guid(domRoleDef, s, 0), Name: "App Deployer (" + o.subName(s) + ")",
			Description: "Deploys the workloads of " + o.subName(s) + " to Container Apps", DefScope: o.subArm(s),
			Perms: []permBlock{{Actions: []string{"Microsoft.App/containerApps/*", "Microsoft.App/managedEnvironments/join/action",
				"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.Resources/subscriptions/resourceGroups/read"}}},
		})
	}
	o.mgRole = len(o.armRoles)
	o.armRoles = append(o.armRoles, roleDef{
		GUID: o.guid(domRoleDef, 1<<20, 0), Name: "Platform Deployer", Description: "Runs platform workloads on AKS and ACI",
		DefScope: o.mgArm(mgPlatform),
		Perms: []permBlock{{Actions: []string{"Microsoft.ContainerService/managedClusters/*", "Microsoft.ContainerInstance/containerGroups/*", "Microsoft.Resources/deployments/*"},
			NotActions: []string{"Microsoft.ContainerService/managedClusters/delete"}}},
	})
}

// subRole returns the custom role of subscription s, or -1.
func (o *Org) subRole(s int) int {
	if s%3 != 1 {
		return -1
	}
	return o.subRoleBase + (s-1)/3
}

func (o *Org) role(name string) int { return o.roleByName[name] }

// rbacAssignment is one Azure role assignment or PIM eligibility.
type rbacAssignment struct {
	guid      string
	principal ref
	unknown   string // deleted principal's object id ("Unknown" type)
	role      int    // index in armRoles
	scope     string // ARM scope
	sub, mg   int    // subscription of the scope, else -1 and the management group (-1 with scope "/")
	condition string
	eligible  bool
}

func (a rbacAssignment) principalType() string {
	switch {
	case a.unknown != "":
		return "Unknown"
	case a.principal.kind() == refUser:
		return "User"
	case a.principal.kind() == refGroup:
		return "Group"
	}
	return "ServicePrincipal"
}

// poolRoles are the ordinary assignments' roles and the resource kind
// they are often scoped to.
var poolRoles = []struct {
	name string
	w    int
	res  string
}{
	{"Reader", 30, ""},
	{"Contributor", 12, ""},
	{"Storage Blob Data Reader", 6, "storage"},
	{"Storage Blob Data Contributor", 4, "storage"},
	{"Key Vault Secrets User", 5, "vault"},
	{"Azure Kubernetes Service Cluster User Role", 5, "aks"},
	{"AcrPull", 4, "acr"},
	{"AcrPush", 2, "acr"},
	{"Azure Kubernetes Service RBAC Writer", 3, "aks"},
	{"Azure Kubernetes Service RBAC Reader", 3, "aks"},
	{"Azure Kubernetes Service Contributor Role", 2, "aks"},
	{"Container Apps Contributor", 3, ""},
	{"Container Apps Operator", 2, ""},
	{"Azure Container Instances Contributor Role", 2, ""},
	{"Website Contributor", 3, ""},
	{"Virtual Machine Contributor", 3, ""},
	{"Network Contributor", 3, ""},
	{"Monitoring Reader", 3, ""},
	{"Log Analytics Reader", 2, ""},
	{"Managed Identity Operator", 1, "uami"},
	{"Owner", 1, ""},
	{"User Access Administrator", 1, ""},
	{"Role Based Access Control Administrator", 1, ""},
	{"Security Reader", 2, ""},
	{"", 2, ""}, // the subscription's App Deployer custom role, else Contributor
}

const abacCondition = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'))"

// readOnly reports the roles that are the only ones a whole department
// gets.
func readOnly(role string) bool {
	switch role {
	case "Reader", "Monitoring Reader", "Log Analytics Reader", "Security Reader", "Storage Blob Data Reader",
		"Key Vault Secrets User", "AcrPull", "Azure Kubernetes Service RBAC Reader", "Azure Kubernetes Service Cluster User Role":
		return true
	}
	return false
}

// pickGroup picks a group an Azure role would be assigned to: teams,
// security-enabled small groups, bottom chain groups and, for read-only
// roles, departments.
func (o *Org) pickGroup(h uint64, readOnly bool) ref {
	x := unit(h)
	if !readOnly && x >= 0.85 && x < 0.95 {
		x -= 0.85
	}
	switch {
	case x < 0.45:
		return o.groupRef(o.teamStart + int(h>>8%uint64(o.nTeam)))
	case x < 0.85:
		for t := range 4 {
			g := o.smallStart + int(splitmix(h+uint64(t))%uint64(o.nSmall))
			if g != o.hiddenGroup && o.group(g).security {
				return o.groupRef(g)
			}
		}
		return o.groupRef(o.teamStart + int(h>>8%uint64(o.nTeam)))
	case x < 0.95:
		return o.groupRef(o.deptStart + int(h>>8%uint64(o.nDept)))
	}
	return o.groupRef(o.chainStart + o.cfg.Depth*int(h>>8%uint64(o.nChain)))
}

// poolAssignment returns ordinary Azure role assignment i (eligible: of
// the PIM pool); a changed assignment is replaced by a new one.
func (o *Org) poolAssignment(i int, eligible bool) rbacAssignment {
	dom := domRA
	if eligible {
		dom = domRBACElig
	}
	gen, _ := o.state(dom, i, 1)
	h := o.hash(dom, i, uint64(gen))
	a := rbacAssignment{guid: o.guid(dom, i, gen), eligible: eligible, sub: int(h % uint64(o.cfg.Subscriptions)), mg: -1}
	res := ""
	if eligible {
		names := []string{"Owner", "Contributor", "Azure Kubernetes Service Cluster Admin Role", "User Access Administrator", "Key Vault Secrets User", "Azure Kubernetes Service RBAC Cluster Admin"}
		a.role = o.role(names[benchgen.Weighted(unit(splitmix(h^1)), []int{20, 35, 15, 10, 10, 10})])
	} else {
		w := make([]int, len(poolRoles))
		for k, r := range poolRoles {
			w[k] = r.w
		}
		pr := poolRoles[benchgen.Weighted(unit(splitmix(h^1)), w)]
		res = pr.res
		switch {
		case pr.name != "":
			a.role = o.role(pr.name)
		case o.subRole(a.sub) >= 0:
			a.role = o.subRole(a.sub)
		default:
			a.role = o.role("Contributor")
		}
		if res == "storage" && unit(splitmix(h^9)) < 0.3 {
			a.condition = abacCondition
		}
	}
	switch x := unit(splitmix(h ^ 2)); {
	case eligible && x < 0.5, !eligible && x >= 0.02 && x < 0.17:
		a.scope = o.subArm(a.sub)
	case !eligible && x < 0.02 && a.role < o.subRoleBase:
		a.sub, a.mg = -1, []int{mgLandingZones, mgCorp, mgOnline, mgSandbox}[h>>40%4]
		a.scope = o.mgArm(a.mg)
	default:
		rg := int(splitmix(h^3) % uint64(o.cfg.ResourceGroups))
		a.scope = o.rgArm(a.sub, rg)
		if res != "" && unit(splitmix(h^4)) < 0.4 {
			a.scope = o.resourceArm(a.sub, rg, res, splitmix(h^5))
		}
	}
	switch x := unit(splitmix(h ^ 6)); {
	case (!eligible && x < 0.5) || (eligible && x < 0.25):
		a.principal = o.pickGroup(splitmix(h^7), readOnly(o.armRoles[a.role].Name))
	case x < 0.87 || eligible || o.nTenantSP == 0:
		u := o.pickUser(splitmix(h ^ 8))
		if guests := (o.cfg.Users + 42) / 50; guests > 0 && unit(splitmix(h^10)) < 0.04 {
			u = 50*int(splitmix(h^11)%uint64(guests)) + 7 // an external collaborator
		}
		a.principal = o.userRef(u)
	default:
		s := o.spBase + int(splitmix(h^12)%uint64(max(o.cfg.ServicePrincipals-o.spBase, 1)))
		if k, _ := o.spKindOf(s); k != skTenantApp && k != skMI {
			s = o.tenantSPIndex(int(splitmix(h^13) % uint64(o.nTenantSP)))
		}
		a.principal = o.spRef(s)
	}
	return a
}

// fixedAssignments are the landing-zone RBAC every tenant of this shape
// has, and the deploy grants at the top of the nesting chains (every
// other chain; the rest get Reader).
func (o *Org) fixedAssignments() []rbacAssignment {
	fixed := func(n int, g int, role string, mg int) rbacAssignment {
		return rbacAssignment{guid: o.guid(domRA, 1<<30+n, 0), principal: o.groupRef(g), role: o.role(role), scope: o.mgArm(mg), sub: -1, mg: mg}
	}
	out := []rbacAssignment{
		fixed(1, 0, "Reader", mgRoot),
		fixed(2, 1+spPlatformOwners, "Owner", mgRoot),
		fixed(3, 1+spCloudEngineering, "Contributor", mgPlatform),
		fixed(5, 1+spAKSAdmins, "Azure Kubernetes Service Cluster Admin Role", mgLandingZones),
		fixed(6, 1+spContractors, "Contributor", mgSandbox),
		fixed(7, 1+spSecOps, "Reader", mgRoot),
		fixed(8, 1+spSecOps, "Security Reader", mgRoot),
	}
	pd := fixed(4, 1+spCloudEngineering, "", mgPlatform)
	pd.role = o.mgRole
	out = append(out, pd)
	// The platform team operates the shared user-assigned identities.
	out = append(out, rbacAssignment{guid: o.guid(domRA, 1<<30+11, 0), principal: o.groupRef(1 + spCloudEngineering),
		role: o.role("Managed Identity Operator"), scope: o.resourceArm(0, 0, "uami", o.hash(domRA, 1<<30+11)), sub: 0, mg: -1})
	// Elevated access left switched on: User Access Administrator at "/".
	out = append(out, rbacAssignment{guid: o.guid(domRA, 1<<30+9, 0), principal: o.userRef(o.pickUser(o.hash(domRA, 1<<30+9))),
		role: o.role("User Access Administrator"), scope: "/", sub: -1, mg: -1})
	deploy := []string{"Contributor", "Azure Kubernetes Service Contributor Role", "Azure Container Instances Contributor Role",
		"Container Apps Contributor", "Website Contributor", "Azure Kubernetes Service RBAC Writer"}
	for c := range o.nChain {
		top := o.chainStart + c*o.cfg.Depth + o.cfg.Depth - 1
		s, rg := c%o.cfg.Subscriptions, c%o.cfg.ResourceGroups
		a := rbacAssignment{guid: o.guid(domRA, 1<<30+100+c, 0), principal: o.groupRef(top), sub: s, mg: -1, scope: o.subArm(s)}
		switch name := deploy[c/2%len(deploy)]; {
		case c%2 == 1:
			a.role = o.role("Reader")
		case name == "Azure Kubernetes Service RBAC Writer":
			a.role, a.scope = o.role(name), o.resourceArm(s, rg, "aks", o.hash(domRA, c, 77))
		default:
			a.role = o.role(name)
			if c%4 == 2 {
				a.scope = o.rgArm(s, rg)
			}
		}
		out = append(out, a)
	}
	return out
}

// unknownAssignment is an assignment left behind by a deleted principal
// (Faults): ARM lists it with principalType "Unknown".
func (o *Org) unknownAssignment() rbacAssignment {
	return rbacAssignment{guid: o.guid(domRA, 1<<30+10, 0), unknown: o.guid(domUser, 1<<41, 0),
		role: o.role("Reader"), scope: o.rgArm(0, 0), sub: 0, mg: -1}
}

// denyAssignment is one deny assignment of a subscription.
type denyAssignment struct {
	guid, name, scope string
	actions           []string
	principal         ref // Contractors; zero with everyone
	everyone          bool
	exclude           ref // with everyone: the service principal exempted
}

// denies lists subscription s's deny assignments: Sandbox subscriptions
// deny Contractors any container deployment; every fifth subscription
// (from the second) has a deployment stack protecting a resource group
// from everyone but its pipeline.
func (o *Org) denies(s int) []denyAssignment {
	var out []denyAssignment
	if o.subMG(s) == mgSandbox {
		out = append(out, denyAssignment{guid: o.guid(domRA, 1<<31+s, 0), name: "contractors: no container deployments in " + o.subName(s),
			scope: o.subArm(s), principal: o.groupRef(1 + spContractors),
			actions: []string{"Microsoft.ContainerInstance/*/write", "Microsoft.ContainerInstance/*/action", "Microsoft.App/*/write",
				"Microsoft.App/*/action", "Microsoft.ContainerService/*/write", "Microsoft.ContainerService/*/action", "Microsoft.Web/*/write", "Microsoft.Web/*/action"}})
	}
	if s%5 == 1 && o.nTenantSP > 0 {
		out = append(out, denyAssignment{guid: o.guid(domRA, 1<<32+s, 0), name: "Deny assignment created by Deployment Stack 'stack-" + o.rgName(s, 0) + "'",
			scope: o.rgArm(s, 0), everyone: true, exclude: o.spRef(o.tenantSPIndex(s % o.nTenantSP)),
			actions: []string{"*/delete", "*/write"}})
	}
	return out
}
