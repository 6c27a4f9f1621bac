package rawscan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"permgraph/collectors/internal/rawcapture"
)

var validSeeds = []string{
	``, ` `, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e5`, `1E+5`, `1e-`, `-1.5e-7`, `.5`, `+1`, `1 2`,
	`"a"`, `"a`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\u12"`, `"\x"`, "\"\x01\"", "\"\x7f\xff\xfe\"", `"é"`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `NaN`,
	`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":[1,2,{"b":null}]}`,
	`[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[[[[]]]]`, `]`, `}`, `{"a":}`, "\t{\r\n}\n",
	`{"url":"https://x/y?a=1\u0026b=2","status":200,"body":{"kind":"k","items":[1,2.5,"s",true,null]}}`,
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%.60q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// lineSeeds are capture lines of every shape: the recorder's, other key
// orders and spellings, and broken ones.
var lineSeeds = []string{
	`{"url":"https://a/admin/directory/v1/users?customer=x\u0026maxResults=500","status":200,"body":{"kind":"admin#directory#users"}}`,
	`{"status":404,"body":{"error":{"message":"gone"}},"url":"https://a/x"}`,
	`  {"url":"https://a/x","status":200,"body":[1,2]}  `,
	`{"URL":"https://a/x","status":200,"body":{}}`,
	`{"url":"https://a/x","Status":200,"body":{}}`,
	`{"url":"https://a/x","status":200,"BODY":{},"body":1}`,
	`{"url":"https://a/x","status":200,"body":null}`,
	`{"url":"https://a/x","status":200}`,
	`{"url":"https://a/x","status":"200","body":{}}`,
	`{"url":"https://a/x","status":2e2,"body":{}}`,
	`{"url":"https://a/x","status":200.0,"body":{}}`,
	`{"url":"https://a/x","status":-3,"body":{}}`,
	`{"url":"https://a/x","status":0,"body":{}}`,
	`{"url":"","status":200,"body":{}}`,
	`{"url":null,"status":200,"body":{}}`,
	`{"url":5,"status":200,"body":{}}`,
	`{"url":"https://a/x","status":99999999999999999999,"body":{}}`,
	`{"url":"https://a/x","status":1234567890123456789,"body":{}}`,
	`{"url":"https://a/x","url":"https://b/y","status":200,"status":201,"body":1,"body":{"a":2}}`,
	`{"u\u0072l":"https://a/x","status":200,"body":{}}`,
	`{"ſtatus":200,"url":"https://a/x","body":{}}`,
	`{"url":"https://a/x","status":200,"body":{},"extra":[{"deep":true}]}`,
	`{"url":"%zz","status":200,"body":{}}`,
	`{"url":"https://a/\u00e9t\u00e9","status":200,"body":"x"}`,
	"{\"url\":\"https://a/\xff\",\"status\":200,\"body\":{}}",
	`{"url":"https://a/x","status":200,"body":{"kind":"x"}`,
	`{"url":"https://a/x","status":200,"body":{}} trailing`,
	`[{"url":"https://a/x","status":200,"body":{}}]`,
	`"just a string"`,
	`null`,
	`not json`,
	`{}`,
}

func writeLines(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// collect runs both readers over path and returns what each saw.
func collect(t testing.TB, path string) (got, want []string, gotErr, wantErr error) {
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf []byte
	gotErr = Each(ctx, path, func(p *Page) error {
		got = append(got, fmt.Sprintf("%d %s %d %s %s %s", p.Line, p.URL, p.Status, p.Body, p.Path, p.Where()))
		// Reading the page back gives the same body.
		q := Page{File: p.File, Line: p.Line, LineOff: p.LineOff, LineLen: p.LineLen}
		var err error
		buf, err = ReadPage(f, &q, buf)
		if err != nil {
			t.Fatalf("ReadPage %s:%d: %v", p.File, p.Line, err)
		}
		if !bytes.Equal(q.Body, p.Body) || q.URL != p.URL || q.Status != p.Status || q.BodyOff != p.BodyOff {
			t.Fatalf("ReadPage %s:%d = %+v, want %+v", p.File, p.Line, q, p)
		}
		if p.BodyOff >= 0 {
			b := make([]byte, len(p.Body))
			if _, err := f.ReadAt(b, p.BodyOff); err != nil || !bytes.Equal(b, p.Body) {
				t.Fatalf("body at offset %d = %q, want %q", p.BodyOff, b, p.Body)
			}
		}
		return nil
	})
	wantErr = rawcapture.Each(ctx, path, func(p rawcapture.Page) error {
		want = append(want, fmt.Sprintf("%d %s %d %s %s %s", p.Line, p.URL, p.Status, p.Body, p.Path(), p.Where()))
		return nil
	})
	return
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}

func TestEachMatchesRawcapture(t *testing.T) {
	for i, l := range lineSeeds {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// the line between two good ones, with CRLF and blank lines
			path := writeLines(t, "", lineSeeds[0]+"\r", "   ", l, lineSeeds[1], "")
			got, want, gotErr, wantErr := collect(t, path)
			if strings.Join(got, "\n") != strings.Join(want, "\n") || !sameErr(gotErr, wantErr) {
				t.Errorf("line %q:\nrawscan   %q %v\nrawcapture %q %v", l, got, gotErr, want, wantErr)
			}
		})
	}
}

