package graph

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ChangeSet is what differs between two snapshots of one source. Added and
// Changed hold the new value, Removed the old one. Slices are sorted by
// node id and by (from, kind, to).
type ChangeSet struct {
	AddedNodes, RemovedNodes, ChangedNodes []Node
	AddedEdges, RemovedEdges, ChangedEdges []Edge
}

// completeManifest re-reads m from the store and insists it is complete:
// callers may hold a manifest from another process or a stale listing.
func completeManifest(txn *badger.Txn, source string, seq uint64) (Manifest, error) {
	m, err := getManifest(txn, source, seq)
	if err != nil {
		return m, err
	}
	if m.Status != StatusComplete {
		return m, fmt.Errorf("snapshot %s is %s, not %s", m.ID, m.Status, StatusComplete)
	}
	return m, nil
}

// ReadSnapshot returns the full graph of one complete snapshot.
func (s *Store) ReadSnapshot(ctx context.Context, m Manifest) (*SourceGraph, error) {
	var g *SourceGraph
	err := s.db.View(func(txn *badger.Txn) error {
		stored, err := completeManifest(txn, m.Source, m.Seq)
		if err != nil {
			return err
		}
		g = NewSourceGraph(stored.Source)
		g.Warnings = cloneStrings(stored.Warnings)
		err = scanAt(ctx, txn, sourcePrefix(prefixNode, m.Source), m.Seq, func(suffix, p []byte) error {
			n, err := decodeNodePayload(string(suffix), p)
			if err != nil {
				return err
			}
			n = g.Arena.node(n)
			g.Nodes[n.ID] = n
			return nil
		})
		if err != nil {
			return err
		}
		return scanAt(ctx, txn, sourcePrefix(prefixEdge, m.Source), m.Seq, func(suffix, p []byte) error {
			k, ok := parseEdgeSuffix(suffix)
			if !ok {
				return fmt.Errorf("bad edge key suffix %q", suffix)
			}
			e, err := decodeEdgePayload(k, p)
			if err != nil {
				return err
			}
			e = g.Arena.edge(e)
			g.Edges[e.Key()] = e
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", SnapshotID(m.Source, m.Seq), err)
	}
	return g, nil
}

// scanAt calls fn for every item under prefix that exists at seq, with the
// key after the prefix and the payload valid at seq. Both alias Badger
// memory valid only during the call.
func scanAt(ctx context.Context, txn *badger.Txn, prefix []byte, seq uint64, fn func(suffix, payload []byte) error) error {
	it := prefixIter(txn, prefix)
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		item := it.Item()
		err := item.Value(func(v []byte) error {
			p, ok, err := payloadAt(v, seq)
			if err != nil {
				return fmt.Errorf("item %q: %w", item.Key(), err)
			}
			if !ok {
				return nil
			}
			return fn(item.Key()[len(prefix):], p)
		})
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Changes returns what differs between snapshots fromSeq and toSeq of a
// source (both complete; fromSeq 0 means the empty graph before the first
// snapshot). It reads the change log of the sequence numbers in between and
// then each logged item, so the cost follows the size of the change, not of
// the graph. fromSeq > toSeq gives the reverse diff.
func (s *Store) Changes(ctx context.Context, source string, fromSeq, toSeq uint64) (ChangeSet, error) {
	var cs ChangeSet
	err := s.db.View(func(txn *badger.Txn) error {
		for _, seq := range []uint64{fromSeq, toSeq} {
			if seq == 0 {
				continue
			}
			if _, err := completeManifest(txn, source, seq); err != nil {
				return err
			}
		}
		lo, hi := min(fromSeq, toSeq), max(fromSeq, toSeq)
		if lo == hi {
			return nil
		}
		keys, err := loggedKeys(ctx, txn, source, lo, hi)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := diffItem(txn, k, fromSeq, toSeq, &cs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ChangeSet{}, fmt.Errorf("changes of %s from %d to %d: %w", source, fromSeq, toSeq, err)
	}
	sort.Slice(cs.AddedNodes, func(i, j int) bool { return cs.AddedNodes[i].ID < cs.AddedNodes[j].ID })
	sort.Slice(cs.RemovedNodes, func(i, j int) bool { return cs.RemovedNodes[i].ID < cs.RemovedNodes[j].ID })
	sort.Slice(cs.ChangedNodes, func(i, j int) bool { return cs.ChangedNodes[i].ID < cs.ChangedNodes[j].ID })
	for _, es := range [][]Edge{cs.AddedEdges, cs.RemovedEdges, cs.ChangedEdges} {
		sort.Slice(es, func(i, j int) bool { return LessEdgeKey(es[i].Key(), es[j].Key()) })
	}
	return cs, nil
}

// loggedKeys returns the distinct item keys logged for seqs in (lo, hi],
// sorted. From the empty graph (lo 0) every item of the source is a
// candidate: first snapshots are not logged, and such a diff is the whole
// graph anyway.
func loggedKeys(ctx context.Context, txn *badger.Txn, source string, lo, hi uint64) ([][]byte, error) {
	if lo == 0 {
		var keys [][]byte
		for _, p := range []byte{prefixNode, prefixEdge} {
			it := prefixIter(txn, sourcePrefix(p, source))
			for it.Rewind(); it.Valid(); it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			it.Close()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		return keys, nil
	}
	prefix := sourcePrefix(prefixChange, source)
	it := prefixIter(txn, prefix)
	defer it.Close()
	seen := map[string]struct{}{}
	var keys [][]byte
	for it.Seek(changeSeqPrefix(source, lo+1)); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seq, ik, ok := parseChangeKey(it.Item().Key(), len(prefix))
		if !ok {
			return nil, fmt.Errorf("bad change-log key %q", it.Item().Key())
		}
		if seq > hi {
			break
		}
		if _, dup := seen[string(ik)]; dup {
			continue
		}
		seen[string(ik)] = struct{}{}
		keys = append(keys, bytes.Clone(ik))
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	return keys, nil
}

// diffItem compares one item at two seqs (0 = absent) and records the
// difference, if any, in cs. The log is a candidate list: an item changed
// and changed back in between shows up there but not in cs.
func diffItem(txn *badger.Txn, key []byte, fromSeq, toSeq uint64, cs *ChangeSet) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil // only a crashed write ever touched it
	}
	if err != nil {
		return fmt.Errorf("read item %q: %w", key, err)
	}
	_, isEdge, id, ek, err := parseItemKey(key)
	if err != nil {
		return err
	}
	return item.Value(func(v []byte) error {
		var oldP, newP []byte
		var hadOld, hasNew bool
		var err error
		if fromSeq > 0 {
			if oldP, hadOld, err = payloadAt(v, fromSeq); err != nil {
				return fmt.Errorf("item %q: %w", key, err)
			}
		}
		if toSeq > 0 {
			if newP, hasNew, err = payloadAt(v, toSeq); err != nil {
				return fmt.Errorf("item %q: %w", key, err)
			}
		}
		switch {
		case hadOld == hasNew && (!hasNew || bytes.Equal(oldP, newP)):
			return nil
		case !hadOld:
			return addChange(isEdge, id, ek, newP, &cs.AddedNodes, &cs.AddedEdges)
		case !hasNew:
			return addChange(isEdge, id, ek, oldP, &cs.RemovedNodes, &cs.RemovedEdges)
		default:
			return addChange(isEdge, id, ek, newP, &cs.ChangedNodes, &cs.ChangedEdges)
		}
	})
}

func addChange(isEdge bool, id string, ek EdgeKey, p []byte, nodes *[]Node, edges *[]Edge) error {
	if isEdge {
		e, err := decodeEdgePayload(ek, p)
		if err != nil {
			return err
		}
		*edges = append(*edges, e)
		return nil
	}
	n, err := decodeNodePayload(id, p)
	if err != nil {
		return err
	}
	*nodes = append(*nodes, n)
	return nil
}

// View builds the in-memory graph at time at: every source's latest
// complete snapshot with At <= at. A zero at means the latest, which is
// served from the view cache when it matches the current manifests.
func (s *Store) View(ctx context.Context, at time.Time) (*View, error) {
	ms, err := s.LatestAt(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("build view: %w", err)
	}
	if at.IsZero() {
		if v, ok := s.cachedView(ms); ok {
			return v, nil
		}
	}
	v, err := s.buildView(ctx, viewTime(at, ms), ms)
	if err != nil {
		return nil, err
	}
	if at.IsZero() && !s.readOnly {
		// A read-write opener holds the directory lock, so no writer can be
		// between dropping and publishing the cache: refreshing it is safe.
		s.writeViewCache(v)
	}
	return v, nil
}

// viewTime is what View.At reports: the requested time, or for the latest
// view the newest collection time among its snapshots.
func viewTime(at time.Time, ms []Manifest) time.Time {
	if !at.IsZero() {
		return at.UTC()
	}
	for _, m := range ms {
		if m.At.After(at) {
			at = m.At
		}
	}
	return at
}

// buildView reads the given snapshots (source, seq) into a View, copying
// the stored payloads without decoding them.
func (s *Store) buildView(ctx context.Context, at time.Time, ms []Manifest) (*View, error) {
	return s.buildViewWith(ctx, at, ms, nil)
}

// buildViewWith is buildView where the sources in mem (just written, still
// in memory) are read from memory instead of the store: at millions of
// edges, scanning back what was just written costs as much as writing it.
// The content and the order of additions are the same either way (keys
// sort like the sorted ids and edge keys), so the view is identical.
func (s *Store) buildViewWith(ctx context.Context, at time.Time, ms []Manifest, mem memSources) (*View, error) {
	var nodes, edges, nodeBytes, edgeBytes, knownNodes, knownEdges int
	for _, m := range ms {
		nodes += m.Nodes
		edges += m.Edges
		if src := mem.of(m); src != nil {
			knownNodes += src.nodes
			knownEdges += len(src.edges)
			nodeBytes += len(src.npay)
			edgeBytes += len(src.epay)
		}
	}
	// Arena sizes: exact for sources in memory, their average for the
	// others (a guess of 64 bytes per item without any): growing a
	// several-hundred-MB arena by append copies it many times over.
	perNode, perEdge := 64, 64
	if knownNodes > 0 {
		perNode = nodeBytes/knownNodes + 1
	}
	if knownEdges > 0 {
		perEdge = edgeBytes/knownEdges + 1
	}
	// The first source's payload logs become the arenas (entries are laid
	// out alike): at 5M edges that is a few hundred MB not held twice.
	var first *memSource
	if len(ms) > 0 {
		first = mem.of(ms[0])
	}
	// Edge endpoints without a node add a few more; the map grows for those.
	// The first source in memory is indexed only if another one needs it.
	indexed := nodes + nodes/16
	if first != nil && len(ms) == 1 {
		indexed = len(first.ids) - first.nodes
	}
	b := newViewBuilderSized(nodes+nodes/16, indexed, edges)
	nodeCap, edgeCap := nodeBytes+(nodes-knownNodes)*perNode, edgeBytes+(edges-knownEdges)*perEdge
	if first != nil {
		b.narena, b.earena = growCap(first.npay, nodeCap), growCap(first.epay, edgeCap)
	} else {
		b.narena, b.earena = make([]byte, 0, nodeCap), make([]byte, 0, edgeCap)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		for _, m := range ms {
			if src := mem.of(m); src != nil {
				if err := src.addNodes(ctx, b, src == first); err != nil {
					return fmt.Errorf("nodes of %s: %w", m.ID, err)
				}
				continue
			}
			err := scanAt(ctx, txn, sourcePrefix(prefixNode, m.Source), m.Seq, func(suffix, p []byte) error {
				b.addRawNodeBytes(suffix, p)
				return nil
			})
			if err != nil {
				return fmt.Errorf("nodes of %s: %w", m.ID, err)
			}
		}
		for _, m := range ms {
			if src := mem.of(m); src != nil {
				if err := src.addEdges(ctx, b, src == first); err != nil {
					return fmt.Errorf("edges of %s: %w", m.ID, err)
				}
				continue
			}
			err := scanAt(ctx, txn, sourcePrefix(prefixEdge, m.Source), m.Seq, func(suffix, p []byte) error {
				i := bytes.IndexByte(suffix, 0)
				if i < 0 || len(suffix) < i+3 || suffix[i+2] != 0 {
					return fmt.Errorf("bad edge key suffix %q", suffix)
				}
				b.addRawEdgeBytes(suffix[:i], EdgeKind(suffix[i+1]), suffix[i+3:], p)
				return nil
			})
			if err != nil {
				return fmt.Errorf("edges of %s: %w", m.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build view at %s: %w", at, err)
	}
	return b.Build(at, ms), nil
}

// memSource is a source whose snapshot seq was just written, kept as the
// write produced it (encodeSource): every id the source mentions, sorted,
// its nodes' payload offsets, and its edges sorted as rank tuples with
// their payload offsets (payload logs are arena entries in the source
// graph's map order). The view build then neither looks items up in the
// source graph's maps nor encodes them again, and for the first source it
// needs no id lookups at all.
type memSource struct {
	seq        uint64
	ids        []string   // nodes and endpoint-only ids, sorted
	noff       []uint64   // per id: node payload entry in npay, or noPayload
	nodes      int        // ids that are nodes of the source
	edges      []edgeItem // sorted by (from, kind, to)
	npay, epay []byte     // uvarint length | payload
}

// edgeItem is an edge by the ranks of its endpoints in memSource.ids;
// ranks sort like ids, so (fk, to) order is key order.
type edgeItem struct {
	fk   uint64 // from rank << 8 | kind
	off  uint64 // of its payload entry in epay
	to   uint32
	cond bool // the payload's conditional flag, so the view build need not read it
}

func (src *memSource) edgeKey(i int) EdgeKey {
	it := src.edges[i]
	return EdgeKey{From: src.ids[it.fk>>8], Kind: EdgeKind(it.fk), To: src.ids[it.to]}
}

// nodeRanks lists the ranks of the source's nodes, in order.
func (src *memSource) nodeRanks() []uint32 {
	out := make([]uint32, 0, src.nodes)
	for r, off := range src.noff {
		if off != noPayload {
			out = append(out, uint32(r))
		}
	}
	return out
}

// memSources are the sources written by one WriteSnapshot(s) call.
type memSources map[string]*memSource

func (m memSources) of(man Manifest) *memSource {
	if src := m[man.Source]; src != nil && src.seq == man.Seq {
		return src
	}
	return nil
}

// appendArenaEntry appends p as an arena entry (uvarint length | payload).
// The buffer doubles: append's 1.25x growth of large slices copied a view
// rebuild's arena six times over (192 MB allocated for a 32 MB arena).
func appendArenaEntry(buf, p []byte) []byte {
	if need := len(buf) + binary.MaxVarintLen64 + len(p); need > cap(buf) {
		grown := make([]byte, len(buf), max(2*cap(buf), need, 1<<16))
		copy(grown, buf)
		buf = grown
	}
	buf = binary.AppendUvarint(buf, uint64(len(p)))
	return append(buf, p...)
}

// growCap returns buf with room for n bytes, copying only if it has less.
func growCap(buf []byte, n int) []byte {
	if cap(buf) >= n {
		return buf
	}
	grown := make([]byte, len(buf), n)
	copy(grown, buf)
	return grown
}

// addNodes adds the source's nodes. adopted says the builder is empty and
// its node arena starts with this source's payload log: ids then number
// 0..nodes-1 in order and payload entries are used where they are.
func (src *memSource) addNodes(ctx context.Context, b *ViewBuilder, adopted bool) error {
	if adopted {
		b.lazy = src.nodes
	}
	n := 0
	for r, off := range src.noff {
		if off == noPayload {
			continue
		}
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if adopted {
			b.ids = append(b.ids, src.ids[r])
			b.noff = append(b.noff, off)
			kind := NodeInvalid
			if p := arenaPayload(b.narena, off); len(p) > 0 {
				kind = NodeKind(p[0])
			}
			b.nkind = append(b.nkind, kind)
		} else {
			b.addNodePayload(b.internOwned(src.ids[r]), arenaPayload(src.npay, off))
		}
		n++
	}
	return nil
}

// addEdges adds the source's edges and then drops them (each memSource
// feeds one view build): at 5M edges that is 120 MB the view build and
// the garbage collector need no longer carry.
func (src *memSource) addEdges(ctx context.Context, b *ViewBuilder, adopted bool) error {
	// viewID maps a rank to the builder's NodeID, resolved on first use:
	// for the adopted source, nodes are 0..nodes-1 in rank order already.
	viewID := make([]NodeID, len(src.ids))
	const unknown = ^NodeID(0)
	n := NodeID(0)
	for r, off := range src.noff {
		if adopted && off != noPayload {
			viewID[r] = n
			n++
		} else {
			viewID[r] = unknown
		}
	}
	resolve := func(r uint32) NodeID {
		if viewID[r] == unknown {
			if adopted {
				// Not a node of this source, so not among its lazily
				// indexed ids: no need to index all of them.
				viewID[r] = b.internOwnedNotLazy(src.ids[r])
			} else {
				viewID[r] = b.internOwned(src.ids[r])
			}
		}
		return viewID[r]
	}
	for i, it := range src.edges {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		f := resolve(uint32(it.fk >> 8))
		t := resolve(it.to)
		kind := EdgeKind(it.fk)
		if adopted {
			b.addEdgeAt(f, kind, t, it.off, it.cond)
			continue
		}
		b.addEdgePayload(f, kind, t, arenaPayload(src.epay, it.off))
	}
	src.edges = nil
	return nil
}
