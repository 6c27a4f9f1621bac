package graphactivity_test

import (
	"os"
	"strings"
	"testing"

	"permgraph/detect/event"
	"permgraph/detect/graphactivity"
	"permgraph/detect/internal/sampletest"
)

var ts = sampletest.Time

// The shared folder holds Entra AuditLogs rows (Log Analytics shape); Graph
// activity records are covered by the synthetic cases below.
func TestSharedSamples(t *testing.T) {
	res := sampletest.Shared(t, "graph-activity", "graph-activity", map[string]sampletest.Counts{"otrf-goldensaml-AADAuditEvents.jsonl": {Records: 4, Events: 4}})
	actor := event.Actor{Raw: "pgustavo@simulandlabs.com", Type: "user", Account: "00000000-0000-0000-0000-000000000000",
		ID: "aead923d-498b-4f64-a66c-2af91447a8b6", UserAgent: "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.17763.1971"}
	const file = "otrf-goldensaml-AADAuditEvents.jsonl"
	tests := []sampletest.Case{
		{
			Name: "application secret added (credential for an identity)", File: file, Line: 1,
			Want: event.Event{Time: ts("2021-08-02T13:29:25.983Z"), Format: "entra-audit", Cloud: "azure",
				ID: "Directory_10065ffb-8199-48bc-8ff5-912cb5b8295a_AUMVX_13992832", Service: "Core Directory",
				Action: "Update application – Certificates and secrets management", Class: event.Identity, Outcome: event.Success,
				Actor: actor, Scope: "00000000-0000-0000-0000-000000000000", Resource: "11b49e19-2326-4be6-93cb-7f37439bbd81",
				Details: map[string]string{"category": "ApplicationManagement", "correlationId": "10065ffb-8199-48bc-8ff5-912cb5b8295a",
					"targetType": "Application", "targetName": "SimuLandApp"}},
		},
		{
			Name: "delegated permission grant (consent)", File: file, Line: 4,
			Want: event.Event{Time: ts("2021-08-02T13:27:20.017Z"), Format: "entra-audit", Cloud: "azure",
				ID: "Directory_630d7f0c-acc4-4596-85ab-7e5d839b4291_9VRQI_37762000", Service: "Core Directory",
				Action: "Add delegated permission grant", Class: event.Grant, Outcome: event.Success,
				Actor: actor, Scope: "00000000-0000-0000-0000-000000000000", Resource: "401dd906-ea4f-4d41-b762-7e936d222368",
				Details: map[string]string{"category": "ApplicationManagement", "correlationId": "630d7f0c-acc4-4596-85ab-7e5d839b4291",
					"targetType": "ServicePrincipal", "targetName": "Microsoft Graph", "op": "add",
					"member": "0d2f5969-011b-460d-ac74-3291d227d49f", "memberId": "0d2f5969-011b-460d-ac74-3291d227d49f",
					"role": "User.Read Mail.ReadWrite", "resourceApp": "401dd906-ea4f-4d41-b762-7e936d222368"}},
		},
	}
	res.CheckEvents(t, tests)
	if got := res.Find("otrf-goldensaml-AADAuditEvents.jsonl", 3); len(got) != 1 || got[0].Class != event.Other || got[0].Action != "Update application" {
		t.Errorf("line 3: %+v", got)
	}
}

