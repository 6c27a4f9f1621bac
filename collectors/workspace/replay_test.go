package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/bench/gengoogle"
	"permgraph/collectors/internal/rawscan"
	"permgraph/graph"
)

// generatedCapture writes a small generated Workspace capture (no GCP) and
// returns its lines.
func generatedCapture(t *testing.T, c gengoogle.Config) []string {
	t.Helper()
	o, err := gengoogle.New(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := o.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, CaptureFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// writeFiles writes each file's lines into a new directory.
func writeFiles(t *testing.T, files map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, lines := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// compareReplays runs the reference replay and File.Collect over dir and
// fails unless both give the same graph, counts and error (and, on error,
// touched the same sources: that decides which partial snapshots are
// recorded).
func compareReplays(t *testing.T, dir string, o Options) error {
	t.Helper()
	ctx := context.Background()
	want := graph.NewCollection()
	wantCounts, wantErr := referenceCollect(ctx, dir, o, want)
	got := graph.NewCollection()
	f := NewFile(dir, o)
	gotErr := f.Collect(ctx, got)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("error:\n got %v\nwant %v", gotErr, wantErr)
	}
	names := func(c *graph.Collection) (out []string) {
		for _, g := range c.Sources() {
			out = append(out, g.Source)
		}
		return out
	}
	if d := cmp.Diff(names(want), names(got)); d != "" {
		t.Fatalf("sources touched (-want +got):\n%s", d)
	}
	if wantErr != nil {
		return gotErr
	}
	if d := cmp.Diff(wantCounts, f.Counts()); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.Sources(), got.Sources()); d != "" {
		t.Fatalf("graph (-reference +replay):\n%s", d)
	}
	return nil
}

func TestReplayMatchesReferenceGenerated(t *testing.T) {
	lines := generatedCapture(t, gengoogle.Config{Users: 1500, Groups: 300, Depth: 5, Seed: 9})
	t.Run("as written", func(t *testing.T) {
		compareReplays(t, writeFiles(t, map[string][]string{CaptureFile: lines}), Options{})
	})
	t.Run("shuffled over files", func(t *testing.T) {
		// kinds interleave, a group's pages are split over files and out
		// of order, members come before the users they name
		r := rand.New(rand.NewPCG(4, 2))
		sh := append([]string(nil), lines...)
		r.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		n := len(sh) / 3
		compareReplays(t, writeFiles(t, map[string][]string{"a.jsonl": sh[:n], "b.jsonl": sh[n : 2*n], CaptureFile: sh[2*n:]}), Options{})
	})
	t.Run("reversed", func(t *testing.T) {
		rev := make([]string, len(lines))
		for i, l := range lines {
			rev[len(lines)-1-i] = l
		}
		compareReplays(t, writeFiles(t, map[string][]string{CaptureFile: rev}), Options{Customer: "C9"})
	})
}

// Hand-made pages of every shape the fast readers must leave to
// encoding/json or handle like it.
func TestReplayMatchesReferenceShapes(t *testing.T) {
	const u = `{"url":"https://admin.googleapis.com/admin/directory/v1/users?customer=my_customer","status":200,"body":`
	const g = `{"url":"https://admin.googleapis.com/admin/directory/v1/groups","status":200,"body":`
	const m1 = `{"url":"https://admin.googleapis.com/admin/directory/v1/groups/g1/members","status":200,"body":`
	const m2 = `{"url":"https://admin.googleapis.com/admin/directory/v1/groups/g2/members?pageToken=x","status":200,"body":`
	users := u + `{"kind":"admin#directory#users","users":[` +
		`{"id":"1","primaryEmail":"A@Example.com","name":{"fullName":"A \u003cb\u003e"},"isAdmin":true,"customerId":"C1","aliases":["X@example.com","a2@example.com"],"nonEditableAliases":["a@ex.test.google.com"]},` +
		`{"id":"2","primaryEmail":"b@example.com","name":{"givenName":"B"},"suspended":true,"lastLoginTime":"1970-01-01T00:00:00.000Z","creationTime":"t"},` +
		`{"id":"3","primaryEmail":"c@example.com","name":{"fullName":"C"},"name":{"givenName":"C2"},"unknownField":[1,{"x":null}]},` +
		`{"id":"4","primaryEmail":"d@example.com","name":{"fullName":"Dé \ud83d\ude00 \"q\""}}]}}`
	groups := g + `{"kind":"admin#directory#groups","nextPageToken":"t","groups":[` +
		`{"id":"g1","email":"G1@example.com","name":"g one","directMembersCount":"12","aliases":["g1a@example.com"],"adminCreated":true,"description":"d"},` +
		`{"id":"g2","email":"g2@example.com","directMembersCount":"0"},{"id":"g3","email":"g3@other.test","name":""}]}}`
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		{"plain", []string{users, groups,
			m1 + `{"kind":"admin#directory#members","members":[{"id":"1","email":"a@example.com","role":"owner","type":"user"},{"id":"g2","email":"g2@example.com","type":"GROUP"},{"id":"C1","type":"CUSTOMER"},{"email":"p@partner.test","type":"USER","role":"MEMBER"},{"email":"x@gmail.com","type":"EXTERNAL"},{"email":"sa@p.iam.gserviceaccount.com","type":"USER"},{"role":"MEMBER"},{"id":"99","email":"z@example.com","type":"USER"},{"id":"gx","email":"gx@other.test","type":"GROUP"}]}}`,
			m2 + `{"kind":"admin#directory#members","members":[{"id":"2","email":"B@example.com ","role":"MANAGER","type":"USER","status":"ACTIVE","delivery_settings":"ALL_MAIL","etag":"e","kind":"admin#directory#member"}]}}`,
		}},
		// the same member twice in a group, on overlapping pages, with
		// different roles: one edge, evidence of both, the last role
		{"repeated member", []string{users, groups,
			m1 + `{"kind":"admin#directory#members","members":[{"id":"1","email":"a@example.com","role":"MEMBER","type":"USER"},{"id":"2","email":"b@example.com","role":"MEMBER","type":"USER"}]}}`,
			m2 + `{"members":[{"id":"1","email":"a@example.com","role":"MEMBER","type":"USER"}]}}`,
			m1 + `{"kind":"admin#directory#members","members":[{"id":"2","email":"b@example.com","role":"OWNER","type":"USER"},{"id":"1","email":"a@example.com","role":"MEMBER","type":"USER"},{"id":"1","email":"a@example.com","role":"MANAGER","type":"USER"}]}}`,
			m2 + `{"members":[{"id":"1","email":"a@example.com","role":"MEMBER","type":"USER"}]}}`,
		}},
		// members pages before the users and groups they name, groups
		// interleaved, a 404 between
		{"interleaved", []string{
			m1 + `{"members":[{"id":"1","email":"a@example.com","type":"USER"},{"id":"g2","type":"GROUP","email":"g2@example.com"}],"nextPageToken":"n"}}`,
			m2 + `{"members":[{"id":"2","type":"USER","email":"b@example.com"}]}}`,
			`{"url":"https://admin.googleapis.com/admin/directory/v1/groups/g3/members","status":404,"body":{"error":{"code":404}}}`,
			groups,
			m1 + `{"members":[{"id":"3","email":"c@example.com","type":"USER"}]}}`,
			`{"url":"https://admin.googleapis.com/admin/directory/v1/customers/my_customer","status":200,"body":{"id":"C1"}}`,
			users,
			`{"url":"https://admin.googleapis.com/admin/directory/v1/customer/my_customer/roles","status":200,"body":{"kind":"admin#directory#roles","items":[{"roleId":"7","roleName":"r","isSuperAdminRole":true}]}}`,
			`{"url":"https://admin.googleapis.com/admin/directory/v1/customer/my_customer/roleassignments","status":200,"body":{"items":[{"roleAssignmentId":"5","roleId":"7","assignedTo":"g1","scopeType":"ORG_UNIT","orgUnitId":"ou"},{"roleAssignmentId":"6","roleId":"8","assignedTo":"u9","assigneeType":"user"}]}}`,
		}},
		// lines and pages in shapes the fast path leaves to encoding/json
		{"odd shapes", []string{
			`{"status":200,"body":` + strings.TrimPrefix(users, u) + `,"url":"https://admin.googleapis.com/admin/directory/v1/users"}`,
			`{"URL":"https://admin.googleapis.com/admin/directory/v1/groups","Status":200,"Body":` + strings.TrimPrefix(groups, g),
			g + `{"kind":"admin#directory#groups","groups":[{"ID":"g4","email":"g4@example.com","directMembersCount":"007"}]}}`,
			g + `{"groups":[{"id":"g5","email":"g5@example.com","directMembersCount":"-3","name":null}],"groups":[{"id":"g6"}]}}`,
			u + `{"users":[{"id":"5","primaryEmail":"e@example.com","name":null,"aliases":null,"Suspended":true}]}}`,
			u + `{"users":[{"id":"6","primaryEmail":"f@example.com","aliases":["x@example.com",null]}],"trigger_event":"e"}}`,
			u + `{"users":[{"id":"7","primaryEmail":"h@example.com","aliases":["a@example.com"],"aliases":["b@example.com"]}]}}`,
			u + `{"users":[{"id":"8","primaryEmail":"i\u00e9@example.com","orgUnitPath":"/"},{"id":"9","primaryemail":"j@example.com"}]}}`,
			m1 + `{"members":[{"id":"1","Email":"A@example.com","type":"USER"},{"id":"5","email":"e@example.com","role":null,"type":"USER"}]}}`,
			m2 + `{"members":[{"id":"2","email":"b@example.com","type":"USER"}],"members":[{"id":"3"}]}}`,
			m2 + `{"members":[{"id":"4","email":"d@example.com","type":"USER","status":5}]}}`,
			m2 + `  {"members":[{"id":"6","email":"f@example.com","type":"USER","x\u0079":1}]}  }`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compareReplays(t, writeFiles(t, map[string][]string{CaptureFile: tc.lines}), Options{})
		})
	}
}

