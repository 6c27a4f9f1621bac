package gen

import (
	"strconv"
	"strings"
	"time"
)

// attacker is a principal whose credentials are abused, with the client
// and address the attack comes from.
type attacker struct {
	a      *k8sActor
	ua, ip string
}

// step is one record of an attack, d after its start.
type step struct {
	d  time.Duration
	rc k8sRec
}

var (
	attackNames  = []string{"metrics-sidecar", "debug", "node-helper", "kube-proxy-upgrade", "system-monitor", "log-shipper", "backup-agent", "tmp-runner"}
	attackImages = []string{"docker.io/library/alpine:3.19", "docker.io/library/busybox:1.36", "docker.io/library/ubuntu:22.04",
		"docker.io/bitnami/kubectl:latest", "docker.io/xmrig/xmrig:6.21.0", "ghcr.io/kube-tools/netshoot:v0.12"}
	attackCommands = []string{
		`["sh","-c","curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/"]`,
		`["sh","-c","sleep 3600"]`,
		`["nsenter","--target","1","--mount","--uts","--ipc","--net","--pid","--","bash"]`,
		`["sh","-c","cat /host/etc/shadow; sleep 600"]`,
		`["xmrig","-o","pool.example.net:3333","--tls"]`,
	}
	// execQueries are kubectl exec query strings (url.Values order).
	execQueries = []string{
		`command=sh\u0026command=-c\u0026command=cat%20%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken\u0026container=%s\u0026stderr=true\u0026stdout=true`,
		`command=%2Fbin%2Fsh\u0026container=%s\u0026stdin=true\u0026stdout=true\u0026tty=true`,
		`command=bash\u0026container=%s\u0026stdin=true\u0026stdout=true\u0026tty=true`,
		`command=env\u0026container=%s\u0026stderr=true\u0026stdout=true`,
	}
	clusterRoles = []string{"cluster-admin", "admin", "edit", "view", "system:aggregate-to-edit", "system:controller:replicaset-controller", "eks:addon-manager"}
)

// slotTime is the stageTimestamp of slot i.
func (g *k8sGen) slotTime(i int) time.Time { return g.c.Start.Add(time.Duration(i) * g.step) }

func (g *k8sGen) attacker() attacker {
	if g.r.IntN(4) < 3 || len(g.appSAs) == 0 {
		a := g.humans[g.r.IntN(len(g.humans))]
		return attacker{a: a, ua: a.ua, ip: "198.51.100." + strconv.Itoa(1+g.r.IntN(254))}
	}
	a := g.appSAs[g.r.IntN(len(g.appSAs))]
	ua := "kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62"
	if g.r.IntN(2) == 0 {
		ua = "curl/8.5.0"
	}
	return attacker{a: a, ua: ua, ip: a.ip}
}

// by is a request of the attacker.
func (at attacker) by(verb, uri string, ref k8sRef, code int) k8sRec {
	rc := k8sReq(at.a, verb, uri, ref, code)
	rc.ua, rc.ip = at.ua, at.ip
	return rc
}

// attack starts an attack of kind k at slot i: it returns the first record
// and schedules the others.
func (g *k8sGen) attack(i, k int) k8sRec {
	at := g.attacker()
	var steps []step
	switch k {
	case kaDiscovery:
		steps = g.spread(g.rbacDiscovery(at, 12), 300*time.Millisecond, 3*time.Second)
	case kaCanI:
		steps = g.spread(g.canI(at, 1+g.r.IntN(3)), time.Second, 4*time.Second)
	case kaForbidden:
		steps = g.spread(g.forbidden(at), 500*time.Millisecond, 4*time.Second)
	case kaDeploy:
		steps = g.deploy(at, "Deployment", 0, "")
	case kaJob:
		steps = g.deploy(at, "Job", 0, "")
	case kaPrivileged:
		switch v := g.r.IntN(5); v {
		case 0:
			steps = g.deploy(at, "Pod", pfPrivileged, "")
		case 1:
			steps = g.deploy(at, "Pod", pfPrivileged|pfHostPID, "")
		case 2:
			steps = g.deploy(at, "Pod", 0, "/")
		case 3:
			steps = g.deploy(at, "Pod", pfHostNetwork, "")
		default:
			steps = g.deploy(at, "DaemonSet", pfPrivileged, "/var/run")
		}
	case kaExec:
		steps = g.exec(at, i)
	case kaShortLived:
		steps = g.shortLived(at)
	case kaRBACGrant:
		name := attackNames[g.r.IntN(len(attackNames))] + "-" + suffix5(g.r.Uint64())
		rc := at.by("create", groupPath(rbacGroup, "", "clusterrolebindings"), k8sRef{resource: "clusterrolebindings", name: name, apiGroup: rbacGroup}, 201)
		rc.level = levelReqResp
		rc.obj = k8sObj{kind: "ClusterRoleBinding", name: name, subject: at.a.subject, role: "cluster-admin", uid: g.uuid()}
		steps = []step{{rc: rc}}
	default: // kaScenario
		disc := append(g.rbacDiscovery(at, 8), g.canI(at, 1)...)
		steps = g.spread(disc, 500*time.Millisecond, 4*time.Second)
		var flags uint8
		if g.r.IntN(2) == 0 {
			flags = pfPrivileged
		}
		gap := g.c.ScenarioGap + jitter(g.r, 0, g.c.ScenarioGap/5+time.Second)
		for _, s := range g.deploy(at, "Deployment", flags, "") {
			s.d += gap
			steps = append(steps, s)
		}
	}
	for _, s := range steps[1:] {
		g.q.after(i, s.d, s.rc)
	}
	return steps[0].rc
}

