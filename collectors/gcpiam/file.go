package gcpiam

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	crm "google.golang.org/api/cloudresourcemanager/v3"
	iam "google.golang.org/api/iam/v1"

	"permgraph/collectors/internal/googleretry"
	"permgraph/collectors/internal/rawcapture"
	"permgraph/collectors/internal/rawscan"
	"permgraph/graph"
)

// maxGcloudFile bounds one gcloud output file (a policy is a few KB; a
// service account list of a big project a few MB).
const maxGcloudFile = 256 << 20

// File collects from a directory (docs/offline.md, "GCP IAM"):
//
//   - *.jsonl, *.ndjson: a raw capture written by --save-raw (lines with
//     "url", "status", "body"; dispatched on the URL path, query ignored;
//     pages of other APIs, e.g. the Workspace capture, are skipped), or a
//     Cloud Asset Inventory export (lines with "name" and "asset_type" /
//     "assetType"); the first line decides.
//   - <scope>.iam.json: `gcloud ... get-iam-policy --format=json` output where
//     <scope> is project-<projectId>, folder-<number>, organization-<number>
//     or serviceaccount-<email>; or, under any *.iam.json name, a wrapper
//     {"resource": "projects/<id>", "policy": {...}}.
//   - project-<id>.service-accounts.json: `gcloud iam service-accounts list
//     --format=json` (a list) or the API response {"accounts": [...]}.
//   - project-<id>.roles.json, organization-<n>.roles.json: `gcloud iam roles
//     list --format=json` or the API response {"roles": [...]} (view=FULL
//     for includedPermissions).
//
// Other files are ignored (a --from directory is shared with the Workspace
// collector).
type File struct {
	dir string
	o   Options
	log *slog.Logger
	// Counts is filled in by Collect.
	Counts Counts
}

// NewFile returns a collector reading dir.
func NewFile(dir string, o Options) *File {
	return &File{dir: dir, o: o, log: o.logger()}
}

// Collect reads every recognized file of the directory, in name order.
func (f *File) Collect(ctx context.Context, sink graph.Sink) error {
	if f.o.Source == "" {
		return errors.New("gcpiam: Options.Source is empty (want google:<customer-or-org>)")
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return fmt.Errorf("gcpiam: read %s: %w", f.dir, err)
	}
	em := newEmitter(f.o.Source, sink)
	defer func() {
		em.flush()
		f.Counts = em.counts
	}()
	used := 0
	var caiFiles []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("gcpiam: import %s: %w", f.dir, err)
		}
		path := filepath.Join(f.dir, e.Name())
		var n int
		switch kind := fileKind(e.Name()); kind {
		case kindJSONL:
			var cai bool
			n, cai, err = importJSONL(ctx, path, em, f.log)
			if cai {
				caiFiles = append(caiFiles, path)
			}
		case kindNone:
			f.log.Debug("gcpiam: ignoring file", "file", path)
			continue
		default:
			var data []byte
			data, err = readLimited(path)
			if err == nil {
				n, err = importGcloud(e.Name(), kind, data, em)
			}
			if err != nil {
				err = fmt.Errorf("%s: %w", path, err)
			}
		}
		if err != nil {
			return fmt.Errorf("gcpiam: import %w", err)
		}
		used += n
	}
	if len(caiFiles) > 0 {
		open := func(p string) (io.ReadCloser, error) { return os.Open(p) }
		n, err := importCAI(ctx, caiFiles, open, em, f.log)
		if err != nil {
			return fmt.Errorf("gcpiam: import %w", err)
		}
		used += n
	}
	if used == 0 {
		return fmt.Errorf("gcpiam: %w in %s (want gcp.jsonl from --save-raw, a Cloud Asset Inventory export *.jsonl, or <scope>.iam.json files; see docs/offline.md)", ErrNoData, f.dir)
	}
	f.log.Info("gcpiam: imported GCP IAM", "dir", f.dir, "records", used, "folders", em.counts.Folders,
		"projects", em.counts.Projects, "service_accounts", em.counts.ServiceAccounts,
		"policies", em.counts.Policies, "roles", em.counts.Roles, "skipped_assets", em.counts.Skipped)
	return nil
}

