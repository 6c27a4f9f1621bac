// Command genazure writes a synthetic, deterministic Entra ID + Azure RBAC
// tenant as the offline capture `permgraph collect azure --from DIR` reads
// (bench/genazure/README.md):
//
//	genazure -users 500000 -out /tmp/genazure-big                    # day 0
//	genazure -users 500000 -churn 0.01 -churn-round 3 -out /tmp/day3  # day 3: ~1%/day changed
//
// -users sizes everything else in the proportions of the scale target;
// the other size flags override it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"permgraph/bench/genazure"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genazure:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("genazure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	users := fs.Int("users", 20000, "users; sets the defaults of every other size")
	def := genazure.ForUsers(1)
	sizes := map[string]*int{}
	size := func(name, usage string) { sizes[name] = fs.Int(name, 0, usage+" (default: from -users)") }
	size("groups", "groups")
	size("depth", "groups per nesting chain")
	size("sps", "service principals (Microsoft Graph, first-party apps, tenant apps, managed identities, third-party apps)")
	size("apps", "applications")
	size("dir-roles", "directory role assignments (active)")
	size("pim", "PIM-eligible directory role assignments")
	size("subs", "subscriptions")
	size("rgs", "resource groups per subscription")
	size("role-assignments", "Azure role assignments (active)")
	size("rbac-eligible", "PIM-eligible Azure role assignments")
	size("tenant-admins", "tenant-wide holders of group-managing roles (each linked to every group through one set node)")
	domain := fs.String("domain", def.Domain, "verified domain of member UPNs (user<i>@domain)")
	tenant := fs.String("tenant", "", "tenant id (default: derived from -seed)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same bytes")
	churn := fs.Float64("churn", def.Churn, "fraction changed per churn round")
	round := fs.Int("churn-round", 0, "day to produce: 0 is the base tenant, K has K rounds of churn applied")
	faults := fs.Bool("faults", true, "inject throttled pages, a hidden group, deleted principals and a refused PIM list")
	out := fs.String("out", "", "output directory (graph.jsonl, arm.jsonl)")
	quiet := fs.Bool("q", false, "do not print a summary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if *out == "" {
		return fmt.Errorf("-out DIR is required")
	}
	c := genazure.ForUsers(*users)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, field := range map[string]*int{
		"groups": &c.Groups, "depth": &c.Depth, "sps": &c.ServicePrincipals, "apps": &c.Applications,
		"dir-roles": &c.DirectoryRoles, "pim": &c.PIMEligible, "subs": &c.Subscriptions, "rgs": &c.ResourceGroups,
		"role-assignments": &c.RoleAssignments, "rbac-eligible": &c.RBACEligible, "tenant-admins": &c.TenantAdmins,
	} {
		if set[name] {
			*field = *sizes[name]
		}
	}
	c.Domain, c.Tenant, c.Seed, c.Churn, c.Round, c.Faults = *domain, *tenant, *seed, *churn, *round, *faults

	start := time.Now()
	st, err := genazure.WriteDir(*out, c)
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stderr, "genazure: %d users (%d guests), %d groups, %d memberships (largest group %d, nesting depth %d), %d owners, "+
			"%d service principals, %d applications, %d Graph app role grants, %d+%d directory role assignments (active+eligible); "+
			"%d subscriptions, %d resource groups, %d role definitions, %d+%d Azure role assignments, %d deny assignments; "+
			"graph.jsonl %d lines %.1f MB, arm.jsonl %d lines %.1f MB, %d injected warnings; %s\n",
			st.Users, st.Guests, st.Groups, st.Memberships, st.MaxGroupMembers, st.NestingDepth, st.Owners,
			st.ServicePrincipals, st.Applications, st.AppRoleAssignments, st.DirectoryRoleAssignments, st.DirectoryEligible,
			st.Subscriptions, st.ResourceGroups, st.RoleDefinitions, st.RoleAssignments, st.RBACEligible, st.DenyAssignments,
			st.GraphLines, float64(st.GraphBytes)/1e6, st.ARMLines, float64(st.ARMBytes)/1e6, len(st.ExpectedWarnings()),
			time.Since(start).Round(time.Millisecond))
	}
	return nil
}
