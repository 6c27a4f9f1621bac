package k8saudit

// The encoding/json parser this package used before the jsonscan walk
// (decode.go), kept as the reference the equivalence tests and fuzzers compare
// the walk with. Only the decoding lives here; both build the event with the
// same helpers (Action, Classify, PodSpecDetails, ...).

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
)

type refUserInfo struct {
	Username string              `json:"username"`
	UID      string              `json:"uid"`
	Groups   []string            `json:"groups"`
	Extra    map[string][]string `json:"extra"`
}

type refObjectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	APIGroup    string `json:"apiGroup"`
	APIVersion  string `json:"apiVersion"`
	Subresource string `json:"subresource"`
}

type refAuditEvent struct {
	Kind             string        `json:"kind"`
	APIVersion       string        `json:"apiVersion"`
	Level            string        `json:"level"`
	AuditID          string        `json:"auditID"`
	Stage            string        `json:"stage"`
	RequestURI       string        `json:"requestURI"`
	Verb             string        `json:"verb"`
	User             refUserInfo   `json:"user"`
	ImpersonatedUser *refUserInfo  `json:"impersonatedUser"`
	SourceIPs        []string      `json:"sourceIPs"`
	UserAgent        string        `json:"userAgent"`
	ObjectRef        *refObjectRef `json:"objectRef"`
	ResponseStatus   *struct {
		Code   int    `json:"code"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"responseStatus"`
	RequestObject            json.RawMessage   `json:"requestObject"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Timestamp                string            `json:"timestamp"` // v1beta1
	Annotations              map[string]string `json:"annotations"`
	Message                  json.RawMessage   `json:"message"`
	Category                 string            `json:"category"`
	ResourceID               string            `json:"resourceId"`
	Properties               *struct {
		Log string `json:"log"`
	} `json:"properties"`
}

// refParseEvent is ParseEvent as it was, on encoding/json.
func refParseEvent(raw []byte) (event.Event, error) {
	var a refAuditEvent
	typeErr, err := jsonrec.Decode(raw, &a)
	if err != nil {
		return event.Event{}, fmt.Errorf("k8saudit: decode audit event: %w", err)
	}
	isAudit := (a.Kind == "Event" && strings.HasPrefix(a.APIVersion, "audit.k8s.io/")) ||
		(a.AuditID != "" && a.Stage != "" && a.Verb != "")
	if !isAudit {
		if inner, wrapper := refUnwrap(&a); inner != nil {
			ev, err := refParseEvent(inner)
			if err != nil {
				return ev, fmt.Errorf("k8saudit: %s wrapper: %w", wrapper, err)
			}
			ev.SetDetail("wrapper", wrapper)
			if ev.Scope == "" {
				ev.Scope = clusterOf(a.ResourceID)
			}
			return ev, nil
		}
		return event.Event{}, fmt.Errorf("k8saudit: %w: no auditID/stage/verb", event.ErrUnrecognized)
	}
	if typeErr != nil {
		return event.Event{}, fmt.Errorf("k8saudit: decode audit event: %w", typeErr)
	}
	ev := event.Event{Format: Format, Cloud: "k8s", Service: "k8s", ID: a.AuditID}
	ev.Time = jsonrec.Time(a.StageTimestamp)
	if ev.Time.IsZero() {
		ev.Time = jsonrec.Time(a.RequestReceivedTimestamp)
	}
	if ev.Time.IsZero() {
		ev.Time = jsonrec.Time(a.Timestamp)
	}
	ref := refObjectRef{}
	if a.ObjectRef != nil {
		ref = *a.ObjectRef
	}
	ev.Action = Action(a.Verb, ref.Resource, ref.Subresource, a.RequestURI)
	ev.Resource = refResourcePath(ref)
	ev.SetDetail("stage", a.Stage)
	ev.SetDetail("namespace", ref.Namespace)
	ev.SetDetail("apiGroup", ref.APIGroup)

	eff := a.User
	if a.ImpersonatedUser != nil && a.ImpersonatedUser.Username != "" {
		eff = *a.ImpersonatedUser
		ev.Actor.Impersonator = a.User.Username
	}
	ev.Actor.Raw = eff.Username
	ev.Actor.Type = UserType(eff.Username)
	ev.Actor.ID = eff.UID
	ev.SetDetail("groups", strings.Join(eff.Groups, ","))
	refExtra(&ev, a.User)
	if len(a.SourceIPs) > 0 {
		ev.Actor.SourceIP = a.SourceIPs[0]
	}
	ev.Actor.UserAgent = a.UserAgent

	code := 0
	if a.ResponseStatus != nil {
		code = a.ResponseStatus.Code
		if code >= 400 {
			ev.ErrorCode = a.ResponseStatus.Reason
			if ev.ErrorCode == "" {
				ev.ErrorCode = strconv.Itoa(code)
			}
		}
	}
	ev.Outcome = outcomeOf(code)
	if a.Annotations["authorization.k8s.io/decision"] == "forbid" {
		ev.Outcome = event.Denied
	}
	ev.SetDetail("decision", a.Annotations["authorization.k8s.io/decision"])
	ev.SetDetail("authzReason", a.Annotations["authorization.k8s.io/reason"])

	c := Classify(a.Verb, ref.Resource, ref.Subresource, ref.Namespace, ref.Name)
	switch {
	case a.Stage == StageRequestReceived:
		c = Classification{}
	case LongRunning(ref.Resource, ref.Subresource):
		if a.Stage != StageResponseStarted {
			c = Classification{}
		}
	case a.Stage == StageResponseStarted:
		c = Classification{}
	}
	ev.Class = c.Class
	ev.SetDetail("surface", c.Surface)
	if c.Remove {
		ev.SetDetail("op", "remove")
	} else if c.Class == event.Grant {
		ev.SetDetail("op", "add")
	}
	if c.Class == event.Exec {
		execDetails(&ev, a.RequestURI)
	}
	if len(a.RequestObject) > 0 && a.RequestObject[0] == '{' {
		if err := refObjectDetails(&ev, ref.Resource, ref.Subresource, a.RequestObject); err != nil {
			return ev, fmt.Errorf("k8saudit: requestObject: %w", err)
		}
	}
	return ev, nil
}

func refUnwrap(a *refAuditEvent) ([]byte, string) {
	if a.Properties != nil && strings.HasPrefix(strings.ToLower(a.Category), "kube-audit") {
		if s := strings.TrimSpace(a.Properties.Log); strings.HasPrefix(s, "{") {
			return []byte(s), "aks"
		}
	}
	if s := jsonrec.String(a.Message); strings.HasPrefix(strings.TrimSpace(s), "{") && strings.Contains(s, `"auditID"`) {
		return []byte(s), "cloudwatch"
	}
	return nil, ""
}

func refResourcePath(r refObjectRef) string {
	parts := make([]string, 0, 4)
	for _, s := range []string{r.Namespace, r.Resource, r.Name, r.Subresource} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

func refExtra(ev *event.Event, u refUserInfo) {
	get := func(k string) string {
		if v := u.Extra[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ev.Actor.CanonicalARN = get("canonicalArn")
	ev.Actor.SessionName = get("sessionName")
	ev.Actor.AccessKeyID = get("accessKeyId")
	ev.SetDetail("arn", get("arn"))
	if a := ev.Actor.CanonicalARN; strings.HasPrefix(a, "arn:") {
		if parts := strings.SplitN(a, ":", 6); len(parts) == 6 {
			ev.Actor.Account = parts[4]
		}
	}
	ev.SetDetail("podName", get("authentication.kubernetes.io/pod-name"))
	ev.SetDetail("nodeName", get("authentication.kubernetes.io/node-name"))
	ev.SetDetail("credentialId", get("authentication.kubernetes.io/credential-id"))
}

type refSpecWrap struct {
	PodSpec
	Template *struct {
		Spec *PodSpec `json:"spec"`
	} `json:"template"`
	JobTemplate *struct {
		Spec *struct {
			Template *struct {
				Spec *PodSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	} `json:"jobTemplate"`
}

type refObject struct {
	Metadata struct {
		OwnerReferences []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"ownerReferences"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec    *refSpecWrap `json:"spec"`
	RoleRef *struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"roleRef"`
	Subjects []struct {
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"subjects"`
	Rules []struct {
		Verbs     []string `json:"verbs"`
		Resources []string `json:"resources"`
		APIGroups []string `json:"apiGroups"`
	} `json:"rules"`
}

// refObjectDetails is ObjectDetails as it was, on encoding/json.
func refObjectDetails(ev *event.Event, resource, subresource string, raw []byte) error {
	var o refObject
	if err := json.Unmarshal(raw, &o); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return fmt.Errorf("decode %s object: %w", resource, err)
		}
	}
	if len(o.Metadata.OwnerReferences) > 0 {
		ev.SetDetail("ownerKind", o.Metadata.OwnerReferences[0].Kind)
		ev.SetDetail("ownerName", o.Metadata.OwnerReferences[0].Name)
	}
	if o.Metadata.Annotations["image-policy.k8s.io/break-glass"] == "true" {
		ev.SetDetail("breakGlass", "true")
	}
	switch {
	case resource == "pods" && (subresource == "" || subresource == "ephemeralcontainers"):
		if o.Spec != nil {
			PodSpecDetails(ev, &o.Spec.PodSpec)
		}
	case isWorkload(resource):
		if o.Spec == nil {
			break
		}
		if t := o.Spec.Template; t != nil && t.Spec != nil {
			PodSpecDetails(ev, t.Spec)
		} else if jt := o.Spec.JobTemplate; jt != nil && jt.Spec != nil && jt.Spec.Template != nil && jt.Spec.Template.Spec != nil {
			PodSpecDetails(ev, jt.Spec.Template.Spec)
		}
	case resource == "rolebindings" || resource == "clusterrolebindings":
		if o.RoleRef != nil && o.RoleRef.Name != "" {
			ev.SetDetail("role", o.RoleRef.Kind+"/"+o.RoleRef.Name)
		}
		subs := make([]string, 0, len(o.Subjects))
		for _, s := range o.Subjects {
			n := s.Name
			if s.Namespace != "" {
				n = s.Namespace + "/" + n
			}
			subs = append(subs, s.Kind+":"+n)
		}
		ev.SetDetail("member", strings.Join(subs, ","))
	case resource == "roles" || resource == "clusterroles":
		for _, r := range o.Rules {
			for _, list := range [][]string{r.Verbs, r.Resources, r.APIGroups} {
				for _, v := range list {
					if v == "*" {
						ev.SetDetail("wildcard", "true")
					}
				}
			}
		}
	}
	return nil
}
