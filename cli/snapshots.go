package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
	}, &cobra.Command{
		Use:                "prune",
		Short:              "(not built yet)",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("snapshots prune is not built yet in this version of permgraph")
		},
	})
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