// spread turns calls into steps lo..hi apart.
func (g *k8sGen) spread(calls []k8sRec, lo, hi time.Duration) []step {
	out := make([]step, len(calls))
	var d time.Duration
	for j, rc := range calls {
		if j > 0 {
			d += jitter(g.r, lo, hi)
		}
		out[j] = step{d: d, rc: rc}
	}
	return out
}

// rbacDiscovery is `kubectl get clusterrolebindings,clusterroles`, then
// describes of cluster roles and bindings and role bindings across
// namespaces: n calls on n distinct targets.
func (g *k8sGen) rbacDiscovery(at attacker, n int) []k8sRec {
	out := []k8sRec{
		at.by("list", groupPath(rbacGroup, "", "clusterrolebindings")+"?limit=500", k8sRef{resource: "clusterrolebindings", apiGroup: rbacGroup}, 200),
		at.by("list", groupPath(rbacGroup, "", "clusterroles")+"?limit=500", k8sRef{resource: "clusterroles", apiGroup: rbacGroup}, 200),
	}
	off := g.r.IntN(len(g.nss) * len(clusterRoles))
	for j := 0; len(out) < n; j++ {
		role := clusterRoles[(off+j)%len(clusterRoles)]
		ns := g.nss[(off+j)%len(g.nss)]
		switch j % 4 {
		case 0:
			out = append(out, at.by("get", groupPath(rbacGroup, "", "clusterroles/"+role), k8sRef{resource: "clusterroles", name: role, apiGroup: rbacGroup}, 200))
		case 1:
			out = append(out, at.by("list", groupPath(rbacGroup, ns, "rolebindings")+"?limit=500", k8sRef{resource: "rolebindings", namespace: ns, apiGroup: rbacGroup}, 200))
		case 2:
			out = append(out, at.by("get", groupPath(rbacGroup, "", "clusterrolebindings/"+role), k8sRef{resource: "clusterrolebindings", name: role, apiGroup: rbacGroup}, 200))
		default:
			out = append(out, at.by("list", groupPath(rbacGroup, ns, "roles")+"?limit=500", k8sRef{resource: "roles", namespace: ns, apiGroup: rbacGroup}, 200))
		}
	}
	return out[:n]
}

// canI is `kubectl auth can-i`: access reviews of pods and of everything,
// and the rules review of --list.
func (g *k8sGen) canI(at attacker, n int) []k8sRec {
	ns := g.ns()
	var out []k8sRec
	for j := 0; j < n; j++ {
		var rc k8sRec
		switch (j + g.r.IntN(3)) % 3 {
		case 0:
			rc = at.by("create", groupPath("authorization.k8s.io", "", "selfsubjectrulesreviews"), k8sRef{resource: "selfsubjectrulesreviews", apiGroup: "authorization.k8s.io"}, 201)
			rc.obj = k8sObj{kind: "SelfSubjectRulesReview", review: ns}
		case 1:
			rc = at.by("create", groupPath("authorization.k8s.io", "", "selfsubjectaccessreviews"), k8sRef{resource: "selfsubjectaccessreviews", apiGroup: "authorization.k8s.io"}, 201)
			rc.obj = k8sObj{kind: "SelfSubjectAccessReview", review: `{"namespace":"` + ns + `","verb":"create","resource":"pods"}`}
		default:
			rc = at.by("create", groupPath("authorization.k8s.io", "", "selfsubjectaccessreviews"), k8sRef{resource: "selfsubjectaccessreviews", apiGroup: "authorization.k8s.io"}, 201)
			rc.obj = k8sObj{kind: "SelfSubjectAccessReview", review: `{"verb":"*","resource":"*"}`}
		}
		rc.level = levelReq
		out = append(out, rc)
	}
	return out
}

