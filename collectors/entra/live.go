package entra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"permgraph/internal/httpstats"
	"strings"
	"sync/atomic"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	graphauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/organization"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"golang.org/x/sync/errgroup"

	"permgraph/collectors/internal/azauth"
	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// Live collects a tenant from Microsoft Graph.
type Live struct {
	o        Options
	endpoint *url.URL
	// Counts is filled in by Collect.
	Counts Counts
	// Retries counts the requests kiota retried (429/503/504).
	Retries atomic.Int64

	identities []string
}

// CallerIdentities returns who the last Collect called Graph as, from the
// claims of its access token (object id, UPN or app id); empty when the
// token could not be read. The token itself is never kept.
func (l *Live) CallerIdentities() []string { return l.identities }

// NewLive validates o and returns a collector; no request is made yet.
func NewLive(o Options) (*Live, error) {
	if o.Credential == nil {
		return nil, errors.New("entra: no credential")
	}
	if o.GraphEndpoint == "" {
		o.GraphEndpoint = DefaultGraphEndpoint
	}
	ep, err := url.Parse(strings.TrimRight(o.GraphEndpoint, "/"))
	if err != nil || ep.Host == "" || (ep.Scheme != "https" && ep.Scheme != "http") {
		return nil, fmt.Errorf("entra: graph endpoint %q: want an absolute URL such as %s", o.GraphEndpoint, DefaultGraphEndpoint)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PageTimeout == 0 {
		o.PageTimeout = DefaultPageTimeout
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = DefaultMaxRetryWait
	}
	return &Live{o: o, endpoint: ep}, nil
}

// Collect reads the tenant and writes it into sink under "azure:<tenant>".
// Per-object 403/404s (one group's members, PIM unlicensed) become
// warnings; anything else, including exhausted throttling retries, fails
// the collection.
func (l *Live) Collect(ctx context.Context, sink graph.Sink) (err error) {
	adapter, closeRaw, err := l.newAdapter()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeRaw(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("entra: %w", cerr))
		}
	}()
	r := &run{l: l, adapter: adapter, log: l.o.logger()}
	start := time.Now()
	ids, ierr := azauth.CallerIdentities(ctx, l.o.Credential, l.endpoint.Scheme+"://"+l.endpoint.Host+"/.default")
	if ierr != nil {
		r.log.Debug("entra: caller identity unknown; not recorded", "err", ierr)
	}
	l.identities = ids

	tenant, name, err := r.organization(ctx)
	if err != nil {
		return err
	}
	b := newBuilder(sink, l.o.sourceID(tenant))
	r.b = b
	if err := b.tenant(tenant, name); err != nil {
		return err
	}

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(lctx)
	g.SetLimit(l.o.Concurrency)
	r.g = g
	lerr := r.lists(gctx)
	if lerr != nil {
		cancel() // stop the fan-out already in flight
	}
	werr := g.Wait()
	// A fan-out failure cancels gctx, which then also fails the listing:
	// report the cause, not the cancellation.
	if werr != nil && (lerr == nil || !errors.Is(werr, context.Canceled) || ctx.Err() != nil) {
		return werr
	}
	if lerr != nil {
		return lerr
	}
	if err := b.finish(); err != nil {
		return err
	}
	l.Counts = b.counts
	c := b.counts
	r.log.Info("entra: collected tenant", "tenant", tenant, "users", c.Users, "groups", c.Groups,
		"service_principals", c.ServicePrincipals, "applications", c.Applications, "memberships", c.Memberships,
		"owners", c.Owners, "role_assignments", c.RoleAssignments, "eligible", c.EligibleAssignments,
		"warnings", len(b.warnings), "retries", l.Retries.Load(), "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// newAdapter builds the kiota request adapter: bearer tokens from the
// credential (only ever sent to the configured Graph host), kiota's default
// middleware with our retry options, and below it the per-attempt timeout
// and the optional raw recorder. The recorder sits under the retry handler
// so throttled attempts are recorded too (File skips them).
func (l *Live) newAdapter() (abstractions.RequestAdapter, func() error, error) {
	noClose := func() error { return nil }
	tp, err := graphauth.NewAzureIdentityAccessTokenProviderWithScopesAndValidHosts(l.o.Credential,
		[]string{l.endpoint.Scheme + "://" + l.endpoint.Host + "/.default"}, []string{l.endpoint.Hostname()})
	if err != nil {
		return nil, noClose, fmt.Errorf("entra: token provider: %w", err)
	}
	auth := absauth.NewBaseBearerTokenAuthenticationProvider(tp)

	var base http.RoundTripper
	if l.o.HTTPClient != nil && l.o.HTTPClient.Transport != nil {
		base = l.o.HTTPClient.Transport
	} else {
		// net/http keeps only 2 idle connections per host by default: with
		// Concurrency requests in flight to one Graph host the rest would
		// be torn down and re-handshaken after every page.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = l.o.Concurrency + 2
		base = tr
	}
	base = httpstats.Wrap(base) // per-attempt request counts for the job summary
	closeRaw := noClose
	if l.o.SaveRawDir != "" {
		rec, err := rawcapture.NewRecorder(l.o.SaveRawDir, CaptureFile, base)
		if err != nil {
			return nil, noClose, fmt.Errorf("entra: %w", err)
		}
		base, closeRaw = rec, rec.Close
	}
	if l.o.PageTimeout > 0 {
		base = &timeoutTransport{next: base, d: l.o.PageTimeout}
	}
	retry := &khttp.RetryHandlerOptions{
		MaxRetries: l.o.MaxRetries,
		ShouldRetry: func(waited time.Duration, attempt int, req *http.Request, resp *http.Response) bool {
			if waited >= l.o.MaxRetryWait {
				return false
			}
			l.Retries.Add(1)
			l.o.logger().Debug("entra: retrying throttled request", "path", req.URL.Path, "status", resp.StatusCode,
				"attempt", attempt+1, "retry_after", resp.Header.Get("Retry-After"))
			return true
		},
	}
	mw, err := khttp.GetDefaultMiddlewaresWithOptions(retry)
	if err != nil {
		return nil, closeRaw, fmt.Errorf("entra: http middleware: %w", err)
	}
	mw = append([]khttp.Middleware{msgraphcore.NewGraphTelemetryHandler(&msgraphcore.GraphClientOptions{})}, mw...)
	client := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(base, mw...)}

	// Our own serializer registries: the root msgraph package would
	// register JSON on kiota's process-wide defaults instead.
	parse := serialization.NewParseNodeFactoryRegistry()
	parse.ContentTypeAssociatedFactories["application/json"] = jsonserialization.NewJsonParseNodeFactory()
	write := serialization.NewSerializationWriterFactoryRegistry()
	write.ContentTypeAssociatedFactories["application/json"] = jsonserialization.NewJsonSerializationWriterFactory()
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, msgraphcore.GraphClientOptions{}, parse, write, client)
	if err != nil {
		return nil, closeRaw, fmt.Errorf("entra: request adapter: %w", err)
	}
	adapter.SetBaseUrl(l.endpoint.String() + "/v1.0")
	return adapter, closeRaw, nil
}

