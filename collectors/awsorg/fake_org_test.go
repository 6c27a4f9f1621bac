package awsorg

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeOrgAPI is an httptest server speaking the AWS JSON 1.1 protocol of
// AWS Organizations (service AWSOrganizationsV20161128) for the read
// operations the collector uses: POST / with Content-Type
// application/x-amz-json-1.1 and X-Amz-Target AWSOrganizationsV20161128.<Op>,
// a JSON body in and out, NextToken paging, and errors as
// {"__type": "<Code>", "Message": "..."} with HTTP 400 (as the API reference
// documents; tests also use the status codes of the current service model).
type fakeOrgAPI struct {
	t    *testing.T
	srv  *httptest.Server
	data *fakeData
	// pageSize limits the items per page of an operation (default: all).
	pageSize map[string]int
	// emptyFirst makes the first page of "Op subject" empty but with a
	// NextToken, which Organizations documents as possible.
	emptyFirst map[string]bool
	// replies overrides the n-th call (1-based) of an operation: "ListRoots#1".
	replies map[string]fakeReply
	// always overrides every response not covered by replies (nil: none);
	// alwaysOp limits it to one operation.
	always   *fakeReply
	alwaysOp string
	// hook may edit a successful response before it is written.
	hook func(op, subject string, resp map[string]any)
	// arrived gets a value (non-blocking) whenever a request arrives.
	arrived chan struct{}
	quit    chan struct{}

	mu    sync.Mutex
	reqs  []fakeRequest
	calls map[string]int
}

// fakeReply is an injected response: a JSON error (Code set), a raw body, a
// hang until the client goes away, or a body cut short mid-stream.
type fakeReply struct {
	Status        int
	Code, Message string
	Body          string
	Hang          bool
	TruncatedBody bool
}

// fakeRequest is what the fake saw.
type fakeRequest struct {
	Op, Subject, NextToken string
	Target, ContentType    string
	Authorization          string
	SDKRequest             string // Amz-Sdk-Request: attempt=N; max=M
	Body                   map[string]any
}

// Wire shapes (organizations-2016-11-28), used both for HTTP responses and
// for the fake AWS CLI.

type wPolicyType struct {
	Type   string
	Status string
}

type wOrganization struct {
	Arn                  string
	AvailablePolicyTypes []wPolicyType
	FeatureSet           string
	Id                   string
	MasterAccountArn     string
	MasterAccountEmail   string
	MasterAccountId      string
}

type wRoot struct {
	Arn         string
	Id          string
	Name        string
	PolicyTypes []wPolicyType
}

type wOU struct {
	Arn  string
	Id   string
	Name string
	Path string `json:",omitempty"`
}

type wAccount struct {
	Arn             string
	Email           string
	Id              string
	JoinedMethod    string
	JoinedTimestamp float64 // epoch seconds, as on the wire
	Name            string
	State           string `json:",omitempty"`
	Status          string `json:",omitempty"`
}

type wPolicySummary struct {
	Arn         string
	AwsManaged  bool
	Description string
	Id          string
	Name        string
	Type        string
}

type wTarget struct {
	Arn      string
	Name     string
	TargetId string
	Type     string
}

type fakeOU struct {
	OU     wOU
	Parent string
}

type fakeAccount struct {
	Account wAccount
	Parent  string
}

type fakePolicy struct {
	Summary wPolicySummary
	Content string // as authored (pretty-printed)
	Targets []wTarget
}

type fakeData struct {
	Org      wOrganization
	Roots    []wRoot
	OUs      []fakeOU
	Accounts []fakeAccount
	Policies []fakePolicy
}

func newFakeOrgAPI(t *testing.T, data *fakeData) *fakeOrgAPI {
	t.Helper()
	f := &fakeOrgAPI{t: t, data: data, pageSize: map[string]int{}, emptyFirst: map[string]bool{},
		replies: map[string]fakeReply{}, calls: map[string]int{},
		arrived: make(chan struct{}, 256), quit: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	// Cleanups run last-in first-out: release hung handlers, then close.
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.quit) })
	return f
}

func (f *fakeOrgAPI) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

