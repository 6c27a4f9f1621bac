package workspace_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/detect/event"
	"permgraph/detect/internal/sampletest"
	"permgraph/detect/workspace"
)

var ts = sampletest.Time

// TestSharedSamples documents why the shared gworkspace folder yields no
// events: it holds Admin SDK Directory API responses (groups, members,
// users, role assignments, an error body), which are directory state, not
// Reports API audit activities. Each is reported as Unknown with a reason.
func TestSharedSamples(t *testing.T) {
	res := sampletest.Shared(t, "gworkspace", workspace.Format, map[string]sampletest.Counts{
		"demisto-directory-roleassignments-list.json": {Records: 1, Unknown: 1}, // items[] of admin#directory#roleAssignment
		"demisto-directory-user-insert-response.json": {Records: 1, Unknown: 1}, // admin#directory#user
		"forseti-directory-error-403.json":            {Records: 1, Unknown: 1}, // API error body
		"forseti-directory-groups-list.json":          {Records: 1, Unknown: 1}, // admin#directory#groups
		"forseti-directory-members-list-2pages.json":  {Records: 2, Unknown: 2}, // two admin#directory#members pages
		"forseti-directory-users-list.json":           {Records: 1, Unknown: 1}, // admin#directory#users
	})
	if len(res.Events) != 0 {
		t.Errorf("events from directory responses: %+v", res.Events)
	}
	for _, p := range res.Stats.Problems {
		if p.Kind != "unknown" || p.Line == 0 {
			t.Errorf("problem %v", p)
		}
	}
}

func TestFixtures(t *testing.T) {
	res := sampletest.ReadAll(t, "testdata", "auto")
	res.CheckCounts(t, map[string]sampletest.Counts{
		"admin-activities.json": {Records: 2, Events: 3},
		"groups-token.jsonl":    {Records: 3, Events: 3},
	})
	admin := event.Actor{Raw: "super@example.com", Type: "USER", Account: "C03abcd12", ID: "104000000000000000002", SourceIP: "198.51.100.30"}
	eve := event.Actor{Raw: "eve@example.com", Type: "USER", Account: "C03abcd12", ID: "104000000000000000003", SourceIP: "203.0.113.21"}
	wantEvents := []event.Event{
		{Time: ts("2025-02-03T10:11:12.345Z"), Format: "workspace", Cloud: "google-workspace", ID: "-4123456789012345678",
			Service: "admin", Action: "ADD_GROUP_MEMBER", Class: event.Grant, Outcome: event.Success,
			Actor:   event.Actor{Raw: "groups-admin@example.com", Type: "USER", Account: "C03abcd12", ID: "104000000000000000001", SourceIP: "203.0.113.20"},
			Scope:   "C03abcd12",
			Details: map[string]string{"eventType": "GROUP_SETTINGS", "op": "add", "group": "gke-deployers@example.com", "member": "groups-admin@example.com"}},
		{Time: ts("2025-02-03T10:15:00Z"), Format: "workspace", Cloud: "google-workspace", ID: "7011223344556677889/0",
			Service: "admin", Action: "ASSIGN_ROLE", Class: event.Grant, Outcome: event.Success, Actor: admin, Scope: "C03abcd12",
			Details: map[string]string{"eventType": "DELEGATED_ADMIN_SETTINGS", "op": "add", "role": "_GROUPS_ADMIN_ROLE", "member": "eve@example.com"}},
		{Time: ts("2025-02-03T10:15:00Z"), Format: "workspace", Cloud: "google-workspace", ID: "7011223344556677889/1",
			Service: "admin", Action: "GROUP_LIST_DOWNLOAD", Class: event.DiscoveryGroup, Outcome: event.Success, Actor: admin, Scope: "C03abcd12",
			Details: map[string]string{"eventType": "GROUP_SETTINGS"}},
		{Time: ts("2025-02-03T11:00:00Z"), Format: "workspace", Cloud: "google-workspace", ID: "901",
			Service: "groups_enterprise", Action: "add_member", Class: event.Grant, Outcome: event.Success, Actor: eve, Scope: "C03abcd12",
			Details: map[string]string{"eventType": "moderator_action", "op": "add", "group": "groups/03abc", "member": "eve@example.com",
				"memberRole": "MEMBER", "memberType": "USER"}},
		{Time: ts("2025-02-03T11:05:00Z"), Format: "workspace", Cloud: "google-workspace", ID: "902",
			Service: "token", Action: "activity", Class: event.DiscoveryGroup, Outcome: event.Success, Actor: eve, Scope: "C03abcd12",
			Details: map[string]string{"eventType": "auth", "apiName": "admin", "apiMethod": "directory.groups.list",
				"oauthClient": "1234567890-abc.apps.googleusercontent.com"}},
		{Time: ts("2025-02-03T11:06:00Z"), Format: "workspace", Cloud: "google-workspace", ID: "903",
			Service: "login", Action: "login_failure", Class: event.Other, Outcome: event.Failed, Actor: eve, Scope: "C03abcd12",
			Details: map[string]string{"eventType": "login"}},
	}
	if diff := cmp.Diff(wantEvents, res.Events, sampletest.IgnoreRef); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// Events of one activity share its position.
	if res.Events[1].Ref != res.Events[2].Ref || res.Events[1].Ref.Index != 1 {
		t.Errorf("refs %+v %+v", res.Events[1].Ref, res.Events[2].Ref)
	}
}

