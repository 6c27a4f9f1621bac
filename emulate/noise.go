package emulate

import (
	"fmt"
	"time"
)

// noiseSize is how many background principals of each kind a scenario
// carries, and how often the Kubernetes controllers create pods.
type noiseSize struct {
	aws, azure, graph, gcp, workspace, nodes int
	podEvery                                 int // hours between controller-created pods
}

// fullNoise is the background of the 3-day scenarios (about 420
// principals).
func fullNoise() noiseSize {
	return noiseSize{aws: 150, azure: 50, graph: 80, gcp: 40, workspace: 80, nodes: 12, podEvery: 3}
}

// thinNoise is the background of the long baseline scenario: a few
// principals of each kind, so 16 days cost about as much as 3 full ones.
func thinNoise() noiseSize {
	return noiseSize{aws: 12, azure: 6, graph: 10, gcp: 6, workspace: 12, nodes: 2, podEvery: 6}
}

// noise adds background activity over the scenario window: principals
// across the clouds doing ordinary work (reads of data, VM starts,
// sign-ins, controllers and kubelets), plus the sample organisation's own
// routine deployers. None of it may alert.
func noise(b *builder) {
	hours := int(b.to.Sub(b.from) / time.Hour)
	ip := func(n int) string { return fmt.Sprintf("10.%d.%d.%d", 20+n%5, n%250, 1+n%200) }
	sz := b.size

	// AWS: workload and user sessions (150 in the full profile) outside the
	// IAM snapshot (other teams' roles in the same account, not collected by
	// the sample).
	awsCalls := []struct{ src, name string }{
		{"s3", "GetObject"}, {"s3", "PutObject"}, {"ec2", "DescribeInstances"}, {"kms", "Decrypt"},
		{"ssm", "GetParameter"}, {"logs", "CreateLogStream"}, {"ecs", "DescribeTasks"}, {"cloudwatch", "PutMetricData"},
		{"dynamodb", "GetItem"}, {"sqs", "ReceiveMessage"},
	}
	for p := 0; p < sz.aws; p++ {
		role := fmt.Sprintf("svc-%03d", p)
		who := roleSession(prodAcct, "", role, fmt.Sprintf("i-0%015x", b.rng.Uint64()>>4), fmt.Sprintf("ASIANOISE%06d", p))
		per := 2 + b.rng.IntN(6) // calls per active hour
		for h := 0; h < hours; h++ {
			if b.rng.IntN(3) != 0 {
				continue
			}
			for k := 0; k < per; k++ {
				c := awsCalls[b.rng.IntN(len(awsCalls))]
				t := b.from.Add(time.Duration(h)*time.Hour + b.jitter(time.Hour))
				errc := ""
				if b.rng.IntN(200) == 0 {
					errc = "AccessDenied"
				}
				b.add("cloudtrail", "", t, cloudTrail(ctCall{t: t, who: who, source: c.src, name: c.name,
					params:    map[string]any{"bucketName": fmt.Sprintf("data-%03d", p%40), "key": fmt.Sprintf("obj/%d", k)},
					errorCode: errc, ua: "aws-sdk-go-v2/1.30.1 os/linux lang/go#1.22", ip: ip(p), id: b.uuid()}))
			}
		}
	}
	// The sample's routine deployers: alice runs the app task each morning,
	// ci-bot updates app-* functions, erin audits a policy now and then.
	alice := iamUser(prodAcct, "eng/", "alice", "AKIAALICE")
	ciBot := iamUser(prodAcct, "automation/", "ci-bot", "AKIACIBOT")
	erin := iamUser(prodAcct, "audit/", "erin", "AKIAERIN")
	for d := 0; d < hours/24; d++ {
		day := b.from.Add(time.Duration(d) * 24 * time.Hour)
		t := day.Add(2*time.Hour + b.jitter(30*time.Minute))
		b.add("cloudtrail", "", t, cloudTrail(ctCall{t: t, who: alice, source: "ecs", name: "RunTask",
			params: map[string]any{"cluster": "prod", "taskDefinition": "arn:aws:ecs:us-east-1:" + prodAcct + ":task-definition/app:7", "launchType": "FARGATE"},
			ua:     "aws-cli/2.15.0 Python/3.11", ip: "198.51.100.10", id: b.uuid()}))
		t2 := t.Add(40 * time.Minute)
		b.add("cloudtrail", "", t2, cloudTrail(ctCall{t: t2, who: alice, source: "ecs", name: "StopTask",
			params: map[string]any{"cluster": "prod", "task": "arn:aws:ecs:us-east-1:" + prodAcct + ":task/prod/0a1b2c"},
			ua:     "aws-cli/2.15.0 Python/3.11", ip: "198.51.100.10", id: b.uuid()}))
		for k := 0; k < 3; k++ {
			t := day.Add(time.Duration(4+k*3)*time.Hour + b.jitter(time.Hour))
			b.add("cloudtrail", "", t, cloudTrail(ctCall{t: t, who: ciBot, source: "lambda", name: "UpdateFunctionCode20150331v2",
				params: map[string]any{"functionName": fmt.Sprintf("app-%d", k), "s3Bucket": "ci-artifacts", "s3Key": fmt.Sprintf("app-%d.zip", k)},
				ua:     "aws-sdk-go-v2/1.30.1 os/linux", ip: "192.0.2.44", id: b.uuid()}))
		}
		for k := 0; k < 4; k++ {
			t := day.Add(time.Duration(1+k*2)*time.Hour + b.jitter(time.Hour))
			b.add("cloudtrail", "", t, cloudTrail(ctCall{t: t, who: erin, source: "iam", name: "GetPolicy",
				params: map[string]any{"policyArn": "arn:aws:iam::" + prodAcct + ":policy/platform/DeployersPolicy"},
				ua:     "console.amazonaws.com", ip: "198.51.100.31", id: b.uuid()}))
		}
	}
	noiseN := sz.aws + 3

	// Azure Activity: users (50) outside the sample tenant's snapshot start
	// VMs and rotate storage keys; ci-pipeline deploys its container app.
	azOps := []string{"Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/virtualMachines/deallocate/action",
		"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Network/networkSecurityGroups/securityRules/write"}
	for p := 0; p < sz.azure; p++ {
		oid := fmt.Sprintf("e0000000-0000-4000-8000-%012d", p)
		upn := fmt.Sprintf("ops%02d@corp.example", p)
		for d := 0; d < hours/24; d++ {
			for k := 0; k < 1+b.rng.IntN(3); k++ {
				t := b.from.Add(time.Duration(d)*24*time.Hour + b.jitter(20*time.Hour))
				op := azOps[b.rng.IntN(len(azOps))]
				b.add("azure-activity", "", t, azureActivity(azCall{t: t, caller: upn, oid: oid, upn: upn, op: op, ip: ip(p),
					resourceID: fmt.Sprintf("/subscriptions/%s/resourceGroups/ops/providers/Microsoft.Compute/virtualMachines/vm-%02d", devSub, p),
					status:     "Succeeded", correlation: b.uuid()}))
			}
		}
	}
	for d := 0; d < hours/24; d++ {
		t := b.from.Add(time.Duration(d)*24*time.Hour + 5*time.Hour + b.jitter(time.Hour))
		b.add("azure-activity", "", t, azureActivity(azCall{t: t, caller: entraID("ci-pipeline-app"), oid: entraID("ci-pipeline"), appid: entraID("ci-pipeline-app"),
			op: "Microsoft.App/containerApps/write", ip: "192.0.2.60", status: "Succeeded", correlation: b.uuid(),
			resourceID: "/subscriptions/" + prodSub + "/resourceGroups/apps/providers/Microsoft.App/containerApps/web",
			body:       map[string]any{"properties": map[string]any{"template": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "corpacr.azurecr.io/web:2026.11." + fmt.Sprint(d)}}}}}}))
	}
	noiseN += sz.azure + 1

	// Graph activity: users (80) reading mail, files and calendars.
	uris := []string{"/me/messages", "/me/drive/root/children", "/me/calendar/events", "/sites/root", "/me/photo/$value", "/me/mailFolders/inbox"}
	for p := 0; p < sz.graph; p++ {
		oid := fmt.Sprintf("f0000000-0000-4000-8000-%012d", p)
		sess := b.uuid()
		for h := 0; h < hours; h += 2 {
			if b.rng.IntN(4) != 0 {
				continue
			}
			t := b.from.Add(time.Duration(h)*time.Hour + b.jitter(2*time.Hour))
			b.add("graph-activity", "", t, graphActivity(graphCall{t: t, userID: oid, appID: "00000003-0000-0ff1-ce00-000000000000",
				method: "GET", uri: uris[b.rng.IntN(len(uris))], status: 200, ip: ip(p + 100),
				ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/130.0", session: sess, id: b.uuid()}))
		}
	}
	noiseN += sz.graph

	// GCP: service accounts (40) reading and writing objects, writing logs.
	for p := 0; p < sz.gcp; p++ {
		sa := fmt.Sprintf("batch-%02d@%s.iam.gserviceaccount.com", p, webProd)
		for h := 0; h < hours; h++ {
			if b.rng.IntN(3) != 0 {
				continue
			}
			t := b.from.Add(time.Duration(h)*time.Hour + b.jitter(time.Hour))
			m, perm := "storage.objects.get", "storage.objects.get"
			if b.rng.IntN(2) == 0 {
				m, perm = "storage.objects.create", "storage.objects.create"
			}
			b.add("gcp-audit", "", t, gcpAudit(gcpCall{t: t, email: sa, service: "storage.googleapis.com", method: m,
				resource: fmt.Sprintf("projects/_/buckets/web-assets-%d/objects/o%d", p%7, h), project: webProd, logType: "data_access",
				ip: ip(p + 200), ua: "gcloud-golang-storage/1.43.0", id: b.uuid(), permission: perm, resourceType: "gcs_bucket"}))
		}
	}
	noiseN += sz.gcp

	// Workspace: people (80) sign in each working day.
	for p := 0; p < sz.workspace; p++ {
		for d := 0; d < hours/24; d++ {
			t := b.from.Add(time.Duration(d)*24*time.Hour + 1*time.Hour + b.jitter(4*time.Hour))
			b.add("workspace", "", t, workspaceActivity(wsCall{t: t, app: "login", actorEmail: fmt.Sprintf("staff%02d@corp.example", p),
				evType: "login", name: "login_success", params: map[string]string{"login_type": "google_password"},
				ip: ip(p + 300), unique: b.rng.Int64N(1e18)}))
		}
	}
	noiseN += sz.workspace

	// Kubernetes: kubelets renew leases and report status; controllers
	// create ReplicaSet pods (ownerReferences set).
	for n := 0; n < sz.nodes; n++ {
		node := fmt.Sprintf("ip-10-0-%d-%d.ec2.internal", n/4, 10+n)
		for h := 0; h < hours; h++ {
			for k := 0; k < 2; k++ {
				t := b.from.Add(time.Duration(h)*time.Hour + b.jitter(time.Hour))
				b.add("k8s-audit", "", t, k8sAudit(k8sCall{t: t, user: "system:node:" + node, groups: []string{"system:nodes", "system:authenticated"},
					verb: "update", resource: "leases", apiGroup: "coordination.k8s.io", namespace: "kube-node-lease", name: node,
					code: 200, ip: fmt.Sprintf("10.0.%d.%d", n/4, 10+n), ua: "kubelet/v1.30.4 (linux/amd64) kubernetes/a1b2c3d", id: b.uuid()}))
			}
		}
	}
	for h := 0; h < hours; h += sz.podEvery {
		t := b.from.Add(time.Duration(h)*time.Hour + b.jitter(time.Duration(sz.podEvery)*time.Hour))
		pod := fmt.Sprintf("web-6f8d9c-%05d", h)
		body := map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": map[string]any{"name": pod, "namespace": "web",
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6f8d9c", "controller": true}}},
			"spec": podSpec("corp.registry.example/web@sha256:"+fmt.Sprintf("%064x", h), false, "", false, "web")}
		b.add("k8s-audit", "", t, k8sAudit(k8sCall{t: t, user: "system:serviceaccount:kube-system:replicaset-controller",
			groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
			verb:   "create", resource: "pods", namespace: "web", code: 201, ip: "10.0.0.5",
			ua: "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a1b2c3d/system:serviceaccount:kube-system:replicaset-controller", id: b.uuid(), body: body}))
		// node-exporter pods of the monitoring DaemonSet mount /proc.
		ds := map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": map[string]any{"name": fmt.Sprintf("node-exporter-%05d", h), "namespace": "monitoring",
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-exporter", "controller": true}}},
			"spec": podSpec("quay.io/prometheus/node-exporter@sha256:"+fmt.Sprintf("%064x", h+1), false, "/proc", true, "node-exporter")}
		b.add("k8s-audit", "", t.Add(time.Minute), k8sAudit(k8sCall{t: t.Add(time.Minute), user: "system:serviceaccount:kube-system:daemon-set-controller",
			groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
			verb:   "create", resource: "pods", namespace: "monitoring", code: 201, ip: "10.0.0.5",
			ua: "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a1b2c3d/system:serviceaccount:kube-system:daemon-set-controller", id: b.uuid(), body: ds}))
	}
	noiseN += sz.nodes + 2
	b.noiseN = noiseN
}
