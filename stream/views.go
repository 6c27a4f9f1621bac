package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// View chunk headers. Keys are "view/<at unix nanos, 20 digits>/<id>/<chunk,
// 6 digits>": distinct per chunk (compaction keeps every chunk of a live
// view) and sorted by view time.
const (
	hView   = "pg-view"   // view id: first 16 hex digits of the file's sha256
	hAt     = "pg-at"     // view time, RFC 3339 with nanoseconds
	hChunk  = "pg-chunk"  // "i/n"
	hOffset = "pg-offset" // byte offset of the chunk in the file
	hSize   = "pg-size"   // file size
	hSHA    = "pg-sha256" // file sha256, hex

	// DefaultChunkBytes keeps a chunk and its headers under Kafka's default
	// 1 MB message.max.bytes.
	DefaultChunkBytes = 900 << 10
	viewFileName      = "latest.view" // as graph.LoadLatestView expects
	viewMagic         = "PGVIEW\x00"  // graph's view file magic (version byte follows)
)

// ViewMeta describes one published view.
type ViewMeta struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Size   int64     `json:"size"`
	Chunks int       `json:"chunks"`
	SHA256 string    `json:"sha256"`
}

func chunkKey(at time.Time, id string, i int) string {
	return fmt.Sprintf("view/%020d/%s/%06d", at.UnixNano(), id, i)
}

