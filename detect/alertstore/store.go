// Package alertstore keeps detection alerts in their own Badger database
// (<db>/alerts), deduplicated by alert key, for the `alerts` command and the
// review report. It is separate from the snapshot store so that a detection
// run never holds the lock the scheduled snapshot job needs.
package alertstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"permgraph/detect/rules"
)

// Key layout: "k\x00<alert key>" -> time index key (dedupe);
// "t\x00<unix nanos BE>\x00<alert key>" -> alert JSON (time order).
const (
	prefixKey  = "k\x00"
	prefixTime = "t\x00"
)

// Store is an open alert database.
type Store struct{ db *badger.DB }

// Open opens (creating with 0700) the alert database in dir.
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open alert store: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open alert store: %w", err)
	}
	opts := badger.DefaultOptions(dir).WithLogger(nil).WithValueLogFileSize(16 << 20).WithMemTableSize(8 << 20).WithNumVersionsToKeep(1)
	var db *badger.DB
	var err error
	for {
		db, err = badger.Open(opts)
		// Another detect run may hold the lock briefly: wait for ctx.
		if err == nil || ctx.Err() != nil || !isLocked(err) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open alert store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

func isLocked(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Cannot acquire directory lock")
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func timeKey(t time.Time, key string) []byte {
	b := make([]byte, 0, len(prefixTime)+9+len(key))
	b = append(b, prefixTime...)
	b = binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
	b = append(b, 0)
	return append(b, key...)
}

// Put stores alerts not stored before (by Key) and returns how many were new.
func (s *Store) Put(ctx context.Context, alerts []rules.Alert) (int, error) {
	added := 0
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, a := range alerts {
			if err := ctx.Err(); err != nil {
				return err
			}
			if a.Key == "" {
				return fmt.Errorf("alert %s at %s has no key", a.Rule, a.Time)
			}
			k := []byte(prefixKey + a.Key)
			if _, err := txn.Get(k); err == nil {
				continue
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			v, err := json.Marshal(a)
			if err != nil {
				return err
			}
			tk := timeKey(a.Time, a.Key)
			if err := txn.Set(k, tk); err != nil {
				return err
			}
			if err := txn.Set(tk, v); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store alerts: %w", err)
	}
	return added, nil
}

// Filter selects stored alerts.
type Filter struct {
	Since, Until time.Time // zero = unbounded
	Rule         string
	MinSeverity  rules.Severity
}

// List returns matching alerts in time order.
func (s *Store) List(ctx context.Context, f Filter) ([]rules.Alert, error) {
	var out []rules.Alert
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixTime), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		start := []byte(prefixTime)
		if !f.Since.IsZero() {
			start = timeKey(f.Since, "")
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var a rules.Alert
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
				return fmt.Errorf("decode alert %q: %w", it.Item().Key(), err)
			}
			if !f.Until.IsZero() && a.Time.After(f.Until) {
				break
			}
			if (f.Rule != "" && a.Rule != f.Rule) || a.Severity < f.MinSeverity {
				continue
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}
