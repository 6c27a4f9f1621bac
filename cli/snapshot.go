package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/job"
)

type snapshotOptions struct {
	Config  string
	Every   string
	Publish publishFlags
}

func newSnapshotCommand(g *globalOptions) *cobra.Command {
	var o snapshotOptions
	cmd := &cobra.Command{
		Use:   "snapshot [--config permgraph.yaml] [--every 6h]",
		Short: "Scheduled job: collect every source of permgraph.yaml, each as its own snapshot",
		Long: `snapshot runs every source in the config file (docs/config.md), a bounded
number at a time, each as its own snapshot. A source that fails keeps its last
complete snapshot (a partial one records why) while the others land; the run
then exits 1 and the summary names the failure.

--every D keeps running, one run every D, never overlapping itself; SIGTERM or
SIGINT stops it cleanly. Only one job runs per store (a lock the kernel drops
if the process dies). Queries (who-can, path, diff, report) keep working in
other processes while it runs: docs/config.md says how.

On a terminal it draws a status line; otherwise it writes JSON logs.`,
		Example: `  permgraph snapshot --config permgraph.yaml
  permgraph snapshot --config /etc/permgraph/permgraph.yaml --every 6h`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSnapshot(cmd, g, o)
		},
	}
	def := os.Getenv("PERMGRAPH_CONFIG")
	if def == "" {
		def = "permgraph.yaml"
	}
	cmd.Flags().StringVar(&o.Config, "config", def, "config file (env PERMGRAPH_CONFIG)")
	cmd.Flags().StringVar(&o.Every, "every", "", "run repeatedly at this interval (e.g. 6h); default: the config's every, else once")
	addPublishFlags(cmd.Flags(), &o.Publish)
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runSnapshot(cmd *cobra.Command, g *globalOptions, o snapshotOptions) error {
	ctx := cmd.Context()
	cfg, err := config.Load(o.Config)
	if err != nil {
		return usageError{err}
	}
	if !cmd.Flags().Changed("db") && os.Getenv("PERMGRAPH_DB") == "" && cfg.Store != "" {
		g.DB = cfg.Store
	}
	every := o.Every
	if every == "" && cmd.Flags().Changed("every") {
		return usagef("--every needs a duration")
	}
	if every == "" {
		every = cfg.Every
	}
	var interval time.Duration
	if every != "" && every != "once" {
		if interval, err = parseDuration(every); err != nil {
			return err
		}
		if interval < time.Minute {
			return usagef("--every %s: want at least 1m", every)
		}
	}
	tty := isTerminal(g.stderr)
	log := g.logger
	if !tty && !cmd.Flags().Changed("log-format") {
		// A scheduled job's stderr goes to a log collector: JSON at info.
		level := slog.LevelInfo
		if g.Verbose {
			level = slog.LevelDebug
		}
		log = slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	}
	r := &job.Runner{
		Config: cfg,
		DB:     g.DB,
		Build:  func(ctx context.Context, s config.Source) (all.Built, error) { return all.Build(ctx, s, log) },
		Open:   func(ctx context.Context) (*graph.Store, error) { return graph.Open(ctx, g.DB, log) },
		Logger: log,
	}
	if tty {
		r.Progress, r.ProgressEvery = statusLine(g.stderr), 250*time.Millisecond
	} else {
		r.Progress, r.ProgressEvery = progressLog(log), 30*time.Second
	}
	publish, closePublish, err := o.Publish.publisher(ctx, g)
	if err != nil {
		return err
	}
	defer closePublish()
	report := func(s *job.Summary, err error) {
		if publish != nil {
			if perr := publish(ctx); perr != nil {
				log.Error("view not published", "err", perr)
			}
		}
		if s != nil {
			if g.Output == "json" {
				_ = writeJSON(g.stdout, s)
			} else {
				_ = renderSummary(g, s)
			}
		}
		if err != nil {
			log.Error("snapshot run finished with failures", "err", err)
		}
	}
	if interval == 0 {
		s, err := r.RunOnce(ctx)
		report(s, err)
		if err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		return nil
	}
	log.Info("snapshot job started", "every", interval.String(), "sources", len(cfg.Sources), "db", g.DB)
	if err := r.Every(ctx, interval, report); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	log.Info("snapshot job stopped", "reason", context.Cause(ctx))
	return nil
}

// statusLine redraws one line on the terminal with every source's state.
func statusLine(w io.Writer) func([]job.SourceStatus) {
	last := 0
	return func(ss []job.SourceStatus) {
		var b strings.Builder
		done := 0
		for _, s := range ss {
			if s.State == "done" || s.State == "failed" {
				done++
			}
		}
		fmt.Fprintf(&b, "[%d/%d]", done, len(ss))
		for _, s := range ss {
			mark := map[string]string{"waiting": "…", "collecting": "▸", "done": "✓", "failed": "✗"}[s.State]
			fmt.Fprintf(&b, " %s %s %s obj %s", mark, termSafe(s.Name), strconv.FormatInt(s.Nodes+s.Edges, 10), s.Duration.Round(time.Second))
		}
		line := b.String()
		pad := ""
		if n := last - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		last = len(line)
		end := ""
		if done == len(ss) {
			end = "\n"
		}
		fmt.Fprintf(w, "\r%s%s%s", line, pad, end)
	}
}

// progressLog logs progress as structured lines (non-terminal runs).
func progressLog(log *slog.Logger) func([]job.SourceStatus) {
	return func(ss []job.SourceStatus) {
		for _, s := range ss {
			if s.State == "collecting" {
				log.Info("progress", "source", s.Name, "nodes", s.Nodes, "edges", s.Edges, "elapsed", s.Duration.Round(time.Second).String())
			}
		}
	}
}

func renderSummary(g *globalOptions, s *job.Summary) error {
	t := &table{header: []string{"SOURCE", "TYPE", "STATE", "SNAPSHOTS", "OBJECTS", "REQUESTS", "THROTTLED", "WARNINGS", "DURATION", "ERROR"}}
	for _, src := range s.Sources {
		t.add(src.Name, src.Type, src.State, strings.Join(src.Snapshots, " "), strconv.FormatInt(src.Nodes+src.Edges, 10),
			strconv.FormatInt(src.Requests, 10), strconv.FormatInt(src.Throttled, 10), strconv.Itoa(len(src.Warnings)), src.Duration.Round(time.Millisecond).String(), src.Error)
	}
	fmt.Fprintf(g.stdout, "snapshot run at %s: %d source(s), %d failed, %s\n", s.At.Format(time.RFC3339), len(s.Sources), s.Failed, s.Duration.Round(time.Millisecond))
	if err := t.render(g.stdout, g.Output); err != nil {
		return err
	}
	for _, w := range s.SortedWarnings() {
		fmt.Fprintf(g.stdout, "warning: %s\n", termSafe(w))
	}
	if p := s.Pruned; p != nil && len(p.Removed) > 0 {
		fmt.Fprintf(g.stdout, "retention: removed %d snapshot(s); store %s -> %s\n", len(p.Removed), humanBytes(p.BytesBefore), humanBytes(p.BytesAfter))
	}
	return nil
}
