package rules

import (
	"context"
	"testing"
	"time"

	"permgraph/detect/cloudtrail"
)

// TestRepeatedDeploysCountDuplicates checks that R04 and R05, which skip
// building an alert whose key was already reported, still count each
// skipped one as a duplicate, and that the first alert of each carries the
// grant and the path it is about.
func TestRepeatedDeploysCountDuplicates(t *testing.T) {
	st := sampleStore(t)
	g, err := NewStoreGraph(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	en := NewEngine(g, Config{}, DefaultRules(nil))
	events := []ct{
		// R04: erin has no path; three deploys in one hour, one in the next.
		{user: "erin", source: "ecs.amazonaws.com", name: "RunTask", params: runTask},
		{user: "erin", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 10 * time.Minute},
		{user: "erin", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 20 * time.Minute},
		{user: "erin", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 70 * time.Minute},
		// R05: a grant, then two deploys in one hour.
		{user: "gina", source: "iam.amazonaws.com", name: "AddUserToGroup", params: map[string]any{"groupName": "Deployers", "userName": "gina"}},
		{user: "gina", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 10 * time.Minute},
		{user: "gina", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 30 * time.Minute},
	}
	var alerts []Alert
	for i, c := range events {
		ev, err := cloudtrail.ParseRecord(c.record(i))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		as, err := en.Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, as...)
	}
	s := en.Stats()
	if s.Alerts["R04"] != 2 || s.Alerts["R05"] != 1 || s.Duplicates != 3 {
		t.Fatalf("want 2 R04, 1 R05 and 3 duplicates, got alerts %v, duplicates %d", s.Alerts, s.Duplicates)
	}
	for _, a := range alerts {
		if a.Rule == "R05" && (len(a.Events) != 2 || !containsLabel(a, "grant-event-in-stream")) {
			t.Errorf("R05 should name the grant and the deploy: %+v", a)
		}
	}
}
