// Package entra collects Microsoft Entra ID (Azure AD) identities and
// directory roles from Microsoft Graph into the permgraph graph: users,
// groups with their direct members and owners, service principals,
// applications, directory role assignments (active and PIM-eligible) and the
// Microsoft Graph app role assignments that matter for escalation. The graph
// it writes is the "Entra" section of docs/model-azure-gcp.md.
//
// Live talks to Graph through the msgraph-sdk-go request builders and page
// iterator; File replays a raw capture written by Live (--save-raw) through
// the same mapping, so both produce the same graph. File reads the bulk
// pages with a hand-written decoder (decode.go) proven equal to the SDK
// models on them (decode_test.go) and everything else with the SDK models.
package entra

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Defaults for Options.
const (
	DefaultGraphEndpoint = "https://graph.microsoft.com"
	DefaultConcurrency   = 8
	// DefaultPageTimeout bounds one page request attempt (connect, headers
	// and body). Graph answers a 999-object page in well under a minute.
	DefaultPageTimeout = 2 * time.Minute
	// DefaultMaxRetries is kiota's per-request retry count for 429/503/504;
	// kiota caps it at 10. Graph throttles per app and tenant, so a large
	// tenant needs more than kiota's default of 3.
	DefaultMaxRetries = 8
	// DefaultMaxRetryWait caps the summed waits of one request's retries
	// (kiota's own hard cap is 180 s).
	DefaultMaxRetryWait = 3 * time.Minute
	// CaptureFile is the raw capture file name inside Options.SaveRawDir
	// and the directory File reads.
	CaptureFile = "graph.jsonl"
	// graphAppID is the appId of the Microsoft Graph service principal,
	// whose app role assignments (application permissions) the evaluator
	// needs.
	graphAppID = "00000003-0000-0000-c000-000000000000"
)

// ErrNoTenant means the tenant id is unknown: no --tenant and no readable
// organization object.
var ErrNoTenant = errors.New("entra: tenant id unknown")

// Options configures Live and File.
type Options struct {
	// Tenant is the directory (tenant) id. Live discovers it from
	// GET /organization when empty; File reads it from a captured
	// /organization page and fails without one.
	Tenant string
	// Source overrides the graph source id (default "azure:<tenant>").
	Source string
	// GraphEndpoint is the Graph root without version (default
	// https://graph.microsoft.com; national clouds override it, e.g.
	// https://graph.microsoft.us). Requests go to GraphEndpoint + "/v1.0".
	GraphEndpoint string
	// Credential obtains Graph tokens (scope GraphEndpoint + "/.default").
	Credential azcore.TokenCredential
	// HTTPClient supplies the base transport (tests); kiota's middleware
	// (retry, redirect, decompression) is layered above its Transport.
	HTTPClient *http.Client
	// Concurrency bounds the per-object requests (members, owners) in
	// flight at once (default DefaultConcurrency).
	Concurrency int
	// PageTimeout bounds each page request attempt (default
	// DefaultPageTimeout; negative disables it).
	PageTimeout time.Duration
	// MaxRetries and MaxRetryWait tune kiota's retry handler (defaults
	// DefaultMaxRetries, DefaultMaxRetryWait).
	MaxRetries   int
	MaxRetryWait time.Duration
	// SaveRawDir, when set, records every Graph response (URL, status,
	// body; never headers) into SaveRawDir/graph.jsonl.
	SaveRawDir string
	Logger     *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// sourceID returns the graph source for tenant.
func (o Options) sourceID(tenant string) string {
	if o.Source != "" {
		return o.Source
	}
	return "azure:" + strings.ToLower(tenant)
}

// Counts summarises one collection.
type Counts struct {
	Users, Groups, ServicePrincipals, Applications, RoleDefinitions int
	Memberships, Owners, RoleAssignments, EligibleAssignments       int
	AppRoleAssignments                                              int
	// SkippedMembers counts members that are neither user, group nor
	// service principal (devices, org contacts): they hold no permissions.
	SkippedMembers int
}

// Graph ids (docs/model-azure-gcp.md, "Entra").
func userID(id string) string   { return "entra:user:" + id }
func groupID(id string) string  { return "entra:group:" + id }
func spID(id string) string     { return "entra:sp:" + id }
func appID(id string) string    { return "entra:app:" + id }
func roleID(id string) string   { return "entra:role:" + id }
func tenantID(id string) string { return "entra:tenant:" + id }

// apiStatus returns the HTTP status of a failed Graph call (0 when the call
// did not get an HTTP answer).
func apiStatus(err error) int {
	var ae abstractions.ApiErrorable
	if errors.As(err, &ae) {
		return ae.GetStatusCode()
	}
	return 0
}

// apiCode returns Graph's error code (e.g. Authorization_RequestDenied),
// empty when the error carried no OData body.
func apiCode(err error) string {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil && oe.GetErrorEscaped().GetCode() != nil {
		return *oe.GetErrorEscaped().GetCode()
	}
	return ""
}

// describeStatus renders a refused request the same way for live errors and
// captured error pages, so a replay reproduces the live warnings.
func describeStatus(status int, code string) string {
	if code == "" {
		return fmt.Sprintf("HTTP %d", status)
	}
	return fmt.Sprintf("HTTP %d (%s)", status, code)
}

// denied reports statuses that make one object unreadable without making
// the whole collection wrong: no right on it, or it vanished meanwhile.
func denied(status int) bool { return status == http.StatusForbidden || status == http.StatusNotFound }

// transient reports statuses kiota retries; a capture holds them as the
// failed attempts before a retried success.
func transient(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// Warning texts shared by Live and File.
const (
	warnSignIn = "entra: users: signInActivity not readable (needs Entra ID P1/P2 and AuditLog.Read.All); last_sign_in omitted"
)

func warnPIM(what string) string {
	return "entra: PIM-eligible role assignments not read (" + what + "; PIM needs Entra ID P2 and RoleEligibilitySchedule.Read.Directory); eligible roles are missing"
}

func warnObject(kind, id, rel, what string) string {
	return fmt.Sprintf("entra: %s of %s %s not read: %s", rel, kind, id, what)
}