// timeoutTransport bounds one request attempt, including reading the body
// (the deadline is released when kiota closes it). kiota's retry handler
// sits above it, so every retry gets a fresh timeout.
type timeoutTransport struct {
	next http.RoundTripper
	d    time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.d)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if req.Context().Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("no complete response within the page timeout (%s): %w", t.d, err)
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// run is the state of one Live.Collect.
type run struct {
	l       *Live
	adapter abstractions.RequestAdapter
	b       *builder
	g       *errgroup.Group
	log     *slog.Logger
}

func top999() *int32 { n := int32(999); return &n }

// iterate pages through a collection with msgraphcore's page iterator,
// calling each for every item. Errors name the operation and the page
// that failed (its URL path; the query holds only $skiptoken and options).
func iterate[T any](ctx context.Context, r *run, op string, first func(context.Context) (serialization.Parsable, error), factory serialization.ParsableFactory, each func(T) error) error {
	resp, err := first(ctx)
	if err != nil {
		return fmt.Errorf("entra: %s (page 1): %w", op, err)
	}
	it, err := msgraphcore.NewPageIterator[T](resp, r.adapter, factory)
	if err != nil {
		return fmt.Errorf("entra: %s (page 1): %w", op, err)
	}
	var cbErr error
	err = it.Iterate(ctx, func(x T) bool {
		cbErr = each(x)
		return cbErr == nil
	})
	if cbErr != nil {
		return cbErr
	}
	if err != nil {
		// The iterator keeps the last good page, so its nextLink is the
		// URL that failed.
		where := ""
		if nl := it.GetOdataNextLink(); nl != nil {
			if u, perr := url.Parse(*nl); perr == nil {
				where = " GET " + u.Path
			}
		}
		return fmt.Errorf("entra: %s (next page%s): %w", op, where, err)
	}
	return nil
}

