package gen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// K8sAuditConfig sizes a synthetic Kubernetes (EKS) audit stream whose human
// and CI actors are the organisation's IAM users and roles.
type K8sAuditConfig struct {
	Events int
	// Rate is events per second of event time (default 1000): record i has
	// stageTimestamp Start + i/Rate.
	Rate float64
	// AttackEvery makes one event slot in AttackEvery start an attack,
	// cycling through K8sAttackKinds; default 100, negative: none. An
	// attack is one record or a sequence (its later records take later
	// slots; 5.5 records per attack on average), so about 5.5/AttackEvery
	// of the records belong to attacks.
	// Ignored when Mix is set.
	AttackEvery int
	// Mix, when not nil, gives the share of event slots that start each
	// attack kind (K8sAttackKinds); an empty, non-nil mix means no attacks.
	Mix AttackMix
	// ScenarioGap is the event time between the discovery and the
	// deployment of a "scenario" attack (default 5 minutes; R10 correlates
	// them within 2 hours).
	ScenarioGap time.Duration
	Start       time.Time
	Seed        uint64
	// Actors is the number of IAM users and roles mapped into the cluster
	// (EKS access entries), default 1000. On top: Actors/25 nodes (3 to
	// 200, authenticated as the organisation's first EC2 instance role), up
	// to 59 service accounts and 11 control-plane identities.
	Actors int
}

// Attack kinds of the Kubernetes stream, in AttackEvery order.
const (
	kaDiscovery = iota
	kaCanI
	kaForbidden
	kaDeploy
	kaJob
	kaPrivileged
	kaExec
	kaShortLived
	kaRBACGrant
	kaScenario
)

var k8sKinds = []string{"rbac-discovery", "can-i", "forbidden", "deploy", "job", "privileged", "exec", "short-lived", "rbac-grant", "scenario"}

// K8sAttackKinds lists the attack kinds an AttackMix may name for
// WriteK8sAudit (records per attack in brackets; the rule each exercises):
//
//   - rbac-discovery: list/get of clusterrolebindings, clusterroles,
//     rolebindings and roles across namespaces [12] (R01)
//   - can-i: `kubectl auth can-i` SelfSubjectAccessReview /
//     SelfSubjectRulesReview [1-3] (R03)
//   - forbidden: trial and error, 12 calls denied with 403 across
//     discovery, deploy, grant and token actions [12] (R03 denial ratio)
//   - deploy: a Deployment created by a user or service account, with the
//     controllers' ReplicaSet and Pod and the scheduler's binding [4] (R04)
//   - job: a Job with its controller-created Pod [3] (R04)
//   - privileged: a Pod (or a DaemonSet) with privileged, hostPID,
//     hostPath / or hostNetwork [2-5] (R08, R04)
//   - exec: `kubectl exec` into a running pod, ResponseStarted then
//     ResponseComplete [2] (R09)
//   - short-lived: a Pod created and deleted by the same principal within
//     a minute [4] (R04)
//   - rbac-grant: a ClusterRoleBinding of the caller to cluster-admin [1]
//   - scenario: RBAC discovery and a SelfSubjectRulesReview, then after
//     ScenarioGap a Deployment (half of them privileged) by the same
//     principal [13] (R10, R03, R04, R08)
func K8sAttackKinds() []string { return slices.Clone(k8sKinds) }

// Actor classes.
const (
	kcHuman = iota
	kcServiceAccount
	kcNode
	kcControl
)

// k8sActor is one authenticated identity, with its audit "user" object
// rendered once.
type k8sActor struct {
	class    uint8
	username string
	user     string // `"user":{...}`
	ua, ip   string
	reason   string // authorization.k8s.io/reason, JSON-escaped
	ns, name string // service accounts: namespace and name; nodes: node name
	// subject is the RBAC subject naming this actor (rbac-grant).
	subject string
}

type k8sRef struct {
	resource, namespace, name, apiGroup, subresource string
}

