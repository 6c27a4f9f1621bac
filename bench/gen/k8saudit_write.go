package gen

import (
	"strconv"
	"time"
)

// Rendering of audit events in the log backend's layout: the fields of
// audit.k8s.io/v1 Event in struct order, empty ones omitted, HTML
// characters escaped as encoding/json does (& is \u0026 in request URIs),
// timestamps in RFC 3339 with microseconds.

const microLayout = "2006-01-02T15:04:05.000000Z07:00"

func appendUUID(b []byte, id [2]uint64) []byte {
	const hex = "0123456789abcdef"
	hi, lo := id[0], id[1]
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	var s [36]byte
	j := 0
	for k := 0; k < 16; k++ {
		if k == 4 || k == 6 || k == 8 || k == 10 {
			s[j] = '-'
			j++
		}
		var x byte
		if k < 8 {
			x = byte(hi >> (56 - 8*k))
		} else {
			x = byte(lo >> (56 - 8*(k-8)))
		}
		s[j], s[j+1] = hex[x>>4], hex[x&0xf]
		j += 2
	}
	return append(b, s[:]...)
}

func appendStr(b []byte, key, v string) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, v...)
	return append(b, '"')
}

// appendRec renders rc as one JSON line with stageTimestamp t.
func (g *k8sGen) appendRec(b []byte, rc *k8sRec, t time.Time) []byte {
	a := rc.a
	id := rc.id
	if id == ([2]uint64{}) {
		id = g.uuid()
	}
	b = append(b, `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"`...)
	b = append(b, rc.level...)
	b = append(b, `","auditID":"`...)
	b = appendUUID(b, id)
	b = append(b, '"')
	b = appendStr(b, "stage", rc.stage)
	b = appendStr(b, "requestURI", rc.uri)
	b = appendStr(b, "verb", rc.verb)
	b = append(b, ',')
	b = append(b, a.user...)
	ip, ua := rc.ip, rc.ua
	if ip == "" {
		ip = a.ip
	}
	if ua == "" {
		ua = a.ua
	}
	b = append(b, `,"sourceIPs":["`...)
	b = append(b, ip...)
	b = append(b, `"]`...)
	b = appendStr(b, "userAgent", ua)
	if rc.hasRef {
		r := &rc.ref
		b = append(b, `,"objectRef":{"resource":"`...)
		b = append(b, r.resource...)
		b = append(b, '"')
		if r.namespace != "" {
			b = appendStr(b, "namespace", r.namespace)
		}
		if r.name != "" {
			b = appendStr(b, "name", r.name)
		}
		if r.apiGroup != "" {
			b = appendStr(b, "apiGroup", r.apiGroup)
		}
		b = append(b, `,"apiVersion":"v1"`...)
		if r.subresource != "" {
			b = appendStr(b, "subresource", r.subresource)
		}
		b = append(b, '}')
	}
	b = append(b, `,"responseStatus":{"metadata":{},`...)
	if rc.code == 403 {
		b = appendForbidden(b, rc)
	}
	b = append(b, `"code":`...)
	b = strconv.AppendInt(b, int64(rc.code), 10)
	b = append(b, '}')
	if rc.obj.kind != "" && rc.level != levelMeta {
		b = append(b, `,"requestObject":`...)
		b = g.appendObj(b, &rc.obj, false, t)
		if rc.level == levelReqResp && rc.code < 300 {
			b = append(b, `,"responseObject":`...)
			b = g.appendObj(b, &rc.obj, true, t)
		}
	}
	received := rc.received
	if received.IsZero() {
		lat := rc.latency
		if lat == 0 {
			lat = 300*time.Microsecond + time.Duration(g.r.IntN(12000))*time.Microsecond
		}
		received = t.Add(-lat)
	}
	b = append(b, `,"requestReceivedTimestamp":"`...)
	b = received.AppendFormat(b, microLayout)
	b = append(b, `","stageTimestamp":"`...)
	b = t.AppendFormat(b, microLayout)
	if rc.code == 403 {
		b = append(b, `","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""`...)
	} else {
		b = append(b, `","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"`...)
		b = append(b, a.reason...)
		b = append(b, '"')
		if rc.obj.kind == "Pod" && rc.verb == "create" {
			b = append(b, `,"pod-security.kubernetes.io/enforce-policy":"privileged:latest"`...)
		}
	}
	return append(b, "}}\n"...)
}

