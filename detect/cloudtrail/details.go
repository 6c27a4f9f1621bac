package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"permgraph/detect/event"
)

// maxDetail caps one Details value (commands can be long).
const maxDetail = 1024

func set(ev *event.Event, k, v string) {
	if len(v) > maxDetail {
		v = v[:maxDetail]
	}
	ev.SetDetail(k, v)
}

// params is the union of the requestParameters fields the rules use.
// Unknown fields are ignored by encoding/json.
type params struct {
	// IAM
	GroupName           string `json:"groupName"`
	UserName            string `json:"userName"`
	RoleName            string `json:"roleName"`
	PolicyArn           string `json:"policyArn"`
	PolicyName          string `json:"policyName"`
	PermissionsBoundary string `json:"permissionsBoundary"`
	SetAsDefault        *bool  `json:"setAsDefault"`
	PolicySourceArn     string `json:"policySourceArn"`
	// STS
	RoleArn         string `json:"roleArn"`
	RoleSessionName string `json:"roleSessionName"`
	SourceIdentity  string `json:"sourceIdentity"`
	PrincipalArn    string `json:"principalArn"`
	Name            string `json:"name"`
	// Identity store / SSO
	GroupID  string `json:"groupId"`
	MemberID struct {
		UserID string `json:"userId"`
	} `json:"memberId"`
	PermissionSetArn string `json:"permissionSetArn"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType"`
	TargetID         string `json:"targetId"`
	// EKS
	ClusterName         string   `json:"clusterName"`
	KubernetesGroups    []string `json:"kubernetesGroups"`
	Username            string   `json:"username"`
	NodeRole            string   `json:"nodeRole"`
	PodExecutionRoleArn string   `json:"podExecutionRoleArn"`
	NodegroupName       string   `json:"nodegroupName"`
	// ECS
	Cluster              string          `json:"cluster"`
	TaskDefinition       string          `json:"taskDefinition"`
	LaunchType           string          `json:"launchType"`
	Count                *int            `json:"count"`
	Service              string          `json:"service"`
	ServiceName          string          `json:"serviceName"`
	Task                 string          `json:"task"`
	Container            string          `json:"container"`
	Command              json.RawMessage `json:"command"`
	Family               string          `json:"family"`
	TaskRoleArn          string          `json:"taskRoleArn"`
	ExecutionRoleArn     string          `json:"executionRoleArn"`
	PidMode              string          `json:"pidMode"`
	NetworkMode          string          `json:"networkMode"`
	CPU                  json.RawMessage `json:"cpu"`
	ContainerDefinitions []containerDef  `json:"containerDefinitions"`
	Volumes              []struct {
		Host struct {
			SourcePath string `json:"sourcePath"`
		} `json:"host"`
	} `json:"volumes"`
	Overrides struct {
		TaskRoleArn        string         `json:"taskRoleArn"`
		ExecutionRoleArn   string         `json:"executionRoleArn"`
		ContainerOverrides []containerDef `json:"containerOverrides"`
	} `json:"overrides"`
	// Lambda
	FunctionName json.RawMessage `json:"functionName"`
	Role         string          `json:"role"`
	PackageType  string          `json:"packageType"`
	Code         struct {
		ImageURI string `json:"imageUri"`
	} `json:"code"`
	ImageURI string `json:"imageUri"`
	// App Runner
	ServiceArn          string `json:"serviceArn"`
	SourceConfiguration struct {
		ImageRepository struct {
			ImageIdentifier string `json:"imageIdentifier"`
		} `json:"imageRepository"`
		AuthenticationConfiguration struct {
			AccessRoleArn string `json:"accessRoleArn"`
		} `json:"authenticationConfiguration"`
	} `json:"sourceConfiguration"`
	InstanceConfiguration struct {
		InstanceRoleArn string `json:"instanceRoleArn"`
	} `json:"instanceConfiguration"`
	// Batch
	JobDefinitionName   string       `json:"jobDefinitionName"`
	JobDefinition       string       `json:"jobDefinition"`
	JobQueue            string       `json:"jobQueue"`
	ContainerProperties containerDef `json:"containerProperties"`
	ContainerOverrides  containerDef `json:"containerOverrides"`
	// SSM
	Target       string   `json:"target"`
	DocumentName string   `json:"documentName"`
	InstanceIDs  []string `json:"instanceIds"`
	Parameters   struct {
		Commands []string `json:"commands"`
	} `json:"parameters"`
}

