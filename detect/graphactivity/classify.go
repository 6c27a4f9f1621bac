package graphactivity

import (
	"strings"

	"permgraph/detect/event"
)

// Classification is what Classify / ClassifyAudit say about one record.
type Classification struct {
	Class  event.Class
	Remove bool // Grant-class removal
}

type uriRule struct {
	method  string // GET, POST, DELETE; "*" any
	pattern string // templated path; "*" matches one segment
	class   event.Class
	remove  bool
}

// Classify maps a Graph request (method, templated path; see Template) to its
// class with the DETECTIONS.md §1.2 (b)/(c) table below. First match wins.
func Classify(method, tmpl string) Classification {
	const (
		dg = event.DiscoveryGroup
		dp = event.DiscoveryPermission
		sp = event.SelfProbe
		gr = event.Grant
		id = event.Identity
	)
	rules := [...]uriRule{
		// Self probes (the caller's own groups, roles and grants).
		{"GET", "/me/memberof", sp, false},
		{"GET", "/me/transitivememberof", sp, false},
		{"GET", "/me/ownedobjects", sp, false},
		{"GET", "/me/approleassignments", sp, false},
		{"GET", "/me/oauth2permissiongrants", sp, false},
		{"POST", "/me/getmembergroups", sp, false},
		{"POST", "/me/getmemberobjects", sp, false},
		{"POST", "/me/checkmembergroups", sp, false},
		{"POST", "/me/checkmemberobjects", sp, false},
		{"POST", "/rolemanagement/directory/estimateaccess", sp, false},
		// Grants (membership, owners, roles, app roles, consent).
		{"POST", "/groups/*/members/$ref", gr, false},
		{"POST", "/groups/*/owners/$ref", gr, false},
		{"DELETE", "/groups/*/members/*/$ref", gr, true},
		{"DELETE", "/groups/*/owners/*/$ref", gr, true},
		{"POST", "/directoryroles/*/members/$ref", gr, false},
		{"DELETE", "/directoryroles/*/members/*/$ref", gr, true},
		{"POST", "/rolemanagement/directory/roleassignments", gr, false},
		{"DELETE", "/rolemanagement/directory/roleassignments/*", gr, true},
		{"POST", "/rolemanagement/directory/roleassignmentschedulerequests", gr, false},
		{"POST", "/rolemanagement/directory/roleeligibilityschedulerequests", gr, false},
		{"POST", "/users/*/approleassignments", gr, false},
		{"POST", "/groups/*/approleassignments", gr, false},
		{"POST", "/serviceprincipals/*/approleassignments", gr, false},
		{"POST", "/serviceprincipals/*/approleassignedto", gr, false},
		{"DELETE", "/users/*/approleassignments/*", gr, true},
		{"DELETE", "/groups/*/approleassignments/*", gr, true},
		{"DELETE", "/serviceprincipals/*/approleassignments/*", gr, true},
		{"DELETE", "/serviceprincipals/*/approleassignedto/*", gr, true},
		{"POST", "/oauth2permissiongrants", gr, false},
		{"DELETE", "/oauth2permissiongrants/*", gr, true},
		{"POST", "/applications/*/owners/$ref", gr, false},
		{"POST", "/serviceprincipals/*/owners/$ref", gr, false},
		// Credentials for an application / service principal.
		{"POST", "/applications/*/addpassword", id, false},
		{"POST", "/applications/*/addkey", id, false},
		{"POST", "/serviceprincipals/*/addpassword", id, false},
		{"POST", "/serviceprincipals/*/addkey", id, false},
		{"POST", "/serviceprincipals/*/addtokensigningcertificate", id, false},
		{"POST", "/applications/*/federatedidentitycredentials", id, false},
		// Group discovery.
		{"GET", "/groups", dg, false},
		{"GET", "/groups/delta", dg, false},
		{"GET", "/groups/*", dg, false},
		{"GET", "/groups/*/members", dg, false},
		{"GET", "/groups/*/members/*", dg, false},
		{"GET", "/groups/*/transitivemembers", dg, false},
		{"GET", "/groups/*/owners", dg, false},
		{"GET", "/groups/*/memberof", dg, false},
		{"GET", "/groups/*/transitivememberof", dg, false},
		{"GET", "/users/*/memberof", dg, false},
		{"GET", "/users/*/transitivememberof", dg, false},
		{"GET", "/users/*/ownedobjects", dg, false},
		{"GET", "/directoryobjects/*/memberof", dg, false},
		{"POST", "/users/*/getmembergroups", dg, false},
		{"POST", "/users/*/getmemberobjects", dg, false},
		{"POST", "/users/*/checkmembergroups", dg, false},
		{"POST", "/users/*/checkmemberobjects", dg, false},
		{"POST", "/groups/*/getmembergroups", dg, false},
		{"POST", "/groups/*/getmemberobjects", dg, false},
		{"POST", "/directoryobjects/*/getmembergroups", dg, false},
		{"POST", "/directoryobjects/*/getmemberobjects", dg, false},
		{"POST", "/directoryobjects/getbyids", dg, false},
		// Role / permission discovery.
		{"GET", "/directoryroles", dp, false},
		{"GET", "/directoryroles/*", dp, false},
		{"GET", "/directoryroles/*/members", dp, false},
		{"GET", "/directoryroletemplates", dp, false},
		{"GET", "/rolemanagement/directory/roleassignments", dp, false},
		{"GET", "/rolemanagement/directory/roleassignments/*", dp, false},
		{"GET", "/rolemanagement/directory/roledefinitions", dp, false},
		{"GET", "/rolemanagement/directory/roledefinitions/*", dp, false},
		{"GET", "/rolemanagement/directory/roleeligibilityschedules", dp, false},
		{"GET", "/rolemanagement/directory/roleassignmentschedules", dp, false},
		{"GET", "/rolemanagement/directory/roleeligibilityscheduleinstances", dp, false},
		{"GET", "/rolemanagement/directory/roleassignmentscheduleinstances", dp, false},
		{"GET", "/rolemanagement/directory/transitiveroleassignments", dp, false},
		{"GET", "/users/*/approleassignments", dp, false},
		{"GET", "/groups/*/approleassignments", dp, false},
		{"GET", "/serviceprincipals/*/approleassignments", dp, false},
		{"GET", "/serviceprincipals/*/approleassignedto", dp, false},
		{"GET", "/oauth2permissiongrants", dp, false},
		{"GET", "/users/*/oauth2permissiongrants", dp, false},
		{"GET", "/serviceprincipals/*/oauth2permissiongrants", dp, false},
	}
	for i := range rules {
		r := &rules[i]
		if (r.method == "*" || r.method == method) && match(r.pattern, tmpl) {
			return Classification{Class: r.class, Remove: r.remove}
		}
	}
	return Classification{}
}

