package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"permgraph/detect/rules"
	"permgraph/docs/ads"
)

func newRulesCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the detection rules with their parameters (rules show ID prints the ADS document)",
		Args:  exactArgs(0, "none"),
		RunE: func(*cobra.Command, []string) error {
			var ms []rules.Meta
			for _, r := range rules.DefaultRules(nil) {
				ms = append(ms, r.Meta())
			}
			sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
			if g.Output == "json" {
				return jsonEncoder(g.stdout).Encode(ms)
			}
			t := &table{header: []string{"ID", "NAME", "SEVERITY", "ATT&CK", "PARAMETERS", "TITLE"}}
			for _, m := range ms {
				var ps []string
				for k, v := range m.Params {
					ps = append(ps, k+"="+v)
				}
				sort.Strings(ps)
				t.add(m.ID, m.Name, m.Severity.String(), strings.Join(m.Attack, ","), strings.Join(ps, " "), m.Title)
			}
			return t.render(g.stdout, g.Output)
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Print a rule's Alerting and Detection Strategy document",
		Args:  exactArgs(1, "ID"),
		RunE: func(_ *cobra.Command, args []string) error {
			doc, err := ads.Doc(args[0])
			if err != nil {
				return usageError{err}
			}
			_, err = fmt.Fprint(g.stdout, doc)
			return err
		},
	})
	return cmd
}
