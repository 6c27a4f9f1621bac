// Package graphactivity parses Microsoft Entra records into normalized
// events: MicrosoftGraphActivityLogs (one Graph API request per record,
// Format "graph-activity") and Entra AuditLogs (directory changes, Format
// "entra-audit"). Accepted shapes, told apart field by field (encoding/json
// matches keys case-insensitively):
//
//   - Log Analytics rows (RequestUri, RequestMethod, ... / ActivityDisplayName,
//     InitiatedBy and TargetResources as JSON strings, TimeGenerated);
//   - diagnostic-settings exports (storage, Event Hubs): {time, category:
//     "MicrosoftGraphActivityLogs" | "AuditLogs", operationName, properties:
//     {...camelCase fields...}};
//   - Graph API directoryAudit objects (activityDisplayName, initiatedBy,
//     targetResources as objects).
package graphactivity

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
)

// Format names used in event.Event.Format.
const (
	Format      = "graph-activity"
	FormatAudit = "entra-audit"
)

// record is the union of the Graph activity and audit columns.
type record struct {
	// envelope (diagnostic export)
	Time       string          `json:"time"`
	Category   string          `json:"category"`
	Properties json.RawMessage `json:"properties"`
	TenantID   string          `json:"tenantId"`
	// Graph activity
	RequestURI         string          `json:"requestUri"`
	RequestMethod      string          `json:"requestMethod"`
	ResponseStatusCode json.RawMessage `json:"responseStatusCode"`
	UserID             string          `json:"userId"`
	ServicePrincipalID string          `json:"servicePrincipalId"`
	AppID              string          `json:"appId"`
	IPAddress          string          `json:"ipAddress"`
	UserAgent          string          `json:"userAgent"`
	RequestID          string          `json:"requestId"`
	OperationID        string          `json:"operationId"`
	SignInActivityID   string          `json:"signInActivityId"`
	SessionID          string          `json:"sessionId"`
	APIVersion         string          `json:"apiVersion"`
	AadTenantID        string          `json:"aadTenantId"`
	TimeGenerated      string          `json:"timeGenerated"`
	Location           string          `json:"location"`
	// Audit
	ID                  string          `json:"id"`
	ActivityDisplayName string          `json:"activityDisplayName"`
	ActivityDateTime    string          `json:"activityDateTime"`
	OperationName       string          `json:"operationName"`
	LoggedByService     string          `json:"loggedByService"`
	Result              string          `json:"result"`
	ResultReason        string          `json:"resultReason"`
	InitiatedBy         json.RawMessage `json:"initiatedBy"`
	TargetResources     json.RawMessage `json:"targetResources"`
	AdditionalDetails   json.RawMessage `json:"additionalDetails"`
	CorrelationID       string          `json:"correlationId"`
}

// ParseRecord parses one Graph activity or Entra audit record. It returns an
// error wrapping event.ErrUnrecognized for valid JSON that is neither.
func ParseRecord(raw []byte) (event.Event, error) {
	var r record
	typeErr, err := jsonrec.Decode(raw, &r)
	if err != nil {
		return event.Event{}, fmt.Errorf("graphactivity: decode record: %w", err)
	}
	if props := jsonrec.Object(r.Properties); props != nil && r.RequestURI == "" && r.ActivityDisplayName == "" {
		// Diagnostic export: the columns are under properties.
		env := r
		r = record{}
		te, err := jsonrec.Decode(props, &r)
		if err != nil {
			return event.Event{}, fmt.Errorf("graphactivity: decode properties: %w", err)
		}
		if typeErr == nil {
			typeErr = te
		}
		r.Time = firstNonEmpty(r.Time, env.Time)
		r.TenantID = firstNonEmpty(r.TenantID, env.TenantID)
		r.Category = firstNonEmpty(r.Category, env.Category)
		if r.ActivityDisplayName == "" && strings.EqualFold(env.Category, "AuditLogs") {
			r.ActivityDisplayName = env.OperationName
		}
		r.CorrelationID = firstNonEmpty(r.CorrelationID, env.CorrelationID)
	}
	switch {
	case r.RequestURI != "":
		if typeErr != nil {
			return event.Event{}, fmt.Errorf("graphactivity: decode record: %w", typeErr)
		}
		return graphEvent(&r), nil
	case r.ActivityDisplayName != "" && (len(r.InitiatedBy) > 0 || len(r.TargetResources) > 0 || r.LoggedByService != ""):
		if typeErr != nil {
			return event.Event{}, fmt.Errorf("graphactivity: decode record: %w", typeErr)
		}
		return auditEvent(&r), nil
	}
	return event.Event{}, fmt.Errorf("graphactivity: %w: neither requestUri nor activityDisplayName", event.ErrUnrecognized)
}

