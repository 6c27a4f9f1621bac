package entra

import (
	"errors"
	"fmt"
	"strings"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"permgraph/collectors/internal/rawcapture"
)

// pageKind is what a captured URL path holds. Paths are matched after the
// version segment, so captures from national clouds or a test server at
// any prefix replay alike.
type pageKind int

const (
	pageUnknown pageKind = iota
	pageOrganization
	pageUsers
	pageGroups
	pageGroupMembers
	pageGroupOwners
	pageServicePrincipals
	pageServicePrincipal // one sp with its appRoles
	pageSPOwners
	pageSPAppRoleAssignedTo
	pageApplications
	pageAppOwners
	pageRoleDefinitions
	pageRoleAssignments
	pageRoleEligibility
)

// pagePatterns is the raw capture layout (docs/offline.md lists it).
func pagePatterns() []struct {
	pattern string
	kind    pageKind
} {
	return []struct {
		pattern string
		kind    pageKind
	}{
		{"/organization", pageOrganization},
		{"/users", pageUsers},
		{"/groups", pageGroups},
		{"/groups/{}/members", pageGroupMembers},
		{"/groups/{}/owners", pageGroupOwners},
		{"/servicePrincipals", pageServicePrincipals},
		{"/servicePrincipals/{}", pageServicePrincipal},
		{"/servicePrincipals/{}/owners", pageSPOwners},
		{"/servicePrincipals/{}/appRoleAssignedTo", pageSPAppRoleAssignedTo},
		{"/applications", pageApplications},
		{"/applications/{}/owners", pageAppOwners},
		{"/roleManagement/directory/roleDefinitions", pageRoleDefinitions},
		{"/roleManagement/directory/roleAssignments", pageRoleAssignments},
		{"/roleManagement/directory/roleEligibilitySchedules", pageRoleEligibility},
	}
}

// classify returns the page kind of a URL path and the object id in it
// (the group, sp or application whose relationship the page lists).
func classify(path string) (pageKind, string) {
	rest := path
	if i := strings.Index(strings.ToLower(path), "/v1.0/"); i >= 0 {
		rest = path[i+len("/v1.0"):]
	}
	for _, p := range pagePatterns() {
		if rawcapture.MatchPath(p.pattern, rest) {
			if !strings.Contains(p.pattern, "{}") {
				return p.kind, ""
			}
			return p.kind, rawcapture.Segment(rest, 1)
		}
	}
	return pageUnknown, ""
}

// parsed is one decoded page: a collection's items, or a single object.
type parsed struct {
	items []serialization.Parsable
}

// collectionFactory returns the SDK factory for a page kind: the same
// models the live request builders return.
func collectionFactory(k pageKind) serialization.ParsableFactory {
	switch k {
	case pageOrganization:
		return models.CreateOrganizationCollectionResponseFromDiscriminatorValue
	case pageUsers:
		return models.CreateUserCollectionResponseFromDiscriminatorValue
	case pageGroups:
		return models.CreateGroupCollectionResponseFromDiscriminatorValue
	case pageGroupMembers, pageGroupOwners, pageSPOwners, pageAppOwners:
		return models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue
	case pageServicePrincipals:
		return models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue
	case pageServicePrincipal:
		return models.CreateServicePrincipalFromDiscriminatorValue
	case pageSPAppRoleAssignedTo:
		return models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue
	case pageApplications:
		return models.CreateApplicationCollectionResponseFromDiscriminatorValue
	case pageRoleDefinitions:
		return models.CreateUnifiedRoleDefinitionCollectionResponseFromDiscriminatorValue
	case pageRoleAssignments:
		return models.CreateUnifiedRoleAssignmentCollectionResponseFromDiscriminatorValue
	case pageRoleEligibility:
		return models.CreateUnifiedRoleEligibilityScheduleCollectionResponseFromDiscriminatorValue
	}
	return nil
}

// parsePage decodes a successful page body with kiota's JSON parse node into
// the SDK models. A body that is not a JSON object is an error.
func parsePage(k pageKind, body []byte) (parsed, error) {
	f := collectionFactory(k)
	if f == nil {
		return parsed{}, errors.New("unknown page kind")
	}
	if t := strings.TrimSpace(string(body)); !strings.HasPrefix(t, "{") {
		return parsed{}, errors.New("page body is not a JSON object")
	}
	node, err := jsonserialization.NewJsonParseNode(body)
	if err != nil {
		return parsed{}, fmt.Errorf("decode JSON: %w", err)
	}
	v, err := node.GetObjectValue(f)
	if err != nil {
		return parsed{}, pageError(k, body, err)
	}
	if v == nil {
		return parsed{}, errors.New("decode page: empty")
	}
	var p parsed
	switch c := v.(type) {
	case models.ServicePrincipalable:
		if k == pageServicePrincipal {
			p.items = []serialization.Parsable{c}
			return p, nil
		}
	}
	items, err := collectionItems(v)
	if err != nil {
		return parsed{}, err
	}
	p.items = items
	return p, nil
}