func TestParseActivityErrors(t *testing.T) {
	tests := []sampletest.ErrCase{
		{Name: "directory object", Raw: `{"kind":"admin#directory#group","id":"1","email":"g@example.com"}`, Unrecognized: true},
		{Name: "no events", Raw: `{"kind":"admin#reports#activity","id":{"time":"t"}}`, Unrecognized: true},
		{Name: "events of a wrong shape", Raw: `{"kind":"admin#reports#activity","id":{"time":"t"},"events":"x"}`, Unrecognized: false},
		{Name: "truncated", Raw: `{"kind":"admin#reports#activity","id":{"time":"t"},"events":[`, Unrecognized: false},
	}
	sampletest.CheckErrors(t, workspace.ParseActivity, tests)
}

func TestClassify(t *testing.T) {
	tests := []struct {
		app, name string
		params    map[string]string
		want      event.Class
		remove    bool
	}{
		{"admin", "REMOVE_GROUP_MEMBER", nil, event.Grant, true},
		{"admin", "GRANT_ADMIN_PRIVILEGE", nil, event.Grant, false},
		{"admin", "CREATE_GROUP", nil, event.Other, false},
		{"groups_enterprise", "remove_member", nil, event.Grant, true},
		{"token", "authorize", nil, event.Identity, false},
		{"token", "activity", map[string]string{"method_name": "directory.roleAssignments.list"}, event.DiscoveryPermission, false},
		{"token", "activity", map[string]string{"method_name": "gmail.users.messages.list"}, event.Other, false},
	}
	for _, tt := range tests {
		c := workspace.Classify(tt.app, tt.name, tt.params)
		if c.Class != tt.want || c.Remove != tt.remove {
			t.Errorf("Classify(%s, %s) = %+v, want %v remove=%v", tt.app, tt.name, c, tt.want, tt.remove)
		}
	}
}

func FuzzWorkspace(f *testing.F) {
	if b, err := os.ReadFile("testdata/groups-token.jsonl"); err == nil {
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte(`{"kind":"admin#reports#activity","id":{"time":"2025-01-01T00:00:00Z","uniqueQualifier":"1","applicationName":"admin"},"actor":{"email":"a@b"},"events":[{"name":"ADD_GROUP_MEMBER","parameters":[{"name":"GROUP_EMAIL","value":"g"},{"name":"n","multiIntValue":["1",2]}]}]}`))
	f.Add([]byte(`{"id":{"applicationName":"groups_enterprise"},"actor":{},"events":{"name":"add_member"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		evs, err := workspace.ParseActivity(raw)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if ev.Format != workspace.Format || ev.Cloud != "google-workspace" {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}
