package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"permgraph/graph"
	"permgraph/queries"
)

// The streamed who-can JSON must be byte for byte what encoding the whole
// result gives, including HTML escaping of attacker-controlled names.
func TestWhoCanJSONStreamsSameBytes(t *testing.T) {
	rows := []queries.Principal{
		{ID: "aws:u1", Kind: "user", Name: `"principals": [] <script>&`, Via: "direct", Scopes: []string{"1"}, Hops: 1},
		{ID: "aws:u2", Kind: "user", Name: "bob", Via: "escalation", Conditional: true, Scopes: []string{}, Hops: 3,
			Through: "aws:r", ThroughName: "DeployRole", Incomplete: "x",
			Path: []queries.Hop{{From: "aws:u2", Edge: "CanAssume", To: "aws:r", Evidence: []graph.Evidence{{Source: "s", Statement: "0"}}}}},
	}
	for name, res := range map[string]*queries.WhoCanResult{
		"rows":  {Capability: "deploy-container", At: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Snapshots: []string{"a@1"}, Principals: rows, Warnings: []string{"w"}},
		"empty": {Capability: "deploy-container", Snapshots: []string{}, Principals: []queries.Principal{}, HiddenConditional: 2},
	} {
		var want, got bytes.Buffer
		if err := writeJSON(&want, res); err != nil {
			t.Fatal(err)
		}
		if err := writeWhoCanJSON(&got, res); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want.String(), got.String()); d != "" {
			t.Errorf("%s: streamed JSON differs (-whole +streamed):\n%s", name, d)
		}
	}
}
