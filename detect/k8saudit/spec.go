package k8saudit

import (
	"fmt"
	"strings"

	"permgraph/detect/event"
)

type securityContext struct {
	Privileged               *bool         `json:"privileged"`
	AllowPrivilegeEscalation *bool         `json:"allowPrivilegeEscalation"`
	Capabilities             *capabilities `json:"capabilities"`
}

type capabilities struct {
	Add []string `json:"add"`
}

type container struct {
	Name            string           `json:"name"`
	Image           string           `json:"image"`
	Command         []string         `json:"command"`
	Args            []string         `json:"args"`
	SecurityContext *securityContext `json:"securityContext"`
}

type volume struct {
	HostPath *hostPathSource `json:"hostPath"`
}

type hostPathSource struct {
	Path string `json:"path"`
}

// PodSpec is the part of a pod spec the rules look at.
type PodSpec struct {
	ServiceAccountName  string      `json:"serviceAccountName"`
	ServiceAccount      string      `json:"serviceAccount"`
	HostNetwork         bool        `json:"hostNetwork"`
	HostPID             bool        `json:"hostPID"`
	HostIPC             bool        `json:"hostIPC"`
	Containers          []container `json:"containers"`
	InitContainers      []container `json:"initContainers"`
	EphemeralContainers []container `json:"ephemeralContainers"`
	Volumes             []volume    `json:"volumes"`
}

// The request object as ObjectDetails reads it (the fields of the
// encoding/json structs it was decoded into before, see reference_test.go).
type object struct {
	OwnerReferences []ownerRef // metadata.ownerReferences
	BreakGlass      string     // metadata.annotations["image-policy.k8s.io/break-glass"]
	Spec            *specWrap
	RoleRef         *roleRef
	Subjects        []subject
	Rules           []policyRule
}

type ownerRef struct{ Kind, Name string }

type specWrap struct {
	PodSpec
	Template    *podTemplate
	JobTemplate *jobTemplate
}

type podTemplate struct{ Spec *PodSpec }

type jobTemplate struct{ Spec *jobSpec }

type jobSpec struct{ Template *podTemplate }

type roleRef struct{ Kind, Name string }

type subject struct{ Kind, Name, Namespace string }

type policyRule struct{ Verbs, Resources, APIGroups []string }

// ObjectDetails adds the rule-relevant fields of a request object to
// ev.Details: the pod spec flags of pods and workloads (image, privileged,
// allowPrivilegeEscalation, capabilities, hostPath="true" with the paths in
// hostPaths, hostNetwork, hostPID, hostIPC, serviceAccount, command, ownerKind), RBAC binding role and
// subjects (role, member), and wildcard rules of roles. Fields of an
// unexpected type are ignored (best effort); invalid JSON is an error.
func ObjectDetails(ev *event.Event, resource, subresource string, raw []byte) error {
	var o object
	if err := o.decode(raw, resource, subresource); err != nil {
		return fmt.Errorf("decode %s object: %w", resource, err)
	}
	if len(o.OwnerReferences) > 0 {
		ev.SetDetail("ownerKind", o.OwnerReferences[0].Kind)
		ev.SetDetail("ownerName", o.OwnerReferences[0].Name)
	}
	if o.BreakGlass == "true" {
		ev.SetDetail("breakGlass", "true")
	}
	switch {
	case resource == "pods" && (subresource == "" || subresource == "ephemeralcontainers"):
		if o.Spec != nil {
			PodSpecDetails(ev, &o.Spec.PodSpec)
		}
	case isWorkload(resource):
		if o.Spec == nil {
			break
		}
		if t := o.Spec.Template; t != nil && t.Spec != nil {
			PodSpecDetails(ev, t.Spec)
		} else if jt := o.Spec.JobTemplate; jt != nil && jt.Spec != nil && jt.Spec.Template != nil && jt.Spec.Template.Spec != nil {
			PodSpecDetails(ev, jt.Spec.Template.Spec)
		}
	case resource == "rolebindings" || resource == "clusterrolebindings":
		if o.RoleRef != nil && o.RoleRef.Name != "" {
			ev.SetDetail("role", o.RoleRef.Kind+"/"+o.RoleRef.Name)
		}
		subs := make([]string, 0, len(o.Subjects))
		for _, s := range o.Subjects {
			n := s.Name
			if s.Namespace != "" {
				n = s.Namespace + "/" + n
			}
			subs = append(subs, s.Kind+":"+n)
		}
		ev.SetDetail("member", strings.Join(subs, ","))
	case resource == "roles" || resource == "clusterroles":
		for _, r := range o.Rules {
			for _, list := range [][]string{r.Verbs, r.Resources, r.APIGroups} {
				for _, v := range list {
					if v == "*" {
						ev.SetDetail("wildcard", "true")
					}
				}
			}
		}
	}
	return nil
}

// PodSpecDetails adds the flags of one pod spec to ev.Details.
func PodSpecDetails(ev *event.Event, s *PodSpec) {
	var images, caps, paths []string
	cmd := ""
	for _, list := range [][]container{s.InitContainers, s.Containers, s.EphemeralContainers} {
		for _, c := range list {
			if c.Image != "" {
				images = append(images, c.Image)
			}
			if cmd == "" {
				cmd = strings.TrimSpace(strings.Join(c.Command, " ") + " " + strings.Join(c.Args, " "))
			}
			sc := c.SecurityContext
			if sc == nil {
				continue
			}
			if sc.Privileged != nil && *sc.Privileged {
				ev.SetDetail("privileged", "true")
			}
			if sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
				ev.SetDetail("allowPrivilegeEscalation", "true")
			}
			if sc.Capabilities != nil {
				caps = append(caps, sc.Capabilities.Add...)
			}
		}
	}
	for _, v := range s.Volumes {
		if v.HostPath != nil && v.HostPath.Path != "" {
			paths = append(paths, v.HostPath.Path)
		}
	}
	if s.HostNetwork {
		ev.SetDetail("hostNetwork", "true")
	}
	if s.HostPID {
		ev.SetDetail("hostPID", "true")
	}
	if s.HostIPC {
		ev.SetDetail("hostIPC", "true")
	}
	ev.SetDetail("image", strings.Join(images, ","))
	ev.SetDetail("capabilities", strings.Join(caps, ","))
	if len(paths) > 0 {
		ev.SetDetail("hostPath", "true")
		ev.SetDetail("hostPaths", strings.Join(paths, ","))
	}
	sa := s.ServiceAccountName
	if sa == "" {
		sa = s.ServiceAccount
	}
	ev.SetDetail("serviceAccount", sa)
	if len(cmd) > 1024 {
		cmd = cmd[:1024]
	}
	ev.SetDetail("command", cmd)
}