// match compares a pattern with a templated path segment by segment; "*"
// matches an {id} segment. It does not allocate.
func match(pattern, path string) bool {
	p := strings.TrimPrefix(pattern, "/")
	s := strings.TrimPrefix(path, "/")
	for {
		ps, prest, pmore := strings.Cut(p, "/")
		ss, srest, smore := strings.Cut(s, "/")
		if ps == "*" {
			if ss != "{id}" {
				return false
			}
		} else if ps != ss {
			return false
		}
		if pmore != smore {
			return false
		}
		if !pmore {
			return true
		}
		p, s = prest, srest
	}
}

// ClassifyAudit maps an Entra audit activity (activityDisplayName; case,
// surrounding space, a final '.' and dash style do not matter) to its class,
// following DETECTIONS.md §1.2 (c).
func ClassifyAudit(activity string) Classification {
	a := strings.ToLower(strings.TrimSpace(activity))
	a = strings.TrimSuffix(a, ".")
	a = strings.ReplaceAll(a, "–", "-")
	switch a {
	case "add member to group", "add owner to group", "add member to role", "add eligible member to role",
		"add scoped member to role", "add app role assignment to group", "add app role assignment to service principal",
		"add app role assignment grant to user", "add delegated permission grant", "consent to application",
		"add owner to application", "add owner to service principal", "add member to administrative unit",
		"add member to role in pim completed (permanent)", "add member to role in pim completed (timebound)",
		"add eligible member to role in pim completed (permanent)", "add eligible member to role in pim completed (timebound)",
		"add member to role completed (pim activation)", "add role assignment to role definition":
		return Classification{Class: event.Grant}
	case "remove member from group", "remove owner from group", "remove member from role",
		"remove eligible member from role", "remove scoped member from role", "remove app role assignment from group",
		"remove app role assignment from service principal", "remove app role assignment from user",
		"remove delegated permission grant", "remove owner from application", "remove owner from service principal",
		"remove member from role in pim completed (permanent)", "remove eligible member from role in pim completed (permanent)":
		return Classification{Class: event.Grant, Remove: true}
	case "update application - certificates and secrets management", "add service principal credentials",
		"update service principal - certificates and secrets management",
		"add federated identity credential", "update federated identity credential":
		return Classification{Class: event.Identity}
	}
	return Classification{}
}
