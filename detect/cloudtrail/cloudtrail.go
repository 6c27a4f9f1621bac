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
	"errors"
	"fmt"
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
	intern   map[string]string
	lastTime string
	lastT    time.Time
}

// maxIntern bounds the shared strings; the table is cleared when full.
const maxIntern = 8192

// NewParser returns a Parser that shares repeated strings.
func NewParser() *Parser { return &Parser{intern: make(map[string]string, 256)} }

// ParseRecord parses one CloudTrail record. It returns an error wrapping
// event.ErrUnrecognized when raw is valid JSON but not a CloudTrail record.
func ParseRecord(raw []byte) (event.Event, error) {
	var p Parser
	return p.Parse(raw)
}

// str returns the string value of a raw JSON scalar, shared when possible.
func (p *Parser) str(raw []byte) string {
	if p.intern == nil || len(raw) < 2 || raw[0] != '"' {
		return jsonscan.Text(raw)
	}
	body := raw[1 : len(raw)-1]
	if s, ok := p.intern[string(body)]; ok {
		return s
	}
	s, _ := jsonscan.String(raw)
	if len(body) > 256 || len(s) != len(body) {
		return s // long or escaped: not worth sharing
	}
	if len(p.intern) >= maxIntern {
		clear(p.intern)
	}
	p.intern[s] = s
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
	var r record
	ev := event.Event{Format: Format, Cloud: "aws"}
	it := jsonscan.NewMembers(raw)
	for it.Next() {
		if string(it.Key()) == "userIdentity" {
			// Walked in place: the nested objects are scanned once.
			if sub, ok := it.Enter(); ok {
				p.identity(&sub, &ev)
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
		if errors.Is(err, jsonscan.ErrNotObject) {
			return event.Event{}, fmt.Errorf("cloudtrail: %w: not a JSON object", event.ErrUnrecognized)
		}
		return event.Event{}, fmt.Errorf("cloudtrail: parse record at byte %d: %w", it.Offset(), err)
	}
	if r.lookupEvent != nil && r.eventName == nil {
		return p.parseLookup(&r)
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

func (p *Parser) build(r *record, ev event.Event) (event.Event, error) {
	source := p.str(r.eventSource)
	name := p.str(r.eventName)
	eventType := jsonscan.Text(r.eventType)
	switch {
	case source != "" && name != "":
	case eventType == "AwsCloudTrailInsight" && r.insightDetails != nil:
		source, name = insightCall(r.insightDetails)
		ev.SetDetail("eventType", eventType)
	default:
		return ev, fmt.Errorf("cloudtrail: %w: no eventSource/eventName", event.ErrUnrecognized)
	}
	ev.Service, ev.Action = source, name
	ev.ID = jsonscan.Text(r.eventID)
	if r.eventTime != nil {
		ev.Time = p.time(r.eventTime)
	} else if r.timestamp != nil {
		ev.Time = p.time(r.timestamp)
	}
	ev.Region = p.str(r.awsRegion)
	ev.Scope = p.str(r.recipientAccount)
	ev.ErrorCode = p.str(r.errorCode)
	ev.Actor.SourceIP = p.str(r.sourceIP)
	ev.Actor.UserAgent = p.str(r.userAgent)
	if ev.Scope == "" {
		ev.Scope = ev.Actor.Account
	}
	if r.sharedEventID != nil {
		ev.SetDetail("sharedEventID", jsonscan.Text(r.sharedEventID))
	}
	if eventType == "AwsCloudTrailInsight" {
		ev.Outcome = event.Success
		ev.Class = event.Other
		return ev, nil
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
		if err := addDetails(&ev, BaseName(source, name), r.requestParameters, r.responseElements); err != nil {
			return ev, err
		}
	}
	if ev.Resource == "" && r.resources != nil {
		ev.Resource = firstResourceARN(r.resources)
	}
	return ev, nil
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
	var arn, principalID, userName, invokedBy string
	for it.Next() {
		switch string(it.Key()) {
		case "type":
			a.Type = p.str(it.Value())
		case "arn":
			arn = p.str(it.Value())
		case "principalId":
			principalID = p.str(it.Value())
		case "accountId":
			a.Account = p.str(it.Value())
		case "accessKeyId":
			a.AccessKeyID = p.str(it.Value())
		case "userName":
			userName = p.str(it.Value())
		case "invokedBy":
			invokedBy = p.str(it.Value())
		case "sessionContext":
			if sub, ok := it.Enter(); ok {
				p.sessionContext(&sub, ev)
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
	a.ID = principalID
	switch {
	case arn != "":
		a.Raw = arn
	case a.Type == "AWSService" && invokedBy != "":
		a.Raw = invokedBy
	case principalID != "":
		a.Raw = principalID
	case userName != "":
		a.Raw = userName
	default:
		a.Raw = a.Account
	}
	if invokedBy != "" {
		ev.SetDetail("invokedBy", invokedBy)
	}
	if i := strings.Index(arn, ":assumed-role/"); i >= 0 {
		if j := strings.LastIndexByte(arn, '/'); j > i+len(":assumed-role/") {
			a.SessionName = arn[j+1:]
		}
	}
}

func (p *Parser) sessionContext(it *jsonscan.Members, ev *event.Event) {
	for it.Next() {
		switch string(it.Key()) {
		case "sessionIssuer":
			if sub, ok := it.Enter(); ok {
				for sub.Next() {
					if string(sub.Key()) == "arn" {
						ev.Actor.SessionIssuer = p.str(sub.Value())
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
