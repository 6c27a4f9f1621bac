// Package gcpaudit parses Google Cloud audit LogEntries (protoPayload of type
// google.cloud.audit.AuditLog, as returned by `gcloud logging read
// --format=json`, the entries.list API, Pub/Sub or storage sinks) into
// normalized events. GKE Kubernetes audit entries (serviceName k8s.io) are
// classified with the detect/k8saudit table.
package gcpaudit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
	"permgraph/detect/k8saudit"
)

// Format is the format name used by readers and in event.Event.Format.
const Format = "gcp-audit"

type principal struct {
	PrincipalEmail   string `json:"principalEmail"`
	PrincipalSubject string `json:"principalSubject"`
}

type auditLog struct {
	Type         string `json:"@type"`
	ServiceName  string `json:"serviceName"`
	MethodName   string `json:"methodName"`
	ResourceName string `json:"resourceName"`
	Status       *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	AuthenticationInfo struct {
		PrincipalEmail               string `json:"principalEmail"`
		PrincipalSubject             string `json:"principalSubject"`
		ServiceAccountKeyName        string `json:"serviceAccountKeyName"`
		AuthoritySelector            string `json:"authoritySelector"`
		ServiceAccountDelegationInfo []struct {
			FirstPartyPrincipal *principal `json:"firstPartyPrincipal"`
			ThirdPartyPrincipal *struct {
				ThirdPartyClaims map[string]any `json:"thirdPartyClaims"`
			} `json:"thirdPartyPrincipal"`
			PrincipalSubject string `json:"principalSubject"`
		} `json:"serviceAccountDelegationInfo"`
	} `json:"authenticationInfo"`
	AuthorizationInfo []struct {
		Permission string `json:"permission"`
		Granted    bool   `json:"granted"`
		Resource   string `json:"resource"`
	} `json:"authorizationInfo"`
	RequestMetadata struct {
		CallerIP                string `json:"callerIp"`
		CallerSuppliedUserAgent string `json:"callerSuppliedUserAgent"`
	} `json:"requestMetadata"`
	Request     json.RawMessage `json:"request"`
	ServiceData json.RawMessage `json:"serviceData"`
	Metadata    json.RawMessage `json:"metadata"`
}

type logEntry struct {
	InsertID     string          `json:"insertId"`
	LogName      string          `json:"logName"`
	Timestamp    string          `json:"timestamp"`
	ReceiveTime  string          `json:"receiveTimestamp"`
	ProtoPayload *auditLog       `json:"protoPayload"`
	TextPayload  json.RawMessage `json:"textPayload"`
	JSONPayload  json.RawMessage `json:"jsonPayload"`
	Resource     struct {
		Type   string            `json:"type"`
		Labels map[string]string `json:"labels"`
	} `json:"resource"`
	Operation *struct {
		ID       string `json:"id"`
		Producer string `json:"producer"`
		First    bool   `json:"first"`
		Last     bool   `json:"last"`
	} `json:"operation"`
}

