package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// File replays a raw capture (Options.SaveRawDir of a live run, file
// graph.jsonl) without credentials. Pages are dispatched on their URL path,
// query ignored, and decoded into the same SDK models Live gets, so the
// graph is the one the live run wrote.
type File struct {
	dir string
	o   Options
	// Counts is filled in by Collect.
	Counts Counts
}

// NewFile returns a collector for the capture in dir. Of o, only Tenant,
// Source and Logger are used.
func NewFile(dir string, o Options) *File { return &File{dir: dir, o: o} }

// Collect reads the capture twice: first for the tenant (the organization
// page), then every page into the graph.
func (f *File) Collect(ctx context.Context, sink graph.Sink) error {
	file := filepath.Join(f.dir, CaptureFile)
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("entra: raw capture: %w", err)
	}
	tenant, name, err := f.tenant(ctx, file)
	if err != nil {
		return err
	}
	b := newBuilder(sink, f.o.sourceID(tenant))
	if err := b.tenant(tenant, name); err != nil {
		return err
	}
	err = rawcapture.Each(ctx, file, func(p rawcapture.Page) error {
		if err := replayPage(b, p); err != nil {
			return fmt.Errorf("entra: raw capture %s: %w", p.Where(), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := b.finish(); err != nil {
		return err
	}
	f.Counts = b.counts
	f.o.logger().Info("entra: replayed raw capture", "dir", f.dir, "tenant", tenant, "users", b.counts.Users,
		"groups", b.counts.Groups, "memberships", b.counts.Memberships, "warnings", len(b.warnings))
	return nil
}

func (f *File) tenant(ctx context.Context, file string) (string, string, error) {
	var id, name string
	errFound := errors.New("found")
	err := rawcapture.Each(ctx, file, func(p rawcapture.Page) error {
		if k, _ := classify(p.Path()); k != pageOrganization || p.Status != http.StatusOK {
			return nil
		}
		pg, err := parsePage(pageOrganization, p.Body)
		if err != nil {
			return fmt.Errorf("entra: raw capture %s: %w", p.Where(), err)
		}
		for _, it := range pg.items {
			if o, ok := it.(models.Organizationable); ok && str(o.GetId()) != "" {
				id, name = strings.ToLower(str(o.GetId())), str(o.GetDisplayName())
				return errFound
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return "", "", err
	}
	want := strings.ToLower(f.o.Tenant)
	switch {
	case id == "" && want == "":
		return "", "", fmt.Errorf("%w: the capture in %s has no organization page; pass --tenant", ErrNoTenant, f.dir)
	case id == "":
		return want, "", nil
	case want != "" && !strings.EqualFold(id, want):
		return "", "", fmt.Errorf("entra: the capture in %s is of tenant %s, not %s", f.dir, id, f.o.Tenant)
	}
	return id, name, nil
}

// replayPage applies one captured response the way Live handled it.
func replayPage(b *builder, p rawcapture.Page) error {
	k, owner := classify(p.Path())
	if k == pageUnknown {
		return fmt.Errorf("unexpected Graph path %s (not written by the entra collector)", p.Path())
	}
	switch {
	case p.Status >= 200 && p.Status < 300:
		pg, err := parsePage(k, p.Body)
		if err != nil {
			return err
		}
		return b.apply(k, owner, pg)
	case transient(p.Status):
		return nil // a throttled attempt; the retry follows in the capture
	}
	what := describeStatus(p.Status, errorPage(p.Body))
	switch {
	case k == pageUsers && p.Status == http.StatusForbidden && strings.Contains(rawQuery(p.URL), "signInActivity"):
		b.warn(warnSignIn)
		return nil
	case k == pageRoleEligibility && (p.Status == http.StatusForbidden || p.Status == http.StatusBadRequest):
		b.warn(warnPIM(what))
		return nil
	case denied(p.Status):
		switch k {
		case pageGroupMembers:
			b.warn(warnObject("group", owner, "members", what))
			return nil
		case pageGroupOwners:
			b.warn(warnObject("group", owner, "owners", what))
			return nil
		case pageSPOwners:
			b.warn(warnObject("service principal", owner, "owners", what))
			return nil
		case pageAppOwners:
			b.warn(warnObject("application", owner, "owners", what))
			return nil
		case pageSPAppRoleAssignedTo:
			b.warn(warnObject("service principal", owner, "appRoleAssignedTo", what))
			return nil
		}
	}
	return fmt.Errorf("the live run got %s here, which fails a collection", what)
}

func rawQuery(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	q, err := url.QueryUnescape(pu.RawQuery)
	if err != nil {
		return pu.RawQuery
	}
	return q
}
