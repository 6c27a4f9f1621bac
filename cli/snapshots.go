package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"permgraph/config"
	"permgraph/graph"
)

func newSnapshotsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshots [list | show ID]",
		Short: "List stored snapshots or show one",
		Args:  func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && args[0] != "list" {
				return usagef("unknown snapshots subcommand %q: want list, show ID", args[0])
			}
			return runSnapshotsList(cmd, g)
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List snapshots, oldest first per source",
		Args:  exactArgs(0, "none"),
		RunE:  func(cmd *cobra.Command, _ []string) error { return runSnapshotsList(cmd, g) },
	}, &cobra.Command{
		Use:   "show ID",
		Short: "Show one snapshot's manifest (id as printed by list, e.g. aws:111122223333@2)",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.openRead(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := st.Snapshot(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("snapshots show %s: %w", args[0], err)
			}
			if g.Output == "json" {
				return writeJSON(g.stdout, m)
			}
			return renderManifests(g, []graph.Manifest{m}, true)
		},
	}, newPruneCommand(g))
	return cmd
}

func runSnapshotsList(cmd *cobra.Command, g *globalOptions) error {
	st, err := g.openRead(cmd.Context())
	if err != nil {
		return err
	}
	defer st.Close()
	ms, err := st.Snapshots(cmd.Context())
	if err != nil {
		return fmt.Errorf("snapshots list: %w", err)
	}
	if g.Output == "json" {
		if ms == nil {
			ms = []graph.Manifest{}
		}
		return writeJSON(g.stdout, ms)
	}
	return renderManifests(g, ms, false)
}

func renderManifests(g *globalOptions, ms []graph.Manifest, detail bool) error {
	t := &table{header: []string{"ID", "SOURCE", "AT", "STATUS", "NODES", "EDGES", "ADDED", "REMOVED", "CHANGED", "NOTES"}}
	for _, m := range ms {
		notes := strings.Join(m.Reasons, "; ")
		if detail {
			notes = strings.Join(append(append([]string{}, m.Reasons...), m.Warnings...), "; ")
		} else if len(m.Warnings) > 0 {
			notes = strings.TrimPrefix(notes+fmt.Sprintf("; %d warning(s)", len(m.Warnings)), "; ")
		}
		t.add(m.ID, m.Source, m.At.UTC().Format(time.RFC3339), m.Status, fmt.Sprint(m.Nodes), fmt.Sprint(m.Edges),
			fmt.Sprint(m.Added), fmt.Sprint(m.Removed), fmt.Sprint(m.Changed), notes)
	}
	return t.render(g.stdout, g.Output)
}

type pruneOptions struct {
	Keep      int
	OlderThan string
	DryRun    bool
}

func newPruneCommand(g *globalOptions) *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:   "prune --keep N | --older-than DURATION",
		Short: "Remove old snapshots and reclaim their space (the latest of each source always stays)",
		Example: `  permgraph snapshots prune --keep 30
  permgraph snapshots prune --older-than 90d --dry-run`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			po := graph.PruneOptions{Keep: o.Keep, DryRun: o.DryRun}
			if o.OlderThan != "" {
				d, err := parseDuration(o.OlderThan)
				if err != nil {
					return err
				}
				po.OlderThan = d
			}
			if po.Keep <= 0 && po.OlderThan <= 0 {
				return usagef("snapshots prune: give --keep N (N >= 1) and/or --older-than DURATION")
			}
			st, err := g.openWrite(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := st.Prune(cmd.Context(), po)
			if err != nil {
				return err
			}
			if g.Output == "json" {
				if res.Removed == nil {
					res.Removed = []graph.Manifest{}
				}
				return writeJSON(g.stdout, res)
			}
			verb := "removed"
			if o.DryRun {
				verb = "would remove"
			}
			fmt.Fprintf(g.stdout, "%s %d snapshot(s); store %s -> %s (items rewritten %d, deleted %d, change logs deleted %d)\n",
				verb, len(res.Removed), humanBytes(res.BytesBefore), humanBytes(res.BytesAfter), res.ItemsRewritten, res.ItemsDeleted, res.LogsDeleted)
			if len(res.Removed) > 0 {
				return renderManifests(g, res.Removed, false)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Keep, "keep", 0, "keep the newest N complete snapshots per source")
	f.StringVar(&o.OlderThan, "older-than", "", "remove snapshots older than this (e.g. 720h, 90d)")
	f.BoolVar(&o.DryRun, "dry-run", false, "list what would be removed; change nothing")
	return cmd
}

// parseDuration accepts Go durations plus a day suffix ("90d").
func parseDuration(s string) (time.Duration, error) {
	d, err := config.ParseDuration(s)
	if err != nil {
		return 0, usagef("%v", err)
	}
	return d, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
