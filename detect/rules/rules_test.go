package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/collectors/awsiam"
	"permgraph/collectors/awsorg"
	"permgraph/detect/cloudtrail"
	"permgraph/detect/event"
	"permgraph/graph"
	"permgraph/ingest"
)

const acct = "111122223333"

var (
	snapAt  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	eventT0 = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
)

// sampleStore collects the bundled sample organisation into a fresh store.
func sampleStore(t *testing.T) *graph.Store {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	open := func(ctx context.Context) (ingest.Store, error) { return graph.Open(ctx, dir, nil) }
	sample := "../../testdata/sample-org/"
	c := ingest.Multi{&awsorg.FileCollector{Path: sample + "aws-org.json"},
		&awsiam.FileCollector{Path: sample + "aws-111122223333.json"}, &awsiam.FileCollector{Path: sample + "aws-444455556666.json"}}
	if _, err := ingest.Run(context.Background(), c, open, ingest.Options{At: snapAt}); err != nil {
		t.Fatal(err)
	}
	st, err := graph.OpenReadOnly(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// ct writes one CloudTrail record (native format) and parses it.
type ct struct {
	user    string // IAM user name in the sample account, or "role:NAME" for a role session
	source  string
	name    string
	at      time.Duration // after eventT0
	params  map[string]any
	errCode string
	ua      string
	resp    map[string]any // responseElements
	key     string         // access key id override
}

func (c ct) record(i int) []byte {
	ident := map[string]any{"type": "IAMUser", "principalId": "AIDA" + strings.ToUpper(c.user), "accountId": acct,
		"arn": "arn:aws:iam::" + acct + ":user/eng/" + c.user, "userName": c.user, "accessKeyId": "AKIA" + strings.ToUpper(c.user)}
	if paths := map[string]string{"erin": "/audit/", "frank": "/ops/", "gina": "/ops/", "ci-bot": "/automation/"}; paths[c.user] != "" {
		ident["arn"] = "arn:aws:iam::" + acct + ":user" + paths[c.user] + c.user
	}
	if c.user == "mallory" {
		ident["arn"] = "arn:aws:iam::" + acct + ":user/mallory"
	}
	if role, ok := strings.CutPrefix(c.user, "role:"); ok {
		ident = map[string]any{"type": "AssumedRole", "principalId": "AROA:sess", "accountId": acct,
			"arn": "arn:aws:sts::" + acct + ":assumed-role/" + role + "/sess", "accessKeyId": "ASIAX",
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + acct + ":role/" + role, "userName": role}}}
	}
	ua := c.ua
	if ua == "" {
		ua = "aws-cli/2.15.0"
	}
	rec := map[string]any{"eventVersion": "1.09", "userIdentity": ident, "eventTime": eventT0.Add(c.at).Format(time.RFC3339),
		"eventSource": c.source, "eventName": c.name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7", "userAgent": ua,
		"requestParameters": c.params, "responseElements": nil, "eventID": fmt.Sprintf("00000000-0000-0000-0000-%012d", i),
		"eventType": "AwsApiCall", "recipientAccountId": acct}
	if c.errCode != "" {
		rec["errorCode"], rec["errorMessage"] = c.errCode, "denied"
	}
	if c.resp != nil {
		rec["responseElements"] = c.resp
	}
	if c.key != "" {
		ident["accessKeyId"] = c.key
	}
	b, _ := json.Marshal(rec)
	return b
}

func run(t *testing.T, st *graph.Store, cfg Config, events []ct) []Alert {
	t.Helper()
	g, err := NewStoreGraph(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	en := NewEngine(g, cfg, DefaultRules(nil))
	var out []Alert
	for i, c := range events {
		ev, err := cloudtrail.ParseRecord(c.record(i))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		as, err := en.Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, as...)
	}
	return out
}

type fired struct{ Rule, Actor string }

func summary(as []Alert) []fired {
	var out []fired
	for _, a := range as {
		out = append(out, fired{a.Rule, a.Actor.Name})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Actor < out[j].Actor
	})
	return out
}

