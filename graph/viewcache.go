package graph

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unsafe"
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
	viewCacheMagic  = "PGVIEW\x00\x02"
	viewCacheMaxHdr = 64 << 20
)

type viewCacheHeader struct {
	At        time.Time  `json:"at"`
	Manifests []Manifest `json:"manifests"`
}

func (s *Store) viewCachePath() string { return filepath.Join(s.dir, viewCacheName) }

// buildViewTemp builds the view the store will have once m is committed
// and writes it to a temporary file. It returns "" if that failed: the
// cache is an optimisation, so failures are logged, not returned.
func (s *Store) buildViewTemp(ctx context.Context, m Manifest, mem memSources) string {
	tmp, err := s.buildViewFile(ctx, m, mem)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("latest view cache not rebuilt", "err", err)
		}
		return ""
	}
	return tmp
}

func (s *Store) buildViewFile(ctx context.Context, m Manifest, mem memSources) (string, error) {
	all, err := s.Snapshots(ctx)
	if err != nil {
		return "", err
	}
	ms := latestOf(append(all, m), time.Time{})
	v, err := s.buildViewWith(ctx, viewTime(time.Time{}, ms), ms, mem)
	if err != nil {
		return "", err
	}
	return writeViewTemp(s.dir, v)
}

// refreshViewCache rebuilds the cache from the store (after a batch of
// writes). Best effort: without it, readers rebuild the view themselves.
func (s *Store) refreshViewCache(ctx context.Context, mem memSources) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	ms, err := s.LatestAt(ctx, time.Time{})
	if err != nil {
		s.log.Warn("latest view cache not rebuilt", "err", err)
		return
	}
	v, err := s.buildViewWith(ctx, viewTime(time.Time{}, ms), ms, mem)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("latest view cache not rebuilt", "err", err)
		}
		return
	}
	s.writeViewCache(v)
	s.lastWrite.cacheTook = time.Since(start)
}

