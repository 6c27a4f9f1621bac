package awsiam

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

// sharedGAAD is the folder of third-party GAAD samples beside the checkout.
const sharedGAAD = "../../../shared/testdata/gaad"

func importFile(t *testing.T, path string) (*graph.Collection, Counts, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("shared sample not available: %v", err)
	}
	defer f.Close()
	col := graph.NewCollection()
	counts, err := ImportGAAD(context.Background(), f, col)
	return col, counts, err
}

func TestImportSharedGAAD(t *testing.T) {
	tests := []struct {
		file      string
		want      Counts
		source    string
		nodeKinds map[graph.NodeKind]int
	}{
		{"cloudsplaining-test-authz-details.json", Counts{Users: 3, Groups: 2, Roles: 3, Policies: 32, InlinePolicies: 6}, "aws:012345678901", nil},
		{"cloudsplaining-authz-v2.json", Counts{Users: 1, Groups: 1, Roles: 2, Policies: 2, InlinePolicies: 2}, "aws:012345678901", nil},
		{"cloudmapper-demo-gaad.json", Counts{Users: 2, Groups: 1, Roles: 4, Policies: 2, InlinePolicies: 4}, "aws:123456789012", nil},
		{"awscli-example-iam-get-account-authorization-details.json", Counts{Users: 3, Groups: 3, Roles: 1, Policies: 3, InlinePolicies: 2, Truncated: true}, "aws:123456789012", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			col, counts, err := importFile(t, filepath.Join(sharedGAAD, tt.file))
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if diff := cmp.Diff(tt.want, counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			srcs := col.Sources()
			if len(srcs) != 1 {
				t.Fatalf("want one source, got %d", len(srcs))
			}
			g := srcs[0]
			if tt.source != "" && g.Source != tt.source {
				t.Errorf("source = %q, want %q", g.Source, tt.source)
			}
			kinds := map[graph.NodeKind]int{}
			for _, n := range g.Nodes {
				kinds[n.Kind]++
				if n.Kind == graph.NodeRole && n.Attrs["trust_policy"] == "" {
					t.Errorf("role %s has no trust policy", n.ID)
				}
				if n.Kind == graph.NodePolicy && n.Attrs["document"] == "" && n.Attrs["missing_document"] != "true" {
					t.Errorf("policy %s has neither a document nor a missing marker", n.ID)
				}
			}
			if kinds[graph.NodeUser] != counts.Users || kinds[graph.NodeRole] != counts.Roles {
				t.Errorf("node kinds %v disagree with counts %+v", kinds, counts)
			}
			for _, e := range g.Edges {
				if _, ok := g.Nodes[e.To]; !ok {
					t.Errorf("edge %s -%s-> %s points at a missing node", e.From, e.Kind, e.To)
				}
				if len(e.Evidence) == 0 {
					t.Errorf("edge %s -%s-> %s has no evidence", e.From, e.Kind, e.To)
				}
			}
		})
	}
}

func TestImportRejectsNonGAAD(t *testing.T) {
	// The other AWS CLI examples are valid JSON but not GAAD exports.
	for _, name := range []string{"awscli-example-iam-list-users.json", "awscli-example-iam-get-role.json", "cloudmapper-demo-iam-get-credential-report.json"} {
		_, _, err := importFile(t, filepath.Join(sharedGAAD, name))
		if err == nil || !strings.Contains(err.Error(), "not a GAAD document") {
			t.Errorf("%s: error = %v, want 'not a GAAD document'", name, err)
		}
	}
}

