package stream

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/read"
	"permgraph/detect/rules"
	"permgraph/graph"
)

// memSink keeps alerts in memory.
type memSink struct {
	mu     sync.Mutex
	alerts []Alert
}

func (s *memSink) Write(_ context.Context, as []Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, as...)
	return nil
}

func (s *memSink) byRule(rule string) []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Alert
	for _, a := range s.alerts {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// firstSeenScript is 15 days of history on a 3-partition topic: six
// principals list groups every day, two attackers only read objects; then,
// after the takeover, day 15: the daily principals list groups again and
// each attacker does group discovery for the first time (three calls).
func firstSeenScript() (history, day15 []string, daily, attackers []string) {
	for i := range 6 {
		daily = append(daily, fmt.Sprintf("daily%d", i))
	}
	attackers = []string{"mallory", "trudy"}
	n := 0
	line := func(user, source, name string, at time.Duration) string {
		n++
		return ctLine(user, source, name, at, n)
	}
	for d := range 15 {
		day := time.Duration(d) * 24 * time.Hour
		for i, u := range daily {
			history = append(history, line(u, "iam.amazonaws.com", "ListGroups", day+9*time.Hour+time.Duration(i)*time.Minute))
		}
		for i, u := range attackers {
			history = append(history, line(u, "s3.amazonaws.com", "GetObject", day+11*time.Hour+time.Duration(i)*time.Minute))
		}
	}
	day := 15 * 24 * time.Hour
	for i, u := range daily {
		day15 = append(day15, line(u, "iam.amazonaws.com", "ListGroups", day+9*time.Hour+time.Duration(i)*time.Minute))
	}
	for i, u := range attackers {
		for j := range 3 {
			day15 = append(day15, line(u, "iam.amazonaws.com", "ListGroups", day+10*time.Hour+time.Duration(i*10+j)*time.Minute))
		}
	}
	return history, day15, daily, attackers
}

// runFirstSeen: replica A consumes 15 days of history (state topic per
// stateA) and is stopped; replica B takes the partitions over (state topic
// per stateB) and consumes day 15. prepare runs between the two (with
// the producer). It returns the R02 alerts of both replicas and B's stats.
func runFirstSeen(t *testing.T, stateA, stateB string, prepare func(*kgo.Client)) ([]Alert, Stats) {
	t.Helper()
	ctx := context.Background()
	conn := cluster(t, map[string]int32{"events": 3})
	prod := client(t, conn)
	adm := kadm.NewClient(prod)
	history, day15, _, _ := firstSeenScript()
	sink := &memSink{}
	start := func(name, state string) (*Detector, context.CancelFunc, chan error) {
		rctx, cancel := context.WithCancel(ctx)
		d := &Detector{Conn: conn, Topic: "events", Group: "detect", Sink: sink, StateTopic: state,
			SessionTimeout: 2 * time.Second, StateWindow: 6 * time.Hour, Log: testLog(t).With("replica", name)}
		done := make(chan error, 1)
		go func() {
			err := d.Run(rctx)
			if err != nil {
				t.Errorf("replica %s: %v", name, err)
			}
			done <- err
		}()
		t.Cleanup(func() { cancel(); <-done; done <- nil })
		return d, cancel, done
	}
	a, stopA, doneA := start("A", stateA)
	// Three deliveries of five days each: three commits, so the state is
	// written as deltas.
	for i := 0; i < len(history); i += len(history) / 3 {
		forwardLines(t, prod, "events", history[i:min(i+len(history)/3, len(history))])
		waitCommitted(t, adm, "detect", "events")
	}
	if n := len(sink.byRule("R02")); n != 0 {
		t.Fatalf("R02 fired %d times during the history (coverage < 14 days, or seen daily)", n)
	}
	if stateA != "" {
		cfgs, err := adm.DescribeTopicConfigs(ctx, stateA)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cfgs.On(stateA, nil)
		if err != nil {
			t.Fatal(err)
		}
		policy := ""
		for _, kv := range c.Configs {
			if kv.Key == "cleanup.policy" && kv.Value != nil {
				policy = *kv.Value
			}
		}
		if policy != "compact" {
			t.Errorf("state topic cleanup.policy %q, want compact", policy)
		}
	}
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("replica A: %v", err)
	}
	doneA <- nil
	t.Logf("A: %d events, %d state records written", a.Stats().Events, a.Stats().StateWritten)
	if prepare != nil {
		prepare(prod)
	}
	b, _, _ := start("B", stateB)
	forwardLines(t, prod, "events", day15)
	waitCommitted(t, adm, "detect", "events")
	return sink.byRule("R02"), b.Stats()
}

