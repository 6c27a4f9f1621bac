package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"permgraph/collectors/awsiam"
	"permgraph/collectors/awsorg"
	"permgraph/ingest"
	"permgraph/queries"
)

type demoOptions struct {
	Dir    string
	Sample string
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Import the bundled sample organisation and answer who can deploy containers (no credentials)",
		Args:  exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "", "store directory to keep (default: a temporary one, removed afterwards)")
	cmd.Flags().StringVar(&o.Sample, "sample", filepath.Join("testdata", "sample-org"), "sample organisation directory")
	return cmd
}

func runDemo(ctx context.Context, g *globalOptions, o demoOptions) error {
	orgFile := filepath.Join(o.Sample, "aws-org.json")
	gaads, err := filepath.Glob(filepath.Join(o.Sample, "aws-[0-9]*.json"))
	if err != nil || len(gaads) == 0 {
		return fmt.Errorf("demo: sample organisation not found in %s: run from the repository root or pass --sample", o.Sample)
	}
	if _, err := os.Stat(orgFile); err != nil {
		return fmt.Errorf("demo: %w: run from the repository root or pass --sample", err)
	}
	collectors := ingest.Multi{&awsorg.FileCollector{Path: orgFile, Logger: g.logger}}
	for _, f := range gaads {
		collectors = append(collectors, &awsiam.FileCollector{Path: f, Logger: g.logger})
	}
	dir := o.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "permgraph-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "db")
	}
	g.DB = dir
	fmt.Fprintf(g.stdout, "== permgraph demo: importing the sample AWS organisation (%s) into %s\n", o.Sample, dir)
	ms, err := ingest.Run(ctx, collectors, g.opener(), ingest.Options{Logger: g.logger})
	printManifests(g, ms)
	if err != nil {
		return err
	}
	v, err := g.view(ctx, "")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(g.stdout, "\n== who-can deploy (include conditional)")
	res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{IncludeConditional: true})
	if err != nil {
		return err
	}
	if err := renderWhoCan(g, res); err != nil {
		return err
	}
	for _, q := range []struct{ who, why string }{
		{"bob", "bob can deploy only through a role chain"},
		{"frank", "frank can deploy only by rewriting DeployRole's trust policy (escalation)"},
	} {
		fmt.Fprintf(g.stdout, "\n== path %s deploy (%s)\n", q.who, q.why)
		pr, err := queries.FindPath(v, q.who, "deploy", queries.PathOptions{})
		if err != nil {
			return err
		}
		if err := renderPath(g, pr); err != nil {
			return err
		}
	}
	trail := filepath.Join(o.Sample, "cloudtrail-incident.jsonl")
	if _, err := os.Stat(trail); err != nil {
		return nil
	}
	fmt.Fprintf(g.stdout, "\n== detect %s (a stolen key: recon burst, self-add to Deployers, deploy)\n", trail)
	saved := g.Output
	g.Output = "table"
	defer func() { g.Output = saved }()
	return runDetect(ctx, g, []string{trail}, detectOptions{Format: "auto", NoStore: o.Dir == ""}, false)
}
