package jsonscan

import (
	"bytes"
	"unicode/utf8"
)

// StdString decodes a raw JSON string value exactly as encoding/json does
// (String keeps invalid UTF-8 as is): escapes are resolved, and invalid
// UTF-8 bytes and unpaired surrogate escapes become U+FFFD. Parsers that
// must produce the same values as an encoding/json reference use it. ok is
// false when raw is not a string or holds a bad escape.
func StdString(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), true
	}
	b, ok := AppendStdString(make([]byte, 0, len(body)+utf8.UTFMax), raw)
	if !ok {
		return "", false
	}
	return string(b), true
}

// AppendStdString appends the value of the raw JSON string to dst, decoded as
// StdString does.
func AppendStdString(dst, raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return dst, false
	}
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			var ok bool
			if dst, i, ok = appendEscape(dst, s, i); !ok {
				return dst, false
			}
		case c < utf8.RuneSelf:
			// Copy the ASCII run up to the next escape or non-ASCII byte.
			j := i + 1
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(s[i:])
			dst = utf8.AppendRune(dst, r) // RuneError for an invalid byte
			i += size
		}
	}
	return dst, true
}
