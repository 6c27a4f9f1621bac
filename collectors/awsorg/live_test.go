package awsorg

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
	"permgraph/internal/awstest"
)

// These tests run the real SDK client (signing, retryer, paginators, AWS
// JSON 1.1 protocol) against fakeOrgAPI. They use t.Setenv for the
// credential chain, so they cannot run in parallel; each takes milliseconds.

const (
	testAccessKey = "AKIDPERMGRAPHORG0001"
	testSecretKey = "pgOrgTestSecret/Do+Not+Log/0123456789abcdXYZ"
	testToken     = "pgOrgSessionToken/Never+Logged=="
)

// setAWSTestEnv isolates the SDK's default chain from the developer's
// machine: no shared config files, static keys from the environment, no
// IMDS, no endpoint or retry overrides.
func setAWSTestEnv(t *testing.T) {
	t.Helper()
	awstest.Isolate(t, testAccessKey, testSecretKey, testToken)
}

type liveTest struct {
	client *organizations.Client
	logger *slog.Logger
	logs   *bytes.Buffer
}

// newLiveTest builds a real client for f through NewLiveClient with fast
// backoff and a debug logger, and checks at cleanup that no credential
// reached the logs.
func newLiveTest(t *testing.T, f *fakeOrgAPI, o LiveOptions) *liveTest {
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
		for _, secret := range []string{testSecretKey, testAccessKey, testToken} {
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

// newFixtureAPI serves the test organisation with paging on
// ListAccountsForParent, ListPolicies and ListTargetsForPolicy, and an empty
// first page (with a NextToken) for the root's OUs.
func newFixtureAPI(t *testing.T) *fakeOrgAPI {
	f := newFakeOrgAPI(t, fixtureData(t))
	f.pageSize["ListAccountsForParent"] = 1
	f.pageSize["ListPolicies"] = 2
	f.pageSize["ListTargetsForPolicy"] = 4
	f.emptyFirst["ListOrganizationalUnitsForParent "+rootID] = true
	return f
}

// wantTrace is the request sequence for newFixtureAPI: breadth-first from
// the root, every list paged to its end. "+" marks a request with a
// NextToken.
func wantTrace() []string {
	return []string{
		"DescribeOrganization",
		"ListRoots",
		"ListOrganizationalUnitsForParent " + rootID,
		"ListOrganizationalUnitsForParent " + rootID + " +",
		"ListAccountsForParent " + rootID,
		"ListOrganizationalUnitsForParent " + ouWkld,
		"ListAccountsForParent " + ouWkld,
		"ListOrganizationalUnitsForParent " + ouSecu,
		"ListAccountsForParent " + ouSecu,
		"ListAccountsForParent " + ouSecu + " +",
		"ListOrganizationalUnitsForParent " + ouProd,
		"ListAccountsForParent " + ouProd,
		"ListPolicies",
		"DescribePolicy " + polFull,
		"ListTargetsForPolicy " + polFull,
		"ListTargetsForPolicy " + polFull + " +",
		"ListTargetsForPolicy " + polFull + " +",
		"DescribePolicy " + polECS,
		"ListTargetsForPolicy " + polECS,
		"ListPolicies +",
		"DescribePolicy " + polLeave,
		"ListTargetsForPolicy " + polLeave,
	}
}

// shortTrace drops the token values, keeping "+" for "had a token".
func shortTrace(f *fakeOrgAPI) []string {
	var out []string
	for _, s := range f.trace() {
		if i := strings.Index(s, " +"); i >= 0 {
			s = s[:i+2]
		}
		out = append(out, s)
	}
	return out
}

func TestLiveCollectWalksAndPages(t *testing.T) {
	f := newFixtureAPI(t)
	lt := newLiveTest(t, f, LiveOptions{})
	col := graph.NewCollection()
	c, err := lt.collect(t.Context(), col)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	checkFixtureGraph(t, col, nil)
	if c.Counts != wantFixtureCounts {
		t.Errorf("Counts = %+v, want %+v", c.Counts, wantFixtureCounts)
	}
	if d := cmp.Diff(wantTrace(), shortTrace(f)); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	for i, r := range f.requests() {
		if r.ContentType != "application/x-amz-json-1.1" || r.Target != "AWSOrganizationsV20161128."+r.Op {
			t.Errorf("request %d: Content-Type %q X-Amz-Target %q", i+1, r.ContentType, r.Target)
		}
		// Credentials came from the env chain; region defaulted to us-east-1.
		if !strings.Contains(r.Authorization, "Credential="+testAccessKey+"/") ||
			!strings.Contains(r.Authorization, "/us-east-1/organizations/aws4_request") {
			t.Errorf("request %d Authorization = %q, want SigV4 with %s for us-east-1/organizations", i+1, r.Authorization, testAccessKey)
		}
		if r.Op == "ListPolicies" && r.Body["Filter"] != "SERVICE_CONTROL_POLICY" {
			t.Errorf("request %d ListPolicies body %v, want Filter SERVICE_CONTROL_POLICY", i+1, r.Body)
		}
		if _, ok := r.Body["MaxResults"]; ok {
			t.Errorf("request %d sent MaxResults %v; want the service default", i+1, r.Body["MaxResults"])
		}
	}
	// One debug line per page of a list: every request but DescribeOrganization
	// and the three DescribePolicy calls.
	if got, want := strings.Count(lt.logs.String(), "awsorg: page"), len(wantTrace())-4; got != want {
		t.Errorf("logged %d page lines at debug, want %d:\n%s", got, want, lt.logs.String())
	}
}

func TestLiveCollectRetries(t *testing.T) {
	tests := []struct {
		name    string
		replies map[string]fakeReply
		// repeated is the request (short trace form) that must appear twice
		// in a row: the retry, with the same body and token.
		repeated string
	}{
		{
			name:     "TooManyRequestsException with HTTP 400 (API reference) is retried",
			replies:  map[string]fakeReply{"ListRoots#1": {Status: 400, Code: "TooManyRequestsException", Message: "AWS Organizations can't complete your request because another request is already in progress."}},
			repeated: "ListRoots",
		},
		{
			name:     "TooManyRequestsException with HTTP 429 (service model) mid-paging is retried with the same NextToken",
			replies:  map[string]fakeReply{"ListAccountsForParent#4": {Status: 429, Code: "TooManyRequestsException", Message: "Rate exceeded"}},
			repeated: "ListAccountsForParent " + ouSecu + " +",
		},
		{
			name:     "ServiceException 500 is retried",
			replies:  map[string]fakeReply{"DescribePolicy#1": {Status: 500, Code: "ServiceException", Message: "internal error"}},
			repeated: "DescribePolicy " + polFull,
		},
		{
			name:     "ServiceException with HTTP 400 is retried too",
			replies:  map[string]fakeReply{"ListTargetsForPolicy#2": {Status: 400, Code: "ServiceException", Message: "try again later"}},
			repeated: "ListTargetsForPolicy " + polFull + " +",
		},
		{
			name:     "503 with a non-JSON body is retried",
			replies:  map[string]fakeReply{"ListPolicies#2": {Status: 503, Body: "<html>Service Unavailable</html>"}},
			repeated: "ListPolicies +",
		},
		{
			name:     "body cut short by the connection is retried",
			replies:  map[string]fakeReply{"ListAccountsForParent#3": {TruncatedBody: true}},
			repeated: "ListAccountsForParent " + ouSecu,
		},
		{
			name:     "empty 200 body is retried, not taken as a last page",
			replies:  map[string]fakeReply{"ListOrganizationalUnitsForParent#3": {Status: 200}},
			repeated: "ListOrganizationalUnitsForParent " + ouWkld,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureAPI(t)
			f.replies = tc.replies
			lt := newLiveTest(t, f, LiveOptions{})
			col := graph.NewCollection()
			if _, err := lt.collect(t.Context(), col); err != nil {
				t.Fatalf("Collect: %v", err)
			}
			checkFixtureGraph(t, col, nil)
			// The fake's trace has the repeated request twice; drop one and
			// the rest is the normal walk.
			got := shortTrace(f)
			reqs := f.requests()
			found := false
			for i := 1; i < len(got); i++ {
				if got[i] == tc.repeated && got[i-1] == tc.repeated && reqs[i].NextToken == reqs[i-1].NextToken {
					if !strings.HasPrefix(reqs[i].SDKRequest, "attempt=2;") {
						t.Errorf("retried request Amz-Sdk-Request = %q, want attempt=2", reqs[i].SDKRequest)
					}
					got = append(got[:i:i], got[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("no repeated %q in requests:\n%s", tc.repeated, strings.Join(got, "\n"))
			}
			if d := cmp.Diff(wantTrace(), got); d != "" {
				t.Errorf("requests apart from the retry (-want +got):\n%s", d)
			}
			if !strings.Contains(lt.logs.String(), "retrying request") {
				t.Errorf("SDK retry not logged at debug:\n%s", lt.logs.String())
			}
		})
	}
}

func TestLiveCollectAPIErrors(t *testing.T) {
	tests := []struct {
		name        string
		op          string
		reply       fakeReply
		maxAttempts int
		wantTrace   []string
		wantErr     []string
		wantErrIs   error
	}{
		{
			name: "AccessDenied on ListRoots names the permission and where to run",
			op:   "ListRoots",
			reply: fakeReply{Status: 400, Code: "AccessDeniedException",
				Message: "You don't have permissions to access this resource."},
			wantTrace: []string{"DescribeOrganization", "ListRoots"},
			wantErr: []string{"ListRoots", "AccessDeniedException", "organizations:ListRoots", "organizations:Describe*", "organizations:List*",
				"management account (" + mgmtID + ")", "delegated administrator"},
			wantErrIs: ErrAccessDenied,
		},
		{
			name:      "AccessDenied with HTTP 403 on DescribePolicy names that permission",
			op:        "DescribePolicy",
			reply:     fakeReply{Status: 403, Code: "AccessDeniedException", Message: "denied"},
			wantErr:   []string{"DescribePolicy " + polFull, "organizations:DescribePolicy", "delegated administrator"},
			wantErrIs: ErrAccessDenied,
		},
		{
			name: "AWSOrganizationsNotInUseException says the account is not in an organization",
			op:   "DescribeOrganization",
			reply: fakeReply{Status: 400, Code: "AWSOrganizationsNotInUseException",
				Message: "Your account is not a member of an organization."},
			wantTrace: []string{"DescribeOrganization"},
			wantErr:   []string{"DescribeOrganization", "not a member of an organization", "management account", "delegated administrator"},
			wantErrIs: ErrNotInOrganization,
		},
		{
			name:      "AWSOrganizationsNotInUseException with a namespaced __type and HTTP 404",
			op:        "DescribeOrganization",
			reply:     fakeReply{Status: 404, Code: "com.amazonaws.organizations#AWSOrganizationsNotInUseException", Message: "not in use"},
			wantTrace: []string{"DescribeOrganization"},
			wantErrIs: ErrNotInOrganization,
		},
		{
			name:      "rejected credentials fail at once",
			op:        "DescribeOrganization",
			reply:     fakeReply{Status: 400, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
			wantTrace: []string{"DescribeOrganization"},
			wantErr:   []string{"UnrecognizedClientException", "--profile"},
			wantErrIs: ErrCredentialsRejected,
		},
		{
			name:        "endless throttling gives up after MaxAttempts",
			op:          "ListRoots",
			reply:       fakeReply{Status: 400, Code: "TooManyRequestsException", Message: "Rate exceeded"},
			maxAttempts: 3,
			wantTrace:   []string{"DescribeOrganization", "ListRoots", "ListRoots", "ListRoots"},
			wantErr:     []string{"ListRoots page 1", "TooManyRequestsException", "exceeded maximum number of attempts, 3"},
		},
		{
			name:      "ParentNotFoundException is reported with the parent",
			op:        "ListAccountsForParent",
			reply:     fakeReply{Status: 400, Code: "ParentNotFoundException", Message: "We can't find a root or OU with the ParentId that you specified."},
			wantErr:   []string{"ListAccountsForParent " + rootID + " page 1", "ParentNotFoundException"},
			wantTrace: []string{"DescribeOrganization", "ListRoots", "ListOrganizationalUnitsForParent " + rootID, "ListOrganizationalUnitsForParent " + rootID + " +", "ListAccountsForParent " + rootID},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureAPI(t)
			reply := tc.reply
			f.always, f.alwaysOp = &reply, tc.op
			lt := newLiveTest(t, f, LiveOptions{MaxAttempts: tc.maxAttempts})
			_, err := lt.collect(t.Context(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded, want an error")
			}
			if tc.wantTrace != nil {
				if d := cmp.Diff(tc.wantTrace, shortTrace(f)); d != "" {
					t.Errorf("requests (-want +got):\n%s", d)
				}
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantErrIs)
			}
			if strings.Count(err.Error(), "awsorg:") != 1 {
				t.Errorf("error %q is wrapped more than once", err)
			}
		})
	}
}

func TestLiveCollectMalformedResponse(t *testing.T) {
	tests := []struct {
		name  string
		reply map[string]fakeReply
		hook  func(op, subject string, resp map[string]any)
		edit  func(d *fakeData)
		// wantCalls, if set, is how many requests the fake must see.
		wantCalls int
		wantErr   []string
	}{
		{
			name:      "JSON cut short in a 200 is not retried",
			reply:     map[string]fakeReply{"ListAccountsForParent#2": {Status: 200, Body: `{"Accounts":[{"Id":"44444444`}},
			wantCalls: 7,
			wantErr:   []string{"ListAccountsForParent " + ouWkld + " page 1", "deserializ"},
		},
		{
			name:      "HTML in a 200",
			reply:     map[string]fakeReply{"ListRoots#1": {Status: 200, Body: "<html>proxy error</html>"}},
			wantCalls: 2,
			wantErr:   []string{"ListRoots page 1"},
		},
		{
			name:    "list of the wrong type",
			reply:   map[string]fakeReply{"ListPolicies#1": {Status: 200, Body: `{"Policies":"p-FullAWSAccess"}`}},
			wantErr: []string{"ListPolicies page 1"},
		},
		{
			name:    "timestamp of the wrong type",
			reply:   map[string]fakeReply{"ListAccountsForParent#1": {Status: 200, Body: `{"Accounts":[{"Id":"111111111111","JoinedTimestamp":"last tuesday"}]}`}},
			wantErr: []string{"ListAccountsForParent " + rootID + " page 1"},
		},
		{
			name:    "DescribeOrganization without an Organization",
			reply:   map[string]fakeReply{"DescribeOrganization#1": {Status: 200, Body: `{}`}},
			wantErr: []string{"DescribeOrganization", "no Organization"},
		},
		{
			name:    "organization without a management account",
			reply:   map[string]fakeReply{"DescribeOrganization#1": {Status: 200, Body: `{"Organization":{"Id":"o-a1b2c3d4e5"}}`}},
			wantErr: []string{"DescribeOrganization", "MasterAccountId"},
		},
		{
			name: "the same NextToken twice",
			hook: func(op, subject string, resp map[string]any) {
				if op == "ListAccountsForParent" && subject == ouSecu {
					resp["NextToken"] = makeToken(op, subject, 0)
				}
			},
			wantErr: []string{"ListAccountsForParent " + ouSecu + " page 2", "same NextToken"},
		},
		{
			name:    "account id that is not 12 digits",
			edit:    func(d *fakeData) { d.Accounts[3].Account.Id = "4444" },
			wantErr: []string{"ListAccountsForParent " + ouWkld + " page 1", `Accounts[0] (account "4444")`, "field Id"},
		},
		{
			name:    "SCP content that is not JSON",
			edit:    func(d *fakeData) { d.Policies[1].Content = "Deny ecs:* please" },
			wantErr: []string{"DescribePolicy " + polECS, "DenyECS", "field Content", "not a JSON object"},
		},
		{
			name:    "SCP content cut short",
			edit:    func(d *fakeData) { d.Policies[2].Content = `{"Version":"2012-10-17","Statement":[` },
			wantErr: []string{"DescribePolicy " + polLeave, "field Content", "not JSON"},
		},
		{
			name: "DescribePolicy answers for another policy",
			hook: func(op, subject string, resp map[string]any) {
				if op == "DescribePolicy" && subject == polECS {
					resp["Policy"].(map[string]any)["PolicySummary"] = wPolicySummary{Id: polLeave}
				}
			},
			wantErr: []string{"DescribePolicy " + polECS, polLeave},
		},
		{
			name:    "target of an unknown type",
			edit:    func(d *fakeData) { d.Policies[1].Targets[0].Type = "FOLDER" },
			wantErr: []string{"ListPolicies page 1", `policy "p-denyecs01"`, "Targets[0]", "field Type", "FOLDER"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureAPI(t)
			if tc.edit != nil {
				tc.edit(f.data)
			}
			if tc.reply != nil {
				f.replies = tc.reply
			}
			f.hook = tc.hook
			lt := newLiveTest(t, f, LiveOptions{MaxAttempts: 2})
			_, err := lt.collect(t.Context(), graph.NewCollection())
			if err == nil {
				t.Fatal("Collect succeeded, want an error")
			}
			if tc.wantCalls != 0 && len(f.requests()) != tc.wantCalls {
				t.Errorf("fake saw %d requests, want %d:\n%s", len(f.requests()), tc.wantCalls, strings.Join(f.trace(), "\n"))
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if strings.Count(err.Error(), "awsorg:") != 1 {
				t.Errorf("error %q is wrapped more than once", err)
			}
		})
	}
}

func TestLiveCollectRootPolicyTypes(t *testing.T) {
	tests := []struct {
		name         string
		edit         func(d *fakeData)
		wantSCP      string
		wantPolicies bool
		wantWarning  string
	}{
		{
			name:         "SCPs disabled on the root",
			edit:         func(d *fakeData) { d.Roots[0].PolicyTypes = d.Roots[0].PolicyTypes[1:] },
			wantSCP:      "false",
			wantPolicies: true,
		},
		{
			name:         "SCPs being enabled",
			edit:         func(d *fakeData) { d.Roots[0].PolicyTypes[0].Status = "PENDING_ENABLE" },
			wantSCP:      "false",
			wantPolicies: true,
			wantWarning:  "root r-a1b2: service control policies are PENDING_ENABLE; treated as disabled until the change completes",
		},
		{
			name: "consolidated billing only: no policies to list",
			edit: func(d *fakeData) {
				d.Org.FeatureSet = "CONSOLIDATED_BILLING"
				d.Org.AvailablePolicyTypes = nil
				d.Roots[0].PolicyTypes = nil
			},
			wantSCP: "false",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureAPI(t)
			tc.edit(f.data)
			lt := newLiveTest(t, f, LiveOptions{})
			col := graph.NewCollection()
			if _, err := lt.collect(t.Context(), col); err != nil {
				t.Fatalf("Collect: %v", err)
			}
			g := col.Sources()[0]
			if got := g.Nodes["aws:orgroot:"+rootID].Attrs["scp_enabled"]; got != tc.wantSCP {
				t.Errorf("scp_enabled = %q, want %q", got, tc.wantSCP)
			}
			_, hasSCP := g.Nodes["aws:scp:"+polFull]
			listed := false
			for _, s := range shortTrace(f) {
				listed = listed || s == "ListPolicies"
			}
			if hasSCP != tc.wantPolicies || listed != tc.wantPolicies {
				t.Errorf("SCP node present %v, ListPolicies called %v; want %v", hasSCP, listed, tc.wantPolicies)
			}
			var want []string
			if tc.wantWarning != "" {
				want = []string{tc.wantWarning}
			}
			if d := cmp.Diff(want, g.Warnings); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

// The organisation can change while it is walked: an SCP target the walk
// did not see, or an account listed under two parents, is a warning, not a
// failed collection, and no edge points at a missing node.
func TestLiveCollectOrganizationChangesDuringWalk(t *testing.T) {
	f := newFixtureAPI(t)
	f.data.Policies[2].Targets = append(f.data.Policies[2].Targets, wTarget{TargetId: "666666666666", Name: "New", Type: "ACCOUNT"})
	moved := f.data.Accounts[4]
	moved.Parent = ouWkld
	f.data.Accounts = append(f.data.Accounts, moved)
	lt := newLiveTest(t, f, LiveOptions{})
	col := graph.NewCollection()
	c, err := lt.collect(t.Context(), col)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	// Prod App is seen first under Workloads (breadth-first), then again
	// under Prod.
	g := col.Sources()[0]
	want := []string{
		"SCP p-denyleave1 (DenyLeaveOrg) is attached to account 666666666666, which the walk of the organization did not find (created or moved during collection?); attachment ignored",
		"account 555555555555 was listed under two parents (moved during collection?); kept where first seen",
	}
	if d := cmp.Diff(want, g.Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
	for k := range g.Edges {
		if _, ok := g.Nodes[k.To]; !ok {
			t.Errorf("edge %v points at a missing node", k)
		}
	}
	if got := g.Nodes["aws:account:"+acctProd].Attrs["parent"]; got != "aws:ou:"+ouWkld {
		t.Errorf("moved account parent = %q, want the first seen (Workloads)", got)
	}
	if c.Counts.Accounts != 5 || c.Counts.Attachments != 11 {
		t.Errorf("Counts = %+v", c.Counts)
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
		f := newFixtureAPI(t)
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
		f := newFixtureAPI(t)
		lt := newLiveTest(t, f, LiveOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		_, err := lt.collect(ctx, cancelSink{graph.NewCollection(), cancel})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		// The root node is the first emitted, after ListRoots.
		if d := cmp.Diff([]string{"DescribeOrganization", "ListRoots"}, shortTrace(f)); d != "" {
			t.Errorf("requests (-want +got):\n%s", d)
		}
	})

	t.Run("cancelled while a request hangs", func(t *testing.T) {
		f := newFixtureAPI(t)
		f.always, f.alwaysOp = &fakeReply{Hang: true}, "ListAccountsForParent"
		lt := newLiveTest(t, f, LiveOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			for {
				select {
				case <-f.arrived:
					if tr := f.trace(); strings.HasPrefix(tr[len(tr)-1], "ListAccountsForParent") {
						cancel()
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
		start := time.Now()
		_, err := lt.collect(ctx, graph.NewCollection())
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "ListAccountsForParent") {
			t.Fatalf("err = %v, want context.Canceled in ListAccountsForParent", err)
		}
		if d := time.Since(start); d > 10*time.Second { // generous: CI machines are shared
			t.Errorf("Collect took %s after cancel, want prompt return", d)
		}
		if n := strings.Count(strings.Join(f.trace(), "\n"), "ListAccountsForParent"); n != 1 {
			t.Errorf("fake saw %d ListAccountsForParent requests, want 1 (no retry after cancel)", n)
		}
	})

	t.Run("page timeout", func(t *testing.T) {
		f := newFixtureAPI(t)
		f.always, f.alwaysOp = &fakeReply{Hang: true}, "ListPolicies"
		lt := newLiveTest(t, f, LiveOptions{})
		c := &LiveCollector{Client: lt.client, Logger: lt.logger, PageTimeout: 100 * time.Millisecond}
		start := time.Now()
		err := c.Collect(t.Context(), graph.NewCollection())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "page timeout") || !strings.Contains(err.Error(), "ListPolicies page 1") {
			t.Fatalf("err = %v, want a ListPolicies page timeout wrapping context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 10*time.Second { // generous: CI machines are shared
			t.Errorf("Collect took %s, want about the 100ms page timeout", d)
		}
	})
}

func TestNewLiveClient(t *testing.T) {
	t.Run("explicit region signs for that region", func(t *testing.T) {
		f := newFixtureAPI(t)
		lt := newLiveTest(t, f, LiveOptions{Region: "us-gov-west-1"})
		if _, err := lt.collect(t.Context(), graph.NewCollection()); err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if auth := f.requests()[0].Authorization; !strings.Contains(auth, "/us-gov-west-1/organizations/aws4_request") {
			t.Errorf("Authorization = %q, want credential scope us-gov-west-1/organizations", auth)
		}
	})

	for _, tc := range []struct {
		name    string
		opts    LiveOptions
		wantErr string
	}{
		{"unknown profile", LiveOptions{Profile: "no-such-profile"}, `profile "no-such-profile"`},
		{"relative endpoint", LiveOptions{EndpointURL: "organizations.example.com"}, "--endpoint-url"},
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
		if err := (&LiveCollector{}).Collect(t.Context(), graph.NewCollection()); err == nil {
			t.Fatal("Collect without a client succeeded")
		}
	})
}
