package azureactivity_test

import (
	"os"
	"testing"

	"permgraph/detect/azureactivity"
	"permgraph/detect/event"
	"permgraph/detect/internal/sampletest"
)

var ts = sampletest.Time

func TestSharedSamples(t *testing.T) {
	res := sampletest.Shared(t, "azure-activity", azureactivity.Format, map[string]sampletest.Counts{
		"msdocs-activity-log-administrative-rest-sample.json":      {Records: 1, Events: 1},
		"msdocs-activity-log-storage-eventhub-records-sample.json": {Records: 1, Events: 1},
	})
	tests := []sampletest.Case{
		{
			Name: "REST API shape (single object document)",
			File: "msdocs-activity-log-administrative-rest-sample.json", Line: 1,
			Want: event.Event{Time: ts("2018-01-29T20:42:31.3810679Z"), Format: "azure-activity", Cloud: "azure",
				ID:      "aaaa0000-bb11-2222-33cc-444444dddddd|Microsoft.Network/networkSecurityGroups/write|Succeeded",
				Service: "Microsoft.Network", Action: "Microsoft.Network/networkSecurityGroups/write", Class: event.Other, Outcome: event.Success,
				Actor: event.Actor{Raw: "rob@contoso.com", Type: "user", Account: "aaaabbbb-0000-cccc-1111-dddd2222eeee",
					ID: "f409edeb-4d29-44b5-9763-ee9348ad91bb", SourceIP: "111.111.1.111"},
				Scope:    "<subscription ID>",
				Resource: "/subscriptions/<subscription ID>/resourcegroups/myResourceGroup/providers/Microsoft.Network/networkSecurityGroups/myNSG",
				Details: map[string]string{"status": "Succeeded", "correlationId": "aaaa0000-bb11-2222-33cc-444444dddddd", "category": "Administrative",
					"appid": "00001111-aaaa-2222-bbbb-3333cccc4444", "upn": "rob@contoso.com"}},
		},
		{
			Name: "storage / Event Hubs export with authorization evidence",
			File: "msdocs-activity-log-storage-eventhub-records-sample.json", Line: 3,
			Want: event.Event{Time: ts("2019-01-21T22:14:26.9792776Z"), Format: "azure-activity", Cloud: "azure",
				ID:      "aaaa6666-bb77-8888-99cc-000000dddddd|microsoft.support/supporttickets/write|Success",
				Service: "microsoft.support", Action: "microsoft.support/supporttickets/write", Class: event.Other, Outcome: event.Success,
				Actor: event.Actor{Raw: "admin@contoso.com", Type: "user", Account: "ffffffff-eeee-dddd-cccc-bbbbbbbbbbb0",
					ID: "123abc45-8211-44e3-95xq-85137af64708", SourceIP: "111.111.111.11"},
				Scope:    "s1",
				Resource: "/subscriptions/s1/resourceGroups/MSSupportGroup/providers/microsoft.support/supporttickets/123456112305841",
				Details: map[string]string{"status": "Success", "correlationId": "aaaa6666-bb77-8888-99cc-000000dddddd", "category": "Write",
					"appid": "11112222-bbbb-3333-cccc-4444dddd5555", "upn": "admin@contoso.com",
					"evidenceRole": "Azure Eventhubs Service Role", "roleAssignmentId": "123abc2a6c314b0ab03a891259123abc",
					"roleAssignmentScope": "/subscriptions/bbbb1b1b-cc2c-dd3d-ee4e-ffffff5f5f5f", "evidenceRoleDefinitionId": "123456789de042a6a64b29b123456789",
					"evidencePrincipalId": "abcdef038c6444c18f1c31311fabcdef", "evidencePrincipalType": "ServicePrincipal"}},
		},
	}
	res.CheckEvents(t, tests)
}

