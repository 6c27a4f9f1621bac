package azurerbac

import (
	"encoding/json"
	"strings"
	"time"
)

func timeNowPlusHour() time.Time { return time.Now().Add(time.Hour) }

const (
	tTenant = "72f988bf-0000-4000-8000-0000000000aa"
	tSub1   = "aaaaaaaa-0000-4000-8000-000000000001"
	tSub2   = "bbbbbbbb-0000-4000-8000-000000000002"
	tSub3   = "cccccccc-0000-4000-8000-000000000003"

	gOwner       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	gContributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	gReader      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	gUAA         = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	gDeployer    = "d0000000-0000-4000-8000-00000000000d" // custom, listed at sub1
	gMGRole      = "e0000000-0000-4000-8000-00000000000e" // custom, defined at a management group

	pAlice = "a11ce000-0000-4000-8000-000000000001"
	pBob   = "b0b00000-0000-4000-8000-000000000002"
	pOps   = "0b500000-0000-4000-8000-000000000003" // group
	pCI    = "c1c1c1c1-0000-4000-8000-000000000004" // service principal
	pGhost = "99999999-0000-4000-8000-000000000005" // deleted principal ("Unknown")
)

var mgPlatform = "/providers/Microsoft.Management/managementGroups/Platform"
var mgRoot = "/providers/Microsoft.Management/managementGroups/" + tTenant

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func subObj(id, name, state string) string {
	return js(map[string]any{"id": "/subscriptions/" + id, "subscriptionId": id, "tenantId": tTenant,
		"displayName": name, "state": state, "authorizationSource": "RoleBased",
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"}})
}

func entityObj(id, name, typ, display, parent string) string {
	props := map[string]any{"tenantId": tTenant, "displayName": display, "parent": nil}
	if parent != "" {
		props["parent"] = map[string]any{"id": parent}
	}
	return js(map[string]any{"id": id, "name": name, "type": typ, "properties": props})
}

func rgObj(sub, name string) string {
	return js(map[string]any{"id": "/subscriptions/" + sub + "/resourceGroups/" + name, "name": name,
		"type": "Microsoft.Resources/resourceGroups", "location": "westeurope",
		"properties": map[string]any{"provisioningState": "Succeeded"}})
}

type perm struct {
	Actions, NotActions, DataActions, NotDataActions []string
}

func roleDefObj(scope, guid, name, typ string, assignable []string, perms ...perm) string {
	ps := []map[string]any{}
	for _, p := range perms {
		m := map[string]any{"actions": p.Actions, "notActions": p.NotActions}
		if p.DataActions != nil || p.NotDataActions != nil {
			m["dataActions"], m["notDataActions"] = p.DataActions, p.NotDataActions
		}
		ps = append(ps, m)
	}
	return js(map[string]any{"id": scope + "/providers/Microsoft.Authorization/roleDefinitions/" + guid, "name": guid,
		"type": "Microsoft.Authorization/roleDefinitions",
		"properties": map[string]any{"roleName": name, "type": typ, "description": name + " role",
			"assignableScopes": assignable, "permissions": ps,
			"createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2021-11-11T20:13:47.8628684Z"}})
}

func raObj(scope, guid, principal, ptype, roleArm, cond string) string {
	props := map[string]any{"roleDefinitionId": roleArm, "principalId": principal, "principalType": ptype,
		"scope": scope, "condition": nil, "conditionVersion": nil, "createdOn": "2022-01-15T21:08:45.4904312Z",
		"updatedOn": "2022-01-15T21:08:45.4904312Z", "createdBy": pAlice, "updatedBy": pAlice,
		"delegatedManagedIdentityResourceId": nil, "description": nil}
	if cond != "" {
		props["condition"], props["conditionVersion"] = cond, "2.0"
	}
	id := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + guid
	return js(map[string]any{"id": id, "name": guid, "type": "Microsoft.Authorization/roleAssignments", "properties": props})
}

func roleArm(sub, guid string) string {
	return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

const abacCondition = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'builds'))"

// fixture builds the fake tenant:
//
//	root MG (tenant id) -> Platform MG -> sub1 (pages of 3 for role assignments)
//	root MG -> sub2 (every read 403) ; root MG -> sub3 (empty, PIM unlicensed)
func fixture(f *fakeARM) {
	sub1 := "/subscriptions/" + tSub1
	f.add("/subscriptions", []string{subObj(tSub1, "Production", "Enabled"), subObj(tSub2, "Locked", "Enabled")},
		[]string{subObj(tSub3, "Sandbox", "Warned")})
	f.add("/providers/Microsoft.Management/getEntities",
		[]string{
			entityObj(mgRoot, tTenant, "Microsoft.Management/managementGroups", "Tenant Root Group", ""),
			entityObj(mgPlatform, "Platform", "Microsoft.Management/managementGroups", "Platform", mgRoot),
		},
		[]string{
			entityObj(sub1, tSub1, "/subscriptions", "Production", mgPlatform),
			entityObj("/subscriptions/"+tSub2, tSub2, "/subscriptions", "Locked", mgRoot),
			entityObj("/subscriptions/"+tSub3, tSub3, "/subscriptions", "Sandbox", mgRoot),
		})
	rootRA := raObj("/", "f0000000-0000-4000-8000-0000000000f1", pBob, "User",
		"/providers/Microsoft.Authorization/roleDefinitions/"+gUAA, "")
	platformRA := raObj(mgPlatform, "f0000000-0000-4000-8000-0000000000f2", pOps, "Group",
		mgPlatform+"/providers/Microsoft.Authorization/roleDefinitions/"+gMGRole, "")
	f.add(mgRoot+"/providers/Microsoft.Authorization/roleAssignments", []string{rootRA})
	f.add(mgPlatform+"/providers/Microsoft.Authorization/roleAssignments", []string{platformRA, rootRA})
	f.add(mgPlatform+"/providers/Microsoft.Authorization/roleDefinitions/"+gMGRole,
		[]string{roleDefObj(mgPlatform, gMGRole, "Platform Deployer", "CustomRole", []string{mgPlatform},
			perm{Actions: []string{"Microsoft.App/containerApps/*"}})})
	f.single[strings.ToLower(mgPlatform+"/providers/Microsoft.Authorization/roleDefinitions/"+gMGRole)] = true

	f.add(sub1+"/resourcegroups", []string{rgObj(tSub1, "Web-RG"), rgObj(tSub1, "data-rg")})
	f.add(sub1+"/providers/Microsoft.Authorization/roleDefinitions",
		[]string{
			roleDefObj(sub1, gOwner, "Owner", "BuiltInRole", []string{"/"}, perm{Actions: []string{"*"}, NotActions: []string{}}),
			roleDefObj(sub1, gContributor, "Contributor", "BuiltInRole", []string{"/"},
				perm{Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"}, DataActions: []string{}, NotDataActions: []string{}}),
		},
		[]string{
			roleDefObj(sub1, gReader, "Reader", "BuiltInRole", []string{"/"}, perm{Actions: []string{"*/read"}}),
			roleDefObj(sub1, gUAA, "User Access Administrator", "BuiltInRole", []string{"/"},
				perm{Actions: []string{"*/read", "Microsoft.Authorization/*"}}),
			roleDefObj(sub1, gDeployer, "Deployer", "CustomRole", []string{sub1},
				perm{Actions: []string{"Microsoft.ContainerInstance/containerGroups/*"}, NotActions: []string{"Microsoft.ContainerInstance/containerGroups/delete"}},
				perm{Actions: []string{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"}, DataActions: []string{"Microsoft.ContainerService/managedClusters/pods/*"}}),
		})
	storage := sub1 + "/resourceGroups/data-rg/providers/Microsoft.Storage/storageAccounts/BuildCache"
	f.add(sub1+"/providers/Microsoft.Authorization/roleAssignments",
		[]string{
			raObj(sub1, "11111111-0000-4000-8000-000000000101", pAlice, "User", roleArm(tSub1, gOwner), ""),
			raObj(sub1+"/resourcegroups/web-rg", "11111111-0000-4000-8000-000000000102", pOps, "Group", roleArm(tSub1, gReader), ""),
		},
		[]string{
			raObj(storage, "11111111-0000-4000-8000-000000000103", pCI, "ServicePrincipal", roleArm(tSub1, gDeployer), abacCondition),
			raObj(sub1+"/resourceGroups/Web-RG", "11111111-0000-4000-8000-000000000104", pCI, "ServicePrincipal", roleArm(tSub1, gDeployer), ""),
			platformRA, rootRA,
		},
		[]string{
			raObj(sub1, "11111111-0000-4000-8000-000000000105", pGhost, "Unknown", roleArm(tSub1, gContributor), ""),
			raObj(sub1+"/resourceGroups/data-rg", "11111111-0000-4000-8000-000000000106", pOps, "ForeignGroup", roleArm(tSub1, gContributor), ""),
		})
	f.add(sub1+"/providers/Microsoft.Authorization/denyAssignments", []string{js(map[string]any{
		"id":   sub1 + "/resourceGroups/data-rg/providers/Microsoft.Authorization/denyAssignments/dddddddd-0000-4000-8000-000000000001",
		"name": "dddddddd-0000-4000-8000-000000000001", "type": "Microsoft.Authorization/denyAssignments",
		"properties": map[string]any{
			"denyAssignmentName": "Deny assignment 'dddd' created by Deployment Stack", "description": "stack",
			"permissions": []any{map[string]any{"actions": []string{"*/delete", "*/write"}, "notActions": []string{}, "dataActions": []string{}, "notDataActions": []string{}}},
			"scope":       sub1 + "/resourceGroups/data-rg", "doNotApplyToChildScopes": false,
			"principals":        []any{map[string]any{"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}},
			"excludePrincipals": []any{map[string]any{"id": pCI, "type": "ServicePrincipal"}},
			"isSystemProtected": true,
		}})})
	f.add(sub1+"/providers/Microsoft.Authorization/roleEligibilityScheduleInstances", []string{js(map[string]any{
		"id":   sub1 + "/resourceGroups/data-rg/providers/Microsoft.Authorization/roleEligibilityScheduleInstances/eeeeeeee-0000-4000-8000-000000000001",
		"name": "eeeeeeee-0000-4000-8000-000000000001", "type": "Microsoft.Authorization/roleEligibilityScheduleInstances",
		"properties": map[string]any{
			"scope": sub1 + "/resourceGroups/data-rg", "roleDefinitionId": roleArm(tSub1, gOwner),
			"principalId": pAlice, "principalType": "User", "roleEligibilityScheduleId": "x",
			"status": "Provisioned", "startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2025-01-01T00:00:00Z",
			"memberType": "Direct", "createdOn": "2024-01-01T00:00:00Z",
		}})})

	f.forbidden = append(f.forbidden, "/subscriptions/"+tSub2+"/")
	sub3 := "/subscriptions/" + tSub3
	f.add(sub3+"/resourcegroups", []string{})
	f.add(sub3+"/providers/Microsoft.Authorization/roleDefinitions", []string{
		roleDefObj(sub3, gOwner, "Owner", "BuiltInRole", []string{"/"}, perm{Actions: []string{"*"}, NotActions: []string{}})})
	f.add(sub3+"/providers/Microsoft.Authorization/roleAssignments", []string{})
	f.add(sub3+"/providers/Microsoft.Authorization/denyAssignments", []string{})
	f.badRequest[strings.ToLower(sub3+"/providers/Microsoft.Authorization/roleEligibilityScheduleInstances")] = "AadPremiumLicenseRequired"

	// Throttling: page 2 of sub1's role assignments is throttled once with
	// Retry-After; page 1 of its role definitions fails once with 503.
	f.script[strings.ToLower(sub1+"/providers/Microsoft.Authorization/roleAssignments")+"#1"] = []int{429}
	f.script[strings.ToLower(sub1+"/providers/Microsoft.Authorization/roleDefinitions")+"#0"] = []int{503}
}
