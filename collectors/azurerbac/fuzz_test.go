package azurerbac

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// FuzzAzureRBACFile feeds arbitrary bytes to both offline parsers: as a
// JSON export (az CLI arrays, ARM pages, single objects) and as the body of
// a captured page of every ARM operation. Neither may panic, and whatever
// they accept must be valid graph data.
func FuzzAzureRBACFile(f *testing.F) {
	for _, glob := range []string{filepath.Join("testdata", "az", "*.json"), sharedSamples + "*.json"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"value":[` + okRA + `],"nextLink":null}`))
	f.Add([]byte(`[{"denyAssignmentName":"d","name":"g","scope":"/","principals":[{"id":"00000000-0000-0000-0000-000000000000"}]}]`))
	f.Add([]byte(`{"responses":{"200":{"body":{"value":[]}}}}`))
	paths := []string{
		"/subscriptions", "/providers/Microsoft.Management/getEntities", "/subscriptions/s/resourcegroups",
		"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions",
		"/providers/Microsoft.Authorization/roleDefinitions/g",
		"/subscriptions/s/providers/Microsoft.Authorization/roleAssignments",
		"/subscriptions/s/providers/Microsoft.Authorization/denyAssignments",
		"/subscriptions/s/providers/Microsoft.Authorization/roleEligibilityScheduleInstances",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := graph.NewCollection()
		em := newEmitter(c, tTenant)
		_, _ = importJSON(context.Background(), em, bytes.NewReader(data))
		for _, p := range paths {
			_, _ = replayPage(em, map[string]bool{}, rawcapture.Page{URL: "https://m.example" + p, Status: 200, Body: data, File: "fuzz.jsonl", Line: 1})
		}
		if err := em.finish(); err != nil {
			t.Fatalf("finish: %v", err)
		}
		for _, g := range c.Sources() {
			for _, n := range g.Nodes {
				if err := n.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			for _, e := range g.Edges {
				if err := e.Validate(); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