func (r *run) organization(ctx context.Context) (string, string, error) {
	b := organization.NewOrganizationRequestBuilderInternal(map[string]string{}, r.adapter)
	resp, err := b.Get(ctx, &organization.OrganizationRequestBuilderGetRequestConfiguration{
		QueryParameters: &organization.OrganizationRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
	})
	want := strings.ToLower(r.l.o.Tenant)
	if err != nil {
		if want != "" && denied(apiStatus(err)) {
			r.log.Warn("entra: organization not readable; using --tenant", "tenant", want, "error", err)
			return want, "", nil
		}
		return "", "", fmt.Errorf("entra: GET /organization: %w", err)
	}
	for _, o := range resp.GetValue() {
		id := str(o.GetId())
		if want != "" && !strings.EqualFold(id, want) {
			return "", "", fmt.Errorf("entra: the credential reads tenant %s, not the requested tenant %s", id, want)
		}
		return strings.ToLower(id), str(o.GetDisplayName()), nil
	}
	if want != "" {
		return want, "", nil
	}
	return "", "", fmt.Errorf("%w: GET /organization returned no organization; pass --tenant", ErrNoTenant)
}

// lists reads every collection in turn and fans the per-object requests
// out into r.g, so memberships load while later lists are still paging.
//
// Requests are dominated by two per group (members, owners); everything
// else pages at 999 objects. $batch is not used: Graph evaluates throttling
// per request inside a batch, so it does not raise the throughput ceiling,
// and inner 429s come back inside a 200 response where kiota's retry
// handler cannot see them (each would need a hand-written retry). It would
// save round trips, not quota; at Concurrency 8 the fan-out already hides
// latency (see bench/entrasim). groups/delta with members would return
// memberships inline, but it has no owners and its members@delta chunks
// span pages; it is the candidate if member listing ever dominates.
func (r *run) lists(ctx context.Context) error {
	for _, step := range []func(context.Context) error{
		r.roleDefinitions, r.users, r.groups, r.servicePrincipals, r.applications, r.graphAppRoles,
		r.roleAssignments, r.roleEligibility,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) roleDefinitions(ctx context.Context) error {
	rb := rolemanagement.NewRoleManagementRequestBuilderInternal(map[string]string{}, r.adapter).Directory().RoleDefinitions()
	return iterate(ctx, r, "list /roleManagement/directory/roleDefinitions", func(ctx context.Context) (serialization.Parsable, error) {
		return rb.Get(ctx, &rolemanagement.DirectoryRoleDefinitionsRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleDefinitionsRequestBuilderGetQueryParameters{
				Select: []string{"id", "displayName", "templateId", "isBuiltIn"}},
		})
	}, models.CreateUnifiedRoleDefinitionCollectionResponseFromDiscriminatorValue, r.b.roleDefinition)
}