type gcloudKind int

const (
	kindNone gcloudKind = iota
	kindJSONL
	kindPolicy
	kindServiceAccounts
	kindRoles
)

func fileKind(name string) gcloudKind {
	switch {
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"):
		return kindJSONL
	case strings.HasSuffix(name, ".iam.json"):
		return kindPolicy
	case strings.HasSuffix(name, ".service-accounts.json"):
		return kindServiceAccounts
	case strings.HasSuffix(name, ".roles.json"):
		return kindRoles
	}
	return kindNone
}

func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxGcloudFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxGcloudFile {
		return nil, fmt.Errorf("larger than %d bytes", maxGcloudFile)
	}
	return b, nil
}

// scopeFromFileName maps the naming convention to a resource name.
func scopeFromFileName(stem string) (string, bool) {
	for _, c := range []struct{ prefix, coll string }{
		{"project-", "projects/"}, {"folder-", "folders/"}, {"organization-", "organizations/"},
	} {
		if v, ok := strings.CutPrefix(stem, c.prefix); ok && v != "" {
			return c.coll + v, true
		}
	}
	if v, ok := strings.CutPrefix(stem, "serviceaccount-"); ok && strings.Contains(v, "@") {
		return "projects/-/serviceAccounts/" + v, true
	}
	return "", false
}

// shortResource turns a full resource name ("//cloudresourcemanager.googleapis.com/projects/p")
// into the relative one ("projects/p").
func shortResource(name string) string {
	if rest, ok := strings.CutPrefix(name, "//"); ok {
		if _, rel, ok := strings.Cut(rest, "/"); ok {
			return rel
		}
	}
	return name
}

// importGcloud parses one gcloud output file; name is the base file name
// (it carries the scope) and errors name the field.
func importGcloud(name string, kind gcloudKind, data []byte, em *emitter) (int, error) {
	switch kind {
	case kindPolicy:
		stem := strings.TrimSuffix(name, ".iam.json")
		fromName, named := scopeFromFileName(stem)
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(data, &probe); err != nil {
			return 0, fmt.Errorf("not a JSON object (gcloud get-iam-policy --format=json output): %w", err)
		}
		raw := data
		resource := fromName
		if pol, ok := probe["policy"]; ok {
			var res string
			if err := json.Unmarshal(probe["resource"], &res); err != nil || res == "" {
				return 0, errors.New("wrapper object: field \"resource\" is missing or not a string")
			}
			res = shortResource(res)
			if named && !sameResource(res, fromName) {
				return 0, fmt.Errorf("wrapper object: field \"resource\" %q contradicts the file name (%s)", res, fromName)
			}
			resource, raw = res, pol
		} else if !named {
			return 0, errors.New("cannot tell whose policy this is: name the file project-<id>.iam.json, folder-<number>.iam.json, " +
				"organization-<number>.iam.json or serviceaccount-<email>.iam.json, or wrap it as {\"resource\": \"projects/<id>\", \"policy\": {...}}")
		}
		if err := looksLikePolicy(raw); err != nil {
			return 0, err
		}
		if err := em.policy(resource, raw); err != nil {
			return 0, err
		}
		return 1, em.resourceStub(resource)
	case kindServiceAccounts:
		project, _ := strings.CutPrefix(strings.TrimSuffix(name, ".service-accounts.json"), "project-")
		var list []*iam.ServiceAccount
		if err := decodeList(data, "accounts", &list); err != nil {
			return 0, err
		}
		for i, sa := range list {
			if sa == nil {
				return 0, fmt.Errorf("accounts[%d]: null", i)
			}
			if sa.ProjectId == "" {
				sa.ProjectId = project
			}
			if err := em.serviceAccount(sa); err != nil {
				return 0, fmt.Errorf("accounts[%d]: %w", i, err)
			}
		}
		return len(list), nil
	case kindRoles:
		var list []*iam.Role
		if err := decodeList(data, "roles", &list); err != nil {
			return 0, err
		}
		for i, r := range list {
			if r == nil {
				return 0, fmt.Errorf("roles[%d]: null", i)
			}
			if err := em.role(r); err != nil {
				return 0, fmt.Errorf("roles[%d]: %w", i, err)
			}
		}
		return len(list), nil
	}
	return 0, fmt.Errorf("unknown file kind %d", kind)
}

