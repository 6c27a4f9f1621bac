package graph

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The latest view is cached as one file next to the Badger files, not as a
// Badger value: a 5M-edge view is hundreds of MB (Badger would push it
// through the value log and keep every superseded copy until value-log GC),
// and a plain file can be read without Badger's directory lock, so queries
// keep working while the scheduled job writes (LoadLatestView).
//
// Invariant: whenever the file exists it is the view of the current latest
// complete snapshots. WriteSnapshot removes it before committing a manifest
// and renames the new one into place after.
const (
	viewCacheName   = "latest.view"
	viewCacheTmp    = "latest.view.tmp-"
	viewCacheMagic  = "PGVIEW\x00\x01"
	viewCacheMaxHdr = 64 << 20
)

type viewCacheHeader struct {
	At        time.Time  `json:"at"`
	Manifests []Manifest `json:"manifests"`
}

func (s *Store) viewCachePath() string { return filepath.Join(s.dir, viewCacheName) }

// prepareViewCache builds the view the store will have once m is
// committed, writes it to a temporary file and drops the current cache. It
// returns the temporary file ("" if the view could not be built: the cache
// is an optimisation, so that is logged, not fatal).
func (s *Store) prepareViewCache(ctx context.Context, m Manifest) (string, error) {
	tmp, err := s.buildViewFile(ctx, m)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		s.log.Warn("latest view cache not rebuilt", "err", err)
	}
	if err := os.Remove(s.viewCachePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		removeQuietly(tmp)
		return "", fmt.Errorf("drop stale view cache: %w", err)
	}
	return tmp, nil
}

func (s *Store) buildViewFile(ctx context.Context, m Manifest) (string, error) {
	all, err := s.Snapshots(ctx)
	if err != nil {
		return "", err
	}
	ms := latestOf(append(all, m), time.Time{})
	v, err := s.buildView(ctx, viewTime(time.Time{}, ms), ms)
	if err != nil {
		return "", err
	}
	return writeViewTemp(s.dir, v)
}

// publishViewCache moves a prepared cache file into place.
func (s *Store) publishViewCache(tmp string) {
	if tmp == "" {
		return
	}
	if err := os.Rename(tmp, s.viewCachePath()); err != nil {
		removeQuietly(tmp)
		s.log.Warn("latest view cache not published", "err", err)
		return
	}
	syncDir(s.dir)
}

// writeViewCache stores v as the cache (read-write stores only: the
// directory lock guarantees no writer is between drop and publish).
func (s *Store) writeViewCache(v *View) {
	tmp, err := writeViewTemp(s.dir, v)
	if err != nil {
		s.log.Warn("latest view cache not written", "err", err)
		return
	}
	s.publishViewCache(tmp)
}

// cachedView returns the cached latest view if it was built from exactly ms.
func (s *Store) cachedView(ms []Manifest) (*View, bool) {
	v, err := readViewFile(s.viewCachePath())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("ignoring unreadable view cache", "err", err)
		}
		return nil, false
	}
	if !sameManifests(v.manifests, ms) {
		return nil, false
	}
	return v, true
}

func sameManifests(a, b []Manifest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || !a[i].Written.Equal(b[i].Written) {
			return false
		}
	}
	return true
}

// LoadLatestView reads the cached latest view of the store in dir without
// opening Badger, so it works while another process writes. It returns an
// error wrapping ErrNotFound when there is no cache (no snapshot yet, or a
// write in its final step); callers then fall back to OpenReadOnly + View.
func LoadLatestView(ctx context.Context, dir string, logger *slog.Logger) (*View, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load latest view: %w", err)
	}
	v, err := readViewFile(filepath.Join(dir, viewCacheName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load latest view from %s: %w", dir, ErrNotFound)
	}
	if err != nil {
		orDiscard(logger).Warn("unreadable view cache", "dir", dir, "err", err)
		return nil, fmt.Errorf("load latest view from %s: %w", dir, err)
	}
	return v, nil
}

func removeQuietly(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}

func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
}

