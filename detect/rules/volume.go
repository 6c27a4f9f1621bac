package rules

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"permgraph/detect/event"
)

// ---- R11 ----

// VolumeParams tune R11.
type VolumeParams struct {
	// Window is the spike window: deploys by one principal in one scope
	// within it are compared with the baseline.
	Window time.Duration
	// Horizon is how much hourly history is kept per (principal, scope).
	Horizon time.Duration
	// MinHistory is how long the principal must have been deploying in the
	// scope (since its first deploy seen) before the rule may fire.
	MinHistory time.Duration
	// MinCount is the floor of the threshold: a window never alerts with
	// MinCount deploys or fewer.
	MinCount int
	// K is how many standard deviations above the mean a window must be.
	K float64
}

// ChangeWindow is a planned maintenance or release window (config
// change_windows): R11 does not fire on deploys inside it, in its scopes
// (all scopes when none are listed).
type ChangeWindow struct {
	Start  time.Time `yaml:"start" json:"start"`
	End    time.Time `yaml:"end" json:"end"`
	Scopes []string  `yaml:"scopes" json:"scopes,omitempty"`
	Reason string    `yaml:"reason" json:"reason"`
}

// maxChangeWindow bounds one change window: a longer one would silently
// disable R11 (use disabled: [R11] for that).
const maxChangeWindow = 7 * 24 * time.Hour

// covers reports whether the window holds an event at t in scope.
func (w ChangeWindow) covers(t time.Time, scope string) bool {
	if t.Before(w.Start) || !t.Before(w.End) {
		return false
	}
	if len(w.Scopes) == 0 {
		return true
	}
	for _, s := range w.Scopes {
		if strings.EqualFold(s, scope) {
			return true
		}
	}
	return false
}

// validateChangeWindows checks the config's change windows.
func validateChangeWindows(ws []ChangeWindow) error {
	for i, w := range ws {
		switch {
		case w.Start.IsZero() || w.End.IsZero():
			return fmt.Errorf("rules config: change_windows[%d]: start and end are required (RFC 3339 times)", i)
		case !w.End.After(w.Start):
			return fmt.Errorf("rules config: change_windows[%d]: end %s is not after start %s", i, w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
		case w.End.Sub(w.Start) > maxChangeWindow:
			return fmt.Errorf("rules config: change_windows[%d]: %s long, at most %s (disable R11 instead)", i, w.End.Sub(w.Start), maxChangeWindow)
		case strings.TrimSpace(w.Reason) == "":
			return fmt.Errorf("rules config: change_windows[%d]: a reason is required", i)
		}
		for j, s := range w.Scopes {
			if strings.TrimSpace(s) == "" {
				return fmt.Errorf("rules config: change_windows[%d]: scopes[%d] is empty", i, j)
			}
		}
	}
	return nil
}

// positive reads a positive real parameter (R11's k).
func (p *paramSet) positive(rule, key string, def float64) float64 {
	v, ok := p.raw(rule, key)
	if !ok {
		return def
	}
	var f float64
	if _, err := fmt.Sscanf(v, "%g", &f); err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		p.fail(rule, key, v, fmt.Errorf("want a positive number"))
		return def
	}
	return f
}

// volumeParams reads R11's parameters and checks they fit together.
func volumeParams(p *paramSet) VolumeParams {
	v := VolumeParams{Window: p.dur("R11", "window", time.Hour), Horizon: p.dur("R11", "horizon", 28*24*time.Hour),
		MinHistory: p.dur("R11", "min_history", 7*24*time.Hour), MinCount: p.int("R11", "min_count", 10), K: p.positive("R11", "k", 4)}
	switch {
	case v.Horizon > maxVolumeHorizon:
		p.fail("R11", "horizon", v.Horizon.String(), fmt.Errorf("at most %s (memory per principal and scope)", maxVolumeHorizon))
		v.Horizon = 28 * 24 * time.Hour
	case v.Horizon < 24*time.Hour:
		p.fail("R11", "horizon", v.Horizon.String(), fmt.Errorf("at least 24h"))
		v.Horizon = 28 * 24 * time.Hour
	}
	if v.Window > 24*time.Hour || v.Window < time.Minute {
		p.fail("R11", "window", v.Window.String(), fmt.Errorf("want 1m to 24h"))
		v.Window = time.Hour
	}
	return v
}

