package gcpaudit

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"permgraph/detect/event"
)

// Classification is what Classify says about one (serviceName, methodName).
type Classification struct {
	Class        event.Class
	Surface      string // cloudrun, functions, gke, cloudbuild for Deploy/Delete
	ControlPlane bool   // cluster / node pool changes
	Remove       bool   // Grant-class removal
}

// Classify maps an audit method to its class, following DETECTIONS.md §1.3.
// Matching uses the service and the last segment of the method name, case
// insensitively, so v1/v2 API variants (google.cloud.run.v1.Services.
// CreateService, google.cloud.run.v2.Services.CreateService) share a line.
// GKE (k8s.io) entries are classified by detect/k8saudit instead.
func Classify(service, method string) Classification {
	last := strings.ToLower(method[strings.LastIndexByte(method, '.')+1:])
	switch last {
	case "setiampolicy":
		return Classification{Class: event.Grant}
	case "getiampolicy":
		return Classification{Class: event.DiscoveryPermission}
	case "testiampermissions":
		return Classification{Class: event.SelfProbe}
	}
	switch service {
	case "iam.googleapis.com":
		switch last {
		case "listroles", "getrole", "listserviceaccounts", "getserviceaccount", "querygrantableroles",
			"querytestablepermissions", "listserviceaccountkeys", "getserviceaccountkey":
			return Classification{Class: event.DiscoveryPermission}
		case "createrole", "updaterole", "undeleterole":
			return Classification{Class: event.Grant}
		case "deleterole":
			return Classification{Class: event.Grant, Remove: true}
		case "createserviceaccountkey", "uploadserviceaccountkey":
			return Classification{Class: event.Identity}
		}
	case "iamcredentials.googleapis.com":
		switch last {
		case "generateaccesstoken", "generateidtoken", "signjwt", "signblob":
			return Classification{Class: event.Identity}
		}
	case "sts.googleapis.com":
		if last == "exchangetoken" {
			return Classification{Class: event.Identity}
		}
	case "cloudasset.googleapis.com":
		switch last {
		case "searchalliampolicies", "analyzeiampolicy", "analyzeiampolicylongrunning", "batchgeteffectiveiampolicies":
			return Classification{Class: event.DiscoveryPermission}
		}
	case "cloudidentity.googleapis.com":
		switch {
		case last == "createmembership", last == "updatemembership", last == "modifymembershiproles":
			return Classification{Class: event.Grant}
		case last == "deletemembership":
			return Classification{Class: event.Grant, Remove: true}
		case strings.HasPrefix(last, "list"), strings.HasPrefix(last, "search"), strings.HasPrefix(last, "get"),
			strings.HasPrefix(last, "lookup"), last == "checktransitivemembership":
			return Classification{Class: event.DiscoveryGroup}
		}
	case "admin.googleapis.com":
		switch last {
		case "addgroupmember", "assignrole", "addprivilege":
			return Classification{Class: event.Grant}
		case "removegroupmember", "unassignrole":
			return Classification{Class: event.Grant, Remove: true}
		}
	case "run.googleapis.com":
		switch last {
		case "createservice", "replaceservice", "updateservice", "createjob", "replacejob", "updatejob", "runjob":
			return Classification{Class: event.Deploy, Surface: "cloudrun"}
		case "deleteservice", "deletejob":
			return Classification{Class: event.Delete, Surface: "cloudrun"}
		}
	case "cloudfunctions.googleapis.com":
		switch last {
		case "createfunction", "updatefunction":
			return Classification{Class: event.Deploy, Surface: "functions"}
		case "deletefunction":
			return Classification{Class: event.Delete, Surface: "functions"}
		}
	case "container.googleapis.com":
		switch last {
		case "createcluster", "createnodepool", "updatecluster", "updatenodepool":
			return Classification{Class: event.Deploy, Surface: "gke", ControlPlane: true}
		case "deletecluster", "deletenodepool":
			return Classification{Class: event.Delete, Surface: "gke", ControlPlane: true}
		}
	case "cloudbuild.googleapis.com":
		if last == "createbuild" {
			return Classification{Class: event.Deploy, Surface: "cloudbuild"}
		}
	}
	return Classification{}
}