// looksLikePolicy rejects a JSON object that has none of an IAM policy's
// fields (another command's output under a policy file name).
func looksLikePolicy(raw []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return fmt.Errorf("IAM policy: %w", err)
	}
	for _, k := range []string{"bindings", "etag", "version"} {
		if _, ok := probe[k]; ok {
			return nil
		}
	}
	return errors.New("not an IAM policy: none of the fields \"bindings\", \"etag\", \"version\" is present")
}

// sameResource compares resource names, treating "projects/-" in a service
// account name as any project.
func sameResource(a, b string) bool {
	if a == b {
		return true
	}
	ga, oka := resourceGraphID(a)
	gb, okb := resourceGraphID(b)
	return oka && okb && ga == gb
}

// decodeList accepts a JSON list (gcloud) or an object with the list under
// field (the API response).
func decodeList[T any](data []byte, field string, out *[]T) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("list: %w", err)
		}
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return fmt.Errorf("want a JSON list or an object with %q: %w", field, err)
	}
	raw, ok := obj[field]
	if !ok {
		return fmt.Errorf("field %q is missing", field)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("field %q: %w", field, err)
	}
	return nil
}

// importJSONL sniffs the first record: a raw capture page (replayed here)
// or a CAI asset (reported, for importCAI to read with the other exports).
func importJSONL(ctx context.Context, path string, em *emitter, log *slog.Logger) (int, bool, error) {
	first, line, err := firstLine(path)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	if first == nil {
		return 0, false, nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(first, &probe); err != nil {
		return 0, false, fmt.Errorf("%s:%d: not a JSON object: %w", path, line, err)
	}
	_, hasURL := probe["url"]
	_, hasStatus := probe["status"]
	_, snake := probe["asset_type"]
	_, camel := probe["assetType"]
	switch {
	case hasURL && hasStatus:
		// rawscan reads the lines as rawcapture.Each would, but checks
		// them without encoding/json and hands out the path already
		// parsed: most pages of a shared directory are the Workspace
		// capture's (380 MB at 500k users), skipped by their path alone.
		r := replayer{em: em}
		err := rawscan.Each(ctx, path, func(p *rawscan.Page) error {
			op, resource, ok := pageKind(p.Path, p.URL)
			if !ok {
				r.unknown++
				return nil
			}
			return r.known(rawcapture.Page{URL: p.URL, Status: p.Status, Body: p.Body, File: p.File, Line: p.Line}, op, resource)
		})
		if r.unknown > 0 {
			log.Debug("gcpiam: skipped pages of other APIs", "file", path, "pages", r.unknown)
		}
		return r.used, false, err
	case snake || camel:
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("%s:%d: neither a raw capture page (url, status, body) nor a Cloud Asset Inventory asset (name, asset_type)", path, line)
}

func firstLine(path string) ([]byte, int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), maxPage)
	for line := 1; sc.Scan(); line++ {
		if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
			return append([]byte(nil), b...), line, nil
		}
	}
	return nil, 0, sc.Err()
}

// replayer maps recorded pages exactly as the live walker maps responses.
type replayer struct {
	em      *emitter
	used    int
	unknown int
}

// apiPath splits a URL path into the API version ("v1", "v3") and the rest
// ("projects/p:getIamPolicy"), tolerating a path prefix of private endpoints.
func apiPath(p string) (string, string, bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		if (s == "v1" || s == "v3") && i+1 <= len(segs) {
			return s, strings.Join(segs[i+1:], "/"), true
		}
	}
	return "", "", false
}

