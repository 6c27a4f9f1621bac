package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"permgraph/detect/alertstore"
	"permgraph/detect/rules"
	"permgraph/response"
)

type incidentOptions struct {
	Format    string
	Out       string
	Logs      []string
	Window    time.Duration
	AlertFile string
}

func newIncidentCommand(g *globalOptions) *cobra.Command {
	var o incidentOptions
	cmd := &cobra.Command{
		Use:   "incident ALERT-ID",
		Short: "Write an incident record for an alert: timeline, paths, ADS notes, checklist, containment and revocation commands (printed, never run)",
		Long: `incident builds the record of one alert (its key, as in ` + "`permgraph alerts -o json`" + `; a unique
prefix is enough): a timeline of the alert's events, the actor's other activity
within --window of it (from the --logs files) and the permission changes that
touched the actor's deploy paths in the snapshots around the event; the
actor's paths to deploy at the event's time and now; the rule's ATT&CK
mapping, blind spots and false positives; a response checklist with room for
notes; and containment and revocation commands, the cheapest cut of the
actor's deploy paths first, each with its blast radius.

The commands are printed for a responder to review and run: permgraph never
executes them. Values from logs and the graph are single-quoted for a POSIX
shell.`,
		Example: `  permgraph incident 'R05|aws:arn:aws:iam::111122223333:user/ops/gina|1793786400' --logs ./logs
  permgraph incident R05 --alert-file alerts.jsonl --logs ./logs --format html --out incident.html`,
		Args: exactArgs(1, "ALERT-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIncident(cmd.Context(), g, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "md", "record format: "+strings.Join(response.Formats(), ", "))
	f.StringVar(&o.Out, "out", "", "write the record to this file (default stdout)")
	f.StringSliceVar(&o.Logs, "logs", nil, "audit log files or directories for the actor's activity (repeatable)")
	f.DurationVar(&o.Window, "window", 6*time.Hour, "activity window before the alert's first event and after the alert")
	f.StringVar(&o.AlertFile, "alert-file", "", "read alerts from this JSON-lines file (detect's output) instead of the alert store")
	return cmd
}

func runIncident(ctx context.Context, g *globalOptions, id string, o incidentOptions) error {
	switch o.Format {
	case "md", "html", "json":
	default:
		return usagef("unknown --format %q: want %s", o.Format, strings.Join(response.Formats(), ", "))
	}
	start := time.Now()
	alerts, err := loadIncidentAlerts(ctx, g, o.AlertFile)
	if err != nil {
		return err
	}
	a, err := findAlert(alerts, id)
	if err != nil {
		return err
	}
	st, err := g.openRead(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	inc, err := response.Build(ctx, st, a, response.Options{Logs: o.Logs, Window: o.Window, Logger: g.logger})
	if err != nil {
		return err
	}
	w := g.stdout
	var file *os.File
	if o.Out != "" {
		if file, err = os.Create(o.Out); err != nil {
			return fmt.Errorf("incident: %w", err)
		}
		w = file
	}
	bw := bufio.NewWriter(w)
	err = response.Render(bw, o.Format, inc)
	if err == nil {
		err = bw.Flush()
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("incident: %w", err)
	}
	g.logger.Info("incident record built", "alert", a.Key, "timeline", len(inc.Timeline), "cuts", len(inc.Cuts), "elapsed", time.Since(start))
	return nil
}

func loadIncidentAlerts(ctx context.Context, g *globalOptions, file string) ([]rules.Alert, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("incident: %w", err)
		}
		defer f.Close()
		var out []rules.Alert
		dec := json.NewDecoder(f)
		for {
			var a rules.Alert
			if err := dec.Decode(&a); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("incident: read alerts %s: %w", file, err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	dir := filepath.Join(g.DB, "alerts")
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("incident: no alert store at %s: run `permgraph detect` first or pass --alert-file", dir)
	}
	as, err := alertstore.Open(ctx, dir, g.logger)
	if err != nil {
		return nil, err
	}
	defer as.Close()
	return as.List(ctx, alertstore.Filter{})
}

// findAlert matches the key exactly, else a unique key prefix.
func findAlert(alerts []rules.Alert, id string) (rules.Alert, error) {
	var matches []rules.Alert
	for _, a := range alerts {
		if a.Key == id {
			return a, nil
		}
		if strings.HasPrefix(a.Key, id) {
			matches = append(matches, a)
		}
	}
	switch len(matches) {
	case 0:
		return rules.Alert{}, usagef("no alert with key %q (list them with `permgraph alerts -o json`)", id)
	case 1:
		return matches[0], nil
	}
	keys := make([]string, 0, len(matches))
	for _, a := range matches {
		keys = append(keys, termSafe(a.Key))
	}
	return rules.Alert{}, usagef("%d alerts match %q: %s", len(matches), id, strings.Join(keys, "; "))
}
