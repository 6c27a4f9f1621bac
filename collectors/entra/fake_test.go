package entra

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGraph serves Microsoft Graph v1.0 JSON shapes (value arrays,
// absolute @odata.nextLink, @odata.type on directory objects, OData error
// bodies) from an in-memory tenant, with injectable faults. The real
// kiota/msgraph client talks to it over plain HTTP on 127.0.0.1, which
// kiota's token provider allows for localhost only.
type fakeGraph struct {
	t        *testing.T
	srv      *httptest.Server
	pageSize int
	// collections maps a path after /v1.0 to its items; objects maps a
	// path to a single entity.
	collections map[string][]map[string]any
	objects     map[string]map[string]any

	mu sync.Mutex
	// faults, keyed by path after /v1.0; a page is "path?skip=N"
	throttle    map[string]int // 429s left (Retry-After: throttleAfter)
	unavailable map[string]int // 503s left (Retry-After: 0)
	status      map[string]int // permanent status (403, 404, 400)
	malformed   map[string]bool
	hang        map[string]bool
	noSignIn    bool // 403 when $select asks for signInActivity
	// recorded
	requests []string // "path?skip=N" per HTTP request
	auth     map[string]int
	selects  map[string]string // path -> $select of the first request
	// throttleAfter is the Retry-After of injected 429s (seconds).
	throttleAfter string
}

func newFakeGraph(t *testing.T) *fakeGraph {
	f := &fakeGraph{
		t: t, pageSize: 2,
		collections: map[string][]map[string]any{}, objects: map[string]map[string]any{},
		throttle: map[string]int{}, unavailable: map[string]int{}, status: map[string]int{},
		malformed: map[string]bool{}, hang: map[string]bool{}, auth: map[string]int{}, selects: map[string]string{},
		throttleAfter: "1",
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) count(page string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r == page {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func odataError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"request-id": "00000000-0000-0000-0000-000000000001", "date": "2026-01-01T00:00:00"}}})
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, "/v1.0")
	if !ok {
		odataError(w, 400, "BadRequest", "Invalid version")
		return
	}
	q := r.URL.Query()
	skip, _ := strconv.Atoi(q.Get("$skiptoken"))
	page := path + "?skip=" + strconv.Itoa(skip)
	f.mu.Lock()
	f.requests = append(f.requests, page)
	f.auth[r.Header.Get("Authorization")]++
	if _, seen := f.selects[path]; !seen {
		f.selects[path] = q.Get("$select")
	}
	var fault string
	switch {
	case f.hang[page]:
		fault = "hang"
	case f.throttle[page] > 0:
		f.throttle[page]--
		fault = "429"
	case f.unavailable[page] > 0:
		f.unavailable[page]--
		fault = "503"
	case f.status[path] != 0:
		fault = strconv.Itoa(f.status[path])
	case f.malformed[page]:
		fault = "malformed"
	case f.noSignIn && path == "/users" && strings.Contains(q.Get("$select"), "signInActivity"):
		fault = "nosignin"
	}
	f.mu.Unlock()

	switch fault {
	case "hang":
		<-r.Context().Done()
		return
	case "429":
		w.Header().Set("Retry-After", f.throttleAfter)
		odataError(w, 429, "TooManyRequests", "Too many requests")
		return
	case "503":
		w.Header().Set("Retry-After", "0")
		odataError(w, 503, "serviceNotAvailable", "Service unavailable")
		return
	case "403":
		odataError(w, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	case "404":
		odataError(w, 404, "Request_ResourceNotFound", "Resource does not exist.")
		return
	case "400":
		odataError(w, 400, "AadPremiumLicenseRequired", "The tenant needs an AAD Premium 2 license.")
		return
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"value":[{"@odata.type":"#microsoft.graph.user","id":`)
		return
	case "nosignin":
		odataError(w, 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
			"Neither tenant is B2C or tenant doesn't have premium license")
		return
	}

	if obj, ok := f.objects[path]; ok {
		writeJSON(w, 200, obj)
		return
	}
	items, ok := f.collections[path]
	if !ok {
		odataError(w, 404, "Request_ResourceNotFound", "Resource '"+path+"' does not exist.")
		return
	}
	size := f.pageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top < size {
		size = top
	}
	end := min(skip+size, len(items))
	body := map[string]any{
		"@odata.context": f.srv.URL + "/v1.0/$metadata#" + strings.TrimPrefix(path, "/"),
		"value":          items[skip:end],
	}
	if end < len(items) {
		// Graph keeps the request's options in the nextLink and adds an
		// opaque $skiptoken; the link is absolute.
		next := url.Values{}
		for k, v := range q {
			if k != "$skiptoken" {
				next[k] = v
			}
		}
		next.Set("$skiptoken", strconv.Itoa(end))
		body["@odata.nextLink"] = f.srv.URL + r.URL.Path + "?" + next.Encode()
	}
	writeJSON(w, 200, body)
}

// Fixture tenant ids: real Graph ids are GUIDs; readable prefixes keep
// the golden file legible.
const (
	tenantGUID = "aaaaaaaa-0000-4000-8000-000000000001"
	uAlice     = "a11ce000-0000-4000-8000-000000000001"
	uBob       = "b0b00000-0000-4000-8000-000000000002"
	uCarol     = "ca401000-0000-4000-8000-000000000003"
	uDave      = "da7e0000-0000-4000-8000-000000000004"
	uErin      = "e4140000-0000-4000-8000-000000000005"
	gAdmins    = "9a000000-0000-4000-8000-000000000001"
	gDevs      = "9d000000-0000-4000-8000-000000000002"
	gM365      = "93650000-0000-4000-8000-000000000003"
	gSecret    = "95ec0000-0000-4000-8000-000000000004"
	gNested    = "94e50000-0000-4000-8000-000000000005"
	spGraph    = "5a000000-0000-4000-8000-000000000001"
	spDeploy   = "5d000000-0000-4000-8000-000000000002"
	spMI       = "5e000000-0000-4000-8000-000000000003"
	appDeploy  = "ad000000-0000-4000-8000-000000000001"
	appIDDepl  = "c0ffee00-0000-4000-8000-000000000001"
	device1    = "dede0000-0000-4000-8000-000000000001"

	roleGA     = "62e90394-69f5-4237-9190-012177145e10" // Global Administrator
	roleGroups = "fdd7a751-b60b-444a-984c-02652fe8fa1c" // Groups Administrator
	rolePRA    = "e8611ab8-c189-46e8-94e1-60213ab1f814" // Privileged Role Administrator
	appRoleRM  = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8" // RoleManagement.ReadWrite.Directory
	msTenant   = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
)

func typed(t, id string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph." + t, "id": id}
}

// fixtureTenant fills f with a small tenant that exercises every mapping.
func fixtureTenant(f *fakeGraph, signIn bool) {
	user := func(id, name, upn, userType string, enabled bool, extra map[string]any) map[string]any {
		u := map[string]any{"id": id, "displayName": name, "userPrincipalName": upn, "userType": userType,
			"accountEnabled": enabled, "mail": nil, "otherMails": []string{}, "createdDateTime": "2024-01-02T03:04:05Z"}
		if signIn {
			u["signInActivity"] = map[string]any{"lastSignInDateTime": "2026-10-01T08:00:00Z", "lastSignInRequestId": "x"}
		}
		for k, v := range extra {
			u[k] = v
		}
		return u
	}
	f.collections["/organization"] = []map[string]any{{"id": tenantGUID, "displayName": "Contoso"}}
	f.collections["/users"] = []map[string]any{
		user(uAlice, "Alice", "Alice@contoso.com", "Member", true, map[string]any{"mail": "alice@contoso.com", "otherMails": []string{"alice@home.example"}}),
		user(uBob, "Bob (guest)", "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com", "Guest", true, map[string]any{"mail": "bob@fabrikam.com"}),
		user(uCarol, "Carol", "carol@contoso.com", "Member", false, nil),
		user(uDave, "Dave", "dave@contoso.com", "Member", true, nil),
		user(uErin, "Erin", "erin@contoso.com", "Member", true, nil),
	}
	f.collections["/groups"] = []map[string]any{
		{"id": gAdmins, "displayName": "Tenant Admins", "mail": nil, "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}, "isAssignableToRole": true, "membershipRule": nil},
		{"id": gDevs, "displayName": "Developers", "mail": nil, "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{"DynamicMembership"}, "isAssignableToRole": nil, "membershipRule": `(user.department -eq "Dev")`},
		{"id": gM365, "displayName": "All Company", "mail": "allcompany@contoso.com", "securityEnabled": false, "mailEnabled": true, "groupTypes": []string{"Unified"}, "isAssignableToRole": false},
		{"id": gSecret, "displayName": "Hidden membership", "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}},
		{"id": gNested, "displayName": "Nested", "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}},
	}
	f.collections["/groups/"+gAdmins+"/members"] = []map[string]any{typed("user", uAlice)}
	f.collections["/groups/"+gDevs+"/members"] = []map[string]any{
		typed("user", uAlice), typed("user", uBob), typed("group", gNested), typed("servicePrincipal", spDeploy), typed("device", device1),
	}
	f.collections["/groups/"+gM365+"/members"] = []map[string]any{typed("user", uAlice), typed("user", uCarol), typed("user", uDave), typed("user", uErin)}
	f.collections["/groups/"+gSecret+"/members"] = []map[string]any{typed("user", uDave)}
	f.collections["/groups/"+gNested+"/members"] = []map[string]any{typed("user", uErin)}
	f.status["/groups/"+gSecret+"/members"] = 403
	for _, g := range []string{gAdmins, gDevs, gM365, gSecret, gNested} {
		f.collections["/groups/"+g+"/owners"] = []map[string]any{}
	}
	f.collections["/groups/"+gDevs+"/owners"] = []map[string]any{typed("user", uCarol), typed("servicePrincipal", spDeploy)}

	f.collections["/servicePrincipals"] = []map[string]any{
		{"id": spGraph, "appId": graphAppID, "displayName": "Microsoft Graph", "servicePrincipalType": "Application", "accountEnabled": true, "appOwnerOrganizationId": msTenant},
		{"id": spDeploy, "appId": appIDDepl, "displayName": "deploy-bot", "servicePrincipalType": "Application", "accountEnabled": true, "appOwnerOrganizationId": tenantGUID},
		{"id": spMI, "appId": "11110000-0000-4000-8000-000000000009", "displayName": "aks-agentpool", "servicePrincipalType": "ManagedIdentity", "accountEnabled": true, "appOwnerOrganizationId": nil},
	}
	for _, s := range []string{spGraph, spDeploy, spMI} {
		f.collections["/servicePrincipals/"+s+"/owners"] = []map[string]any{}
	}
	f.collections["/servicePrincipals/"+spDeploy+"/owners"] = []map[string]any{typed("user", uDave)}
	f.objects["/servicePrincipals/"+spGraph] = map[string]any{"id": spGraph, "appId": graphAppID, "appRoles": []map[string]any{
		{"id": appRoleRM, "value": "RoleManagement.ReadWrite.Directory", "allowedMemberTypes": []string{"Application"}, "isEnabled": true, "displayName": "x", "description": "x", "origin": "Application"},
		{"id": "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "value": "Directory.ReadWrite.All", "allowedMemberTypes": []string{"Application"}, "isEnabled": true},
	}}
	f.collections["/servicePrincipals/"+spGraph+"/appRoleAssignedTo"] = []map[string]any{
		{"id": "ara-1", "principalId": spDeploy, "principalType": "ServicePrincipal", "appRoleId": appRoleRM, "resourceId": spGraph, "principalDisplayName": "deploy-bot", "resourceDisplayName": "Microsoft Graph"},
	}
	f.collections["/applications"] = []map[string]any{{"id": appDeploy, "appId": appIDDepl, "displayName": "deploy-bot"}}
	f.collections["/applications/"+appDeploy+"/owners"] = []map[string]any{typed("user", uErin)}

	f.collections["/roleManagement/directory/roleDefinitions"] = []map[string]any{
		{"id": roleGA, "displayName": "Global Administrator", "templateId": roleGA, "isBuiltIn": true},
		{"id": roleGroups, "displayName": "Groups Administrator", "templateId": roleGroups, "isBuiltIn": true},
		{"id": rolePRA, "displayName": "Privileged Role Administrator", "templateId": rolePRA, "isBuiltIn": true},
	}
	withPrincipal := func(id, principal, ptype, role, scope string) map[string]any {
		return map[string]any{"id": id, "principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope,
			"principal": typed(ptype, principal)}
	}
	f.collections["/roleManagement/directory/roleAssignments"] = []map[string]any{
		withPrincipal("ra-alice-ga", uAlice, "user", roleGA, "/"),
		withPrincipal("ra-deploy-groups", spDeploy, "servicePrincipal", roleGroups, "/"),
		withPrincipal("ra-admins-pra", gAdmins, "group", rolePRA, "/"),
		// no $expand result: the principal is typed from the lists
		{"id": "ra-carol-groups", "principalId": uCarol, "roleDefinitionId": roleGroups, "directoryScopeId": "/administrativeUnits/au-1"},
	}
	f.collections["/roleManagement/directory/roleEligibilitySchedules"] = []map[string]any{
		withPrincipal("el-bob-ga", uBob, "user", roleGA, "/"),
		withPrincipal("el-alice-ga", uAlice, "user", roleGA, "/"),
		withPrincipal("el-dave-groups", uDave, "user", roleGroups, "/administrativeUnits/au-2"),
	}
}
