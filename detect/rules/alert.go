// Package rules runs detection rules over normalized audit events, reading
// the permission graph as it stood at each event's time.
package rules

import (
	"fmt"
	"strings"
	"time"

	"permgraph/detect/event"
	"permgraph/queries"
)

// Severity orders alerts: info < low < medium < high < critical.
type Severity uint8

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// ParseSeverity is the inverse of String.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, s) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q: want info, low, medium, high or critical", s)
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func (s Severity) up(n int) Severity {
	v := int(s) + n
	if v > int(Critical) {
		v = int(Critical)
	}
	return Severity(v)
}

// Actor is who an alert is about.
type Actor struct {
	ID     string `json:"id"`     // graph node id, or the raw identity when unresolved
	Name   string `json:"name"`   // display name
	Source string `json:"source"` // the log's raw identity (ARN, email, username)
	// Resolved says how ID was found: "graph" when the node is in the
	// snapshot, "unresolved" otherwise.
	Resolved string `json:"resolved"`
	// Origin is who obtained the session the actor acted with (the caller
	// of an AssumeRole seen earlier in the stream), when known.
	Origin string `json:"origin,omitempty"`
}

// EventRef is the part of a triggering event an alert carries.
type EventRef struct {
	Time    time.Time     `json:"time"`
	Format  string        `json:"format"`
	ID      string        `json:"id,omitempty"`
	Action  string        `json:"action"`
	Class   event.Class   `json:"class"`
	Outcome event.Outcome `json:"outcome"`
	Scope   string        `json:"scope,omitempty"`
	Ref     event.Ref     `json:"ref"`
}

func refOf(e *event.Event) EventRef {
	return EventRef{Time: e.Time, Format: e.Format, ID: e.ID, Action: e.Action, Class: e.Class, Outcome: e.Outcome, Scope: e.Scope, Ref: e.Ref}
}

// Alert is one detection, written as a JSON line (ARCHITECTURE.md section 6).
type Alert struct {
	Rule         string         `json:"rule"`
	Title        string         `json:"title"`
	Severity     Severity       `json:"severity"`
	Attack       []string       `json:"attack"`
	Time         time.Time      `json:"time"`
	Actor        Actor          `json:"actor"`
	Events       []EventRef     `json:"events"`
	EvidencePath []queries.Hop  `json:"evidence_path"`
	Response     []string       `json:"response"`
	Labels       []string       `json:"labels,omitempty"`
	Snapshots    []string       `json:"snapshots,omitempty"`
	Summary      string         `json:"summary"`
	Details      map[string]any `json:"details,omitempty"`
	// Key deduplicates alerts: the same key is reported once.
	Key string `json:"key"`
}
