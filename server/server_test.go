package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"permgraph/graph"
	"permgraph/queries"
	"permgraph/report/reporttest"
	"permgraph/server"
)

func hostileServer(t *testing.T) *httptest.Server {
	t.Helper()
	v := reporttest.HostileView(t)
	b := server.Backend{
		View: func(context.Context, time.Time) (*graph.View, error) { return v, nil },
		Snapshots: func(context.Context) ([]graph.Manifest, error) {
			return v.Manifests(), nil
		},
		Diff: func(ctx context.Context, from, to string) (*queries.DiffResult, error) {
			return queries.Diff(ctx, v, nil, queries.DiffOptions{})
		},
	}
	ts := httptest.NewServer(server.New(b, server.Options{}))
	t.Cleanup(ts.Close)
	return ts
}

func TestServerPolicy(t *testing.T) {
	ts := hostileServer(t)
	tests := []struct {
		name, method, path, host string
		code                     int
		want                     string
	}{
		{"index", "GET", "/", "", 200, `<script src="/static/app.js">`},
		{"head", "HEAD", "/api/who-can", "", 200, ""},
		{"post refused", "POST", "/api/who-can", "", 405, "read-only"},
		{"put refused", "PUT", "/", "", 405, "read-only"},
		{"delete refused", "DELETE", "/api/alerts", "", 405, "read-only"},
		{"rebinding host refused", "GET", "/api/who-can", "evil.example:80", 403, "host not allowed"},
		{"localhost ok", "GET", "/api/snapshots", "localhost:8080", 200, "azure:hostile-tenant@1"},
		{"unknown api", "GET", "/api/nope", "", 404, "no such endpoint"},
		{"who-can", "GET", "/api/who-can?include_conditional=1", "", 200, `"conditional-carl"`},
		{"bad cloud", "GET", "/api/who-can?cloud=mars", "", 400, "unknown cloud"},
		{"path", "GET", "/api/path?from=entra:user:guest&to=deploy", "", 200, `"edge": "MemberOf"`},
		{"path missing", "GET", "/api/path?from=x", "", 400, "want from and to"},
		{"what-can", "GET", "/api/what-can?principal=bob", "", 200, `"capabilities"`},
		{"what-can unknown", "GET", "/api/what-can?principal=nobody", "", 400, "no node"},
		{"search", "GET", "/api/search?q=guest", "", 200, `"@guest"`},
		{"diff", "GET", "/api/diff", "", 200, `"capabilities"`},
		{"alerts none", "GET", "/api/alerts", "", 200, "[]"},
		{"report json", "GET", "/api/report", "", 200, `"risky_members"`},
		{"report html", "GET", "/report", "", 200, "&lt;img src=x onerror=alert(1)&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.code, body)
			}
			if !strings.Contains(string(body), tt.want) {
				t.Errorf("body lacks %q:\n%.500s", tt.want, body)
			}
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP %q", csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers %v", h)
			}
			if strings.HasPrefix(tt.path, "/api/") && tt.code < 300 && tt.method == "GET" {
				if !json.Valid(body) {
					t.Errorf("invalid JSON")
				}
			}
		})
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true, "127.1.2.3": true, "LOCALHOST": true,
		"10.0.0.1:80": false, "evil.example": false, "localhost.evil.example:80": false, "": false,
	} {
		if got := server.LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
