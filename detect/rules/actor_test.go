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
	if len(en.views) != maxViewsCache || en.views[views[0]] != nil || en.views[views[len(views)-1]] == nil {
		t.Fatalf("view cache holds %d views (oldest kept: %v)", len(en.views), en.views[views[0]] != nil)
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

// Per-actor state stays bounded over a long stream of ever new actors:
// once a map reaches sweepMinKeys, actors idle beyond their horizon are
// dropped, and active ones are kept.
func TestPerActorStateSwept(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	w := newWindow(10 * time.Minute)
	for i := 0; i < sweepMinKeys; i++ {
		w.add("old"+strconv.Itoa(i), stamp{t: t0})
	}
	w.add("active", stamp{t: t0.Add(2 * time.Hour)})
	w.add("new", stamp{t: t0.Add(2 * time.Hour)})
	if len(w.byKey) != 2 || w.byKey["active"] == nil {
		t.Fatalf("window: %d actors after the sweep, want the 2 active ones", len(w.byKey))
	}

	en := NewEngine(emptyGraph{graph.NewViewFromGraphs(t0, nil)}, Config{}, DefaultRules(nil))
	ctx := context.Background()
	grant := func(who string, at time.Time) {
		e := event.Event{Time: at, Cloud: "aws", Action: "AddUserToGroup", Class: event.Grant, Outcome: event.Success, Actor: event.Actor{Raw: "arn:aws:iam::1:user/admin"}}
		e.SetDetail("member", who)
		if _, err := en.Process(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < sweepMinKeys; i++ {
		grant("user"+strconv.Itoa(i), t0)
	}
	grant("late", t0.Add(26*time.Hour))
	if len(en.grants) != 1 || en.grants["late"] == nil {
		t.Fatalf("grant journal: %d grantees after the sweep, want 1", len(en.grants))
	}
	var r10 *discoveryThenDeploy
	for _, r := range en.rules {
		if d, ok := r.(*discoveryThenDeploy); ok {
			r10 = d
		}
	}
	for i := 0; i < sweepMinKeys; i++ {
		e := event.Event{Time: t0.Add(27 * time.Hour), Cloud: "aws", Action: "ListGroups", Class: event.DiscoveryGroup, Outcome: event.Success, Actor: event.Actor{Raw: "arn:aws:iam::1:user/u" + strconv.Itoa(i)}}
		if _, err := en.Process(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	e := event.Event{Time: t0.Add(31 * time.Hour), Cloud: "aws", Action: "ListGroups", Class: event.DiscoveryGroup, Outcome: event.Success, Actor: event.Actor{Raw: "arn:aws:iam::1:user/last"}}
	if _, err := en.Process(ctx, e); err != nil {
		t.Fatal(err)
	}
	if len(r10.disc) != 1 {
		t.Fatalf("R10 discovery queues: %d actors after the sweep, want 1", len(r10.disc))
	}
}

// The per-view resolution cache is keyed by the raw identity but answers
// by the whole signature: the same session ARN under another issuer
// resolves to that issuer.
func TestResolveCacheBySignature(t *testing.T) {
	b := graph.NewViewBuilder()
	b.AddNode(graph.Node{ID: "aws:arn:aws:iam::111122223333:role/a", Kind: graph.NodeRole, Name: "a"})
	b.AddNode(graph.Node{ID: "aws:arn:aws:iam::111122223333:role/b", Kind: graph.NodeRole, Name: "b"})
	v := b.Build(time.Unix(0, 0), nil)
	en := NewEngine(emptyGraph{v}, Config{}, nil)
	ev := func(issuer string) *event.Event {
		return &event.Event{Cloud: "aws", Actor: event.Actor{Raw: "arn:aws:sts::111122223333:assumed-role/x/s", Type: "AssumedRole", SessionIssuer: issuer}}
	}
	for _, want := range []string{"a", "b", "a", "b"} {
		r := en.resolve(v, ev("arn:aws:iam::111122223333:role/"+want))
		if !r.ok || r.key != "aws:arn:aws:iam::111122223333:role/"+want {
			t.Fatalf("issuer %s: resolved %v %q", want, r.ok, r.key)
		}
	}
	if r := en.resolve(v, ev("")); r.ok || r.key != "aws:arn:aws:sts::111122223333:assumed-role/x/s" {
		t.Fatalf("no issuer: resolved %v %q", r.ok, r.key)
	}
}
