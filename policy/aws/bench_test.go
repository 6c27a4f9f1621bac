package aws_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"permgraph/bench/gen"
	"permgraph/bench/gengraph"
	"permgraph/catalog"
	"permgraph/graph"
	"permgraph/policy/aws"
)

// benchGraph adapts a SourceGraph to aws.Graph (the resolver's read access).
type benchGraph struct {
	g   *graph.SourceGraph
	out map[string]map[graph.EdgeKind][]string
}

func newBenchGraph(g *graph.SourceGraph) *benchGraph {
	bg := &benchGraph{g: g, out: map[string]map[graph.EdgeKind][]string{}}
	for _, e := range g.SortedEdges() {
		m := bg.out[e.From]
		if m == nil {
			m = map[graph.EdgeKind][]string{}
			bg.out[e.From] = m
		}
		m[e.Kind] = append(m[e.Kind], e.To)
	}
	return bg
}

func (bg *benchGraph) Node(id string) (graph.Node, bool) { n, ok := bg.g.Nodes[id]; return n, ok }
func (bg *benchGraph) Targets(id string, k graph.EdgeKind) []string {
	return bg.out[id][k]
}

func benchOrg(b *testing.B, principals int) *gen.Org {
	b.Helper()
	o, err := gen.NewOrg(gen.ForPrincipals(principals))
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// firstARN returns the ARN of the first node of kind whose ARN contains part.
func firstARN(nodes []graph.Node, kind graph.NodeKind, part string) string {
	for _, n := range nodes {
		if n.Kind == kind && strings.Contains(n.Attrs["arn"], part) {
			return n.Attrs["arn"]
		}
	}
	return ""
}

// BenchmarkEvaluate measures single authorization decisions on realistic
// principals (a user's own policies plus those of its 1-5 groups, a
// boundary on some) for a mix of questions: deploy actions on any resource,
// iam:PassRole to a service, sts:AssumeRole on a role, data and IAM actions
// on concrete ARNs.
func BenchmarkEvaluate(b *testing.B) {
	o := benchOrg(b, gen.EnvPrincipals(20000))
	g := gengraph.Collected(o)
	nodes := g.SortedNodes()
	res := aws.NewResolver(newBenchGraph(g))

	var principals []graph.Node
	for _, n := range nodes {
		if n.Kind == graph.NodeUser || n.Kind == graph.NodeRole {
			principals = append(principals, n)
		}
	}
	step := max(len(principals)/2000, 1) // ~2000 principals, spread over the org
	type subject struct {
		pp   *aws.PrincipalPolicies
		vars map[string]string
	}
	var subjects []subject
	stmts := 0
	for i := 0; i < len(principals); i += step {
		pp := res.PrincipalPolicies(principals[i].ID)
		for _, p := range pp.Identity {
			if p.Doc != nil {
				stmts += len(p.Doc.Statement)
			}
		}
		subjects = append(subjects, subject{pp, aws.Vars(principals[i])})
	}
	acct := o.Account()
	ecsRole, deployRole := firstARN(nodes, graph.NodeRole, ":role/ecs/"), firstARN(nodes, graph.NodeRole, ":role/deploy/")
	someUser := firstARN(nodes, graph.NodeUser, ":user/")
	reqs := []aws.Request{
		{Action: "ecs:RegisterTaskDefinition"},
		{Action: "ecs:RunTask"},
		{Action: "lambda:CreateFunction"},
		{Action: "apprunner:CreateService"},
		{Action: "ec2:DescribeInstances"},
		{Action: "iam:PassRole", Resource: ecsRole},
		{Action: "sts:AssumeRole", Resource: deployRole},
		{Action: "s3:GetObject", Resource: "arn:aws:s3:::home-" + acct + "/someone/report.csv"},
		{Action: "iam:CreateAccessKey", Resource: someUser},
		{Action: "ecs:UpdateService", Resource: "arn:aws:ecs:us-east-1:" + acct + ":service/prod-web/api"},
	}
	allowed := 0
	cpu0 := gen.CPUTime()
	for b.Loop() {
		allowed = 0
		for _, s := range subjects {
			for _, rq := range reqs {
				rq.Vars = s.vars
				if rq.Action == "iam:PassRole" {
					rq.Vars = aws.WithVar(s.vars, "iam:PassedToService", "ecs-tasks.amazonaws.com")
				}
				if aws.Evaluate(s.pp, rq).Decision == aws.Allowed {
					allowed++
				}
			}
		}
	}
	decisions := float64(len(subjects)*len(reqs)) * float64(b.N)
	b.ReportMetric(decisions/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/decisions, "ns/decision")
	b.ReportMetric((gen.CPUTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(stmts)/float64(len(subjects)), "stmts/principal")
	b.ReportMetric(float64(allowed)/float64(len(subjects)*len(reqs)), "allowed-frac")
}

// BenchmarkDerive evaluates a whole generated account: trust policies
// (CanAssume), escalation edges and deploy-container Can edges. Sizes are
// principals (users + roles); the largest is PERMGRAPH_BENCH_PRINCIPALS
// (default 20000), the small ones show how the cost grows with size.
func BenchmarkDerive(b *testing.B) {
	deploy, err := catalog.LoadDeploy()
	if err != nil {
		b.Fatal(err)
	}
	sizes := []int{1000, 2000, 4000}
	if n := gen.EnvPrincipals(20000); n > sizes[len(sizes)-1] {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		b.Run(formatK(n), func(b *testing.B) {
			o := benchOrg(b, n)
			var g *graph.SourceGraph
			var took, cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				g = gengraph.Collected(o)
				b.StartTimer()
				t0, c0 := time.Now(), gen.CPUTime()
				if err := aws.Derive(context.Background(), g, deploy.AWS); err != nil {
					b.Fatal(err)
				}
				took += time.Since(t0)
				cpu += gen.CPUTime() - c0
			}
			kinds := map[graph.EdgeKind]int{}
			for _, e := range g.Edges {
				kinds[e.Kind]++
			}
			b.ReportMetric(float64(n)*float64(b.N)/took.Seconds(), "principals/s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(kinds[graph.EdgeCan]), "Can-edges")
			b.ReportMetric(float64(kinds[graph.EdgeCanAssume]), "CanAssume-edges")
			esc := 0
			for k, c := range kinds {
				if k.IsEscalation() {
					esc += c
				}
			}
			b.ReportMetric(float64(esc), "escalation-edges")
			if testing.Verbose() {
				var ks []string
				for k, c := range kinds {
					ks = append(ks, k.String()+"="+strconv.Itoa(c))
				}
				sort.Strings(ks)
				b.Logf("%d principals: edges by kind %v, %d warnings", n, ks, len(g.Warnings))
			}
		})
	}
}

func formatK(n int) string {
	if n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}