// Bounds of R11's state.
const (
	maxVolumeHorizon = 90 * 24 * time.Hour
	maxVolumeKeys    = 50000 // (principal, scope) pairs; the least recently active are dropped
	volumeEvidence   = 20    // deploy events an alert carries
	volumeSlots      = 7 * 24
	windowBuckets    = 60 // sub-buckets of the spike window
)

type volumeRule struct {
	p       VolumeParams
	meta    Meta
	hours   int64         // horizon in hours: the ring size
	sub     time.Duration // spike-window sub-bucket
	keys    map[string]*volKey
	maxKeys int
}

// volKey is the state of one (principal, scope): an hourly ring over the
// horizon with running sums overall and per weekday-hour slot (so the mean
// and standard deviation cost O(1)), and the spike window in sub-buckets.
type volKey struct {
	first   time.Time // first deploy seen
	firstH  int64     // its hour
	last    int64     // newest hour seen: ring holds hours (last-hours, last]
	ring    []uint16
	sum, sq uint64
	slotSum [volumeSlots]uint32
	slotSq  [volumeSlots]uint64

	now     time.Time // newest deploy time seen
	win     [windowBuckets]uint32
	lastSub int64 // newest sub-bucket: win holds (lastSub-windowBuckets, lastSub]
	winN    int   // deploys in win (outside change windows)
	refs    []EventRef
	alerted time.Time // last alert
	spiking bool      // the window is above its threshold since the last alert
}

// NewVolumeSpike is R11 deploy.volume_spike.
func NewVolumeSpike(p VolumeParams) Rule {
	r := &volumeRule{p: p, hours: int64(p.Horizon / time.Hour), sub: max(p.Window/windowBuckets, time.Nanosecond), keys: map[string]*volKey{}, maxKeys: maxVolumeKeys}
	r.meta = Meta{ID: "R11", Name: "deploy.volume_spike", Title: "Deployment volume spike above the principal's own baseline", Severity: Medium,
		Attack: []string{"T1610", "T1496"},
		Params: map[string]string{"window": p.Window.String(), "horizon": p.Horizon.String(), "min_history": p.MinHistory.String(),
			"min_count": fmt.Sprint(p.MinCount), "k": fmt.Sprint(p.K)},
		Response: response("List what was deployed in the window (the alert's events: images, task definitions, functions) and stop workloads that are not expected; short-lived tasks and scaled-out services are the resource-hijacking pattern.",
			"Ask the principal's owner about a release or maintenance; if planned, add a change window to the rules config.")}
	return r
}

func (r *volumeRule) Meta() Meta { return r.meta }

// idx is the ring position of hour h.
func (r *volumeRule) idx(h int64) int64 { return ((h % r.hours) + r.hours) % r.hours }

