package cloudtrail

import (
	"strings"

	"permgraph/detect/event"
)

// Classification is what Classify says about one (eventSource, eventName).
type Classification struct {
	Class event.Class
	// Surface names the deploy/exec surface (ecs, lambda, apprunner, batch,
	// eks, ssm) for Deploy, Exec and Delete events.
	Surface string
	// ControlPlane marks cluster / node-group changes classified as Deploy.
	ControlPlane bool
	// Remove marks a Grant-class change that removes a membership or permission.
	Remove bool
	// Details asks for request details even though the class is Other.
	Details bool
}

// BaseName strips the API-version suffix CloudTrail appends to some Lambda
// event names (CreateFunction20150331, UpdateFunctionCode20150331v2).
func BaseName(source, name string) string {
	if source != "lambda.amazonaws.com" {
		return name
	}
	// Trailing 8 digits, optionally followed by v<digits>.
	n := name
	if i := strings.LastIndexByte(n, 'v'); i > 0 && i < len(n)-1 && allDigits(n[i+1:]) && i >= 8 && allDigits(n[i-8:i]) {
		n = n[:i]
	}
	if len(n) > 8 && allDigits(n[len(n)-8:]) {
		n = n[:len(n)-8]
	}
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Classify maps a CloudTrail call to its class, following DETECTIONS.md §1.1
// (tables b, c, d). Unlisted calls are Other.
func Classify(source, name string) Classification {
	name = BaseName(source, name)
	switch source {
	case "iam.amazonaws.com":
		return classifyIAM(name)
	case "identitystore.amazonaws.com":
		switch name {
		case "ListGroups", "DescribeGroup", "GetGroupId", "ListGroupMemberships",
			"ListGroupMembershipsForMember", "IsMemberInGroups", "GetGroupMembershipId", "DescribeGroupMembership":
			return Classification{Class: event.DiscoveryGroup}
		case "CreateGroupMembership":
			return Classification{Class: event.Grant}
		case "DeleteGroupMembership":
			return Classification{Class: event.Grant, Remove: true}
		}
	case "sso-directory.amazonaws.com":
		switch name {
		case "SearchGroups", "ListGroupsForUser", "ListMembersInGroup", "DescribeGroups", "DescribeGroup", "ListGroupsForMember":
			return Classification{Class: event.DiscoveryGroup}
		case "AddMemberToGroup":
			return Classification{Class: event.Grant}
		case "RemoveMemberFromGroup":
			return Classification{Class: event.Grant, Remove: true}
		}
	case "sso.amazonaws.com":
		switch name {
		case "ListPermissionSets", "DescribePermissionSet", "ListAccountAssignments",
			"ListAccountsForProvisionedPermissionSet", "GetInlinePolicyForPermissionSet",
			"ListManagedPoliciesInPermissionSet", "ListPermissionSetsProvisionedToAccount",
			"ListCustomerManagedPolicyReferencesInPermissionSet", "GetPermissionsBoundaryForPermissionSet",
			"ListAccountAssignmentsForPrincipal":
			return Classification{Class: event.DiscoveryPermission}
		case "CreateAccountAssignment", "AttachManagedPolicyToPermissionSet", "PutInlinePolicyToPermissionSet",
			"ProvisionPermissionSet", "AttachCustomerManagedPolicyReferenceToPermissionSet",
			"PutPermissionsBoundaryToPermissionSet":
			return Classification{Class: event.Grant}
		case "DeleteAccountAssignment", "DetachManagedPolicyFromPermissionSet", "DeleteInlinePolicyFromPermissionSet":
			return Classification{Class: event.Grant, Remove: true}
		case "GetRoleCredentials":
			return Classification{Class: event.Identity}
		}
	case "sts.amazonaws.com":
		switch name {
		case "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetFederationToken",
			"GetSessionToken", "AssumeRoot":
			return Classification{Class: event.Identity}
		case "GetCallerIdentity":
			return Classification{Class: event.SelfProbe}
		}
	case "eks-auth.amazonaws.com":
		if name == "AssumeRoleForPodIdentity" {
			return Classification{Class: event.Identity}
		}
	case "eks.amazonaws.com":
		switch name {
		case "ListAccessEntries", "DescribeAccessEntry", "ListAssociatedAccessPolicies", "ListAccessPolicies":
			return Classification{Class: event.DiscoveryPermission}
		case "CreateAccessEntry", "AssociateAccessPolicy", "UpdateAccessEntry":
			return Classification{Class: event.Grant}
		case "DeleteAccessEntry", "DisassociateAccessPolicy":
			return Classification{Class: event.Grant, Remove: true}
		case "CreateCluster", "CreateNodegroup", "CreateFargateProfile", "UpdateClusterConfig", "UpdateNodegroupConfig":
			return Classification{Class: event.Deploy, Surface: "eks", ControlPlane: true}
		case "DeleteCluster", "DeleteNodegroup", "DeleteFargateProfile":
			return Classification{Class: event.Delete, Surface: "eks", ControlPlane: true}
		}
	case "ecs.amazonaws.com":
		switch name {
		case "RunTask", "StartTask", "CreateService", "UpdateService", "RegisterTaskDefinition", "CreateTaskSet":
			return Classification{Class: event.Deploy, Surface: "ecs"}
		case "ExecuteCommand":
			return Classification{Class: event.Exec, Surface: "ecs"}
		case "StopTask", "DeleteService", "DeregisterTaskDefinition", "DeleteTaskSet":
			return Classification{Class: event.Delete, Surface: "ecs"}
		}
	case "lambda.amazonaws.com":
		switch name {
		case "CreateFunction", "UpdateFunctionCode":
			return Classification{Class: event.Deploy, Surface: "lambda"}
		case "DeleteFunction":
			return Classification{Class: event.Delete, Surface: "lambda"}
		case "UpdateFunctionConfiguration":
			return Classification{Class: event.Other, Details: true}
		}
	case "apprunner.amazonaws.com":
		switch name {
		case "CreateService", "UpdateService", "StartDeployment":
			return Classification{Class: event.Deploy, Surface: "apprunner"}
		case "DeleteService":
			return Classification{Class: event.Delete, Surface: "apprunner"}
		}
	case "batch.amazonaws.com":
		switch name {
		case "RegisterJobDefinition", "SubmitJob":
			return Classification{Class: event.Deploy, Surface: "batch"}
		case "TerminateJob", "CancelJob", "DeregisterJobDefinition":
			return Classification{Class: event.Delete, Surface: "batch"}
		}
	case "ssm.amazonaws.com":
		switch name {
		case "StartSession", "SendCommand":
			return Classification{Class: event.Exec, Surface: "ssm"}
		}
	case "organizations.amazonaws.com":
		switch name {
		case "ListPolicies", "ListPoliciesForTarget", "DescribePolicy", "ListTargetsForPolicy", "DescribeEffectivePolicy":
			return Classification{Class: event.DiscoveryPermission}
		}
	}
	return Classification{}
}

func classifyIAM(name string) Classification {
	switch name {
	case "ListGroups", "ListGroupsForUser", "GetGroup":
		return Classification{Class: event.DiscoveryGroup}
	case "ListGroupPolicies", "GetGroupPolicy", "ListAttachedGroupPolicies", "ListEntitiesForPolicy",
		"ListRoles", "GetRole", "ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies",
		"ListAttachedUserPolicies", "ListUserPolicies", "GetUserPolicy", "ListUsers", "GetAccountSummary",
		"ListPolicies", "GetPolicy", "GetPolicyVersion", "ListPolicyVersions", "ListInstanceProfiles",
		"ListInstanceProfilesForRole", "GetInstanceProfile":
		return Classification{Class: event.DiscoveryPermission}
	case "GetUser":
		// Classified in addDetails: on self (no userName) it is a SelfProbe.
		return Classification{Class: event.DiscoveryPermission}
	case "GetAccountAuthorizationDetails", "SimulatePrincipalPolicy", "SimulateCustomPolicy",
		"GetContextKeysForPrincipalPolicy", "GetContextKeysForCustomPolicy":
		return Classification{Class: event.SelfProbe}
	case "AddUserToGroup", "AttachGroupPolicy", "PutGroupPolicy", "AttachUserPolicy", "PutUserPolicy",
		"AttachRolePolicy", "PutRolePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion",
		"UpdateAssumeRolePolicy", "PutUserPermissionsBoundary", "PutRolePermissionsBoundary":
		return Classification{Class: event.Grant}
	case "RemoveUserFromGroup", "DetachGroupPolicy", "DeleteGroupPolicy", "DetachUserPolicy", "DeleteUserPolicy",
		"DetachRolePolicy", "DeleteRolePolicy", "DeleteUserPermissionsBoundary", "DeleteRolePermissionsBoundary":
		return Classification{Class: event.Grant, Remove: true}
	case "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "CreateServiceSpecificCredential",
		"UploadSSHPublicKey":
		return Classification{Class: event.Identity}
	}
	return Classification{}
}
