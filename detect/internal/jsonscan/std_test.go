package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
)

// StdString must decode every string exactly as encoding/json does.
func TestStdStringMatchesEncodingJSON(t *testing.T) {
	tests := []string{
		`""`, `"plain"`, `"caf\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800x"`, `"\udc00\ud800"`,
		`"\ud800\u0041"`, `"a\"b\\c\/d\b\f\n\r\t"`, "\"bad \xff\xfe \xe2\x82 end\"", "\"\xed\xa0\x80\"",
		"\"caf\xc3\xa9 ok\"", `"\u0000"`, `"x\u2028y"`,
	}
	for _, raw := range tests {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got, ok := StdString([]byte(raw))
		if !ok || got != want {
			t.Errorf("StdString(%s) = %q, %v; encoding/json %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{``, `x`, `"`, `5`, `"\x"`, `"\u12"`} {
		if _, ok := StdString([]byte(raw)); ok {
			t.Errorf("StdString(%s) accepted", raw)
		}
	}
}

func FuzzStdString(f *testing.F) {
	f.Add([]byte(`"caf\u00e9 \ud83d\ude00 \ud800"`))
	f.Add([]byte("\"bad \xff utf8\""))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want string
		if json.Unmarshal(raw, &want) != nil {
			return
		}
		raw = bytes.Trim(raw, " \t\r\n") // a value is passed without the whitespace around it
		if got, ok := StdString(raw); !ok || got != want {
			t.Fatalf("StdString(%q) = %q, %v; encoding/json %q", raw, got, ok, want)
		}
	})
}