func (r *run) users(ctx context.Context) error {
	userFields := []string{"id", "displayName", "userPrincipalName", "mail", "otherMails", "accountEnabled", "userType", "createdDateTime"}
	ub := users.NewUsersRequestBuilderInternal(map[string]string{}, r.adapter)
	list := func(sel []string) error {
		return iterate(ctx, r, "list /users", func(ctx context.Context) (serialization.Parsable, error) {
			return ub.Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: sel, Top: top999()},
			})
		}, models.CreateUserCollectionResponseFromDiscriminatorValue, r.b.user)
	}
	// signInActivity needs a P1 licence and AuditLog.Read.All; without
	// them Graph refuses the whole request with 403, so ask once with it
	// and fall back.
	err := list(append(append([]string{}, userFields...), "signInActivity"))
	if err != nil && apiStatus(err) == http.StatusForbidden {
		r.b.warn(warnSignIn)
		r.log.Warn(warnSignIn)
		err = list(userFields)
	}
	return err
}

func (r *run) groups(ctx context.Context) error {
	gb := groups.NewGroupsRequestBuilderInternal(map[string]string{}, r.adapter)
	return iterate(ctx, r, "list /groups", func(ctx context.Context) (serialization.Parsable, error) {
		return gb.Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{
				Select: []string{"id", "displayName", "mail", "securityEnabled", "mailEnabled", "groupTypes", "isAssignableToRole", "membershipRule"},
				Top:    top999()},
		})
	}, models.CreateGroupCollectionResponseFromDiscriminatorValue, func(g models.Groupable) error {
		if err := r.b.group(g); err != nil {
			return err
		}
		id := str(g.GetId())
		item := gb.ByGroupId(id)
		r.fanOut(ctx, "group", id, "members", func(ctx context.Context) error {
			return iterate(ctx, r, "list /groups/"+id+"/members", func(ctx context.Context) (serialization.Parsable, error) {
				return item.Members().Get(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{
					QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: top999()},
				})
			}, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) error {
				return r.b.member(id, o)
			})
		})
		r.fanOut(ctx, "group", id, "owners", func(ctx context.Context) error {
			return iterate(ctx, r, "list /groups/"+id+"/owners", func(ctx context.Context) (serialization.Parsable, error) {
				return item.Owners().Get(ctx, &groups.ItemOwnersRequestBuilderGetRequestConfiguration{
					QueryParameters: &groups.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id"}},
				})
			}, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) error {
				return r.b.owner("groups", id, o)
			})
		})
		return nil
	})
}

// fanOut runs one per-object listing in the bounded group. A 403/404 on it
// becomes a warning naming the object; any other failure cancels the run.
func (r *run) fanOut(ctx context.Context, kind, id, rel string, fn func(context.Context) error) {
	r.g.Go(func() error {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if st := apiStatus(err); denied(st) && ctx.Err() == nil {
			msg := warnObject(kind, id, rel, describeStatus(st, apiCode(err)))
			r.b.warn(msg)
			r.log.Warn(msg)
			return nil
		}
		return err
	})
}

func (r *run) servicePrincipals(ctx context.Context) error {
	sb := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, r.adapter)
	return iterate(ctx, r, "list /servicePrincipals", func(ctx context.Context) (serialization.Parsable, error) {
		return sb.Get(ctx, &serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{
				Select: []string{"id", "appId", "displayName", "servicePrincipalType", "accountEnabled", "appOwnerOrganizationId"},
				Top:    top999()},
		})
	}, models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue, func(s models.ServicePrincipalable) error {
		if err := r.b.servicePrincipal(s); err != nil {
			return err
		}
		id := str(s.GetId())
		item := sb.ByServicePrincipalId(id)
		r.fanOut(ctx, "service principal", id, "owners", func(ctx context.Context) error {
			return iterate(ctx, r, "list /servicePrincipals/"+id+"/owners", func(ctx context.Context) (serialization.Parsable, error) {
				return item.Owners().Get(ctx, &serviceprincipals.ItemOwnersRequestBuilderGetRequestConfiguration{
					QueryParameters: &serviceprincipals.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id"}},
				})
			}, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) error {
				return r.b.owner("servicePrincipals", id, o)
			})
		})
		return nil
	})
}

