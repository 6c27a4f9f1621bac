// Package jsonscan is a small, allocation-free JSON scanner used on the hot
// path of the audit-log readers. It validates structure while skipping values
// (objects, arrays, strings with their escapes, numbers, literals) and lets a
// caller walk the members of one object or the elements of one array without
// decoding the values it does not need.
//
// Deviation from RFC 8259, on purpose (speed): raw control characters and
// invalid UTF-8 inside strings are accepted. Everything else encoding/json
// rejects is rejected here too, and a value cut short is reported as
// ErrIncomplete (not ErrSyntax), which streaming callers use to read more.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	// ErrSyntax reports invalid JSON.
	ErrSyntax = errors.New("invalid JSON")
	// ErrIncomplete reports JSON that ends before the value is complete.
	ErrIncomplete = errors.New("unexpected end of JSON input")
	// ErrDepth reports nesting deeper than MaxDepth.
	ErrDepth = errors.New("JSON nested too deeply")
	// ErrNotObject is returned by Members for valid JSON that is not an object,
	// and by Elements for valid JSON that is not an array.
	ErrNotObject = errors.New("JSON value is not an object")
	// ErrNotArray is returned by Elements for valid JSON that is not an array.
	ErrNotArray = errors.New("JSON value is not an array")
)

// MaxDepth bounds nesting (encoding/json allows 10000; audit records need far less).
const MaxDepth = 1000

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// SkipSpace returns the index of the first non-whitespace byte at or after i.
func SkipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// Skip validates the JSON value that starts at data[i] (after optional
// whitespace) and returns the index just past it.
func Skip(data []byte, i int) (int, error) { return skipValue(data, i, 0) }

// Valid reports whether data holds exactly one JSON value (surrounding
// whitespace allowed).
func Valid(data []byte) bool {
	end, err := Skip(data, 0)
	return err == nil && SkipSpace(data, end) == len(data)
}

