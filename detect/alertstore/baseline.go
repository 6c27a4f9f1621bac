package alertstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Keys: "b\x00<key>" -> last-seen unix nanos; "c\x00start" -> coverage start.
const (
	prefixBaseline = "b\x00"
	keyCoverage    = "c\x00start"
)

// Baseline is the first-seen baseline (rules.Baseline) kept in the alert
// store across runs. Reads go to the store once per key; writes are kept in
// memory and written by Flush, so a busy stream costs no write per event.
type Baseline struct {
	st      *Store
	last    map[string]time.Time
	dirty   map[string]bool
	start   time.Time
	loaded  bool
	changed bool
}

// Baseline returns the store's first-seen baseline.
func (s *Store) Baseline() *Baseline {
	return &Baseline{st: s, last: map[string]time.Time{}, dirty: map[string]bool{}}
}

func (b *Baseline) get(key []byte) (time.Time, bool, error) {
	var t time.Time
	found := false
	err := b.st.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("baseline value of %q has %d bytes", key, len(v))
			}
			t, found = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(), true
			return nil
		})
	})
	return t, found, err
}

// Seen implements rules.Baseline.
func (b *Baseline) Seen(_ context.Context, key string) (time.Time, bool, error) {
	if t, ok := b.last[key]; ok {
		return t, !t.IsZero(), nil
	}
	t, ok, err := b.get([]byte(prefixBaseline + key))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read baseline: %w", err)
	}
	b.last[key] = t // zero when absent: remembered as "not seen"
	return t, ok, nil
}

// Record implements rules.Baseline.
func (b *Baseline) Record(ctx context.Context, key string, t time.Time) error {
	if _, _, err := b.Seen(ctx, key); err != nil {
		return err
	}
	if t.After(b.last[key]) {
		b.last[key] = t
		b.dirty[key] = true
	}
	return nil
}

// Coverage implements rules.Baseline.
func (b *Baseline) Coverage(_ context.Context, t time.Time) (time.Time, error) {
	if !b.loaded {
		s, ok, err := b.get([]byte(keyCoverage))
		if err != nil {
			return time.Time{}, fmt.Errorf("read baseline coverage: %w", err)
		}
		if ok {
			b.start = s
		}
		b.loaded = true
	}
	if b.start.IsZero() || t.Before(b.start) {
		b.start, b.changed = t, true
	}
	return b.start, nil
}

// Flush writes what changed since the last flush.
func (b *Baseline) Flush(ctx context.Context) error {
	wb := b.st.db.NewWriteBatch()
	defer wb.Cancel()
	enc := func(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }
	for k := range b.dirty {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := wb.Set([]byte(prefixBaseline+k), enc(b.last[k])); err != nil {
			return fmt.Errorf("write baseline: %w", err)
		}
	}
	if b.changed {
		if err := wb.Set([]byte(keyCoverage), enc(b.start)); err != nil {
			return fmt.Errorf("write baseline: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	b.dirty, b.changed = map[string]bool{}, false
	return nil
}
