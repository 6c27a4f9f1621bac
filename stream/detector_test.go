package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/read"
	"permgraph/detect/rules"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// ctLine is one CloudTrail record by IAM user `user` at t0+at.
func ctLine(user, source, name string, at time.Duration, i int) string {
	rec := map[string]any{"eventVersion": "1.09", "eventTime": t0.Add(at).Format(time.RFC3339), "eventSource": source, "eventName": name,
		"userIdentity": map[string]any{"type": "IAMUser", "accountId": acct, "arn": "arn:aws:iam::" + acct + ":user/" + user, "userName": user},
		"awsRegion":    "us-east-1", "eventID": fmt.Sprintf("ev-%06d", i), "eventType": "AwsApiCall", "recipientAccountId": acct,
		"requestParameters": map[string]any{"cluster": "prod", "taskDefinition": "web:1"}, "userAgent": "aws-cli/2.15.0"}
	b, _ := json.Marshal(rec)
	return string(b)
}

// attack is a scripted sequence for many actors spread over hours: bulk
// discovery (R01), then 40 minutes later a deploy (R04 no path, R10
// discovery-then-deploy: needs the discovery in the partition's state) and
// an exec (R09).
func attack(actors []string, from time.Duration, phase int) []string {
	var out []string
	for i, a := range actors {
		at := from + time.Duration(i)*3*time.Minute
		switch phase {
		case 1:
			out = append(out, ctLine(a, "iam.amazonaws.com", "GetAccountAuthorizationDetails", at, len(out)+phase*1000))
			for j := 0; j < 5; j++ {
				out = append(out, ctLine(a, "s3.amazonaws.com", "GetObject", at+time.Duration(j)*time.Second, len(out)+phase*1000))
			}
		default:
			out = append(out, ctLine(a, "ecs.amazonaws.com", "RunTask", at+40*time.Minute, len(out)+phase*1000))
			out = append(out, ctLine(a, "ecs.amazonaws.com", "ExecuteCommand", at+41*time.Minute, len(out)+phase*1000))
		}
	}
	return out
}

func forwardLines(t *testing.T, cl *kgo.Client, topic string, lines []string) {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l + "\n")
	}
	r, err := read.NewReader(ctx, "script", &buf, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Forward(ctx, cl, topic, r, NewKeyer(nil)); err != nil {
		t.Fatal(err)
	}
}

// expected runs the same events through one engine per actor key (state
// follows the key, so partitioning must not change the result).
func expected(t *testing.T, vs *ViewSet, lines []string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	en := rules.NewEngine(vs, rules.Config{}, rules.DefaultRules(nil))
	want := map[string]bool{}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l + "\n")
	}
	r, _ := read.NewReader(ctx, "script", &buf, "auto")
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		as, err := en.Process(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			want[a.Key] = true
		}
	}
	return want
}

func waitCommitted(t *testing.T, adm *kadm.Client, group, topic string) {
	t.Helper()
	waitFor(t, "all offsets committed", 30*time.Second, func() bool {
		ctx := context.Background()
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return false
		}
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return false
		}
		ok := true
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset == 0 {
				return
			}
			c, found := offs.Lookup(topic, o.Partition)
			if !found || c.At < o.Offset {
				ok = false
			}
		})
		return ok
	})
}

type replica struct {
	d      *Detector
	cancel context.CancelFunc
	done   chan error
}

