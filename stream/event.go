package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/event"
	"permgraph/detect/read"
	"permgraph/detect/rules"
	"permgraph/graph"
)

// Record headers.
const (
	// HeaderType marks what a record holds: TypeEvent (one normalized
	// event as JSON) or TypeViewChunk. Records without it are raw audit
	// records in any supported format (a producer other than forward).
	HeaderType    = "pg-type"
	TypeEvent     = "event/v1"
	TypeViewChunk = "view-chunk/v1"
	TypeAlert     = "alert/v1"
)

// EventRecord encodes e as a Kafka record for topic, keyed by key, stamped
// with the event time (so replay windows can be found by time).
func EventRecord(topic, key string, e *event.Event) (*kgo.Record, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: b, Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte(TypeEvent)}}}
	if !e.Time.IsZero() {
		r.Timestamp = e.Time
	}
	return r, nil
}

// DecodeEvents returns the events of one record: the event of a forward
// record, or the events a raw audit record (any supported format, any
// layout the readers accept) normalizes to. Raw events get a Ref naming
// the record (file "kafka:topic/partition", line = offset).
func DecodeEvents(ctx context.Context, r *kgo.Record) ([]event.Event, error) {
	if headerValue(r, HeaderType) == TypeEvent {
		var e event.Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			return nil, fmt.Errorf("decode event at %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		return []event.Event{e}, nil
	}
	name := fmt.Sprintf("kafka:%s/%d", r.Topic, r.Partition)
	rd, err := read.NewReader(ctx, name, bytes.NewReader(r.Value), "auto")
	if err != nil {
		return nil, fmt.Errorf("decode record at %s@%d: %w", name, r.Offset, err)
	}
	defer rd.Close()
	var out []event.Event
	for {
		e, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("decode record at %s@%d: %w", name, r.Offset, err)
		}
		e.Ref = event.Ref{File: name, Line: r.Offset, Index: e.Ref.Index}
		out = append(out, e)
	}
	return out, nil
}

func headerValue(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Keyer computes the partition key of an event: the graph node the rules
// resolve its actor to when a view is given and resolves it, else a
// canonical form of the raw actor (RawKey). Every event of one principal
// then lands on one partition, which is what per-principal rule state
// needs. A Keyer is not safe for concurrent use.
type Keyer struct {
	en    *rules.Engine
	probe *keyProbe
}

// NewKeyer returns a Keyer resolving actors in v (nil: raw keys only).
func NewKeyer(v *graph.View) *Keyer {
	if v == nil {
		return &Keyer{}
	}
	p := &keyProbe{}
	// An engine with one rule that records the resolved actor: the same
	// resolution detect uses, through the rules package's public API.
	return &Keyer{en: rules.NewEngine(staticGraph{v}, rules.Config{}, []rules.Rule{p}), probe: p}
}

// Key returns the partition key of e.
func (k *Keyer) Key(ctx context.Context, e *event.Event) string {
	if k.en != nil {
		k.probe.key, k.probe.ok = "", false
		if _, err := k.en.Process(ctx, *e); err == nil && k.probe.ok {
			return k.probe.key
		}
	}
	return RawKey(e)
}

// RawKey is the partition key without a graph: AWS role sessions by their
// role (session issuer ARN, else the assumed-role ARN without the session
// name), EKS users by their canonical role ARN, others by the raw actor,
// lower-cased outside AWS (emails and UPNs are case-insensitive). For AWS
// users and roles this equals the graph node id ("aws:" + ARN).
func RawKey(e *event.Event) string {
	a := &e.Actor
	switch {
	case e.Cloud == "aws" && a.SessionIssuer != "":
		return "aws:" + a.SessionIssuer
	case e.Cloud == "aws" && strings.Contains(a.Raw, ":assumed-role/"):
		raw := a.Raw
		if i := strings.LastIndexByte(raw, '/'); i > strings.Index(raw, ":assumed-role/")+len(":assumed-role/") {
			raw = raw[:i]
		}
		return "aws:" + raw
	case e.Cloud == "aws":
		if a.Raw == "" {
			return "aws:unknown"
		}
		return "aws:" + a.Raw
	case e.Cloud == "k8s" && a.CanonicalARN != "":
		return "aws:" + a.CanonicalARN
	case a.Raw == "":
		return e.Cloud + ":unknown"
	}
	return e.Cloud + ":" + strings.ToLower(a.Raw)
}

type keyProbe struct {
	key string
	ok  bool
}

func (p *keyProbe) Meta() rules.Meta { return rules.Meta{ID: "KEY", Name: "partition.key"} }

func (p *keyProbe) Observe(_ context.Context, c *rules.Context, _ *event.Event) ([]rules.Alert, error) {
	if _, ok := c.ActorNode(); ok {
		p.key, p.ok = c.Key(), true
	}
	return nil, nil
}

// staticGraph serves one view for every time.
type staticGraph struct{ v *graph.View }

func (g staticGraph) ViewAt(context.Context, time.Time) (*graph.View, error) { return g.v, nil }
