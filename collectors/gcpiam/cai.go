package gcpiam

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	iam "google.golang.org/api/iam/v1"

	"permgraph/graph"
)

// Cloud Asset Inventory asset types the contract has nodes for.
const (
	caiOrganization   = "cloudresourcemanager.googleapis.com/Organization"
	caiFolder         = "cloudresourcemanager.googleapis.com/Folder"
	caiProject        = "cloudresourcemanager.googleapis.com/Project"
	caiServiceAccount = "iam.googleapis.com/ServiceAccount"
)

// caiAsset is one line of a CAI export: `gcloud asset export
// --content-type=iam-policy` to GCS writes snake_case field names,
// `gcloud asset list --format=json` and the API camelCase; both are read.
// A RESOURCE content-type line (resource.data) is used for names and ids.
type caiAsset struct {
	Name           string          `json:"name"`
	AssetType      string          `json:"asset_type"`
	AssetTypeCamel string          `json:"assetType"`
	IAMPolicy      json.RawMessage `json:"iam_policy"`
	IAMPolicyCamel json.RawMessage `json:"iamPolicy"`
	Ancestors      []string        `json:"ancestors"`
	Resource       *struct {
		Data json.RawMessage `json:"data"`
	} `json:"resource"`
}

func (a *caiAsset) assetType() string {
	if a.AssetType != "" {
		return a.AssetType
	}
	return a.AssetTypeCamel
}

func (a *caiAsset) policy() json.RawMessage {
	p := a.IAMPolicy
	if len(p) == 0 {
		p = a.IAMPolicyCamel
	}
	if bytes.Equal(bytes.TrimSpace(p), []byte("null")) {
		return nil
	}
	return p
}

// caiResourceData is the union of the resource.data fields read from
// Project (v1), Folder (v2), Organization and ServiceAccount assets.
type caiResourceData struct {
	ProjectID      string `json:"projectId"`
	ProjectNumber  string `json:"projectNumber"`
	Name           string `json:"name"`
	DisplayName    string `json:"displayName"`
	LifecycleState string `json:"lifecycleState"`
	Email          string `json:"email"`
	UniqueID       string `json:"uniqueId"`
	Disabled       bool   `json:"disabled"`
}

// caiIndex holds what the first pass learns: project number -> id and
// service account unique id -> email. It grows with the number of projects
// and service accounts, never with the number of assets.
type caiIndex struct {
	projectID map[string]string
	saEmail   map[string]string
}

func newCAIIndex() *caiIndex {
	return &caiIndex{projectID: map[string]string{}, saEmail: map[string]string{}}
}

