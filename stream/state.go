package stream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The state topic (Detector.StateTopic) is a compacted topic holding each
// event partition's first-seen baseline (rules R02 and R06), so the replica
// that takes a partition over has the 14 days of history those rules need
// and not only the replayed window. One record per baseline entry:
//
//	key   "<partition>/<baseline key>"   (e.g. "3/disc|aws:arn:aws:iam::1:user/bob")
//	value last-seen event time, decimal Unix nanoseconds
//
// plus one record per partition for the coverage start (the earliest event
// time the partition's baseline has data for):
//
//	key   "<partition>#coverage"
//	value coverage start, decimal Unix nanoseconds
//
// Event partition p's records go to state partition p mod (state
// partitions), so a new owner reads only the state partitions of what it
// was assigned. Every record carries HeaderType TypeBaseline. A nil value
// (tombstone) deletes the entry.
const (
	TypeBaseline = "baseline/v1"
	coverageKey  = "#coverage"
)

// stateBaseline is one partition's first-seen baseline (a rules.Baseline
// like rules.MemoryBaseline): in memory, seeded from the state topic, and
// tracking what changed since the last flush to it.
type stateBaseline struct {
	last       map[string]time.Time
	start      time.Time
	dirty      map[string]bool
	startDirty bool
}

func newStateBaseline() *stateBaseline {
	return &stateBaseline{last: map[string]time.Time{}, dirty: map[string]bool{}}
}

func (b *stateBaseline) Seen(_ context.Context, key string) (time.Time, bool, error) {
	t, ok := b.last[key]
	return t, ok, nil
}

func (b *stateBaseline) Record(_ context.Context, key string, t time.Time) error {
	if t.After(b.last[key]) {
		b.last[key] = t
		b.dirty[key] = true
	}
	return nil
}

func (b *stateBaseline) Coverage(_ context.Context, t time.Time) (time.Time, error) {
	if b.start.IsZero() || t.Before(b.start) {
		b.start = t
		b.startDirty = true
	}
	return b.start, nil
}

// seed merges one state record's entry (key without the partition prefix):
// the latest last-seen time and the earliest coverage start win, so records
// a former owner wrote late (after losing the partition) never move the
// baseline backwards before compaction has removed them.
func (b *stateBaseline) seed(key string, value []byte) error {
	if value == nil {
		if key == coverageKey {
			b.start = time.Time{}
		} else {
			delete(b.last, key)
		}
		return nil
	}
	ns, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil {
		return fmt.Errorf("state entry %q: %w", key, err)
	}
	t := time.Unix(0, ns).UTC()
	if key == coverageKey {
		if b.start.IsZero() || t.Before(b.start) {
			b.start = t
		}
		return nil
	}
	if t.After(b.last[key]) {
		b.last[key] = t
	}
	return nil
}

// changes returns the records for what changed since the last call
// (partition p of the event topic, produced to statePart of topic) and
// forgets the changes. Call it again after a failed produce only if the
// process goes on (the detector stops instead).
func (b *stateBaseline) changes(topic string, p, statePart int32) []*kgo.Record {
	if len(b.dirty) == 0 && !b.startDirty {
		return nil
	}
	prefix := strconv.Itoa(int(p))
	hdr := []kgo.RecordHeader{{Key: HeaderType, Value: []byte(TypeBaseline)}}
	rec := func(key string, t time.Time) *kgo.Record {
		return &kgo.Record{Topic: topic, Partition: statePart, Key: []byte(key), Value: strconv.AppendInt(nil, t.UnixNano(), 10), Headers: hdr}
	}
	out := make([]*kgo.Record, 0, len(b.dirty)+1)
	if b.startDirty {
		out = append(out, rec(prefix+coverageKey, b.start))
		b.startDirty = false
	}
	for k := range b.dirty {
		out = append(out, rec(prefix+"/"+k, b.last[k]))
	}
	clear(b.dirty)
	return out
}

// parseStateKey splits a state record key into partition and entry key
// (coverageKey for the coverage record).
func parseStateKey(key string) (int32, string, bool) {
	i := strings.IndexAny(key, "/#")
	if i <= 0 {
		return 0, "", false
	}
	p, err := strconv.ParseInt(key[:i], 10, 32)
	if err != nil {
		return 0, "", false
	}
	if key[i] == '#' {
		return int32(p), key[i:], key[i:] == coverageKey
	}
	return int32(p), key[i+1:], true
}

// ensureStateTopic creates the state topic (compacted, as many partitions
// as the event topic) if missing and returns its partition count. An
// existing topic is used as it is (no Create permission needed then).
func (d *Detector) ensureStateTopic(ctx context.Context, cl *kgo.Client, adm *kadm.Client) (int32, error) {
	// Whether it exists is asked by listing every topic: asking for a
	// missing topic by name makes the client retry until it appears.
	all, err := adm.ListTopics(ctx)
	if err != nil {
		return 0, fmt.Errorf("detect: list topics: %w", err)
	}
	if td, ok := all[d.StateTopic]; ok && td.Err == nil && len(td.Partitions) > 0 {
		return int32(len(td.Partitions)), nil
	}
	n := int32(1)
	if td, ok := all[d.Topic]; ok && td.Err == nil && len(td.Partitions) > 0 {
		n = int32(len(td.Partitions))
	}
	if err := EnsureTopic(ctx, cl, d.StateTopic, n, true); err != nil {
		return 0, fmt.Errorf("detect: state topic: %w", err)
	}
	tds, err := adm.ListTopics(ctx, d.StateTopic) // exists now
	if err != nil {
		return 0, fmt.Errorf("detect: state topic %s: %w", d.StateTopic, err)
	}
	if td, ok := tds[d.StateTopic]; ok && td.Err == nil && len(td.Partitions) > 0 {
		return int32(len(td.Partitions)), nil
	}
	return 0, fmt.Errorf("detect: state topic %s: no partitions after creating it", d.StateTopic)
}

// loadState reads the state partitions of the given new partitions to their
// end and seeds each one's baseline.
func (d *Detector) loadState(ctx context.Context, adm *kadm.Client, parts map[int32]*partState) (int64, error) {
	var sp []int32
	seen := map[int32]bool{}
	for p := range parts {
		if s := p % d.stateParts; !seen[s] {
			seen[s] = true
			sp = append(sp, s)
		}
	}
	var n int64
	var bad error
	err := readPartitionsToEnd(ctx, d.Conn, adm, d.StateTopic, sp, kgo.NewOffset().AtStart(), func(r *kgo.Record) {
		p, key, ok := parseStateKey(string(r.Key))
		if !ok {
			return
		}
		ps := parts[p]
		if ps == nil {
			return
		}
		if err := ps.base.seed(key, r.Value); err != nil && bad == nil {
			bad = err
		}
		n++
	})
	if err != nil {
		return n, fmt.Errorf("detect: read state topic %s: %w", d.StateTopic, err)
	}
	if bad != nil {
		d.Log.Warn("malformed state record ignored", "topic", d.StateTopic, "err", bad)
	}
	return n, nil
}

// flushState produces the baseline changes of every owned partition since
// the last flush (after the batch's alerts are written, before its offsets
// are committed).
func (d *Detector) flushState(ctx context.Context, sc *kgo.Client) error {
	var recs []*kgo.Record
	d.mu.Lock()
	for p, ps := range d.parts {
		recs = append(recs, ps.base.changes(d.StateTopic, p, p%d.stateParts)...)
	}
	d.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	if err := sc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("detect: produce state: %w", err)
	}
	d.mu.Lock()
	d.stats.StateWritten += int64(len(recs))
	d.mu.Unlock()
	return nil
}
