package azurerbac

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

// This file maps the SDK's page types to records. The live collector gets
// them from the SDK pagers, the file collector by unmarshalling a captured
// page body into the same types, so both map one response identically.

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func strs(in []*string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

func (e *emitter) subscriptionsPage(v []*armsubscriptions.Subscription) error {
	for i, s := range v {
		if s == nil {
			continue
		}
		id := str(s.ID)
		if id == "" && str(s.SubscriptionID) != "" {
			id = "/subscriptions/" + str(s.SubscriptionID)
		}
		if err := e.scope(scopeRec{ArmID: id, Type: typeSubscription, Name: str(s.DisplayName), State: str(s.State)}); err != nil {
			return fmt.Errorf("value[%d]: %w", i, err)
		}
	}
	return nil
}

func (e *emitter) entitiesPage(v []*armmanagementgroups.EntityInfo) error {
	for i, x := range v {
		if x == nil {
			continue
		}
		r := scopeRec{ArmID: str(x.ID)}
		if p := x.Properties; p != nil {
			r.Name = str(p.DisplayName)
			if p.Parent != nil {
				r.ParentArm = str(p.Parent.ID)
			}
		}
		if err := e.scope(r); err != nil {
			return fmt.Errorf("value[%d]: %w", i, err)
		}
	}
	return nil
}

func (e *emitter) resourceGroupsPage(v []*armresources.ResourceGroup) error {
	for i, g := range v {
		if g == nil {
			continue
		}
		if err := e.scope(scopeRec{ArmID: str(g.ID), Name: str(g.Name)}); err != nil {
			return fmt.Errorf("value[%d]: %w", i, err)
		}
	}
	return nil
}

func (e *emitter) roleDefinitionsPage(v []*armauthorization.RoleDefinition) error {
	for i, d := range v {
		if d == nil {
			continue
		}
		if err := e.roleDefinition(convertRoleDefinition(d)); err != nil {
			return fmt.Errorf("value[%d]: %w", i, err)
		}
	}
	return nil
}

func convertRoleDefinition(d *armauthorization.RoleDefinition) roleDefRec {
	r := roleDefRec{ArmID: str(d.ID), Name: str(d.Name)}
	if p := d.Properties; p != nil {
		r.RoleName, r.RoleType = str(p.RoleName), str(p.RoleType)
		r.AssignableScopes = strs(p.AssignableScopes)
		for _, b := range p.Permissions {
			if b == nil {
				continue
			}
			r.Permissions = append(r.Permissions, permBlock{Actions: strs(b.Actions), NotActions: strs(b.NotActions),
				DataActions: strs(b.DataActions), NotDataActions: strs(b.NotDataActions)})
		}
	}
	return r
}

func (e *emitter) roleAssignmentsPage(v []*armauthorization.RoleAssignment) error {
	for i, a := range v {
		if a == nil {
			continue
		}
		r := assignmentRec{ArmID: str(a.ID), Name: str(a.Name)}
		if p := a.Properties; p != nil {
			r.PrincipalID, r.PrincipalType = str(p.PrincipalID), str(p.PrincipalType)
			r.RoleDefinitionID, r.Scope = str(p.RoleDefinitionID), str(p.Scope)
			r.Condition, r.ConditionVersion = str(p.Condition), str(p.ConditionVersion)
		}
		if err := e.assignment(r); err != nil {
			return fmt.Errorf("value[%d]: %w", i, err)
		}
	}
	return nil
}

func (e *emitter) eligibilityPage(v []*armauthorization.RoleEligibilityScheduleInstance) error {
	for i, a := range v {
		if a == nil {
			continue
		}
		r := assignmentRec{ArmID: str(a.ID), Name: str(a.Name), Eligible: true}
		if p := a.Properties; p != nil {
			r.PrincipalID, r.PrincipalType = str(p.PrincipalID), str(p.PrincipalType)
			r.RoleDefinitionID, r.Scope = str(p.RoleDefinitionID), str(p.Scope)
			r.Condition, r.ConditionVersion = str(p.Condition), str(p.ConditionVersion)
			r.MemberType = str(p.MemberType)
		}
		if err := e.assignment(r); err != nil {
			return fmt.Errorf("value[%d]: %w", i, err)
		}
	}
	return nil
}

func convertPrincipals(in []*armauthorization.Principal) []principalRec {
	out := make([]principalRec, 0, len(in))
	for _, p := range in {
		if p != nil {
			out = append(out, principalRec{ID: str(p.ID), Type: str(p.Type)})
		}
	}
	return out
}

func (e *emitter) denyAssignmentsPage(v []*armauthorization.DenyAssignment) error {
	for i, d := range v {
		if d == nil {
			continue
		}
		r := denyRec{ArmID: str(d.ID), Name: str(d.Name)}
		if p := d.Properties; p != nil {
			r.DenyName, r.Scope = str(p.DenyAssignmentName), str(p.Scope)
			r.NoChildren = p.DoNotApplyToChildScopes != nil && *p.DoNotApplyToChildScopes
			r.Principals, r.Exclude = convertPrincipals(p.Principals), convertPrincipals(p.ExcludePrincipals)
			for _, b := range p.Permissions {
				if b == nil {
					continue
				}
				r.Permissions = append(r.Permissions, permBlock{Actions: strs(b.Actions), NotActions: strs(b.NotActions),
					DataActions: strs(b.DataActions), NotDataActions: strs(b.NotDataActions),
					Condition: str(b.Condition), ConditionVersion: str(b.ConditionVersion)})
			}
		}
		if err := e.deny(r); err != nil {
			return fmt.Errorf("value[%d]: %w", i, err)
		}
	}
	return nil
}

// Operations, named from the request path so a live failure and the replay
// of its captured error page produce the same warning.
const (
	opSubscriptions   = "list subscriptions"
	opEntities        = "list management groups"
	opResourceGroups  = "list resource groups"
	opRoleDefinitions = "list role definitions"
	opRoleDefinition  = "get role definition"
	opRoleAssignments = "list role assignments"
	opDenyAssignments = "list deny assignments"
	opEligibility     = "list PIM eligible role assignments"
)

const authzInfix = "/providers/microsoft.authorization/"

// describePath returns the operation and scope of an ARM request path, or
// ok=false for a path this collector does not read (Graph pages share a
// capture directory with ARM pages).
func describePath(path string) (op, scope string, ok bool) {
	p := strings.TrimRight(path, "/")
	l := strings.ToLower(p)
	switch {
	case l == "/subscriptions":
		return opSubscriptions, "tenant", true
	case l == "/providers/microsoft.management/getentities":
		return opEntities, "tenant", true
	case strings.HasPrefix(l, "/subscriptions/") && strings.Count(l, "/") == 3 && strings.HasSuffix(l, "/resourcegroups"):
		return opResourceGroups, p[:len(p)-len("/resourcegroups")], true
	}
	i := strings.LastIndex(l, authzInfix)
	if i < 0 {
		return "", "", false
	}
	scope = p[:i]
	if scope == "" {
		scope = "/"
	}
	switch rest := l[i+len(authzInfix):]; {
	case rest == "roleassignments":
		return opRoleAssignments, scope, true
	case rest == "roledefinitions":
		return opRoleDefinitions, scope, true
	case strings.HasPrefix(rest, "roledefinitions/") && !strings.Contains(rest[len("roledefinitions/"):], "/"):
		return opRoleDefinition, scope, true
	case rest == "denyassignments":
		return opDenyAssignments, scope, true
	case rest == "roleeligibilityscheduleinstances":
		return opEligibility, scope, true
	}
	return "", "", false
}

// consequence says what a failed operation leaves out.
var consequences = map[string]string{
	opEntities:        "the management group hierarchy is missing: subscriptions hang off nothing and management-group assignments are not listed",
	opResourceGroups:  "its resource groups are known only from assignment scopes",
	opRoleDefinitions: "roles defined or assignable there may be missing",
	opRoleDefinition:  "what the role grants is unknown",
	opRoleAssignments: "its role assignments are missing",
	opDenyAssignments: "its deny assignments are missing, so answers may overstate access",
	opEligibility:     "PIM-eligible assignments are missing (Entra ID P2 / PIM not licensed, or no read access)",
}

// warnable reports whether a failed status for op is a gap to warn about
// rather than a reason to stop: no access to one scope (403), a scope gone
// or disabled (404, 409), and PIM not licensed or not onboarded (400).
func warnable(op string, status int) bool {
	if op == opSubscriptions {
		return false
	}
	switch status {
	case http.StatusForbidden, http.StatusNotFound, http.StatusConflict:
		return true
	case http.StatusBadRequest:
		return op == opEligibility
	}
	return false
}

func warningText(op, scope string, status int, code string) string {
	if code == "" {
		code = http.StatusText(status)
	}
	return fmt.Sprintf("%s: %s failed with HTTP %d %s; %s", scope, op, status, code, consequences[op])
}
