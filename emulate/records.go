package emulate

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Builders of native log records, one per format, with only self-written
// content. Each returns the record as a JSON object; the fields are those the
// cloud writes (docs/detect-formats.md lists what the readers take from them).

// Sample organisation identifiers (testdata/sample-org/README.md).
const (
	prodAcct    = "111122223333"
	sandboxAcct = "444455556666"
	tenantID    = "0c0c0c0c-1111-4111-8111-000000000001"
	prodSub     = "5b5b5b5b-0000-4000-8000-000000000001"
	devSub      = "5b5b5b5b-0000-4000-8000-000000000002"
	customerID  = "C0corp123"
	mlProd      = "ml-prod"
	webProd     = "web-prod"
)

// entraID returns the Entra object id of a sample tenant object by short name.
func entraID(name string) string {
	return map[string]string{
		"alice":           "a11ce000-c0c0-4000-8000-000000000001",
		"bob":             "b0b00000-c0c0-4000-8000-000000000002",
		"ivan":            "1fa40000-c0c0-4000-8000-000000000003",
		"jane":            "1a4e0000-c0c0-4000-8000-000000000004",
		"kim":             "c1a00000-c0c0-4000-8000-000000000005",
		"uaa-admin":       "0aa00000-c0c0-4000-8000-000000000006",
		"aci-operators":   "9ac10000-c0c0-4000-8000-000000000012",
		"ci-pipeline":     "5c100000-c0c0-4000-8000-000000000022",
		"ci-pipeline-app": "c1c1c1c1-c0c0-4000-8000-000000000023",
	}[name]
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsNano(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// ---- AWS CloudTrail ----

type awsIdentity map[string]any

func iamUser(acct, path, name, key string) awsIdentity {
	return awsIdentity{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(strings.ReplaceAll(name, "-", "")),
		"arn": fmt.Sprintf("arn:aws:iam::%s:user/%s%s", acct, path, name), "accountId": acct, "accessKeyId": key, "userName": name}
}

// roleSession is an assumed-role identity; rolePath is the role's path
// ("" or "app/").
func roleSession(acct, rolePath, role, session, key string) awsIdentity {
	return awsIdentity{"type": "AssumedRole", "principalId": "AROA" + strings.ToUpper(strings.ReplaceAll(role, "-", "")) + ":" + session,
		"arn": fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", acct, role, session), "accountId": acct, "accessKeyId": key,
		"sessionContext": map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROA" + strings.ToUpper(role),
				"arn": fmt.Sprintf("arn:aws:iam::%s:role/%s%s", acct, rolePath, role), "accountId": acct, "userName": role},
			"attributes": map[string]any{"creationDate": "2026-11-01T00:00:00Z", "mfaAuthenticated": "false"}}}
}

type ctCall struct {
	t         time.Time
	who       awsIdentity
	source    string // "iam" → iam.amazonaws.com
	name      string
	params    map[string]any
	resp      map[string]any
	errorCode string
	ua, ip    string
	id        string
}

func cloudTrail(c ctCall) map[string]any {
	acct, _ := c.who["accountId"].(string)
	readOnly := strings.HasPrefix(c.name, "Get") || strings.HasPrefix(c.name, "List") || strings.HasPrefix(c.name, "Describe")
	r := map[string]any{
		"eventVersion": "1.09", "userIdentity": map[string]any(c.who), "eventTime": ts(c.t),
		"eventSource": c.source + ".amazonaws.com", "eventName": c.name, "awsRegion": "us-east-1",
		"sourceIPAddress": c.ip, "userAgent": c.ua, "requestParameters": c.params, "responseElements": c.resp,
		"requestID": c.id[:8] + "-req", "eventID": c.id, "readOnly": readOnly, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": acct, "eventCategory": "Management",
	}
	if c.params == nil {
		r["requestParameters"] = nil
	}
	if c.resp == nil {
		r["responseElements"] = nil
	}
	if c.errorCode != "" {
		r["errorCode"] = c.errorCode
		r["errorMessage"] = "User is not authorized to perform this operation"
	}
	if c.source == "s3" && (c.name == "GetObject" || c.name == "PutObject") {
		r["managementEvent"], r["eventCategory"] = false, "Data"
	}
	return r
}

// ---- Azure Activity Log (REST / portal JSON) ----

