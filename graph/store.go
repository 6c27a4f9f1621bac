package graph

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// ErrNotFound is returned (wrapped) for a missing snapshot, source or store.
var ErrNotFound = errors.New("not found")

// ErrStoreBusy is returned (wrapped) when another process holds the store's
// directory lock for longer than the caller was willing to wait.
var ErrStoreBusy = errors.New("store busy: another permgraph process is using it")

// Manifest status values.
const (
	StatusComplete = "complete"
	StatusPartial  = "partial"
)

// Manifest describes one snapshot of one source.
type Manifest struct {
	ID       string    `json:"id"` // "<source>@<seq>", e.g. "aws:111122223333@3"
	Source   string    `json:"source"`
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`                 // collection time (UTC)
	Status   string    `json:"status"`             // StatusComplete or StatusPartial
	Reasons  []string  `json:"reasons,omitempty"`  // why partial
	Warnings []string  `json:"warnings,omitempty"` // non-fatal gaps, from SourceGraph.Warnings
	Nodes    int       `json:"nodes"`
	Edges    int       `json:"edges"`
	// Added, Removed and Changed count node and edge keys against the
	// previous complete snapshot of the same source.
	Added   int       `json:"added"`
	Removed int       `json:"removed"`
	Changed int       `json:"changed"`
	Written time.Time `json:"written"` // wall time the manifest was committed
	// Collection describes the collection run that produced the snapshot
	// (complete or partial): the identities it called the cloud APIs as and
	// when. detect suppresses that run's own discovery calls by it. Absent
	// in manifests written before it existed.
	Collection *CollectionRun `json:"collection,omitempty"`
}

// CollectionRun is one collection run: the principal identifiers it used as
// they appear in audit logs (ARNs, object ids, UPNs, app ids, emails; never
// credentials) and its wall-clock window. Offline imports record no
// identities.
type CollectionRun struct {
	Identities []string  `json:"identities,omitempty"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
}

// clone returns a copy (nil for nil), so manifests never share one.
func (r *CollectionRun) clone() *CollectionRun {
	if r == nil {
		return nil
	}
	c := *r
	c.Identities = cloneStrings(r.Identities)
	c.Start, c.End = r.Start.UTC(), r.End.UTC()
	return &c
}

// Store is the temporal graph store: every source's snapshots in one Badger
// database, each node and edge keyed once with its validity intervals
// (docs/storage.md). Methods are safe for concurrent use; writes are
// serialised.
type Store struct {
	db       *badger.DB
	dir      string
	log      *slog.Logger
	readOnly bool

	wmu sync.Mutex // one writer at a time inside this process

	// Test hooks. failAfter > 0 stops WriteSnapshot after that many item
	// writes, flushing what was written first (the worst case a crash can
	// leave) and failing with errInjected; if crash is set it is called
	// instead (the subprocess test exits there, another test cancels ctx).
	failAfter int
	crash     func()
	// lastWrite records what the last WriteSnapshot wrote (tests).
	lastWrite writeStats
}

// lockWait bounds how long Open waits for another process to release the
// directory lock when ctx has no earlier deadline. The scheduled job holds
// it for one write (seconds); queries hold it while building a view.
const lockWait = 30 * time.Second

// Open opens (creating if needed) the store in dir for reading and writing.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	logger = orDiscard(logger)
	if err := ensurePrivateDir(dir, logger); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := openBadger(ctx, dir, false, logger)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	// Only with the lock held: another writer's temp file is not stale.
	removeStaleTemps(dir, logger)
	s := &Store{db: db, dir: dir, log: logger}
	if err := s.checkSchema(true); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return s, nil
}

// OpenReadOnly opens an existing store for queries. Several read-only
// openers may share a store; a read-write opener excludes them (Badger's
// directory lock), so this waits for the lock like Open.
func OpenReadOnly(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	logger = orDiscard(logger)
	noStore := fmt.Errorf("no store at %s: run `permgraph collect` first: %w", dir, ErrNotFound)
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, noStore
		}
		return nil, fmt.Errorf("open store %s read-only: %w", dir, err)
	}
	db, err := openBadger(ctx, dir, true, logger)
	if err != nil && isTruncateNeeded(err) {
		// A writer died without closing: Badger must replay and truncate its
		// write-ahead log, which read-only mode refuses to do. A brief
		// read-write open does the recovery (it changes no permgraph data).
		logger.Warn("store was not closed cleanly; recovering with a read-write open", "dir", dir)
		rw, rerr := openBadger(ctx, dir, false, logger)
		if rerr != nil {
			return nil, fmt.Errorf("open store %s read-only: recover after unclean shutdown: %w", dir, rerr)
		}
		if cerr := rw.Close(); cerr != nil {
			return nil, fmt.Errorf("open store %s read-only: recover after unclean shutdown: %w", dir, cerr)
		}
		db, err = openBadger(ctx, dir, true, logger)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s read-only: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, log: logger, readOnly: true}
	if err := s.checkSchema(false); err != nil {
		_ = db.Close()
		if errors.Is(err, ErrNotFound) {
			return nil, noStore
		}
		return nil, fmt.Errorf("open store %s read-only: %w", dir, err)
	}
	return s, nil
}