// appendForbidden renders the Status of a 403 (RBAC's message).
func appendForbidden(b []byte, rc *k8sRec) []byte {
	r := &rc.ref
	res := r.resource
	if r.subresource != "" {
		res += "/" + r.subresource
	}
	qual := r.resource
	if r.apiGroup != "" {
		qual += "." + r.apiGroup
	}
	b = append(b, `"status":"Failure","message":"`...)
	b = append(b, qual...)
	if r.name != "" {
		b = append(b, ` \"`...)
		b = append(b, r.name...)
		b = append(b, `\"`...)
	}
	b = append(b, ` is forbidden: User \"`...)
	b = append(b, rc.a.username...)
	b = append(b, `\" cannot `...)
	b = append(b, rc.verb...)
	b = append(b, ` resource \"`...)
	b = append(b, res...)
	b = append(b, `\" in API group \"`...)
	b = append(b, r.apiGroup...)
	if r.namespace != "" {
		b = append(b, `\" in the namespace \"`...)
		b = append(b, r.namespace...)
		b = append(b, `\""`...)
	} else {
		b = append(b, `\" at the cluster scope"`...)
	}
	b = append(b, `,"reason":"Forbidden","details":{`...)
	if r.name != "" {
		b = append(b, `"name":"`...)
		b = append(b, r.name...)
		b = append(b, `",`...)
	}
	if r.apiGroup != "" {
		b = append(b, `"group":"`...)
		b = append(b, r.apiGroup...)
		b = append(b, `",`...)
	}
	b = append(b, `"kind":"`...)
	b = append(b, r.resource...)
	return append(b, `"},`...)
}

// appendMeta renders ObjectMeta: the request's (creationTimestamp null,
// generateName without name) or the created object's.
func (g *k8sGen) appendMeta(b []byte, o *k8sObj, resp bool, t time.Time, labels bool) []byte {
	b = append(b, `"metadata":{`...)
	sep := ""
	if o.name != "" && (resp || o.genName == "") {
		b = append(b, `"name":"`...)
		b = append(b, o.name...)
		b = append(b, '"')
		sep = ","
	}
	if o.genName != "" {
		b = append(b, sep...)
		b = append(b, `"generateName":"`...)
		b = append(b, o.genName...)
		b = append(b, '"')
		sep = ","
	}
	if o.ns != "" {
		b = append(b, sep...)
		b = append(b, `"namespace":"`...)
		b = append(b, o.ns...)
		b = append(b, '"')
		sep = ","
	}
	b = append(b, sep...)
	if resp {
		b = append(b, `"uid":"`...)
		b = appendUUID(b, o.uid)
		b = append(b, `","resourceVersion":"`...)
		b = strconv.AppendInt(b, 10000000+int64(o.uid[0]%90000000), 10)
		b = append(b, `","creationTimestamp":"`...)
		b = t.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '"')
	} else {
		b = append(b, `"creationTimestamp":null`...)
	}
	if labels && o.app != "" {
		b = append(b, `,"labels":{"app":"`...)
		b = append(b, o.app...)
		if o.hash != "" {
			b = append(b, `","pod-template-hash":"`...)
			b = append(b, o.hash...)
		}
		b = append(b, `"}`...)
	}
	if o.kind == "ReplicaSet" {
		b = append(b, `,"annotations":{"deployment.kubernetes.io/desired-replicas":"1","deployment.kubernetes.io/max-replicas":"2","deployment.kubernetes.io/revision":"1"}`...)
	}
	if o.ownerKind != "" {
		apiVersion := "apps/v1"
		if o.ownerKind == "Job" {
			apiVersion = "batch/v1"
		}
		b = append(b, `,"ownerReferences":[{"apiVersion":"`...)
		b = append(b, apiVersion...)
		b = append(b, `","kind":"`...)
		b = append(b, o.ownerKind...)
		b = append(b, `","name":"`...)
		b = append(b, o.ownerName...)
		b = append(b, `","uid":"`...)
		b = appendUUID(b, o.ownerUID)
		b = append(b, `","controller":true,"blockOwnerDeletion":true}]`...)
	}
	return append(b, '}')
}

// appendPodSpec renders a defaulted PodSpec (fields in struct order).
func appendPodSpec(b []byte, o *k8sObj) []byte {
	b = append(b, '{')
	if o.hostPath != "" {
		b = append(b, `"volumes":[{"name":"host","hostPath":{"path":"`...)
		b = append(b, o.hostPath...)
		b = append(b, `","type":""}}],`...)
	}
	b = append(b, `"containers":[{"name":"`...)
	b = append(b, o.app...)
	b = append(b, `","image":"`...)
	b = append(b, o.image...)
	b = append(b, '"')
	if o.command != "" {
		b = append(b, `,"command":`...)
		b = append(b, o.command...)
	}
	b = append(b, `,"resources":{}`...)
	if o.hostPath != "" {
		b = append(b, `,"volumeMounts":[{"name":"host","mountPath":"/host"}]`...)
	}
	b = append(b, `,"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"`...)
	if o.privFlags&pfPrivileged != 0 {
		b = append(b, `,"securityContext":{"privileged":true}`...)
	}
	restart := o.restart
	if restart == "" {
		restart = "Always"
	}
	b = append(b, `}],"restartPolicy":"`...)
	b = append(b, restart...)
	b = append(b, `","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst"`...)
	if o.sa != "" {
		b = appendStr(b, "serviceAccountName", o.sa)
		b = appendStr(b, "serviceAccount", o.sa)
	}
	if o.privFlags&pfHostNetwork != 0 {
		b = append(b, `,"hostNetwork":true`...)
	}
	if o.privFlags&pfHostPID != 0 {
		b = append(b, `,"hostPID":true`...)
	}
	return append(b, `,"securityContext":{},"schedulerName":"default-scheduler","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"}`...)
}