func discoveryCalls(user string, n int, spacing time.Duration) []ct {
	var out []ct
	calls := []string{"ListGroups", "GetGroup", "ListAttachedGroupPolicies", "ListGroupPolicies", "ListGroupsForUser"}
	for i := 0; i < n; i++ {
		out = append(out, ct{user: user, source: "iam.amazonaws.com", name: calls[i%len(calls)], at: time.Duration(i) * spacing,
			params: map[string]any{"groupName": fmt.Sprintf("g%d", i), "userName": fmt.Sprintf("u%d", i)}})
	}
	return out
}

var runTask = map[string]any{"cluster": "prod", "taskDefinition": "arn:aws:ecs:us-east-1:111122223333:task-definition/app:1"}

func TestRules(t *testing.T) {
	st := sampleStore(t)
	tests := []struct {
		name   string
		events []ct
		cfg    Config
		want   []fired
	}{
		{"R01 burst", discoveryCalls("erin", 30, 10*time.Second), Config{}, []fired{{"R01", "erin"}}},
		{"R01 benign: slow reads", discoveryCalls("erin", 6, 15*time.Minute), Config{}, nil},
		{"R01 suppressed for permgraph's collector", discoveryCalls("erin", 30, 10*time.Second), Config{Collectors: []string{"aws:arn:aws:iam::111122223333:user/audit/erin"}}, nil},
		{"R01 allowlist needs the usual user agent", discoveryCalls("erin", 30, 10*time.Second), Config{Allow: []AllowEntry{{Principal: "aws:arn:aws:iam::111122223333:user/audit/erin", UserAgent: "scanner/1.0"}}}, []fired{{"R01", "erin"}}},
		{"R02 first discovery after 14 days of history", []ct{
			{user: "alice", source: "s3.amazonaws.com", name: "GetObject", at: -20 * 24 * time.Hour, params: map[string]any{"bucketName": "b"}},
			{user: "erin", source: "iam.amazonaws.com", name: "ListGroups", params: map[string]any{}},
		}, Config{}, []fired{{"R02", "erin"}}},
		{"R02 benign: not enough history yet", []ct{{user: "erin", source: "iam.amazonaws.com", name: "ListGroups", params: map[string]any{}}}, Config{}, nil},
		{"R02 benign: fires once, not again within 14 days", []ct{
			{user: "alice", source: "s3.amazonaws.com", name: "GetObject", at: -20 * 24 * time.Hour, params: map[string]any{"bucketName": "b"}},
			{user: "erin", source: "iam.amazonaws.com", name: "ListGroups", at: -3 * 24 * time.Hour, params: map[string]any{}},
			{user: "erin", source: "iam.amazonaws.com", name: "GetGroup", params: map[string]any{"groupName": "Deployers"}},
		}, Config{}, []fired{{"R02", "erin"}}},
		{"R03 self probe", []ct{{user: "erin", source: "iam.amazonaws.com", name: "SimulatePrincipalPolicy", params: map[string]any{"policySourceArn": "arn:aws:iam::111122223333:user/audit/erin"}}}, Config{}, []fired{{"R03", "erin"}}},
		{"R04 deploy without a path", []ct{{user: "erin", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}}, Config{}, []fired{{"R04", "erin"}}},
		{"R04 benign: member of an approved deployer group", []ct{{user: "erin", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}}, Config{ApprovedDeployers: []string{"Auditors"}}, nil},
		{"R04 benign: alice may deploy", []ct{{user: "alice", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}}, Config{}, nil},
		{"R04 benign: role session of DeployRole", []ct{{user: "role:DeployRole", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}}, Config{}, nil},
		{"R04 escalation-only path", []ct{{user: "frank", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}}, Config{}, []fired{{"R04", "frank"}}},
		{"R04 unknown identity", []ct{{user: "mallory", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}}, Config{}, []fired{{"R04", "arn:aws:iam::111122223333:user/mallory"}}},
		{"R04 benign: denied deploy is not a deploy", []ct{{user: "erin", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, errCode: "AccessDenied"}}, Config{}, nil},
		{"R05 grant then deploy", []ct{
			{user: "gina", source: "iam.amazonaws.com", name: "AddUserToGroup", params: map[string]any{"groupName": "Deployers", "userName": "gina"}},
			{user: "gina", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 10 * time.Minute},
		}, Config{}, []fired{{"R05", "gina"}}},
		{"R05 upgrades R04 when the grant arrives late", []ct{
			{user: "gina", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 10 * time.Minute},
			{user: "gina", source: "iam.amazonaws.com", name: "AddUserToGroup", params: map[string]any{"groupName": "Deployers", "userName": "gina"}},
		}, Config{}, []fired{{"R04", "gina"}, {"R05", "gina"}}},
		{"R10 discovery then deploy", append(discoveryCalls("alice", 3, time.Minute),
			ct{user: "alice", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 30 * time.Minute}), Config{}, []fired{{"R10", "alice"}}},
		{"R10 benign: deploy long after discovery", append(discoveryCalls("alice", 3, time.Minute),
			ct{user: "alice", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 3 * time.Hour}), Config{}, nil},
		{"R07 task role the deployer may not pass", []ct{{user: "alice", source: "ecs.amazonaws.com", name: "RunTask",
			params: map[string]any{"cluster": "prod", "taskDefinition": "app:1", "overrides": map[string]any{"taskRoleArn": "arn:aws:iam::111122223333:role/DeployRole"}}}}, Config{}, []fired{{"R07", "alice"}}},
		{"R07 benign: the role alice may pass", []ct{{user: "alice", source: "ecs.amazonaws.com", name: "RunTask",
			params: map[string]any{"cluster": "prod", "taskDefinition": "app:1", "overrides": map[string]any{"taskRoleArn": "arn:aws:iam::111122223333:role/app/AppTaskRole"}}}}, Config{}, nil},
		{"R06 deploy through a session the snapshot does not explain", []ct{
			{user: "erin", source: "sts.amazonaws.com", name: "AssumeRole", params: map[string]any{"roleArn": "arn:aws:iam::111122223333:role/DeployRole", "roleSessionName": "x"},
				resp: map[string]any{"credentials": map[string]any{"accessKeyId": "ASIAERIN1"}, "assumedRoleUser": map[string]any{"arn": "arn:aws:sts::111122223333:assumed-role/DeployRole/x"}}},
			{user: "role:DeployRole", key: "ASIAERIN1", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 5 * time.Minute},
		}, Config{}, []fired{{"R06", "DeployRole"}}},
		{"R06 benign: the usual chain", []ct{
			{user: "role:JumpRole", source: "sts.amazonaws.com", name: "AssumeRole", params: map[string]any{"roleArn": "arn:aws:iam::111122223333:role/DeployRole", "roleSessionName": "x"},
				resp: map[string]any{"credentials": map[string]any{"accessKeyId": "ASIAJUMP1"}, "assumedRoleUser": map[string]any{"arn": "arn:aws:sts::111122223333:assumed-role/DeployRole/x"}}},
			{user: "role:DeployRole", key: "ASIAJUMP1", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 5 * time.Minute},
		}, Config{}, nil},
		{"R08 privileged task definition", []ct{{user: "alice", source: "ecs.amazonaws.com", name: "RegisterTaskDefinition",
			params: map[string]any{"family": "x", "containerDefinitions": []any{map[string]any{"name": "a", "image": "busybox", "privileged": true}}}}}, Config{}, []fired{{"R08", "alice"}}},
		{"R08 benign: platform principal", []ct{{user: "alice", source: "ecs.amazonaws.com", name: "RegisterTaskDefinition",
			params: map[string]any{"family": "x", "containerDefinitions": []any{map[string]any{"name": "a", "image": "busybox", "privileged": true}}}}},
			Config{Platform: []string{"aws:arn:aws:iam::111122223333:user/eng/alice"}}, nil},
		{"R03 benign: a few denials", []ct{
			{user: "erin", source: "ecs.amazonaws.com", name: "DescribeTasks", errCode: "AccessDenied", params: map[string]any{"cluster": "prod"}},
			{user: "erin", source: "s3.amazonaws.com", name: "GetObject", errCode: "AccessDenied", params: map[string]any{"bucketName": "b"}, at: time.Minute},
		}, Config{}, nil},
		{"R09 benign: denied exec", []ct{{user: "bob", source: "ecs.amazonaws.com", name: "ExecuteCommand", errCode: "AccessDeniedException", params: map[string]any{"cluster": "prod", "task": "abc", "container": "app", "interactive": true, "command": "/bin/sh"}}}, Config{}, nil},
		{"R05 benign: deploy with no grant and a standing path", []ct{{user: "alice", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}}, Config{}, nil},
		{"R09 exec into a task", []ct{{user: "bob", source: "ecs.amazonaws.com", name: "ExecuteCommand", params: map[string]any{"cluster": "prod", "task": "abc", "container": "app", "interactive": true, "command": "/bin/sh"}}}, Config{}, []fired{{"R09", "bob"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, st, tt.cfg, tt.events)
			if diff := cmp.Diff(tt.want, summary(got)); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
			for _, a := range got {
				if len(a.Attack) == 0 || len(a.Response) == 0 || len(a.Events) == 0 || a.Key == "" || len(a.Snapshots) == 0 {
					t.Errorf("alert missing fields: %+v", a)
				}
			}
		})
	}
}

