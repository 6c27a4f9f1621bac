package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Key schema (docs/storage.md has the full table). Every variable-length
// field is followed by a NUL separator: ids never contain NUL (Validate
// rejects it) and NUL sorts before every other byte, so byte order of keys
// equals the (source, id) and (source, from, kind, to) tuple order that
// SortedNodes and SortedEdges produce.
const (
	prefixNode     = 'n'
	prefixEdge     = 'e'
	prefixChange   = 'c'
	prefixManifest = 'm'
	prefixPending  = 'p'
)

var keySchema = []byte("meta\x00schema")

// schemaVersion is the layout version written under keySchema. Bump it when
// keys or values change incompatibly; Open refuses newer stores.
const schemaVersion = 1

func sourcePrefix(prefix byte, source string) []byte {
	b := make([]byte, 0, len(source)+3)
	b = append(b, prefix, 0)
	b = append(b, source...)
	return append(b, 0)
}

// appendNodeKey appends n\x00<source>\x00<id> to b.
func appendNodeKey(b []byte, source, id string) []byte {
	b = append(b, prefixNode, 0)
	b = append(b, source...)
	b = append(b, 0)
	return append(b, id...)
}

// appendEdgeKey appends e\x00<source>\x00<from>\x00<kind>\x00<to> to b.
func appendEdgeKey(b []byte, source string, k EdgeKey) []byte {
	b = append(b, prefixEdge, 0)
	b = append(b, source...)
	b = append(b, 0)
	b = append(b, k.From...)
	b = append(b, 0, byte(k.Kind), 0)
	return append(b, k.To...)
}

// parseItemKey splits an n or e key (without knowing the source length in
// advance). It returns the source, and either the node id or the edge key.
func parseItemKey(key []byte) (source string, isEdge bool, nodeID string, ek EdgeKey, err error) {
	if len(key) < 3 || key[1] != 0 || (key[0] != prefixNode && key[0] != prefixEdge) {
		return "", false, "", EdgeKey{}, fmt.Errorf("bad item key %q", key)
	}
	rest := key[2:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", false, "", EdgeKey{}, fmt.Errorf("bad item key %q: no source separator", key)
	}
	source = string(rest[:i])
	rest = rest[i+1:]
	if key[0] == prefixNode {
		return source, false, string(rest), EdgeKey{}, nil
	}
	ek, ok := parseEdgeSuffix(rest)
	if !ok {
		return "", false, "", EdgeKey{}, fmt.Errorf("bad edge key %q", key)
	}
	return source, true, "", ek, nil
}

// parseEdgeSuffix parses <from>\x00<kind>\x00<to>.
func parseEdgeSuffix(b []byte) (EdgeKey, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 || len(b) < i+3 || b[i+2] != 0 {
		return EdgeKey{}, false
	}
	return EdgeKey{From: string(b[:i]), Kind: EdgeKind(b[i+1]), To: string(b[i+3:])}, true
}

func appendSeq(b []byte, seq uint64) []byte { return binary.BigEndian.AppendUint64(b, seq) }

func manifestKey(source string, seq uint64) []byte {
	return appendSeq(sourcePrefix(prefixManifest, source), seq)
}

func pendingKey(source string) []byte {
	b := []byte{prefixPending, 0}
	return append(b, source...)
}

// changeSeqPrefix is c\x00<source>\x00<seq BE>\x00; the item key follows.
func changeSeqPrefix(source string, seq uint64) []byte {
	return append(appendSeq(sourcePrefix(prefixChange, source), seq), 0)
}

// parseChangeKey returns the seq and the embedded item key of a change-log
// key whose source prefix (c\x00<source>\x00) has length plen.
func parseChangeKey(key []byte, plen int) (uint64, []byte, bool) {
	if len(key) < plen+9 || key[plen+8] != 0 {
		return 0, nil, false
	}
	return binary.BigEndian.Uint64(key[plen : plen+8]), key[plen+9:], true
}

// SnapshotID formats a manifest id, "<source>@<seq>".
func SnapshotID(source string, seq uint64) string {
	return source + "@" + strconv.FormatUint(seq, 10)
}

// ParseSnapshotID splits "<source>@<seq>". The last '@' separates, so
// sources containing '@' still parse.
func ParseSnapshotID(id string) (source string, seq uint64, err error) {
	i := strings.LastIndexByte(id, '@')
	if i <= 0 {
		return "", 0, fmt.Errorf("snapshot id %q: want <source>@<seq>", id)
	}
	seq, err = strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || seq == 0 {
		return "", 0, fmt.Errorf("snapshot id %q: bad sequence number", id)
	}
	return id[:i], seq, nil
}

func validateSource(source string) error {
	if source == "" {
		return fmt.Errorf("empty source")
	}
	if strings.IndexByte(source, 0) >= 0 {
		return fmt.Errorf("source %q contains NUL", source)
	}
	return nil
}

// prefixIter iterates keys under prefix. Value prefetch stays off: item
// values live inline in the LSM tree, and Badger's prefetch starts one
// goroutine per item (a third of the scan time when it was on).
func prefixIter(txn *badger.Txn, prefix []byte) *badger.Iterator {
	return txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
}

// errNoMmap makes readViewFile fall back to reading the file into memory.
var errNoMmap = errors.New("memory mapping unavailable")
