package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	admin "google.golang.org/api/admin/directory/v1"

	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// referenceCollect is File.Collect as it was before the single-read index
// (one full rawcapture pass per stage, every page decoded by
// encoding/json into the admin types, edges emitted as read). Tests
// compare the fast replay against it: same graph, same error.
func referenceCollect(ctx context.Context, dir string, o Options, sink graph.Sink) (Counts, error) {
	o = o.withDefaults()
	var counts Counts
	files, err := rawcapture.CaptureFiles(dir)
	if err != nil {
		return counts, fmt.Errorf("workspace: %w", err)
	}
	if len(files) == 0 {
		return counts, fmt.Errorf("workspace: no raw capture (*.jsonl) in %s", dir)
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
			return nil
		}
		if cid = customerIDOf(&u); cid != "" {
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return counts, fmt.Errorf("workspace: replay %s: %w", dir, err)
	}
	src, err := sourceFor(o, cid)
	if err != nil {
		return counts, fmt.Errorf("workspace: replay %s: %w", dir, err)
	}
	m := newMapper(sink, src)
	defer func() { counts = m.counts }()

	stages := [][]pageKind{{pageUsers}, {pageGroups}, {pageRoles, pageRoleAssignments}, {pageMembers}}
	for _, stage := range stages {
		err := each(func(p rawcapture.Page, kind pageKind, g string) error {
			in := false
			for _, s := range stage {
				in = in || s == kind
			}
			if !in {
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
			return m.counts, fmt.Errorf("workspace: replay %s: %w", dir, err)
		}
	}
	if m.counts.Users == 0 {
		return m.counts, fmt.Errorf("workspace: replay %s: the capture holds no users.list page; is it a Google Workspace capture?", dir)
	}
	return m.counts, nil
}
