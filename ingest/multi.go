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

// CallerIdentities is the union of the parts' identities.
func (m Multi) CallerIdentities() []string {
	var lists [][]string
	for _, c := range m {
		lists = append(lists, CallerIdentities(c))
	}
	return UnionIdentities(lists...)
}

// OrgFanOut collects an AWS organisation's structure, then every active
// member account through a per-account collector (live: assume a role in
// each account). Accounts limits the run to some account ids.
type OrgFanOut struct {
	Org      Collector
	Account  func(ctx context.Context, accountID string) (Collector, error)
	Accounts []string

	// ids are the identities of the last Collect's collectors.
	ids []string
}

// CallerIdentities is the union of the organisation's and every account
// collector's identities in the last Collect.
func (o *OrgFanOut) CallerIdentities() []string { return o.ids }

func (o *OrgFanOut) Collect(ctx context.Context, sink graph.Sink) error {
	org := graph.NewCollection()
	err := o.Org.Collect(ctx, org)
	o.ids = UnionIdentities(CallerIdentities(o.Org))
	if err != nil {
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
		err = c.Collect(ctx, sink)
		o.ids = UnionIdentities(o.ids, CallerIdentities(c))
		if err != nil {
			return fmt.Errorf("account %s: %w", a, err)
		}
	}
	return nil
}
