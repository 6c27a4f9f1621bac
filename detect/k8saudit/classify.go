package k8saudit

import "permgraph/detect/event"

// Classification is what Classify says about one request.
type Classification struct {
	Class   event.Class
	Surface string // "k8s" for Deploy, Exec and Delete
	Remove  bool   // Grant-class removal (RBAC object deleted)
}

// LongRunning reports the subresources whose audit events are complete at
// stage ResponseStarted (the stream stays open).
func LongRunning(resource, subresource string) bool {
	if resource != "pods" {
		return false
	}
	switch subresource {
	case "exec", "attach", "portforward":
		return true
	}
	return false
}

func isWorkload(resource string) bool {
	switch resource {
	case "deployments", "daemonsets", "statefulsets", "replicasets", "jobs", "cronjobs", "replicationcontrollers":
		return true
	}
	return false
}

func isRBAC(resource string) bool {
	switch resource {
	case "roles", "rolebindings", "clusterroles", "clusterrolebindings":
		return true
	}
	return false
}

// Classify maps a request to its class, following DETECTIONS.md §1.4.
// Stage handling (one stage per request carries the class) is done by
// ParseEvent.
func Classify(verb, resource, subresource, namespace, name string) Classification {
	k8s := func(c event.Class) Classification { return Classification{Class: c, Surface: "k8s"} }
	switch {
	case resource == "pods" && (subresource == "exec" || subresource == "attach" || subresource == "portforward"):
		if verb == "create" || verb == "get" {
			return k8s(event.Exec)
		}
	case resource == "pods" && subresource == "ephemeralcontainers":
		if verb == "update" || verb == "patch" {
			return k8s(event.Exec)
		}
	case subresource != "":
		if resource == "serviceaccounts" && subresource == "token" && verb == "create" {
			return Classification{Class: event.Identity}
		}
	case resource == "selfsubjectrulesreviews", resource == "selfsubjectaccessreviews", resource == "selfsubjectreviews":
		if verb == "create" {
			return Classification{Class: event.SelfProbe}
		}
	case resource == "subjectaccessreviews", resource == "localsubjectaccessreviews":
		if verb == "create" {
			return Classification{Class: event.DiscoveryPermission}
		}
	case isRBAC(resource):
		switch verb {
		case "get", "list", "watch":
			return Classification{Class: event.DiscoveryPermission}
		case "create", "update", "patch":
			return Classification{Class: event.Grant}
		case "delete", "deletecollection":
			return Classification{Class: event.Grant, Remove: true}
		}
	case resource == "configmaps" && namespace == "kube-system" && name == "aws-auth":
		switch verb {
		case "create", "update", "patch":
			return Classification{Class: event.Grant}
		case "delete":
			return Classification{Class: event.Grant, Remove: true}
		}
	case resource == "certificatesigningrequests" && verb == "create":
		return Classification{Class: event.Identity}
	case resource == "pods":
		switch verb {
		case "create":
			return k8s(event.Deploy)
		case "delete", "deletecollection":
			return k8s(event.Delete)
		}
	case isWorkload(resource):
		switch verb {
		case "create", "update", "patch":
			return k8s(event.Deploy)
		case "delete", "deletecollection":
			return k8s(event.Delete)
		}
	}
	return Classification{}
}