// removeStaleTemps deletes temporary cache files a crashed writer left.
func removeStaleTemps(dir string, logger *slog.Logger) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), viewCacheTmp) {
			logger.Debug("removing stale view cache temp file", "file", e.Name())
			removeQuietly(filepath.Join(dir, e.Name()))
		}
	}
}

// File layout (little-endian): magic | section* | crc32c of all before.
// Sections, each u64 length | bytes: header JSON, ids (uvarint-prefixed
// strings), node kinds, node payload offsets (u64), node arena, edge from
// (u32), edge to (u32), edge kinds, conditional bitset (u64), edge payload
// offsets (u64), edge arena. CSR indexes are rebuilt on load (linear).
func writeViewTemp(dir string, v *View) (string, error) {
	f, err := os.CreateTemp(dir, viewCacheTmp+"*")
	if err != nil {
		return "", fmt.Errorf("create view cache: %w", err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		_ = f.Close()
		removeQuietly(name)
		return "", fmt.Errorf("write view cache: %w", err)
	}
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	bw := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
	if err := encodeView(bw, v); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if _, err := f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		removeQuietly(name)
		return "", fmt.Errorf("write view cache: %w", err)
	}
	return name, nil
}

func encodeView(w *bufio.Writer, v *View) error {
	hdr, err := json.Marshal(viewCacheHeader{At: v.at, Manifests: v.manifests})
	if err != nil {
		return err
	}
	if _, err := w.WriteString(viewCacheMagic); err != nil {
		return err
	}
	section := func(n int, write func()) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(n))
		_, _ = w.Write(b[:])
		write()
	}
	bytesSection := func(b []byte) { section(len(b), func() { _, _ = w.Write(b) }) }
	u32Section := func(xs []NodeID) {
		section(4*len(xs), func() {
			var b [4]byte
			for _, x := range xs {
				binary.LittleEndian.PutUint32(b[:], uint32(x))
				_, _ = w.Write(b[:])
			}
		})
	}
	u64Section := func(xs []uint64) {
		section(8*len(xs), func() {
			var b [8]byte
			for _, x := range xs {
				binary.LittleEndian.PutUint64(b[:], x)
				_, _ = w.Write(b[:])
			}
		})
	}
	bytesSection(hdr)
	idLen := 0
	for _, id := range v.ids {
		idLen += uvarintLen(uint64(len(id))) + len(id)
	}
	section(idLen, func() {
		var b [binary.MaxVarintLen64]byte
		for _, id := range v.ids {
			_, _ = w.Write(b[:binary.PutUvarint(b[:], uint64(len(id)))])
			_, _ = w.WriteString(id)
		}
	})
	bytesSection(kindBytes(v.nkind))
	u64Section(v.noff)
	bytesSection(v.narena)
	u32Section(v.efrom)
	u32Section(v.eto)
	bytesSection(kindBytes(v.ekind))
	u64Section(v.econd)
	u64Section(v.eoff)
	bytesSection(v.earena)
	// bufio.Writer keeps the first write error and returns it from Flush.
	return nil
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

func kindBytes[K ~uint8](ks []K) []byte {
	b := make([]byte, len(ks))
	for i, k := range ks {
		b[i] = byte(k)
	}
	return b
}

// viewReader reads sections, hashing everything it consumes.
type viewReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	err error
	max uint64 // bytes left in the file, bounds section lengths
}

func (r *viewReader) full(b []byte) {
	if r.err != nil {
		return
	}
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.err = err
		return
	}
	r.crc.Write(b)
}

func (r *viewReader) sectionLen(unit uint64) uint64 {
	var b [8]byte
	r.full(b[:])
	n := binary.LittleEndian.Uint64(b[:])
	if r.err == nil && (n > r.max || n%unit != 0) {
		r.err = fmt.Errorf("bad section length %d", n)
	}
	if r.err != nil {
		return 0
	}
	r.max -= n
	return n
}

func (r *viewReader) bytes() []byte {
	b := make([]byte, r.sectionLen(1))
	r.full(b)
	return b
}

