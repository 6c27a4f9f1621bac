package awsiam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The gaad* types mirror the JSON shape of `aws iam
// get-account-authorization-details` (and boto3's dump of it). The live
// collector converts SDK pages into the same types, so one emitter maps both
// into graph nodes and edges.

// oneOrMany decodes a JSON array, or a single object where an array is
// expected (the AWS CLI's own documented GAAD example has one such list).
type oneOrMany[T any] []T

func (l *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var one T
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = oneOrMany[T]{one}
		return nil
	}
	var many []T
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

type gaadAttachedPolicy struct {
	PolicyName string `json:"PolicyName"`
	PolicyArn  string `json:"PolicyArn"`
}

type gaadInlinePolicy struct {
	PolicyName     string          `json:"PolicyName"`
	PolicyDocument json.RawMessage `json:"PolicyDocument"`
}

type gaadBoundary struct {
	PermissionsBoundaryType string `json:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `json:"PermissionsBoundaryArn"`
}

type gaadTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type gaadUser struct {
	Path                    string                        `json:"Path"`
	UserName                string                        `json:"UserName"`
	UserID                  string                        `json:"UserId"`
	Arn                     string                        `json:"Arn"`
	CreateDate              string                        `json:"CreateDate"`
	GroupList               []string                      `json:"GroupList"`
	AttachedManagedPolicies oneOrMany[gaadAttachedPolicy] `json:"AttachedManagedPolicies"`
	UserPolicyList          oneOrMany[gaadInlinePolicy]   `json:"UserPolicyList"`
	PermissionsBoundary     *gaadBoundary                 `json:"PermissionsBoundary"`
	Tags                    oneOrMany[gaadTag]            `json:"Tags"`
}

type gaadGroup struct {
	Path                    string                        `json:"Path"`
	GroupName               string                        `json:"GroupName"`
	GroupID                 string                        `json:"GroupId"`
	Arn                     string                        `json:"Arn"`
	CreateDate              string                        `json:"CreateDate"`
	GroupPolicyList         oneOrMany[gaadInlinePolicy]   `json:"GroupPolicyList"`
	AttachedManagedPolicies oneOrMany[gaadAttachedPolicy] `json:"AttachedManagedPolicies"`
}

type gaadRoleLastUsed struct {
	LastUsedDate string `json:"LastUsedDate"`
	Region       string `json:"Region"`
}

type gaadRole struct {
	Path                     string                        `json:"Path"`
	RoleName                 string                        `json:"RoleName"`
	RoleID                   string                        `json:"RoleId"`
	Arn                      string                        `json:"Arn"`
	CreateDate               string                        `json:"CreateDate"`
	AssumeRolePolicyDocument json.RawMessage               `json:"AssumeRolePolicyDocument"`
	RolePolicyList           oneOrMany[gaadInlinePolicy]   `json:"RolePolicyList"`
	AttachedManagedPolicies  oneOrMany[gaadAttachedPolicy] `json:"AttachedManagedPolicies"`
	PermissionsBoundary      *gaadBoundary                 `json:"PermissionsBoundary"`
	Tags                     oneOrMany[gaadTag]            `json:"Tags"`
	RoleLastUsed             *gaadRoleLastUsed             `json:"RoleLastUsed"`
}

type gaadPolicyVersion struct {
	Document         json.RawMessage `json:"Document"`
	VersionID        string          `json:"VersionId"`
	IsDefaultVersion bool            `json:"IsDefaultVersion"`
	CreateDate       string          `json:"CreateDate"`
}

type gaadPolicy struct {
	PolicyName        string                       `json:"PolicyName"`
	PolicyID          string                       `json:"PolicyId"`
	Arn               string                       `json:"Arn"`
	Path              string                       `json:"Path"`
	DefaultVersionID  string                       `json:"DefaultVersionId"`
	AttachmentCount   int                          `json:"AttachmentCount"`
	IsAttachable      bool                         `json:"IsAttachable"`
	CreateDate        string                       `json:"CreateDate"`
	UpdateDate        string                       `json:"UpdateDate"`
	PolicyVersionList oneOrMany[gaadPolicyVersion] `json:"PolicyVersionList"`
}

// normalizeDocument turns a policy document as found in an export or API
// response (a JSON object, a JSON string holding JSON, or a URL-encoded JSON
// string as the IAM query API returns it) into compact JSON text.
func normalizeDocument(raw json.RawMessage) (string, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var text string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", fmt.Errorf("policy document string: %w", err)
		}
		return normalizeDocumentString(text)
	}
	if raw[0] != '{' {
		return "", fmt.Errorf("policy document is neither an object nor a string")
	}
	return compactJSON([]byte(raw))
}

// normalizeDocumentString handles the string forms: URL-encoded (IAM query
// API, some exports) or plain JSON text.
func normalizeDocumentString(text string) (string, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return "", nil
	}
	if !strings.HasPrefix(t, "{") {
		dec, err := url.PathUnescape(t)
		if err != nil {
			return "", fmt.Errorf("policy document is not JSON and not URL-encoded: %w", err)
		}
		t = strings.TrimSpace(dec)
	}
	if !strings.HasPrefix(t, "{") {
		return "", fmt.Errorf("policy document does not start with '{'")
	}
	return compactJSON([]byte(t))
}

func compactJSON(b []byte) (string, error) {
	var buf bytes.Buffer
	buf.Grow(len(b))
	if err := json.Compact(&buf, b); err != nil {
		return "", fmt.Errorf("policy document: %w", err)
	}
	return buf.String(), nil
}

// normalizeDate accepts ISO-8601 ("2019-12-18T19:10:08Z", "+00:00" offsets)
// and boto3's str(datetime) style ("2019-12-18 19:10:08+00:00") and returns
// RFC 3339 in UTC; unknown shapes are kept verbatim rather than dropped.
func normalizeDate(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05.999999Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return s
}
