package gcpiam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"permgraph/graph"
)

// shared is the read-only sample directory (see its PROVENANCE.md); files
// are referenced, never copied into the repository.
const shared = "../../../shared/testdata/gcp-iam/"

func collectDir(t *testing.T, dir string) (*graph.SourceGraph, Counts) {
	t.Helper()
	c := graph.NewCollection()
	f := NewFile(dir, Options{Source: testSource})
	if err := f.Collect(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c.Source(testSource), f.Counts
}

// stage copies shared samples into a temp dir under conventional names.
func stage(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for src, dst := range files {
		b, err := os.ReadFile(filepath.Join(shared, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func countBindings(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Bindings []json.RawMessage }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return len(p.Bindings)
}

func storedPolicy(t *testing.T, g *graph.SourceGraph, res string) policyJSON {
	t.Helper()
	n, ok := g.Nodes[PolicyID(res)]
	if !ok {
		t.Fatalf("no policy node for %s", res)
	}
	var p policyJSON
	if err := json.Unmarshal([]byte(n.Attrs["policy"]), &p); err != nil {
		t.Fatalf("policy of %s: %v", res, err)
	}
	return p
}

// Every file in the shared sample directory is covered here.
func TestSharedGcloudPolicies(t *testing.T) {
	for src, project := range map[string]string{
		"gcpdiag-gce3-project-iam-policy.json":      "gcpdiag-gce3-aaaa",
		"gcpdiag-gke2-project-iam-policy.json":      "gcpdiag-gke2-aaaa",
		"gcpdiag-cloudrun2-project-iam-policy.json": "gcpdiag-cloudrun2-aaaa",
		"demisto-project-iam-policy-get.json":       "project-id-1",
	} {
		t.Run(src, func(t *testing.T) {
			dir := stage(t, map[string]string{src: "project-" + project + ".iam.json"})
			g, counts := collectDir(t, dir)
			p := storedPolicy(t, g, ProjectID(project))
			if want := countBindings(t, filepath.Join(shared, src)); len(p.Bindings) != want || want == 0 {
				t.Errorf("bindings = %d, want %d", len(p.Bindings), want)
			}
			if counts.Policies != 1 || len(g.Warnings) != 0 {
				t.Errorf("counts %+v warnings %q", counts, g.Warnings)
			}
		})
	}
	// gce3 carries a custom role binding and auditConfigs; both survive.
	g, _ := collectDir(t, stage(t, map[string]string{"gcpdiag-gce3-project-iam-policy.json": "project-p.iam.json"}))
	pol := g.Nodes[PolicyID(ProjectID("p"))].Attrs["policy"]
	for _, want := range []string{"/roles/instanceschedulerole", `"auditConfigs":[`, `"logType":"DATA_WRITE"`} {
		if !strings.Contains(pol, want) {
			t.Errorf("policy lacks %s", want)
		}
	}
}

func TestSharedServiceAccountFiles(t *testing.T) {
	dir := stage(t, map[string]string{
		"gcpdiag-gke1-iam-service-accounts-list.json":  "project-gcpdiag-gke1-aaaa.service-accounts.json",
		"gcpdiag-gke1-service-account-iam-policy.json": "serviceaccount-gke2sa@gcpdiag-gke1-aaaa.iam.gserviceaccount.com.iam.json",
		"gcpdiag-gke1-iam-roles-custom-list.json":      "project-gcpdiag-gke1-aaaa.roles.json",
	})
	g, counts := collectDir(t, dir)
	if counts.ServiceAccounts == 0 || counts.Roles == 0 || counts.Policies != 1 {
		t.Fatalf("counts = %+v", counts)
	}
	sa := g.Nodes[ServiceAccountID("gke2sa@gcpdiag-gke1-aaaa.iam.gserviceaccount.com")]
	if sa.Kind != graph.NodeServiceAccount || sa.Attrs["project"] != "gcpdiag-gke1-aaaa" || sa.Attrs["unique_id"] == "" {
		t.Errorf("service account node = %+v", sa)
	}
	p := storedPolicy(t, g, sa.ID)
	if len(p.Bindings) != 1 || p.Bindings[0].Role != "roles/iam.serviceAccountUser" {
		t.Errorf("SA policy = %+v", p)
	}
	role := g.Nodes[RoleID("projects/gcpdiag-gke1-aaaa/roles/gke2_custom_role")]
	if role.Kind != graph.NodeRoleDefinition || !strings.Contains(role.Attrs["permissions"], "monitoring.alertPolicies.get") || role.Attrs["stage"] == "" {
		t.Errorf("role node = %+v", role)
	}
}

func TestSharedForsetiCAI(t *testing.T) {
	dir := stage(t, map[string]string{"forseti-cai-iam-policies.jsonl": "cai.jsonl"})
	g, counts := collectDir(t, dir)
	want := Counts{Organizations: 1, Folders: 3, Projects: 4, Policies: 8, Skipped: 12, Warnings: 3}
	if counts != want {
		t.Errorf("counts = %+v, want %+v", counts, want)
	}
	for _, id := range []string{OrgID("111222333"), FolderID("1031"), ProjectID("1041"), ProjectID("1044")} {
		if n := g.Nodes[id]; n.Kind != graph.NodeScope {
			t.Errorf("scope %s missing", id)
		}
		if _, ok := g.Nodes[PolicyID(id)]; !ok {
			t.Errorf("policy of %s missing", id)
		}
	}
	if len(g.Edges) != 0 {
		t.Errorf("the sample has no ancestors, yet edges: %v", g.SortedEdges())
	}
	joined := strings.Join(g.Warnings, "\n")
	for _, w := range []string{"4 project(s) appear only by number", "2 service account(s) skipped", "7 folder(s)/project(s) without \"ancestors\""} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning %q in\n%s", w, joined)
		}
	}
}

func TestSharedCloudIdentityFilesAreNotGCPIAM(t *testing.T) {
	// The Cloud Identity samples belong to the Workspace collector: under
	// their own names they are ignored, so a directory of only them has no
	// GCP IAM data.
	dir := stage(t, map[string]string{
		"demisto-cloudidentity-groups-list.json":            "demisto-cloudidentity-groups-list.json",
		"demisto-cloudidentity-group-memberships-list.json": "demisto-cloudidentity-group-memberships-list.json",
	})
	err := NewFile(dir, Options{Source: testSource}).Collect(t.Context(), graph.NewCollection())
	if err == nil || !strings.Contains(err.Error(), "no GCP IAM data") {
		t.Fatalf("err = %v", err)
	}
	// As a policy file it is rejected with the field named.
	dir = stage(t, map[string]string{"demisto-cloudidentity-groups-list.json": "project-x.iam.json"})
	err = NewFile(dir, Options{Source: testSource}).Collect(t.Context(), graph.NewCollection())
	if err == nil || !strings.Contains(err.Error(), "project-x.iam.json") {
		t.Fatalf("err = %v", err)
	}
}

func TestCAIWithAncestors(t *testing.T) {
	c := graph.NewCollection()
	if err := NewFile("testdata/cai", Options{Source: testSource}).Collect(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	golden(t, "cai", dump(t, c))
	g := c.Source(testSource)
	for _, k := range []graph.EdgeKey{
		{From: OrgID("2001"), Kind: graph.EdgeContains, To: FolderID("3001")},
		{From: FolderID("3001"), Kind: graph.EdgeContains, To: ProjectID("web-prod")},
		{From: OrgID("2001"), Kind: graph.EdgeContains, To: ProjectID("4002")},
	} {
		if _, ok := g.Edges[k]; !ok {
			t.Errorf("edge %v missing", k)
		}
	}
	p := storedPolicy(t, g, FolderID("3001"))
	if len(p.Bindings) != 1 || p.Bindings[0].Condition == nil ||
		p.Bindings[0].Condition.Expression != `resource.name.startsWith("projects/web-prod/locations/europe-west1/services/") && request.time < timestamp("2031-01-01T00:00:00Z")` {
		t.Errorf("conditional binding lost: %+v", p.Bindings)
	}
	if _, ok := g.Nodes[PolicyID(ServiceAccountID("deployer@web-prod.iam.gserviceaccount.com"))]; !ok {
		t.Error("SA policy not mapped to the email through the RESOURCE export")
	}
}

func TestGcloudFiles(t *testing.T) {
	c := graph.NewCollection()
	f := NewFile("testdata/gcloud", Options{Source: testSource})
	if err := f.Collect(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	golden(t, "gcloud", dump(t, c))
	p := storedPolicy(t, c.Source(testSource), ProjectID("web-prod"))
	if p.Bindings[0].Condition == nil || p.Bindings[0].Condition.Title != "incident-42" ||
		!strings.Contains(p.Bindings[0].Condition.Expression, `resource.type == "run.googleapis.com/Service"`) {
		t.Errorf("condition lost: %+v", p.Bindings[0])
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFileErrorsNameFileLineField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no role", map[string]string{"project-p.iam.json": `{"bindings":[{"members":["user:a@b"]}]}`},
			[]string{"project-p.iam.json", `bindings[0]: field "role" is missing`}},
		{"condition without expression", map[string]string{"folder-9.iam.json": `{"bindings":[{"role":"roles/x","members":[],"condition":{"title":"t"}}]}`},
			[]string{"folder-9.iam.json", `condition.expression`}},
		{"unnamed bare policy", map[string]string{"mystery.iam.json": `{"bindings":[]}`},
			[]string{"mystery.iam.json", "cannot tell whose policy"}},
		{"wrapper contradicts name", map[string]string{"project-a.iam.json": `{"resource":"projects/b","policy":{}}`},
			[]string{"project-a.iam.json", `"resource" "projects/b" contradicts`}},
		{"members not a list", map[string]string{"project-p.iam.json": `{"bindings":[{"role":"r","members":"user:a"}]}`},
			[]string{"project-p.iam.json", "members"}},
		{"CAI bad line", map[string]string{"cai.jsonl": `{"name":"//cloudresourcemanager.googleapis.com/folders/1","asset_type":"cloudresourcemanager.googleapis.com/Folder"}` + "\n{oops\n"},
			[]string{"cai.jsonl:2", "not a Cloud Asset Inventory asset"}},
		{"CAI no name", map[string]string{"cai.jsonl": `{"asset_type":"cloudresourcemanager.googleapis.com/Folder"}`},
			[]string{"cai.jsonl:1", `field "name" is missing`}},
		{"CAI bad policy", map[string]string{"cai.jsonl": `{"name":"//cloudresourcemanager.googleapis.com/folders/1","asset_type":"cloudresourcemanager.googleapis.com/Folder","iam_policy":{"bindings":[{"members":[]}]}}`},
			[]string{"cai.jsonl:1", `field "iam_policy"`, `"role" is missing`}},
		{"CAI bad ancestor", map[string]string{"cai.jsonl": `{"name":"//cloudresourcemanager.googleapis.com/folders/1","asset_type":"cloudresourcemanager.googleapis.com/Folder","ancestors":["folders/1","billingAccounts/x"]}`},
			[]string{"cai.jsonl:1", `ancestors[1]`}},
		{"capture bad body", map[string]string{"gcp.jsonl": `{"url":"https://cloudresourcemanager.googleapis.com/v3/folders?parent=organizations%2F1","status":200,"body":{"folders":[{"name":"projects/x"}]}}`},
			[]string{"gcp.jsonl:1", "/v3/folders", `"name" "projects/x" is not folders/<number>`}},
		{"capture failed page", map[string]string{"gcp.jsonl": `{"url":"https://cloudresourcemanager.googleapis.com/v3/projects/p:getIamPolicy","status":429,"body":{"error":{"code":429,"message":"Quota exceeded"}}}`},
			[]string{"gcp.jsonl:1", "HTTP 429", "incomplete"}},
		{"unknown jsonl", map[string]string{"x.jsonl": `{"kind":"admin#directory#user"}`},
			[]string{"x.jsonl:1", "neither a raw capture page"}},
		{"service accounts wrong shape", map[string]string{"project-p.service-accounts.json": `{"items":[]}`},
			[]string{"project-p.service-accounts.json", `field "accounts" is missing`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			err := NewFile(dir, Options{Source: testSource}).Collect(t.Context(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCaptureSkipsOtherAPIs(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workspace.jsonl": `{"url":"https://admin.googleapis.com/admin/directory/v1/users?customer=my_customer","status":200,"body":{"users":[]}}`,
		"gcp.jsonl":       `{"url":"https://cloudresourcemanager.googleapis.com/v3/projects/p:getIamPolicy","status":200,"body":{"etag":"x"}}`,
	})
	g, counts := collectDir(t, dir)
	if counts.Policies != 1 || len(g.Nodes) != 1 {
		t.Fatalf("counts %+v nodes %v", counts, g.Nodes)
	}
}

// fuzzSink validates like the store and records nothing.
type fuzzSink struct{}

func (fuzzSink) AddNode(_ string, n graph.Node) error { return n.Validate() }
func (fuzzSink) AddEdge(_ string, e graph.Edge) error { return e.Validate() }
func (fuzzSink) Warn(string, string)                  {}

// FuzzGCPIAMFile feeds arbitrary bytes to the gcloud policy, service account
// and role parsers and to the CAI reader: no panic, and every error names
// the file.
func FuzzGCPIAMFile(f *testing.F) {
	seeds := []string{"gcpdiag-gke1-service-account-iam-policy.json", "demisto-project-iam-policy-get.json",
		"gcpdiag-gke1-iam-service-accounts-list.json", "gcpdiag-gke1-iam-roles-custom-list.json", "forseti-cai-iam-policies.jsonl"}
	for i, s := range seeds {
		b, err := os.ReadFile(filepath.Join(shared, s))
		if err == nil {
			f.Add(uint8(i), b)
		}
	}
	for i, s := range []string{"testdata/cai/iam-policies.jsonl", "testdata/cai/resources.jsonl", "testdata/gcloud/hierarchy-folder.iam.json"} {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(uint8(i), b)
		}
	}
	f.Add(uint8(4), []byte(`{"name":"//iam.googleapis.com/projects/p/serviceAccounts/a@b","assetType":"iam.googleapis.com/ServiceAccount","iamPolicy":null}`))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		em := newEmitter(testSource, fuzzSink{})
		var err error
		switch kind % 5 {
		case 0:
			_, err = importGcloud("serviceaccount-a@p.iam.gserviceaccount.com.iam.json", kindPolicy, data, em)
		case 1:
			_, err = importGcloud("wrapped.iam.json", kindPolicy, data, em)
		case 2:
			_, err = importGcloud("project-p.service-accounts.json", kindServiceAccounts, data, em)
		case 3:
			_, err = importGcloud("project-p.roles.json", kindRoles, data, em)
		case 4:
			open := func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
			_, err = importCAI(context.Background(), []string{"fuzz.jsonl"}, open, em, nil)
			if err != nil && !strings.Contains(err.Error(), "fuzz.jsonl") {
				t.Fatalf("CAI error does not name the file: %v", err)
			}
		}
		_ = err
		em.flush()
	})
}

// BenchmarkCAIImport measures CAI export import throughput (MB/s) on a
// synthetic export: 1 org, 50 folders, 2,000 projects, 10 service accounts
// per project, each with a policy.
func BenchmarkCAIImport(b *testing.B) {
	var buf bytes.Buffer
	line := func(name, typ, policy string, anc ...string) {
		a, _ := json.Marshal(anc)
		fmt.Fprintf(&buf, `{"name":%q,"asset_type":%q,"iam_policy":%s,"ancestors":%s}`+"\n", name, typ, policy, a)
	}
	pol := `{"version":1,"etag":"BwX=","bindings":[{"role":"roles/viewer","members":["user:a@corp.test","group:g@corp.test"]},{"role":"roles/run.developer","members":["serviceAccount:ci@p.iam.gserviceaccount.com"],"condition":{"title":"t","expression":"request.time < timestamp(\"2030-01-01T00:00:00Z\")"}}]}`
	line("//cloudresourcemanager.googleapis.com/organizations/1", caiOrganization, pol, "organizations/1")
	for f := range 50 {
		line(fmt.Sprintf("//cloudresourcemanager.googleapis.com/folders/%d", 100+f), caiFolder, pol, fmt.Sprintf("folders/%d", 100+f), "organizations/1")
	}
	for p := range 2000 {
		folder := fmt.Sprintf("folders/%d", 100+p%50)
		proj := fmt.Sprintf("projects/%d", 10000+p)
		line("//cloudresourcemanager.googleapis.com/"+proj, caiProject, pol, proj, folder, "organizations/1")
		for s := range 10 {
			line(fmt.Sprintf("//iam.googleapis.com/projects/proj-%d/serviceAccounts/sa%d@proj-%d.iam.gserviceaccount.com", p, s, p),
				caiServiceAccount, pol, proj, folder, "organizations/1")
		}
	}
	data := buf.Bytes()
	open := func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		em := newEmitter(testSource, graph.NewCollection())
		if _, err := importCAI(b.Context(), []string{"bench.jsonl"}, open, em, nil); err != nil {
			b.Fatal(err)
		}
	}
}
