package response

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"permgraph/detect/event"
	"permgraph/detect/rules"
	"permgraph/graph"
	"permgraph/queries"
)

// Command is one printed command. permgraph never runs it.
type Command struct {
	// Shell is a POSIX shell command line; every value taken from logs or
	// the graph is single-quoted. Empty when Manual says what to do.
	Shell string `json:"shell,omitempty"`
	// Why says what the command does.
	Why string `json:"why"`
	// Manual is set when no single command does it (edit a trust policy,
	// values missing from the logs).
	Manual string `json:"manual,omitempty"`
}

// CutPlan is one way to cut the actor's deploy paths.
type CutPlan struct {
	Rank        int                      `json:"rank"`
	Method      string                   `json:"method"`
	Edges       []queries.Hop            `json:"edges"`
	BlastRadius []queries.CapabilityLoss `json:"blast_radius"`
	Commands    []Command                `json:"commands"`
}

// safeWord are values that need no quoting in a POSIX shell.
var safeWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// Quote quotes s for a POSIX shell: single quotes, each embedded single
// quote written as '\”. Nothing inside single quotes is expanded ($(...),
// backticks, globs), so attacker-chosen names stay data.
func Quote(s string) string {
	if s != "" && safeWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hasControl reports characters a terminal could interpret: commands with
// such values are printed as manual steps, never as a line to paste.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0
}

// cmd builds a command from literal words (program, subcommands, flags)
// and values (quoted). Arguments alternate: a literal prefix "--flag" is
// given as lit("--flag"), a value as val(x).
type word struct {
	s   string
	lit bool
}

func lit(s string) word { return word{s, true} }
func val(s string) word { return word{s, false} }

func command(why string, ws ...word) Command {
	parts := make([]string, 0, len(ws))
	for _, w := range ws {
		if w.lit {
			parts = append(parts, w.s)
			continue
		}
		if hasControl(w.s) || w.s == "" {
			return Command{Why: why, Manual: "a value contains control characters or is unknown: " + strings.Join(visible(ws), " ")}
		}
		parts = append(parts, Quote(w.s))
	}
	return Command{Shell: strings.Join(parts, " "), Why: why}
}

func visible(ws []word) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		s := w.s
		if !w.lit {
			s = fmt.Sprintf("%q", w.s)
		}
		out = append(out, s)
	}
	return out
}

func manual(why, what string) Command { return Command{Why: why, Manual: what} }