func startReplica(t *testing.T, conn Conn, name string, crash *atomic.Bool, alerts *kgo.Client) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	vs := NewViewSet(conn, "views", testLog(t).With("replica", name))
	go vs.Follow(ctx)
	d := &Detector{Conn: conn, Topic: "events", Group: "detect", Views: vs, Sink: TopicSink{Client: alerts, Topic: "alerts"},
		AlertsTopic: "alerts", StateTopic: "events.state", SessionTimeout: 2 * time.Second, StateWindow: 6 * time.Hour, Log: testLog(t).With("replica", name)}
	if crash != nil {
		d.crashAfterWrite = crash.Load
	}
	r := &replica{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// Two replicas share a 6-partition topic; one crashes after writing alerts
// and before committing; the survivor takes its partitions over, rebuilds
// their state by replay, and a new view published mid-stream is swapped in.
// Every expected alert is in the alerts topic exactly once.
func TestTwoReplicasCrashAndViewSwap(t *testing.T) {
	ctx := context.Background()
	conn := cluster(t, map[string]int32{"events": 6, "views": 1, "alerts": 3})
	prod := client(t, conn)
	adm := kadm.NewClient(prod)

	v1dir := viewFile(t, t0.Add(-time.Hour), "bob")
	v2at := t0.Add(3 * time.Hour)
	v2dir := viewFile(t, v2at, "bob", "alice")
	pub := &Publisher{Conn: conn, Client: prod, Topic: "views", ChunkBytes: 128, Log: testLog(t)}
	m1, fresh, err := pub.PublishStore(ctx, v1dir)
	if err != nil || !fresh || m1.Chunks < 2 {
		t.Fatalf("publish v1: %+v %v %v (want several chunks)", m1, fresh, err)
	}

	var crash atomic.Bool
	a := startReplica(t, conn, "A", &crash, prod)
	b := startReplica(t, conn, "B", nil, prod)

	var actors []string
	for i := range 24 {
		actors = append(actors, fmt.Sprintf("user%02d", i))
	}
	phase1 := attack(actors, 0, 1)
	phase2 := attack(actors[:12], 0, 2)
	phase3 := append(attack(actors[12:], 0, 2), attack([]string{"alice"}, 3*time.Hour+10*time.Minute, 1)...)
	phase3 = append(phase3, attack([]string{"alice"}, 3*time.Hour+10*time.Minute, 2)...)

	waitFor(t, "both replicas in the group", 20*time.Second, func() bool {
		gs, err := adm.DescribeGroups(ctx, "detect")
		if err != nil {
			return false
		}
		g, ok := gs["detect"]
		if !ok || g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		for _, m := range g.Members {
			ca, ok := m.Assigned.AsConsumer()
			if !ok || len(ca.Topics) == 0 {
				return false
			}
		}
		return true
	})
	forwardLines(t, prod, "events", phase1)
	waitCommitted(t, adm, "detect", "events")
	if a.d.Stats().Records == 0 || b.d.Stats().Records == 0 {
		t.Fatalf("partitions not shared: A %d records, B %d", a.d.Stats().Records, b.d.Stats().Records)
	}

	// A crashes after writing the alerts of its next batch, before commit.
	crash.Store(true)
	assignBefore := b.d.Stats().Assignments
	forwardLines(t, prod, "events", phase2)
	select {
	case err := <-a.done:
		if err != errCrashed {
			t.Fatalf("replica A: %v", err)
		}
		a.done <- err
	case <-time.After(20 * time.Second):
		t.Fatal("replica A did not crash")
	}
	crashed := time.Now()
	waitFor(t, "B takes over", 20*time.Second, func() bool { return b.d.Stats().Assignments > assignBefore })
	t.Logf("rebalance: B took over %s after the crash (replayed %d records in %s)", time.Since(crashed).Round(time.Millisecond),
		b.d.Stats().Replayed, b.d.Stats().ReplayTime.Round(time.Millisecond))
	waitCommitted(t, adm, "detect", "events")

	// A new view arrives while B runs.
	m2, fresh, err := pub.PublishStore(ctx, v2dir)
	if err != nil || !fresh {
		t.Fatalf("publish v2: %v %v", fresh, err)
	}
	waitFor(t, "B swaps in the new view", 10*time.Second, func() bool { return b.d.Views.Swaps() > 0 })
	forwardLines(t, prod, "events", phase3)
	waitCommitted(t, adm, "detect", "events")

	// Reference: one engine over the same events with both views.
	ref := NewViewSet(conn, "views", nil)
	rctx, rcancel := context.WithCancel(ctx)
	go ref.Follow(rctx)
	<-ref.Ready()
	rcancel()
	all := append(append(append([]string{}, phase1...), phase2...), phase3...)
	want := expected(t, ref, all)

	got := map[string]int{}
	var aliceAlerts []Alert
	var mu sync.Mutex
	for _, rec := range consumeAll(t, conn, "alerts", len(want)) {
		var al Alert
		if err := json.Unmarshal(rec.Value, &al); err != nil {
			t.Fatal(err)
		}
		if string(rec.Key) != al.Key {
			t.Errorf("alert record key %q, alert key %q", rec.Key, al.Key)
		}
		mu.Lock()
		got[al.Key]++
		mu.Unlock()
		if al.Actor.Name == "alice" {
			aliceAlerts = append(aliceAlerts, al)
		}
	}
	// Anything beyond the expected count would be a duplicate: read a bit more.
	time.Sleep(300 * time.Millisecond)
	ends, _ := adm.ListEndOffsets(ctx, "alerts")
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	var missing, dup []string
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	for k, n := range got {
		if n > 1 || !want[k] {
			dup = append(dup, fmt.Sprintf("%s x%d", k, n))
		}
	}
	sort.Strings(missing)
	sort.Strings(dup)
	if len(missing) > 0 || len(dup) > 0 || total != int64(len(want)) {
		t.Fatalf("alerts: %d records for %d expected keys\nmissing %v\nduplicate or unexpected %v", total, len(want), missing, dup)
	}
	rulesSeen := map[string]int{}
	for k := range want {
		rulesSeen[k[:3]]++
	}
	for _, r := range []string{"R01", "R04", "R09", "R10"} {
		if rulesSeen[r] == 0 {
			t.Errorf("no %s alert in the script's expected set %v", r, rulesSeen)
		}
	}
	if len(aliceAlerts) == 0 {
		t.Fatal("no alert for alice")
	}
	for _, al := range aliceAlerts {
		if al.View.ID != m2.ID || al.Actor.Resolved != "graph" || al.View.Stale {
			t.Errorf("alice's %s judged against view %+v (want %s), actor %s", al.Rule, al.View, m2.ID, al.Actor.Resolved)
		}
	}
	st := b.d.Stats()
	t.Logf("alerts %d (%v); B: %d records, deduped %d after the crash, %d replayed", len(want), rulesSeen, st.Records, st.Deduped, st.Replayed)
	if st.Deduped == 0 {
		t.Error("the crash left no written-but-uncommitted alert to dedupe: the test did not exercise it")
	}
}
