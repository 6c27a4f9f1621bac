// Package fakedirectory is an in-memory Google Admin SDK Directory API
// (users, groups, members, roles, roleAssignments list calls) for tests and
// the bench/workspacesim measurement. It writes the wire JSON itself (kind,
// etag, nextPageToken, int64 ids as strings) rather than marshalling the
// google-api-go-client types, so a field the client decodes wrongly is not
// hidden by the same mistake on both sides.
package fakedirectory

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// User is a Workspace user.
type User struct {
	ID, Email, FullName         string
	Suspended, Admin, Delegated bool
	Aliases                     []string
	LastLogin, Created          string
	OmitCustomerID              bool // simulate a fields mask without customerId
}

// Group is a Workspace group.
type Group struct {
	ID, Email, Name string
	Aliases         []string
}

// Member is one group member (Role OWNER/MANAGER/MEMBER, Type
// USER/GROUP/CUSTOMER/EXTERNAL).
type Member struct {
	ID, Email, Role, Type string
}

// Privilege is one role privilege.
type Privilege struct{ Service, Name string }

// Role is an admin role.
type Role struct {
	ID         int64
	Name       string
	Privileges []Privilege
	SuperAdmin bool
}

// Assignment is an admin role assignment.
type Assignment struct {
	ID, RoleID                                                int64
	AssignedTo, AssigneeType, ScopeType, OrgUnitID, Condition string
}

// Directory is the fake API. Fill the data, then serve it with
// httptest.NewServer(d). Data must not change while serving.
type Directory struct {
	CustomerID  string
	Users       []User
	Groups      []Group
	Members     map[string][]Member // group id -> members
	Roles       []Role
	Assignments []Assignment
	// Deleted groups are listed by groups.list but answer members.list
	// with 404, as a group deleted mid-run does.
	Deleted map[string]bool
	// Latency delays every answer (bench).
	Latency time.Duration
	// Intercept, when set, sees every request first; returning true means
	// it answered (fault injection: 429, 403 userRateLimitExceeded, a
	// malformed page).
	Intercept func(w http.ResponseWriter, r *http.Request) bool
	// BearerToken, when set, is required in the Authorization header.
	BearerToken string
	// MaxPage, when set, caps every page below the API maximum (the real
	// API may also return fewer items than maxResults), so tests page
	// through small data.
	MaxPage int

	requests atomic.Int64
}

// Requests is the number of requests served, interceptions included.
func (d *Directory) Requests() int64 { return d.requests.Load() }

const prefix = "/admin/directory/v1/"

