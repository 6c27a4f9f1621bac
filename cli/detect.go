package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"permgraph/detect/read"
	"permgraph/detect/rules"
)

// ExitAlerts is the exit code of `detect --fail-on` when such alerts fired.
const ExitAlerts = 3

type detectOptions struct {
	Format string
	Follow bool
	FailOn string
	Config string
}

// alertsError carries exit code 3.
type alertsError struct{ n int }

func (e alertsError) Error() string {
	return fmt.Sprintf("%d alert(s) at or above the --fail-on severity", e.n)
}

func newDetectCommand(g *globalOptions) *cobra.Command {
	var o detectOptions
	cmd := &cobra.Command{
		Use:   "detect FILE|DIR|- ...",
		Short: "Run detection rules over audit logs, reading the permission graph at each event's time",
		Long: `Reads CloudTrail, Azure Activity, Graph activity / Entra audit, GCP audit, Google
Workspace and Kubernetes audit logs (auto-detected, gzip-aware), resolves each
actor to a graph node, and prints alerts as JSON lines (-o table for people).
Unknown or malformed records are counted and reported on stderr, never fatal.

Exit codes: 0 ok, 1 error, 2 usage, 3 alerts at or above --fail-on.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("want at least one FILE, DIR or -")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			jsonl := !cmd.Flags().Changed("output") || g.Output == "json"
			return runDetect(cmd.Context(), g, args, o, jsonl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "auto", "log format: auto, "+strings.Join(read.Formats(), ", "))
	f.BoolVar(&o.Follow, "follow", false, "keep reading a growing JSON-lines file (one FILE)")
	f.StringVar(&o.FailOn, "fail-on", "", "exit 3 if an alert at or above this severity fires (info, low, medium, high, critical)")
	f.StringVar(&o.Config, "rules", "", "detection config (YAML: allow, platform, collectors)")
	return cmd
}

func runDetect(ctx context.Context, g *globalOptions, args []string, o detectOptions, jsonl bool) error {
	var failOn *rules.Severity
	if o.FailOn != "" {
		s, err := rules.ParseSeverity(o.FailOn)
		if err != nil {
			return usageError{err}
		}
		failOn = &s
	}
	var cfg rules.Config
	if o.Config != "" {
		b, err := os.ReadFile(o.Config)
		if err != nil {
			return fmt.Errorf("detect: read rules config: %w", err)
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("detect: rules config %s: %w", o.Config, err)
		}
	}
	if o.Follow && len(args) != 1 {
		return usagef("--follow reads exactly one file")
	}
	st, err := g.openRead(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	sg, err := rules.NewStoreGraph(ctx, st)
	if err != nil {
		return err
	}
	en := rules.NewEngine(sg, cfg, rules.DefaultRules())
	var collected []rules.Alert
	failing := 0
	for _, path := range args {
		var r *read.Reader
		if o.Follow {
			r, err = read.OpenFollow(ctx, path, o.Format, read.FollowOptions{Poll: time.Second})
		} else {
			r, err = read.Open(ctx, path, o.Format)
		}
		if err != nil {
			return fmt.Errorf("detect: open %s: %w", path, err)
		}
		for {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return fmt.Errorf("detect: read %s: %w", path, err)
			}
			alerts, err := en.Process(ctx, ev)
			if err != nil {
				r.Close()
				return fmt.Errorf("detect: %w", err)
			}
			for _, a := range alerts {
				if failOn != nil && a.Severity >= *failOn {
					failing++
				}
				if jsonl {
					if err := writeJSONLine(g.stdout, a); err != nil {
						return err
					}
				} else {
					collected = append(collected, a)
				}
			}
		}
		stats := r.Stats()
		r.Close()
		fmt.Fprintf(g.stderr, "detect: %s: %d records, %d events, %d unknown, %d malformed\n", termSafe(path), stats.Records, stats.Events, stats.Unknown, stats.Malformed)
		for _, p := range stats.Problems {
			fmt.Fprintf(g.stderr, "  %s:%d: %s: %s\n", termSafe(p.File), p.Line, p.Kind, termSafe(p.Reason))
		}
	}
	if !jsonl {
		t := &table{header: []string{"TIME", "RULE", "SEVERITY", "ACTOR", "SUMMARY"}}
		for _, a := range collected {
			t.add(a.Time.UTC().Format(time.RFC3339), a.Rule, a.Severity.String(), a.Actor.Name, a.Summary)
		}
		if err := t.render(g.stdout, g.Output); err != nil {
			return err
		}
	}
	s := en.Stats()
	fmt.Fprintf(g.stderr, "detect: %d events, alerts %v, suppressed %v, duplicates %d, unresolved actors %d\n", s.Events, s.Alerts, s.Suppressed, s.Duplicates, s.Unresolved)
	if failing > 0 {
		return alertsError{failing}
	}
	return nil
}

func writeJSONLine(w io.Writer, v any) error {
	return jsonEncoder(w).Encode(v)
}