type azCall struct {
	t                  time.Time
	caller, oid, appid string // caller as logged; object id and app id claims
	upn                string
	op                 string // e.g. Microsoft.ContainerInstance/containerGroups/write
	resourceID         string
	status             string // Succeeded, Failed, Started
	body               map[string]any
	ip                 string
	correlation        string
	evidence           map[string]any
}

func azureActivity(c azCall) map[string]any {
	claims := map[string]any{
		"http://schemas.microsoft.com/identity/claims/objectidentifier": c.oid,
		"http://schemas.microsoft.com/identity/claims/tenantid":         tenantID,
		"ipaddr": c.ip,
	}
	if c.upn != "" {
		claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = c.upn
	}
	if c.appid != "" {
		claims["appid"] = c.appid
	}
	sub := ""
	if parts := strings.Split(c.resourceID, "/"); len(parts) > 2 {
		sub = parts[2]
	}
	auth := map[string]any{"action": c.op, "scope": c.resourceID}
	if c.evidence != nil {
		auth["evidence"] = c.evidence
	}
	r := map[string]any{
		"authorization": auth, "caller": c.caller, "claims": claims, "channels": "Operation",
		"correlationId": c.correlation, "eventDataId": c.correlation[:8] + "-" + strings.ToLower(c.status),
		"eventName":      map[string]any{"value": "EndRequest", "localizedValue": "End request"},
		"category":       map[string]any{"value": "Administrative", "localizedValue": "Administrative"},
		"eventTimestamp": tsNano(c.t), "level": "Informational",
		"operationName":        map[string]any{"value": c.op, "localizedValue": c.op},
		"resourceProviderName": map[string]any{"value": strings.SplitN(c.op, "/", 2)[0]},
		"resourceId":           c.resourceID, "status": map[string]any{"value": c.status, "localizedValue": c.status},
		"subStatus": map[string]any{"value": "", "localizedValue": ""}, "submissionTimestamp": tsNano(c.t.Add(40 * time.Second)),
		"subscriptionId": sub, "tenantId": tenantID, "httpRequest": map[string]any{"clientIpAddress": c.ip, "method": "PUT"},
	}
	if c.body != nil {
		b, _ := json.Marshal(c.body)
		r["properties"] = map[string]any{"requestbody": string(b), "statusCode": "Created"}
	}
	return r
}

// ---- Microsoft Graph activity (diagnostic export) and Entra audit ----

type graphCall struct {
	t                   time.Time
	userID, spID        string
	appID               string
	method, uri         string
	status              int
	ip, ua, session, id string
}

func graphActivity(c graphCall) map[string]any {
	return map[string]any{
		"time": tsNano(c.t), "resourceId": "/TENANTS/" + strings.ToUpper(tenantID) + "/PROVIDERS/MICROSOFT.AADIAM",
		"operationName": "Microsoft Graph Activity", "operationVersion": "beta", "category": "MicrosoftGraphActivityLogs",
		"resultSignature": fmt.Sprint(c.status), "durationMs": 120, "callerIpAddress": c.ip, "correlationId": c.id,
		"level": "Informational", "location": "West Europe", "tenantId": tenantID,
		"properties": map[string]any{
			"timeGenerated": tsNano(c.t), "location": "West Europe", "requestId": c.id, "operationId": c.id,
			"clientRequestId": c.id, "apiVersion": "v1.0", "requestMethod": c.method, "responseStatusCode": c.status,
			"tenantId": tenantID, "durationMs": 120, "responseSizeBytes": 2048, "signInActivityId": c.session,
			"ipAddress": c.ip, "userAgent": c.ua, "requestUri": "https://graph.microsoft.com/v1.0" + c.uri,
			"appId": c.appID, "userId": c.userID, "servicePrincipalId": c.spID, "sessionId": c.session,
			"scopes": "Group.Read.All User.Read", "roles": "", "clientAuthMethod": 0, "tokenIssuedAt": tsNano(c.t.Add(-10 * time.Minute)),
		},
	}
}

type entraAuditCall struct {
	t                             time.Time
	activity                      string // "Add member to group"
	initiatorUPN, initiatorID, ip string
	targetID, targetUPN           string
	groupID, groupName            string
	id                            string
}

