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
// the graph at to (saves rebuilding it).
func LoadDiff(ctx context.Context, st *graph.Store, latest *graph.View, from, to time.Time) (*queries.DiffResult, error) {
	all, err := st.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("diff: list snapshots: %w", err)
	}
	toMs, err := st.LatestAt(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if len(toMs) == 0 {
		return nil, fmt.Errorf("diff: no complete snapshot: %w", graph.ErrNotFound)
	}
	fromBySource := map[string]graph.Manifest{}
	if !from.IsZero() {
		fromMs, err := st.LatestAt(ctx, from)
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		for _, m := range fromMs {
			fromBySource[m.Source] = m
		}
	}
	var changes []queries.SourceChange
	for _, tm := range toMs {
		fm, ok := fromBySource[tm.Source]
		if from.IsZero() {
			fm, ok = previousComplete(all, tm)
		}
		if ok && fm.Seq > tm.Seq {
			return nil, fmt.Errorf("diff: the start (%s) is later than the end (%s) for %s", fm.ID, tm.ID, tm.Source)
		}
		var fromSeq uint64
		if ok {
			fromSeq = fm.Seq
		}
		sc := queries.SourceChange{Source: tm.Source, From: fm, To: tm}
		if sc.Forward, err = st.Changes(ctx, tm.Source, fromSeq, tm.Seq); err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		if fromSeq != 0 && fromSeq != tm.Seq {
			if sc.Backward, err = st.Changes(ctx, tm.Source, tm.Seq, fromSeq); err != nil {
				return nil, fmt.Errorf("diff: %w", err)
			}
		}
		changes = append(changes, sc)
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

// previousComplete is the complete snapshot of m's source just before m.
func previousComplete(all []graph.Manifest, m graph.Manifest) (graph.Manifest, bool) {
	var best graph.Manifest
	ok := false
	for _, x := range all {
		if x.Source == m.Source && x.Status == graph.StatusComplete && x.Seq < m.Seq && (!ok || x.Seq > best.Seq) {
			best, ok = x, true
		}
	}
	return best, ok
}