type containerDef struct {
	Name       string          `json:"name"`
	Image      string          `json:"image"`
	Privileged *bool           `json:"privileged"`
	Command    json.RawMessage `json:"command"`
	EntryPoint json.RawMessage `json:"entryPoint"`
	JobRoleArn string          `json:"jobRoleArn"`
	Linux      struct {
		Capabilities struct {
			Add []string `json:"add"`
		} `json:"capabilities"`
	} `json:"linuxParameters"`
}

// response is the union of responseElements fields the rules use.
type response struct {
	AssumedRoleUser struct {
		Arn string `json:"arn"`
	} `json:"assumedRoleUser"`
	Credentials struct {
		AccessKeyID string `json:"accessKeyId"`
	} `json:"credentials"`
	SubjectFromWebIdentityToken string `json:"subjectFromWebIdentityToken"`
	Provider                    string `json:"provider"`
	FederatedUser               struct {
		Arn string `json:"arn"`
	} `json:"federatedUser"`
	TaskDefinition struct {
		TaskDefinitionArn string `json:"taskDefinitionArn"`
	} `json:"taskDefinition"`
	Subject struct {
		Namespace      string `json:"namespace"`
		ServiceAccount string `json:"serviceAccount"`
	} `json:"subject"`
}

// hasControl reports whether raw holds a byte below 0x20.
func hasControl(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func decodeOptional(raw []byte, v any) error {
	if len(raw) == 0 || raw[0] != '{' {
		return nil // null, absent, or (rarely) a string: nothing to extract
	}
	if err := json.Unmarshal(raw, v); err != nil {
		// A field of an unexpected type must not lose the event: details are
		// best effort. Syntax errors were already caught by the scanner.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return err
		}
	}
	return nil
}

// detailScratch is the decoding space of addDetails, reused from record to
// record: params is over a kilobyte, and decoding into a fresh one put it
// on the heap for every rule-relevant call.
type detailScratch struct {
	p    params
	resp response
}

