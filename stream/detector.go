package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/alertstore"
	"permgraph/detect/rules"
	"permgraph/graph"
)

// Alert is a rules.Alert as the Kafka consumer emits it: the same fields,
// plus the view it was judged against and the record it came from.
type Alert struct {
	rules.Alert
	View   ViewRef   `json:"view"`
	Source SourceRef `json:"source"`
}

// ViewRef says which graph view judged an alert's event. Stale is set when
// the replica had no view covering the event time well: the newest view it
// has is more than MaxViewAge older than the event ("stale-view"), a newer
// view covering the event was still arriving ("newer-view-pending"), every
// view it has is newer than the event ("view-after-event"), or it has none
// ("no-view").
type ViewRef struct {
	ID     string    `json:"id,omitempty"`
	At     time.Time `json:"at"`
	Age    string    `json:"age,omitempty"` // event time minus view time
	Stale  bool      `json:"stale"`
	Reason string    `json:"reason,omitempty"`
}

// SourceRef is the Kafka record an alert's (last) event came from.
type SourceRef struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Sink receives alerts. Write returns once they are durable: offsets are
// committed only after it succeeds.
type Sink interface {
	Write(ctx context.Context, alerts []Alert) error
}

// WriterSink writes alerts as JSON lines.
type WriterSink struct {
	mu sync.Mutex
	W  io.Writer
}

func (s *WriterSink) Write(_ context.Context, alerts []Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	enc := json.NewEncoder(s.W)
	enc.SetEscapeHTML(false)
	for _, a := range alerts {
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("write alert: %w", err)
		}
	}
	return nil
}

// StoreSink keeps alerts in the local alert store (deduplicated by key).
type StoreSink struct{ Store *alertstore.Store }

func (s StoreSink) Write(ctx context.Context, alerts []Alert) error {
	list := make([]rules.Alert, len(alerts))
	for i, a := range alerts {
		list[i] = a.Alert
	}
	_, err := s.Store.Put(ctx, list)
	return err
}

// TopicSink produces alerts as JSON to a topic, keyed by alert key.
type TopicSink struct {
	Client *kgo.Client
	Topic  string
}

func (s TopicSink) Write(ctx context.Context, alerts []Alert) error {
	recs := make([]*kgo.Record, 0, len(alerts))
	for _, a := range alerts {
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode alert: %w", err)
		}
		recs = append(recs, &kgo.Record{Topic: s.Topic, Key: []byte(a.Key), Value: b, Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte(TypeAlert)}}})
	}
	if err := s.Client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce alerts: %w", err)
	}
	return nil
}

// Sinks writes to each sink in order.
type Sinks []Sink

func (ss Sinks) Write(ctx context.Context, alerts []Alert) error {
	for _, s := range ss {
		if err := s.Write(ctx, alerts); err != nil {
			return err
		}
	}
	return nil
}

// Detector consumes audit events from Topic as a member of Group and runs
// the rules with one engine per assigned partition.
type Detector struct {
	Conn  Conn
	Topic string
	Group string
	// Views serves the graph (nil: an empty graph, every actor unresolved).
	Views *ViewSet
	// Config and the rule set of every partition engine.
	Config rules.Config
	// StateWindow is how much event time before a partition's committed
	// offset a new owner replays to rebuild rule state (default 24 h: the
	// longest window of the standard rules, R05's lookback).
	StateWindow time.Duration
	// MaxViewAge marks alerts judged against a view older than this
	// (relative to the event) as stale (default 24 h).
	MaxViewAge time.Duration
	Sink       Sink
	// AlertsTopic, when set, is read back (the last DedupeLookback of it)
	// whenever partitions are assigned, so alerts a crashed owner wrote
	// but did not commit are not written again.
	AlertsTopic    string
	DedupeLookback time.Duration
	// StateTopic, when set, is a compacted topic holding every partition's
	// first-seen baseline (R02, R06; state.go): created if missing, read
	// for the assigned partitions before they are replayed, and written
	// with each commit's baseline changes (after the alerts, before the
	// offsets). Without it a partition's baseline covers only the
	// replayed StateWindow after a takeover.
	StateTopic string
	// SessionTimeout of the group (default 10 s: a killed replica's
	// partitions move after at most this long).
	SessionTimeout time.Duration
	Log            *slog.Logger

	// crashAfterWrite (tests) makes Run return right after a batch's
	// alerts are written and before its offsets are committed: a crash.
	crashAfterWrite func() bool

	stateParts int32 // partitions of StateTopic

	mu      sync.Mutex
	parts   map[int32]*partState
	seen    map[string]bool
	stats   Stats
	started time.Time
}

