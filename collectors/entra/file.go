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
	"permgraph/collectors/internal/rawscan"
	"permgraph/graph"
)

// File replays a raw capture (Options.SaveRawDir of a live run, file
// graph.jsonl) without credentials. Pages are dispatched on their URL path,
// query ignored, and mapped by the same builder Live uses, so the graph is
// the one the live run wrote. The bulk pages (users, groups, members,
// owners) are read by pageDecoder straight into the builder's records;
// every other page, and any bulk page of a shape pageDecoder does not
// take, is decoded into the SDK models Live gets.
type File struct {
	dir string
	o   Options
	// Counts is filled in by Collect.
	Counts Counts
	// kiotaOnly replays as File did before pageDecoder (every line read
	// by rawcapture with encoding/json, every page decoded by kiota):
	// tests compare the two.
	kiotaOnly bool
}

// capturePage is one captured response. body is valid only during the
// callback (rawscan reuses its buffer).
type capturePage struct {
	url, path, file string
	line, status    int
	body            []byte
}

// where names the page in errors as rawcapture.Page.Where does.
func (p *capturePage) where() string { return fmt.Sprintf("%s:%d (%s)", p.file, p.line, p.path) }

// each streams the capture's pages: rawscan validates and cuts each line
// in one pass (rawcapture.Each's pages, order and errors, without
// encoding/json), rawcapture.Each itself for kiotaOnly.
func (f *File) each(ctx context.Context, file string, fn func(*capturePage) error) error {
	var cp capturePage
	if f.kiotaOnly {
		return rawcapture.Each(ctx, file, func(p rawcapture.Page) error {
			cp = capturePage{url: p.URL, path: p.Path(), file: p.File, line: p.Line, status: p.Status, body: p.Body}
			return fn(&cp)
		})
	}
	return rawscan.Each(ctx, file, func(p *rawscan.Page) error {
		cp = capturePage{url: p.URL, path: p.Path, file: p.File, line: p.Line, status: p.Status, body: p.Body}
		return fn(&cp)
	})
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
	if r, ok := sink.(reserver); ok {
		nodes, edges, err := survey(ctx, file)
		if err != nil {
			return fmt.Errorf("entra: %w", err)
		}
		// Derivation adds edges too (Can, escalation, tenant sets).
		r.Reserve(b.source, nodes+nodes/8, edges+edges/8)
	}
	if err := b.tenant(tenant, name); err != nil {
		return err
	}
	var pd *pageDecoder
	if !f.kiotaOnly {
		pd = &pageDecoder{}
	}
	err = f.each(ctx, file, func(p *capturePage) error {
		if err := replayPage(b, pd, p); err != nil {
			return fmt.Errorf("entra: raw capture %s: %w", p.where(), err)
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
	err := f.each(ctx, file, func(p *capturePage) error {
		if k, _ := classify(p.path); k != pageOrganization || p.status != http.StatusOK {
			return nil
		}
		pg, err := parsePage(pageOrganization, p.body)
		if err != nil {
			return fmt.Errorf("entra: raw capture %s: %w", p.where(), err)
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

// replayPage applies one captured response the way Live handled it. The
// bulk pages go through pd when it is set and takes them, the rest
// through kiota.
func replayPage(b *builder, pd *pageDecoder, p *capturePage) error {
	k, owner := classify(p.path)
	if k == pageUnknown {
		return fmt.Errorf("unexpected Graph path %s (not written by the entra collector)", p.path)
	}
	switch {
	case p.status >= 200 && p.status < 300:
		if pd != nil && fastKind(k) && pd.decode(k, p.body) {
			return pd.apply(b, k, owner)
		}
		pg, err := parsePage(k, p.body)
		if err != nil {
			return err
		}
		return b.apply(k, owner, pg)
	case transient(p.status):
		return nil // a throttled attempt; the retry follows in the capture
	}
	what := describeStatus(p.status, errorPage(p.body))
	switch {
	case k == pageUsers && p.status == http.StatusForbidden && strings.Contains(rawQuery(p.url), "signInActivity"):
		b.warn(warnSignIn)
		return nil
	case k == pageRoleEligibility && (p.status == http.StatusForbidden || p.status == http.StatusBadRequest):
		b.warn(warnPIM(what))
		return nil
	case denied(p.status):
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
