package graph

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPruneKeepsRetainedSnapshotsExact(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	var gs []*SourceGraph
	var ms []Manifest
	g := genGraph("aws:111122223333", 600, 1)
	for i := range 6 {
		if i > 0 {
			g = mutate(g, 0.05, uint64(i))
		}
		gs = append(gs, g)
		ms = append(ms, write(t, s, g, day(i)))
	}
	other := genGraph("aws:444455556666", 50, 9)
	mo := write(t, s, other, day(0)) // a single snapshot: never pruned
	if _, err := s.RecordPartial(t.Context(), "aws:111122223333", day(1).Add(time.Hour), []string{"throttled"}); err != nil {
		t.Fatal(err)
	}
	wantChanges, err := s.Changes(t.Context(), "aws:111122223333", ms[4].Seq, ms[5].Seq)
	if err != nil {
		t.Fatal(err)
	}

	dry, err := s.Prune(t.Context(), PruneOptions{Keep: 2, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Removed) != 5 { // 4 complete + 1 partial of the first source
		t.Fatalf("dry run would remove %v, want 5 snapshots", manifestIDs(dry.Removed))
	}
	if _, err := s.Snapshot(t.Context(), ms[0].ID); err != nil {
		t.Fatalf("dry run removed something: %v", err)
	}

	res, err := s.Prune(t.Context(), PruneOptions{Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 5 || res.ItemsDeleted == 0 || res.ItemsRewritten == 0 {
		t.Fatalf("prune result %+v", res)
	}
	for _, m := range ms[:4] {
		if _, err := s.Snapshot(t.Context(), m.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("snapshot %s still listed after prune: %v", m.ID, err)
		}
	}
	for i := 4; i < 6; i++ {
		got, err := s.ReadSnapshot(t.Context(), ms[i])
		if err != nil {
			t.Fatal(err)
		}
		checkGraphEquals(t, gs[i], got)
	}
	if got, err := s.ReadSnapshot(t.Context(), mo); err != nil || len(got.Nodes) != len(other.Nodes) {
		t.Fatalf("other source damaged by prune: %v", err)
	}
	gotChanges, err := s.Changes(t.Context(), "aws:111122223333", ms[4].Seq, ms[5].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantChanges.count(), gotChanges.count()); d != "" {
		t.Errorf("changes between retained snapshots differ after prune: %s", d)
	}
	// The next write still diffs against the latest snapshot.
	m7 := write(t, s, mutate(g, 0.01, 99), day(7))
	if m7.Added+m7.Removed+m7.Changed == 0 || m7.Added+m7.Removed+m7.Changed > len(g.Nodes)/2 {
		t.Errorf("write after prune counted %d/%d/%d changes", m7.Added, m7.Removed, m7.Changed)
	}
}

func TestPruneRules(t *testing.T) {
	mk := func(seq uint64, d int, status string) Manifest {
		return Manifest{Source: "s", Seq: seq, At: day(d), Status: status}
	}
	all := []Manifest{mk(1, 0, StatusComplete), mk(2, 1, StatusPartial), mk(3, 2, StatusComplete), mk(4, 10, StatusComplete)}
	for _, tc := range []struct {
		name string
		o    PruneOptions
		want map[string]uint64
	}{
		{"keep 2", PruneOptions{Keep: 2}, map[string]uint64{"s": 3}},
		{"keep 5: nothing", PruneOptions{Keep: 5}, map[string]uint64{}},
		{"older than 3 days", PruneOptions{OlderThan: 72 * time.Hour, Now: day(11)}, map[string]uint64{"s": 4}},
		{"latest always kept", PruneOptions{OlderThan: time.Hour, Now: day(100)}, map[string]uint64{"s": 4}},
		{"either rule keeps", PruneOptions{Keep: 1, OlderThan: 9 * 24 * time.Hour, Now: day(11)}, map[string]uint64{"s": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]uint64{}
			for src, m := range pruneCutoffs(all, tc.o) {
				got[src] = m.Seq
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Error(d)
			}
		})
	}
}