// Stats counts what a Detector did.
type Stats struct {
	Records     int64         `json:"records"`
	Events      int64         `json:"events"`
	Alerts      int64         `json:"alerts"`
	Deduped     int64         `json:"deduped"` // alerts already in the alerts topic
	Replayed    int64         `json:"replayed"`
	ReplayTime  time.Duration `json:"replay_time"`
	Assignments int           `json:"assignments"`
	Malformed   int64         `json:"malformed"`
	// StateLoaded counts state-topic records read on takeovers,
	// StateWritten those produced at commits.
	StateLoaded  int64 `json:"state_loaded"`
	StateWritten int64 `json:"state_written"`
}

type partState struct {
	en   *rules.Engine
	g    *partGraph
	base *stateBaseline
}

// partGraph serves the engine and remembers which view judged the current
// event.
type partGraph struct {
	vs     *ViewSet
	cur    time.Time
	used   *LoadedView
	pend   bool
	picked bool
	empty  *graph.View
}

func (g *partGraph) ViewAt(_ context.Context, t time.Time) (*graph.View, error) {
	if g.vs == nil {
		return g.empty, nil
	}
	lv, pending := g.vs.Pick(t)
	if t.Equal(g.cur) && !g.picked {
		g.used, g.pend, g.picked = lv, pending, true
	}
	if lv == nil {
		return g.empty, nil
	}
	return lv.View, nil
}

// Stats returns counters so far.
func (d *Detector) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// errCrashed is returned by Run when the test crash hook fired.
var errCrashed = errors.New("detector crashed (test hook)")

// Run consumes until ctx is done (nil) or a fatal error.
func (d *Detector) Run(ctx context.Context) error {
	if d.StateWindow <= 0 {
		d.StateWindow = 24 * time.Hour
	}
	if d.MaxViewAge <= 0 {
		d.MaxViewAge = 24 * time.Hour
	}
	if d.DedupeLookback <= 0 {
		d.DedupeLookback = 24 * time.Hour
	}
	if d.SessionTimeout <= 0 {
		d.SessionTimeout = 10 * time.Second
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if _, err := rules.RulesFromConfig(d.Config, nil); err != nil {
		return err
	}
	d.parts, d.seen = map[int32]*partState{}, map[string]bool{}
	d.started = time.Now()
	drop := func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, p := range lost[d.Topic] {
			delete(d.parts, p)
		}
	}
	cl, err := d.Conn.NewClient(kgo.ConsumerGroup(d.Group), kgo.ConsumeTopics(d.Topic), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(d.SessionTimeout), kgo.HeartbeatInterval(d.SessionTimeout/5),
		kgo.OnPartitionsRevoked(drop), kgo.OnPartitionsLost(drop), kgo.FetchMaxWait(250*time.Millisecond))
	if err != nil {
		return err
	}
	closed := false
	closeClient := func() {
		if !closed {
			closed = true
			cl.AllowRebalance()
			cl.Close()
		}
	}
	defer closeClient()
	adm := kadm.NewClient(cl)
	var sc *kgo.Client
	if d.StateTopic != "" {
		if d.stateParts, err = d.ensureStateTopic(ctx, cl, adm); err != nil {
			return err
		}
		if sc, err = d.Conn.NewClient(kgo.RecordPartitioner(kgo.ManualPartitioner())); err != nil {
			return err
		}
		defer sc.Close()
	}
	if d.Views != nil {
		select {
		case <-d.Views.Ready():
		case <-ctx.Done():
			return nil
		}
	}
	for {
		fs := cl.PollRecords(ctx, 5000)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			d.Log.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		byPart := map[int32][]*kgo.Record{}
		fs.EachRecord(func(r *kgo.Record) { byPart[r.Partition] = append(byPart[r.Partition], r) })
		if len(byPart) == 0 {
			cl.AllowRebalance()
			continue
		}
		if err := d.ensurePartitions(ctx, adm, byPart); err != nil {
			return err
		}
		var out []Alert
		var last []*kgo.Record
		for p, recs := range byPart {
			d.mu.Lock()
			ps := d.parts[p]
			d.mu.Unlock()
			for _, r := range recs {
				as, err := d.process(ctx, ps, r)
				if err != nil {
					return err
				}
				out = append(out, as...)
			}
			last = append(last, recs[len(recs)-1])
		}
		fresh := out[:0]
		for _, a := range out {
			if d.seen[a.Key] {
				d.stats.Deduped++
				continue
			}
			fresh = append(fresh, a)
		}
		sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].Time.Before(fresh[j].Time) })
		if len(fresh) > 0 && d.Sink != nil {
			if err := d.Sink.Write(ctx, fresh); err != nil {
				return fmt.Errorf("detect: write alerts: %w", err)
			}
		}
		for _, a := range fresh {
			d.seen[a.Key] = true
		}
		if d.crashAfterWrite != nil && d.crashAfterWrite() {
			return errCrashed
		}
		if sc != nil {
			if err := d.flushState(ctx, sc); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if err := cl.CommitRecords(ctx, last...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("detect: commit: %w", err)
		}
		d.mu.Lock()
		d.stats.Alerts += int64(len(fresh))
		d.mu.Unlock()
		cl.AllowRebalance()
	}
}

