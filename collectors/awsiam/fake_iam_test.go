package awsiam

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeIAM is an httptest server speaking the IAM query protocol for
// GetAccountAuthorizationDetails: form-encoded POST in, XML out, in the shape
// of the API reference sample (namespace, <member> list items, URL-encoded
// policy documents, ResponseMetadata/RequestId) and the query-protocol error
// envelope <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>.
type fakeIAM struct {
	t     *testing.T
	srv   *httptest.Server
	pages []fakePage
	// markers[i] is the Marker returned with page i when more pages follow.
	markers []string
	// replies overrides the response to the n-th request (1-based).
	replies map[int]fakeReply
	// always overrides every response not covered by replies.
	always *fakeReply
	// pageHook may edit a page result before it is written (anomalies).
	pageHook func(page int, r *xmlGAADResult)
	// arrived gets a value (non-blocking) whenever a request arrives.
	arrived chan struct{}
	quit    chan struct{}

	mu   sync.Mutex
	reqs []fakeRequest
}

// fakePage is one page of entities.
type fakePage struct {
	Users    []xmlUser
	Groups   []xmlGroup
	Roles    []xmlRole
	Policies []xmlPolicy
}

// fakeReply is an injected response: an XML error (Code set), a raw body, a
// hang until the client goes away, or a body cut short mid-stream.
type fakeReply struct {
	Status        int
	Type, Code    string
	Message       string
	Body          string
	Hang          bool
	TruncatedBody bool
}

// fakeRequest is what the fake saw.
type fakeRequest struct {
	Action, Version, Marker string
	Filters                 []string
	Authorization           string
	SDKRequest              string // Amz-Sdk-Request: attempt=N; max=M
}

func newFakeIAM(t *testing.T, markers []string, pages ...fakePage) *fakeIAM {
	t.Helper()
	if len(markers) < len(pages)-1 {
		t.Fatalf("fakeIAM: %d pages need %d markers, got %d", len(pages), len(pages)-1, len(markers))
	}
	f := &fakeIAM{t: t, pages: pages, markers: markers, replies: map[int]fakeReply{},
		arrived: make(chan struct{}, 64), quit: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	// Cleanups run last-in first-out: release hung handlers, then close.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.quit) })
	return f
}

func (f *fakeIAM) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

func (f *fakeIAM) markersSeen() []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, r.Marker)
	}
	return out
}

