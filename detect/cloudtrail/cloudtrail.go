// Package cloudtrail parses AWS CloudTrail records into normalized events.
//
// ParseRecord accepts one record as it appears in a trail file
// ({"Records":[...]} element), a JSON line, or an element of
// `aws cloudtrail lookup-events` output ({"EventId",...,"CloudTrailEvent":
// "<escaped JSON>"}). Containers are unwrapped by detect/read.
//
// The top level is walked with detect/internal/jsonscan (no reflection, only
// the needed fields are decoded) because CloudTrail is the high-volume format;
// requestParameters are decoded with encoding/json only for the few calls
// whose details the rules use.
package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
	"permgraph/detect/internal/jsonscan"
)

// Format is the format name used by readers and in event.Event.Format.
const Format = "cloudtrail"

// record holds raw JSON slices of the top-level fields we use.
type record struct {
	eventTime, timestamp, eventSource, eventName, eventID, eventType []byte
	awsRegion, sourceIP, userAgent, errorCode, recipientAccount      []byte
	sharedEventID, requestParameters                                 []byte
	responseElements, resources, insightDetails                      []byte
	// lookup-events wrapper
	lookupEvent, lookupID, lookupTime []byte
	eventVersion                      bool
}

// Parser parses CloudTrail records, sharing the strings that repeat from
// record to record (event names, regions, accounts, ARNs, user agents) and
// the last parsed timestamp. It is not safe for concurrent use; the zero
// value works (without sharing).
type Parser struct {
	// intern is a direct-mapped cache of shared strings: a slot holds the
	// last string hashed to it. A hit costs one hash and one compare (the
	// map it replaces cost ~1.6x as much in profiles), and the table never
	// needs clearing: values seen once (session keys, addresses) only
	// evict a slot.
	intern *[internSlots]string
	seed   maphash.Seed
	// last is each field's previous value: the account, region, user agent
	// and caller type repeat from record to record, and comparing with a
	// string just used (in cache) is cheaper than hashing into intern.
	last     [numFields]string
	stats    [numFields]internStats
	lastTime string
	lastT    time.Time
	scratch  *detailScratch                // addDetails' decoding space
	pend     []pendingStr                  // strings of the record being parsed (flush)
	ids      *[identitySlots]identityEntry // made after identityCacheAfter records
	records  int
}

// field names the record fields str shares strings for.
type field uint8

const (
	fSource field = iota
	fName
	fRegion
	fRecipient
	fErrorCode
	fSourceIP
	fUserAgent
	fType
	fARN
	fPrincipalID
	fAccount
	fAccessKey
	fInvokedBy
	fIssuer
	numFields
)

// internSlots is the size of the shared-string cache (a power of two).
const internSlots = 4096

// internStats is a field's recent shared-string cache hit rate. A field
// whose values rarely repeat (per-request access keys or addresses in some
// trails) is not looked up for internPause records once fewer than one in
// eight of internProbe lookups hit: each lookup hashed and compared for
// nothing and evicted a slot another field would have hit.
type internStats struct {
	tries, hits, skip uint16
}

const (
	internProbe = 256
	internPause = 4096
)

// maxInternLen bounds the strings worth sharing.
const maxInternLen = 256

// NewParser returns a Parser that shares repeated strings.
func NewParser() *Parser {
	return &Parser{intern: new([internSlots]string), seed: maphash.MakeSeed()}
}

// ParseRecord parses one CloudTrail record. It returns an error wrapping
// event.ErrUnrecognized when raw is valid JSON but not a CloudTrail record.
func ParseRecord(raw []byte) (event.Event, error) {
	var p Parser
	return p.Parse(raw)
}

// str returns the string value of a raw JSON scalar of field f, shared
// when possible.
func (p *Parser) str(f field, raw []byte) string {
	if p.intern == nil || len(raw) < 2 || raw[0] != '"' {
		return jsonscan.Text(raw)
	}
	body := raw[1 : len(raw)-1]
	if p.last[f] == string(body) {
		return p.last[f]
	}
	st := &p.stats[f]
	if len(body) > maxInternLen || st.skip > 0 {
		if st.skip > 0 {
			st.skip--
		}
		s, _ := jsonscan.String(raw)
		return s // long or rarely repeated: not worth sharing
	}
	slot := &p.intern[maphash.Bytes(p.seed, body)&(internSlots-1)]
	hit := *slot == string(body)
	if st.tries++; hit {
		st.hits++
	}
	if st.tries == internProbe {
		if st.hits < internProbe/8 {
			st.skip = internPause
		}
		st.tries, st.hits = 0, 0
	}
	if hit {
		p.last[f] = *slot
		return *slot
	}
	s, _ := jsonscan.String(raw)
	if len(s) == len(body) { // escaped strings are not shared
		*slot = s
		p.last[f] = s
	}
	return s
}