// process runs one record through its partition's engine.
func (d *Detector) process(ctx context.Context, ps *partState, r *kgo.Record) ([]Alert, error) {
	evs, err := DecodeEvents(ctx, r)
	d.mu.Lock()
	d.stats.Records++
	d.stats.Events += int64(len(evs))
	if err != nil {
		d.stats.Malformed++
	}
	d.mu.Unlock()
	if err != nil {
		d.Log.Warn("undecodable record", "partition", r.Partition, "offset", r.Offset, "err", err)
	}
	var out []Alert
	for _, e := range evs {
		ps.g.cur, ps.g.used, ps.g.pend, ps.g.picked = e.Time, nil, false, false
		as, err := ps.en.Process(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("detect: %w", err)
		}
		for _, a := range as {
			out = append(out, Alert{Alert: a, View: d.viewRef(ps.g, e.Time), Source: SourceRef{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}})
		}
	}
	for i := range out {
		if out[i].View.Stale {
			out[i].Labels = append(out[i].Labels, "stale-view:"+out[i].View.Reason)
		}
	}
	return out, nil
}

func (d *Detector) viewRef(g *partGraph, t time.Time) ViewRef {
	lv := g.used
	if lv == nil {
		return ViewRef{Stale: true, Reason: "no-view"}
	}
	age := t.Sub(lv.At)
	ref := ViewRef{ID: lv.ID, At: lv.At, Age: age.String()}
	switch {
	case age < 0:
		ref.Stale, ref.Reason = true, "view-after-event"
	case g.pend:
		ref.Stale, ref.Reason = true, "newer-view-pending"
	case age > d.MaxViewAge:
		ref.Stale, ref.Reason = true, "stale-view"
	}
	return ref
}

