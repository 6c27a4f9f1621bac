// Package read opens audit-log files, directories or stdin and streams
// normalized events from them, whatever their format (CloudTrail, Azure
// Activity Log, Microsoft Graph activity / Entra audit, GCP audit LogEntry,
// Google Workspace Reports activities, Kubernetes audit).
//
// A Reader never holds a whole file in memory: JSON lines are read line by
// line, JSON documents ({"Records":[...]}, {"value":[...]}, arrays ...) are
// scanned record by record. Bad or unknown records do not stop reading: they
// are counted in Stats (with the first MaxProblems kept, each with file and
// line) and reading goes on with the next record.
//
// Layout and detection rules: docs/detect-formats.md.
package read

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"permgraph/detect/azureactivity"
	"permgraph/detect/cloudtrail"
	"permgraph/detect/event"
	"permgraph/detect/gcpaudit"
	"permgraph/detect/graphactivity"
	"permgraph/detect/internal/jsonscan"
	"permgraph/detect/k8saudit"
	"permgraph/detect/workspace"
)

// MaxProblems is how many problems Stats keeps (all are counted).
const MaxProblems = 100

// Stats counts what a Reader has seen so far.
type Stats struct {
	Files     int // files opened
	Records   int // raw records seen (containers excluded, bad records included)
	Events    int // events returned or queued
	Unknown   int // valid JSON records no format recognized
	Malformed int // invalid JSON, truncated lines and documents, unreadable files
	// Problems holds the first MaxProblems problems.
	Problems []Problem
	// ProblemsDropped counts problems beyond MaxProblems.
	ProblemsDropped int
	// PerFile has one entry per file opened, in reading order.
	PerFile []FileStats
}

// FileStats counts one file.
type FileStats struct {
	File                                string
	Format                              string // detected or requested; "" if nothing was recognized
	Records, Events, Unknown, Malformed int
}

// Problem is one unknown or malformed record, or an unreadable file.
type Problem struct {
	File   string
	Line   int64 // 1-based line where the record starts (0 if unknown)
	Index  int   // record index inside a JSON document
	Offset int64 // byte offset in the decompressed stream
	Kind   string
	Reason string
}

// Problem kinds.
const (
	ProblemUnknown   = "unknown"
	ProblemMalformed = "malformed"
)

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Kind, p.Reason)
}

type parseFunc func(dst []event.Event, raw []byte) ([]event.Event, error)

func single(f func([]byte) (event.Event, error)) parseFunc {
	return func(dst []event.Event, raw []byte) ([]event.Event, error) {
		ev, err := f(raw)
		if err != nil {
			return dst, err
		}
		return append(dst, ev), nil
	}
}

func parserFor(format string) parseFunc {
	switch format {
	case FormatCloudTrail:
		return cloudtrail.NewParser().Append
	case FormatAzureActivity:
		return single(azureactivity.ParseRecord)
	case FormatGraphActivity:
		return single(graphactivity.ParseRecord)
	case FormatGCPAudit:
		return single(gcpaudit.ParseEntry)
	case FormatK8sAudit:
		return k8saudit.NewParser().Append
	case FormatWorkspace:
		return workspace.AppendActivity
	}
	return nil
}

func checkFormat(format string) (string, error) {
	if format == "" {
		return FormatAuto, nil
	}
	if format == FormatAuto || parserFor(format) != nil {
		return format, nil
	}
	return "", fmt.Errorf("unknown format %q (want auto, %s)", format, strings.Join(Formats(), ", "))
}

// input is one thing to read: a file path or stdin.
type input struct {
	path  string
	stdin io.Reader
}

// Reader streams events. It is not safe for concurrent use.
type Reader struct {
	ctx    context.Context
	format string
	inputs []input
	nextIn int
	cur    *fileReader
	queue  []event.Event
	qi     int
	stats  Stats
	follow *FollowOptions
	calls  int
}

type fileReader struct {
	path    string
	closer  io.Closer
	src     source
	format  string
	parse   parseFunc
	fs      int                  // index in stats.PerFile
	parsers map[string]parseFunc // other formats met in this file (auto mode)
}