// importCAI reads CAI exports twice: the first pass over every file builds
// the index (a CAI name gives a project by number, a service account by
// unique id; a RESOURCE content-type export, possibly in another file, maps
// them), the second emits. Each line is decoded, used and dropped. open must
// return the same content each time.
func importCAI(ctx context.Context, files []string, open func(string) (io.ReadCloser, error), em *emitter, log *slog.Logger) (int, error) {
	idx := newCAIIndex()
	for _, file := range files {
		err := eachCAI(ctx, file, open, func(line int, a *caiAsset) error {
			idx.learn(a)
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	edges, stubs := map[[2]string]bool{}, map[string]bool{} // shared: the same chain recurs in every file
	for _, file := range files {
		c := caiConverter{em: em, idx: idx, file: file, edges: edges, stubs: stubs, numbered: map[string]bool{}}
		err := eachCAI(ctx, file, open, func(line int, a *caiAsset) error {
			n++
			if err := c.asset(a); err != nil {
				return fmt.Errorf("%s:%d: %w", file, line, err)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		c.summarize()
		if log != nil && c.skippedTypes != nil {
			log.Info("gcpiam: CAI assets without a node in the graph contract were skipped", "file", file, "by_type", c.skippedTypes)
		}
	}
	return n, nil
}

func eachCAI(ctx context.Context, file string, open func(string) (io.ReadCloser, error), fn func(int, *caiAsset) error) error {
	rc, err := open(file)
	if err != nil {
		return fmt.Errorf("open CAI export %s: %w", file, err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 1<<20), maxPage)
	for line := 1; sc.Scan(); line++ {
		if line%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read CAI export %s: %w", file, err)
			}
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var a caiAsset
		if err := json.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("%s:%d: not a Cloud Asset Inventory asset: %w", file, line, err)
		}
		if a.Name == "" {
			return fmt.Errorf("%s:%d: field \"name\" is missing", file, line)
		}
		if a.assetType() == "" {
			return fmt.Errorf("%s:%d: field \"asset_type\" (or \"assetType\") is missing", file, line)
		}
		if err := fn(line, &a); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read CAI export %s: %w", file, err)
	}
	return nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (idx *caiIndex) learn(a *caiAsset) {
	var data caiResourceData
	if a.Resource != nil && len(a.Resource.Data) > 0 {
		_ = json.Unmarshal(a.Resource.Data, &data) // best effort: the second pass reports bad lines
	}
	rel := shortResource(a.Name)
	switch a.assetType() {
	case caiProject:
		if data.ProjectID != "" && isNumber(data.ProjectNumber) {
			idx.projectID[data.ProjectNumber] = data.ProjectID
		}
	case caiServiceAccount:
		if data.Email != "" && data.UniqueID != "" {
			idx.saEmail[data.UniqueID] = data.Email
		}
	}
	// Any asset under projects/<id>/... whose first project ancestor is
	// projects/<number> ties the two.
	segs := strings.Split(rel, "/")
	if len(segs) >= 3 && segs[0] == "projects" && !isNumber(segs[1]) {
		for _, anc := range a.Ancestors {
			if num, ok := strings.CutPrefix(anc, "projects/"); ok && isNumber(num) {
				idx.projectID[num] = segs[1]
				break
			}
		}
	}
}

type caiConverter struct {
	em    *emitter
	idx   *caiIndex
	file  string
	edges map[[2]string]bool
	stubs map[string]bool
	// numbered: projects whose id is unknown, stored by number.
	numbered      map[string]bool
	unresolvedSAs []string
	noAncestors   []string
	skippedTypes  map[string]int
}

// scopeID maps a hierarchy name (organizations/N, folders/N, projects/N or
// projects/<id>) to a graph id and a stub node.
func (c *caiConverter) scopeID(name string) (graph.Node, bool) {
	typ, v, ok := strings.Cut(name, "/")
	if !ok || v == "" || strings.Contains(v, "/") {
		return graph.Node{}, false
	}
	switch typ {
	case "organizations", "folders":
		return scopeStub(name)
	case "projects":
		attrs := map[string]string{"type": "project"}
		id := v
		if isNumber(v) {
			attrs["number"] = v
			if pid, ok := c.idx.projectID[v]; ok {
				id = pid
			} else {
				c.numbered[name] = true
			}
		}
		return graph.Node{ID: ProjectID(id), Kind: graph.NodeScope, Attrs: attrs}, true
	}
	return graph.Node{}, false
}

func (c *caiConverter) stub(n graph.Node) error {
	if c.stubs[n.ID] {
		return nil
	}
	c.stubs[n.ID] = true
	return c.em.node(n)
}

func (c *caiConverter) asset(a *caiAsset) error {
	typ := a.assetType()
	rel := shortResource(a.Name)
	var data caiResourceData
	if a.Resource != nil && len(a.Resource.Data) > 0 && !bytes.Equal(a.Resource.Data, []byte("null")) {
		if err := json.Unmarshal(a.Resource.Data, &data); err != nil {
			return fmt.Errorf("field \"resource.data\": %w", err)
		}
	}
	c.em.mu.Lock()
	defer c.em.mu.Unlock()
	if err := c.ancestors(a); err != nil {
		return err
	}
	var (
		resID   string
		resName = rel
	)
	switch typ {
	case caiOrganization, caiFolder, caiProject:
		n, ok := c.scopeID(rel)
		if !ok {
			return fmt.Errorf("field \"name\" %q is not a %s name", a.Name, typ)
		}
		switch typ {
		case caiOrganization:
			c.em.counts.Organizations++
		case caiFolder:
			c.em.counts.Folders++
		default:
			c.em.counts.Projects++
			if data.ProjectID != "" && n.Attrs["number"] != "" {
				n.ID = ProjectID(data.ProjectID)
			}
		}
		if data.DisplayName != "" {
			n.Name = data.DisplayName
			n.Attrs["display_name"] = data.DisplayName
		} else if typ == caiProject && data.Name != "" {
			n.Name = data.Name // Project v1 "name" is the display name
			n.Attrs["display_name"] = data.Name
		}
		if data.LifecycleState != "" {
			n.Attrs["state"] = data.LifecycleState
		}
		c.stubs[n.ID] = true
		if err := c.em.node(n); err != nil {
			return err
		}
		if len(a.Ancestors) == 0 && typ != caiOrganization {
			c.noAncestors = append(c.noAncestors, rel)
		}
		resID = n.ID
		if p, ok := strings.CutPrefix(n.ID, "gcp:project:"); ok {
			resName = "projects/" + p
		}
	case caiServiceAccount:
		segs := strings.Split(rel, "/")
		if len(segs) != 4 || segs[0] != "projects" || segs[2] != "serviceAccounts" {
			return fmt.Errorf("field \"name\" %q is not a service account name", a.Name)
		}
		email := data.Email
		if email == "" && strings.Contains(segs[3], "@") {
			email = segs[3]
		}
		if email == "" {
			email = c.idx.saEmail[segs[3]]
		}
		if email == "" {
			if a.policy() != nil {
				c.unresolvedSAs = append(c.unresolvedSAs, rel)
			}
			return nil
		}
		if data.Email != "" {
			c.em.counts.ServiceAccounts++
			sa := &iam.ServiceAccount{Email: data.Email, UniqueId: data.UniqueID, DisplayName: data.DisplayName,
				Disabled: data.Disabled, ProjectId: data.ProjectID}
			if sa.ProjectId == "" && !isNumber(segs[1]) {
				sa.ProjectId = segs[1]
			}
			if err := c.em.node(saNode(sa)); err != nil {
				return err
			}
		}
		resID = ServiceAccountID(email)
		resName = "projects/" + segs[1] + "/serviceAccounts/" + strings.ToLower(email)
	default:
		if c.skippedTypes == nil {
			c.skippedTypes = map[string]int{}
		}
		c.skippedTypes[typ]++
		c.em.counts.Skipped++
		return nil
	}
	pol := a.policy()
	if pol == nil {
		return nil
	}
	doc, err := normalizePolicy(pol)
	if err != nil {
		return fmt.Errorf("field \"iam_policy\": %w", err)
	}
	c.em.counts.Policies++
	return c.em.node(graph.Node{ID: PolicyID(resID), Kind: graph.NodePolicy, Name: resName,
		Attrs: map[string]string{"resource": resID, "policy": doc}})
}

// ancestors emits the hierarchy chain: ancestors[i+1] Contains ancestors[i].
// The first element is the asset itself (for scopes) or its project.
func (c *caiConverter) ancestors(a *caiAsset) error {
	var prev graph.Node
	for i, anc := range a.Ancestors {
		n, ok := c.scopeID(anc)
		if !ok {
			return fmt.Errorf("field \"ancestors[%d]\" %q is not organizations/, folders/ or projects/<n>", i, anc)
		}
		if err := c.stub(n); err != nil {
			return err
		}
		if i > 0 {
			k := [2]string{n.ID, prev.ID}
			if !c.edges[k] {
				c.edges[k] = true
				err := c.em.edge(graph.Edge{From: n.ID, Kind: graph.EdgeContains, To: prev.ID,
					Evidence: []graph.Evidence{{Source: a.Ancestors[i-1], Detail: "parent " + anc}}})
				if err != nil {
					return err
				}
			}
		}
		prev = n
	}
	return nil
}

func examples(xs []string) string {
	sort.Strings(xs)
	if len(xs) > 5 {
		return strings.Join(xs[:5], ", ") + ", ..."
	}
	return strings.Join(xs, ", ")
}

// summarize turns the export's gaps into one warning each.
func (c *caiConverter) summarize() {
	if len(c.numbered) > 0 {
		var xs []string
		for n := range c.numbered {
			xs = append(xs, n)
		}
		c.em.warn(fmt.Sprintf("CAI export %s: %d project(s) appear only by number (%s): stored as gcp:project:<number>; "+
			"export the RESOURCE content type too (or collect live) to map numbers to project ids", c.file, len(xs), examples(xs)))
	}
	if len(c.unresolvedSAs) > 0 {
		c.em.warn(fmt.Sprintf("CAI export %s: IAM policies of %d service account(s) skipped: named by unique id only (%s); "+
			"export the RESOURCE content type too to map them to emails", c.file, len(c.unresolvedSAs), examples(c.unresolvedSAs)))
	}
	if len(c.noAncestors) > 0 {
		c.em.warn(fmt.Sprintf("CAI export %s: %d folder(s)/project(s) without \"ancestors\" (%s): their place in the hierarchy "+
			"is unknown, so bindings inherited from above are not applied; export with a current gcloud (ancestors are included)",
			c.file, len(c.noAncestors), examples(c.noAncestors)))
	}
}
