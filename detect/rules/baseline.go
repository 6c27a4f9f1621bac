package rules

import (
	"context"
	"fmt"
	"time"

	"permgraph/detect/event"
)

// Baseline remembers when an actor was first and last seen doing a class of
// activity, and since when the baseline has data (the coverage watermark that
// gates first-seen rules, as Splunk's enough_data does).
type Baseline interface {
	// Seen returns the last time key was recorded, if ever.
	Seen(ctx context.Context, key string) (time.Time, bool, error)
	// Record stores t as the last time key was seen.
	Record(ctx context.Context, key string, t time.Time) error
	// Coverage returns the earliest event time the baseline has seen (zero
	// when empty) after noting t.
	Coverage(ctx context.Context, t time.Time) (time.Time, error)
}

// MemoryBaseline is a Baseline for one run (tests, --no-store).
type MemoryBaseline struct {
	last  map[string]time.Time
	start time.Time
}

// NewMemoryBaseline returns an empty in-memory baseline.
func NewMemoryBaseline() *MemoryBaseline { return &MemoryBaseline{last: map[string]time.Time{}} }

func (m *MemoryBaseline) Seen(_ context.Context, key string) (time.Time, bool, error) {
	t, ok := m.last[key]
	return t, ok, nil
}

func (m *MemoryBaseline) Record(_ context.Context, key string, t time.Time) error {
	if t.After(m.last[key]) {
		m.last[key] = t
	}
	return nil
}

func (m *MemoryBaseline) Coverage(_ context.Context, t time.Time) (time.Time, error) {
	if m.start.IsZero() || t.Before(m.start) {
		m.start = t
	}
	return m.start, nil
}

// FirstSeenParams tune R02.
type FirstSeenParams struct {
	// History is how long a principal must not have done discovery, and how
	// much baseline coverage is needed before the rule may fire.
	History time.Duration
}

type firstSeen struct {
	p    FirstSeenParams
	base Baseline
}

// NewFirstSeenDiscovery is R02 disc.first_seen_group_enum.
func NewFirstSeenDiscovery(p FirstSeenParams, b Baseline) Rule { return &firstSeen{p: p, base: b} }

func (r *firstSeen) Meta() Meta {
	return Meta{ID: "R02", Name: "disc.first_seen_group_enum", Title: "First-time group / permission discovery by a principal", Severity: Low,
		Attack: []string{"T1069.003", "T1087.004"}, Params: map[string]string{"history": r.p.History.String()},
		Response: response("Ask whether the principal's role changed (new scanner, new admin); if not, treat the credential as suspect and check R10 for a following deployment.")}
}

func (r *firstSeen) Observe(ctx context.Context, c *Context, e *event.Event) ([]Alert, error) {
	start, err := r.base.Coverage(ctx, e.Time)
	if err != nil {
		return nil, fmt.Errorf("baseline coverage: %w", err)
	}
	if e.Class != event.DiscoveryGroup && e.Class != event.DiscoveryPermission {
		return nil, nil
	}
	key := "disc|" + c.Key()
	last, seen, err := r.base.Seen(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if err := r.base.Record(ctx, key, e.Time); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if seen && e.Time.Sub(last) < r.p.History {
		return nil, nil
	}
	if e.Time.Sub(start) < r.p.History {
		return nil, nil // not enough history to call anything first-seen
	}
	m := r.Meta()
	sev := m.Severity
	if c.hasNode && c.view.NodeKind(c.actor).String() == "role" {
		sev = sev.up(1)
	}
	a := newAlert(m, sev, c, e, fmt.Sprintf("%s did group or permission discovery (%s) for the first time in %s", c.Actor().Name, e.Action, r.p.History))
	a.Key = m.ID + "|" + c.Key() + "|" + bucket(e.Time, r.p.History)
	return []Alert{a}, nil
}