// parserFor returns the file's parser for a format, created once per file
// (parsers keep per-stream state such as shared strings).
func (fr *fileReader) parserFor(format string) parseFunc {
	if format == fr.format && fr.parse != nil {
		return fr.parse
	}
	if p, ok := fr.parsers[format]; ok {
		return p
	}
	if fr.parsers == nil {
		fr.parsers = make(map[string]parseFunc)
	}
	p := parserFor(format)
	fr.parsers[format] = p
	return p
}

// Open reads path: a file, a directory (every *.json, *.jsonl, *.ndjson,
// *.log and *.gz file below it, recursively, in lexical order, hidden entries
// skipped) or "-" for stdin. format is "auto" (detected per file from its
// first recognizable record) or one of Formats(). The ctx governs the whole
// read: Next returns its error once it is cancelled.
func Open(ctx context.Context, path, format string) (*Reader, error) {
	f, err := checkFormat(format)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r := &Reader{ctx: ctx, format: f}
	if path == "-" {
		r.inputs = []input{{path: "-", stdin: os.Stdin}}
		return r, nil
	}
	files, err := listFiles(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for _, p := range files {
		r.inputs = append(r.inputs, input{path: p})
	}
	return r, nil
}

// NewReader reads one stream (plain or gzip) named name, e.g. for tests or
// data received over the network.
func NewReader(ctx context.Context, name string, rd io.Reader, format string) (*Reader, error) {
	f, err := checkFormat(format)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &Reader{ctx: ctx, format: f, inputs: []input{{path: name, stdin: rd}}}, nil
}

// logExtensions are the file name endings read from a directory.
func isLogFile(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".json", ".jsonl", ".ndjson", ".log", ".gz"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

func listFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && isLogFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list log files: %w", err)
	}
	slices.Sort(files)
	return files, nil
}

// Stats returns a copy of the counters so far.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Problems = slices.Clone(r.stats.Problems)
	s.PerFile = slices.Clone(r.stats.PerFile)
	return s
}

// Close releases the current file. Calling Next after Close returns io.EOF.
func (r *Reader) Close() error {
	r.nextIn = len(r.inputs)
	r.queue, r.qi = nil, 0
	return r.closeCur()
}

func (r *Reader) closeCur() error {
	if r.cur == nil {
		return nil
	}
	c := r.cur.closer
	r.cur = nil
	if c != nil {
		if err := c.Close(); err != nil {
			return fmt.Errorf("close: %w", err)
		}
	}
	return nil
}

// Next returns the next event, io.EOF at the end, or the context's error.
// Unknown and malformed records are skipped (and counted), never returned.
func (r *Reader) Next() (event.Event, error) {
	for {
		if r.qi < len(r.queue) {
			ev := r.queue[r.qi]
			r.queue[r.qi] = event.Event{}
			r.qi++
			return ev, nil
		}
		r.queue, r.qi = r.queue[:0], 0
		r.calls++
		if r.calls&63 == 0 {
			if err := r.ctx.Err(); err != nil {
				return event.Event{}, err
			}
		}
		if r.cur == nil {
			if err := r.ctx.Err(); err != nil {
				return event.Event{}, err
			}
			if r.nextIn >= len(r.inputs) {
				return event.Event{}, io.EOF
			}
			in := r.inputs[r.nextIn]
			r.nextIn++
			if err := r.open(in); err != nil {
				if ctxErr := r.ctx.Err(); ctxErr != nil {
					return event.Event{}, ctxErr
				}
				r.problem(in.path, position{}, ProblemMalformed, err.Error())
				r.stats.Malformed++
				r.cur = nil
			}
			continue
		}
		raw, pos, err := r.cur.src.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				path := r.cur.path
				if cerr := r.closeCur(); cerr != nil {
					r.problem(path, pos, ProblemMalformed, cerr.Error())
				}
				continue
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return event.Event{}, err
			}
			var se *sourceError
			if errors.As(err, &se) {
				r.stats.Records++
				r.stats.PerFile[r.cur.fs].Records++
				r.malformed(se.pos, se.reason)
				if se.fatal {
					_ = r.closeCur()
				}
				continue
			}
			return event.Event{}, fmt.Errorf("read %s: %w", r.cur.path, err)
		}
		r.record(raw, pos, 0)
	}
}

