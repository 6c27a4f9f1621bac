package rules

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"permgraph/detect/event"
	"permgraph/graph"
)

// Non-AWS actors resolve to the collectors' node ids: Entra object ids,
// Workspace accounts by email (not the Entra twin with the same address),
// service accounts by email, GKE emails and AKS object ids.
func TestResolveActorAcrossClouds(t *testing.T) {
	az := graph.NewSourceGraph("azure:t1")
	gg := graph.NewSourceGraph("google:C1")
	for _, n := range []struct {
		g  *graph.SourceGraph
		id string
		k  graph.NodeKind
		nm string
		em string
	}{
		{az, "entra:user:0a11ce00-0000-4000-8000-000000000001", graph.NodeUser, "Alice", "alice@corp.example"},
		{az, "entra:sp:5b000000-0000-4000-8000-000000000002", graph.NodeServicePrincipal, "ci-pipeline", ""},
		{gg, "gws:user:1001", graph.NodeUser, "Alice Ng", "alice@corp.example"},
		{gg, "gcp:sa:deployer@ml-prod.iam.gserviceaccount.com", graph.NodeServiceAccount, "deployer", "deployer@ml-prod.iam.gserviceaccount.com"},
	} {
		if err := n.g.AddNode(graph.Node{ID: n.id, Kind: n.k, Name: n.nm, Email: n.em}); err != nil {
			t.Fatal(err)
		}
	}
	v := graph.NewViewFromGraphs(time.Now(), nil, az, gg)
	for _, tc := range []struct {
		name  string
		cloud string
		actor event.Actor
		want  string
	}{
		{"azure activity by oid", "azure", event.Actor{Raw: "alice@corp.example", ID: "0A11CE00-0000-4000-8000-000000000001"}, "entra:user:0a11ce00-0000-4000-8000-000000000001"},
		{"azure app by oid", "azure", event.Actor{Raw: "c0ffee", ID: "5b000000-0000-4000-8000-000000000002"}, "entra:sp:5b000000-0000-4000-8000-000000000002"},
		{"azure by UPN only", "azure", event.Actor{Raw: "Alice@corp.example"}, "entra:user:0a11ce00-0000-4000-8000-000000000001"},
		{"gcp audit user", "gcp", event.Actor{Raw: "alice@corp.example"}, "gws:user:1001"},
		{"gcp audit service account", "gcp", event.Actor{Raw: "deployer@ml-prod.iam.gserviceaccount.com"}, "gcp:sa:deployer@ml-prod.iam.gserviceaccount.com"},
		{"workspace admin activity", "google-workspace", event.Actor{Raw: "alice@corp.example"}, "gws:user:1001"},
		{"gke user", "k8s", event.Actor{Raw: "alice@corp.example"}, "gws:user:1001"},
		{"aks entra object id", "k8s", event.Actor{Raw: "0a11ce00-0000-4000-8000-000000000001"}, "entra:user:0a11ce00-0000-4000-8000-000000000001"},
		{"unknown", "gcp", event.Actor{Raw: "mallory@evil.example"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &event.Event{Cloud: tc.cloud, Actor: tc.actor}
			n, ok := resolveActor(v, e)
			got := ""
			if ok {
				got = v.NodeIDString(n)
			}
			if got != tc.want {
				t.Fatalf("resolveActor = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDeployScopePerCloud(t *testing.T) {
	for _, tc := range []struct {
		e      event.Event
		scopes []string
		want   bool
	}{
		{event.Event{Cloud: "aws", Scope: "111122223333"}, []string{"111122223333"}, true},
		{event.Event{Cloud: "aws", Scope: "111122223333"}, []string{"444455556666"}, false},
		{event.Event{Cloud: "gcp", Scope: "ml-prod"}, []string{"ml-prod", "web-prod"}, true},
		{event.Event{Cloud: "azure", Scope: "5B5B", Resource: "/subscriptions/5B5B/resourceGroups/apps/providers/Microsoft.App/containerApps/x"},
			[]string{"/subscriptions/5b5b/resourcegroups/apps"}, true},
		{event.Event{Cloud: "azure", Scope: "5b5b", Resource: "/subscriptions/5b5b/resourceGroups/other/providers/Microsoft.App/containerApps/x"},
			[]string{"/subscriptions/5b5b/resourcegroups/apps"}, false},
		{event.Event{Cloud: "azure", Scope: "5b5b"}, []string{"/subscriptions/5b5b"}, true},
		{event.Event{Cloud: "azure", Scope: "5b5b0"}, []string{"/subscriptions/5b5b"}, false},
	} {
		if got := scopeCovered(tc.scopes, deployScope(&tc.e)); got != tc.want {
			t.Errorf("%s %q %q: covered by %v = %v", tc.e.Cloud, tc.e.Scope, tc.e.Resource, tc.scopes, got)
		}
	}
}

// The engine's caches stay bounded over a long run: old views' deploy
// indexes are released and the dedupe set rotates.
func TestEngineCachesBounded(t *testing.T) {
	en := NewEngine(nil, Config{}, nil)
	var views []*graph.View
	for i := 0; i < maxViewsCache+3; i++ {
		v := graph.NewViewFromGraphs(time.Unix(int64(i), 0), nil)
		views = append(views, v)
		if _, _, err := en.deployPathAt(v, 0, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	if len(en.deploy) != maxViewsCache || en.deploy[views[0]] != nil || en.deploy[views[len(views)-1]] == nil {
		t.Fatalf("deploy cache holds %d views (oldest kept: %v)", len(en.deploy), en.deploy[views[0]] != nil)
	}
	en.maxSeen = 100
	for i := 0; i < 2*en.maxSeen+10; i++ {
		en.markSeen(strconv.Itoa(i))
	}
	if !en.seenKey(strconv.Itoa(2*en.maxSeen+9)) || !en.seenKey(strconv.Itoa(en.maxSeen)) || en.seenKey("0") {
		t.Fatal("dedupe generations: want recent keys kept and the oldest generation dropped")
	}
	if len(en.seen)+len(en.seenOld) > 2*en.maxSeen {
		t.Fatal("dedupe set unbounded")
	}
}

// noBuildStore refuses to build views from Badger: only the latest-view
// cache file can answer.
type noBuildStore struct{ *graph.Store }

func (noBuildStore) View(context.Context, time.Time) (*graph.View, error) {
	return nil, errors.New("built from Badger")
}

// Events after the last snapshot are judged against the store's latest-view
// cache file (mapped) instead of a view rebuilt from Badger; older events,
// whose snapshot set differs, still rebuild.
func TestStoreGraphUsesLatestViewCache(t *testing.T) {
	ctx := context.Background()
	st, err := graph.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g1 := graph.NewSourceGraph("azure:t1")
	g1.AddNode(graph.Node{ID: "entra:user:a", Kind: graph.NodeUser, Name: "a"})
	if _, err := st.WriteSnapshot(ctx, g1, time.Unix(1000, 0)); err != nil {
		t.Fatal(err)
	}
	g2 := graph.NewSourceGraph("azure:t1")
	g2.AddNode(graph.Node{ID: "entra:user:b", Kind: graph.NodeUser, Name: "b"})
	if _, err := st.WriteSnapshot(ctx, g2, time.Unix(2000, 0)); err != nil {
		t.Fatal(err)
	}
	sg, err := NewStoreGraph(ctx, noBuildStore{st})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sg.ViewAt(ctx, time.Unix(3000, 0))
	if err != nil {
		t.Fatalf("latest view not served from the cache file: %v", err)
	}
	if _, ok := v.Lookup("entra:user:b"); !ok {
		t.Fatal("cached view is not the latest snapshot")
	}
	if _, err := sg.ViewAt(ctx, time.Unix(1500, 0)); err == nil {
		t.Fatal("an older snapshot set was answered from the latest cache")
	}
}
