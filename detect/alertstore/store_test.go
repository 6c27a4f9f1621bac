package alertstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/detect/rules"
)

func TestPutListDedupe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "alerts")
	ctx := context.Background()
	st, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	as := []rules.Alert{
		{Rule: "R04", Severity: rules.High, Time: t0.Add(2 * time.Hour), Key: "R04|a|1", Summary: "b"},
		{Rule: "R01", Severity: rules.Low, Time: t0.Add(time.Hour), Key: "R01|a|1", Summary: "a"},
	}
	n, err := st.Put(ctx, as)
	if err != nil || n != 2 {
		t.Fatalf("put: %d %v", n, err)
	}
	if n, err := st.Put(ctx, as[:1]); err != nil || n != 0 {
		t.Fatalf("re-put must dedupe: %d %v", n, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, a := range got {
		keys = append(keys, a.Key)
	}
	if diff := cmp.Diff([]string{"R01|a|1", "R04|a|1"}, keys); diff != "" {
		t.Errorf("time order (-want +got):\n%s", diff)
	}
	high, err := st.List(ctx, Filter{MinSeverity: rules.High, Since: t0.Add(30 * time.Minute)})
	if err != nil || len(high) != 1 || high[0].Rule != "R04" {
		t.Fatalf("filter: %+v %v", high, err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("alert store mode: %v %v", fi.Mode(), err)
	}
}

func TestBaselinePersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "alerts")
	ctx := context.Background()
	st, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := st.Baseline()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := b.Coverage(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if _, seen, _ := b.Seen(ctx, "disc|x"); seen {
		t.Fatal("empty baseline saw x")
	}
	if err := b.Record(ctx, "disc|x", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b = st.Baseline()
	last, seen, err := b.Seen(ctx, "disc|x")
	if err != nil || !seen || !last.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after reopen: %v %v %v", last, seen, err)
	}
	start, err := b.Coverage(ctx, t0.Add(48*time.Hour))
	if err != nil || !start.Equal(t0) {
		t.Fatalf("coverage start %v %v, want %v", start, err, t0)
	}
}
