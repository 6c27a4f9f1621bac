package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/graph"
)

// chunk is one parsed view chunk record.
type chunk struct {
	ViewMeta
	index  int
	offset int64
}

func chunkMeta(r *kgo.Record) (chunk, error) {
	var c chunk
	c.ID = headerValue(r, hView)
	at, err := time.Parse(time.RFC3339Nano, headerValue(r, hAt))
	if err != nil {
		return c, fmt.Errorf("view chunk %q: time: %w", r.Key, err)
	}
	c.At = at
	i, n, ok := strings.Cut(headerValue(r, hChunk), "/")
	if !ok {
		return c, fmt.Errorf("view chunk %q: no chunk header", r.Key)
	}
	if c.index, err = strconv.Atoi(i); err == nil {
		c.Chunks, err = strconv.Atoi(n)
	}
	if err == nil {
		c.offset, err = strconv.ParseInt(headerValue(r, hOffset), 10, 64)
	}
	if err == nil {
		c.Size, err = strconv.ParseInt(headerValue(r, hSize), 10, 64)
	}
	if err != nil {
		return c, fmt.Errorf("view chunk %q: %w", r.Key, err)
	}
	c.SHA256 = headerValue(r, hSHA)
	if c.ID == "" || c.index < 0 || c.index >= c.Chunks || c.offset < 0 || c.offset+int64(len(r.Value)) > c.Size {
		return c, fmt.Errorf("view chunk %q: inconsistent headers", r.Key)
	}
	return c, nil
}

// LoadedView is a view received from the view topic.
type LoadedView struct {
	ViewMeta
	View     *graph.View
	Received time.Time
}

// ViewSet holds the views received from the view topic (the Keep newest)
// and serves, for an event time, the newest view at or before it
// (rules.Graph). It is safe for concurrent use: Follow adds views while
// detection reads them.
type ViewSet struct {
	Conn  Conn
	Topic string
	Dir   string // where assembled view files are written (a private temp dir if empty)
	Keep  int    // views kept in memory, default 3
	Log   *slog.Logger

	mu      sync.RWMutex
	views   []*LoadedView // oldest first
	pending map[string]*pendingView
	empty   *graph.View
	swaps   int
	ready   chan struct{}
	once    sync.Once
	tmp     string
}

type pendingView struct {
	meta ViewMeta
	f    *os.File
	path string
	got  map[int]bool
}

// NewViewSet returns an empty set; call Follow to fill it.
func NewViewSet(conn Conn, topic string, log *slog.Logger) *ViewSet {
	return &ViewSet{Conn: conn, Topic: topic, Log: log, pending: map[string]*pendingView{}, ready: make(chan struct{}),
		empty: graph.NewViewFromGraphs(time.Time{}, nil)}
}

// Ready is closed once the topic has been read up to its end as of Follow's
// start (the newest published view is loaded, if any).
func (s *ViewSet) Ready() <-chan struct{} { return s.ready }

// Swaps counts views added after Ready.
func (s *ViewSet) Swaps() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.swaps
}

// Views returns the loaded views, oldest first.
func (s *ViewSet) Views() []*LoadedView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.views)
}

// Pick returns the view for an event at t: the newest at or before t, else
// the oldest (nil when none), and whether a newer view at or before t is
// still being received.
func (s *ViewSet) Pick(t time.Time) (*LoadedView, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var lv *LoadedView
	for i := len(s.views) - 1; i >= 0; i-- {
		if !s.views[i].At.After(t) {
			lv = s.views[i]
			break
		}
	}
	if lv == nil && len(s.views) > 0 {
		lv = s.views[0]
	}
	pending := false
	for _, p := range s.pending {
		if !p.meta.At.After(t) && (lv == nil || p.meta.At.After(lv.At)) {
			pending = true
		}
	}
	return lv, pending
}

// ViewAt implements rules.Graph.
func (s *ViewSet) ViewAt(_ context.Context, t time.Time) (*graph.View, error) {
	if lv, _ := s.Pick(t); lv != nil {
		return lv.View, nil
	}
	return s.empty, nil
}

