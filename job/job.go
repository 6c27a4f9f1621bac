// Package job is the scheduled snapshot job (`permgraph snapshot`): it runs
// every source of permgraph.yaml, each as its own snapshot, a bounded number
// at a time, applies retention, and reports a summary. A failed source
// keeps its last good snapshot (ingest records a partial one) while the
// others land. One job runs per store at a time (an flock on
// <db>/snapshot-job.lock, released by the kernel if the process dies).
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
	"permgraph/internal/httpstats"
)

// ErrJobRunning is returned (wrapped) when another snapshot job holds the
// store's job lock.
var ErrJobRunning = errors.New("another snapshot job is running on this store")

// Builder makes the collector of one configured source (all.Build in
// production; tests may point sources at fakes).
type Builder func(ctx context.Context, s config.Source) (all.Built, error)

// Runner runs the job.
type Runner struct {
	Config *config.Config
	DB     string
	Build  Builder
	// Open opens the store read-write. Runner shares one open store between
	// sources that write at the same time (Badger allows one opener per
	// directory) and closes it when none needs it, so queries in other
	// processes only wait for the short write phases.
	Open   func(ctx context.Context) (*graph.Store, error)
	Logger *slog.Logger
	// Progress, when set, is called every ProgressEvery with the running
	// state of every source (the CLI draws a status line or logs it).
	Progress      func([]SourceStatus)
	ProgressEvery time.Duration
	// Now gives the snapshot time of a run (default time.Now).
	Now func() time.Time
}

// SourceStatus is one source's state during or after a run.
type SourceStatus struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	State     string   `json:"state"` // waiting, collecting, done, failed
	Snapshots []string `json:"snapshots"`
	Nodes     int64    `json:"nodes"`
	Edges     int64    `json:"edges"`
	// Requests counts HTTP requests (every attempt); Throttled the 429 and
	// 5xx answers among them, which the SDKs retried (internal/httpstats).
	Requests  int64             `json:"requests"`
	Throttled int64             `json:"throttled"`
	Warnings  []string          `json:"warnings"`
	Error     string            `json:"error,omitempty"`
	Started   time.Time         `json:"started"`
	Duration  time.Duration     `json:"duration_ns"`
	Manifests []graph.Manifest  `json:"-"`
	Extra     map[string]string `json:"extra,omitempty"`
}

// Summary is the result of one run.
type Summary struct {
	At       time.Time          `json:"at"`
	Duration time.Duration      `json:"duration_ns"`
	Sources  []SourceStatus     `json:"sources"`
	Pruned   *graph.PruneResult `json:"pruned,omitempty"`
	Failed   int                `json:"failed"`
}

// RunOnce runs every source once. It returns an error naming every failed
// source (the summary is complete either way).
func (r *Runner) RunOnce(ctx context.Context) (*Summary, error) {
	unlock, err := lockJob(r.DB)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return r.run(ctx)
}

