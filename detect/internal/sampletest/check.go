package sampletest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"permgraph/detect/event"
)

// IgnoreRef compares events without their position in the input.
var IgnoreRef = cmpopts.IgnoreFields(event.Event{}, "Ref")

// Time parses an RFC 3339 timestamp (with optional fraction) for expected
// events; it panics on a malformed literal.
func Time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Shared reads the shared samples in folder with format (skipping the test
// when they are absent) and checks the per-file counts against want.
func Shared(t *testing.T, folder, format string, want map[string]Counts) Result {
	t.Helper()
	res := ReadAll(t, Dir(t, folder), format)
	res.CheckCounts(t, want)
	return res
}

// CheckCounts reports a difference between want and the per-file counts.
func (r Result) CheckCounts(t testing.TB, want map[string]Counts) {
	t.Helper()
	if diff := cmp.Diff(want, r.PerFile); diff != "" {
		t.Errorf("per-file counts (-want +got):\n%s\nproblems: %v", diff, r.Stats.Problems)
	}
}

// Case is one event expected, alone, from a record starting on File:Line.
type Case struct {
	Name string
	File string
	Line int64
	Want event.Event
}

// CheckEvents runs a subtest per case: exactly one event must start on the
// case's line and equal Want (Ref aside).
func (r Result) CheckEvents(t *testing.T, cases []Case) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			got := r.Find(tt.File, tt.Line)
			if len(got) != 1 {
				t.Fatalf("%s:%d: %d events", tt.File, tt.Line, len(got))
			}
			if diff := cmp.Diff(tt.Want, got[0], IgnoreRef); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

// ParseCase is one raw record and the event it must parse to.
type ParseCase struct {
	Name string
	Raw  string
	Want event.Event
}

// ParseFunc parses one raw record into one event.
type ParseFunc func([]byte) (event.Event, error)

// CheckParse runs a subtest per case in which every parse function must
// succeed and return exactly Want (Ref included).
func CheckParse(t *testing.T, cases []ParseCase, parse ...ParseFunc) {
	t.Helper()
	if len(parse) == 0 {
		t.Fatal("CheckParse: no parse function")
	}
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			for i, p := range parse {
				got, err := p([]byte(tt.Raw))
				if err != nil {
					t.Fatalf("parse %d: %v", i, err)
				}
				if diff := cmp.Diff(tt.Want, got); diff != "" {
					t.Errorf("parse %d: event (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

// ErrCase is one raw record that must fail to parse; Unrecognized says
// whether the error must wrap event.ErrUnrecognized (not this format) or
// must not (this format, but malformed).
type ErrCase struct {
	Name         string
	Raw          string
	Unrecognized bool
}

// CheckErrors runs a subtest per case: parse must fail, with
// event.ErrUnrecognized wrapped exactly when the case says so.
func CheckErrors[T any](t *testing.T, parse func([]byte) (T, error), cases []ErrCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			_, err := parse([]byte(tt.Raw))
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, event.ErrUnrecognized); got != tt.Unrecognized {
				t.Errorf("unrecognized = %v, want %v (err %v)", got, tt.Unrecognized, err)
			}
		})
	}
}