// open starts reading one input: gunzip if needed, pick JSON lines or
// JSON document mode.
func (r *Reader) open(in input) error {
	var rd io.Reader
	var closer io.Closer
	if in.stdin != nil {
		rd = in.stdin
		if ff, ok := in.stdin.(*followFile); ok {
			closer = ff
		}
	} else {
		f, err := os.Open(in.path)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		rd, closer = f, f
	}
	r.stats.Files++
	r.stats.PerFile = append(r.stats.PerFile, FileStats{File: in.path})
	fr := &fileReader{path: in.path, closer: closer, fs: len(r.stats.PerFile) - 1}
	if r.format != FormatAuto {
		fr.format, fr.parse = r.format, parserFor(r.format)
		r.stats.PerFile[fr.fs].Format = r.format
	}
	r.cur = fr

	br := bufio.NewReaderSize(rd, readChunk)
	if r.follow == nil {
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			gz, err := gzip.NewReader(br)
			if err != nil {
				r.cur = nil
				if closer != nil {
					_ = closer.Close()
				}
				r.stats.PerFile[fr.fs].Malformed++
				return fmt.Errorf("gunzip: %w", err)
			}
			br = bufio.NewReaderSize(gz, readChunk)
			fr.closer = multiCloser{gz, closer}
		}
	}
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	if r.follow != nil {
		fr.src = newLineSource(br)
		return nil
	}
	peek, err := br.Peek(sniffSize)
	atEOF := err != nil // io.EOF (short file) or a read error the source will report again
	if sniffLines(peek, atEOF) {
		fr.src = newLineSource(br)
	} else {
		fr.src = newDocSource(br)
	}
	return nil
}

type multiCloser struct {
	a io.Closer
	b io.Closer
}

func (m multiCloser) Close() error {
	err := m.a.Close()
	if m.b != nil {
		if err2 := m.b.Close(); err == nil {
			err = err2
		}
	}
	return err
}

// sniffSize is how much of a stream is looked at to choose its layout.
const sniffSize = 64 << 10

// sniffLines decides between JSON lines (true) and JSON document (false)
// from the first bytes of a stream:
//   - a stream starting with '[' is a document;
//   - a stream starting with '{' is JSON lines when its first line is one
//     complete JSON value, or when its 2nd and 3rd lines are (the first line
//     being a damaged record); a first line longer than the sniff window is
//     read as a document (concatenated JSON values are accepted there too);
//   - anything else is read as JSON lines, so that each bad line is reported
//     on its own and the good ones still parse.
func sniffLines(peek []byte, atEOF bool) bool {
	i := jsonscan.SkipSpace(peek, 0)
	if i >= len(peek) {
		return true
	}
	switch peek[i] {
	case '[':
		return false
	case '{':
	default:
		return true
	}
	rest := peek[i:]
	nl := bytes.IndexByte(rest, '\n')
	if nl < 0 {
		return atEOF
	}
	if jsonscan.Valid(rest[:nl]) {
		return true
	}
	good := 0
	rest = rest[nl+1:]
	for k := 0; k < 2; k++ {
		for {
			rest = rest[jsonscan.SkipSpace(rest, 0):]
			if len(rest) == 0 {
				return false
			}
			break
		}
		nl = bytes.IndexByte(rest, '\n')
		line := rest
		if nl >= 0 {
			line, rest = rest[:nl], rest[nl+1:]
		} else if !atEOF {
			return false
		} else {
			rest = nil
		}
		if len(line) > 0 && line[0] == '{' && jsonscan.Valid(line) {
			good++
		}
	}
	return good == 2
}

