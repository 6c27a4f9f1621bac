package gcpiam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"permgraph/internal/httpstats"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/sync/errgroup"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	"google.golang.org/api/googleapi"
	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"permgraph/collectors/internal/googleretry"
	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// Page sizes: the documented maxima (serviceAccounts.list 100, roles.list
// 1000); Resource Manager picks its own default.
const (
	saPageSize   = 100
	rolePageSize = 1000
	// maxPage bounds one response body; a real page is far below it.
	maxPage = 256 << 20
)

// ErrPermissionDenied marks a fatal 401/403 on the organization itself.
var ErrPermissionDenied = errors.New("permission denied")

// ErrNoData is returned (wrapped) by File when a directory holds no GCP IAM
// data at all (a Workspace-only export).
var ErrNoData = errors.New("no GCP IAM data")

// Operation names, shared by the live warnings and their replay from a
// capture so both produce the same text.
const (
	opGetOrg       = "get organization"
	opGetProject   = "get project"
	opPolicy       = "getIamPolicy"
	opListFolders  = "list folders under"
	opListProjects = "list projects under"
	opListSAs      = "list service accounts of"
	opListRoles    = "list custom roles of"
)

// Live collects from the Resource Manager v3 and IAM v1 APIs.
type Live struct {
	o    Options
	base http.RoundTripper
	log  *slog.Logger
	// Counts is filled in by Collect.
	Counts Counts
	// Retries is the number of retried requests of the last Collect.
	Retries int64

	identities []string
}

// CallerIdentities returns the service account the Application Default
// Credentials name (client_email of a key file), as Cloud audit logs show
// the caller; empty for user credentials, the metadata server and
// pre-acquired tokens (not knowable without a call).
func (l *Live) CallerIdentities() []string { return l.identities }

// NewLive validates o and resolves credentials: o.HTTPClient's transport, an
// oauth2 transport over o.TokenSource, or Application Default Credentials.
func NewLive(ctx context.Context, o Options) (*Live, error) {
	if o.Source == "" {
		return nil, errors.New("gcpiam: Options.Source is empty (want google:<customer-or-org>)")
	}
	o.Org = normalizeOrg(o.Org)
	if o.Org == "" && len(o.Projects) == 0 {
		return nil, errors.New("gcpiam: nothing to collect: set the organization or a list of projects")
	}
	var base http.RoundTripper
	var ids []string
	switch {
	case o.HTTPClient != nil:
		base = o.HTTPClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
	case o.TokenSource != nil:
		base = &oauth2.Transport{Source: o.TokenSource, Base: http.DefaultTransport}
	default:
		creds, err := google.FindDefaultCredentials(ctx, crm.CloudPlatformReadOnlyScope, iam.CloudPlatformScope)
		if err != nil {
			return nil, fmt.Errorf("gcpiam: application default credentials: %w", err)
		}
		var f struct {
			ClientEmail string `json:"client_email"`
		}
		if len(creds.JSON) > 0 && json.Unmarshal(creds.JSON, &f) == nil && f.ClientEmail != "" {
			ids = append(ids, f.ClientEmail)
		}
		base = &oauth2.Transport{Source: creds.TokenSource, Base: http.DefaultTransport}
	}
	return &Live{o: o, base: httpstats.Wrap(base), log: o.logger(), identities: ids}, nil
}

