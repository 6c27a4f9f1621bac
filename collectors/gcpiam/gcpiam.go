// Package gcpiam collects GCP IAM facts: the resource hierarchy
// (organization, folders, projects), the IAM allow policy of every scope and
// of every service account, the service accounts themselves and custom roles.
// It writes exactly the "GCP IAM" part of docs/model-azure-gcp.md: members are
// not resolved here; each policy is stored verbatim (compacted, bindings
// sorted) on a gcp:iam:<resource graph id> node and the evaluator (policy/gcp)
// turns bindings into edges.
//
// Live reads the Resource Manager v3 and IAM v1 APIs; File reads a directory
// of raw captures (--save-raw), gcloud get-iam-policy outputs or Cloud Asset
// Inventory IAM policy exports (docs/offline.md, section "GCP IAM").
package gcpiam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	iam "google.golang.org/api/iam/v1"

	"permgraph/collectors/internal/googleretry"
	"permgraph/graph"
)

// Defaults applied when the Options field is zero.
const (
	DefaultConcurrency = 8
	DefaultPageTimeout = 2 * time.Minute
	// RawCaptureFile is the file name --save-raw writes inside SaveRawDir.
	RawCaptureFile = "gcp.jsonl"
	// policyVersion 3 is the only version that returns conditional
	// bindings with their condition; lower versions hide them.
	policyVersion = 3
)

// Options configures NewLive and NewFile.
type Options struct {
	// Org is the organization to walk: "organizations/123" or "123".
	Org string
	// Projects, when set, is the explicit list of project ids to collect
	// (projects.get each); the org walk then covers only the organization and
	// its folders. Without Org, only these projects are collected.
	Projects []string
	// Source is the snapshot source id, "google:<customer-or-org>" (the CLI
	// decides). Required.
	Source string
	// ResourceManagerEndpoint and IAMEndpoint override the API base URLs
	// (private endpoints, tests), e.g. "https://cloudresourcemanager.googleapis.com/".
	ResourceManagerEndpoint string
	IAMEndpoint             string
	// HTTPClient is an authenticated client; its Transport is wrapped with
	// retries, the page timeout and --save-raw. Nil means TokenSource, or
	// Application Default Credentials when that is nil too.
	HTTPClient *http.Client
	// TokenSource is a pre-acquired token source, used when HTTPClient is nil.
	TokenSource oauth2.TokenSource
	// Concurrency bounds the requests in flight (default DefaultConcurrency).
	Concurrency int
	// PageTimeout bounds one request including its retries and body read
	// (default DefaultPageTimeout; negative disables it).
	PageTimeout time.Duration
	// Retry tunes the retrying transport (zero fields take its defaults).
	Retry googleretry.Options
	// SaveRawDir, when set, records every response into SaveRawDir/gcp.jsonl
	// (rawcapture format) for a later File collection.
	SaveRawDir string
	Logger     *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Counts is what one collection saw, for logs, tests and benchmarks.
type Counts struct {
	Organizations, Folders, Projects int
	ServiceAccounts                  int
	Policies                         int
	Roles                            int
	Warnings                         int
	// Skipped counts CAI assets whose type the contract has no node for
	// (buckets, datasets, keys...).
	Skipped int
}

// Node id helpers (docs/model-azure-gcp.md, "GCP IAM").

// OrgID is the graph id of an organization (number without "organizations/").
func OrgID(number string) string { return "gcp:org:" + number }

// FolderID is the graph id of a folder.
func FolderID(number string) string { return "gcp:folder:" + number }

// ProjectID is the graph id of a project (by project id, not number).
func ProjectID(projectID string) string { return "gcp:project:" + projectID }

// ServiceAccountID is the graph id of a service account.
func ServiceAccountID(email string) string { return "gcp:sa:" + strings.ToLower(email) }

// PolicyID is the id of the IAM policy node of the resource with graph id res.
func PolicyID(res string) string { return "gcp:iam:" + res }

// RoleID is the graph id of a custom role ("projects/p/roles/x").
func RoleID(fullName string) string { return "gcp:role:" + fullName }

// normalizeOrg accepts "organizations/123" or "123".
func normalizeOrg(org string) string {
	org = strings.TrimSpace(org)
	if org == "" || strings.HasPrefix(org, "organizations/") {
		return org
	}
	return "organizations/" + org
}

// resourceGraphID maps a Resource Manager / IAM resource name to its graph id:
// organizations/N, folders/N, projects/<id>, projects/<p>/serviceAccounts/<email>.
// A service account named by unique id, or anything else, is not mapped.
func resourceGraphID(name string) (string, bool) {
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 2 && parts[1] != "":
		switch parts[0] {
		case "organizations":
			return OrgID(parts[1]), true
		case "folders":
			return FolderID(parts[1]), true
		case "projects":
			return ProjectID(parts[1]), true
		}
	case len(parts) == 4 && parts[0] == "projects" && parts[2] == "serviceAccounts" && strings.Contains(parts[3], "@"):
		return ServiceAccountID(parts[3]), true
	}
	return "", false
}