// Follow consumes the view topic from its start until ctx is done,
// assembling chunks into view files and swapping each complete view in.
func (s *ViewSet) Follow(ctx context.Context) error {
	defer s.once.Do(func() { close(s.ready) })
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "permgraph-views-")
		if err != nil {
			return fmt.Errorf("view feed: %w", err)
		}
		s.tmp, s.Dir = d, d
		defer os.RemoveAll(d)
	}
	cl, err := s.Conn.NewClient(kgo.ConsumeTopics(s.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxPartitionBytes(8<<20), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	// Where "caught up" is: the end offsets now.
	want := map[int32]int64{}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, s.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("view feed %s: %w", s.Topic, err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		s.once.Do(func() { close(s.ready) })
	}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				s.logWarn("view feed fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			if err := s.add(r); err != nil {
				s.logWarn("view chunk skipped", "offset", r.Offset, "err", err)
			}
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
				if len(want) == 0 {
					s.once.Do(func() { close(s.ready) })
				}
			}
		})
	}
}

func (s *ViewSet) logWarn(msg string, kv ...any) {
	if s.Log != nil {
		s.Log.Warn(msg, kv...)
	}
}

func (s *ViewSet) add(r *kgo.Record) error {
	if r.Value == nil || headerValue(r, HeaderType) != TypeViewChunk {
		return nil // tombstones and foreign records
	}
	c, err := chunkMeta(r)
	if err != nil {
		return err
	}
	s.mu.RLock()
	for _, v := range s.views {
		if v.ID == c.ID {
			s.mu.RUnlock()
			return nil // already have it (a re-read)
		}
	}
	s.mu.RUnlock()
	s.mu.Lock()
	p := s.pending[c.ID]
	if p == nil {
		dir := filepath.Join(s.Dir, c.ID)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			s.mu.Unlock()
			return err
		}
		path := filepath.Join(dir, viewFileName+".part")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		p = &pendingView{meta: c.ViewMeta, f: f, path: path, got: map[int]bool{}}
		s.pending[c.ID] = p
	}
	s.mu.Unlock()
	if _, err := p.f.WriteAt(r.Value, c.offset); err != nil {
		return fmt.Errorf("view %s: %w", c.ID, err)
	}
	p.got[c.index] = true
	if len(p.got) < p.meta.Chunks {
		return nil
	}
	s.mu.Lock()
	delete(s.pending, c.ID)
	s.mu.Unlock()
	return s.complete(p)
}

// complete checks an assembled view file and swaps it in.
func (s *ViewSet) complete(p *pendingView) error {
	defer p.f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(p.f, 0, p.meta.Size)); err != nil {
		return fmt.Errorf("view %s: %w", p.meta.ID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.meta.SHA256 {
		os.Remove(p.path)
		return fmt.Errorf("view %s: sha256 mismatch", p.meta.ID)
	}
	dir := filepath.Dir(p.path)
	if err := os.Rename(p.path, filepath.Join(dir, viewFileName)); err != nil {
		return fmt.Errorf("view %s: %w", p.meta.ID, err)
	}
	v, err := graph.LoadLatestView(context.Background(), dir, s.Log)
	if err != nil {
		return fmt.Errorf("view %s: %w", p.meta.ID, err)
	}
	lv := &LoadedView{ViewMeta: p.meta, View: v, Received: time.Now()}
	keep := s.Keep
	if keep <= 0 {
		keep = 3
	}
	s.mu.Lock()
	s.views = append(s.views, lv)
	slices.SortFunc(s.views, func(a, b *LoadedView) int { return a.At.Compare(b.At) })
	var drop []*LoadedView
	for len(s.views) > keep {
		drop = append(drop, s.views[0])
		s.views = s.views[1:]
	}
	select {
	case <-s.ready:
		s.swaps++
	default:
	}
	s.mu.Unlock()
	for _, d := range drop {
		// The mapping stays valid after the file is removed; it is
		// released when the view is collected.
		os.RemoveAll(filepath.Join(s.Dir, d.ID))
	}
	if s.Log != nil {
		s.Log.Info("view loaded", "view", lv.ID, "at", lv.At, "bytes", lv.Size, "nodes", v.NumNodes(), "edges", v.NumEdges())
	}
	return nil
}

// LocalViewSet serves the latest view of the store in dir (no views topic).
func LocalViewSet(ctx context.Context, dir string, log *slog.Logger) (*ViewSet, error) {
	v, err := graph.LoadLatestView(ctx, dir, log)
	if err != nil {
		return nil, err
	}
	s := NewViewSet(Conn{}, "", log)
	s.views = []*LoadedView{{ViewMeta: ViewMeta{ID: "local", At: v.At()}, View: v, Received: time.Now()}}
	close(s.ready)
	s.once.Do(func() {})
	return s, nil
}
