package aws

import (
	"fmt"
	"sort"
	"strings"

	"permgraph/graph"
)

// Privilege-escalation edges (PMapper / pathfinding.cloud style). An edge
// A -> B means "A can obtain B's permissions"; self-escalation (A can rewrite
// the permissions of something it already is or controls) points at the
// account's deploy capability directly, as PMapper marks such nodes admin.
// Sources: ../shared/design/permissions/privesc-edges.md (Rhino #1-28, PF ids).

// passRoleRule: iam:PassRole on a role that trusts Service, plus Actions.
type passRoleRule struct {
	id      string
	service string
	actions []string
	source  string
}

var passRoleRules = []passRoleRule{
	{"ecs-task-role-override", "ecs-tasks.amazonaws.com", []string{"ecs:RunTask"}, "PF ecs-002/ecs-004: RunTask overrides taskRoleArn"},
	{"ecs-start-task", "ecs-tasks.amazonaws.com", []string{"ecs:RegisterTaskDefinition", "ecs:StartTask"}, "PF ecs-005"},
	{"ecs-create-service", "ecs-tasks.amazonaws.com", []string{"ecs:RegisterTaskDefinition", "ecs:CreateService"}, "PF ecs-001/ecs-003"},
	{"lambda-create-invoke", "lambda.amazonaws.com", []string{"lambda:CreateFunction", "lambda:InvokeFunction"}, "Rhino #15; PF lambda-001"},
	{"lambda-create-event-source", "lambda.amazonaws.com", []string{"lambda:CreateFunction", "lambda:CreateEventSourceMapping"}, "Rhino #17; PF lambda-002"},
	{"lambda-create-add-permission", "lambda.amazonaws.com", []string{"lambda:CreateFunction", "lambda:AddPermission"}, "Rhino #16; PF lambda-006"},
	{"ec2-run-instances", "ec2.amazonaws.com", []string{"ec2:RunInstances"}, "Rhino #3; PF ec2-001 (assumes an instance profile for the role exists)"},
	{"codebuild-project", "codebuild.amazonaws.com", []string{"codebuild:CreateProject", "codebuild:StartBuild"}, "PF codebuild-001; PMapper codebuild_edges"},
	{"glue-dev-endpoint", "glue.amazonaws.com", []string{"glue:CreateDevEndpoint"}, "Rhino #19; PF glue-001"},
	{"glue-job", "glue.amazonaws.com", []string{"glue:CreateJob", "glue:StartJobRun"}, "PF glue-003"},
	{"cloudformation-stack", "cloudformation.amazonaws.com", []string{"cloudformation:CreateStack"}, "Rhino #21; PF cloudformation-001"},
	{"sagemaker-notebook", "sagemaker.amazonaws.com", []string{"sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"}, "Rhino #27; PF sagemaker-001"},
	{"sagemaker-training-job", "sagemaker.amazonaws.com", []string{"sagemaker:CreateTrainingJob"}, "PF sagemaker-002"},
	{"sagemaker-processing-job", "sagemaker.amazonaws.com", []string{"sagemaker:CreateProcessingJob"}, "PF sagemaker-003"},
	{"apprunner-create-service", "tasks.apprunner.amazonaws.com", []string{"apprunner:CreateService"}, "PF apprunner-001"},
}

// capabilityGrant: actions (on some resource) that let A grant itself the
// ability to run containers without holding a deploy recipe.
type capabilityGrant struct {
	id       string
	kind     graph.EdgeKind
	actions  []string
	indirect bool
	source   string
}

