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
			knownNodes += len(src.ids)
			knownEdges += len(src.keys)
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
	// Edge endpoints without a node add a few more; the map grows for those.
	b := newViewBuilderSized(nodes+nodes/16, edges)
	nodeCap, edgeCap := nodeBytes+(nodes-knownNodes)*perNode, edgeBytes+(edges-knownEdges)*perEdge
	// The first source's payload logs become the arenas (entries are laid
	// out alike): at 5M edges that is a few hundred MB not held twice.
	var first *memSource
	if len(ms) > 0 {
		first = mem.of(ms[0])
	}
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
// write produced it: sorted ids and edge keys, and the encoded payloads in
// the same order (arena entries), so the view build neither looks items up
// in the source graph's maps nor encodes them again.
type memSource struct {
	seq        uint64
	ids        []string
	keys       []EdgeKey
	npay, epay []byte // uvarint length | payload, per id / key in order
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

// entries walks a payload log, calling fn with each entry's offset and
// payload, one per item of n.
func entries(ctx context.Context, log []byte, n int, fn func(i int, off uint64, p []byte)) error {
	pos := 0
	for i := range n {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		l, k := binary.Uvarint(log[pos:])
		if k <= 0 || uint64(len(log)-pos-k) < l {
			return fmt.Errorf("payload log truncated at entry %d", i)
		}
		fn(i, uint64(pos), log[pos+k:pos+k+int(l)])
		pos += k + int(l)
	}
	return nil
}

// addNodes adds the source's nodes; adopted says the builder's node arena
// starts with this source's payload log, so entries are used where they are.
func (src *memSource) addNodes(ctx context.Context, b *ViewBuilder, adopted bool) error {
	log := src.npay
	if adopted {
		log = b.narena
	}
	return entries(ctx, log, len(src.ids), func(i int, off uint64, p []byte) {
		n := b.internOwned(src.ids[i])
		if adopted {
			b.noff[n] = off
			if len(p) > 0 {
				b.nkind[n] = NodeKind(p[0])
			}
			return
		}
		b.addNodePayload(n, p)
	})
}

func (src *memSource) addEdges(ctx context.Context, b *ViewBuilder, adopted bool) error {
	log := src.epay
	if adopted {
		log = b.earena
	}
	return entries(ctx, log, len(src.keys), func(i int, off uint64, p []byte) {
		k := src.keys[i]
		f, t := b.internOwned(k.From), b.internOwned(k.To)
		if adopted {
			b.addEdgeAt(f, k.Kind, t, off, p)
			return
		}
		b.addEdgePayload(f, k.Kind, t, p)
	})
}
