// Package ingest turns one collection run into stored snapshots: collect into
// memory, derive evaluated edges (CanAssume, Can), then write each source's
// snapshot. A failed collection is recorded as partial and never replaces the
// last good snapshot.
package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"permgraph/catalog"
	"permgraph/graph"
	awspolicy "permgraph/policy/aws"
)

// Collector is the shape every collector shares.
type Collector interface {
	Collect(ctx context.Context, sink graph.Sink) error
}

// Store is what ingest needs from the snapshot store.
type Store interface {
	WriteSnapshot(ctx context.Context, g *graph.SourceGraph, at time.Time) (graph.Manifest, error)
	RecordPartial(ctx context.Context, source string, at time.Time, reasons []string) (graph.Manifest, error)
}

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
// them (used by Run, the demo and tests).
func Collect(ctx context.Context, c Collector) ([]*graph.SourceGraph, error) {
	col := graph.NewCollection()
	if err := c.Collect(ctx, col); err != nil {
		return col.Sources(), err
	}
	deploy, err := catalog.LoadDeploy()
	if err != nil {
		return nil, err
	}
	for _, g := range col.Sources() {
		if err := Derive(g, deploy); err != nil {
			return col.Sources(), err
		}
	}
	return col.Sources(), nil
}

// Derive adds the evaluated edges for one source, by provider.
func Derive(g *graph.SourceGraph, deploy *catalog.Deploy) error {
	switch {
	case strings.HasPrefix(g.Source, "aws:"):
		return awspolicy.Derive(g, deploy.AWS)
	}
	return fmt.Errorf("derive: no evaluator for source %q", g.Source)
}

// Run collects, derives and stores. On failure nothing is written to the
// graph: each affected source gets a partial manifest with the reason.
func Run(ctx context.Context, c Collector, st Store, o Options) ([]graph.Manifest, error) {
	at := o.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sources, err := Collect(ctx, c)
	if err != nil {
		reason := err.Error()
		var recorded []graph.Manifest
		names := make([]string, 0, len(sources))
		for _, g := range sources {
			names = append(names, g.Source)
		}
		if len(names) == 0 && o.SourceHint != "" {
			names = append(names, o.SourceHint)
		}
		for _, s := range names {
			// A cancelled ctx must not stop us recording why the run failed.
			m, perr := st.RecordPartial(context.WithoutCancel(ctx), s, at, []string{reason})
			if perr != nil {
				log.Error("record partial snapshot", "source", s, "err", perr)
				continue
			}
			recorded = append(recorded, m)
		}
		return recorded, fmt.Errorf("collect: %w", err)
	}
	var out []graph.Manifest
	for _, g := range sources {
		m, err := st.WriteSnapshot(ctx, g, at)
		if err != nil {
			return out, fmt.Errorf("write snapshot of %s: %w", g.Source, err)
		}
		log.Info("snapshot written", "id", m.ID, "nodes", m.Nodes, "edges", m.Edges, "added", m.Added, "removed", m.Removed, "changed", m.Changed, "warnings", len(m.Warnings))
		out = append(out, m)
	}
	return out, nil
}
