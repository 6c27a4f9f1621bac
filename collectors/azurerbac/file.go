package azurerbac

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"permgraph/collectors/internal/rawcapture"
	"permgraph/collectors/internal/rawscan"
	"permgraph/graph"
)

// File reads Azure RBAC offline from a directory holding
//   - captures (*.jsonl) written by Live with SaveRawDir: each ARM page is
//     dispatched on its URL path and mapped exactly as Live maps it (pages
//     of other APIs, such as Microsoft Graph, are skipped), and
//   - JSON exports (*.json): `az role assignment list --all -o json`,
//     `az role definition list -o json`, `az account list -o json`, or raw
//     ARM responses ({"value":[...]} pages, single objects). Each record is
//     recognised by its fields, so one file may mix kinds.
type File struct {
	dir string
	o   Options
	// Counts is filled in by Collect.
	Counts Counts
}

// NewFile returns a collector reading dir.
func NewFile(dir string, o Options) *File { return &File{dir: dir, o: o} }

// Collect reads every capture and export in the directory into sink.
func (f *File) Collect(ctx context.Context, sink graph.Sink) error {
	log := f.o.logger()
	captures, err := rawcapture.Files(f.dir)
	if err != nil {
		return fmt.Errorf("azurerbac: %w", err)
	}
	exports, err := filepath.Glob(filepath.Join(f.dir, "*.json"))
	if err != nil {
		return fmt.Errorf("azurerbac: list exports in %s: %w", f.dir, err)
	}
	sort.Strings(exports)
	if len(captures)+len(exports) == 0 {
		return fmt.Errorf("azurerbac: %s holds no capture (*.jsonl) and no export (*.json)", f.dir)
	}

	// First pass over the captures: which URLs succeeded (an error page
	// followed by a successful retry of the same URL is not a gap) and,
	// unless given, the tenant id from the subscription list.
	succeeded := map[string]bool{}
	tenant := f.o.Tenant
	for _, file := range captures {
		_, err := eachPage(ctx, file, func(p rawcapture.Page) error {
			op, _, ok := describePath(p.Path())
			if !ok || p.Status < 200 || p.Status > 299 {
				return nil
			}
			succeeded[p.URL] = true
			if tenant == "" && op == opSubscriptions {
				var v armsubscriptions.SubscriptionListResult
				if json.Unmarshal(p.Body, &v) == nil {
					for _, s := range v.Value {
						if s != nil && s.TenantID != nil && tenant == "" {
							tenant = *s.TenantID
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("azurerbac: %w", err)
		}
	}
	if tenant == "" {
		return fmt.Errorf("azurerbac: tenant unknown: %s has no captured subscription list; pass the tenant id (--tenant)", f.dir)
	}
	em := newEmitter(sink, tenant)
	em.source = f.o.source(tenant)
	defer func() { f.Counts = em.counts }()

	for _, file := range captures {
		pages, skipped := 0, 0
		unread, err := eachPage(ctx, file, func(p rawcapture.Page) error {
			handled, err := replayPage(em, succeeded, p)
			if handled {
				pages++
			} else {
				skipped++
			}
			return err
		})
		if err != nil {
			return err
		}
		skipped += unread
		log.Debug("azurerbac: replayed capture", "file", file, "arm_pages", pages, "other_pages", skipped)
	}
	for _, file := range exports {
		n, err := importExport(ctx, em, file)
		if err != nil {
			return err
		}
		if n == 0 {
			log.Info("azurerbac: skipped JSON file: no Azure RBAC records in it", "file", file)
		}
	}
	if err := em.finish(); err != nil {
		return fmt.Errorf("azurerbac: %w", err)
	}
	log.Info("azurerbac: imported Azure RBAC", "dir", f.dir, "source", em.source,
		"management_groups", em.counts.ManagementGroups, "subscriptions", em.counts.Subscriptions,
		"resource_groups", em.counts.ResourceGroups, "role_definitions", em.counts.RoleDefinitions,
		"role_assignments", em.counts.RoleAssignments, "eligible", em.counts.Eligible, "deny_assignments", em.counts.DenyAssignments)
	return nil
}

// eachPage streams a capture's pages through rawscan, which validates and
// cuts each line in one pass: an Entra capture beside the ARM one (a 500k-
// user tenant's graph.jsonl is ~500 MB) is read twice here only to be
// skipped, and encoding/json took 11 CPU-s for it (session 5). The page's
// Body is valid only during fn, which decodes it there.
//
// Pages of other APIs are skipped unread (rawscan.EachMatching): the Entra
// replay checks its own capture.
func eachPage(ctx context.Context, file string, fn func(rawcapture.Page) error) (skipped int, err error) {
	skip := func(raw string) bool {
		if notARM(raw) {
			skipped++
			return true
		}
		return false
	}
	err = rawscan.EachMatching(ctx, file, skip, func(p *rawscan.Page) error {
		return fn(rawcapture.Page{URL: p.URL, Status: p.Status, Body: p.Body, File: p.File, Line: p.Line})
	})
	return skipped, err
}

// notARM reports whether a captured URL is of an API this collector does
// not replay (replayPage would skip the page).
func notARM(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false // let the reader report it
	}
	_, _, ok := describePath(u.Path)
	return !ok
}

// replayPage maps one captured page. handled is false for pages of other
// APIs.
func replayPage(em *emitter, succeeded map[string]bool, p rawcapture.Page) (handled bool, err error) {
	op, scope, ok := describePath(p.Path())
	if !ok {
		return false, nil
	}
	if p.Status < 200 || p.Status > 299 {
		if succeeded[p.URL] {
			return true, nil // throttled or failed, then retried successfully
		}
		code := errorCode(p.Body)
		if warnable(op, p.Status) {
			em.warn(warningText(op, scope, p.Status, code))
			return true, nil
		}
		return true, fmt.Errorf("azurerbac: %s: %s failed with HTTP %d %s; the capture ends in an error the live run stopped on",
			p.Where(), op, p.Status, code)
	}
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("azurerbac: %s: %s: %w", p.Where(), op, err)
	}
	switch op {
	case opSubscriptions:
		var v armsubscriptions.SubscriptionListResult
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.subscriptionsPage(v.Value))
	case opEntities:
		var v armmanagementgroups.EntityListResult
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.entitiesPage(v.Value))
	case opResourceGroups:
		var v armresources.ResourceGroupListResult
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.resourceGroupsPage(v.Value))
	case opRoleDefinitions:
		var v armauthorization.RoleDefinitionListResult
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.roleDefinitionsPage(v.Value))
	case opRoleDefinition:
		var v armauthorization.RoleDefinition
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.roleDefinition(convertRoleDefinition(&v)))
	case opRoleAssignments:
		var v armauthorization.RoleAssignmentListResult
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.roleAssignmentsPage(v.Value))
	case opDenyAssignments:
		var v armauthorization.DenyAssignmentListResult
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.denyAssignmentsPage(v.Value))
	case opEligibility:
		var v armauthorization.RoleEligibilityScheduleInstanceListResult
		if err := json.Unmarshal(p.Body, &v); err != nil {
			return true, wrap(err)
		}
		return true, wrap(em.eligibilityPage(v.Value))
	}
	return false, nil
}

