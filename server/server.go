// Package server is permgraph's read-only local web UI: a JSON API under
// /api/ with the CLI's JSON shapes (docs/output.md, docs/report.md) and a
// small page that searches principals, shows what they can do and why,
// draws paths, lists snapshots, diffs and alerts, and serves the review
// report. It has no write endpoints: only GET and HEAD are answered.
package server

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"permgraph/catalog"
	"permgraph/detect/rules"
	"permgraph/graph"
	"permgraph/queries"
	"permgraph/report"
)

//go:embed static
var static embed.FS

// Backend is where the server reads from; StoreBackend reads a store
// directory, tests pass functions over in-memory graphs.
type Backend struct {
	// View returns the graph at a time (zero = latest).
	View func(ctx context.Context, at time.Time) (*graph.View, error)
	// Snapshots lists every manifest (nil: not available).
	Snapshots func(ctx context.Context) ([]graph.Manifest, error)
	// Diff compares two points ("" = the defaults of `permgraph diff`).
	Diff func(ctx context.Context, from, to string) (*queries.DiffResult, error)
	// Alerts lists stored alerts (nil: none).
	Alerts func(ctx context.Context) ([]rules.Alert, error)
}

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// AnyHost accepts any Host header. By default only loopback names and
	// addresses are accepted, which defeats DNS rebinding against a
	// loopback listener.
	AnyHost bool
}

// ErrBadRequest marks a caller mistake (HTTP 400).
var ErrBadRequest = errors.New("bad request")

type server struct {
	b   Backend
	o   Options
	log *slog.Logger
}

// CSP is the Content-Security-Policy of every response but the report.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// New returns the web UI's handler.
func New(b Backend, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{b: b, o: o, log: o.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.static("static/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /static/app.js", s.static("static/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /static/app.css", s.static("static/app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /static/report.css", s.reportCSS)
	mux.HandleFunc("GET /report", s.reportHTML)
	mux.HandleFunc("GET /api/search", s.api(s.search))
	mux.HandleFunc("GET /api/who-can", s.api(s.whoCan))
	mux.HandleFunc("GET /api/path", s.api(s.path))
	mux.HandleFunc("GET /api/what-can", s.api(s.whatCan))
	mux.HandleFunc("GET /api/snapshots", s.api(s.snapshots))
	mux.HandleFunc("GET /api/diff", s.api(s.diff))
	mux.HandleFunc("GET /api/alerts", s.api(s.alerts))
	mux.HandleFunc("GET /api/report", s.api(s.reportJSON))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	return s.guard(mux)
}

// guard applies the method, host and header policy to every request.
func (s *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "read-only: only GET and HEAD")
			return
		}
		if !s.o.AnyHost && !LoopbackHost(r.Host) {
			writeError(w, http.StatusForbidden, "host not allowed: use 127.0.0.1, [::1] or localhost")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// LoopbackHost reports whether a Host header names the local machine.
func LoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *server) static(name, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := static.ReadFile(name)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "missing asset")
			return
		}
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(b)
	}
}

func (s *server) reportCSS(w http.ResponseWriter, r *http.Request) {
	b, err := report.Asset("report.css")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "missing asset")
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(b)
}

func (s *server) buildReport(ctx context.Context, q map[string][]string) (*report.Report, error) {
	v, err := s.b.View(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	in := report.Input{View: v}
	since := first(q, "since")
	if s.b.Diff != nil {
		d, err := s.b.Diff(ctx, since, "")
		if err != nil {
			return nil, err
		}
		if since != "" || hasPrevious(d) {
			in.Diff = d
		}
	}
	if s.b.Alerts != nil {
		if in.Alerts, err = s.b.Alerts(ctx); err != nil {
			s.log.Warn("report without alerts", "err", err)
			in.Alerts = nil
		}
	}
	return report.Build(ctx, in)
}

func hasPrevious(d *queries.DiffResult) bool {
	for _, s := range d.Sources {
		if s.From != "" {
			return true
		}
	}
	return false
}

// reportHTML serves the self-contained review report; its inline style
// and script are allowed by hash (the same policy as its meta tag).
func (s *server) reportHTML(w http.ResponseWriter, r *http.Request) {
	rep, err := s.buildReport(r.Context(), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	css, err1 := report.Asset("report.css")
	js, err2 := report.Asset("report.js")
	if err := errors.Join(err1, err2); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src "+report.CSPHash(string(css))+
		"; script-src "+report.CSPHash(string(js))+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := report.RenderHTML(w, rep, report.HTMLOptions{}); err != nil {
		s.log.Error("render report", "err", err)
	}
}

// api wraps a JSON endpoint: its value is written as indented JSON, its
// error as {"error": "..."} with 400 (caller's mistake) or 500.
func (s *server) api(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			s.log.Debug("write response", "path", r.URL.Path, "err", err)
		}
	}
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, queries.ErrNotFound), errors.Is(err, queries.ErrAmbiguous), errors.Is(err, report.ErrBadPoint):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, graph.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(map[string]string{"error": msg})
}

