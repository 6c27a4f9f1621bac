// Package azureactivity parses Azure Activity Log records (ARM control plane)
// into normalized events. Three shapes are accepted, told apart field by
// field (encoding/json matches keys case-insensitively):
//
//   - REST API / portal JSON: operationName {value,localizedValue},
//     status {value}, caller, claims (object), authorization {action,scope},
//     eventTimestamp, subscriptionId, correlationId;
//   - diagnostic-settings export (storage, Event Hubs): time, operationName
//     (string), resultType, resultSignature, callerIpAddress,
//     identity {authorization {action,scope,evidence}, claims};
//   - Log Analytics AzureActivity rows: OperationNameValue,
//     ActivityStatusValue, Caller, Claims / Authorization / Properties as
//     JSON strings, TimeGenerated.
package azureactivity

import (
	"encoding/json"
	"fmt"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
)

// Format is the format name used by readers and in event.Event.Format.
const Format = "azure-activity"

type record struct {
	OperationName        json.RawMessage `json:"operationName"`
	OperationNameValue   string          `json:"operationNameValue"`
	Status               json.RawMessage `json:"status"`
	SubStatus            json.RawMessage `json:"subStatus"`
	ResultType           string          `json:"resultType"`
	ResultSignature      string          `json:"resultSignature"`
	ActivityStatusValue  string          `json:"activityStatusValue"`
	ActivitySubstatus    string          `json:"activitySubstatusValue"`
	Caller               string          `json:"caller"`
	CallerIPAddress      string          `json:"callerIpAddress"`
	Claims               json.RawMessage `json:"claims"`
	Authorization        json.RawMessage `json:"authorization"`
	Identity             json.RawMessage `json:"identity"`
	HTTPRequest          json.RawMessage `json:"httpRequest"`
	CorrelationID        string          `json:"correlationId"`
	EventDataID          string          `json:"eventDataId"`
	EventTimestamp       string          `json:"eventTimestamp"`
	Time                 string          `json:"time"`
	TimeGenerated        string          `json:"timeGenerated"`
	ResourceID           string          `json:"resourceId"`
	ResourceIDLA         string          `json:"_ResourceId"`
	SubscriptionID       string          `json:"subscriptionId"`
	TenantID             string          `json:"tenantId"`
	ResourceProviderName json.RawMessage `json:"resourceProviderName"`
	ResourceProviderVal  string          `json:"resourceProviderValue"`
	Category             json.RawMessage `json:"category"`
	Location             string          `json:"location"`
	Properties           json.RawMessage `json:"properties"`
}

type authz struct {
	Action   string `json:"action"`
	Scope    string `json:"scope"`
	Evidence *struct {
		Role                string `json:"role"`
		RoleAssignmentScope string `json:"roleAssignmentScope"`
		RoleAssignmentID    string `json:"roleAssignmentId"`
		RoleDefinitionID    string `json:"roleDefinitionId"`
		PrincipalID         string `json:"principalId"`
		PrincipalType       string `json:"principalType"`
	} `json:"evidence"`
}

