package ingest

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"permgraph/collectors/awsiam"
	"permgraph/graph"
)

// idCollector wraps a collector and reports identities, optionally failing
// after collecting.
type idCollector struct {
	Collector
	ids  []string
	fail bool
}

func (c idCollector) CallerIdentities() []string { return c.ids }

func (c idCollector) Collect(ctx context.Context, sink graph.Sink) error {
	err := c.Collector.Collect(ctx, sink)
	if c.fail {
		return errors.New("throttled")
	}
	return err
}

func TestRunRecordsCollectionRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	open := func(ctx context.Context) (Store, error) { return graph.Open(ctx, dir, nil) }
	file := &awsiam.FileCollector{Path: "../testdata/sample-org/aws-111122223333.json"}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now().UTC()

	// Offline import: a window, no identities.
	ms, err := Run(t.Context(), file, open, Options{At: at})
	if err != nil || len(ms) != 1 {
		t.Fatalf("Run: %v %v", ms, err)
	}
	if c := ms[0].Collection; c == nil || len(c.Identities) != 0 || c.Start.Before(before.Add(-time.Second)) || c.End.Before(c.Start) {
		t.Errorf("offline run = %+v", c)
	}

	// Identities through Multi (union, deduplicated), complete and partial.
	m := Multi{idCollector{Collector: file, ids: []string{"arn:a", "arn:b"}}, idCollector{Collector: &awsiam.FileCollector{Path: "../testdata/sample-org/aws-444455556666.json"}, ids: []string{"arn:b", "arn:c"}}}
	ms, err = Run(t.Context(), m, open, Options{At: at.Add(time.Hour)})
	if err != nil || len(ms) != 2 {
		t.Fatalf("Run: %v %v", ms, err)
	}
	for _, mf := range ms {
		if mf.Collection == nil || !slices.Equal(mf.Collection.Identities, []string{"arn:a", "arn:b", "arn:c"}) {
			t.Errorf("%s: collection = %+v", mf.ID, mf.Collection)
		}
	}
	ms, err = Run(t.Context(), idCollector{Collector: file, ids: []string{"arn:a"}, fail: true}, open, Options{At: at.Add(2 * time.Hour)})
	if err == nil || len(ms) != 1 || ms[0].Status != graph.StatusPartial {
		t.Fatalf("failed Run: %v %v", ms, err)
	}
	if c := ms[0].Collection; c == nil || !slices.Equal(c.Identities, []string{"arn:a"}) || c.End.Before(c.Start) {
		t.Errorf("partial run = %+v", c)
	}
	// Stored as JSON: read back.
	st, err := graph.OpenReadOnly(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Snapshot(t.Context(), ms[0].ID)
	if err != nil || got.Collection == nil || !slices.Equal(got.Collection.Identities, []string{"arn:a"}) {
		t.Errorf("stored partial manifest = %+v, %v", got, err)
	}
}

func TestOrgFanOutForwardsIdentities(t *testing.T) {
	org := idCollector{Collector: Multi{}, ids: []string{"arn:mgmt"}}
	o := &OrgFanOut{Org: org}
	if err := o.Collect(t.Context(), graph.NewCollection()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(CallerIdentities(o), []string{"arn:mgmt"}) {
		t.Errorf("identities = %q", CallerIdentities(o))
	}
}