// k8sObj is a request object to render (kind "" = none).
type k8sObj struct {
	kind      string // Pod, Deployment, ReplicaSet, Job, DaemonSet, ClusterRoleBinding, SelfSubjectAccessReview, SelfSubjectRulesReview
	name, ns  string
	genName   string // metadata.generateName
	app       string
	image     string
	command   string // JSON array or ""
	privFlags uint8
	hostPath  string
	ownerKind string
	ownerName string
	ownerUID  [2]uint64
	sa        string
	hash      string // pod-template-hash
	restart   string // pod restartPolicy
	subject   string // ClusterRoleBinding subject (rendered JSON object)
	role      string
	review    string // SelfSubjectAccessReview resourceAttributes (rendered) or rules-review namespace
	uid       [2]uint64
}

// Pod spec flags (R08's privileged, hostPID, hostNetwork, hostPath).
const (
	pfPrivileged = 1 << iota
	pfHostPID
	pfHostNetwork
)

// k8sRec is one audit event; the slot it lands on gives its stageTimestamp.
type k8sRec struct {
	a        *k8sActor
	ua, ip   string // overrides of the actor's
	level    string
	stage    string
	verb     string
	uri      string // JSON-escaped
	ref      k8sRef
	hasRef   bool
	code     int
	obj      k8sObj
	id       [2]uint64 // auditID; zero: fresh
	received time.Time // zero: stage time - latency
	latency  time.Duration
}

// k8sGen holds the state of one WriteK8sAudit call.
type k8sGen struct {
	o      *Org
	c      K8sAuditConfig
	r      *rand.Rand
	acct   string
	humans []*k8sActor
	sas    []*k8sActor // all service accounts
	appSAs []*k8sActor // service accounts of application namespaces
	nodes  []*k8sActor
	ctl    map[string]*k8sActor
	nss    []string // namespaces with workloads
	q      followUps[k8sRec]
	step   time.Duration
}

const (
	k8sVersion   = "v1.30.4-eks-a737599"
	k8sCommit    = "a737599"
	controlIP    = "172.16.44.19"
	levelMeta    = "Metadata"
	levelReq     = "Request"
	levelReqResp = "RequestResponse"
	stageDone    = "ResponseComplete"
	stageStarted = "ResponseStarted"
	rbacGroup    = "rbac.authorization.k8s.io"
)

var kubectlAgents = []string{
	"kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
	"kubectl/v1.29.3 (darwin/arm64) kubernetes/6813625",
	"kubectl/v1.31.1 (darwin/arm64) kubernetes/948afe5",
	"kubectl/v1.30.4 (windows/amd64) kubernetes/a51b3b7",
}

// systemSAs are the cluster add-ons' service accounts (namespace, name,
// client binary).
var systemSAs = [][3]string{
	{"kube-system", "aws-node", "aws-vpc-cni"}, {"kube-system", "coredns", "coredns"}, {"kube-system", "kube-proxy", "kube-proxy"},
	{"kube-system", "ebs-csi-controller-sa", "csi-provisioner"}, {"kube-system", "cluster-autoscaler", "cluster-autoscaler"},
	{"kube-system", "aws-load-balancer-controller", "aws-load-balancer-controller"}, {"monitoring", "prometheus", "prometheus"},
	{"monitoring", "kube-state-metrics", "kube-state-metrics"}, {"monitoring", "grafana-agent", "grafana-agent"},
	{"argocd", "argocd-application-controller", "argocd-application-controller"}, {"cert-manager", "cert-manager", "cert-manager-controller"},
}

// controllers run in kube-controller-manager with their own service accounts.
var controllers = []string{"replicaset-controller", "deployment-controller", "job-controller", "daemonset-controller", "endpointslice-controller", "cronjob-controller", "generic-garbage-collector"}