func actorsOf(as []Alert) map[string]int {
	out := map[string]int{}
	for _, a := range as {
		name := a.Actor.Name
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		out[name]++
	}
	return out
}

// A replica builds 15 days of first-seen baseline and is stopped; the
// replica taking its partitions over seeds the baseline from the state
// topic: the attackers' first group discovery fires R02 once each, the
// principals that list groups every day do not fire. Controls: without the
// state topic R02 stays quiet (coverage restarts at the takeover: the gap),
// and with only the coverage start travelling (no entries) every daily
// principal would fire.
func TestStateTopicRebuildsFirstSeenBaseline(t *testing.T) {
	_, _, daily, attackers := firstSeenScript()

	t.Run("state-topic", func(t *testing.T) {
		got, st := runFirstSeen(t, "events.state", "events.state", nil)
		byActor := actorsOf(got)
		for _, u := range attackers {
			if byActor[u] != 1 {
				t.Errorf("R02 for %s: %d alerts, want exactly 1 (all R02: %v)", u, byActor[u], byActor)
			}
		}
		for _, u := range daily {
			if byActor[u] != 0 {
				t.Errorf("R02 for %s, seen every day: %d alerts", u, byActor[u])
			}
		}
		if len(got) != len(attackers) {
			t.Errorf("R02 alerts %v, want one per attacker", byActor)
		}
		if st.StateLoaded <= int64(len(daily)+3) || st.Assignments == 0 {
			t.Errorf("B loaded no state: %+v", st)
		}
		t.Logf("B: %d state records loaded, %d replayed, takeover %s", st.StateLoaded, st.Replayed, st.ReplayTime.Round(time.Millisecond))
	})

	t.Run("control-no-state-topic", func(t *testing.T) {
		got, _ := runFirstSeen(t, "", "", nil)
		if len(got) != 0 {
			t.Errorf("R02 fired without the state topic: %v", actorsOf(got))
		}
		t.Logf("without the state topic: %d R02 alerts (the attackers' first-seen discovery is missed)", len(got))
	})

	t.Run("control-coverage-only", func(t *testing.T) {
		// A writes no state; the coverage start (day 0) alone is put in
		// the state topic, so B has 15 days of coverage but no entries.
		got, _ := runFirstSeen(t, "", "events.state", func(prod *kgo.Client) {
			ctx := context.Background()
			if err := EnsureTopic(ctx, prod, "events.state", 3, true); err != nil {
				t.Fatal(err)
			}
			var recs []*kgo.Record
			for p := range int32(3) {
				recs = append(recs, &kgo.Record{Topic: "events.state", Key: fmt.Appendf(nil, "%d%s", p, coverageKey),
					Value: fmt.Appendf(nil, "%d", t0.UnixNano()), Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte(TypeBaseline)}}})
			}
			if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
		})
		byActor := actorsOf(got)
		for _, u := range append(append([]string{}, daily...), attackers...) {
			if byActor[u] != 1 {
				t.Errorf("coverage without entries: R02 for %s %d times, want 1 (%v)", u, byActor[u], byActor)
			}
		}
	})
}

