// Package workspace parses Google Workspace Reports API activities
// (activities.list items, kind admin#reports#activity) into normalized
// events: one event per entry of the activity's events[] list.
package workspace

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
)

// Format is the format name used by readers and in event.Event.Format.
const Format = "workspace"

type activity struct {
	Kind string `json:"kind"`
	ID   *struct {
		Time            string          `json:"time"`
		UniqueQualifier json.RawMessage `json:"uniqueQualifier"` // int64 as a string (API) or a number (some exports)
		ApplicationName string          `json:"applicationName"`
		CustomerID      string          `json:"customerId"`
	} `json:"id"`
	Actor struct {
		CallerType string          `json:"callerType"`
		Email      string          `json:"email"`
		ProfileID  json.RawMessage `json:"profileId"`
		Key        string          `json:"key"`
	} `json:"actor"`
	IPAddress   string          `json:"ipAddress"`
	OwnerDomain string          `json:"ownerDomain"`
	Events      json.RawMessage `json:"events"` // array (API) or one object (some exports)
}

type activityEvent struct {
	Type       string      `json:"type"`
	Name       string      `json:"name"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Name          string            `json:"name"`
	Value         string            `json:"value"`
	IntValue      json.RawMessage   `json:"intValue"`
	BoolValue     *bool             `json:"boolValue"`
	MultiValue    []string          `json:"multiValue"`
	MultiIntValue []json.RawMessage `json:"multiIntValue"`
}

func (p *parameter) text() string {
	switch {
	case p.Value != "":
		return p.Value
	case len(p.IntValue) > 0:
		return strings.Trim(string(p.IntValue), `"`)
	case p.BoolValue != nil:
		return strconv.FormatBool(*p.BoolValue)
	case len(p.MultiValue) > 0:
		return strings.Join(p.MultiValue, ",")
	case len(p.MultiIntValue) > 0:
		parts := make([]string, len(p.MultiIntValue))
		for i, v := range p.MultiIntValue {
			parts[i] = strings.Trim(string(v), `"`)
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// ParseActivity parses one activity into one event per events[] entry. It
// returns an error wrapping event.ErrUnrecognized for valid JSON that is not
// a Reports API activity.
func ParseActivity(raw []byte) ([]event.Event, error) {
	return AppendActivity(nil, raw)
}

// AppendActivity is ParseActivity appending to dst.
func AppendActivity(dst []event.Event, raw []byte) ([]event.Event, error) {
	var a activity
	typeErr, err := jsonrec.Decode(raw, &a)
	if err != nil {
		return dst, fmt.Errorf("workspace: decode activity: %w", err)
	}
	if a.ID == nil || len(a.Events) == 0 || (a.Kind != "" && a.Kind != "admin#reports#activity") {
		return dst, fmt.Errorf("workspace: %w: not a Reports API activity (kind %q)", event.ErrUnrecognized, a.Kind)
	}
	if typeErr != nil {
		return dst, fmt.Errorf("workspace: decode activity: %w", typeErr)
	}
	var evs []activityEvent
	switch a.Events[0] {
	case '[':
		err = json.Unmarshal(a.Events, &evs)
	case '{':
		evs = make([]activityEvent, 1)
		err = json.Unmarshal(a.Events, &evs[0])
	default:
		return dst, fmt.Errorf("workspace: decode activity: events is neither a list nor an object")
	}
	if err != nil {
		return dst, fmt.Errorf("workspace: decode activity events: %w", err)
	}
	uq := strings.Trim(string(a.ID.UniqueQualifier), `"`)
	profile := strings.Trim(string(a.Actor.ProfileID), `"`)
	base := event.Event{Format: Format, Cloud: "google-workspace", Service: a.ID.ApplicationName, Outcome: event.Success}
	base.Time = jsonrec.Time(a.ID.Time)
	base.Scope = a.ID.CustomerID
	base.Actor = event.Actor{
		Raw:      firstNonEmpty(a.Actor.Email, a.Actor.Key, profile),
		Type:     a.Actor.CallerType,
		Account:  a.ID.CustomerID,
		ID:       profile,
		SourceIP: a.IPAddress,
	}
	for i, e := range evs {
		ev := base
		ev.ID = uq
		if len(evs) > 1 {
			ev.ID = uq + "/" + strconv.Itoa(i)
		}
		ev.Action = e.Name
		ev.SetDetail("eventType", e.Type)
		params := make(map[string]string, len(e.Parameters))
		for _, p := range e.Parameters {
			params[p.Name] = p.text()
		}
		c := Classify(a.ID.ApplicationName, e.Name, params)
		ev.Class = c.Class
		if c.Failed {
			ev.Outcome = event.Failed
		}
		if c.Remove {
			ev.SetDetail("op", "remove")
		} else if c.Class == event.Grant {
			ev.SetDetail("op", "add")
		}
		details(&ev, params)
		dst = append(dst, ev)
	}
	return dst, nil
}

// details maps the parameters rules use to the shared Details keys.
func details(ev *event.Event, p map[string]string) {
	ev.SetDetail("group", firstNonEmpty(p["GROUP_EMAIL"], p["group_id"], p["group_email"]))
	ev.SetDetail("member", firstNonEmpty(p["USER_EMAIL"], p["member_id"], p["user_email"]))
	ev.SetDetail("memberRole", firstNonEmpty(p["member_role"], p["GROUP_MEMBER_ROLE"]))
	ev.SetDetail("memberType", p["member_type"])
	ev.SetDetail("role", firstNonEmpty(p["ROLE_NAME"], p["ROLE_ID"]))
	ev.SetDetail("privilege", p["PRIVILEGE_NAME"])
	ev.SetDetail("oauthClient", firstNonEmpty(p["client_id"], p["app_name"]))
	ev.SetDetail("apiName", p["api_name"])
	ev.SetDetail("apiMethod", p["method_name"])
	ev.SetDetail("scope", p["scope"])
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
