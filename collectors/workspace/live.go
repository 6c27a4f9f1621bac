// Package workspace collects a Google Workspace (Cloud Identity) customer's
// users, groups, group memberships and admin roles from the Admin SDK
// Directory API into the graph, as described in docs/model-azure-gcp.md
// ("Google Workspace"). Live calls the API through the generated
// google.golang.org/api/admin/directory/v1 client; File replays a raw
// capture of such a run (--save-raw / --from) into the identical graph.
package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"permgraph/internal/httpstats"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	admin "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"permgraph/collectors/internal/googleretry"
	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// Defaults for Options' zero fields.
const (
	DefaultCustomer    = "my_customer"
	DefaultConcurrency = 8
	// DefaultPageTimeout bounds one page request including its retries
	// (the retry transport may wait up to 32 s per retry, or longer when
	// Google sends Retry-After).
	DefaultPageTimeout = 5 * time.Minute
	// CaptureFile is the name of the raw capture inside SaveRawDir.
	CaptureFile = "directory.jsonl"
)

// Page sizes: the API maxima, so a 50k-user customer needs 100 users pages.
const (
	usersPageSize    = 500
	groupsPageSize   = 200
	membersPageSize  = 200
	rolesPageSize    = 100
	assignPageSize   = 200
	directoryAPIPath = "admin/directory/v1/"
)

// Field masks: only what the graph uses, which keeps pages (and captures)
// small; users.list with projection=full would add addresses, phones and
// custom schemas, none of which the model needs.
const (
	usersFields   = "kind,nextPageToken,users(id,primaryEmail,name/fullName,suspended,isAdmin,isDelegatedAdmin,aliases,nonEditableAliases,lastLoginTime,creationTime,customerId)"
	groupsFields  = "kind,nextPageToken,groups(id,email,name,aliases,nonEditableAliases,directMembersCount)"
	membersFields = "kind,nextPageToken,members(id,email,role,type,status)"
	rolesFields   = "kind,nextPageToken,items(roleId,roleName,rolePrivileges,isSuperAdminRole)"
	assignFields  = "kind,nextPageToken,items(roleAssignmentId,roleId,assignedTo,assigneeType,scopeType,orgUnitId,condition)"
)

// Scopes are the read-only OAuth scopes the collector needs; an operator
// authorises exactly these for domain-wide delegation.
func Scopes() []string {
	return []string{
		admin.AdminDirectoryUserReadonlyScope,
		admin.AdminDirectoryGroupReadonlyScope,
		admin.AdminDirectoryRolemanagementReadonlyScope,
	}
}

// ErrNoCustomerID means the customer id (and so the source id) could not be
// found: no user carried customerId and Options.Customer is the alias.
var ErrNoCustomerID = errors.New("customer id unknown: pass --customer with the Workspace customer id (e.g. C01abcd2)")

