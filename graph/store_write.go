package graph

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"

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
	encodeTook      time.Duration // validating, encoding and sorting the graph
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
	ms, err := s.writeSnapshots(ctx, []*SourceGraph{g}, at, true, false)
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
	return s.writeSnapshots(ctx, gs, at, len(gs) == 1, false)
}

// WriteSnapshotsAndRelease is WriteSnapshots for a caller done with the
// graphs: each graph's Nodes, Edges and Arena are dropped as soon as it is
// encoded, before the Badger write, so they are not live (and marked by
// every garbage collection) through it. A 500k-user Entra tenant's graph
// is ~1.5 GB of pointer-rich maps (session 5, docs/performance.md).
// Source, Warnings and Collection stay.
func (s *Store) WriteSnapshotsAndRelease(ctx context.Context, gs []*SourceGraph, at time.Time) ([]Manifest, error) {
	return s.writeSnapshots(ctx, gs, at, len(gs) == 1, true)
}

func (s *Store) writeSnapshots(ctx context.Context, gs []*SourceGraph, at time.Time, cachePerWrite, release bool) ([]Manifest, error) {
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
		// One graph is validated while it is encoded (encodeSource), which
		// happens before anything is written as well.
		if len(gs) > 1 {
			if err := validateGraph(g); err != nil {
				return nil, fmt.Errorf("write snapshot of %s: %w", g.Source, err)
			}
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
		m, st, err := s.writeSnapshot(ctx, g, at.UTC(), cachePerWrite, release, mem)
		s.lastWrite = st
		if err != nil {
			if st.seq > 0 { // else it failed validation, before the store was touched
				s.log.Warn("snapshot write failed; previous snapshot stays latest", "source", g.Source, "seq", st.seq, "err", err)
			}
			err = fmt.Errorf("write snapshot of %s: %w", g.Source, err)
			if !cachePerWrite && len(out) > 0 {
				s.refreshViewCache(ctx, mem)
			}
			return out, err
		}
		s.log.Info("wrote snapshot", "id", m.ID, "nodes", m.Nodes, "edges", m.Edges,
			"added", m.Added, "removed", m.Removed, "changed", m.Changed,
			"keys_written", st.itemWrites+st.logWrites, "took", time.Since(start).Round(time.Millisecond),
			"encode_took", st.encodeTook.Round(time.Millisecond), "data_took", st.dataTook.Round(time.Millisecond), "view_cache_took", st.cacheTook.Round(time.Millisecond))
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
func (s *Store) writeSnapshot(ctx context.Context, g *SourceGraph, at time.Time, buildCache, release bool, mem memSources) (Manifest, writeStats, error) {
	var stats writeStats
	if err := ctx.Err(); err != nil {
		return Manifest{}, stats, err
	}
	// Encoded before anything is written: invalid input must not even
	// allocate a sequence number.
	encStart := time.Now()
	src, err := encodeSource(ctx, g)
	if err != nil {
		return Manifest{}, stats, err
	}
	stats.encodeTook = time.Since(encStart)
	nodeCount, edgeCount := len(g.Nodes), len(g.Edges)
	if release {
		// src keeps the ids (strings in the arena's chunks) and its own
		// payload logs; nothing below reads the maps.
		g.Nodes, g.Edges, g.Arena = nil, nil, Arena{}
	}
	// Allocate the sequence number and persist it as pending before any data
	// lands, so a crashed write's number is never reused: intervals it
	// touched then refer to a seq that never gets a complete manifest.
	var st sourceState
	err = s.db.Update(func(txn *badger.Txn) error {
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
	src.seq = stats.seq
	w := &itemWriter{s: s, ctx: ctx, source: g.Source, seq: stats.seq, prev: st.prev.Seq, stats: &stats,
		logPrefix: changeSeqPrefix(g.Source, stats.seq)}
	w.wb = newBatch(s.db)
	defer w.wb.cancel()

	err = s.db.View(func(txn *badger.Txn) error {
		if err := w.deleteDeadLogs(txn); err != nil {
			return err
		}
		nodes := src.nodeRanks()
		err := w.merge(txn, sourcePrefix(prefixNode, g.Source), len(nodes),
			func(i int, b []byte) []byte { return appendNodeKey(b, g.Source, src.ids[nodes[i]]) },
			func(i int) []byte { return arenaPayload(src.npay, src.noff[nodes[i]]) })
		if err != nil {
			return fmt.Errorf("nodes: %w", err)
		}
		// Consecutive edges mostly share from and kind: only the target
		// part of the key is rebuilt then (b still holds the last key).
		lastFK, keyed, prefix := uint64(0), false, 0
		err = w.merge(txn, sourcePrefix(prefixEdge, g.Source), len(src.edges),
			func(i int, b []byte) []byte {
				it := src.edges[i]
				if keyed && it.fk == lastFK {
					return append(b[:prefix], src.ids[it.to]...)
				}
				k := src.edgeKey(i)
				b = appendEdgeKey(b, g.Source, k)
				lastFK, keyed, prefix = it.fk, true, len(b)-len(k.To)
				return b
			},
			func(i int) []byte { return arenaPayload(src.epay, src.edges[i].off) })
		if err != nil {
			return fmt.Errorf("edges: %w", err)
		}
		return nil
	})
	if err != nil {
		return Manifest{}, stats, err
	}
	if err := w.wb.flush(); err != nil {
		return Manifest{}, stats, fmt.Errorf("flush graph data: %w", err)
	}
	// Data must be durable before the manifest that makes it visible.
	if err := s.db.Sync(); err != nil {
		return Manifest{}, stats, fmt.Errorf("sync graph data: %w", err)
	}

	m := Manifest{
		ID: SnapshotID(g.Source, stats.seq), Source: g.Source, Seq: stats.seq, At: at,
		Status: StatusComplete, Warnings: cloneStrings(g.Warnings),
		Nodes: nodeCount, Edges: edgeCount,
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
	wb     *batch
	source string
	seq    uint64 // being written
	prev   uint64 // latest complete seq of the source, 0 if none
	stats  *writeStats

	logPrefix []byte // c\x00<source>\x00<seq>\x00
	ivs       []interval
	keyBuf    []byte
	ckBuf     []byte // change-log key being built
	valBuf    []byte // item value being built
	visited   int
	lastKey   []byte
	failDone  bool
}

// merge walks the stored keys under prefix and the n new items (which must
// come in key order) together: one prefix scan plus writes for what
// differs, so a 1%-churn snapshot costs a scan and 1% writes. keyOf
// appends item i's key to dst, an empty slice whose capacity still holds
// item i-1's key (which it may reuse); payloadOf returns its payload.
func (w *itemWriter) merge(txn *badger.Txn, prefix []byte, n int,
	keyOf func(i int, dst []byte) []byte, payloadOf func(i int) []byte) error {
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
				w.keyBuf = keyOf(i, w.keyBuf[:0]) // the bytes beyond len are the last key
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
			p := payloadOf(i)
			item := it.Item()
			if err := item.Value(func(v []byte) error { return w.apply(item.Key(), v, p, true) }); err != nil {
				return err
			}
			it.Next()
			w.lastKey = append(w.lastKey[:0], nk...)
			i++
		default:
			if err := w.apply(nk, nil, payloadOf(i), true); err != nil {
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
		w.ckBuf = append(append(w.ckBuf[:0], w.logPrefix...), key...)
		if err := w.wb.set(w.ckBuf, []byte{change}); err != nil {
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
	var err error
	if len(ivs) == 0 {
		err = w.wb.delete(key)
	} else {
		w.valBuf = appendIntervals(w.valBuf[:0], ivs)
		err = w.wb.set(key, w.valBuf)
	}
	if err != nil {
		return fmt.Errorf("write item %q: %w", key, err)
	}
	w.stats.itemWrites++
	if w.s.failAfter > 0 && w.stats.itemWrites >= w.s.failAfter && !w.failDone {
		w.failDone = true
		// Commit what we have so the test sees the worst case a crash can
		// leave: part of the data, no manifest.
		if err := w.wb.flush(); err != nil {
			return fmt.Errorf("%w: flush: %w", errInjected, err)
		}
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
		if err := w.wb.delete(it.Item().Key()); err != nil {
			return fmt.Errorf("delete dead change log: %w", err)
		}
		w.stats.deadLogsDeleted++
	}
	return nil
}

// encodeSource validates g and encodes every payload in one pass over its
// maps (payload logs in map order), giving each id a rank (its position
// among all ids the source mentions, sorted) so that edges sort as small
// integer tuples instead of string triples, and neither the merge-join nor
// the view build ever looks an item up in the maps again: random access
// into a 5M-entry map was a quarter of a 1%-churn write, the string sort
// of 5M edge keys several CPU-seconds, and 24-byte items instead of
// 48-byte ones leave the garbage collector more room (docs/performance.md).
func encodeSource(ctx context.Context, g *SourceGraph) (*memSource, error) {
	if err := validateSource(g.Source); err != nil {
		return nil, fmt.Errorf("encode %s: %w", g.Source, err)
	}
	src := &memSource{
		ids:   make([]string, 0, len(g.Nodes)),
		npay:  make([]byte, 0, payloadLogCap(len(g.Nodes), 48)),
		edges: make([]edgeItem, 0, len(g.Edges)),
	}
	type node struct {
		id  string
		off uint64
	}
	nodes := make([]node, 0, len(g.Nodes))
	var buf []byte
	for id, n := range g.Nodes {
		if len(nodes)%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if err := n.Validate(); err != nil {
			return nil, err
		}
		if id != n.ID {
			return nil, fmt.Errorf("node map key %q differs from node id %q", id, n.ID)
		}
		nodes = append(nodes, node{id: id, off: uint64(len(src.npay))})
		buf = appendNodePayload(buf[:0], n)
		src.npay = appendArenaEntry(src.npay, buf)
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.id, b.id) })
	// Ids the graph's Arena shares (AddNode, AddEdge) are one string: an
	// endpoint that starts where an id does and has its length is that id,
	// found by pointer instead of by hashing and comparing ~60 bytes (a
	// sixth of a churn write). Other endpoints go through a string map,
	// built on first need.
	byPtr := make(map[*byte]uint32, len(nodes))
	src.noff = make([]uint64, len(nodes))
	for i, n := range nodes {
		src.ids = append(src.ids, n.id)
		src.noff[i] = n.off
		if _, dup := byPtr[unsafe.StringData(n.id)]; !dup {
			byPtr[unsafe.StringData(n.id)] = uint32(i)
		}
	}
	nodes = nil
	var rank map[string]uint32
	// Endpoints that are no node of the source get provisional ranks after
	// the nodes' and are merged into the sorted order below.
	// Ids are checked for emptiness and NUL once each, not per edge: nodes
	// by Node.Validate above, other endpoints here.
	var badID error
	rankOf := func(id string, e Edge) uint32 {
		p := unsafe.StringData(id)
		if r, ok := byPtr[p]; ok && len(src.ids[r]) == len(id) {
			return r
		}
		if rank == nil {
			rank = make(map[string]uint32, len(src.ids))
			for r, id := range src.ids {
				rank[id] = uint32(r)
			}
		}
		r, ok := rank[id]
		if !ok {
			if id == "" || strings.IndexByte(id, 0) >= 0 {
				badID = e.Validate()
			}
			r = uint32(len(src.ids))
			rank[id] = r
			src.ids = append(src.ids, id)
			src.noff = append(src.noff, noPayload)
			if _, dup := byPtr[p]; !dup && id != "" {
				byPtr[p] = r
			}
		}
		return r
	}
	for k, e := range g.Edges {
		if len(src.edges)%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if len(src.edges) == 4096 {
				// The payload log's size, from what the first edges took:
				// growing a log of hundreds of MB by doubling would copy it
				// and hold up to twice its size.
				src.epay = growCap(src.epay, payloadLogCap(len(g.Edges), len(src.epay)/4096+1))
			}
		}
		if k != e.Key() {
			return nil, fmt.Errorf("edge map key %v differs from edge %v", k, e.Key())
		}
		if e.Kind == EdgeInvalid || e.Kind >= edgeKindEnd {
			return nil, e.Validate()
		}
		it := edgeItem{fk: uint64(rankOf(k.From, e))<<8 | uint64(k.Kind), to: rankOf(k.To, e),
			off: uint64(len(src.epay)), cond: e.Conditional}
		if badID != nil {
			return nil, badID
		}
		src.edges = append(src.edges, it)
		buf = appendEdgePayload(buf[:0], e)
		src.epay = appendArenaEntry(src.epay, buf)
	}
	rank, byPtr = nil, nil
	if len(src.ids) > len(g.Nodes) {
		src.mergeEndpoints(len(g.Nodes))
	}
	slices.SortFunc(src.edges, func(a, b edgeItem) int {
		if c := cmp.Compare(a.fk, b.fk); c != 0 {
			return c
		}
		return cmp.Compare(a.to, b.to)
	})
	src.nodes = len(g.Nodes)
	return src, nil
}

// mergeEndpoints puts the endpoint-only ids (src.ids[n:], in order of
// discovery) into sorted order among the node ids and renumbers the edges.
func (src *memSource) mergeEndpoints(n int) {
	order := make([]uint32, len(src.ids))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order[n:], func(a, b uint32) int { return strings.Compare(src.ids[a], src.ids[b]) })
	// Merge the two sorted runs of old ranks into the new order.
	merged := make([]uint32, 0, len(order))
	i, j := 0, n
	for i < n || j < len(order) {
		if j == len(order) || (i < n && src.ids[order[i]] < src.ids[order[j]]) {
			merged = append(merged, order[i])
			i++
		} else {
			merged = append(merged, order[j])
			j++
		}
	}
	newRank := make([]uint32, len(src.ids))
	ids := make([]string, len(src.ids))
	noff := make([]uint64, len(src.ids))
	for r, old := range merged {
		newRank[old] = uint32(r)
		ids[r], noff[r] = src.ids[old], src.noff[old]
	}
	src.ids, src.noff = ids, noff
	for i := range src.edges {
		it := &src.edges[i]
		it.fk = uint64(newRank[it.fk>>8])<<8 | it.fk&0xff
		it.to = newRank[it.to]
	}
}

// payloadLogCap is the capacity for n entries of about per bytes each,
// with a little slack.
func payloadLogCap(n, per int) int { return n*per + n*per/16 + 4096 }