func unixHour(t time.Time) int64 { return floorDiv(t.Unix(), 3600) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// slotOf is the weekday-hour slot (UTC) of a unix hour, 0 = Monday 00:00;
// the unix epoch fell on a Thursday.
func slotOf(h int64) int { return int(((h+72)%volumeSlots + volumeSlots) % volumeSlots) }

func slotName(s int) string {
	days := [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	return fmt.Sprintf("%s %02d:00 UTC", days[s/24], s%24)
}

// countIn counts hours h in [a, b) with slotOf(h) == s.
func countIn(a, b int64, s int) int64 {
	if b <= a {
		return 0
	}
	// slotOf(h) == s  <=>  h ≡ s-72 (mod 168)
	r := int64(s) - 72
	return floorDiv(b-1-r, volumeSlots) - floorDiv(a-1-r, volumeSlots)
}

func (r *volumeRule) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	if e.Class != event.Deploy || e.Outcome != event.Success || e.Actor.Type == "AWSService" || controllerCreated(e) {
		return nil, nil
	}
	if contains(c.en.cfg.Platform, c.Key()) || contains(c.en.cfg.Platform, e.Actor.Raw) {
		c.en.stats.Suppressed["platform:R11"]++
		return nil, nil
	}
	if c.Approved("R11") {
		return nil, nil
	}
	id := c.Key() + "\x00" + e.Cloud + ":" + e.Scope
	k := r.keys[id]
	if k == nil {
		if len(r.keys) >= r.maxKeys {
			r.evict(unixHour(e.Time))
		}
		h := unixHour(e.Time)
		k = &volKey{first: e.Time, firstH: h, last: h, ring: make([]uint16, r.hours), now: e.Time, lastSub: floorDiv(e.Time.UnixNano(), int64(r.sub))}
		r.keys[id] = k
	}
	r.record(k, e.Time)
	var window *ChangeWindow
	for i, w := range c.en.cfg.ChangeWindows {
		if w.covers(e.Time, e.Scope) {
			window = &c.en.cfg.ChangeWindows[i]
			break
		}
	}
	if window != nil {
		// In the history (it happened), not in the spike window.
		c.en.stats.Suppressed["change-window:R11"]++
		return nil, nil
	}
	r.count(k, e)
	if k.winN <= r.p.MinCount || k.now.Sub(k.first) < r.p.MinHistory {
		k.spiking = false
		return nil, nil
	}
	b, ok := r.baseline(k)
	if !ok || float64(k.winN) <= b.threshold {
		k.spiking = false
		return nil, nil
	}
	// One alert per spike: the window must drop back to its threshold
	// before another, and never two within a window.
	if k.spiking || (!k.alerted.IsZero() && e.Time.Sub(k.alerted) < r.p.Window) {
		return nil, nil
	}
	k.spiking, k.alerted = true, e.Time
	m := r.Meta()
	key := m.ID + "|" + c.Key() + "|" + e.Cloud + ":" + e.Scope + "|" + bucket(e.Time, r.p.Window)
	if c.Seen(key) {
		return nil, nil
	}
	scope := e.Scope
	if scope == "" {
		scope = "(no scope)"
	}
	a := newAlert(m, m.Severity, c, e, fmt.Sprintf("%s deployed %d times within %s in %s %s, above its own baseline: %s (%s, %d h of history, %d samples) expects %.1f per %s with standard deviation %.1f; threshold %.1f",
		c.Actor().Name, k.winN, r.p.Window, e.Cloud, scope, b.slot, b.basis, b.hours, b.samples, b.mean, r.p.Window, b.stddev, b.threshold))
	a.Labels = []string{"baseline:" + b.basis, fmt.Sprintf("count:%d", k.winN), fmt.Sprintf("threshold:%.1f", b.threshold)}
	a.Details = map[string]any{"count": k.winN, "window": r.p.Window.String(), "scope": e.Cloud + ":" + e.Scope, "basis": b.basis, "slot": b.slot,
		"mean": round1(b.mean), "stddev": round1(b.stddev), "threshold": round1(b.threshold), "history_hours": b.hours, "samples": b.samples}
	var ev []EventRef
	for _, ref := range k.refs {
		if k.now.Sub(ref.Time) < r.p.Window {
			ev = append(ev, ref)
		}
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].Time.Before(ev[j].Time) })
	a.Events = ev
	a.Key = key
	return []Alert{a}, nil
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// record adds a deploy at t to the hourly history, advancing the ring.
func (r *volumeRule) record(k *volKey, t time.Time) {
	h := unixHour(t)
	if h > k.last {
		if h-k.last >= r.hours {
			clear(k.ring)
			k.sum, k.sq = 0, 0
			k.slotSum, k.slotSq = [volumeSlots]uint32{}, [volumeSlots]uint64{}
		} else {
			for x := k.last + 1; x <= h; x++ {
				i := r.idx(x)
				if c := uint64(k.ring[i]); c > 0 {
					s := slotOf(x - r.hours)
					k.sum -= c
					k.sq -= c * c
					k.slotSum[s] -= uint32(c)
					k.slotSq[s] -= c * c
					k.ring[i] = 0
				}
			}
		}
		k.last = h
	}
	if h <= k.last-r.hours {
		return // older than the horizon
	}
	if t.Before(k.first) {
		k.first, k.firstH = t, h
	}
	if t.After(k.now) {
		k.now = t
	}
	i := r.idx(h)
	c := uint64(k.ring[i])
	if c == math.MaxUint16 {
		return
	}
	k.ring[i]++
	s := slotOf(h)
	k.sum++
	k.sq += 2*c + 1
	k.slotSum[s]++
	k.slotSq[s] += 2*c + 1
}

// count adds a deploy to the spike window and the evidence.
func (r *volumeRule) count(k *volKey, e *event.Event) {
	s := floorDiv(e.Time.UnixNano(), int64(r.sub))
	if s > k.lastSub {
		if s-k.lastSub >= windowBuckets {
			k.win = [windowBuckets]uint32{}
			k.winN = 0
		} else {
			for x := k.lastSub + 1; x <= s; x++ {
				i := ((x % windowBuckets) + windowBuckets) % windowBuckets
				k.winN -= int(k.win[i])
				k.win[i] = 0
			}
		}
		k.lastSub = s
	}
	if s <= k.lastSub-windowBuckets {
		return // late, before the window
	}
	k.win[((s%windowBuckets)+windowBuckets)%windowBuckets]++
	k.winN++
	k.refs = append(k.refs, refOf(e))
	if len(k.refs) > volumeEvidence {
		k.refs = append(k.refs[:0], k.refs[len(k.refs)-volumeEvidence:]...)
	}
}