// forbidden is trial and error: 12 requests RBAC denies, over RBAC reads,
// workload creates, bindings, tokens and secrets.
func (g *k8sGen) forbidden(at attacker) []k8sRec {
	ns, ns2 := g.ns(), g.ns()
	f := func(verb, uri string, ref k8sRef) k8sRec { return at.by(verb, uri, ref, 403) }
	return []k8sRec{
		f("list", groupPath(rbacGroup, "", "clusterrolebindings")+"?limit=500", k8sRef{resource: "clusterrolebindings", apiGroup: rbacGroup}),
		f("create", nsPath(ns, "pods")+"?fieldManager=kubectl-run", k8sRef{resource: "pods", namespace: ns}),
		f("list", nsPath("kube-system", "secrets")+"?limit=500", k8sRef{resource: "secrets", namespace: "kube-system"}),
		f("create", groupPath("apps", ns, "deployments")+"?fieldManager=kubectl-create\\u0026fieldValidation=Strict", k8sRef{resource: "deployments", namespace: ns, apiGroup: "apps"}),
		f("create", groupPath(rbacGroup, "", "clusterrolebindings")+"?fieldManager=kubectl-create\\u0026fieldValidation=Strict", k8sRef{resource: "clusterrolebindings", apiGroup: rbacGroup}),
		f("list", groupPath(rbacGroup, "kube-system", "roles")+"?limit=500", k8sRef{resource: "roles", namespace: "kube-system", apiGroup: rbacGroup}),
		f("create", groupPath("apps", "kube-system", "daemonsets")+"?fieldManager=kubectl-client-side-apply\\u0026fieldValidation=Strict", k8sRef{resource: "daemonsets", namespace: "kube-system", apiGroup: "apps"}),
		f("create", nsPath("kube-system", "serviceaccounts/default/token"), k8sRef{resource: "serviceaccounts", namespace: "kube-system", name: "default", subresource: "token"}),
		f("create", groupPath("batch", ns2, "jobs")+"?fieldManager=kubectl-create\\u0026fieldValidation=Strict", k8sRef{resource: "jobs", namespace: ns2, apiGroup: "batch"}),
		f("get", groupPath(rbacGroup, "", "clusterroles/cluster-admin"), k8sRef{resource: "clusterroles", name: "cluster-admin", apiGroup: rbacGroup}),
		f("create", nsPath(ns2, "pods")+"?fieldManager=kubectl-run", k8sRef{resource: "pods", namespace: ns2}),
		f("list", groupPath(rbacGroup, ns2, "rolebindings")+"?limit=500", k8sRef{resource: "rolebindings", namespace: ns2, apiGroup: rbacGroup}),
	}
}

