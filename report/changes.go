package report

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"permgraph/graph"
	"permgraph/queries"
)

// ErrBadPoint marks a --since / --from value that is neither a snapshot id
// nor a time (the caller's mistake).
var ErrBadPoint = errors.New("want a snapshot id (aws:111122223333@3) or a time (RFC 3339 or a date)")

// ParsePoint resolves a snapshot id (its collection time) or a time; ""
// gives the zero time ("each source's previous snapshot" for a start,
// "latest" for an end).
func ParsePoint(ctx context.Context, st *graph.Store, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "now", "latest":
		return time.Time{}, nil
	}
	if strings.Contains(s, "@") {
		m, err := st.Snapshot(ctx, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("snapshot %s: %w", s, err)
		}
		if m.Status != graph.StatusComplete {
			return time.Time{}, fmt.Errorf("snapshot %s is %s; pick a complete one", s, m.Status)
		}
		return m.At, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: %w", s, ErrBadPoint)
}

// LoadDiff computes the capability diff between two points in time, the
// way `permgraph diff` does: from zero = each source's complete snapshot
// before its latest one at to; to zero = latest. latest, when not nil, is
// the graph at to (saves rebuilding it); only, when set, limits the diff to
// one source.
func LoadDiff(ctx context.Context, st *graph.Store, latest *graph.View, from, to time.Time, only string) (*queries.DiffResult, error) {
	changes, err := queries.SourceChanges(ctx, st, from, to, only)
	if err != nil {
		return nil, err
	}
	v := latest
	if v == nil {
		if v, err = st.View(ctx, to); err != nil {
			return nil, fmt.Errorf("diff: load graph: %w", err)
		}
	}
	res, err := queries.Diff(ctx, v, changes, queries.DiffOptions{})
	if err != nil {
		return nil, err
	}
	if !from.IsZero() {
		res.From = from
	}
	return res, nil
}
