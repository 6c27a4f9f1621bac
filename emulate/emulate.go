// Package emulate writes adversary-emulation scenarios for the bundled sample
// organisation as native audit logs (CloudTrail, Azure Activity, Graph
// activity and Entra audit, GCP audit, Workspace reports, Kubernetes audit),
// with benign look-alikes and background noise, plus an expectation file
// that Validate checks detection against (docs/emulation.md).
package emulate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"permgraph/detect/rules"
)

// ExpectFile is the expectation file in each scenario directory; LogsDir
// holds the logs, one file per (delivery batch, format), named so that
// lexical order is delivery order.
const (
	ExpectFile = "expect.json"
	LogsDir    = "logs"
)

// DefaultSeed is the seed used when none is given.
const DefaultSeed = 1

// deliveryBatch is the granularity of log delivery files.
const deliveryBatch = time.Hour

// Scenario is one emulated attack with its benign look-alikes.
type Scenario struct {
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Clouds      []string `json:"clouds"`
	Attack      []string `json:"attack"`
	// Source says where the scenario comes from: "DETECTIONS.md §5" or "own".
	Source string `json:"source"`
	// Days is the length of the emulated window (background noise
	// included) from 2026-11-02T07:00Z.
	Days  int `json:"days"`
	build func(b *builder)
	// thin selects the thin background (a few principals per kind) for
	// long windows.
	thin bool
}

// Step is a named group of records: an attack step or a benign look-alike.
type Step struct {
	ID          string `json:"id"`
	Actor       string `json:"actor"`
	Description string `json:"description"`
	// Benign steps must not alert.
	Benign  bool     `json:"benign"`
	Reason  string   `json:"reason,omitempty"`
	Records []RecRef `json:"records"`
}

// RecRef locates a written record: file relative to the scenario directory
// and 1-based line.
type RecRef struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// Expect is one alert a scenario expects: rule on actor, triggered by (one
// of the events of) one of Steps, and carrying Label when set (the rule's
// path that must fire, e.g. R06's first-seen-chain).
type Expect struct {
	Rule     string   `json:"rule"`
	Label    string   `json:"label,omitempty"`
	Actor    string   `json:"actor"`
	Steps    []string `json:"steps"`
	Required bool     `json:"required"`
	Reason   string   `json:"reason"`
}