// Close releases the store and its directory lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.dir, err)
	}
	return nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// ensurePrivateDir creates dir 0700 or tightens an existing one: the store
// holds a full map of who can do what, which is sensitive.
func ensurePrivateDir(dir string, logger *slog.Logger) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create store dir: %w", err)
		}
		// MkdirAll honours the umask; make the mode exact.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("chmod store dir: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("stat store dir: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("store path %s is not a directory", dir)
	case fi.Mode().Perm()&0o077 != 0:
		logger.Warn("store directory was readable by group or others; restricting to owner", "dir", dir, "mode", fi.Mode().Perm().String())
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("chmod store dir: %w", err)
		}
	}
	return nil
}

func badgerOptions(dir string, readOnly bool, logger *slog.Logger) badger.Options {
	// Sized for a CLI, not a server: Badger's defaults preallocate a 2 GiB
	// value log and 64 MiB memtables. Item values are small and stay in the
	// LSM tree (below ValueThreshold), so the value log holds almost nothing.
	// Base level 256 MiB instead of 10: a first snapshot of a 500k-user
	// Entra tenant (3.8M items, 290 MB of tables) otherwise went L0 -> L1
	// -> L2 -> L3, rewriting every byte three times; the Badger part of
	// that write went 34 -> 26 s (session 5, docs/performance.md).
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{logger}).
		WithReadOnly(readOnly).
		WithBaseLevelSize(256 << 20).
		WithMemTableSize(16 << 20).
		WithNumMemtables(3).
		WithValueLogFileSize(64 << 20).
		WithNumVersionsToKeep(1).
		WithCompression(options.Snappy).
		WithBlockCacheSize(32 << 20).
		WithNumCompactors(2).
		WithDetectConflicts(false). // writers are serialised by Store.wmu
		WithMetricsEnabled(false)
}

// openBadger opens the database, waiting while another process holds the
// directory lock (Badger's flock is non-blocking).
func openBadger(ctx context.Context, dir string, readOnly bool, logger *slog.Logger) (*badger.DB, error) {
	deadline := time.Now().Add(lockWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	delay := 20 * time.Millisecond
	logged := false
	for {
		db, err := badger.Open(badgerOptions(dir, readOnly, logger))
		if err == nil {
			return db, nil
		}
		if !isLockBusy(err) {
			return nil, err
		}
		if !logged {
			logger.Info("store is locked by another process; waiting", "dir", dir, "read_only", readOnly)
			logged = true
		}
		if time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("%w (%s)", ErrStoreBusy, dir)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (%s): %w", ErrStoreBusy, dir, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// Badger formats these errors with %v, so only the text identifies them.
func isLockBusy(err error) bool {
	return strings.Contains(err.Error(), "Cannot acquire directory lock")
}

func isTruncateNeeded(err error) bool {
	return errors.Is(err, badger.ErrTruncateNeeded) || strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error())
}

func (s *Store) checkSchema(create bool) error {
	var ver int
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(keySchema)
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("bad schema value %q: %w", v, err)
			}
			ver = n
			return nil
		})
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		if !create {
			return fmt.Errorf("schema key: %w", ErrNotFound)
		}
		err = s.db.Update(func(txn *badger.Txn) error {
			return txn.Set(keySchema, []byte(strconv.Itoa(schemaVersion)))
		})
		if err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	case ver > schemaVersion:
		return fmt.Errorf("store schema version %d is newer than this permgraph supports (%d): upgrade permgraph", ver, schemaVersion)
	case ver < 1:
		return fmt.Errorf("bad store schema version %d", ver)
	}
	return nil
}

// badgerLogger routes Badger's warnings and errors to slog; its info and
// debug chatter (compactions, table flushes) is dropped.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
}