func (r *run) applications(ctx context.Context) error {
	ab := applications.NewApplicationsRequestBuilderInternal(map[string]string{}, r.adapter)
	return iterate(ctx, r, "list /applications", func(ctx context.Context) (serialization.Parsable, error) {
		return ab.Get(ctx, &applications.ApplicationsRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{
				Select: []string{"id", "appId", "displayName"}, Top: top999()},
		})
	}, models.CreateApplicationCollectionResponseFromDiscriminatorValue, func(a models.Applicationable) error {
		if err := r.b.application(a); err != nil {
			return err
		}
		id := str(a.GetId())
		item := ab.ByApplicationId(id)
		r.fanOut(ctx, "application", id, "owners", func(ctx context.Context) error {
			return iterate(ctx, r, "list /applications/"+id+"/owners", func(ctx context.Context) (serialization.Parsable, error) {
				return item.Owners().Get(ctx, &applications.ItemOwnersRequestBuilderGetRequestConfiguration{
					QueryParameters: &applications.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id"}},
				})
			}, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue, func(o models.DirectoryObjectable) error {
				return r.b.owner("applications", id, o)
			})
		})
		return nil
	})
}

// graphAppRoles reads which principals hold Microsoft Graph application
// permissions (appRoleAssignedTo on the Graph sp) and the role values.
func (r *run) graphAppRoles(ctx context.Context) error {
	r.b.mu.Lock()
	id := r.b.graphSP
	r.b.mu.Unlock()
	if id == "" {
		return nil
	}
	item := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(map[string]string{}, r.adapter).ByServicePrincipalId(id)
	sp, err := item.Get(ctx, &serviceprincipals.ServicePrincipalItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalItemRequestBuilderGetQueryParameters{Select: []string{"id", "appId", "appRoles"}},
	})
	if err != nil {
		return fmt.Errorf("entra: GET /servicePrincipals/%s: %w", id, err)
	}
	r.b.appRoles(sp)
	r.fanOut(ctx, "service principal", id, "appRoleAssignedTo", func(ctx context.Context) error {
		return iterate(ctx, r, "list /servicePrincipals/"+id+"/appRoleAssignedTo", func(ctx context.Context) (serialization.Parsable, error) {
			return item.AppRoleAssignedTo().Get(ctx, &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ItemAppRoleAssignedToRequestBuilderGetQueryParameters{
					Select: []string{"id", "principalId", "principalType", "appRoleId", "resourceId"}, Top: top999()},
			})
		}, models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue, func(a models.AppRoleAssignmentable) error {
			r.b.appRoleAssignment(id, a)
			return nil
		})
	})
	return nil
}

func (r *run) roleAssignments(ctx context.Context) error {
	rb := rolemanagement.NewRoleManagementRequestBuilderInternal(map[string]string{}, r.adapter).Directory().RoleAssignments()
	return iterate(ctx, r, "list /roleManagement/directory/roleAssignments", func(ctx context.Context) (serialization.Parsable, error) {
		return rb.Get(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{Expand: []string{"principal"}},
		})
	}, models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue, func(a models.UnifiedRoleAssignmentable) error {
		r.b.activeAssignment(a)
		return nil
	})
}

func (r *run) roleEligibility(ctx context.Context) error {
	rb := rolemanagement.NewRoleManagementRequestBuilderInternal(map[string]string{}, r.adapter).Directory().RoleEligibilitySchedules()
	err := iterate(ctx, r, "list /roleManagement/directory/roleEligibilitySchedules", func(ctx context.Context) (serialization.Parsable, error) {
		return rb.Get(ctx, &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration{
			QueryParameters: &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetQueryParameters{Expand: []string{"principal"}},
		})
	}, models.CreateUnifiedRoleEligibilityScheduleCollectionResponseFromDiscriminatorValue, func(a models.UnifiedRoleEligibilityScheduleable) error {
		r.b.eligibleAssignment(a)
		return nil
	})
	// Without an Entra ID P2 licence (or the permission) Graph answers
	// 400/403: eligible roles are then unknown, which is worth a warning,
	// not a failed snapshot.
	if st := apiStatus(err); err != nil && ctx.Err() == nil && (st == http.StatusForbidden || st == http.StatusBadRequest) {
		msg := warnPIM(describeStatus(st, apiCode(err)))
		r.b.warn(msg)
		r.log.Warn(msg)
		return nil
	}
	return err
}
