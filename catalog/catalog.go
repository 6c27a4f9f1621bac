// Package catalog holds permgraph's embedded permission data: what "deploy a
// container" means per cloud.
package catalog

import (
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

//go:embed deploy-container.yaml
var deployYAML []byte

//go:embed deploy-azure.yaml
var deployAzureYAML []byte

//go:embed deploy-gcp.yaml
var deployGCPYAML []byte

// DeployRecipe is one way to deploy a container (see deploy-container.yaml).
type DeployRecipe struct {
	ID         string   `yaml:"id" json:"id"`
	Service    string   `yaml:"service" json:"service"`
	Kind       string   `yaml:"kind" json:"kind"`
	Actions    []string `yaml:"actions" json:"actions"`
	PassRoleTo string   `yaml:"pass_role_to" json:"pass_role_to,omitempty"`
	// DataActions are Azure data-plane actions (AKS with Azure RBAC for
	// Kubernetes); a recipe needs its Actions and its DataActions.
	DataActions []string `yaml:"data_actions" json:"data_actions,omitempty"`
	// Identity is the permission that attaches a workload identity (Azure
	// userAssignedIdentities/assign/action, GCP iam.serviceAccounts.actAs),
	// evaluated separately from the recipe.
	Identity string `yaml:"identity" json:"identity,omitempty"`
	Source   string `yaml:"source" json:"source"`
}

// Deploy is the deploy-container catalog by cloud.
type Deploy struct {
	AWS   []DeployRecipe `yaml:"aws"`
	Azure []DeployRecipe `yaml:"azure"`
	GCP   []DeployRecipe `yaml:"gcp"`
}

// LoadDeploy parses the embedded catalog. It is parsed on each call (cheap)
// so there is no package-level state.
func LoadDeploy() (*Deploy, error) {
	var d Deploy
	for _, f := range []struct {
		name string
		data []byte
		dst  *[]DeployRecipe
		key  string
	}{
		{"deploy-container.yaml", deployYAML, &d.AWS, "aws"},
		{"deploy-azure.yaml", deployAzureYAML, &d.Azure, "azure"},
		{"deploy-gcp.yaml", deployGCPYAML, &d.GCP, "gcp"},
	} {
		var part map[string][]DeployRecipe
		if err := yaml.Unmarshal(f.data, &part); err != nil {
			return nil, fmt.Errorf("load deploy catalog %s: %w", f.name, err)
		}
		*f.dst = part[f.key]
		for i, r := range *f.dst {
			if r.ID == "" || len(r.Actions)+len(r.DataActions) == 0 || r.Source == "" {
				return nil, fmt.Errorf("load deploy catalog %s: %s[%d] %q: id, actions and source are required", f.name, f.key, i, r.ID)
			}
			switch r.Kind {
			case "create", "mutate", "exec":
			default:
				return nil, fmt.Errorf("load deploy catalog %s: %s[%d] %q: unknown kind %q", f.name, f.key, i, r.ID, r.Kind)
			}
		}
	}
	return &d, nil
}
