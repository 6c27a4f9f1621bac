package k8saudit

import (
	"errors"

	"permgraph/detect/internal/jsonscan"
)

// Decoding of request objects with the semantics of the encoding/json
// decoder ObjectDetails used before (see decode.go): a value of the wrong
// type leaves the field as it was (type errors are ignored here), null clears
// pointers and slices, objects merge into what a repeated key decoded
// earlier, and slices reuse their earlier elements.

// walk calls f with each member of the object v; f reports whether the name
// is a field. A key that is not is matched case-insensitively against
// fields() and given to f under the field's name.
func walk(v []byte, fields func() []string, f func(name, v []byte) bool) error {
	it := jsonscan.NewMembers(v)
	for it.Next() {
		key, val := it.Key(), it.Value()
		if len(val) == 0 {
			break
		}
		if !f(key, val) {
			if n := foldField(key, fields()); n != "" {
				f([]byte(n), val)
			}
		}
	}
	return it.Err()
}

// decode reads the parts of the request object that ObjectDetails uses for
// resource; the rest is only validated.
func (o *object) decode(raw []byte, resource, subresource string) error {
	spec := (resource == "pods" && (subresource == "" || subresource == "ephemeralcontainers")) || isWorkload(resource)
	binding := resource == "rolebindings" || resource == "clusterrolebindings"
	role := resource == "roles" || resource == "clusterroles"
	fields := func() []string { return []string{"metadata", "spec", "roleRef", "subjects", "rules"} }
	err := walk(raw, fields, func(name, v []byte) bool {
		switch string(name) {
		case "metadata":
			if v[0] == '{' {
				o.metadata(v)
			}
		case "spec":
			if spec {
				setPtr(&o.Spec, v, (*specWrap).decode)
			}
		case "roleRef":
			if binding {
				setPtr(&o.RoleRef, v, func(r *roleRef, v []byte) {
					kindName(&r.Kind, &r.Name, v)
				})
			}
		case "subjects":
			if binding {
				setSlice(&o.Subjects, v, (*subject).decode)
			}
		case "rules":
			if role {
				setSlice(&o.Rules, v, (*policyRule).decode)
			}
		default:
			return false
		}
		return true
	})
	if errors.Is(err, jsonscan.ErrNotObject) {
		return nil // valid JSON of another type: nothing to read
	}
	return err
}

func (o *object) metadata(v []byte) {
	fields := func() []string { return []string{"ownerReferences", "annotations"} }
	_ = walk(v, fields, func(name, v []byte) bool {
		switch string(name) {
		case "ownerReferences":
			setSlice(&o.OwnerReferences, v, func(r *ownerRef, v []byte) {
				kindName(&r.Kind, &r.Name, v)
			})
		case "annotations":
			switch v[0] {
			case 'n':
				o.BreakGlass = ""
			case '{':
				it := jsonscan.NewMembers(v)
				for it.Next() {
					if string(it.Key()) == "image-policy.k8s.io/break-glass" {
						o.BreakGlass = "" // a map value is decoded into a fresh string
						setString(&o.BreakGlass, it.Value())
					}
				}
			}
		default:
			return false
		}
		return true
	})
}

// kindName reads a struct of kind and name strings.
func kindName(kind, name *string, v []byte) {
	if v[0] != '{' {
		return
	}
	fields := func() []string { return []string{"kind", "name"} }
	_ = walk(v, fields, func(n, v []byte) bool {
		switch string(n) {
		case "kind":
			setString(kind, v)
		case "name":
			setString(name, v)
		default:
			return false
		}
		return true
	})
}

func (s *subject) decode(v []byte) {
	if v[0] != '{' {
		return
	}
	fields := func() []string { return []string{"kind", "name", "namespace"} }
	_ = walk(v, fields, func(n, v []byte) bool {
		switch string(n) {
		case "kind":
			setString(&s.Kind, v)
		case "name":
			setString(&s.Name, v)
		case "namespace":
			setString(&s.Namespace, v)
		default:
			return false
		}
		return true
	})
}

func (r *policyRule) decode(v []byte) {
	if v[0] != '{' {
		return
	}
	fields := func() []string { return []string{"verbs", "resources", "apiGroups"} }
	_ = walk(v, fields, func(n, v []byte) bool {
		switch string(n) {
		case "verbs":
			setSlice(&r.Verbs, v, setString)
		case "resources":
			setSlice(&r.Resources, v, setString)
		case "apiGroups":
			setSlice(&r.APIGroups, v, setString)
		default:
			return false
		}
		return true
	})
}

func podSpecFields() []string {
	return []string{"serviceAccountName", "serviceAccount", "hostNetwork", "hostPID", "hostIPC", "containers",
		"initContainers", "ephemeralContainers", "volumes"}
}

// member reads one PodSpec member (false: not a PodSpec field).
func (s *PodSpec) member(name, v []byte) bool {
	switch string(name) {
	case "serviceAccountName":
		setString(&s.ServiceAccountName, v)
	case "serviceAccount":
		setString(&s.ServiceAccount, v)
	case "hostNetwork":
		setBool(&s.HostNetwork, v)
	case "hostPID":
		setBool(&s.HostPID, v)
	case "hostIPC":
		setBool(&s.HostIPC, v)
	case "containers":
		setSlice(&s.Containers, v, (*container).decode)
	case "initContainers":
		setSlice(&s.InitContainers, v, (*container).decode)
	case "ephemeralContainers":
		setSlice(&s.EphemeralContainers, v, (*container).decode)
	case "volumes":
		setSlice(&s.Volumes, v, func(vol *volume, v []byte) {
			if v[0] != '{' {
				return
			}
			fields := func() []string { return []string{"hostPath"} }
			_ = walk(v, fields, func(n, v []byte) bool {
				if string(n) != "hostPath" {
					return false
				}
				setPtr(&vol.HostPath, v, func(h *hostPathSource, v []byte) {
					if v[0] != '{' {
						return
					}
					fields := func() []string { return []string{"path"} }
					_ = walk(v, fields, func(n, v []byte) bool {
						if string(n) != "path" {
							return false
						}
						setString(&h.Path, v)
						return true
					})
				})
				return true
			})
		})
	default:
		return false
	}
	return true
}

