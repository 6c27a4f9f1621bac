package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"permgraph/detect/event"
	"permgraph/graph"
)

// emptyGraph serves an empty view: R11 needs no snapshot.
type emptyGraph struct{ v *graph.View }

func (g emptyGraph) ViewAt(context.Context, time.Time) (*graph.View, error) { return g.v, nil }

const ciBotARN = "arn:aws:iam::111122223333:user/automation/ci-bot"

// volStart is a Monday.
var volStart = time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)

func deployEvent(who, scope string, t time.Time, i int) event.Event {
	return event.Event{Time: t, Format: "cloudtrail", Cloud: "aws", ID: fmt.Sprintf("ev-%d", i), Service: "lambda.amazonaws.com",
		Action: "UpdateFunctionCode20150331v2", Class: event.Deploy, Outcome: event.Success, Scope: scope,
		Actor: event.Actor{Raw: who, Type: "IAMUser"}, Resource: fmt.Sprintf("app-%d", i%7)}
}

// ciRoutine is a steady CI deployer: on weekdays two deploys an hour from
// 08:00 to 18:00 UTC, and a release of 30 deploys in 30 minutes every
// Tuesday at 14:00 UTC, for weeks weeks from volStart.
func ciRoutine(weeks int) []time.Time {
	var out []time.Time
	for d := 0; d < 7*weeks; d++ {
		day := volStart.Add(time.Duration(d) * 24 * time.Hour)
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for h := 8; h < 18; h++ {
			out = append(out, day.Add(time.Duration(h)*time.Hour+10*time.Minute), day.Add(time.Duration(h)*time.Hour+40*time.Minute))
		}
		if day.Weekday() == time.Tuesday {
			for i := 0; i < 30; i++ {
				out = append(out, day.Add(14*time.Hour+time.Duration(i)*time.Minute))
			}
		}
	}
	return out
}

// burst is n deploys spread over span from t.
func burst(t time.Time, n int, span time.Duration) []time.Time {
	var out []time.Time
	for i := 0; i < n; i++ {
		out = append(out, t.Add(time.Duration(i)*span/time.Duration(n)))
	}
	return out
}

type volRun struct {
	alerts []Alert
	stats  Stats
}