func TestAlertNamesSessionOrigin(t *testing.T) {
	st := sampleStore(t)
	got := run(t, st, Config{}, []ct{
		{user: "erin", source: "sts.amazonaws.com", name: "AssumeRole", params: map[string]any{"roleArn": "arn:aws:iam::111122223333:role/DeployRole", "roleSessionName": "x"},
			resp: map[string]any{"credentials": map[string]any{"accessKeyId": "ASIAERIN2"}, "assumedRoleUser": map[string]any{"arn": "arn:aws:sts::111122223333:assumed-role/DeployRole/x"}}},
		{user: "role:DeployRole", key: "ASIAERIN2", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: time.Minute},
	})
	if len(got) != 1 || got[0].Actor.Origin != "aws:arn:aws:iam::111122223333:user/audit/erin" {
		t.Fatalf("the alert should name erin as the session's origin: %+v", got)
	}
}

func TestEscalationOnlyDeployCarriesPath(t *testing.T) {
	st := sampleStore(t)
	got := run(t, st, Config{}, []ct{{user: "frank", source: "ecs.amazonaws.com", name: "RunTask", params: runTask}})
	if len(got) != 1 || len(got[0].EvidencePath) == 0 || got[0].EvidencePath[0].Edge != "CanUpdateTrust" || got[0].Labels[0] != "escalation-only-path" {
		t.Fatalf("want R04 with the escalation path as evidence: %+v", got)
	}
}