// collectionItems returns the value array of a collection response.
func collectionItems(v serialization.Parsable) ([]serialization.Parsable, error) {
	var out []serialization.Parsable
	add := func(n int, at func(int) serialization.Parsable) {
		for i := 0; i < n; i++ {
			if x := at(i); x != nil {
				out = append(out, x)
			}
		}
	}
	switch c := v.(type) {
	case models.OrganizationCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.UserCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.GroupCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.DirectoryObjectCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.ServicePrincipalCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.AppRoleAssignmentCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.ApplicationCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.UnifiedRoleDefinitionCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.UnifiedRoleAssignmentCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	case models.UnifiedRoleEligibilityScheduleCollectionResponseable:
		xs := c.GetValue()
		add(len(xs), func(i int) serialization.Parsable { return xs[i] })
	default:
		return nil, fmt.Errorf("unexpected page type %T", v)
	}
	return out, nil
}

// errorPage decodes Graph's error body ({"error":{"code":...}}) for the
// code; an unreadable body yields "".
func errorPage(body []byte) string {
	node, err := jsonserialization.NewJsonParseNode(body)
	if err != nil {
		return ""
	}
	v, err := node.GetObjectValue(odataerrors.CreateODataErrorFromDiscriminatorValue)
	if err != nil || v == nil {
		return ""
	}
	if oe, ok := v.(*odataerrors.ODataError); ok && oe.GetErrorEscaped() != nil {
		return str(oe.GetErrorEscaped().GetCode())
	}
	return ""
}

// apply feeds one decoded page into the builder; owner is the object id
// from the URL for relationship pages.
func (b *builder) apply(k pageKind, owner string, p parsed) error {
	for _, it := range p.items {
		var err error
		switch k {
		case pageUsers:
			if u, ok := it.(models.Userable); ok {
				err = b.user(u)
			}
		case pageGroups:
			if g, ok := it.(models.Groupable); ok {
				err = b.group(g)
			}
		case pageGroupMembers:
			if o, ok := it.(models.DirectoryObjectable); ok {
				err = b.member(owner, o)
			}
		case pageGroupOwners:
			if o, ok := it.(models.DirectoryObjectable); ok {
				err = b.owner("groups", owner, o)
			}
		case pageSPOwners:
			if o, ok := it.(models.DirectoryObjectable); ok {
				err = b.owner("servicePrincipals", owner, o)
			}
		case pageAppOwners:
			if o, ok := it.(models.DirectoryObjectable); ok {
				err = b.owner("applications", owner, o)
			}
		case pageServicePrincipals:
			if s, ok := it.(models.ServicePrincipalable); ok {
				err = b.servicePrincipal(s)
			}
		case pageServicePrincipal:
			if s, ok := it.(models.ServicePrincipalable); ok {
				b.appRoles(s)
			}
		case pageSPAppRoleAssignedTo:
			if a, ok := it.(models.AppRoleAssignmentable); ok {
				b.appRoleAssignment(owner, a)
			}
		case pageApplications:
			if a, ok := it.(models.Applicationable); ok {
				err = b.application(a)
			}
		case pageRoleDefinitions:
			if d, ok := it.(models.UnifiedRoleDefinitionable); ok {
				err = b.roleDefinition(d)
			}
		case pageRoleAssignments:
			if a, ok := it.(models.UnifiedRoleAssignmentable); ok {
				b.activeAssignment(a)
			}
		case pageRoleEligibility:
			if a, ok := it.(models.UnifiedRoleEligibilityScheduleable); ok {
				b.eligibleAssignment(a)
			}
		case pageOrganization:
			// read before the other pages (tenant discovery)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) activeAssignment(a models.UnifiedRoleAssignmentable) {
	b.roleAssignment(str(a.GetId()), str(a.GetPrincipalId()), a.GetPrincipal(), str(a.GetRoleDefinitionId()), str(a.GetDirectoryScopeId()), false)
}

func (b *builder) eligibleAssignment(a models.UnifiedRoleEligibilityScheduleable) {
	b.roleAssignment(str(a.GetId()), str(a.GetPrincipalId()), a.GetPrincipal(), str(a.GetRoleDefinitionId()), str(a.GetDirectoryScopeId()), true)
}
