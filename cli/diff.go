package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"permgraph/graph"
	"permgraph/queries"
	"permgraph/report"
)

type diffOptions struct {
	From, To string
	Source   string
	Limit    int
}

func newDiffCommand(g *globalOptions) *cobra.Command {
	var o diffOptions
	cmd := &cobra.Command{
		Use:   "diff [--from ID|TIME] [--to ID|TIME]",
		Short: "What changed between two snapshots: objects, edges, and who gained or lost deploy rights",
		Long: `diff compares the graph at two points in time. By default it compares, for every
source, its latest complete snapshot with the one before it (what the last
scheduled run changed). --from/--to take a snapshot id (aws:111122223333@3,
which stands for that snapshot's time) or a time (RFC 3339 or a date).

It reports three levels: objects (nodes added/removed/changed), edges
(membership, assignments, trust, escalation) and capabilities ("alice gained
deploy-container on aws 111122223333 via MemberOf ecs-deployers added").
Its cost follows the size of the change, not of the graph.`,
		Example: `  permgraph diff
  permgraph diff --from 2026-11-01 -o md
  permgraph diff --from aws:111122223333@3 --to aws:111122223333@5 -o json`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := runDiff(cmd.Context(), g, o)
			if err != nil {
				return err
			}
			return renderDiff(g.stdout, g.Output, res, o.Limit)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "earlier side: snapshot id or time (default: each source's previous snapshot)")
	f.StringVar(&o.To, "to", "", "later side: snapshot id or time (default: latest)")
	f.StringVar(&o.Source, "source", "", "limit to one source (e.g. aws:111122223333)")
	f.IntVar(&o.Limit, "limit", 200, "table/md: at most this many object and edge rows per section (0 = all); json is always complete")
	return cmd
}

func runDiff(ctx context.Context, g *globalOptions, o diffOptions) (*queries.DiffResult, error) {
	st, err := g.openRead(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var points [2]time.Time
	for i, s := range []struct{ flag, value string }{{"--from", o.From}, {"--to", o.To}} {
		if points[i], err = report.ParsePoint(ctx, st, s.value); err != nil {
			if errors.Is(err, report.ErrBadPoint) {
				return nil, usagef("diff %s: %v", s.flag, err)
			}
			return nil, fmt.Errorf("diff %s: %w", s.flag, err)
		}
	}
	from, to := points[0], points[1]
	// The latest graph comes from the view cache file when it is wanted.
	var v *graph.View
	if to.IsZero() {
		v, err = graph.LoadLatestView(ctx, g.DB, g.logger)
		if err != nil && !errors.Is(err, graph.ErrNotFound) {
			g.logger.Debug("latest view cache unusable; reading the store", "err", err)
		}
	}
	return report.LoadDiff(ctx, st, v, from, to, o.Source)
}

func renderDiff(w io.Writer, format string, res *queries.DiffResult, limit int) error {
	if format == "json" {
		return writeJSON(w, res)
	}
	md := format == "md"
	heading := func(s string) {
		if md {
			fmt.Fprintf(w, "\n## %s\n\n", s)
		} else {
			fmt.Fprintf(w, "\n%s\n", strings.ToUpper(s))
		}
	}
	src := &table{header: []string{"SOURCE", "FROM", "TO", "ADDED", "REMOVED", "CHANGED"}}
	for _, s := range res.Sources {
		from := s.From
		if from == "" {
			from = "(new source)"
		}
		src.add(s.Source, from, s.To, strconv.Itoa(s.Added), strconv.Itoa(s.Removed), strconv.Itoa(s.Changed))
	}
	if md {
		fmt.Fprintf(w, "# permgraph diff\n")
	}
	heading("Snapshots compared")
	if err := src.render(w, format); err != nil {
		return err
	}
	heading(fmt.Sprintf("Capability changes (%d; %d principals re-evaluated)", len(res.Capabilities), res.Candidates))
	if len(res.Capabilities) == 0 {
		fmt.Fprintln(w, "no principal gained or lost deploy rights")
	} else {
		t := &table{header: []string{"CHANGE", "PRINCIPAL", "KIND", "CLOUD", "SCOPE", "BEFORE", "AFTER", "VIA", "WHY"}}
		for _, c := range res.Capabilities {
			t.add(c.Change, c.Name, c.Kind, c.Cloud, c.Scope, c.Before, c.After, c.Via, c.Summary)
		}
		if err := t.render(w, format); err != nil {
			return err
		}
	}
	edgeTable := func(title string, list []queries.EdgeRef) error {
		heading(fmt.Sprintf("%s (%d)", title, len(list)))
		if len(list) == 0 {
			fmt.Fprintln(w, "none")
			return nil
		}
		t := &table{header: []string{"FROM", "EDGE", "TO", "EVIDENCE"}}
		for i, e := range list {
			if limit > 0 && i == limit {
				t.add(fmt.Sprintf("... %d more (-o json for all)", len(list)-limit), "", "", "")
				break
			}
			t.add(nameOr(e.FromName, e.From), e.Edge, nameOr(e.ToName, e.To), evidenceText(e.Evidence))
		}
		return t.render(w, format)
	}
	objTable := func(title string, list []queries.ObjectRef) error {
		heading(fmt.Sprintf("%s (%d)", title, len(list)))
		if len(list) == 0 {
			fmt.Fprintln(w, "none")
			return nil
		}
		t := &table{header: []string{"KIND", "NAME", "ID", "SOURCE"}}
		for i, o := range list {
			if limit > 0 && i == limit {
				t.add("", fmt.Sprintf("... %d more (-o json for all)", len(list)-limit), "", "")
				break
			}
			t.add(o.Kind, o.Name, o.ID, o.Source)
		}
		return t.render(w, format)
	}
	for _, s := range []struct {
		title string
		list  []queries.EdgeRef
	}{
		{"Escalation edges added", res.Escalations.Added},
		{"Escalation edges removed", res.Escalations.Removed},
		{"Edges added", res.Edges.Added},
		{"Edges removed", res.Edges.Removed},
		{"Edges changed", res.Edges.Changed},
	} {
		if err := edgeTable(s.title, s.list); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		title string
		list  []queries.ObjectRef
	}{
		{"Objects added", res.Objects.Added},
		{"Objects removed", res.Objects.Removed},
		{"Objects changed", res.Objects.Changed},
	} {
		if err := objTable(s.title, s.list); err != nil {
			return err
		}
	}
	return nil
}

func evidenceText(ev []graph.Evidence) string {
	parts := make([]string, 0, len(ev))
	for _, e := range ev {
		s := e.Source
		if e.Statement != "" {
			s += "#" + e.Statement
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	if len(parts) > 3 {
		parts = append(parts[:3], fmt.Sprintf("+%d", len(parts)-3))
	}
	return strings.Join(parts, "; ")
}
