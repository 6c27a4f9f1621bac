package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"permgraph/catalog"
	"permgraph/graph"
	"permgraph/queries"
)

type whoCanOptions struct {
	Cloud              string
	Scope              string
	At                 string
	Resource           string
	IncludeConditional bool
	DirectOnly         bool
	Paths              bool
}

func newWhoCanCommand(g *globalOptions) *cobra.Command {
	var o whoCanOptions
	cmd := &cobra.Command{
		Use:   "who-can deploy|PERMISSION",
		Short: "List every principal that can deploy containers (or perform PERMISSION), and through which role or group",
		Long: `List every principal that can deploy containers (or perform PERMISSION): how (direct or through
privilege escalation), the scopes reached, the path's length and the node holding the grant. --paths adds
every hop with its evidence; ` + "`permgraph path NAME deploy`" + ` explains one principal.`,
		Example: `  permgraph who-can deploy
  permgraph who-can deploy --paths
  permgraph who-can deploy --cloud aws --include-conditional -o json
  permgraph who-can ecs:RunTask --resource arn:aws:ecs:us-east-1:111122223333:task-definition/app:3`,
		Args: exactArgs(1, "deploy or a permission"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWhoCan(cmd.Context(), g, args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Cloud, "cloud", "", "limit to one cloud: aws, azure, gcp, k8s")
	f.StringVar(&o.Scope, "scope", "", "limit to one scope (AWS account id, ...)")
	f.StringVar(&o.At, "at", "", "answer as of this time (RFC 3339 or date; default latest)")
	f.StringVar(&o.Resource, "resource", "", "resource ARN for a PERMISSION question (default: any resource)")
	f.BoolVar(&o.IncludeConditional, "include-conditional", false, "also list principals that qualify only under a request-time condition")
	f.BoolVar(&o.DirectOnly, "direct-only", false, "hide answers that need a privilege-escalation edge")
	f.BoolVar(&o.Paths, "paths", false, "show every principal's path hop by hop with evidence (slow for very large answers)")
	return cmd
}

func (g *globalOptions) view(ctx context.Context, atFlag string) (*graph.View, error) {
	at, err := parseTime(atFlag)
	if err != nil {
		return nil, err
	}
	var v *graph.View
	if at.IsZero() {
		// The latest view is a cache file readable without the store's
		// lock, so queries work while a collection is writing.
		v, err = graph.LoadLatestView(ctx, g.DB, g.logger)
		if err != nil && !errors.Is(err, graph.ErrNotFound) {
			g.logger.Debug("latest view cache unusable; reading the store", "err", err)
		}
	}
	if v == nil {
		st, err := g.openRead(ctx)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		if v, err = st.View(ctx, at); err != nil {
			return nil, fmt.Errorf("load graph: %w", err)
		}
	}
	if len(v.Manifests()) == 0 {
		when := "yet"
		if !at.IsZero() {
			when = "at or before " + at.Format("2006-01-02T15:04:05Z")
		}
		return nil, fmt.Errorf("no complete snapshot %s: run `permgraph collect` first", when)
	}
	return v, nil
}

func runWhoCan(ctx context.Context, g *globalOptions, what string, o whoCanOptions) error {
	switch lower(o.Cloud) {
	case "", "aws", "azure", "gcp", "k8s":
	default:
		return usagef("unknown --cloud %q: want aws, azure, gcp or k8s", o.Cloud)
	}
	v, err := g.view(ctx, o.At)
	if err != nil {
		return err
	}
	qo := queries.WhoCanOptions{Cloud: lower(o.Cloud), Scope: o.Scope, IncludeConditional: o.IncludeConditional, DirectOnly: o.DirectOnly, Paths: o.Paths}
	var res *queries.WhoCanResult
	if strings.EqualFold(what, "deploy") {
		if o.Resource != "" {
			return usagef("--resource applies to a permission, not to deploy (use --scope)")
		}
		if c := lower(o.Cloud); c == "k8s" {
			return fmt.Errorf("who-can deploy --cloud k8s: Kubernetes RBAC is not collected yet; cluster deploy rights granted through AWS, Azure and GCP IAM appear under those clouds")
		}
		res, err = queries.WhoCanDeploy(v, qo)
	} else {
		res, err = queries.WhoCanAction(v, what, o.Resource, qo)
	}
	if err != nil {
		return err
	}
	return renderWhoCan(g, res)
}

type pathOptions struct {
	MaxDepth int
	All      bool
	At       string
}

func newPathCommand(g *globalOptions) *cobra.Command {
	var o pathOptions
	cmd := &cobra.Command{
		Use:   "path FROM TO",
		Short: "Show how FROM reaches TO, hop by hop with evidence (TO may be 'deploy')",
		Example: `  permgraph path bob deploy
  permgraph path arn:aws:iam::111122223333:user/eng/bob arn:aws:iam::111122223333:role/DeployRole --all`,
		Args: exactArgs(2, "FROM TO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := g.view(cmd.Context(), o.At)
			if err != nil {
				return err
			}
			res, err := queries.FindPath(v, args[0], args[1], queries.PathOptions{MaxDepth: o.MaxDepth, All: o.All, IncludeConditional: o.All})
			if err != nil {
				return queryErr(err)
			}
			if len(res.Paths) == 0 {
				renderPath(g, res)
				return fmt.Errorf("no path from %s to %s within %d hops", args[0], args[1], maxDepthOr(o.MaxDepth))
			}
			return renderPath(g, res)
		},
	}
	cmd.Flags().IntVar(&o.MaxDepth, "max-depth", 8, "longest path to consider")
	cmd.Flags().BoolVar(&o.All, "all", false, "list every simple path (up to 50), including conditional ones")
	cmd.Flags().StringVar(&o.At, "at", "", "answer as of this time (default latest)")
	return cmd
}

func maxDepthOr(n int) int {
	if n <= 0 {
		return 8
	}
	return n
}

func newWhatCanCommand(g *globalOptions) *cobra.Command {
	var at, service string
	cmd := &cobra.Command{
		Use:   "what-can PRINCIPAL",
		Short: "Show the capabilities and identities PRINCIPAL reaches, the policies that apply to it, and (--service) its concrete actions",
		Example: `  permgraph what-can bob
  permgraph what-can alice --service ecs`,
		Args: exactArgs(1, "PRINCIPAL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := g.view(cmd.Context(), at)
			if err != nil {
				return err
			}
			o := queries.WhatCanOptions{Service: service}
			if service != "" {
				if o.Actions, err = catalog.LoadAWSActions(); err != nil {
					return err
				}
			}
			res, err := queries.WhatCan(v, args[0], o)
			if err != nil {
				return queryErr(err)
			}
			return renderWhatCan(g, res)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "answer as of this time (default latest)")
	cmd.Flags().StringVar(&service, "service", "", "list the concrete actions of this AWS service (ecs, iam, lambda, ...) the principal may call, with the deciding statements")
	return cmd
}

// queryErr turns "no such principal" into a usage error (exit 2): the
// caller named something that is not there.
func queryErr(err error) error {
	if errors.Is(err, queries.ErrNotFound) || errors.Is(err, queries.ErrAmbiguous) {
		return usageError{err}
	}
	return err
}