// trace renders the requests as "Op subject [token]" lines.
func (f *fakeOrgAPI) trace() []string {
	var out []string
	for _, r := range f.requests() {
		s := r.Op
		if r.Subject != "" {
			s += " " + r.Subject
		}
		if r.NextToken != "" {
			s += " +" + r.NextToken
		}
		out = append(out, s)
	}
	return out
}

const targetPrefix = "AWSOrganizationsV20161128."

func (f *fakeOrgAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		f.t.Errorf("fakeOrgAPI: %s %s, want POST /", r.Method, r.URL.Path)
	}
	req := fakeRequest{
		Target:        r.Header.Get("X-Amz-Target"),
		ContentType:   r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"),
		SDKRequest:    r.Header.Get("Amz-Sdk-Request"),
	}
	req.Op = strings.TrimPrefix(req.Target, targetPrefix)
	b, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(b, &req.Body)
	}
	if err != nil {
		f.t.Errorf("fakeOrgAPI: request body %q: %v", b, err)
		writeJSONError(w, 400, "SerializationException", "bad body", "req-bad")
		return
	}
	str := func(k string) string { s, _ := req.Body[k].(string); return s }
	req.NextToken = str("NextToken")
	req.Subject = str("ParentId") + str("PolicyId")

	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	n := len(f.reqs)
	f.calls[req.Op]++
	call := f.calls[req.Op]
	f.mu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	requestID := fmt.Sprintf("req-%04d", n)

	if req.ContentType != "application/x-amz-json-1.1" || !strings.HasPrefix(req.Target, targetPrefix) {
		f.t.Errorf("fakeOrgAPI: Content-Type %q, X-Amz-Target %q; want application/x-amz-json-1.1 and %s<Op>", req.ContentType, req.Target, targetPrefix)
		writeJSONError(w, 400, "UnknownOperationException", "", requestID)
		return
	}
	reply, ok := f.replies[fmt.Sprintf("%s#%d", req.Op, call)]
	if !ok && f.always != nil && (f.alwaysOp == "" || f.alwaysOp == req.Op) {
		reply, ok = *f.always, true
	}
	if ok {
		f.writeReply(w, r, reply, requestID)
		return
	}

	d := f.data
	var resp map[string]any
	switch req.Op {
	case "DescribeOrganization":
		resp = map[string]any{"Organization": d.Org}
	case "ListRoots":
		items := make([]any, len(d.Roots))
		for i, x := range d.Roots {
			items[i] = x
		}
		resp, err = f.page(req, "Roots", items)
	case "ListOrganizationalUnitsForParent", "ListAccountsForParent":
		parent := str("ParentId")
		if !f.knownParent(parent) {
			writeJSONError(w, 400, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.", requestID)
			return
		}
		var items []any
		key := "OrganizationalUnits"
		if req.Op == "ListAccountsForParent" {
			key = "Accounts"
			for _, a := range d.Accounts {
				if a.Parent == parent {
					items = append(items, a.Account)
				}
			}
		} else {
			for _, o := range d.OUs {
				if o.Parent == parent {
					items = append(items, o.OU)
				}
			}
		}
		resp, err = f.page(req, key, items)
	case "ListPolicies":
		if str("Filter") != "SERVICE_CONTROL_POLICY" {
			f.t.Errorf("fakeOrgAPI: ListPolicies Filter %q, want SERVICE_CONTROL_POLICY", str("Filter"))
		}
		var items []any
		for _, p := range d.Policies {
			items = append(items, p.Summary)
		}
		resp, err = f.page(req, "Policies", items)
	case "DescribePolicy", "ListTargetsForPolicy":
		var pol *fakePolicy
		for i := range d.Policies {
			if d.Policies[i].Summary.Id == str("PolicyId") {
				pol = &d.Policies[i]
			}
		}
		if pol == nil {
			writeJSONError(w, 400, "PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.", requestID)
			return
		}
		if req.Op == "DescribePolicy" {
			resp = map[string]any{"Policy": map[string]any{"PolicySummary": pol.Summary, "Content": pol.Content}}
			break
		}
		items := make([]any, len(pol.Targets))
		for i, x := range pol.Targets {
			items[i] = x
		}
		resp, err = f.page(req, "Targets", items)
	default:
		f.t.Errorf("fakeOrgAPI: unexpected operation %q", req.Op)
		writeJSONError(w, 400, "UnknownOperationException", "unsupported", requestID)
		return
	}
	if err != nil {
		writeJSONError(w, 400, "InvalidInputException", err.Error(), requestID)
		return
	}
	if f.hook != nil {
		f.hook(req.Op, req.Subject, resp)
	}
	writeJSON(w, 200, resp, requestID)
}