// errorCode reads {"error":{"code":...}} from an ARM error body.
func errorCode(body json.RawMessage) string {
	var v struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Error.Code
}

// azFields are the fields of one export record: az CLI prints them flat,
// ARM nests them under "properties".
type azFields struct {
	// role assignments and PIM schedule instances
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	Scope            string `json:"scope"`
	Condition        string `json:"condition"`
	ConditionVersion string `json:"conditionVersion"`
	MemberType       string `json:"memberType"`
	// role definitions ("type" is the role type inside ARM's properties,
	// "roleType" in az CLI output)
	RoleName         string      `json:"roleName"`
	RoleType         string      `json:"roleType"`
	Type             string      `json:"type"`
	AssignableScopes []string    `json:"assignableScopes"`
	Permissions      []permBlock `json:"permissions"`
	// deny assignments
	DenyAssignmentName      string         `json:"denyAssignmentName"`
	Principals              []principalRec `json:"principals"`
	ExcludePrincipals       []principalRec `json:"excludePrincipals"`
	DoNotApplyToChildScopes bool           `json:"doNotApplyToChildScopes"`
	// az account list
	TenantID string `json:"tenantId"`
	State    string `json:"state"`
}

// azItem is one export record. Its own "type" (the resource type) shadows
// the embedded fields' "type", so a flat az CLI record's resource type never
// reads as a role type.
type azItem struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Properties *azFields `json:"properties"`
	azFields
}

