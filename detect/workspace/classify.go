package workspace

import (
	"strings"

	"permgraph/detect/event"
)

// Classification is what Classify says about one activity event.
type Classification struct {
	Class  event.Class
	Remove bool // Grant-class removal
	Failed bool // the event itself reports a failure (login_failure)
}

// Classify maps (applicationName, event name) to a class, following
// DETECTIONS.md §1.3 (b)/(c). params are the event's parameters by name.
func Classify(app, name string, params map[string]string) Classification {
	switch app {
	case "admin":
		switch name {
		case "ADD_GROUP_MEMBER", "UPDATE_GROUP_MEMBER", "ASSIGN_ROLE", "GRANT_ADMIN_PRIVILEGE",
			"ADD_PRIVILEGE", "GRANT_DELEGATED_ADMIN_PRIVILEGES", "ADD_TO_TRUSTED_OAUTH2_APPS", "AUTHORIZE_API_CLIENT_ACCESS":
			return Classification{Class: event.Grant}
		case "REMOVE_GROUP_MEMBER", "UNASSIGN_ROLE", "REVOKE_ADMIN_PRIVILEGE", "REMOVE_PRIVILEGE",
			"REVOKE_DELEGATED_ADMIN_PRIVILEGES", "REMOVE_API_CLIENT_ACCESS":
			return Classification{Class: event.Grant, Remove: true}
		case "GROUP_LIST_DOWNLOAD", "GROUP_MEMBERS_DOWNLOAD", "GROUP_MEMBER_BULK_UPLOAD_DOWNLOAD":
			return Classification{Class: event.DiscoveryGroup}
		case "ADD_SERVICE_ACCOUNT_KEY", "GENERATE_SERVICE_ACCOUNT_KEY":
			return Classification{Class: event.Identity}
		}
	case "groups_enterprise":
		switch name {
		case "add_member", "change_member_role", "accept_invitation", "approve_join_request", "join":
			return Classification{Class: event.Grant}
		case "remove_member":
			return Classification{Class: event.Grant, Remove: true}
		}
	case "groups":
		switch name {
		case "add_user", "join", "accept_invitation", "approve_join_request", "change_user_role":
			return Classification{Class: event.Grant}
		case "remove_user":
			return Classification{Class: event.Grant, Remove: true}
		}
	case "token":
		switch name {
		case "authorize":
			return Classification{Class: event.Identity}
		case "activity":
			// Third-party OAuth app API calls (DETECTIONS.md §1.3 b): Directory
			// reads of groups, members and roles.
			m := strings.ToLower(params["method_name"])
			switch {
			case strings.Contains(m, "directory.groups.") || strings.Contains(m, "directory.members.") ||
				strings.Contains(m, "cloudidentity.groups."):
				return Classification{Class: event.DiscoveryGroup}
			case strings.Contains(m, "directory.roleassignments.") || strings.Contains(m, "directory.roles.") ||
				strings.Contains(m, "directory.privileges."):
				return Classification{Class: event.DiscoveryPermission}
			}
		}
	case "login":
		if name == "login_failure" {
			return Classification{Failed: true}
		}
	}
	return Classification{}
}