// lastSeg is the part after the last "/" (an ARN's or id's name).
func lastSeg(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// containment stops the workload of the deploy event and disables the
// credential the actor used.
func containment(a rules.Alert, ref *rules.EventRef, full *event.Event, actorEv *event.Event, more []event.Event) []Command {
	out := []Command{}
	if ref != nil {
		out = append(out, workload(ref, full)...)
	}
	for i := range more {
		e := &more[i]
		if full != nil && refKey(e.Ref) == refKey(full.Ref) {
			continue
		}
		r := rules.EventRef{Time: e.Time, Format: e.Format, ID: e.ID, Action: e.Action, Class: e.Class, Outcome: e.Outcome, Scope: e.Scope, Ref: e.Ref}
		out = append(out, workload(&r, e)...)
	}
	out = append(out, credential(a, actorEv)...)
	return out
}

func workload(ref *rules.EventRef, e *event.Event) []Command {
	if e == nil {
		return []Command{manual("stop the workload of "+ref.Action, "the deploy record was not found in the given logs (--logs): identify the workload from "+ref.Format+" record "+ref.ID+" and stop it")}
	}
	res, region, surface := e.Resource, e.Region, e.Detail("surface")
	reg := []word{}
	if region != "" {
		reg = []word{lit("--region"), val(region)}
	}
	with := func(ws []word, extra ...word) []word { return append(append(ws, extra...), reg...) }
	switch surface {
	case "ecs":
		cluster := nonEmpty(e.Detail("cluster"), "default")
		if strings.Contains(cluster, "/") {
			cluster = lastSeg(cluster)
		}
		switch e.Action {
		case "RunTask", "StartTask":
			family := strings.SplitN(lastSeg(res), ":", 2)[0]
			c := command("stop the running tasks started from task definition family "+family, with([]word{lit("aws ecs list-tasks"), lit("--cluster"), val(cluster), lit("--family"), val(family), lit("--desired-status RUNNING --query 'taskArns[]' --output text")})...)
			if c.Shell != "" {
				// Each task ARN is passed quoted by the shell ("$t").
				c.Shell = "for t in $(" + c.Shell + "); do aws ecs stop-task --cluster " + Quote(cluster) + " --task \"$t\" --reason 'permgraph incident containment'" + strings.Join(wordsOf(reg), "") + "; done"
			}
			return []Command{
				command("record the tasks for forensics (definition, image digests, role)", with([]word{lit("aws ecs list-tasks"), lit("--cluster"), val(cluster), lit("--family"), val(family)})...),
				c,
			}
		case "CreateService", "UpdateService", "CreateTaskSet":
			return []Command{command("scale the service to zero", with([]word{lit("aws ecs update-service"), lit("--cluster"), val(cluster), lit("--service"), val(lastSeg(res)), lit("--desired-count"), lit("0")})...)}
		case "RegisterTaskDefinition":
			family := nonEmpty(e.Detail("family"), res)
			return []Command{
				command("list the revisions of the registered family", with([]word{lit("aws ecs list-task-definitions"), lit("--family-prefix"), val(family), lit("--sort DESC")})...),
				manual("deregister the new revision so nothing new starts from it", "aws ecs deregister-task-definition --task-definition "+Quote(family)+":<revision registered at "+e.Time.UTC().Format(time.RFC3339)+">"),
			}
		}
	case "lambda":
		fn := lastSeg(res)
		if strings.Contains(res, ":function:") {
			fn = res
		}
		return []Command{command("throttle the function to zero (keeps it for forensics)", with([]word{lit("aws lambda put-function-concurrency"), lit("--function-name"), val(fn), lit("--reserved-concurrent-executions"), lit("0")})...)}
	case "apprunner":
		return []Command{command("pause the App Runner service", with([]word{lit("aws apprunner pause-service"), lit("--service-arn"), val(res)})...)}
	case "batch":
		return []Command{manual("terminate the Batch job", "aws batch terminate-job --job-id <job id from the RunJob response> --reason 'permgraph incident'")}
	case "aci":
		return []Command{
			command("record the container group", lit("az container show"), lit("--ids"), val(res)),
			command("stop the container group", lit("az container stop"), lit("--ids"), val(res)),
		}
	case "containerapps":
		return []Command{
			command("record the container app", lit("az containerapp show"), lit("--ids"), val(res)),
			command("stop the app's running revisions (scale to zero)", lit("az containerapp update"), lit("--ids"), val(res), lit("--min-replicas"), lit("0"), lit("--max-replicas"), lit("0")),
		}
	case "cloudrun":
		svc, project := lastSeg(res), e.Scope
		ws := []word{}
		if project != "" {
			ws = append(ws, lit("--project"), val(project))
		}
		return []Command{
			manual("send traffic back to the last known-good revision", "gcloud run services update-traffic "+Quote(svc)+" --to-revisions=<previous-revision>=100"+regionFlag(region)),
			command("delete the service after forensics", append(append([]word{lit("gcloud run services delete"), val(svc)}, ws...), gcloudRegion(region)...)...),
		}
	case "k8s", "eks", "aks", "gke":
		return k8sWorkload(e)
	}
	return []Command{manual("stop the workload", fmt.Sprintf("no command template for surface %q action %s: stop resource %q by hand", surface, e.Action, res))}
}

func wordsOf(ws []word) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		if w.lit {
			out = append(out, " "+w.s)
		} else {
			out = append(out, " "+Quote(w.s))
		}
	}
	return out
}

func regionFlag(r string) string {
	if r == "" {
		return ""
	}
	return " --region=" + Quote(r)
}

func gcloudRegion(r string) []word {
	if r == "" {
		return nil
	}
	return []word{lit("--region"), val(r)}
}

