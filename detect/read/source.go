package read

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"permgraph/detect/internal/jsonscan"
)

// MaxRecordSize bounds one JSON line or one record inside a JSON document.
const MaxRecordSize = 16 << 20

// readChunk is the read size of the document scanner and the line buffer.
const readChunk = 1 << 20

// position says where a raw record starts.
type position struct {
	line   int64 // 1-based
	index  int   // 0-based record index inside a document
	offset int64 // byte offset in the (decompressed) stream
}

// sourceError is a problem found by a source. Fatal errors end the file
// (a JSON document cannot be resynchronized after a syntax error); others
// skip one record (a JSON line that is too long).
type sourceError struct {
	pos    position
	reason string
	fatal  bool
	err    error // underlying error, if any (I/O, context)
}

func (e *sourceError) Error() string { return e.reason }
func (e *sourceError) Unwrap() error { return e.err }

// source yields raw records; the slice is valid until the next call.
type source interface {
	next() ([]byte, position, error)
}

// lineSource reads JSON lines. Each non-blank line is one raw record (which
// the reader may still expand if it is a container such as {"Records":[...]}).
type lineSource struct {
	br      *bufio.Reader
	line    int64
	offset  int64
	long    []byte
	maxLine int
	eof     bool
}

func newLineSource(br *bufio.Reader) *lineSource {
	return &lineSource{br: br, maxLine: MaxRecordSize}
}

func (s *lineSource) next() ([]byte, position, error) {
	for {
		if s.eof {
			return nil, position{}, io.EOF
		}
		b, err := s.br.ReadSlice('\n')
		start := s.offset
		s.offset += int64(len(b))
		if errors.Is(err, bufio.ErrBufferFull) {
			tooLong := false
			s.long = append(s.long[:0], b...)
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = s.br.ReadSlice('\n')
				s.offset += int64(len(b))
				if !tooLong && len(s.long)+len(b) > s.maxLine {
					tooLong = true
					s.long = s.long[:0]
				}
				if !tooLong {
					s.long = append(s.long, b...)
				}
			}
			if tooLong {
				s.line++
				if errors.Is(err, io.EOF) {
					s.eof = true
				} else if err != nil {
					return nil, position{line: s.line, offset: start}, &sourceError{pos: position{line: s.line, offset: start}, reason: "read: " + err.Error(), fatal: true, err: err}
				}
				return nil, position{line: s.line, offset: start}, &sourceError{
					pos:    position{line: s.line, offset: start},
					reason: fmt.Sprintf("line longer than %d bytes skipped", s.maxLine),
				}
			}
			b = s.long
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, position{}, &sourceError{pos: position{line: s.line + 1, offset: start}, reason: "read: " + err.Error(), fatal: true, err: err}
			}
			s.eof = true
			if len(b) == 0 {
				return nil, position{}, io.EOF
			}
		}
		s.line++
		t := bytes.TrimSpace(b)
		if len(t) == 0 {
			continue
		}
		return t, position{line: s.line, offset: start}, nil
	}
}

// Container keys: a top-level object with one of these keys holding an array
// is a container whose elements are the records. ("events" is not one: it is
// a field of Workspace activities.)
func isContainerKey(k []byte) bool {
	switch string(k) {
	case "Records", "records", "value", "items", "entries", "Events", "logEvents":
		return true
	}
	return false
}

type docState uint8

const (
	docTop docState = iota
	docArray
	docObject
)

// docSource streams the records of JSON documents: top-level arrays,
// container objects ({"Records":[...]}, {"value":[...]}, {"entries":[...]},
// ...) whose array elements are the records, and single-record objects.
// Several documents may follow each other (concatenated JSON). It never holds
// more than one record (plus a read chunk) in memory.
type docSource struct {
	r       io.Reader
	buf     []byte
	n       int   // valid bytes in buf
	pos     int   // scan position in buf
	base    int64 // stream offset of buf[0]
	eof     bool
	maxRec  int
	lineNo  int64 // 1-based line number of buf[lineMark]
	lineAt0 int
	// state
	st           docState
	first        bool
	inTopArray   bool
	objStart     int // start of the current top-level object while it may be a single record; -1 otherwise
	sawContainer bool
	index        int
}

func newDocSource(r io.Reader) *docSource {
	return &docSource{r: r, buf: make([]byte, readChunk), maxRec: MaxRecordSize, lineNo: 1, objStart: -1}
}

func (d *docSource) lineAt(i int) int64 {
	if i > d.lineAt0 {
		d.lineNo += int64(bytes.Count(d.buf[d.lineAt0:i], []byte{'\n'}))
		d.lineAt0 = i
	}
	return d.lineNo
}

// fill discards consumed bytes and reads more. It returns a fatal
// sourceError when one value outgrows maxRec or the read fails.
func (d *docSource) fill() error {
	drop := d.pos
	if d.objStart >= 0 && d.objStart < drop {
		drop = d.objStart
	}
	if drop > 0 {
		d.lineAt(drop)
		copy(d.buf, d.buf[drop:d.n])
		d.n -= drop
		d.pos -= drop
		if d.objStart >= 0 {
			d.objStart -= drop
		}
		d.lineAt0 -= drop
		d.base += int64(drop)
	}
	if d.n == len(d.buf) {
		if len(d.buf) >= d.maxRec+readChunk {
			return d.fatal(d.pos, fmt.Sprintf("record larger than %d bytes", d.maxRec), nil)
		}
		nb := make([]byte, 2*len(d.buf))
		copy(nb, d.buf[:d.n])
		d.buf = nb
	}
	for {
		m, err := d.r.Read(d.buf[d.n:])
		d.n += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				d.eof = true
				return nil
			}
			return d.fatal(d.n, "read: "+err.Error(), err)
		}
		if m > 0 {
			return nil
		}
	}
}