// errNotRBAC marks a record that is none of the kinds File understands.
var errNotRBAC = errors.New("not an Azure RBAC record (no roleName/permissions, principalId/roleDefinitionId, denyAssignmentName or subscription fields)")

// importItem maps one export record.
func importItem(em *emitter, it azItem) error {
	p := it.azFields
	if it.Properties != nil {
		p = *it.Properties
	}
	kind := strings.ToLower(it.Type + " " + it.ID)
	switch {
	case p.DenyAssignmentName != "":
		return em.deny(denyRec{ArmID: it.ID, Name: it.Name, DenyName: p.DenyAssignmentName, Scope: p.Scope,
			Permissions: p.Permissions, Principals: p.Principals, Exclude: p.ExcludePrincipals, NoChildren: p.DoNotApplyToChildScopes})
	case p.RoleName != "" || (p.Permissions != nil && p.PrincipalID == ""):
		rt := p.RoleType
		if rt == "" {
			rt = p.Type
		}
		perms := make([]permBlock, len(p.Permissions))
		for i, b := range p.Permissions {
			perms[i] = permBlock{Actions: b.Actions, NotActions: b.NotActions, DataActions: b.DataActions, NotDataActions: b.NotDataActions}
		}
		return em.roleDefinition(roleDefRec{ArmID: it.ID, Name: it.Name, RoleName: p.RoleName, RoleType: rt,
			Permissions: perms, AssignableScopes: p.AssignableScopes})
	case p.PrincipalID != "" || p.RoleDefinitionID != "":
		return em.assignment(assignmentRec{ArmID: it.ID, Name: it.Name, PrincipalID: p.PrincipalID, PrincipalType: p.PrincipalType,
			RoleDefinitionID: p.RoleDefinitionID, Scope: p.Scope, Condition: p.Condition, ConditionVersion: p.ConditionVersion,
			Eligible: strings.Contains(kind, "roleeligibilityschedule"), MemberType: p.MemberType})
	case p.TenantID != "" && p.State != "" && it.ID != "" && !strings.Contains(it.ID, "/"):
		// az account list: id is the bare subscription id, name its display name.
		return em.scope(scopeRec{ArmID: "/subscriptions/" + it.ID, Name: it.Name, State: p.State})
	}
	return errNotRBAC
}

// importExport streams one JSON export into em and returns how many
// records it mapped. A file whose first record is not RBAC is skipped
// (n == 0), so exports of other tools may share the directory; a later
// unknown record is an error.
func importExport(ctx context.Context, em *emitter, file string) (int, error) {
	fh, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("azurerbac: open export: %w", err)
	}
	defer fh.Close()
	n, err := importJSON(ctx, em, bufio.NewReaderSize(fh, 1<<20))
	if err != nil {
		return n, fmt.Errorf("azurerbac: export %s: %w", file, err)
	}
	return n, nil
}

