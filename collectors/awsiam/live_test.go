package awsiam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
	"permgraph/internal/awstest"
)

// These tests run the real SDK client (signing, retryer, paginator, awsQuery
// deserializer) against fakeIAM. They use t.Setenv for the credential chain,
// so they cannot run in parallel; each takes milliseconds.

const (
	testAccount   = "111122223333"
	testAccessKey = "AKIDPERMGRAPHTEST01"
	testSecretKey = "pgTestSecret/Do+Not+Log/0123456789abcdefXYZ"
	// Real markers are opaque base64-like text; '/', '+' and '=' check that
	// the SDK form-encodes the Marker and the fake decodes it back.
	marker1 = "AAF1e2/+mArKeR1=="
	marker2 = "AAF1e2/+mArKeR2=="
)

func testARN(kind, name string) string {
	return "arn:aws:iam::" + testAccount + ":" + kind + "/" + name
}

var (
	aliceARN    = testARN("user", "alice")
	bobARN      = testARN("user", "engineering/bob")
	adminsARN   = testARN("group", "admins")
	devsARN     = testARN("group", "devs")
	deployerARN = testARN("role", "service/deployer")
	supportARN  = testARN("role", "aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport")
	deployARN   = testARN("policy", "deploy")
	boundaryARN = testARN("policy", "boundary")
	adminARN    = "arn:aws:iam::aws:policy/AdministratorAccess"
	readOnlyARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
)

