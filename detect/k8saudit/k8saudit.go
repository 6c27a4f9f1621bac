// Package k8saudit parses Kubernetes audit events (audit.k8s.io/v1 and
// v1beta1 Event, as written by the log backend, EKS/AKS exports and Falco
// fixtures) into normalized events, and exports the Kubernetes
// classification and pod-spec extraction that detect/gcpaudit reuses for GKE.
//
// Records are walked once with detect/internal/jsonscan (no reflection, only
// the fields used are decoded, request objects only for the resources whose
// details the rules read), because Kubernetes audit logs are high-volume.
// The walk follows encoding/json's decoding rules exactly; the encoding/json
// parser it replaced is kept in reference_test.go, and the tests and fuzzers
// compare the two.
package k8saudit

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
	"permgraph/detect/internal/jsonscan"
)

// Format is the format name used by readers and in event.Event.Format.
const Format = "k8s-audit"

// Stage names.
const (
	StageRequestReceived  = "RequestReceived"
	StageResponseStarted  = "ResponseStarted"
	StageResponseComplete = "ResponseComplete"
	StagePanic            = "Panic"
)

// ParseEvent parses one audit event. It returns an error wrapping
// event.ErrUnrecognized for valid JSON that is not an audit event. The record
// is walked once with detect/internal/jsonscan (decode.go); the result is the
// same as the encoding/json decoder's this package used before
// (reference_test.go). A Parser shares repeated strings between events.
func ParseEvent(raw []byte) (event.Event, error) {
	var p Parser
	return p.Parse(raw)
}

// Parser parses audit events, sharing the strings that repeat from event to
// event (users, groups, addresses, user agents, actions, RBAC reasons). It is
// not safe for concurrent use; the zero value works (without sharing).
type Parser struct {
	// intern is a direct-mapped cache of shared strings, keyed by the raw
	// JSON text of a value (escapes and all): a slot holds the last value
	// hashed to it, so values seen once only evict a slot and the table
	// never needs clearing (as in detect/cloudtrail).
	intern *internTable
	seed   maphash.Seed
	buf    []byte // scratch for decoding escaped strings
}

type internTable struct {
	keys, vals [internSlots]string // raw text and value (the same string unless escaped)
}

// internSlots is the size of the shared-string cache (a power of two).
const internSlots = 4096

// maxInternLen bounds the strings worth sharing.
const maxInternLen = 256

// NewParser returns a Parser that shares repeated strings.
func NewParser() *Parser {
	return &Parser{intern: new(internTable), seed: maphash.MakeSeed()}
}

// Parse parses one record; see ParseEvent.
func (p *Parser) Parse(raw []byte) (event.Event, error) {
	var ev event.Event
	err := p.parse(raw, &ev)
	return ev, err
}

// Append parses one record into a new last element of dst (a reader's
// queue), filled in place. On error dst comes back unchanged.
func (p *Parser) Append(dst []event.Event, raw []byte) ([]event.Event, error) {
	n := len(dst)
	dst = append(dst, event.Event{})
	if err := p.parse(raw, &dst[n]); err != nil {
		dst[n] = event.Event{}
		return dst[:n], err
	}
	return dst, nil
}

func (p *Parser) parse(raw []byte, ev *event.Event) error {
	var w wire
	if err := w.decode(raw); err != nil {
		*ev = event.Event{}
		if errors.Is(err, jsonscan.ErrNotObject) && jsonscan.Valid(raw) {
			return fmt.Errorf("k8saudit: %w: not a JSON object", event.ErrUnrecognized)
		}
		return fmt.Errorf("k8saudit: decode audit event: %w", err)
	}
	isAudit := (is(w.kind, "Event") && hasPrefix(w.apiVersion, "audit.k8s.io/")) ||
		(nonEmpty(w.auditID) && nonEmpty(w.stage) && nonEmpty(w.verb))
	if !isAudit {
		if inner, wrapper := w.unwrap(); inner != nil {
			if err := p.parse(inner, ev); err != nil {
				return fmt.Errorf("k8saudit: %s wrapper: %w", wrapper, err)
			}
			ev.SetDetail("wrapper", wrapper)
			if ev.Scope == "" {
				ev.Scope = clusterOf(text(w.resourceID))
			}
			return nil
		}
		*ev = event.Event{}
		return fmt.Errorf("k8saudit: %w: no auditID/stage/verb", event.ErrUnrecognized)
	}
	if w.typeErr != nil {
		*ev = event.Event{}
		return fmt.Errorf("k8saudit: decode audit event: %w", w.typeErr)
	}
	return p.build(&w, ev)
}

