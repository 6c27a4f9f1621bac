package awsorg

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"permgraph/graph"
)

const fixtureFile = "testdata/org.json"

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtureFile)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportFixture(t *testing.T) {
	c := &FileCollector{Path: fixtureFile}
	col := graph.NewCollection()
	if err := c.Collect(t.Context(), col); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	checkFixtureGraph(t, col, nil)
	if c.Counts != wantFixtureCounts {
		t.Errorf("Counts = %+v, want %+v", c.Counts, wantFixtureCounts)
	}
}

// editFixture decodes the fixture into generic JSON, lets edit change it and
// encodes it again. Maps encode with sorted keys, so the lists come as
// Accounts, Organization, OrganizationalUnits, Policies, Roots: accounts
// before their parents and the organisation after them.
func editFixture(t testing.TB, edit func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readFixture(t), &doc); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(doc)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func list(doc map[string]any, key string) []any { return doc[key].([]any) }

func rec(doc map[string]any, key string, i int) map[string]any {
	return list(doc, key)[i].(map[string]any)
}

func TestImportAnyOrder(t *testing.T) {
	in := editFixture(t, func(doc map[string]any) {
		// Child OU before its parent, too.
		ous := list(doc, "OrganizationalUnits")
		ous[0], ous[2] = ous[2], ous[0]
		// And the SCP content as an object rather than a string (raw, so
		// its key order survives re-encoding).
		p := rec(doc, "Policies", 1)
		p["Content"] = json.RawMessage(p["Content"].(string))
	})
	if !strings.HasPrefix(in, `{"Accounts":`) {
		t.Fatalf("reordered fixture starts %.40s", in)
	}
	col := graph.NewCollection()
	counts, err := ImportOrg(t.Context(), strings.NewReader(in), col)
	if err != nil {
		t.Fatalf("ImportOrg: %v", err)
	}
	checkFixtureGraph(t, col, nil)
	if counts != wantFixtureCounts {
		t.Errorf("Counts = %+v, want %+v", counts, wantFixtureCounts)
	}
}

func TestImportWarnings(t *testing.T) {
	in := editFixture(t, func(doc map[string]any) {
		doc["ResourceControlPolicies"] = []any{}
		doc["Policies"] = append(list(doc, "Policies"), map[string]any{
			"PolicySummary": map[string]any{"Id": "p-tagpolicy1", "Name": "Tags", "Type": "TAG_POLICY"},
			"Content":       `{"tags":{}}`,
		})
	})
	col := graph.NewCollection()
	if _, err := ImportOrg(t.Context(), strings.NewReader(in), col); err != nil {
		t.Fatalf("ImportOrg: %v", err)
	}
	checkFixtureGraph(t, col, []string{
		`organization file: unknown top-level field "ResourceControlPolicies" ignored`,
		"policy p-tagpolicy1 (Tags) is a TAG_POLICY, not a service control policy; ignored",
	})
}

