package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"permgraph/server"
)

type serveOptions struct {
	Addr        string
	AllowRemote bool
}

func newServeCommand(g *globalOptions) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080]",
		Short: "Serve a read-only local web UI and JSON API (/api/) over the store",
		Long: `serve answers, on a local address, a small web UI (search a principal, what it
can do and why, the path between two nodes, snapshots and diffs, alerts, the
review report) and a JSON API under /api/ with the CLI's JSON shapes
(docs/report.md). It only answers GET and HEAD.

It binds to loopback by default and refuses any other address unless
--allow-remote is given: there is no authentication, and the graph says who
can do what across the organisation.`,
		Example: `  permgraph serve
  permgraph serve --addr 127.0.0.1:9000`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address (loopback unless --allow-remote)")
	cmd.Flags().BoolVar(&o.AllowRemote, "allow-remote", false, "allow a non-loopback listen address (no authentication: anyone who reaches it sees the graph)")
	return cmd
}

// checkListenAddr refuses non-loopback addresses without allowRemote. An
// empty host (":8080") listens on every interface, so it counts as remote.
func checkListenAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("serve --addr %q: %v", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return usagef("serve --addr %q is not a loopback address: the UI has no authentication; pass --allow-remote to expose it anyway", addr)
}

func runServe(ctx context.Context, g *globalOptions, o serveOptions) error {
	if err := checkListenAddr(o.Addr, o.AllowRemote); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return serveOn(ctx, g, ln, o)
}

// serveOn serves until ctx ends (tests pass a listener on 127.0.0.1:0).
func serveOn(ctx context.Context, g *globalOptions, ln net.Listener, o serveOptions) error {
	h := server.New(server.StoreBackend(g.DB, g.logger), server.Options{Logger: g.logger, AnyHost: o.AllowRemote})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	fmt.Fprintf(g.stderr, "permgraph: serving %s read-only on http://%s/ (Ctrl-C to stop)\n", g.DB, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("serve: shutdown: %w", err)
		}
		return nil
	}
}
