// Package sampletest reads the shared third-party samples (../shared/testdata
// beside the checkout) for the format packages' tests. It is imported by
// tests only.
package sampletest

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"permgraph/detect/event"
	"permgraph/detect/read"
)

// Dir returns the shared sample folder for a format folder name, relative to
// a package directory under detect/ (tests run there). The test is skipped
// when the samples are not beside the checkout.
func Dir(t testing.TB, folder string) string {
	t.Helper()
	d := Path(folder)
	if _, err := os.Stat(d); err != nil {
		t.Skipf("shared samples not available: %v", err)
	}
	return d
}

// Path joins elem onto the shared sample root, relative to a package
// directory under detect/. It does not check that the path exists (fuzz
// seeds read it optionally).
func Path(elem ...string) string {
	return filepath.Join(append([]string{"..", "..", "..", "shared", "testdata"}, elem...)...)
}

// Counts is what one file yielded.
type Counts struct {
	Records, Events, Unknown, Malformed int
}

// Result is everything read from a path.
type Result struct {
	Events  []event.Event
	PerFile map[string]Counts // by base name
	Stats   read.Stats
}

// ReadAll reads path with the given format and returns every event.
func ReadAll(t testing.TB, path, format string) Result {
	t.Helper()
	r, err := read.Open(context.Background(), path, format)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer r.Close()
	var res Result
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		res.Events = append(res.Events, ev)
	}
	res.Stats = r.Stats()
	res.PerFile = map[string]Counts{}
	for _, f := range res.Stats.PerFile {
		res.PerFile[filepath.Base(f.File)] = Counts{Records: f.Records, Events: f.Events, Unknown: f.Unknown, Malformed: f.Malformed}
	}
	return res
}

// Find returns the events read from one file (base name) starting on line.
func (r Result) Find(file string, line int64) []event.Event {
	var out []event.Event
	for _, ev := range r.Events {
		if filepath.Base(ev.Ref.File) == file && ev.Ref.Line == line {
			out = append(out, ev)
		}
	}
	return out
}