var capabilityGrants = []capabilityGrant{
	{"eks-access-entry", graph.EdgeCanAssignRole, []string{"eks:CreateAccessEntry", "eks:AssociateAccessPolicy"}, false,
		"SAR eks:CreateAccessEntry + eks:AssociateAccessPolicy (AmazonEKSClusterAdminPolicy can create pods)"},
	{"ecr-image-tampering", graph.EdgeCanPushImage, []string{"ecr:GetAuthorizationToken", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"}, true,
		"SAR ecr:PutImage; image tampering runs on the next pull of a mutable tag"},
}

// escalate adds escalation edges for every user and role of the account.
func (d *deriver) escalate(trusts map[string][]string) error {
	capID := DeployCapabilityID(d.account)
	var users, roles, groups []graph.Node
	for _, n := range d.g.SortedNodes() {
		switch n.Kind {
		case graph.NodeUser:
			users = append(users, n)
		case graph.NodeRole:
			roles = append(roles, n)
		case graph.NodeGroup:
			groups = append(groups, n)
		}
	}
	// Group capabilities: what joining a group grants (its policies alone),
	// the target of CanAddMember.
	if err := d.groupCapabilities(groups, capID); err != nil {
		return err
	}
	userSet, roleSet, groupSet := newTargetSet(users), newTargetSet(roles), newTargetSet(groups)
	assumable := map[string][]string{} // principal -> roles it can assume directly
	for _, e := range d.g.SortedEdges() {
		if e.Kind == graph.EdgeCanAssume {
			assumable[e.From] = append(assumable[e.From], e.To)
		}
	}
	for _, a := range d.principals {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		pp := d.policies(a.ID)
		vars := d.vars(a)
		// prepare filters statements for one action once; targets are then
		// checked by resource only (nil when nothing could allow it).
		prepare := func(action string) *Prepared {
			p := Prepare(pp, action, vars)
			if !p.MayAllow() {
				return nil
			}
			return p
		}
		edges := 0
		add := func(e graph.Edge) error {
			edges++
			if e.To == capID {
				if err := d.ensureCapability(); err != nil {
					return err
				}
			}
			return d.g.AddEdge(e)
		}
		// Self-escalation first: a principal that can rewrite its own
		// permissions reaches everything; like PMapper, it gets no
		// principal-to-principal edges (they would add nothing). Rewriting
		// identity policies cannot lift a boundary or an SCP, so the edge
		// exists only if deploying is possible under those.
		var self []graph.Edge
		if d.deployPossible(a, pp) {
			var err error
			if self, err = d.selfEscalation(a, pp, vars, assumable, capID); err != nil {
				return err
			}
		}
		for _, e := range self {
			if err := add(e); err != nil {
				return err
			}
		}
		if len(self) > 0 {
			continue
		}
		for _, cg := range capabilityGrants {
			res, ok := d.allOf(pp, vars, cg.actions, "")
			if !ok {
				continue
			}
			e := graph.Edge{From: a.ID, Kind: cg.kind, To: capID, Evidence: graph.MergeEvidence(statementEvidence(res.refs, cg.id)), Attrs: map[string]string{"technique": cg.id, "source": cg.source}}
			if cg.indirect {
				e.Attrs["indirect"] = "true"
			}
			e.Conditional, e.Condition = res.conditional, res.condition()
			if err := add(e); err != nil {
				return err
			}
		}
		if prep := prepare("iam:AddUserToGroup"); a.Kind == graph.NodeUser && prep != nil {
			member := map[string]bool{}
			for _, gid := range d.res.g.Targets(a.ID, graph.EdgeMemberOf) {
				member[gid] = true
			}
			for _, i := range groupSet.candidates(prep) {
				g := groupSet.nodes[i]
				if member[g.ID] {
					continue
				}
				if err := targetEdge(add, a, prep, graph.EdgeCanAddMember, g, groupSet.arns[i], "Rhino #13; PF iam-013"); err != nil {
					return err
				}
			}
		}
		for _, act := range []string{"iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"} {
			prep := prepare(act)
			if prep == nil {
				continue
			}
			for _, i := range userSet.candidates(prep) {
				u := userSet.nodes[i]
				if u.ID == a.ID {
					continue
				}
				if err := targetEdge(add, a, prep, graph.EdgeCanCreateKey, u, userSet.arns[i], "Rhino #4-6; PF iam-002/004/006"); err != nil {
					return err
				}
			}
		}
		if prep := prepare("iam:UpdateAssumeRolePolicy"); prep != nil {
			for _, i := range roleSet.candidates(prep) {
				r := roleSet.nodes[i]
				if r.ID == a.ID || r.Attrs["service_linked"] == "true" {
					continue
				}
				if err := targetEdge(add, a, prep, graph.EdgeCanUpdateTrust, r, roleSet.arns[i], "Rhino #14; PF iam-012"); err != nil {
					return err
				}
			}
		}
		if prepare("iam:PassRole") != nil {
			if err := d.passRoleEdges(add, a, pp, vars, trusts); err != nil {
				return err
			}
		}
		_ = edges
	}
	return nil
}

// allOfResult collects the statements that allowed a set of actions.
type allOfResult struct {
	refs        []StatementRef
	conditional bool
	conds       []string
}

func (r allOfResult) condition() string {
	if !r.conditional {
		return ""
	}
	return strings.Join(r.conds, " and ")
}

func (r *allOfResult) add(res Result) {
	r.refs = append(r.refs, res.Allow...)
	if res.Conditional {
		r.conditional = true
		for _, c := range res.Conditions {
			r.conds = appendUnique(r.conds, c)
		}
	}
}

// allOf reports whether every action is allowed (on resource, or on some
// resource when empty) and with which statements.
func (d *deriver) allOf(pp *PrincipalPolicies, vars map[string]string, actions []string, resource string) (allOfResult, bool) {
	var out allOfResult
	for _, act := range actions {
		res := Evaluate(pp, Request{Action: act, Resource: resource, Vars: vars})
		if res.Decision != Allowed {
			return out, false
		}
		out.add(res)
	}
	return out, true
}

// targetEdge adds a -kind-> target when the prepared action is allowed on
// the target's ARN.
func targetEdge(add func(graph.Edge) error, a graph.Node, prep *Prepared, kind graph.EdgeKind, target graph.Node, arn, source string) error {
	if !prep.MaybeAllowed(arn) {
		return nil
	}
	res := prep.Evaluate(arn)
	if res.Decision != Allowed {
		return nil
	}
	e := graph.Edge{From: a.ID, Kind: kind, To: target.ID, Evidence: graph.MergeEvidence(statementEvidence(res.Allow, prep.action+" on "+target.Name)),
		Attrs: map[string]string{"technique": prep.action, "source": source}}
	if res.Conditional {
		e.Conditional, e.Condition = true, strings.Join(res.Conditions, " and ")
	}
	return add(e)
}

// targetSet is the users, roles or groups of an account sorted by ARN, so
// the targets an Allow statement can match are found by ARN prefix instead
// of testing every (principal, target) pair: that pair loop made a 20k
// principal account cost minutes.
type targetSet struct {
	nodes []graph.Node
	arns  []string
	all   []int
	// byRes indexes targets by the ARN's resource field ("user/path/name"),
	// for patterns with a wildcard account ("arn:aws:iam::*:user/${aws:username}").
	resKeys []string
	resIdx  []int
}

func newTargetSet(nodes []graph.Node) *targetSet {
	ts := &targetSet{}
	for _, n := range nodes {
		if arn := n.Attrs["arn"]; arn != "" {
			ts.nodes = append(ts.nodes, n)
			ts.arns = append(ts.arns, arn)
		}
	}
	idx := make([]int, len(ts.arns))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return ts.arns[idx[i]] < ts.arns[idx[j]] })
	nodes2, arns2 := make([]graph.Node, len(idx)), make([]string, len(idx))
	for i, j := range idx {
		nodes2[i], arns2[i] = ts.nodes[j], ts.arns[j]
	}
	ts.nodes, ts.arns = nodes2, arns2
	ts.all = make([]int, len(ts.arns))
	for i := range ts.all {
		ts.all[i] = i
	}
	ts.resIdx = append([]int{}, ts.all...)
	ts.resKeys = make([]string, len(ts.arns))
	for i, arn := range ts.arns {
		ts.resKeys[i] = resourceField(arn)
	}
	sort.Slice(ts.resIdx, func(i, j int) bool { return ts.resKeys[ts.resIdx[i]] < ts.resKeys[ts.resIdx[j]] })
	return ts
}

