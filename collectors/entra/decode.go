package entra

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// pageDecoder reads the bulk pages of a replay (users, groups, and the
// members / owners lists) straight into the mapping's records, without
// kiota's parse tree and SDK models: kiota builds a map of ~150 field
// closures for every user object (and every member typed as one), which
// was most of a large replay's CPU and garbage.
//
// It takes only the shape the live collector's $select produces: the
// fields the mapping reads (plus the few Graph adds), each of the type
// the SDK model expects or null. Anything else (a field the $select did
// not ask for, a number where a string belongs, a duplicated key, an
// escaped key, a null list element, a date kiota would read differently)
// makes decode report false, and the caller decodes the page with kiota
// as before: errors and odd pages keep kiota's exact behaviour. Whatever
// the fast path accepts is valid JSON, so it never accepts a page kiota
// would refuse. Records are reused from page to page.
type pageDecoder struct {
	users  []userRec
	groups []groupRec
	objs   []objRec
}

// fastKind reports the page kinds pageDecoder reads.
func fastKind(k pageKind) bool {
	switch k {
	case pageUsers, pageGroups, pageGroupMembers, pageGroupOwners, pageSPOwners, pageAppOwners:
		return true
	}
	return false
}

// decode reads body, a page of kind k, into the decoder's records; false
// means the page is left to kiota.
func (pd *pageDecoder) decode(k pageKind, body []byte) bool {
	d := jd{b: body}
	switch k {
	case pageUsers:
		pd.users = pd.users[:0]
		return d.collection(func() bool {
			pd.users = grow(pd.users)
			return d.user(&pd.users[len(pd.users)-1])
		})
	case pageGroups:
		pd.groups = pd.groups[:0]
		return d.collection(func() bool {
			pd.groups = grow(pd.groups)
			return d.group(&pd.groups[len(pd.groups)-1])
		})
	case pageGroupMembers, pageGroupOwners, pageSPOwners, pageAppOwners:
		pd.objs = pd.objs[:0]
		return d.collection(func() bool {
			pd.objs = append(pd.objs, objRec{})
			return d.obj(&pd.objs[len(pd.objs)-1])
		})
	}
	return false
}

// apply feeds the records of the last decode into the builder, in page
// order, as builder.apply does with the SDK models.
func (pd *pageDecoder) apply(b *builder, k pageKind, owner string) error {
	switch k {
	case pageUsers:
		for i := range pd.users {
			if err := b.addUser(&pd.users[i]); err != nil {
				return err
			}
		}
	case pageGroups:
		for i := range pd.groups {
			if err := b.addGroup(&pd.groups[i]); err != nil {
				return err
			}
		}
	case pageGroupMembers:
		return b.addMembers(owner, pd.objs)
	case pageGroupOwners, pageSPOwners, pageAppOwners:
		coll := "groups"
		switch k {
		case pageSPOwners:
			coll = "servicePrincipals"
		case pageAppOwners:
			coll = "applications"
		}
		for _, o := range pd.objs {
			if err := b.addOwner(coll, owner, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// grow extends recs by one element, reusing the backing array (and the
// slices inside a reused element) when it can.
func grow[T any](recs []T) []T {
	if len(recs) < cap(recs) {
		return recs[:len(recs)+1]
	}
	var zero T
	return append(recs, zero)
}

// keySet tracks the keys of one object seen so far: a key given twice is
// left to kiota (its map keeps the last, which a one-pass reader would
// have to undo).
type keySet uint32

func (s *keySet) first(bit uint) bool {
	if *s&(1<<bit) != 0 {
		return false
	}
	*s |= 1 << bit
	return true
}

func (d *jd) user(r *userRec) bool {
	// An absent or null otherMails leaves an empty list: the mapping
	// treats it as absent, and the storage serves the next page.
	mails := r.otherMails[:0]
	*r = userRec{otherMails: mails}
	var seen keySet
	return d.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "id":
			r.id, ok = d.nstr()
			return ok && seen.first(0)
		case "displayName":
			r.displayName, ok = d.nstr()
			return ok && seen.first(1)
		case "userPrincipalName":
			r.upn, ok = d.nstr()
			return ok && seen.first(2)
		case "mail":
			r.mail, ok = d.nstr()
			return ok && seen.first(3)
		case "userType":
			r.userType, ok = d.nstr()
			return ok && seen.first(4)
		case "accountEnabled":
			r.enabled, ok = d.nbool()
			return ok && seen.first(5)
		case "createdDateTime":
			r.created, ok = d.ntime()
			return ok && seen.first(6)
		case "otherMails":
			r.otherMails, _, ok = d.nstrList(mails)
			return ok && seen.first(7)
		case "signInActivity":
			return d.signIn(r) && seen.first(8)
		case "@odata.type":
			_, ok = d.nstr()
			return ok && seen.first(9)
		}
		return false
	})
}

// signIn reads signInActivity (null or the object) for its
// lastSignInDateTime; the other fields must still be what the SDK model
// takes.
func (d *jd) signIn(r *userRec) bool {
	if d.null() {
		return true
	}
	var seen keySet
	return d.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "lastSignInDateTime":
			r.lastSignIn, ok = d.ntime()
			return ok && seen.first(0)
		case "lastNonInteractiveSignInDateTime":
			_, ok = d.ntime()
			return ok && seen.first(1)
		case "lastSuccessfulSignInDateTime":
			_, ok = d.ntime()
			return ok && seen.first(2)
		case "lastSignInRequestId":
			_, ok = d.nstr()
			return ok && seen.first(3)
		case "lastNonInteractiveSignInRequestId":
			_, ok = d.nstr()
			return ok && seen.first(4)
		case "lastSuccessfulSignInRequestId":
			_, ok = d.nstr()
			return ok && seen.first(5)
		case "@odata.type":
			_, ok = d.nstr()
			return ok && seen.first(6)
		}
		return false
	})
}

