package azureactivity

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"permgraph/detect/event"
	"permgraph/detect/internal/jsonrec"
)

// Classification is what Classify says about one ARM operation.
type Classification struct {
	Class        event.Class
	Surface      string // aci, containerapps, aks, appservice, vm
	ControlPlane bool   // AKS cluster / agent pool changes
	Remove       bool   // Grant-class removal
}

// Classify maps an ARM operation (compared case-insensitively; exports
// lower-case it) to its class, following DETECTIONS.md §1.2.
func Classify(operation string) Classification {
	switch strings.ToLower(operation) {
	case "microsoft.authorization/roleassignments/write", "microsoft.authorization/roledefinitions/write",
		"microsoft.authorization/elevateaccess/action":
		return Classification{Class: event.Grant}
	case "microsoft.authorization/roleassignments/delete", "microsoft.authorization/roledefinitions/delete":
		return Classification{Class: event.Grant, Remove: true}
	case "microsoft.authorization/roleassignments/read", "microsoft.authorization/roledefinitions/read",
		"microsoft.authorization/denyassignments/read", "microsoft.authorization/permissions/read":
		return Classification{Class: event.DiscoveryPermission}
	case "microsoft.containerinstance/containergroups/write":
		return Classification{Class: event.Deploy, Surface: "aci"}
	case "microsoft.containerinstance/containergroups/containers/exec/action":
		return Classification{Class: event.Exec, Surface: "aci"}
	case "microsoft.containerinstance/containergroups/delete":
		return Classification{Class: event.Delete, Surface: "aci"}
	case "microsoft.app/containerapps/write", "microsoft.app/jobs/write", "microsoft.app/jobs/start/action":
		return Classification{Class: event.Deploy, Surface: "containerapps"}
	case "microsoft.app/containerapps/delete", "microsoft.app/jobs/delete":
		return Classification{Class: event.Delete, Surface: "containerapps"}
	case "microsoft.web/sites/write", "microsoft.web/sites/config/write", "microsoft.web/sites/slots/write":
		return Classification{Class: event.Deploy, Surface: "appservice"}
	case "microsoft.web/sites/delete":
		return Classification{Class: event.Delete, Surface: "appservice"}
	case "microsoft.containerservice/managedclusters/write", "microsoft.containerservice/managedclusters/agentpools/write":
		return Classification{Class: event.Deploy, Surface: "aks", ControlPlane: true}
	case "microsoft.containerservice/managedclusters/delete", "microsoft.containerservice/managedclusters/agentpools/delete":
		return Classification{Class: event.Delete, Surface: "aks", ControlPlane: true}
	case "microsoft.containerservice/managedclusters/runcommand/action":
		return Classification{Class: event.Exec, Surface: "aks"}
	case "microsoft.compute/virtualmachines/runcommand/action", "microsoft.compute/virtualmachines/runcommands/write":
		return Classification{Class: event.Exec, Surface: "vm"}
	case "microsoft.containerservice/managedclusters/listclusteradmincredential/action",
		"microsoft.containerservice/managedclusters/listclusterusercredential/action",
		"microsoft.containerservice/managedclusters/listclustermonitoringusercredential/action",
		"microsoft.managedidentity/userassignedidentities/federatedidentitycredentials/write":
		return Classification{Class: event.Identity}
	}
	return Classification{}
}

// requestDetails reads properties.requestbody (a JSON string) for role
// assignments (member, role) and container groups / apps (image,
// identity, command).
func requestDetails(ev *event.Event, body json.RawMessage) {
	b := jsonrec.Object(body)
	if b == nil {
		return
	}
	var req struct {
		Identity *struct {
			Type                   string         `json:"type"`
			UserAssignedIdentities map[string]any `json:"userAssignedIdentities"`
		} `json:"identity"`
		Properties struct {
			PrincipalID      string `json:"principalId"`
			PrincipalType    string `json:"principalType"`
			RoleDefinitionID string `json:"roleDefinitionId"`
			Containers       []struct {
				Image      string `json:"image"`
				Properties struct {
					Image   string   `json:"image"`
					Command []string `json:"command"`
				} `json:"properties"`
				Command []string `json:"command"`
			} `json:"containers"`
			Template struct {
				Containers []struct {
					Image   string   `json:"image"`
					Command []string `json:"command"`
				} `json:"containers"`
			} `json:"template"`
			SiteConfig struct {
				LinuxFxVersion string `json:"linuxFxVersion"`
			} `json:"siteConfig"`
			LinuxFxVersion string `json:"linuxFxVersion"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(b, &req)
	p := req.Properties
	ev.SetDetail("member", p.PrincipalID)
	ev.SetDetail("principalType", p.PrincipalType)
	ev.SetDetail("role", p.RoleDefinitionID)
	var images []string
	cmd := ""
	for _, c := range p.Containers {
		if img := firstNonEmpty(c.Properties.Image, c.Image); img != "" {
			images = append(images, img)
		}
		if cmd == "" {
			cmd = strings.Join(append(c.Properties.Command, c.Command...), " ")
		}
	}
	for _, c := range p.Template.Containers {
		if c.Image != "" {
			images = append(images, c.Image)
		}
		if cmd == "" {
			cmd = strings.Join(c.Command, " ")
		}
	}
	if fx := firstNonEmpty(p.SiteConfig.LinuxFxVersion, p.LinuxFxVersion); strings.HasPrefix(strings.ToUpper(fx), "DOCKER|") {
		images = append(images, fx[len("DOCKER|"):])
	}
	ev.SetDetail("image", strings.Join(images, ","))
	ev.SetDetail("command", cmd)
	if id := req.Identity; id != nil {
		ids := make([]string, 0, len(id.UserAssignedIdentities)+1)
		if strings.Contains(strings.ToLower(id.Type), "systemassigned") {
			ids = append(ids, "SystemAssigned")
		}
		ids = append(ids, slices.Sorted(maps.Keys(id.UserAssignedIdentities))...)
		ev.SetDetail("serviceAccount", strings.Join(ids, ","))
	}
}