func TestParseRecord(t *testing.T) {
	const sub = "00000000-1111-2222-3333-444444444444"
	tests := []sampletest.ParseCase{
		{
			Name: "Log Analytics row: role assignment written, claims and properties as JSON strings",
			Raw: `{"TimeGenerated":"2025-01-02T03:04:05Z","OperationNameValue":"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE","ActivityStatusValue":"Success",` +
				`"Caller":"9f1c0000-0000-0000-0000-000000000001","CallerIpAddress":"198.51.100.7","CorrelationId":"c1","SubscriptionId":"` + sub + `",` +
				`"_ResourceId":"/subscriptions/` + sub + `/resourcegroups/rg/providers/microsoft.authorization/roleassignments/ra1","CategoryValue":"Administrative",` +
				`"Claims":"{\"appid\":\"app-1\",\"idtyp\":\"app\",\"http://schemas.microsoft.com/identity/claims/objectidentifier\":\"9f1c0000-0000-0000-0000-000000000001\",\"http://schemas.microsoft.com/identity/claims/tenantid\":\"t1\"}",` +
				`"Properties":"{\"requestbody\":\"{\\\"Id\\\":\\\"ra1\\\",\\\"Properties\\\":{\\\"PrincipalId\\\":\\\"p-eve\\\",\\\"PrincipalType\\\":\\\"User\\\",\\\"RoleDefinitionId\\\":\\\"/subscriptions/` + sub + `/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c\\\",\\\"Scope\\\":\\\"/subscriptions/` + sub + `\\\"}}\"}"}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "azure-activity", Cloud: "azure", ID: "c1|MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE|Success",
				Service: "MICROSOFT.AUTHORIZATION", Action: "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", Class: event.Grant, Outcome: event.Success,
				Actor: event.Actor{Raw: "9f1c0000-0000-0000-0000-000000000001", Type: "app", Account: "t1", ID: "9f1c0000-0000-0000-0000-000000000001", SourceIP: "198.51.100.7"},
				Scope: sub, Resource: "/subscriptions/" + sub + "/resourcegroups/rg/providers/microsoft.authorization/roleassignments/ra1",
				Details: map[string]string{"status": "Success", "correlationId": "c1", "appid": "app-1", "op": "add",
					"member": "p-eve", "principalType": "User", "role": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"}},
		},
		{
			Name: "REST shape: ACI container group with a user-assigned identity",
			Raw: `{"eventTimestamp":"2025-01-02T03:04:05Z","operationName":{"value":"Microsoft.ContainerInstance/containerGroups/write"},"status":{"value":"Succeeded"},` +
				`"caller":"eve@contoso.com","correlationId":"c2","subscriptionId":"` + sub + `","resourceId":"/subscriptions/` + sub + `/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg",` +
				`"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"eve@contoso.com","http://schemas.microsoft.com/identity/claims/objectidentifier":"oid-eve"},` +
				`"properties":{"requestbody":"{\"location\":\"westeurope\",\"identity\":{\"type\":\"UserAssigned\",\"userAssignedIdentities\":{\"/subscriptions/` + sub + `/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/admin-mi\":{}}},\"properties\":{\"containers\":[{\"name\":\"c\",\"properties\":{\"image\":\"docker.io/library/alpine:latest\",\"command\":[\"sh\",\"-c\",\"sleep 1d\"]}}]}}"}}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "azure-activity", Cloud: "azure", ID: "c2|Microsoft.ContainerInstance/containerGroups/write|Succeeded",
				Service: "Microsoft.ContainerInstance", Action: "Microsoft.ContainerInstance/containerGroups/write", Class: event.Deploy, Outcome: event.Success,
				Actor: event.Actor{Raw: "eve@contoso.com", Type: "user", ID: "oid-eve"},
				Scope: sub, Resource: "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg",
				Details: map[string]string{"status": "Succeeded", "correlationId": "c2", "upn": "eve@contoso.com", "surface": "aci",
					"image": "docker.io/library/alpine:latest", "command": "sh -c sleep 1d",
					"serviceAccount": "/subscriptions/" + sub + "/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/admin-mi"}},
		},
		{
			Name: "export shape: AKS run command refused",
			Raw: `{"time":"2025-01-02T03:04:05Z","operationName":"MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/RUNCOMMAND/ACTION","resultType":"Failure","resultSignature":"Failed.Forbidden",` +
				`"correlationId":"c3","resourceId":"/SUBSCRIPTIONS/` + sub + `/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1","callerIpAddress":"203.0.113.5",` +
				`"identity":{"claims":{"upn":"mallory@contoso.com","oid":"oid-m"}}}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "azure-activity", Cloud: "azure", ID: "c3|MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/RUNCOMMAND/ACTION|Failure",
				Service: "MICROSOFT.CONTAINERSERVICE", Action: "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/RUNCOMMAND/ACTION", Class: event.Exec, Outcome: event.Denied,
				ErrorCode: "Failed.Forbidden",
				Actor:     event.Actor{Raw: "mallory@contoso.com", Type: "user", ID: "oid-m", SourceIP: "203.0.113.5"},
				Scope:     sub, Resource: "/SUBSCRIPTIONS/" + sub + "/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS1",
				Details: map[string]string{"status": "Failure", "correlationId": "c3", "upn": "mallory@contoso.com", "surface": "aks"}},
		},
		{
			Name: "Started record: outcome unknown",
			Raw:  `{"eventTimestamp":"2025-01-02T03:04:05Z","operationName":{"value":"Microsoft.App/containerApps/write"},"status":{"value":"Started"},"caller":"eve@contoso.com","correlationId":"c4","subscriptionId":"s"}`,
			Want: event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "azure-activity", Cloud: "azure", ID: "c4|Microsoft.App/containerApps/write|Started",
				Service: "Microsoft.App", Action: "Microsoft.App/containerApps/write", Class: event.Deploy, Outcome: event.Unknown,
				Actor: event.Actor{Raw: "eve@contoso.com", Type: "user"}, Scope: "s",
				Details: map[string]string{"status": "Started", "correlationId": "c4", "surface": "containerapps"}},
		},
	}
	sampletest.CheckParse(t, tests, azureactivity.ParseRecord)
}

