// Package azurerbac collects Azure RBAC from Azure Resource Manager: the
// management group hierarchy, subscriptions, resource groups, role
// definitions, role assignments (active and PIM-eligible) and deny
// assignments, mapped as docs/model-azure-gcp.md ("Azure RBAC") says. Live
// reads ARM with the Azure SDK; File replays a --save-raw capture or reads
// `az role assignment list` / `az role definition list` output.
package azurerbac

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"permgraph/internal/httpstats"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"permgraph/collectors/internal/azauth"
	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// Defaults. ARM throttles per principal and per tenant with 429 and a
// Retry-After of seconds to a minute; azcore's retry policy honours it up to
// MaxRetryDelay (a longer Retry-After is not waited for and fails the page).
const (
	DefaultARMEndpoint   = "https://management.azure.com"
	DefaultConcurrency   = 4
	DefaultPageTimeout   = 2 * time.Minute
	DefaultMaxRetries    = 8
	DefaultRetryDelay    = 2 * time.Second
	DefaultMaxRetryDelay = 90 * time.Second
	// CaptureFile is the name --save-raw writes in SaveRawDir.
	CaptureFile = "arm.jsonl"
)

// Options configures the live and file collectors.
type Options struct {
	// Tenant is the Entra tenant id; the source is "azure:<tenant>". Live
	// learns it from the subscription list when empty; File from a capture.
	Tenant string
	// Source overrides the source id (default "azure:<tenant>").
	Source string
	// ARMEndpoint is the Resource Manager endpoint (default
	// DefaultARMEndpoint). For a national cloud pass its endpoint
	// (https://management.usgovcloudapi.net, https://management.chinacloudapi.cn):
	// the token audience follows from it.
	ARMEndpoint string
	// ARMAudience overrides the token audience (default: the known audience
	// of ARMEndpoint's cloud, else ARMEndpoint itself).
	ARMAudience string
	// Credential acquires ARM tokens (azidentity, or azauth.StaticToken).
	Credential azcore.TokenCredential
	// HTTPClient replaces the HTTP client (tests; proxies).
	HTTPClient *http.Client
	// Subscriptions limits collection to these subscription ids; empty
	// means every subscription the credential can see.
	Subscriptions []string
	// Concurrency bounds the subscriptions and management groups read in
	// parallel (default DefaultConcurrency).
	Concurrency int
	// PageTimeout bounds one page request including its retries (default
	// DefaultPageTimeout).
	PageTimeout time.Duration
	// MaxRetries, RetryDelay and MaxRetryDelay configure azcore's retry
	// policy for 408/429/5xx (defaults DefaultMaxRetries, DefaultRetryDelay,
	// DefaultMaxRetryDelay).
	MaxRetries    int32
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// SaveRawDir, when set, records every ARM response page (URL, status,
	// body; never headers) to SaveRawDir/arm.jsonl for File to replay.
	SaveRawDir string
	Logger     *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o Options) source(tenant string) string {
	if o.Source != "" {
		return o.Source
	}
	return "azure:" + strings.ToLower(strings.TrimSpace(tenant))
}

// Live reads Azure RBAC from ARM.
type Live struct {
	o Options
	// Counts is filled in by Collect.
	Counts Counts

	identities []string
}

// CallerIdentities returns who the last Collect called ARM as, from the
// claims of its access token (object id, UPN or app id); empty when the
// token could not be read. The token itself is never kept.
func (l *Live) CallerIdentities() []string { return l.identities }

// NewLive checks o and fills in defaults.
func NewLive(o Options) (*Live, error) {
	if o.Credential == nil {
		return nil, errors.New("azurerbac: no credential")
	}
	if o.ARMEndpoint == "" {
		o.ARMEndpoint = DefaultARMEndpoint
	}
	o.ARMEndpoint = strings.TrimRight(o.ARMEndpoint, "/")
	if !strings.HasPrefix(o.ARMEndpoint, "https://") {
		return nil, fmt.Errorf("azurerbac: ARM endpoint %q: must be an https:// URL (tokens are never sent in clear text)", o.ARMEndpoint)
	}
	if o.ARMAudience == "" {
		o.ARMAudience = audienceFor(o.ARMEndpoint)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = DefaultPageTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	return &Live{o: o}, nil
}

// audienceFor maps a known cloud's ARM endpoint to its token audience.
func audienceFor(endpoint string) string {
	for _, c := range []cloud.Configuration{cloud.AzurePublic, cloud.AzureGovernment, cloud.AzureChina} {
		if rm, ok := c.Services[cloud.ResourceManager]; ok && strings.EqualFold(strings.TrimRight(rm.Endpoint, "/"), endpoint) {
			return rm.Audience
		}
	}
	return endpoint
}

func (l *Live) clientOptions(t policy.Transporter) *arm.ClientOptions {
	return &arm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: l.o.ARMEndpoint, Audience: l.o.ARMAudience},
			}},
			Retry: policy.RetryOptions{
				MaxRetries: l.o.MaxRetries, RetryDelay: l.o.RetryDelay, MaxRetryDelay: l.o.MaxRetryDelay,
			},
			Transport: t,
			Telemetry: policy.TelemetryOptions{ApplicationID: "permgraph"},
		},
		// A read-only collector must never register resource providers.
		DisableRPRegistration: true,
	}
}

