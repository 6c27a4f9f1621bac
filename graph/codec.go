package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Payloads are a compact binary encoding instead of JSON: the store and the
// in-memory view keep millions of them, and the view copies the stored bytes
// without decoding. Encodings are deterministic (attributes sorted) so an
// unchanged item encodes to identical bytes and the writer can compare bytes.
//
// node payload: kind u8 | name str | email str | nattrs uvarint | (key str | value str)*
// edge payload: flags u8 (bit0 conditional) | condition estr | nevidence uvarint |
//               (source estr | statement estr | detail estr)* | nattrs uvarint | (key estr | value estr)*
// str:  uvarint length | bytes
// estr: uvarint x: 0 = the edge's From, 1 = the edge's To, x>=2 = x-2 literal bytes follow.
//       Evidence often names an endpoint (a user's GroupList names the user), and
//       the 1-byte reference saves a whole ARN per edge.

var errShortPayload = errors.New("truncated payload")

const edgeFlagConditional = 1

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendEStr(b []byte, s, from, to string) []byte {
	switch s {
	case from:
		return append(b, 0)
	case to:
		return append(b, 1)
	}
	b = binary.AppendUvarint(b, uint64(len(s))+2)
	return append(b, s...)
}

func appendNodePayload(b []byte, n Node) []byte {
	b = append(b, byte(n.Kind))
	b = appendStr(b, n.Name)
	b = appendStr(b, n.Email)
	b = binary.AppendUvarint(b, uint64(len(n.Attrs)))
	var kb [8]string
	for _, k := range sortedKeys(kb[:0], n.Attrs) {
		b = appendStr(b, k)
		b = appendStr(b, n.Attrs[k])
	}
	return b
}

func appendEdgePayload(b []byte, e Edge) []byte {
	var flags byte
	if e.Conditional {
		flags |= edgeFlagConditional
	}
	b = append(b, flags)
	b = appendEStr(b, e.Condition, e.From, e.To)
	b = binary.AppendUvarint(b, uint64(len(e.Evidence)))
	for _, ev := range e.Evidence {
		b = appendEStr(b, ev.Source, e.From, e.To)
		b = appendEStr(b, ev.Statement, e.From, e.To)
		b = appendEStr(b, ev.Detail, e.From, e.To)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Attrs)))
	var kb [8]string
	for _, k := range sortedKeys(kb[:0], e.Attrs) {
		b = appendEStr(b, k, e.From, e.To)
		b = appendEStr(b, e.Attrs[k], e.From, e.To)
	}
	return b
}

// sortedKeys appends m's keys to dst in order; with a small array behind
// dst, encoding a node allocates nothing (SortedAttrKeys allocated once
// per node: 630k allocations per snapshot at the scale target).
func sortedKeys(dst []string, m map[string]string) []string {
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

// decoder reads a payload; the first error sticks so callers check once.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytesN(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) str() string { return string(d.bytesN(d.uvarint())) }

func (d *decoder) estr(from, to string) string {
	x := d.uvarint()
	switch x {
	case 0:
		return from
	case 1:
		return to
	}
	return string(d.bytesN(x - 2))
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShortPayload
	}
}

// count reads a collection length and bounds it by the bytes left, so a
// corrupt length cannot make us allocate gigabytes.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func decodeNodePayload(id string, p []byte) (Node, error) {
	d := decoder{b: p}
	n := Node{ID: id, Kind: NodeKind(d.byte())}
	n.Name = d.str()
	n.Email = d.str()
	if c := d.count(); c > 0 {
		n.Attrs = make(map[string]string, c)
		for range c {
			k := d.str()
			n.Attrs[k] = d.str()
		}
	}
	if d.err != nil {
		return Node{}, fmt.Errorf("decode node %q: %w", id, d.err)
	}
	return n, nil
}

// nodeNameEmail decodes only what FindByName needs.
func nodeNameEmail(p []byte) (name, email string) {
	d := decoder{b: p}
	d.byte()
	name = d.str()
	email = d.str()
	return name, email
}