func FuzzEach(f *testing.F) {
	for _, l := range lineSeeds {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, l string) {
		path := writeLines(t, lineSeeds[0], l, lineSeeds[1])
		got, want, gotErr, wantErr := collect(t, path)
		if strings.Join(got, "\n") != strings.Join(want, "\n") || !sameErr(gotErr, wantErr) {
			t.Fatalf("line %q:\nrawscan   %q %v\nrawcapture %q %v", l, got, gotErr, want, wantErr)
		}
	})
}

func TestEachErrors(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing.jsonl")
	err := Each(ctx, missing, func(*Page) error { return nil })
	want := rawcapture.Each(ctx, missing, func(rawcapture.Page) error { return nil })
	if !sameErr(err, want) {
		t.Errorf("missing file: %v, want %v", err, want)
	}
	// The callback's error stops the scan.
	stop := errors.New("stop")
	n := 0
	err = Each(ctx, writeLines(t, lineSeeds[0], lineSeeds[1]), func(*Page) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error: %v after %d pages", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = Each(cctx, writeLines(t, lineSeeds[0]), func(*Page) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestEachMatchingSkipsUnread: lines whose URL the caller skips are not
// checked (even broken ones); every other line is read and checked as
// Each does, including lines whose URL cannot be seen without decoding.
func TestEachMatchingSkipsUnread(t *testing.T) {
	ctx := context.Background()
	skipGraph := func(u string) bool { return strings.Contains(u, "graph.microsoft.com") }
	file := writeLines(t,
		`{"url":"https://management.azure.com/subscriptions","status":200,"body":{"value":[]}}`,
		`{"url":"https://graph.microsoft.com/v1.0/users","status":200,"body":{"value":[BROKEN`,
		`{"status":200,"url":"https://graph.microsoft.com/v1.0/groups","body":{}}`,
		`{"url":"https://graph\u002emicrosoft.com/v1.0/users","status":200,"body":{}}`,
	)
	var got []int
	err := EachMatching(ctx, file, skipGraph, func(p *Page) error { got = append(got, p.Line); return nil })
	if err != nil {
		t.Fatal(err)
	}
	// Line 2 is skipped unread; lines 3 and 4 are not in the leading-url
	// shape without escapes, so they are read.
	if want := []int{1, 3, 4}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines read = %v, want %v", got, want)
	}
	broken := writeLines(t, `{"url":"https://management.azure.com/subscriptions","status":200,"body":{"value":[BROKEN`)
	if err := EachMatching(ctx, broken, skipGraph, func(*Page) error { return nil }); err == nil {
		t.Error("a broken line that is not skipped: no error")
	}
}

func BenchmarkValid(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"kind":"admin#directory#members","members":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"1%020d","email":"user%d@example.com","type":"USER","role":"MEMBER","status":"ACTIVE"}`, i*7919, i)
	}
	sb.WriteString(`]}`)
	page := []byte(sb.String())
	b.SetBytes(int64(len(page)))
	b.Run("rawscan", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			Valid(page)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			json.Valid(page)
		}
	})
}