// clients holds the SDK clients of one run.
type clients struct {
	subs     *armsubscriptions.Client
	entities *armmanagementgroups.EntitiesClient
	roleDefs *armauthorization.RoleDefinitionsClient
	elig     *armauthorization.RoleEligibilityScheduleInstancesClient
	cred     azcore.TokenCredential
	opts     *arm.ClientOptions
}

func (l *Live) newClients(t policy.Transporter) (*clients, error) {
	c := &clients{cred: l.o.Credential, opts: l.clientOptions(t)}
	var err error
	if c.subs, err = armsubscriptions.NewClient(c.cred, c.opts); err != nil {
		return nil, fmt.Errorf("azurerbac: subscriptions client: %w", err)
	}
	if c.entities, err = armmanagementgroups.NewEntitiesClient(c.cred, c.opts); err != nil {
		return nil, fmt.Errorf("azurerbac: management groups client: %w", err)
	}
	if c.roleDefs, err = armauthorization.NewRoleDefinitionsClient(c.cred, c.opts); err != nil {
		return nil, fmt.Errorf("azurerbac: role definitions client: %w", err)
	}
	if c.elig, err = armauthorization.NewRoleEligibilityScheduleInstancesClient(c.cred, c.opts); err != nil {
		return nil, fmt.Errorf("azurerbac: role eligibility client: %w", err)
	}
	return c, nil
}

// Collect reads the tenant's RBAC into sink. Subscriptions and management
// groups are read in parallel (Options.Concurrency); a scope the credential
// may not read becomes a warning naming it, anything else stops the run.
//
// Role assignments are listed per subscription without a filter: ARM then
// returns the assignments at, above (management groups, root) and below
// (resource groups, resources) the subscription. atScope() would drop the
// resource group and resource assignments, so it is used only at
// management-group scope, where it is the supported filter and where each
// group is listed itself (groups without subscriptions included).
func (l *Live) Collect(ctx context.Context, sink graph.Sink) (err error) {
	log := l.o.logger()
	ids, ierr := azauth.CallerIdentities(ctx, l.o.Credential, l.o.ARMAudience+"/.default")
	if ierr != nil {
		log.Debug("azurerbac: caller identity unknown; not recorded", "err", ierr)
	}
	l.identities = ids
	hc := l.o.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	// Count every attempt for the job summary (azcore retries above it).
	hc = &http.Client{Transport: httpstats.Wrap(hc.Transport), Timeout: hc.Timeout, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar}
	if l.o.SaveRawDir != "" {
		rec, rerr := rawcapture.NewRecorder(l.o.SaveRawDir, CaptureFile, hc.Transport)
		if rerr != nil {
			return fmt.Errorf("azurerbac: %w", rerr)
		}
		defer func() {
			if cerr := rec.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("azurerbac: %w", cerr))
			}
		}()
		hc = &http.Client{Transport: rec, Timeout: hc.Timeout, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar}
	}
	c, err := l.newClients(hc)
	if err != nil {
		return err
	}

	var subs []*armsubscriptions.Subscription
	if err := pages(ctx, l, nil, opSubscriptions, c.subs.NewListPager(nil), func(p armsubscriptions.ClientListResponse) error {
		subs = append(subs, p.Value...)
		return nil
	}); err != nil {
		return err
	}
	tenant := l.o.Tenant
	for _, s := range subs {
		if tenant == "" && s != nil && s.TenantID != nil {
			tenant = *s.TenantID
		}
	}
	if tenant == "" {
		return errors.New("azurerbac: tenant unknown: the credential sees no subscription; set the tenant id")
	}
	em := newEmitter(sink, tenant)
	em.source = l.o.source(tenant)
	defer func() { l.Counts = em.counts }()
	if err := em.subscriptionsPage(subs); err != nil {
		return fmt.Errorf("azurerbac: %s: %w", opSubscriptions, err)
	}

	var mgs []string
	if err := pages(ctx, l, em, opEntities, c.entities.NewListPager(nil), func(p armmanagementgroups.EntitiesClientListResponse) error {
		for _, x := range p.Value {
			if x != nil && x.ID != nil {
				if ref, ok := parseScope(em.tenant, *x.ID); ok && ref.Type == typeManagementGroup {
					mgs = append(mgs, ref.ArmID)
				}
			}
		}
		return em.entitiesPage(p.Value)
	}); err != nil {
		return err
	}

	selected, err := l.selectSubscriptions(em, subs)
	if err != nil {
		return err
	}
	var tasks []func(context.Context) error
	for _, mg := range mgs {
		tasks = append(tasks, func(ctx context.Context) error { return l.managementGroup(ctx, c, em, mg) })
	}
	for _, s := range selected {
		tasks = append(tasks, func(ctx context.Context) error { return l.subscription(ctx, c, em, s) })
	}
	if err := runBounded(ctx, l.o.Concurrency, tasks); err != nil {
		return err
	}

	// Roles assigned but not listed at any subscription (custom roles
	// defined at a management group): fetch each by id.
	for _, id := range em.missingRoles() {
		if err := l.getRoleDefinition(ctx, c, em, id); err != nil {
			return err
		}
	}
	if err := em.finish(); err != nil {
		return fmt.Errorf("azurerbac: %w", err)
	}
	log.Info("azurerbac: collected Azure RBAC", "source", em.source,
		"management_groups", em.counts.ManagementGroups, "subscriptions", len(selected),
		"resource_groups", em.counts.ResourceGroups, "role_definitions", em.counts.RoleDefinitions,
		"role_assignments", em.counts.RoleAssignments, "eligible", em.counts.Eligible, "deny_assignments", em.counts.DenyAssignments)
	return nil
}

