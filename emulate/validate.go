package emulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/detect/read"
	"permgraph/detect/rules"
	"permgraph/graph"
	"permgraph/ingest"
)

// Outcome of one expectation.
const (
	StatusDetected = "detected"
	StatusMissed   = "MISSED"
	StatusOptional = "optional, not fired"
)

// ExpectResult is one expectation with what fired.
type ExpectResult struct {
	Expect
	Fired  int    `json:"fired"`
	Status string `json:"status"`
}

// FalsePositive is an alert no expectation explains.
type FalsePositive struct {
	Rule    string `json:"rule"`
	Actor   string `json:"actor"`
	Summary string `json:"summary"`
	// Kind: "benign" (on a benign look-alike step), "noise" (on background
	// activity) or "unexpected" (on an attack step, by a rule not expected
	// there).
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// Count is the number of alerts with this rule, actor, kind and reason
	// (Summary is the first one's).
	Count int `json:"count"`
}

// ScenarioResult is the validation of one scenario.
type ScenarioResult struct {
	Scenario       string          `json:"scenario"`
	Title          string          `json:"title"`
	Events         int             `json:"events"`
	Alerts         int             `json:"alerts"`
	Expectations   []ExpectResult  `json:"expectations"`
	FalsePositives []FalsePositive `json:"false_positives"`
	Pass           bool            `json:"pass"`
}

// RuleResult aggregates per rule over all scenarios.
type RuleResult struct {
	Rule      string  `json:"rule"`
	Required  int     `json:"required"`
	Detected  int     `json:"detected"`
	Recall    float64 `json:"recall"`
	Fired     int     `json:"fired"`
	TruePos   int     `json:"true_positives"`
	Precision float64 `json:"precision"`
	BenignFP  int     `json:"benign_false_positives"`
}

// Report is the validation of a set of scenarios.
type Report struct {
	Scenarios []ScenarioResult `json:"scenarios"`
	Rules     []RuleResult     `json:"rules"`
	Pass      bool             `json:"pass"`
}

// ScenarioDirs returns dir itself when it holds an expectation file, else
// its subdirectories that do, in name order.
func ScenarioDirs(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, ExpectFile)); err == nil {
		return []string{dir}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), ExpectFile)); err == nil {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("validate: no %s in %s or its subdirectories: run `permgraph emulate` first", ExpectFile, dir)
	}
	return out, nil
}