func (f *fakeOrgAPI) knownParent(id string) bool {
	for _, r := range f.data.Roots {
		if r.Id == id {
			return true
		}
	}
	for _, o := range f.data.OUs {
		if o.OU.Id == id {
			return true
		}
	}
	return false
}

// Tokens are opaque to the client; these carry the operation, subject and
// offset, base64 with '+', '/' and '=' like real ones.
func makeToken(op, subject string, off int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s|%s|%d|>>?", op, subject, off)))
}

func parseToken(tok, op, subject string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(tok)
	var gotOp, gotSubject string
	var off int
	if err == nil {
		parts := strings.Split(string(b), "|")
		if len(parts) == 4 {
			gotOp, gotSubject = parts[0], parts[1]
			_, err = fmt.Sscan(parts[2], &off)
		}
	}
	if err != nil || gotOp != op || gotSubject != subject {
		return 0, fmt.Errorf("INVALID_PAGINATION_TOKEN: the NextToken %q does not belong to %s %s", tok, op, subject)
	}
	return off, nil
}

// page returns one page of items, honouring pageSize and emptyFirst.
func (f *fakeOrgAPI) page(req fakeRequest, key string, items []any) (map[string]any, error) {
	off := 0
	if req.NextToken != "" {
		var err error
		if off, err = parseToken(req.NextToken, req.Op, req.Subject); err != nil {
			return nil, err
		}
	}
	if items == nil {
		items = []any{}
	}
	label := strings.TrimSpace(req.Op + " " + req.Subject)
	if off == 0 && req.NextToken == "" && f.emptyFirst[label] {
		return map[string]any{key: []any{}, "NextToken": makeToken(req.Op, req.Subject, 0)}, nil
	}
	if off > len(items) {
		return nil, fmt.Errorf("INVALID_PAGINATION_TOKEN: offset %d past the end", off)
	}
	end := len(items)
	if n := f.pageSize[req.Op]; n > 0 && off+n < end {
		end = off + n
	}
	resp := map[string]any{key: items[off:end]}
	if end < len(items) {
		resp["NextToken"] = makeToken(req.Op, req.Subject, end)
	}
	return resp, nil
}

func (f *fakeOrgAPI) writeReply(w http.ResponseWriter, r *http.Request, reply fakeReply, requestID string) {
	switch {
	case reply.Hang:
		select {
		case <-r.Context().Done():
		case <-f.quit:
		}
	case reply.TruncatedBody:
		body := `{"Accounts":[{"Arn":"arn:aws:organizations::111111111111:account/o-a1b2c3d4e5/2222`
		hj, ok := w.(http.Hijacker)
		if !ok {
			f.t.Errorf("fakeOrgAPI: cannot hijack connection")
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			f.t.Errorf("fakeOrgAPI: hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\nx-amzn-RequestId: %s\r\n\r\n%s",
			len(body)+4096, requestID, body)
		_ = buf.Flush()
	case reply.Code != "":
		writeJSONError(w, reply.Status, reply.Code, reply.Message, requestID)
	default:
		w.Header().Set("x-amzn-RequestId", requestID)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(reply.Status)
		_, _ = w.Write([]byte(reply.Body))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any, requestID string) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("x-amzn-RequestId", requestID)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeJSONError writes the AWS JSON 1.1 error envelope. TooManyRequests
// carries a Type member as in the service model.
func writeJSONError(w http.ResponseWriter, status int, code, msg, requestID string) {
	body := map[string]any{"__type": code, "Message": msg}
	if code == "TooManyRequestsException" {
		body["Type"] = "client"
	}
	writeJSON(w, status, body, requestID)
}