// importJSON reads an array of records, a {"value":[...]} page, an
// x-ms-examples file ({"responses":{"200":{"body":...}}}) or one record.
// Arrays are streamed element by element.
func importJSON(ctx context.Context, em *emitter, r io.Reader) (int, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return 0, posErr(dec, "read start of document", err)
	}
	n := 0
	switch tok {
	case json.Delim('['):
		if n, err = importArray(ctx, em, dec, "", 0); err != nil {
			return n, err
		}
	case json.Delim('{'):
		if n, err = importObject(ctx, em, dec); err != nil {
			return n, err
		}
	default:
		return 0, fmt.Errorf("offset %d: want a JSON array or object", dec.InputOffset())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("offset %d: trailing data after the document", dec.InputOffset())
	}
	return n, nil
}

// importArray reads elements up to and including the closing ']'. field
// names the array in errors ("value"), first is the index of its first
// record in the file.
func importArray(ctx context.Context, em *emitter, dec *json.Decoder, field string, first int) (int, error) {
	n := 0
	for i := 0; dec.More(); i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		where := fmt.Sprintf("record %d", first+i)
		if field != "" {
			where = fmt.Sprintf("%s[%d]", field, i)
		}
		var it azItem
		if err := dec.Decode(&it); err != nil {
			return n, posErr(dec, where, err)
		}
		if err := importItem(em, it); err != nil {
			if errors.Is(err, errNotRBAC) && n == 0 && i == 0 {
				skipRest(dec)
				return 0, nil
			}
			return n, fmt.Errorf("%s (id %q): %w", where, it.ID, err)
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return n, posErr(dec, "read end of array", err)
	}
	return n, nil
}

// skipRest consumes the remaining elements of the current array.
func skipRest(dec *json.Decoder) {
	for dec.More() {
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return
		}
	}
	_, _ = dec.Token()
}

// importObject reads an object whose '{' was consumed: "value" is streamed;
// other members are kept (they are small) to handle a single record or an
// x-ms-examples wrapper.
func importObject(ctx context.Context, em *emitter, dec *json.Decoder) (int, error) {
	fields := map[string]json.RawMessage{}
	n, sawValue := 0, false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return n, posErr(dec, "read key", err)
		}
		key, _ := kt.(string)
		if key == "value" {
			tok, err := dec.Token()
			if err != nil {
				return n, posErr(dec, "field value", err)
			}
			if tok == nil {
				sawValue = true
				continue
			}
			if tok != json.Delim('[') {
				return n, fmt.Errorf("offset %d: field value: want an array", dec.InputOffset())
			}
			sawValue = true
			m, err := importArray(ctx, em, dec, "value", 0)
			n += m
			if err != nil {
				return n, err
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return n, posErr(dec, "field "+key, err)
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return n, posErr(dec, "read end of object", err)
	}
	if sawValue {
		return n, nil
	}
	if resp, ok := fields["responses"]; ok {
		// x-ms-examples: {"parameters":..., "responses":{"200":{"body":...}}}
		var rs map[string]struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(resp, &rs); err != nil {
			return n, fmt.Errorf("field responses: %w", err)
		}
		for _, code := range []string{"200", "201"} {
			if b := rs[code].Body; len(b) > 0 {
				m, err := importJSON(ctx, em, bytes.NewReader(b))
				if err != nil {
					return n + m, fmt.Errorf("responses.%s.body: %w", code, err)
				}
				return n + m, nil
			}
		}
		return n, nil
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return n, err
	}
	var it azItem
	if err := json.Unmarshal(b, &it); err != nil {
		return n, fmt.Errorf("record 0: %w", err)
	}
	if err := importItem(em, it); err != nil {
		if errors.Is(err, errNotRBAC) {
			return 0, nil
		}
		return n, fmt.Errorf("record 0 (id %q): %w", it.ID, err)
	}
	return n + 1, nil
}

func posErr(dec *json.Decoder, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("offset %d: %s: unexpected end of file (truncated export?)", dec.InputOffset(), what)
	}
	return fmt.Errorf("offset %d: %s: %w", dec.InputOffset(), what, err)
}