// scopeStub is the minimal node for a scope known only by name (a parent).
func scopeStub(name string) (graph.Node, bool) {
	typ, num, ok := strings.Cut(name, "/")
	if !ok || num == "" || strings.Contains(num, "/") {
		return graph.Node{}, false
	}
	switch typ {
	case "organizations":
		return graph.Node{ID: OrgID(num), Kind: graph.NodeScope, Attrs: map[string]string{"type": "organization", "number": num}}, true
	case "folders":
		return graph.Node{ID: FolderID(num), Kind: graph.NodeScope, Attrs: map[string]string{"type": "folder", "number": num}}, true
	}
	return graph.Node{}, false
}

// Policy normalization: every source (SDK struct, raw page, gcloud file, CAI
// line) goes through the same types, so the stored JSON is byte-identical for
// the same policy however it was read.

type policyJSON struct {
	Bindings     []bindingJSON     `json:"bindings,omitempty"`
	Etag         string            `json:"etag,omitempty"`
	Version      int64             `json:"version,omitempty"`
	AuditConfigs []auditConfigJSON `json:"auditConfigs,omitempty"`
}

type bindingJSON struct {
	Role      string    `json:"role"`
	Members   []string  `json:"members"`
	Condition *exprJSON `json:"condition,omitempty"`
}

type exprJSON struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Expression  string `json:"expression"`
	Location    string `json:"location,omitempty"`
}

type auditConfigJSON struct {
	Service         string               `json:"service"`
	AuditLogConfigs []auditLogConfigJSON `json:"auditLogConfigs,omitempty"`
}

type auditLogConfigJSON struct {
	LogType         string   `json:"logType"`
	ExemptedMembers []string `json:"exemptedMembers,omitempty"`
}

// normalizePolicy decodes an IAM policy and re-encodes it compactly with
// members sorted inside each binding and bindings sorted by role, condition
// and members, so snapshots do not churn on API ordering.
func normalizePolicy(raw []byte) (string, error) {
	var p policyJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("IAM policy: %w", err)
	}
	for i := range p.Bindings {
		b := &p.Bindings[i]
		if b.Role == "" {
			return "", fmt.Errorf("IAM policy: bindings[%d]: field \"role\" is missing", i)
		}
		if b.Condition != nil && b.Condition.Expression == "" {
			return "", fmt.Errorf("IAM policy: bindings[%d] (%s): field \"condition.expression\" is missing", i, b.Role)
		}
		if b.Members == nil {
			b.Members = []string{}
		}
		sort.Strings(b.Members)
	}
	sort.SliceStable(p.Bindings, func(i, j int) bool { return lessBinding(&p.Bindings[i], &p.Bindings[j]) })
	// No HTML escaping: CEL expressions keep their "<", ">" and "&&".
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return "", fmt.Errorf("IAM policy: encode: %w", err)
	}
	return strings.TrimSuffix(out.String(), "\n"), nil
}

func lessBinding(a, b *bindingJSON) bool {
	if a.Role != b.Role {
		return a.Role < b.Role
	}
	ca, cb := condKey(a.Condition), condKey(b.Condition)
	if ca != cb {
		return ca < cb
	}
	return strings.Join(a.Members, "\x00") < strings.Join(b.Members, "\x00")
}

func condKey(c *exprJSON) string {
	if c == nil {
		return ""
	}
	return "\x01" + c.Expression + "\x00" + c.Title
}

// emitter maps API objects onto graph nodes and edges for one source. It is
// safe for concurrent use (graph.Sink implementations need not be): every
// sink call happens under mu. Warnings are buffered and flushed sorted, so
// a concurrent run stores them in a deterministic order.
type emitter struct {
	mu       sync.Mutex
	sink     graph.Sink
	source   string
	stubs    map[string]bool // scope stubs already emitted
	warnings []string
	counts   Counts
	err      error
}

