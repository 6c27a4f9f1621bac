package k8saudit

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"permgraph/detect/internal/jsonscan"
)

// The audit event is walked once with detect/internal/jsonscan and only the
// fields the event is built from are kept, as raw JSON slices of the record.
// The walk reproduces what the encoding/json decoder this package used before
// did with the same input (reference_test.go keeps it and the tests compare
// both): keys match field names exactly or else case-insensitively, a repeated
// key overwrites (objects merge into the earlier value, maps add keys), null
// leaves strings and structs alone and clears pointers, maps and slices, and a
// known field of the wrong JSON type is a type error (the record is still read
// to the end, so that a wrapper record can be recognized).

// wire is an audit event (or a wrapper around one) as read from the record.
type wire struct {
	// Raw JSON strings (nil when absent or never a string).
	kind, apiVersion, auditID, stage, verb, requestURI, userAgent []byte
	reqTS, stageTS, ts                                            []byte // timestamps
	category, resourceID, log                                     []byte // AKS wrapper

	user, imp   userWire // user, impersonatedUser
	sourceIPs   strSlice
	ref         refWire // objectRef
	code        int     // responseStatus
	reason      []byte
	decision    []byte // annotations
	authzReason []byte

	requestObject, message []byte // any JSON value (json.RawMessage)

	typeErr error  // first known field of the wrong type
	data    []byte // the record, for offsets
}

type userWire struct {
	username, uid []byte
	groups        strSlice
	// user.extra values used (the first element of each list).
	canonicalArn, sessionName, accessKeyID, arn, podName, nodeName, credentialID []byte
}

type refWire struct {
	resource, namespace, name, apiGroup, subresource []byte
}

// Field names of each decoded struct, for case-insensitive key matching.
func auditFields() []string {
	return []string{"kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb", "user",
		"impersonatedUser", "sourceIPs", "userAgent", "objectRef", "responseStatus", "requestObject",
		"requestReceivedTimestamp", "stageTimestamp", "timestamp", "annotations", "message", "category",
		"resourceId", "properties"}
}

func userFields() []string { return []string{"username", "uid", "groups", "extra"} }

func refFields() []string {
	return []string{"resource", "namespace", "name", "apiGroup", "apiVersion", "subresource"}
}

func statusFields() []string { return []string{"code", "status", "reason"} }

func propertiesFields() []string { return []string{"log"} }

