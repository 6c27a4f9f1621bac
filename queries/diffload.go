package queries

import (
	"context"
	"errors"
	"fmt"
	"time"

	"permgraph/graph"
)

// ChangeStore is what SourceChanges reads from the snapshot store.
type ChangeStore interface {
	Snapshots(ctx context.Context) ([]graph.Manifest, error)
	LatestAt(ctx context.Context, at time.Time) ([]graph.Manifest, error)
	Changes(ctx context.Context, source string, fromSeq, toSeq uint64) (graph.ChangeSet, error)
}

// ErrNoSnapshot means the store has no complete snapshot at the later time.
var ErrNoSnapshot = errors.New("no complete snapshot yet: run `permgraph collect` or `permgraph snapshot` first")

// SourceChanges pairs, per source, the snapshot at each side and reads the
// change sets between them (cost: the change log between the two, not the
// graph). A zero from means each source's complete snapshot before its
// latest one at to; a zero to means latest. only, when set, limits the
// answer to one source.
func SourceChanges(ctx context.Context, st ChangeStore, from, to time.Time, only string) ([]SourceChange, error) {
	all, err := st.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("diff: list snapshots: %w", err)
	}
	toMs, err := st.LatestAt(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if len(toMs) == 0 {
		return nil, fmt.Errorf("diff: %w", ErrNoSnapshot)
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
	var out []SourceChange
	for _, tm := range toMs {
		if only != "" && tm.Source != only {
			continue
		}
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
		sc := SourceChange{Source: tm.Source, From: fm, To: tm}
		if sc.Forward, err = st.Changes(ctx, tm.Source, fromSeq, tm.Seq); err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		if fromSeq != 0 && fromSeq != tm.Seq {
			if sc.Backward, err = st.Changes(ctx, tm.Source, tm.Seq, fromSeq); err != nil {
				return nil, fmt.Errorf("diff: %w", err)
			}
		}
		out = append(out, sc)
	}
	if only != "" && len(out) == 0 {
		return nil, fmt.Errorf("diff: source %q has no complete snapshot at that time: %w", only, graph.ErrNotFound)
	}
	return out, nil
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
