package rules

import (
	"context"
	"fmt"
	"strings"
	"time"

	"permgraph/detect/event"
	"permgraph/graph"
)

// ChainParams tune R06.
type ChainParams struct {
	// History is how long a (caller, role) chain must be unseen to count
	// as unusual, once the baseline covers that long.
	History time.Duration
	// SessionTTL bounds how long an AssumeRole's credentials are tracked.
	SessionTTL time.Duration
}

type chainRule struct {
	p    ChainParams
	base Baseline
}

// NewUnusualChain is R06 deploy.unusual_identity_chain.
func NewUnusualChain(p ChainParams, b Baseline) Rule {
	return &chainRule{p: p, base: b}
}

func (r *chainRule) Meta() Meta {
	return Meta{ID: "R06", Name: "deploy.unusual_identity_chain", Title: "Deployment through an unusual role, impersonation or delegation chain", Severity: Medium,
		Attack: []string{"T1610", "T1550.001", "T1078.004"}, Params: map[string]string{"history": r.p.History.String(), "session_ttl": r.p.SessionTTL.String()},
		Response: response("Find who obtained the session (the AssumeRole event in the alert) and whether that principal normally uses this role; revoke the role's active sessions if not.")}
}

func (r *chainRule) Observe(ctx context.Context, c *Context, e *event.Event) ([]Alert, error) {
	// Coverage counts from every event, as R02 does: the baseline's data
	// starts with the stream, not with the first chain deploy (R02 may be
	// disabled).
	start, err := r.base.Coverage(ctx, e.Time)
	if err != nil {
		return nil, fmt.Errorf("baseline coverage: %w", err)
	}
	if e.Class != event.Deploy || e.Outcome != event.Success || e.Actor.AccessKeyID == "" || c.Approved("R06") {
		return nil, nil
	}
	s, ok := c.Origin()
	if !ok || e.Time.Sub(s.at) > r.p.SessionTTL {
		return nil, nil
	}
	chainKey := "chain|" + s.caller + "|" + c.Key()
	last, seen, err := r.base.Seen(ctx, chainKey)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if err := r.base.Record(ctx, chainKey, e.Time); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var labels []string
	// Does the snapshot give the caller a path to the role it assumed?
	if c.hasNode && c.view.NodeKind(c.actor) == graph.NodeRole {
		if callerID, ok := c.view.Lookup(s.caller); ok && !reaches(c.view, callerID, c.actor) {
			labels = append(labels, "chain-not-in-snapshot")
		}
	}
	if (!seen || e.Time.Sub(last) >= r.p.History) && e.Time.Sub(start) >= r.p.History {
		labels = append(labels, "first-seen-chain")
	}
	if len(labels) == 0 {
		return nil, nil
	}
	m := r.Meta()
	sev := m.Severity
	if labels[0] == "chain-not-in-snapshot" {
		sev = High
	}
	a := newAlert(m, sev, c, e, fmt.Sprintf("%s deployed (%s) through a session of %s obtained by %s (%s)", c.Actor().Name, e.Action, s.role, s.callerRaw, strings.Join(labels, ", ")))
	a.Labels = labels
	a.Events = []EventRef{s.ref, refOf(e)}
	a.Key = m.ID + "|" + chainKey + "|" + bucket(e.Time, time.Hour)
	return []Alert{a}, nil
}

// reaches reports whether from reaches to along identity hops (membership,
// assumption, impersonation, escalation), within a few hops.
func reaches(v *graph.View, from, to graph.NodeID) bool {
	seen := map[graph.NodeID]bool{from: true}
	frontier := []graph.NodeID{from}
	for depth := 0; depth < 6 && len(frontier) > 0; depth++ {
		var next []graph.NodeID
		for _, n := range frontier {
			for _, e := range v.Out(n) {
				_, t, kind, _ := v.EdgeEnds(e)
				if !kind.Traversable() || kind == graph.EdgeCan || seen[t] {
					continue
				}
				if t == to {
					return true
				}
				seen[t] = true
				next = append(next, t)
			}
		}
		frontier = next
	}
	return false
}
