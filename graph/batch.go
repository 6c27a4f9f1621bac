package graph

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// batch writes keys in Badger transactions as large as Badger accepts, like
// badger.WriteBatch, but owns the memory of the keys and values it is
// given: they are copied into 1 MiB chunks that are reused once Badger has
// applied the transaction holding them. A WriteBatch needs every buffer to
// stay valid until its transaction commits, so each write allocated fresh
// ones: about a GiB per 5M-edge snapshot, all of it work for the garbage
// collector while the caller's graph is live (docs/performance.md).
//
// Transactions commit in the order they fill (Badger applies commits in
// order), so a key set before another is never durable after it.
type batch struct {
	db  *badger.DB
	txn *badger.Txn
	// cur are the chunks the open transaction's entries live in; the last
	// one is being filled.
	cur [][]byte

	inflight chan struct{} // bounds transactions committing at once
	wg       sync.WaitGroup

	mu   sync.Mutex // guards free and err (commit callbacks run concurrently)
	free [][]byte
	err  error
}

const batchChunk = 1 << 20

// batchInflight bounds memory: at most this many transactions' chunks are
// held by Badger at once (a transaction is ~2.4 MiB with 16 MiB memtables).
const batchInflight = 4

func newBatch(db *badger.DB) *batch {
	return &batch{db: db, txn: db.NewTransaction(true), inflight: make(chan struct{}, batchInflight)}
}

// take returns n bytes of the open transaction's memory.
func (b *batch) take(n int) []byte {
	if len(b.cur) > 0 {
		last := b.cur[len(b.cur)-1]
		if cap(last)-len(last) >= n {
			b.cur[len(b.cur)-1] = last[:len(last)+n]
			return last[len(last) : len(last)+n : len(last)+n]
		}
	}
	var c []byte
	if n <= batchChunk {
		b.mu.Lock()
		if k := len(b.free); k > 0 {
			c, b.free = b.free[k-1][:0], b.free[:k-1]
		}
		b.mu.Unlock()
	}
	if c == nil {
		c = make([]byte, 0, max(n, batchChunk))
	}
	b.cur = append(b.cur, c[:n])
	return c[:n:n]
}

// set stores key = value; both are copied.
func (b *batch) set(key, value []byte) error {
	return b.add(key, value, false)
}

// delete removes key; it is copied.
func (b *batch) delete(key []byte) error {
	return b.add(key, nil, true)
}

func (b *batch) add(key, value []byte, del bool) error {
	if err := b.error(); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		k := b.take(len(key))
		copy(k, key)
		var err error
		if del {
			err = b.txn.Delete(k)
		} else {
			v := b.take(len(value))
			copy(v, value)
			err = b.txn.Set(k, v)
		}
		if !errors.Is(err, badger.ErrTxnTooBig) || attempt > 0 {
			return err
		}
		// The transaction is full: commit it and put the entry in the next
		// one (copied again: its first copy belongs to the committed one).
		if err := b.commit(); err != nil {
			return err
		}
	}
}

// commit sends the open transaction to Badger and opens the next one.
func (b *batch) commit() error {
	chunks := b.cur
	b.cur = nil
	b.inflight <- struct{}{}
	b.wg.Add(1)
	b.txn.CommitWith(func(err error) {
		defer b.wg.Done()
		b.mu.Lock()
		if err != nil && b.err == nil {
			b.err = fmt.Errorf("commit write batch: %w", err)
		}
		// Badger has copied the entries into its memtable and log.
		for _, c := range chunks {
			if cap(c) == batchChunk {
				b.free = append(b.free, c[:0])
			}
		}
		b.mu.Unlock()
		<-b.inflight
	})
	b.txn = b.db.NewTransaction(true)
	return b.error()
}

// flush commits everything set so far and waits until Badger applied it.
// The batch stays usable.
func (b *batch) flush() error {
	if err := b.commit(); err != nil {
		b.wg.Wait()
		return err
	}
	b.wg.Wait()
	return b.error()
}

// cancel drops what was not committed and waits for the commits in flight.
func (b *batch) cancel() {
	b.txn.Discard()
	b.wg.Wait()
}

func (b *batch) error() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
