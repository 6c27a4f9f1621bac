package gcpaudit_test

import (
	"os"
	"testing"

	"permgraph/detect/event"
	"permgraph/detect/gcpaudit"
	"permgraph/detect/internal/sampletest"
)

var ts = sampletest.Time

// Documented exceptions (docs/detect-formats.md): the gcf1 sample mixes the
// function's own stdout lines (textPayload LogEntries) with audit entries;
// they are not audit records and are counted as Unknown.
func TestSharedSamples(t *testing.T) {
	res := sampletest.Shared(t, "gcp-audit", gcpaudit.Format, map[string]sampletest.Counts{
		"gcpdiag-gce6-logging-entries.json": {Records: 1, Events: 1},
		"gcpdiag-gcf1-logging-entries.json": {Records: 8, Events: 4, Unknown: 4}, // 4 textPayload application log lines
		"gcpdiag-gke3-logging-entries.json": {Records: 4, Events: 4},
	})
	for _, p := range res.Stats.Problems {
		if p.Kind != "unknown" || p.Reason != "gcpaudit: record not recognized: LogEntry is not a Cloud Audit Log entry: textPayload entry (application log)" {
			t.Errorf("unexpected problem %v", p)
		}
	}
	tests := []sampletest.Case{
		{
			Name: "denied instance insert by a service account acting for the compute system agent",
			File: "gcpdiag-gce6-logging-entries.json", Line: 3,
			Want: event.Event{Time: ts("2025-03-28T03:00:05.791453Z"), Format: "gcp-audit", Cloud: "gcp", ID: "-fgyw60e4l3hm",
				Service: "compute.googleapis.com", Action: "v1.compute.instances.insert", Class: event.Other, Outcome: event.Denied,
				ErrorCode: "PERMISSION_DENIED",
				Actor: event.Actor{Raw: "no-compute-perm-sa@gcpdiag-gce6-aaaa.iam.gserviceaccount.com", Type: "serviceAccount",
					Account: "gcpdiag-gce6-aaaa", ID: "serviceAccount:no-compute-perm-sa@gcpdiag-gce6-aaaa.iam.gserviceaccount.com",
					Impersonator: "service-1234560123456@compute-system.iam.gserviceaccount.com",
					UserAgent:    "google-cloud-sdk gcloud/514.0.0 command/gcloud.compute.instances.create invocation-id/98e8e999436b477f9cda937e26044406 environment/GCE environment-version/None client-os/LINUX client-os-ver/6.8.0 client-pltf-arch/x86_64 interactive/False from-script/True python/3.12.8 term/ (Linux 6.8.0-1025-gcp),gzip(gfe)",
					SourceIP:     "35.184.107.186"},
				Scope: "gcpdiag-gce6-aaaa", Region: "us-central1-c", Resource: "projects/gcpdiag-gce6-aaaa/zones/us-central1-c/instances/existing-instance",
				Details: map[string]string{"resourceType": "gce_instance", "logType": "activity",
					"delegationChain": "service-1234560123456@compute-system.iam.gserviceaccount.com",
					"permission":      "compute.instances.create,compute.disks.create,compute.subnetworks.use,compute.subnetworks.useExternalIp,compute.instances.setServiceAccount"}},
		},
		{
			Name: "Cloud Functions CreateFunction, first entry of the long-running operation",
			File: "gcpdiag-gcf1-logging-entries.json", Line: 197,
			Want: event.Event{Time: ts("2022-05-05T11:39:44.533975Z"), Format: "gcp-audit", Cloud: "gcp", ID: "1g5vthid6zm5",
				Service: "cloudfunctions.googleapis.com", Action: "google.cloud.functions.v1.CloudFunctionsService.CreateFunction",
				Class: event.Deploy, Outcome: event.Success,
				Actor: event.Actor{Raw: "atalyk@premium-cloud-support.com", Type: "user", SourceIP: "gce-internal-ip",
					UserAgent: "google-api-go-client/0.5 Terraform/1.0.7 (+https://www.terraform.io) Terraform-Plugin-SDK/2.10.1 terraform-provider-google/dev,gzip(gfe),gzip(gfe)"},
				Scope: "gcpdiag-gcf1-aaaa", Region: "us-central1", Resource: "projects/gcpdiag-gcf1-aaaa/locations/us-central1/functions/gcf1",
				Details: map[string]string{"resourceType": "cloud_function", "logType": "activity", "surface": "functions",
					"operationId": "operations/Z2NwZGlhZy1nY2YxLXZ0OWlkcHdkL3VzLWNlbnRyYWwxL2djZjEvUHZXT3EwVjV1S2c", "operation_first": "true",
					"permission": "cloudfunctions.functions.create"}},
		},
		{
			Name: "GKE CreateCluster last entry: failed, no actor logged",
			File: "gcpdiag-gke3-logging-entries.json", Line: 3,
			Want: event.Event{Time: ts("2024-06-30T14:20:47.243847225Z"), Format: "gcp-audit", Cloud: "gcp", ID: "1vz9lr0ddn5x",
				Service: "container.googleapis.com", Action: "google.container.v1.ClusterManager.CreateCluster",
				Class: event.Deploy, Outcome: event.Failed, ErrorCode: "RESOURCE_EXHAUSTED",
				Scope: "gcpdiag-gke3-gggg", Region: "us-central1-c", Resource: "projects/gcpdiag-gke3-gggg/zones/us-central1-c/clusters/cluster-1",
				Details: map[string]string{"resourceType": "gke_cluster", "logType": "activity", "surface": "gke", "controlPlane": "true",
					"operationId": "operation-1719756871219-5ff98f7e-b0ce-474c-9bb4-589539c82f8b", "operation_last": "true"}},
		},
	}
	res.CheckEvents(t, tests)
	// The operation's last entry is kept too, marked.
	if got := res.Find("gcpdiag-gcf1-logging-entries.json", 127); len(got) != 1 || got[0].Details["operation_last"] != "true" || got[0].Class != event.Deploy {
		t.Errorf("CreateFunction last entry: %+v", got)
	}
}

