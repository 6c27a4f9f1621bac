package stream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/event"
	"permgraph/detect/read"
)

const sharedDir = "../../shared/testdata"

func readAll(t *testing.T, path string) []event.Event {
	t.Helper()
	r, err := read.Open(context.Background(), path, "auto")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []event.Event
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func consumeAll(t *testing.T, conn Conn, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := client(t, conn, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// Every supported format survives forward -> topic -> decode, both as
// forward's normalized events and (JSON lines) as raw records a foreign
// producer would send; events of one actor share a partition.
func TestForwardRoundTripEveryFormat(t *testing.T) {
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skipf("shared samples not available: %v", err)
	}
	files := []struct{ format, path string }{
		{"cloudtrail", sharedDir + "/cloudtrail/awsdocs-cloudtrail-examples.jsonl"},
		{"azure-activity", sharedDir + "/azure-activity/msdocs-activity-log-administrative-rest-sample.json"},
		{"graph-activity", sharedDir + "/graph-activity/otrf-goldensaml-AADAuditEvents.jsonl"},
		{"gcp-audit", sharedDir + "/gcp-audit/gcpdiag-gke3-logging-entries.json"},
		{"workspace", "../detect/workspace/testdata/admin-activities.json"},
		{"k8s-audit", sharedDir + "/k8s-audit/falco-trace-files-k8s-audit.jsonl"},
	}
	topics := map[string]int32{}
	for _, f := range files {
		topics[f.format] = 4
		topics[f.format+"-raw"] = 4
	}
	conn := cluster(t, topics)
	prod := client(t, conn)
	ctx := context.Background()
	for _, f := range files {
		t.Run(f.format, func(t *testing.T) {
			want := readAll(t, f.path)
			if len(want) == 0 {
				t.Fatal("no events in sample")
			}
			r, err := read.Open(ctx, f.path, "auto")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			st, err := Forward(ctx, prod, f.format, r, NewKeyer(nil))
			if err != nil {
				t.Fatal(err)
			}
			if int(st.Events) != len(want) {
				t.Fatalf("forwarded %d events, read %d", st.Events, len(want))
			}
			recs := consumeAll(t, conn, f.format, len(want))
			var got []event.Event
			partOf := map[string]int32{}
			for _, rec := range recs {
				evs, err := DecodeEvents(ctx, rec)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					k := RawKey(&e)
					if string(rec.Key) != k {
						t.Errorf("record key %q, want %q", rec.Key, k)
					}
					if p, ok := partOf[k]; ok && p != rec.Partition {
						t.Errorf("actor %q on partitions %d and %d", k, p, rec.Partition)
					}
					partOf[k] = rec.Partition
					got = append(got, e)
				}
			}
			// Order across partitions is not kept: compare as multisets by (ref, id).
			sortEvents(want)
			sortEvents(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("round trip (-read +consumed):\n%s", d)
			}
			if f.path[len(f.path)-1] != 'l' { // JSON lines only for raw records
				return
			}
			raw, err := os.Open(f.path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			sc := bufio.NewScanner(raw)
			sc.Buffer(nil, 16<<20)
			n := 0
			for sc.Scan() {
				if len(sc.Bytes()) == 0 {
					continue
				}
				n++
				if err := prod.ProduceSync(ctx, &kgo.Record{Topic: f.format + "-raw", Value: append([]byte(nil), sc.Bytes()...)}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			var gotRaw []event.Event
			for _, rec := range consumeAll(t, conn, f.format+"-raw", n) {
				evs, _ := DecodeEvents(ctx, rec)
				gotRaw = append(gotRaw, evs...)
			}
			strip := func(es []event.Event) []event.Event {
				out := make([]event.Event, len(es))
				for i, e := range es {
					e.Ref = event.Ref{}
					out[i] = e
				}
				sortEvents(out)
				return out
			}
			if d := cmp.Diff(strip(want), strip(gotRaw)); d != "" {
				t.Fatalf("raw round trip (-read +consumed):\n%s", d)
			}
		})
	}
}

func sortEvents(es []event.Event) {
	key := func(e event.Event) string {
		return e.Time.Format(time.RFC3339Nano) + "|" + e.ID + "|" + e.Action + "|" + e.Actor.Raw + "|" + e.Resource + "|" + e.Ref.File + "|" + string(rune(e.Ref.Line)) + "|" + string(rune(e.Ref.Index))
	}
	slicesSortStable(es, key)
}
