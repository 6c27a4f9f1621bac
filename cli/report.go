package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"permgraph/detect/alertstore"
	"permgraph/detect/rules"
	"permgraph/queries"
	"permgraph/report"
)

type reportOptions struct {
	Format      string
	Out         string
	Since       string
	DormantDays int
}

func newReportCommand(g *globalOptions) *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report [--format html|md|csv|json] [--out FILE] [--since ID|TIME]",
		Short: "Write the permission review: who can deploy and how, privileged groups and owners, risky members, escalations, changes, alerts, a checklist per owner",
		Long: `report writes the quarterly permission review from the latest snapshots.

Formats: html (one self-contained file: inline CSS, SVG path diagrams and a
sortable, filterable, paginated deployer table; no network fetches), md, csv
(one row per principal, capability, scope and path, formula-safe) and json
(docs/report.md). Without --format the format follows --out's extension, then
the global -o (json, csv, md), then md.

--since ID|TIME starts the review period: the capability diff compares the
graph at that snapshot or time with the latest one, and alerts before it are
left out. Without it, each source's previous snapshot is the start.`,
		Example: `  permgraph report --out review.html
  permgraph report --format md --since 2026-08-01 > review.md
  permgraph report --format csv --out deployers.csv`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReport(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "", "html, md, csv or json (default: from --out's extension, else the global -o, else md)")
	f.StringVar(&o.Out, "out", "", "write to FILE instead of stdout (the global -o is the output format of the other commands)")
	f.StringVar(&o.Since, "since", "", "start of the review period: snapshot id or time (default: each source's previous snapshot)")
	f.IntVar(&o.DormantDays, "dormant-days", report.DefaultDormantDays, "members without a sign-in for this many days are flagged dormant")
	return cmd
}

func reportFormat(g *globalOptions, o reportOptions) (string, error) {
	format := lower(o.Format)
	if format == "" {
		switch strings.ToLower(filepath.Ext(o.Out)) {
		case ".html", ".htm":
			format = "html"
		case ".md", ".markdown":
			format = "md"
		case ".csv":
			format = "csv"
		case ".json":
			format = "json"
		}
	}
	if format == "" && g.Output != "table" {
		format = g.Output
	}
	if format == "" {
		format = "md"
	}
	for _, f := range report.Formats() {
		if f == format {
			return format, nil
		}
	}
	return "", usagef("unknown report format %q: want html, md, csv or json", o.Format)
}

// buildReport loads the latest graph, the diff since the start of the
// period and the stored alerts, and builds the report model.
func buildReport(ctx context.Context, g *globalOptions, o reportOptions) (*report.Report, error) {
	v, err := g.view(ctx, "")
	if err != nil {
		return nil, err
	}
	st, err := g.openRead(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	since, err := report.ParsePoint(ctx, st, o.Since)
	if err != nil {
		if errors.Is(err, report.ErrBadPoint) {
			return nil, usagef("report --since: %v", err)
		}
		return nil, fmt.Errorf("report --since: %w", err)
	}
	diff, err := report.LoadDiff(ctx, st, v, since, time.Time{}, "")
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if since.IsZero() && firstSnapshots(diff.Sources) {
		diff = nil // nothing earlier to compare with
	}
	alerts := loadAlerts(ctx, g)
	return report.Build(ctx, report.Input{View: v, Diff: diff, Since: since, Alerts: alerts, DormantDays: o.DormantDays})
}

func firstSnapshots(srcs []queries.SourceDiffInfo) bool {
	for _, s := range srcs {
		if s.From != "" {
			return false
		}
	}
	return true
}

// loadAlerts reads the stored alerts, if detection ever stored any. The
// alert store is another process's lock: wait briefly, then go without.
func loadAlerts(ctx context.Context, g *globalOptions) []rules.Alert {
	dir := filepath.Join(g.DB, "alerts")
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	as, err := alertstore.Open(ctx, dir, g.logger)
	if err != nil {
		g.logger.Warn("report without alerts: alert store unavailable", "err", err)
		return nil
	}
	defer as.Close()
	list, err := as.List(ctx, alertstore.Filter{})
	if err != nil {
		g.logger.Warn("report without alerts", "err", err)
		return nil
	}
	return list
}

func runReport(ctx context.Context, g *globalOptions, o reportOptions) error {
	format, err := reportFormat(g, o)
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := buildReport(ctx, g, o)
	if err != nil {
		return err
	}
	built := time.Since(start)
	if o.Out == "" {
		bw := bufio.NewWriterSize(g.stdout, 1<<16)
		if err := report.Render(bw, format, r); err != nil {
			return err
		}
		return bw.Flush()
	}
	n, err := writeFileAtomic(o.Out, func(w io.Writer) error { return report.Render(w, format, r) })
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(g.stderr, "report: wrote %s (%s, %d bytes, %d deployers; built in %s, total %s)\n",
		o.Out, format, n, len(r.Deployers), built.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}

// writeFileAtomic writes through a temporary file in the same directory and
// renames it into place, so a failed run leaves no half-written report.
func writeFileAtomic(path string, fn func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	cw := &countWriter{w: bufio.NewWriterSize(tmp, 1<<16)}
	if err := fn(cw); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := cw.w.(*bufio.Writer).Flush(); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