// ParseEntry parses one LogEntry. Entries that are not Cloud Audit Logs
// (textPayload / jsonPayload application logs) are reported as
// event.ErrUnrecognized: they are not audit records.
func ParseEntry(raw []byte) (event.Event, error) {
	var le logEntry
	typeErr, err := jsonrec.Decode(raw, &le)
	if err != nil {
		return event.Event{}, fmt.Errorf("gcpaudit: decode LogEntry: %w", err)
	}
	p := le.ProtoPayload
	if p == nil || !strings.HasSuffix(p.Type, "google.cloud.audit.AuditLog") && p.MethodName == "" {
		what := "no protoPayload"
		switch {
		case p != nil:
			what = "protoPayload is not an AuditLog"
		case len(le.TextPayload) > 0:
			what = "textPayload entry (application log)"
		case len(le.JSONPayload) > 0:
			what = "jsonPayload entry (application log)"
		}
		return event.Event{}, fmt.Errorf("gcpaudit: %w: LogEntry is not a Cloud Audit Log entry: %s", event.ErrUnrecognized, what)
	}
	if typeErr != nil {
		return event.Event{}, fmt.Errorf("gcpaudit: decode LogEntry: %w", typeErr)
	}
	ev := event.Event{Format: Format, Cloud: "gcp", ID: le.InsertID, Service: p.ServiceName, Action: p.MethodName}
	ev.Time = jsonrec.Time(le.Timestamp)
	if ev.Time.IsZero() {
		ev.Time = jsonrec.Time(le.ReceiveTime)
	}
	ev.Resource = p.ResourceName
	labels := le.Resource.Labels
	ev.Scope = labels["project_id"]
	if ev.Scope == "" {
		ev.Scope = scopeFromLogName(le.LogName)
	}
	ev.Region = first(labels["location"], labels["region"], labels["zone"])
	ev.SetDetail("resourceType", le.Resource.Type)
	ev.SetDetail("logType", logType(le.LogName))
	if op := le.Operation; op != nil {
		ev.SetDetail("operationId", op.ID)
		if op.First {
			ev.SetDetail("operation_first", "true")
		}
		if op.Last {
			ev.SetDetail("operation_last", "true")
		}
	}

	// Actor.
	ai := p.AuthenticationInfo
	a := &ev.Actor
	a.Raw = ai.PrincipalEmail
	a.ID = ai.PrincipalSubject
	a.Type = principalType(ai.PrincipalSubject, ai.PrincipalEmail)
	a.AccessKeyID = ai.ServiceAccountKeyName
	a.SourceIP = p.RequestMetadata.CallerIP
	a.UserAgent = p.RequestMetadata.CallerSuppliedUserAgent
	if strings.HasSuffix(ai.PrincipalEmail, ".iam.gserviceaccount.com") {
		// service-account emails carry their project: NAME@PROJECT.iam.gserviceaccount.com
		if at := strings.IndexByte(ai.PrincipalEmail, '@'); at >= 0 {
			a.Account = strings.TrimSuffix(ai.PrincipalEmail[at+1:], ".iam.gserviceaccount.com")
		}
	}
	var chain []string
	for _, d := range ai.ServiceAccountDelegationInfo {
		switch {
		case d.FirstPartyPrincipal != nil && d.FirstPartyPrincipal.PrincipalEmail != "":
			chain = append(chain, d.FirstPartyPrincipal.PrincipalEmail)
		case d.PrincipalSubject != "":
			chain = append(chain, d.PrincipalSubject)
		case d.ThirdPartyPrincipal != nil:
			chain = append(chain, "third-party")
		}
	}
	if len(chain) > 0 {
		a.Impersonator = chain[0]
		ev.SetDetail("delegationChain", strings.Join(chain, ","))
	}
	ev.SetDetail("authoritySelector", ai.AuthoritySelector)

	// Outcome.
	code := 0
	if p.Status != nil {
		code = p.Status.Code
	}
	ev.Outcome = outcome(code)
	if code != 0 {
		ev.ErrorCode = CodeName(code)
	}
	var perms []string
	for _, z := range p.AuthorizationInfo {
		if z.Permission != "" {
			perms = append(perms, z.Permission)
		}
	}
	ev.SetDetail("permission", strings.Join(perms, ","))

	if p.ServiceName == "k8s.io" {
		gkeDetails(&ev, p, labels)
		return ev, nil
	}
	c := Classify(p.ServiceName, p.MethodName)
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
	requestDetails(&ev, p, &c)
	if c.Class == event.Other && p.ServiceName == "compute.googleapis.com" &&
		strings.HasSuffix(p.MethodName, ".instances.insert") && bytes.Contains(p.Request, []byte("gce-container-declaration")) {
		// A VM created to run a container (Container-Optimized OS declaration).
		ev.Class = event.Deploy
		ev.SetDetail("surface", "gce-container")
	}
	return ev, nil
}

func outcome(code int) event.Outcome {
	switch code {
	case 0:
		return event.Success
	case 7, 16: // PERMISSION_DENIED, UNAUTHENTICATED
		return event.Denied
	}
	return event.Failed
}