func (d *jd) group(r *groupRec) bool {
	types := r.groupTypes[:0]
	*r = groupRec{}
	var seen keySet
	return d.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "id":
			r.id, ok = d.nstr()
			return ok && seen.first(0)
		case "displayName":
			r.displayName, ok = d.nstr()
			return ok && seen.first(1)
		case "mail":
			r.mail, ok = d.nstr()
			return ok && seen.first(2)
		case "membershipRule":
			r.membershipRule, ok = d.nstr()
			return ok && seen.first(3)
		case "securityEnabled":
			r.securityEnabled, ok = d.nbool()
			return ok && seen.first(4)
		case "mailEnabled":
			r.mailEnabled, ok = d.nbool()
			return ok && seen.first(5)
		case "isAssignableToRole":
			r.roleAssignable, ok = d.nbool()
			return ok && seen.first(6)
		case "groupTypes":
			// null and [] map alike (jsonList writes "[]" for both)
			types, _, ok = d.nstrList(types)
			r.groupTypes = types
			return ok && seen.first(7)
		case "@odata.type":
			_, ok = d.nstr()
			return ok && seen.first(8)
		}
		return false
	})
}

// obj reads a members / owners entry: its @odata.type (kiota's
// discriminator picks the model by it, and only three model types hold
// permissions here) and id.
func (d *jd) obj(o *objRec) bool {
	var seen keySet
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "id":
			var ok bool
			o.id, ok = d.nstr()
			return ok && seen.first(0)
		case "@odata.type":
			d.ws()
			start := d.i
			raw, plain, ok := d.rawString()
			switch {
			case ok && plain:
				o.typ = objTypeOf(raw)
			case ok:
				d.i = start
				s, ok := d.nstr()
				if !ok {
					return false
				}
				o.typ = objTypeOf([]byte(s))
			case !d.null():
				return false
			}
			return seen.first(1)
		}
		return false
	})
}

// objTypeOf maps @odata.type as CreateDirectoryObjectFromDiscriminatorValue
// does (exact match), to the types principalOf distinguishes.
func objTypeOf(name []byte) objType {
	switch string(name) {
	case "#microsoft.graph.user":
		return objUser
	case "#microsoft.graph.group":
		return objGroup
	case "#microsoft.graph.servicePrincipal":
		return objSP
	}
	return objOther
}

