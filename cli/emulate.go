package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"permgraph/emulate"
)

type emulateOptions struct {
	Out  string
	Seed uint64
	List bool
}

func newEmulateCommand(g *globalOptions) *cobra.Command {
	var o emulateOptions
	cmd := &cobra.Command{
		Use:   "emulate SCENARIO|all --out DIR",
		Short: "Write the native audit logs of an attack scenario on the sample organisation, with benign look-alikes, noise and an expectation file",
		Long: `Writes, for the bundled sample organisation, the CloudTrail, Azure Activity,
Graph activity / Entra audit, GCP audit, Workspace and Kubernetes audit records
an attack would produce, benign look-alikes that must not alert, and three days
of background activity of several hundred principals, in files named by
delivery time (each log's delivery delay respected). DIR/expect.json says which
rule must fire on which actor and step. "all" writes every scenario into its own
subdirectory. Check the result with permgraph validate DIR (docs/emulation.md).`,
		Args: func(_ *cobra.Command, args []string) error {
			if o.List {
				return nil
			}
			if len(args) != 1 {
				return usagef("want one SCENARIO (or all); see --list")
			}
			if o.Out == "" {
				return usagef("--out DIR is required")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.List {
				return listScenarios(g)
			}
			var scs []emulate.Scenario
			dirs := map[string]string{}
			if strings.EqualFold(args[0], "all") {
				for _, s := range emulate.Scenarios() {
					scs = append(scs, s)
					dirs[s.Name] = filepath.Join(o.Out, s.Name)
				}
			} else {
				s, ok := emulate.Find(args[0])
				if !ok {
					return usagef("unknown scenario %q; see permgraph emulate --list", args[0])
				}
				scs, dirs[s.Name] = []emulate.Scenario{s}, o.Out
			}
			t := &table{header: []string{"SCENARIO", "DIR", "FILES", "RECORDS", "FROM", "TO"}}
			for _, s := range scs {
				sum, err := emulate.Write(cmd.Context(), s, dirs[s.Name], o.Seed)
				if err != nil {
					return err
				}
				n := 0
				for _, c := range sum.Records {
					n += c
				}
				t.add(sum.Scenario, sum.Dir, fmt.Sprint(sum.Files), fmt.Sprint(n), sum.From.Format("2006-01-02T15:04Z"), sum.To.Format("2006-01-02T15:04Z"))
			}
			return t.render(g.stdout, g.Output)
		},
	}
	cmd.Flags().StringVar(&o.Out, "out", "", "output directory")
	cmd.Flags().Uint64Var(&o.Seed, "seed", emulate.DefaultSeed, "random seed (same seed, same files)")
	cmd.Flags().BoolVar(&o.List, "list", false, "describe the scenarios")
	return cmd
}

func listScenarios(g *globalOptions) error {
	scs := emulate.Scenarios()
	if g.Output == "json" {
		return jsonEncoder(g.stdout).Encode(scs)
	}
	t := &table{header: []string{"SCENARIO", "SOURCE", "CLOUDS", "ATT&CK", "TITLE"}}
	for _, s := range scs {
		t.add(s.Name, s.Source, strings.Join(s.Clouds, ","), strings.Join(s.Attack, ","), s.Title)
	}
	if err := t.render(g.stdout, g.Output); err != nil {
		return err
	}
	if g.Output == "table" {
		fmt.Fprintln(g.stdout)
		for _, s := range scs {
			fmt.Fprintf(g.stdout, "%s: %s\n", s.Name, s.Description)
		}
	}
	return nil
}