// pageKind classifies a recorded page by its URL path (and URL) into the
// live operation that requested it and its resource (the parent for
// lists).
func pageKind(path, rawURL string) (op, resource string, ok bool) {
	ver, rest, ok := apiPath(path)
	if !ok {
		return "", "", false
	}
	// the query only matters for the two list calls below
	parent := func() string {
		if u, err := url.Parse(rawURL); err == nil {
			return u.Query().Get("parent")
		}
		return ""
	}
	segs := strings.Split(rest, "/")
	switch {
	case strings.HasSuffix(rest, ":getIamPolicy"):
		return opPolicy, strings.TrimSuffix(rest, ":getIamPolicy"), true
	case ver == "v3" && rest == "folders":
		return opListFolders, parent(), true
	case ver == "v3" && rest == "projects":
		return opListProjects, parent(), true
	case ver == "v3" && len(segs) == 2 && segs[0] == "organizations":
		return opGetOrg, rest, true
	case ver == "v3" && len(segs) == 2 && segs[0] == "projects":
		return opGetProject, rest, true
	case ver == "v1" && len(segs) == 3 && segs[0] == "projects" && segs[2] == "serviceAccounts":
		return opListSAs, segs[0] + "/" + segs[1], true
	case ver == "v1" && len(segs) == 3 && (segs[0] == "projects" || segs[0] == "organizations") && segs[2] == "roles":
		return opListRoles, segs[0] + "/" + segs[1], true
	}
	return "", "", false
}

// known replays a page of one of the live walker's calls. p.Body may alias
// the reader's buffer: nothing keeps it.
func (r *replayer) known(p rawcapture.Page, op, resource string) error {
	r.used++
	if p.Status/100 != 2 {
		return r.failed(p, op, resource)
	}
	if err := r.apply(p.Body, op, resource); err != nil {
		return fmt.Errorf("%s: %w", p.Where(), err)
	}
	return nil
}

func (r *replayer) apply(body []byte, op, resource string) error {
	em := r.em
	switch op {
	case opPolicy:
		return em.policy(resource, body)
	case opListFolders:
		var resp crm.ListFoldersResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			return err
		}
		for _, f := range resp.Folders {
			if err := em.folder(f); err != nil {
				return err
			}
		}
	case opListProjects:
		var resp crm.ListProjectsResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			return err
		}
		for _, p := range resp.Projects {
			if err := em.project(p); err != nil {
				return err
			}
		}
	case opGetOrg:
		var o crm.Organization
		if err := json.Unmarshal(body, &o); err != nil {
			return err
		}
		return em.org(&o)
	case opGetProject:
		var p crm.Project
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		return em.project(&p)
	case opListSAs:
		var resp iam.ListServiceAccountsResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			return err
		}
		for _, sa := range resp.Accounts {
			if err := em.serviceAccount(sa); err != nil {
				return err
			}
		}
	case opListRoles:
		var resp iam.ListRolesResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			return err
		}
		for _, role := range resp.Roles {
			if err := em.role(role); err != nil {
				return err
			}
		}
	}
	return nil
}

// failed replays a recorded error response the way the live walker handled
// it: a per-object 403/404 is the same warning; anything else means the live
// run itself failed, so the capture is incomplete.
func (r *replayer) failed(p rawcapture.Page, op, resource string) error {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(p.Body, &e) // a non-JSON error body has no message, as in googleapi.CheckResponse
	soft := p.Status == http.StatusNotFound ||
		(p.Status == http.StatusForbidden && !googleretry.RateLimitReason(p.Body))
	if soft && op != opGetOrg {
		r.em.warn(apiWarning(op, resource, p.Status, e.Error.Message))
		return nil
	}
	return fmt.Errorf("%s: %s %s failed with HTTP %d (%s): the live run that wrote this capture stopped here, so it is incomplete; collect again",
		p.Where(), op, resource, p.Status, e.Error.Message)
}