// Collect walks the organization (or the listed projects) and streams what it
// finds into sink. A project, folder or service account that answers 403 or
// 404 becomes a warning naming it; anything else (auth on the organization,
// throttling past the retries, a malformed page, the page timeout, ctx) is
// returned as an error.
func (l *Live) Collect(ctx context.Context, sink graph.Sink) (err error) {
	start := time.Now()
	em := newEmitter(l.o.Source, sink)
	retryOpts := l.o.Retry
	if retryOpts.Logger == nil {
		retryOpts.Logger = l.log
	}
	retry := googleretry.New(l.base, retryOpts)
	var rt http.RoundTripper = retry
	if l.o.SaveRawDir != "" {
		rec, rerr := rawcapture.NewRecorder(l.o.SaveRawDir, RawCaptureFile, retry)
		if rerr != nil {
			return fmt.Errorf("gcpiam: --save-raw: %w", rerr)
		}
		defer func() {
			if cerr := rec.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("gcpiam: --save-raw: %w", cerr))
			}
		}()
		rt = rec
	}
	timeout := l.o.PageTimeout
	if timeout == 0 {
		timeout = DefaultPageTimeout
	}
	client := &http.Client{Transport: &pageTransport{next: rt, timeout: timeout}}
	defer func() {
		em.flush()
		l.Counts = em.counts
		l.Retries = retry.Retries()
	}()

	crmOpts := []option.ClientOption{option.WithHTTPClient(client)}
	if l.o.ResourceManagerEndpoint != "" {
		crmOpts = append(crmOpts, option.WithEndpoint(l.o.ResourceManagerEndpoint))
	}
	crmSvc, err := crm.NewService(ctx, crmOpts...)
	if err != nil {
		return fmt.Errorf("gcpiam: Resource Manager client: %w", err)
	}
	iamOpts := []option.ClientOption{option.WithHTTPClient(client)}
	if l.o.IAMEndpoint != "" {
		iamOpts = append(iamOpts, option.WithEndpoint(l.o.IAMEndpoint))
	}
	iamSvc, err := iam.NewService(ctx, iamOpts...)
	if err != nil {
		return fmt.Errorf("gcpiam: IAM client: %w", err)
	}
	conc := l.o.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	w := &walker{crm: crmSvc, iam: iamSvc, em: em, conc: conc, org: l.o.Org, explicit: l.o.Projects, log: l.log}
	if err := w.run(ctx); err != nil {
		return err
	}
	l.log.Info("gcpiam: collected GCP IAM", "org", l.o.Org, "folders", em.counts.Folders,
		"projects", em.counts.Projects, "service_accounts", em.counts.ServiceAccounts,
		"policies", em.counts.Policies, "roles", em.counts.Roles, "warnings", len(em.warnings),
		"retries", retry.Retries(), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// walker holds one live collection's work lists.
type walker struct {
	crm      *crm.Service
	iam      *iam.Service
	em       *emitter
	conc     int
	org      string
	explicit []string
	log      *slog.Logger

	mu       sync.Mutex
	folders  []string // folder names, for their policies
	projects []string // project ids
	sas      []string // service account resource names
}

func (w *walker) group(ctx context.Context) (*errgroup.Group, context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.conc)
	return g, gctx
}

