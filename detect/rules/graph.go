package rules

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"permgraph/detect/event"
	"permgraph/graph"
	"permgraph/queries"
)

// Graph gives the permission graph as it stood at a time.
type Graph interface {
	ViewAt(ctx context.Context, t time.Time) (*graph.View, error)
}

// SnapshotStore is the part of graph.Store that StoreGraph reads.
type SnapshotStore interface {
	Snapshots(ctx context.Context) ([]graph.Manifest, error)
	View(ctx context.Context, at time.Time) (*graph.View, error)
}

// StoreGraph serves views from the snapshot store, building each distinct
// set of snapshots once (events arrive roughly in time order, so a stream
// touches few sets).
type StoreGraph struct {
	st        SnapshotStore
	manifests []graph.Manifest
	views     map[string]*graph.View
	order     []string // keys of views, oldest first (bounded cache)
	// latestKey is the key of the newest complete snapshot per source: the
	// only set the latest-view cache file can serve.
	latestKey string
	// recent are the last two answers with the time range each is valid
	// for, [from, to) between consecutive snapshot times, most recent
	// first: most events skip the manifest scan, including a rule that
	// alternates between the event's time and an earlier one (R05).
	recent [2]viewRange
}

// viewRange is a view and the event times it answers for.
type viewRange struct {
	v        *graph.View
	from, to time.Time
}

func (r *viewRange) holds(t time.Time) bool {
	return r.v != nil && !t.Before(r.from) && t.Before(r.to)
}

// NewStoreGraph reads the manifest list once.
func NewStoreGraph(ctx context.Context, st SnapshotStore) (*StoreGraph, error) {
	ms, err := st.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("detect: list snapshots: %w", err)
	}
	s := &StoreGraph{st: st, manifests: ms, views: map[string]*graph.View{}}
	s.latestKey = setKey(latestComplete(ms, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)))
	return s, nil
}

// latestComplete returns the newest complete snapshot per source at or
// before t.
func latestComplete(ms []graph.Manifest, t time.Time) map[string]graph.Manifest {
	latest := map[string]graph.Manifest{}
	for _, m := range ms {
		if m.Status != graph.StatusComplete || m.At.After(t) {
			continue
		}
		if cur, ok := latest[m.Source]; !ok || m.Seq > cur.Seq {
			latest[m.Source] = m
		}
	}
	return latest
}