// appendTemplate renders a workload's pod template.
func appendTemplate(b []byte, o *k8sObj) []byte {
	b = append(b, `"template":{"metadata":{"creationTimestamp":null`...)
	if o.app != "" {
		b = append(b, `,"labels":{"app":"`...)
		b = append(b, o.app...)
		if o.hash != "" {
			b = append(b, `","pod-template-hash":"`...)
			b = append(b, o.hash...)
		}
		b = append(b, `"}`...)
	}
	b = append(b, `},"spec":`...)
	b = appendPodSpec(b, o)
	return append(b, '}')
}

// appendObj renders a request object, or with resp the created object as
// the response carries it.
func (g *k8sGen) appendObj(b []byte, o *k8sObj, resp bool, t time.Time) []byte {
	b = append(b, `{"kind":"`...)
	b = append(b, o.kind...)
	b = append(b, `","apiVersion":"`...)
	switch o.kind {
	case "Pod":
		b = append(b, `v1",`...)
		b = g.appendMeta(b, o, resp, t, true)
		b = append(b, `,"spec":`...)
		b = appendPodSpec(b, o)
		if resp {
			return append(b, `,"status":{"phase":"Pending","qosClass":"BestEffort"}}`...)
		}
		return append(b, `,"status":{}}`...)
	case "Deployment":
		b = append(b, `apps/v1",`...)
		b = g.appendMeta(b, o, resp, t, true)
		b = append(b, `,"spec":{"replicas":1,"selector":{"matchLabels":{"app":"`...)
		b = append(b, o.app...)
		b = append(b, `"}},`...)
		b = appendTemplate(b, o)
		return append(b, `,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}},"revisionHistoryLimit":10,"progressDeadlineSeconds":600},"status":{}}`...)
	case "ReplicaSet":
		b = append(b, `apps/v1",`...)
		b = g.appendMeta(b, o, resp, t, true)
		b = append(b, `,"spec":{"replicas":1,"selector":{"matchLabels":{"app":"`...)
		b = append(b, o.app...)
		b = append(b, `","pod-template-hash":"`...)
		b = append(b, o.hash...)
		b = append(b, `"}},`...)
		b = appendTemplate(b, o)
		return append(b, `},"status":{"replicas":0}}`...)
	case "DaemonSet":
		b = append(b, `apps/v1",`...)
		b = g.appendMeta(b, o, resp, t, true)
		b = append(b, `,"spec":{"selector":{"matchLabels":{"app":"`...)
		b = append(b, o.app...)
		b = append(b, `"}},`...)
		b = appendTemplate(b, o)
		return append(b, `,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}},"revisionHistoryLimit":10},"status":{"currentNumberScheduled":0,"numberMisscheduled":0,"desiredNumberScheduled":0,"numberReady":0}}`...)
	case "Job":
		b = append(b, `batch/v1",`...)
		b = g.appendMeta(b, o, resp, t, true)
		b = append(b, `,"spec":{"parallelism":1,"completions":1,"backoffLimit":6,`...)
		b = appendTemplate(b, o)
		return append(b, `,"completionMode":"NonIndexed","suspend":false},"status":{}}`...)
	case "ClusterRoleBinding":
		b = append(b, `rbac.authorization.k8s.io/v1",`...)
		b = g.appendMeta(b, o, resp, t, false)
		b = append(b, `,"subjects":[`...)
		b = append(b, o.subject...)
		b = append(b, `],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"`...)
		b = append(b, o.role...)
		return append(b, `"}}`...)
	case "SelfSubjectAccessReview":
		b = append(b, `authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":`...)
		b = append(b, o.review...)
		return append(b, `},"status":{"allowed":false}}`...)
	default: // SelfSubjectRulesReview
		b = append(b, `authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"namespace":"`...)
		b = append(b, o.review...)
		return append(b, `"},"status":{"resourceRules":null,"nonResourceRules":null,"incomplete":false}}`...)
	}
}