func (r *viewReader) u32s() []NodeID {
	n := r.sectionLen(4) / 4
	out := make([]NodeID, n)
	var b [4]byte
	for i := range out {
		r.full(b[:])
		out[i] = NodeID(binary.LittleEndian.Uint32(b[:]))
	}
	return out
}

func (r *viewReader) u64s() []uint64 {
	n := r.sectionLen(8) / 8
	out := make([]uint64, n)
	var b [8]byte
	for i := range out {
		r.full(b[:])
		out[i] = binary.LittleEndian.Uint64(b[:])
	}
	return out
}

func readViewFile(path string) (*View, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read view cache: %w", err)
	}
	size := fi.Size()
	if size < int64(len(viewCacheMagic))+4 {
		return nil, fmt.Errorf("read view cache: file too short")
	}
	r := &viewReader{
		r:   bufio.NewReaderSize(io.LimitReader(f, size-4), 1<<20),
		crc: crc32.New(crc32.MakeTable(crc32.Castagnoli)),
		max: uint64(size),
	}
	magic := make([]byte, len(viewCacheMagic))
	r.full(magic)
	if r.err == nil && string(magic) != viewCacheMagic {
		return nil, fmt.Errorf("read view cache: bad magic (format changed?)")
	}
	var hdr viewCacheHeader
	if hb := r.bytes(); r.err == nil {
		if len(hb) > viewCacheMaxHdr {
			return nil, fmt.Errorf("read view cache: header too large")
		}
		if err := json.Unmarshal(hb, &hdr); err != nil {
			return nil, fmt.Errorf("read view cache header: %w", err)
		}
	}
	idBytes := r.bytes()
	nkind := r.bytes()
	noff := r.u64s()
	narena := r.bytes()
	efrom, eto := r.u32s(), r.u32s()
	ekind := r.bytes()
	econd := r.u64s()
	eoff := r.u64s()
	earena := r.bytes()
	if r.err != nil {
		return nil, fmt.Errorf("read view cache: %w", r.err)
	}
	var tail [4]byte
	if _, err := io.ReadFull(f, tail[:]); err != nil {
		return nil, fmt.Errorf("read view cache checksum: %w", err)
	}
	if binary.LittleEndian.Uint32(tail[:]) != r.crc.Sum32() {
		return nil, fmt.Errorf("read view cache: checksum mismatch")
	}

	// One string holds every id; ids are substrings of it (one allocation).
	all := string(idBytes)
	ids := make([]string, 0, len(nkind))
	for pos := 0; pos < len(idBytes); {
		n, k := binary.Uvarint(idBytes[pos:])
		if k <= 0 || uint64(len(idBytes)-pos-k) < n {
			return nil, fmt.Errorf("read view cache: bad id section")
		}
		ids = append(ids, all[pos+k:pos+k+int(n)])
		pos += k + int(n)
	}
	nn, m := len(ids), len(efrom)
	if len(nkind) != nn || len(noff) != nn || len(eto) != m || len(ekind) != m ||
		len(eoff) != m || len(econd) != (m+63)/64 {
		return nil, fmt.Errorf("read view cache: inconsistent section sizes")
	}
	for i := range m {
		if int(efrom[i]) >= nn || int(eto[i]) >= nn || eoff[i] >= uint64(len(earena)) {
			return nil, fmt.Errorf("read view cache: edge %d out of range", i)
		}
	}
	v := &View{
		at: hdr.At, manifests: hdr.Manifests,
		ids: ids, index: make(map[string]NodeID, nn),
		nkind: make([]NodeKind, nn), noff: noff, narena: narena,
		efrom: efrom, eto: eto, ekind: make([]EdgeKind, m), econd: econd, eoff: eoff, earena: earena,
	}
	for i, id := range ids {
		v.index[id] = NodeID(i)
		v.nkind[i] = NodeKind(nkind[i])
		if noff[i] != noPayload && noff[i] >= uint64(len(narena)) {
			return nil, fmt.Errorf("read view cache: node %d out of range", i)
		}
	}
	for i, k := range ekind {
		v.ekind[i] = EdgeKind(k)
	}
	v.buildCSR()
	return v, nil
}
