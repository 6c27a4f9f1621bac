package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Change-log values: what happened to the item at that sequence number,
// relative to the previous complete snapshot of the source.
const (
	changeAdded   byte = 'a'
	changeRemoved byte = 'r'
	changeChanged byte = 'c'
)

// writeStats is what one WriteSnapshot did; tests use it to check that
// writes are proportional to change.
type writeStats struct {
	seq             uint64
	itemWrites      int // n/e keys set or deleted
	logWrites       int // change-log keys written
	deadLogsDeleted int // change-log keys of crashed writes removed
	added, removed  int
	changed         int
	dataTook        time.Duration // merge-join, batch flush and sync
	cacheTook       time.Duration // building and writing the latest-view cache
}

var errInjected = errors.New("injected failure")

// WriteSnapshot stores g as the next complete snapshot of g.Source taken
// at at (zero: now). Only items that differ from the source's previous
// complete snapshot are written. The manifest is committed last, so until
// this returns nil the previous snapshot stays the latest; a failed or
// cancelled write leaves it intact (docs/storage.md, "Write protocol").
// The latest-view cache is rebuilt before it returns; to write several
// sources, WriteSnapshots rebuilds it once.
func (s *Store) WriteSnapshot(ctx context.Context, g *SourceGraph, at time.Time) (Manifest, error) {
	ms, err := s.writeSnapshots(ctx, []*SourceGraph{g}, at, true)
	if err != nil {
		return Manifest{}, err
	}
	return ms[0], nil
}

// WriteSnapshots writes one snapshot per graph, all taken at at, like
// WriteSnapshot in a loop (each snapshot is atomic on its own), but
// rebuilds the latest-view cache once at the end instead of after every
// source: an AWS organisation is one source per account. All graphs are
// validated before anything is written. On error it returns the manifests
// committed so far.
func (s *Store) WriteSnapshots(ctx context.Context, gs []*SourceGraph, at time.Time) ([]Manifest, error) {
	return s.writeSnapshots(ctx, gs, at, len(gs) == 1)
}