// ParseRecord parses one Activity Log record. It returns an error wrapping
// event.ErrUnrecognized for valid JSON without an operation name.
func ParseRecord(raw []byte) (event.Event, error) {
	var r record
	typeErr, err := jsonrec.Decode(raw, &r)
	if err != nil {
		return event.Event{}, fmt.Errorf("azureactivity: decode record: %w", err)
	}
	op := r.OperationNameValue
	if op == "" {
		op = jsonrec.String(r.OperationName)
	}
	if op == "" {
		return event.Event{}, fmt.Errorf("azureactivity: %w: no operationName", event.ErrUnrecognized)
	}
	if typeErr != nil {
		return event.Event{}, fmt.Errorf("azureactivity: decode record: %w", typeErr)
	}
	ev := event.Event{Format: Format, Cloud: "azure", Action: op}
	ev.Time = jsonrec.Time(firstNonEmpty(r.EventTimestamp, r.Time, r.TimeGenerated))
	ev.Service = firstNonEmpty(jsonrec.String(r.ResourceProviderName), r.ResourceProviderVal)
	if ev.Service == "" {
		if i := strings.IndexByte(op, '/'); i > 0 {
			ev.Service = op[:i]
		}
	}
	ev.Resource = firstNonEmpty(r.ResourceID, r.ResourceIDLA)
	ev.Region = r.Location
	if ev.Region == "global" {
		ev.Region = ""
	}

	// Status: REST status.value, export resultType, Log Analytics ActivityStatusValue.
	status := firstNonEmpty(jsonrec.String(r.Status), r.ResultType, r.ActivityStatusValue)
	sub := firstNonEmpty(jsonrec.String(r.SubStatus), r.ActivitySubstatus)
	props := jsonrec.Object(r.Properties)
	var p struct {
		StatusCode    string          `json:"statusCode"`
		StatusMessage json.RawMessage `json:"statusMessage"`
		RequestBody   json.RawMessage `json:"requestbody"`
		Caller        string          `json:"caller"`
	}
	if props != nil {
		_ = json.Unmarshal(props, &p)
	}
	ev.Outcome, ev.ErrorCode = outcome(status, sub, r.ResultSignature, p.StatusCode, string(p.StatusMessage))
	ev.SetDetail("status", status)
	ev.SetDetail("correlationId", r.CorrelationID)
	ev.SetDetail("category", jsonrec.String(r.Category))
	ev.ID = r.CorrelationID + "|" + op + "|" + status
	if r.CorrelationID == "" {
		ev.ID = r.EventDataID
	}

	// Identity: claims and authorization at the top (REST, Log Analytics)
	// or under identity (export).
	claimsRaw, authRaw := jsonrec.Object(r.Claims), jsonrec.Object(r.Authorization)
	if id := jsonrec.Object(r.Identity); id != nil {
		var idw struct {
			Claims        json.RawMessage `json:"claims"`
			Authorization json.RawMessage `json:"authorization"`
		}
		if json.Unmarshal(id, &idw) == nil {
			if claimsRaw == nil {
				claimsRaw = jsonrec.Object(idw.Claims)
			}
			if authRaw == nil {
				authRaw = jsonrec.Object(idw.Authorization)
			}
		}
	}
	claims := map[string]any{}
	if claimsRaw != nil {
		_ = json.Unmarshal(claimsRaw, &claims)
	}
	actor(&ev, firstNonEmpty(r.Caller, p.Caller), claims)
	ev.Actor.SourceIP = firstNonEmpty(r.CallerIPAddress, httpClientIP(r.HTTPRequest), claim(claims, "ipaddr"))
	if ev.Actor.Account == "" {
		ev.Actor.Account = r.TenantID
	}
	var a authz
	if authRaw != nil {
		_ = json.Unmarshal(authRaw, &a)
	}
	if ev.Resource == "" {
		ev.Resource = a.Scope
	}
	if e := a.Evidence; e != nil {
		ev.SetDetail("evidenceRole", e.Role)
		ev.SetDetail("roleAssignmentId", e.RoleAssignmentID)
		ev.SetDetail("roleAssignmentScope", e.RoleAssignmentScope)
		ev.SetDetail("evidenceRoleDefinitionId", e.RoleDefinitionID)
		ev.SetDetail("evidencePrincipalId", e.PrincipalID)
		ev.SetDetail("evidencePrincipalType", e.PrincipalType)
	}
	ev.Scope = firstNonEmpty(r.SubscriptionID, subscriptionOf(ev.Resource), subscriptionOf(a.Scope))

	c := Classify(op)
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
	if c.Class != event.Other {
		requestDetails(&ev, p.RequestBody)
	}
	return ev, nil
}

// outcome maps the status fields to an Outcome and an error code.
// Started / Accepted records (the operation is in progress) are Unknown.
func outcome(status, sub, signature, statusCode, statusMessage string) (event.Outcome, string) {
	s := strings.ToLower(status)
	denied := func() bool {
		for _, v := range []string{sub, signature, statusCode, statusMessage} {
			l := strings.ToLower(v)
			if strings.Contains(l, "forbidden") || strings.Contains(l, "authorizationfailed") || strings.Contains(l, "unauthorized") {
				return true
			}
		}
		return false
	}
	switch s {
	case "succeeded", "success":
		return event.Success, ""
	case "failed", "failure":
		code := firstNonEmpty(sub, statusCode, signature)
		if denied() {
			return event.Denied, code
		}
		return event.Failed, code
	}
	return event.Unknown, ""
}

// Claim URIs used for the actor.
const (
	claimOID      = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	claimTenant   = "http://schemas.microsoft.com/identity/claims/tenantid"
	claimUPN      = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	claimNameURI  = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	claimShortOID = "oid"
)

func claim(c map[string]any, k string) string {
	v, _ := c[k].(string)
	return strings.TrimSpace(v)
}

// actor fills Actor from the caller and the JWT claims.
func actor(ev *event.Event, caller string, c map[string]any) {
	a := &ev.Actor
	a.ID = firstNonEmpty(claim(c, claimOID), claim(c, claimShortOID))
	a.Account = firstNonEmpty(claim(c, claimTenant), claim(c, "tid"))
	upn := firstNonEmpty(claim(c, claimUPN), claim(c, "upn"))
	appid := firstNonEmpty(claim(c, "appid"), claim(c, "azp"))
	a.Raw = firstNonEmpty(caller, upn, claim(c, claimNameURI), a.ID, appid)
	switch idtyp := claim(c, "idtyp"); {
	case idtyp != "":
		a.Type = idtyp
	case upn != "" || strings.Contains(caller, "@"):
		a.Type = "user"
	case appid != "" || a.ID != "":
		a.Type = "app"
	}
	ev.SetDetail("appid", appid)
	ev.SetDetail("upn", upn)
}

func httpClientIP(raw json.RawMessage) string {
	o := jsonrec.Object(raw)
	if o == nil {
		return ""
	}
	var h struct {
		ClientIPAddress string `json:"clientIpAddress"`
	}
	_ = json.Unmarshal(o, &h)
	return h.ClientIPAddress
}

// subscriptionOf returns the id in /subscriptions/<id>/... (any case).
func subscriptionOf(resourceID string) string {
	l := strings.ToLower(resourceID)
	i := strings.Index(l, "/subscriptions/")
	if i < 0 {
		return ""
	}
	s := resourceID[i+len("/subscriptions/"):]
	if j := strings.IndexByte(s, '/'); j >= 0 {
		s = s[:j]
	}
	return s
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