func TestParseGraphActivity(t *testing.T) {
	tests := []sampletest.ParseCase{
		{
			Name: "Event Hubs export: delegated user lists a group's members (beta, cast, query)",
			Raw: `{"time":"2025-01-02T03:04:05.1234567Z","resourceId":"/TENANTS/T1/PROVIDERS/MICROSOFT.AADIAM","operationName":"Microsoft Graph Activity","category":"MicrosoftGraphActivityLogs","tenantId":"t1",` +
				`"properties":{"timeGenerated":"2025-01-02T03:04:05.1234567Z","requestId":"r1","operationId":"o1","requestMethod":"GET","requestUri":"https://graph.microsoft.com/beta/groups/5c2a0000-0000-0000-0000-00000000aaaa/transitiveMembers/microsoft.graph.user?$top=999&$select=id",` +
				`"responseStatusCode":200,"userId":"u-eve","servicePrincipalId":null,"appId":"d3590ed6-52b3-4102-aeff-aad2292ab01c","ipAddress":"203.0.113.4","userAgent":"python-requests/2.31.0","apiVersion":"beta","signInActivityId":"s1","tenantId":"t1","location":"West Europe"}}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05.1234567Z"), Format: "graph-activity", Cloud: "azure", ID: "r1",
				Service: "graph.microsoft.com", Action: "GET /groups/{id}/transitivemembers", Class: event.DiscoveryGroup, Outcome: event.Success,
				Actor: event.Actor{Raw: "u-eve", Type: "user", Account: "t1", ID: "u-eve", UserAgent: "python-requests/2.31.0", SourceIP: "203.0.113.4"},
				Scope: "t1", Region: "West Europe", Resource: "/groups/5c2a0000-0000-0000-0000-00000000aaaa/transitiveMembers/microsoft.graph.user",
				Details: map[string]string{"group": "5c2a0000-0000-0000-0000-00000000aaaa", "statusCode": "200",
					"appId": "d3590ed6-52b3-4102-aeff-aad2292ab01c", "apiVersion": "beta", "operationId": "o1", "signInActivityId": "s1"}},
		},
		{
			Name: "Log Analytics row: app-only self-add to a group",
			Raw: `{"TimeGenerated":"2025-01-02T03:04:05Z","RequestId":"r2","OperationId":"o2","RequestMethod":"POST","RequestUri":"https://graph.microsoft.com/v1.0/groups/g1/members/$ref",` +
				`"ResponseStatusCode":204,"ServicePrincipalId":"sp-1","AppId":"app-1","IPAddress":"198.51.100.2","UserAgent":"","TenantId":"t1","Type":"MicrosoftGraphActivityLogs"}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "graph-activity", Cloud: "azure", ID: "r2",
				Service: "graph.microsoft.com", Action: "POST /groups/{id}/members/$ref", Class: event.Grant, Outcome: event.Success,
				Actor: event.Actor{Raw: "sp-1", Type: "servicePrincipal", Account: "t1", ID: "sp-1", SourceIP: "198.51.100.2"},
				Scope: "t1", Resource: "/groups/g1/members/$ref",
				Details: map[string]string{"op": "add", "group": "g1", "statusCode": "204", "appId": "app-1", "operationId": "o2"}},
		},
		{
			Name: "own memberships, forbidden",
			Raw:  `{"TimeGenerated":"2025-01-02T03:04:05Z","RequestId":"r3","RequestMethod":"GET","RequestUri":"https://graph.microsoft.com/v1.0/me/transitiveMemberOf?$count=true","ResponseStatusCode":"403","UserId":"u1","TenantId":"t1"}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "graph-activity", Cloud: "azure", ID: "r3",
				Service: "graph.microsoft.com", Action: "GET /me/transitivememberof", Class: event.SelfProbe, Outcome: event.Denied, ErrorCode: "403",
				Actor: event.Actor{Raw: "u1", Type: "user", Account: "t1", ID: "u1"}, Scope: "t1", Resource: "/me/transitiveMemberOf",
				Details: map[string]string{"statusCode": "403"}},
		},
	}
	sampletest.CheckParse(t, tests, graphactivity.ParseRecord)
}

func TestParseEntraAudit(t *testing.T) {
	tests := []sampletest.ParseCase{
		{
			Name: "Graph API directoryAudit: user added to a group",
			Raw: `{"id":"Directory_a1","category":"GroupManagement","correlationId":"c1","result":"success","activityDisplayName":"Add member to group","activityDateTime":"2025-01-02T03:04:05Z","loggedByService":"Core Directory",` +
				`"initiatedBy":{"user":{"id":"u-admin","userPrincipalName":"admin@contoso.com","ipAddress":"198.51.100.9"}},` +
				`"targetResources":[{"id":"u-eve","type":"User","userPrincipalName":"eve@contoso.com","modifiedProperties":[{"displayName":"Group.ObjectID","oldValue":null,"newValue":"\"g-deployers\""},{"displayName":"Group.DisplayName","oldValue":null,"newValue":"\"deployers\""}]},{"id":"g-deployers","type":"Group","displayName":null}]}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "entra-audit", Cloud: "azure", ID: "Directory_a1", Service: "Core Directory",
				Action: "Add member to group", Class: event.Grant, Outcome: event.Success,
				Actor:    event.Actor{Raw: "admin@contoso.com", Type: "user", ID: "u-admin", SourceIP: "198.51.100.9"},
				Resource: "u-eve",
				Details: map[string]string{"category": "GroupManagement", "correlationId": "c1", "targetType": "User", "targetName": "eve@contoso.com",
					"op": "add", "group": "g-deployers", "groupName": "deployers", "member": "eve@contoso.com", "memberId": "u-eve"}},
		},
		{
			Name: "diagnostic export: app adds a member to a directory role",
			Raw: `{"time":"2025-01-02T03:04:05Z","operationName":"Add member to role","category":"AuditLogs","resultType":"Success","tenantId":"t1",` +
				`"properties":{"id":"Directory_b2","activityDisplayName":"Add member to role","result":"success","loggedByService":"Core Directory","activityDateTime":"2025-01-02T03:04:05Z",` +
				`"initiatedBy":{"app":{"servicePrincipalId":"sp-9","appId":"app-9","displayName":"Automation"}},` +
				`"targetResources":[{"id":"u-eve","type":"User","userPrincipalName":"eve@contoso.com","modifiedProperties":[{"displayName":"Role.DisplayName","newValue":"\"Global Administrator\""}]}]}}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "entra-audit", Cloud: "azure", ID: "Directory_b2", Service: "Core Directory",
				Action: "Add member to role", Class: event.Grant, Outcome: event.Success,
				Actor: event.Actor{Raw: "sp-9", Type: "servicePrincipal", Account: "t1", ID: "sp-9"}, Scope: "t1", Resource: "u-eve",
				Details: map[string]string{"category": "AuditLogs", "appId": "app-9", "appName": "Automation", "targetType": "User", "targetName": "eve@contoso.com",
					"op": "add", "member": "eve@contoso.com", "memberId": "u-eve", "role": "Global Administrator"}},
		},
	}
	sampletest.CheckParse(t, tests, graphactivity.ParseRecord)
}

func TestTemplateAndClassify(t *testing.T) {
	tests := []struct {
		method, uri string
		tmpl        string
		class       event.Class
	}{
		{"GET", "https://graph.microsoft.com/v1.0/groups?$filter=securityEnabled eq true", "/groups", event.DiscoveryGroup},
		{"GET", "https://graph.microsoft.com/v1.0/groups/delta", "/groups/delta", event.DiscoveryGroup},
		{"GET", "https://graph.microsoft.com/v1.0/groups/G1/members/$count", "/groups/{id}/members", event.DiscoveryGroup},
		{"GET", "https://graph.microsoft.com/beta//users/eve@contoso.com/memberOf", "/users/{id}/memberof", event.DiscoveryGroup},
		{"POST", "https://graph.microsoft.com/v1.0/users/u1/getMemberGroups", "/users/{id}/getmembergroups", event.DiscoveryGroup},
		{"POST", "https://graph.microsoft.com/v1.0/me/checkMemberGroups", "/me/checkmembergroups", event.SelfProbe},
		{"POST", "https://graph.microsoft.com/v1.0/directoryObjects/getByIds", "/directoryobjects/getbyids", event.DiscoveryGroup},
		{"GET", "https://graph.microsoft.com/v1.0/directoryRoles/R1/members", "/directoryroles/{id}/members", event.DiscoveryPermission},
		{"GET", "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignments?$expand=principal", "/rolemanagement/directory/roleassignments", event.DiscoveryPermission},
		{"POST", "https://graph.microsoft.com/beta/roleManagement/directory/estimateAccess", "/rolemanagement/directory/estimateaccess", event.SelfProbe},
		{"DELETE", "https://graph.microsoft.com/v1.0/groups/G1/members/U1/$ref", "/groups/{id}/members/{id}/$ref", event.Grant},
		{"POST", "https://graph.microsoft.com/v1.0/servicePrincipals/S1/appRoleAssignedTo", "/serviceprincipals/{id}/approleassignedto", event.Grant},
		{"POST", "https://graph.microsoft.com/v1.0/applications/A1/addPassword", "/applications/{id}/addpassword", event.Identity},
		{"GET", "https://graph.microsoft.com/v1.0/me/messages", "/me/messages", event.Other},
		{"GET", "https://graph.microsoft.com/v1.0/organization/a140785b-418d-4344-a4ec-8e9648919f00", "/organization/{id}", event.Other},
		{"GET", "https://graph.windows.net/contoso.onmicrosoft.com/groups?api-version=1.6", "/groups", event.DiscoveryGroup},
	}
	for _, tt := range tests {
		_, path := graphactivity.SplitURI(tt.uri)
		tmpl, _ := graphactivity.Template(path)
		if tmpl != tt.tmpl {
			t.Errorf("Template(%s) = %q, want %q", tt.uri, tmpl, tt.tmpl)
		}
		if got := graphactivity.Classify(tt.method, tmpl).Class; got != tt.class {
			t.Errorf("Classify(%s %s) = %v, want %v", tt.method, tmpl, got, tt.class)
		}
	}
	audits := map[string]event.Class{
		"Add member to group":                                      event.Grant,
		"Add owner to group.":                                      event.Grant,
		"add eligible member to role":                              event.Grant,
		"Remove member from group":                                 event.Grant,
		"Add service principal credentials":                        event.Identity,
		"Update application - Certificates and secrets management": event.Identity,
		"Add user": event.Other,
	}
	for a, want := range audits {
		if got := graphactivity.ClassifyAudit(a).Class; got != want {
			t.Errorf("ClassifyAudit(%q) = %v, want %v", a, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []sampletest.ErrCase{
		{Name: "azure activity", Raw: `{"operationName":{"value":"a/b"},"caller":"x"}`, Unrecognized: true},
		{Name: "sign-in export", Raw: `{"time":"t","category":"SignInLogs","properties":{"userPrincipalName":"x"}}`, Unrecognized: true},
		{Name: "wrong type in a graph record", Raw: `{"RequestUri":"https://graph.microsoft.com/v1.0/groups","RequestMethod":5}`, Unrecognized: false},
		{Name: "truncated", Raw: `{"RequestUri":"https://graph`, Unrecognized: false},
	}
	sampletest.CheckErrors(t, graphactivity.ParseRecord, tests)
}

func FuzzGraphActivity(f *testing.F) {
	f.Add([]byte(`{"category":"MicrosoftGraphActivityLogs","properties":{"requestUri":"https://graph.microsoft.com/v1.0/groups/x/members","requestMethod":"GET","responseStatusCode":200,"userId":"u"}}`))
	f.Add([]byte(`{"ActivityDisplayName":"Add member to group","InitiatedBy":"{\"user\":{\"id\":\"u\"}}","TargetResources":"[{\"id\":\"t\",\"type\":\"User\",\"modifiedProperties\":[{\"displayName\":\"Group.ObjectID\",\"newValue\":\"\\\"g\\\"\"}]}]"}`))
	if b, err := os.ReadFile(sampletest.Path("graph-activity", "otrf-goldensaml-AADAuditEvents.jsonl")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f.Add([]byte(line))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := graphactivity.ParseRecord(raw)
		if err != nil {
			return
		}
		if ev.Format != graphactivity.Format && ev.Format != graphactivity.FormatAudit {
			t.Fatalf("bad event %+v", ev)
		}
	})
}
