// Command entrasim measures the Entra collector at scale: it serves a
// synthetic tenant from an in-process fake Microsoft Graph (users, groups,
// direct memberships, a few service principals and applications) with a
// fixed latency per request and a 429 every K requests, runs the real
// entra.Live collector against it and prints requests, requests per object,
// wall time and peak RSS.
//
//	go run ./bench/entrasim -users 50000 -groups 10000 -memberships 200000 -latency 50ms -throttle-every 500
//
// Peak RSS (VmHWM) covers the whole process: the collector, the
// in-memory graph it fills and the fake server, which generates pages on the
// fly and holds only the membership index.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"permgraph/collectors/entra"
	"permgraph/graph"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	users, groups, memberships, sps, apps int
	latency                               time.Duration
	throttleEvery                         int
	retryAfter                            string
	concurrency                           int
	seed                                  uint64
	verbose                               bool
}

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("entrasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.users, "users", 50000, "users in the tenant")
	fs.IntVar(&c.groups, "groups", 10000, "groups in the tenant")
	fs.IntVar(&c.memberships, "memberships", 200000, "direct memberships (user -> group, 2% group -> group)")
	fs.IntVar(&c.sps, "sps", 300, "service principals")
	fs.IntVar(&c.apps, "apps", 150, "applications")
	fs.DurationVar(&c.latency, "latency", 50*time.Millisecond, "server latency per request")
	fs.IntVar(&c.throttleEvery, "throttle-every", 500, "answer every K-th request with 429 (0: never)")
	fs.StringVar(&c.retryAfter, "retry-after", "1", "Retry-After of the 429s (seconds)")
	fs.IntVar(&c.concurrency, "concurrency", entra.DefaultConcurrency, "collector concurrency")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed of the tenant")
	fs.BoolVar(&c.verbose, "v", false, "log the collector at info level")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	sim := newTenant(c)
	srv := httptest.NewServer(sim)
	defer srv.Close()

	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelInfo
	}
	l, err := entra.NewLive(entra.Options{
		GraphEndpoint: srv.URL,
		Credential:    simCredential{},
		Concurrency:   c.concurrency,
		Logger:        slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	sink := graph.NewCollection()
	start := time.Now()
	err = l.Collect(ctx, sink)
	wall := time.Since(start)
	if err != nil {
		fmt.Fprintln(stderr, "collect:", err)
		return 1
	}
	var nodes, edges int
	for _, s := range sink.Sources() {
		nodes += len(s.Nodes)
		edges += len(s.Edges)
	}
	reqs := sim.requests.Load()
	objects := c.users + c.groups + c.sps + c.apps
	fmt.Fprintf(stdout, "tenant: %d users, %d groups, %d memberships, %d sps, %d apps; latency %s, 429 every %d requests (Retry-After %ss), concurrency %d\n",
		c.users, c.groups, c.memberships, c.sps, c.apps, c.latency, c.throttleEvery, c.retryAfter, c.concurrency)
	fmt.Fprintf(stdout, "graph: %d nodes, %d edges (%d memberships collected)\n", nodes, edges, l.Counts.Memberships)
	fmt.Fprintf(stdout, "requests: %d (%d answered 429, %d retried by kiota)\n", reqs, sim.throttled.Load(), l.Retries.Load())
	fmt.Fprintf(stdout, "requests per object: %.3f (objects = users+groups+sps+apps = %d); per group: %.2f\n",
		float64(reqs)/float64(objects), objects, float64(reqs)/float64(max(c.groups, 1)))
	fmt.Fprintf(stdout, "wall: %s (%.0f requests/s)\n", wall.Round(time.Millisecond), float64(reqs)/wall.Seconds())
	fmt.Fprintf(stdout, "peak RSS (VmHWM): %s; Go heap in use now: %d MiB\n", vmHWM(), heapMiB())
	return 0
}

func heapMiB() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse >> 20
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmHWM:")); ok {
			return strings.Join(strings.Fields(string(v)), " ")
		}
	}
	return "unknown"
}

// simCredential hands out a fixed fake token (the fake ignores it).
type simCredential struct{}

func (simCredential) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "entrasim", ExpiresOn: time.Now().Add(time.Hour)}, ctx.Err()
}

// tenant is the synthetic directory. Object i of a kind has a GUID-shaped
// id derived from i; members[g] lists group g's direct members (negative =
// group -1-x).
type tenant struct {
	c         config
	members   [][]int32
	requests  atomic.Int64
	throttled atomic.Int64
}

const (
	kUser = iota + 1
	kGroup
	kSP
	kApp
)

