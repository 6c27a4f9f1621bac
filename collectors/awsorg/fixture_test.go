package awsorg

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
)

// The test organisation: root -> Workloads -> Prod, root -> Security; five
// accounts spread over the root and every OU; FullAWSAccess attached
// everywhere (as AWS does by default), a deny-ECS SCP on Prod and a
// deny-leave SCP on the Audit account. The live fake serves it and
// testdata/org.json describes the same organisation by hand.

const (
	orgID    = "o-a1b2c3d4e5"
	mgmtID   = "111111111111"
	rootID   = "r-a1b2"
	ouWkld   = "ou-a1b2-wkld0001"
	ouSecu   = "ou-a1b2-secu0001"
	ouProd   = "ou-a1b2-prod0001"
	acctLog  = "222222222222"
	acctAud  = "333333333333"
	acctDev  = "444444444444"
	acctProd = "555555555555"
	polFull  = "p-FullAWSAccess"
	polECS   = "p-denyecs01"
	polLeave = "p-denyleave1"
)

func orgARN(kind, rest string) string {
	return "arn:aws:organizations::" + mgmtID + ":" + kind + "/" + orgID + "/" + rest
}

// SCP documents in the compact form the graph keeps; the fake serves them
// pretty-printed, as authored.
const (
	docFull  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	docECS   = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyECS","Effect":"Deny","Action":["ecs:*"],"Resource":"*"}]}`
	docLeave = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/OrgAdmin"}}}]}`
)

func pretty(t testing.TB, compact string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(compact), "", "  "); err != nil {
		t.Fatalf("indent %s: %v", compact, err)
	}
	return b.String()
}

