package ingest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// Multi runs several collectors into one sink, in order (several GAAD
// exports plus an Organizations file, say). The first failure stops the run.
type Multi []Collector

func (m Multi) Collect(ctx context.Context, sink graph.Sink) error {
	for i, c := range m {
		if err := c.Collect(ctx, sink); err != nil {
			return fmt.Errorf("collector %d of %d: %w", i+1, len(m), err)
		}
	}
	return nil
}

// OrgFanOut collects an AWS organisation's structure, then every active
// member account through a per-account collector (live: assume a role in
// each account). Accounts limits the run to some account ids.
type OrgFanOut struct {
	Org      Collector
	Account  func(ctx context.Context, accountID string) (Collector, error)
	Accounts []string
}

func (o *OrgFanOut) Collect(ctx context.Context, sink graph.Sink) error {
	org := graph.NewCollection()
	if err := o.Org.Collect(ctx, org); err != nil {
		return fmt.Errorf("collect organisation: %w", err)
	}
	var accounts []string
	want := map[string]bool{}
	for _, a := range o.Accounts {
		want[a] = true
	}
	for _, g := range org.Sources() {
		for _, n := range g.SortedNodes() {
			if err := sink.AddNode(g.Source, n); err != nil {
				return err
			}
			if n.Kind == graph.NodeAccount && n.Attrs["account"] != "" {
				st := strings.ToUpper(n.Attrs["status"])
				if st != "" && st != "ACTIVE" {
					continue
				}
				if len(want) > 0 && !want[n.Attrs["account"]] {
					continue
				}
				accounts = append(accounts, n.Attrs["account"])
			}
		}
		for _, e := range g.SortedEdges() {
			if err := sink.AddEdge(g.Source, e); err != nil {
				return err
			}
		}
		for _, w := range g.Warnings {
			sink.Warn(g.Source, w)
		}
	}
	sort.Strings(accounts)
	for _, a := range accounts {
		c, err := o.Account(ctx, a)
		if err != nil {
			return fmt.Errorf("account %s: %w", a, err)
		}
		if err := c.Collect(ctx, sink); err != nil {
			return fmt.Errorf("account %s: %w", a, err)
		}
	}
	return nil
}