// viewFileTime reads the view time from a view file's header section
// (docs/storage.md section 6: magic, then a length-prefixed JSON header).
func viewFileTime(f io.ReaderAt) (time.Time, error) {
	var b [16]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return time.Time{}, fmt.Errorf("view header: %w", err)
	}
	if !bytes.HasPrefix(b[:], []byte(viewMagic)) {
		return time.Time{}, errors.New("view header: bad magic")
	}
	n := binary.LittleEndian.Uint64(b[8:])
	if n > 64<<20 {
		return time.Time{}, fmt.Errorf("view header: %d bytes", n)
	}
	hb := make([]byte, n)
	if _, err := f.ReadAt(hb, 16); err != nil {
		return time.Time{}, fmt.Errorf("view header: %w", err)
	}
	var hdr struct {
		At time.Time `json:"at"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return time.Time{}, fmt.Errorf("view header: %w", err)
	}
	return hdr.At, nil
}

// Publisher publishes the latest view file of a store to a compacted topic
// and tombstones views older than the Keep newest.
type Publisher struct {
	Conn       Conn
	Client     *kgo.Client
	Topic      string
	ChunkBytes int // default DefaultChunkBytes
	Keep       int // views kept in the topic, default 2
	Log        *slog.Logger

	known  []ViewMeta // views in the topic, oldest first (loaded once)
	loaded bool
}

// EnsureTopic creates topic as a single-partition compacted topic if it
// does not exist.
func EnsureTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32, compact bool) error {
	var cfg map[string]*string
	if compact {
		c := "compact"
		cfg = map[string]*string{"cleanup.policy": &c}
	}
	_, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, -1, cfg, topic)
	if err != nil && !strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// PublishStore publishes <dir>/latest.view unless the newest view in the
// topic already is that file. It returns the view and whether it was new.
func (p *Publisher) PublishStore(ctx context.Context, dir string) (ViewMeta, bool, error) {
	return p.PublishFile(ctx, filepath.Join(dir, viewFileName))
}

// PublishFile publishes one view file (see PublishStore).
func (p *Publisher) PublishFile(ctx context.Context, path string) (ViewMeta, bool, error) {
	f, err := os.Open(path) // one open file: a rename over path does not change what we send
	if err != nil {
		return ViewMeta{}, false, fmt.Errorf("publish view: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ViewMeta{}, false, fmt.Errorf("publish view: %w", err)
	}
	at, err := viewFileTime(f)
	if err != nil {
		return ViewMeta{}, false, fmt.Errorf("publish view %s: %w", path, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
		return ViewMeta{}, false, fmt.Errorf("publish view: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	chunk := p.ChunkBytes
	if chunk <= 0 {
		chunk = DefaultChunkBytes
	}
	m := ViewMeta{ID: sum[:16], At: at.UTC(), Size: st.Size(), SHA256: sum, Chunks: int((st.Size() + int64(chunk) - 1) / int64(chunk))}
	if m.Chunks == 0 {
		return ViewMeta{}, false, fmt.Errorf("publish view %s: empty file", path)
	}
	if !p.loaded {
		if p.known, err = ListViews(ctx, p.Conn, kadm.NewClient(p.Client), p.Topic); err != nil {
			return ViewMeta{}, false, err
		}
		p.loaded = true
	}
	if n := len(p.known); n > 0 && p.known[n-1].ID == m.ID {
		return m, false, nil
	}
	buf := make([]byte, chunk)
	for i := range m.Chunks {
		off := int64(i) * int64(chunk)
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return m, false, fmt.Errorf("publish view: %w", err)
		}
		rec := &kgo.Record{Topic: p.Topic, Partition: 0, Key: []byte(chunkKey(m.At, m.ID, i)), Value: slices.Clone(buf[:n]), Timestamp: time.Now(),
			Headers: []kgo.RecordHeader{
				{Key: HeaderType, Value: []byte(TypeViewChunk)}, {Key: hView, Value: []byte(m.ID)},
				{Key: hAt, Value: []byte(m.At.Format(time.RFC3339Nano))}, {Key: hChunk, Value: []byte(fmt.Sprintf("%d/%d", i, m.Chunks))},
				{Key: hOffset, Value: []byte(strconv.FormatInt(off, 10))}, {Key: hSize, Value: []byte(strconv.FormatInt(m.Size, 10))},
				{Key: hSHA, Value: []byte(m.SHA256)},
			}}
		if err := p.Client.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return m, false, fmt.Errorf("publish view chunk %d/%d: %w", i, m.Chunks, err)
		}
	}
	p.known = append(p.known, m)
	slices.SortFunc(p.known, func(a, b ViewMeta) int { return a.At.Compare(b.At) })
	keep := p.Keep
	if keep <= 0 {
		keep = 2
	}
	for len(p.known) > keep {
		old := p.known[0]
		var tomb []*kgo.Record
		for i := range old.Chunks {
			tomb = append(tomb, &kgo.Record{Topic: p.Topic, Partition: 0, Key: []byte(chunkKey(old.At, old.ID, i))})
		}
		if err := p.Client.ProduceSync(ctx, tomb...).FirstErr(); err != nil {
			return m, true, fmt.Errorf("tombstone view %s: %w", old.ID, err)
		}
		p.known = p.known[1:]
	}
	if p.Log != nil {
		p.Log.Info("view published", "topic", p.Topic, "view", m.ID, "at", m.At, "bytes", m.Size, "chunks", m.Chunks)
	}
	return m, true, nil
}

// ListViews reads the view topic to its end and returns the complete views
// in it, oldest first (chunks are read and dropped: only headers matter).
func ListViews(ctx context.Context, conn Conn, adm *kadm.Client, topic string) ([]ViewMeta, error) {
	seen := map[string]*ViewMeta{}
	got := map[string]map[int]bool{}
	err := readToEnd(ctx, conn, adm, topic, kgo.NewOffset().AtStart(), func(r *kgo.Record) {
		id := headerValue(r, hView)
		parts := strings.Split(string(r.Key), "/")
		if len(parts) != 4 {
			return
		}
		if r.Value == nil { // tombstone
			key := parts[2]
			if g := got[key]; g != nil {
				i, _ := strconv.Atoi(parts[3])
				delete(g, i)
			}
			return
		}
		m, err := chunkMeta(r)
		if err != nil || id == "" {
			return
		}
		if seen[id] == nil {
			seen[id], got[id] = &m.ViewMeta, map[int]bool{}
		}
		got[id][m.index] = true
	})
	if err != nil {
		return nil, fmt.Errorf("list views in %s: %w", topic, err)
	}
	var out []ViewMeta
	for id, m := range seen {
		if len(got[id]) == m.Chunks {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b ViewMeta) int { return a.At.Compare(b.At) })
	return out, nil
}

// readToEnd consumes every partition of topic from start up to the end
// offsets at the time of the call.
func readToEnd(ctx context.Context, conn Conn, adm *kadm.Client, topic string, start kgo.Offset, fn func(*kgo.Record)) error {
	return readPartitionsToEnd(ctx, conn, adm, topic, nil, start, fn)
}

// readPartitionsToEnd is readToEnd for some partitions of topic (nil: all).
func readPartitionsToEnd(ctx context.Context, conn Conn, adm *kadm.Client, topic string, only []int32, start kgo.Offset, fn func(*kgo.Record)) error {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	if err := ends.Error(); err != nil {
		return err
	}
	want := map[int32]int64{}
	parts := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 && (only == nil || slices.Contains(only, o.Partition)) {
			want[o.Partition] = o.Offset
			parts[o.Partition] = start
		}
	})
	if len(want) == 0 {
		return nil
	}
	rc, err := conn.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))
	if err != nil {
		return err
	}
	defer rc.Close()
	for len(want) > 0 {
		fs := rc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			fn(r)
			if r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
	}
	return nil
}