func skipValue(data []byte, i, depth int) (int, error) {
	i = SkipSpace(data, i)
	if i >= len(data) {
		return i, ErrIncomplete
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{':
		return skipObject(data, i, depth+1)
	case c == '[':
		return skipArray(data, i, depth+1)
	case c == 't':
		return skipLiteral(data, i, "true")
	case c == 'f':
		return skipLiteral(data, i, "false")
	case c == 'n':
		return skipLiteral(data, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(data, i)
	}
	return i, ErrSyntax
}

func skipLiteral(data []byte, i int, lit string) (int, error) {
	rest := data[i:]
	if len(rest) < len(lit) {
		if string(rest) == lit[:len(rest)] {
			return len(data), ErrIncomplete
		}
		return i, ErrSyntax
	}
	if string(rest[:len(lit)]) != lit {
		return i, ErrSyntax
	}
	return i + len(lit), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipNumber(data []byte, i int) (int, error) {
	n := len(data)
	if data[i] == '-' {
		i++
		if i >= n {
			return n, ErrIncomplete
		}
	}
	switch {
	case data[i] == '0':
		i++
	case isDigit(data[i]):
		for i < n && isDigit(data[i]) {
			i++
		}
	default:
		return i, ErrSyntax
	}
	if i < n && data[i] == '.' {
		i++
		if i >= n {
			return n, ErrIncomplete
		}
		if !isDigit(data[i]) {
			return i, ErrSyntax
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= n {
			return n, ErrIncomplete
		}
		if !isDigit(data[i]) {
			return i, ErrSyntax
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	return i, nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipString expects data[i] == '"' and returns the index past the closing quote.
func skipString(data []byte, i int) (int, error) {
	if end, ok := shortString(data, i); ok {
		return end, nil
	}
	return skipLongString(data, i)
}

// shortStringMax is how far shortString looks for the closing quote.
const shortStringMax = 64

// shortString is the fast path of skipString for the strings audit records
// are made of (keys, ids, ARNs): it looks at up to shortStringMax bytes, 8
// at a time and without a call, for the first quote or backslash. ok is
// true only for a string closed within that span with no escape; anything
// else (longer, escaped, cut short) goes through skipLongString.
func shortString(data []byte, i int) (end int, ok bool) {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	j := i + 1
	limit := min(len(data), j+shortStringMax)
	for ; j+8 <= limit; j += 8 {
		x := binary.LittleEndian.Uint64(data[j:])
		q, b := x^(lsb*'"'), x^(lsb*'\\')
		// High bit set in each byte that is a quote or a backslash (exact
		// for the lowest such byte, which is the one used).
		if m := ((q-lsb)&^q | (b-lsb)&^b) & msb; m != 0 {
			if k := j + bits.TrailingZeros64(m)/8; data[k] == '"' {
				return k + 1, true
			}
			return 0, false
		}
	}
	for ; j < limit; j++ {
		switch data[j] {
		case '"':
			return j + 1, true
		case '\\':
			return 0, false
		}
	}
	return 0, false
}

// skipLongString is skipString for any string. Each byte is looked at a
// bounded number of times: the position of the next quote is remembered
// while escapes before it are processed.
func skipLongString(data []byte, i int) (int, error) {
	j := i + 1
	q := -1 // absolute index of the next unescaped-candidate quote
	for {
		if q < j {
			k := bytes.IndexByte(data[j:], '"')
			if k < 0 {
				// No closing quote: still check the escapes we can see.
				if err := checkEscapes(data[j:]); err != nil {
					return j, err
				}
				return len(data), ErrIncomplete
			}
			q = j + k
		}
		b := bytes.IndexByte(data[j:q], '\\')
		if b < 0 {
			return q + 1, nil
		}
		e := j + b + 1 // escape character
		if e >= len(data) {
			return len(data), ErrIncomplete
		}
		switch data[e] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j = e + 1
		case 'u':
			for h := e + 1; h <= e+4; h++ {
				if h >= len(data) {
					return len(data), ErrIncomplete
				}
				if !isHex(data[h]) {
					return h, ErrSyntax
				}
			}
			j = e + 5
		default:
			return e, ErrSyntax
		}
	}
}

// checkEscapes validates escapes in an unterminated string tail so that a
// bad escape is reported as a syntax error rather than as incomplete input.
func checkEscapes(s []byte) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if i >= len(s) {
			return nil
		}
		switch s[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			for h := i + 1; h <= i+4 && h < len(s); h++ {
				if !isHex(s[h]) {
					return ErrSyntax
				}
			}
			i += 4
		default:
			return ErrSyntax
		}
	}
	return nil
}

func skipObject(data []byte, i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, ErrDepth
	}
	n := len(data)
	i = SkipSpace(data, i+1)
	if i >= n {
		return n, ErrIncomplete
	}
	if data[i] == '}' {
		return i + 1, nil
	}
	for {
		if data[i] != '"' {
			return i, ErrSyntax
		}
		var err error
		if i, err = skipString(data, i); err != nil {
			return i, err
		}
		i = SkipSpace(data, i)
		if i >= n {
			return n, ErrIncomplete
		}
		if data[i] != ':' {
			return i, ErrSyntax
		}
		if i, err = skipValue(data, i+1, depth); err != nil {
			return i, err
		}
		i = SkipSpace(data, i)
		if i >= n {
			return n, ErrIncomplete
		}
		switch data[i] {
		case ',':
			i = SkipSpace(data, i+1)
			if i >= n {
				return n, ErrIncomplete
			}
		case '}':
			return i + 1, nil
		default:
			return i, ErrSyntax
		}
	}
}

func skipArray(data []byte, i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, ErrDepth
	}
	n := len(data)
	i = SkipSpace(data, i+1)
	if i >= n {
		return n, ErrIncomplete
	}
	if data[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skipValue(data, i, depth); err != nil {
			return i, err
		}
		i = SkipSpace(data, i)
		if i >= n {
			return n, ErrIncomplete
		}
		switch data[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return i, ErrSyntax
		}
	}
}

// Members iterates over the members of one JSON object:
//
//	it := jsonscan.NewMembers(raw)
//	for it.Next() {
//		switch string(it.Key()) { ... it.Value() ... }
//	}
//	if err := it.Err(); err != nil { ... }
//
// A value is scanned (and validated) when Value is called or when Next moves
// past it; Enter walks an object value in place instead, so that nested
// objects the caller reads are scanned once. After the closing brace of the
// outermost object only whitespace may follow. Keys containing escapes are
// unescaped (allocating).
type Members struct {
	data    []byte
	pos     int
	vstart  int
	state   uint8 // 0 start, 1 at a member, 2 done
	pending bool  // the current value has not been scanned yet
	nested  bool  // iterating a value in place (see Enter): no trailing check
	key     []byte
	val     []byte
	err     error
}

// NewMembers starts iterating over the object in data.
func NewMembers(data []byte) Members { return Members{data: data} }

// Next advances to the next member; false at the end or on error.
func (m *Members) Next() bool {
	if m.state == 2 {
		return false
	}
	if m.pending && !m.scanValue() {
		return false
	}
	d := m.data
	n := len(d)
	i := SkipSpace(d, m.pos)
	if m.state == 0 {
		if i >= n {
			return m.fail(n, ErrIncomplete)
		}
		if d[i] != '{' {
			if _, err := Skip(d, i); err != nil {
				return m.fail(i, err)
			}
			return m.fail(i, ErrNotObject)
		}
		i = SkipSpace(d, i+1)
		if i >= n {
			return m.fail(n, ErrIncomplete)
		}
		if d[i] == '}' {
			return m.finish(i + 1)
		}
	} else {
		if i >= n {
			return m.fail(n, ErrIncomplete)
		}
		switch d[i] {
		case ',':
			i = SkipSpace(d, i+1)
			if i >= n {
				return m.fail(n, ErrIncomplete)
			}
		case '}':
			return m.finish(i + 1)
		default:
			return m.fail(i, ErrSyntax)
		}
	}
	if d[i] != '"' {
		return m.fail(i, ErrSyntax)
	}
	end, short := shortString(d, i)
	if !short {
		var err error
		if end, err = skipLongString(d, i); err != nil {
			return m.fail(end, err)
		}
	}
	m.key = d[i+1 : end-1]
	if !short && bytes.IndexByte(m.key, '\\') >= 0 {
		k, ok := appendUnquoted(nil, m.key)
		if !ok {
			return m.fail(i, ErrSyntax)
		}
		m.key = k
	}
	i = SkipSpace(d, end)
	if i >= n {
		return m.fail(n, ErrIncomplete)
	}
	if d[i] != ':' {
		return m.fail(i, ErrSyntax)
	}
	m.vstart = SkipSpace(d, i+1)
	m.pos = m.vstart
	m.val = nil
	m.pending = true
	m.state = 1
	return true
}

func (m *Members) scanValue() bool {
	ve, err := skipValue(m.data, m.vstart, 1)
	if err != nil {
		return m.fail(ve, err)
	}
	m.val = m.data[m.vstart:ve]
	m.pos = ve
	m.pending = false
	return true
}

// Enter returns an iterator over the current value when it is an object that
// has not been scanned yet; ok is false otherwise (use Value). Iterate the
// returned iterator, then call Leave with it before calling Next again.
func (m *Members) Enter() (sub Members, ok bool) {
	if !m.pending || m.vstart >= len(m.data) || m.data[m.vstart] != '{' {
		return Members{}, false
	}
	return Members{data: m.data, pos: m.vstart, nested: true}, true
}

// Leave finishes a value entered with Enter: the rest of it is scanned, its
// errors become m's, and Value returns it.
func (m *Members) Leave(sub *Members) {
	for sub.Next() {
	}
	if sub.err != nil {
		m.fail(sub.pos, sub.err)
		return
	}
	m.val = m.data[m.vstart:sub.pos]
	m.pos = sub.pos
	m.pending = false
}

func (m *Members) finish(i int) bool {
	m.state = 2
	m.key, m.val = nil, nil
	m.pending = false
	m.pos = i
	if m.nested {
		return false
	}
	if j := SkipSpace(m.data, i); j != len(m.data) {
		m.err = ErrSyntax
		m.pos = j
	}
	return false
}

func (m *Members) fail(i int, err error) bool {
	m.state = 2
	m.pos = i
	m.err = err
	m.key, m.val = nil, nil
	m.pending = false
	return false
}

// Key returns the current member name (unescaped).
func (m *Members) Key() []byte { return m.key }

// Value returns the raw JSON of the current member's value, scanning it if
// needed (nil after an error).
func (m *Members) Value() []byte {
	if m.pending {
		m.scanValue()
	}
	return m.val
}

// Err returns the error that stopped the iteration, if any.
func (m *Members) Err() error { return m.err }

// Offset returns the byte offset reached (the error position after a failure).
func (m *Members) Offset() int { return m.pos }

// Elements iterates over the elements of one JSON array, like Members.
type Elements struct {
	data  []byte
	pos   int
	state uint8
	val   []byte
	err   error
}

// NewElements starts iterating over the array in data.
func NewElements(data []byte) Elements { return Elements{data: data} }

// Next advances to the next element; false at the end or on error.
func (a *Elements) Next() bool {
	if a.state == 2 {
		return false
	}
	d := a.data
	n := len(d)
	i := SkipSpace(d, a.pos)
	if a.state == 0 {
		if i >= n {
			return a.fail(n, ErrIncomplete)
		}
		if d[i] != '[' {
			if _, err := Skip(d, i); err != nil {
				return a.fail(i, err)
			}
			return a.fail(i, ErrNotArray)
		}
		i = SkipSpace(d, i+1)
		if i >= n {
			return a.fail(n, ErrIncomplete)
		}
		if d[i] == ']' {
			return a.finish(i + 1)
		}
	} else {
		if i >= n {
			return a.fail(n, ErrIncomplete)
		}
		switch d[i] {
		case ',':
			i = SkipSpace(d, i+1)
		case ']':
			return a.finish(i + 1)
		default:
			return a.fail(i, ErrSyntax)
		}
	}
	ve, err := skipValue(d, i, 1)
	if err != nil {
		return a.fail(ve, err)
	}
	a.val = d[i:ve]
	a.pos = ve
	a.state = 1
	return true
}

func (a *Elements) finish(i int) bool {
	a.state = 2
	a.val = nil
	if j := SkipSpace(a.data, i); j != len(a.data) {
		a.err = ErrSyntax
		a.pos = j
		return false
	}
	a.pos = i
	return false
}

func (a *Elements) fail(i int, err error) bool {
	a.state = 2
	a.pos = i
	a.err = err
	a.val = nil
	return false
}

// Value returns the raw JSON of the current element.
func (a *Elements) Value() []byte { return a.val }

// Err returns the error that stopped the iteration, if any.
func (a *Elements) Err() error { return a.err }

// Offset returns the byte offset reached (the error position after a failure).
func (a *Elements) Offset() int { return a.pos }

// String decodes a raw JSON string value. ok is false when raw is not a
// string (null, number, object ...).
func String(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), true
	}
	b, ok := appendUnquoted(make([]byte, 0, len(body)), body)
	if !ok {
		return "", false
	}
	return string(b), true
}