// Validate runs detection over each scenario directory (own engine, own
// in-memory baseline) against g, with base merged with each scenario's
// config, and compares the alerts with the expectations.
func Validate(ctx context.Context, dirs []string, g rules.Graph, base rules.Config) (*Report, error) {
	rep := &Report{Pass: true}
	perRule := map[string]*RuleResult{}
	ruleOf := func(id string) *RuleResult {
		r := perRule[id]
		if r == nil {
			r = &RuleResult{Rule: id}
			perRule[id] = r
		}
		return r
	}
	for _, d := range dirs {
		exp, err := ReadExpectation(d)
		if err != nil {
			return nil, err
		}
		cfg := mergeConfig(base, exp.Config)
		rs, err := rules.RulesFromConfig(cfg, nil)
		if err != nil {
			return nil, fmt.Errorf("validate %s: %w", exp.Scenario, err)
		}
		for _, r := range rs {
			ruleOf(r.Meta().ID)
		}
		alerts, events, err := detect(ctx, d, g, cfg, rs)
		if err != nil {
			return nil, fmt.Errorf("validate %s: %w", exp.Scenario, err)
		}
		sr := judge(d, exp, alerts)
		sr.Events = events
		for _, er := range sr.Expectations {
			rr := ruleOf(er.Rule)
			if er.Required {
				rr.Required++
				if er.Fired > 0 {
					rr.Detected++
				}
			}
		}
		for _, a := range alerts {
			ruleOf(a.Rule).Fired++
		}
		for _, fp := range sr.FalsePositives {
			if fp.Kind != "unexpected" {
				ruleOf(fp.Rule).BenignFP += fp.Count
			}
		}
		tpByRule := map[string]int{}
		for _, fp := range sr.FalsePositives {
			tpByRule[fp.Rule] -= fp.Count
		}
		for _, a := range alerts {
			tpByRule[a.Rule]++
		}
		for id, n := range tpByRule {
			ruleOf(id).TruePos += n
		}
		if !sr.Pass {
			rep.Pass = false
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	for _, r := range perRule {
		r.Recall, r.Precision = ratio(r.Detected, r.Required), ratio(r.TruePos, r.Fired)
		rep.Rules = append(rep.Rules, *r)
	}
	sort.Slice(rep.Rules, func(i, j int) bool { return rep.Rules[i].Rule < rep.Rules[j].Rule })
	return rep, nil
}

// ratio is n/d, 1 when d is 0 (nothing to miss, nothing fired).
func ratio(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

func mergeConfig(a, b rules.Config) rules.Config {
	out := a
	out.Allow = append(append([]rules.AllowEntry{}, a.Allow...), b.Allow...)
	out.Platform = append(append([]string{}, a.Platform...), b.Platform...)
	out.Collectors = append(append([]string{}, a.Collectors...), b.Collectors...)
	out.ApprovedDeployers = append(append([]string{}, a.ApprovedDeployers...), b.ApprovedDeployers...)
	out.Disabled = append(append([]string{}, a.Disabled...), b.Disabled...)
	out.ChangeWindows = append(append([]rules.ChangeWindow{}, a.ChangeWindows...), b.ChangeWindows...)
	if len(b.Params) > 0 {
		out.Params = map[string]map[string]string{}
		for k, v := range a.Params {
			out.Params[k] = v
		}
		for k, v := range b.Params {
			out.Params[k] = v
		}
	}
	return out
}

func detect(ctx context.Context, dir string, g rules.Graph, cfg rules.Config, rs []rules.Rule) ([]rules.Alert, int, error) {
	en := rules.NewEngine(g, cfg, rs)
	r, err := read.Open(ctx, filepath.Join(dir, LogsDir), "auto")
	if err != nil {
		return nil, 0, fmt.Errorf("open logs: %w", err)
	}
	defer r.Close()
	var out []rules.Alert
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read logs: %w", err)
		}
		as, err := en.Process(ctx, ev)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, as...)
	}
	st := r.Stats()
	if st.Unknown > 0 || st.Malformed > 0 {
		return nil, 0, fmt.Errorf("logs: %d unknown and %d malformed records (first: %+v)", st.Unknown, st.Malformed, st.Problems)
	}
	return out, st.Events, nil
}

type lineKey struct {
	file string
	line int
}