// volBaseline is what a window is compared with.
type volBaseline struct {
	basis        string // weekday-hour or overall
	slot         string
	hours        int64 // hours of history
	samples      int64 // hourly samples behind mean and stddev
	mean, stddev float64
	threshold    float64
}

// baseline computes the threshold for k's current window: the history is
// the hours before the window, from the first deploy (or the horizon);
// each hour the window overlaps is judged by its weekday-hour slot when the
// history has it at least twice, by the higher threshold of the slot and
// the overall distribution when once, else by the overall one; the window
// gets the highest of these (a boundary-straddling release is explained by
// either hour).
func (r *volumeRule) baseline(k *volKey) (volBaseline, bool) {
	end := unixHour(k.now.Add(-r.p.Window)) // first hour the window overlaps
	start := max(k.firstH, k.last-r.hours+1)
	n := end - start
	if n <= 0 {
		return volBaseline{}, false
	}
	// Take the hours from end on out of the running sums.
	sum, sq := k.sum, k.sq
	for h := max(end, k.last-r.hours+1); h <= k.last; h++ {
		c := uint64(k.ring[r.idx(h)])
		sum -= c
		sq -= c * c
	}
	f := float64(r.p.Window) / float64(time.Hour)
	judge := func(sum, sq uint64, n int64) (mean, sd, thr float64) {
		mean = float64(sum) / float64(n)
		v := float64(sq)/float64(n) - mean*mean
		// Counts are at least as variable as a Poisson process.
		sd = math.Max(math.Sqrt(math.Max(v, 0)), math.Sqrt(mean))
		return mean * f, sd * math.Sqrt(f), mean*f + r.p.K*sd*math.Sqrt(f)
	}
	om, osd, othr := judge(sum, sq, n)
	best := volBaseline{threshold: -1}
	for h := end; h <= unixHour(k.now); h++ {
		s := slotOf(h)
		ns := countIn(start, end, s)
		ssum, ssq := uint64(k.slotSum[s]), k.slotSq[s]
		for x := max(end, k.last-r.hours+1); x <= k.last; x++ {
			if slotOf(x) == s {
				c := uint64(k.ring[r.idx(x)])
				ssum -= c
				ssq -= c * c
			}
		}
		cand := volBaseline{basis: "overall", slot: slotName(s), hours: n, samples: n, mean: om, stddev: osd, threshold: othr}
		if ns > 0 {
			// One week cannot say a slot is quieter than usual, but it
			// can explain a busier one.
			if sm, ssd, sthr := judge(ssum, ssq, ns); ns >= 2 || sthr > othr {
				cand = volBaseline{basis: "weekday-hour", slot: slotName(s), hours: n, samples: ns, mean: sm, stddev: ssd, threshold: sthr}
			}
		}
		if cand.threshold >= best.threshold { // ties: the later hour, the alert's own
			best = cand
		}
	}
	best.threshold = math.Max(best.threshold, float64(r.p.MinCount))
	return best, true
}

// evict drops the state of (principal, scope) pairs idle beyond the
// horizon, then, if still at 90 % of the bound, the least recently active
// tenth: one O(n) sweep per maxKeys/10 new pairs, O(1) amortised.
func (r *volumeRule) evict(nowH int64) {
	for id, k := range r.keys {
		if nowH-k.last >= r.hours {
			delete(r.keys, id)
		}
	}
	target := r.maxKeys * 9 / 10
	if len(r.keys) <= target {
		return
	}
	// Find the cutoff hour by a histogram of idle time (in days, capped
	// at the horizon).
	days := int(r.hours/24) + 2
	hist := make([]int, days)
	idle := func(k *volKey) int { return int(min(max(nowH-k.last, 0)/24, int64(days-1))) }
	for _, k := range r.keys {
		hist[idle(k)]++
	}
	drop, cut := len(r.keys)-target, days
	for acc := 0; cut > 0 && acc < drop; {
		cut--
		acc += hist[cut]
	}
	for id, k := range r.keys {
		if idle(k) >= cut && len(r.keys) > target {
			delete(r.keys, id)
		}
	}
}