// Text returns the string value of raw, or its raw text for numbers and
// booleans; "" for null, objects and arrays.
func Text(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		s, _ := String(raw)
		return s
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f':
		return string(raw)
	}
	return ""
}

// IsObject reports whether raw starts an object.
func IsObject(raw []byte) bool { return len(raw) > 0 && raw[0] == '{' }

// IsArray reports whether raw starts an array.
func IsArray(raw []byte) bool { return len(raw) > 0 && raw[0] == '[' }

// Bool reports whether raw is the literal true (or the string "true").
func Bool(raw []byte) bool {
	return string(raw) == "true" || string(raw) == `"true"`
}

// appendUnquoted appends the decoded form of a string body (without quotes).
func appendUnquoted(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				return append(dst, s[i:]...), true
			}
			dst = append(dst, s[i:i+j]...)
			i += j
			continue
		}
		var ok bool
		if dst, i, ok = appendEscape(dst, s, i); !ok {
			return dst, false
		}
	}
	return dst, true
}

// appendEscape decodes the escape at s[i] (a backslash) as encoding/json
// does, appends it and returns the index after it: a surrogate pair is
// consumed only when it decodes, else U+FFFD stands for the first half.
func appendEscape(dst, s []byte, i int) ([]byte, int, bool) {
	if i+1 >= len(s) {
		return dst, i, false
	}
	switch s[i+1] {
	case '"', '\\', '/':
		return append(dst, s[i+1]), i + 2, true
	case 'b':
		return append(dst, '\b'), i + 2, true
	case 'f':
		return append(dst, '\f'), i + 2, true
	case 'n':
		return append(dst, '\n'), i + 2, true
	case 'r':
		return append(dst, '\r'), i + 2, true
	case 't':
		return append(dst, '\t'), i + 2, true
	case 'u':
		r, ok := hex4(s, i+2)
		if !ok {
			return dst, i, false
		}
		i += 6
		if utf16.IsSurrogate(r) {
			if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if r2, ok := hex4(s, i+2); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return utf8.AppendRune(dst, d), i + 6, true
					}
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(dst, r), i, true
	}
	return dst, i, false
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// End returns the index just past the JSON value that starts at data[i]
// (after optional whitespace) without validating it: only string quoting and
// bracket nesting are followed. It is a cheap boundary finder for streams
// whose records are validated afterwards by a parser; scalars are skipped by
// Skip. ErrIncomplete means data ends inside the value.
func End(data []byte, i int) (int, error) {
	i = SkipSpace(data, i)
	if i >= len(data) {
		return i, ErrIncomplete
	}
	if c := data[i]; c != '{' && c != '[' {
		return Skip(data, i)
	}
	depth := 0
	for j := i; j < len(data); j++ {
		switch data[j] {
		case '"':
			k, err := stringEnd(data, j)
			if err != nil {
				return k, err
			}
			j = k - 1
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return j, ErrDepth
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return len(data), ErrIncomplete
}

// stringEnd returns the index past the closing quote of the string at
// data[i], following escapes without validating them.
func stringEnd(data []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(data[j:], '"')
		if k < 0 {
			return len(data), ErrIncomplete
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		b := q - 1
		for b > i && data[b] == '\\' {
			b--
		}
		if (q-1-b)%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}