func newEmitter(source string, sink graph.Sink) *emitter {
	return &emitter{sink: sink, source: source, stubs: map[string]bool{}}
}

func (e *emitter) node(n graph.Node) error {
	if err := e.sink.AddNode(e.source, n); err != nil {
		return fmt.Errorf("add node %s: %w", n.ID, err)
	}
	return nil
}

func (e *emitter) edge(ed graph.Edge) error {
	if err := e.sink.AddEdge(e.source, ed); err != nil {
		return fmt.Errorf("add edge %s -> %s: %w", ed.From, ed.To, err)
	}
	return nil
}

func (e *emitter) warn(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.warnings = append(e.warnings, msg)
}

// flush writes the buffered warnings, sorted and de-duplicated.
func (e *emitter) flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	sort.Strings(e.warnings)
	prev := ""
	for i, w := range e.warnings {
		if i > 0 && w == prev {
			continue
		}
		prev = w
		e.sink.Warn(e.source, w)
		e.counts.Warnings++
	}
	e.warnings = nil
}

// contains links parent (a resource name) to child, emitting a stub for the
// parent so the edge never dangles. Callers hold mu.
func (e *emitter) contains(parent, childID, childName string) error {
	stub, ok := scopeStub(parent)
	if !ok {
		if parent != "" {
			e.warnings = append(e.warnings, fmt.Sprintf("%s: parent %q is not an organization or folder; left without a parent", childName, parent))
		}
		return nil
	}
	if !e.stubs[stub.ID] {
		e.stubs[stub.ID] = true
		if err := e.node(stub); err != nil {
			return err
		}
	}
	return e.edge(graph.Edge{From: stub.ID, Kind: graph.EdgeContains, To: childID,
		Evidence: []graph.Evidence{{Source: childName, Detail: "parent " + parent}}})
}