// Options configures Live and File.
type Options struct {
	// Customer is the customer key passed to the API: "my_customer" (the
	// default, the caller's own customer) or a customer id.
	Customer string
	// Source overrides the graph source id (default google:<customer id>).
	Source string
	// AdminEmail is the Workspace admin impersonated through domain-wide
	// delegation when the Application Default Credentials are a service
	// account key.
	AdminEmail string
	// Endpoint overrides https://admin.googleapis.com/ (tests, proxies).
	Endpoint string
	// HTTPClient is an already authenticated client; nil means Application
	// Default Credentials (or TokenSource). Its transport is wrapped, not
	// modified.
	HTTPClient *http.Client
	// TokenSource supplies pre-acquired tokens (--token-file,
	// PERMGRAPH_GOOGLE_TOKEN); it wins over ADC.
	TokenSource oauth2.TokenSource
	// Concurrency is the number of groups whose members are listed at once.
	Concurrency int
	// PageTimeout bounds each page request including retries.
	PageTimeout time.Duration
	// SaveRawDir, when set, records every final API response into
	// SaveRawDir/directory.jsonl for File to replay.
	SaveRawDir string
	// Retry tunes the retry transport (tests shrink the delays).
	Retry  googleretry.Options
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Customer == "" {
		o.Customer = DefaultCustomer
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PageTimeout == 0 {
		o.PageTimeout = DefaultPageTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Retry.Logger == nil {
		o.Retry.Logger = o.Logger
	}
	return o
}

// Live collects one customer through the Directory API.
type Live struct {
	o        Options
	svc      *admin.Service
	retry    *googleretry.Transport
	rec      *rawcapture.Recorder
	endpoint string
	counts   Counts
	// identities are who the Directory API sees: the impersonated admin
	// (--admin-email) and the service account, when knowable.
	identities []string
}

// CallerIdentities returns who this collector calls the Directory API as,
// as Workspace and Cloud audit logs name the actor: the delegated admin
// (AdminEmail) and the ADC service account's client_email. Empty for
// pre-acquired tokens and the metadata server (not knowable without a call).
func (l *Live) CallerIdentities() []string { return l.identities }

// NewLive builds the Directory API client: transport chain
// recorder(optional) -> retry -> authentication -> network. The recorder
// sits outside the retry layer so a capture holds only final answers, never
// the 429s that were retried; authentication sits inside so every attempt
// carries a valid token. Tokens stay inside the oauth2 transport: nothing
// here logs or stores them.
func NewLive(ctx context.Context, o Options) (*Live, error) {
	o = o.withDefaults()
	authed, ids, err := authTransport(ctx, o)
	if err != nil {
		return nil, err
	}
	authed = httpstats.Wrap(authed) // every attempt, for the job summary
	l := &Live{o: o, identities: ids}
	l.retry = googleretry.New(authed, o.Retry)
	var rt http.RoundTripper = l.retry
	if o.SaveRawDir != "" {
		l.rec, err = rawcapture.NewRecorder(o.SaveRawDir, CaptureFile, rt)
		if err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		rt = l.rec
	}
	opts := []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: rt})}
	l.endpoint = "https://admin.googleapis.com/"
	if o.Endpoint != "" {
		l.endpoint = strings.TrimSuffix(o.Endpoint, "/") + "/"
		opts = append(opts, option.WithEndpoint(l.endpoint))
	}
	l.svc, err = admin.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("workspace: create Directory API client: %w", err)
	}
	return l, nil
}

// authTransport returns the authenticating transport: the caller's client,
// a token source, or ADC (with domain-wide delegation to AdminEmail when
// the credentials are a service account key), and the identities it acts
// as when the credentials name them.
func authTransport(ctx context.Context, o Options) (http.RoundTripper, []string, error) {
	switch {
	case o.HTTPClient != nil:
		if o.HTTPClient.Transport == nil {
			return http.DefaultTransport, nil, nil
		}
		return o.HTTPClient.Transport, nil, nil
	case o.TokenSource != nil:
		return &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, o.TokenSource), Base: baseTransport(o)}, nil, nil
	}
	// The token source refreshes for the whole run, after NewLive's ctx may
	// be gone; it must not inherit that cancellation.
	tctx := context.WithoutCancel(ctx)
	creds, err := google.FindDefaultCredentialsWithParams(tctx, google.CredentialsParams{Scopes: Scopes(), Subject: o.AdminEmail})
	if err != nil {
		return nil, nil, fmt.Errorf("workspace: find Application Default Credentials (or pass --token-file): %w", err)
	}
	var f struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
	}
	if len(creds.JSON) > 0 {
		_ = json.Unmarshal(creds.JSON, &f) // already parsed by FindDefaultCredentials
	}
	if o.AdminEmail != "" && f.Type != "service_account" {
		// Only a key-file service account can sign the delegation JWT here;
		// other credentials would silently ignore the subject and act as
		// themselves.
		return nil, nil, fmt.Errorf("workspace: --admin-email needs Application Default Credentials of type service_account "+
			"(GOOGLE_APPLICATION_CREDENTIALS pointing at a key with domain-wide delegation); found %q", cmpOr(f.Type, "metadata server"))
	}
	o.Logger.Debug("workspace: using Application Default Credentials", "type", cmpOr(f.Type, "metadata server"),
		"delegated", o.AdminEmail != "")
	// Workspace logs the impersonated admin as the actor of delegated
	// calls; Cloud audit logs name the service account.
	var ids []string
	if o.AdminEmail != "" {
		ids = append(ids, o.AdminEmail)
	}
	if f.ClientEmail != "" {
		ids = append(ids, f.ClientEmail)
	}
	return &oauth2.Transport{Source: creds.TokenSource, Base: baseTransport(o)}, ids, nil
}

