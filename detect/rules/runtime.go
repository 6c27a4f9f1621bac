package rules

import (
	"context"
	"fmt"
	"strings"

	"permgraph/detect/event"
	"permgraph/graph"
	awspolicy "permgraph/policy/aws"
	"permgraph/queries"
)

type runtimeIdentity struct{}

// NewRuntimeIdentity is R07 deploy.runtime_identity_escalation.
func NewRuntimeIdentity() Rule { return runtimeIdentity{} }

func (runtimeIdentity) Meta() Meta {
	return Meta{ID: "R07", Name: "deploy.runtime_identity_escalation", Title: "Deployment attaches a runtime identity the deployer cannot pass, or one more privileged than the deployer", Severity: High,
		Attack: []string{"T1610", "T1078.004", "T1548"}, Params: map[string]string{},
		Response: response("Stop the workload; the runtime role's credentials may already be in use: check the role's recent sessions (CloudTrail userIdentity.sessionContext.sessionIssuer).",
			"Review who may pass the role (permgraph who-can iam:PassRole --resource <role ARN>).")}
}

// passedToService maps the deploying service to the service principal a
// runtime role must trust.
var passedToService = map[string]string{
	"ecs.amazonaws.com":       "ecs-tasks.amazonaws.com",
	"batch.amazonaws.com":     "ecs-tasks.amazonaws.com",
	"lambda.amazonaws.com":    "lambda.amazonaws.com",
	"apprunner.amazonaws.com": "tasks.apprunner.amazonaws.com",
}

func (r runtimeIdentity) Observe(_ context.Context, c *Context, e *event.Event) ([]Alert, error) {
	role := e.Detail("role")
	if e.Cloud != "aws" || e.Class != event.Deploy || e.Outcome != event.Success || role == "" || !c.hasNode || !strings.Contains(role, ":role/") || c.Approved("R07") {
		return nil, nil
	}
	v := c.view
	roleID, ok := v.Lookup("aws:" + role)
	if !ok {
		if roleID, ok = roleFromSession(v, role); !ok {
			return nil, nil // a role the snapshot does not know: R04/model gap territory
		}
	}
	roleARN := v.Node(roleID).Attrs["arn"]
	actorID := v.NodeIDString(c.actor)
	var labels []string
	if v.NodeKind(c.actor) == graph.NodeUser || v.NodeKind(c.actor) == graph.NodeRole {
		extra := map[string]string{}
		if svc := passedToService[e.Service]; svc != "" {
			extra["iam:PassedToService"] = svc
		}
		res, err := queries.EvaluateAWS(v, actorID, "iam:PassRole", roleARN, extra)
		if err != nil {
			return nil, err
		}
		if res.Decision != awspolicy.Allowed {
			labels = append(labels, "cannot-pass-per-snapshot")
		}
	}
	actorVia, _, err := c.DeployPath(deployScope(e))
	if err != nil {
		return nil, err
	}
	roleVia, rolePath, err := c.en.deployPathAt(v, roleID, true, deployScope(e))
	if err != nil {
		return nil, err
	}
	if roleVia != "none" && actorVia != "direct" {
		labels = append(labels, "runtime-more-privileged")
	}
	if len(labels) == 0 {
		return nil, nil
	}
	m := r.Meta()
	a := newAlert(m, m.Severity, c, e, fmt.Sprintf("%s deployed (%s) with runtime role %s: %s", c.Actor().Name, e.Action, v.Node(roleID).Name, strings.Join(labels, ", ")))
	a.Labels = labels
	a.EvidencePath = rolePath
	if a.EvidencePath == nil {
		a.EvidencePath = []queries.Hop{}
	}
	a.Key = m.ID + "|" + c.Key() + "|" + roleARN + "|" + bucket(e.Time, 3600e9)
	return []Alert{a}, nil
}