// setKey names a set of snapshots: their sorted ids.
func setKey(set map[string]graph.Manifest) string {
	ids := make([]string, 0, len(set))
	for _, m := range set {
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// CollectionRuns returns the collection runs recorded in the manifests
// (complete and partial: a failed run also called the APIs) that name at
// least one identity, once per run (a run writes one manifest per source).
func (s *StoreGraph) CollectionRuns() []graph.CollectionRun {
	var out []graph.CollectionRun
	seen := map[string]bool{}
	for _, m := range s.manifests {
		r := m.Collection
		if r == nil || len(r.Identities) == 0 {
			continue
		}
		k := r.Start.String() + "|" + r.End.String() + "|" + strings.Join(r.Identities, ",")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, *r)
	}
	return out
}

// ViewAt returns the view of the latest complete snapshot per source at or
// before t (an empty view when none exists yet).
func (s *StoreGraph) ViewAt(ctx context.Context, t time.Time) (*graph.View, error) {
	if s.recent[0].holds(t) {
		return s.recent[0].v, nil
	}
	if s.recent[1].holds(t) {
		s.recent[0], s.recent[1] = s.recent[1], s.recent[0]
		return s.recent[0].v, nil
	}
	v, err := s.viewAt(ctx, t)
	if err != nil {
		return nil, err
	}
	// The answer holds from the newest snapshot time <= t to the next one.
	r := viewRange{v: v, to: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, m := range s.manifests {
		if m.Status != graph.StatusComplete {
			continue
		}
		if !m.At.After(t) && m.At.After(r.from) {
			r.from = m.At
		}
		if m.At.After(t) && m.At.Before(r.to) {
			r.to = m.At
		}
	}
	s.recent[1], s.recent[0] = s.recent[0], r
	return v, nil
}

// cachedLatest returns the store's latest-view cache file when it is the
// view of exactly these snapshots (the usual case: events newer than the
// last snapshot), which maps in milliseconds instead of being rebuilt from
// Badger (about a second per 100k edges).
func (s *StoreGraph) cachedLatest(ctx context.Context, key string) *graph.View {
	d, ok := s.st.(interface{ Dir() string })
	if !ok {
		return nil
	}
	v, err := graph.LoadLatestView(ctx, d.Dir(), nil)
	if err != nil {
		return nil
	}
	ms := v.Manifests()
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != key {
		return nil
	}
	return v
}

func (s *StoreGraph) viewAt(ctx context.Context, t time.Time) (*graph.View, error) {
	latest := latestComplete(s.manifests, t)
	var newest time.Time
	for _, m := range latest {
		if m.At.After(newest) {
			newest = m.At
		}
	}
	key := setKey(latest)
	if v, ok := s.views[key]; ok {
		return v, nil
	}
	// Keep a few views: events arrive roughly in time order, so older
	// snapshot sets are rarely needed again, and each view can be large.
	if len(s.order) >= maxViewsCache {
		delete(s.views, s.order[0])
		s.order = s.order[1:]
	}
	s.order = append(s.order, key)
	if len(latest) == 0 {
		v := graph.NewViewFromGraphs(t, nil)
		s.views[key] = v
		return v, nil
	}
	if key == s.latestKey {
		if v := s.cachedLatest(ctx, key); v != nil {
			s.views[key] = v
			return v, nil
		}
	}
	v, err := s.st.View(ctx, newest)
	if err != nil {
		return nil, fmt.Errorf("detect: view at %s: %w", t.Format(time.RFC3339), err)
	}
	s.views[key] = v
	// A rebuild leaves as much garbage as the view is large (decompressed
	// store blocks, arenas outgrown while reading). Collecting it now lets
	// the event loop reuse those pages instead of growing the heap into
	// fresh ones: on a 20k-principal store 5-7k fewer page faults and
	// 20-30 MB less peak RSS, for one collection per rebuild.
	runtime.GC()
	return v, nil
}

// deployIndex is who can deploy in one view, computed once per view. Paths
// are explained only for the principals an alert needs (Explain): building
// all of them was most of the index's cost.
type deployIndex struct {
	res    *queries.WhoCanResult
	byNode map[graph.NodeID]int32 // row in res.Principals
	paths  map[int32][]queries.Hop
}

func newDeployIndex(v *graph.View) (*deployIndex, error) {
	res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{IncludeConditional: true})
	if err != nil {
		return nil, err
	}
	idx := &deployIndex{res: res, byNode: make(map[graph.NodeID]int32, len(res.Principals)), paths: map[int32][]queries.Hop{}}
	for i, p := range res.Principals {
		if id, ok := v.Lookup(p.ID); ok {
			idx.byNode[id] = int32(i)
		}
	}
	return idx, nil
}

// principal returns n's row and its path, explained once per view.
func (idx *deployIndex) principal(n graph.NodeID) (queries.Principal, []queries.Hop, bool) {
	i, ok := idx.byNode[n]
	if !ok {
		return queries.Principal{}, nil, false
	}
	path, ok := idx.paths[i]
	if !ok {
		path = idx.res.Explain(int(i))
		idx.paths[i] = path
	}
	return idx.res.Principals[i], path, true
}

// resolveActor maps an event's actor to a graph node: IAM users by ARN,
// role sessions to their role (session issuer ARN, else the role name in the
// assumed-role ARN), EKS users by their canonical ARN, others by email/UPN.
func resolveActor(v *graph.View, e *event.Event) (graph.NodeID, bool) {
	a := &e.Actor
	try := func(id string) (graph.NodeID, bool) {
		if id == "" {
			return 0, false
		}
		return v.Lookup(id)
	}
	switch e.Cloud {
	case "aws":
		switch a.Type {
		case "IAMUser":
			return try("aws:" + a.Raw)
		case "Root":
			if a.Account != "" {
				return try("aws:account:" + a.Account)
			}
		}
		if a.SessionIssuer != "" {
			if n, ok := try("aws:" + a.SessionIssuer); ok {
				return n, true
			}
		}
		if n, ok := roleFromSession(v, a.Raw); ok {
			return n, true
		}
		return try("aws:" + a.Raw)
	case "azure":
		// Entra object ids are what Activity and Graph logs carry; UPNs
		// and app ids as a fallback.
		if id := strings.ToLower(a.ID); id != "" {
			for _, p := range []string{"entra:user:", "entra:sp:", "entra:group:"} {
				if n, ok := try(p + id); ok {
					return n, true
				}
			}
		}
		if n, ok := byNameWithPrefix(v, a.Raw, "entra:"); ok {
			return n, true
		}
	case "gcp", "google-workspace":
		if n, ok := googlePrincipal(v, a.Raw); ok {
			return n, true
		}
	case "k8s":
		if a.CanonicalARN != "" {
			if n, ok := roleFromSession(v, a.CanonicalARN); ok {
				return n, true
			}
			if n, ok := try("aws:" + a.CanonicalARN); ok {
				return n, true
			}
		}
		// GKE logs Google emails; AKS with Entra auth logs object ids.
		if strings.Contains(a.Raw, "@") {
			if n, ok := googlePrincipal(v, a.Raw); ok {
				return n, true
			}
		}
		if id := strings.ToLower(a.Raw); id != "" {
			for _, p := range []string{"entra:user:", "entra:sp:"} {
				if n, ok := try(p + id); ok {
					return n, true
				}
			}
		}
	}
	for _, cand := range []string{a.ID, a.Raw} {
		if cand == "" {
			continue
		}
		if n, ok := try(cand); ok {
			return n, true
		}
		if m := v.FindByName(cand); len(m) == 1 {
			return m[0], true
		}
	}
	return 0, false
}

// googlePrincipal maps an email from a GCP, GKE or Workspace log: service
// accounts by id, people to their Workspace account (not an Entra account
// with the same address).
func googlePrincipal(v *graph.View, email string) (graph.NodeID, bool) {
	email = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(email, "serviceAccount:"), "user:"))
	if email == "" {
		return 0, false
	}
	if strings.HasSuffix(email, ".gserviceaccount.com") {
		return v.Lookup("gcp:sa:" + email)
	}
	if n, ok := byNameWithPrefix(v, email, "gws:"); ok {
		return n, true
	}
	return v.Lookup("gcp:principal:user:" + email)
}

