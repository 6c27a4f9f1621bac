// Package rawscan reads raw capture files (collectors/internal/rawcapture)
// the way rawcapture.Each does, with the same pages, order and errors, but
// without decoding every line with encoding/json: a line is checked by a
// hand-written JSON validator that agrees with json.Valid, and its url,
// status and body are cut out of it in the same scan. Lines of any other
// shape (keys in another case, escaped keys, a null body...) are decoded
// by encoding/json exactly as rawcapture does.
//
// A 500k-user Directory capture is ~380 MB; rawcapture.Each spends most
// of its time in encoding/json's scanner and copying bodies. The Workspace
// replay and the GCP IAM import both read every capture file, so both use
// this (an internal package: collectors never import each other).
package rawscan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"unicode/utf8"

	"permgraph/collectors/internal/rawcapture"
)

// maxLine is rawcapture's bound on one line (a page), so that a line too
// long fails here exactly where it fails there.
const maxLine = 256 << 20

// Page is one captured page. Body aliases the reader's buffer: it is valid
// only until the callback returns.
type Page struct {
	URL    string
	Path   string // the URL's path, query dropped (rawcapture.Page.Path)
	Status int
	Body   []byte
	File   string
	Line   int
	// LineOff and LineLen locate the line (surrounding white space
	// trimmed) in File; BodyOff locates Body in File, or is -1 when the
	// line was decoded by encoding/json (re-read the line and decode it
	// with DecodeLine to get the body again).
	LineOff int64
	LineLen int
	BodyOff int64
}

// Where names the page in errors exactly as rawcapture.Page.Where does.
func (p *Page) Where() string {
	return fmt.Sprintf("%s:%d (%s)", p.File, p.Line, p.Path)
}

// Each streams every page of one capture file to fn, in file order, with
// rawcapture.Each's checks and error messages.
func Each(ctx context.Context, file string, fn func(*Page) error) error {
	return each(ctx, file, nil, fn)
}

// EachMatching is Each for a reader that wants only some pages. A line in
// the recorder's shape ({"url":"<url without escapes>",...) whose URL skip
// reports true is passed over without being validated or decoded: another
// collector's pages in a shared directory (an ARM replay beside a 500 MB
// Graph capture) are that collector's to check. Every other line is read
// and checked as Each reads it.
func EachMatching(ctx context.Context, file string, skip func(url string) bool, fn func(*Page) error) error {
	return each(ctx, file, skip, fn)
}

// LeadingURL returns the url of a line that starts the way the recorder
// writes one ({"url":"...), when it holds no escape, without reading the
// rest of the line.
func LeadingURL(b []byte) (string, bool) {
	const head = `{"url":"`
	if !bytes.HasPrefix(b, []byte(head)) {
		return "", false
	}
	rest := b[len(head):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return "", false
	}
	return string(rest[:j]), true
}

func each(ctx context.Context, file string, skip func(string) bool, fn func(*Page) error) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open raw capture: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	// Track where each token starts: bufio.ScanLines plus offsets.
	var pos, start int64
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		adv, tok, err := bufio.ScanLines(data, atEOF)
		if tok != nil {
			start = pos
		}
		pos += int64(adv)
		return adv, tok, err
	})
	var p Page
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read raw capture %s: %w", file, err)
		}
		tok := sc.Bytes()
		b := bytes.TrimSpace(tok)
		if len(b) == 0 {
			continue
		}
		if skip != nil {
			if u, ok := LeadingURL(b); ok && skip(u) {
				continue
			}
		}
		p = Page{File: file, Line: line, LineOff: start + int64(cap(tok)-cap(b)), LineLen: len(b)}
		if err := p.decode(b); err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read raw capture %s: %w", file, err)
	}
	return nil
}