func nonEmpty(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// k8sWorkload: resources look like "namespaces/NS/pods/NAME" or
// "apps/v1/namespaces/NS/deployments/NAME" (docs/detect-formats.md).
func k8sWorkload(e *event.Event) []Command {
	f := strings.Split(e.Resource, "/")
	var ns, kind, name string
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "namespaces" {
			ns = f[i+1]
			if i+3 < len(f) {
				kind, name = f[i+2], f[i+3]
			}
		}
	}
	if kind == "" || name == "" {
		return []Command{manual("stop the workload", "resource "+fmt.Sprintf("%q", e.Resource)+" not understood: kubectl delete it by hand")}
	}
	nsw := []word{}
	if ns != "" {
		nsw = []word{lit("-n"), val(ns)}
	}
	get := command("record the object for forensics", append([]word{lit("kubectl get"), val(kind), val(name), lit("-o yaml")}, nsw...)...)
	switch kind {
	case "deployments", "statefulsets", "replicasets":
		return []Command{get, command("scale it to zero", append([]word{lit("kubectl scale"), val(kind + "/" + name), lit("--replicas=0")}, nsw...)...)}
	default:
		return []Command{get, command("delete it", append([]word{lit("kubectl delete"), val(kind), val(name)}, nsw...)...)}
	}
}

// credential disables what the actor signed in with.
func credential(a rules.Alert, e *event.Event) []Command {
	id := a.Actor.ID
	switch {
	case strings.HasPrefix(id, "aws:arn:aws:iam::") && strings.Contains(id, ":user/"):
		user := lastSeg(id)
		out := []Command{command("list the user's access keys", lit("aws iam list-access-keys"), lit("--user-name"), val(user))}
		if e != nil && e.Actor.AccessKeyID != "" {
			out = append(out, command("deactivate the access key used", lit("aws iam update-access-key"), lit("--user-name"), val(user), lit("--access-key-id"), val(e.Actor.AccessKeyID), lit("--status"), lit("Inactive")))
		}
		return append(out, command("remove console access (if any)", lit("aws iam delete-login-profile"), lit("--user-name"), val(user)))
	case strings.HasPrefix(id, "aws:arn:aws:iam::") && strings.Contains(id, ":role/"):
		return []Command{manual("revoke the role's active sessions", "attach the AWSRevokeOlderSessions inline policy (deny all when aws:TokenIssueTime is before now) to role "+Quote(lastSeg(id))+": IAM console, Roles, Revoke active sessions")}
	case strings.HasPrefix(id, "entra:user:"):
		oid := strings.TrimPrefix(id, "entra:user:")
		return []Command{
			command("block sign-in", lit("az ad user update"), lit("--id"), val(oid), lit("--account-enabled"), lit("false")),
			command("revoke refresh tokens and sessions", lit("az rest"), lit("--method"), lit("POST"), lit("--url"), val("https://graph.microsoft.com/v1.0/users/"+oid+"/revokeSignInSessions")),
		}
	case strings.HasPrefix(id, "gcp:sa:"):
		email := strings.TrimPrefix(id, "gcp:sa:")
		out := []Command{command("list the service account's keys", lit("gcloud iam service-accounts keys list"), lit("--iam-account"), val(email))}
		if e != nil && e.Actor.AccessKeyID != "" {
			out = append(out, command("disable the key used", lit("gcloud iam service-accounts keys disable"), val(lastSeg(e.Actor.AccessKeyID)), lit("--iam-account"), val(email)))
		}
		return out
	}
	return []Command{manual("disable the actor's credential", "no template for actor "+fmt.Sprintf("%q", id)+": suspend it in its directory")}
}