func (p *Parser) time(raw []byte) time.Time {
	s := raw
	if len(s) >= 2 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	if string(s) == p.lastTime && p.lastTime != "" {
		return p.lastT
	}
	t := jsonrec.Time(jsonscan.Text(raw))
	p.lastTime, p.lastT = string(s), t
	return t
}

// Parse parses one record; see ParseRecord.
func (p *Parser) Parse(raw []byte) (event.Event, error) {
	var ev event.Event
	err := p.parse(raw, &ev)
	return ev, err
}

// Append parses one record into a new last element of dst (a reader's
// queue): the event is filled in place instead of being copied out of
// Parse and into the queue (it is about 400 bytes). On error dst comes back
// unchanged.
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
	clear(p.pend) // left by a record that failed
	p.pend = p.pend[:0]
	var r record
	*ev = event.Event{Format: Format, Cloud: "aws"}
	it := jsonscan.NewMembers(raw)
	for it.Next() {
		if string(it.Key()) == "userIdentity" {
			// Walked in place: the nested objects are scanned once.
			if sub, ok := it.Enter(); ok {
				p.identity(&sub, ev)
				it.Leave(&sub)
			}
			continue
		}
		v := it.Value()
		switch string(it.Key()) {
		case "eventTime":
			r.eventTime = v
		case "@timestamp":
			r.timestamp = v
		case "eventSource":
			r.eventSource = v
		case "eventName":
			r.eventName = v
		case "eventID":
			r.eventID = v
		case "eventType":
			r.eventType = v
		case "eventVersion":
			r.eventVersion = true
		case "awsRegion":
			r.awsRegion = v
		case "sourceIPAddress":
			r.sourceIP = v
		case "userAgent":
			r.userAgent = v
		case "errorCode":
			r.errorCode = v
		case "recipientAccountId":
			r.recipientAccount = v
		case "sharedEventID":
			r.sharedEventID = v
		case "requestParameters":
			r.requestParameters = v
		case "responseElements":
			r.responseElements = v
		case "resources":
			r.resources = v
		case "insightDetails":
			r.insightDetails = v
		case "CloudTrailEvent":
			r.lookupEvent = v
		case "EventId":
			r.lookupID = v
		case "EventTime":
			r.lookupTime = v
		}
	}
	if err := it.Err(); err != nil {
		*ev = event.Event{}
		if errors.Is(err, jsonscan.ErrNotObject) {
			return fmt.Errorf("cloudtrail: %w: not a JSON object", event.ErrUnrecognized)
		}
		return fmt.Errorf("cloudtrail: parse record at byte %d: %w", it.Offset(), err)
	}
	if r.lookupEvent != nil && r.eventName == nil {
		var err error
		*ev, err = p.parseLookup(&r)
		return err
	}
	return p.build(&r, ev)
}

// parseLookup unwraps a lookup-events element whose CloudTrailEvent is the
// record as a JSON string (or, from some tools, as an object).
func (p *Parser) parseLookup(r *record) (event.Event, error) {
	inner := r.lookupEvent
	if s, ok := jsonscan.String(inner); ok {
		inner = []byte(s)
	}
	ev, err := p.Parse(inner)
	if err != nil {
		return ev, fmt.Errorf("cloudtrail: lookup-events CloudTrailEvent: %w", err)
	}
	if ev.ID == "" {
		ev.ID = jsonscan.Text(r.lookupID)
	}
	if ev.Time.IsZero() {
		ev.Time = jsonrec.Time(jsonscan.Text(r.lookupTime))
	}
	return ev, nil
}

func (p *Parser) build(r *record, ev *event.Event) error {
	err := p.buildFields(r, ev)
	if err == nil {
		p.flush()
	}
	return err
}

// pendingStr is a string strTo left for flush to copy.
type pendingStr struct {
	dst  *string
	body []byte // unescaped, in the record being parsed
}

// strTo sets *dst to str(f, raw). A string str would allocate without
// sharing it (an event id, a field whose values rarely repeat) is left to
// flush, which copies all of a record's into one allocation.
func (p *Parser) strTo(f field, raw []byte, dst *string) {
	if p.intern == nil || len(raw) < 2 || raw[0] != '"' {
		*dst = jsonscan.Text(raw)
		return
	}
	body := raw[1 : len(raw)-1]
	if p.last[f] == string(body) {
		*dst = p.last[f]
		return
	}
	if st := &p.stats[f]; (len(body) > maxInternLen || st.skip > 0) && bytes.IndexByte(body, '\\') < 0 {
		if st.skip > 0 {
			st.skip--
		}
		p.pend = append(p.pend, pendingStr{dst, body})
		return
	}
	*dst = p.str(f, raw)
}