// resourceField returns the sixth field of an ARN ("" if absent).
func resourceField(arn string) string {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(arn, ':')
		if j < 0 {
			return ""
		}
		arn = arn[j+1:]
	}
	return arn
}

func literalPrefix(s string) string {
	if k := strings.IndexAny(s, "*?"); k >= 0 {
		return s[:k]
	}
	return s
}

// candidates returns the indexes of targets that an identity Allow of prep
// could match (a superset; Evaluate decides). Patterns with a leading
// wildcard, NotResource or "*" fall back to every target.
func (ts *targetSet) candidates(prep *Prepared) []int {
	seen := map[int]bool{}
	var out []int
	for i := range prep.cands {
		c := &prep.cands[i]
		if c.boundary || c.scp >= 0 || c.st.Effect != EffectAllow {
			continue
		}
		if len(c.st.NotResource) > 0 || len(c.st.Resource) == 0 {
			return ts.all
		}
		for _, p := range c.pats {
			lit := literalPrefix(p.text)
			if !strings.HasPrefix(lit, "arn:") {
				return ts.all
			}
			if strings.Count(lit, ":") >= 5 {
				lo := sort.SearchStrings(ts.arns, lit)
				for j := lo; j < len(ts.arns) && strings.HasPrefix(ts.arns[j], lit); j++ {
					if !seen[j] {
						seen[j] = true
						out = append(out, j)
					}
				}
				continue
			}
			// A wildcard before the resource field: narrow by the resource
			// field's literal prefix instead.
			res := literalPrefix(resourceField(p.text))
			if res == "" {
				return ts.all
			}
			lo := sort.Search(len(ts.resIdx), func(k int) bool { return ts.resKeys[ts.resIdx[k]] >= res })
			for k := lo; k < len(ts.resIdx) && strings.HasPrefix(ts.resKeys[ts.resIdx[k]], res); k++ {
				if j := ts.resIdx[k]; !seen[j] {
					seen[j] = true
					out = append(out, j)
				}
			}
		}
	}
	sort.Ints(out)
	return out
}

