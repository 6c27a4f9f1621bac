package stream

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/read"
)

// TestThroughput measures events/s through kfake with 1 and 2 replicas,
// and with 1 replica writing the baseline state topic
// (PERMGRAPH_KAFKA_BENCH=N events; skipped otherwise).
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PERMGRAPH_KAFKA_BENCH"))
	if n == 0 {
		t.Skip("set PERMGRAPH_KAFKA_BENCH=<events> to measure")
	}
	ctx := context.Background()
	conn := cluster(t, map[string]int32{"events": 6})
	prod := client(t, conn, kgo.ProducerLinger(5*time.Millisecond))
	var buf bytes.Buffer
	names := []string{"GetObject", "ListBuckets", "DescribeInstances", "GetGroup", "RunTask", "PutObject"}
	srcs := []string{"s3", "s3", "ec2", "iam", "ecs", "s3"}
	for i := range n {
		buf.WriteString(ctLine(fmt.Sprintf("u%04d", i%500), srcs[i%6]+".amazonaws.com", names[i%6], time.Duration(i)*50*time.Millisecond, i))
		buf.WriteByte('\n')
	}
	r, _ := read.NewReader(ctx, "bench", &buf, "auto")
	start := time.Now()
	if _, err := Forward(ctx, prod, "events", r, NewKeyer(nil)); err != nil {
		t.Fatal(err)
	}
	t.Logf("forward: %d events in %s (%.0f/s)", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	adm := kadm.NewClient(prod)
	for _, c := range []struct {
		replicas int
		state    string
	}{{1, ""}, {2, ""}, {1, "events.state"}} {
		replicas := c.replicas
		group := fmt.Sprintf("bench-%d-%s", replicas, c.state)
		rctx, cancel := context.WithCancel(ctx)
		var ds []*Detector
		done := make(chan error, replicas)
		start := time.Now()
		for range replicas {
			d := &Detector{Conn: conn, Topic: "events", Group: group, Sink: Sinks{}, StateTopic: c.state, Log: testLog(t)}
			ds = append(ds, d)
			go func() { done <- d.Run(rctx) }()
		}
		waitCommitted(t, adm, group, "events")
		el := time.Since(start)
		cancel()
		for range replicas {
			<-done
		}
		var alerts, state int64
		for _, d := range ds {
			alerts += d.Stats().Alerts
			state += d.Stats().StateWritten
		}
		t.Logf("%d replica(s), state topic %q: %d events in %s: %.0f events/s (%d alerts, %d state records written)", replicas, c.state, n, el.Round(time.Millisecond),
			float64(n)/el.Seconds(), alerts, state)
	}
}

// TestPublishLargeView publishes PERMGRAPH_VIEW_DB's latest.view through
// kfake and times a replica loading it (skipped otherwise).
func TestPublishLargeView(t *testing.T) {
	dir := os.Getenv("PERMGRAPH_VIEW_DB")
	if dir == "" {
		t.Skip("set PERMGRAPH_VIEW_DB=<store dir> to measure")
	}
	ctx := context.Background()
	conn := cluster(t, map[string]int32{"views": 1})
	prod := client(t, conn, kgo.ProducerBatchMaxBytes(1<<20))
	pub := &Publisher{Conn: conn, Client: prod, Topic: "views"}
	start := time.Now()
	m, _, err := pub.PublishStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("published %d bytes in %d chunks in %s", m.Size, m.Chunks, time.Since(start).Round(time.Millisecond))
	vs := NewViewSet(conn, "views", testLog(t))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start = time.Now()
	go vs.Follow(rctx)
	<-vs.Ready()
	if len(vs.Views()) != 1 {
		t.Fatal("view not loaded")
	}
	v := vs.Views()[0].View
	t.Logf("replica loaded it in %s: %d nodes, %d edges", time.Since(start).Round(time.Millisecond), v.NumNodes(), v.NumEdges())
}