// textTo is jsonscan.Text into *dst, left to flush for a plain string.
func (p *Parser) textTo(raw []byte, dst *string) {
	if p.intern != nil && len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw[1:len(raw)-1], '\\') < 0 {
		p.pend = append(p.pend, pendingStr{dst, raw[1 : len(raw)-1]})
		return
	}
	*dst = jsonscan.Text(raw)
}

// flush copies the pending strings of a record into one string and points
// each destination at its part.
func (p *Parser) flush() {
	switch len(p.pend) {
	case 0:
		return
	case 1:
		*p.pend[0].dst = string(p.pend[0].body)
	default:
		n := 0
		for _, x := range p.pend {
			n += len(x.body)
		}
		var b strings.Builder
		b.Grow(n)
		for _, x := range p.pend {
			b.Write(x.body)
		}
		all, off := b.String(), 0
		for _, x := range p.pend {
			*x.dst = all[off : off+len(x.body)]
			off += len(x.body)
		}
	}
	clear(p.pend) // no references to the event or the record
	p.pend = p.pend[:0]
}

func (p *Parser) buildFields(r *record, ev *event.Event) error {
	source := p.str(fSource, r.eventSource)
	name := p.str(fName, r.eventName)
	// Compared in place: decoding eventType would allocate on every record.
	insight := string(r.eventType) == `"AwsCloudTrailInsight"` ||
		(bytes.IndexByte(r.eventType, '\\') >= 0 && jsonscan.Text(r.eventType) == "AwsCloudTrailInsight")
	switch {
	case source != "" && name != "":
	case insight && r.insightDetails != nil:
		source, name = insightCall(r.insightDetails)
		ev.SetDetail("eventType", "AwsCloudTrailInsight")
	default:
		return fmt.Errorf("cloudtrail: %w: no eventSource/eventName", event.ErrUnrecognized)
	}
	ev.Service, ev.Action = source, name
	p.textTo(r.eventID, &ev.ID)
	if r.eventTime != nil {
		ev.Time = p.time(r.eventTime)
	} else if r.timestamp != nil {
		ev.Time = p.time(r.timestamp)
	}
	ev.Region = p.str(fRegion, r.awsRegion)
	ev.Scope = p.str(fRecipient, r.recipientAccount)
	ev.ErrorCode = p.str(fErrorCode, r.errorCode)
	p.strTo(fSourceIP, r.sourceIP, &ev.Actor.SourceIP)
	ev.Actor.UserAgent = p.str(fUserAgent, r.userAgent)
	if ev.Scope == "" {
		ev.Scope = ev.Actor.Account
	}
	if r.sharedEventID != nil {
		ev.SetDetail("sharedEventID", jsonscan.Text(r.sharedEventID))
	}
	if insight {
		ev.Outcome = event.Success
		ev.Class = event.Other
		return nil
	}
	ev.Outcome = outcome(ev.ErrorCode)
	if source == "signin.amazonaws.com" && ev.ErrorCode == "" && consoleLoginFailed(r.responseElements) {
		ev.Outcome = event.Failed
		ev.ErrorCode = "Failure"
	}
	c := Classify(source, name)
	ev.Class = c.Class
	ev.SetDetail("surface", c.Surface)
	if c.ControlPlane {
		ev.SetDetail("controlPlane", "true")
	}
	if c.Remove {
		ev.SetDetail("op", "remove")
	} else if c.Class == event.Grant {
		ev.SetDetail("op", "add")
	}
	if c.Class != event.Other || c.Details {
		if p.scratch == nil {
			p.scratch = new(detailScratch)
		}
		if err := addDetails(ev, BaseName(source, name), r.requestParameters, r.responseElements, p.scratch); err != nil {
			return err
		}
	}
	if ev.Resource == "" && r.resources != nil {
		ev.Resource = firstResourceARN(r.resources)
	}
	return nil
}

// outcome maps errorCode to an Outcome (DETECTIONS.md §6).
func outcome(code string) event.Outcome {
	switch {
	case code == "":
		return event.Success
	case IsDenied(code):
		return event.Denied
	}
	return event.Failed
}

