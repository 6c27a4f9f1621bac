// Package event is the normalized audit-event model shared by the log readers
// (detect/read and the per-format packages) and the detection rules.
//
// It is deliberately small and stable: readers fill it, rules read it. Anything
// format specific that a rule needs goes into Details under a documented key
// (docs/detect-formats.md).
package event

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnrecognized is returned (wrapped) by a format parser when a record is
// valid JSON but not a record of that format. Readers count such records as
// Unknown; any other parse error counts as Malformed.
var ErrUnrecognized = errors.New("record not recognized")

// Class is what an event means for the detection rules. It is a closed enum.
type Class uint8

const (
	// Other is any recognized event the rules do not classify.
	Other Class = iota
	// DiscoveryGroup lists or reads groups, group members or memberships.
	DiscoveryGroup
	// DiscoveryPermission lists or reads policies, roles, role assignments,
	// IAM policies or RBAC objects.
	DiscoveryPermission
	// SelfProbe enumerates the caller's own identity or effective permissions
	// (GetAccountAuthorizationDetails, SimulatePrincipalPolicy,
	// testIamPermissions, SelfSubjectRulesReview, Graph /me/memberOf ...).
	SelfProbe
	// Deploy creates or updates a container workload (or the cluster /
	// node pool that runs workloads, marked Details["controlPlane"]="true").
	Deploy
	// Exec runs a command in an existing workload (exec, attach,
	// run-command, ECS ExecuteCommand, SSM, ephemeral containers).
	Exec
	// Grant changes a membership or a permission (add or remove; removals
	// carry Details["op"]="remove").
	Grant
	// Identity obtains or mints credentials for an identity: role assumption,
	// federation tokens, impersonation tokens, access keys, SA keys.
	Identity
	// Delete deletes a workload.
	Delete

	classCount // keep last
)

// Classes returns every class in enum order.
func Classes() []Class {
	out := make([]Class, 0, classCount)
	for c := range classCount {
		out = append(out, c)
	}
	return out
}