// deploy creates a workload of kind (Deployment, Job, DaemonSet, Pod) in
// an application namespace (a DaemonSet in kube-system), followed by what
// the controllers and the scheduler do with it.
func (g *k8sGen) deploy(at attacker, kind string, flags uint8, hostPath string) []step {
	base := attackNames[g.r.IntN(len(attackNames))]
	name := base + "-" + suffix5(g.r.Uint64())
	ns := g.nss[3+g.r.IntN(len(g.nss)-3)]
	if kind == "DaemonSet" {
		ns = "kube-system"
	}
	obj := k8sObj{kind: kind, name: name, ns: ns, app: base, image: attackImages[g.r.IntN(len(attackImages))],
		command: attackCommands[g.r.IntN(len(attackCommands))], privFlags: flags, hostPath: hostPath, uid: g.uuid()}
	if at.a.class == kcServiceAccount {
		obj.sa = at.a.name
	}
	var uri, group, resource string
	switch kind {
	case "Pod":
		uri, resource = nsPath(ns, "pods")+"?fieldManager=kubectl-client-side-apply\\u0026fieldValidation=Strict", "pods"
	case "Job":
		obj.restart = "Never"
		uri, group, resource = groupPath("batch", ns, "jobs")+"?fieldManager=kubectl-create\\u0026fieldValidation=Strict", "batch", "jobs"
	case "DaemonSet":
		uri, group, resource = groupPath("apps", ns, "daemonsets")+"?fieldManager=kubectl-client-side-apply\\u0026fieldValidation=Strict", "apps", "daemonsets"
	default:
		uri, group, resource = groupPath("apps", ns, "deployments")+"?fieldManager=kubectl-create\\u0026fieldValidation=Strict", "apps", "deployments"
	}
	create := at.by("create", uri, k8sRef{resource: resource, namespace: ns, name: name, apiGroup: group}, 201)
	create.level = levelReqResp
	create.obj = obj
	steps := []step{{rc: create}}
	d := jitter(g.r, 300*time.Millisecond, 1500*time.Millisecond)
	bind := func(p k8sRec) {
		d += jitter(g.r, 50*time.Millisecond, 400*time.Millisecond)
		steps = append(steps, step{d: d, rc: k8sReq(g.ctl["scheduler"], "create", nsPath(ns, "pods/"+p.ref.name+"/binding"),
			k8sRef{resource: "pods", namespace: ns, name: p.ref.name, subresource: "binding"}, 201)})
	}
	switch kind {
	case "Pod":
		bind(create)
	case "Job":
		p := g.ownedPod(g.ctl["job-controller"], ns, base, name, "Job", obj.uid, obj.image, flags, hostPath)
		p.obj.command, p.obj.sa = obj.command, obj.sa
		steps = append(steps, step{d: d, rc: p})
		bind(p)
	case "DaemonSet":
		for n := 0; n < min(3, len(g.nodes)); n++ {
			p := g.ownedPod(g.ctl["daemonset-controller"], ns, base, name, "DaemonSet", obj.uid, obj.image, flags, hostPath)
			p.obj.command, p.obj.sa = obj.command, obj.sa
			steps = append(steps, step{d: d, rc: p})
			d += jitter(g.r, 10*time.Millisecond, 100*time.Millisecond)
		}
	default:
		hash := templateHash(g.r.Uint64())
		rsName := name + "-" + hash
		rs := k8sReq(g.ctl["deployment-controller"], "create", groupPath("apps", ns, "replicasets"), k8sRef{resource: "replicasets", namespace: ns, name: rsName, apiGroup: "apps"}, 201)
		rs.level = levelReqResp
		rs.obj = obj
		rs.obj.kind, rs.obj.name, rs.obj.hash, rs.obj.uid = "ReplicaSet", rsName, hash, g.uuid()
		rs.obj.ownerKind, rs.obj.ownerName, rs.obj.ownerUID = "Deployment", name, obj.uid
		steps = append(steps, step{d: d, rc: rs})
		d += jitter(g.r, 500*time.Millisecond, 1500*time.Millisecond)
		p := g.ownedPod(g.ctl["replicaset-controller"], ns, base, rsName, "ReplicaSet", rs.obj.uid, obj.image, flags, hostPath)
		p.obj.command, p.obj.sa, p.obj.hash = obj.command, obj.sa, hash
		steps = append(steps, step{d: d, rc: p})
		bind(p)
	}
	return steps
}

// exec is `kubectl exec` into a running pod: the ResponseStarted record
// (101, the one the rules judge) and the ResponseComplete record when the
// session ends, with the same auditID and request time.
func (g *k8sGen) exec(at attacker, i int) []step {
	ns, app, pod := g.pod()
	q := strings.Replace(execQueries[g.r.IntN(len(execQueries))], "%s", app, 1)
	uri := nsPath(ns, "pods/"+pod+"/exec") + "?" + q
	verb := "create"
	if g.r.IntN(10) < 3 {
		verb = "get" // kubectl >= 1.30 (WebSocket)
	}
	started := at.by(verb, uri, k8sRef{resource: "pods", namespace: ns, name: pod, subresource: "exec"}, 101)
	started.stage = stageStarted
	started.id = g.uuid()
	started.received = g.slotTime(i).Add(-time.Duration(5+g.r.IntN(40)) * time.Millisecond)
	done := started
	done.stage = stageDone
	return []step{{rc: started}, {d: jitter(g.r, 5*time.Second, 90*time.Second), rc: done}}
}

// shortLived is a pod created, scheduled, started and deleted by its
// creator within a minute.
func (g *k8sGen) shortLived(at attacker) []step {
	steps := g.deploy(at, "Pod", 0, "")
	create := steps[0].rc
	ns, name := create.ref.namespace, create.ref.name
	node := g.nodes[g.r.IntN(len(g.nodes))]
	d := steps[len(steps)-1].d + jitter(g.r, 2*time.Second, 6*time.Second)
	steps = append(steps, step{d: d, rc: k8sReq(node, "patch", nsPath(ns, "pods/"+name+"/status"), k8sRef{resource: "pods", namespace: ns, name: name, subresource: "status"}, 200)})
	d += jitter(g.r, 10*time.Second, 45*time.Second)
	steps = append(steps, step{d: d, rc: at.by("delete", nsPath(ns, "pods/"+name), k8sRef{resource: "pods", namespace: ns, name: name}, 200)})
	return steps
}