func (f *fakeIAM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.t.Errorf("fakeIAM: method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		f.t.Errorf("fakeIAM: Content-Type %q, want application/x-www-form-urlencoded", ct)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("fakeIAM: parse form: %v", err)
		writeXMLError(w, http.StatusBadRequest, "Sender", "MalformedQueryString", err.Error(), "req-bad")
		return
	}
	req := fakeRequest{
		Action:        r.PostForm.Get("Action"),
		Version:       r.PostForm.Get("Version"),
		Marker:        r.PostForm.Get("Marker"),
		Authorization: r.Header.Get("Authorization"),
		SDKRequest:    r.Header.Get("Amz-Sdk-Request"),
	}
	for k, v := range r.PostForm {
		if strings.HasPrefix(k, "Filter.") {
			req.Filters = append(req.Filters, v...)
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	n := len(f.reqs)
	f.mu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	requestID := fmt.Sprintf("req-%04d", n)

	if req.Action != "GetAccountAuthorizationDetails" || req.Version != "2010-05-08" {
		f.t.Errorf("fakeIAM: Action=%q Version=%q, want GetAccountAuthorizationDetails 2010-05-08", req.Action, req.Version)
		writeXMLError(w, http.StatusBadRequest, "Sender", "InvalidAction", "unsupported action", requestID)
		return
	}
	reply, ok := f.replies[n]
	if !ok && f.always != nil {
		reply, ok = *f.always, true
	}
	if ok {
		f.writeReply(w, r, reply, requestID)
		return
	}

	page := -1
	if req.Marker == "" {
		page = 0
	} else {
		for i, m := range f.markers {
			if m == req.Marker && i+1 < len(f.pages) {
				page = i + 1
			}
		}
	}
	if page < 0 {
		writeXMLError(w, http.StatusBadRequest, "Sender", "ValidationError", "Invalid Marker", requestID)
		return
	}
	p := f.pages[page]
	res := xmlGAADResult{
		IsTruncated:     page < len(f.pages)-1,
		UserDetailList:  xmlList[xmlUser]{p.Users},
		GroupDetailList: xmlList[xmlGroup]{p.Groups},
		RoleDetailList:  xmlList[xmlRole]{p.Roles},
		Policies:        xmlList[xmlPolicy]{p.Policies},
	}
	if res.IsTruncated {
		res.Marker = f.markers[page]
	}
	if f.pageHook != nil {
		f.pageHook(page, &res)
	}
	writeXML(w, http.StatusOK, xmlGAADResponse{Xmlns: iamNamespace, Result: res, RequestID: requestID})
}

func (f *fakeIAM) writeReply(w http.ResponseWriter, r *http.Request, reply fakeReply, requestID string) {
	switch {
	case reply.Hang:
		select {
		case <-r.Context().Done():
		case <-f.quit:
		}
	case reply.TruncatedBody:
		body := `<GetAccountAuthorizationDetailsResponse xmlns="` + iamNamespace + `"><GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated><UserDetailList><member><UserName>al`
		hj, ok := w.(http.Hijacker)
		if !ok {
			f.t.Errorf("fakeIAM: cannot hijack connection")
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			f.t.Errorf("fakeIAM: hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\nx-amzn-RequestId: %s\r\n\r\n%s", len(body)+4096, requestID, body)
		_ = buf.Flush()
	case reply.Code != "":
		writeXMLError(w, reply.Status, reply.Type, reply.Code, reply.Message, requestID)
	default:
		w.Header().Set("x-amzn-RequestId", requestID)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(reply.Status)
		_, _ = w.Write([]byte(reply.Body))
	}
}

const iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

func writeXMLError(w http.ResponseWriter, status int, typ, code, msg, requestID string) {
	w.Header().Set("x-amzn-RequestId", requestID)
	e := xmlErrorResponse{Xmlns: iamNamespace, RequestID: requestID}
	e.Error.Type, e.Error.Code, e.Error.Message = typ, code, msg
	writeXML(w, status, e)
}

// rfc3986 percent-encodes everything but the RFC 3986 unreserved characters,
// as IAM does for policy documents (space is %20, '+' is %2B, '*' is %2A).
func rfc3986(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// XML shapes of the IAM query API (iam-2010-05-08). Lists are wrapped in
// <member> elements; empty lists are written as empty elements as IAM does.

type xmlList[T any] struct {
	Member []T `xml:"member"`
}

type xmlAttached struct {
	PolicyName string
	PolicyArn  string
}

type xmlInline struct {
	PolicyName     string
	PolicyDocument string
}

type xmlBoundary struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

type xmlTag struct {
	Key   string
	Value string
}

type xmlUser struct {
	Path                    string
	UserName                string
	UserId                  string
	Arn                     string
	CreateDate              string
	GroupList               xmlList[string]
	AttachedManagedPolicies xmlList[xmlAttached]
	UserPolicyList          xmlList[xmlInline]
	PermissionsBoundary     *xmlBoundary
	Tags                    xmlList[xmlTag]
}

type xmlGroup struct {
	Path                    string
	GroupName               string
	GroupId                 string
	Arn                     string
	CreateDate              string
	GroupPolicyList         xmlList[xmlInline]
	AttachedManagedPolicies xmlList[xmlAttached]
}

type xmlRoleLastUsed struct {
	LastUsedDate string `xml:",omitempty"`
	Region       string `xml:",omitempty"`
}

type xmlRole struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	InstanceProfileList      xmlList[struct{}]
	RolePolicyList           xmlList[xmlInline]
	AttachedManagedPolicies  xmlList[xmlAttached]
	PermissionsBoundary      *xmlBoundary
	Tags                     xmlList[xmlTag]
	RoleLastUsed             *xmlRoleLastUsed
}

type xmlPolicyVersion struct {
	Document         string
	VersionId        string
	IsDefaultVersion bool
	CreateDate       string
}

type xmlPolicy struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	CreateDate                    string
	UpdateDate                    string
	PolicyVersionList             xmlList[xmlPolicyVersion]
}

type xmlGAADResult struct {
	IsTruncated     bool
	Marker          string `xml:",omitempty"`
	UserDetailList  xmlList[xmlUser]
	GroupDetailList xmlList[xmlGroup]
	RoleDetailList  xmlList[xmlRole]
	Policies        xmlList[xmlPolicy]
}

type xmlGAADResponse struct {
	XMLName   xml.Name      `xml:"GetAccountAuthorizationDetailsResponse"`
	Xmlns     string        `xml:"xmlns,attr"`
	Result    xmlGAADResult `xml:"GetAccountAuthorizationDetailsResult"`
	RequestID string        `xml:"ResponseMetadata>RequestId"`
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}
