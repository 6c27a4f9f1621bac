// Package k8saudit parses Kubernetes audit events (audit.k8s.io/v1 and
// v1beta1 Event, as written by the log backend, EKS/AKS exports and Falco
// fixtures) into normalized events, and exports the Kubernetes
// classification and pod-spec extraction that detect/gcpaudit reuses for GKE.
package k8saudit

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
)

// Format is the format name used by readers and in event.Event.Format.
const Format = "k8s-audit"

type userInfo struct {
	Username string              `json:"username"`
	UID      string              `json:"uid"`
	Groups   []string            `json:"groups"`
	Extra    map[string][]string `json:"extra"`
}

type objectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	APIGroup    string `json:"apiGroup"`
	APIVersion  string `json:"apiVersion"`
	Subresource string `json:"subresource"`
}

type auditEvent struct {
	Kind             string     `json:"kind"`
	APIVersion       string     `json:"apiVersion"`
	Level            string     `json:"level"`
	AuditID          string     `json:"auditID"`
	Stage            string     `json:"stage"`
	RequestURI       string     `json:"requestURI"`
	Verb             string     `json:"verb"`
	User             userInfo   `json:"user"`
	ImpersonatedUser *userInfo  `json:"impersonatedUser"`
	SourceIPs        []string   `json:"sourceIPs"`
	UserAgent        string     `json:"userAgent"`
	ObjectRef        *objectRef `json:"objectRef"`
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
	// Wrappers: CloudWatch Logs events (EKS: {"timestamp","message":"<event
	// JSON>"}) and Azure diagnostic records (AKS: {"category":"kube-audit",
	// "properties":{"log":"<event JSON>"}}).
	Message    json.RawMessage `json:"message"`
	Category   string          `json:"category"`
	ResourceID string          `json:"resourceId"`
	Properties *struct {
		Log string `json:"log"`
	} `json:"properties"`
}

// Stage names.
const (
	StageRequestReceived  = "RequestReceived"
	StageResponseStarted  = "ResponseStarted"
	StageResponseComplete = "ResponseComplete"
	StagePanic            = "Panic"
)

// ParseEvent parses one audit event. It returns an error wrapping
// event.ErrUnrecognized for valid JSON that is not an audit event.
func ParseEvent(raw []byte) (event.Event, error) {
	var a auditEvent
	typeErr, err := jsonrec.Decode(raw, &a)
	if err != nil {
		return event.Event{}, fmt.Errorf("k8saudit: decode audit event: %w", err)
	}
	isAudit := (a.Kind == "Event" && strings.HasPrefix(a.APIVersion, "audit.k8s.io/")) ||
		(a.AuditID != "" && a.Stage != "" && a.Verb != "")
	if !isAudit {
		if inner, wrapper := unwrap(&a); inner != nil {
			ev, err := ParseEvent(inner)
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
	ref := objectRef{}
	if a.ObjectRef != nil {
		ref = *a.ObjectRef
	}
	ev.Action = Action(a.Verb, ref.Resource, ref.Subresource, a.RequestURI)
	ev.Resource = resourcePath(ref)
	ev.SetDetail("stage", a.Stage)
	ev.SetDetail("namespace", ref.Namespace)
	ev.SetDetail("apiGroup", ref.APIGroup)

	// Actor: the effective identity, with the authenticated user as
	// Impersonator when impersonation was used.
	eff := a.User
	if a.ImpersonatedUser != nil && a.ImpersonatedUser.Username != "" {
		eff = *a.ImpersonatedUser
		ev.Actor.Impersonator = a.User.Username
	}
	ev.Actor.Raw = eff.Username
	ev.Actor.Type = UserType(eff.Username)
	ev.Actor.ID = eff.UID
	ev.SetDetail("groups", strings.Join(eff.Groups, ","))
	extra(&ev, a.User)
	if len(a.SourceIPs) > 0 {
		ev.Actor.SourceIP = a.SourceIPs[0]
	}
	ev.Actor.UserAgent = a.UserAgent

	// Outcome.
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

	// Class: one stage per request carries the class (DETECTIONS.md §6).
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
		if err := ObjectDetails(&ev, ref.Resource, ref.Subresource, a.RequestObject); err != nil {
			return ev, fmt.Errorf("k8saudit: requestObject: %w", err)
		}
	}
	return ev, nil
}

// unwrap returns the audit event carried as a JSON string by a CloudWatch
// Logs event (message) or an AKS diagnostic record (properties.log).
func unwrap(a *auditEvent) ([]byte, string) {
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

func resourcePath(r objectRef) string {
	parts := make([]string, 0, 4)
	for _, s := range []string{r.Namespace, r.Resource, r.Name, r.Subresource} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
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

// extra copies EKS and bound-token fields of user.extra.
func extra(ev *event.Event, u userInfo) {
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
