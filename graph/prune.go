package graph

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// PruneOptions say which snapshots to keep, per source. A snapshot is kept
// when either rule keeps it; the latest complete snapshot of every source
// is always kept.
type PruneOptions struct {
	// Keep keeps the newest Keep complete snapshots (0 = no count rule).
	Keep int
	// OlderThan removes complete snapshots taken before Now-OlderThan
	// (0 = no age rule).
	OlderThan time.Duration
	// Now is the reference time for OlderThan (zero = time.Now()).
	Now time.Time
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
}

// PruneResult says what Prune removed and the space it took back.
type PruneResult struct {
	Removed        []Manifest `json:"removed"`
	ItemsRewritten int        `json:"items_rewritten"`
	ItemsDeleted   int        `json:"items_deleted"`
	LogsDeleted    int        `json:"change_logs_deleted"`
	BytesBefore    int64      `json:"bytes_before"`
	BytesAfter     int64      `json:"bytes_after"`
}

// Prune removes old snapshots. For each source it finds the oldest kept
// complete snapshot (the cutoff) and removes every snapshot before it:
// first the manifests (so a crash mid-prune never leaves a listed snapshot
// with half its data), then the interval entries that ended at or before
// the cutoff, items left with no interval, and change logs that only
// describe removed snapshots. Snapshots from the cutoff on read exactly as
// before. Space is reclaimed by compacting the LSM tree afterwards.
func (s *Store) Prune(ctx context.Context, o PruneOptions) (PruneResult, error) {
	var res PruneResult
	if s.readOnly {
		return res, errors.New("prune: store is open read-only")
	}
	if o.Keep <= 0 && o.OlderThan <= 0 {
		return res, errors.New("prune: give --keep N and/or --older-than DURATION")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	res.BytesBefore = storeBytes(s.dir)
	all, err := s.Snapshots(ctx)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	cutoffs := pruneCutoffs(all, o)
	for _, m := range all {
		if c, ok := cutoffs[m.Source]; ok && pruned(m, c) {
			res.Removed = append(res.Removed, m)
		}
	}
	if o.DryRun || len(res.Removed) == 0 {
		res.BytesAfter = res.BytesBefore
		return res, nil
	}
	// 1. Manifests, in one transaction per source.
	sources := make([]string, 0, len(cutoffs))
	for src := range cutoffs {
		sources = append(sources, src)
	}
	sort.Strings(sources)
	for _, src := range sources {
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, m := range res.Removed {
				if m.Source == src {
					if err := txn.Delete(manifestKey(m.Source, m.Seq)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("prune %s: delete manifests: %w", src, err)
		}
	}
	// 2. Items and change logs.
	for _, src := range sources {
		if err := s.pruneItems(ctx, src, cutoffs[src].Seq, &res); err != nil {
			return res, fmt.Errorf("prune %s: %w", src, err)
		}
	}
	// 3. Reclaim space: deleted keys and superseded values go away when the
	// levels are compacted; values are inline, so the value log holds
	// little, but a GC pass is cheap.
	if err := s.db.Flatten(2); err != nil {
		return res, fmt.Errorf("prune: compact: %w", err)
	}
	for s.db.RunValueLogGC(0.5) == nil {
	}
	res.BytesAfter = storeBytes(s.dir)
	s.log.Info("pruned snapshots", "removed", len(res.Removed), "items_rewritten", res.ItemsRewritten, "items_deleted", res.ItemsDeleted, "bytes_before", res.BytesBefore, "bytes_after", res.BytesAfter)
	return res, nil
}

// pruned reports whether m goes, given its source's cutoff: complete
// snapshots before the cutoff, and partial records (failed runs, which hold
// no data) older than it.
func pruned(m, cutoff Manifest) bool {
	if m.Status == StatusComplete {
		return m.Seq < cutoff.Seq
	}
	return m.At.Before(cutoff.At)
}

// pruneCutoffs returns, per source with something to remove, the oldest
// complete snapshot that stays.
func pruneCutoffs(all []Manifest, o PruneOptions) map[string]Manifest {
	complete := map[string][]Manifest{}
	for _, m := range all {
		if m.Status == StatusComplete {
			complete[m.Source] = append(complete[m.Source], m)
		}
	}
	out := map[string]Manifest{}
	for src, ms := range complete {
		sort.Slice(ms, func(i, j int) bool { return ms[i].Seq > ms[j].Seq }) // newest first
		cut := ms[0]                                                         // the latest always stays
		for i, m := range ms {
			keep := o.Keep > 0 && i < o.Keep
			if o.OlderThan > 0 && !m.At.Before(o.Now.Add(-o.OlderThan)) {
				keep = true
			}
			if keep && m.Seq < cut.Seq {
				cut = m
			}
		}
		for _, m := range all {
			if m.Source == src && pruned(m, cut) {
				out[src] = cut
				break
			}
		}
	}
	return out
}

func (s *Store) pruneItems(ctx context.Context, source string, cutoff uint64, res *PruneResult) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err := s.db.View(func(txn *badger.Txn) error {
		for _, p := range []byte{prefixNode, prefixEdge} {
			it := prefixIter(txn, sourcePrefix(p, source))
			for it.Rewind(); it.Valid(); it.Next() {
				if err := ctx.Err(); err != nil {
					it.Close()
					return err
				}
				item := it.Item()
				err := item.Value(func(v []byte) error {
					ivs, err := decodeIntervals(nil, v)
					if err != nil {
						return fmt.Errorf("item %q: %w", item.Key(), err)
					}
					kept := ivs[:0]
					for _, iv := range ivs {
						if iv.to != 0 && iv.to <= cutoff {
							continue // ended before every retained snapshot
						}
						kept = append(kept, iv)
					}
					switch {
					case len(kept) == len(ivs):
						return nil
					case len(kept) == 0:
						res.ItemsDeleted++
						return wb.Delete(item.KeyCopy(nil))
					default:
						res.ItemsRewritten++
						return wb.Set(item.KeyCopy(nil), encodeIntervals(kept))
					}
				})
				if err != nil {
					it.Close()
					return err
				}
			}
			it.Close()
		}
		// Change logs of seqs <= cutoff describe changes into snapshots at
		// or before the cutoff; a diff between retained snapshots never
		// reads them.
		prefix := sourcePrefix(prefixChange, source)
		it := prefixIter(txn, prefix)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq, _, ok := parseChangeKey(it.Item().Key(), len(prefix))
			if !ok || seq > cutoff {
				break
			}
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
			res.LogsDeleted++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("write pruned items: %w", err)
	}
	return nil
}

// storeBytes is the disk space of the files under dir.
func storeBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += diskBytes(info)
		}
		return nil
	})
	return n
}