// runVolume runs R11 alone (parameters from cfg) over deploys by who in the
// sample account, in time order.
func runVolume(t *testing.T, cfg Config, who string, times ...[]time.Time) volRun {
	t.Helper()
	var all []time.Time
	for _, ts := range times {
		all = append(all, ts...)
	}
	sortTimes(all)
	rs, err := RulesFromConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var r11 []Rule
	for _, r := range rs {
		if r.Meta().ID == "R11" {
			r11 = append(r11, r)
		}
	}
	en := NewEngine(emptyGraph{graph.NewViewFromGraphs(volStart, nil)}, cfg, r11)
	var out []Alert
	for i, at := range all {
		as, err := en.Process(context.Background(), deployEvent(who, acct, at, i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, as...)
	}
	return volRun{alerts: out, stats: en.Stats()}
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func alertTimes(as []Alert) string {
	var out []string
	for _, a := range as {
		out = append(out, a.Time.Format("Mon 2006-01-02T15:04")+" "+a.Summary)
	}
	return strings.Join(out, "\n")
}

// A steady CI deployer with a weekly release: the release day is explained
// by its weekday-hour slot, four weeks running. The same release volume on
// another weekday fires: the seasonality, not a loose threshold, explains
// the release.
func TestVolumeSeasonalRelease(t *testing.T) {
	if got := runVolume(t, Config{}, ciBotARN, ciRoutine(4)); len(got.alerts) != 0 {
		t.Fatalf("weekly release alerted:\n%s", alertTimes(got.alerts))
	}
	thursday := volStart.Add(3*7*24*time.Hour + 3*24*time.Hour + 14*time.Hour) // week 4, Thursday 14:00
	got := runVolume(t, Config{}, ciBotARN, ciRoutine(4), burst(thursday, 30, 30*time.Minute))
	if len(got.alerts) != 1 || !got.alerts[0].Time.After(thursday) || got.alerts[0].Time.After(thursday.Add(30*time.Minute)) {
		t.Fatalf("release volume on a Thursday: want one alert then, got:\n%s", alertTimes(got.alerts))
	}
}

// A 10x spike by the routine deployer fires once per window, carries the
// baseline numbers and the window's events; a second spike hours later
// fires again.
func TestVolumeSpikeOncePerWindow(t *testing.T) {
	wed := volStart.Add(2*7*24*time.Hour + 2*24*time.Hour + 10*time.Hour) // week 3, Wednesday 10:00
	got := runVolume(t, Config{}, ciBotARN, ciRoutine(3), burst(wed.Add(5*time.Minute), 20, 30*time.Minute), burst(wed.Add(4*time.Hour), 20, 20*time.Minute))
	if len(got.alerts) != 2 {
		t.Fatalf("want two alerts (one per spike), got %d:\n%s", len(got.alerts), alertTimes(got.alerts))
	}
	a := got.alerts[0]
	if a.Rule != "R11" || a.Severity != Medium || a.Actor.Source != ciBotARN {
		t.Errorf("alert %+v", a)
	}
	if !containsLabel(a, "baseline:weekday-hour") || a.Details["basis"] != "weekday-hour" || a.Details["slot"] != "Wed 10:00 UTC" {
		t.Errorf("want the Wednesday 10:00 slot as baseline: labels %v, details %v", a.Labels, a.Details)
	}
	count, thr := a.Details["count"].(int), a.Details["threshold"].(float64)
	if float64(count) <= thr || thr < 10 || a.Details["samples"].(int64) != 2 || !strings.Contains(a.Summary, "threshold") {
		t.Errorf("baseline numbers: %v (%s)", a.Details, a.Summary)
	}
	if len(a.Events) != count || len(a.Events) > volumeEvidence {
		t.Errorf("evidence: %d events for a count of %d", len(a.Events), count)
	}
	for _, ev := range a.Events {
		if a.Time.Sub(ev.Time) >= time.Hour || ev.Class != event.Deploy {
			t.Errorf("evidence event outside the window: %+v", ev)
		}
	}
	if a.Key == got.alerts[1].Key {
		t.Error("two spikes share a key")
	}
}

// A spike inside a change window for the scope does not fire (and is
// counted as suppressed); a change window for another account does not
// cover it.
func TestVolumeChangeWindow(t *testing.T) {
	wed := volStart.Add(2*7*24*time.Hour + 2*24*time.Hour + 10*time.Hour)
	spike := burst(wed.Add(5*time.Minute), 40, 30*time.Minute)
	after := []time.Time{wed.Add(70 * time.Minute)} // the next deploy, after the change window
	cw := ChangeWindow{Start: wed, End: wed.Add(time.Hour), Scopes: []string{acct}, Reason: "quarterly runtime upgrade"}
	got := runVolume(t, Config{ChangeWindows: []ChangeWindow{cw}}, ciBotARN, ciRoutine(3), spike, after)
	if len(got.alerts) != 0 || got.stats.Suppressed["change-window:R11"] != 42 { // the spike and two routine deploys
		t.Fatalf("change window: alerts:\n%s\nsuppressed %v", alertTimes(got.alerts), got.stats.Suppressed)
	}
	cw.Scopes = []string{"444455556666"}
	if got := runVolume(t, Config{ChangeWindows: []ChangeWindow{cw}}, ciBotARN, ciRoutine(3), spike); len(got.alerts) != 1 {
		t.Fatalf("change window of another account: want one alert, got:\n%s", alertTimes(got.alerts))
	}
}

// Too little history: a principal deploying for three days does not fire on
// a burst; with min_history 48h it does. Platform principals are exempt.
func TestVolumeNeedsHistory(t *testing.T) {
	routine := ciRoutine(1)[:60] // Monday to Wednesday
	spike := burst(volStart.Add(3*24*time.Hour+10*time.Hour), 50, 30*time.Minute)
	if got := runVolume(t, Config{}, ciBotARN, routine, spike); len(got.alerts) != 0 {
		t.Fatalf("3 days of history alerted:\n%s", alertTimes(got.alerts))
	}
	short := Config{Params: map[string]map[string]string{"R11": {"min_history": "48h"}}}
	if got := runVolume(t, short, ciBotARN, routine, spike); len(got.alerts) != 1 || got.alerts[0].Details["basis"] != "overall" {
		t.Fatalf("min_history 48h: want one alert on the overall baseline, got:\n%s", alertTimes(got.alerts))
	}
	short.Platform = []string{ciBotARN}
	if got := runVolume(t, short, ciBotARN, routine, spike); len(got.alerts) != 0 || got.stats.Suppressed["platform:R11"] == 0 {
		t.Fatalf("platform principal alerted:\n%s", alertTimes(got.alerts))
	}
}

func TestVolumeConfig(t *testing.T) {
	rs, err := RulesFromConfig(Config{Params: map[string]map[string]string{"R11": {"k": "2.5", "window": "30m", "min_count": "20"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if m := r.Meta(); m.ID == "R11" && (m.Params["k"] != "2.5" || m.Params["window"] != "30m0s" || m.Params["min_count"] != "20" || m.Params["horizon"] != "672h0m0s") {
			t.Errorf("R11 params %v", m.Params)
		}
	}
	t0 := time.Date(2026, 11, 14, 1, 0, 0, 0, time.UTC)
	for name, bad := range map[string]Config{
		"k 0":             {Params: map[string]map[string]string{"R11": {"k": "0"}}},
		"horizon 1h":      {Params: map[string]map[string]string{"R11": {"horizon": "1h"}}},
		"horizon 1y":      {Params: map[string]map[string]string{"R11": {"horizon": "8760h"}}},
		"window 2d":       {Params: map[string]map[string]string{"R11": {"window": "48h"}}},
		"no end":          {ChangeWindows: []ChangeWindow{{Start: t0, Reason: "x"}}},
		"end before":      {ChangeWindows: []ChangeWindow{{Start: t0, End: t0.Add(-time.Hour), Reason: "x"}}},
		"too long":        {ChangeWindows: []ChangeWindow{{Start: t0, End: t0.Add(8 * 24 * time.Hour), Reason: "x"}}},
		"no reason":       {ChangeWindows: []ChangeWindow{{Start: t0, End: t0.Add(time.Hour)}}},
		"empty scope":     {ChangeWindows: []ChangeWindow{{Start: t0, End: t0.Add(time.Hour), Scopes: []string{""}, Reason: "x"}}},
		"unknown R11 key": {Params: map[string]map[string]string{"R11": {"threshold": "3"}}},
	} {
		if _, err := RulesFromConfig(bad, nil); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	// The YAML form, quoted or not.
	var cfg Config
	doc := "change_windows:\n  - {start: 2026-11-14T01:30:00Z, end: \"2026-11-14T04:30:00Z\", scopes: [\"111122223333\"], reason: node rotation}\n"
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	want := ChangeWindow{Start: t0.Add(30 * time.Minute), End: t0.Add(210 * time.Minute), Scopes: []string{acct}, Reason: "node rotation"}
	if len(cfg.ChangeWindows) != 1 || !cfg.ChangeWindows[0].Start.Equal(want.Start) || !cfg.ChangeWindows[0].End.Equal(want.End) || cfg.ChangeWindows[0].Reason != want.Reason {
		t.Fatalf("change_windows from YAML: %+v", cfg.ChangeWindows)
	}
	if _, err := RulesFromConfig(cfg, nil); err != nil {
		t.Fatal(err)
	}
}

// The per-(principal, scope) state stays bounded.
func TestVolumeStateBounded(t *testing.T) {
	r := NewVolumeSpike(VolumeParams{Window: time.Hour, Horizon: 28 * 24 * time.Hour, MinHistory: 7 * 24 * time.Hour, MinCount: 10, K: 4}).(*volumeRule)
	r.maxKeys = 100
	en := NewEngine(emptyGraph{graph.NewViewFromGraphs(volStart, nil)}, Config{}, []Rule{r})
	for i := 0; i < 1000; i++ {
		ev := deployEvent(fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i), acct, volStart.Add(time.Duration(i)*time.Minute), i)
		if _, err := en.Process(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if len(r.keys) > r.maxKeys {
			t.Fatalf("%d keys kept, bound %d", len(r.keys), r.maxKeys)
		}
	}
	if _, ok := r.keys["aws:arn:aws:iam::111122223333:user/u999\x00aws:"+acct]; !ok {
		t.Error("the most recent principal was evicted")
	}
}

func TestVolumeSlots(t *testing.T) {
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{volStart, "Mon 00:00 UTC"},
		{volStart.Add(38 * time.Hour), "Tue 14:00 UTC"},
		{time.Date(1970, 1, 1, 5, 0, 0, 0, time.UTC), "Thu 05:00 UTC"},
		{time.Date(1969, 12, 28, 23, 0, 0, 0, time.UTC), "Sun 23:00 UTC"},
	} {
		if got := slotName(slotOf(unixHour(tt.t))); got != tt.want {
			t.Errorf("%s: slot %s, want %s", tt.t, got, tt.want)
		}
	}
	// countIn agrees with counting.
	for a := int64(-200); a < 200; a += 37 {
		for b := a; b < a+400; b += 53 {
			for s := 0; s < volumeSlots; s += 17 {
				n := int64(0)
				for h := a; h < b; h++ {
					if slotOf(h) == s {
						n++
					}
				}
				if got := countIn(a, b, s); got != n {
					t.Fatalf("countIn(%d, %d, %d) = %d, want %d", a, b, s, got, n)
				}
			}
		}
	}
}
