package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"permgraph/collectors/awsiam"
	"permgraph/graph"
	"permgraph/ingest"
)

type collectAWSOptions struct {
	From           string
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
(AWS CLI or boto3 style; no credentials needed).`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCollectAWS(cmd.Context(), g, o)
		},
	}
	f := aws.Flags()
	f.StringVar(&o.From, "from", "", "import an `aws iam get-account-authorization-details` JSON file instead of calling AWS")
	f.StringVar(&o.Profile, "profile", "", "shared config profile (live)")
	f.StringVar(&o.Region, "region", "", "region for the IAM endpoint (live; default us-east-1)")
	f.StringVar(&o.EndpointURL, "endpoint-url", "", "IAM endpoint override (GovCloud, China, private endpoints)")
	f.BoolVar(&o.AllowTruncated, "allow-truncated", false, "store an export with IsTruncated=true as an incomplete snapshot instead of refusing it")
	f.StringVar(&o.At, "at", "", "snapshot time (RFC 3339; default now), for backfilling from old exports")
	cmd.AddCommand(aws)
	return cmd
}

func runCollectAWS(ctx context.Context, g *globalOptions, o collectAWSOptions) error {
	at, err := parseTime(o.At)
	if err != nil {
		return err
	}
	if o.From != "" && (o.Profile != "" || o.EndpointURL != "") {
		return usagef("--from imports a file; --profile and --endpoint-url are for live collection")
	}
	var c ingest.Collector
	hint := "aws:unknown-account"
	if o.From != "" {
		c = &awsiam.FileCollector{Path: o.From, Logger: g.logger, AllowTruncated: o.AllowTruncated}
	} else {
		client, err := awsiam.NewLiveClient(ctx, awsiam.LiveOptions{Profile: o.Profile, Region: o.Region, EndpointURL: o.EndpointURL})
		if err != nil {
			return fmt.Errorf("collect aws: %w", err)
		}
		c = &awsiam.LiveCollector{Client: client, Logger: g.logger}
	}
	st, err := g.openWrite(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ms, err := ingest.Run(ctx, c, st, ingest.Options{At: at, SourceHint: hint, Logger: g.logger})
	printManifests(g, ms)
	return err
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
