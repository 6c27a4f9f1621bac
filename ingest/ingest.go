// Package ingest turns one collection run into stored snapshots: collect into
// memory, derive evaluated edges (CanAssume, Can), then write each source's
// snapshot. A failed collection is recorded as partial and never replaces the
// last good snapshot.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"permgraph/catalog"
	"permgraph/graph"
	awspolicy "permgraph/policy/aws"
	azurepolicy "permgraph/policy/azure"
	gcppolicy "permgraph/policy/gcp"
)

// Collector is the shape every collector shares.
type Collector interface {
	Collect(ctx context.Context, sink graph.Sink) error
}

// CallerIdentities returns the principal identities c called the cloud APIs
// as in its last Collect (ARNs, object ids, emails as audit logs show them),
// when c reports them through an optional CallerIdentities() []string
// method; nil otherwise (offline imports).
func CallerIdentities(c Collector) []string {
	if r, ok := c.(interface{ CallerIdentities() []string }); ok {
		return r.CallerIdentities()
	}
	return nil
}

// UnionIdentities merges identity lists, dropping empties and repeats and
// keeping first-seen order.
func UnionIdentities(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, id := range l {
			if id != "" && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// Store is what ingest needs from the snapshot store.
type Store interface {
	WriteSnapshots(ctx context.Context, gs []*graph.SourceGraph, at time.Time) ([]graph.Manifest, error)
	RecordPartial(ctx context.Context, source string, at time.Time, reasons []string) (graph.Manifest, error)
	Close() error
}

// Opener opens the store read-write. Run opens it twice, briefly: to read
// context snapshots and to write; it never holds the store's lock while
// collecting, so queries keep working during a long collection.
type Opener func(ctx context.Context) (Store, error)

// Options tune a run.
type Options struct {
	// At is the snapshot time; zero means now.
	At time.Time
	// SourceHint names the source to record a failure under when the
	// collector failed before it learned which source it was reading.
	SourceHint string
	Logger     *slog.Logger
}

// Collect runs c and returns its evaluated source graphs without storing
// them (used by Run, the demo and tests). extra adds graphs that the
// derivation may consult but that are not re-written (the latest stored
// Organizations data and other accounts).
func Collect(ctx context.Context, c Collector, extra ...*graph.SourceGraph) ([]*graph.SourceGraph, error) {
	col := graph.NewCollection()
	if err := c.Collect(ctx, col); err != nil {
		return col.Sources(), err
	}
	sources := col.Sources()
	if err := DeriveAll(ctx, sources, extra); err != nil {
		return sources, err
	}
	return sources, nil
}

// DeriveAll derives every collected source. Each sees the other sources of
// the run and the extra graphs (a source collected now replaces its stored
// version in the context).
func DeriveAll(ctx context.Context, sources, extra []*graph.SourceGraph) error {
	deploy, err := catalog.LoadDeploy()
	if err != nil {
		return err
	}
	fresh := map[string]bool{}
	for _, g := range sources {
		fresh[g.Source] = true
	}
	var others []*graph.SourceGraph
	for _, g := range extra {
		if !fresh[g.Source] {
			others = append(others, g)
		}
	}
	for _, g := range sources {
		var ctxGraphs []*graph.SourceGraph
		for _, o := range append(append([]*graph.SourceGraph{}, sources...), others...) {
			if o != g {
				ctxGraphs = append(ctxGraphs, o)
			}
		}
		if err := Derive(ctx, g, deploy, ctxGraphs...); err != nil {
			return err
		}
	}
	return nil
}

// Derive adds the evaluated edges for one source, by provider. Each
// evaluator sees only the context graphs it understands: AWS accounts see
// the organisation and other accounts; Google sees Azure (for SameIdentity
// links by verified email).
func Derive(ctx context.Context, g *graph.SourceGraph, deploy *catalog.Deploy, others ...*graph.SourceGraph) error {
	switch {
	case strings.HasPrefix(g.Source, "aws:"):
		return awspolicy.Derive(ctx, g, deploy.AWS, withPrefix(others, "aws:", "aws-org:")...)
	case strings.HasPrefix(g.Source, "aws-org:"):
		return nil // structure and SCPs only; applied when accounts are derived
	case strings.HasPrefix(g.Source, "azure:"):
		return azurepolicy.Derive(ctx, g, deploy.Azure, withPrefix(others, "azure:")...)
	case strings.HasPrefix(g.Source, "google:"):
		return gcppolicy.Derive(ctx, g, deploy.GCP, withPrefix(others, "google:", "azure:")...)
	}
	return fmt.Errorf("derive: no evaluator for source %q", g.Source)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func withPrefix(gs []*graph.SourceGraph, prefixes ...string) []*graph.SourceGraph {
	var out []*graph.SourceGraph
	for _, g := range gs {
		if hasAnyPrefix(g.Source, prefixes) {
			out = append(out, g)
		}
	}
	return out
}

// deriveWithContext opens the store briefly to read the context snapshots
// the collected sources need, then derives them.
func deriveWithContext(ctx context.Context, log *slog.Logger, open Opener, sources []*graph.SourceGraph, at time.Time) error {
	t0 := time.Now()
	st, err := open(ctx)
	if err != nil {
		return err
	}
	stored, err := contextFrom(ctx, st, at, sources)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	if err != nil {
		return err
	}
	log.Debug("context snapshots loaded", "snapshots", len(stored), "duration", time.Since(t0).Round(time.Millisecond))
	return DeriveAll(ctx, sources, stored)
}

// contextPrefixes says which stored sources the derivation of a source of
// each provider reads.
func contextPrefixes(source string) []string {
	switch {
	case strings.HasPrefix(source, "aws:"), strings.HasPrefix(source, "aws-org:"):
		return []string{"aws:", "aws-org:"} // cross-account trust, SCPs
	case strings.HasPrefix(source, "google:"):
		return []string{"azure:"} // SameIdentity by verified email
	}
	return nil
}

// contextFrom loads the latest complete snapshots (at or before at) that
// the derivation of sources reads, skipping the sources being written.
func contextFrom(ctx context.Context, st Store, at time.Time, sources []*graph.SourceGraph) ([]*graph.SourceGraph, error) {
	r, ok := st.(contextReader)
	if !ok {
		return nil, nil
	}
	ms, err := r.LatestAt(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("load context snapshots: %w", err)
	}
	fresh := map[string]bool{}
	var prefixes []string
	for _, g := range sources {
		fresh[g.Source] = true
		prefixes = append(prefixes, contextPrefixes(g.Source)...)
	}
	var out []*graph.SourceGraph
	for _, m := range ms {
		if fresh[m.Source] || !hasAnyPrefix(m.Source, prefixes) {
			continue
		}
		g, err := r.ReadSnapshot(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("load context snapshot %s: %w", m.ID, err)
		}
		out = append(out, g)
	}
	return out, nil
}

// partialRunRecorder is the optional side of a Store that also records the
// collection run with a partial manifest (graph.Store does).
type partialRunRecorder interface {
	RecordPartialRun(ctx context.Context, source string, at time.Time, reasons []string, run *graph.CollectionRun) (graph.Manifest, error)
}

// releasingWriter is the optional side of a Store that drops each graph's
// maps once encoded (graph.Store.WriteSnapshotsAndRelease).
type releasingWriter interface {
	WriteSnapshotsAndRelease(ctx context.Context, gs []*graph.SourceGraph, at time.Time) ([]graph.Manifest, error)
}

// contextReader is the optional read side of a Store.
type contextReader interface {
	LatestAt(ctx context.Context, at time.Time) ([]graph.Manifest, error)
	ReadSnapshot(ctx context.Context, m graph.Manifest) (*graph.SourceGraph, error)
}

// Run collects, derives and stores. On failure nothing is written to the
// graph: each affected source gets a partial manifest with the reason.
func Run(ctx context.Context, c Collector, open Opener, o Options) ([]graph.Manifest, error) {
	at := o.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Collect without the store: a long collection never holds its lock.
	// The run's identities and window are stored with every manifest it
	// produces, so detect can recognise its own discovery calls.
	col := graph.NewCollection()
	run := &graph.CollectionRun{Start: time.Now().UTC()}
	collectErr := c.Collect(ctx, col)
	run.End = time.Now().UTC()
	run.Identities = CallerIdentities(c)
	sources := col.Sources()
	for _, g := range sources {
		g.Collection = run
	}
	if len(run.Identities) > 0 {
		log.Debug("collection identities", "identities", run.Identities)
	}
	log.Debug("collected", "sources", len(sources), "duration", run.End.Sub(run.Start).Round(time.Millisecond), "err", collectErr)
	if collectErr == nil {
		t0 := time.Now()
		collectErr = deriveWithContext(ctx, log, open, sources, at)
		log.Debug("derived", "duration", time.Since(t0).Round(time.Millisecond), "err", collectErr)
	}
	// A cancelled ctx must not stop us recording why the run failed.
	wctx := ctx
	if collectErr != nil {
		wctx = context.WithoutCancel(ctx)
	}
	st, err := open(wctx)
	if err != nil {
		return nil, errors.Join(collectErr, err)
	}
	defer st.Close()
	if collectErr != nil {
		reason := collectErr.Error()
		var recorded []graph.Manifest
		names := make([]string, 0, len(sources))
		for _, g := range sources {
			names = append(names, g.Source)
		}
		if len(names) == 0 && o.SourceHint != "" {
			names = append(names, o.SourceHint)
		}
		for _, s := range names {
			var m graph.Manifest
			var perr error
			if pr, ok := st.(partialRunRecorder); ok {
				m, perr = pr.RecordPartialRun(wctx, s, at, []string{reason}, run)
			} else {
				m, perr = st.RecordPartial(wctx, s, at, []string{reason})
			}
			if perr != nil {
				log.Error("record partial snapshot", "source", s, "err", perr)
				continue
			}
			recorded = append(recorded, m)
		}
		return recorded, fmt.Errorf("collect: %w", collectErr)
	}
	t0 := time.Now()
	write := st.WriteSnapshots
	if rw, ok := st.(releasingWriter); ok {
		write = rw.WriteSnapshotsAndRelease // nothing below reads the graphs
	}
	out, err := write(ctx, sources, at)
	if err != nil {
		return out, fmt.Errorf("write snapshots: %w", err)
	}
	log.Debug("written", "duration", time.Since(t0).Round(time.Millisecond))
	for _, m := range out {
		log.Info("snapshot written", "id", m.ID, "nodes", m.Nodes, "edges", m.Edges, "added", m.Added, "removed", m.Removed, "changed", m.Changed, "warnings", len(m.Warnings))
	}
	return out, nil
}
