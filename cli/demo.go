package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
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
		Short: "Snapshot the bundled sample organisation (AWS, Entra/Azure, Workspace/GCP) twice and show who can deploy, a cross-cloud path and the diff (no credentials)",
		Args:  exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "", "store directory to keep (default: a temporary one, removed afterwards)")
	cmd.Flags().StringVar(&o.Sample, "sample", filepath.Join("testdata", "sample-org"), "sample organisation directory")
	return cmd
}

// demoDays are the two snapshot times of the demo: the second run sees the
// sample's day-2 changes.
var demoDays = [2]string{"2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z"}

// demoSources lists the sample's sources for one day (1 or 2): AWS (the
// same export both days), and the Azure and Google directories of that day
// when the sample has them.
func demoSources(sample string, day int) ([]config.Source, error) {
	orgFile := filepath.Join(sample, "aws-org.json")
	gaads, err := filepath.Glob(filepath.Join(sample, "aws-[0-9]*.json"))
	if err != nil || len(gaads) == 0 {
		return nil, fmt.Errorf("demo: sample organisation not found in %s: run from the repository root or pass --sample", sample)
	}
	if _, err := os.Stat(orgFile); err != nil {
		return nil, fmt.Errorf("demo: %w: run from the repository root or pass --sample", err)
	}
	srcs := []config.Source{{Name: "aws", Type: "aws", From: gaads, OrgFrom: orgFile}}
	for _, c := range []struct{ typ, dir string }{{"azure", "azure"}, {"google", "google"}} {
		dir := filepath.Join(sample, c.dir, fmt.Sprintf("day%d", day))
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			srcs = append(srcs, config.Source{Name: c.typ, Type: c.typ, From: []string{dir}})
		}
	}
	return srcs, nil
}

func runDemo(ctx context.Context, g *globalOptions, o demoOptions) error {
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
	for day := 1; day <= 2; day++ {
		srcs, err := demoSources(o.Sample, day)
		if err != nil {
			return err
		}
		at, _ := time.Parse(time.RFC3339, demoDays[day-1])
		names := make([]string, len(srcs))
		for i, s := range srcs {
			names[i] = s.Type
		}
		fmt.Fprintf(g.stdout, "== day %d (%s): snapshot of the sample organisation (%s) into %s\n", day, at.Format("2006-01-02"), strings.Join(names, ", "), dir)
		for _, s := range srcs {
			b, err := all.Build(ctx, s, g.logger)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			ms, err := ingest.Run(ctx, b.Collector, g.opener(), ingest.Options{At: at, SourceHint: b.Hint, Logger: g.logger})
			printManifests(g, ms)
			if err != nil {
				return fmt.Errorf("demo: %s: %w", s.Type, err)
			}
		}
	}
	v, err := g.view(ctx, "")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, cloud := range []string{"aws", "azure", "gcp"} {
		res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{Cloud: cloud, IncludeConditional: true, Paths: true})
		if err != nil {
			return err
		}
		if len(res.Principals) == 0 && cloud != "aws" {
			continue // the sample has no data for this cloud
		}
		fmt.Fprintf(g.stdout, "\n== who-can deploy --cloud %s --include-conditional\n", cloud)
		if err := renderWhoCan(g, res); err != nil {
			return err
		}
	}
	for _, q := range []struct{ from, to, why string }{
		{"bob", "deploy", "bob can deploy only through a role chain"},
		{"frank", "deploy", "frank can deploy only by rewriting DeployRole's trust policy (escalation)"},
		{entraUser(v, "alice@corp.example"), "cap:deploy-container:gcp:ml-prod", "cross-cloud: alice's Entra account is her Workspace account, which may act as a Cloud Run deployer"},
	} {
		if q.from == "" {
			continue // the sample has no Entra data
		}
		if _, ok := v.Lookup(q.to); !ok && strings.HasPrefix(q.to, "cap:") {
			continue
		}
		fmt.Fprintf(g.stdout, "\n== path %s %s (%s)\n", q.from, q.to, q.why)
		pr, err := queries.FindPath(v, q.from, q.to, queries.PathOptions{})
		if err != nil {
			return err
		}
		if err := renderPath(g, pr); err != nil {
			return err
		}
	}
	fmt.Fprintf(g.stdout, "\n== diff (day 1 -> day 2: who gained or lost deploy rights, and why)\n")
	saved := g.Output
	g.Output = "table"
	defer func() { g.Output = saved }()
	res, err := runDiff(ctx, g, diffOptions{})
	if err != nil {
		return err
	}
	if err := renderDemoDiff(g, res); err != nil {
		return err
	}
	trail := filepath.Join(o.Sample, "cloudtrail-incident.jsonl")
	if _, err := os.Stat(trail); err != nil {
		return nil
	}
	fmt.Fprintf(g.stdout, "\n== detect %s (a stolen key: recon burst, self-add to Deployers, deploy)\n", trail)
	return runDetect(ctx, g, []string{trail}, detectOptions{Format: "auto", NoStore: o.Dir == ""}, false)
}

// entraUser finds the Entra user with this UPN or email ("" if none).
func entraUser(v *graph.View, email string) string {
	for _, n := range v.FindByName(email) {
		if id := v.NodeIDString(n); strings.HasPrefix(id, "entra:user:") {
			return id
		}
	}
	return ""
}

// renderDemoDiff prints the capability level of a diff and the edge counts
// (the full object and edge lists are `permgraph diff`'s job).
func renderDemoDiff(g *globalOptions, res *queries.DiffResult) error {
	t := &table{header: []string{"SOURCE", "FROM", "TO", "ADDED", "REMOVED", "CHANGED"}}
	for _, s := range res.Sources {
		t.add(s.Source, s.From, s.To, strconv.Itoa(s.Added), strconv.Itoa(s.Removed), strconv.Itoa(s.Changed))
	}
	if err := t.render(g.stdout, "table"); err != nil {
		return err
	}
	if len(res.Capabilities) == 0 {
		fmt.Fprintln(g.stdout, "no principal gained or lost deploy rights")
		return nil
	}
	fmt.Fprintln(g.stdout)
	for _, c := range res.Capabilities {
		fmt.Fprintf(g.stdout, "  %s\n", termSafe(c.Summary))
	}
	return nil
}
