package graph

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"
)

// Enough data for several transactions, so chunks are recycled while
// later entries are written: every key must read back with its value, and
// deletes must land after the sets they follow.
func TestBatchRecyclesChunks(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "db"))
	b := newBatch(s.db)
	defer b.cancel()
	want := map[string]string{}
	const n = 60000
	key, val := []byte{}, []byte{}
	for i := range n {
		key = fmt.Appendf(key[:0], "k%07d", i)
		val = fmt.Appendf(val[:0], "%0200d", i) // ~12 MB in all: about five transactions
		if err := b.set(key, val); err != nil {
			t.Fatal(err)
		}
		want[string(key)] = string(val)
		if i%7 == 0 && i > 0 {
			key = fmt.Appendf(key[:0], "k%07d", i-1)
			if err := b.delete(key); err != nil {
				t.Fatal(err)
			}
			delete(want, string(key))
		}
	}
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	if len(b.free) == 0 {
		t.Error("no chunk was recycled; the test does not exercise reuse")
	}
	got := map[string]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := prefixIter(txn, []byte("k"))
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			got[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("store after batch (-want +got):\n%s", d)
	}
}