func graphEvent(r *record) event.Event {
	ev := event.Event{Format: Format, Cloud: "azure", ID: firstNonEmpty(r.RequestID, r.OperationID)}
	ev.Time = jsonrec.Time(firstNonEmpty(r.TimeGenerated, r.Time))
	host, path := SplitURI(r.RequestURI)
	ev.Service = host
	method := strings.ToUpper(r.RequestMethod)
	tmpl, ids := Template(path)
	ev.Action = strings.TrimSpace(method + " " + tmpl)
	ev.Resource = path
	c := Classify(method, tmpl)
	ev.Class = c.Class
	if c.Remove {
		ev.SetDetail("op", "remove")
	} else if c.Class == event.Grant {
		ev.SetDetail("op", "add")
	}
	if len(ids) > 0 && strings.HasPrefix(tmpl, "/groups/{id}") {
		ev.SetDetail("group", ids[0])
	}
	if c.Class == event.Grant && len(ids) > 1 {
		ev.SetDetail("member", ids[1])
	}
	code, _ := strconv.Atoi(strings.Trim(string(r.ResponseStatusCode), `"`))
	ev.Outcome = httpOutcome(code)
	if code >= 400 {
		ev.ErrorCode = strconv.Itoa(code)
	}
	if code != 0 {
		ev.SetDetail("statusCode", strconv.Itoa(code))
	}
	a := &ev.Actor
	switch {
	case r.UserID != "":
		a.Raw, a.ID, a.Type = r.UserID, r.UserID, "user"
	case r.ServicePrincipalID != "":
		a.Raw, a.ID, a.Type = r.ServicePrincipalID, r.ServicePrincipalID, "servicePrincipal"
	default:
		a.Raw = r.AppID
	}
	a.Account = firstNonEmpty(r.TenantID, r.AadTenantID)
	a.SourceIP = r.IPAddress
	a.UserAgent = r.UserAgent
	ev.Scope = a.Account
	ev.Region = r.Location
	ev.SetDetail("appId", r.AppID)
	ev.SetDetail("apiVersion", r.APIVersion)
	ev.SetDetail("operationId", r.OperationID)
	ev.SetDetail("signInActivityId", r.SignInActivityID)
	ev.SetDetail("sessionId", r.SessionID)
	return ev
}

func httpOutcome(code int) event.Outcome {
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

// SplitURI returns the host and the normalized path of a Graph request URI:
// scheme, host, API version (/v1.0, /beta) and query string stripped,
// repeated slashes collapsed. For AAD Graph (graph.windows.net) the leading
// tenant segment is dropped too.
func SplitURI(uri string) (host, path string) {
	s := uri
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			host, s = s[:j], s[j:]
		} else {
			host, s = s, "/"
		}
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	segs := strings.Split(s, "/")
	out := make([]string, 0, len(segs))
	for _, seg := range segs {
		if seg != "" {
			out = append(out, seg)
		}
	}
	if len(out) > 0 && (out[0] == "v1.0" || out[0] == "beta") {
		out = out[1:]
	}
	if strings.EqualFold(host, "graph.windows.net") && len(out) > 1 && out[0] != "me" {
		out = out[1:]
	}
	if host == "" {
		host = "graph.microsoft.com"
	}
	return strings.ToLower(host), "/" + strings.Join(out, "/")
}

// collections are path segments followed by an object key.
func isCollection(seg string) bool {
	switch seg {
	case "groups", "users", "directoryroles", "serviceprincipals", "applications", "devices", "directoryobjects",
		"roleassignments", "roledefinitions", "members", "owners", "transitivemembers", "approleassignments",
		"approleassignedto", "oauth2permissiongrants", "roleeligibilityschedules", "roleassignmentschedules",
		"roleeligibilityschedulerequests", "roleassignmentschedulerequests", "organization", "contacts",
		"administrativeunits", "federatedidentitycredentials", "drives", "sites", "teams", "chats", "messages",
		"mailfolders", "events", "directoryroletemplates", "domains", "policies", "ownedobjects", "memberof",
		"transitivememberof", "registeredowners", "registeredusers":
		return true
	}
	return false
}

// notKey are segments that follow a collection but are not object keys.
func notKey(seg string) bool {
	return seg == "delta" || seg == "$count" || seg == "$ref" || seg == "$value" ||
		strings.HasPrefix(seg, "microsoft.graph.") || strings.HasPrefix(seg, "get") ||
		strings.HasPrefix(seg, "check") || seg == "estimateaccess" || seg == "validateproperties"
}

// Template lower-cases a normalized path and replaces object keys (the
// segment after a collection, GUIDs, UPNs) with {id}; it returns the keys in
// order. Type-cast segments (microsoft.graph.group) and $count are dropped.
func Template(path string) (string, []string) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	out := make([]string, 0, len(segs))
	var ids []string
	prev := ""
	for _, seg := range segs {
		if seg == "" {
			continue
		}
		l := strings.ToLower(seg)
		if strings.HasPrefix(l, "microsoft.graph.") && !strings.Contains(l, "(") || l == "$count" {
			continue
		}
		if isGUID(l) || strings.Contains(l, "@") || (isCollection(prev) && !notKey(l) && !isCollection(l)) {
			ids = append(ids, seg)
			out = append(out, "{id}")
			prev = "{id}"
			continue
		}
		out = append(out, l)
		prev = l
	}
	return "/" + strings.Join(out, "/"), ids
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
				return false
			}
		}
	}
	return true
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