// Every runs the job now and then every interval until ctx ends. A run
// never overlaps the previous one (the next starts interval after the
// previous started, or immediately if it took longer). onRun receives each
// summary and error.
func (r *Runner) Every(ctx context.Context, interval time.Duration, onRun func(*Summary, error)) error {
	unlock, err := lockJob(r.DB)
	if err != nil {
		return err
	}
	defer unlock()
	for {
		start := time.Now()
		s, err := r.run(ctx)
		if ctx.Err() != nil {
			onRun(s, err)
			return nil
		}
		onRun(s, err)
		wait := interval - time.Since(start)
		if wait < 0 {
			wait = 0
		}
		r.log().Info("next snapshot run", "in", wait.Round(time.Second).String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (r *Runner) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

type tracked struct {
	mu     sync.Mutex
	status SourceStatus
	nodes  atomic.Int64
	edges  atomic.Int64
	http   httpstats.Counter
}

func (t *tracked) snapshot() SourceStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.status
	s.Nodes, s.Edges = t.nodes.Load(), t.edges.Load()
	s.Requests, s.Throttled = t.http.Requests(), t.http.Throttled()
	if s.State == "collecting" {
		s.Duration = time.Since(s.Started)
	}
	return s
}

func (r *Runner) run(ctx context.Context) (*Summary, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	at := now().UTC()
	start := time.Now()
	cfg := r.Config
	sh := &sharedStore{open: r.Open}
	ts := make([]*tracked, len(cfg.Sources))
	for i, s := range cfg.Sources {
		ts[i] = &tracked{status: SourceStatus{Name: s.Label(), Type: s.Type, State: "waiting"}}
	}
	stopProgress := r.startProgress(ts)
	sem := make(chan struct{}, max(cfg.Concurrency, 1))
	var wg sync.WaitGroup
	for i, s := range cfg.Sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ts[i].mu.Lock()
				ts[i].status.State, ts[i].status.Error = "failed", "not started: "+ctx.Err().Error()
				ts[i].mu.Unlock()
				return
			}
			defer func() { <-sem }()
			r.runSource(ctx, s, at, sh, ts[i])
		}()
	}
	wg.Wait()
	stopProgress()
	sum := &Summary{At: at}
	var errs []error
	for _, t := range ts {
		st := t.snapshot()
		if st.State == "failed" {
			sum.Failed++
			errs = append(errs, fmt.Errorf("source %s: %s", st.Name, st.Error))
		}
		sum.Sources = append(sum.Sources, st)
	}
	if ctx.Err() == nil {
		pr, err := r.retention(ctx, sh)
		if err != nil {
			errs = append(errs, err)
		}
		sum.Pruned = pr
	}
	sum.Duration = time.Since(start)
	return sum, errors.Join(errs...)
}

func (r *Runner) runSource(ctx context.Context, s config.Source, at time.Time, sh *sharedStore, t *tracked) {
	log := r.log().With("source", s.Label())
	t.mu.Lock()
	t.status.State, t.status.Started = "collecting", time.Now()
	t.mu.Unlock()
	finish := func(ms []graph.Manifest, err error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.status.Duration = time.Since(t.status.Started)
		t.status.Manifests = ms
		t.status.Snapshots = []string{}
		t.status.Warnings = []string{}
		for _, m := range ms {
			t.status.Snapshots = append(t.status.Snapshots, m.ID)
			for _, w := range m.Warnings {
				t.status.Warnings = append(t.status.Warnings, m.Source+": "+w)
			}
		}
		if err != nil {
			t.status.State, t.status.Error = "failed", err.Error()
			log.Error("source failed; its last complete snapshot stays current", "err", err, "duration", t.status.Duration.String())
			return
		}
		t.status.State = "done"
		log.Info("source done", "snapshots", t.status.Snapshots, "nodes", t.nodes.Load(), "edges", t.edges.Load(), "warnings", len(t.status.Warnings), "duration", t.status.Duration.String())
	}
	if timeout, _ := s.TimeoutDuration(); timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	b, err := r.Build(ctx, s)
	if err != nil {
		finish(nil, err)
		return
	}
	ctx = httpstats.NewContext(ctx, &t.http)
	c := &countingCollector{c: b.Collector, t: t}
	ms, err := ingest.Run(ctx, c, sh.opener(), ingest.Options{At: at, SourceHint: b.Hint, Logger: log})
	finish(ms, err)
}

