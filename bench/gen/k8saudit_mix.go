package gen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The attack mix and the follow-up queue are shared by both event streams
// (WriteCloudTrail and WriteK8sAudit).

// AttackShare is one attack kind's share of a stream: Frac of the event slots
// start an attack of Kind (an attack is one record or a sequence of records
// by one principal, see CloudTrailAttackKinds and K8sAttackKinds).
type AttackShare struct {
	Kind string
	Frac float64
}

// AttackMix is the attack composition of a stream. A nil mix keeps the
// stream's AttackEvery behaviour.
type AttackMix []AttackShare

// ParseAttackMix reads "kind=frac,kind=frac" (e.g. "exec=0.002,scenario=0.001").
// "none" is an empty, non-nil mix: no attacks at all.
func ParseAttackMix(s string) (AttackMix, error) {
	s = strings.TrimSpace(s)
	if s == "none" {
		return AttackMix{}, nil
	}
	var m AttackMix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("attack mix %q: want kind=fraction", part)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("attack mix %q: %w", part, err)
		}
		m = append(m, AttackShare{Kind: strings.TrimSpace(k), Frac: f})
	}
	if m == nil {
		return nil, fmt.Errorf("attack mix %q: empty (use \"none\" for no attacks)", s)
	}
	return m, nil
}

// String renders the mix as ParseAttackMix reads it.
func (m AttackMix) String() string {
	if m != nil && len(m) == 0 {
		return "none"
	}
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = s.Kind + "=" + strconv.FormatFloat(s.Frac, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// chooser draws an attack kind (an index into kinds) per free event slot:
// from the mix when one is given, else one start every `every` slots,
// cycling through kinds (every < 0: never).
type chooser struct {
	kinds []string
	idx   []int     // kind index per mix entry
	cum   []float64 // cumulative fractions
	every int
	owed  int // AttackEvery starts whose slot a follow-up took
	n     int // starts so far (AttackEvery cycling)
}

func newChooser(kinds []string, m AttackMix, every int) (*chooser, error) {
	c := &chooser{kinds: kinds, every: every}
	if m == nil {
		return c, nil
	}
	c.every = -1
	total := 0.0
	for _, s := range m {
		i := slices.Index(kinds, s.Kind)
		if i < 0 {
			return nil, fmt.Errorf("attack mix: unknown kind %q (want one of %s)", s.Kind, strings.Join(kinds, ", "))
		}
		if s.Frac < 0 || s.Frac > 1 {
			return nil, fmt.Errorf("attack mix: %s=%g: want a fraction in [0, 1]", s.Kind, s.Frac)
		}
		total += s.Frac
		c.idx = append(c.idx, i)
		c.cum = append(c.cum, total)
	}
	if total > 1 {
		return nil, fmt.Errorf("attack mix: fractions add up to %g > 1", total)
	}
	return c, nil
}

// slot is called for every event slot i; free says whether no follow-up
// took it. It returns the attack kind to start there, or -1.
func (c *chooser) slot(r *rand.Rand, i int, free bool) int {
	if c.cum != nil {
		if !free {
			return -1
		}
		u := r.Float64()
		for j, x := range c.cum {
			if u < x {
				return c.idx[j]
			}
		}
		return -1
	}
	if c.every > 0 && i%c.every == 0 {
		c.owed++
	}
	if !free || c.owed == 0 {
		return -1
	}
	c.owed--
	k := c.n % len(c.kinds)
	c.n++
	return k
}

// followUps is a min-heap of records due at later event slots (the later
// steps of attack sequences and controller reactions), ordered by slot then
// by insertion, so the stream stays deterministic. Its size is bounded by
// the sequences in flight.
type followUps[T any] struct {
	items []pendingItem[T]
	seq   uint64
	step  time.Duration
}

type pendingItem[T any] struct {
	slot int
	seq  uint64
	v    T
}

func (q *followUps[T]) less(a, b int) bool {
	x, y := &q.items[a], &q.items[b]
	return x.slot < y.slot || (x.slot == y.slot && x.seq < y.seq)
}

// after schedules v at the first slot at least d after slot i.
func (q *followUps[T]) after(i int, d time.Duration, v T) {
	n := 1
	if q.step > 0 && d > q.step {
		n = int((d + q.step - 1) / q.step)
	}
	q.push(i+n, v)
}

func (q *followUps[T]) push(slot int, v T) {
	q.seq++
	q.items = append(q.items, pendingItem[T]{slot: slot, seq: q.seq, v: v})
	for j := len(q.items) - 1; j > 0; {
		p := (j - 1) / 2
		if !q.less(j, p) {
			break
		}
		q.items[j], q.items[p] = q.items[p], q.items[j]
		j = p
	}
}

// due pops the first item due at or before slot i.
func (q *followUps[T]) due(i int) (T, bool) {
	var zero T
	if len(q.items) == 0 || q.items[0].slot > i {
		return zero, false
	}
	v := q.items[0].v
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = pendingItem[T]{}
	q.items = q.items[:last]
	for j := 0; ; {
		l, m := 2*j+1, j
		if l < len(q.items) && q.less(l, m) {
			m = l
		}
		if l+1 < len(q.items) && q.less(l+1, m) {
			m = l + 1
		}
		if m == j {
			break
		}
		q.items[j], q.items[m] = q.items[m], q.items[j]
		j = m
	}
	return v, true
}

// eventStep is the spacing of event slots for rate events per second.
func eventStep(rate float64) time.Duration {
	return max(time.Duration(float64(time.Second)/rate), 1)
}

// jitter is a duration in [lo, hi).
func jitter(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}
