package workspace

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"unicode/utf8"

	admin "google.golang.org/api/admin/directory/v1"
)

// pageDecoder reads the users, groups and members pages of a capture
// without building admin.* structs: an admin.User is ~1 KB and a 500k-user
// capture has 500k of them plus 1.8M admin.Member. It reads only pages
// that encoding/json accepts (the replay validated every line first) and
// takes only what the mapper uses; whenever encoding/json could read the
// page differently (a key that matches a field case-insensitively, a null
// or a value of another type, a key given twice where encoding/json would
// merge...), it says so and the caller decodes the page with
// encoding/json as before. Records and their slices are reused from page
// to page.
type pageDecoder struct {
	users   []userRec
	groups  []groupRec
	members []memberRec
	// JSON field names of the admin types, lower-cased: a key folding to
	// one of them that the fast path does not take exactly as spelled goes
	// to encoding/json.
	usersFields, userFields, nameFields map[string]bool
	groupsFields, groupFields           map[string]bool
	membersFields, memberFields         map[string]bool
}

// memberRec is what the mapper takes from a members.list entry.
type memberRec struct{ id, email, role, typ string }

func newPageDecoder() *pageDecoder {
	return &pageDecoder{
		usersFields:   jsonFields(reflect.TypeFor[admin.Users]()),
		userFields:    jsonFields(reflect.TypeFor[admin.User]()),
		nameFields:    jsonFields(reflect.TypeFor[admin.UserName]()),
		groupsFields:  jsonFields(reflect.TypeFor[admin.Groups]()),
		groupFields:   jsonFields(reflect.TypeFor[admin.Group]()),
		membersFields: jsonFields(reflect.TypeFor[admin.Members]()),
		memberFields:  jsonFields(reflect.TypeFor[admin.Member]()),
	}
}

// jsonFields lists a struct's JSON field names, lower-cased.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[strings.ToLower(name)] = true
	}
	return out
}

// jd walks JSON that encoding/json has accepted (or would: the replay
// validated the line). Every step still checks what it expects and
// reports false rather than guessing, so the caller can fall back.
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

// rawString returns the bytes of the string at i, quotes excluded, and
// whether they need decoding (escapes or non-ASCII).
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
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	return nil, false, false
}

// str reads a string value as encoding/json would store it in a Go string.
func (d *jd) str() (string, bool) {
	start := d.i
	raw, plain, ok := d.rawString()
	if !ok {
		return "", false
	}
	if plain || utf8.Valid(raw) && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	var s string
	if json.Unmarshal(d.b[start:d.i], &s) != nil {
		return "", false
	}
	return s, true
}

// key reads an object key and its colon. It returns ok=false for keys the
// fast path does not take (escaped, non-ASCII: encoding/json folds some
// non-ASCII letters onto ASCII field names).
func (d *jd) key() ([]byte, bool) {
	raw, plain, ok := d.rawString()
	if !ok || !plain || !d.eat(':') {
		return nil, false
	}
	return raw, true
}

// next moves past a ',' (true) or the closing byte (false); ok reports
// whether one of them was there.
func (d *jd) next(closing byte) (more, ok bool) {
	switch d.peek() {
	case ',':
		d.i++
		return true, true
	case closing:
		d.i++
		return false, true
	}
	return false, false
}

func (d *jd) boolean() (v, ok bool) {
	d.ws()
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		d.i += 4
		return true, true
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		d.i += 5
		return false, true
	}
	return false, false
}

// skip moves past one value of any type.
func (d *jd) skip() bool {
	switch d.peek() {
	case '"':
		_, _, ok := d.rawString()
		return ok
	case '{', '[':
		depth := 0
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case '"':
				if _, _, ok := d.rawString(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					d.i++
					return true
				}
			}
			d.i++
		}
		return false
	case 0:
		return false
	}
	// number or literal: up to the next delimiter
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return true
		}
		d.i++
	}
	return true
}