// addDetails fills Details (and Resource) for rule-relevant calls, decoding
// into sc.
func addDetails(ev *event.Event, name string, reqRaw, respRaw []byte, sc *detailScratch) error {
	*sc = detailScratch{}
	p, resp := &sc.p, &sc.resp
	// Decode only what the switch below reads (a RunTask response lists
	// every task started). On JSON the scanner has validated, decoding
	// fails only with type errors, which are ignored, or on a raw control
	// character in a string, which the scanner accepts: a part holding
	// any control byte is still decoded, so that such a record stays
	// malformed.
	readsReq, readsResp := true, false
	switch ev.Service {
	case "sts.amazonaws.com", "eks-auth.amazonaws.com":
		readsResp = true
	case "ecs.amazonaws.com":
		readsResp = name == "RegisterTaskDefinition"
	case "iam.amazonaws.com", "identitystore.amazonaws.com", "sso-directory.amazonaws.com", "sso.amazonaws.com",
		"eks.amazonaws.com", "lambda.amazonaws.com", "apprunner.amazonaws.com", "batch.amazonaws.com", "ssm.amazonaws.com":
	default:
		readsReq = false
	}
	if readsReq || hasControl(reqRaw) {
		if err := decodeOptional(reqRaw, p); err != nil {
			return fmt.Errorf("cloudtrail: decode requestParameters of %s: %w", name, err)
		}
	}
	if readsResp || hasControl(respRaw) {
		if err := decodeOptional(respRaw, resp); err != nil {
			return fmt.Errorf("cloudtrail: decode responseElements of %s: %w", name, err)
		}
	}
	switch ev.Service {
	case "iam.amazonaws.com":
		iamDetails(ev, name, p)
	case "sts.amazonaws.com", "eks-auth.amazonaws.com":
		set(ev, "role", first(p.RoleArn, p.PrincipalArn))
		set(ev, "sessionName", p.RoleSessionName)
		set(ev, "requestedSourceIdentity", p.SourceIdentity)
		set(ev, "assumedRoleArn", first(resp.AssumedRoleUser.Arn, resp.FederatedUser.Arn))
		set(ev, "newAccessKeyId", resp.Credentials.AccessKeyID)
		set(ev, "webIdentitySubject", resp.SubjectFromWebIdentityToken)
		set(ev, "webIdentityProvider", resp.Provider)
		set(ev, "cluster", p.ClusterName)
		if resp.Subject.ServiceAccount != "" {
			set(ev, "serviceAccount", resp.Subject.Namespace+"/"+resp.Subject.ServiceAccount)
		}
		ev.Resource = first(p.RoleArn, p.Name)
	case "identitystore.amazonaws.com", "sso-directory.amazonaws.com":
		set(ev, "group", p.GroupID)
		set(ev, "member", p.MemberID.UserID)
		ev.Resource = p.GroupID
	case "sso.amazonaws.com":
		set(ev, "role", p.PermissionSetArn)
		set(ev, "member", p.PrincipalID)
		set(ev, "principalType", p.PrincipalType)
		set(ev, "targetAccount", p.TargetID)
		ev.Resource = p.PermissionSetArn
	case "eks.amazonaws.com":
		set(ev, "cluster", first(p.ClusterName, p.Name))
		set(ev, "member", p.PrincipalArn)
		set(ev, "policy", p.PolicyArn)
		set(ev, "kubernetesGroups", strings.Join(p.KubernetesGroups, ","))
		set(ev, "username", p.Username)
		set(ev, "role", first(p.RoleArn, p.NodeRole, p.PodExecutionRoleArn))
		ev.Resource = first(p.PrincipalArn, p.NodegroupName, p.ClusterName, p.Name)
	case "ecs.amazonaws.com":
		ecsDetails(ev, name, p, resp)
	case "lambda.amazonaws.com":
		fn := text(p.FunctionName)
		set(ev, "function", fn)
		set(ev, "role", p.Role)
		set(ev, "packageType", p.PackageType)
		set(ev, "image", first(p.Code.ImageURI, p.ImageURI))
		ev.Resource = fn
	case "apprunner.amazonaws.com":
		set(ev, "image", p.SourceConfiguration.ImageRepository.ImageIdentifier)
		set(ev, "role", p.InstanceConfiguration.InstanceRoleArn)
		set(ev, "accessRole", p.SourceConfiguration.AuthenticationConfiguration.AccessRoleArn)
		ev.Resource = first(p.ServiceArn, p.ServiceName)
	case "batch.amazonaws.com":
		cp := p.ContainerProperties
		set(ev, "image", cp.Image)
		set(ev, "role", cp.JobRoleArn)
		if cp.Privileged != nil && *cp.Privileged {
			set(ev, "privileged", "true")
		}
		set(ev, "command", first(command(cp.Command), command(p.ContainerOverrides.Command)))
		set(ev, "jobQueue", p.JobQueue)
		ev.Resource = first(p.JobDefinitionName, p.JobDefinition)
	case "ssm.amazonaws.com":
		set(ev, "document", p.DocumentName)
		set(ev, "command", strings.Join(p.Parameters.Commands, "; "))
		ev.Resource = first(p.Target, strings.Join(p.InstanceIDs, ","))
	}
	return nil
}