func decodeEdgePayload(k EdgeKey, p []byte) (Edge, error) {
	d := decoder{b: p}
	e := Edge{From: k.From, Kind: k.Kind, To: k.To}
	e.Conditional = d.byte()&edgeFlagConditional != 0
	e.Condition = d.estr(k.From, k.To)
	if c := d.count(); c > 0 {
		e.Evidence = make([]Evidence, c)
		for i := range e.Evidence {
			e.Evidence[i] = Evidence{
				Source:    d.estr(k.From, k.To),
				Statement: d.estr(k.From, k.To),
				Detail:    d.estr(k.From, k.To),
			}
		}
	}
	if c := d.count(); c > 0 {
		e.Attrs = make(map[string]string, c)
		for range c {
			ak := d.estr(k.From, k.To)
			e.Attrs[ak] = d.estr(k.From, k.To)
		}
	}
	if d.err != nil {
		return Edge{}, fmt.Errorf("decode edge %s -%s-> %s: %w", k.From, k.Kind, k.To, d.err)
	}
	return e, nil
}

func edgePayloadConditional(p []byte) bool { return len(p) > 0 && p[0]&edgeFlagConditional != 0 }

// interval is one validity range of an item: it exists with payload in
// snapshots fromSeq <= s < toSeq (toSeq 0 = still open).
type interval struct {
	from, to uint64
	payload  []byte
}

func (iv interval) contains(seq uint64) bool {
	return iv.from <= seq && (iv.to == 0 || seq < iv.to)
}

// intervalsVersion prefixes every item value so the layout can evolve.
const intervalsVersion = 1

// value: version u8 | n uvarint | (from uvarint | to uvarint | len uvarint | payload)*
func encodeIntervals(ivs []interval) []byte {
	return appendIntervals(make([]byte, 0, intervalsSize(ivs)), ivs)
}

// intervalsSize is the exact encoded size of ivs.
func intervalsSize(ivs []interval) int {
	size := 1 + uvarintLen(uint64(len(ivs)))
	for _, iv := range ivs {
		size += uvarintLen(iv.from) + uvarintLen(iv.to) + uvarintLen(uint64(len(iv.payload))) + len(iv.payload)
	}
	return size
}

func appendIntervals(b []byte, ivs []interval) []byte {
	b = append(b, intervalsVersion)
	b = binary.AppendUvarint(b, uint64(len(ivs)))
	for _, iv := range ivs {
		b = binary.AppendUvarint(b, iv.from)
		b = binary.AppendUvarint(b, iv.to)
		b = binary.AppendUvarint(b, uint64(len(iv.payload)))
		b = append(b, iv.payload...)
	}
	return b
}

// decodeIntervals appends the intervals of v to dst. Payloads alias v.
func decodeIntervals(dst []interval, v []byte) ([]interval, error) {
	d := decoder{b: v}
	if ver := d.byte(); d.err == nil && ver != intervalsVersion {
		return dst, fmt.Errorf("item value version %d not supported", ver)
	}
	n := d.count()
	for range n {
		iv := interval{from: d.uvarint(), to: d.uvarint()}
		iv.payload = d.bytesN(d.uvarint())
		dst = append(dst, iv)
	}
	if d.err != nil {
		return dst, fmt.Errorf("decode item value: %w", d.err)
	}
	return dst, nil
}

// payloadAt returns the payload valid at seq without allocating.
func payloadAt(v []byte, seq uint64) ([]byte, bool, error) {
	d := decoder{b: v}
	if ver := d.byte(); d.err == nil && ver != intervalsVersion {
		return nil, false, fmt.Errorf("item value version %d not supported", ver)
	}
	n := d.count()
	for range n {
		from, to := d.uvarint(), d.uvarint()
		p := d.bytesN(d.uvarint())
		if d.err != nil {
			break
		}
		if from <= seq && (to == 0 || seq < to) {
			return p, true, nil
		}
	}
	if d.err != nil {
		return nil, false, fmt.Errorf("decode item value: %w", d.err)
	}
	return nil, false, nil
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}