// dropViewCache removes the cache before a manifest commit makes it stale.
// Failing to remove it must fail the write, or the invariant breaks.
func (s *Store) dropViewCache() error {
	if err := os.Remove(s.viewCachePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("drop stale view cache: %w", err)
	}
	return nil
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

// File layout (little-endian, every section 8-byte aligned so a mapped file
// can be used in place):
//
//	magic (8) | section* | crc32c (u64) of magic and the hot sections | node arena section | edge arena section
//
// A section is u64 length | bytes | zero padding to a multiple of 8. Hot
// sections: header JSON, id bytes, id offsets (u64), nodes sorted by id
// (u32), node kinds (u8), node payload offsets (u64), edge from (u32),
// edge to (u32), edge kinds (u8), conditional bitset (u64), edge payload
// offsets (u64), out start (u32), in start (u32), in edges (u32).
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
	w := &sectionWriter{w: bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)}
	if err := encodeViewHot(w, v); err != nil {
		return fail(err)
	}
	if err := w.w.Flush(); err != nil {
		return fail(err)
	}
	w.w = bufio.NewWriterSize(f, 1<<20) // the arenas are not checksummed
	w.u64(uint64(crc.Sum32()))
	w.bytes(v.narena)
	w.bytes(v.earena)
	if err := w.w.Flush(); err != nil {
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

// sectionWriter writes aligned sections; write errors stick in the
// bufio.Writer and surface at Flush.
type sectionWriter struct {
	w   *bufio.Writer
	pos int
	b   [8]byte
}

func (w *sectionWriter) raw(p []byte) {
	n, _ := w.w.Write(p)
	w.pos += n
}

func (w *sectionWriter) u64(x uint64) {
	binary.LittleEndian.PutUint64(w.b[:], x)
	w.raw(w.b[:])
}

func (w *sectionWriter) begin(n int) { w.u64(uint64(n)) }

func (w *sectionWriter) end() {
	var zero [8]byte
	w.raw(zero[:(8-w.pos%8)%8])
}

func (w *sectionWriter) bytes(p []byte) {
	w.begin(len(p))
	w.raw(p)
	w.end()
}

func (w *sectionWriter) str(s string) {
	w.begin(len(s))
	n, _ := w.w.WriteString(s)
	w.pos += n
	w.end()
}

func writeU32s[T ~uint32](w *sectionWriter, xs []T) {
	w.begin(4 * len(xs))
	var b [4]byte
	for _, x := range xs {
		binary.LittleEndian.PutUint32(b[:], uint32(x))
		w.raw(b[:])
	}
	w.end()
}

func (w *sectionWriter) u64s(xs []uint64) {
	w.begin(8 * len(xs))
	for _, x := range xs {
		w.u64(x)
	}
	w.end()
}

func writeKinds[K ~uint8](w *sectionWriter, ks []K) {
	b := make([]byte, len(ks))
	for i, k := range ks {
		b[i] = byte(k)
	}
	w.bytes(b)
}

func encodeViewHot(w *sectionWriter, v *View) error {
	hdr, err := json.Marshal(viewCacheHeader{At: v.at, Manifests: v.manifests})
	if err != nil {
		return err
	}
	w.raw([]byte(viewCacheMagic))
	w.bytes(hdr)
	w.str(v.idData)
	w.u64s(v.idOff)
	writeU32s(w, v.byID)
	writeKinds(w, v.nkind)
	w.u64s(v.noff)
	writeU32s(w, v.efrom)
	writeU32s(w, v.eto)
	writeKinds(w, v.ekind)
	w.u64s(v.econd)
	w.u64s(v.eoff)
	writeU32s(w, v.outStart)
	writeU32s(w, v.inStart)
	writeU32s(w, v.in)
	return nil
}

// readViewFile loads a cache file. On little-endian Unix hosts the file is
// mapped and the view's arrays point into the mapping (loading costs a
// checksum pass, not a copy); elsewhere the file is read into memory.
func readViewFile(path string) (*View, error) {
	data, unmap, err := mapFile(path)
	if errors.Is(err, errNoMmap) {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	v, err := parseView(data, unmap != nil && littleEndian())
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, fmt.Errorf("read view cache: %w", err)
	}
	if unmap != nil {
		// Nothing the view hands out aliases the mapping (Out, In, ids and
		// payloads are copied or on the heap), so unmapping once the view is
		// unreachable is safe; methods keep the view alive while they read.
		runtime.AddCleanup(v, func(f func()) { f() }, unmap)
	}
	return v, nil
}

// sectionReader walks aligned sections of an in-memory file image.
type sectionReader struct {
	b   []byte
	pos int
	err error
}

func (r *sectionReader) next(unit int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.pos < 8 {
		r.err = fmt.Errorf("truncated at %d", r.pos)
		return nil
	}
	n := binary.LittleEndian.Uint64(r.b[r.pos:])
	r.pos += 8
	if n > uint64(len(r.b)-r.pos) || n%uint64(unit) != 0 {
		r.err = fmt.Errorf("bad section length %d at %d", n, r.pos-8)
		return nil
	}
	s := r.b[r.pos : r.pos+int(n) : r.pos+int(n)]
	r.pos += int(n)
	r.pos += (8 - r.pos%8) % 8
	if r.pos > len(r.b) {
		r.err = fmt.Errorf("truncated padding")
		return nil
	}
	return s
}

// littleEndian reports whether arrays in the file can be used in place.
func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

// u32s returns a section of u32 as []T: in place when aliasing, else copied.
func u32s[T ~uint32](b []byte, alias bool) []T {
	if len(b) == 0 {
		return []T{}
	}
	if alias {
		return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/4)
	}
	out := make([]T, len(b)/4)
	for i := range out {
		out[i] = T(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func u64s(b []byte, alias bool) []uint64 {
	if len(b) == 0 {
		return []uint64{}
	}
	if alias {
		return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
	}
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out
}

func kinds[K ~uint8](b []byte) []K {
	if len(b) == 0 {
		return []K{}
	}
	return unsafe.Slice((*K)(unsafe.Pointer(&b[0])), len(b)) // same size and layout as byte
}

func parseView(data []byte, alias bool) (*View, error) {
	if len(data) < len(viewCacheMagic) || string(data[:len(viewCacheMagic)]) != viewCacheMagic {
		return nil, fmt.Errorf("bad magic (format changed?)")
	}
	r := &sectionReader{b: data, pos: len(viewCacheMagic)}
	hb := r.next(1)
	var hdr viewCacheHeader
	if r.err == nil {
		if err := json.Unmarshal(hb, &hdr); err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
	}
	v := &View{at: hdr.At, manifests: hdr.Manifests, mapped: alias}
	idBytes := r.next(1)
	v.idOff = u64s(r.next(8), alias)
	v.byID = u32s[NodeID](r.next(4), alias)
	v.nkind = kinds[NodeKind](r.next(1))
	v.noff = u64s(r.next(8), alias)
	v.efrom = u32s[NodeID](r.next(4), alias)
	v.eto = u32s[NodeID](r.next(4), alias)
	v.ekind = kinds[EdgeKind](r.next(1))
	v.econd = u64s(r.next(8), alias)
	v.eoff = u64s(r.next(8), alias)
	v.outStart = u32s[uint32](r.next(4), alias)
	v.inStart = u32s[uint32](r.next(4), alias)
	in := r.next(4)
	if r.err != nil {
		return nil, r.err
	}
	hot := r.pos
	if len(data)-hot < 8 {
		return nil, fmt.Errorf("truncated before checksum")
	}
	if crc32.Checksum(data[:hot], crc32.MakeTable(crc32.Castagnoli)) != uint32(binary.LittleEndian.Uint64(data[hot:])) {
		return nil, fmt.Errorf("checksum mismatch")
	}
	r.pos += 8
	v.narena = r.next(1)
	v.earena = r.next(1)
	if r.err != nil {
		return nil, r.err
	}
	if r.pos != len(data) {
		return nil, fmt.Errorf("%d trailing bytes", len(data)-r.pos)
	}
	if len(idBytes) > 0 && alias {
		v.idData = unsafe.String(&idBytes[0], len(idBytes))
	} else {
		v.idData = string(idBytes)
	}
	// In hands its slices to callers, which may keep them after the view
	// (and the mapping) is gone: it lives on the heap, as does seq.
	v.in = u32s[EdgeID](in, false)
	v.seq = make([]EdgeID, len(v.efrom))
	for i := range v.seq {
		v.seq[i] = EdgeID(i)
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	return v, nil
}

// check validates a loaded view's structure so that a bad file is an error
// at load time rather than a panic in a query.
func (v *View) check() error {
	nn, m := len(v.nkind), len(v.efrom)
	if len(v.idOff) != nn+1 || len(v.byID) != nn || len(v.noff) != nn || len(v.eto) != m || len(v.ekind) != m ||
		len(v.eoff) != m || len(v.econd) != (m+63)/64 || len(v.outStart) != nn+1 || len(v.inStart) != nn+1 || len(v.in) != m {
		return fmt.Errorf("inconsistent section sizes")
	}
	if v.idOff[0] != 0 || v.idOff[nn] != uint64(len(v.idData)) {
		return fmt.Errorf("bad id offsets")
	}
	for i := range nn {
		if v.idOff[i] > v.idOff[i+1] || int(v.byID[i]) >= nn || v.outStart[i] > v.outStart[i+1] || v.inStart[i] > v.inStart[i+1] ||
			(v.noff[i] != noPayload && v.noff[i] >= uint64(len(v.narena))) {
			return fmt.Errorf("node %d out of range", i)
		}
	}
	if v.outStart[0] != 0 || v.inStart[0] != 0 || int(v.outStart[nn]) != m || int(v.inStart[nn]) != m {
		return fmt.Errorf("bad adjacency offsets")
	}
	for i := range m {
		if int(v.efrom[i]) >= nn || int(v.eto[i]) >= nn || int(v.in[i]) >= m || v.eoff[i] >= uint64(len(v.earena)) {
			return fmt.Errorf("edge %d out of range", i)
		}
	}
	return nil
}