// reverts undoes the actor's grants seen in the logs.
func reverts(grants []event.Event) []Command {
	out := []Command{}
	for _, g := range grants {
		if g.Detail("op") == "remove" {
			continue
		}
		member, group := nonEmpty(g.Detail("member"), g.Detail("memberId")), nonEmpty(g.Detail("groupName"), g.Detail("group"))
		why := fmt.Sprintf("undo %s at %s", g.Action, g.Time.UTC().Format("2006-01-02T15:04:05Z"))
		switch {
		case g.Action == "AddUserToGroup":
			out = append(out, command(why, lit("aws iam remove-user-from-group"), lit("--group-name"), val(lastSeg(group)), lit("--user-name"), val(lastSeg(member))))
		case g.Action == "AttachUserPolicy" || g.Action == "AttachRolePolicy" || g.Action == "AttachGroupPolicy":
			kind := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(g.Action, "Attach"), "Policy"))
			out = append(out, command(why, lit("aws iam detach-"+kind+"-policy"), lit("--"+kind+"-name"), val(lastSeg(nonEmpty(member, g.Detail("roleName")))), lit("--policy-arn"), val(g.Detail("policy"))))
		case g.Cloud == "azure" && g.Detail("memberId") != "" && g.Detail("group") != "":
			out = append(out, command(why, lit("az ad group member remove"), lit("--group"), val(g.Detail("group")), lit("--member-id"), val(g.Detail("memberId"))))
		case g.Cloud == "google-workspace" && group != "" && member != "":
			out = append(out, command(why, lit("gcloud identity groups memberships delete"), lit("--group-email"), val(group), lit("--member-email"), val(member)))
		default:
			out = append(out, manual(why, fmt.Sprintf("revert %s on %q (member %q) by hand", g.Action, nonEmpty(group, g.Resource), member)))
		}
	}
	return out
}

// cutPlans computes the cheapest cuts of the actor's deploy paths in v and
// renders each as revocation commands.
func cutPlans(v *graph.View, actor, scope string) ([]CutPlan, error) {
	out := []CutPlan{}
	n, ok := v.Lookup(actor)
	if !ok {
		return out, nil
	}
	targets := deployTargets(v, n, scope)
	if len(targets) == 0 {
		return out, nil
	}
	res, err := queries.CheapestCut(v, n, targets, queries.CutOptions{})
	if err != nil {
		return out, fmt.Errorf("cheapest cut: %w", err)
	}
	for i, c := range res.Cuts {
		p := CutPlan{Rank: i + 1, Method: c.Method, Edges: c.Edges, BlastRadius: c.BlastRadius, Commands: []Command{}}
		if p.BlastRadius == nil {
			p.BlastRadius = []queries.CapabilityLoss{}
		}
		for _, h := range c.Edges {
			p.Commands = append(p.Commands, revoke(v, h)...)
		}
		out = append(out, p)
	}
	return out, nil
}

var gcpRole = regexp.MustCompile(`\b((?:projects|organizations)/[^ /]+/roles/[^ ]+|roles/[A-Za-z0-9_.]+)`)

