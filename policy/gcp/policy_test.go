package gcp_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"permgraph/graph"
	"permgraph/policy/gcp"
)

func TestParsePolicy(t *testing.T) {
	p, err := gcp.ParsePolicy([]byte(`{"version":3,"etag":"BwX=","bindings":[
		{"role":"roles/run.developer","members":["group:eng@example.com"]},
		{"role":"roles/editor","members":["user:a@example.com"],"condition":{"title":"t","expression":"request.time < timestamp(\"2027-01-01T00:00:00Z\")"}}],
		"auditConfigs":[{"service":"allServices"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Bindings) != 2 || p.Bindings[1].Condition == nil || p.Bindings[1].Condition.Title != "t" {
		t.Errorf("parsed = %+v", p)
	}
	for _, bad := range []string{`{"bindings":[{"members":["user:a"]}]}`, `{"bindings":[{"role":"r","members":[""]}]}`,
		"{\"bindings\":[{\"role\":\"r\",\"members\":[\"user:a\\u0000\"]}]}", `[]`, `{"bindings":{}}`} {
		if _, err := gcp.ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", bad)
		}
	}
}

func TestParseMember(t *testing.T) {
	for in, want := range map[string]gcp.MemberKind{
		"user:A@B.com": gcp.MemberUser, "group:g@b.com": gcp.MemberGroup, "serviceAccount:s@p.iam.gserviceaccount.com": gcp.MemberServiceAccount,
		"domain:b.com": gcp.MemberDomain, "allUsers": gcp.MemberAllUsers, "allAuthenticatedUsers": gcp.MemberAllAuthenticated,
		"principal://iam.googleapis.com/x": gcp.MemberPrincipal, "principalSet://iam.googleapis.com/x": gcp.MemberPrincipal,
		"deleted:user:a@b.com?uid=1": gcp.MemberDeleted, "projectOwner:p": gcp.MemberConvenience, "user:": gcp.MemberUnknown, "weird": gcp.MemberUnknown,
	} {
		if got := gcp.ParseMember(in); got.Kind != want {
			t.Errorf("ParseMember(%q) = %v, want %v", in, got.Kind, want)
		}
	}
	if m := gcp.ParseMember("user:A@B.com"); m.Email != "a@b.com" {
		t.Errorf("email = %q, want lower-cased", m.Email)
	}
}

// FuzzGCPPolicy: the IAM policy parser never panics; an accepted policy
// round-trips through JSON unchanged, and every role and member it accepts
// can become a valid graph node id.
func FuzzGCPPolicy(f *testing.F) {
	for _, s := range []string{
		`{"bindings":[{"role":"roles/run.developer","members":["group:eng@example.com","allUsers"]}]}`,
		`{"version":3,"bindings":[{"role":"roles/editor","members":["user:a@b.com"],"condition":{"expression":"true","title":"x"}}],"etag":"BwX="}`,
		`{"bindings":[{"role":"projects/p/roles/c","members":["deleted:user:a@b.com?uid=1","principalSet://x/y"]}]}`,
		`{}`, `null`, `{"bindings":null}`, `{"bindings":[{"role":"r","members":["user:\u00e9"]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := gcp.ParsePolicy(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal accepted policy: %v", err)
		}
		q, err := gcp.ParsePolicy(again)
		if err != nil {
			t.Fatalf("re-parse %s: %v", again, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", p, q)
		}
		for _, bd := range p.Bindings {
			if err := (graph.Node{ID: "gcp:role:" + bd.Role, Kind: graph.NodeRoleDefinition}).Validate(); err != nil {
				t.Fatalf("accepted role %q: %v", bd.Role, err)
			}
			for _, m := range bd.Members {
				pm := gcp.ParseMember(m)
				if pm.Raw != m || strings.ContainsRune(pm.Email, 0) {
					t.Fatalf("ParseMember(%q) = %+v", m, pm)
				}
				if err := (graph.Node{ID: "gcp:principal:" + m, Kind: graph.NodeGroup}).Validate(); err != nil {
					t.Fatalf("accepted member %q: %v", m, err)
				}
			}
		}
	})
}