func entraAudit(c entraAuditCall) map[string]any {
	return map[string]any{
		"time": tsNano(c.t), "resourceId": "/tenants/" + tenantID + "/providers/Microsoft.aadiam", "operationName": c.activity,
		"operationVersion": "1.0", "category": "AuditLogs", "tenantId": tenantID, "resultSignature": "None", "durationMs": 0,
		"callerIpAddress": c.ip, "correlationId": c.id, "level": "Informational",
		"properties": map[string]any{
			"id": "Directory_" + c.id, "category": "GroupManagement", "correlationId": c.id, "result": "success",
			"resultReason": "", "activityDisplayName": c.activity, "activityDateTime": tsNano(c.t), "loggedByService": "Core Directory",
			"operationType": "Assign",
			"initiatedBy":   map[string]any{"user": map[string]any{"id": c.initiatorID, "userPrincipalName": c.initiatorUPN, "ipAddress": c.ip}},
			"targetResources": []any{
				map[string]any{"id": c.targetID, "type": "User", "userPrincipalName": c.targetUPN, "modifiedProperties": []any{
					map[string]any{"displayName": "Group.ObjectID", "oldValue": nil, "newValue": `"` + c.groupID + `"`},
					map[string]any{"displayName": "Group.DisplayName", "oldValue": nil, "newValue": `"` + c.groupName + `"`},
				}},
				map[string]any{"id": c.groupID, "type": "Group", "displayName": c.groupName},
			},
			"additionalDetails": []any{map[string]any{"key": "User-Agent", "value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}},
		},
	}
}

// ---- GCP Cloud Audit Logs ----

type gcpCall struct {
	t               time.Time
	email           string
	service, method string
	resource        string
	project         string
	logType         string // activity or data_access
	code            int    // google.rpc code; 0 = OK
	ip, ua, id      string
	keyName         string
	delegation      []string
	permission      string
	request         map[string]any
	serviceData     map[string]any
	resourceType    string
	labels          map[string]any
}

func gcpAudit(c gcpCall) map[string]any {
	auth := map[string]any{"principalEmail": c.email}
	if c.keyName != "" {
		auth["serviceAccountKeyName"] = c.keyName
	}
	if len(c.delegation) > 0 {
		var d []any
		for _, p := range c.delegation {
			d = append(d, map[string]any{"firstPartyPrincipal": map[string]any{"principalEmail": p}})
		}
		auth["serviceAccountDelegationInfo"] = d
	}
	pp := map[string]any{
		"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "authenticationInfo": auth,
		"requestMetadata": map[string]any{"callerIp": c.ip, "callerSuppliedUserAgent": c.ua},
		"serviceName":     c.service, "methodName": c.method, "resourceName": c.resource,
	}
	if c.permission != "" {
		pp["authorizationInfo"] = []any{map[string]any{"resource": c.resource, "permission": c.permission, "granted": c.code == 0}}
	}
	if c.code != 0 {
		pp["status"] = map[string]any{"code": c.code, "message": "PERMISSION_DENIED"}
	}
	if c.request != nil {
		pp["request"] = c.request
	}
	if c.serviceData != nil {
		pp["serviceData"] = c.serviceData
	}
	rt := c.resourceType
	if rt == "" {
		rt = "project"
	}
	labels := map[string]any{"project_id": c.project}
	for k, v := range c.labels {
		labels[k] = v
	}
	sev := "NOTICE"
	if c.logType == "data_access" {
		sev = "INFO"
	}
	return map[string]any{
		"protoPayload": pp, "insertId": c.id, "resource": map[string]any{"type": rt, "labels": labels},
		"timestamp": tsNano(c.t), "severity": sev,
		"logName":          "projects/" + c.project + "/logs/cloudaudit.googleapis.com%2F" + c.logType,
		"receiveTimestamp": tsNano(c.t.Add(2 * time.Second)),
	}
}

// ---- Google Workspace Reports API activity ----

type wsCall struct {
	t          time.Time
	app        string // admin, login
	actorEmail string
	evType     string
	name       string
	params     map[string]string
	ip         string
	unique     int64
}

func workspaceActivity(c wsCall) map[string]any {
	var ps []any
	for _, k := range sortedKeys(c.params) {
		ps = append(ps, map[string]any{"name": k, "value": c.params[k]})
	}
	ev := map[string]any{"type": c.evType, "name": c.name}
	if len(ps) > 0 {
		ev["parameters"] = ps
	}
	return map[string]any{
		"kind": "admin#reports#activity", "etag": fmt.Sprintf("\"e%d\"", c.unique),
		"id":        map[string]any{"time": tsNano(c.t), "uniqueQualifier": fmt.Sprint(c.unique), "applicationName": c.app, "customerId": customerID},
		"actor":     map[string]any{"callerType": "USER", "email": c.actorEmail, "profileId": fmt.Sprintf("1%017d", c.unique%1e15)},
		"ipAddress": c.ip, "events": []any{ev},
	}
}

// ---- Kubernetes audit ----

type k8sCall struct {
	t                 time.Time
	user              string
	groups            []string
	extra             map[string]any
	impersonate       map[string]any
	verb              string
	resource, sub     string
	apiGroup, version string
	namespace, name   string
	code              int
	ip, ua, id        string
	body              map[string]any
	reason            string
	stage             string
	uri               string
}

func k8sAudit(c k8sCall) map[string]any {
	stage := c.stage
	if stage == "" {
		stage = "ResponseComplete"
	}
	user := map[string]any{"username": c.user, "groups": c.groups}
	if c.extra != nil {
		user["extra"] = c.extra
	}
	ver := c.version
	if ver == "" {
		ver = "v1"
	}
	obj := map[string]any{"resource": c.resource, "apiVersion": ver}
	if c.apiGroup != "" {
		obj["apiGroup"] = c.apiGroup
	}
	if c.namespace != "" {
		obj["namespace"] = c.namespace
	}
	if c.name != "" {
		obj["name"] = c.name
	}
	if c.sub != "" {
		obj["subresource"] = c.sub
	}
	uri := c.uri
	if uri == "" {
		base := "/api/v1"
		if c.apiGroup != "" {
			base = "/apis/" + c.apiGroup + "/" + ver
		}
		if c.namespace != "" {
			base += "/namespaces/" + c.namespace
		}
		uri = base + "/" + c.resource
		if c.name != "" {
			uri += "/" + c.name
		}
		if c.sub != "" {
			uri += "/" + c.sub
		}
	}
	decision := "allow"
	if c.code == 403 {
		decision = "forbid"
	}
	ann := map[string]any{"authorization.k8s.io/decision": decision}
	if c.reason != "" {
		ann["authorization.k8s.io/reason"] = c.reason
	}
	r := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": c.id, "stage": stage,
		"requestURI": uri, "verb": c.verb, "user": user, "sourceIPs": []any{c.ip}, "userAgent": c.ua, "objectRef": obj,
		"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": c.code},
		"requestReceivedTimestamp": tsNano(c.t.Add(-30 * time.Millisecond)), "stageTimestamp": tsNano(c.t), "annotations": ann,
	}
	if c.impersonate != nil {
		r["impersonatedUser"] = c.impersonate
	}
	if c.body != nil {
		r["requestObject"] = c.body
	}
	return r
}