// str returns the value of a raw JSON string ("" for nil), shared when
// possible.
func (p *Parser) str(raw []byte) string {
	if len(raw) <= 2 {
		return ""
	}
	body := raw[1 : len(raw)-1]
	if p.intern == nil || len(body) > maxInternLen {
		return text(raw)
	}
	h := maphash.Bytes(p.seed, body) & (internSlots - 1)
	if p.intern.keys[h] == string(body) {
		return p.intern.vals[h]
	}
	var key, s string
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		s = string(body)
		key = s
	} else {
		// Escaped (RBAC reasons quote names) or invalid UTF-8: decoded in
		// the scratch buffer, keyed by the raw text.
		p.buf, _ = jsonscan.AppendStdString(p.buf[:0], raw)
		s, key = string(p.buf), string(body)
	}
	p.intern.keys[h], p.intern.vals[h] = key, s
	return s
}

// shared returns b (decoded text) as a string, shared when possible.
func (p *Parser) shared(b []byte) string {
	if p.intern == nil || len(b) > maxInternLen || bytes.IndexByte(b, '\\') >= 0 || !utf8.Valid(b) {
		return string(b) // not valid as a raw key: never shared
	}
	h := maphash.Bytes(p.seed, b) & (internSlots - 1)
	if p.intern.keys[h] != string(b) {
		s := string(b)
		p.intern.keys[h], p.intern.vals[h] = s, s
	}
	return p.intern.vals[h]
}

// known returns the constant for the values of small vocabularies (stages,
// decisions) so that they cost no allocation without a Parser either.
func known(raw []byte) (string, bool) {
	if len(raw) < 2 {
		return "", false
	}
	switch string(raw[1 : len(raw)-1]) {
	case StageResponseComplete:
		return StageResponseComplete, true
	case StageResponseStarted:
		return StageResponseStarted, true
	case StageRequestReceived:
		return StageRequestReceived, true
	case StagePanic:
		return StagePanic, true
	case "allow":
		return "allow", true
	case "forbid":
		return "forbid", true
	}
	return "", false
}

func (p *Parser) vocab(raw []byte) string {
	if s, ok := known(raw); ok {
		return s
	}
	return p.str(raw)
}

