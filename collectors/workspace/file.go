package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	admin "google.golang.org/api/admin/directory/v1"

	"permgraph/collectors/internal/rawcapture"
	"permgraph/collectors/internal/rawscan"
	"permgraph/graph"
)

// File replays a raw capture directory written by Live with SaveRawDir
// (every *.jsonl file in it) into the same graph Live produced, without
// credentials or network.
type File struct {
	dir    string
	o      Options
	counts Counts
}

// NewFile returns a File collector for dir. Of the options only Customer,
// Source and Logger matter.
func NewFile(dir string, o Options) *File {
	return &File{dir: dir, o: o.withDefaults()}
}

// Counts is what the last Collect saw.
func (f *File) Counts() Counts { return f.counts }

// pageKind says which list call a captured page answers, from its URL path.
type pageKind int

const (
	pageUnknown pageKind = iota
	pageUsers
	pageGroups
	pageMembers
	pageRoles
	pageRoleAssignments
)

// classify maps a URL path to its list call and, for members, the group
// key. It looks only at the part from "admin/directory/v1/" on, so a
// capture made through an endpoint with a path prefix replays too.
func classify(path string) (pageKind, string) {
	i := strings.Index(path, "/"+directoryAPIPath)
	if i < 0 {
		return pageUnknown, ""
	}
	rest := path[i+len(directoryAPIPath):] // keeps a leading "/"
	switch {
	case rawcapture.MatchPath("/users", rest):
		return pageUsers, ""
	case rawcapture.MatchPath("/groups", rest):
		return pageGroups, ""
	case rawcapture.MatchPath("/groups/{}/members", rest):
		g, err := url.PathUnescape(rawcapture.Segment(rest, 1))
		if err != nil {
			return pageUnknown, ""
		}
		return pageMembers, g
	case rawcapture.MatchPath("/customer/{}/roles", rest):
		return pageRoles, ""
	case rawcapture.MatchPath("/customer/{}/roleassignments", rest):
		return pageRoleAssignments, ""
	}
	return pageUnknown, ""
}

// decodePage decodes one page body into the generated API type (the same
// type and decoder the live client uses) and feeds it to the mapper.
func (m *mapper) decodePage(kind pageKind, groupKey string, body []byte) error {
	switch kind {
	case pageUsers:
		var p admin.Users
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		return m.usersPage(&p)
	case pageGroups:
		var p admin.Groups
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		_, err := m.groupsPage(&p)
		return err
	case pageMembers:
		var p admin.Members
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		return m.membersPage(groupKey, &p)
	case pageRoles:
		var p admin.Roles
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		return m.rolesPage(&p)
	case pageRoleAssignments:
		var p admin.RoleAssignments
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		return m.roleAssignmentsPage(&p)
	}
	return nil
}

// errFound stops the customer-id scan early.
var errFound = errors.New("found")

// Collect replays the capture as Live collects (users, groups, roles and
// role assignments, then members), so member resolution sees the complete
// user and group lists whatever order the pages were written in, and
// reads it once: one pass checks every line, maps the users pages and
// notes where the other pages are; each later stage reads back only its
// own pages. Errors are the ones a pass per stage would give, in the same
// precedence: any malformed line or users page first (in file order), then
// groups, roles and assignments, members.
func (f *File) Collect(ctx context.Context, sink graph.Sink) error {
	files, err := rawcapture.CaptureFiles(f.dir)
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("workspace: no raw capture (*.jsonl) in %s", f.dir)
	}
	cid, err := customerIDIn(ctx, files)
	if err != nil {
		return fmt.Errorf("workspace: replay %s: %w", f.dir, err)
	}
	src, err := sourceFor(f.o, cid)
	if err != nil {
		return fmt.Errorf("workspace: replay %s: %w", f.dir, err)
	}
	m := newMapper(sink, src)
	m.trackNodes()
	defer func() { f.counts = m.counts }()
	r := newReplay(m, files)
	defer r.close()
	if err := r.run(ctx); err != nil {
		return fmt.Errorf("workspace: replay %s: %w", f.dir, err)
	}
	if m.counts.Users == 0 {
		return fmt.Errorf("workspace: replay %s: the capture holds no users.list page; is it a Google Workspace capture?", f.dir)
	}
	f.o.Logger.Info("workspace: replayed Directory API capture", "dir", f.dir, "source", m.source,
		"users", m.counts.Users, "groups", m.counts.Groups, "memberships", m.counts.Memberships,
		"roles", m.counts.Roles, "role_assignments", m.counts.RoleAssignments,
		"deleted_groups", m.counts.DeletedGroups, "pages", m.counts.Pages, "other_pages", r.unknown)
	return nil
}