// Policy documents in the compact form the graph keeps. On the wire they are
// pretty-printed, as IAM returns what was authored, then URL-encoded.
const (
	docAliceInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"}]}`
	docDevsInline  = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"}}`
	docTrust       = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com","AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"a+b c%d"}}}]}`
	docDeployerIn  = `{"Version":"2012-10-17","Statement":[{"Sid":"Pass service roles","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/service/*"}]}`
	docSupportTr   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"support.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	docDeployV1    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}`
	docDeployV2    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:RunTask","ecs:RegisterTaskDefinition"],"Resource":"*"}]}`
	docBoundary    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`
	docAdmin       = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
)

// wireDoc renders a compact document the way IAM sends it.
func wireDoc(t *testing.T, compact string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(compact), "", "    "); err != nil {
		t.Fatalf("indent %s: %v", compact, err)
	}
	return rfc3986(b.String())
}

// fixturePages is a three-page account: users and groups first, roles on
// page 2, managed policies last (the order IAM pages in). alice's GroupList
// names a group that only arrives on page 2.
func fixturePages(t *testing.T) []fakePage {
	return []fakePage{
		{
			Users: []xmlUser{{
				Path: "/", UserName: "alice", UserId: "AIDAALICE", Arn: aliceARN, CreateDate: "2020-01-02T03:04:05Z",
				GroupList:               xmlList[string]{[]string{"admins", "devs"}},
				AttachedManagedPolicies: xmlList[xmlAttached]{[]xmlAttached{{PolicyName: "deploy", PolicyArn: deployARN}}},
				UserPolicyList:          xmlList[xmlInline]{[]xmlInline{{PolicyName: "alice-inline", PolicyDocument: wireDoc(t, docAliceInline)}}},
				PermissionsBoundary:     &xmlBoundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: boundaryARN},
				Tags:                    xmlList[xmlTag]{[]xmlTag{{Key: "team", Value: "platform"}, {Key: "cost-center", Value: "42"}}},
			}},
			Groups: []xmlGroup{{
				Path: "/", GroupName: "admins", GroupId: "AGPAADMINS", Arn: adminsARN, CreateDate: "2019-05-06T07:08:09Z",
				AttachedManagedPolicies: xmlList[xmlAttached]{[]xmlAttached{{PolicyName: "AdministratorAccess", PolicyArn: adminARN}}},
			}},
		},
		{
			Users: []xmlUser{{
				Path: "/engineering/", UserName: "bob", UserId: "AIDABOB", Arn: bobARN, CreateDate: "2021-03-04T05:06:07Z",
				GroupList:               xmlList[string]{[]string{"devs"}},
				AttachedManagedPolicies: xmlList[xmlAttached]{[]xmlAttached{{PolicyName: "ReadOnlyAccess", PolicyArn: readOnlyARN}}},
			}},
			Groups: []xmlGroup{{
				Path: "/", GroupName: "devs", GroupId: "AGPADEVS", Arn: devsARN, CreateDate: "2019-05-06T07:08:10Z",
				GroupPolicyList: xmlList[xmlInline]{[]xmlInline{{PolicyName: "devs-inline", PolicyDocument: wireDoc(t, docDevsInline)}}},
			}},
			Roles: []xmlRole{
				{
					Path: "/service/", RoleName: "deployer", RoleId: "AROADEPLOYER", Arn: deployerARN, CreateDate: "2022-01-01T00:00:00Z",
					AssumeRolePolicyDocument: wireDoc(t, docTrust),
					RolePolicyList:           xmlList[xmlInline]{[]xmlInline{{PolicyName: "deployer-inline", PolicyDocument: wireDoc(t, docDeployerIn)}}},
					AttachedManagedPolicies:  xmlList[xmlAttached]{[]xmlAttached{{PolicyName: "deploy", PolicyArn: deployARN}}},
					PermissionsBoundary:      &xmlBoundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: boundaryARN},
					Tags:                     xmlList[xmlTag]{[]xmlTag{{Key: "env", Value: "prod"}}},
					RoleLastUsed:             &xmlRoleLastUsed{LastUsedDate: "2024-06-01T12:00:00Z", Region: "us-west-2"},
				},
				{
					Path: "/aws-service-role/support.amazonaws.com/", RoleName: "AWSServiceRoleForSupport", RoleId: "AROASUPPORT",
					Arn: supportARN, CreateDate: "2018-01-01T00:00:00Z", AssumeRolePolicyDocument: wireDoc(t, docSupportTr),
					RoleLastUsed: &xmlRoleLastUsed{}, // never used: IAM sends an empty <RoleLastUsed/>
				},
			},
		},
		{
			Policies: []xmlPolicy{
				{
					PolicyName: "deploy", PolicyId: "ANPADEPLOY", Arn: deployARN, Path: "/", DefaultVersionId: "v2",
					AttachmentCount: 2, IsAttachable: true, CreateDate: "2020-01-01T00:00:00Z", UpdateDate: "2023-02-03T04:05:06Z",
					PolicyVersionList: xmlList[xmlPolicyVersion]{[]xmlPolicyVersion{
						{Document: wireDoc(t, docDeployV1), VersionId: "v1", IsDefaultVersion: false, CreateDate: "2020-01-01T00:00:00Z"},
						{Document: wireDoc(t, docDeployV2), VersionId: "v2", IsDefaultVersion: true, CreateDate: "2023-02-03T04:05:06Z"},
					}},
				},
				{
					PolicyName: "boundary", PolicyId: "ANPABOUNDARY", Arn: boundaryARN, Path: "/", DefaultVersionId: "v1",
					PermissionsBoundaryUsageCount: 2, IsAttachable: true, CreateDate: "2020-01-01T00:00:00Z", UpdateDate: "2020-01-01T00:00:00Z",
					PolicyVersionList: xmlList[xmlPolicyVersion]{[]xmlPolicyVersion{
						{Document: wireDoc(t, docBoundary), VersionId: "v1", IsDefaultVersion: true, CreateDate: "2020-01-01T00:00:00Z"},
					}},
				},
				{
					PolicyName: "AdministratorAccess", PolicyId: "ANPAADMIN", Arn: adminARN, Path: "/", DefaultVersionId: "v1",
					AttachmentCount: 1, IsAttachable: true, CreateDate: "2015-02-06T18:39:46Z", UpdateDate: "2015-02-06T18:39:46Z",
					PolicyVersionList: xmlList[xmlPolicyVersion]{[]xmlPolicyVersion{
						{Document: wireDoc(t, docAdmin), VersionId: "v1", IsDefaultVersion: true, CreateDate: "2015-02-06T18:39:46Z"},
					}},
				},
			},
		},
	}
}

var fixtureMarkers = []string{marker1, marker2}

// wantFixture is the graph the fixture must produce. Ids are spelled out
// rather than built with NodeID so the id format itself is pinned.
func wantFixture() (map[string]graph.Node, map[graph.EdgeKey]graph.Edge, []string) {
	nodes := map[string]graph.Node{}
	node := func(n graph.Node) { nodes[n.ID] = n }
	inline := func(owner, name, doc string) {
		node(graph.Node{ID: "aws:" + owner + "#inline/" + name, Kind: graph.NodePolicy, Name: name,
			Attrs: map[string]string{"document": doc, "inline": "true", "owner": "aws:" + owner}})
	}
	node(graph.Node{ID: "aws:account:" + testAccount, Kind: graph.NodeAccount, Name: testAccount, Attrs: map[string]string{"account": testAccount}})
	node(graph.Node{ID: "aws:" + aliceARN, Kind: graph.NodeUser, Name: "alice", Attrs: map[string]string{
		"arn": aliceARN, "unique_id": "AIDAALICE", "path": "/", "created": "2020-01-02T03:04:05Z",
		"tag:team": "platform", "tag:cost-center": "42"}})
	inline(aliceARN, "alice-inline", docAliceInline)
	node(graph.Node{ID: "aws:" + bobARN, Kind: graph.NodeUser, Name: "bob", Attrs: map[string]string{
		"arn": bobARN, "unique_id": "AIDABOB", "path": "/engineering/", "created": "2021-03-04T05:06:07Z"}})
	node(graph.Node{ID: "aws:" + adminsARN, Kind: graph.NodeGroup, Name: "admins", Attrs: map[string]string{
		"arn": adminsARN, "unique_id": "AGPAADMINS", "path": "/", "created": "2019-05-06T07:08:09Z"}})
	node(graph.Node{ID: "aws:" + devsARN, Kind: graph.NodeGroup, Name: "devs", Attrs: map[string]string{
		"arn": devsARN, "unique_id": "AGPADEVS", "path": "/", "created": "2019-05-06T07:08:10Z"}})
	inline(devsARN, "devs-inline", docDevsInline)
	node(graph.Node{ID: "aws:" + deployerARN, Kind: graph.NodeRole, Name: "deployer", Attrs: map[string]string{
		"arn": deployerARN, "unique_id": "AROADEPLOYER", "path": "/service/", "created": "2022-01-01T00:00:00Z",
		"trust_policy": docTrust, "last_used": "2024-06-01T12:00:00Z", "tag:env": "prod"}})
	inline(deployerARN, "deployer-inline", docDeployerIn)
	node(graph.Node{ID: "aws:" + supportARN, Kind: graph.NodeRole, Name: "AWSServiceRoleForSupport", Attrs: map[string]string{
		"arn": supportARN, "unique_id": "AROASUPPORT", "path": "/aws-service-role/support.amazonaws.com/",
		"created": "2018-01-01T00:00:00Z", "trust_policy": docSupportTr, "service_linked": "true"}})
	node(graph.Node{ID: "aws:" + deployARN, Kind: graph.NodePolicy, Name: "deploy", Attrs: map[string]string{
		"arn": deployARN, "unique_id": "ANPADEPLOY", "path": "/", "default_version": "v2", "document": docDeployV2,
		"updated": "2023-02-03T04:05:06Z"}})
	node(graph.Node{ID: "aws:" + boundaryARN, Kind: graph.NodePolicy, Name: "boundary", Attrs: map[string]string{
		"arn": boundaryARN, "unique_id": "ANPABOUNDARY", "path": "/", "default_version": "v1", "document": docBoundary,
		"updated": "2020-01-01T00:00:00Z"}})
	node(graph.Node{ID: "aws:" + adminARN, Kind: graph.NodePolicy, Name: "AdministratorAccess", Attrs: map[string]string{
		"arn": adminARN, "unique_id": "ANPAADMIN", "path": "/", "default_version": "v1", "document": docAdmin,
		"aws_managed": "true", "updated": "2015-02-06T18:39:46Z"}})
	node(graph.Node{ID: "aws:" + readOnlyARN, Kind: graph.NodePolicy, Name: "ReadOnlyAccess", Attrs: map[string]string{
		"arn": readOnlyARN, "missing_document": "true"}})

	edges := map[graph.EdgeKey]graph.Edge{}
	edge := func(from string, kind graph.EdgeKind, to, evSource, detail string) {
		e := graph.Edge{From: from, Kind: kind, To: to, Evidence: []graph.Evidence{{Source: evSource, Detail: detail}}}
		edges[e.Key()] = e
	}
	hasInline := func(owner, name string) {
		id := "aws:" + owner + "#inline/" + name
		edge("aws:"+owner, graph.EdgeHasPolicy, id, id, "inline policy "+name)
	}
	hasManaged := func(owner, policyARN, name string) {
		edge("aws:"+owner, graph.EdgeHasPolicy, "aws:"+policyARN, "aws:"+policyARN, "managed policy "+name+" attached")
	}
	hasBoundary := func(owner, policyARN string) {
		edge("aws:"+owner, graph.EdgeHasBoundary, "aws:"+policyARN, "aws:"+policyARN, "permissions boundary")
	}
	memberOf := func(user, group string) {
		edge("aws:"+user, graph.EdgeMemberOf, "aws:"+group, "aws:"+user, "GroupList")
	}
	hasInline(aliceARN, "alice-inline")
	hasManaged(aliceARN, deployARN, "deploy")
	hasBoundary(aliceARN, boundaryARN)
	memberOf(aliceARN, adminsARN)
	memberOf(aliceARN, devsARN)
	hasManaged(adminsARN, adminARN, "AdministratorAccess")
	hasManaged(bobARN, readOnlyARN, "ReadOnlyAccess")
	memberOf(bobARN, devsARN)
	hasInline(devsARN, "devs-inline")
	hasInline(deployerARN, "deployer-inline")
	hasManaged(deployerARN, deployARN, "deploy")
	hasBoundary(deployerARN, boundaryARN)

	warnings := []string{"managed policy " + readOnlyARN + " is attached but not in the export; answers involving it are incomplete"}
	return nodes, edges, warnings
}

var wantFixtureCounts = Counts{Users: 2, Groups: 2, Roles: 2, Policies: 3, InlinePolicies: 3}

// checkFixtureGraph compares everything collected with wantFixture.
func checkFixtureGraph(t *testing.T, col *graph.Collection) {
	t.Helper()
	srcs := col.Sources()
	if len(srcs) != 1 || srcs[0].Source != "aws:"+testAccount {
		var ids []string
		for _, s := range srcs {
			ids = append(ids, s.Source)
		}
		t.Fatalf("sources = %q, want [aws:%s]", ids, testAccount)
	}
	g := srcs[0]
	nodes, edges, warnings := wantFixture()
	if d := cmp.Diff(nodes, g.Nodes); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(edges, g.Edges); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
	if d := cmp.Diff(warnings, g.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

// setAWSTestEnv isolates the SDK's default chain from the developer's
// machine: no shared config files, static keys from the environment, no
// IMDS, no endpoint or retry overrides.
func setAWSTestEnv(t *testing.T) {
	t.Helper()
	awstest.Isolate(t, testAccessKey, testSecretKey, "")
}

// liveTest is one test's client, logger and captured log text.
type liveTest struct {
	client *iam.Client
	logger *slog.Logger
	logs   *bytes.Buffer
}

// newLiveTest builds a real IAM client for f through NewLiveClient with fast
// backoff, and checks at cleanup that no credential reached the logs.
func newLiveTest(t *testing.T, f *fakeIAM, o LiveOptions) *liveTest {
	t.Helper()
	setAWSTestEnv(t)
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.EndpointURL = f.srv.URL
	o.HTTPClient = awstest.Client(f.srv)
	o.Logger = logger
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Millisecond
	}
	client, err := NewLiveClient(t.Context(), o)
	if err != nil {
		t.Fatalf("NewLiveClient: %v", err)
	}
	t.Cleanup(func() {
		for _, secret := range []string{testSecretKey, testAccessKey} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("credential material %q found in logs:\n%s", secret, logs.String())
			}
		}
	})
	return &liveTest{client: client, logger: logger, logs: logs}
}

func (lt *liveTest) collect(ctx context.Context, sink graph.Sink) (*LiveCollector, error) {
	c := &LiveCollector{Client: lt.client, Logger: lt.logger}
	return c, c.Collect(ctx, sink)
}

// distinctRuns drops consecutive repeats: the order of pages asked for.
func distinctRuns(ms []string) []string {
	var out []string
	for _, m := range ms {
		if len(out) == 0 || out[len(out)-1] != m {
			out = append(out, m)
		}
	}
	return out
}

func TestLiveCollectPagesThroughMarkers(t *testing.T) {
	f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
	lt := newLiveTest(t, f, LiveOptions{})
	col := graph.NewCollection()
	c, err := lt.collect(t.Context(), col)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	checkFixtureGraph(t, col)
	if c.Counts != wantFixtureCounts {
		t.Errorf("Counts = %+v, want %+v", c.Counts, wantFixtureCounts)
	}
	// A transport retry (a reset keep-alive connection on a loaded machine)
	// legitimately repeats a request with the same Marker; the paging order
	// is what must hold.
	var distinct []string
	for _, m := range f.markersSeen() {
		if len(distinct) == 0 || distinct[len(distinct)-1] != m {
			distinct = append(distinct, m)
		}
	}
	if d := cmp.Diff([]string{"", marker1, marker2}, distinct); d != "" {
		t.Errorf("Markers sent (-want +got):\n%s", d)
	}
	for i, r := range f.requests() {
		if len(r.Filters) != 0 {
			t.Errorf("request %d sent Filter %q; want no filter (all entity types)", i+1, r.Filters)
		}
		// Credentials came from the env chain; region defaulted to us-east-1.
		if !strings.Contains(r.Authorization, "Credential="+testAccessKey+"/") ||
			!strings.Contains(r.Authorization, "/us-east-1/iam/aws4_request") {
			t.Errorf("request %d Authorization = %q, want SigV4 with %s for us-east-1/iam", i+1, r.Authorization, testAccessKey)
		}
	}
	if got := strings.Count(lt.logs.String(), "GetAccountAuthorizationDetails page"); got != 3 {
		t.Errorf("logged %d page lines at debug, want 3:\n%s", got, lt.logs.String())
	}
}

func TestLiveCollectRetriesAndAPIErrors(t *testing.T) {
	throttle := fakeReply{Status: 400, Type: "Sender", Code: "Throttling", Message: "Rate exceeded"}
	tests := []struct {
		name        string
		replies     map[int]fakeReply
		always      *fakeReply
		maxAttempts int
		// wantMarkers lists the Marker of every request the fake saw.
		wantMarkers []string
		// wantErr is empty for success, else substrings of the error.
		wantErr   []string
		wantErrIs error
	}{
		{
			name:        "Throttling 400 on the first request is retried",
			replies:     map[int]fakeReply{1: throttle},
			wantMarkers: []string{"", "", marker1, marker2},
		},
		{
			name:        "ServiceFailure 500 on page 2 is retried with the same Marker",
			replies:     map[int]fakeReply{2: {Status: 500, Type: "Receiver", Code: "ServiceFailure", Message: "internal error"}},
			wantMarkers: []string{"", marker1, marker1, marker2},
		},
		{
			name:        "503 with a non-XML body is retried",
			replies:     map[int]fakeReply{3: {Status: 503, Body: "Service Unavailable"}},
			wantMarkers: []string{"", marker1, marker2, marker2},
		},
		{
			name:        "body cut short on page 3 is retried",
			replies:     map[int]fakeReply{3: {TruncatedBody: true}},
			wantMarkers: []string{"", marker1, marker2, marker2},
		},
		{
			name:        "empty 200 body on page 2 is retried, not taken as the last page",
			replies:     map[int]fakeReply{2: {Status: 200}},
			wantMarkers: []string{"", marker1, marker1, marker2},
		},
		{
			name: "AccessDenied fails at once and names the permission",
			always: &fakeReply{Status: 403, Type: "Sender", Code: "AccessDenied",
				Message: "User: arn:aws:iam::111122223333:user/ci is not authorized to perform: iam:GetAccountAuthorizationDetails on resource: * because no identity-based policy allows the iam:GetAccountAuthorizationDetails action"},
			wantMarkers: []string{""},
			wantErr:     []string{"page 1", "AccessDenied", "lacks permission iam:GetAccountAuthorizationDetails"},
			wantErrIs:   ErrAccessDenied,
		},
		{
			name:        "rejected credentials fail at once",
			always:      &fakeReply{Status: 403, Type: "Sender", Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."},
			wantMarkers: []string{""},
			wantErr:     []string{"page 1", "InvalidClientTokenId", "--profile"},
			wantErrIs:   ErrCredentialsRejected,
		},
		{
			name:        "endless throttling gives up after MaxAttempts",
			always:      &throttle,
			maxAttempts: 3,
			wantMarkers: []string{"", "", ""},
			wantErr:     []string{"page 1", "Throttling", "exceeded maximum number of attempts, 3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
			f.replies, f.always = tc.replies, tc.always
			if f.replies == nil {
				f.replies = map[int]fakeReply{}
			}
			lt := newLiveTest(t, f, LiveOptions{MaxAttempts: tc.maxAttempts})
			col := graph.NewCollection()
			_, err := lt.collect(t.Context(), col)
			if len(tc.wantErr) > 0 {
				if d := cmp.Diff(tc.wantMarkers, f.markersSeen()); d != "" {
					t.Errorf("requests by Marker (-want +got):\n%s", d)
				}
			} else {
				// On a loaded machine a transport-level retry may repeat one
				// more request: the paging order and at least the injected
				// retries must hold.
				got := f.markersSeen()
				if d := cmp.Diff(distinctRuns(tc.wantMarkers), distinctRuns(got)); d != "" || len(got) < len(tc.wantMarkers) {
					t.Errorf("requests by Marker: got %q, want %q (paging order, at least the injected retries)", got, tc.wantMarkers)
				}
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Collect: %v", err)
				}
				checkFixtureGraph(t, col)
				// The retry was the SDK's: a repeated request is a later attempt.
				for i, r := range f.requests() {
					if i > 0 && r.Marker == f.requests()[i-1].Marker && (r.SDKRequest == "" || strings.HasPrefix(r.SDKRequest, "attempt=1;")) {
						t.Errorf("request %d Amz-Sdk-Request = %q, want a retry attempt", i+1, r.SDKRequest)
					}
				}
				if !strings.Contains(lt.logs.String(), "retrying request") {
					t.Errorf("SDK retry not logged at debug:\n%s", lt.logs.String())
				}
				return
			}
			if err == nil {
				t.Fatal("Collect succeeded, want an error")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantErrIs)
			}
		})
	}
}

func TestLiveCollectMalformedResponse(t *testing.T) {
	tests := []struct {
		name     string
		reply    *fakeReply
		pageHook func(page int, r *xmlGAADResult)
		editPage func(pages []fakePage)
		// wantRequests, if set, is how many requests the fake must see.
		wantRequests int
		wantErr      []string
	}{
		{
			name:         "invalid XML",
			reply:        &fakeReply{Status: 200, Body: `<GetAccountAuthorizationDetailsResponse xmlns="` + iamNamespace + `"><GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTru`},
			wantRequests: 1, // bad data is not retried
			wantErr:      []string{"page 1"},
		},
		{
			name:         "not XML at all",
			reply:        &fakeReply{Status: 200, Body: "<html>upstream proxy error"},
			wantRequests: 1, // bad data is not retried
			wantErr:      []string{"page 1"},
		},
		{
			name:         "body always cut short by the connection",
			reply:        &fakeReply{TruncatedBody: true},
			wantRequests: 2, // retried up to MaxAttempts: a transport failure, not bad data
			// The read error's text depends on who notices the close first
			// ("unexpected EOF", "use of closed network connection").
			wantErr: []string{"page 1", "exceeded maximum number of attempts, 2", "deserialization failed"},
		},
		{
			name:         "empty 200 body every time",
			reply:        &fakeReply{Status: 200},
			wantRequests: 2,
			wantErr:      []string{"page 1", "empty body"},
		},
		{
			name: "bad boolean",
			reply: &fakeReply{Status: 200, Body: `<GetAccountAuthorizationDetailsResponse xmlns="` + iamNamespace + `">` +
				`<GetAccountAuthorizationDetailsResult><IsTruncated>maybe</IsTruncated></GetAccountAuthorizationDetailsResult></GetAccountAuthorizationDetailsResponse>`},
			wantRequests: 1, // bad data is not retried
			wantErr:      []string{"page 1"},
		},
		{
			name:     "bad timestamp",
			editPage: func(p []fakePage) { p[1].Users[0].CreateDate = "last tuesday" },
			wantErr:  []string{"page 2"},
		},
		{
			name: "IsTruncated without Marker",
			pageHook: func(page int, r *xmlGAADResult) {
				if page == 1 {
					r.Marker = ""
				}
			},
			wantErr: []string{"page 2", "IsTruncated=true but no Marker"},
		},
		{
			name: "Marker repeated",
			pageHook: func(page int, r *xmlGAADResult) {
				if page == 1 {
					r.Marker = marker1
				}
			},
			wantErr: []string{"page 2", "same Marker"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pages := fixturePages(t)
			if tc.editPage != nil {
				tc.editPage(pages)
			}
			f := newFakeIAM(t, fixtureMarkers, pages...)
			f.always, f.pageHook = tc.reply, tc.pageHook
			lt := newLiveTest(t, f, LiveOptions{MaxAttempts: 2})
			_, err := lt.collect(t.Context(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded, want an error")
			}
			if tc.wantRequests != 0 && len(f.requests()) != tc.wantRequests {
				t.Errorf("fake saw %d requests, want %d", len(f.requests()), tc.wantRequests)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestLiveCollectBadPolicyDocument(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(p []fakePage)
		wantErr []string
	}{
		{
			name:    "user inline policy with a bad escape",
			edit:    func(p []fakePage) { p[0].Users[0].UserPolicyList.Member[0].PolicyDocument = "%7B%22Version%22%3A%zz" },
			wantErr: []string{"page 1", `user "alice"`, `inline policy 0 ("alice-inline")`, "field PolicyDocument", "URL-encoded"},
		},
		{
			name: "group inline policy that decodes to non-JSON",
			edit: func(p []fakePage) {
				p[1].Groups[0].GroupPolicyList.Member[0].PolicyDocument = rfc3986("Version=2012-10-17")
			},
			wantErr: []string{"page 2", `group "devs"`, "field PolicyDocument"},
		},
		{
			name: "role trust policy cut short",
			edit: func(p []fakePage) {
				p[1].Roles[0].AssumeRolePolicyDocument = rfc3986(`{"Version":"2012-10-17","Statement":[`)
			},
			wantErr: []string{"page 2", `role "deployer"`, "field AssumeRolePolicyDocument"},
		},
		{
			name:    "managed policy default version not JSON",
			edit:    func(p []fakePage) { p[2].Policies[0].PolicyVersionList.Member[1].Document = rfc3986("{not json}") },
			wantErr: []string{"page 3", `policy "deploy"`, "PolicyVersionList[1]", "field Document"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pages := fixturePages(t)
			tc.edit(pages)
			f := newFakeIAM(t, fixtureMarkers, pages...)
			lt := newLiveTest(t, f, LiveOptions{})
			_, err := lt.collect(t.Context(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded, want an error")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// cancelSink cancels the collection as soon as the first node arrives.
type cancelSink struct {
	*graph.Collection
	cancel context.CancelFunc
}

func (s cancelSink) AddNode(source string, n graph.Node) error {
	s.cancel()
	return s.Collection.AddNode(source, n)
}

func TestLiveCollectCancellation(t *testing.T) {
	t.Run("already cancelled", func(t *testing.T) {
		f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
		lt := newLiveTest(t, f, LiveOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := lt.collect(ctx, graph.NewCollection())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("fake saw %d requests, want 0", n)
		}
	})

	t.Run("cancelled between pages", func(t *testing.T) {
		f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
		lt := newLiveTest(t, f, LiveOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		_, err := lt.collect(ctx, cancelSink{graph.NewCollection(), cancel})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "page 2") {
			t.Fatalf("err = %v, want context.Canceled at page 2", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("fake saw %d requests, want 1", n)
		}
	})

	t.Run("cancelled while a request hangs", func(t *testing.T) {
		f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
		f.always = &fakeReply{Hang: true}
		lt := newLiveTest(t, f, LiveOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			select {
			case <-f.arrived:
				cancel()
			case <-ctx.Done():
			}
		}()
		start := time.Now()
		_, err := lt.collect(ctx, graph.NewCollection())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 10*time.Second { // generous: CI machines are shared
			t.Errorf("Collect took %s after cancel, want prompt return", d)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("fake saw %d requests, want 1 (no retry after cancel)", n)
		}
	})

	t.Run("page timeout", func(t *testing.T) {
		f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
		f.always = &fakeReply{Hang: true}
		lt := newLiveTest(t, f, LiveOptions{})
		c := &LiveCollector{Client: lt.client, Logger: lt.logger, PageTimeout: 100 * time.Millisecond}
		start := time.Now()
		err := c.Collect(t.Context(), graph.NewCollection())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "page timeout") {
			t.Fatalf("err = %v, want a page timeout wrapping context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 10*time.Second { // generous: CI machines are shared
			t.Errorf("Collect took %s, want about the 100ms page timeout", d)
		}
	})
}

func TestNewLiveClient(t *testing.T) {
	t.Run("explicit region signs for that region", func(t *testing.T) {
		f := newFakeIAM(t, fixtureMarkers, fixturePages(t)...)
		lt := newLiveTest(t, f, LiveOptions{Region: "us-gov-west-1"})
		if _, err := lt.collect(t.Context(), graph.NewCollection()); err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if auth := f.requests()[0].Authorization; !strings.Contains(auth, "/us-gov-west-1/iam/aws4_request") {
			t.Errorf("Authorization = %q, want credential scope us-gov-west-1/iam", auth)
		}
	})

	for _, tc := range []struct {
		name    string
		opts    LiveOptions
		wantErr string
	}{
		{"unknown profile", LiveOptions{Profile: "no-such-profile"}, `profile "no-such-profile"`},
		{"relative endpoint", LiveOptions{EndpointURL: "iam.example.com"}, "--endpoint-url"},
		{"negative attempts", LiveOptions{MaxAttempts: -1}, "max attempts"},
		{"negative backoff", LiveOptions{MaxBackoff: -time.Second}, "max backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setAWSTestEnv(t)
			_, err := NewLiveClient(t.Context(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}

	t.Run("no client", func(t *testing.T) {
		err := (&LiveCollector{}).Collect(t.Context(), graph.NewCollection())
		if err == nil {
			t.Fatal("Collect without a client succeeded")
		}
	})
}

// An AWS managed policy carries no account in its ARN. If it arrives before
// any entity that names the account, it must still land in the account's
// source, not in an empty one.
func TestLiveCollectAWSManagedPolicyBeforeAccount(t *testing.T) {
	full := fixturePages(t)
	admin, boundary := full[2].Policies[2], full[2].Policies[1]
	f := newFakeIAM(t, fixtureMarkers,
		fakePage{Policies: []xmlPolicy{admin}},
		fakePage{Policies: []xmlPolicy{admin, boundary}}, // AWS managed listed first within the page too
	)
	lt := newLiveTest(t, f, LiveOptions{})
	col := graph.NewCollection()
	c, err := lt.collect(t.Context(), col)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	srcs := col.Sources()
	if len(srcs) != 1 || srcs[0].Source != "aws:"+testAccount {
		t.Fatalf("got %d sources (first %q), want only aws:%s", len(srcs), srcs[0].Source, testAccount)
	}
	for _, id := range []string{"aws:" + adminARN, "aws:" + boundaryARN, "aws:account:" + testAccount} {
		if _, ok := srcs[0].Nodes[id]; !ok {
			t.Errorf("node %s missing", id)
		}
	}
	if got := srcs[0].Nodes["aws:"+adminARN].Attrs["document"]; got != docAdmin {
		t.Errorf("AdministratorAccess document = %s, want %s", got, docAdmin)
	}
	if c.Counts.Policies != 3 {
		t.Errorf("Counts.Policies = %d, want 3 (one per record seen)", c.Counts.Policies)
	}
}