// String returns the snake_case name used in output and rule files.
func (c Class) String() string {
	switch c {
	case Other:
		return "other"
	case DiscoveryGroup:
		return "discovery_group"
	case DiscoveryPermission:
		return "discovery_permission"
	case SelfProbe:
		return "self_probe"
	case Deploy:
		return "deploy"
	case Exec:
		return "exec"
	case Grant:
		return "grant"
	case Identity:
		return "identity"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// ParseClass is the inverse of String.
func ParseClass(s string) (Class, error) {
	for c := range classCount {
		if c.String() == s {
			return c, nil
		}
	}
	return Other, fmt.Errorf("parse class %q: unknown class", s)
}

// MarshalText implements encoding.TextMarshaler.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Class) UnmarshalText(b []byte) error {
	v, err := ParseClass(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Outcome is the result of the logged request. The zero value is Unknown so
// that a reader that cannot tell never claims success.
type Outcome uint8

const (
	// Unknown: not logged yet (request received, operation started) or not
	// derivable.
	Unknown Outcome = iota
	// Success: the request was accepted.
	Success
	// Denied: refused by authorization (AccessDenied, 403, PERMISSION_DENIED).
	Denied
	// Failed: any other error.
	Failed

	outcomeCount
)

// String returns the lower-case name.
func (o Outcome) String() string {
	switch o {
	case Unknown:
		return "unknown"
	case Success:
		return "success"
	case Denied:
		return "denied"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// ParseOutcome is the inverse of String.
func ParseOutcome(s string) (Outcome, error) {
	for o := range outcomeCount {
		if o.String() == s {
			return o, nil
		}
	}
	return Unknown, fmt.Errorf("parse outcome %q: unknown outcome", s)
}

// MarshalText implements encoding.TextMarshaler.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Outcome) UnmarshalText(b []byte) error {
	v, err := ParseOutcome(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Actor is who made the request, as logged. Resolution to a graph node is the
// rules' job; readers only copy and split what the log says.
type Actor struct {
	// Raw is the principal as logged: ARN, email, UPN, object id, k8s username.
	Raw string `json:"raw,omitempty"`
	// Type is the principal type as logged (IAMUser, AssumedRole, AWSService,
	// Root, FederatedUser, WebIdentityUser / user / serviceAccount / app ...).
	Type string `json:"type,omitempty"`
	// Account is the AWS account / Entra tenant / GCP project or customer of
	// the actor, when known.
	Account string `json:"account,omitempty"`
	// ID is a stable id if logged: principalId, oid, k8s uid.
	ID string `json:"id,omitempty"`
	// SessionName is the role session name (AWS, EKS).
	SessionName string `json:"sessionName,omitempty"`
	// AccessKeyID is the AWS access key, or the GCP service-account key name.
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// SessionIssuer is the role (with its path) behind an AWS session:
	// userIdentity.sessionContext.sessionIssuer.arn.
	SessionIssuer string `json:"sessionIssuer,omitempty"`
	// Impersonator is the original principal when the request was made
	// through impersonation: the k8s authenticated user behind
	// impersonatedUser, or the first principal of a GCP delegation chain.
	Impersonator string `json:"impersonator,omitempty"`
	// CanonicalARN is the IAM role ARN behind an EKS user (user.extra.canonicalArn).
	CanonicalARN string `json:"canonicalArn,omitempty"`
	UserAgent    string `json:"userAgent,omitempty"`
	SourceIP     string `json:"sourceIp,omitempty"`
}

// Event is one normalized audit record (or, for Google Workspace, one entry of
// an activity's events[] list).
type Event struct {
	Time time.Time `json:"time"`
	// Format is the log format: cloudtrail, azure-activity, graph-activity,
	// entra-audit, gcp-audit, workspace, k8s-audit.
	Format string `json:"format"`
	// Cloud is aws, azure, gcp, k8s or google-workspace.
	Cloud string `json:"cloud"`
	// ID is the record id as logged (eventID, insertId, auditID ...). It is
	// not unique across the stages of one request; see docs/detect-formats.md.
	ID string `json:"id,omitempty"`
	// Service and Action name the call, e.g. "ecs.amazonaws.com" + "RunTask";
	// "Microsoft.ContainerInstance" + "Microsoft.ContainerInstance/containerGroups/write";
	// "k8s" + "create pods".
	Service   string  `json:"service,omitempty"`
	Action    string  `json:"action"`
	Class     Class   `json:"class"`
	Outcome   Outcome `json:"outcome"`
	ErrorCode string  `json:"errorCode,omitempty"`
	Actor     Actor   `json:"actor"`
	// Scope is the AWS account (recipientAccountId), Azure subscription or
	// Entra tenant, GCP project, Workspace customer or k8s cluster, if known.
	Scope  string `json:"scope,omitempty"`
	Region string `json:"region,omitempty"`
	// Resource is the object acted on.
	Resource string `json:"resource,omitempty"`
	// Details holds small normalized extras for rules; keys are documented in
	// docs/detect-formats.md. Nil when there is nothing to say.
	Details map[string]string `json:"details,omitempty"`
	Ref     Ref               `json:"ref"`
}

// Detail returns Details[k] (empty when absent).
func (e *Event) Detail(k string) string { return e.Details[k] }

// SetDetail sets Details[k] = v, allocating the map on first use. Empty
// values are not stored.
func (e *Event) SetDetail(k, v string) {
	if v == "" {
		return
	}
	if e.Details == nil {
		e.Details = make(map[string]string, 4)
	}
	e.Details[k] = v
}

// Ref says where an event came from.
type Ref struct {
	File string `json:"file,omitempty"`
	// Line is the 1-based line on which the record starts (JSON lines and
	// JSON documents alike), 0 when unknown.
	Line int64 `json:"line,omitempty"`
	// Index is the 0-based position of the record inside its JSON document
	// (array element or container element); 0 for a plain JSON line.
	Index int `json:"index,omitempty"`
}