func (b badgerLogger) Warningf(f string, a ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(f, a...))
	// Full scans never hit the block cache by nature; Badger's once-a-minute
	// "cache might be too small" advice is noise for this workload.
	if strings.Contains(msg, "might be too small") || strings.HasPrefix(msg, "Cache life expectancy") {
		b.l.Debug(msg, "component", "badger")
		return
	}
	b.l.Warn(msg, "component", "badger")
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// Snapshots lists every manifest, complete and partial, sorted by source
// then sequence number.
func (s *Store) Snapshots(ctx context.Context) ([]Manifest, error) {
	var out []Manifest
	err := s.db.View(func(txn *badger.Txn) error {
		it := prefixIter(txn, []byte{prefixManifest, 0})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var m Manifest
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
				return fmt.Errorf("decode manifest %q: %w", it.Item().Key(), err)
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return out, nil
}

// Snapshot returns one manifest by id ("<source>@<seq>").
func (s *Store) Snapshot(ctx context.Context, id string) (Manifest, error) {
	source, seq, err := ParseSnapshotID(id)
	if err != nil {
		return Manifest{}, fmt.Errorf("get snapshot: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("get snapshot %s: %w", id, err)
	}
	var m Manifest
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		m, err = getManifest(txn, source, seq)
		return err
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("get snapshot %s: %w", id, err)
	}
	return m, nil
}

func getManifest(txn *badger.Txn, source string, seq uint64) (Manifest, error) {
	var m Manifest
	it, err := txn.Get(manifestKey(source, seq))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return m, fmt.Errorf("snapshot %s: %w", SnapshotID(source, seq), ErrNotFound)
	}
	if err != nil {
		return m, err
	}
	err = it.Value(func(v []byte) error { return json.Unmarshal(v, &m) })
	if err != nil {
		return m, fmt.Errorf("decode manifest %s: %w", SnapshotID(source, seq), err)
	}
	return m, nil
}

// LatestAt returns, for every source, its latest complete snapshot with
// At <= at (ties broken by the higher Seq), sorted by source. A zero at
// means no bound: the latest of each source. Sources with no complete
// snapshot at that time are absent.
func (s *Store) LatestAt(ctx context.Context, at time.Time) ([]Manifest, error) {
	all, err := s.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("latest snapshots at %s: %w", at, err)
	}
	return latestOf(all, at), nil
}

func latestOf(all []Manifest, at time.Time) []Manifest {
	best := map[string]Manifest{}
	for _, m := range all {
		if m.Status != StatusComplete || (!at.IsZero() && m.At.After(at)) {
			continue
		}
		b, ok := best[m.Source]
		if !ok || m.At.After(b.At) || (m.At.Equal(b.At) && m.Seq > b.Seq) {
			best[m.Source] = m
		}
	}
	out := make([]Manifest, 0, len(best))
	for _, m := range best {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// sourceState is what a writer needs to know about a source before it
// allocates a sequence number.
type sourceState struct {
	prev    Manifest // latest complete by Seq; Seq 0 if none
	maxSeq  uint64   // highest seq of any manifest
	pending uint64   // highest seq ever allocated (pending marker)
}

func readSourceState(txn *badger.Txn, source string) (sourceState, error) {
	var st sourceState
	it := prefixIter(txn, sourcePrefix(prefixManifest, source))
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var m Manifest
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
			return st, fmt.Errorf("decode manifest %q: %w", it.Item().Key(), err)
		}
		st.maxSeq = max(st.maxSeq, m.Seq)
		if m.Status == StatusComplete && m.Seq > st.prev.Seq {
			st.prev = m
		}
	}
	item, err := txn.Get(pendingKey(source))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return st, fmt.Errorf("read pending marker: %w", err)
	default:
		err = item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("bad pending marker %x", v)
			}
			st.pending = binary.BigEndian.Uint64(v)
			return nil
		})
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

func (st sourceState) nextSeq() uint64 { return max(st.maxSeq, st.pending) + 1 }

// RecordPartial stores a partial manifest for source (a failed or incomplete
// collection) so the attempt is visible in `snapshots list`. No graph data
// is written and a partial snapshot never becomes the latest.
func (s *Store) RecordPartial(ctx context.Context, source string, at time.Time, reasons []string) (Manifest, error) {
	return s.RecordPartialRun(ctx, source, at, reasons, nil)
}

// RecordPartialRun is RecordPartial that also stores the collection run
// (a failed run also called the cloud APIs).
func (s *Store) RecordPartialRun(ctx context.Context, source string, at time.Time, reasons []string, run *CollectionRun) (Manifest, error) {
	if s.readOnly {
		return Manifest{}, fmt.Errorf("record partial snapshot of %s: store is read-only", source)
	}
	if err := validateSource(source); err != nil {
		return Manifest{}, fmt.Errorf("record partial snapshot: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("record partial snapshot of %s: %w", source, err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if at.IsZero() {
		at = time.Now()
	}
	var m Manifest
	err := s.db.Update(func(txn *badger.Txn) error {
		st, err := readSourceState(txn, source)
		if err != nil {
			return err
		}
		seq := st.nextSeq()
		m = Manifest{
			ID: SnapshotID(source, seq), Source: source, Seq: seq, At: at.UTC(),
			Status: StatusPartial, Reasons: cloneStrings(reasons), Written: time.Now().UTC(),
			Collection: run.clone(),
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := txn.Set(pendingKey(source), appendSeq(nil, seq)); err != nil {
			return err
		}
		return txn.Set(manifestKey(source, seq), b)
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("record partial snapshot of %s: %w", source, err)
	}
	s.log.Info("recorded partial snapshot", "id", m.ID, "reasons", reasons)
	return m, nil
}

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