func (d *docSource) fatal(i int, reason string, err error) *sourceError {
	return &sourceError{pos: position{line: d.lineAt(min(i, d.n)), index: d.index, offset: d.base + int64(i)}, reason: reason, fatal: true, err: err}
}

// ws skips whitespace, reading more as needed; afterwards pos < n unless at EOF.
func (d *docSource) ws() error {
	for {
		d.pos = jsonscan.SkipSpace(d.buf[:d.n], d.pos)
		if d.pos < d.n || d.eof {
			return nil
		}
		if err := d.fill(); err != nil {
			return err
		}
	}
}

// value returns the end of the complete JSON value at pos, reading more as
// needed. Only its boundary is found here (strings and nesting followed, no
// validation): the format parser validates the record, so each byte is
// validated once.
func (d *docSource) value() (int, error) {
	for {
		end, err := jsonscan.End(d.buf[:d.n], d.pos)
		if err == nil {
			return end, nil
		}
		if !errors.Is(err, jsonscan.ErrIncomplete) || d.eof {
			return end, d.syntax(end, err)
		}
		if err := d.fill(); err != nil {
			return 0, err
		}
	}
}

func (d *docSource) syntax(i int, err error) *sourceError {
	if errors.Is(err, jsonscan.ErrIncomplete) {
		return d.fatal(i, "unexpected end of file: truncated JSON document", err)
	}
	return d.fatal(i, "JSON syntax error: "+err.Error(), err)
}

// expect consumes byte c after optional whitespace.
func (d *docSource) expect(c byte) error {
	if err := d.ws(); err != nil {
		return err
	}
	if d.pos >= d.n {
		return d.syntax(d.pos, jsonscan.ErrIncomplete)
	}
	if d.buf[d.pos] != c {
		return d.fatal(d.pos, fmt.Sprintf("JSON syntax error: expected %q, found %q", c, d.buf[d.pos]), jsonscan.ErrSyntax)
	}
	d.pos++
	return nil
}

func (d *docSource) next() ([]byte, position, error) {
	for {
		if err := d.ws(); err != nil {
			return nil, position{}, err
		}
		switch d.st {
		case docTop:
			if d.pos >= d.n {
				return nil, position{}, io.EOF
			}
			switch d.buf[d.pos] {
			case '[':
				d.pos++
				d.st, d.first, d.inTopArray = docArray, true, true
			case '{':
				d.objStart = d.pos
				d.pos++
				d.st, d.first, d.sawContainer = docObject, true, false
			default:
				return nil, position{}, d.fatal(d.pos, fmt.Sprintf("JSON syntax error: expected '[' or '{' at top level, found %q", d.buf[d.pos]), jsonscan.ErrSyntax)
			}

		case docArray:
			if d.pos >= d.n {
				return nil, position{}, d.syntax(d.pos, jsonscan.ErrIncomplete)
			}
			if d.buf[d.pos] == ']' {
				d.pos++
				if d.inTopArray {
					d.st = docTop
				} else {
					d.st, d.first = docObject, false
				}
				continue
			}
			if !d.first {
				if err := d.expect(','); err != nil {
					return nil, position{}, err
				}
				if err := d.ws(); err != nil {
					return nil, position{}, err
				}
			}
			d.first = false
			end, err := d.value()
			if err != nil {
				return nil, position{}, err
			}
			p := position{line: d.lineAt(d.pos), index: d.index, offset: d.base + int64(d.pos)}
			rec := d.buf[d.pos:end]
			d.pos = end
			d.index++
			return rec, p, nil

		case docObject:
			if d.pos >= d.n {
				return nil, position{}, d.syntax(d.pos, jsonscan.ErrIncomplete)
			}
			if d.buf[d.pos] == '}' {
				d.pos++
				d.st = docTop
				start := d.objStart
				d.objStart = -1
				if d.sawContainer {
					continue
				}
				p := position{line: d.lineAt(start), index: d.index, offset: d.base + int64(start)}
				d.index++
				return d.buf[start:d.pos], p, nil
			}
			if !d.first {
				if err := d.expect(','); err != nil {
					return nil, position{}, err
				}
				if err := d.ws(); err != nil {
					return nil, position{}, err
				}
			}
			d.first = false
			if d.pos >= d.n {
				return nil, position{}, d.syntax(d.pos, jsonscan.ErrIncomplete)
			}
			if d.buf[d.pos] != '"' {
				return nil, position{}, d.syntax(d.pos, jsonscan.ErrSyntax)
			}
			kend, err := d.value()
			if err != nil {
				return nil, position{}, err
			}
			container := isContainerKey(d.buf[d.pos+1 : kend-1])
			d.pos = kend
			if err := d.expect(':'); err != nil {
				return nil, position{}, err
			}
			if err := d.ws(); err != nil {
				return nil, position{}, err
			}
			if container && d.pos < d.n && d.buf[d.pos] == '[' {
				d.sawContainer = true
				d.objStart = -1
				d.pos++
				d.st, d.first, d.inTopArray = docArray, true, false
				continue
			}
			end, err := d.value()
			if err != nil {
				return nil, position{}, err
			}
			d.pos = end
		}
	}
}
