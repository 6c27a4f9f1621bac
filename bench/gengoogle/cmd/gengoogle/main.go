// Command gengoogle writes a synthetic Google Workspace customer and GCP
// organisation into a directory that `permgraph collect google --from DIR`
// imports (bench/gengoogle/README.md):
//
//	go run ./bench/gengoogle/cmd/gengoogle -users 500000 -groups 100000 -depth 6 \
//	    -projects 2000 -bindings 20000 -out /tmp/gengoogle-big
//	go run ./bench/gengoogle/cmd/gengoogle ... -churn 0.01 -churn-round 3 -out /tmp/day3
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"permgraph/bench/gengoogle"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gengoogle:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gengoogle", flag.ContinueOnError)
	var c gengoogle.Config
	fs.IntVar(&c.Users, "users", 5000, "Workspace users (user<i>@domain)")
	fs.IntVar(&c.Groups, "groups", 1000, "Workspace groups")
	fs.IntVar(&c.Depth, "depth", 4, "longest chain of groups nested in groups")
	fs.IntVar(&c.Projects, "projects", 50, "GCP projects (0: Workspace only)")
	fs.IntVar(&c.Folders, "folders", 0, "GCP folders (0: projects/10)")
	fs.IntVar(&c.ServiceAccounts, "service-accounts", 0, "GCP service accounts over all projects (0: 5 per project)")
	fs.IntVar(&c.Bindings, "bindings", 0, "approximate IAM grants (member, role) over all policies (0: 10 per project)")
	fs.Float64Var(&c.External, "external", 0, "fraction of mailing lists with external members (0: 0.15, negative: none)")
	fs.StringVar(&c.Domain, "domain", "", "primary domain (default example.com)")
	fs.StringVar(&c.Customer, "customer", "", "Workspace customer id (default C03gen0001)")
	fs.StringVar(&c.Org, "org", "", "GCP organization number (default 100000000001)")
	fs.StringVar(&c.Format, "format", gengoogle.FormatCAI, "GCP layout: cai (Cloud Asset Inventory export + roles.json) or capture (gcp.jsonl raw capture)")
	fs.Uint64Var(&c.Seed, "seed", 1, "generator seed")
	fs.Float64Var(&c.Churn, "churn", 0.01, "fraction of items changed per churn round")
	fs.IntVar(&c.Round, "churn-round", 0, "day: 0 is the base organisation, K applies K rounds of churn")
	out := fs.String("out", "", "output directory (created; must be empty or hold earlier output)")
	asJSON := fs.Bool("json", false, "print the counts as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	start := time.Now()
	o, err := gengoogle.New(c)
	if err != nil {
		return err
	}
	counts, err := o.Write(*out)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			gengoogle.Counts
			Nodes, Edges, DerivedNodes int
			Seconds                    float64
			PeakRSSKiB                 int64
		}{counts, counts.Nodes(), counts.Edges(), counts.DerivedNodes(), elapsed.Seconds(), peakRSS()})
	}
	fmt.Printf("wrote %s in %.1fs (peak RSS %d MiB): %d files, %.1f MB, %d pages\n", *out, elapsed.Seconds(), peakRSS()/1024,
		len(counts.Files), float64(counts.Bytes())/1e6, counts.Pages)
	fmt.Printf("  users %d, groups %d (nesting depth %d), memberships %d (owners %d, managers %d), external members %d + %d groups\n",
		counts.Users, counts.Groups, counts.Depth, counts.Memberships, counts.Owners, counts.Managers, counts.ExternalUsers, counts.PartnerGroups)
	fmt.Printf("  folders %d, projects %d, service accounts %d, policies %d, custom roles %d\n",
		counts.Folders, counts.Projects, counts.ServiceAccounts, counts.Policies, counts.CustomRoles)
	fmt.Printf("  grants %d (%d conditional, %d distinct member-role pairs, %d predefined roles, %d external principals)\n",
		counts.Grants, counts.ConditionalGrants, counts.BindingPairs, counts.PredefinedRoles, counts.ExternalPrincipals)
	fmt.Printf("  import should create %d nodes and %d edges (%d nodes after evaluation)\n", counts.Nodes(), counts.Edges(), counts.DerivedNodes())
	for _, f := range counts.Files {
		if !strings.HasPrefix(f.Name, "project-") {
			fmt.Printf("  %-40s %12d bytes\n", f.Name, f.Bytes)
		}
	}
	return nil
}

// peakRSS is VmHWM in KiB (Linux), 0 elsewhere.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int64
		if n, _ := fmt.Sscanf(sc.Text(), "VmHWM: %d kB", &kb); n == 1 {
			return kb
		}
	}
	return 0
}