// baseTransport keeps one idle connection per member worker: the default
// of two per host would make HTTP/1.1 paths (proxies) reconnect for most
// requests; over HTTP/2 to Google it changes nothing.
func baseTransport(o Options) http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t := dt.Clone()
	t.MaxIdleConnsPerHost = o.Concurrency + 2
	return t
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Retries is how many requests the retry transport has retried.
func (l *Live) Retries() int64 { return l.retry.Retries() }

// Counts is what the last Collect saw.
func (l *Live) Counts() Counts { return l.counts }

// Collect lists users, groups, admin roles and role assignments, then the
// members of every group with bounded concurrency. A group deleted between
// groups.list and members.list is a warning, not a failure; any other error
// aborts (a partial customer must not become a snapshot). With SaveRawDir
// the capture is closed when Collect returns.
func (l *Live) Collect(ctx context.Context, sink graph.Sink) (err error) {
	if l.rec != nil {
		defer func() {
			if cerr := l.rec.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("workspace: %w", cerr))
			}
			l.rec = nil
		}()
	}
	start := time.Now()
	o := l.o
	var m *mapper

	// users.list first: its customerId names the source.
	uc := l.svc.Users.List().Customer(o.Customer).MaxResults(usersPageSize).Fields(usersFields)
	err = l.pages(ctx, "users.list", l.url(directoryAPIPath+"users"), func(ctx context.Context, tok string) (string, error) {
		p, err := uc.PageToken(tok).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		if m == nil {
			src, err := sourceFor(o, customerIDOf(p))
			if err != nil {
				return "", err
			}
			m = newMapper(sink, src)
		}
		return p.NextPageToken, malformed(m.usersPage(p))
	})
	if err != nil {
		return err
	}
	if m == nil { // no page at all cannot happen with a real API; be safe
		src, err := sourceFor(o, "")
		if err != nil {
			return fmt.Errorf("workspace: %w", err)
		}
		m = newMapper(sink, src)
	}
	defer func() { l.counts = m.counts }()

	var groups []group
	gc := l.svc.Groups.List().Customer(o.Customer).MaxResults(groupsPageSize).Fields(groupsFields)
	err = l.pages(ctx, "groups.list", l.url(directoryAPIPath+"groups"), func(ctx context.Context, tok string) (string, error) {
		p, err := gc.PageToken(tok).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		gs, err := m.groupsPage(p)
		groups = append(groups, gs...)
		return p.NextPageToken, malformed(err)
	})
	if err != nil {
		return err
	}

	rc := l.svc.Roles.List(o.Customer).MaxResults(rolesPageSize).Fields(rolesFields)
	err = l.pages(ctx, "roles.list", l.url(directoryAPIPath+"customer/"+o.Customer+"/roles"), func(ctx context.Context, tok string) (string, error) {
		p, err := rc.PageToken(tok).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		return p.NextPageToken, malformed(m.rolesPage(p))
	})
	if err != nil {
		return err
	}
	ac := l.svc.RoleAssignments.List(o.Customer).MaxResults(assignPageSize).Fields(assignFields)
	err = l.pages(ctx, "roleAssignments.list", l.url(directoryAPIPath+"customer/"+o.Customer+"/roleassignments"), func(ctx context.Context, tok string) (string, error) {
		p, err := ac.PageToken(tok).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		return p.NextPageToken, malformed(m.roleAssignmentsPage(p))
	})
	if err != nil {
		return err
	}

	if err := l.members(ctx, m, groups); err != nil {
		return err
	}
	o.Logger.Info("workspace: collected Directory API", "source", m.source, "users", m.counts.Users,
		"groups", m.counts.Groups, "memberships", m.counts.Memberships, "roles", m.counts.Roles,
		"role_assignments", m.counts.RoleAssignments, "deleted_groups", m.counts.DeletedGroups,
		"pages", m.counts.Pages, "retries", l.retry.Retries(), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// members lists every group's members with o.Concurrency workers. The first
// error cancels the others.
func (l *Live) members(ctx context.Context, m *mapper, groups []group) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan group)
	var wg sync.WaitGroup
	for range min(l.o.Concurrency, max(len(groups), 1)) {
		wg.Go(func() {
			for g := range jobs {
				if err := l.groupMembers(ctx, m, g); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for _, g := range groups {
		select {
		case jobs <- g:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

func (l *Live) groupMembers(ctx context.Context, m *mapper, g group) error {
	mc := l.svc.Members.List(g.id).MaxResults(membersPageSize).Fields(membersFields)
	op := "members.list of group " + g.email
	err := l.pages(ctx, op, l.url(directoryAPIPath+"groups/"+url.PathEscape(g.id)+"/members"), func(ctx context.Context, tok string) (string, error) {
		p, err := mc.PageToken(tok).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		return p.NextPageToken, malformed(m.membersPage(g.id, p))
	})
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusNotFound {
		m.deletedGroup(g.id)
		return nil
	}
	return err
}

func (l *Live) url(path string) string { return l.endpoint + path }

// pages runs one list call page by page: each page under its own timeout
// (the generated Pages helper would share one context across all pages),
// refusing a repeated page token, which would loop forever. Errors name the
// operation, the page and the URL.
func (l *Live) pages(ctx context.Context, op, u string, page func(ctx context.Context, tok string) (string, error)) error {
	tok := ""
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("workspace: %s page %d: %w", op, n, err)
		}
		where := u
		if tok != "" {
			where += "?pageToken=" + url.QueryEscape(tok)
		}
		next, err := l.onePage(ctx, tok, page)
		if err != nil {
			return l.pageError(ctx, op, n, where, err)
		}
		if next == "" {
			return nil
		}
		if next == tok {
			return fmt.Errorf("workspace: %s page %d (GET %s): the API returned the page's own token as nextPageToken; stopping to avoid an endless loop", op, n, where)
		}
		tok = next
	}
}

func (l *Live) onePage(ctx context.Context, tok string, page func(context.Context, string) (string, error)) (string, error) {
	if l.o.PageTimeout < 0 {
		return page(ctx, tok)
	}
	pctx, cancel := context.WithTimeoutCause(ctx, l.o.PageTimeout, errPageTimeout)
	defer cancel()
	next, err := page(pctx, tok)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(pctx), errPageTimeout) {
		err = fmt.Errorf("%w (%s): %w", errPageTimeout, l.o.PageTimeout, err)
	}
	return next, err
}

var errPageTimeout = errors.New("no complete response within the page timeout")

// pageError adds the operation, page, URL and, for the errors an operator
// can act on, what to do. A page that does not decode is reported as
// malformed with its URL.
func (l *Live) pageError(ctx context.Context, op string, n int, where string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, errPageTimeout) {
		return fmt.Errorf("workspace: %s page %d: %w", op, n, ctxErr)
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusUnauthorized:
			return fmt.Errorf("workspace: %s page %d (GET %s): credentials rejected (expired token, or domain-wide delegation not authorised for scopes %s): %w",
				op, n, where, strings.Join(Scopes(), ","), err)
		case http.StatusForbidden:
			return fmt.Errorf("workspace: %s page %d (GET %s): access denied: the identity needs a Workspace admin role with read access to users, groups and admin roles "+
				"(with domain-wide delegation, --admin-email must name such an admin): %w", op, n, where, err)
		}
		return fmt.Errorf("workspace: %s page %d (GET %s): %w", op, n, where, err)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if !errors.Is(err, errMalformed) && (errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)) {
		err = malformed(err)
	}
	return fmt.Errorf("workspace: %s page %d (GET %s): %w", op, n, where, err)
}

var errMalformed = errors.New("malformed page")

// malformed marks a mapping error (wrong kind, missing id) as a malformed
// page so the message says so.
func malformed(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", errMalformed, err)
}

// customerIDOf finds the customer id in a users page.
func customerIDOf(p *admin.Users) string {
	for _, u := range p.Users {
		if u != nil && u.CustomerId != "" {
			return u.CustomerId
		}
	}
	return ""
}

// sourceFor picks the source id: Options.Source, else Options.Customer when
// it is an id (not the my_customer alias; the operator named the customer),
// else the customer id the data carries.
func sourceFor(o Options, fromData string) (string, error) {
	switch {
	case o.Source != "":
		return o.Source, nil
	case o.Customer != "" && o.Customer != DefaultCustomer:
		return SourceID(o.Customer), nil
	case fromData != "":
		return SourceID(fromData), nil
	}
	return "", ErrNoCustomerID
}