// aksWrap wraps a Kubernetes audit event as an AKS diagnostic record.
func aksWrap(ev map[string]any, cluster string, t time.Time) map[string]any {
	b, _ := json.Marshal(ev)
	return map[string]any{
		"time": tsNano(t), "category": "kube-audit", "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
		"resourceId": "/SUBSCRIPTIONS/" + strings.ToUpper(prodSub) + "/RESOURCEGROUPS/APPS/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/" + strings.ToUpper(cluster),
		"properties": map[string]any{"log": string(b), "stream": "stdout", "pod": "kube-apiserver-7d8f9"},
	}
}

// podSpec is a pod (or pod template) spec.
func podSpec(image string, privileged bool, hostPath string, hostPID bool, sa string) map[string]any {
	ctr := map[string]any{"name": "main", "image": image}
	spec := map[string]any{"containers": []any{ctr}}
	if sa != "" {
		spec["serviceAccountName"] = sa
	}
	if privileged {
		ctr["securityContext"] = map[string]any{"privileged": true}
	}
	if hostPath != "" {
		ctr["volumeMounts"] = []any{map[string]any{"name": "host", "mountPath": "/host"}}
		spec["volumes"] = []any{map[string]any{"name": "host", "hostPath": map[string]any{"path": hostPath}}}
	}
	if hostPID {
		spec["hostPID"] = true
	}
	return spec
}