// revoke renders the removal of one edge.
func revoke(v *graph.View, h queries.Hop) []Command {
	why := fmt.Sprintf("remove %s -%s-> %s", nameOr(h.FromName, h.From), h.Edge, nameOr(h.ToName, h.To))
	switch {
	case h.Edge == "SameIdentity":
		return []Command{manual(why, "a cross-directory identity link: suspend the account "+fmt.Sprintf("%q", h.To)+" in its directory, or fix the matching email")}
	case h.Edge == "MemberOf" && strings.HasPrefix(h.To, "entra:group:"):
		return []Command{command(why, lit("az ad group member remove"), lit("--group"), val(strings.TrimPrefix(h.To, "entra:group:")), lit("--member-id"), val(entraOID(h.From)))}
	case h.Edge == "MemberOf" && strings.HasPrefix(h.To, "gws:group:"):
		return []Command{command(why, lit("gcloud identity groups memberships delete"), lit("--group-email"), val(email(v, h.To)), lit("--member-email"), val(email(v, h.From)))}
	case fromScope(v, h.From):
		return []Command{manual(why, "structure, not a grant: "+fmt.Sprintf("%q", nameOr(h.FromName, h.From))+" stands for every object a tenant-wide role reaches; revoke the role assignment on the hop before it")}
	case h.Edge == "CanAddMember" && strings.HasPrefix(h.To, "entra:group:") && ownedVia(h):
		return []Command{command(why+" (group ownership)", lit("az ad group owner remove"), lit("--group"), val(strings.TrimPrefix(h.To, "entra:group:")), lit("--owner-object-id"), val(entraOID(h.From)))}
	case h.Edge == "CanAddMember" && strings.HasPrefix(h.To, "gws:group:"):
		return []Command{command(why+" (group ownership or manager role)", lit("gcloud identity groups memberships modify-membership-roles"), lit("--group-email"), val(email(v, h.To)), lit("--member-email"), val(email(v, h.From)), lit("--remove-roles=OWNER,MANAGER"))}
	case h.Edge == "CanAssume" && strings.Contains(h.To, ":role/"):
		return []Command{manual(why, "edit the trust policy of role "+Quote(lastSeg(h.To))+" to drop "+Quote(strings.TrimPrefix(h.From, "aws:"))+
			": aws iam get-role --role-name "+Quote(lastSeg(h.To))+", then aws iam update-assume-role-policy --role-name "+Quote(lastSeg(h.To))+" --policy-document file://trust.json (or remove sts:AssumeRole from the caller's own policies, below)")}
	}
	var out []Command
	seen := map[string]bool{}
	for _, ev := range h.Evidence {
		c := revokeEvidence(v, h, ev, why)
		if c.Shell != "" && seen[c.Shell] {
			continue
		}
		seen[c.Shell] = true
		out = append(out, c)
	}
	if len(out) == 0 {
		out = append(out, manual(why, "no evidence recorded on this edge: review it with `permgraph path`"))
	}
	return out
}

// fromScope reports whether id is a scope node (a tenant or a derived
// tenant-wide set): edges out of it are structure.
func fromScope(v *graph.View, id string) bool {
	n, ok := v.Lookup(id)
	return ok && v.NodeKind(n) == graph.NodeScope
}

// ownedVia reports whether an Entra CanAddMember hop comes from group
// ownership (a role scoped to the group is revoked through its assignment).
func ownedVia(h queries.Hop) bool {
	for _, ev := range h.Evidence {
		if ev.Statement == "owner" || strings.HasSuffix(ev.Source, "/owners") {
			return true
		}
	}
	return false
}

// revokeEvidence removes one evidence source (policy, assignment, binding).
func revokeEvidence(v *graph.View, h queries.Hop, ev graph.Evidence, why string) Command {
	src := ev.Source
	switch {
	case strings.Contains(src, "/providers/Microsoft.Authorization/roleAssignments/"):
		return command(why+" (deletes the whole role assignment)", lit("az role assignment delete"), lit("--ids"), val(src))
	case strings.HasPrefix(src, "gcp:iam:"):
		res := strings.TrimPrefix(src, "gcp:iam:")
		role := gcpRole.FindString(ev.Detail)
		member := gcpMember(v, h.From)
		kind, id, _ := strings.Cut(strings.TrimPrefix(res, "gcp:"), ":")
		var group []word
		switch kind {
		case "project":
			group = []word{lit("gcloud projects remove-iam-policy-binding"), val(id)}
		case "folder":
			group = []word{lit("gcloud resource-manager folders remove-iam-policy-binding"), val(id)}
		case "organization", "org":
			group = []word{lit("gcloud organizations remove-iam-policy-binding"), val(id)}
		case "sa":
			group = []word{lit("gcloud iam service-accounts remove-iam-policy-binding"), val(id)}
		default:
			return manual(why, fmt.Sprintf("remove binding %s (%s) of %s from IAM policy %q", ev.Statement, role, member, res))
		}
		return command(why+" (binding "+ev.Statement+")", append(group, lit("--member"), val(member), lit("--role"), val(role))...)
	case strings.HasPrefix(src, "aws:arn:aws:iam::"):
		return awsPolicyRevoke(v, h, strings.TrimPrefix(src, "aws:"), why)
	case strings.HasPrefix(src, "graph:/groups/") && strings.HasSuffix(src, "/members"):
		return command(why, lit("az ad group member remove"), lit("--group"), val(strings.TrimSuffix(strings.TrimPrefix(src, "graph:/groups/"), "/members")), lit("--member-id"), val(entraOID(h.From)))
	}
	return manual(why, fmt.Sprintf("remove %q (statement %q: %s)", src, ev.Statement, ev.Detail))
}

