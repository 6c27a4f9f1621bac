package queries_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"permgraph/bench/gen"
	"permgraph/bench/gengraph"
	"permgraph/graph"
	"permgraph/queries"
)

// The query benchmarks run on a view of a generated organisation: its
// collected structure (users, groups, roles, policies with documents,
// MemberOf, HasPolicy, HasBoundary) comes from bench/gengraph, exactly as
// the collector would produce it; the evaluated layer (Can, CanAssume,
// CanPassRole and escalation edges) is synthesised here with the per-
// principal rates policy/aws.Derive produces on the same generated
// organisation (measured at 4k principals: 27% of users and 19% of groups
// have a Can edge, per user ~0.19 CanAssume into jump roles and ~1.2
// CanPassRole, 2% an ECR image-tampering edge), so query numbers do not
// depend on how fast derivation is (docs/performance.md) and a 100k view
// builds in seconds; queries must not depend on a collector either.

type benchView struct {
	v               *graph.View
	deployer        string   // a user whose shortest path to deploy is user -> jump -> deploy role -> capability
	user            string   // an ordinary user (may or may not reach deploy)
	chainCandidates []string // users with a CanAssume into a jump role and no direct Can edge
}

var views sync.Map // principals -> *benchView, shared by the benchmarks

func derivedView(b *testing.B, principals int) *benchView {
	b.Helper()
	if bv, ok := views.Load(principals); ok {
		return bv.(*benchView)
	}
	o, err := gen.NewOrg(gen.ForPrincipals(principals))
	if err != nil {
		b.Fatal(err)
	}
	g := gengraph.Collected(o)
	bv := synthesizeDerived(b, g, o.Account())
	bv.v = graph.NewViewFromGraphs(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), nil, g)
	bv.v.FindByName("") // build the name index now: these are warm (serve) numbers
	// The chain benchmarks start from a user whose shortest way to deploy
	// is the role chain (user -> jump role -> deploy role -> capability).
	for _, name := range bv.chainCandidates {
		res, err := queries.FindPath(bv.v, name, "deploy", queries.PathOptions{})
		if err == nil && len(res.Paths) == 1 && len(res.Paths[0].Hops) >= 3 {
			bv.deployer = name
			break
		}
	}
	if bv.deployer == "" {
		b.Fatal("no user reaches deploy only through a role chain")
	}
	views.Store(principals, bv)
	return bv
}