// judge matches alerts with the expectations of one scenario.
func judge(dir string, exp Expectation, alerts []rules.Alert) ScenarioResult {
	sr := ScenarioResult{Scenario: exp.Scenario, Title: exp.Title, Alerts: len(alerts), Pass: true, FalsePositives: []FalsePositive{}}
	stepOf := map[lineKey]*Step{}
	for i := range exp.Steps {
		s := &exp.Steps[i]
		for _, r := range s.Records {
			stepOf[lineKey{r.File, r.Line}] = s
		}
	}
	stepsOf := func(a rules.Alert) (attack, benign []*Step, noise bool) {
		seen := map[string]bool{}
		for _, e := range a.Events {
			rel, err := filepath.Rel(dir, e.Ref.File)
			if err != nil {
				rel = e.Ref.File
			}
			s := stepOf[lineKey{filepath.ToSlash(rel), int(e.Ref.Line)}]
			switch {
			case s == nil:
				noise = true
			case seen[s.ID]:
			case s.Benign:
				seen[s.ID] = true
				benign = append(benign, s)
			default:
				seen[s.ID] = true
				attack = append(attack, s)
			}
		}
		return
	}
	matched := make([]int, len(exp.Expect))
	for _, a := range alerts {
		attack, benign, noise := stepsOf(a)
		hit := false
		for i, x := range exp.Expect {
			if x.Rule != a.Rule || !actorMatches(x.Actor, a.Actor) || (x.Label != "" && !contains(a.Labels, x.Label)) {
				continue
			}
			for _, s := range attack {
				if contains(x.Steps, s.ID) {
					hit = true
				}
			}
			if hit {
				matched[i]++
				break
			}
		}
		if hit {
			continue
		}
		fp := FalsePositive{Rule: a.Rule, Actor: a.Actor.Name, Summary: a.Summary}
		switch {
		case len(benign) > 0:
			fp.Kind, fp.Reason = "benign", fmt.Sprintf("alerted on benign look-alike %s (%s)", benign[0].ID, benign[0].Reason)
			sr.Pass = false
		case len(attack) == 0 && noise:
			fp.Kind, fp.Reason = "noise", "alerted on background activity"
			sr.Pass = false
		default:
			var ids []string
			for _, s := range attack {
				ids = append(ids, s.ID)
			}
			fp.Kind, fp.Reason = "unexpected", "not expected on attack step(s) "+strings.Join(ids, ", ")
		}
		dup := false
		for i := range sr.FalsePositives {
			f := &sr.FalsePositives[i]
			if f.Rule == fp.Rule && f.Actor == fp.Actor && f.Kind == fp.Kind && f.Reason == fp.Reason {
				f.Count++
				dup = true
				break
			}
		}
		if !dup {
			fp.Count = 1
			sr.FalsePositives = append(sr.FalsePositives, fp)
		}
	}
	for i, x := range exp.Expect {
		er := ExpectResult{Expect: x, Fired: matched[i]}
		switch {
		case matched[i] > 0:
			er.Status = StatusDetected
		case x.Required:
			er.Status = StatusMissed
			sr.Pass = false
		default:
			er.Status = StatusOptional
		}
		sr.Expectations = append(sr.Expectations, er)
	}
	return sr
}

func actorMatches(want string, a rules.Actor) bool {
	for _, s := range []string{a.ID, a.Name, a.Source} {
		if strings.EqualFold(want, s) {
			return true
		}
	}
	// A node id or ARN ending in /NAME matches NAME.
	for _, s := range []string{a.ID, a.Source} {
		if strings.HasSuffix(strings.ToLower(s), "/"+strings.ToLower(want)) || strings.HasSuffix(strings.ToLower(s), ":"+strings.ToLower(want)) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SampleTimes are the two snapshot times of the sample organisation (the
// same as `permgraph demo`): emulations start after the second.
func SampleTimes() [2]string { return [2]string{"2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z"} }

// BuildSampleStore snapshots the sample organisation (AWS both days, the
// Azure and Google directories of each day) into the store at db, as
// `permgraph demo` does.
func BuildSampleStore(ctx context.Context, sample, db string, logger *slog.Logger) error {
	open := func(ctx context.Context) (ingest.Store, error) {
		st, err := graph.Open(ctx, db, logger)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", db, err)
		}
		return st, nil
	}
	gaads, err := filepath.Glob(filepath.Join(sample, "aws-[0-9]*.json"))
	if err != nil || len(gaads) == 0 {
		return fmt.Errorf("sample organisation not found in %s: run from the repository root or pass --sample", sample)
	}
	for day := 1; day <= 2; day++ {
		at, _ := time.Parse(time.RFC3339, SampleTimes()[day-1])
		srcs := []config.Source{{Name: "aws", Type: "aws", From: gaads, OrgFrom: filepath.Join(sample, "aws-org.json")}}
		for _, c := range []string{"azure", "google"} {
			d := filepath.Join(sample, c, fmt.Sprintf("day%d", day))
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				srcs = append(srcs, config.Source{Name: c, Type: c, From: []string{d}})
			}
		}
		for _, s := range srcs {
			b, err := all.Build(ctx, s, logger)
			if err != nil {
				return fmt.Errorf("sample store: %w", err)
			}
			if _, err := ingest.Run(ctx, b.Collector, open, ingest.Options{At: at, SourceHint: b.Hint, Logger: logger}); err != nil {
				return fmt.Errorf("sample store: %s: %w", s.Type, err)
			}
		}
	}
	return nil
}