// jd reads JSON strictly: whatever it accepts is valid JSON, and it reports
// false on anything it does not take rather than guessing.
type jd struct {
	b []byte
	i int
}

func (d *jd) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (d *jd) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *jd) eat(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// literal moves past w if it is the next token.
func (d *jd) literal(w string) bool {
	d.ws()
	if !bytes.HasPrefix(d.b[d.i:], []byte(w)) {
		return false
	}
	if j := d.i + len(w); j < len(d.b) {
		switch d.b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	d.i += len(w)
	return true
}

func (d *jd) null() bool { return d.literal("null") }

// rawString returns the bytes of the string at i, quotes excluded, and
// whether they can be used as they are (ASCII, no escapes). It refuses
// control characters, as JSON does.
func (d *jd) rawString() (s []byte, plain, ok bool) {
	if d.peek() != '"' {
		return nil, false, false
	}
	start := d.i + 1
	plain = true
	for i := start; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			d.i = i + 1
			return d.b[start:i], plain, true
		case c == '\\':
			plain = false
			i++
		case c < 0x20:
			return nil, false, false
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return nil, false, false
}

// nstr reads a string or null ("") as encoding/json's decoder hands it to
// kiota: escapes resolved, invalid UTF-8 replaced.
func (d *jd) nstr() (string, bool) {
	start := d.i
	raw, plain, ok := d.rawString()
	if !ok {
		d.i = start
		return "", d.null()
	}
	if plain || bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), true
	}
	var s string
	if json.Unmarshal(d.b[start:d.i], &s) != nil {
		return "", false
	}
	return s, true
}

func (d *jd) nbool() (optBool, bool) {
	switch {
	case d.literal("true"):
		return boolTrue, true
	case d.literal("false"):
		return boolFalse, true
	case d.null():
		return boolAbsent, true
	}
	return boolAbsent, false
}

// ntime reads a date-time string or null as kiota's GetTimeValue does,
// except for 19-character strings (no zone: kiota appends the machine's
// zone) and unparsable ones (kiota fails the page), which go to kiota.
func (d *jd) ntime() (time.Time, bool) {
	if d.null() {
		return time.Time{}, true
	}
	s, ok := d.nstr()
	if !ok || len(s) == 19 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// nstrList reads an array of strings into dst[:0], or null (null=true,
// dst[:0] returned). A null element is left to kiota.
func (d *jd) nstrList(dst []string) (out []string, null, ok bool) {
	dst = dst[:0]
	if d.null() {
		return dst, true, true
	}
	if !d.eat('[') {
		return dst, false, false
	}
	if d.eat(']') {
		return dst, false, true
	}
	for {
		if d.peek() != '"' {
			return dst, false, false
		}
		s, ok := d.nstr()
		if !ok {
			return dst, false, false
		}
		dst = append(dst, s)
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return dst, false, true
		default:
			return dst, false, false
		}
	}
}

// object calls fn for each key of the object at i; fn reads the value.
// Escaped or non-ASCII keys are refused (kiota matches keys after
// unescaping).
func (d *jd) object(fn func(key []byte) bool) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	for {
		k, plain, ok := d.rawString()
		if !ok || !plain || !d.eat(':') || !fn(k) {
			return false
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// collection reads a collection response: @odata.context and
// @odata.nextLink (strings or null) and value, an array of objects read by
// item. It must be the whole body.
func (d *jd) collection(item func() bool) bool {
	var seen keySet
	ok := d.object(func(k []byte) bool {
		switch string(k) {
		case "@odata.context", "@odata.nextLink":
			bit := uint(0)
			if k[len(k)-1] == 'k' {
				bit = 1
			}
			_, ok := d.nstr()
			return ok && seen.first(bit)
		case "value":
			if !seen.first(2) || !d.eat('[') {
				return false
			}
			if d.eat(']') {
				return true
			}
			for {
				if d.peek() != '{' || !item() {
					return false
				}
				switch d.peek() {
				case ',':
					d.i++
				case ']':
					d.i++
					return true
				default:
					return false
				}
			}
		}
		return false
	})
	return ok && d.peek() == 0 && d.i == len(d.b)
}
