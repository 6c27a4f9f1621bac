package gen_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
	"time"

	"permgraph/bench/gen"
	"permgraph/detect/event"
)

func cloudTrail(t testing.TB, o *gen.Org, c gen.CloudTrailConfig) (string, []byte) {
	return writeStream(t, func(w io.Writer) (int64, error) { return o.WriteCloudTrail(w, c) })
}

// TestCloudTrailUnchanged pins the AttackEvery stream to the bytes the
// generator wrote before attack mixes existed (sha256 of `ctfloor gen
// -principals 600 -events 3000 ...` from that version): the detection
// benchmark numbers in bench/results.md were measured on it.
func TestCloudTrailUnchanged(t *testing.T) {
	o := testOrg(t)
	for _, tc := range []struct {
		c    gen.CloudTrailConfig
		want string
	}{
		{gen.CloudTrailConfig{Events: 3000, Rate: 1000, AttackEvery: 20, Seed: 1}, "f86a76e10e19a735d7e3a06d922f8728d3e21590e42e8324389e855c2a04e173"},
		{gen.CloudTrailConfig{Events: 3000, Rate: 250, AttackEvery: 9, Seed: 7}, "351d7f9386e3d0f7d08c647010614198d8a1600ab2b56a32ebfc2c375bf0f434"},
	} {
		_, b := cloudTrail(t, o, tc.c)
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != tc.want {
			t.Errorf("%+v: sha256 %s, want %s", tc.c, got, tc.want)
		}
	}
}

// TestCloudTrailMix: a mixed stream reads cleanly, keeps the rate, and its
// attack kinds make the rules fire; a benign-only stream fires nothing.
func TestCloudTrailMix(t *testing.T) {
	o := testOrg(t)
	v := orgView(t, o)
	run := func(t *testing.T, mix string) ([]event.Event, map[string]int) {
		m, err := gen.ParseAttackMix(mix)
		if err != nil {
			t.Fatal(err)
		}
		path, _ := cloudTrail(t, o, gen.CloudTrailConfig{Events: 3000, Rate: 2, Mix: m, Seed: 4})
		evs := readEvents(t, path, "cloudtrail")
		if len(evs) != 3000 {
			t.Fatalf("%d events", len(evs))
		}
		for i, ev := range evs {
			// CloudTrail eventTime has whole seconds.
			if want := t0.Add(time.Duration(i) * 500 * time.Millisecond).Truncate(time.Second); !ev.Time.Equal(want) {
				t.Fatalf("event %d at %s, want %s", i, ev.Time, want)
			}
		}
		as, _ := detect(t, v, evs)
		got := byRule(as)
		t.Logf("mix %s: alerts %v", mix, got)
		return evs, got
	}
	t.Run("benign", func(t *testing.T) {
		if _, got := run(t, "none"); len(got) != 0 {
			t.Fatalf("benign stream fired %v", got)
		}
		_, b := cloudTrail(t, o, gen.CloudTrailConfig{Events: 500, AttackEvery: -1})
		_, c := cloudTrail(t, o, gen.CloudTrailConfig{Events: 500, Mix: gen.AttackMix{}})
		if string(b) != string(c) {
			t.Fatal("AttackEvery -1 and an empty mix differ")
		}
	})
	t.Run("discovery", func(t *testing.T) {
		if _, got := run(t, "discovery=0.01"); got["R01"] == 0 || got["R04"]+got["R10"] != 0 {
			t.Fatalf("discovery: %v", got)
		}
	})
	t.Run("scenario", func(t *testing.T) {
		evs, got := run(t, "scenario=0.004")
		deploys := 0
		for _, e := range evs {
			if e.Class == event.Deploy {
				deploys++
			}
		}
		if deploys == 0 || got["R10"] == 0 {
			t.Fatalf("%d deploys, alerts %v", deploys, got)
		}
		if _, got := run(t, "run-task=0.004,update-function-code=0.004"); got["R10"] != 0 {
			t.Fatalf("deploys without discovery fired R10: %v", got)
		}
	})
}