func (s *Store) writeSnapshots(ctx context.Context, gs []*SourceGraph, at time.Time, cachePerWrite bool) ([]Manifest, error) {
	if s.readOnly {
		return nil, fmt.Errorf("write snapshot: store is read-only")
	}
	// Validate everything before touching the store: invalid input changes
	// nothing, not even the pending marker.
	seen := map[string]bool{}
	for _, g := range gs {
		if g == nil {
			return nil, fmt.Errorf("write snapshot: nil graph")
		}
		if err := validateGraph(g); err != nil {
			return nil, fmt.Errorf("write snapshot of %s: %w", g.Source, err)
		}
		if seen[g.Source] {
			return nil, fmt.Errorf("write snapshots: source %s given twice", g.Source)
		}
		seen[g.Source] = true
	}
	if at.IsZero() {
		at = time.Now()
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var out []Manifest
	mem := memSources{}
	for _, g := range gs {
		start := time.Now()
		m, st, err := s.writeSnapshot(ctx, g, at.UTC(), cachePerWrite, mem)
		s.lastWrite = st
		if err != nil {
			s.log.Warn("snapshot write failed; previous snapshot stays latest", "source", g.Source, "seq", st.seq, "err", err)
			err = fmt.Errorf("write snapshot of %s: %w", g.Source, err)
			if !cachePerWrite && len(out) > 0 {
				s.refreshViewCache(ctx, mem)
			}
			return out, err
		}
		s.log.Info("wrote snapshot", "id", m.ID, "nodes", m.Nodes, "edges", m.Edges,
			"added", m.Added, "removed", m.Removed, "changed", m.Changed,
			"keys_written", st.itemWrites+st.logWrites, "took", time.Since(start).Round(time.Millisecond),
			"data_took", st.dataTook.Round(time.Millisecond), "view_cache_took", st.cacheTook.Round(time.Millisecond))
		out = append(out, m)
	}
	if !cachePerWrite && len(out) > 0 {
		s.refreshViewCache(ctx, mem)
	}
	return out, nil
}

func validateGraph(g *SourceGraph) error {
	if err := validateSource(g.Source); err != nil {
		return err
	}
	for id, n := range g.Nodes {
		if err := n.Validate(); err != nil {
			return err
		}
		if id != n.ID {
			return fmt.Errorf("node map key %q differs from node id %q", id, n.ID)
		}
	}
	for k, e := range g.Edges {
		if err := e.Validate(); err != nil {
			return err
		}
		if k != e.Key() {
			return fmt.Errorf("edge map key %v differs from edge %v", k, e.Key())
		}
	}
	return nil
}

// The written graph, with its sorted ids and keys, is recorded in mem once
// the data is stored, so the view cache is built from memory (buildViewWith).
func (s *Store) writeSnapshot(ctx context.Context, g *SourceGraph, at time.Time, buildCache bool, mem memSources) (Manifest, writeStats, error) {
	var stats writeStats
	if err := ctx.Err(); err != nil {
		return Manifest{}, stats, err
	}
	// Allocate the sequence number and persist it as pending before any data
	// lands, so a crashed write's number is never reused: intervals it
	// touched then refer to a seq that never gets a complete manifest.
	var st sourceState
	err := s.db.Update(func(txn *badger.Txn) error {
		var err error
		if st, err = readSourceState(txn, g.Source); err != nil {
			return err
		}
		stats.seq = st.nextSeq()
		return txn.Set(pendingKey(g.Source), appendSeq(nil, stats.seq))
	})
	if err != nil {
		return Manifest{}, stats, fmt.Errorf("allocate sequence number: %w", err)
	}

	start := time.Now()
	w := &itemWriter{s: s, ctx: ctx, source: g.Source, seq: stats.seq, prev: st.prev.Seq, stats: &stats,
		logPrefix: changeSeqPrefix(g.Source, stats.seq)}
	w.wb = s.db.NewWriteBatch()
	defer func() { w.wb.Cancel() }() // w.wb is replaced by the test hook

	src := &memSource{seq: stats.seq}
	err = s.db.View(func(txn *badger.Txn) error {
		if err := w.deleteDeadLogs(txn); err != nil {
			return err
		}
		// Sorting keys rather than SortedNodes/SortedEdges: moving 40-byte
		// keys with a generic sort is several times faster than swapping
		// whole Edge values through sort.Slice, which matters at 5M edges.
		ids := make([]string, 0, len(g.Nodes))
		for id := range g.Nodes {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		err := w.merge(txn, sourcePrefix(prefixNode, g.Source), len(ids),
			func(i int, b []byte) []byte { return appendNodeKey(b, g.Source, ids[i]) },
			func(i int, b []byte) []byte {
				b = appendNodePayload(b, g.Nodes[ids[i]])
				src.npay = appendArenaEntry(src.npay, b)
				return b
			})
		if err != nil {
			return fmt.Errorf("nodes: %w", err)
		}
		src.ids = ids
		keys := sortedEdgeKeys(g)
		err = w.merge(txn, sourcePrefix(prefixEdge, g.Source), len(keys),
			func(i int, b []byte) []byte { return appendEdgeKey(b, g.Source, keys[i]) },
			func(i int, b []byte) []byte {
				b = appendEdgePayload(b, g.Edges[keys[i]])
				src.epay = appendArenaEntry(src.epay, b)
				return b
			})
		if err != nil {
			return fmt.Errorf("edges: %w", err)
		}
		src.keys = keys
		return nil
	})
	if err != nil {
		return Manifest{}, stats, err
	}
	if err := w.wb.Flush(); err != nil {
		return Manifest{}, stats, fmt.Errorf("flush graph data: %w", err)
	}
	// Data must be durable before the manifest that makes it visible.
	if err := s.db.Sync(); err != nil {
		return Manifest{}, stats, fmt.Errorf("sync graph data: %w", err)
	}

	m := Manifest{
		ID: SnapshotID(g.Source, stats.seq), Source: g.Source, Seq: stats.seq, At: at,
		Status: StatusComplete, Warnings: cloneStrings(g.Warnings),
		Nodes: len(g.Nodes), Edges: len(g.Edges),
		Added: stats.added, Removed: stats.removed, Changed: stats.changed,
		Collection: g.Collection.clone(),
	}

	stats.dataTook = time.Since(start)
	mem[g.Source] = src

	// Set before the view cache is built: the cache records the manifests
	// it was built from, Written included.
	m.Written = time.Now().UTC()

	mb, err := json.Marshal(m)
	if err != nil {
		return Manifest{}, stats, fmt.Errorf("encode manifest: %w", err)
	}

	// The latest-view cache: build the next one now, drop the current one
	// just before the manifest makes it stale, publish after (viewcache.go).
	var tmp string
	if buildCache {
		start = time.Now()
		tmp = s.buildViewTemp(ctx, m, mem)
		stats.cacheTook = time.Since(start)
	}
	if err := ctx.Err(); err != nil {
		removeQuietly(tmp)
		return Manifest{}, stats, err
	}
	if err := s.dropViewCache(); err != nil {
		removeQuietly(tmp)
		return Manifest{}, stats, err
	}
	err = s.db.Update(func(txn *badger.Txn) error { return txn.Set(manifestKey(g.Source, stats.seq), mb) })
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		removeQuietly(tmp)
		return Manifest{}, stats, fmt.Errorf("commit manifest: %w", err)
	}
	s.publishViewCache(tmp)
	return m, stats, nil
}

// itemWriter merge-joins one source's new items against its stored keys.
type itemWriter struct {
	s      *Store
	ctx    context.Context
	wb     *badger.WriteBatch
	source string
	seq    uint64 // being written
	prev   uint64 // latest complete seq of the source, 0 if none
	stats  *writeStats

	logPrefix []byte // c\x00<source>\x00<seq>\x00
	mem       slab
	ivs       []interval
	keyBuf    []byte
	payBuf    []byte
	visited   int
	lastKey   []byte
	failDone  bool
}

// merge walks the stored keys under prefix and the n new items (which must
// come in key order) together: one prefix scan plus writes for what
// differs, so a 1%-churn snapshot costs a scan and 1% writes.
func (w *itemWriter) merge(txn *badger.Txn, prefix []byte, n int,
	keyOf func(i int, dst []byte) []byte, payloadOf func(i int, dst []byte) []byte) error {
	it := prefixIter(txn, prefix)
	defer it.Close()
	it.Rewind()
	i, keyed := 0, -1
	w.lastKey = w.lastKey[:0]
	for {
		if w.visited++; w.visited%256 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		var sk, nk []byte
		if it.Valid() {
			sk = it.Item().Key()
		}
		if i < n {
			if keyed != i {
				w.keyBuf = keyOf(i, w.keyBuf[:0])
				keyed = i
				if len(w.lastKey) > 0 && bytes.Compare(w.keyBuf, w.lastKey) <= 0 {
					return fmt.Errorf("items out of key order at %q", w.keyBuf)
				}
			}
			nk = w.keyBuf
		}
		if sk == nil && nk == nil {
			return nil
		}
		c := -1 // stored only
		switch {
		case sk == nil:
			c = 1 // new only
		case nk != nil:
			c = bytes.Compare(sk, nk)
		}
		switch {
		case c < 0:
			item := it.Item()
			if err := item.Value(func(v []byte) error { return w.apply(item.Key(), v, nil, false) }); err != nil {
				return err
			}
			it.Next()
		case c == 0:
			w.payBuf = payloadOf(i, w.payBuf[:0])
			item := it.Item()
			if err := item.Value(func(v []byte) error { return w.apply(item.Key(), v, w.payBuf, true) }); err != nil {
				return err
			}
			it.Next()
			w.lastKey = append(w.lastKey[:0], nk...)
			i++
		default:
			w.payBuf = payloadOf(i, w.payBuf[:0])
			if err := w.apply(nk, nil, w.payBuf, true); err != nil {
				return err
			}
			w.lastKey = append(w.lastKey[:0], nk...)
			i++
		}
	}
}

// apply computes one item's new interval list. stored is its current value
// (nil if absent); newP its payload in this snapshot (hasNew false if the
// item is gone). Both may alias buffers that are reused after return.
func (w *itemWriter) apply(key, stored, newP []byte, hasNew bool) error {
	ivs := w.ivs[:0]
	if stored != nil {
		var err error
		if ivs, err = decodeIntervals(ivs, stored); err != nil {
			return fmt.Errorf("item %q: %w", key, err)
		}
	}
	// Forget what crashed writes did: every seq above prev has no complete
	// manifest, so intervals opened after prev are dropped and intervals
	// closed after prev are reopened. Validity at every complete seq is
	// unchanged; the item is now exactly as the previous snapshot left it.
	dirty := false
	kept := ivs[:0]
	open := -1
	for _, iv := range ivs {
		if iv.from > w.prev {
			dirty = true
			continue
		}
		if iv.to > w.prev {
			iv.to, dirty = 0, true
		}
		if iv.to == 0 {
			open = len(kept)
		}
		kept = append(kept, iv)
	}
	ivs = kept

	var change byte
	switch {
	case open < 0 && !hasNew:
	case open < 0:
		ivs = append(ivs, interval{from: w.seq, payload: newP})
		change = changeAdded
	case !hasNew:
		ivs[open].to = w.seq
		change = changeRemoved
	case bytes.Equal(ivs[open].payload, newP):
	default:
		ivs[open].to = w.seq
		ivs = append(ivs, interval{from: w.seq, payload: newP})
		change = changeChanged
	}
	w.ivs = ivs[:0]

	if change != 0 && w.prev > 0 {
		// The log key goes into the batch before the item key, so no item
		// edit can be committed without its log entry. A source's first
		// snapshot is not logged: everything is added, and Changes from the
		// empty graph scans the items instead (the log would double the
		// first write for no gain).
		ck := w.mem.take(len(w.logPrefix) + len(key) + 1)
		copy(ck, w.logPrefix)
		copy(ck[len(w.logPrefix):], key)
		ck[len(ck)-1] = change
		ck, val := ck[:len(ck)-1:len(ck)-1], ck[len(ck)-1:]
		if err := w.wb.Set(ck, val); err != nil {
			return fmt.Errorf("write change log: %w", err)
		}
		w.stats.logWrites++
	}
	if change != 0 {
		switch change {
		case changeAdded:
			w.stats.added++
		case changeRemoved:
			w.stats.removed++
		case changeChanged:
			w.stats.changed++
		}
	}
	if change == 0 && !dirty {
		return nil
	}
	k := w.mem.take(len(key))
	copy(k, key)
	var err error
	if len(ivs) == 0 {
		err = w.wb.Delete(k)
	} else {
		v := w.mem.take(intervalsSize(ivs))
		appendIntervals(v[:0], ivs)
		err = w.wb.Set(k, v)
	}
	if err != nil {
		return fmt.Errorf("write item %q: %w", key, err)
	}
	w.stats.itemWrites++
	if w.s.failAfter > 0 && w.stats.itemWrites >= w.s.failAfter && !w.failDone {
		w.failDone = true
		// Commit what we have so the test sees the worst case a crash can
		// leave: part of the data, no manifest.
		if err := w.wb.Flush(); err != nil {
			return fmt.Errorf("%w: flush: %w", errInjected, err)
		}
		w.wb = w.s.db.NewWriteBatch()
		if w.s.crash == nil {
			return errInjected
		}
		w.s.crash() // exits the process, or cancels ctx and lets the write notice
	}
	return nil
}

// deleteDeadLogs removes change-log keys of crashed writes (seqs between
// prev and this one) so Changes never has to look at them.
func (w *itemWriter) deleteDeadLogs(txn *badger.Txn) error {
	if w.seq <= w.prev+1 {
		return nil
	}
	prefix := sourcePrefix(prefixChange, w.source)
	it := prefixIter(txn, prefix)
	defer it.Close()
	for it.Seek(changeSeqPrefix(w.source, w.prev+1)); it.Valid(); it.Next() {
		seq, _, ok := parseChangeKey(it.Item().Key(), len(prefix))
		if !ok || seq >= w.seq {
			break
		}
		if err := w.wb.Delete(it.Item().KeyCopy(nil)); err != nil {
			return fmt.Errorf("delete dead change log: %w", err)
		}
		w.stats.deadLogsDeleted++
	}
	return nil
}

func sortedEdgeKeys(g *SourceGraph) []EdgeKey {
	keys := make([]EdgeKey, 0, len(g.Edges))
	for k := range g.Edges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b EdgeKey) int {
		if c := strings.Compare(a.From, b.From); c != 0 {
			return c
		}
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return strings.Compare(a.To, b.To)
	})
	return keys
}

// slab hands out pieces of large pointer-free buffers for batch keys and
// values: Badger holds them until the batch commits, and one allocation per
// MiB instead of two per item keeps the garbage collector quiet while the
// (pointer-heavy) source graph is live.
type slab struct{ buf []byte }

func (s *slab) take(n int) []byte {
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]byte, 0, max(n, 1<<20))
	}
	start := len(s.buf)
	s.buf = s.buf[:start+n]
	return s.buf[start : start+n : start+n]
}
