package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"permgraph/config"
	"permgraph/detect/alertstore"
	"permgraph/detect/read"
	"permgraph/detect/rules"
)

// ExitAlerts is the exit code of `detect --fail-on` when such alerts fired.
const ExitAlerts = 3

type detectOptions struct {
	Format  string
	Follow  bool
	FailOn  string
	Config  string
	NoStore bool
	// JobConfig is permgraph.yaml (its detection section).
	JobConfig string
	// CPUProfile is a hidden debug flag: where to write a pprof CPU
	// profile of the run (throughput work, docs/performance.md).
	CPUProfile string
	// MemProfile is the hidden allocation-profile counterpart.
	MemProfile string
}

// alertsError carries exit code 3.
type alertsError struct{ n int }

func (e alertsError) Error() string {
	return fmt.Sprintf("%d alert(s) at or above the --fail-on severity", e.n)
}

func newDetectCommand(g *globalOptions) *cobra.Command {
	var o detectOptions
	var ko detectKafkaOptions
	cmd := &cobra.Command{
		Use:   "detect FILE|DIR|- ...",
		Short: "Run detection rules over audit logs, reading the permission graph at each event's time",
		Long: `Reads CloudTrail, Azure Activity, Graph activity / Entra audit, GCP audit, Google
Workspace and Kubernetes audit logs (auto-detected, gzip-aware), resolves each
actor to a graph node, and prints alerts as JSON lines (-o table for people).
Unknown or malformed records are counted and reported on stderr, never fatal.

Exit codes: 0 ok, 1 error, 2 usage, 3 alerts at or above --fail-on.`,
		Args: func(_ *cobra.Command, args []string) error {
			if ko.kafka.set() {
				if len(args) > 0 {
					return usagef("--kafka-brokers consumes a topic: no FILE arguments")
				}
				return nil
			}
			if len(args) == 0 {
				return usagef("want at least one FILE, DIR or -")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if ko.kafka.set() {
				return runDetectKafka(cmd.Context(), g, o, ko)
			}
			jsonl := !cmd.Flags().Changed("output") || g.Output == "json"
			return runDetect(cmd.Context(), g, args, o, jsonl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "auto", "log format: auto, "+strings.Join(read.Formats(), ", "))
	f.BoolVar(&o.Follow, "follow", false, "keep reading a growing JSON-lines file (one FILE)")
	f.StringVar(&o.FailOn, "fail-on", "", "exit 3 if an alert at or above this severity fires (info, low, medium, high, critical)")
	f.StringVar(&o.Config, "rules", "", "detection config (YAML: allow, platform, collectors, params, disabled; docs/detection.md)")
	f.BoolVar(&o.NoStore, "no-store", false, "do not keep alerts in the alert store (<db>/alerts)")
	f.StringVar(&o.JobConfig, "config", "", "permgraph.yaml: its detection.collectors (the snapshot job's identities) and approved_deployers are added to the rules config")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to this file (debugging)")
	_ = f.MarkHidden("cpuprofile")
	f.StringVar(&o.MemProfile, "memprofile", "", "write an allocation profile of the run to this file (debugging)")
	_ = f.MarkHidden("memprofile")
	addDetectKafkaFlags(f, &ko)
	return cmd
}

func runDetect(ctx context.Context, g *globalOptions, args []string, o detectOptions, jsonl bool) (err error) {
	if o.CPUProfile != "" {
		pf, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("detect: cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return fmt.Errorf("detect: cpu profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := pf.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("detect: cpu profile: %w", cerr)
			}
		}()
	}
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
	if o.JobConfig != "" {
		jc, err := config.Load(o.JobConfig)
		if err != nil {
			return usageError{fmt.Errorf("detect: %w", err)}
		}
		if jc.Detection != nil {
			cfg.Collectors = append(cfg.Collectors, jc.Detection.Collectors...)
			cfg.ApprovedDeployers = append(cfg.ApprovedDeployers, jc.Detection.ApprovedDeployers...)
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
	var as *alertstore.Store
	var baseline rules.Baseline
	if !o.NoStore {
		if as, err = alertstore.Open(ctx, filepath.Join(g.DB, "alerts"), g.logger); err != nil {
			return err
		}
		defer as.Close()
		b := as.Baseline()
		defer func() {
			if ferr := b.Flush(context.WithoutCancel(ctx)); ferr != nil {
				fmt.Fprintf(g.stderr, "detect: %v\n", ferr)
			}
		}()
		baseline = b
	}
	rs, err := rules.RulesFromConfig(cfg, baseline)
	if err != nil {
		return usageError{err}
	}
	en := rules.NewEngine(sg, cfg, rs)
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
			if as != nil && len(alerts) > 0 {
				if _, err := as.Put(ctx, alerts); err != nil {
					r.Close()
					return fmt.Errorf("detect: %w", err)
				}
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
	if o.MemProfile != "" {
		// Written while the engine and its views are still live, so the
		// in-use numbers show what a long run holds.
		if err := writeHeapProfile(o.MemProfile); err != nil {
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

// writeHeapProfile writes the allocation profile (--memprofile).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("detect: memory profile: %w", err)
	}
	runtime.GC() // the profile reflects the last completed collection
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("detect: memory profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("detect: memory profile: %w", err)
	}
	return nil
}

func writeJSONLine(w io.Writer, v any) error {
	return jsonEncoder(w).Encode(v)
}

type alertsOptions struct {
	Since, Until, Rule, Severity string
}

func newAlertsCommand(g *globalOptions) *cobra.Command {
	var o alertsOptions
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List stored detection alerts (oldest first)",
		Args:  exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := alertstore.Filter{Rule: o.Rule}
			var err error
			if f.Since, err = parseTime(o.Since); err != nil {
				return err
			}
			if f.Until, err = parseTime(o.Until); err != nil {
				return err
			}
			if o.Severity != "" {
				if f.MinSeverity, err = rules.ParseSeverity(o.Severity); err != nil {
					return usageError{err}
				}
			}
			dir := filepath.Join(g.DB, "alerts")
			if _, err := os.Stat(dir); err != nil {
				return fmt.Errorf("no alert store at %s: run `permgraph detect` first", dir)
			}
			st, err := alertstore.Open(cmd.Context(), dir, g.logger)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			if g.Output == "json" {
				for _, a := range list {
					if err := writeJSONLine(g.stdout, a); err != nil {
						return err
					}
				}
				return nil
			}
			t := &table{header: []string{"TIME", "RULE", "SEVERITY", "ACTOR", "SUMMARY"}}
			for _, a := range list {
				t.add(a.Time.UTC().Format(time.RFC3339), a.Rule, a.Severity.String(), a.Actor.Name, a.Summary)
			}
			return t.render(g.stdout, g.Output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Since, "since", "", "only alerts at or after this time")
	f.StringVar(&o.Until, "until", "", "only alerts at or before this time")
	f.StringVar(&o.Rule, "rule", "", "only this rule (R01 ...)")
	f.StringVar(&o.Severity, "severity", "", "minimum severity")
	return cmd
}