// requestDetails extracts the rule-relevant request fields.
func requestDetails(ev *event.Event, p *auditLog, c *Classification) {
	switch c.Class {
	case event.Deploy:
		var req any
		if json.Unmarshal(p.Request, &req) != nil {
			return
		}
		var images, sas []string
		walk(req, "", func(key string, v any) {
			s, ok := v.(string)
			if !ok || s == "" {
				return
			}
			switch key {
			case "image":
				images = appendUnique(images, s)
			case "serviceAccountName", "serviceAccount", "serviceAccountEmail":
				sas = appendUnique(sas, s)
			}
		})
		ev.SetDetail("image", strings.Join(images, ","))
		ev.SetDetail("serviceAccount", strings.Join(sas, ","))
	case event.Grant:
		grantDetails(ev, p, c)
	case event.Identity:
		// projects/-/serviceAccounts/SA_EMAIL[/keys/...]: the SA whose
		// credentials were minted.
		if i := strings.Index(p.ResourceName, "serviceAccounts/"); i >= 0 {
			sa := p.ResourceName[i+len("serviceAccounts/"):]
			if j := strings.IndexByte(sa, '/'); j >= 0 {
				sa = sa[:j]
			}
			ev.SetDetail("serviceAccount", sa)
		}
	}
}

type bindingDelta struct {
	Action string `json:"action"`
	Role   string `json:"role"`
	Member string `json:"member"`
}

func grantDetails(ev *event.Event, p *auditLog, c *Classification) {
	var sd struct {
		PolicyDelta struct {
			BindingDeltas []bindingDelta `json:"bindingDeltas"`
		} `json:"policyDelta"`
	}
	_ = json.Unmarshal(p.ServiceData, &sd)
	deltas := sd.PolicyDelta.BindingDeltas
	if len(deltas) == 0 {
		// Some services log the delta in metadata.
		var md struct {
			DatasetChange struct {
				BindingDeltas []bindingDelta `json:"bindingDeltas"`
			} `json:"datasetChange"`
			BindingDeltas []bindingDelta `json:"bindingDeltas"`
		}
		if json.Unmarshal(p.Metadata, &md) == nil {
			deltas = append(md.BindingDeltas, md.DatasetChange.BindingDeltas...)
		}
	}
	if len(deltas) > 0 {
		var roles, members []string
		adds := 0
		for _, d := range deltas {
			if d.Action == "ADD" {
				adds++
			}
			roles = appendUnique(roles, d.Role)
			members = appendUnique(members, d.Member)
		}
		ev.SetDetail("role", strings.Join(roles, ","))
		ev.SetDetail("member", strings.Join(members, ","))
		if adds == 0 {
			ev.SetDetail("op", "remove")
		}
		return
	}
	var req struct {
		Policy struct {
			Bindings []struct {
				Role    string   `json:"role"`
				Members []string `json:"members"`
			} `json:"bindings"`
		} `json:"policy"`
		Parent     string `json:"parent"`
		Membership struct {
			PreferredMemberKey struct {
				ID string `json:"id"`
			} `json:"preferredMemberKey"`
		} `json:"membership"`
	}
	if json.Unmarshal(p.Request, &req) == nil {
		if len(req.Policy.Bindings) > 0 {
			var roles, members []string
			for _, b := range req.Policy.Bindings {
				roles = appendUnique(roles, b.Role)
				for _, m := range b.Members {
					members = appendUnique(members, m)
				}
			}
			ev.SetDetail("role", strings.Join(roles, ","))
			ev.SetDetail("member", strings.Join(members, ","))
			ev.SetDetail("fullPolicy", "true") // whole new policy, not a delta
		}
		if strings.HasPrefix(req.Parent, "groups/") {
			ev.SetDetail("group", req.Parent)
		}
		ev.SetDetail("member", req.Membership.PreferredMemberKey.ID)
	}
	// Workspace admin events shared to Cloud Logging: metadata.event[].parameter[].
	var md any
	if json.Unmarshal(p.Metadata, &md) == nil {
		walk(md, "", func(_ string, v any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			name, _ := m["name"].(string)
			val, _ := m["value"].(string)
			switch name {
			case "GROUP_EMAIL":
				ev.SetDetail("group", val)
			case "USER_EMAIL":
				ev.SetDetail("member", val)
			case "ROLE_NAME":
				ev.SetDetail("role", val)
			}
		})
	}
}

// walk calls fn for every value in a decoded JSON tree with the key it sits
// under ("" for array elements and the root). Depth is bounded.
func walk(v any, key string, fn func(key string, v any)) {
	var rec func(v any, key string, depth int)
	rec = func(v any, key string, depth int) {
		if depth > 64 {
			return
		}
		fn(key, v)
		switch t := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(t)) {
				rec(t[k], k, depth+1)
			}
		case []any:
			for _, c := range t {
				rec(c, key, depth+1)
			}
		}
	}
	rec(v, key, 0)
}

func appendUnique(list []string, s string) []string {
	if s == "" {
		return list
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