// awsPolicyRevoke: inline "arn...:user/x#inline/Name" or a managed policy ARN
// attached to the hop's principal (or to a group it is in: AWS group
// policies are folded into members' edges).
func awsPolicyRevoke(v *graph.View, h queries.Hop, src, why string) Command {
	from := strings.TrimPrefix(h.From, "aws:")
	if owner, name, ok := strings.Cut(src, "#inline/"); ok {
		kind, principal := iamKind(owner)
		if kind == "" {
			return manual(why, fmt.Sprintf("remove inline policy %q", src))
		}
		if owner != from && kind == "group" {
			return command(why+" (the user gets it from group "+lastSeg(owner)+")", lit("aws iam remove-user-from-group"), lit("--group-name"), val(principal), lit("--user-name"), val(lastSeg(from)))
		}
		return command(why+" (deletes inline policy "+name+")", lit("aws iam delete-"+kind+"-policy"), lit("--"+kind+"-name"), val(principal), lit("--policy-name"), val(name))
	}
	if !strings.Contains(src, ":policy/") {
		return manual(why, fmt.Sprintf("remove %q", src))
	}
	kind, principal := iamKind(from)
	if kind == "" {
		return manual(why, fmt.Sprintf("detach policy %q from %q", src, from))
	}
	if n, ok := v.Lookup(h.From); ok {
		attached := false
		for _, e := range v.Out(n) {
			if _, to, k, _ := v.EdgeEnds(e); k == graph.EdgeHasPolicy && strings.TrimPrefix(v.NodeIDString(to), "aws:") == src {
				attached = true
			}
		}
		if !attached && kind == "user" {
			for _, e := range v.Out(n) {
				_, g, k, _ := v.EdgeEnds(e)
				if k != graph.EdgeMemberOf {
					continue
				}
				for _, ge := range v.Out(g) {
					if _, to, gk, _ := v.EdgeEnds(ge); gk == graph.EdgeHasPolicy && strings.TrimPrefix(v.NodeIDString(to), "aws:") == src {
						gname := lastSeg(v.NodeIDString(g))
						return command(why+" (the user gets "+lastSeg(src)+" from group "+gname+")", lit("aws iam remove-user-from-group"), lit("--group-name"), val(gname), lit("--user-name"), val(principal))
					}
				}
			}
		}
	}
	return command(why+" (detaches managed policy "+lastSeg(src)+")", lit("aws iam detach-"+kind+"-policy"), lit("--"+kind+"-name"), val(principal), lit("--policy-arn"), val(src))
}

// iamKind splits an IAM ARN into "user"/"role"/"group" and the name.
func iamKind(arn string) (string, string) {
	for _, k := range []string{"user", "role", "group"} {
		if i := strings.Index(arn, ":"+k+"/"); i >= 0 {
			return k, lastSeg(arn)
		}
	}
	return "", ""
}

func entraOID(id string) string {
	for _, p := range []string{"entra:user:", "entra:group:", "entra:sp:"} {
		if s, ok := strings.CutPrefix(id, p); ok {
			return s
		}
	}
	return id
}

func email(v *graph.View, id string) string {
	if n, ok := v.Lookup(id); ok {
		nd := v.Node(n)
		if nd.Email != "" {
			return nd.Email
		}
		if e := nd.Attrs["email"]; e != "" {
			return e
		}
	}
	return ""
}

func gcpMember(v *graph.View, id string) string {
	switch {
	case strings.HasPrefix(id, "gcp:sa:"):
		return "serviceAccount:" + strings.TrimPrefix(id, "gcp:sa:")
	case strings.HasPrefix(id, "gws:group:"):
		return "group:" + email(v, id)
	case strings.HasPrefix(id, "gws:user:"):
		return "user:" + email(v, id)
	}
	return id
}
