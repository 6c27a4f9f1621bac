// Command workspacesim measures the Google Workspace collector: it serves a
// generated customer from an in-process fake Directory API
// (collectors/workspace/fakedirectory) with a fixed per-request latency and
// runs the real Live collector (real google-api-go-client service, real
// retry transport) against it into an in-memory graph.Collection.
//
//	go run ./bench/workspacesim -users 50000 -groups 20000 -latency 50ms
//
// It prints requests, wall time and peak RSS (VmHWM). The fake runs in the
// same process, so RSS includes the fake's data and its JSON encoding: it is
// an upper bound for the collector.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"permgraph/collectors/workspace"
	"permgraph/collectors/workspace/fakedirectory"
	"permgraph/graph"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "workspacesim:", err)
		os.Exit(1)
	}
}

func run() error {
	users := flag.Int("users", 50000, "users in the generated customer")
	groups := flag.Int("groups", 20000, "groups in the generated customer")
	latency := flag.Duration("latency", 50*time.Millisecond, "fake API latency per request")
	concurrency := flag.Int("concurrency", 0, "members.list workers (0: the collector's default)")
	seed := flag.Uint64("seed", 1, "generator seed")
	saveRaw := flag.String("save-raw", "", "also record a raw capture into this directory")
	verbose := flag.Bool("v", false, "log the collector at info level")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	genStart := time.Now()
	d := fakedirectory.Generate("C0sim0001", *users, *groups, *seed)
	d.Latency = *latency
	memberships := 0
	for _, ms := range d.Members {
		memberships += len(ms)
	}
	genTime := time.Since(genStart)
	// The fake's data lives in this process too; report it so the
	// collector's share of the peak can be told apart.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	srv := httptest.NewServer(d)
	defer srv.Close()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// A plain client: the fake needs no token. Idle connections per host
	// match the worker count as the collector's own base transport does.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	l, err := workspace.NewLive(ctx, workspace.Options{Endpoint: srv.URL, HTTPClient: &http.Client{Transport: tr},
		Concurrency: *concurrency, SaveRawDir: *saveRaw, Logger: log})
	if err != nil {
		return err
	}
	sink := graph.NewCollection()
	start := time.Now()
	if err := l.Collect(ctx, sink); err != nil {
		return err
	}
	wall := time.Since(start)
	var nodes, edges, warnings int
	for _, g := range sink.Sources() {
		nodes += len(g.Nodes)
		edges += len(g.Edges)
		warnings += len(g.Warnings)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c := l.Counts()
	conc := *concurrency
	if conc == 0 {
		conc = workspace.DefaultConcurrency
	}
	fmt.Printf("customer: %d users, %d groups, %d memberships (generated in %s)\n", *users, *groups, memberships, genTime.Round(time.Millisecond))
	fmt.Printf("latency %s, concurrency %d\n", *latency, conc)
	fmt.Printf("requests: %d (pages %d, retries %d)\n", d.Requests(), c.Pages, l.Retries())
	fmt.Printf("graph: %d nodes, %d edges, %d warnings\n", nodes, edges, warnings)
	fmt.Printf("wall: %s (%.0f requests/s)\n", wall.Round(time.Millisecond), float64(d.Requests())/wall.Seconds())
	fmt.Printf("peak RSS (VmHWM): %s; Go heap in use: %d MiB after generating the fake, %d MiB live after collecting (graph held)\n",
		vmHWM(), before.HeapInuse>>20, ms.HeapInuse>>20)
	runtime.KeepAlive(sink) // the graph must count as live in the reading above
	runtime.KeepAlive(d)
	return nil
}

// vmHWM reads the peak resident set size from /proc/self/status (Linux).
func vmHWM() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
