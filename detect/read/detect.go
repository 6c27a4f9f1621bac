package read

import (
	"bytes"
	"strings"

	"permgraph/detect/internal/jsonscan"
)

// Format names accepted by Open (besides "auto").
const (
	FormatAuto          = "auto"
	FormatCloudTrail    = "cloudtrail"
	FormatAzureActivity = "azure-activity"
	FormatGraphActivity = "graph-activity"
	FormatGCPAudit      = "gcp-audit"
	FormatK8sAudit      = "k8s-audit"
	FormatWorkspace     = "workspace"
)

// Formats lists the format names in detection order.
func Formats() []string {
	return []string{FormatCloudTrail, FormatWorkspace, FormatK8sAudit, FormatGCPAudit, FormatGraphActivity, FormatAzureActivity}
}

// keyset records the top-level keys of one record that detection looks at.
type keyset struct {
	eventSource, eventName, eventVersion, userIdentity, cloudTrailEvent bool
	auditID, stage, verb                                                bool
	protoPayload, logName, insertID, resource                           bool
	requestURI, requestMethod, activityDisplayName, initiatedBy         bool
	operationName, azureEnvelope, events, actor, id                     bool
	userDetailList, errObj, messageAudit                                bool
	kind, apiVersion, category, typ, eventType                          string
}

func scanKeys(raw []byte) (keyset, bool) {
	var k keyset
	it := jsonscan.NewMembers(raw)
	for it.Next() {
		v := it.Value()
		// Exact-case keys first (CloudTrail, k8s, GCP, Workspace).
		switch string(it.Key()) {
		case "eventSource":
			k.eventSource = true
			continue
		case "eventName":
			k.eventName = true
			continue
		case "eventVersion":
			k.eventVersion = true
			continue
		case "userIdentity":
			k.userIdentity = true
			continue
		case "CloudTrailEvent":
			k.cloudTrailEvent = true
			continue
		case "eventType":
			k.eventType = jsonscan.Text(v)
			continue
		case "auditID":
			k.auditID = true
			continue
		case "stage":
			k.stage = true
			continue
		case "verb":
			k.verb = true
			continue
		case "protoPayload":
			k.protoPayload = jsonscan.IsObject(v)
			continue
		case "logName":
			k.logName = true
			continue
		case "insertId":
			k.insertID = true
			continue
		case "events":
			k.events = true
			continue
		case "actor":
			k.actor = jsonscan.IsObject(v)
			continue
		case "UserDetailList", "GroupDetailList", "RoleDetailList":
			k.userDetailList = true
			continue
		case "error":
			k.errObj = jsonscan.IsObject(v)
			continue
		case "message":
			// CloudWatch Logs event carrying an EKS audit event as a string.
			k.messageAudit = len(v) > 0 && v[0] == '"' && bytes.Contains(v, []byte(`\"auditID\"`))
			continue
		}
		// Azure columns differ in case between REST, exports and Log Analytics.
		switch strings.ToLower(string(it.Key())) {
		case "kind":
			k.kind = jsonscan.Text(v)
		case "apiversion":
			k.apiVersion = jsonscan.Text(v)
		case "category":
			k.category = categoryText(v)
		case "type":
			k.typ = jsonscan.Text(v)
		case "id":
			k.id = jsonscan.IsObject(v)
		case "resource":
			k.resource = jsonscan.IsObject(v)
		case "requesturi":
			k.requestURI = true
		case "requestmethod":
			k.requestMethod = true
		case "activitydisplayname":
			k.activityDisplayName = true
		case "initiatedby":
			k.initiatedBy = true
		case "operationname", "operationnamevalue":
			k.operationName = true
		case "resourceid", "_resourceid", "eventtimestamp", "correlationid", "authorization", "caller", "eventdataid", "subscriptionid":
			k.azureEnvelope = true
		}
	}
	return k, it.Err() == nil
}

// categoryText reads "category" as a string or as {"value": ...}.
func categoryText(v []byte) string {
	if jsonscan.IsObject(v) {
		it := jsonscan.NewMembers(v)
		for it.Next() {
			if string(it.Key()) == "value" {
				return jsonscan.Text(it.Value())
			}
		}
		return ""
	}
	return jsonscan.Text(v)
}

// Detect names the format of one raw record, or returns "" when no format
// matches. The rules are documented in docs/detect-formats.md; the first
// match wins, in this order: CloudTrail, Workspace, Kubernetes audit, GCP
// LogEntry, Microsoft Graph activity / Entra audit, Azure Activity Log.
func Detect(raw []byte) string {
	k, ok := scanKeys(raw)
	if !ok {
		return ""
	}
	return k.format()
}

func (k *keyset) format() string {
	switch {
	case k.cloudTrailEvent,
		k.eventSource && k.eventName,
		k.eventVersion && (k.userIdentity || k.eventType == "AwsCloudTrailInsight"):
		return FormatCloudTrail
	case k.kind == "admin#reports#activity",
		k.id && k.events && k.actor:
		return FormatWorkspace
	case k.auditID && k.stage,
		k.kind == "Event" && strings.HasPrefix(k.apiVersion, "audit.k8s.io/"),
		k.messageAudit,
		strings.HasPrefix(strings.ToLower(k.category), "kube-audit"):
		return FormatK8sAudit
	case k.protoPayload,
		k.logName && (k.insertID || k.resource):
		return FormatGCPAudit
	case strings.EqualFold(k.category, "MicrosoftGraphActivityLogs"),
		strings.EqualFold(k.category, "AuditLogs"),
		strings.EqualFold(k.typ, "MicrosoftGraphActivityLogs"),
		strings.EqualFold(k.typ, "AuditLogs"),
		k.requestURI && k.requestMethod,
		k.activityDisplayName && k.initiatedBy:
		return FormatGraphActivity
	case strings.EqualFold(k.typ, "AzureActivity"),
		k.operationName && k.azureEnvelope:
		return FormatAzureActivity
	}
	return ""
}

// hint explains an unrecognized record when its shape is a known non-audit one.
func hint(raw []byte) string {
	k, ok := scanKeys(raw)
	if !ok {
		return "not a JSON object"
	}
	switch {
	case strings.HasPrefix(k.kind, "admin#directory#"):
		return "Google Admin SDK Directory API object (" + k.kind + "): directory state, not a Reports API activity"
	case k.userDetailList:
		return "IAM GetAccountAuthorizationDetails output: IAM state, not a CloudTrail record"
	case k.errObj:
		return "API error response, not an audit record"
	}
	return "no known audit-log format matches (see docs/detect-formats.md)"
}
