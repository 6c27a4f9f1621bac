package graphactivity

import (
	"encoding/json"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
)

type initiatedBy struct {
	User *struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
		DisplayName       string `json:"displayName"`
		IPAddress         string `json:"ipAddress"`
	} `json:"user"`
	App *struct {
		ServicePrincipalID   string `json:"servicePrincipalId"`
		AppID                string `json:"appId"`
		DisplayName          string `json:"displayName"`
		ServicePrincipalName string `json:"servicePrincipalName"`
	} `json:"app"`
}

type target struct {
	ID                 string `json:"id"`
	DisplayName        string `json:"displayName"`
	Type               string `json:"type"`
	UserPrincipalName  string `json:"userPrincipalName"`
	ModifiedProperties []struct {
		DisplayName string          `json:"displayName"`
		OldValue    json.RawMessage `json:"oldValue"`
		NewValue    json.RawMessage `json:"newValue"`
	} `json:"modifiedProperties"`
}

// prop returns a modified property's new value, unquoted ("\"x\"" -> x).
func (t *target) prop(name string) string {
	for _, p := range t.ModifiedProperties {
		if strings.EqualFold(p.DisplayName, name) {
			v := jsonrec.String(p.NewValue)
			var inner string
			if json.Unmarshal([]byte(v), &inner) == nil {
				return inner
			}
			return v
		}
	}
	return ""
}

func auditEvent(r *record) event.Event {
	ev := event.Event{Format: FormatAudit, Cloud: "azure", ID: r.ID, Service: r.LoggedByService}
	ev.Time = jsonrec.Time(firstNonEmpty(r.ActivityDateTime, r.TimeGenerated, r.Time))
	ev.Action = strings.TrimSpace(r.ActivityDisplayName)
	switch strings.ToLower(r.Result) {
	case "success":
		ev.Outcome = event.Success
	case "failure", "timeout":
		ev.Outcome = event.Failed
		ev.ErrorCode = r.ResultReason
		l := strings.ToLower(r.ResultReason)
		if strings.Contains(l, "forbidden") || strings.Contains(l, "insufficient privileges") || strings.Contains(l, "unauthorized") {
			ev.Outcome = event.Denied
		}
	}
	ev.SetDetail("category", r.Category)
	ev.SetDetail("correlationId", r.CorrelationID)

	var ib initiatedBy
	if o := jsonrec.Object(r.InitiatedBy); o != nil {
		_ = json.Unmarshal(o, &ib)
	}
	a := &ev.Actor
	switch {
	case ib.User != nil && (ib.User.ID != "" || ib.User.UserPrincipalName != ""):
		a.Raw = firstNonEmpty(ib.User.UserPrincipalName, ib.User.ID)
		a.ID = ib.User.ID
		a.Type = "user"
		a.SourceIP = ib.User.IPAddress
	case ib.App != nil:
		a.Raw = firstNonEmpty(ib.App.ServicePrincipalID, ib.App.AppID, ib.App.DisplayName)
		a.ID = ib.App.ServicePrincipalID
		a.Type = "servicePrincipal"
		ev.SetDetail("appId", ib.App.AppID)
		ev.SetDetail("appName", ib.App.DisplayName)
	}
	a.Account = firstNonEmpty(r.TenantID, r.AadTenantID)
	ev.Scope = a.Account
	a.UserAgent = firstNonEmpty(r.UserAgent, additional(r.AdditionalDetails, "User-Agent"))

	var targets []target
	if o := jsonrec.Object(r.TargetResources); o != nil {
		_ = json.Unmarshal(o, &targets)
	}
	if len(targets) > 0 {
		ev.Resource = targets[0].ID
		ev.SetDetail("targetType", targets[0].Type)
		ev.SetDetail("targetName", firstNonEmpty(targets[0].UserPrincipalName, targets[0].DisplayName))
	}
	c := ClassifyAudit(ev.Action)
	ev.Class = c.Class
	if c.Remove {
		ev.SetDetail("op", "remove")
	} else if c.Class == event.Grant {
		ev.SetDetail("op", "add")
	}
	if c.Class == event.Grant {
		grantTargets(&ev, targets)
	}
	return ev
}

// grantTargets fills group / member / role for membership and role changes.
// Entra logs "Add member to group" with the member first (its
// modifiedProperties carry Group.ObjectID / Group.DisplayName) and the group
// second; role changes carry Role.DisplayName / Role.TemplateId.
func grantTargets(ev *event.Event, targets []target) {
	group, groupName, role := "", "", ""
	for i := range targets {
		t := &targets[i]
		group = firstNonEmpty(group, t.prop("Group.ObjectID"))
		groupName = firstNonEmpty(groupName, t.prop("Group.DisplayName"))
		role = firstNonEmpty(role, t.prop("Role.DisplayName"), t.prop("Role.TemplateId"), t.prop("AppRole.Value"))
	}
	for i := range targets {
		t := &targets[i]
		if group == "" && strings.EqualFold(t.Type, "Group") && i > 0 {
			group, groupName = t.ID, firstNonEmpty(groupName, t.DisplayName)
		}
	}
	// Delegated permission grants (consent): the client service principal
	// receives the scopes of the resource service principal.
	for i := range targets {
		if sp := targets[i].prop("ServicePrincipal.ObjectID"); sp != "" {
			ev.SetDetail("member", sp)
			ev.SetDetail("memberId", sp)
			ev.SetDetail("role", targets[i].prop("DelegatedPermissionGrant.Scope"))
			ev.SetDetail("resourceApp", targets[i].ID)
			return
		}
	}
	if len(targets) > 0 && targets[0].ID != group {
		ev.SetDetail("member", firstNonEmpty(targets[0].UserPrincipalName, targets[0].ID))
		ev.SetDetail("memberId", targets[0].ID)
	}
	if group == "" && len(targets) == 1 && strings.EqualFold(targets[0].Type, "Group") {
		group, groupName = targets[0].ID, targets[0].DisplayName
	}
	ev.SetDetail("group", group)
	ev.SetDetail("groupName", groupName)
	ev.SetDetail("role", role)
}

// additional reads one key of AdditionalDetails ([{key,value}]).
func additional(raw json.RawMessage, key string) string {
	o := jsonrec.Object(raw)
	if o == nil {
		return ""
	}
	var kv []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	_ = json.Unmarshal(o, &kv)
	for _, p := range kv {
		if strings.EqualFold(p.Key, key) {
			return p.Value
		}
	}
	return ""
}