func oid(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012d", kind, i) }

func parseOID(s string) (kind, i int, ok bool) {
	if len(s) != 36 {
		return 0, 0, false
	}
	k, err1 := strconv.ParseInt(s[:8], 16, 32)
	n, err2 := strconv.Atoi(s[24:])
	return int(k), n, err1 == nil && err2 == nil
}

func newTenant(c config) *tenant {
	t := &tenant{c: c, members: make([][]int32, c.groups)}
	r := rand.New(rand.NewPCG(c.seed, 2))
	if c.groups == 0 {
		return t
	}
	for m := 0; m < c.memberships; m++ {
		g := r.IntN(c.groups)
		if r.IntN(50) == 0 && c.groups > 1 {
			sub := r.IntN(c.groups)
			if sub != g {
				t.members[g] = append(t.members[g], int32(-1-sub))
				continue
			}
		}
		t.members[g] = append(t.members[g], int32(r.IntN(max(c.users, 1))))
	}
	return t
}

func (t *tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := t.requests.Add(1)
	select {
	case <-time.After(t.c.latency):
	case <-r.Context().Done():
		return
	}
	if t.c.throttleEvery > 0 && n%int64(t.c.throttleEvery) == 0 {
		t.throttled.Add(1)
		w.Header().Set("Retry-After", t.c.retryAfter)
		writeJSON(w, 429, map[string]any{"error": map[string]any{"code": "TooManyRequests", "message": "throttled"}})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1.0")
	q := r.URL.Query()
	skip, _ := strconv.Atoi(q.Get("$skiptoken"))
	top, err := strconv.Atoi(q.Get("$top"))
	if err != nil || top <= 0 || top > 999 {
		top = 100 // Graph's default page size
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	var total int
	var item func(i int) map[string]any
	switch {
	case path == "/organization":
		writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "5e1f0000-0000-4000-8000-000000000000", "displayName": "entrasim"}}})
		return
	case path == "/users":
		total = t.c.users
		item = func(i int) map[string]any {
			return map[string]any{"id": oid(kUser, i), "displayName": "user " + strconv.Itoa(i),
				"userPrincipalName": "user" + strconv.Itoa(i) + "@sim.example", "accountEnabled": true, "userType": "Member",
				"mail": nil, "otherMails": []string{}, "createdDateTime": "2024-01-01T00:00:00Z"}
		}
	case path == "/groups":
		total = t.c.groups
		item = func(i int) map[string]any {
			return map[string]any{"id": oid(kGroup, i), "displayName": "group " + strconv.Itoa(i), "securityEnabled": true,
				"mailEnabled": false, "groupTypes": []string{}, "isAssignableToRole": false, "membershipRule": nil, "mail": nil}
		}
	case path == "/servicePrincipals":
		total = t.c.sps
		item = func(i int) map[string]any {
			return map[string]any{"id": oid(kSP, i), "appId": oid(kApp+10, i), "displayName": "sp " + strconv.Itoa(i),
				"servicePrincipalType": "Application", "accountEnabled": true, "appOwnerOrganizationId": nil}
		}
	case path == "/applications":
		total = t.c.apps
		item = func(i int) map[string]any {
			return map[string]any{"id": oid(kApp, i), "appId": oid(kApp+10, i), "displayName": "app " + strconv.Itoa(i)}
		}
	case len(seg) == 3 && seg[0] == "groups" && seg[2] == "members":
		_, g, ok := parseOID(seg[1])
		if !ok || g >= len(t.members) {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "Request_ResourceNotFound"}})
			return
		}
		ms := t.members[g]
		total = len(ms)
		item = func(i int) map[string]any {
			if m := ms[i]; m < 0 {
				return map[string]any{"@odata.type": "#microsoft.graph.group", "id": oid(kGroup, int(-1-m))}
			}
			return map[string]any{"@odata.type": "#microsoft.graph.user", "id": oid(kUser, int(ms[i]))}
		}
	case len(seg) == 3 && seg[2] == "owners":
		// one owner for every tenth object
		_, i, _ := parseOID(seg[1])
		if i%10 == 0 {
			total = 1
		}
		item = func(int) map[string]any {
			return map[string]any{"@odata.type": "#microsoft.graph.user", "id": oid(kUser, i%max(t.c.users, 1))}
		}
	case strings.HasPrefix(path, "/roleManagement/directory/"):
		total = 0 // no directory roles in the simulation
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "Request_ResourceNotFound", "message": path}})
		return
	}
	end := min(skip+top, total)
	vals := make([]any, 0, max(end-skip, 0))
	for i := skip; i < end; i++ {
		vals = append(vals, item(i))
	}
	body := map[string]any{"value": vals}
	if end < total {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skiptoken", strconv.Itoa(end))
		body["@odata.nextLink"] = "http://" + r.Host + r.URL.Path + "?" + next.Encode()
	}
	writeJSON(w, 200, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
