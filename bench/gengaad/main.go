// Command gengaad writes a synthetic, deterministic AWS IAM
// get-account-authorization-details export for benchmarks (bench/README.md).
//
//	gengaad -principals 20000 -seed 1 -out org.json               # day 0
//	gengaad -principals 20000 -seed 1 -churn 0.01 -churn-round 3  # day 3: ~1%/day changed
//
// -principals sizes users, groups, roles and policies in the proportions of
// the scale target; -users, -groups, -roles and -policies override it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"permgraph/bench/gen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gengaad:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gengaad", flag.ContinueOnError)
	fs.SetOutput(stderr)
	principals := fs.Int("principals", 20000, "users + roles; sets the defaults of -users, -groups, -roles and -policies")
	users := fs.Int("users", 0, "IAM users (default: from -principals)")
	groups := fs.Int("groups", 0, "IAM groups (default: from -principals)")
	roles := fs.Int("roles", 0, "IAM roles (default: from -principals)")
	policies := fs.Int("policies", 0, "customer managed policies (default: from -principals)")
	account := fs.String("account", gen.DefaultAccount, "12-digit account id")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same organisation")
	churn := fs.Float64("churn", 0.01, "fraction of users, groups, roles and policies changed per churn round")
	round := fs.Int("churn-round", 0, "day to produce: 0 is the base organisation, K has K rounds of churn applied")
	out := fs.String("out", "-", "output file (- for stdout)")
	quiet := fs.Bool("q", false, "do not print a summary to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	c := gen.ForPrincipals(*principals)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["users"] {
		c.Users = *users
	}
	if set["groups"] {
		c.Groups = *groups
	}
	if set["roles"] {
		c.Roles = *roles
	}
	if set["policies"] {
		c.Policies = *policies
	}
	c.Account, c.Seed, c.Churn, c.Round = *account, *seed, *churn, *round

	start := time.Now()
	var st gen.Stats
	var err error
	if *out == "-" {
		st, err = gen.Write(stdout, c)
	} else {
		st, err = gen.WriteFile(*out, c)
	}
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stderr, "gengaad: %d users, %d groups, %d roles, %d policies, %d memberships, %d inline policies; %.1f MB in %s\n",
			st.Users, st.Groups, st.Roles, st.Policies, st.Memberships, st.InlinePolicies, float64(st.Bytes)/1e6, time.Since(start).Round(time.Millisecond))
	}
	return nil
}
