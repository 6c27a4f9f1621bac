package azurerbac

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeARM speaks enough of Azure Resource Manager for the SDK clients:
// list responses are {"value":[...],"nextLink":...} with absolute nextLinks
// back to the server, resources carry "properties", and every request must
// hold a bearer token and an api-version. It serves TLS because azcore
// refuses to send a bearer token over plain http.
type fakeARM struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	// pages maps a lower-cased path to its pages; each page is a list of
	// JSON objects (a single-object GET has one page with one object).
	pages map[string][][]string
	// single marks paths answered with a bare object (GET by id).
	single map[string]bool
	// script holds statuses returned (in order) before the real answer for
	// "path#page"; a 429 carries Retry-After.
	script map[string][]int
	// forbidden path prefixes answer 403 AuthorizationFailed forever.
	forbidden []string
	// badRequest paths answer 400 with code.
	badRequest map[string]string
	// raw replaces the body of "path#page" (malformed pages).
	raw map[string]string
	// hits counts requests per "path#page".
	hits map[string]int
	// authz records Authorization headers seen.
	authz map[string]bool
}

func newFakeARM(t *testing.T) *fakeARM {
	f := &fakeARM{t: t, pages: map[string][][]string{}, single: map[string]bool{}, script: map[string][]int{},
		badRequest: map[string]string{}, raw: map[string]string{}, hits: map[string]int{}, authz: map[string]bool{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeARM) add(path string, pages ...[]string) { f.pages[strings.ToLower(path)] = pages }

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

func (f *fakeARM) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.ToLower(r.URL.Path)
	q := r.URL.Query()
	page := 0
	if s := q.Get("$skiptoken"); s != "" {
		page, _ = strconv.Atoi(s)
	}
	key := path + "#" + strconv.Itoa(page)
	f.mu.Lock()
	f.hits[key]++
	f.authz[r.Header.Get("Authorization")] = true
	var status int
	if s := f.script[key]; len(s) > 0 {
		status, f.script[key] = s[0], s[1:]
	}
	pages, ok := f.pages[path]
	single := f.single[path]
	raw, hasRaw := f.raw[key]
	bad, isBad := f.badRequest[path]
	f.mu.Unlock()

	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		armError(w, 401, "AuthenticationFailed", "no bearer token")
		return
	}
	if q.Get("api-version") == "" {
		armError(w, 400, "MissingApiVersionParameter", "api-version is required")
		return
	}
	switch status {
	case 0:
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		armError(w, status, "TooManyRequests", "throttled")
		return
	default:
		armError(w, status, "ServerBusy", "try again")
		return
	}
	for _, p := range f.forbidden {
		if strings.HasPrefix(path, strings.ToLower(p)) {
			armError(w, 403, "AuthorizationFailed", "The client does not have authorization to perform action over scope "+r.URL.Path)
			return
		}
	}
	if isBad {
		armError(w, 400, bad, "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if hasRaw {
		fmt.Fprint(w, raw)
		return
	}
	if !ok {
		armError(w, 404, "NotFound", "no such path in the fake: "+r.URL.Path)
		return
	}
	if single {
		fmt.Fprint(w, pages[0][0])
		return
	}
	if page >= len(pages) {
		armError(w, 400, "InvalidSkipToken", "bad skiptoken")
		return
	}
	body := `{"value":[` + strings.Join(pages[page], ",") + `]`
	if page+1 < len(pages) {
		next := f.srv.URL + r.URL.Path + "?api-version=" + q.Get("api-version") + "&$skiptoken=" + strconv.Itoa(page+1)
		nl, _ := json.Marshal(next)
		body += `,"nextLink":` + string(nl)
	}
	fmt.Fprint(w, body+"}")
}

// hitCount returns the requests seen for page n of path.
func (f *fakeARM) hitCount(path string, n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[strings.ToLower(path)+"#"+strconv.Itoa(n)]
}

// fakeCred is a TokenCredential that records the scopes it is asked for.
type fakeCred struct {
	mu     sync.Mutex
	scopes map[string]bool
}

const testToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-token-SECRET.sig"

func (c *fakeCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scopes == nil {
		c.scopes = map[string]bool{}
	}
	for _, s := range o.Scopes {
		c.scopes[s] = true
	}
	return azcore.AccessToken{Token: testToken, ExpiresOn: timeNowPlusHour()}, nil
}
