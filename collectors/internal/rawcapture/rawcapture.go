// Package rawcapture records API response pages as JSON lines and reads them
// back, so a live collection can be replayed offline (`collect azure
// --save-raw DIR`, then `collect azure --from DIR`). One line per page:
//
//	{"url": "https://graph.microsoft.com/v1.0/users?$top=999", "status": 200, "body": {...}}
//
// Only the URL, status and body are kept: request and response headers
// (Authorization, cookies) are never written.
package rawcapture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Page is one recorded response.
type Page struct {
	URL    string          `json:"url"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
	// File and Line locate the page for error messages (not serialized).
	File string `json:"-"`
	Line int    `json:"-"`
}

// Path is the URL path of the page (query ignored), for dispatching.
func (p Page) Path() string {
	u, err := url.Parse(p.URL)
	if err != nil {
		return p.URL
	}
	return u.Path
}

// Where names the page in errors: "capture.jsonl:12 (GET /v1.0/users)".
func (p Page) Where() string {
	return fmt.Sprintf("%s:%d (%s)", p.File, p.Line, p.Path())
}

// Recorder is an http.RoundTripper that tees every response into a JSON-lines
// file. It is safe for concurrent use.
type Recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	w    *bufio.Writer
	f    *os.File
	err  error
}

// NewRecorder creates dir (0700) and the file name inside it (0600) and
// records responses of next (http.DefaultTransport when nil).
func NewRecorder(dir, name string, next http.RoundTripper) (*Recorder, error) {
	if next == nil {
		next = http.DefaultTransport
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create raw capture dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create raw capture file: %w", err)
	}
	return &Recorder{next: next, w: bufio.NewWriterSize(f, 1<<20), f: f}, nil
}

// RoundTrip forwards the request and records the response body.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, fmt.Errorf("raw capture: read body of %s: %w", req.URL.Path, rerr)
	}
	r.record(req.URL.String(), resp.StatusCode, body)
	return resp, nil
}

func (r *Recorder) record(u string, status int, body []byte) {
	var raw json.RawMessage
	if json.Valid(body) {
		raw = body
	} else {
		raw, _ = json.Marshal(string(body)) // a string always marshals
	}
	line, err := json.Marshal(Page{URL: u, Status: status, Body: compact(raw)})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err = errors.Join(r.err, fmt.Errorf("raw capture: encode page %s: %w", u, err))
		return
	}
	if _, err := r.w.Write(append(line, '\n')); err != nil {
		r.err = errors.Join(r.err, fmt.Errorf("raw capture: write: %w", err))
	}
}

func compact(b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

// Close flushes and closes the file and reports any write error.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.err
	if ferr := r.w.Flush(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("raw capture: flush: %w", ferr))
	}
	if cerr := r.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("raw capture: close: %w", cerr))
	}
	return err
}

// Files lists the capture files (*.jsonl) in dir, sorted.
func Files(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("list raw capture files in %s: %w", dir, err)
	}
	sort.Strings(m)
	return m, nil
}

// maxLine bounds one page (Graph pages of 999 objects with $select stay far
// below it); a longer line is reported, not truncated.
const maxLine = 256 << 20

// Each streams every page of one capture file to fn, in file order. A
// malformed line is an error naming the file, line and field.
func Each(ctx context.Context, file string, fn func(Page) error) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open raw capture: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read raw capture %s: %w", file, err)
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var p Page
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("raw capture %s:%d: not a page record: %w", file, line, err)
		}
		if p.URL == "" {
			return fmt.Errorf("raw capture %s:%d: field \"url\" is missing", file, line)
		}
		if p.Status == 0 {
			return fmt.Errorf("raw capture %s:%d: field \"status\" is missing", file, line)
		}
		if _, err := url.Parse(p.URL); err != nil {
			return fmt.Errorf("raw capture %s:%d: field \"url\": %w", file, line, err)
		}
		p.File, p.Line = file, line
		if err := fn(p); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read raw capture %s: %w", file, err)
	}
	return nil
}

// MatchPath reports whether path matches pattern, where a pattern segment
// "{}" matches any one segment: MatchPath("/v1.0/groups/{}/members",
// "/v1.0/groups/abc/members"). Comparison is case-insensitive (ARM paths are).
func MatchPath(pattern, path string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "{}" && !strings.EqualFold(ps[i], xs[i]) {
			return false
		}
	}
	return true
}

// Segment returns the i-th path segment (0-based, ignoring the leading /).
func Segment(path string, i int) string {
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if i < 0 || i >= len(xs) {
		return ""
	}
	return xs[i]
}

// CaptureFiles lists the *.jsonl files in dir whose first record is a
// captured page ({"url":..., "status":...}), so a directory may also hold
// other JSON-lines exports (Cloud Asset Inventory) next to a capture.
func CaptureFiles(dir string) ([]string, error) {
	all, err := Files(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range all {
		if isCapture(f) {
			out = append(out, f)
		}
	}
	return out, nil
}

func isCapture(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return true // let Each report the error with its location
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			var p struct {
				URL    *string `json:"url"`
				Status *int    `json:"status"`
			}
			if json.Unmarshal(line, &p) != nil {
				return false
			}
			return p.URL != nil && p.Status != nil
		}
		if err != nil {
			return false
		}
	}
}