// byNameWithPrefix finds the one node named (or with email) name whose id
// has prefix.
func byNameWithPrefix(v *graph.View, name, prefix string) (graph.NodeID, bool) {
	if name == "" {
		return 0, false
	}
	var found []graph.NodeID
	for _, n := range v.FindByName(name) {
		if strings.HasPrefix(v.NodeIDString(n), prefix) && v.NodeKind(n).IsPrincipal() {
			found = append(found, n)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return 0, false
}

// roleFromSession finds the role behind an assumed-role ARN
// (arn:aws:sts::ACCT:assumed-role/NAME/SESSION) or a role ARN without its
// path (EKS canonical ARNs drop it) by name within the account.
func roleFromSession(v *graph.View, arn string) (graph.NodeID, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return 0, false
	}
	acct, res := parts[4], parts[5]
	var name string
	switch {
	case strings.HasPrefix(res, "assumed-role/"):
		name = strings.SplitN(strings.TrimPrefix(res, "assumed-role/"), "/", 2)[0]
	case strings.HasPrefix(res, "role/"):
		rest := strings.TrimPrefix(res, "role/")
		name = rest[strings.LastIndexByte(rest, '/')+1:]
	default:
		return 0, false
	}
	for _, n := range v.FindByName(name) {
		if v.NodeKind(n) != graph.NodeRole {
			continue
		}
		if strings.Contains(v.NodeIDString(n), ":"+acct+":role/") {
			return n, true
		}
	}
	return 0, false
}
