package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"permgraph/detect/rules"
	"permgraph/emulate"
	"permgraph/graph"
)

type validateOptions struct {
	Sample string
	Rules  string
	// UseDB is set when --db was given explicitly: an already populated
	// store is used instead of a temporary one.
	UseDB bool
}

// validationError is a failed validation (exit 1).
type validationError struct{}

func (validationError) Error() string {
	return "validation failed: a required attack step was not detected or a benign look-alike alerted"
}

func newValidateCommand(g *globalOptions) *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate DIR",
		Short: "Run detection over an emulation (permgraph emulate) and compare with its expectations: recall, precision, false positives",
		Long: `Runs the detection rules over DIR (one scenario, or a directory of scenarios
from "emulate all") against the sample organisation's graph, built into a
temporary store as "permgraph demo" does (or the store given with --db, when it
already holds snapshots), and prints per scenario the expected and fired alerts
and the false positives with their reasons, and per rule recall and precision.

Exit codes: 0 all required attack steps detected and no benign look-alike or
background activity alerted; 1 otherwise (or on error); 2 usage.`,
		Args: exactArgs(1, "DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.UseDB = cmd.Flags().Lookup("db").Changed
			return runValidate(cmd.Context(), g, args[0], o)
		},
	}
	cmd.Flags().StringVar(&o.Sample, "sample", filepath.Join("testdata", "sample-org"), "sample organisation directory (for the temporary store)")
	cmd.Flags().StringVar(&o.Rules, "rules", "", "detection config (YAML, as for detect): merged with each scenario's own config")
	return cmd
}

func runValidate(ctx context.Context, g *globalOptions, dir string, o validateOptions) error {
	var base rules.Config
	if o.Rules != "" {
		b, err := os.ReadFile(o.Rules)
		if err != nil {
			return fmt.Errorf("validate: read rules config: %w", err)
		}
		if err := yaml.Unmarshal(b, &base); err != nil {
			return usagef("validate: rules config %s: %v", o.Rules, err)
		}
	}
	if _, err := rules.RulesFromConfig(base, nil); err != nil {
		return usageError{fmt.Errorf("validate: %w", err)}
	}
	dirs, err := emulate.ScenarioDirs(dir)
	if err != nil {
		return err
	}
	db := g.DB
	if !o.UseDB || !hasSnapshots(ctx, g) {
		tmp, err := os.MkdirTemp("", "permgraph-validate-")
		if err != nil {
			return fmt.Errorf("validate: %w", err)
		}
		defer os.RemoveAll(tmp)
		db = filepath.Join(tmp, "db")
		if err := emulate.BuildSampleStore(ctx, o.Sample, db, g.logger); err != nil {
			return fmt.Errorf("validate: %w", err)
		}
	}
	st, err := graph.OpenReadOnly(ctx, db, g.logger)
	if err != nil {
		return fmt.Errorf("validate: open store %s: %w", db, err)
	}
	defer st.Close()
	sg, err := rules.NewStoreGraph(ctx, st)
	if err != nil {
		return err
	}
	rep, err := emulate.Validate(ctx, dirs, sg, base)
	if err != nil {
		return err
	}
	if g.Output == "json" {
		if err := jsonEncoder(g.stdout).Encode(rep); err != nil {
			return err
		}
	} else if err := emulate.WriteTable(g.stdout, rep); err != nil {
		return err
	}
	if !rep.Pass {
		return validationError{}
	}
	return nil
}

// hasSnapshots reports whether the store at g.DB exists and holds a
// snapshot.
func hasSnapshots(ctx context.Context, g *globalOptions) bool {
	if _, err := os.Stat(g.DB); err != nil {
		return false
	}
	st, err := graph.OpenReadOnly(ctx, g.DB, g.logger)
	if err != nil {
		return false
	}
	defer st.Close()
	ms, err := st.Snapshots(ctx)
	return err == nil && len(ms) > 0
}
