package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	admin "google.golang.org/api/admin/directory/v1"

	"permgraph/collectors/internal/rawcapture"
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

// Collect replays the capture in the order Live collects (users, groups,
// roles and role assignments, then members), one pass per stage, so the
// member resolution sees the same complete user and group lists as the live
// run did, whatever order the pages were written in. Pages are streamed:
// only the id sets are kept between passes.
func (f *File) Collect(ctx context.Context, sink graph.Sink) error {
	files, err := rawcapture.CaptureFiles(f.dir)
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("workspace: no raw capture (*.jsonl) in %s", f.dir)
	}
	each := func(fn func(p rawcapture.Page, kind pageKind, groupKey string) error) error {
		for _, file := range files {
			err := rawcapture.Each(ctx, file, func(p rawcapture.Page) error {
				kind, g := classify(p.Path())
				return fn(p, kind, g)
			})
			if err != nil {
				return err
			}
		}
		return nil
	}

	cid := ""
	err = each(func(p rawcapture.Page, kind pageKind, _ string) error {
		if kind != pageUsers || p.Status != http.StatusOK {
			return nil
		}
		var u admin.Users
		if json.Unmarshal(p.Body, &u) != nil {
			return nil // reported with its location by the users pass
		}
		if cid = customerIDOf(&u); cid != "" {
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return fmt.Errorf("workspace: replay %s: %w", f.dir, err)
	}
	src, err := sourceFor(f.o, cid)
	if err != nil {
		return fmt.Errorf("workspace: replay %s: %w", f.dir, err)
	}
	m := newMapper(sink, src)
	defer func() { f.counts = m.counts }()

	unknown := 0
	stages := [][]pageKind{{pageUsers}, {pageGroups}, {pageRoles, pageRoleAssignments}, {pageMembers}}
	for si, stage := range stages {
		err := each(func(p rawcapture.Page, kind pageKind, g string) error {
			if si == 0 && kind == pageUnknown {
				unknown++
			}
			if !inStage(kind, stage) {
				return nil
			}
			if kind == pageMembers && p.Status == http.StatusNotFound {
				m.deletedGroup(g)
				return nil
			}
			if p.Status != http.StatusOK {
				return fmt.Errorf("%s: the capture holds an error answer (HTTP %d) from %s: the run that recorded it failed; re-collect",
					p.Where(), p.Status, p.URL)
			}
			if err := m.decodePage(kind, g, p.Body); err != nil {
				return fmt.Errorf("%s: malformed page from %s: %w", p.Where(), p.URL, err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("workspace: replay %s: %w", f.dir, err)
		}
	}
	if m.counts.Users == 0 {
		return fmt.Errorf("workspace: replay %s: the capture holds no users.list page; is it a Google Workspace capture?", f.dir)
	}
	f.o.Logger.Info("workspace: replayed Directory API capture", "dir", f.dir, "source", m.source,
		"users", m.counts.Users, "groups", m.counts.Groups, "memberships", m.counts.Memberships,
		"roles", m.counts.Roles, "role_assignments", m.counts.RoleAssignments,
		"deleted_groups", m.counts.DeletedGroups, "pages", m.counts.Pages, "other_pages", unknown)
	return nil
}

func inStage(k pageKind, stage []pageKind) bool {
	for _, s := range stage {
		if k == s {
			return true
		}
	}
	return false
}