// CodeName returns the google.rpc.Code name of a status code.
func CodeName(code int) string {
	switch code {
	case 0:
		return "OK"
	case 1:
		return "CANCELLED"
	case 2:
		return "UNKNOWN"
	case 3:
		return "INVALID_ARGUMENT"
	case 4:
		return "DEADLINE_EXCEEDED"
	case 5:
		return "NOT_FOUND"
	case 6:
		return "ALREADY_EXISTS"
	case 7:
		return "PERMISSION_DENIED"
	case 8:
		return "RESOURCE_EXHAUSTED"
	case 9:
		return "FAILED_PRECONDITION"
	case 10:
		return "ABORTED"
	case 11:
		return "OUT_OF_RANGE"
	case 12:
		return "UNIMPLEMENTED"
	case 13:
		return "INTERNAL"
	case 14:
		return "UNAVAILABLE"
	case 15:
		return "DATA_LOSS"
	case 16:
		return "UNAUTHENTICATED"
	}
	return strconv.Itoa(code)
}

func principalType(subject, email string) string {
	switch {
	case strings.HasPrefix(subject, "serviceAccount:"), strings.HasSuffix(email, ".gserviceaccount.com"):
		return "serviceAccount"
	case strings.HasPrefix(email, "system:serviceaccount:"):
		return "k8sServiceAccount"
	case strings.HasPrefix(subject, "user:"):
		return "user"
	case strings.HasPrefix(subject, "principal://"), strings.HasPrefix(subject, "principalSet://"):
		return "federated"
	case email != "":
		return "user"
	}
	return ""
}

// scopeFromLogName returns "projects/ID" style scopes as the bare project id,
// or "organizations/N" / "folders/N" / "billingAccounts/N" as logged.
func scopeFromLogName(logName string) string {
	parts := strings.SplitN(logName, "/", 3)
	if len(parts) < 2 {
		return ""
	}
	if parts[0] == "projects" {
		return parts[1]
	}
	return parts[0] + "/" + parts[1]
}

// logType is activity, data_access, system_event or policy (from logName).
func logType(logName string) string {
	i := strings.LastIndex(logName, "cloudaudit.googleapis.com%2F")
	if i < 0 {
		i = strings.LastIndex(logName, "cloudaudit.googleapis.com/")
		if i < 0 {
			return ""
		}
		return logName[i+len("cloudaudit.googleapis.com/"):]
	}
	return logName[i+len("cloudaudit.googleapis.com%2F"):]
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// gkeDetails classifies a GKE Kubernetes audit entry: methodName is
// io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>.
func gkeDetails(ev *event.Event, p *auditLog, labels map[string]string) {
	ev.SetDetail("cluster", labels["cluster_name"])
	verb, resource, sub := splitK8sMethod(p.MethodName)
	ns, name := "", ""
	// resourceName: core/v1/namespaces/NS/pods/NAME[/sub]
	segs := strings.Split(p.ResourceName, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "namespaces" && i+2 < len(segs) {
			ns = segs[i+1]
		}
		if segs[i] == resource {
			name = segs[i+1]
		}
	}
	ev.SetDetail("namespace", ns)
	c := k8saudit.Classify(verb, resource, sub, ns, name)
	ev.Class = c.Class
	if c.Surface != "" {
		ev.SetDetail("surface", "gke")
	}
	if c.Remove {
		ev.SetDetail("op", "remove")
	} else if c.Class == event.Grant {
		ev.SetDetail("op", "add")
	}
	if len(p.Request) > 0 && p.Request[0] == '{' {
		_ = k8saudit.ObjectDetails(ev, resource, sub, p.Request)
	}
}

// splitK8sMethod parses io.k8s.core.v1.pods.exec.create into
// ("create", "pods", "exec"). The API group may contain dots
// (io.k8s.authorization.rbac.v1.clusterrolebindings.create); the version
// segment (v1, v1beta1, v2alpha1 ...) separates it from the resource.
func splitK8sMethod(method string) (verb, resource, sub string) {
	segs := strings.Split(strings.TrimPrefix(method, "io.k8s."), ".")
	if len(segs) < 3 {
		return "", "", ""
	}
	verb = segs[len(segs)-1]
	for i := len(segs) - 2; i >= 0; i-- {
		if isVersion(segs[i]) {
			rest := segs[i+1 : len(segs)-1]
			switch len(rest) {
			case 1:
				return verb, rest[0], ""
			case 2:
				return verb, rest[0], rest[1]
			}
			return verb, "", ""
		}
	}
	return verb, "", ""
}

func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