func TestImportBadInput(t *testing.T) {
	sample, err := os.ReadFile("../../testdata/sample-org/aws-111122223333.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, input string
		want        []string
	}{
		{"truncated file", string(sample[:len(sample)/2]), []string{"offset", "unexpected end of file"}},
		{"array not object", `[1,2]`, []string{"not a GAAD document"}},
		{"empty", ``, []string{"offset 0", "unexpected end of file"}},
		{"list is a string", `{"UserDetailList":"x"}`, []string{"field UserDetailList", "want an array"}},
		{"user without Arn", `{"UserDetailList":[{"UserName":"a"}]}`, []string{"UserDetailList", "record 0", `user "a"`, "field Arn"}},
		{"bad policy document", `{"UserDetailList":[{"UserName":"a","Arn":"arn:aws:iam::111122223333:user/a","UserPolicyList":[{"PolicyName":"p","PolicyDocument":"%7Bnot-json"}]}]}`, []string{`user "a"`, "PolicyDocument"}},
		{"mixed accounts", `{"UserDetailList":[{"UserName":"a","Arn":"arn:aws:iam::111122223333:user/a"},{"UserName":"b","Arn":"arn:aws:iam::444455556666:user/b"}]}`, []string{"record 1", "belongs to account 444455556666"}},
		{"trailing garbage", `{"UserDetailList":[]} {"x":1}`, []string{"trailing data"}},
		{"wrong type in record", `{"RoleDetailList":[{"RoleName":5}]}`, []string{"RoleDetailList", "record 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ImportGAAD(context.Background(), strings.NewReader(tt.input), graph.NewCollection())
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFileCollectorNamesFileAndRefusesTruncated(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "export.json")
	if err := os.WriteFile(bad, []byte(`{"UserDetailList":[{"UserName":`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := (&FileCollector{Path: bad}).Collect(context.Background(), graph.NewCollection())
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("error = %v, want file name and offset", err)
	}
	trunc := filepath.Join(sharedGAAD, "awscli-example-iam-get-account-authorization-details.json")
	if _, err := os.Stat(trunc); err != nil {
		t.Skip("shared sample not available")
	}
	if err := (&FileCollector{Path: trunc}).Collect(context.Background(), graph.NewCollection()); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated export: error = %v, want refusal", err)
	}
	col := graph.NewCollection()
	if err := (&FileCollector{Path: trunc, AllowTruncated: true}).Collect(context.Background(), col); err != nil {
		t.Fatalf("allow truncated: %v", err)
	}
	if w := col.Sources()[0].Warnings; len(w) == 0 || !strings.Contains(strings.Join(w, "\n"), "truncated") {
		t.Fatalf("warnings = %v, want a truncation warning", w)
	}
}

func TestImportDocumentForms(t *testing.T) {
	// Objects, JSON strings and URL-encoded strings all normalise to the same
	// compact document; boto3 and ISO dates both become RFC 3339.
	obj := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:RunTask","Resource":"*"}]}`
	forms := map[string]string{
		"object":      obj,
		"json string": `"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:RunTask\",\"Resource\":\"*\"}]}"`,
		"url-encoded": `"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22ecs%3ARunTask%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"`,
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			in := `{"UserDetailList":[{"UserName":"a","Arn":"arn:aws:iam::111122223333:user/a","CreateDate":"2019-12-18 19:10:08+00:00","UserPolicyList":[{"PolicyName":"p","PolicyDocument":` + form + `}]}]}`
			col := graph.NewCollection()
			if _, err := ImportGAAD(context.Background(), strings.NewReader(in), col); err != nil {
				t.Fatal(err)
			}
			g := col.Sources()[0]
			pol := g.Nodes[InlinePolicyID("arn:aws:iam::111122223333:user/a", "p")]
			if pol.Attrs["document"] != obj {
				t.Errorf("document = %s, want %s", pol.Attrs["document"], obj)
			}
			if got := g.Nodes["aws:arn:aws:iam::111122223333:user/a"].Attrs["created"]; got != "2019-12-18T19:10:08Z" {
				t.Errorf("created = %q", got)
			}
		})
	}
}

func FuzzImportGAAD(f *testing.F) {
	if b, err := os.ReadFile("../../testdata/sample-org/aws-111122223333.json"); err == nil {
		f.Add(string(b))
	}
	f.Add(`{"UserDetailList":[{"UserName":"a","Arn":"arn:aws:iam::111122223333:user/a","GroupList":["g"]}],"GroupDetailList":[]}`)
	f.Add(`{"RoleDetailList":[{"RoleName":"r","Arn":"arn:aws:iam::1:role/r","AssumeRolePolicyDocument":"%7B%7D"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		col := graph.NewCollection()
		_, err := ImportGAAD(context.Background(), strings.NewReader(in), col)
		if err != nil {
			return
		}
		for _, g := range col.Sources() {
			for _, e := range g.Edges {
				if err := e.Validate(); err != nil {
					t.Fatalf("accepted invalid edge: %v", err)
				}
			}
		}
	})
}

func TestManagedPolicyDefaultVersionOnly(t *testing.T) {
	// The sample's managed policies keep a non-default v1 allowing "*"; only
	// the default version is the policy's document.
	col, _, err := importFile(t, "../../testdata/sample-org/aws-111122223333.json")
	if err != nil {
		t.Fatal(err)
	}
	g := col.Sources()[0]
	p := g.Nodes["aws:arn:aws:iam::111122223333:policy/platform/DeployersPolicy"]
	if p.Attrs["default_version"] != "v2" || strings.Contains(p.Attrs["document"], `"Action":"*"`) || !strings.Contains(p.Attrs["document"], "RunContainers") {
		t.Fatalf("DeployersPolicy: want the v2 document, got %+v", p.Attrs)
	}
}
