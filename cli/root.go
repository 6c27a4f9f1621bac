// Package cli builds permgraph's cobra commands. Each command parses flags
// into an options struct and calls a function a test can reach; errors are
// mapped to exit codes in one place (Main).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"permgraph/graph"
	"permgraph/ingest"
)

// Exit codes (ARCHITECTURE.md section 6).
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// usageError marks errors that are the caller's fault (bad flags, arguments).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// globalOptions are the persistent flags every command sees.
type globalOptions struct {
	DB        string
	Output    string
	LogFormat string
	Verbose   bool

	stdout, stderr io.Writer
	logger         *slog.Logger
}

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globalOptions{stdout: stdout, stderr: stderr}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "permgraph: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var ae alertsError
	if errors.As(err, &ae) {
		return ExitAlerts
	}
	return ExitError
}

func newRootCommand(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "permgraph",
		Short: "Map who can do what across clouds, and catch attackers using that knowledge",
		Long: `permgraph collects identities and permissions into a temporal graph and answers
who can deploy containers, how X reaches Y and what X can do, with the policy
statement behind every hop.

Exit codes: 0 ok, 1 error, 2 usage error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup()
		},
	}
	defDB := os.Getenv("PERMGRAPH_DB")
	if defDB == "" {
		defDB = "./permgraph-data"
	}
	f := root.PersistentFlags()
	f.StringVar(&g.DB, "db", defDB, "store directory (env PERMGRAPH_DB)")
	f.StringVarP(&g.Output, "output", "o", "table", "output format: table, json, csv or md")
	f.StringVar(&g.LogFormat, "log-format", "text", "log format on stderr: text or json")
	f.BoolVarP(&g.Verbose, "verbose", "v", false, "verbose logs")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newCollectCommand(g),
		newSnapshotsCommand(g),
		newWhoCanCommand(g),
		newPathCommand(g),
		newWhatCanCommand(g),
		newDemoCommand(g),
		newDetectCommand(g),
		newForwardCommand(g),
		newAlertsCommand(g),
		newDiffCommand(g),
		newSnapshotCommand(g),
		newReportCommand(g),
		newServeCommand(g),
		newEmulateCommand(g),
		newValidateCommand(g),
		newRulesCommand(g),
		newIncidentCommand(g),
	)
	return root
}

func (g *globalOptions) setup() error {
	switch g.Output {
	case "table", "json", "csv", "md":
	default:
		return usagef("unknown output format %q: want table, json, csv or md", g.Output)
	}
	level := slog.LevelWarn
	if g.Verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.LogFormat {
	case "text":
		g.logger = slog.New(slog.NewTextHandler(g.stderr, opts))
	case "json":
		g.logger = slog.New(slog.NewJSONHandler(g.stderr, opts))
	default:
		return usagef("unknown log format %q: want text or json", g.LogFormat)
	}
	return nil
}

// exactArgs is cobra.ExactArgs with a usage-error exit code.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("want %d argument(s) (%s), got %d", n, names, len(args))
		}
		return nil
	}
}

// openRead opens the store read-only for queries.
func (g *globalOptions) openRead(ctx context.Context) (*graph.Store, error) {
	st, err := graph.OpenReadOnly(ctx, g.DB, g.logger)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", g.DB, err)
	}
	return st, nil
}

// openWrite opens (creating) the store for collection.
func (g *globalOptions) openWrite(ctx context.Context) (*graph.Store, error) {
	st, err := graph.Open(ctx, g.DB, g.logger)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", g.DB, err)
	}
	return st, nil
}

// opener opens the store read-write for ingest (which opens it only
// briefly, around reads of context snapshots and the write).
func (g *globalOptions) opener() ingest.Opener {
	return func(ctx context.Context) (ingest.Store, error) {
		st, err := g.openWrite(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
