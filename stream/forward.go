package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/detect/read"
)

// ForwardStats counts what Forward produced.
type ForwardStats struct {
	Events int64 `json:"events"`
	Bytes  int64 `json:"bytes"`
	Keys   int   `json:"keys"`
}

// Forward reads every event of r and produces it to topic, keyed by k.
// Production is asynchronous; Forward flushes before returning and fails
// on the first produce error.
func Forward(ctx context.Context, cl *kgo.Client, topic string, r *read.Reader, k *Keyer) (ForwardStats, error) {
	var (
		st    ForwardStats
		mu    sync.Mutex
		first error
	)
	keys := map[string]struct{}{}
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	}
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return first
	}
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("forward: read: %w", err)
		}
		key := k.Key(ctx, &e)
		rec, err := EventRecord(topic, key, &e)
		if err != nil {
			return st, fmt.Errorf("forward: %w", err)
		}
		if len(keys) < 1<<20 {
			keys[key] = struct{}{}
		}
		st.Events++
		st.Bytes += int64(len(rec.Value))
		cl.Produce(ctx, rec, done)
		if st.Events%4096 == 0 {
			if err := failed(); err != nil {
				return st, fmt.Errorf("forward: produce: %w", err)
			}
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return st, fmt.Errorf("forward: flush: %w", err)
	}
	st.Keys = len(keys)
	if err := failed(); err != nil {
		return st, fmt.Errorf("forward: produce: %w", err)
	}
	return st, nil
}
