package gcpiam

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGCP speaks the Resource Manager v3 and IAM v1 REST surface the
// collector uses, with real JSON shapes: folders/projects lists paged by
// nextPageToken, getIamPolicy as POST ...:getIamPolicy (v3 body
// {"options":{"requestedPolicyVersion":3}}; IAM v1 for service accounts
// takes options.requestedPolicyVersion in the query), roles lists with
// view=FULL. One server serves both APIs (paths v3/... and v1/...).
type fakeGCP struct {
	t        testing.TB
	org      map[string]any
	folders  map[string][]map[string]any // parent -> folders
	projects map[string][]map[string]any // parent -> projects
	policies map[string]any              // resource name -> policy
	sas      map[string][]map[string]any // projects/<id> -> accounts
	roles    map[string][]map[string]any // parent -> roles
	// pageSize pages every list this many items at a time (0: all at once).
	pageSize int
	// failures: "METHOD path" -> queued responses served before the normal one.
	mu       sync.Mutex
	failures map[string][]fakeFailure
	// hang makes a request to this path block until the client gives up.
	hang    string
	latency time.Duration

	requests atomic.Int64
}

type fakeFailure struct {
	status     int
	retryAfter string
	body       string
}

func newFake(t testing.TB) *fakeGCP {
	return &fakeGCP{t: t, folders: map[string][]map[string]any{}, projects: map[string][]map[string]any{},
		policies: map[string]any{}, sas: map[string][]map[string]any{}, roles: map[string][]map[string]any{},
		failures: map[string][]fakeFailure{}}
}

func (f *fakeGCP) fail(method, path string, ff ...fakeFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[method+" "+path] = append(f.failures[method+" "+path], ff...)
}

func googleError(code int, status, reason, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": msg, "status": status,
		"errors": []any{map[string]any{"message": msg, "domain": "global", "reason": reason}},
	}})
	return string(b)
}

func (f *fakeGCP) server() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	f.t.Cleanup(srv.Close)
	return srv
}

func (f *fakeGCP) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	if r.Header.Get("Authorization") != "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		http.Error(w, "bad auth", 401)
		return
	}
	path := r.URL.Path
	if f.hang != "" && path == f.hang {
		// Read the body first: only then does the server notice the client
		// hanging up (and cancel r.Context()).
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	key := r.Method + " " + path
	f.mu.Lock()
	if q := f.failures[key]; len(q) > 0 {
		ff := q[0]
		f.failures[key] = q[1:]
		f.mu.Unlock()
		if ff.retryAfter != "" {
			w.Header().Set("Retry-After", ff.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(ff.status)
		io.WriteString(w, ff.body)
		return
	}
	f.mu.Unlock()

	rest := strings.TrimPrefix(path, "/")
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(rest, "v3/") && strings.HasSuffix(rest, ":getIamPolicy"):
		var req struct {
			Options struct {
				RequestedPolicyVersion int `json:"requestedPolicyVersion"`
			} `json:"options"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Options.RequestedPolicyVersion != 3 {
			f.writeErr(w, 400, "INVALID_ARGUMENT", "badRequest", "test fake: requestedPolicyVersion must be 3")
			return
		}
		f.policy(w, strings.TrimSuffix(strings.TrimPrefix(rest, "v3/"), ":getIamPolicy"))
	case r.Method == http.MethodPost && strings.HasPrefix(rest, "v1/") && strings.HasSuffix(rest, ":getIamPolicy"):
		if r.URL.Query().Get("options.requestedPolicyVersion") != "3" {
			f.writeErr(w, 400, "INVALID_ARGUMENT", "badRequest", "test fake: options.requestedPolicyVersion must be 3")
			return
		}
		f.policy(w, strings.TrimSuffix(strings.TrimPrefix(rest, "v1/"), ":getIamPolicy"))
	case r.Method == http.MethodGet && rest == "v3/folders":
		f.list(w, r, "folders", f.folders[r.URL.Query().Get("parent")])
	case r.Method == http.MethodGet && rest == "v3/projects":
		f.list(w, r, "projects", f.projects[r.URL.Query().Get("parent")])
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "v3/organizations/"):
		if f.org == nil || "organizations/"+strings.TrimPrefix(rest, "v3/organizations/") != f.org["name"] {
			f.writeErr(w, 403, "PERMISSION_DENIED", "forbidden", "The caller does not have permission")
			return
		}
		writeJSON(w, f.org)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "v3/projects/"):
		id := strings.TrimPrefix(rest, "v3/projects/")
		for _, ps := range f.projects {
			for _, p := range ps {
				if p["projectId"] == id {
					writeJSON(w, p)
					return
				}
			}
		}
		f.writeErr(w, 403, "PERMISSION_DENIED", "forbidden", "Permission denied on resource project "+id+" (or it may not exist).")
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "v1/") && strings.HasSuffix(rest, "/serviceAccounts"):
		if r.URL.Query().Get("pageSize") != "100" {
			f.writeErr(w, 400, "INVALID_ARGUMENT", "badRequest", "test fake: want pageSize=100")
			return
		}
		f.list(w, r, "accounts", f.sas[strings.TrimSuffix(strings.TrimPrefix(rest, "v1/"), "/serviceAccounts")])
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "v1/") && strings.HasSuffix(rest, "/roles"):
		if r.URL.Query().Get("view") != "FULL" {
			f.writeErr(w, 400, "INVALID_ARGUMENT", "badRequest", "test fake: want view=FULL")
			return
		}
		f.list(w, r, "roles", f.roles[strings.TrimSuffix(strings.TrimPrefix(rest, "v1/"), "/roles")])
	default:
		f.writeErr(w, 404, "NOT_FOUND", "notFound", "test fake: no route for "+r.Method+" "+path)
	}
}

func (f *fakeGCP) writeErr(w http.ResponseWriter, code int, status, reason, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	io.WriteString(w, googleError(code, status, reason, msg))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeGCP) policy(w http.ResponseWriter, resource string) {
	p, ok := f.policies[resource]
	if !ok {
		f.writeErr(w, 404, "NOT_FOUND", "notFound", "Resource "+resource+" not found")
		return
	}
	writeJSON(w, p)
}

// pageToken is opaque, with characters that need query escaping.
func pageToken(i int) string { return fmt.Sprintf("tok/%d+=", i) }

func (f *fakeGCP) list(w http.ResponseWriter, r *http.Request, field string, items []map[string]any) {
	start := 0
	if tok := r.URL.Query().Get("pageToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(tok, "tok/"), "+="))
		if err != nil || pageToken(n) != tok {
			f.writeErr(w, 400, "INVALID_ARGUMENT", "badRequest", "test fake: bad page token "+tok)
			return
		}
		start = n
	}
	end := len(items)
	if f.pageSize > 0 && start+f.pageSize < end {
		end = start + f.pageSize
	}
	resp := map[string]any{}
	if start < end {
		resp[field] = items[start:end]
	}
	if end < len(items) {
		resp["nextPageToken"] = pageToken(end)
	}
	writeJSON(w, resp)
}