// build fills ev, which is zero, from a decoded audit event. (Fields are set
// one by one: assigning a whole Event to the reader's queue slot costs a
// bulk write barrier.)
func (p *Parser) build(w *wire, ev *event.Event) error {
	ev.Format, ev.Cloud, ev.Service, ev.ID = Format, "k8s", "k8s", text(w.auditID)
	ev.Time = timeOf(w.stageTS)
	if ev.Time.IsZero() {
		ev.Time = timeOf(w.reqTS)
	}
	if ev.Time.IsZero() {
		ev.Time = timeOf(w.ts)
	}
	// The resource path "namespace/resource/name/subresource" (present parts)
	// is built once; the parts are substrings of it.
	var scratch [256]byte
	b := scratch[:0]
	var part [4]string
	var span [4][2]int
	for i, raw := range [4][]byte{w.ref.namespace, w.ref.resource, w.ref.name, w.ref.subresource} {
		if !nonEmpty(raw) {
			continue
		}
		if len(b) > 0 {
			b = append(b, '/')
		}
		start := len(b)
		b, _ = jsonscan.AppendStdString(b, raw)
		span[i] = [2]int{start, len(b)}
	}
	ev.Resource = p.shared(b)
	for i, sp := range span {
		part[i] = ev.Resource[sp[0]:sp[1]]
	}
	namespace, resource, name, sub := part[0], part[1], part[2], part[3]
	// Action: "verb resource[/subresource]" (the verb is a substring of it).
	var verb string
	if resource != "" {
		b, _ = jsonscan.AppendStdString(b[:0], w.verb)
		nv := len(b)
		b = append(b, ' ')
		b = append(b, resource...)
		if sub != "" {
			b = append(b, '/')
			b = append(b, sub...)
		}
		ev.Action = p.shared(b)
		verb = ev.Action[:nv]
	} else {
		verb = p.str(w.verb)
		ev.Action = Action(verb, resource, sub, text(w.requestURI))
	}
	stage := p.vocab(w.stage)

	// Actor: the effective identity, with the authenticated user as
	// Impersonator when impersonation was used.
	eff := &w.user
	if nonEmpty(w.imp.username) {
		eff = &w.imp
		ev.Actor.Impersonator = p.str(w.user.username)
	}
	ev.Actor.Raw = p.str(eff.username)
	ev.Actor.Type = UserType(ev.Actor.Raw)
	ev.Actor.ID = p.str(eff.uid)
	var gbuf [256]byte
	groups := eff.groups.join(',', gbuf[:0], p)
	u := &w.user
	ev.Actor.CanonicalARN = p.str(u.canonicalArn)
	ev.Actor.SessionName = p.str(u.sessionName)
	ev.Actor.AccessKeyID = p.str(u.accessKeyID)
	ev.Actor.Account = arnAccount(ev.Actor.CanonicalARN)
	ev.Actor.SourceIP = w.sourceIPs.firstOnly(p)
	ev.Actor.UserAgent = p.str(w.userAgent)

	// Outcome.
	if w.code >= 400 {
		ev.ErrorCode = p.str(w.reason)
		if ev.ErrorCode == "" {
			ev.ErrorCode = strconv.Itoa(w.code)
		}
	}
	ev.Outcome = outcomeOf(w.code)
	decision := p.vocab(w.decision)
	if decision == "forbid" {
		ev.Outcome = event.Denied
	}

	// Class: one stage per request carries the class (DETECTIONS.md §6).
	c := Classify(verb, resource, sub, namespace, name)
	switch {
	case stage == StageRequestReceived:
		c = Classification{}
	case LongRunning(resource, sub):
		if stage != StageResponseStarted {
			c = Classification{}
		}
	case stage == StageResponseStarted:
		c = Classification{}
	}
	ev.Class = c.Class
	op := ""
	if c.Remove {
		op = "remove"
	} else if c.Class == event.Grant {
		op = "add"
	}

	// Details, in a map sized for them (growing a map costs more than
	// counting).
	details := [...][2]string{
		{"stage", stage}, {"namespace", namespace}, {"apiGroup", p.str(w.ref.apiGroup)}, {"groups", groups},
		{"arn", p.str(u.arn)}, {"podName", p.str(u.podName)}, {"nodeName", p.str(u.nodeName)},
		{"credentialId", p.str(u.credentialID)}, {"decision", decision}, {"authzReason", p.str(w.authzReason)},
		{"surface", c.Surface}, {"op", op},
	}
	n := 0
	for _, d := range details {
		if d[1] != "" {
			n++
		}
	}
	if n > 0 {
		ev.Details = make(map[string]string, n)
		for _, d := range details {
			ev.SetDetail(d[0], d[1])
		}
	}
	if c.Class == event.Exec {
		execDetails(ev, text(w.requestURI))
	}
	if len(w.requestObject) > 0 && w.requestObject[0] == '{' {
		if err := ObjectDetails(ev, resource, sub, w.requestObject); err != nil {
			return fmt.Errorf("k8saudit: requestObject: %w", err)
		}
	}
	return nil
}