// WriteK8sAudit writes c.Events Kubernetes audit events (audit.k8s.io/v1
// Event JSON lines, as the API server's log backend and EKS write them)
// for a cluster whose human and CI users are the organisation's IAM users
// and roles (EKS usernames, uid and extra.canonicalArn), plus service
// accounts, nodes and the control plane. The same organisation and config
// give the same bytes. It returns the bytes written.
func (o *Org) WriteK8sAudit(w io.Writer, c K8sAuditConfig) (int64, error) {
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.AttackEvery == 0 {
		c.AttackEvery = 100
	}
	if c.Actors <= 0 {
		c.Actors = 1000
	}
	if c.ScenarioGap <= 0 {
		c.ScenarioGap = 5 * time.Minute
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	c.Start = c.Start.UTC()
	ch, err := newChooser(k8sKinds, c.Mix, c.AttackEvery)
	if err != nil {
		return 0, fmt.Errorf("write k8s audit: %w", err)
	}
	g := &k8sGen{o: o, c: c, r: rand.New(rand.NewPCG(c.Seed, 0x6b38a0d1)), acct: o.Account(), step: eventStep(c.Rate)}
	g.q.step = g.step
	g.actors()
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countingWriter{w: bw}
	buf := make([]byte, 0, 8<<10)
	for i := 0; i < c.Events; i++ {
		t := c.Start.Add(time.Duration(i) * g.step)
		rec, ok := g.q.due(i)
		if k := ch.slot(g.r, i, !ok); !ok {
			if k >= 0 {
				rec = g.attack(i, k)
			} else {
				rec = g.benign()
			}
		}
		buf = g.appendRec(buf[:0], &rec, t)
		if _, err := cw.Write(buf); err != nil {
			return cw.n, fmt.Errorf("write k8s audit: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write k8s audit: %w", err)
	}
	return cw.n, nil
}

// ---- actors ----

func (g *k8sGen) uuid() [2]uint64 { return [2]uint64{g.r.Uint64(), g.r.Uint64()} }

func uuidString(id [2]uint64) string { return string(appendUUID(nil, id)) }

func (g *k8sGen) actors() {
	o, r, acct := g.o, g.r, g.acct
	// Namespaces: the add-ons' and one per team (at most 24).
	g.nss = []string{"default", "kube-system", "monitoring"}
	for t := 0; t < min(o.nTeams, 24); t++ {
		g.nss = append(g.nss, o.teamName(t))
	}
	// Nodes: two node groups sharing the EC2 instance role, if any.
	var nodeRole *Role
	for i := 0; i < min(o.cfg.Roles, 4000); i++ {
		if o.roleKind(i) == rkEC2 {
			role := o.Role(i)
			nodeRole = &role
			break
		}
	}
	for n := 0; n < max(3, min(200, g.c.Actors/25)); n++ {
		name := fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", 16+n/200, 10+n%200)
		a := &k8sActor{class: kcNode, username: "system:node:" + name, name: name,
			ua: "kubelet/" + k8sVersion + " (linux/amd64) kubernetes/" + k8sCommit, ip: fmt.Sprintf("10.0.%d.%d", 16+n/200, 10+n%200)}
		groups := `["system:bootstrappers","system:nodes","system:authenticated"]`
		if nodeRole != nil {
			inst := fmt.Sprintf("i-0%016x", r.Uint64())
			a.user = fmt.Sprintf(`"user":{"username":"%s","uid":"aws-iam-authenticator:%s:%s","groups":%s,"extra":{"accessKeyId":["%s"],"arn":["arn:aws:sts::%s:assumed-role/%s/%s"],"canonicalArn":["arn:aws:iam::%s:role/%s"],"principalId":["%s"],"sessionName":["%s"]}}`,
				a.username, acct, nodeRole.RoleID, groups, accessKey(r, "ASIA"), acct, nodeRole.RoleName, inst, acct, nodeRole.RoleName, nodeRole.RoleID, inst)
		} else {
			a.user = fmt.Sprintf(`"user":{"username":"%s","groups":%s}`, a.username, groups)
		}
		g.nodes = append(g.nodes, a)
	}
	// Humans and CI: EKS access entries of IAM users and roles.
	for i := 0; i < g.c.Actors; i++ {
		a := &k8sActor{class: kcHuman, ua: kubectlAgents[r.IntN(len(kubectlAgents))], ip: fmt.Sprintf("10.20.%d.%d", r.IntN(64), 1+r.IntN(254))}
		var extra string
		if i%4 == 3 && o.cfg.Roles > 0 {
			role := g.humanRole()
			session := "EKSGetTokenAuth"
			switch o.roleKind(role) {
			case rkSAML:
				session = o.User(r.IntN(o.cfg.Users)).UserName
			case rkOIDC:
				session = "GitHubActions"
				a.ua = "Helm/3.15.2"
			}
			rl := o.Role(role)
			a.username = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", acct, rl.RoleName, session)
			extra = fmt.Sprintf(`{"accessKeyId":["%s"],"arn":["%s"],"canonicalArn":["arn:aws:iam::%s:role/%s"],"principalId":["%s"],"sessionName":["%s"]}`,
				accessKey(r, "ASIA"), a.username, acct, rl.RoleName, rl.RoleID, session)
			a.user = fmt.Sprintf(`"user":{"username":"%s","uid":"aws-iam-authenticator:%s:%s","groups":["system:authenticated"],"extra":%s}`, a.username, acct, rl.RoleID, extra)
		} else {
			u := o.User(r.IntN(o.cfg.Users))
			a.username = u.Arn
			extra = fmt.Sprintf(`{"accessKeyId":["%s"],"arn":["%s"],"canonicalArn":["%s"],"principalId":["%s"],"sessionName":[""]}`,
				accessKey(r, "AKIA"), u.Arn, u.Arn, u.UserID)
			a.user = fmt.Sprintf(`"user":{"username":"%s","uid":"aws-iam-authenticator:%s:%s","groups":["system:authenticated"],"extra":%s}`, a.username, acct, u.UserID, extra)
		}
		a.reason = `RBAC: allowed by ClusterRoleBinding \"eks-access-entries\" of ClusterRole \"edit\" to User \"` + a.username + `\"`
		a.subject = `{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"` + a.username + `"}`
		g.humans = append(g.humans, a)
	}
	// Service accounts: the add-ons', and two per application namespace.
	for _, s := range systemSAs {
		g.sas = append(g.sas, g.serviceAccount(s[0], s[1], s[2]+"/v0.0.0 (linux/amd64) kubernetes/$Format"))
	}
	for _, ns := range g.nss[3:] {
		for j := 0; j < 2; j++ {
			name := apps[int(splitmix(uint64(len(g.sas)))%uint64(len(apps)))]
			if j == 1 {
				name = "default"
			}
			a := g.serviceAccount(ns, name, name+"/v0.0.0 (linux/amd64) kubernetes/$Format")
			g.sas = append(g.sas, a)
			g.appSAs = append(g.appSAs, a)
		}
	}
	// Control plane: scheduler, controller manager (leader election), API
	// server, and the controllers' service accounts.
	g.ctl = map[string]*k8sActor{}
	plain := func(key, user, ua string) {
		a := &k8sActor{class: kcControl, username: user, ua: ua, ip: controlIP,
			user:   `"user":{"username":"` + user + `","groups":["system:authenticated"]}`,
			reason: `RBAC: allowed by ClusterRoleBinding \"` + user + `\" of ClusterRole \"` + user + `\" to User \"` + user + `\"`}
		g.ctl[key] = a
	}
	kcm := "kube-controller-manager/" + k8sVersion + " (linux/amd64) kubernetes/" + k8sCommit
	plain("scheduler", "system:kube-scheduler", "kube-scheduler/"+k8sVersion+" (linux/amd64) kubernetes/"+k8sCommit+"/scheduler")
	plain("scheduler-lease", "system:kube-scheduler", "kube-scheduler/"+k8sVersion+" (linux/amd64) kubernetes/"+k8sCommit+"/leader-election")
	plain("kcm-lease", "system:kube-controller-manager", kcm+"/leader-election")
	plain("apiserver", "system:apiserver", "kube-apiserver/"+k8sVersion+" (linux/amd64) kubernetes/"+k8sCommit)
	for _, name := range controllers {
		a := g.serviceAccount("kube-system", name, kcm+"/system:serviceaccount:kube-system:"+name)
		a.class, a.ip = kcControl, controlIP
		a.user = `"user":{"username":"` + a.username + `","uid":"` + uuidString(g.uuid()) + `","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]}`
		a.reason = `RBAC: allowed by ClusterRoleBinding \"system:controller:` + name + `\" of ClusterRole \"system:controller:` + name + `\" to ServiceAccount \"` + name + `/kube-system\"`
		g.ctl[name] = a
	}
}

// humanRole picks a role people and pipelines use with kubectl (SSO,
// admin, deploy, jump, CI, workload roles), else any role.
func (g *k8sGen) humanRole() int {
	for range 16 {
		i := g.r.IntN(g.o.cfg.Roles)
		switch g.o.roleKind(i) {
		case rkSAML, rkAdmin, rkDeploy, rkProdDeploy, rkJump, rkOIDC, rkWorkload:
			return i
		}
	}
	return g.r.IntN(g.o.cfg.Roles)
}

// serviceAccount is a pod's bound service account token (1.30 extra keys).
func (g *k8sGen) serviceAccount(ns, name, ua string) *k8sActor {
	r := g.r
	node := g.nodes[r.IntN(len(g.nodes))]
	pod := podName(name, r.Uint64())
	a := &k8sActor{class: kcServiceAccount, username: "system:serviceaccount:" + ns + ":" + name, ns: ns, name: name, ua: ua,
		ip: fmt.Sprintf("10.0.%d.%d", 64+r.IntN(64), 1+r.IntN(254))}
	a.user = fmt.Sprintf(`"user":{"username":"%s","uid":"%s","groups":["system:serviceaccounts","system:serviceaccounts:%s","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["JTI=%s"],"authentication.kubernetes.io/node-name":["%s"],"authentication.kubernetes.io/node-uid":["%s"],"authentication.kubernetes.io/pod-name":["%s"],"authentication.kubernetes.io/pod-uid":["%s"]}}`,
		a.username, uuidString(g.uuid()), ns, uuidString(g.uuid()), node.name, uuidString(g.uuid()), pod, uuidString(g.uuid()))
	a.reason = `RBAC: allowed by RoleBinding \"` + name + `/` + ns + `\" of Role \"` + name + `\" to ServiceAccount \"` + name + `/` + ns + `\"`
	a.subject = `{"kind":"ServiceAccount","name":"` + name + `","namespace":"` + ns + `"}`
	return a
}

const podAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// podName is a ReplicaSet pod name: APP-<10-char template hash>-<5 chars>.
func podName(app string, h uint64) string {
	return app + "-" + templateHash(h) + "-" + suffix5(splitmix(h))
}

func templateHash(h uint64) string {
	b := make([]byte, 10)
	for i := range b {
		b[i] = podAlphabet[h%uint64(len(podAlphabet))]
		h /= uint64(len(podAlphabet))
	}
	return string(b)
}

func suffix5(h uint64) string {
	b := make([]byte, 5)
	for i := range b {
		b[i] = podAlphabet[h%uint64(len(podAlphabet))]
		h /= uint64(len(podAlphabet))
	}
	return string(b)
}

// accessKey is an AWS access key id with prefix (AKIA, ASIA).
func accessKey(r *rand.Rand, prefix string) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := []byte(prefix)
	for range 16 {
		b = append(b, alpha[r.IntN(len(alpha))])
	}
	return string(b)
}

// ---- benign traffic ----

// pod picks a running pod: its namespace, app and name (a few dozen per
// namespace, stable names).
func (g *k8sGen) pod() (ns, app, name string) {
	n := g.r.IntN(len(g.nss) * 40)
	ns = g.nss[n%len(g.nss)]
	h := splitmix(uint64(n) ^ g.c.Seed<<32)
	app = apps[h%uint64(len(apps))]
	return ns, app, podName(app, h)
}

func (g *k8sGen) ns() string { return g.nss[g.r.IntN(len(g.nss))] }

func nsPath(ns, resource string) string {
	return "/api/v1/namespaces/" + ns + "/" + resource
}

func groupPath(group, ns, resource string) string {
	if ns == "" {
		return "/apis/" + group + "/v1/" + resource
	}
	return "/apis/" + group + "/v1/namespaces/" + ns + "/" + resource
}

func (g *k8sGen) rv() string { return strconv.Itoa(10000000 + g.r.IntN(90000000)) }

// watchQuery is a client-go watch request's query (sel: a field
// selector, already escaped) and how long the watch stays open.
func (g *k8sGen) watchQuery(sel string) (string, time.Duration) {
	secs := 300 + g.r.IntN(300)
	q := `?allowWatchBookmarks=true\u0026`
	if sel != "" {
		q += "fieldSelector=" + sel + `\u0026`
	}
	q += "resourceVersion=" + g.rv() + `\u0026timeout=` + strconv.Itoa(secs/60) + "m" + strconv.Itoa(secs%60) + `s\u0026timeoutSeconds=` + strconv.Itoa(secs) + `\u0026watch=true`
	return q, time.Duration(secs) * time.Second
}

// benign is one routine request: kubelets 35%, control plane 20%, service
// accounts 25%, people and CI 20%.
func (g *k8sGen) benign() k8sRec {
	switch x := g.r.IntN(100); {
	case x < 35:
		return g.kubelet()
	case x < 55:
		return g.control()
	case x < 80:
		return g.saRead()
	}
	return g.human()
}

func k8sReq(a *k8sActor, verb, uri string, ref k8sRef, code int) k8sRec {
	return k8sRec{a: a, level: levelMeta, stage: stageDone, verb: verb, uri: uri, ref: ref, hasRef: ref.resource != "", code: code}
}

func (g *k8sGen) kubelet() k8sRec {
	a := g.nodes[g.r.IntN(len(g.nodes))]
	ns, _, pod := g.pod()
	switch x := g.r.IntN(100); {
	case x < 30:
		return k8sReq(a, "update", groupPath("coordination.k8s.io", "kube-node-lease", "leases/"+a.name)+"?timeout=10s",
			k8sRef{resource: "leases", namespace: "kube-node-lease", name: a.name, apiGroup: "coordination.k8s.io"}, 200)
	case x < 50:
		return k8sReq(a, "get", nsPath(ns, "pods/"+pod), k8sRef{resource: "pods", namespace: ns, name: pod}, 200)
	case x < 65:
		return k8sReq(a, "patch", nsPath(ns, "pods/"+pod+"/status"), k8sRef{resource: "pods", namespace: ns, name: pod, subresource: "status"}, 200)
	case x < 75:
		q, d := g.watchQuery("metadata.name%3Dkube-root-ca.crt")
		rc := k8sReq(a, "watch", nsPath(ns, "configmaps")+q, k8sRef{resource: "configmaps", namespace: ns}, 200)
		rc.latency = d
		return rc
	case x < 85:
		return k8sReq(a, "get", "/api/v1/nodes/"+a.name+"?resourceVersion=0\\u0026timeout=10s", k8sRef{resource: "nodes", name: a.name}, 200)
	case x < 93:
		return k8sReq(a, "patch", "/api/v1/nodes/"+a.name+"/status?timeout=10s", k8sRef{resource: "nodes", name: a.name, subresource: "status"}, 200)
	case x < 98:
		sa := g.sas[g.r.IntN(len(g.sas))]
		return k8sReq(a, "create", nsPath(sa.ns, "serviceaccounts/"+sa.name+"/token"), k8sRef{resource: "serviceaccounts", namespace: sa.ns, name: sa.name, subresource: "token"}, 201)
	}
	return k8sReq(a, "get", nsPath(ns, "secrets/registry-creds"), k8sRef{resource: "secrets", namespace: ns, name: "registry-creds"}, 200)
}

func (g *k8sGen) control() k8sRec {
	ns, app, pod := g.pod()
	rs := pod[:strings.LastIndexByte(pod, '-')]
	lease := func(key, name string) k8sRec {
		return k8sReq(g.ctl[key], "update", groupPath("coordination.k8s.io", "kube-system", "leases/"+name)+"?timeout=5s",
			k8sRef{resource: "leases", namespace: "kube-system", name: name, apiGroup: "coordination.k8s.io"}, 200)
	}
	switch x := g.r.IntN(100); {
	case x < 10:
		return lease("apiserver", "apiserver-"+templateHash(g.c.Seed)+templateHash(g.c.Seed+1))
	case x < 20:
		return lease("kcm-lease", "kube-controller-manager")
	case x < 30:
		return lease("scheduler-lease", "kube-scheduler")
	case x < 45:
		return k8sReq(g.ctl["scheduler"], "create", nsPath(ns, "pods/"+pod+"/binding"), k8sRef{resource: "pods", namespace: ns, name: pod, subresource: "binding"}, 201)
	case x < 60:
		return k8sReq(g.ctl["replicaset-controller"], "update", groupPath("apps", ns, "replicasets/"+rs+"/status"),
			k8sRef{resource: "replicasets", namespace: ns, name: rs, apiGroup: "apps", subresource: "status"}, 200)
	case x < 70:
		return k8sReq(g.ctl["deployment-controller"], "update", groupPath("apps", ns, "deployments/"+app+"/status"),
			k8sRef{resource: "deployments", namespace: ns, name: app, apiGroup: "apps", subresource: "status"}, 200)
	case x < 85:
		name := app + "-" + suffix5(g.r.Uint64())
		return k8sReq(g.ctl["endpointslice-controller"], "update", groupPath("discovery.k8s.io", ns, "endpointslices/"+name),
			k8sRef{resource: "endpointslices", namespace: ns, name: name, apiGroup: "discovery.k8s.io"}, 200)
	case x < 90:
		job := app + "-report-" + strconv.Itoa(29000000+g.r.IntN(9999))
		return k8sReq(g.ctl["job-controller"], "update", groupPath("batch", ns, "jobs/"+job+"/status"),
			k8sRef{resource: "jobs", namespace: ns, name: job, apiGroup: "batch", subresource: "status"}, 200)
	case x < 95:
		return k8sReq(g.ctl["replicaset-controller"], "create", nsPath(ns, "events"), k8sRef{resource: "events", namespace: ns}, 201)
	}
	// A ReplicaSet replacing a pod: the controller-created pod the deploy
	// rules skip (ownerReferences, kube-system controller).
	owner := g.uuid()
	return g.ownedPod(g.ctl["replicaset-controller"], ns, app, rs, "ReplicaSet", owner, "", 0, "")
}

// ownedPod is a controller creating a pod for its owner.
func (g *k8sGen) ownedPod(a *k8sActor, ns, app, owner, ownerKind string, ownerUID [2]uint64, image string, flags uint8, hostPath string) k8sRec {
	if image == "" {
		image = g.acct + ".dkr.ecr.us-east-1.amazonaws.com/" + app + ":" + templateHash(g.r.Uint64())[:7]
	}
	name := owner + "-" + suffix5(g.r.Uint64())
	restart := "Always"
	if ownerKind == "Job" {
		restart = "Never"
	}
	rc := k8sReq(a, "create", nsPath(ns, "pods"), k8sRef{resource: "pods", namespace: ns, name: name}, 201)
	rc.level = levelReqResp
	rc.obj = k8sObj{kind: "Pod", name: name, genName: owner + "-", ns: ns, app: app, image: image, privFlags: flags, hostPath: hostPath,
		ownerKind: ownerKind, ownerName: owner, ownerUID: ownerUID, restart: restart, uid: g.uuid()}
	return rc
}

func (g *k8sGen) saRead() k8sRec {
	a := g.sas[g.r.IntN(len(g.sas))]
	ns := a.ns
	switch x := g.r.IntN(100); {
	case x < 25:
		q, d := g.watchQuery("")
		rc := k8sReq(a, "watch", "/api/v1/pods"+q, k8sRef{resource: "pods"}, 200)
		rc.latency = d
		return rc
	case x < 40:
		return k8sReq(a, "list", nsPath(ns, "pods")+"?limit=500", k8sRef{resource: "pods", namespace: ns}, 200)
	case x < 55:
		return k8sReq(a, "get", nsPath(ns, "configmaps/"+a.name+"-config"), k8sRef{resource: "configmaps", namespace: ns, name: a.name + "-config"}, 200)
	case x < 70:
		return k8sReq(a, "update", groupPath("coordination.k8s.io", ns, "leases/"+a.name+"-leader"),
			k8sRef{resource: "leases", namespace: ns, name: a.name + "-leader", apiGroup: "coordination.k8s.io"}, 200)
	case x < 80:
		return k8sReq(a, "list", "/api/v1/endpoints?limit=500\\u0026resourceVersion=0", k8sRef{resource: "endpoints"}, 200)
	case x < 90:
		return k8sReq(a, "create", nsPath(ns, "events"), k8sRef{resource: "events", namespace: ns}, 201)
	case x < 95:
		return k8sReq(a, "list", "/api/v1/nodes?limit=500\\u0026resourceVersion=0", k8sRef{resource: "nodes"}, 200)
	}
	return k8sReq(a, "get", nsPath(ns, "secrets/"+a.name+"-tls"), k8sRef{resource: "secrets", namespace: ns, name: a.name + "-tls"}, 200)
}

func (g *k8sGen) human() k8sRec {
	a := g.humans[g.r.IntN(len(g.humans))]
	ns, app, pod := g.pod()
	switch x := g.r.IntN(100); {
	case x < 25:
		return k8sReq(a, "list", nsPath(ns, "pods")+"?limit=500", k8sRef{resource: "pods", namespace: ns}, 200)
	case x < 40:
		return k8sReq(a, "get", nsPath(ns, "pods/"+pod), k8sRef{resource: "pods", namespace: ns, name: pod}, 200)
	case x < 50:
		return k8sReq(a, "list", groupPath("apps", ns, "deployments")+"?limit=500", k8sRef{resource: "deployments", namespace: ns, apiGroup: "apps"}, 200)
	case x < 60:
		return k8sReq(a, "get", nsPath(ns, "pods/"+pod+"/log")+"?container="+app+`\u0026tailLines=100`, k8sRef{resource: "pods", namespace: ns, name: pod, subresource: "log"}, 200)
	case x < 70:
		return k8sReq(a, "list", nsPath(ns, "events")+"?limit=500", k8sRef{resource: "events", namespace: ns}, 200)
	case x < 77:
		return k8sReq(a, "list", nsPath(ns, "configmaps")+"?limit=500", k8sRef{resource: "configmaps", namespace: ns}, 200)
	case x < 84:
		return k8sReq(a, "list", nsPath(ns, "services")+"?limit=500", k8sRef{resource: "services", namespace: ns}, 200)
	case x < 88:
		return k8sReq(a, "list", "/api/v1/namespaces?limit=500", k8sRef{resource: "namespaces"}, 200)
	case x < 92:
		return k8sReq(a, "list", "/api/v1/nodes?limit=500", k8sRef{resource: "nodes"}, 200)
	case x < 96:
		return k8sReq(a, "get", "/api?timeout=32s", k8sRef{}, 200)
	}
	return k8sReq(a, "get", "/apis?timeout=32s", k8sRef{}, 200)
}
