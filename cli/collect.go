package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
)

type collectAWSOptions struct {
	From           []string
	OrgFrom        string
	Org            bool
	OrgRole        string
	Accounts       []string
	Profile        string
	Region         string
	EndpointURL    string
	At             string
	AllowTruncated bool
}

func newCollectCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "collect SOURCE",
		Short: "Collect one source into a new snapshot",
	}
	var o collectAWSOptions
	aws := &cobra.Command{
		Use:   "aws",
		Short: "Collect one AWS account (live with the default credential chain, or --from an export)",
		Long: `Collect an AWS account's IAM users, groups, roles and policies.

Live: uses the AWS SDK default credential chain (environment, shared config and
--profile, SSO) and needs iam:GetAccountAuthorizationDetails.
Offline: --from FILE reads the output of
  aws iam get-account-authorization-details > FILE
(AWS CLI or boto3 style; no credentials needed). Repeat --from for several
accounts; add --org-from ORG.json (docs/aws-organizations.md) so SCPs apply
and cross-account trust resolves.

Organisation (live): --org reads the organisation (management account or
delegated administrator) and, with --org-role ROLE, every active member
account by assuming arn:aws:iam::<account>:role/ROLE; without --org-role only
the caller's own account's IAM is collected.`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCollectAWS(cmd.Context(), g, o)
		},
	}
	f := aws.Flags()
	f.StringArrayVar(&o.From, "from", nil, "import an `aws iam get-account-authorization-details` JSON file instead of calling AWS (repeatable)")
	f.StringVar(&o.OrgFrom, "org-from", "", "import an Organizations export (see docs/aws-organizations.md)")
	f.BoolVar(&o.Org, "org", false, "live: collect the AWS Organization (structure and SCPs)")
	f.StringVar(&o.OrgRole, "org-role", "", "live with --org: role name to assume in each member account for IAM")
	f.StringArrayVar(&o.Accounts, "account", nil, "live with --org-role: only these account ids (repeatable)")
	f.StringVar(&o.Profile, "profile", "", "shared config profile (live)")
	f.StringVar(&o.Region, "region", "", "region for the IAM endpoint (live; default us-east-1)")
	f.StringVar(&o.EndpointURL, "endpoint-url", "", "IAM endpoint override (GovCloud, China, private endpoints)")
	f.BoolVar(&o.AllowTruncated, "allow-truncated", false, "store an export with IsTruncated=true as an incomplete snapshot instead of refusing it")
	f.StringVar(&o.At, "at", "", "snapshot time (RFC 3339; default now), for backfilling from old exports")
	cmd.AddCommand(aws, newCollectAzureCommand(g), newCollectGoogleCommand(g))
	return cmd
}

func runCollectAWS(ctx context.Context, g *globalOptions, o collectAWSOptions) error {
	at, err := parseTime(o.At)
	if err != nil {
		return err
	}
	c, hint, err := awsCollector(ctx, g, o)
	if err != nil {
		return err
	}
	ms, err := ingest.Run(ctx, c, g.opener(), ingest.Options{At: at, SourceHint: hint, Logger: g.logger})
	printManifests(g, ms)
	return err
}

// awsCollector builds the collector for the flags: files, an organisation
// fan-out, or one live account (collectors/all does the work for both the
// flags and permgraph.yaml).
func awsCollector(ctx context.Context, g *globalOptions, o collectAWSOptions) (ingest.Collector, string, error) {
	offline := len(o.From) > 0 || o.OrgFrom != ""
	if offline && (o.Profile != "" || o.EndpointURL != "" || o.Org || o.OrgRole != "") {
		return nil, "", usagef("--from/--org-from import files; --profile, --endpoint-url, --org and --org-role are for live collection")
	}
	if o.OrgRole != "" && !o.Org {
		return nil, "", usagef("--org-role needs --org")
	}
	b, err := all.Build(ctx, config.Source{Type: "aws", From: o.From, OrgFrom: o.OrgFrom, Org: o.Org, OrgRole: o.OrgRole,
		Accounts: o.Accounts, Profile: o.Profile, Region: o.Region, EndpointURL: o.EndpointURL, AllowTruncated: o.AllowTruncated}, g.logger)
	if err != nil {
		return nil, "", fmt.Errorf("collect aws: %w", err)
	}
	return b.Collector, b.Hint, nil
}

func printManifests(g *globalOptions, ms []graph.Manifest) {
	for _, m := range ms {
		if m.Status != graph.StatusComplete {
			fmt.Fprintf(g.stderr, "recorded partial snapshot %s (the previous complete snapshot stays current): %v\n", m.ID, m.Reasons)
			continue
		}
		fmt.Fprintf(g.stdout, "snapshot %s: %d nodes, %d edges (+%d -%d ~%d)\n", m.ID, m.Nodes, m.Edges, m.Added, m.Removed, m.Changed)
		for _, w := range m.Warnings {
			fmt.Fprintf(g.stderr, "warning: %s: %s\n", m.Source, w)
		}
	}
}

// parseTime accepts RFC 3339, a date (UTC midnight) or "now"/"" (zero).
func parseTime(s string) (time.Time, error) {
	switch s {
	case "", "now", "latest":
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("bad time %q: want RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", s)
}