func (e *emitter) org(o *crm.Organization) error {
	num := strings.TrimPrefix(o.Name, "organizations/")
	if num == "" || num == o.Name {
		return fmt.Errorf("organization: field \"name\" %q is not organizations/<number>", o.Name)
	}
	attrs := map[string]string{"type": "organization", "number": num}
	if o.DisplayName != "" {
		attrs["display_name"] = o.DisplayName
	}
	if o.State != "" {
		attrs["state"] = o.State
	}
	if o.DirectoryCustomerId != "" {
		attrs["directory_customer_id"] = o.DirectoryCustomerId
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts.Organizations++
	e.stubs[OrgID(num)] = true
	return e.node(graph.Node{ID: OrgID(num), Kind: graph.NodeScope, Name: o.DisplayName, Attrs: attrs})
}

func (e *emitter) folder(f *crm.Folder) error {
	num := strings.TrimPrefix(f.Name, "folders/")
	if num == "" || num == f.Name || strings.Contains(num, "/") {
		return fmt.Errorf("folder: field \"name\" %q is not folders/<number>", f.Name)
	}
	id := FolderID(num)
	attrs := map[string]string{"type": "folder", "number": num}
	if f.DisplayName != "" {
		attrs["display_name"] = f.DisplayName
	}
	if f.State != "" {
		attrs["state"] = f.State
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts.Folders++
	e.stubs[id] = true
	if err := e.node(graph.Node{ID: id, Kind: graph.NodeScope, Name: f.DisplayName, Attrs: attrs}); err != nil {
		return err
	}
	return e.contains(f.Parent, id, f.Name)
}

func (e *emitter) project(p *crm.Project) error {
	if p.ProjectId == "" {
		return fmt.Errorf("project %q: field \"projectId\" is missing", p.Name)
	}
	id := ProjectID(p.ProjectId)
	attrs := map[string]string{"type": "project"}
	if num := strings.TrimPrefix(p.Name, "projects/"); num != p.Name && num != "" {
		attrs["number"] = num
	}
	if p.DisplayName != "" {
		attrs["display_name"] = p.DisplayName
	}
	if p.State != "" {
		attrs["state"] = p.State
	}
	name := p.DisplayName
	if name == "" {
		name = p.ProjectId
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts.Projects++
	if err := e.node(graph.Node{ID: id, Kind: graph.NodeScope, Name: name, Attrs: attrs}); err != nil {
		return err
	}
	return e.contains(p.Parent, id, "projects/"+p.ProjectId)
}

// resourceStub emits the minimal node of the resource a policy file names,
// so a project known only from its policy still exists as a scope.
func (e *emitter) resourceStub(resource string) error {
	n, ok := scopeStub(resource)
	if !ok {
		id, known := resourceGraphID(resource)
		switch {
		case !known:
			return nil
		case strings.HasPrefix(id, "gcp:project:"):
			n = graph.Node{ID: id, Kind: graph.NodeScope, Attrs: map[string]string{"type": "project"}}
		default:
			email := strings.TrimPrefix(id, "gcp:sa:")
			n = graph.Node{ID: id, Kind: graph.NodeServiceAccount, Email: email}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stubs[n.ID] {
		return nil
	}
	e.stubs[n.ID] = true
	return e.node(n)
}

// policy stores the IAM policy of resource (a resource name) given as JSON.
func (e *emitter) policy(resource string, raw []byte) error {
	res, ok := resourceGraphID(resource)
	if !ok {
		return fmt.Errorf("IAM policy of %q: not an organization, folder, project or service account (by email) name", resource)
	}
	doc, err := normalizePolicy(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", resource, err)
	}
	return e.policyNode(res, resource, doc)
}

func (e *emitter) policyNode(res, name, doc string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts.Policies++
	return e.node(graph.Node{ID: PolicyID(res), Kind: graph.NodePolicy, Name: name,
		Attrs: map[string]string{"resource": res, "policy": doc}})
}

// sdkPolicy normalizes a policy returned by either SDK (the JSON field names
// are the same in Resource Manager and IAM).
func (e *emitter) sdkPolicy(resource string, p any) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("%s: encode IAM policy: %w", resource, err)
	}
	return e.policy(resource, raw)
}

func (e *emitter) serviceAccount(sa *iam.ServiceAccount) error {
	if sa.Email == "" {
		return fmt.Errorf("service account %q: field \"email\" is missing", sa.Name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts.ServiceAccounts++
	return e.node(saNode(sa))
}

func saNode(sa *iam.ServiceAccount) graph.Node {
	attrs := map[string]string{"disabled": fmt.Sprint(sa.Disabled)}
	if sa.ProjectId != "" {
		attrs["project"] = sa.ProjectId
	}
	if sa.UniqueId != "" {
		attrs["unique_id"] = sa.UniqueId
	}
	name := sa.DisplayName
	if name == "" {
		name = strings.ToLower(sa.Email)
	}
	return graph.Node{ID: ServiceAccountID(sa.Email), Kind: graph.NodeServiceAccount,
		Name: name, Email: strings.ToLower(sa.Email), Attrs: attrs}
}

func (e *emitter) role(r *iam.Role) error {
	if !strings.Contains(r.Name, "/roles/") || strings.HasPrefix(r.Name, "roles/") {
		return fmt.Errorf("custom role: field \"name\" %q is not projects/<p>/roles/<r> or organizations/<n>/roles/<r>", r.Name)
	}
	attrs := map[string]string{}
	if r.Stage != "" {
		attrs["stage"] = r.Stage
	}
	if r.Deleted {
		attrs["deleted"] = "true"
	}
	if r.Title != "" {
		attrs["title"] = r.Title
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.IncludedPermissions != nil {
		perms := append([]string(nil), r.IncludedPermissions...)
		sort.Strings(perms)
		b, err := json.Marshal(perms)
		if err != nil {
			return fmt.Errorf("custom role %s: encode permissions: %w", r.Name, err)
		}
		attrs["permissions"] = string(b)
	} else {
		e.warnings = append(e.warnings, fmt.Sprintf("custom role %s: no includedPermissions (listed without view=FULL?); its grants are unknown", r.Name))
	}
	e.counts.Roles++
	name := r.Title
	if name == "" {
		name = r.Name
	}
	return e.node(graph.Node{ID: RoleID(r.Name), Kind: graph.NodeRoleDefinition, Name: name, Attrs: attrs})
}

// apiWarning is the text of a per-object 403/404, the same for a live error
// and its replay from a capture.
func apiWarning(op, resource string, code int, msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = http.StatusText(code)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s; skipped, answers about it are incomplete", op, resource, code, msg)
}