// stringList reads a JSON array of strings into dst[:0]; a null or any
// other element type is left to encoding/json.
func (d *jd) stringList(dst []string) ([]string, bool) {
	dst = dst[:0]
	if !d.eat('[') {
		return dst, false
	}
	if d.eat(']') {
		return dst, true
	}
	for {
		s, ok := d.str()
		if !ok {
			return dst, false
		}
		dst = append(dst, s)
		more, ok := d.next(']')
		if !ok {
			return dst, false
		}
		if !more {
			return dst, true
		}
	}
}

// object calls fn for each key of the object at i; fn reads the value.
func (d *jd) object(fn func(key []byte) bool) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	for {
		k, ok := d.key()
		if !ok || !fn(k) {
			return false
		}
		more, ok := d.next('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// array calls fn for each element of the array at i; a null element is
// left to encoding/json (it decodes to a nil pointer).
func (d *jd) array(fn func() bool) bool {
	if !d.eat('[') {
		return false
	}
	if d.eat(']') {
		return true
	}
	for {
		if d.peek() != '{' || !fn() {
			return false
		}
		more, ok := d.next(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// end reports whether only white space is left.
func (d *jd) end() bool { return d.peek() == 0 && d.i == len(d.b) }

// other handles a key the fast path does not use: skipped unless it could
// be one of the struct's fields to encoding/json.
func (d *jd) other(k []byte, fields map[string]bool) bool {
	var low [64]byte
	if len(k) <= len(low) {
		for i, c := range k {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		if fields[string(low[:len(k)])] {
			return false
		}
	}
	return d.skip()
}

// ignoredString accepts a string value of a field the mapper does not use
// (encoding/json would fail on another type).
func (d *jd) ignoredString() bool {
	_, _, ok := d.rawString()
	return ok
}

// pageTop walks a list page's top level (fields: the page type's): kind,
// etag, nextPageToken and the extra names are strings, list is the items
// field, read by item once (given twice, encoding/json would merge the two
// lists element by element).
func (d *jd) pageTop(fields map[string]bool, list string, item func() bool, extra ...string) (kind string, ok bool) {
	seen := false
	ok = d.object(func(k []byte) bool {
		switch string(k) {
		case "kind":
			s, ok := d.str()
			kind = s
			return ok
		case "etag", "nextPageToken":
			return d.ignoredString()
		case list:
			if seen {
				return false
			}
			seen = true
			return d.array(item)
		}
		for _, e := range extra {
			if string(k) == e {
				return d.ignoredString()
			}
		}
		return d.other(k, fields)
	})
	return kind, ok && d.end()
}

// decodeUsers reads a users.list page into pd.users.
func (pd *pageDecoder) decodeUsers(body []byte) (kind string, ok bool) {
	d := jd{b: body}
	recs := pd.users[:0]
	kind, ok = d.pageTop(pd.usersFields, "users", func() bool {
		if len(recs) < cap(recs) {
			recs = recs[:len(recs)+1]
		} else {
			recs = append(recs, userRec{})
		}
		r := &recs[len(recs)-1]
		aliases, nonEditable := r.aliases[:0], r.nonEditableAliases[:0]
		*r = userRec{}
		var sawAliases, sawNonEditable bool
		ok := d.object(func(k []byte) bool {
			var ok bool
			switch string(k) {
			case "id":
				r.id, ok = d.str()
			case "primaryEmail":
				r.email, ok = d.str()
			case "lastLoginTime":
				r.lastLogin, ok = d.str()
			case "creationTime":
				r.created, ok = d.str()
			case "customerId":
				ok = d.ignoredString()
			case "suspended":
				r.suspended, ok = d.boolean()
			case "isAdmin":
				r.isAdmin, ok = d.boolean()
			case "isDelegatedAdmin":
				r.isDelegatedAdmin, ok = d.boolean()
			case "aliases":
				aliases, ok = d.stringList(aliases)
				ok = ok && !sawAliases
				sawAliases = true
			case "nonEditableAliases":
				nonEditable, ok = d.stringList(nonEditable)
				ok = ok && !sawNonEditable
				sawNonEditable = true
			case "name":
				// A second "name" object fills the same admin.UserName,
				// so fullName carries over: the same here.
				r.hasName = true
				ok = d.object(func(k []byte) bool {
					switch string(k) {
					case "fullName":
						var ok bool
						r.fullName, ok = d.str()
						return ok
					case "givenName", "familyName", "displayName":
						return d.ignoredString()
					}
					return d.other(k, pd.nameFields)
				})
			default:
				ok = d.other(k, pd.userFields)
			}
			return ok
		})
		// empty when absent; the storage is kept for the next page
		r.aliases, r.nonEditableAliases = aliases, nonEditable
		return ok
	}, "trigger_event")
	pd.users = recs
	return kind, ok
}

// decodeGroups reads a groups.list page into pd.groups.
func (pd *pageDecoder) decodeGroups(body []byte) (kind string, ok bool) {
	d := jd{b: body}
	recs := pd.groups[:0]
	kind, ok = d.pageTop(pd.groupsFields, "groups", func() bool {
		if len(recs) < cap(recs) {
			recs = recs[:len(recs)+1]
		} else {
			recs = append(recs, groupRec{})
		}
		r := &recs[len(recs)-1]
		aliases, nonEditable := r.aliases[:0], r.nonEditableAliases[:0]
		*r = groupRec{directMembersCount: "0"}
		var sawAliases, sawNonEditable bool
		ok := d.object(func(k []byte) bool {
			var ok bool
			switch string(k) {
			case "id":
				r.id, ok = d.str()
			case "email":
				r.email, ok = d.str()
			case "name":
				r.name, ok = d.str()
			case "description", "etag", "kind":
				ok = d.ignoredString()
			case "adminCreated":
				_, ok = d.boolean()
			case "directMembersCount":
				r.directMembersCount, ok = d.quotedInt()
			case "aliases":
				aliases, ok = d.stringList(aliases)
				ok = ok && !sawAliases
				sawAliases = true
			case "nonEditableAliases":
				nonEditable, ok = d.stringList(nonEditable)
				ok = ok && !sawNonEditable
				sawNonEditable = true
			default:
				ok = d.other(k, pd.groupFields)
			}
			return ok
		})
		r.aliases, r.nonEditableAliases = aliases, nonEditable
		return ok
	})
	pd.groups = recs
	return kind, ok
}

// quotedInt reads an int64 field tagged ",string" (directMembersCount):
// a string holding a canonical decimal (what strconv.FormatInt would
// write back) is taken as it is; anything else goes to encoding/json.
func (d *jd) quotedInt() (string, bool) {
	raw, plain, ok := d.rawString()
	if !ok || !plain || len(raw) == 0 || len(raw) > 18 || raw[0] == '0' && len(raw) > 1 {
		return "", false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	switch string(raw) { // small counts are most: no allocation
	case "0":
		return "0", true
	case "1":
		return "1", true
	case "2":
		return "2", true
	}
	return string(raw), true
}

// decodeMembers reads a members.list page into pd.members.
func (pd *pageDecoder) decodeMembers(body []byte) (kind string, ok bool) {
	d := jd{b: body}
	recs := pd.members[:0]
	kind, ok = d.pageTop(pd.membersFields, "members", func() bool {
		var r memberRec
		ok := d.object(func(k []byte) bool {
			var ok bool
			switch string(k) {
			case "id":
				r.id, ok = d.str()
			case "email":
				r.email, ok = d.str()
			case "role":
				r.role, ok = d.word()
			case "type":
				r.typ, ok = d.word()
			case "etag", "kind", "status", "delivery_settings":
				ok = d.ignoredString()
			default:
				ok = d.other(k, pd.memberFields)
			}
			return ok
		})
		recs = append(recs, r)
		return ok
	})
	pd.members = recs
	return kind, ok
}

// word reads a string with few distinct values (role, type) without
// allocating for the usual ones.
func (d *jd) word() (string, bool) {
	start := d.i
	raw, plain, ok := d.rawString()
	if !ok {
		return "", false
	}
	if plain {
		switch string(raw) {
		case "MEMBER":
			return "MEMBER", true
		case "OWNER":
			return "OWNER", true
		case "MANAGER":
			return "MANAGER", true
		case "USER":
			return "USER", true
		case "GROUP":
			return "GROUP", true
		case "CUSTOMER":
			return "CUSTOMER", true
		case "EXTERNAL":
			return "EXTERNAL", true
		case "":
			return "", true
		}
	}
	d.i = start
	return d.str()
}
