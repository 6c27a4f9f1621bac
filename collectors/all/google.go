package all

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/oauth2"

	"permgraph/collectors/gcpiam"
	"permgraph/collectors/workspace"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
)

// GoogleTokenEnv holds a pre-acquired Google access token (instead of
// Application Default Credentials).
const GoogleTokenEnv = "PERMGRAPH_GOOGLE_TOKEN"

// googleToken returns a static token source from token_file or the
// environment, or nil for ADC. The token is never logged.
func googleToken(s config.Source) (oauth2.TokenSource, error) {
	tok := ""
	if s.TokenFile != "" {
		b, err := os.ReadFile(s.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("read Google token file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
		if tok == "" {
			return nil, fmt.Errorf("Google token file %s is empty", s.TokenFile)
		}
	} else if v := os.Getenv(GoogleTokenEnv); v != "" {
		tok = strings.TrimSpace(v)
	}
	if tok == "" {
		return nil, nil
	}
	tok = strings.TrimSpace(strings.TrimPrefix(tok, "Bearer "))
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, TokenType: "Bearer"}), nil
}

// google collects the Workspace customer, then the GCP organisation into
// the same source (google:<customer id>): the customer id is known only
// once Workspace answered (my_customer), so the GCP collector is built then.
type google struct {
	s   config.Source
	log *slog.Logger
	ts  oauth2.TokenSource
	dir string // offline: one directory holding either or both exports
	// ids are the identities the last Collect called Google as.
	ids []string
}

// CallerIdentities is the union of the Workspace and GCP callers'
// identities in the last Collect, when the credentials name them.
func (g *google) CallerIdentities() []string { return g.ids }

func buildGoogle(_ context.Context, s config.Source, log *slog.Logger) (Built, error) {
	g := &google{s: s, log: log}
	if len(s.From) == 1 {
		g.dir = s.From[0]
		if st, err := os.Stat(g.dir); err != nil || !st.IsDir() {
			return Built{}, fmt.Errorf("source %s: from: %s is not a directory (want a Workspace capture and/or GCP IAM exports; docs/offline.md)", s.Label(), g.dir)
		}
		return Built{Collector: g, Hint: s.Hint()}, nil
	}
	ts, err := googleToken(s)
	if err != nil {
		return Built{}, fmt.Errorf("source %s: %w", s.Label(), err)
	}
	g.ts = ts
	return Built{Collector: g, Hint: s.Hint()}, nil
}

// recordingSink notes the sources written, to find the customer's source id.
type recordingSink struct {
	graph.Sink
	first string
}

func (r *recordingSink) AddNode(source string, n graph.Node) error {
	if r.first == "" {
		r.first = source
	}
	return r.Sink.AddNode(source, n)
}

// Reserve passes a collector's size hint on (graph.Collection.Reserve).
func (r *recordingSink) Reserve(source string, nodes, edges int) {
	if rs, ok := r.Sink.(interface{ Reserve(string, int, int) }); ok {
		rs.Reserve(source, nodes, edges)
	}
}

func (g *google) Collect(ctx context.Context, sink graph.Sink) error {
	g.ids = nil
	rec := &recordingSink{Sink: sink}
	wsOpts := workspace.Options{Customer: g.s.Customer, AdminEmail: g.s.AdminEmail, TokenSource: g.ts, SaveRawDir: g.s.SaveRaw, Logger: g.log,
		Endpoint: g.s.DirectoryEndpoint}
	if g.s.Customer != "" {
		wsOpts.Source = "google:" + g.s.Customer
	}
	hasWorkspace := true
	if g.dir != "" {
		hasWorkspace = workspaceCapture(g.dir)
	}
	if hasWorkspace {
		var c interface {
			Collect(context.Context, graph.Sink) error
		}
		if g.dir != "" {
			c = workspace.NewFile(g.dir, wsOpts)
		} else {
			l, err := workspace.NewLive(ctx, wsOpts)
			if err != nil {
				return fmt.Errorf("google: workspace: %w", err)
			}
			c = l
		}
		err := c.Collect(ctx, rec)
		g.ids = ingest.UnionIdentities(g.ids, ingest.CallerIdentities(c))
		if err != nil {
			return fmt.Errorf("google: workspace: %w", err)
		}
	}
	source := rec.first
	if source == "" {
		switch {
		case g.s.Customer != "":
			source = "google:" + g.s.Customer
		case g.s.GCPOrg != "":
			source = "google:" + strings.TrimPrefix(g.s.GCPOrg, "organizations/")
		default:
			return errors.New("google: no Workspace data and neither customer nor gcp_org is set: cannot name the source")
		}
	}
	gOpts := gcpiam.Options{Org: g.s.GCPOrg, Projects: g.s.Projects, Source: source, TokenSource: g.ts, SaveRawDir: g.s.SaveRaw, Logger: g.log,
		ResourceManagerEndpoint: g.s.ResourceManagerEndpoint, IAMEndpoint: g.s.IAMEndpoint}
	if g.dir != "" {
		err := gcpiam.NewFile(g.dir, gOpts).Collect(ctx, sink)
		if errors.Is(err, gcpiam.ErrNoData) && hasWorkspace {
			g.log.Info("google: no GCP IAM data in the directory; Workspace only", "dir", g.dir)
			return nil
		}
		if err != nil {
			return fmt.Errorf("google: gcp: %w", err)
		}
		return nil
	}
	if g.s.GCPOrg == "" && len(g.s.Projects) == 0 {
		g.log.Info("google: no gcp_org or projects configured; Workspace only")
		return nil
	}
	l, err := gcpiam.NewLive(ctx, gOpts)
	if err != nil {
		return fmt.Errorf("google: gcp: %w", err)
	}
	err = l.Collect(ctx, sink)
	g.ids = ingest.UnionIdentities(g.ids, l.CallerIdentities())
	if err != nil {
		return fmt.Errorf("google: gcp: %w", err)
	}
	return nil
}

// workspaceCapture reports whether dir holds a Directory API capture: a
// *.jsonl file whose first page came from admin/directory/v1.
func workspaceCapture(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		r := bufio.NewReaderSize(fh, 64<<10)
		line, _ := r.ReadSlice('\n')
		fh.Close()
		if strings.Contains(string(line), "/admin/directory/v1/") {
			return true
		}
	}
	return false
}