// selectSubscriptions applies Options.Subscriptions; a requested id the
// credential cannot see is a warning.
func (l *Live) selectSubscriptions(em *emitter, subs []*armsubscriptions.Subscription) ([]string, error) {
	var all []string
	for _, s := range subs {
		if s == nil {
			continue
		}
		id := str(s.SubscriptionID)
		if id == "" {
			id = lastSegment(str(s.ID))
		}
		if id != "" {
			all = append(all, id)
		}
	}
	if len(l.o.Subscriptions) == 0 {
		return all, nil
	}
	var out []string
	for _, want := range l.o.Subscriptions {
		found := false
		for _, id := range all {
			if strings.EqualFold(id, strings.TrimSpace(want)) {
				out, found = append(out, id), true
				break
			}
		}
		if !found {
			em.warn(fmt.Sprintf("/subscriptions/%s: requested subscription is not visible to the credential; it was not collected", want))
		}
	}
	return out, nil
}

func (l *Live) managementGroup(ctx context.Context, c *clients, em *emitter, mg string) error {
	ra, err := armauthorization.NewRoleAssignmentsClient("", c.cred, c.opts)
	if err != nil {
		return fmt.Errorf("azurerbac: role assignments client: %w", err)
	}
	filter := "atScope()"
	return pages(ctx, l, em, opRoleAssignments, ra.NewListForScopePager(mg, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter}),
		func(p armauthorization.RoleAssignmentsClientListForScopeResponse) error {
			return em.roleAssignmentsPage(p.Value)
		})
}