// customerIDIn is the customerId of the first users page (in file order)
// that names one. Reading stops there, so a malformed line after it is
// reported by the replay, one before it here; a capture without one is
// read to the end.
func customerIDIn(ctx context.Context, files []string) (string, error) {
	cid := ""
	for _, file := range files {
		err := rawscan.Each(ctx, file, func(p *rawscan.Page) error {
			if k, _ := classify(p.Path); k != pageUsers || p.Status != http.StatusOK {
				return nil
			}
			var u admin.Users
			if json.Unmarshal(p.Body, &u) != nil {
				return nil // reported with its location by the replay
			}
			if cid = customerIDOf(&u); cid != "" {
				return errFound
			}
			return nil
		})
		if errors.Is(err, errFound) {
			return cid, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", nil
}

// pageRef is where the first pass found a page of a later stage.
type pageRef struct {
	page    rawscan.Page // without URL, Path and Body: read back when needed
	bodyLen int
	kind    pageKind
	group   string
	file    int
}

// replay is one Collect's state: the open capture files, the pages of the
// later stages, and the members stage's per-group edge buffers.
type replay struct {
	m       *mapper
	dec     *pageDecoder
	names   []string
	files   []*os.File
	refs    []pageRef
	unknown int
	buf     []byte
	members memberEdges
}

func newReplay(m *mapper, files []string) *replay {
	return &replay{m: m, dec: newPageDecoder(), names: files, files: make([]*os.File, len(files)), members: newMemberEdges(m)}
}

func (r *replay) close() {
	for _, f := range r.files {
		if f != nil {
			f.Close()
		}
	}
}

func (r *replay) run(ctx context.Context) error {
	// Pass 1, in file order: every line checked (rawscan.Each), users
	// pages mapped, the others noted.
	for fi, name := range r.names {
		err := rawscan.Each(ctx, name, func(p *rawscan.Page) error {
			kind, g := classify(p.Path)
			switch kind {
			case pageUnknown:
				r.unknown++
				return nil
			case pageUsers:
				return r.page(p, kind, g, -1)
			}
			ref := pageRef{page: *p, bodyLen: len(p.Body), kind: kind, group: g, file: fi}
			ref.page.Body, ref.page.URL, ref.page.Path = nil, "", ""
			r.refs = append(r.refs, ref)
			if kind == pageMembers {
				r.members.expect(g)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, stage := range [][]pageKind{{pageGroups}, {pageRoles, pageRoleAssignments}, {pageMembers}} {
		for i := range r.refs {
			ref := &r.refs[i]
			if !inStage(ref.kind, stage) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("read raw capture %s: %w", ref.page.File, err)
			}
			p, err := r.read(ref)
			if err != nil {
				return err
			}
			if err := r.page(p, ref.kind, ref.group, ref.file); err != nil {
				return err
			}
		}
	}
	return r.members.flushAll()
}

// read reads a noted page back: the body alone for groups and members
// pages in the recorder's shape, else the whole line, decoded again (its
// URL is wanted, or its body is not one byte range).
func (r *replay) read(ref *pageRef) (*rawscan.Page, error) {
	f, err := r.file(ref.file)
	if err != nil {
		return nil, err
	}
	p := ref.page
	if p.BodyOff < 0 || ref.kind != pageMembers && ref.kind != pageGroups {
		r.buf, err = rawscan.ReadPage(f, &p, r.buf)
		return &p, err
	}
	if cap(r.buf) < ref.bodyLen {
		r.buf = make([]byte, ref.bodyLen)
	}
	p.Body = r.buf[:ref.bodyLen]
	if _, err := f.ReadAt(p.Body, p.BodyOff); err != nil {
		return nil, fmt.Errorf("read raw capture %s:%d: %w", p.File, p.Line, err)
	}
	return &p, nil
}

func (r *replay) file(i int) (*os.File, error) {
	if r.files[i] == nil {
		f, err := os.Open(r.names[i])
		if err != nil {
			return nil, fmt.Errorf("open raw capture: %w", err)
		}
		r.files[i] = f
	}
	return r.files[i], nil
}

// page maps one page of any stage, with the errors of the pass-per-stage
// replay. fi is the page's file when its URL was not kept (-1: it was).
func (r *replay) page(p *rawscan.Page, kind pageKind, g string, fi int) error {
	if kind == pageMembers && p.Status == http.StatusNotFound {
		r.m.deletedGroup(g)
		return r.members.pageDone(g)
	}
	if p.Status != http.StatusOK {
		r.describe(p, fi)
		return fmt.Errorf("%s: the capture holds an error answer (HTTP %d) from %s: the run that recorded it failed; re-collect",
			p.Where(), p.Status, p.URL)
	}
	err := r.decode(kind, g, p.Body)
	if err == nil && kind == pageMembers {
		err = r.members.pageDone(g)
	}
	if err != nil {
		r.describe(p, fi)
		return fmt.Errorf("%s: malformed page from %s: %w", p.Where(), p.URL, err)
	}
	return nil
}

// describe reads a noted page's URL back for an error message.
func (r *replay) describe(p *rawscan.Page, fi int) {
	if p.URL != "" || fi < 0 {
		return
	}
	q := rawscan.Page{File: p.File, Line: p.Line, LineOff: p.LineOff, LineLen: p.LineLen}
	if f, err := r.file(fi); err == nil {
		if _, err := rawscan.ReadPage(f, &q, nil); err == nil {
			p.URL, p.Path = q.URL, q.Path
		}
	}
}

// decode maps one page body: users, groups and members pages through the
// fast decoder when it can read them, everything else as before.
func (r *replay) decode(kind pageKind, g string, body []byte) error {
	m := r.m
	switch kind {
	case pageUsers:
		if k, ok := r.dec.decodeUsers(body); ok {
			return m.userRecs(k, r.dec.users)
		}
	case pageGroups:
		if k, ok := r.dec.decodeGroups(body); ok {
			return m.groupRecs(k, r.dec.groups)
		}
	case pageMembers:
		if k, ok := r.dec.decodeMembers(body); ok {
			return r.members.page(g, k, r.dec.members, -1)
		}
		var p admin.Members
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		recs, null := r.dec.members[:0], -1
		for i, mem := range p.Members {
			if mem == nil {
				null = i
				break
			}
			recs = append(recs, memberRec{id: mem.Id, email: mem.Email, role: mem.Role, typ: mem.Type})
		}
		r.dec.members = recs
		return r.members.page(g, p.Kind, recs, null)
	}
	return m.decodePage(kind, g, body)
}

func inStage(k pageKind, stage []pageKind) bool {
	for _, s := range stage {
		if k == s {
			return true
		}
	}
	return false
}
