package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSkip(t *testing.T) {
	tests := []struct {
		in      string
		wantEnd int
		wantErr error
	}{
		{`{}`, 2, nil},
		{`  {"a":1} x`, 9, nil},
		{`[1, "two", {"3": [true, false, null]}, -4.5e+6]`, 47, nil},
		{`"a\"b\\c\u00e9\/"`, 17, nil},
		{`0`, 1, nil},
		{`-0.0e0`, 6, nil},
		{`{"a":1,}`, 7, ErrSyntax},
		{`{"a" 1}`, 5, ErrSyntax},
		{`[1,,2]`, 3, ErrSyntax},
		{`{"a":tru}`, 5, ErrSyntax},
		{`"\x"`, 2, ErrSyntax},
		{`"\u12G4"`, 5, ErrSyntax},
		{`01`, 1, nil}, // a number followed by junk: the caller checks what follows
		{`-`, 1, ErrIncomplete},
		{`{"a":[1,2`, 9, ErrIncomplete},
		{`{"a":"b`, 7, ErrIncomplete},
		{`{"a":"b\`, 8, ErrIncomplete},
		{`tr`, 2, ErrIncomplete},
		{``, 0, ErrIncomplete},
		{`}`, 0, ErrSyntax},
	}
	for _, tt := range tests {
		end, err := Skip([]byte(tt.in), 0)
		if !errors.Is(err, tt.wantErr) || (err == nil && end != tt.wantEnd) {
			t.Errorf("Skip(%q) = %d, %v; want %d, %v", tt.in, end, err, tt.wantEnd, tt.wantErr)
		}
	}
}

func TestEnd(t *testing.T) {
	tests := []struct {
		in      string
		wantEnd int
		wantErr error
	}{
		{`{"a":"}\"]"}, {}`, 12, nil},
		{`[{"a":[1,2]},"\\"]x`, 18, nil},
		{`  {}`, 4, nil},
		{`"s\"t" 1`, 6, nil},
		{`12 `, 2, nil},
		{`{"a":"b`, 7, ErrIncomplete},
		{`{"a":[1,2}`, 10, ErrIncomplete},
		{`{"a\\":{"b":1}`, 16, ErrIncomplete},
	}
	for _, tt := range tests {
		end, err := End([]byte(tt.in), 0)
		if !errors.Is(err, tt.wantErr) || (err == nil && end != tt.wantEnd) {
			t.Errorf("End(%q) = %d, %v; want %d, %v", tt.in, end, err, tt.wantEnd, tt.wantErr)
		}
	}
}

func TestSkipDepth(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Skip([]byte(deep), 0); !errors.Is(err, ErrDepth) {
		t.Errorf("deep nesting: err = %v, want ErrDepth", err)
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Skip([]byte(ok), 0); err != nil {
		t.Errorf("MaxDepth nesting: %v", err)
	}
}

func TestMembers(t *testing.T) {
	raw := []byte(` {"a": 1, "b\u0063": {"x": [1,2]}, "s": "t\"u", "n": null} `)
	type kv struct{ K, V string }
	var got []kv
	it := NewMembers(raw)
	for it.Next() {
		got = append(got, kv{string(it.Key()), string(it.Value())})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	want := []kv{{"a", "1"}, {"bc", `{"x": [1,2]}`}, {"s", `"t\"u"`}, {"n", "null"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}

func TestMembersEnter(t *testing.T) {
	raw := []byte(`{"id":{"type":"T","ctx":{"arn":"A"}},"z":2}`)
	it := NewMembers(raw)
	var typ, arn, z string
	for it.Next() {
		switch string(it.Key()) {
		case "id":
			sub, ok := it.Enter()
			if !ok {
				t.Fatal("Enter failed on an object")
			}
			for sub.Next() {
				switch string(sub.Key()) {
				case "type":
					typ = Text(sub.Value())
				case "ctx":
					inner, _ := sub.Enter()
					for inner.Next() {
						arn = Text(inner.Value())
					}
					sub.Leave(&inner)
				}
			}
			it.Leave(&sub)
			if got := string(it.Value()); got != `{"type":"T","ctx":{"arn":"A"}}` {
				t.Errorf("Value after Leave = %s", got)
			}
		case "z":
			if _, ok := it.Enter(); ok {
				t.Error("Enter succeeded on a number")
			}
			z = Text(it.Value())
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if typ != "T" || arn != "A" || z != "2" {
		t.Errorf("got %q %q %q", typ, arn, z)
	}
	// An error inside an entered value stops the outer iteration.
	bad := NewMembers([]byte(`{"id":{"type":tru},"z":2}`))
	for bad.Next() {
		if sub, ok := bad.Enter(); ok {
			bad.Leave(&sub)
		}
	}
	if !errors.Is(bad.Err(), ErrSyntax) {
		t.Errorf("nested error = %v, want ErrSyntax", bad.Err())
	}
}

func TestMembersErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{`[1]`, ErrNotObject},
		{`"s"`, ErrNotObject},
		{`{"a":1} {}`, ErrSyntax},
		{`{"a":1`, ErrIncomplete},
		{`{"a":1 "b":2}`, ErrSyntax},
		{`{1:2}`, ErrSyntax},
		{`[1,`, ErrIncomplete},
	}
	for _, tt := range tests {
		it := NewMembers([]byte(tt.in))
		for it.Next() {
			it.Value()
		}
		if !errors.Is(it.Err(), tt.want) {
			t.Errorf("Members(%q) err = %v, want %v", tt.in, it.Err(), tt.want)
		}
	}
}

func TestElements(t *testing.T) {
	var got []string
	el := NewElements([]byte(`[ {"a":1}, 2 ,"x"]`))
	for el.Next() {
		got = append(got, string(el.Value()))
	}
	if err := el.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"a":1}`, "2", `"x"`}, got); diff != "" {
		t.Errorf("elements (-want +got):\n%s", diff)
	}
	bad := NewElements([]byte(`{"a":1}`))
	for bad.Next() {
	}
	if !errors.Is(bad.Err(), ErrNotArray) {
		t.Errorf("Elements(object) err = %v", bad.Err())
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"plain"`, "plain", true},
		{`"a\nb\t\"c\"\\\/"`, "a\nb\t\"c\"\\/", true},
		{`"\u00e9\u4e2d"`, "é中", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"\ud83d"`, "\uFFFD", true},
		{`12`, "", false},
		{`null`, "", false},
	}
	for _, tt := range tests {
		got, ok := String([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("String(%s) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := Text([]byte(`-1.5`)); got != "-1.5" {
		t.Errorf("Text(number) = %q", got)
	}
	if got := Text([]byte(`{"a":1}`)); got != "" {
		t.Errorf("Text(object) = %q", got)
	}
}

// FuzzScan checks the scanner against encoding/json: whatever encoding/json
// accepts is accepted, and whatever is accepted here but not there has a
// control character or invalid UTF-8 in a string (the documented leniency).
// Decoded strings must match encoding/json's.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2,{"a":"b\u00e9"}]`, `{"a":{"b":[true,false,null,-1.5e3]}}`, `"\ud83d\ude00"`, `{"a":1,}`, "\"\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ours := Valid(data)
		theirs := json.Valid(data)
		if theirs && !ours {
			t.Fatalf("rejected valid JSON %q", data)
		}
		if ours && !theirs && !hasControlOrBadUTF8(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if ours && theirs && len(data) > 0 {
			var want string
			if json.Unmarshal(data, &want) == nil {
				got, ok := String([]byte(strings.TrimSpace(string(data))))
				if ok && got != want && !strings.ContainsRune(want, '\uFFFD') {
					t.Fatalf("String(%q) = %q, want %q", data, got, want)
				}
			}
		}
		if ours {
			// On valid JSON the boundary finder agrees with the validating scanner.
			want, _ := Skip(data, 0)
			if got, err := End(data, 0); err != nil || got != want {
				t.Fatalf("End(%q) = %d, %v; Skip = %d", data, got, err, want)
			}
		}
		it := NewMembers(data)
		for it.Next() {
			_ = it.Value()
		}
		if it.Err() == nil && !(ours && len(strings.TrimSpace(string(data))) > 0 && strings.TrimSpace(string(data))[0] == '{') {
			t.Fatalf("Members accepted %q", data)
		}
	})
}

func hasControlOrBadUTF8(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r' || c >= 0x80 {
			return true
		}
	}
	return strings.ContainsAny(string(b), "\t\n\r")
}

// The short-string fast path agrees with the general string scanner on
// every input it accepts, whatever the length and wherever quotes and
// backslashes fall relative to its 8-byte words and its length limit.
func TestShortStringAgrees(t *testing.T) {
	alphabet := []byte{'a', '"', '\\', 'u', '0', 'x', '/', 0xC3}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200000; n++ {
		b := make([]byte, 1+rng.IntN(shortStringMax+20))
		b[0] = '"'
		for i := 1; i < len(b); i++ {
			// Mostly plain bytes, so strings often run long.
			if rng.IntN(8) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = 'a' + byte(rng.IntN(26))
			}
		}
		end, ok := shortString(b, 0)
		want, err := skipLongString(b, 0)
		if ok && (err != nil || end != want) {
			t.Fatalf("shortString(%q) = %d; skipLongString = %d, %v", b, end, want, err)
		}
		if !ok && err == nil && want <= shortStringMax+1 && bytes.IndexByte(b[1:want-1], '\\') < 0 {
			t.Fatalf("shortString(%q) missed a plain string ending at %d", b, want)
		}
	}
}