// TestReplayErrorsMatchReference breaks a generated capture in many ways,
// one at a time, and checks that the replay fails (or not) exactly as the
// pass-per-stage replay did: same message naming file, line and field,
// same sources touched.
func TestReplayErrorsMatchReference(t *testing.T) {
	lines := generatedCapture(t, gengoogle.Config{Users: 120, Groups: 30, Depth: 3, Seed: 2})
	mutations := []struct {
		name string
		fn   func(l string, r *rand.Rand) string
	}{
		{"truncated", func(l string, r *rand.Rand) string { return l[:r.IntN(len(l))] }},
		{"status 500", func(l string, _ *rand.Rand) string { return strings.Replace(l, `"status":200`, `"status":500`, 1) }},
		{"status 404", func(l string, _ *rand.Rand) string { return strings.Replace(l, `"status":200`, `"status":404`, 1) }},
		{"no status", func(l string, _ *rand.Rand) string { return strings.Replace(l, `"status":200,`, ``, 1) }},
		{"empty url", func(l string, _ *rand.Rand) string {
			i := strings.Index(l, `","status"`)
			return `{"url":"` + l[i:]
		}},
		{"bad url", func(l string, _ *rand.Rand) string { return strings.Replace(l, `https://`, `https://%zz`, 1) }},
		{"other kind", func(l string, _ *rand.Rand) string {
			return strings.Replace(l, `"kind":"admin#directory#`, `"kind":"admin#directory#x`, 1)
		}},
		{"null item", func(l string, _ *rand.Rand) string {
			for _, k := range []string{`"users":[`, `"groups":[`, `"members":[`} {
				l = strings.Replace(l, k, k+`null,`, 1)
			}
			return l
		}},
		{"number id", func(l string, _ *rand.Rand) string { return strings.Replace(l, `"id":"`, `"id":1,"x":"`, 1) }},
		{"missing id", func(l string, _ *rand.Rand) string { return strings.Replace(l, `"id":"`, `"xid":"`, 1) }},
		{"byte flip", func(l string, r *rand.Rand) string {
			const junk = "{}[]\",:0a\\ \x01"
			b := []byte(l)
			b[r.IntN(len(b))] = junk[r.IntN(len(junk))]
			return string(b)
		}},
		{"nul group", func(l string, _ *rand.Rand) string { return strings.Replace(l, `/members?`, `%00/members?`, 1) }},
	}
	r := rand.New(rand.NewPCG(7, 7))
	// Every mutation on a sample of lines: the first users page (which
	// names the customer), other users, groups, roles, members.
	picks := []int{0, 1, len(lines) / 2, len(lines) - 1}
	for i, l := range lines {
		if strings.Contains(l, "/roles") || strings.Contains(l, "/groups?") {
			picks = append(picks, i)
		}
	}
	failed, passed := 0, 0
	defer func() {
		t.Logf("%d broken captures failed, %d replayed", failed, passed)
		if failed == 0 || passed == 0 {
			t.Errorf("want both outcomes; %d failed, %d replayed", failed, passed)
		}
	}()
	for mi, mu := range mutations {
		for pi, i := range picks {
			// alternately a second break elsewhere, and a customer given
			// or taken from the capture
			second := -1
			if (mi+pi)%2 == 1 {
				second = r.IntN(len(lines))
			}
			o := Options{}
			if pi%2 == 1 {
				o.Customer = "C1"
			}
			name := fmt.Sprintf("%s line %d", mu.name, i+1)
			if second >= 0 {
				name += fmt.Sprintf(" and %d", second+1)
			}
			t.Run(name, func(t *testing.T) {
				broken := append([]string(nil), lines...)
				broken[i] = mu.fn(broken[i], r)
				if second >= 0 {
					broken[second] = mutations[r.IntN(len(mutations))].fn(broken[second], r)
				}
				if compareReplays(t, writeFiles(t, map[string][]string{CaptureFile: broken}), o) != nil {
					failed++
				} else {
					passed++
				}
			})
		}
	}
}

