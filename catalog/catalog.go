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

// DeployRecipe is one way to deploy a container (see deploy-container.yaml).
type DeployRecipe struct {
	ID         string   `yaml:"id" json:"id"`
	Service    string   `yaml:"service" json:"service"`
	Kind       string   `yaml:"kind" json:"kind"`
	Actions    []string `yaml:"actions" json:"actions"`
	PassRoleTo string   `yaml:"pass_role_to" json:"pass_role_to,omitempty"`
	Source     string   `yaml:"source" json:"source"`
}

// Deploy is the deploy-container catalog by cloud.
type Deploy struct {
	AWS []DeployRecipe `yaml:"aws"`
}

// LoadDeploy parses the embedded catalog. It is parsed on each call (cheap)
// so there is no package-level state.
func LoadDeploy() (*Deploy, error) {
	var d Deploy
	if err := yaml.Unmarshal(deployYAML, &d); err != nil {
		return nil, fmt.Errorf("load deploy catalog: %w", err)
	}
	for i, r := range d.AWS {
		if r.ID == "" || len(r.Actions) == 0 || r.Source == "" {
			return nil, fmt.Errorf("load deploy catalog: aws[%d] %q: id, actions and source are required", i, r.ID)
		}
		switch r.Kind {
		case "create", "mutate":
		default:
			return nil, fmt.Errorf("load deploy catalog: aws[%d] %q: unknown kind %q", i, r.ID, r.Kind)
		}
	}
	return &d, nil
}
