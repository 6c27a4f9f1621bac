package event

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassNames(t *testing.T) {
	tests := []struct {
		c    Class
		name string
	}{
		{Other, "other"},
		{DiscoveryGroup, "discovery_group"},
		{DiscoveryPermission, "discovery_permission"},
		{SelfProbe, "self_probe"},
		{Deploy, "deploy"},
		{Exec, "exec"},
		{Grant, "grant"},
		{Identity, "identity"},
		{Delete, "delete"},
	}
	if len(tests) != len(Classes()) {
		t.Fatalf("table has %d classes, enum has %d", len(tests), len(Classes()))
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.name {
			t.Errorf("%d.String() = %q, want %q", tt.c, got, tt.name)
		}
		back, err := ParseClass(tt.name)
		if err != nil || back != tt.c {
			t.Errorf("ParseClass(%q) = %v, %v", tt.name, back, err)
		}
	}
	if _, err := ParseClass("nope"); err == nil {
		t.Error("ParseClass(nope) succeeded")
	}
	if got := Class(200).String(); got != "class(200)" {
		t.Errorf("out of range class = %q", got)
	}
}

func TestOutcomeNames(t *testing.T) {
	tests := []struct {
		o    Outcome
		name string
	}{{Unknown, "unknown"}, {Success, "success"}, {Denied, "denied"}, {Failed, "failed"}}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.name {
			t.Errorf("String() = %q, want %q", got, tt.name)
		}
		back, err := ParseOutcome(tt.name)
		if err != nil || back != tt.o {
			t.Errorf("ParseOutcome(%q) = %v, %v", tt.name, back, err)
		}
	}
	var zero Outcome
	if zero != Unknown {
		t.Error("zero Outcome must be Unknown")
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	ev := Event{Format: "cloudtrail", Cloud: "aws", Action: "RunTask", Class: Deploy, Outcome: Denied,
		Actor: Actor{Raw: "arn:aws:iam::1:user/a"}, Ref: Ref{File: "f", Line: 3}}
	ev.SetDetail("role", "arn:aws:iam::1:role/r")
	ev.SetDetail("empty", "")
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if diff := cmp.Diff(ev, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got := ev.Detail("empty"); got != "" || len(ev.Details) != 1 {
		t.Errorf("empty detail stored: %v", ev.Details)
	}
}
