// Code generated from shared/catalog/azure/built-in-roles-raw.json (iann0036/iam-dataset,
// `az role definition list`); a subset of the real built-in roles. DO NOT EDIT.

package genazure

// builtinRoles are real Azure built-in role definitions: the ones the
// generated assignments use, with their real permissions.
func builtinRoles() []roleDef {
	return []roleDef{
		{
			GUID: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", Name: "Owner",
			Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
			Perms: []permBlock{
				{Actions: []string{"*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "b24988ac-6180-42a0-ab88-20f7382dd24c", Name: "Contributor",
			Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
			Perms: []permBlock{
				{Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete", "Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action"}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", Name: "Reader",
			Description: "View all resources, but does not allow you to make any changes.",
			Perms: []permBlock{
				{Actions: []string{"*/read"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", Name: "User Access Administrator",
			Description: "Lets you manage user access to Azure resources.",
			Perms: []permBlock{
				{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "f58310d9-a9f6-439a-9e8d-f62e7b41a168", Name: "Role Based Access Control Administrator",
			Description: "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete", "*/read", "Microsoft.Support/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8", Name: "Azure Kubernetes Service Contributor Role",
			Description: "Grants access to read and write Azure Kubernetes Service clusters",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.ContainerService/locations/*", "Microsoft.ContainerService/managedClusters/*", "Microsoft.ContainerService/managedclustersnapshots/*", "Microsoft.ContainerService/snapshots/*", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.ContainerService/deploymentSafeguards/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8", Name: "Azure Kubernetes Service Cluster Admin Role",
			Description: "List cluster admin credential action.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action", "Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action", "Microsoft.ContainerService/managedClusters/read", "Microsoft.ContainerService/managedClusters/runcommand/action"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "4abbcc35-e782-43d8-92c5-2d3f1bd2253f", Name: "Azure Kubernetes Service Cluster User Role",
			Description: "List cluster user credential action.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.ContainerService/managedClusters/listClusterUserCredential/action", "Microsoft.ContainerService/managedClusters/read"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", Name: "Azure Kubernetes Service RBAC Writer",
			Description: "Allows read/write access to most objects in a namespace.This role does not allow viewing or modifying roles or role bindings. However, this role allows accessing Secrets and running Pods as any ServiceAccount in the namespace, so it can be used to gain the API access levels of any ServiceAccount in the namespace. Applying this role at cluster scope will give access across all namespaces.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read"}, NotActions: []string{}, DataActions: []string{"Microsoft.ContainerService/managedClusters/apps/controllerrevisions/read", "Microsoft.ContainerService/managedClusters/apps/daemonsets/*", "Microsoft.ContainerService/managedClusters/apps/deployments/*", "Microsoft.ContainerService/managedClusters/apps/replicasets/*", "Microsoft.ContainerService/managedClusters/apps/statefulsets/*", "Microsoft.ContainerService/managedClusters/autoscaling/horizontalpodautoscalers/*", "Microsoft.ContainerService/managedClusters/batch/cronjobs/*", "Microsoft.ContainerService/managedClusters/coordination.k8s.io/leases/read", "Microsoft.ContainerService/managedClusters/coordination.k8s.io/leases/write", "Microsoft.ContainerService/managedClusters/coordination.k8s.io/leases/delete", "Microsoft.ContainerService/managedClusters/discovery.k8s.io/endpointslices/read", "Microsoft.ContainerService/managedClusters/batch/jobs/*", "Microsoft.ContainerService/managedClusters/configmaps/*", "Microsoft.ContainerService/managedClusters/endpoints/*", "Microsoft.ContainerService/managedClusters/events.k8s.io/events/read", "Microsoft.ContainerService/managedClusters/events/*", "Microsoft.ContainerService/managedClusters/extensions/daemonsets/*", "Microsoft.ContainerService/managedClusters/extensions/deployments/*", "Microsoft.ContainerService/managedClusters/extensions/ingresses/*", "Microsoft.ContainerService/managedClusters/extensions/networkpolicies/*", "Microsoft.ContainerService/managedClusters/extensions/replicasets/*", "Microsoft.ContainerService/managedClusters/limitranges/read", "Microsoft.ContainerService/managedClusters/metrics.k8s.io/pods/read", "Microsoft.ContainerService/managedClusters/metrics.k8s.io/nodes/read", "Microsoft.ContainerService/managedClusters/namespaces/read", "Microsoft.ContainerService/managedClusters/networking.k8s.io/ingresses/*", "Microsoft.ContainerService/managedClusters/networking.k8s.io/networkpolicies/*", "Microsoft.ContainerService/managedClusters/persistentvolumeclaims/*", "Microsoft.ContainerService/managedClusters/pods/*", "Microsoft.ContainerService/managedClusters/policy/poddisruptionbudgets/*", "Microsoft.ContainerService/managedClusters/replicationcontrollers/*", "Microsoft.ContainerService/managedClusters/resourcequotas/read", "Microsoft.ContainerService/managedClusters/secrets/*", "Microsoft.ContainerService/managedClusters/serviceaccounts/*", "Microsoft.ContainerService/managedClusters/services/*"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "3498e952-d568-435e-9b2c-8d77e338d7f7", Name: "Azure Kubernetes Service RBAC Admin",
			Description: "Lets you manage all resources under cluster/namespace, except update or delete resource quotas and namespaces.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"}, NotActions: []string{}, DataActions: []string{"Microsoft.ContainerService/managedClusters/*"}, NotDataActions: []string{"Microsoft.ContainerService/managedClusters/resourcequotas/write", "Microsoft.ContainerService/managedClusters/resourcequotas/delete", "Microsoft.ContainerService/managedClusters/namespaces/write", "Microsoft.ContainerService/managedClusters/namespaces/delete"}},
			},
		},
		{
			GUID: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", Name: "Azure Kubernetes Service RBAC Cluster Admin",
			Description: "Lets you manage all resources in the cluster.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"}, NotActions: []string{}, DataActions: []string{"Microsoft.ContainerService/managedClusters/*"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "7f6c6a51-bcf8-42ba-9220-52d62157d7db", Name: "Azure Kubernetes Service RBAC Reader",
			Description: "Allows read-only access to see most objects in a namespace. It does not allow viewing roles or role bindings. This role does not allow viewing Secrets, since reading the contents of Secrets enables access to ServiceAccount credentials in the namespace, which would allow API access as any ServiceAccount in the namespace (a form of privilege escalation). Applying this role at cluster scope will give access across all namespaces.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read"}, NotActions: []string{}, DataActions: []string{"Microsoft.ContainerService/managedClusters/apps/controllerrevisions/read", "Microsoft.ContainerService/managedClusters/apps/daemonsets/read", "Microsoft.ContainerService/managedClusters/apps/deployments/read", "Microsoft.ContainerService/managedClusters/apps/replicasets/read", "Microsoft.ContainerService/managedClusters/apps/statefulsets/read", "Microsoft.ContainerService/managedClusters/autoscaling/horizontalpodautoscalers/read", "Microsoft.ContainerService/managedClusters/batch/cronjobs/read", "Microsoft.ContainerService/managedClusters/batch/jobs/read", "Microsoft.ContainerService/managedClusters/configmaps/read", "Microsoft.ContainerService/managedClusters/discovery.k8s.io/endpointslices/read", "Microsoft.ContainerService/managedClusters/endpoints/read", "Microsoft.ContainerService/managedClusters/events.k8s.io/events/read", "Microsoft.ContainerService/managedClusters/events/read", "Microsoft.ContainerService/managedClusters/extensions/daemonsets/read", "Microsoft.ContainerService/managedClusters/extensions/deployments/read", "Microsoft.ContainerService/managedClusters/extensions/ingresses/read", "Microsoft.ContainerService/managedClusters/extensions/networkpolicies/read", "Microsoft.ContainerService/managedClusters/extensions/replicasets/read", "Microsoft.ContainerService/managedClusters/limitranges/read", "Microsoft.ContainerService/managedClusters/metrics.k8s.io/pods/read", "Microsoft.ContainerService/managedClusters/metrics.k8s.io/nodes/read", "Microsoft.ContainerService/managedClusters/namespaces/read", "Microsoft.ContainerService/managedClusters/networking.k8s.io/ingresses/read", "Microsoft.ContainerService/managedClusters/networking.k8s.io/networkpolicies/read", "Microsoft.ContainerService/managedClusters/persistentvolumeclaims/read", "Microsoft.ContainerService/managedClusters/pods/read", "Microsoft.ContainerService/managedClusters/policy/poddisruptionbudgets/read", "Microsoft.ContainerService/managedClusters/replicationcontrollers/read", "Microsoft.ContainerService/managedClusters/resourcequotas/read", "Microsoft.ContainerService/managedClusters/serviceaccounts/read", "Microsoft.ContainerService/managedClusters/services/read"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "358470bc-b998-42bd-ab17-a7e34c199c0f", Name: "Container Apps Contributor",
			Description: "Full management of Container Apps, including creation, deletion, and updates.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.App/containerApps/*/read", "Microsoft.App/containerApps/*/write", "Microsoft.App/containerApps/*/delete", "Microsoft.App/containerApps/*/action", "Microsoft.App/managedEnvironments/read", "Microsoft.App/managedEnvironments/*/read", "Microsoft.App/managedEnvironments/join/action", "Microsoft.App/managedEnvironments/checknameavailability/action", "Microsoft.App/connectedEnvironments/read", "Microsoft.App/connectedEnvironments/*/read", "Microsoft.App/connectedEnvironments/join/action", "Microsoft.App/connectedEnvironments/checknameavailability/action"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "5d977122-f97e-4b4d-a52f-6b43003ddb4d", Name: "Azure Container Instances Contributor Role",
			Description: "Grants read/write access to container groups provided by Azure Container Instances",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.ContainerInstance/containerGroups/*", "Microsoft.Resources/deployments/*", "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/subscriptions/resourceGroups/read"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "f3bd1b5c-91fa-40e7-afe7-0c11d331232c", Name: "Container Apps Operator",
			Description: "Read, logstream and exec into Container Apps.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.App/containerApps/*/read", "Microsoft.App/containerApps/*/action", "Microsoft.App/managedEnvironments/read", "Microsoft.App/managedEnvironments/*/read", "Microsoft.App/managedEnvironments/join/action", "Microsoft.App/managedEnvironments/checknameavailability/action", "Microsoft.App/connectedEnvironments/read", "Microsoft.App/connectedEnvironments/*/read", "Microsoft.App/connectedEnvironments/join/action", "Microsoft.App/connectedEnvironments/checknameavailability/action"}, NotActions: []string{}, DataActions: []string{"Microsoft.App/containerApps/logstream/action", "Microsoft.App/containerApps/exec/action", "Microsoft.App/containerApps/debug/action"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "4e3d2b60-56ae-4dc6-a233-09c8e5a82e68", Name: "Container Apps Jobs Contributor",
			Description: "Full management of Container Apps jobs, including creation, deletion, and updates.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "microsoft.app/jobs/read", "Microsoft.App/jobs/*/read", "Microsoft.App/jobs/*/action", "Microsoft.App/jobs/write", "Microsoft.App/jobs/delete", "Microsoft.app/managedenvironments/read", "Microsoft.App/managedenvironments/*/read", "Microsoft.App/managedenvironments/join/action", "Microsoft.App/managedenvironments/checknameavailability/action", "Microsoft.app/connectedEnvironments/read", "Microsoft.App/connectedEnvironments/*/read", "Microsoft.App/connectedEnvironments/join/action", "Microsoft.App/connectedEnvironments/checknameavailability/action", "Microsoft.Resources/deployments/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "de139f84-1756-47ae-9be6-808fbbe84772", Name: "Website Contributor",
			Description: "Lets you manage websites (not web plans), but not access to them.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Insights/components/*", "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*", "Microsoft.Web/certificates/*", "Microsoft.Web/listSitesAssignedToHostName/read", "Microsoft.Web/register/action", "Microsoft.Web/serverFarms/join/action", "Microsoft.Web/serverFarms/read", "Microsoft.Web/sites/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "8311e382-0749-4cb8-b61a-304f252e45ec", Name: "AcrPush",
			Description: "acr push",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "7f951dda-4ed3-4680-a7ca-43fe172d538d", Name: "AcrPull",
			Description: "acr pull",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "9980e02c-c2be-4d73-94e8-173b1dc7cf3c", Name: "Virtual Machine Contributor",
			Description: "Lets you manage virtual machines, but not access to them, and not the virtual network or storage account they're connected to.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Compute/availabilitySets/*", "Microsoft.Compute/locations/*", "Microsoft.Compute/virtualMachines/*", "Microsoft.Compute/virtualMachineScaleSets/*", "Microsoft.Compute/cloudServices/*", "Microsoft.Compute/disks/write", "Microsoft.Compute/disks/read", "Microsoft.Compute/disks/delete", "Microsoft.Compute/hostgroups/write", "Microsoft.Compute/hostgroups/hosts/write", "Microsoft.DevTestLab/schedules/*", "Microsoft.Insights/alertRules/*", "Microsoft.Network/applicationGateways/backendAddressPools/join/action", "Microsoft.Network/loadBalancers/backendAddressPools/join/action", "Microsoft.Network/loadBalancers/inboundNatPools/join/action", "Microsoft.Network/loadBalancers/inboundNatRules/join/action", "Microsoft.Network/loadBalancers/probes/join/action", "Microsoft.Network/loadBalancers/read", "Microsoft.Network/locations/*", "Microsoft.Network/networkInterfaces/*", "Microsoft.Network/networkSecurityGroups/join/action", "Microsoft.Network/networkSecurityGroups/read", "Microsoft.Network/publicIPAddresses/join/action", "Microsoft.Network/publicIPAddresses/read", "Microsoft.Network/virtualNetworks/read", "Microsoft.Network/virtualNetworks/subnets/join/action", "Microsoft.RecoveryServices/locations/*", "Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/write", "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/*/read", "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read", "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write", "Microsoft.RecoveryServices/Vaults/backupPolicies/read", "Microsoft.RecoveryServices/Vaults/backupPolicies/write", "Microsoft.RecoveryServices/Vaults/read", "Microsoft.RecoveryServices/Vaults/usages/read", "Microsoft.RecoveryServices/Vaults/write", "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.SerialConsole/serialPorts/connect/action", "Microsoft.SqlVirtualMachine/*", "Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage/storageAccounts/read", "Microsoft.Support/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "4d97b98b-1d4f-4787-a291-c67834d212e7", Name: "Network Contributor",
			Description: "Lets you manage networks, but not access to them.",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Network/*", "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", Name: "Storage Blob Data Reader",
			Description: "Allows for read access to Azure Storage blob containers and data",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"}, NotActions: []string{}, DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "ba92f5b4-2d11-453d-a403-e96b0029c9fe", Name: "Storage Blob Data Contributor",
			Description: "Allows for read, write and delete access to Azure Storage blob containers and data",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/read", "Microsoft.Storage/storageAccounts/blobServices/containers/write", "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"}, NotActions: []string{}, DataActions: []string{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "4633458b-17de-408a-b874-0445c86b69e6", Name: "Key Vault Secrets User",
			Description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
			Perms: []permBlock{
				{Actions: []string{}, NotActions: []string{}, DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "f1a07417-d97a-45cb-824c-7a7467783830", Name: "Managed Identity Operator",
			Description: "Read and Assign User Assigned Identity",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Resources/deployments/*", "Microsoft.Support/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "43d0d8ad-25c7-4714-9337-8ba259a9fe05", Name: "Monitoring Reader",
			Description: "Can read all monitoring data.",
			Perms: []permBlock{
				{Actions: []string{"*/read", "Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "73c42c96-874c-492b-b04d-ab87d138a893", Name: "Log Analytics Reader",
			Description: "Log Analytics Reader can view and search all monitoring data as well as and view monitoring settings, including viewing the configuration of Azure diagnostics on all Azure resources.",
			Perms: []permBlock{
				{Actions: []string{"*/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action", "Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"}, NotActions: []string{"Microsoft.OperationalInsights/workspaces/sharedKeys/read"}, DataActions: []string{"Microsoft.OperationalInsights/workspaces/jobs/export/action"}, NotDataActions: []string{}},
			},
		},
		{
			GUID: "39bc4728-0917-49c7-9d2c-d95423bc2eb4", Name: "Security Reader",
			Description: "Security Reader Role",
			Perms: []permBlock{
				{Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/read", "Microsoft.operationalInsights/workspaces/*/read", "Microsoft.Resources/deployments/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Security/*/read", "Microsoft.IoTSecurity/*/read", "Microsoft.Support/*/read", "Microsoft.Security/iotDefenderSettings/packageDownloads/action", "Microsoft.Security/iotDefenderSettings/downloadManagerActivation/action", "Microsoft.Security/iotSensors/downloadResetPassword/action", "Microsoft.IoTSecurity/defenderSettings/packageDownloads/action", "Microsoft.IoTSecurity/defenderSettings/downloadManagerActivation/action", "Microsoft.Management/managementGroups/read"}, NotActions: []string{}, DataActions: []string{}, NotDataActions: []string{}},
			},
		},
	}
}