func (r *Reader) problem(file string, pos position, kind, reason string) {
	if len(r.stats.Problems) >= MaxProblems {
		r.stats.ProblemsDropped++
		return
	}
	r.stats.Problems = append(r.stats.Problems, Problem{File: file, Line: pos.line, Index: pos.index, Offset: pos.offset, Kind: kind, Reason: reason})
}

func (r *Reader) malformed(pos position, reason string) {
	r.stats.Malformed++
	r.stats.PerFile[r.cur.fs].Malformed++
	r.problem(r.cur.path, pos, ProblemMalformed, reason)
}

func (r *Reader) unknown(pos position, reason string) {
	r.stats.Unknown++
	r.stats.PerFile[r.cur.fs].Unknown++
	r.problem(r.cur.path, pos, ProblemUnknown, reason)
}

// containerArrays returns the arrays whose elements are the records when raw
// is a container: a JSON array, or an object with a container key
// (Records, records, value, items, entries, Events, logEvents) holding an array.
func containerArrays(raw []byte) [][]byte {
	if jsonscan.IsArray(raw) {
		return [][]byte{raw}
	}
	if !jsonscan.IsObject(raw) {
		return nil
	}
	var out [][]byte
	it := jsonscan.NewMembers(raw)
	for it.Next() {
		if isContainerKey(it.Key()) && jsonscan.IsArray(it.Value()) {
			out = append(out, it.Value())
		}
	}
	if it.Err() != nil {
		return nil
	}
	return out
}

// record parses one raw record and queues its events. depth > 0 for the
// elements of a container found inside a JSON line or document element.
func (r *Reader) record(raw []byte, pos position, depth int) {
	fr := r.cur
	fst := &r.stats.PerFile[fr.fs]
	if fr.parse == nil {
		// Auto: detect from this record, or expand it if it is a container.
		f := Detect(raw)
		if f == "" {
			if depth == 0 && r.expand(raw, pos) {
				return
			}
			r.stats.Records++
			fst.Records++
			if reason := invalidJSON(raw); reason != "" {
				r.malformed(pos, reason)
				return
			}
			r.unknown(pos, hint(raw))
			return
		}
		fr.format, fr.parse = f, parserFor(f)
		fst.Format = f
	}
	n0 := len(r.queue)
	var err error
	r.queue, err = fr.parse(r.queue, raw)
	if errors.Is(err, event.ErrUnrecognized) {
		if depth == 0 && r.expand(raw, pos) {
			return
		}
		if r.format == FormatAuto {
			// Mixed input: try the format this record looks like.
			if f := Detect(raw); f != "" && f != fr.format {
				r.queue, err = fr.parserFor(f)(r.queue, raw)
			}
		}
	}
	r.stats.Records++
	fst.Records++
	switch {
	case err == nil:
	case errors.Is(err, event.ErrUnrecognized):
		reason := err.Error()
		if h := hint(raw); !strings.HasPrefix(h, "no known") {
			reason += ": " + h
		}
		r.unknown(pos, reason)
		return
	default:
		r.malformed(pos, err.Error())
		return
	}
	for i := n0; i < len(r.queue); i++ {
		r.queue[i].Ref = event.Ref{File: fr.path, Line: pos.line, Index: pos.index}
	}
	r.stats.Events += len(r.queue) - n0
	fst.Events += len(r.queue) - n0
}

// invalidJSON describes why raw is not one JSON value ("" when it is).
func invalidJSON(raw []byte) string {
	end, err := jsonscan.Skip(raw, 0)
	if err == nil {
		if end = jsonscan.SkipSpace(raw, end); end == len(raw) {
			return ""
		}
		err = jsonscan.ErrSyntax
	}
	return fmt.Sprintf("%v at byte %d", err, end)
}

// expand processes the elements of a container record; false if raw is not one.
func (r *Reader) expand(raw []byte, pos position) bool {
	arrays := containerArrays(raw)
	if len(arrays) == 0 {
		return false
	}
	idx := 0
	for _, arr := range arrays {
		el := jsonscan.NewElements(arr)
		for el.Next() {
			p := pos
			p.index = idx
			idx++
			r.record(el.Value(), p, 1)
		}
	}
	return true
}
