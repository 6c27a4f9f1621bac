package gen

import (
	"encoding/json"
	"net/url"
	"strings"
)

// The types below mirror `aws iam get-account-authorization-details` output
// (AWS CLI field order). Lists that the CLI always prints are never nil, so
// they encode as [] rather than null.

// AttachedPolicy is an entry of AttachedManagedPolicies.
type AttachedPolicy struct {
	PolicyName string `json:"PolicyName"`
	PolicyArn  string `json:"PolicyArn"`
}

// InlinePolicy is an entry of UserPolicyList, GroupPolicyList or RolePolicyList.
type InlinePolicy struct {
	PolicyName     string   `json:"PolicyName"`
	PolicyDocument Document `json:"PolicyDocument"`
}

// Boundary is a permissions boundary reference.
type Boundary struct {
	PermissionsBoundaryType string `json:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `json:"PermissionsBoundaryArn"`
}

// Tag is an IAM tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// User is an element of UserDetailList.
type User struct {
	Path                    string           `json:"Path"`
	UserName                string           `json:"UserName"`
	UserID                  string           `json:"UserId"`
	Arn                     string           `json:"Arn"`
	CreateDate              string           `json:"CreateDate"`
	UserPolicyList          []InlinePolicy   `json:"UserPolicyList,omitempty"`
	GroupList               []string         `json:"GroupList"`
	AttachedManagedPolicies []AttachedPolicy `json:"AttachedManagedPolicies"`
	PermissionsBoundary     *Boundary        `json:"PermissionsBoundary,omitempty"`
	Tags                    []Tag            `json:"Tags"`
}

// Group is an element of GroupDetailList.
type Group struct {
	Path                    string           `json:"Path"`
	GroupName               string           `json:"GroupName"`
	GroupID                 string           `json:"GroupId"`
	Arn                     string           `json:"Arn"`
	CreateDate              string           `json:"CreateDate"`
	GroupPolicyList         []InlinePolicy   `json:"GroupPolicyList"`
	AttachedManagedPolicies []AttachedPolicy `json:"AttachedManagedPolicies"`
}

// InstanceProfile is an entry of a role's InstanceProfileList (ignored by
// permgraph, present in real exports, so it is parsed and skipped).
type InstanceProfile struct {
	Path                string                `json:"Path"`
	InstanceProfileName string                `json:"InstanceProfileName"`
	InstanceProfileID   string                `json:"InstanceProfileId"`
	Arn                 string                `json:"Arn"`
	CreateDate          string                `json:"CreateDate"`
	Roles               []InstanceProfileRole `json:"Roles"`
}

// InstanceProfileRole is the role summary nested in an instance profile.
type InstanceProfileRole struct {
	Path                     string   `json:"Path"`
	RoleName                 string   `json:"RoleName"`
	RoleID                   string   `json:"RoleId"`
	Arn                      string   `json:"Arn"`
	CreateDate               string   `json:"CreateDate"`
	AssumeRolePolicyDocument Document `json:"AssumeRolePolicyDocument"`
}

// RoleLastUsed is the role's last use (an empty object when never used).
type RoleLastUsed struct {
	LastUsedDate string `json:"LastUsedDate,omitempty"`
	Region       string `json:"Region,omitempty"`
}

// Role is an element of RoleDetailList.
type Role struct {
	Path                     string            `json:"Path"`
	RoleName                 string            `json:"RoleName"`
	RoleID                   string            `json:"RoleId"`
	Arn                      string            `json:"Arn"`
	CreateDate               string            `json:"CreateDate"`
	AssumeRolePolicyDocument Document          `json:"AssumeRolePolicyDocument"`
	InstanceProfileList      []InstanceProfile `json:"InstanceProfileList"`
	RolePolicyList           []InlinePolicy    `json:"RolePolicyList"`
	AttachedManagedPolicies  []AttachedPolicy  `json:"AttachedManagedPolicies"`
	PermissionsBoundary      *Boundary         `json:"PermissionsBoundary,omitempty"`
	Tags                     []Tag             `json:"Tags"`
	RoleLastUsed             RoleLastUsed      `json:"RoleLastUsed"`
}

// PolicyVersion is an entry of a managed policy's PolicyVersionList.
type PolicyVersion struct {
	Document         Document `json:"Document"`
	VersionID        string   `json:"VersionId"`
	IsDefaultVersion bool     `json:"IsDefaultVersion"`
	CreateDate       string   `json:"CreateDate"`
}

// ManagedPolicy is an element of Policies.
type ManagedPolicy struct {
	PolicyName                    string          `json:"PolicyName"`
	PolicyID                      string          `json:"PolicyId"`
	Arn                           string          `json:"Arn"`
	Path                          string          `json:"Path"`
	DefaultVersionID              string          `json:"DefaultVersionId"`
	AttachmentCount               int             `json:"AttachmentCount"`
	PermissionsBoundaryUsageCount int             `json:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool            `json:"IsAttachable"`
	CreateDate                    string          `json:"CreateDate"`
	UpdateDate                    string          `json:"UpdateDate"`
	PolicyVersionList             []PolicyVersion `json:"PolicyVersionList"`
}

// DefaultDocument returns the document of the default version (nil if none).
func (p *ManagedPolicy) DefaultDocument() *Document {
	for i := range p.PolicyVersionList {
		if p.PolicyVersionList[i].IsDefaultVersion {
			return &p.PolicyVersionList[i].Document
		}
	}
	return nil
}

// Encoding is how a policy document appears in the export.
type Encoding uint8

const (
	// EncObject is a JSON object (AWS CLI, boto3).
	EncObject Encoding = iota
	// EncURL is a URL-encoded JSON string (the IAM query API's form, seen in
	// some hand-rolled exporters).
	EncURL
	// EncString is a JSON string holding JSON text.
	EncString
)

// Document is a policy document plus the form it is written in.
type Document struct {
	Policy   *PolicyDoc
	Encoding Encoding
}

// PolicyDoc is an IAM policy document.
type PolicyDoc struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement; list fields hold a string or a []string as
// the JSON would.
type Statement struct {
	Sid          string                    `json:"Sid,omitempty"`
	Effect       string                    `json:"Effect"`
	Principal    map[string]any            `json:"Principal,omitempty"`
	NotPrincipal map[string]any            `json:"NotPrincipal,omitempty"`
	Action       any                       `json:"Action,omitempty"`
	NotAction    any                       `json:"NotAction,omitempty"`
	Resource     any                       `json:"Resource,omitempty"`
	NotResource  any                       `json:"NotResource,omitempty"`
	Condition    map[string]map[string]any `json:"Condition,omitempty"`
}

// Compact is the document as compact JSON text: what a collector stores
// after normalising any of the encodings.
func (d Document) Compact() string {
	b, err := json.Marshal(d.Policy)
	if err != nil {
		panic(err) // only strings, slices and maps of strings: cannot fail
	}
	return string(b)
}

// MarshalJSON writes the document in its encoding.
func (d Document) MarshalJSON() ([]byte, error) {
	switch d.Encoding {
	case EncURL:
		return json.Marshal(urlEncode(d.Compact()))
	case EncString:
		return json.Marshal(d.Compact())
	}
	return json.Marshal(d.Policy)
}

// urlEncode percent-encodes like Python's urllib.parse.quote(s, safe=""),
// which is how the IAM query API's documents look.
func urlEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// one returns a single string as a string (as IAM authors usually write it)
// and several as a list.
func one(list ...string) any {
	if len(list) == 1 {
		return list[0]
	}
	return list
}