func TestParseRecordErrors(t *testing.T) {
	tests := []sampletest.ErrCase{
		{Name: "no operation", Raw: `{"caller":"x","resourceId":"/subscriptions/s"}`, Unrecognized: true},
		{Name: "array", Raw: `[]`, Unrecognized: true},
		{Name: "wrong type in a record", Raw: `{"operationName":{"value":"a/b"},"caller":5}`, Unrecognized: false},
		{Name: "truncated", Raw: `{"operationName":{"value":"a/b"}`, Unrecognized: false},
	}
	sampletest.CheckErrors(t, azureactivity.ParseRecord, tests)
}

func TestClassify(t *testing.T) {
	tests := []struct {
		op   string
		want event.Class
	}{
		{"Microsoft.Authorization/roleAssignments/write", event.Grant},
		{"microsoft.authorization/roleassignments/delete", event.Grant},
		{"Microsoft.ContainerInstance/containerGroups/containers/exec/action", event.Exec},
		{"Microsoft.App/jobs/start/action", event.Deploy},
		{"Microsoft.Web/sites/write", event.Deploy},
		{"Microsoft.ContainerService/managedClusters/agentPools/write", event.Deploy},
		{"Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", event.Identity},
		{"Microsoft.ContainerInstance/containerGroups/delete", event.Delete},
		{"Microsoft.Storage/storageAccounts/listKeys/action", event.Other},
	}
	for _, tt := range tests {
		if got := azureactivity.Classify(tt.op).Class; got != tt.want {
			t.Errorf("Classify(%s) = %v, want %v", tt.op, got, tt.want)
		}
	}
}

func FuzzAzureActivity(f *testing.F) {
	f.Add([]byte(`{"operationName":{"value":"Microsoft.Authorization/roleAssignments/write"},"status":{"value":"Succeeded"},"claims":"{\"oid\":\"x\"}","properties":{"requestbody":"{\"properties\":{\"principalId\":\"p\"}}"}}`))
	f.Add([]byte(`{"time":"2025-01-01T00:00:00Z","operationName":"x/y","resultType":"Failure","identity":{"authorization":{"evidence":{"role":"r"}}}}`))
	if b, err := os.ReadFile(sampletest.Path("azure-activity", "msdocs-activity-log-administrative-rest-sample.json")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := azureactivity.ParseRecord(raw)
		if err != nil {
			return
		}
		if ev.Format != azureactivity.Format || ev.Action == "" {
			t.Fatalf("bad event %+v", ev)
		}
	})
}