// subscription reads one subscription: resource groups, role definitions,
// role assignments, deny assignments and PIM-eligible assignments.
func (l *Live) subscription(ctx context.Context, c *clients, em *emitter, sub string) error {
	scope := "/subscriptions/" + sub
	rgs, err := armresources.NewResourceGroupsClient(sub, c.cred, c.opts)
	if err != nil {
		return fmt.Errorf("azurerbac: resource groups client: %w", err)
	}
	ra, err := armauthorization.NewRoleAssignmentsClient(sub, c.cred, c.opts)
	if err != nil {
		return fmt.Errorf("azurerbac: role assignments client: %w", err)
	}
	da, err := armauthorization.NewDenyAssignmentsClient(sub, c.cred, c.opts)
	if err != nil {
		return fmt.Errorf("azurerbac: deny assignments client: %w", err)
	}
	if err := pages(ctx, l, em, opResourceGroups, rgs.NewListPager(nil), func(p armresources.ResourceGroupsClientListResponse) error {
		return em.resourceGroupsPage(p.Value)
	}); err != nil {
		return err
	}
	if err := pages(ctx, l, em, opRoleDefinitions, c.roleDefs.NewListPager(scope, nil), func(p armauthorization.RoleDefinitionsClientListResponse) error {
		return em.roleDefinitionsPage(p.Value)
	}); err != nil {
		return err
	}
	if err := pages(ctx, l, em, opRoleAssignments, ra.NewListForSubscriptionPager(nil), func(p armauthorization.RoleAssignmentsClientListForSubscriptionResponse) error {
		return em.roleAssignmentsPage(p.Value)
	}); err != nil {
		return err
	}
	if err := pages(ctx, l, em, opDenyAssignments, da.NewListPager(nil), func(p armauthorization.DenyAssignmentsClientListResponse) error {
		return em.denyAssignmentsPage(p.Value)
	}); err != nil {
		return err
	}
	return pages(ctx, l, em, opEligibility, c.elig.NewListForScopePager(scope, nil), func(p armauthorization.RoleEligibilityScheduleInstancesClientListForScopeResponse) error {
		return em.eligibilityPage(p.Value)
	})
}

func (l *Live) getRoleDefinition(ctx context.Context, c *clients, em *emitter, id string) error {
	var raw *http.Response
	pctx, cancel := context.WithTimeout(runtime.WithCaptureResponse(ctx, &raw), l.o.PageTimeout)
	resp, err := c.roleDefs.GetByID(pctx, id, nil)
	cancel()
	if err != nil {
		return l.pageError(ctx, em, opRoleDefinition, 1, raw, err)
	}
	if err := em.roleDefinition(convertRoleDefinition(&resp.RoleDefinition)); err != nil {
		return fmt.Errorf("azurerbac: %s %s: %w", opRoleDefinition, id, err)
	}
	return nil
}

// pages runs a pager to the end, one page at a time under the page
// timeout, handing each page to fn. A failure that only hides one scope
// (see warnable) becomes a warning on em and pages returns nil.
func pages[T any](ctx context.Context, l *Live, em *emitter, op string, p *runtime.Pager[T], fn func(T) error) error {
	for n := 1; p.More(); n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("azurerbac: %s: %w", op, err)
		}
		var raw *http.Response
		pctx, cancel := context.WithTimeout(runtime.WithCaptureResponse(ctx, &raw), l.o.PageTimeout)
		page, err := p.NextPage(pctx)
		cancel()
		if err != nil {
			return l.pageError(ctx, em, op, n, raw, err)
		}
		if err := fn(page); err != nil {
			return fmt.Errorf("azurerbac: %s page %d (%s): %w", op, n, pageURL(raw), err)
		}
	}
	return nil
}

func pageURL(raw *http.Response) string {
	if raw == nil || raw.Request == nil || raw.Request.URL == nil {
		return "no response"
	}
	return raw.Request.URL.String()
}

// pageError turns a failed page into a warning (see warnable) or an error
// naming the operation, page number and URL.
func (l *Live) pageError(ctx context.Context, em *emitter, op string, n int, raw *http.Response, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("azurerbac: %s page %d: %w", op, n, cerr)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		path := ""
		if re.RawResponse != nil && re.RawResponse.Request != nil {
			path = re.RawResponse.Request.URL.Path
			raw = re.RawResponse
		}
		if pop, scope, ok := describePath(path); ok && em != nil && warnable(pop, re.StatusCode) {
			msg := warningText(pop, scope, re.StatusCode, re.ErrorCode)
			l.o.logger().Warn("azurerbac: "+msg, "op", pop, "scope", scope, "status", re.StatusCode)
			em.warn(msg)
			return nil
		}
		if re.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("azurerbac: %s page %d (%s): ARM rejected the token (HTTP 401 %s): check the tenant, "+
				"the token audience (%s) and its expiry", op, n, pageURL(raw), re.ErrorCode, l.o.ARMAudience)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("azurerbac: %s page %d (%s): no complete response within the page timeout (%s): %w",
			op, n, pageURL(raw), l.o.PageTimeout, err)
	}
	return fmt.Errorf("azurerbac: %s page %d (%s): %w", op, n, pageURL(raw), err)
}

// runBounded runs tasks with at most n at a time; the first error cancels
// the rest and is returned.
func runBounded(ctx context.Context, n int, tasks []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, n)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) { once.Do(func() { first = err; cancel() }) }
loop:
	for _, t := range tasks {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := t(ctx); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