// Expectation is the machine-readable expectation file of a scenario.
type Expectation struct {
	Scenario    string       `json:"scenario"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Attack      []string     `json:"attack"`
	Seed        uint64       `json:"seed"`
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	Config      rules.Config `json:"config"`
	Steps       []Step       `json:"steps"`
	Expect      []Expect     `json:"expect"`
	// Records counts the written records per format; NoisePrincipals the
	// distinct background principals.
	Records         map[string]int `json:"records"`
	NoisePrincipals int            `json:"noise_principals"`
}

// record is one log record before it is written.
type record struct {
	format string // file tag: cloudtrail, azure-activity, graph-activity, entra-audit, gcp-audit, workspace, k8s-audit, aks-audit
	t      time.Time
	delay  time.Duration // delivery delay; 0: drawn from the format's range
	body   map[string]any
	step   string
	seq    int
}

// delayRange gives the delivery delay range per format (DETECTIONS.md §6).
func delayRange() map[string][2]time.Duration {
	return map[string][2]time.Duration{
		"cloudtrail":     {5 * time.Minute, 15 * time.Minute},
		"azure-activity": {3 * time.Minute, 15 * time.Minute},
		"graph-activity": {5 * time.Minute, 30 * time.Minute},
		"entra-audit":    {5 * time.Minute, 45 * time.Minute},
		"gcp-audit":      {30 * time.Second, 3 * time.Minute},
		"workspace":      {30 * time.Minute, 6 * time.Hour},
		"k8s-audit":      {30 * time.Second, 5 * time.Minute},
		"aks-audit":      {1 * time.Minute, 10 * time.Minute},
	}
}

// builder collects a scenario's records, steps and expectations.
type builder struct {
	rng     *rand.Rand
	seed    uint64
	from    time.Time
	to      time.Time
	attack  time.Time // when the attack starts
	records []record
	steps   []*Step
	stepIdx map[string]*Step
	expect  []Expect
	config  rules.Config
	noiseN  int
	size    noiseSize
}

// defaultDays is the window of a scenario that does not set Days.
const defaultDays = 3

func newBuilder(seed uint64, sc Scenario) *builder {
	from := time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)
	days, size := sc.Days, fullNoise()
	if days <= 0 {
		days = defaultDays
	}
	if sc.thin {
		size = thinNoise()
	}
	return &builder{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), seed: seed, from: from, to: from.Add(time.Duration(days) * 24 * time.Hour),
		attack: time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC), stepIdx: map[string]*Step{}, size: size}
}

// step declares an attack step.
func (b *builder) step(id, actor, desc string) string {
	s := &Step{ID: id, Actor: actor, Description: desc}
	b.steps = append(b.steps, s)
	b.stepIdx[id] = s
	return id
}

// benign declares a benign look-alike step that must not alert.
func (b *builder) benign(id, actor, desc, reason string) string {
	b.step(id, actor, desc)
	b.stepIdx[id].Benign, b.stepIdx[id].Reason = true, reason
	return id
}

// want declares an expected alert.
func (b *builder) want(rule, actor string, required bool, reason string, steps ...string) {
	b.expect = append(b.expect, Expect{Rule: rule, Actor: actor, Steps: steps, Required: required, Reason: reason})
}

// wantLabel declares an expected alert that must carry label.
func (b *builder) wantLabel(rule, label, actor string, required bool, reason string, steps ...string) {
	b.expect = append(b.expect, Expect{Rule: rule, Label: label, Actor: actor, Steps: steps, Required: required, Reason: reason})
}

func (b *builder) add(format, step string, t time.Time, body map[string]any) *record {
	b.records = append(b.records, record{format: format, t: t, body: body, step: step, seq: len(b.records)})
	return &b.records[len(b.records)-1]
}

// addDelayed adds a record with a fixed delivery delay (scenarios that test
// late arrival).
func (b *builder) addDelayed(format, step string, t time.Time, delay time.Duration, body map[string]any) {
	r := b.add(format, step, t, body)
	r.delay = delay
}

func (b *builder) uuid() string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", b.rng.Uint32(), b.rng.Uint32()&0xffff, b.rng.Uint32()&0xfff, b.rng.Uint32()&0xfff, b.rng.Uint64()&0xffffffffffff)
}

func (b *builder) jitter(max time.Duration) time.Duration {
	return time.Duration(b.rng.Int64N(int64(max)))
}

// Scenarios returns every scenario, E1-E9 first.
func Scenarios() []Scenario {
	list := scenarioList()
	for i := range list {
		if list[i].Days <= 0 {
			list[i].Days = defaultDays
		}
	}
	return list
}

// Find returns the scenario with this name (case-insensitive).
func Find(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if equalFold(s.Name, name) {
			return s, true
		}
	}
	return Scenario{}, false
}

// Summary describes a written scenario.
type Summary struct {
	Scenario string         `json:"scenario"`
	Dir      string         `json:"dir"`
	Files    int            `json:"files"`
	Records  map[string]int `json:"records"`
	From     time.Time      `json:"from"`
	To       time.Time      `json:"to"`
}

// Write emulates sc into dir (created): logs/ and expect.json.
func Write(ctx context.Context, sc Scenario, dir string, seed uint64) (Summary, error) {
	b := newBuilder(seed, sc)
	sc.build(b)
	noise(b)
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	// Delivery time per record, then batches of (delivery window, format).
	type batchKey struct {
		at     time.Time
		format string
	}
	// Each format is one delivery stream: records keep their order within
	// it (delivery never goes back in time), while the streams lag each
	// other by their own delays. A record with a fixed delay (a late-arrival
	// test) is outside its stream.
	order := make([]*record, len(b.records))
	for i := range b.records {
		order[i] = &b.records[i]
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].t.Before(order[j].t) })
	last := map[string]time.Time{}
	batches := map[batchKey][]*record{}
	for _, r := range order {
		var at time.Time
		if r.delay != 0 {
			at = r.t.Add(r.delay)
		} else {
			rg := delayRange()[r.format]
			at = r.t.Add(rg[0] + time.Duration(b.rng.Int64N(int64(rg[1]-rg[0]))))
			if at.Before(last[r.format]) {
				at = last[r.format]
			}
			last[r.format] = at
		}
		k := batchKey{at.Truncate(deliveryBatch), r.format}
		batches[k] = append(batches[k], r)
	}
	keys := make([]batchKey, 0, len(batches))
	for k := range batches {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].at.Equal(keys[j].at) {
			return keys[i].at.Before(keys[j].at)
		}
		return keys[i].format < keys[j].format
	})
	logs := filepath.Join(dir, LogsDir)
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return Summary{}, fmt.Errorf("emulate %s: %w", sc.Name, err)
	}
	sum := Summary{Scenario: sc.Name, Dir: dir, Records: map[string]int{}, From: b.from, To: b.to}
	for _, k := range keys {
		list := batches[k]
		sort.SliceStable(list, func(i, j int) bool {
			if !list[i].t.Equal(list[j].t) {
				return list[i].t.Before(list[j].t)
			}
			return list[i].seq < list[j].seq
		})
		name := k.at.Format("20060102T1504Z") + "-" + k.format + ".jsonl"
		rel := filepath.ToSlash(filepath.Join(LogsDir, name))
		if err := writeBatch(filepath.Join(logs, name), list, func(r *record, line int) {
			sum.Records[r.format]++
			if r.step != "" {
				s := b.stepIdx[r.step]
				s.Records = append(s.Records, RecRef{File: rel, Line: line})
			}
		}); err != nil {
			return Summary{}, fmt.Errorf("emulate %s: %w", sc.Name, err)
		}
		sum.Files++
	}
	exp := Expectation{Scenario: sc.Name, Title: sc.Title, Description: sc.Description, Attack: sc.Attack, Seed: seed,
		From: b.from, To: b.to, Config: b.config, Expect: b.expect, Records: sum.Records, NoisePrincipals: b.noiseN}
	for _, s := range b.steps {
		if s.Records == nil {
			s.Records = []RecRef{}
		}
		exp.Steps = append(exp.Steps, *s)
	}
	data, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		return Summary{}, fmt.Errorf("emulate %s: encode expectations: %w", sc.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ExpectFile), append(data, '\n'), 0o644); err != nil {
		return Summary{}, fmt.Errorf("emulate %s: %w", sc.Name, err)
	}
	return sum, nil
}

func writeBatch(path string, list []*record, each func(*record, int)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, r := range list {
		if err := enc.Encode(r.body); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		each(r, i+1)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// WriteAll writes every scenario into its own subdirectory of dir.
func WriteAll(ctx context.Context, dir string, seed uint64) ([]Summary, error) {
	var out []Summary
	for _, sc := range Scenarios() {
		s, err := Write(ctx, sc, filepath.Join(dir, sc.Name), seed)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ReadExpectation reads a scenario directory's expectation file.
func ReadExpectation(dir string) (Expectation, error) {
	var e Expectation
	data, err := os.ReadFile(filepath.Join(dir, ExpectFile))
	if err != nil {
		return e, fmt.Errorf("read expectations: %w", err)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("read expectations %s: %w", dir, err)
	}
	return e, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