func TestImportBadInput(t *testing.T) {
	fixture := string(readFixture(t))
	edited := func(edit func(doc map[string]any)) string { return editFixture(t, edit) }
	tests := []struct {
		name, input string
		want        []string
	}{
		{"empty", ``, []string{"offset 0", "unexpected end of file"}},
		{"not an object", `[1,2]`, []string{"not an organization file"}},
		{"truncated in an account", fixture[:strings.Index(fixture, `"Log Archive"`)],
			[]string{"offset", "field Accounts", "Accounts[1]", "unexpected end of file (truncated file?)"}},
		{"truncated between lists", fixture[:strings.Index(fixture, `"Policies"`)],
			[]string{"offset", "unexpected end of file"}},
		{"trailing data", fixture + `{}`, []string{"trailing data"}},
		{"no organization", edited(func(doc map[string]any) { delete(doc, "Organization") }), []string{"no Organization"}},
		{"organization is a string", edited(func(doc map[string]any) { doc["Organization"] = "o-a1b2c3d4e5" }),
			[]string{"field Organization", "want an object"}},
		{"organization without an id", edited(func(doc map[string]any) { delete(doc["Organization"].(map[string]any), "Id") }),
			[]string{"field Organization", "field Id: missing"}},
		{"organization without a management account", edited(func(doc map[string]any) {
			delete(doc["Organization"].(map[string]any), "MasterAccountId")
		}), []string{"field Organization", "field MasterAccountId"}},
		{"no roots", edited(func(doc map[string]any) { doc["Roots"] = []any{} }), []string{"no Roots"}},
		{"list is an object", edited(func(doc map[string]any) { doc["Accounts"] = map[string]any{} }),
			[]string{"field Accounts", "want an array"}},
		{"list given twice", strings.Replace(fixture, `"Roots": [`, `"Roots": [], "Roots": [`, 1), []string{"field Roots given twice"}},
		{"unknown OU parent", edited(func(doc map[string]any) { rec(doc, "OrganizationalUnits", 2)["ParentId"] = "ou-a1b2-gone0001" }),
			[]string{`OrganizationalUnits[2] (OU "ou-a1b2-prod0001")`, "field ParentId", `unknown parent "ou-a1b2-gone0001"`}},
		{"unknown account parent", edited(func(doc map[string]any) { rec(doc, "Accounts", 3)["ParentId"] = "r-zzzz" }),
			[]string{`Accounts[3] (account "444444444444")`, "field ParentId", `unknown parent "r-zzzz"`}},
		{"account parent is an account", edited(func(doc map[string]any) { rec(doc, "Accounts", 3)["ParentId"] = mgmtID }),
			[]string{`Accounts[3] (account "444444444444")`, "field ParentId", "is not a root or OU id"}},
		{"account without a parent", edited(func(doc map[string]any) { delete(rec(doc, "Accounts", 0), "ParentId") }),
			[]string{`Accounts[0] (account "111111111111")`, "field ParentId: missing"}},
		{"OU cycle", edited(func(doc map[string]any) {
			rec(doc, "OrganizationalUnits", 0)["ParentId"] = ouProd
		}), []string{"never reaches a root (cycle)"}},
		{"bad account id", edited(func(doc map[string]any) { rec(doc, "Accounts", 2)["Id"] = "3333-3333-3333" }),
			[]string{"Accounts[2]", "field Id", "12-digit"}},
		{"account listed twice", edited(func(doc map[string]any) {
			doc["Accounts"] = append(list(doc, "Accounts"), rec(doc, "Accounts", 1))
		}), []string{"Accounts[5]", "listed twice"}},
		{"field of the wrong type", edited(func(doc map[string]any) { rec(doc, "Accounts", 4)["Name"] = 5 }),
			[]string{"Accounts[4]", "Name"}},
		{"bad timestamp", edited(func(doc map[string]any) { rec(doc, "Accounts", 1)["JoinedTimestamp"] = "last tuesday" }),
			[]string{`Accounts[1] (account "222222222222")`, "field JoinedTimestamp"}},
		{"policy content not JSON", edited(func(doc map[string]any) { rec(doc, "Policies", 1)["Content"] = "Deny ecs:* please" }),
			[]string{`Policies[1] (policy "p-denyecs01")`, "field Content", "not a JSON object"}},
		{"policy content cut short", edited(func(doc map[string]any) { rec(doc, "Policies", 2)["Content"] = `{"Version":"2012-10-17",` }),
			[]string{`Policies[2] (policy "p-denyleave1")`, "field Content", "not JSON"}},
		{"policy content a number", edited(func(doc map[string]any) { rec(doc, "Policies", 0)["Content"] = 42 }),
			[]string{`Policies[0] (policy "p-FullAWSAccess")`, "field Content"}},
		{"policy content missing", edited(func(doc map[string]any) { delete(rec(doc, "Policies", 0), "Content") }),
			[]string{`Policies[0] (policy "p-FullAWSAccess")`, "field Content: missing"}},
		{"policy without summary", edited(func(doc map[string]any) { delete(rec(doc, "Policies", 0), "PolicySummary") }),
			[]string{"Policies[0]", "field PolicySummary: missing"}},
		{"policy without type", edited(func(doc map[string]any) {
			delete(rec(doc, "Policies", 0)["PolicySummary"].(map[string]any), "Type")
		}), []string{"Policies[0]", "field PolicySummary.Type: missing"}},
		{"unknown target", edited(func(doc map[string]any) {
			rec(doc, "Policies", 2)["Targets"].([]any)[0].(map[string]any)["TargetId"] = "999999999999"
		}), []string{`Policies[2] (policy "p-denyleave1")`, "Targets[0]", "field TargetId", `"999999999999" is not a root, OU or account`}},
		{"target type does not fit the id", edited(func(doc map[string]any) {
			rec(doc, "Policies", 1)["Targets"].([]any)[0].(map[string]any)["Type"] = "ACCOUNT"
		}), []string{"Policies[1]", "Targets[0]", "field TargetId", "not a valid id for Type ACCOUNT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ImportOrg(context.Background(), strings.NewReader(tt.input), graph.NewCollection())
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

func TestFileCollectorNamesFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "org.json")
	in := editFixture(t, func(doc map[string]any) { rec(doc, "OrganizationalUnits", 2)["ParentId"] = "ou-a1b2-gone0001" })
	if err := os.WriteFile(bad, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	err := (&FileCollector{Path: bad}).Collect(t.Context(), graph.NewCollection())
	if err == nil || !strings.Contains(err.Error(), "import organization "+bad+": OrganizationalUnits[2]") {
		t.Fatalf("error = %v, want one naming the file and the record", err)
	}
	err = (&FileCollector{Path: filepath.Join(dir, "missing.json")}).Collect(t.Context(), graph.NewCollection())
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("error = %v, want one naming the missing file", err)
	}
}

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]string{
		`"2020-02-01T00:00:00.500000+00:00"`: "2020-02-01T00:00:00Z",
		`"2020-02-01T02:00:00+02:00"`:        "2020-02-01T00:00:00Z",
		`"2020-02-01 00:00:00+00:00"`:        "2020-02-01T00:00:00Z",
		`1580515200.5`:                       "2020-02-01T00:00:00Z",
		`1.5805152E9`:                        "2020-02-01T00:00:00Z",
		`null`:                               "",
		`""`:                                 "",
	} {
		got, err := parseTimestamp(json.RawMessage(in))
		if err != nil || got != want {
			t.Errorf("parseTimestamp(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`"yesterday"`, `-1`, `1e300`, `true`, `[1]`} {
		if got, err := parseTimestamp(json.RawMessage(in)); err == nil {
			t.Errorf("parseTimestamp(%s) = %q, want an error", in, got)
		}
	}
}

// The export script of docs/aws-organizations.md, run with bash and jq
// against a fake `aws` command (this test binary, see TestMain) that serves
// the test organisation, must produce a file that imports to the same graph.
func TestDocExportScript(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	script := docScript(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data, err := json.Marshal(fixtureData(t))
	if err != nil {
		t.Fatal(err)
	}
	dataPath := filepath.Join(dir, "org-data.json")
	logPath := filepath.Join(dir, "aws-calls.log")
	if err := os.WriteFile(dataPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.Mkdir(binDir, 0o700); err != nil {
		t.Fatal(err)
	}
	shim := fmt.Sprintf("#!/bin/sh\nexec %q \"$@\"\n", exe)
	if err := os.WriteFile(filepath.Join(binDir, "aws"), []byte(shim), 0o700); err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(dir, "org-export.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", scriptPath)
	cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		fakeCLIEnv+"="+dataPath, fakeCLILogEnv+"="+logPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("script: %v\nstderr:\n%s", err, stderr.String())
	}
	col := graph.NewCollection()
	counts, err := ImportOrg(t.Context(), &stdout, col)
	if err != nil {
		t.Fatalf("import the script's output: %v", err)
	}
	checkFixtureGraph(t, col, nil)
	if counts != wantFixtureCounts {
		t.Errorf("Counts = %+v, want %+v", counts, wantFixtureCounts)
	}
	calls, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// One call per list per parent: 1 + 1 + 2 per root/OU (4) + 1 + 2 per SCP (3).
	if n := strings.Count(string(calls), "\n"); n != 1+1+2*4+1+2*3 {
		t.Errorf("script made %d aws calls, want 17:\n%s", n, calls)
	}
	if stderr.Len() != 0 {
		t.Errorf("script wrote to stderr:\n%s", stderr.String())
	}
}

// docScript extracts the bash block between the export-script markers of the
// documentation.
func docScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/aws-organizations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "<!-- begin org-export.sh")
	end := strings.Index(doc, "<!-- end org-export.sh -->")
	if start < 0 || end < start {
		t.Fatal("export script markers not found in docs/aws-organizations.md")
	}
	block := doc[start:end]
	open := strings.Index(block, "```bash\n")
	closing := strings.LastIndex(block, "```")
	if open < 0 || closing <= open {
		t.Fatal("no ```bash block between the markers")
	}
	return block[open+len("```bash\n") : closing]
}

func FuzzImportOrg(f *testing.F) {
	if b, err := os.ReadFile(fixtureFile); err == nil {
		f.Add(string(b))
	}
	f.Add(`{"Organization":{"Id":"o-abcdefghij","MasterAccountId":"111111111111"},"Roots":[{"Id":"r-ab12"}],` +
		`"OrganizationalUnits":[{"Id":"ou-ab12-cdefgh12","ParentId":"r-ab12"}],` +
		`"Accounts":[{"Id":"111111111111","ParentId":"ou-ab12-cdefgh12","JoinedTimestamp":1.5e9}],` +
		`"Policies":[{"PolicySummary":{"Id":"p-abcdefgh","Type":"SERVICE_CONTROL_POLICY"},"Content":"{}","Targets":[{"TargetId":"r-ab12"}]}]}`)
	f.Add(`{"Roots":[{"Id":"r-ab12"}],"Organization":{"Id":"o-abcdefghij","MasterAccountId":"111111111111"}}`)
	f.Fuzz(func(t *testing.T, in string) {
		col := graph.NewCollection()
		counts, err := ImportOrg(context.Background(), strings.NewReader(in), col)
		if err != nil {
			return
		}
		srcs := col.Sources()
		if len(srcs) != 1 || !strings.HasPrefix(srcs[0].Source, "aws-org:o-") {
			t.Fatalf("accepted input gave sources %v, want one aws-org source", srcs)
		}
		g := srcs[0]
		scopes := 0
		for _, n := range g.Nodes {
			if err := n.Validate(); err != nil {
				t.Fatalf("accepted invalid node: %v", err)
			}
			if p := n.Attrs["parent"]; p != "" {
				if _, ok := g.Nodes[p]; !ok {
					t.Fatalf("node %s has parent %s, which is not in the graph", n.ID, p)
				}
			}
			if n.Kind == graph.NodeScope {
				scopes++
			}
		}
		if scopes != counts.Roots+counts.OUs {
			t.Fatalf("%d scope nodes, counts %+v", scopes, counts)
		}
		for k, e := range g.Edges {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted invalid edge: %v", err)
			}
			for _, id := range []string{k.From, k.To} {
				if _, ok := g.Nodes[id]; !ok {
					t.Fatalf("edge %v names %s, which is not in the graph", k, id)
				}
			}
		}
	})
}