func fixtureData(t testing.TB) *fakeData {
	scpOn := []wPolicyType{{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"}, {Type: "TAG_POLICY", Status: "ENABLED"}}
	acct := func(id, name, email, parent, status, state string, joined float64) fakeAccount {
		return fakeAccount{Parent: parent, Account: wAccount{Arn: orgARN("account", id), Email: email, Id: id,
			JoinedMethod: "CREATED", JoinedTimestamp: joined, Name: name, Status: status, State: state}}
	}
	target := func(id, name, typ string) wTarget {
		arn := orgARN("account", id)
		switch typ {
		case "ROOT":
			arn = orgARN("root", id)
		case "ORGANIZATIONAL_UNIT":
			arn = orgARN("ou", id)
		}
		return wTarget{Arn: arn, Name: name, TargetId: id, Type: typ}
	}
	d := &fakeData{
		Org: wOrganization{Arn: "arn:aws:organizations::" + mgmtID + ":organization/" + orgID, AvailablePolicyTypes: scpOn[:1],
			FeatureSet: "ALL", Id: orgID, MasterAccountArn: orgARN("account", mgmtID), MasterAccountEmail: "aws-root@example.com",
			MasterAccountId: mgmtID},
		Roots: []wRoot{{Arn: orgARN("root", rootID), Id: rootID, Name: "Root", PolicyTypes: scpOn}},
		OUs: []fakeOU{
			{Parent: rootID, OU: wOU{Arn: orgARN("ou", ouWkld), Id: ouWkld, Name: "Workloads", Path: orgID + "/" + rootID + "/" + ouWkld + "/"}},
			{Parent: rootID, OU: wOU{Arn: orgARN("ou", ouSecu), Id: ouSecu, Name: "Security"}},
			{Parent: ouWkld, OU: wOU{Arn: orgARN("ou", ouProd), Id: ouProd, Name: "Prod"}},
		},
		Accounts: []fakeAccount{
			acct(mgmtID, "Management", "aws-root@example.com", rootID, "ACTIVE", "ACTIVE", 1577836800),
			acct(acctLog, "Log Archive", "log-archive@example.com", ouSecu, "ACTIVE", "ACTIVE", 1580515200.5),
			acct(acctAud, "Audit", "audit@example.com", ouSecu, "ACTIVE", "ACTIVE", 1580515260),
			acct(acctDev, "Dev", "dev@example.com", ouWkld, "SUSPENDED", "SUSPENDED", 1590969600),
			// A newer response with State only (Status is being retired).
			acct(acctProd, "Prod App", "prod@example.com", ouProd, "", "ACTIVE", 1593561600),
		},
		Policies: []fakePolicy{
			{
				Summary: wPolicySummary{Arn: "arn:aws:organizations::aws:policy/service_control_policy/" + polFull, AwsManaged: true,
					Description: "Allows access to every operation", Id: polFull, Name: "FullAWSAccess", Type: "SERVICE_CONTROL_POLICY"},
				Content: pretty(t, docFull),
				Targets: []wTarget{
					target(rootID, "Root", "ROOT"),
					target(ouWkld, "Workloads", "ORGANIZATIONAL_UNIT"),
					target(ouSecu, "Security", "ORGANIZATIONAL_UNIT"),
					target(ouProd, "Prod", "ORGANIZATIONAL_UNIT"),
					target(mgmtID, "Management", "ACCOUNT"),
					target(acctLog, "Log Archive", "ACCOUNT"),
					target(acctAud, "Audit", "ACCOUNT"),
					target(acctDev, "Dev", "ACCOUNT"),
					target(acctProd, "Prod App", "ACCOUNT"),
				},
			},
			{
				Summary: wPolicySummary{Arn: orgARN("policy", "service_control_policy/"+polECS), Id: polECS, Name: "DenyECS",
					Description: "No containers in production", Type: "SERVICE_CONTROL_POLICY"},
				Content: pretty(t, docECS),
				Targets: []wTarget{target(ouProd, "Prod", "ORGANIZATIONAL_UNIT")},
			},
			{
				Summary: wPolicySummary{Arn: orgARN("policy", "service_control_policy/"+polLeave), Id: polLeave, Name: "DenyLeaveOrg",
					Type: "SERVICE_CONTROL_POLICY"},
				Content: pretty(t, docLeave),
				Targets: []wTarget{target(acctAud, "Audit", "ACCOUNT")},
			},
		},
	}
	return d
}

var wantFixtureCounts = Counts{Roots: 1, OUs: 3, Accounts: 5, Policies: 3, Attachments: 11}

// wantFixture is the graph of the test organisation. Ids are spelled out so
// the id format itself is pinned.
func wantFixture() (map[string]graph.Node, map[graph.EdgeKey]graph.Edge) {
	nodes := map[string]graph.Node{}
	node := func(n graph.Node) { nodes[n.ID] = n }
	root := "aws:orgroot:" + rootID
	node(graph.Node{ID: root, Kind: graph.NodeScope, Name: "Root", Attrs: map[string]string{
		"type": "root", "org": orgID, "management_account": mgmtID, "scp_enabled": "true", "feature_set": "ALL",
		"arn": orgARN("root", rootID)}})
	ou := func(id, name, parent string) {
		node(graph.Node{ID: "aws:ou:" + id, Kind: graph.NodeScope, Name: name, Attrs: map[string]string{
			"type": "ou", "org": orgID, "parent": parent, "arn": orgARN("ou", id)}})
	}
	ou(ouWkld, "Workloads", root)
	ou(ouSecu, "Security", root)
	ou(ouProd, "Prod", "aws:ou:"+ouWkld)
	acct := func(id, name, email, parent, status, state, joined string) map[string]string {
		attrs := map[string]string{"account": id, "email": email, "status": status, "org": orgID, "parent": parent,
			"arn": orgARN("account", id), "joined_method": "CREATED", "joined": joined, "state": state}
		node(graph.Node{ID: "aws:account:" + id, Kind: graph.NodeAccount, Name: name, Attrs: attrs})
		return attrs
	}
	acct(mgmtID, "Management", "aws-root@example.com", root, "ACTIVE", "ACTIVE", "2020-01-01T00:00:00Z")["management"] = "true"
	acct(acctLog, "Log Archive", "log-archive@example.com", "aws:ou:"+ouSecu, "ACTIVE", "ACTIVE", "2020-02-01T00:00:00Z")
	acct(acctAud, "Audit", "audit@example.com", "aws:ou:"+ouSecu, "ACTIVE", "ACTIVE", "2020-02-01T00:01:00Z")
	acct(acctDev, "Dev", "dev@example.com", "aws:ou:"+ouWkld, "SUSPENDED", "SUSPENDED", "2020-06-01T00:00:00Z")
	acct(acctProd, "Prod App", "prod@example.com", "aws:ou:"+ouProd, "ACTIVE", "ACTIVE", "2020-07-01T00:00:00Z")
	scp := func(id, name, doc, managed, arn, desc string) {
		attrs := map[string]string{"document": doc, "policy_type": "SERVICE_CONTROL_POLICY", "aws_managed": managed, "arn": arn}
		if desc != "" {
			attrs["description"] = desc
		}
		node(graph.Node{ID: "aws:scp:" + id, Kind: graph.NodePolicy, Name: name, Attrs: attrs})
	}
	scp(polFull, "FullAWSAccess", docFull, "true", "arn:aws:organizations::aws:policy/service_control_policy/"+polFull, "Allows access to every operation")
	scp(polECS, "DenyECS", docECS, "false", orgARN("policy", "service_control_policy/"+polECS), "No containers in production")
	scp(polLeave, "DenyLeaveOrg", docLeave, "false", orgARN("policy", "service_control_policy/"+polLeave), "")

	edges := map[graph.EdgeKey]graph.Edge{}
	edge := func(from string, kind graph.EdgeKind, to, evSource, detail string) {
		e := graph.Edge{From: from, Kind: kind, To: to, Evidence: []graph.Evidence{{Source: evSource, Detail: detail}}}
		edges[e.Key()] = e
	}
	containsOU := func(parent, id string) {
		edge(parent, graph.EdgeContains, "aws:ou:"+id, "aws:ou:"+id, "organizational unit")
	}
	containsAcct := func(parent, id string) {
		edge(parent, graph.EdgeContains, "aws:account:"+id, "aws:account:"+id, "member account")
	}
	containsOU(root, ouWkld)
	containsOU(root, ouSecu)
	containsOU("aws:ou:"+ouWkld, ouProd)
	containsAcct(root, mgmtID)
	containsAcct("aws:ou:"+ouSecu, acctLog)
	containsAcct("aws:ou:"+ouSecu, acctAud)
	containsAcct("aws:ou:"+ouWkld, acctDev)
	containsAcct("aws:ou:"+ouProd, acctProd)
	attached := func(target, pol string) {
		edge(target, graph.EdgeHasPolicy, "aws:scp:"+pol, "aws:scp:"+pol, "SCP attached")
	}
	for _, target := range []string{root, "aws:ou:" + ouWkld, "aws:ou:" + ouSecu, "aws:ou:" + ouProd,
		"aws:account:" + mgmtID, "aws:account:" + acctLog, "aws:account:" + acctAud, "aws:account:" + acctDev, "aws:account:" + acctProd} {
		attached(target, polFull)
	}
	attached("aws:ou:"+ouProd, polECS)
	attached("aws:account:"+acctAud, polLeave)
	return nodes, edges
}

// checkFixtureGraph compares everything collected with wantFixture.
func checkFixtureGraph(t *testing.T, col *graph.Collection, wantWarnings []string) {
	t.Helper()
	srcs := col.Sources()
	if len(srcs) != 1 || srcs[0].Source != "aws-org:"+orgID {
		var ids []string
		for _, s := range srcs {
			ids = append(ids, s.Source)
		}
		t.Fatalf("sources = %q, want [aws-org:%s]", ids, orgID)
	}
	g := srcs[0]
	nodes, edges := wantFixture()
	if d := cmp.Diff(nodes, g.Nodes); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(edges, g.Edges); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantWarnings, g.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}
