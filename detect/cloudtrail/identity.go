package cloudtrail

import "hash/maphash"

// identityRaw holds the raw JSON values of the userIdentity fields that
// repeat for one principal (nil when absent).
type identityRaw struct {
	typ, arn, pid, acct, issuer []byte
}

// identityStr is identityRaw decoded, with the session name of the ARN.
type identityStr struct {
	typ, arn, pid, acct, issuer, session string
}

// identitySlots is the size of the identity cache (a power of two): a
// busy trail interleaves a few thousand principals and sessions (12% misses
// at 4096 slots on a generated 20k-principal stream with ~2,900 of them,
// 36% at 1024).
const identitySlots = 4096

// identityCacheAfter is how many records a Parser reads before it makes
// its identity cache (about a megabyte once full): a reader has one parser
// per file, and S3-delivered trails come in many small files.
const identityCacheAfter = 256

// maxCachedIdentity bounds the raw bytes one cache entry keeps.
const maxCachedIdentity = 1024

// identityEntry is one principal's identity fields, raw and decoded. The
// raw values sit in one buffer: checking a hit touches one or two cache
// lines, where decoding each field through the shared-string cache (a
// hash and a compare against a string anywhere in the heap per field) was
// the largest part of reading userIdentity.
type identityEntry struct {
	hash uint64
	raw  []byte // typ, arn, pid, acct, issuer back to back
	lens [5]uint16
	str  identityStr
}

func (e *identityEntry) holds(h uint64, f *identityRaw) bool {
	if e.hash != h || e.raw == nil || int(e.lens[0])+int(e.lens[1])+int(e.lens[2])+int(e.lens[3])+int(e.lens[4]) != len(e.raw) {
		return false
	}
	off := 0
	next := func(i int, v []byte) bool {
		n := int(e.lens[i])
		ok := n == len(v) && string(e.raw[off:off+n]) == string(v)
		off += n
		return ok
	}
	return next(0, f.typ) && next(1, f.arn) && next(2, f.pid) && next(3, f.acct) && next(4, f.issuer)
}

// identityStrings decodes f, from the cache when the same principal was
// seen recently (direct-mapped by the ARN, else the principal id).
func (p *Parser) identityStrings(f *identityRaw) identityStr {
	if p.ids == nil {
		if p.intern == nil || p.records < identityCacheAfter {
			p.records++
			return p.decodeIdentity(f)
		}
		p.ids = new([identitySlots]identityEntry)
	}
	key := f.arn
	if key == nil {
		key = f.pid
	}
	h := maphash.Bytes(p.seed, key)
	e := &p.ids[h&(identitySlots-1)]
	if e.holds(h, f) {
		return e.str
	}
	s := p.decodeIdentity(f)
	if n := len(f.typ) + len(f.arn) + len(f.pid) + len(f.acct) + len(f.issuer); n <= maxCachedIdentity {
		e.hash, e.str = h, s
		e.raw = e.raw[:0]
		for i, v := range [5][]byte{f.typ, f.arn, f.pid, f.acct, f.issuer} {
			e.raw = append(e.raw, v...)
			e.lens[i] = uint16(len(v))
		}
		if e.raw == nil {
			e.raw = []byte{} // marks the entry used
		}
	}
	return s
}

func (p *Parser) decodeIdentity(f *identityRaw) identityStr {
	s := identityStr{typ: p.str(fType, f.typ), arn: p.str(fARN, f.arn), pid: p.str(fPrincipalID, f.pid),
		acct: p.str(fAccount, f.acct), issuer: p.str(fIssuer, f.issuer)}
	s.session = sessionName(s.arn)
	return s
}