// IsDenied reports whether a CloudTrail errorCode is an authorization
// refusal: AccessDenied, AccessDeniedException, UnauthorizedOperation,
// Client.UnauthorizedOperation, Client.AccessDenied, UnauthorizedAccess... .
func IsDenied(code string) bool {
	c := strings.TrimPrefix(code, "Client.")
	return strings.HasPrefix(c, "AccessDenied") || strings.HasPrefix(c, "UnauthorizedOperation") ||
		c == "UnauthorizedAccess" || c == "UnauthorizedException" || c == "NotAuthorized"
}

func consoleLoginFailed(resp []byte) bool {
	if !jsonscan.IsObject(resp) {
		return false
	}
	it := jsonscan.NewMembers(resp)
	for it.Next() {
		if string(it.Key()) == "ConsoleLogin" {
			return jsonscan.Text(it.Value()) == "Failure"
		}
	}
	return false
}

func insightCall(raw []byte) (source, name string) {
	if !jsonscan.IsObject(raw) {
		return "", ""
	}
	it := jsonscan.NewMembers(raw)
	for it.Next() {
		switch string(it.Key()) {
		case "eventSource":
			source = jsonscan.Text(it.Value())
		case "eventName":
			name = jsonscan.Text(it.Value())
		}
	}
	if source == "" {
		source = "cloudtrail.amazonaws.com"
	}
	if name == "" {
		name = "Insight"
	}
	return source, name
}

// identity reads userIdentity in place (one scan).
func (p *Parser) identity(it *jsonscan.Members, ev *event.Event) {
	a := &ev.Actor
	var f identityRaw
	var invokedBy string
	var userName []byte // only a fallback for Raw: decoded when used
	for it.Next() {
		switch string(it.Key()) {
		case "type":
			f.typ = it.Value()
		case "arn":
			f.arn = it.Value()
		case "principalId":
			f.pid = it.Value()
		case "accountId":
			f.acct = it.Value()
		case "accessKeyId":
			p.strTo(fAccessKey, it.Value(), &a.AccessKeyID)
		case "userName":
			userName = it.Value()
		case "invokedBy":
			invokedBy = p.str(fInvokedBy, it.Value())
		case "sessionContext":
			if sub, ok := it.Enter(); ok {
				p.sessionContext(&sub, ev, &f.issuer)
				it.Leave(&sub)
			}
		case "onBehalfOf":
			if sub, ok := it.Enter(); ok {
				for sub.Next() {
					if string(sub.Key()) == "userId" {
						ev.SetDetail("onBehalfOf", jsonscan.Text(sub.Value()))
					}
				}
				it.Leave(&sub)
			}
		case "identityProvider":
			ev.SetDetail("identityProvider", jsonscan.Text(it.Value()))
		}
	}
	id := p.identityStrings(&f)
	a.Type, a.Account, a.SessionIssuer, a.SessionName = id.typ, id.acct, id.issuer, id.session
	arn, principalID := id.arn, id.pid
	a.ID = principalID
	switch {
	case arn != "":
		a.Raw = arn
	case a.Type == "AWSService" && invokedBy != "":
		a.Raw = invokedBy
	case principalID != "":
		a.Raw = principalID
	default:
		if a.Raw = jsonscan.Text(userName); a.Raw == "" {
			a.Raw = a.Account
		}
	}
	if invokedBy != "" {
		ev.SetDetail("invokedBy", invokedBy)
	}
}

// sessionName is the session part of an assumed-role ARN, "" otherwise.
func sessionName(arn string) string {
	if i := strings.Index(arn, ":assumed-role/"); i >= 0 {
		if j := strings.LastIndexByte(arn, '/'); j > i+len(":assumed-role/") {
			return arn[j+1:]
		}
	}
	return ""
}

// sessionContext reads userIdentity.sessionContext in place; issuer gets
// the raw sessionIssuer.arn.
func (p *Parser) sessionContext(it *jsonscan.Members, ev *event.Event, issuer *[]byte) {
	for it.Next() {
		switch string(it.Key()) {
		case "sessionIssuer":
			if sub, ok := it.Enter(); ok {
				for sub.Next() {
					if string(sub.Key()) == "arn" {
						*issuer = sub.Value()
					}
				}
				it.Leave(&sub)
			}
		case "sourceIdentity":
			ev.SetDetail("sourceIdentity", jsonscan.Text(it.Value()))
		}
	}
}

func firstResourceARN(raw []byte) string {
	if !jsonscan.IsArray(raw) {
		return ""
	}
	el := jsonscan.NewElements(raw)
	for el.Next() {
		if !jsonscan.IsObject(el.Value()) {
			continue
		}
		m := jsonscan.NewMembers(el.Value())
		for m.Next() {
			if k := string(m.Key()); k == "ARN" || k == "arn" {
				if s := jsonscan.Text(m.Value()); s != "" {
					return s
				}
			}
		}
	}
	return ""
}