// ServeHTTP implements the five list calls with the real page limits.
func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.requests.Add(1)
	if d.Latency > 0 {
		t := time.NewTimer(d.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if d.Intercept != nil && d.Intercept(w, r) {
		return
	}
	if d.BearerToken != "" && r.Header.Get("Authorization") != "Bearer "+d.BearerToken {
		WriteError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
		return
	}
	if r.Method != http.MethodGet {
		WriteError(w, http.StatusMethodNotAllowed, "badRequest", "method not allowed")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		WriteError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	q := r.URL.Query()
	seg := strings.Split(path, "/")
	switch {
	case path == "users":
		if !d.customerOK(w, q.Get("customer")) {
			return
		}
		d.page(w, q, 500, "admin#directory#users", "users", len(d.Users), func(i int) any { return d.user(d.Users[i]) })
	case path == "groups":
		if !d.customerOK(w, q.Get("customer")) {
			return
		}
		d.page(w, q, 200, "admin#directory#groups", "groups", len(d.Groups), func(i int) any { return group(d.Groups[i], len(d.Members[d.Groups[i].ID])) })
	case len(seg) == 3 && seg[0] == "groups" && seg[2] == "members":
		g := seg[1]
		ms, ok := d.Members[g]
		if !ok || d.Deleted[g] {
			WriteError(w, http.StatusNotFound, "notFound", "Resource Not Found: groupKey")
			return
		}
		d.page(w, q, 200, "admin#directory#members", "members", len(ms), func(i int) any { return member(ms[i]) })
	case len(seg) == 3 && seg[0] == "customer" && seg[2] == "roles":
		if !d.customerOK(w, seg[1]) {
			return
		}
		d.page(w, q, 100, "admin#directory#roles", "items", len(d.Roles), func(i int) any { return role(d.Roles[i]) })
	case len(seg) == 3 && seg[0] == "customer" && seg[2] == "roleassignments":
		if !d.customerOK(w, seg[1]) {
			return
		}
		d.page(w, q, 200, "admin#directory#roleAssignments", "items", len(d.Assignments), func(i int) any { return assignment(d.Assignments[i]) })
	default:
		WriteError(w, http.StatusNotFound, "notFound", "Not Found")
	}
}

func (d *Directory) customerOK(w http.ResponseWriter, c string) bool {
	if c == "my_customer" || c == d.CustomerID {
		return true
	}
	WriteError(w, http.StatusBadRequest, "badRequest", "Bad Request")
	return false
}

// page writes items [start, start+size) with the real maxResults cap and an
// opaque-looking page token.
func (d *Directory) page(w http.ResponseWriter, q map[string][]string, maxSize int, kind, field string, total int, item func(int) any) {
	if d.MaxPage > 0 {
		maxSize = min(maxSize, d.MaxPage)
	}
	size := maxSize
	if v := first(q["maxResults"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			WriteError(w, http.StatusBadRequest, "invalid", "Invalid value for maxResults")
			return
		}
		size = min(n, maxSize)
	}
	start := 0
	if tok := first(q["pageToken"]); tok != "" {
		s, ok := strings.CutPrefix(tok, "pt~")
		n, err := strconv.Atoi(s)
		if !ok || err != nil || n < 0 || n > total {
			WriteError(w, http.StatusBadRequest, "invalid", "Invalid page token")
			return
		}
		start = n
	}
	end := min(start+size, total)
	items := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		items = append(items, item(i))
	}
	body := map[string]any{"kind": kind, "etag": `"fake-etag/` + strconv.Itoa(start) + `"`}
	if len(items) > 0 {
		body[field] = items
	}
	if end < total {
		body["nextPageToken"] = "pt~" + strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, body)
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (d *Directory) user(u User) map[string]any {
	given, family, _ := strings.Cut(u.FullName, " ")
	m := map[string]any{
		"kind": "admin#directory#user", "id": u.ID, "etag": `"u"`, "primaryEmail": u.Email,
		"name":    map[string]any{"givenName": given, "familyName": family, "fullName": u.FullName},
		"isAdmin": u.Admin, "isDelegatedAdmin": u.Delegated, "suspended": u.Suspended,
		"lastLoginTime": u.LastLogin, "creationTime": u.Created, "orgUnitPath": "/",
		"emails": []map[string]any{{"address": u.Email, "primary": true}},
	}
	if !u.OmitCustomerID {
		m["customerId"] = d.CustomerID
	}
	if len(u.Aliases) > 0 {
		m["aliases"] = u.Aliases
	}
	return m
}

func group(g Group, n int) map[string]any {
	m := map[string]any{"kind": "admin#directory#group", "id": g.ID, "etag": `"g"`, "email": g.Email,
		"name": g.Name, "description": "", "adminCreated": true, "directMembersCount": strconv.Itoa(n)}
	if len(g.Aliases) > 0 {
		m["aliases"] = g.Aliases
	}
	return m
}

func member(x Member) map[string]any {
	m := map[string]any{"kind": "admin#directory#member", "etag": `"m"`, "id": x.ID, "role": x.Role, "type": x.Type, "status": "ACTIVE"}
	if x.Email != "" {
		m["email"] = x.Email
	}
	return m
}

func role(r Role) map[string]any {
	ps := make([]map[string]any, 0, len(r.Privileges))
	for _, p := range r.Privileges {
		ps = append(ps, map[string]any{"serviceId": p.Service, "privilegeName": p.Name})
	}
	return map[string]any{"kind": "admin#directory#role", "etag": `"r"`, "roleId": strconv.FormatInt(r.ID, 10),
		"roleName": r.Name, "rolePrivileges": ps, "isSystemRole": true, "isSuperAdminRole": r.SuperAdmin}
}

func assignment(a Assignment) map[string]any {
	m := map[string]any{"kind": "admin#directory#roleAssignment", "etag": `"a"`,
		"roleAssignmentId": strconv.FormatInt(a.ID, 10), "roleId": strconv.FormatInt(a.RoleID, 10),
		"assignedTo": a.AssignedTo, "scopeType": a.ScopeType}
	if a.AssigneeType != "" {
		m["assigneeType"] = a.AssigneeType
	}
	if a.OrgUnitID != "" {
		m["orgUnitId"] = a.OrgUnitID
	}
	if a.Condition != "" {
		m["condition"] = a.Condition
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError writes Google's error body:
// {"error":{"code":..,"message":..,"errors":[{"domain","reason","message"}]}}.
func WriteError(w http.ResponseWriter, status int, reason, msg string) {
	domain := "global"
	if strings.Contains(reason, "RateLimit") {
		domain = "usageLimits"
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg,
		"errors": []map[string]any{{"domain": domain, "reason": reason, "message": msg}},
	}})
}

// Generate builds a customer of users users and groups groups. Group sizes
// are skewed (most have a few members, some hundreds) as real directories
// are; about 5% of memberships are nested groups, 2% external users, 1%
// service accounts, and every 50th group has an OWNER and a MANAGER.
func Generate(customerID string, users, groups int, seed uint64) *Directory {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	d := &Directory{CustomerID: customerID, Members: make(map[string][]Member, groups)}
	d.Users = make([]User, users)
	for i := range d.Users {
		id := strconv.Itoa(100000000000000000 + i)
		d.Users[i] = User{ID: id, Email: fmt.Sprintf("user%d@example.com", i), FullName: fmt.Sprintf("User %d", i),
			Suspended: i%97 == 0, Admin: i < 3, Delegated: i%1000 == 1,
			LastLogin: "2026-01-02T03:04:05.000Z", Created: "2020-01-02T03:04:05.000Z"}
		if i%10 == 0 {
			d.Users[i].Aliases = []string{fmt.Sprintf("alias%d@example.com", i)}
		}
	}
	d.Groups = make([]Group, groups)
	for i := range d.Groups {
		d.Groups[i] = Group{ID: fmt.Sprintf("0%dg", 1000000+i), Email: fmt.Sprintf("group%d@example.com", i), Name: fmt.Sprintf("Group %d", i)}
	}
	for i, g := range d.Groups {
		n := 1 + int(r.ExpFloat64()*8)
		if i%100 == 0 {
			n = 150 + r.IntN(400) // a few big groups span several pages
		}
		ms := make([]Member, 0, n)
		for j := range n {
			role := "MEMBER"
			if i%50 == 0 && j < 2 {
				role = []string{"OWNER", "MANAGER"}[j]
			}
			switch x := r.IntN(100); {
			case x < 5 && groups > 1:
				h := d.Groups[r.IntN(groups)]
				if h.ID != g.ID {
					ms = append(ms, Member{ID: h.ID, Email: h.Email, Role: role, Type: "GROUP"})
				}
			case x < 7:
				ms = append(ms, Member{ID: fmt.Sprintf("9%d", r.Uint32()), Email: fmt.Sprintf("partner%d@partner.example", r.IntN(1000)), Role: role, Type: "USER"})
			case x < 8:
				ms = append(ms, Member{ID: fmt.Sprintf("8%d", r.Uint32()), Email: fmt.Sprintf("sa%d@proj.iam.gserviceaccount.com", r.IntN(100)), Role: role, Type: "USER"})
			default:
				if users == 0 {
					continue
				}
				u := d.Users[r.IntN(users)]
				ms = append(ms, Member{ID: u.ID, Email: u.Email, Role: role, Type: "USER"})
			}
		}
		d.Members[g.ID] = dedupe(ms)
	}
	if groups > 0 {
		d.Members[d.Groups[0].ID] = append(d.Members[d.Groups[0].ID], Member{ID: customerID, Role: "MEMBER", Type: "CUSTOMER"})
	}
	d.Roles = []Role{
		{ID: 13801188331880449, Name: "_SEED_ADMIN_ROLE", SuperAdmin: true, Privileges: []Privilege{{"00haapch16h1ysv", "USERS_ALL"}, {"01ci93xb3tmzyin", "GROUPS_ALL"}}},
		{ID: 13801188331880450, Name: "_GROUPS_ADMIN_ROLE", Privileges: []Privilege{{"01ci93xb3tmzyin", "GROUPS_ALL"}}},
	}
	for i := range min(users, 3) {
		d.Assignments = append(d.Assignments, Assignment{ID: int64(9000 + i), RoleID: 13801188331880449, AssignedTo: d.Users[i].ID, AssigneeType: "user", ScopeType: "CUSTOMER"})
	}
	return d
}

// dedupe drops repeated member ids: the API lists each direct member once.
func dedupe(ms []Member) []Member {
	seen := make(map[string]bool, len(ms))
	out := ms[:0]
	for _, m := range ms {
		if !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	return out
}