// retention applies the configured prune after a run.
func (r *Runner) retention(ctx context.Context, sh *sharedStore) (*graph.PruneResult, error) {
	ret := r.Config.Retention
	if ret.Keep <= 0 && ret.OlderThan == "" {
		return nil, nil
	}
	po := graph.PruneOptions{Keep: ret.Keep}
	if ret.OlderThan != "" {
		d, err := config.ParseDuration(ret.OlderThan)
		if err != nil {
			return nil, fmt.Errorf("retention: %w", err)
		}
		po.OlderThan = d
	}
	st, err := sh.opener()(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	defer st.Close()
	res, err := st.(*sharedRef).s.Prune(ctx, po)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return &res, nil
}

// startProgress calls r.Progress periodically until the returned func runs.
func (r *Runner) startProgress(ts []*tracked) func() {
	if r.Progress == nil {
		return func() {}
	}
	every := r.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	report := func() {
		out := make([]SourceStatus, len(ts))
		for i, t := range ts {
			out[i] = t.snapshot()
		}
		r.Progress(out)
	}
	go func() {
		defer wg.Done()
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-done:
				report()
				return
			case <-tk.C:
				report()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// countingCollector counts what a collector emits, for progress.
type countingCollector struct {
	c ingest.Collector
	t *tracked
}

func (cc *countingCollector) Collect(ctx context.Context, sink graph.Sink) error {
	return cc.c.Collect(ctx, countingSink{Sink: sink, t: cc.t})
}

// CallerIdentities forwards the wrapped collector's identities.
func (cc *countingCollector) CallerIdentities() []string { return ingest.CallerIdentities(cc.c) }

type countingSink struct {
	graph.Sink
	t *tracked
}

func (s countingSink) AddNode(source string, n graph.Node) error {
	s.t.nodes.Add(1)
	return s.Sink.AddNode(source, n)
}

func (s countingSink) AddEdge(source string, e graph.Edge) error {
	s.t.edges.Add(1)
	return s.Sink.AddEdge(source, e)
}

// sharedStore hands one open store to every source that needs it at the
// same moment and closes it when the last one is done.
type sharedStore struct {
	open func(ctx context.Context) (*graph.Store, error)
	mu   sync.Mutex
	s    *graph.Store
	refs int
}

type sharedRef struct {
	sh     *sharedStore
	s      *graph.Store
	closed bool
}

func (sh *sharedStore) opener() ingest.Opener {
	return func(ctx context.Context) (ingest.Store, error) {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		if sh.s == nil {
			s, err := sh.open(ctx)
			if err != nil {
				return nil, err
			}
			sh.s = s
		}
		sh.refs++
		return &sharedRef{sh: sh, s: sh.s}, nil
	}
}

func (r *sharedRef) WriteSnapshots(ctx context.Context, gs []*graph.SourceGraph, at time.Time) ([]graph.Manifest, error) {
	return r.s.WriteSnapshots(ctx, gs, at)
}

func (r *sharedRef) WriteSnapshotsAndRelease(ctx context.Context, gs []*graph.SourceGraph, at time.Time) ([]graph.Manifest, error) {
	return r.s.WriteSnapshotsAndRelease(ctx, gs, at)
}

func (r *sharedRef) RecordPartial(ctx context.Context, source string, at time.Time, reasons []string) (graph.Manifest, error) {
	return r.s.RecordPartial(ctx, source, at, reasons)
}

// RecordPartialRun lets ingest store the failed run's identities and window.
func (r *sharedRef) RecordPartialRun(ctx context.Context, source string, at time.Time, reasons []string, run *graph.CollectionRun) (graph.Manifest, error) {
	return r.s.RecordPartialRun(ctx, source, at, reasons, run)
}

// LatestAt and ReadSnapshot give ingest its context snapshots.
func (r *sharedRef) LatestAt(ctx context.Context, at time.Time) ([]graph.Manifest, error) {
	return r.s.LatestAt(ctx, at)
}

func (r *sharedRef) ReadSnapshot(ctx context.Context, m graph.Manifest) (*graph.SourceGraph, error) {
	return r.s.ReadSnapshot(ctx, m)
}

func (r *sharedRef) Close() error {
	sh := r.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	sh.refs--
	if sh.refs > 0 {
		return nil
	}
	s := sh.s
	sh.s = nil
	return s.Close()
}

// SortedWarnings flattens every source's warnings (for the summary).
func (s *Summary) SortedWarnings() []string {
	var out []string
	for _, src := range s.Sources {
		out = append(out, src.Warnings...)
	}
	sort.Strings(out)
	return out
}

// lockPath is the job lock file inside the store directory.
func lockPath(db string) string { return filepath.Join(db, "snapshot-job.lock") }

func ensureDir(db string) error {
	if err := os.MkdirAll(db, 0o700); err != nil {
		return fmt.Errorf("create store directory: %w", err)
	}
	return nil
}