// ensurePartitions creates engines for partitions this member did not own
// and rebuilds their rule state: the alerts topic's recent keys are loaded
// (dedupe after a crash), the state topic seeds each new partition's
// first-seen baseline, and each new partition's last StateWindow of event
// time before its first fetched offset is replayed with alerts discarded.
func (d *Detector) ensurePartitions(ctx context.Context, adm *kadm.Client, byPart map[int32][]*kgo.Record) error {
	first := map[int32]*kgo.Record{}
	fresh := map[int32]*partState{}
	d.mu.Lock()
	for p, recs := range byPart {
		if d.parts[p] == nil {
			g := &partGraph{vs: d.Views, empty: graph.NewViewFromGraphs(time.Time{}, nil)}
			base := newStateBaseline()
			rs, err := rules.RulesFromConfig(d.Config, base)
			if err != nil {
				d.mu.Unlock()
				return err
			}
			d.parts[p] = &partState{en: rules.NewEngine(g, d.Config, rs), g: g, base: base}
			first[p], fresh[p] = recs[0], d.parts[p]
		}
	}
	d.mu.Unlock()
	if len(first) == 0 {
		return nil
	}
	start := time.Now()
	if d.AlertsTopic != "" {
		if err := d.loadAlertKeys(ctx, adm); err != nil {
			return err
		}
	}
	var loaded int64
	if d.StateTopic != "" {
		var err error
		if loaded, err = d.loadState(ctx, adm, fresh); err != nil {
			return err
		}
	}
	n, err := d.replay(ctx, adm, first)
	if err != nil {
		return err
	}
	took := time.Since(start)
	d.mu.Lock()
	d.stats.Assignments++
	d.stats.Replayed += n
	d.stats.ReplayTime += took
	d.stats.StateLoaded += loaded
	d.mu.Unlock()
	d.Log.Info("partitions taken over", "partitions", len(first), "state_records", loaded, "replayed", n, "took", took.Round(time.Millisecond).String())
	return nil
}

func (d *Detector) loadAlertKeys(ctx context.Context, adm *kadm.Client) error {
	since := time.Now().Add(-d.DedupeLookback).UnixMilli()
	err := readToEnd(ctx, d.Conn, adm, d.AlertsTopic, kgo.NewOffset().AfterMilli(since), func(r *kgo.Record) {
		if r.Key != nil && r.Value != nil {
			d.seen[string(r.Key)] = true
		}
	})
	if err != nil {
		return fmt.Errorf("detect: read alerts topic %s: %w", d.AlertsTopic, err)
	}
	return nil
}

// replay feeds [offset at (first record time - StateWindow), first offset)
// of each partition through its engine, discarding alerts: the previous
// owner wrote them (and they are in each engine's dedupe set now).
func (d *Detector) replay(ctx context.Context, adm *kadm.Client, first map[int32]*kgo.Record) (int64, error) {
	from := map[int32]kgo.Offset{}
	upTo := map[int32]int64{}
	for p, r := range first {
		if r.Offset == 0 {
			continue
		}
		lo, err := adm.ListOffsetsAfterMilli(ctx, r.Timestamp.Add(-d.StateWindow).UnixMilli(), d.Topic)
		if err == nil {
			err = lo.Error()
		}
		if err != nil {
			return 0, fmt.Errorf("detect: replay offsets: %w", err)
		}
		o, ok := lo.Lookup(d.Topic, p)
		if !ok || o.Offset < 0 || o.Offset >= r.Offset {
			continue
		}
		from[p], upTo[p] = kgo.NewOffset().At(o.Offset), r.Offset
	}
	if len(from) == 0 {
		return 0, nil
	}
	rc, err := d.Conn.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{d.Topic: from}), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var n int64
	for len(upTo) > 0 {
		fs := rc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return n, fmt.Errorf("detect: replay: %w", ferr)
		}
		for _, r := range fs.Records() {
			end, ok := upTo[r.Partition]
			if !ok || r.Offset >= end {
				continue
			}
			d.mu.Lock()
			ps := d.parts[r.Partition]
			d.mu.Unlock()
			evs, _ := DecodeEvents(ctx, r)
			for _, e := range evs {
				ps.g.cur, ps.g.used, ps.g.picked = e.Time, nil, false
				if _, err := ps.en.Process(ctx, e); err != nil {
					return n, fmt.Errorf("detect: replay: %w", err)
				}
			}
			n++
			if r.Offset+1 >= end {
				delete(upTo, r.Partition)
			}
		}
	}
	return n, nil
}