func entry(service, method, resourceName, request, extra string) string {
	s := `{"insertId":"i1","logName":"projects/p1/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2025-01-02T03:04:05Z",` +
		`"resource":{"type":"x","labels":{"project_id":"p1","location":"europe-west1"}},` +
		`"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"` + service + `","methodName":"` + method + `",` +
		`"resourceName":"` + resourceName + `","authenticationInfo":{"principalEmail":"dev@example.com","principalSubject":"user:dev@example.com"},` +
		`"requestMetadata":{"callerIp":"203.0.113.9","callerSuppliedUserAgent":"gcloud"}`
	if request != "" {
		s += `,"request":` + request
	}
	if extra != "" {
		s += "," + extra
	}
	return s + `}}`
}

func TestParseEntry(t *testing.T) {
	actor := event.Actor{Raw: "dev@example.com", Type: "user", ID: "user:dev@example.com", UserAgent: "gcloud", SourceIP: "203.0.113.9"}
	base := func(service, method, resource string, c event.Class, o event.Outcome, details map[string]string) event.Event {
		d := map[string]string{"resourceType": "x", "logType": "activity"}
		for k, v := range details {
			d[k] = v
		}
		return event.Event{Time: ts("2025-01-02T03:04:05Z"), Format: "gcp-audit", Cloud: "gcp", ID: "i1", Service: service, Action: method,
			Class: c, Outcome: o, Actor: actor, Scope: "p1", Region: "europe-west1", Resource: resource, Details: d}
	}
	tests := []sampletest.ParseCase{
		{
			Name: "Cloud Run v1 CreateService with a runtime service account",
			Raw: entry("run.googleapis.com", "google.cloud.run.v1.Services.CreateService", "namespaces/p1/services/web",
				`{"parent":"namespaces/p1","service":{"apiVersion":"serving.knative.dev/v1","kind":"Service","spec":{"template":{"spec":{"serviceAccountName":"admin-sa@p1.iam.gserviceaccount.com","containers":[{"image":"gcr.io/p1/web:1"}]}}}}}`, ""),
			Want: base("run.googleapis.com", "google.cloud.run.v1.Services.CreateService", "namespaces/p1/services/web", event.Deploy, event.Success,
				map[string]string{"surface": "cloudrun", "image": "gcr.io/p1/web:1", "serviceAccount": "admin-sa@p1.iam.gserviceaccount.com"}),
		},
		{
			Name: "Cloud Run v2 CreateService",
			Raw: entry("run.googleapis.com", "google.cloud.run.v2.Services.CreateService", "projects/p1/locations/europe-west1/services/web",
				`{"service":{"template":{"serviceAccount":"run-sa@p1.iam.gserviceaccount.com","containers":[{"image":"europe-docker.pkg.dev/p1/r/web:2"},{"image":"busybox"}]}}}`, ""),
			Want: base("run.googleapis.com", "google.cloud.run.v2.Services.CreateService", "projects/p1/locations/europe-west1/services/web", event.Deploy, event.Success,
				map[string]string{"surface": "cloudrun", "image": "europe-docker.pkg.dev/p1/r/web:2,busybox", "serviceAccount": "run-sa@p1.iam.gserviceaccount.com"}),
		},
		{
			Name: "SetIamPolicy with a policy delta",
			Raw: entry("cloudresourcemanager.googleapis.com", "SetIamPolicy", "projects/p1", `{"policy":{"bindings":[]}}`,
				`"serviceData":{"@type":"type.googleapis.com/google.iam.v1.logging.AuditData","policyDelta":{"bindingDeltas":[{"action":"ADD","role":"roles/run.developer","member":"user:eve@example.com"}]}}`),
			Want: base("cloudresourcemanager.googleapis.com", "SetIamPolicy", "projects/p1", event.Grant, event.Success,
				map[string]string{"op": "add", "role": "roles/run.developer", "member": "user:eve@example.com"}),
		},
		{
			Name: "setIamPolicy on a service account from the request policy",
			Raw: entry("iam.googleapis.com", "google.iam.admin.v1.SetIAMPolicy", "projects/-/serviceAccounts/sa@p1.iam.gserviceaccount.com",
				`{"policy":{"bindings":[{"role":"roles/iam.serviceAccountTokenCreator","members":["user:eve@example.com"]}]}}`, ""),
			Want: base("iam.googleapis.com", "google.iam.admin.v1.SetIAMPolicy", "projects/-/serviceAccounts/sa@p1.iam.gserviceaccount.com", event.Grant, event.Success,
				map[string]string{"op": "add", "role": "roles/iam.serviceAccountTokenCreator", "member": "user:eve@example.com", "fullPolicy": "true"}),
		},
		{
			Name: "service account impersonation token",
			Raw:  entry("iamcredentials.googleapis.com", "GenerateAccessToken", "projects/-/serviceAccounts/deployer@p1.iam.gserviceaccount.com", "", ""),
			Want: base("iamcredentials.googleapis.com", "GenerateAccessToken", "projects/-/serviceAccounts/deployer@p1.iam.gserviceaccount.com", event.Identity, event.Success,
				map[string]string{"serviceAccount": "deployer@p1.iam.gserviceaccount.com"}),
		},
		{
			Name: "testIamPermissions denied",
			Raw:  entry("cloudresourcemanager.googleapis.com", "TestIamPermissions", "projects/p1", "", `"status":{"code":7,"message":"denied"}`),
			Want: func() event.Event {
				ev := base("cloudresourcemanager.googleapis.com", "TestIamPermissions", "projects/p1", event.SelfProbe, event.Denied, nil)
				ev.ErrorCode = "PERMISSION_DENIED"
				return ev
			}(),
		},
		{
			Name: "GKE pod create with a privileged container (k8s.io)",
			Raw: entry("k8s.io", "io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/p",
				`{"@type":"core.k8s.io/v1.Pod","spec":{"hostNetwork":true,"containers":[{"image":"alpine","securityContext":{"privileged":true}}]}}`, ""),
			Want: base("k8s.io", "io.k8s.core.v1.pods.create", "core/v1/namespaces/default/pods/p", event.Deploy, event.Success,
				map[string]string{"surface": "gke", "namespace": "default", "image": "alpine", "privileged": "true", "hostNetwork": "true"}),
		},
		{
			Name: "GKE exec",
			Raw:  entry("k8s.io", "io.k8s.core.v1.pods.exec.create", "core/v1/namespaces/prod/pods/p/exec", "", ""),
			Want: base("k8s.io", "io.k8s.core.v1.pods.exec.create", "core/v1/namespaces/prod/pods/p/exec", event.Exec, event.Success,
				map[string]string{"surface": "gke", "namespace": "prod"}),
		},
		{
			Name: "GKE cluster role binding (group with dots)",
			Raw:  entry("k8s.io", "io.k8s.authorization.rbac.v1.clusterrolebindings.create", "rbac.authorization.k8s.io/v1/clusterrolebindings/b", `{"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"eve@example.com"}]}`, ""),
			Want: base("k8s.io", "io.k8s.authorization.rbac.v1.clusterrolebindings.create", "rbac.authorization.k8s.io/v1/clusterrolebindings/b", event.Grant, event.Success,
				map[string]string{"op": "add", "role": "ClusterRole/cluster-admin", "member": "User:eve@example.com"}),
		},
	}
	sampletest.CheckParse(t, tests, gcpaudit.ParseEntry)
}