// foldField returns the field name that key matches case-insensitively, as
// encoding/json does for a key with no exact match ("" when none). An ASCII
// key can only match a name of its length; other keys may match through
// Unicode folding (the Kelvin sign folds to k).
func foldField(key []byte, names []string) string {
	ascii := true
	for _, c := range key {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for _, n := range names {
		if ascii && len(n) != len(key) {
			continue
		}
		if bytes.EqualFold(key, []byte(n)) {
			return n
		}
	}
	return ""
}

// typeError is a known field holding a JSON value of the wrong type.
type typeError struct {
	Field  string // dotted path, e.g. "user.groups"
	Got    string // JSON type found
	Want   string // what the field holds
	Offset int    // byte offset of the value in the record
}

func (e *typeError) Error() string {
	return fmt.Sprintf("field %s: JSON %s at byte %d, want %s", e.Field, e.Got, e.Offset, e.Want)
}

func jsonType(v []byte) string {
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// path names a field for errors; it is joined only when one is reported.
type path struct{ parent, name string }

func (p path) String() string {
	if p.parent == "" {
		return p.name
	}
	return p.parent + "." + p.name
}

func top(name string) path { return path{name: name} }

func (w *wire) bad(field path, v []byte, want string) {
	if w.typeErr == nil {
		// v is a sub-slice of the record: its offset follows from the capacities.
		w.typeErr = &typeError{Field: field.String(), Got: jsonType(v), Want: want, Offset: cap(w.data) - cap(v)}
	}
}

// str applies a JSON value to a string field: a string is kept, null changes
// nothing, anything else is a type error.
func (w *wire) str(dst *[]byte, v []byte, field path) {
	switch v[0] {
	case '"':
		*dst = v
	case 'n':
	default:
		w.bad(field, v, "string")
	}
}

// decode walks the record into w. It returns the scanner's error (invalid
// JSON, not an object); type errors are kept in w.typeErr.
func (w *wire) decode(raw []byte) error {
	w.data = raw
	it := jsonscan.NewMembers(raw)
	for it.Next() {
		key := it.Key()
		if !w.member(&it, key) {
			if n := foldField(key, auditFields()); n != "" {
				w.member(&it, []byte(n))
			}
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("at byte %d: %w", it.Offset(), err)
	}
	return nil
}

// member reads the current member of it when key names a field (false
// otherwise, the value then being skipped by the next it.Next).
func (w *wire) member(it *jsonscan.Members, key []byte) bool {
	switch string(key) {
	case "user":
		w.userMember(it, &w.user, "user", false)
		return true
	case "impersonatedUser":
		w.userMember(it, &w.imp, "impersonatedUser", true)
		return true
	case "objectRef":
		w.objectRef(it)
		return true
	case "responseStatus":
		w.responseStatus(it)
		return true
	case "annotations":
		w.annotations(it)
		return true
	case "properties":
		w.properties(it)
		return true
	}
	v := it.Value()
	if len(v) == 0 {
		return true // error: the loop ends
	}
	switch string(key) {
	case "kind":
		w.str(&w.kind, v, top("kind"))
	case "apiVersion":
		w.str(&w.apiVersion, v, top("apiVersion"))
	case "level":
		var level []byte
		w.str(&level, v, top("level"))
	case "auditID":
		w.str(&w.auditID, v, top("auditID"))
	case "stage":
		w.str(&w.stage, v, top("stage"))
	case "requestURI":
		w.str(&w.requestURI, v, top("requestURI"))
	case "verb":
		w.str(&w.verb, v, top("verb"))
	case "sourceIPs":
		w.sourceIPs.apply(w, v, top("sourceIPs"))
	case "userAgent":
		w.str(&w.userAgent, v, top("userAgent"))
	case "requestObject":
		w.requestObject = v
	case "requestReceivedTimestamp":
		w.str(&w.reqTS, v, top("requestReceivedTimestamp"))
	case "stageTimestamp":
		w.str(&w.stageTS, v, top("stageTimestamp"))
	case "timestamp":
		w.str(&w.ts, v, top("timestamp"))
	case "message":
		w.message = v
	case "category":
		w.str(&w.category, v, top("category"))
	case "resourceId":
		w.str(&w.resourceID, v, top("resourceId"))
	default:
		return false
	}
	return true
}

// objectValue is the current value of a member iterator, walked as an object.
type objectValue struct {
	jsonscan.Members
	entered bool // walked in place: leave must be called
}

// enter returns an iterator over the current value when it is an object
// (ok); else the value itself (nil after a scanning error).
func enter(it *jsonscan.Members) (sub objectValue, ok bool, v []byte) {
	if m, ok := it.Enter(); ok {
		return objectValue{Members: m, entered: true}, true, nil
	}
	// Already scanned (a key matched case-insensitively is looked at twice).
	if v = it.Value(); len(v) > 0 && v[0] == '{' {
		return objectValue{Members: jsonscan.NewMembers(v)}, true, nil
	}
	return objectValue{}, false, v
}

// leave finishes a value returned by enter.
func (o *objectValue) leave(it *jsonscan.Members) {
	if o.entered {
		it.Leave(&o.Members)
	}
}

// userMember reads a userInfo value (ptr: the field is a pointer, which null
// clears).
func (w *wire) userMember(it *jsonscan.Members, u *userWire, field string, ptr bool) {
	sub, ok, v := enter(it)
	if !ok {
		switch {
		case len(v) == 0:
		case v[0] == 'n':
			if ptr {
				*u = userWire{}
			}
		default:
			w.bad(top(field), v, "object")
		}
		return
	}
	for sub.Next() {
		key := sub.Key()
		if !w.userField(&sub.Members, u, key, field) {
			if n := foldField(key, userFields()); n != "" {
				w.userField(&sub.Members, u, []byte(n), field)
			}
		}
	}
	sub.leave(it)
}

func (w *wire) userField(it *jsonscan.Members, u *userWire, key []byte, field string) bool {
	switch string(key) {
	case "username":
		if v := it.Value(); len(v) > 0 {
			w.str(&u.username, v, path{field, "username"})
		}
	case "uid":
		if v := it.Value(); len(v) > 0 {
			w.str(&u.uid, v, path{field, "uid"})
		}
	case "groups":
		if v := it.Value(); len(v) > 0 {
			u.groups.apply(w, v, path{field, "groups"})
		}
	case "extra":
		w.extra(it, u, path{field, "extra"})
	default:
		return false
	}
	return true
}

// extra applies a map[string][]string value: null empties the map, an object
// sets its keys (each to a fresh list), anything else is a type error.
func (w *wire) extra(it *jsonscan.Members, u *userWire, field path) {
	sub, ok, v := enter(it)
	if !ok {
		switch {
		case len(v) == 0:
		case v[0] == 'n':
			u.canonicalArn, u.sessionName, u.accessKeyID, u.arn = nil, nil, nil, nil
			u.podName, u.nodeName, u.credentialID = nil, nil, nil
		default:
			w.bad(field, v, "object")
		}
		return
	}
	for sub.Next() {
		ev := sub.Value()
		if len(ev) == 0 {
			break
		}
		first := w.firstString(ev, field)
		switch string(sub.Key()) {
		case "canonicalArn":
			u.canonicalArn = first
		case "sessionName":
			u.sessionName = first
		case "accessKeyId":
			u.accessKeyID = first
		case "arn":
			u.arn = first
		case "authentication.kubernetes.io/pod-name":
			u.podName = first
		case "authentication.kubernetes.io/node-name":
			u.nodeName = first
		case "authentication.kubernetes.io/credential-id":
			u.credentialID = first
		}
	}
	sub.leave(it)
}

// firstString type-checks a []string value decoded into a fresh list and
// returns its first element when that is a string.
func (w *wire) firstString(v []byte, field path) []byte {
	switch v[0] {
	case 'n':
		return nil
	case '[':
	default:
		w.bad(field, v, "array of strings")
		return nil
	}
	var first []byte
	n := 0
	el := jsonscan.NewElements(v)
	for el.Next() {
		e := el.Value()
		switch e[0] {
		case '"':
			if n == 0 {
				first = e
			}
		case 'n':
		default:
			w.bad(field, e, "string")
		}
		n++
	}
	return first
}

func (w *wire) objectRef(it *jsonscan.Members) {
	sub, ok, v := enter(it)
	if !ok {
		switch {
		case len(v) == 0:
		case v[0] == 'n':
			w.ref = refWire{}
		default:
			w.bad(top("objectRef"), v, "object")
		}
		return
	}
	for sub.Next() {
		key := sub.Key()
		if !w.refField(&sub.Members, key) {
			if n := foldField(key, refFields()); n != "" {
				w.refField(&sub.Members, []byte(n))
			}
		}
	}
	sub.leave(it)
}

func (w *wire) refField(it *jsonscan.Members, key []byte) bool {
	var dst *[]byte
	var apiVersion []byte
	var name string
	switch string(key) {
	case "resource":
		dst, name = &w.ref.resource, "resource"
	case "namespace":
		dst, name = &w.ref.namespace, "namespace"
	case "name":
		dst, name = &w.ref.name, "name"
	case "apiGroup":
		dst, name = &w.ref.apiGroup, "apiGroup"
	case "apiVersion":
		dst, name = &apiVersion, "apiVersion"
	case "subresource":
		dst, name = &w.ref.subresource, "subresource"
	default:
		return false
	}
	if v := it.Value(); len(v) > 0 {
		w.str(dst, v, path{"objectRef", name})
	}
	return true
}

func (w *wire) responseStatus(it *jsonscan.Members) {
	sub, ok, v := enter(it)
	if !ok {
		switch {
		case len(v) == 0:
		case v[0] == 'n':
			w.code, w.reason = 0, nil
		default:
			w.bad(top("responseStatus"), v, "object")
		}
		return
	}
	for sub.Next() {
		key := sub.Key()
		if !w.statusField(&sub.Members, key) {
			if n := foldField(key, statusFields()); n != "" {
				w.statusField(&sub.Members, []byte(n))
			}
		}
	}
	sub.leave(it)
}

func (w *wire) statusField(it *jsonscan.Members, key []byte) bool {
	switch string(key) {
	case "code", "status", "reason":
	default:
		return false
	}
	v := it.Value()
	if len(v) == 0 {
		return true
	}
	switch string(key) {
	case "code":
		switch c := v[0]; {
		case c == 'n':
		case c == '-' || (c >= '0' && c <= '9'):
			// An int field takes integers only (no fraction or exponent).
			n, ok := parseInt(v)
			if !ok {
				w.bad(path{"responseStatus", "code"}, v, "integer")
				break
			}
			w.code = n
		default:
			w.bad(path{"responseStatus", "code"}, v, "integer")
		}
	case "status":
		var status []byte
		w.str(&status, v, path{"responseStatus", "status"})
	case "reason":
		w.str(&w.reason, v, path{"responseStatus", "reason"})
	}
	return true
}

// annotations applies a map[string]string value (see extra).
func (w *wire) annotations(it *jsonscan.Members) {
	sub, ok, v := enter(it)
	if !ok {
		switch {
		case len(v) == 0:
		case v[0] == 'n':
			w.decision, w.authzReason = nil, nil
		default:
			w.bad(top("annotations"), v, "object")
		}
		return
	}
	for sub.Next() {
		v := sub.Value()
		if len(v) == 0 {
			break
		}
		var s []byte // a map value is decoded into a fresh string
		w.str(&s, v, top("annotations"))
		switch string(sub.Key()) {
		case "authorization.k8s.io/decision":
			w.decision = s
		case "authorization.k8s.io/reason":
			w.authzReason = s
		}
	}
	sub.leave(it)
}

func (w *wire) properties(it *jsonscan.Members) {
	sub, ok, v := enter(it)
	if !ok {
		switch {
		case len(v) == 0:
		case v[0] == 'n':
			w.log = nil
		default:
			w.bad(top("properties"), v, "object")
		}
		return
	}
	for sub.Next() {
		key := sub.Key()
		if string(key) != "log" && foldField(key, propertiesFields()) == "" {
			continue
		}
		if v := sub.Value(); len(v) > 0 {
			w.str(&w.log, v, path{"properties", "log"})
		}
	}
	sub.leave(it)
}

// strSlice is a []string field. The values it was given are kept and the
// list is computed when it is used: one array of strings (the usual case) is
// read in place; anything else is replayed on a real slice, with encoding/json's
// reuse of the earlier elements (null elements keep them).
type strSlice struct {
	n       int
	first   []byte   // the first value applied
	more    [][]byte // later values
	strings bool     // first is an array of strings only
}

func (s *strSlice) apply(w *wire, v []byte, field path) {
	strs := false
	switch v[0] {
	case 'n':
	case '[':
		strs = true
		el := jsonscan.NewElements(v)
		for el.Next() {
			switch e := el.Value(); e[0] {
			case '"':
			case 'n':
				strs = false
			default:
				strs = false
				w.bad(field, e, "string")
			}
		}
	default:
		w.bad(field, v, "array of strings")
		return
	}
	if s.n == 0 {
		s.first, s.strings = v, strs
	} else {
		s.more = append(s.more, v)
	}
	s.n++
}

// simple reports whether the list is the one array of strings applied.
func (s *strSlice) simple() bool { return s.n == 1 && s.strings }

// replay replays the values on a []string as encoding/json's decoder does.
func (s *strSlice) replay() []string {
	var out []string
	for k := range s.n {
		v := s.first
		if k > 0 {
			v = s.more[k-1]
		}
		if v[0] == 'n' {
			out = nil
			continue
		}
		i := 0
		el := jsonscan.NewElements(v)
		for el.Next() {
			if i >= cap(out) {
				out = append(out[:i], "")
			} else if i >= len(out) {
				out = out[:i+1]
			}
			if e := el.Value(); e[0] == '"' {
				out[i], _ = jsonscan.StdString(e)
			}
			i++
		}
		out = out[:i]
		if i == 0 {
			out = []string{}
		}
	}
	return out
}

// join returns the elements joined with sep (shared through p).
func (s *strSlice) join(sep byte, buf []byte, p *Parser) string {
	if s.n == 0 {
		return ""
	}
	b := buf[:0]
	if !s.simple() {
		for i, e := range s.replay() {
			if i > 0 {
				b = append(b, sep)
			}
			b = append(b, e...)
		}
	} else {
		el := jsonscan.NewElements(s.first)
		for i := 0; el.Next(); i++ {
			if i > 0 {
				b = append(b, sep)
			}
			b, _ = jsonscan.AppendStdString(b, el.Value())
		}
	}
	if len(b) == 0 {
		return ""
	}
	return p.shared(b)
}

// firstOnly returns the first element of the list (shared through p).
func (s *strSlice) firstOnly(p *Parser) string {
	if s.n == 0 {
		return ""
	}
	if s.simple() {
		el := jsonscan.NewElements(s.first)
		if el.Next() {
			return p.str(el.Value())
		}
		return ""
	}
	if l := s.replay(); len(l) > 0 {
		return l[0]
	}
	return ""
}

// text decodes a raw JSON string kept by the walk ("" for nil).
func text(raw []byte) string {
	if raw == nil {
		return ""
	}
	s, _ := jsonscan.StdString(raw)
	return s
}

// is reports whether the raw JSON string raw decodes to s.
func is(raw []byte, s string) bool {
	if len(raw) < 2 {
		return s == ""
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body) == s // invalid UTF-8 matches no valid s either way
	}
	return text(raw) == s
}

// parseInt parses a JSON number as encoding/json does for an int field
// (strconv.ParseInt, 64 bits), without allocating for short ones.
func parseInt(v []byte) (int, bool) {
	if len(v) > 0 && len(v) <= 18 && v[0] != '-' {
		n := 0
		for _, c := range v {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return int(n), err == nil
}