func (d *deriver) passRoleEdges(add func(graph.Edge) error, a graph.Node, pp *PrincipalPolicies, vars map[string]string, trusts map[string][]string) error {
	done := map[string]bool{}
	for _, rule := range passRoleRules {
		svcRes, ok := d.allOf(pp, vars, rule.actions, "")
		if !ok {
			continue
		}
		pass := Prepare(pp, "iam:PassRole", WithVar(vars, "iam:PassedToService", rule.service))
		if !pass.MayAllow() {
			continue
		}
		for _, roleID := range trusts[rule.service] {
			if roleID == a.ID || done[roleID] {
				continue
			}
			role := d.g.Nodes[roleID]
			pr := pass.Evaluate(role.Attrs["arn"])
			if pr.Decision != Allowed {
				continue
			}
			done[roleID] = true
			res := svcRes
			res.add(pr)
			e := graph.Edge{From: a.ID, Kind: graph.EdgeCanPassRole, To: roleID,
				Evidence: graph.MergeEvidence(statementEvidence(res.refs, fmt.Sprintf("%s: pass %s to %s", rule.id, role.Name, rule.service))),
				Attrs:    map[string]string{"technique": rule.id, "source": rule.source}}
			e.Conditional, e.Condition = res.conditional, res.condition()
			if err := add(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// selfEscalation finds ways a principal can rewrite the permissions of
// something it is or controls: itself, its groups, roles it can assume, and
// the customer-managed policies attached to any of those.
func (d *deriver) selfEscalation(a graph.Node, pp *PrincipalPolicies, vars map[string]string, assumable map[string][]string, capID string) ([]graph.Edge, error) {
	type controlled struct {
		node graph.Node
		how  string
	}
	var ctl []controlled
	ctl = append(ctl, controlled{a, "itself"})
	for _, gid := range d.res.g.Targets(a.ID, graph.EdgeMemberOf) {
		if g, ok := d.g.Nodes[gid]; ok {
			ctl = append(ctl, controlled{g, "its group " + g.Name})
		}
	}
	for _, rid := range assumable[a.ID] {
		if r, ok := d.g.Nodes[rid]; ok && rid != a.ID {
			ctl = append(ctl, controlled{r, "role " + r.Name + " it can assume"})
		}
	}
	var edges []graph.Edge
	attach := map[graph.NodeKind][]string{
		graph.NodeUser:  {"iam:AttachUserPolicy", "iam:PutUserPolicy"},
		graph.NodeGroup: {"iam:AttachGroupPolicy", "iam:PutGroupPolicy"},
		graph.NodeRole:  {"iam:AttachRolePolicy", "iam:PutRolePolicy"},
	}
	for _, c := range ctl {
		for _, act := range attach[c.node.Kind] {
			res := Evaluate(pp, Request{Action: act, Resource: c.node.Attrs["arn"], Vars: vars})
			if res.Decision != Allowed {
				continue
			}
			e := graph.Edge{From: a.ID, Kind: graph.EdgeCanAttachPolicy, To: capID,
				Evidence: graph.MergeEvidence(statementEvidence(res.Allow, fmt.Sprintf("%s on %s (%s)", act, c.node.Name, c.how))),
				Attrs:    map[string]string{"technique": act, "target": c.node.ID, "source": "Rhino #7-12; PF iam-005..011"}}
			if res.Conditional {
				e.Conditional, e.Condition = true, strings.Join(res.Conditions, " and ")
			}
			edges = append(edges, e)
			break
		}
		if len(edges) > 0 && !edges[len(edges)-1].Conditional {
			return edges, nil
		}
		for _, pid := range d.res.g.Targets(c.node.ID, graph.EdgeHasPolicy) {
			p := d.g.Nodes[pid]
			if p.Attrs["inline"] == "true" || p.Attrs["aws_managed"] == "true" || p.Attrs["arn"] == "" {
				continue
			}
			for _, act := range []string{"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"} {
				res := Evaluate(pp, Request{Action: act, Resource: p.Attrs["arn"], Vars: vars})
				if res.Decision != Allowed {
					continue
				}
				e := graph.Edge{From: a.ID, Kind: graph.EdgeCanEditPolicy, To: capID,
					Evidence: graph.MergeEvidence(statementEvidence(res.Allow, fmt.Sprintf("%s on %s, attached to %s (%s)", act, p.Name, c.node.Name, c.how))),
					Attrs:    map[string]string{"technique": act, "target": p.ID, "source": "Rhino #1-2; PF iam-001"}}
				if res.Conditional {
					e.Conditional, e.Condition = true, strings.Join(res.Conditions, " and ")
				}
				edges = append(edges, e)
				if !res.Conditional {
					return edges, nil
				}
			}
		}
	}
	return edges, nil
}

// groupCapabilities gives each AWS group a Can edge when its own policies
// satisfy a deploy recipe: what joining it grants. Members' own Can edges
// already include group policies (and their Denies), so queries do not
// walk from an AWS group to its members.
func (d *deriver) groupCapabilities(groups []graph.Node, capID string) error {
	for _, g := range groups {
		pp := d.res.PrincipalPolicies(g.ID)
		results := d.recipesFor(g, pp, map[string]string{tagsComplete: ""})
		if len(results) == 0 {
			continue
		}
		if err := d.ensureCapability(); err != nil {
			return err
		}
		if err := d.g.AddEdge(canEdge(g.ID, capID, results, pp)); err != nil {
			return err
		}
	}
	return nil
}

// deployPossible reports whether some deploy recipe could be allowed for a
// principal if its identity policies allowed everything: its boundary and
// SCPs still apply.
func (d *deriver) deployPossible(p graph.Node, pp *PrincipalPolicies) bool {
	if pp.Boundary == nil && len(pp.SCPs) == 0 {
		return true
	}
	adminDoc, _ := Parse(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	hyp := &PrincipalPolicies{Identity: []Policy{{ID: "hypothetical", Name: "hypothetical admin", Doc: adminDoc}}, Boundary: pp.Boundary, SCPs: pp.SCPs}
	return len(d.recipesFor(p, hyp, d.vars(p))) > 0
}