func TestParseEntryErrors(t *testing.T) {
	tests := []sampletest.ErrCase{
		{Name: "text payload", Raw: `{"insertId":"a","logName":"projects/p/logs/x","textPayload":"hello"}`, Unrecognized: true},
		{Name: "json payload", Raw: `{"insertId":"a","logName":"projects/p/logs/x","jsonPayload":{"m":1}}`, Unrecognized: true},
		{Name: "other proto payload", Raw: `{"insertId":"a","protoPayload":{"@type":"type.googleapis.com/google.appengine.logging.v1.RequestLog"}}`, Unrecognized: true},
		{Name: "wrong type in an audit entry", Raw: `{"insertId":"a","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","methodName":"m","status":{"code":"seven"}}}`, Unrecognized: false},
		{Name: "truncated", Raw: `{"insertId":"a","protoPayload":{`, Unrecognized: false},
	}
	sampletest.CheckErrors(t, gcpaudit.ParseEntry, tests)
}

func TestClassify(t *testing.T) {
	tests := []struct {
		service, method string
		want            event.Class
	}{
		{"cloudresourcemanager.googleapis.com", "GetIamPolicy", event.DiscoveryPermission},
		{"iam.googleapis.com", "google.iam.admin.v1.ListRoles", event.DiscoveryPermission},
		{"cloudasset.googleapis.com", "google.cloud.asset.v1.AssetService.SearchAllIamPolicies", event.DiscoveryPermission},
		{"cloudidentity.googleapis.com", "google.apps.cloudidentity.groups.v1.MembershipsService.ListMemberships", event.DiscoveryGroup},
		{"cloudidentity.googleapis.com", "google.apps.cloudidentity.groups.v1.MembershipsService.CreateMembership", event.Grant},
		{"admin.googleapis.com", "google.admin.AdminService.addGroupMember", event.Grant},
		{"iam.googleapis.com", "google.iam.admin.v1.CreateServiceAccountKey", event.Identity},
		{"sts.googleapis.com", "google.identity.sts.v1.SecurityTokenService.ExchangeToken", event.Identity},
		{"run.googleapis.com", "google.cloud.run.v2.Jobs.RunJob", event.Deploy},
		{"run.googleapis.com", "google.cloud.run.v1.Services.DeleteService", event.Delete},
		{"container.googleapis.com", "google.container.v1.ClusterManager.CreateNodePool", event.Deploy},
		{"cloudbuild.googleapis.com", "google.devtools.cloudbuild.v1.CloudBuild.CreateBuild", event.Deploy},
		{"storage.googleapis.com", "storage.objects.get", event.Other},
	}
	for _, tt := range tests {
		if got := gcpaudit.Classify(tt.service, tt.method).Class; got != tt.want {
			t.Errorf("Classify(%s, %s) = %v, want %v", tt.service, tt.method, got, tt.want)
		}
	}
}

func FuzzGCPAudit(f *testing.F) {
	f.Add([]byte(entry("run.googleapis.com", "google.cloud.run.v1.Services.CreateService", "s", `{"service":{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}}`, "")))
	f.Add([]byte(entry("k8s.io", "io.k8s.core.v1.pods.create", "core/v1/namespaces/d/pods/p", `{"spec":{"containers":[{"image":"x"}]}}`, "")))
	f.Add([]byte(entry("cloudresourcemanager.googleapis.com", "SetIamPolicy", "projects/p", "", `"serviceData":{"policyDelta":{"bindingDeltas":[{"action":"REMOVE"}]}}`)))
	if b, err := os.ReadFile(sampletest.Path("gcp-audit", "gcpdiag-gce6-logging-entries.json")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := gcpaudit.ParseEntry(raw)
		if err != nil {
			return
		}
		if ev.Format != gcpaudit.Format || ev.Cloud != "gcp" {
			t.Fatalf("bad event %+v", ev)
		}
	})
}
