package rules

import (
	"context"
	"testing"
	"time"

	"permgraph/detect/cloudtrail"
	"permgraph/graph"
)

// runStore adds manifests recording collection runs to a store's list (as
// partial snapshots, so the views are the store's own).
type runStore struct {
	*graph.Store
	runs []graph.CollectionRun
}

func (r runStore) Snapshots(ctx context.Context) ([]graph.Manifest, error) {
	ms, err := r.Store.Snapshots(ctx)
	for i := range r.runs {
		ms = append(ms, graph.Manifest{ID: "aws:111122223333@run", Source: "aws:" + acct, At: r.runs[i].Start,
			Status: graph.StatusPartial, Collection: &r.runs[i]})
	}
	return ms, err
}

func TestCollectorRunSuppression(t *testing.T) {
	st := sampleStore(t)
	// The snapshot job ran as a role session 09:00-09:20 on the event day,
	// and as IAM user erin (a resolved graph principal) on another day.
	runs := []graph.CollectionRun{
		{Identities: []string{"arn:aws:sts::" + acct + ":assumed-role/permgraph-reader/job-1", "arn:aws:iam::" + acct + ":role/permgraph-reader"},
			Start: eventT0, End: eventT0.Add(20 * time.Minute)},
		{Identities: []string{"arn:aws:iam::" + acct + ":user/audit/erin"}, Start: eventT0.Add(-48 * time.Hour), End: eventT0.Add(-47 * time.Hour)},
	}
	at := func(cs []ct, d time.Duration) []ct {
		for i := range cs {
			cs[i].at += d
		}
		return cs
	}
	tests := []struct {
		name       string
		events     []ct
		want       []fired
		suppressed int
	}{
		// Another session name of the recorded role: matched by the role.
		{"discovery inside the run window is suppressed", discoveryCalls("role:permgraph-reader", 30, 10*time.Second), nil, 30},
		{"within the 10 min margin after the run", at(discoveryCalls("role:permgraph-reader", 30, 10*time.Second), 25*time.Minute), nil, 30},
		{"the same identity outside its windows alerts", at(discoveryCalls("role:permgraph-reader", 30, 10*time.Second), 3*time.Hour),
			[]fired{{"R01", "arn:aws:sts::111122223333:assumed-role/permgraph-reader/sess"}}, 0},
		{"a deploy by the identity inside the window alerts", []ct{{user: "role:permgraph-reader", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 5 * time.Minute}},
			[]fired{{"R04", "arn:aws:sts::111122223333:assumed-role/permgraph-reader/sess"}}, 0},
		{"resolved principal inside its own run", at(discoveryCalls("erin", 30, 10*time.Second), -48*time.Hour+10*time.Minute), nil, 30},
		{"resolved principal outside its run alerts", discoveryCalls("erin", 30, 10*time.Second), []fired{{"R01", "erin"}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewStoreGraph(t.Context(), runStore{Store: st, runs: runs})
			if err != nil {
				t.Fatal(err)
			}
			en := NewEngine(g, Config{}, DefaultRules(nil))
			var out []Alert
			for i, c := range tc.events {
				ev, err := cloudtrail.ParseRecord(c.record(i))
				if err != nil {
					t.Fatal(err)
				}
				as, err := en.Process(t.Context(), ev)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, as...)
			}
			if got := summary(out); !equalFired(got, tc.want) {
				t.Errorf("alerts = %v, want %v", got, tc.want)
			}
			if n := en.Stats().Suppressed["collector-run"]; n != tc.suppressed {
				t.Errorf("suppressed collector-run = %d, want %d (stats %v)", n, tc.suppressed, en.Stats().Suppressed)
			}
		})
	}
	// Without recorded runs (old manifests) nothing is suppressed.
	if got := summary(run(t, st, Config{}, discoveryCalls("role:permgraph-reader", 30, 10*time.Second))); len(got) != 1 || got[0].Rule != "R01" {
		t.Errorf("without runs: %v, want one R01", got)
	}
}

func equalFired(a, b []fired) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestIndexRunsMergesAndSearches(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	en := &Engine{runs: indexRuns([]graph.CollectionRun{
		{Identities: []string{"A"}, Start: t0, End: t0.Add(time.Hour)},
		{Identities: []string{"a"}, Start: t0.Add(30 * time.Minute), End: t0.Add(3 * time.Hour)}, // overlaps
		{Identities: []string{"a"}, Start: t0.Add(24 * time.Hour), End: t0.Add(25 * time.Hour)},
		{Identities: []string{"b"}}, // no window: ignored
	})}
	if n := len(en.runs["a"]); n != 2 {
		t.Fatalf("windows = %d, want 2 merged", n)
	}
	for d, want := range map[time.Duration]bool{
		-11 * time.Minute: false, -9 * time.Minute: true, 2 * time.Hour: true, 3*time.Hour + 9*time.Minute: true,
		4 * time.Hour: false, 24*time.Hour - 5*time.Minute: true, 26 * time.Hour: false,
	} {
		if got := en.inRun("a", t0.Add(d)); got != want {
			t.Errorf("inRun(+%s) = %v, want %v", d, got, want)
		}
	}
	if en.inRun("b", t0) {
		t.Error("run without a window matched")
	}
}