// decode fills URL, Status, Body and BodyOff from the line b and applies
// rawcapture.Each's checks; File, Line and LineOff must be set.
func (p *Page) decode(b []byte) error {
	li, valid := parseLine(b)
	if valid && li.fast {
		p.URL = jsonString(b[li.url[0]:li.url[1]])
		p.Status = li.status
		p.Body = b[li.body[0]:li.body[1]]
		p.BodyOff = p.LineOff + int64(li.body[0])
	} else {
		// Not the shape the recorder writes (or not JSON at all):
		// encoding/json decides, with its own error text.
		var rp rawcapture.Page
		if err := json.Unmarshal(b, &rp); err != nil {
			return fmt.Errorf("raw capture %s:%d: not a page record: %w", p.File, p.Line, err)
		}
		p.URL, p.Status, p.Body, p.BodyOff = rp.URL, rp.Status, rp.Body, -1
	}
	if p.URL == "" {
		return fmt.Errorf("raw capture %s:%d: field \"url\" is missing", p.File, p.Line)
	}
	if p.Status == 0 {
		return fmt.Errorf("raw capture %s:%d: field \"status\" is missing", p.File, p.Line)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return fmt.Errorf("raw capture %s:%d: field \"url\": %w", p.File, p.Line, err)
	}
	p.Path = u.Path
	return nil
}

// ReadPage reads back the page Each handed out as p (File, Line, LineOff,
// LineLen set) from r, the open File: the body alone when the line was in
// the fast shape, else the line, decoded again. buf is reused when large
// enough; the returned page's Body aliases it.
func ReadPage(r io.ReaderAt, p *Page, buf []byte) ([]byte, error) {
	if cap(buf) < p.LineLen {
		buf = make([]byte, p.LineLen)
	}
	buf = buf[:p.LineLen]
	if _, err := r.ReadAt(buf, p.LineOff); err != nil {
		return buf, fmt.Errorf("read raw capture %s:%d: %w", p.File, p.Line, err)
	}
	return buf, p.decode(buf)
}

// jsonString decodes a JSON string token (quotes included) as
// encoding/json does: escapes resolved, invalid UTF-8 replaced.
func jsonString(tok []byte) string {
	in := tok[1 : len(tok)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in)
	}
	var s string
	_ = json.Unmarshal(tok, &s) // tok was validated as a string
	return s
}

// lineInfo is what parseLine found: byte ranges of the url token (quotes
// included) and the body value, and the status.
type lineInfo struct {
	url, body [2]int
	status    int
	// fast: a JSON object with exactly the keys "url" (a string),
	// "status" (an integer) and "body" (not null) among others, none of
	// them spelled so that encoding/json's case-insensitive matching
	// could take it for one of these.
	fast bool
}

// parseLine validates b as one JSON value (the answer json.Valid gives)
// and, for an object, records its url, status and body.
func parseLine(b []byte) (lineInfo, bool) {
	var li lineInfo
	s := scanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return li, Valid(b)
	}
	s.i++
	var gotURL, gotStatus, gotBody, odd bool
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
	} else {
		for {
			ks := s.i
			if s.i >= len(b) || b[s.i] != '"' || !s.str() {
				return li, false
			}
			key := b[ks+1 : s.i-1]
			s.ws()
			if s.i >= len(b) || b[s.i] != ':' {
				return li, false
			}
			s.i++
			s.ws()
			vs := s.i
			if !s.value(1) {
				return li, false
			}
			val := b[vs:s.i]
			switch string(key) {
			case "url":
				if val[0] == '"' {
					li.url, gotURL = [2]int{vs, s.i}, true
				} else {
					odd = true
				}
			case "status":
				if n, ok := intLiteral(val); ok {
					li.status, gotStatus = n, true
				} else {
					odd = true
				}
			case "body":
				if val[0] == 'n' {
					odd = true
				}
				li.body, gotBody = [2]int{vs, s.i}, true
			default:
				if foldsTo(key, "url", "status", "body") {
					odd = true
				}
			}
			s.ws()
			if s.i >= len(b) {
				return li, false
			}
			if b[s.i] == ',' {
				s.i++
				s.ws()
				continue
			}
			if b[s.i] != '}' {
				return li, false
			}
			s.i++
			break
		}
	}
	s.ws()
	if s.i != len(b) {
		return li, false
	}
	li.fast = gotURL && gotStatus && gotBody && !odd
	return li, true
}

// foldsTo reports whether encoding/json might match key to one of the
// field names case-insensitively (it also folds a few non-ASCII letters,
// so any non-ASCII key or escaped key counts).
func foldsTo(key []byte, names ...string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf || c == '\\' {
			return true
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// intLiteral parses a validated JSON number that encoding/json would store
// in an int: digits only, no fraction or exponent, in range.
func intLiteral(v []byte) (int, bool) {
	i := 0
	neg := false
	if len(v) > 0 && v[0] == '-' {
		neg, i = true, 1
	}
	if i == len(v) || len(v)-i > 18 {
		return 0, false
	}
	n := 0
	for ; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