func first(q map[string][]string, k string) string {
	if v := q[k]; len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func flag(q map[string][]string, k string) bool {
	switch strings.ToLower(first(q, k)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (s *server) view(r *http.Request) (*graph.View, error) {
	var at time.Time
	if a := first(r.URL.Query(), "at"); a != "" {
		t, err := parseTime(a)
		if err != nil {
			return nil, err
		}
		at = t
	}
	v, err := s.b.View(r.Context(), at)
	if err != nil {
		return nil, err
	}
	if len(v.Manifests()) == 0 {
		return nil, fmt.Errorf("no complete snapshot yet: run `permgraph collect` first: %w", graph.ErrNotFound)
	}
	return v, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q: %w", s, ErrBadRequest)
}

// SearchHit is one node found by /api/search.
type SearchHit struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// search finds principals whose id, name or email contains q (case-insensitive).
func (s *server) search(r *http.Request) (any, error) {
	q := strings.ToLower(first(r.URL.Query(), "q"))
	limit, _ := strconv.Atoi(first(r.URL.Query(), "limit"))
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	v, err := s.view(r)
	if err != nil {
		return nil, err
	}
	hits := []SearchHit{}
	if q == "" {
		return hits, nil
	}
	for i := 0; i < v.NumNodes() && len(hits) < limit; i++ {
		n := graph.NodeID(i)
		if !v.NodeKind(n).IsPrincipal() {
			continue
		}
		id := v.NodeIDString(n)
		node := v.Node(n)
		if strings.Contains(strings.ToLower(id), q) || strings.Contains(strings.ToLower(node.Name), q) || strings.Contains(strings.ToLower(node.Email), q) {
			hits = append(hits, SearchHit{ID: id, Kind: node.Kind.String(), Name: node.Name, Email: node.Email})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Name != hits[j].Name {
			return hits[i].Name < hits[j].Name
		}
		return hits[i].ID < hits[j].ID
	})
	return hits, nil
}

func (s *server) whoCan(r *http.Request) (any, error) {
	q := r.URL.Query()
	v, err := s.view(r)
	if err != nil {
		return nil, err
	}
	o := queries.WhoCanOptions{Cloud: strings.ToLower(first(q, "cloud")), Scope: first(q, "scope"),
		IncludeConditional: flag(q, "include_conditional"), DirectOnly: flag(q, "direct_only"), Paths: flag(q, "paths")}
	switch o.Cloud {
	case "", "aws", "azure", "gcp":
	default:
		return nil, fmt.Errorf("unknown cloud %q: want aws, azure or gcp: %w", o.Cloud, ErrBadRequest)
	}
	what := first(q, "what")
	if what == "" || strings.EqualFold(what, "deploy") {
		return queries.WhoCanDeploy(v, o)
	}
	res, err := queries.WhoCanAction(v, what, first(q, "resource"), o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return res, nil
}

func (s *server) path(r *http.Request) (any, error) {
	q := r.URL.Query()
	from, to := first(q, "from"), first(q, "to")
	if from == "" || to == "" {
		return nil, fmt.Errorf("path: want from and to: %w", ErrBadRequest)
	}
	v, err := s.view(r)
	if err != nil {
		return nil, err
	}
	depth, _ := strconv.Atoi(first(q, "max_depth"))
	all := flag(q, "all")
	return queries.FindPath(v, from, to, queries.PathOptions{MaxDepth: depth, All: all, IncludeConditional: all})
}

func (s *server) whatCan(r *http.Request) (any, error) {
	q := r.URL.Query()
	p := first(q, "principal")
	if p == "" {
		return nil, fmt.Errorf("what-can: want principal: %w", ErrBadRequest)
	}
	v, err := s.view(r)
	if err != nil {
		return nil, err
	}
	o := queries.WhatCanOptions{Service: first(q, "service")}
	if o.Service != "" {
		if o.Actions, err = catalog.LoadAWSActions(); err != nil {
			return nil, err
		}
	}
	res, err := queries.WhatCan(v, p, o)
	if err != nil && !errors.Is(err, queries.ErrNotFound) && !errors.Is(err, queries.ErrAmbiguous) && o.Service != "" {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return res, err
}

func (s *server) snapshots(r *http.Request) (any, error) {
	if s.b.Snapshots == nil {
		return []graph.Manifest{}, nil
	}
	ms, err := s.b.Snapshots(r.Context())
	if err != nil {
		return nil, err
	}
	if ms == nil {
		ms = []graph.Manifest{}
	}
	return ms, nil
}

func (s *server) diff(r *http.Request) (any, error) {
	if s.b.Diff == nil {
		return nil, fmt.Errorf("diff: no store: %w", graph.ErrNotFound)
	}
	q := r.URL.Query()
	return s.b.Diff(r.Context(), first(q, "from"), first(q, "to"))
}

func (s *server) alerts(r *http.Request) (any, error) {
	out := []rules.Alert{}
	if s.b.Alerts == nil {
		return out, nil
	}
	q := r.URL.Query()
	var since, until time.Time
	var err error
	if v := first(q, "since"); v != "" {
		if since, err = parseTime(v); err != nil {
			return nil, err
		}
	}
	if v := first(q, "until"); v != "" {
		if until, err = parseTime(v); err != nil {
			return nil, err
		}
	}
	list, err := s.b.Alerts(r.Context())
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if (!since.IsZero() && a.Time.Before(since)) || (!until.IsZero() && a.Time.After(until)) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *server) reportJSON(r *http.Request) (any, error) {
	return s.buildReport(r.Context(), r.URL.Query())
}