func TestEventBeforeAnySnapshot(t *testing.T) {
	st := sampleStore(t)
	g, err := NewStoreGraph(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	en := NewEngine(g, Config{}, DefaultRules(nil))
	ev, err := cloudtrail.ParseRecord(ct{user: "alice", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: -24 * 60 * time.Hour}.record(1))
	if err != nil {
		t.Fatal(err)
	}
	as, err := en.Process(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Actor.Resolved != "unresolved" || !containsLabel(as[0], "no-snapshot-before-event") {
		t.Fatalf("a deploy before the first snapshot is unresolved, and says why: %+v", as)
	}
	if en.Stats().Events != 1 {
		t.Fatal("stats not counted")
	}
	_ = event.Deploy
}

func containsLabel(a Alert, l string) bool {
	for _, x := range a.Labels {
		if x == l {
			return true
		}
	}
	return false
}

// BenchmarkEngine measures the rules engine alone (events pre-parsed) on a
// mixed CloudTrail stream against the sample organisation.
func BenchmarkEngine(b *testing.B) {
	st := sampleStoreB(b)
	g, err := NewStoreGraph(context.Background(), st)
	if err != nil {
		b.Fatal(err)
	}
	users := []string{"alice", "bob", "carol", "erin", "frank", "gina"}
	calls := []ct{{source: "s3.amazonaws.com", name: "GetObject"}, {source: "iam.amazonaws.com", name: "ListGroups"}, {source: "iam.amazonaws.com", name: "GetGroup"},
		{source: "ecs.amazonaws.com", name: "DescribeTasks"}, {source: "ecs.amazonaws.com", name: "RunTask", params: runTask}, {source: "sts.amazonaws.com", name: "GetCallerIdentity"}}
	var evs []event.Event
	for i := 0; i < 10000; i++ {
		c := calls[i%len(calls)]
		c.user, c.at = users[(i/7)%len(users)], time.Duration(i)*200*time.Millisecond
		if c.params == nil {
			c.params = map[string]any{"groupName": fmt.Sprintf("g%d", i%40)}
		}
		ev, err := cloudtrail.ParseRecord(c.record(i))
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		en := NewEngine(g, Config{}, DefaultRules(nil))
		for _, ev := range evs {
			if _, err := en.Process(context.Background(), ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

func sampleStoreB(b *testing.B) *graph.Store {
	t := &testing.T{}
	_ = t
	dir := filepath.Join(b.TempDir(), "db")
	open := func(ctx context.Context) (ingest.Store, error) { return graph.Open(ctx, dir, nil) }
	sample := "../../testdata/sample-org/"
	c := ingest.Multi{&awsorg.FileCollector{Path: sample + "aws-org.json"}, &awsiam.FileCollector{Path: sample + "aws-111122223333.json"}}
	if _, err := ingest.Run(context.Background(), c, open, ingest.Options{At: snapAt}); err != nil {
		b.Fatal(err)
	}
	st, err := graph.OpenReadOnly(context.Background(), dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func TestRulesFromConfig(t *testing.T) {
	rs, err := RulesFromConfig(Config{Params: map[string]map[string]string{"R01": {"window": "5m", "min_events": "40"}}, Disabled: []string{"R09"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Meta{}
	for _, r := range rs {
		got[r.Meta().ID] = r.Meta()
	}
	if _, ok := got["R09"]; ok {
		t.Error("R09 should be disabled")
	}
	if got["R01"].Params["window"] != "5m0s" || got["R01"].Params["min_events"] != "40" {
		t.Errorf("R01 params = %v", got["R01"].Params)
	}
	for _, bad := range []Config{
		{Params: map[string]map[string]string{"R01": {"windw": "5m"}}},
		{Params: map[string]map[string]string{"R99": {"window": "5m"}}},
		{Params: map[string]map[string]string{"R01": {"window": "soon"}}},
		{Params: map[string]map[string]string{"R03": {"denied_ratio": "2"}}},
		{Disabled: []string{"R42"}},
	} {
		if _, err := RulesFromConfig(bad, nil); err == nil {
			t.Errorf("config %+v: want an error", bad)
		}
	}
	if len(DefaultRules(nil)) != 11 {
		t.Errorf("default rule set has %d rules, want 11", len(DefaultRules(nil)))
	}
}

// A tuned window changes what fires: R01 with min_events 40 stays quiet on
// a 30-call burst (and with too few targets and actions to fire otherwise).
func TestTunedParamChangesOutcome(t *testing.T) {
	st := sampleStore(t)
	g, err := NewStoreGraph(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Params: map[string]map[string]string{"R01": {"min_events": "40", "min_targets": "40"}}}
	rs, err := RulesFromConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	en := NewEngine(g, cfg, rs)
	var got []Alert
	for i, c := range discoveryCalls("erin", 30, 10*time.Second) {
		ev, err := cloudtrail.ParseRecord(c.record(i))
		if err != nil {
			t.Fatal(err)
		}
		as, err := en.Process(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, as...)
	}
	if len(got) != 0 {
		t.Fatalf("tuned R01 should not fire: %+v", summary(got))
	}
}

// TestWhoamiIsNotAProbe: sts GetCallerIdentity (made by every SDK, CLI and
// Terraform run) neither fires R03 nor opens an R10 sequence before a
// deploy by a principal with a path.
func TestWhoamiIsNotAProbe(t *testing.T) {
	st := sampleStore(t)
	got := summary(run(t, st, Config{}, []ct{
		{user: "alice", source: "sts.amazonaws.com", name: "GetCallerIdentity"},
		{user: "alice", source: "ecs.amazonaws.com", name: "RunTask", at: time.Minute, params: runTask},
	}))
	if len(got) != 0 {
		t.Errorf("GetCallerIdentity then a routine deploy alerted: %v", got)
	}
}

// TestFirstSeenChainWithoutR02: R06 counts baseline coverage from every
// event, not only from chain deploys, so a chain first seen after 14 days
// of logs fires even when R02 (which also notes coverage) is disabled and
// the chain's deploy is the first one in the stream.
func TestFirstSeenChainWithoutR02(t *testing.T) {
	st := sampleStore(t)
	g, err := NewStoreGraph(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	events := []ct{
		{user: "alice", source: "s3.amazonaws.com", name: "GetObject", at: -20 * 24 * time.Hour, params: map[string]any{"bucketName": "b"}},
		{user: "role:JumpRole", source: "sts.amazonaws.com", name: "AssumeRole", params: map[string]any{"roleArn": "arn:aws:iam::111122223333:role/DeployRole", "roleSessionName": "x"},
			resp: map[string]any{"credentials": map[string]any{"accessKeyId": "ASIAJUMP9"}, "assumedRoleUser": map[string]any{"arn": "arn:aws:sts::111122223333:assumed-role/DeployRole/x"}}},
		{user: "role:DeployRole", key: "ASIAJUMP9", source: "ecs.amazonaws.com", name: "RunTask", params: runTask, at: 5 * time.Minute},
	}
	for _, disabled := range [][]string{nil, {"R02"}} {
		cfg := Config{Disabled: disabled}
		rs, err := RulesFromConfig(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		en := NewEngine(g, cfg, rs)
		var got []Alert
		for i, c := range events {
			ev, err := cloudtrail.ParseRecord(c.record(i))
			if err != nil {
				t.Fatal(err)
			}
			as, err := en.Process(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, as...)
		}
		if len(got) != 1 || got[0].Rule != "R06" || !containsLabel(got[0], "first-seen-chain") || containsLabel(got[0], "chain-not-in-snapshot") {
			t.Errorf("disabled %v: want one R06 first-seen-chain (JumpRole -> DeployRole, in the snapshot), got %+v", disabled, summary(got))
		}
	}
}

// TestControllerCreatedPods: R04 and R08 skip a pod with an owner reference
// only when a kube-system controller (or the controller manager) created
// it; an owner reference set by anyone else, or a controller's pod without
// one, is judged.
func TestControllerCreatedPods(t *testing.T) {
	st := sampleStore(t)
	g, err := NewStoreGraph(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	pod := func(user, owner string) event.Event {
		e := event.Event{Time: eventT0, Format: "k8s-audit", Cloud: "k8s", Service: "k8s", Action: "create pods", Class: event.Deploy,
			Outcome: event.Success, Actor: event.Actor{Raw: user, Type: "serviceAccount"}, Scope: "prod-eks", Resource: "monitoring/node-exporter-x"}
		e.SetDetail("hostPath", "true")
		e.SetDetail("ownerKind", owner)
		return e
	}
	for _, tt := range []struct {
		user, owner string
		want        []fired
	}{
		{"system:serviceaccount:kube-system:daemon-set-controller", "DaemonSet", nil},
		{"system:kube-controller-manager", "ReplicaSet", nil},
		{"system:serviceaccount:build:ci-runner", "DaemonSet", []fired{{"R04", "system:serviceaccount:build:ci-runner"}, {"R08", "system:serviceaccount:build:ci-runner"}}},
		{"system:serviceaccount:kube-system:daemon-set-controller", "", []fired{{"R04", "system:serviceaccount:kube-system:daemon-set-controller"}, {"R08", "system:serviceaccount:kube-system:daemon-set-controller"}}},
	} {
		en := NewEngine(g, Config{}, DefaultRules(nil))
		got, err := en.Process(context.Background(), pod(tt.user, tt.owner))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tt.want, summary(got)); d != "" {
			t.Errorf("%s, owner %q (-want +got):\n%s", tt.user, tt.owner, d)
		}
	}
}