// TestFastPathTakesGeneratedPages checks that the pages the live collector
// writes (the generator's) are read by the fast path, not encoding/json.
func TestFastPathTakesGeneratedPages(t *testing.T) {
	lines := generatedCapture(t, gengoogle.Config{Users: 800, Groups: 200, Depth: 4, Seed: 3})
	dir := writeFiles(t, map[string][]string{CaptureFile: lines})
	pd := newPageDecoder()
	seen := map[pageKind]int{}
	err := rawscan.Each(context.Background(), filepath.Join(dir, CaptureFile), func(p *rawscan.Page) error {
		if p.BodyOff < 0 {
			t.Errorf("%s: line not in the fast shape", p.Where())
		}
		kind, _ := classify(p.Path)
		seen[kind]++
		var ok bool
		switch kind {
		case pageUsers:
			_, ok = pd.decodeUsers(p.Body)
		case pageGroups:
			_, ok = pd.decodeGroups(p.Body)
		case pageMembers:
			_, ok = pd.decodeMembers(p.Body)
		default:
			return nil
		}
		if !ok {
			t.Errorf("%s: fast decoder declined the page", p.Where())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen[pageUsers] == 0 || seen[pageGroups] == 0 || seen[pageMembers] == 0 {
		t.Errorf("pages by kind: %v", seen)
	}
}

// FuzzFastDecoders checks the replay's page decoders against the
// encoding/json path on any valid JSON body: same error, same graph.
func FuzzFastDecoders(f *testing.F) {
	for _, s := range []struct {
		path, body string
	}{
		{"/admin/directory/v1/users", `{"kind":"admin#directory#users","users":[{"id":"1","primaryEmail":"A@example.com","name":{"fullName":"A"},"isAdmin":true,"aliases":["x@example.com"],"lastLoginTime":"t","customerId":"C1"},{"id":"2","primaryEmail":"b@example.com"}]}`},
		{"/admin/directory/v1/users", `{"users":[{"id":"3","name":{"fullName":"C"},"name":{"givenName":"D"},"nonEditableAliases":["Q@x"],"suspended":false,"creationTime":"c","unknown":{"a":[1,null]}}],"trigger_event":"x","nextPageToken":"p"}`},
		{"/admin/directory/v1/groups", `{"kind":"admin#directory#groups","groups":[{"id":"g1","email":"G@example.com","name":"n","directMembersCount":"12","aliases":["a@example.com"],"adminCreated":true,"description":"d","etag":"e","kind":"k"}]}`},
		{"/admin/directory/v1/groups/g1/members", `{"kind":"admin#directory#members","members":[{"id":"1","email":"a@example.com","role":"OWNER","type":"USER","status":"ACTIVE"},{"id":"g1","type":"GROUP","email":"g@x.test"},{"id":"C1","type":"CUSTOMER"},{"email":"e@gmail.com","type":"EXTERNAL","role":"manager"},{"email":"s@p.iam.gserviceaccount.com"},{},{"id":"1","email":"a@example.com","role":"MEMBER","type":"USER"},{"id":"1","type":"USER"},{"id":"g1","type":"GROUP"}]}`},
	} {
		f.Add(s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, path, body string) {
		if !json.Valid([]byte(body)) {
			return
		}
		kind, g := classify(path)
		if kind != pageUsers && kind != pageGroups && kind != pageMembers {
			return
		}
		setup := func(c *graph.Collection, track bool) *mapper {
			m := newMapper(c, "google:fuzz")
			if track {
				m.trackNodes()
			}
			if err := m.user(&userRec{id: "1", email: "U1@example.com"}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.group(&groupRec{id: "g1", email: "g1@example.com", directMembersCount: "0"}); err != nil {
				t.Fatal(err)
			}
			return m
		}
		want := graph.NewCollection()
		wantErr := setup(want, false).decodePage(kind, g, []byte(body))
		got := graph.NewCollection()
		m := setup(got, true)
		r := newReplay(m, nil)
		gotErr := r.decode(kind, g, []byte(body))
		if gotErr == nil {
			gotErr = r.members.flushAll()
		}
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("error %v, encoding/json path says %v", gotErr, wantErr)
		}
		if wantErr != nil {
			return
		}
		if d := cmp.Diff(want.Sources(), got.Sources()); d != "" {
			t.Fatalf("graph (-encoding/json +fast):\n%s", d)
		}
	})
}