func iamDetails(ev *event.Event, name string, p *params) {
	switch name {
	case "AddUserToGroup", "RemoveUserFromGroup":
		set(ev, "group", p.GroupName)
		set(ev, "member", p.UserName)
		ev.Resource = p.GroupName
		return
	case "GetUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "CreateServiceSpecificCredential", "UploadSSHPublicKey":
		if p.UserName == "" {
			// No userName: the call acts on the caller itself.
			set(ev, "self", "true")
			if name == "GetUser" {
				ev.Class = event.SelfProbe
			}
		}
		set(ev, "member", p.UserName)
		ev.Resource = p.UserName
		return
	case "SimulatePrincipalPolicy":
		set(ev, "policySource", p.PolicySourceArn)
		if p.PolicySourceArn != "" && (p.PolicySourceArn == ev.Actor.Raw || p.PolicySourceArn == ev.Actor.SessionIssuer) {
			set(ev, "self", "true")
		}
		ev.Resource = p.PolicySourceArn
		return
	}
	set(ev, "policy", first(p.PolicyArn, p.PermissionsBoundary, p.PolicyName))
	if p.SetAsDefault != nil {
		set(ev, "setAsDefault", strconv.FormatBool(*p.SetAsDefault))
	}
	switch {
	case p.GroupName != "":
		set(ev, "group", p.GroupName)
	case p.UserName != "":
		set(ev, "member", p.UserName)
	case p.RoleName != "":
		set(ev, "roleName", p.RoleName)
	}
	ev.Resource = first(p.PolicyArn, p.GroupName, p.UserName, p.RoleName)
}

func ecsDetails(ev *event.Event, name string, p *params, resp *response) {
	set(ev, "cluster", p.Cluster)
	set(ev, "taskDefinition", p.TaskDefinition)
	set(ev, "launchType", p.LaunchType)
	switch name {
	case "RunTask", "StartTask":
		if r := p.Overrides.TaskRoleArn; r != "" {
			set(ev, "taskRoleOverride", r)
			set(ev, "role", r)
		}
		set(ev, "executionRoleOverride", p.Overrides.ExecutionRoleArn)
		for _, c := range p.Overrides.ContainerOverrides {
			if cmd := command(c.Command); cmd != "" {
				set(ev, "command", cmd)
				break
			}
		}
		if p.Count != nil {
			set(ev, "count", strconv.Itoa(*p.Count))
		}
		ev.Resource = p.TaskDefinition
	case "CreateService", "UpdateService", "CreateTaskSet", "DeleteService":
		set(ev, "service", first(p.ServiceName, p.Service))
		ev.Resource = first(p.ServiceName, p.Service)
	case "RegisterTaskDefinition":
		set(ev, "family", p.Family)
		set(ev, "role", p.TaskRoleArn)
		set(ev, "executionRole", p.ExecutionRoleArn)
		if p.PidMode == "host" {
			set(ev, "hostPID", "true")
		}
		if p.NetworkMode == "host" {
			set(ev, "hostNetwork", "true")
		}
		set(ev, "cpu", text(p.CPU))
		var images, caps, paths []string
		for _, c := range p.ContainerDefinitions {
			if c.Image != "" {
				images = append(images, c.Image)
			}
			if c.Privileged != nil && *c.Privileged {
				set(ev, "privileged", "true")
			}
			caps = append(caps, c.Linux.Capabilities.Add...)
			if ev.Details["command"] == "" {
				set(ev, "command", strings.TrimSpace(command(c.EntryPoint)+" "+command(c.Command)))
			}
		}
		for _, v := range p.Volumes {
			if v.Host.SourcePath != "" {
				paths = append(paths, v.Host.SourcePath)
			}
		}
		set(ev, "image", strings.Join(images, ","))
		set(ev, "capabilities", strings.Join(caps, ","))
		if len(paths) > 0 {
			set(ev, "hostPath", "true")
			set(ev, "hostPaths", strings.Join(paths, ","))
		}
		ev.Resource = first(resp.TaskDefinition.TaskDefinitionArn, p.Family)
	case "ExecuteCommand":
		set(ev, "task", p.Task)
		set(ev, "container", p.Container)
		set(ev, "command", text(p.Command))
		ev.Resource = p.Task
	case "StopTask":
		ev.Resource = p.Task
	case "DeregisterTaskDefinition":
		ev.Resource = p.TaskDefinition
	}
}

// command renders a command that is logged either as a string or as a list.
func command(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '[' {
		var parts []string
		if json.Unmarshal(raw, &parts) == nil {
			return strings.Join(parts, " ")
		}
		return ""
	}
	return text(raw)
}

// text renders a raw JSON scalar (string or number) as a string.
func text(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	if raw[0] == '{' || raw[0] == '[' || string(raw) == "null" {
		return ""
	}
	return string(raw)
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