// arnAccount returns the account field of an ARN ("arn:aws:iam::ACCOUNT:..."),
// that is strings.SplitN(arn, ":", 6)[4] when there are six fields, without
// building the slice.
func arnAccount(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	start, colons := 0, 0
	for i := 0; i < len(arn); i++ {
		if arn[i] != ':' {
			continue
		}
		colons++
		switch colons {
		case 4:
			start = i + 1
		case 5:
			return arn[start:i]
		}
	}
	return ""
}

// unwrap returns the audit event carried as a JSON string by a CloudWatch
// Logs event (message) or an AKS diagnostic record (properties.log).
func (w *wire) unwrap() ([]byte, string) {
	if w.log != nil && strings.HasPrefix(strings.ToLower(text(w.category)), "kube-audit") {
		if s := strings.TrimSpace(text(w.log)); strings.HasPrefix(s, "{") {
			return []byte(s), "aks"
		}
	}
	if s := messageText(w.message); strings.HasPrefix(strings.TrimSpace(s), "{") && strings.Contains(s, `"auditID"`) {
		return []byte(s), "cloudwatch"
	}
	return nil, ""
}

// messageText is jsonrec.String of a wrapper's message: a string, a number
// or boolean as written, or an object's "value" (Azure style, rare: left to
// jsonrec).
func messageText(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		s, _ := jsonscan.StdString(raw)
		return s
	case '{':
		return jsonrec.String(raw)
	case '[', 'n':
		return ""
	}
	return string(raw)
}

func nonEmpty(raw []byte) bool { return len(raw) > 2 }

// hasPrefix reports whether the raw JSON string raw decodes to a string
// starting with prefix.
func hasPrefix(raw []byte, prefix string) bool {
	if len(raw) < 2 {
		return prefix == ""
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return bytes.HasPrefix(body, []byte(prefix)) // prefix is ASCII
	}
	return strings.HasPrefix(text(raw), prefix)
}

// clusterOf returns NAME in .../managedClusters/NAME (AKS resource ids).
func clusterOf(resourceID string) string {
	l := strings.ToLower(resourceID)
	i := strings.Index(l, "/managedclusters/")
	if i < 0 {
		return ""
	}
	n := resourceID[i+len("/managedclusters/"):]
	if j := strings.IndexByte(n, '/'); j >= 0 {
		n = n[:j]
	}
	return n
}

func outcomeOf(code int) event.Outcome {
	switch {
	case code == 0:
		return event.Unknown
	case code == 401 || code == 403:
		return event.Denied
	case code >= 400:
		return event.Failed
	}
	return event.Success
}

// Action renders "verb resource[/subresource]", or "verb /path" for
// non-resource requests.
func Action(verb, resource, subresource, requestURI string) string {
	switch {
	case resource != "" && subresource != "":
		return verb + " " + resource + "/" + subresource
	case resource != "":
		return verb + " " + resource
	}
	p := requestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return strings.TrimSpace(verb + " " + p)
}

// UserType derives the actor type from a Kubernetes username.
func UserType(username string) string {
	switch {
	case username == "":
		return ""
	case strings.HasPrefix(username, "system:serviceaccount:"):
		return "serviceAccount"
	case strings.HasPrefix(username, "system:node:"):
		return "node"
	case username == "system:anonymous" || username == "system:unauthenticated":
		return "anonymous"
	case strings.HasPrefix(username, "system:"):
		return "system"
	}
	return "user"
}

// execDetails reads command and container from an exec/attach request URI.
func execDetails(ev *event.Event, requestURI string) {
	i := strings.IndexByte(requestURI, '?')
	if i < 0 {
		return
	}
	q, err := url.ParseQuery(requestURI[i+1:])
	if err != nil {
		return
	}
	ev.SetDetail("command", strings.Join(q["command"], " "))
	ev.SetDetail("container", q.Get("container"))
}