// run: (1) the organization, (2) the folder tree level by level with the
// projects under each parent, (3) policies, service accounts and roles of
// every scope, (4) the policy of every service account. Each phase is a
// bounded errgroup; nothing submits work to its own group, so the limit
// cannot deadlock.
func (w *walker) run(ctx context.Context) error {
	if w.org != "" {
		o, err := w.crm.Organizations.Get(w.org).Context(ctx).Do()
		if err != nil {
			return fatal(ctx, opGetOrg, w.org, err)
		}
		if err := w.em.org(o); err != nil {
			return fmt.Errorf("gcpiam: %s %s: %w", opGetOrg, w.org, err)
		}
		for level := []string{w.org}; len(level) > 0; {
			var next []string
			g, gctx := w.group(ctx)
			for _, parent := range level {
				g.Go(func() error {
					kids, err := w.listFolders(gctx, parent)
					w.mu.Lock()
					next = append(next, kids...)
					w.folders = append(w.folders, kids...)
					w.mu.Unlock()
					return err
				})
				if len(w.explicit) == 0 {
					g.Go(func() error { return w.listProjects(gctx, parent) })
				}
			}
			if err := g.Wait(); err != nil {
				return err
			}
			level = next
		}
	}
	if len(w.explicit) > 0 {
		g, gctx := w.group(ctx)
		for _, id := range w.explicit {
			g.Go(func() error { return w.getProject(gctx, id) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}

	g, gctx := w.group(ctx)
	if w.org != "" {
		g.Go(func() error { return w.scopePolicy(gctx, w.org) })
		g.Go(func() error { return w.orgRoles(gctx) })
	}
	for _, f := range w.folders {
		g.Go(func() error { return w.scopePolicy(gctx, f) })
	}
	for _, p := range w.projects {
		g.Go(func() error { return w.project(gctx, p) })
	}
	if err := g.Wait(); err != nil {
		return err
	}

	g, gctx = w.group(ctx)
	for _, sa := range w.sas {
		g.Go(func() error { return w.saPolicy(gctx, sa) })
	}
	return g.Wait()
}

// softFail turns a per-object 403/404 into a warning and reports whether it
// did; any other error is returned wrapped as fatal.
func (w *walker) softFail(ctx context.Context, op, resource string, err error) (bool, error) {
	if code, msg, ok := warnable(err); ok && ctx.Err() == nil {
		w.em.warn(apiWarning(op, resource, code, msg))
		return true, nil
	}
	return false, fatal(ctx, op, resource, err)
}

func (w *walker) listFolders(ctx context.Context, parent string) ([]string, error) {
	var kids []string
	err := w.crm.Folders.List().Parent(parent).Pages(ctx, func(r *crm.ListFoldersResponse) error {
		for _, f := range r.Folders {
			if err := w.em.folder(f); err != nil {
				return err
			}
			kids = append(kids, f.Name)
		}
		return nil
	})
	if err != nil {
		_, err = w.softFail(ctx, opListFolders, parent, err)
	}
	return kids, err
}

func (w *walker) listProjects(ctx context.Context, parent string) error {
	err := w.crm.Projects.List().Parent(parent).Pages(ctx, func(r *crm.ListProjectsResponse) error {
		for _, p := range r.Projects {
			if err := w.em.project(p); err != nil {
				return err
			}
			w.mu.Lock()
			w.projects = append(w.projects, p.ProjectId)
			w.mu.Unlock()
		}
		return nil
	})
	if err != nil {
		_, err = w.softFail(ctx, opListProjects, parent, err)
	}
	return err
}

func (w *walker) getProject(ctx context.Context, id string) error {
	name := "projects/" + id
	p, err := w.crm.Projects.Get(name).Context(ctx).Do()
	if err != nil {
		_, err = w.softFail(ctx, opGetProject, name, err)
		return err
	}
	if err := w.em.project(p); err != nil {
		return fmt.Errorf("gcpiam: %s %s: %w", opGetProject, name, err)
	}
	w.mu.Lock()
	w.projects = append(w.projects, p.ProjectId)
	w.mu.Unlock()
	return nil
}

func policyRequest() *crm.GetIamPolicyRequest {
	return &crm.GetIamPolicyRequest{Options: &crm.GetPolicyOptions{RequestedPolicyVersion: policyVersion}}
}

// scopePolicy reads the policy of an organization or folder.
func (w *walker) scopePolicy(ctx context.Context, name string) error {
	var (
		p   *crm.Policy
		err error
	)
	if strings.HasPrefix(name, "organizations/") {
		p, err = w.crm.Organizations.GetIamPolicy(name, policyRequest()).Context(ctx).Do()
	} else {
		p, err = w.crm.Folders.GetIamPolicy(name, policyRequest()).Context(ctx).Do()
	}
	if err != nil {
		_, err = w.softFail(ctx, opPolicy, name, err)
		return err
	}
	return w.em.sdkPolicy(name, p)
}

func (w *walker) orgRoles(ctx context.Context) error {
	err := w.iam.Organizations.Roles.List(w.org).View("FULL").PageSize(rolePageSize).Pages(ctx, w.roles)
	if err != nil {
		_, err = w.softFail(ctx, opListRoles, w.org, err)
	}
	return err
}

func (w *walker) roles(r *iam.ListRolesResponse) error {
	for _, role := range r.Roles {
		if err := w.em.role(role); err != nil {
			return err
		}
	}
	return nil
}

// project reads one project's policy, service accounts and custom roles. A
// 403/404 on the policy (project deleted mid-run, or not readable) skips the
// rest of the project with one warning.
func (w *walker) project(ctx context.Context, id string) error {
	name := "projects/" + id
	p, err := w.crm.Projects.GetIamPolicy(name, policyRequest()).Context(ctx).Do()
	if err != nil {
		_, err = w.softFail(ctx, opPolicy, name, err)
		return err
	}
	if err := w.em.sdkPolicy(name, p); err != nil {
		return fmt.Errorf("gcpiam: %w", err)
	}
	err = w.iam.Projects.ServiceAccounts.List(name).PageSize(saPageSize).Pages(ctx, func(r *iam.ListServiceAccountsResponse) error {
		for _, sa := range r.Accounts {
			if err := w.em.serviceAccount(sa); err != nil {
				return err
			}
			w.mu.Lock()
			w.sas = append(w.sas, sa.Name)
			w.mu.Unlock()
		}
		return nil
	})
	if err != nil {
		if _, err := w.softFail(ctx, opListSAs, name, err); err != nil {
			return err
		}
	}
	err = w.iam.Projects.Roles.List(name).View("FULL").PageSize(rolePageSize).Pages(ctx, w.roles)
	if err != nil {
		_, err = w.softFail(ctx, opListRoles, name, err)
	}
	return err
}

func (w *walker) saPolicy(ctx context.Context, name string) error {
	p, err := w.iam.Projects.ServiceAccounts.GetIamPolicy(name).OptionsRequestedPolicyVersion(policyVersion).Context(ctx).Do()
	if err != nil {
		_, err = w.softFail(ctx, opPolicy, name, err)
		return err
	}
	return w.em.sdkPolicy(name, p)
}

// warnable reports whether err is a per-object 403 or 404 (not a rate limit
// that outlived the retries).
func warnable(err error) (int, string, bool) {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return 0, "", false
	}
	switch {
	case ge.Code == http.StatusNotFound:
		return ge.Code, ge.Message, true
	case ge.Code == http.StatusForbidden && !googleretry.RateLimitReason([]byte(ge.Body)):
		return ge.Code, ge.Message, true
	}
	return 0, "", false
}

// fatal wraps an error that ends the collection, naming the operation.
func fatal(ctx context.Context, op, resource string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = errors.Join(cerr, err)
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) && (ge.Code == http.StatusUnauthorized || ge.Code == http.StatusForbidden) && op == opGetOrg {
		return fmt.Errorf("gcpiam: %s %s: %w: the caller needs resourcemanager.organizations.get "+
			"(roles/resourcemanager.organizationViewer) and roles/iam.securityReviewer on the organization: %w",
			op, resource, ErrPermissionDenied, err)
	}
	return fmt.Errorf("gcpiam: %s %s: %w", op, resource, err)
}

// pageTransport bounds each request (including retries below it and the
// body read) by timeout, and rejects a 2xx response whose body is not JSON
// with an error naming the URL, before the generated client's decoder sees it.
type pageTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t *pageTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := req.Context(), context.CancelFunc(func() {})
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
	}
	defer cancel()
	where := req.Method + " " + req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && req.Context().Err() == nil {
			return nil, fmt.Errorf("gcpiam: %s: no complete response within the page timeout (%s): %w", where, t.timeout, err)
		}
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	resp.Body.Close()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && req.Context().Err() == nil {
			return nil, fmt.Errorf("gcpiam: %s: response body not read within the page timeout (%s): %w", where, t.timeout, err)
		}
		return nil, fmt.Errorf("gcpiam: %s: read response: %w", where, err)
	}
	if len(body) > maxPage {
		return nil, fmt.Errorf("gcpiam: %s: response larger than %d bytes", where, maxPage)
	}
	if resp.StatusCode/100 == 2 && !json.Valid(body) {
		return nil, fmt.Errorf("gcpiam: %s: malformed page: HTTP %d with a body that is not JSON (%d bytes)", where, resp.StatusCode, len(body))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
