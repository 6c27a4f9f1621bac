package entra

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/bench/genazure"
	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// compareReplays replays dir with every page decoded by kiota (the replay
// before pageDecoder) and with the fast decoder, and fails unless both give
// the same graph, counts and error.
func compareReplays(t *testing.T, dir string, o Options) error {
	t.Helper()
	ctx := context.Background()
	want := graph.NewCollection()
	ref := NewFile(dir, o)
	ref.kiotaOnly = true
	wantErr := ref.Collect(ctx, want)
	got := graph.NewCollection()
	f := NewFile(dir, o)
	gotErr := f.Collect(ctx, got)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("error:\n got %v\nwant %v", gotErr, wantErr)
	}
	if wantErr != nil {
		return gotErr
	}
	if d := cmp.Diff(ref.Counts, f.Counts); d != "" {
		t.Errorf("counts (-kiota +fast):\n%s", d)
	}
	if d := cmp.Diff(want.Sources(), got.Sources()); d != "" {
		t.Fatalf("graph (-kiota +fast):\n%s", d)
	}
	return nil
}

// generated writes a small genazure tenant and returns its directory.
func generated(t *testing.T, c genazure.Config) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := genazure.WriteDir(dir, c); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFastReplayMatchesKiotaGenerated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  func() genazure.Config
	}{
		{"2k seed 1", func() genazure.Config { return genazure.ForUsers(2000) }},
		{"3k seed 7 round 2", func() genazure.Config {
			c := genazure.ForUsers(3000)
			c.Seed, c.Round = 7, 2
			return c
		}},
		{"1.5k seed 42 churn 5% round 9", func() genazure.Config {
			c := genazure.ForUsers(1500)
			c.Seed, c.Churn, c.Round = 42, 0.05, 9
			return c
		}},
		{"5k seed 3 no faults", func() genazure.Config {
			c := genazure.ForUsers(5000)
			c.Seed, c.Faults = 3, false
			return c
		}},
		{"800 seed 11 depth 3", func() genazure.Config {
			c := genazure.ForUsers(800)
			c.Seed, c.Depth = 11, 3
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := generated(t, tc.cfg())
			if err := compareReplays(t, dir, Options{}); err != nil {
				t.Fatal(err)
			}
			// The generated pages are the live shape: every bulk page
			// must take the fast path, or the test proves nothing.
			pd := &pageDecoder{}
			n := 0
			err := rawcapture.Each(context.Background(), filepath.Join(dir, CaptureFile), func(p rawcapture.Page) error {
				k, _ := classify(p.Path())
				if !fastKind(k) || p.Status != 200 {
					return nil
				}
				n++
				if !pd.decode(k, p.Body) {
					return fmt.Errorf("%s: fast decoder refused a generated page", p.Where())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("no bulk pages")
			}
		})
	}
}

// The attacker-chosen display names of the generator (quotes, escapes,
// bidi and zero-width characters...) are in the pages above; these are
// hand-made pages of every shape the fast decoder must take like kiota or
// leave to it.
func TestFastDecoderShapes(t *testing.T) {
	t.Parallel()
	const (
		u  = "/v1.0/users"
		g  = "/v1.0/groups"
		m  = "/v1.0/groups/g1/members"
		ow = "/v1.0/groups/g1/owners"
		so = "/v1.0/servicePrincipals/s1/owners"
		ao = "/v1.0/applications/a1/owners"
	)
	for _, tc := range []struct {
		path, body string
		fast       bool // the fast path must take it
	}{
		{u, `{"value":[]}`, true},
		{u, `{}`, true},
		{u, ` {"@odata.context":"c","value":[{"id":"1","displayName":"A \"q\" \\ \u0000 \ud83d\ude00 <b>","userPrincipalName":"X_p#EXT#@t.onmicrosoft.com","mail":null,"otherMails":["a@b","\u00e9@x"],"accountEnabled":false,"userType":"Guest","createdDateTime":"2021-01-02T03:04:05Z","signInActivity":{"lastSignInDateTime":"2026-01-01T00:00:00.1234567+02:00","lastNonInteractiveSignInDateTime":null,"lastSignInRequestId":"r"}}],"@odata.nextLink":"n"} `, true},
		{u, `{"value":[{"id":"2","displayName":"Zoë \u202e evil","createdDateTime":null,"signInActivity":null,"otherMails":null,"accountEnabled":null,"@odata.type":"#microsoft.graph.user"}]}`, true},
		{u, `{"value":[{"id":"3","displayName":"bad utf8 ` + "\xff\xfe" + ` end","createdDateTime":"0001-01-01T00:00:00Z"}]}`, true},
		{u, `{"value":[{"id":"4","mail":"m","mail":"n"}]}`, false},                   // duplicate key
		{u, `{"value":[{"id":"5","department":"x"}]}`, false},                        // not selected
		{u, `{"value":[{"\u0069d":"6"}]}`, false},                                    // escaped key
		{u, `{"value":[{"id":7}]}`, false},                                           // kiota: type error
		{u, `{"value":[{"id":"8","accountEnabled":"yes"}]}`, false},                  // kiota: type error
		{u, `{"value":[{"id":"9","createdDateTime":"2021-01-02T03:04:05"}]}`, false}, // no zone: kiota adds the local one
		{u, `{"value":[{"id":"10","createdDateTime":"yesterday"}]}`, false},          // kiota: parse error
		{u, `{"value":[{"id":"11","otherMails":["a",null]}]}`, false},                // null element
		{u, `{"value":[null,{"id":"12"}]}`, false},                                   // null item
		{u, `{"value":[{"displayName":"no id"}]}`, true},                             // builder error
		{u, `{"value":[{"id":""}]}`, true},                                           // builder error
		{u, `{"value":null}`, false},                                                 // kiota: no items
		{u, `{"value":{}}`, false},                                                   // kiota: not a collection
		{u, `{"value":[],"@odata.count":3}`, false},                                  // not taken
		{u, `{"value":[],"@odata.nextLink":5}`, false},                               // kiota: type error
		{u, `{"value":[{"id":"13"}],"value":[{"id":"14"}]}`, false},                  // duplicate value
		{u, `{"value":[{"id":"15","signInActivity":{"lastSignInDateTime":"2020-02-30T00:00:00Z"}}]}`, false},
		{g, `{"value":[{"id":"g1","displayName":"G","mail":null,"securityEnabled":true,"mailEnabled":false,"groupTypes":["Unified","DynamicMembership"],"isAssignableToRole":null,"membershipRule":"(user.userType -eq \"Member\")"},{"id":"g2","groupTypes":null,"isAssignableToRole":true},{"id":"g3","groupTypes":[]}]}`, true},
		{g, `{"value":[{"id":"g4","groupTypes":[1]}]}`, false},
		{g, `{"value":[{"id":"g5","isAssignableToRole":0}]}`, false},
		{m, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1"},{"@odata.type":"#microsoft.graph.group","id":"g2"},{"@odata.type":"#microsoft.graph.servicePrincipal","id":"s1"},{"@odata.type":"#microsoft.graph.device","id":"d1"},{"@odata.type":"#microsoft.graph.orgContact","id":"c1"},{"id":"x1"},{"@odata.type":null,"id":"x2"},{"@odata.type":"#microsoft.graph.User","id":"x3"},{"@odata.type":"#microsoft.graph.\u0075ser","id":"u2"},{"@odata.type":"#microsoft.graph.user"},{}]}`, true},
		{m, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1","displayName":"x"}]}`, false},
		{m, `{"value":[{"@odata.type":5,"id":"u1"}]}`, false},
		{m, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1","@odata.type":"#microsoft.graph.group"}]}`, false},
		{ow, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1"},{"@odata.type":"#microsoft.graph.group","id":"g2"},{"@odata.type":"#microsoft.graph.servicePrincipal","id":"s1"}]}`, true},
		{so, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1"},{"@odata.type":"#microsoft.graph.servicePrincipal","id":"s2"}]}`, true},
		{ao, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1"}]}`, true},
		{u, `{"value":[{"id":"16"}]} x`, false}, // not JSON
		{u, `{"value":[{"id":"17",}]}`, false},  // not JSON
		{u, `{"value":[{"id":"18","accountEnabled":truex}]}`, false},
		{u, "{\"value\":[{\"id\":\"19\ttab\"}]}", false}, // control character in a string
	} {
		t.Run(tc.path+" "+tc.body, func(t *testing.T) {
			k, owner := classify(tc.path)
			fast := comparePage(t, k, owner, []byte(tc.body))
			if fast != tc.fast {
				t.Errorf("fast path took it: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// comparePage decodes one page body with kiota and with pageDecoder and
// fails unless they give the same graph and error; it reports whether
// the fast decoder took the page.
func comparePage(t *testing.T, k pageKind, owner string, body []byte) bool {
	t.Helper()
	run := func(fast bool) (*graph.Collection, string, bool) {
		c := graph.NewCollection()
		b := newBuilder(c, "azure:t")
		// a role assignment names a user only by id
		b.kinds["u1"] = userID("u1")
		var err error
		pd := &pageDecoder{}
		took := fast && fastKind(k) && pd.decode(k, body)
		if took {
			err = pd.apply(b, k, owner)
		} else {
			var pg parsed
			if pg, err = parsePage(k, body); err == nil {
				err = b.apply(k, owner, pg)
			}
		}
		if err == nil {
			err = b.finish()
		}
		return c, fmt.Sprint(err), took
	}
	want, wantErr, _ := run(false)
	got, gotErr, took := run(true)
	if gotErr != wantErr {
		t.Fatalf("error:\n got %s\nwant %s", gotErr, wantErr)
	}
	if d := cmp.Diff(want.Sources(), got.Sources()); d != "" {
		t.Fatalf("graph (-kiota +fast):\n%s", d)
	}
	return took
}

// The shared real Graph responses, each as the page kinds it can be.
func TestFastDecoderSharedSamples(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "msgraph")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("no shared samples in %s", dir)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []pageKind{pageUsers, pageGroups, pageGroupMembers, pageGroupOwners, pageSPOwners, pageAppOwners} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(file), k), func(t *testing.T) {
				comparePage(t, k, "g1", body)
			})
		}
	}
}

// A whole capture with odd pages between generated ones: the fast replay
// falls back page by page and still gives the same graph, and the same
// error when a page is malformed.
func TestFastReplayMixedCapture(t *testing.T) {
	t.Parallel()
	c := genazure.ForUsers(600)
	c.Seed = 5
	dir := generated(t, c)
	lines := readLines(t, filepath.Join(dir, CaptureFile))
	odd := `{"url":"https://graph.microsoft.com/v1.0/users?$top=999","status":200,"body":{"value":[{"id":"odd1","displayName":"x","department":"y"},{"id":"odd2","displayName":"\"quoted\" \\ \u2028"}]}}`
	// encoding/json matches keys case-insensitively; rawscan leaves such
	// lines to it
	upper := `{"URL":"https://graph.microsoft.com/v1.0/users","status":200,"body":{"value":[{"id":"up1"}]}}`
	mixed := append(append([]string{}, lines[:3]...), odd, upper)
	mixed = append(mixed, lines[3:]...)
	if err := compareReplays(t, writeLines(t, mixed), Options{}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ line, want string }{
		{`{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":{"value":[{"id":"b1"},{"id":"b2","accountEnabled":"yes"}]}}`,
			`graph.jsonl:6 (/v1.0/users): decode page: value[1] (id "b2") field "accountEnabled": type '*string' is not compatible with type bool`},
		{`{"url":"https://graph.microsoft.com/v1.0/groups/g1/members","status":200,"body":{"value":[{"@odata.type":"#microsoft.graph.user","id":5}]}}`,
			`graph.jsonl:6 (/v1.0/groups/g1/members): decode page: value[0] (id "") field "id": type '*float64' is not compatible with type string`},
		{`{"url":"https://graph.microsoft.com/v1.0/groups","status":200,"body":{"value":[{"id":"b3","displayName":"ok"},{"id":"b4","mail":"x","groupTypes":"Unified","securityEnabled":1}]}}`,
			`graph.jsonl:6 (/v1.0/groups): decode page: value[1] (id "b4") field "groupTypes": value is not a collection`},
		{`{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":{"value":[{"id":"b5","createdDateTime":"soon"}]}}`,
			`value[0] (id "b5") field "createdDateTime": parsing time "soon"`},
		{`{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":{"value":[{"id":"b6"}],"@odata.nextLink":false}}`,
			`graph.jsonl:6 (/v1.0/users): decode page: field "@odata.nextLink": type '*bool' is not compatible with type string`},
		{`{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":{"value":{"id":"b8"}}}`,
			`graph.jsonl:6 (/v1.0/users): decode page: field "value": value is not a collection`},
		{`{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":[]}`, `graph.jsonl:6 (/v1.0/users): page body is not a JSON object`},
		// lines that are not page records: rawscan and rawcapture agree
		{`not json`, `graph.jsonl:6: not a page record`},
		{`{"status":200,"body":{}}`, `graph.jsonl:6: field "url" is missing`},
		{`{"url":"https://graph.microsoft.com/v1.0/users","body":{}}`, `graph.jsonl:6: field "status" is missing`},
		{`{"url":"%zz","status":200,"body":{}}`, `graph.jsonl:6: field "url": parse`},
		{`{"url":5,"status":200,"body":{}}`, `graph.jsonl:6: not a page record`},
		{`{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":null}`, `graph.jsonl:6 (/v1.0/users): page body is not a JSON object`},
		{`{"url":"https://graph.microsoft.com/v1.0/me","status":200,"body":{}}`, `graph.jsonl:6 (/v1.0/me): unexpected Graph path`},
	} {
		t.Run(bad.line, func(t *testing.T) {
			in := append(append([]string{}, lines[:5]...), bad.line)
			in = append(in, lines[5:]...)
			err := compareReplays(t, writeLines(t, in), Options{})
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("error %v\nwant it to contain %s", err, bad.want)
			}
		})
	}
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeLines(t *testing.T, lines []string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CaptureFile), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// FuzzFastDecoder checks pageDecoder against kiota on any page body: when
// the fast decoder takes a page, kiota must read it into the same graph
// (and the same builder error).
func FuzzFastDecoder(f *testing.F) {
	for _, s := range []struct {
		kind pageKind
		body string
	}{
		{pageUsers, `{"@odata.context":"c","value":[{"id":"1","displayName":"A \"q\"","userPrincipalName":"a_x#EXT#@t","mail":null,"otherMails":["a@b"],"accountEnabled":true,"userType":"Member","createdDateTime":"2021-01-02T03:04:05Z","signInActivity":{"lastSignInDateTime":"2026-01-01T00:00:00Z","lastNonInteractiveSignInDateTime":"2026-01-01T00:00:00Z"}}],"@odata.nextLink":"n"}`},
		{pageGroups, `{"value":[{"id":"g1","displayName":"G","mail":null,"securityEnabled":true,"mailEnabled":false,"groupTypes":["DynamicMembership"],"isAssignableToRole":null,"membershipRule":"r"}]}`},
		{pageGroupMembers, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1"},{"@odata.type":"#microsoft.graph.group","id":"g2"},{"@odata.type":"#microsoft.graph.device","id":"d"},{}]}`},
		{pageGroupOwners, `{"value":[{"@odata.type":"#microsoft.graph.servicePrincipal","id":"s1"},{"@odata.type":"#microsoft.graph.group","id":"g2"}]}`},
		{pageSPOwners, `{"value":[{"@odata.type":"#microsoft.graph.user","id":"u1"}]}`},
	} {
		f.Add(uint8(s.kind), []byte(s.body))
	}
	fast := []pageKind{pageUsers, pageGroups, pageGroupMembers, pageGroupOwners, pageSPOwners, pageAppOwners}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		k := fast[int(kind)%len(fast)]
		if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) || !json.Valid(body) {
			// the replay hands over only bodies of valid lines; the fast
			// decoder must still refuse anything else
			if (&pageDecoder{}).decode(k, body) && !json.Valid(body) {
				t.Fatalf("fast decoder took invalid JSON %q", body)
			}
			return
		}
		comparePage(t, k, "g1", body)
	})
}

// BenchmarkReplay replays the Graph capture of a generated tenant of
// $PERMGRAPH_BENCH_USERS (2,000) users into a collection, with kiota
// decoding every page (as before pageDecoder) and with the fast path.
func BenchmarkReplay(b *testing.B) {
	users := 2000
	if n, err := strconv.Atoi(os.Getenv("PERMGRAPH_BENCH_USERS")); err == nil && n > 0 {
		users = n
	}
	dir := b.TempDir()
	st, err := genazure.WriteDir(dir, genazure.ForUsers(users))
	if err != nil {
		b.Fatal(err)
	}
	for _, kiota := range []bool{true, false} {
		name := "fast"
		if kiota {
			name = "kiota"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(st.GraphBytes)
			for b.Loop() {
				f := NewFile(dir, Options{})
				f.kiotaOnly = kiota
				if err := f.Collect(context.Background(), graph.NewCollection()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