// The state's size: 10k principals each with a group-discovery baseline
// entry (keys as the rules make them: unresolved IAM users), and the same
// with one role-chain entry (R06) each; measured as the record batches the
// producer writes (uncompressed and snappy, the default).
func TestStateSize(t *testing.T) {
	ctx := context.Background()
	const principals = 10000
	conn := cluster(t, map[string]int32{"state": 12})
	for _, withChain := range []bool{false, true} {
		var mu sync.Mutex
		var m kgo.ProduceBatchMetrics
		var n int
		hook := batchHook(func(b kgo.ProduceBatchMetrics) {
			mu.Lock()
			m.UncompressedBytes += b.UncompressedBytes
			m.CompressedBytes += b.CompressedBytes
			n += b.NumRecords
			mu.Unlock()
		})
		pc := client(t, conn, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.WithHooks(hook))
		bases := map[int32]*stateBaseline{}
		en := map[int32]*rules.Engine{}
		for p := range int32(12) {
			bases[p] = newStateBaseline()
			en[p] = rules.NewEngine(&partGraph{empty: graph.NewViewFromGraphs(time.Time{}, nil)}, rules.Config{}, rules.DefaultRules(bases[p]))
		}
		var buf bytes.Buffer
		for i := range principals {
			buf.WriteString(ctLine(fmt.Sprintf("svc-%05d", i), "iam.amazonaws.com", "ListGroups", time.Duration(i)*time.Second, i) + "\n")
		}
		r, err := read.NewReader(ctx, "size", &buf, "auto")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			e, err := r.Next()
			if err != nil {
				break
			}
			p := int32(i % 12)
			if _, err := en[p].Process(ctx, e); err != nil {
				t.Fatal(err)
			}
			if withChain {
				_ = bases[p].Record(ctx, fmt.Sprintf("chain|aws:arn:aws:iam::%s:user/svc-%05d|aws:arn:aws:iam::%s:role/deploy-%03d", acct, i, acct, i%500), e.Time)
			}
		}
		var recs []*kgo.Record
		for p, b := range bases {
			recs = append(recs, b.changes("state", p, p)...)
		}
		if err := pc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		pc.Close()
		mu.Lock()
		want := principals + 12
		if withChain {
			want += principals
		}
		if n != want {
			t.Errorf("%d records produced, want %d", n, want)
		}
		var payload int
		for _, r := range recs {
			payload += len(r.Key) + len(r.Value)
		}
		t.Logf("10k principals (chain entries: %v): %d records, key+value %d bytes, batches %d bytes uncompressed, %d snappy",
			withChain, n, payload, m.UncompressedBytes, m.CompressedBytes)
		mu.Unlock()
	}
	// A takeover of all 12 partitions reads everything written above.
	d := &Detector{Conn: conn, StateTopic: "state", stateParts: 12, Log: testLog(t)}
	parts := map[int32]*partState{}
	for p := range int32(12) {
		parts[p] = &partState{base: newStateBaseline()}
	}
	adm := kadm.NewClient(client(t, conn))
	start := time.Now()
	n, err := d.loadState(ctx, adm, parts)
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, ps := range parts {
		keys += len(ps.base.last)
		if ps.base.start.IsZero() {
			t.Error("coverage start not loaded")
		}
	}
	if keys != 2*principals {
		t.Errorf("%d baseline keys loaded, want %d", keys, 2*principals)
	}
	t.Logf("takeover of 12 partitions: %d state records (%d keys) read in %s", n, keys, time.Since(start).Round(time.Millisecond))
}

type batchHook func(kgo.ProduceBatchMetrics)

func (h batchHook) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	h(m)
}

// Seeding merges records: newest last-seen and earliest coverage win, a
// tombstone deletes, keys split at the first separator after the partition.
func TestStateBaselineSeed(t *testing.T) {
	ctx := context.Background()
	b := newStateBaseline()
	for _, r := range []struct{ key, val string }{
		{"4/disc|aws:arn:aws:iam::1:user/a#b", "2000"}, {"4/disc|aws:arn:aws:iam::1:user/a#b", "1000"},
		{"4#coverage", "500"}, {"4#coverage", "700"}, {"4/gone", "1"},
	} {
		p, key, ok := parseStateKey(r.key)
		if !ok || p != 4 {
			t.Fatalf("parse %q: %d %q %v", r.key, p, key, ok)
		}
		if err := b.seed(key, []byte(r.val)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.seed("gone", nil); err != nil {
		t.Fatal(err)
	}
	if last, ok, _ := b.Seen(ctx, "disc|aws:arn:aws:iam::1:user/a#b"); !ok || last.UnixNano() != 2000 {
		t.Errorf("seen %v %v, want 2000", last.UnixNano(), ok)
	}
	if _, ok, _ := b.Seen(ctx, "gone"); ok {
		t.Error("tombstoned entry still seen")
	}
	if s, _ := b.Coverage(ctx, time.Unix(0, 900)); s.UnixNano() != 500 {
		t.Errorf("coverage %d, want 500", s.UnixNano())
	}
	if recs := b.changes("s", 4, 1); len(recs) != 0 {
		t.Errorf("seeding marked %d changes", len(recs))
	}
	_ = b.Record(ctx, "disc|x", time.Unix(0, 3000))
	_ = b.Record(ctx, "disc|x", time.Unix(0, 2500))
	recs := b.changes("s", 4, 1)
	if len(recs) != 1 || string(recs[0].Key) != "4/disc|x" || string(recs[0].Value) != "3000" || recs[0].Partition != 1 {
		t.Errorf("changes %+v", recs)
	}
	if _, _, ok := parseStateKey("x/disc"); ok {
		t.Error("non-numeric partition parsed")
	}
}