func synthesizeDerived(b *testing.B, g *graph.SourceGraph, acct string) *benchView {
	rng := rand.New(rand.NewPCG(42, 7))
	capID := "cap:deploy-container:aws:" + acct
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(g.AddNode(graph.Node{ID: capID, Kind: graph.NodeCapability, Name: "deploy-container (aws " + acct + ")",
		Attrs: map[string]string{"capability": "deploy-container", "cloud": "aws", "scope": acct}}))
	var users, groups, ecs, jump, deploy, fed []graph.Node
	var policies []string
	for _, n := range g.SortedNodes() {
		arn := n.Attrs["arn"]
		switch {
		case n.Kind == graph.NodeUser:
			users = append(users, n)
		case n.Kind == graph.NodeGroup:
			groups = append(groups, n)
		case n.Kind == graph.NodePolicy:
			policies = append(policies, n.ID)
		case strings.Contains(arn, ":role/ecs/"):
			ecs = append(ecs, n)
		case strings.Contains(arn, ":role/jump/"):
			jump = append(jump, n)
		case strings.Contains(arn, ":role/deploy/"):
			deploy = append(deploy, n)
		case strings.Contains(arn, ":role/sso/"):
			fed = append(fed, n)
		}
	}
	if len(users) == 0 || len(jump) == 0 || len(deploy) == 0 || len(ecs) == 0 {
		b.Fatalf("generated org too small: %d users, %d jump, %d deploy, %d ecs roles", len(users), len(jump), len(deploy), len(ecs))
	}
	evidence := func(action string) []graph.Evidence {
		p := policies[rng.IntN(len(policies))]
		return []graph.Evidence{{Source: p, Statement: fmt.Sprintf("%d (RunContainers)", rng.IntN(3)),
			Detail: fmt.Sprintf("allow %s by %s (group %s)", action, p[strings.LastIndexByte(p, '/')+1:], groups[rng.IntN(len(groups))].Name)}}
	}
	trustEv := func(role graph.Node) []graph.Evidence {
		return []graph.Evidence{{Source: role.ID + "#trust", Statement: "0", Detail: "trust policy allow"}}
	}
	add := func(e graph.Edge) { must(g.AddEdge(e)) }
	canEdge := func(from string, conditional bool) {
		e := graph.Edge{From: from, Kind: graph.EdgeCan, To: capID, Evidence: evidence("ecs-run-task: ecs:RunTask"),
			Attrs: map[string]string{"recipes": "ecs-run-task,ecs-create-service"}}
		if conditional {
			e.Conditional, e.Condition = true, `{"Bool":{"aws:MultiFactorAuthPresent":["true"]}}`
		}
		add(e)
	}
	// Roles: chains jump -> deploy -> capability, services into task roles.
	for i, d := range deploy {
		canEdge(d.ID, false)
		j := jump[i%len(jump)]
		add(graph.Edge{From: j.ID, Kind: graph.EdgeCanAssume, To: d.ID, Evidence: append(trustEv(d), evidence("sts:AssumeRole")...)})
	}
	for _, r := range ecs {
		add(graph.Edge{From: "aws:service:ecs-tasks.amazonaws.com", Kind: graph.EdgeCanAssume, To: r.ID, Evidence: trustEv(r)})
	}
	must(g.AddNode(graph.Node{ID: "aws:service:ecs-tasks.amazonaws.com", Kind: graph.NodeService, Name: "ecs-tasks.amazonaws.com"}))
	idp := "aws:arn:aws:iam::" + acct + ":saml-provider/Okta"
	must(g.AddNode(graph.Node{ID: idp, Kind: graph.NodeFederated, Name: "arn:aws:iam::" + acct + ":saml-provider/Okta"}))
	for _, r := range fed {
		add(graph.Edge{From: idp, Kind: graph.EdgeCanAssume, To: r.ID, Evidence: trustEv(r), Conditional: true, Condition: `{"StringEquals":{"SAML:aud":["https://signin.aws.amazon.com/saml"]}}`})
	}
	for _, gr := range groups {
		if rng.Float64() < 0.19 {
			canEdge(gr.ID, false)
		}
	}
	bv := &benchView{}
	for i, u := range users {
		x := rng.Float64()
		if x < 0.27 {
			canEdge(u.ID, rng.IntN(10) == 0)
		}
		if rng.Float64() < 0.19 {
			j := jump[rng.IntN(len(jump))]
			add(graph.Edge{From: u.ID, Kind: graph.EdgeCanAssume, To: j.ID, Evidence: append(trustEv(j), evidence("sts:AssumeRole")...)})
			if x >= 0.27 && len(bv.chainCandidates) < 200 {
				bv.chainCandidates = append(bv.chainCandidates, u.Name)
			}
		}
		passes := rng.IntN(3)
		if rng.Float64() < 0.23 {
			passes++
		}
		for k := passes; k > 0; k-- {
			r := ecs[(i+rng.IntN(8))%len(ecs)]
			add(graph.Edge{From: u.ID, Kind: graph.EdgeCanPassRole, To: r.ID, Evidence: evidence("ecs-create-service: pass " + r.Name),
				Attrs: map[string]string{"technique": "ecs-create-service", "source": "PF ecs-001/ecs-003"}})
		}
		if rng.Float64() < 0.02 {
			add(graph.Edge{From: u.ID, Kind: graph.EdgeCanPushImage, To: capID, Evidence: evidence("ecr-image-tampering"),
				Attrs: map[string]string{"technique": "ecr-image-tampering", "indirect": "true"}})
		}
		if bv.user == "" && i == len(users)/2 {
			bv.user = u.Name
		}
	}
	return bv
}

func benchPrincipals() int { return gen.EnvPrincipals(20000) }

// BenchmarkWhoCanDeploy is `who-can deploy` on a warm (in-memory) view:
// reverse BFS from the capability, then one explained path per principal.
func BenchmarkWhoCanDeploy(b *testing.B) {
	bv := derivedView(b, benchPrincipals())
	for _, tc := range []struct {
		name string
		o    queries.WhoCanOptions
	}{
		{"default", queries.WhoCanOptions{}},
		{"include-conditional", queries.WhoCanOptions{IncludeConditional: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var res *queries.WhoCanResult
			var err error
			for b.Loop() {
				if res, err = queries.WhoCanDeploy(bv.v, tc.o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(res.Principals)), "principals")
			b.ReportMetric(float64(bv.v.NumEdges()), "view-edges")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
}

// BenchmarkFindPath is `path FROM deploy` (shortest, with evidence) and
// `path FROM deploy --all` on a warm view. The target for serve is <= 1 ms.
func BenchmarkFindPath(b *testing.B) {
	bv := derivedView(b, benchPrincipals())
	for _, tc := range []struct {
		name, from string
		o          queries.PathOptions
	}{
		{"chain-shortest", bv.deployer, queries.PathOptions{}},
		{"chain-all", bv.deployer, queries.PathOptions{All: true, IncludeConditional: true}},
		{"user-shortest", bv.user, queries.PathOptions{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var res *queries.PathResult
			var err error
			for b.Loop() {
				if res, err = queries.FindPath(bv.v, tc.from, "deploy", tc.o); err != nil {
					b.Fatal(err)
				}
			}
			hops := 0
			for _, p := range res.Paths {
				hops = max(hops, len(p.Hops))
			}
			b.ReportMetric(float64(len(res.Paths)), "paths")
			b.ReportMetric(float64(hops), "max-hops")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
}