func (s *PodSpec) decode(v []byte) {
	if v[0] == '{' {
		_ = walk(v, podSpecFields, s.member)
	}
}

// decode reads a workload's spec: the pod spec fields (embedded) and the pod
// templates of workloads and CronJobs.
func (s *specWrap) decode(v []byte) {
	if v[0] != '{' {
		return
	}
	fields := func() []string { return append(podSpecFields(), "template", "jobTemplate") }
	_ = walk(v, fields, func(n, v []byte) bool {
		switch string(n) {
		case "template":
			setPtr(&s.Template, v, (*podTemplate).decode)
		case "jobTemplate":
			setPtr(&s.JobTemplate, v, func(j *jobTemplate, v []byte) {
				if v[0] != '{' {
					return
				}
				fields := func() []string { return []string{"spec"} }
				_ = walk(v, fields, func(n, v []byte) bool {
					if string(n) != "spec" {
						return false
					}
					setPtr(&j.Spec, v, func(js *jobSpec, v []byte) {
						if v[0] != '{' {
							return
						}
						fields := func() []string { return []string{"template"} }
						_ = walk(v, fields, func(n, v []byte) bool {
							if string(n) != "template" {
								return false
							}
							setPtr(&js.Template, v, (*podTemplate).decode)
							return true
						})
					})
					return true
				})
			})
		default:
			return s.PodSpec.member(n, v)
		}
		return true
	})
}

func (t *podTemplate) decode(v []byte) {
	if v[0] != '{' {
		return
	}
	fields := func() []string { return []string{"spec"} }
	_ = walk(v, fields, func(n, v []byte) bool {
		if string(n) != "spec" {
			return false
		}
		setPtr(&t.Spec, v, (*PodSpec).decode)
		return true
	})
}

func containerFields() []string {
	return []string{"name", "image", "command", "args", "securityContext"}
}

func (c *container) decode(v []byte) {
	if v[0] != '{' {
		return
	}
	_ = walk(v, containerFields, func(n, v []byte) bool {
		switch string(n) {
		case "name":
			setString(&c.Name, v)
		case "image":
			setString(&c.Image, v)
		case "command":
			setSlice(&c.Command, v, setString)
		case "args":
			setSlice(&c.Args, v, setString)
		case "securityContext":
			setPtr(&c.SecurityContext, v, (*securityContext).decode)
		default:
			return false
		}
		return true
	})
}

func (sc *securityContext) decode(v []byte) {
	if v[0] != '{' {
		return
	}
	fields := func() []string { return []string{"privileged", "allowPrivilegeEscalation", "capabilities"} }
	_ = walk(v, fields, func(n, v []byte) bool {
		switch string(n) {
		case "privileged":
			setPtr(&sc.Privileged, v, setBool)
		case "allowPrivilegeEscalation":
			setPtr(&sc.AllowPrivilegeEscalation, v, setBool)
		case "capabilities":
			setPtr(&sc.Capabilities, v, func(c *capabilities, v []byte) {
				if v[0] != '{' {
					return
				}
				fields := func() []string { return []string{"add"} }
				_ = walk(v, fields, func(n, v []byte) bool {
					if string(n) != "add" {
						return false
					}
					setSlice(&c.Add, v, setString)
					return true
				})
			})
		default:
			return false
		}
		return true
	})
}

// setString applies a JSON value to a string: a string is decoded, anything
// else leaves it.
func setString(dst *string, v []byte) {
	if v[0] == '"' {
		*dst, _ = jsonscan.StdString(v)
	}
}

func setBool(dst *bool, v []byte) {
	switch v[0] {
	case 't':
		*dst = true
	case 'f':
		*dst = false
	}
}

// setPtr applies a JSON value to a pointer: null clears it, anything else
// allocates it if needed (even a value of the wrong type) and is applied to
// the target with f.
func setPtr[T any](dst **T, v []byte, f func(*T, []byte)) {
	if v[0] == 'n' {
		*dst = nil
		return
	}
	if *dst == nil {
		*dst = new(T)
	}
	f(*dst, v)
}

// setSlice applies a JSON value to a slice: null clears it, an array is
// decoded into the earlier elements (reused, not zeroed) and new zero ones,
// anything else leaves it.
func setSlice[T any](dst *[]T, v []byte, f func(*T, []byte)) {
	switch v[0] {
	case 'n':
		*dst = nil
		return
	case '[':
	default:
		return
	}
	s := *dst
	i := 0
	el := jsonscan.NewElements(v)
	for el.Next() {
		if i >= cap(s) {
			var zero T
			s = append(s[:i], zero)
		} else if i >= len(s) {
			s = s[:i+1]
		}
		f(&s[i], el.Value())
		i++
	}
	s = s[:i]
	if i == 0 {
		s = []T{}
	}
	*dst = s
}
