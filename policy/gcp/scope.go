package gcp

import (
	"sort"
	"strings"

	"permgraph/graph"
)

// scopeTree is the resource hierarchy (organisation > folders > projects)
// and which project each service account lives in. Permissions granted at a
// scope apply to every project below it.
type scopeTree struct {
	parent    map[string]string
	children  map[string][]string
	projects  []string // gcp:project:* ids, sorted
	projIdx   map[string]int32
	saProject map[string]int32 // gcp:sa:* -> project index
	projSAs   [][]string       // project index -> its service accounts, sorted
	descMemo  map[string][]int32
}

func isScope(id string) bool {
	return strings.HasPrefix(id, "gcp:org:") || strings.HasPrefix(id, "gcp:folder:") || strings.HasPrefix(id, "gcp:project:")
}

func buildScopeTree(gs []*graph.SourceGraph) *scopeTree {
	t := &scopeTree{parent: map[string]string{}, children: map[string][]string{}, projIdx: map[string]int32{},
		saProject: map[string]int32{}, descMemo: map[string][]int32{}}
	projects := map[string]bool{}
	saProj := map[string]string{}
	for _, g := range gs {
		for id, n := range g.Nodes {
			switch {
			case strings.HasPrefix(id, "gcp:project:"):
				projects[id] = true
			case strings.HasPrefix(id, "gcp:sa:"):
				if p := n.Attrs["project"]; p != "" {
					saProj[id] = "gcp:project:" + p
				}
			}
		}
	}
	for _, g := range gs {
		for _, e := range g.Edges {
			if e.Kind != graph.EdgeContains {
				continue
			}
			switch {
			case isScope(e.From) && isScope(e.To):
				if strings.HasPrefix(e.To, "gcp:project:") {
					projects[e.To] = true
				}
				if _, dup := t.parent[e.To]; !dup {
					t.parent[e.To] = e.From
					t.children[e.From] = append(t.children[e.From], e.To)
				}
			case strings.HasPrefix(e.From, "gcp:project:") && strings.HasPrefix(e.To, "gcp:sa:"):
				if _, ok := saProj[e.To]; !ok {
					saProj[e.To] = e.From
				}
			}
		}
	}
	for p := range projects {
		t.projects = append(t.projects, p)
	}
	sort.Strings(t.projects)
	for i, p := range t.projects {
		t.projIdx[p] = int32(i)
	}
	t.projSAs = make([][]string, len(t.projects))
	for sa, p := range saProj {
		if i, ok := t.projIdx[p]; ok {
			t.saProject[sa] = i
			t.projSAs[i] = append(t.projSAs[i], sa)
		}
	}
	for _, list := range t.projSAs {
		sort.Strings(list)
	}
	return t
}

// projectsUnder returns the projects at or below scope (indexes, sorted).
// The result is shared: do not modify it.
func (t *scopeTree) projectsUnder(scope string) []int32 {
	if out, ok := t.descMemo[scope]; ok {
		return out
	}
	t.descMemo[scope] = nil // cycle guard: a Contains loop yields nothing more
	var out []int32
	if i, ok := t.projIdx[scope]; ok {
		out = append(out, i)
	}
	for _, c := range t.children[scope] {
		out = append(out, t.projectsUnder(c)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	out = compactInt32(out)
	t.descMemo[scope] = out
	return out
}

// appliesTo reports whether a binding on resource reaches project p: the
// resource is p or one of its ancestors, or a service account in p.
func (t *scopeTree) appliesTo(resource string, p int32) bool {
	if i, ok := t.saProject[resource]; ok {
		return i == p
	}
	seen := 0
	for s := t.projects[p]; s != ""; s = t.parent[s] {
		if s == resource {
			return true
		}
		if seen++; seen > 64 { // a Contains loop; real hierarchies are at most ~12 deep
			return false
		}
	}
	return false
}

func compactInt32(s []int32) []int32 {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
