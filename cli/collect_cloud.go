package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"permgraph/collectors/all"
	"permgraph/config"
	"permgraph/ingest"
)

type collectCloudOptions struct {
	From          string
	SaveRaw       string
	At            string
	TokenFile     string
	Tenant        string
	Subscriptions []string
	ARMTokenFile  string
	GraphEndpoint string
	ARMEndpoint   string
	Customer      string
	AdminEmail    string
	Org           string
	Projects      []string
	DirEndpoint   string
	CRMEndpoint   string
	IAMEndpoint   string
}

func newCollectAzureCommand(g *globalOptions) *cobra.Command {
	var o collectCloudOptions
	cmd := &cobra.Command{
		Use:   "azure",
		Short: "Collect an Entra ID tenant and its Azure RBAC (live, or --from a capture/export directory)",
		Long: `Collect an Entra tenant (users, groups with nesting and owners, service principals,
applications, directory roles incl. PIM-eligible) and the Azure RBAC it governs
(management groups, subscriptions, role definitions, assignments, deny
assignments) as one snapshot, source azure:<tenant-id>.

Live: azidentity DefaultAzureCredential (environment, workload identity,
managed identity, az CLI), or pre-acquired tokens: --token-file / env
PERMGRAPH_AZURE_TOKEN for Microsoft Graph and --arm-token-file / env
PERMGRAPH_ARM_TOKEN for Resource Manager. Tokens are never logged or stored.
Offline: --from DIR reads a capture written by --save-raw and/or
` + "`az role assignment list --all -o json`" + ` and ` + "`az role definition list -o json`" + ` outputs
(docs/offline.md). Read-only permissions: docs/permissions.md.`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := config.Source{Type: "azure", Tenant: o.Tenant, Subscriptions: o.Subscriptions, TokenFile: o.TokenFile,
				ARMTokenFile: o.ARMTokenFile, GraphEndpoint: o.GraphEndpoint, ARMEndpoint: o.ARMEndpoint, SaveRaw: o.SaveRaw}
			return runCollectCloud(cmd.Context(), g, s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "read a capture/export directory instead of calling Azure")
	f.StringVar(&o.SaveRaw, "save-raw", "", "also record every API page into this directory (for --from later)")
	f.StringVar(&o.At, "at", "", "snapshot time (RFC 3339; default now)")
	f.StringVar(&o.Tenant, "tenant", "", "tenant id (required offline when the capture lacks /organization)")
	f.StringArrayVar(&o.Subscriptions, "subscription", nil, "only these subscriptions (repeatable; default all visible)")
	f.StringVar(&o.TokenFile, "token-file", "", "file holding a Microsoft Graph access token (env PERMGRAPH_AZURE_TOKEN)")
	f.StringVar(&o.ARMTokenFile, "arm-token-file", "", "file holding an Azure Resource Manager access token (env PERMGRAPH_ARM_TOKEN)")
	f.StringVar(&o.GraphEndpoint, "graph-endpoint", "", "Microsoft Graph endpoint (national clouds; default https://graph.microsoft.com)")
	f.StringVar(&o.ARMEndpoint, "arm-endpoint", "", "Resource Manager endpoint (national clouds; default https://management.azure.com)")
	return cmd
}

func newCollectGoogleCommand(g *globalOptions) *cobra.Command {
	var o collectCloudOptions
	cmd := &cobra.Command{
		Use:   "google",
		Short: "Collect a Google Workspace customer and its GCP organisation (live, or --from a capture/export directory)",
		Long: `Collect Workspace users, groups (members with OWNER/MANAGER/MEMBER roles, nesting) and
admin role assignments, and the GCP organisation's folders, projects, IAM
policies (v3, conditions kept), service accounts and custom roles, as one
snapshot, source google:<customer-id>.

Live: Application Default Credentials; --admin-email makes a service-account
key impersonate that Workspace admin (domain-wide delegation). Pre-acquired
token: --token-file or env PERMGRAPH_GOOGLE_TOKEN. Offline: --from DIR reads a
--save-raw capture, gcloud get-iam-policy outputs and Cloud Asset Inventory
exports (docs/offline.md). Read-only permissions: docs/permissions.md.`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := config.Source{Type: "google", Customer: o.Customer, AdminEmail: o.AdminEmail, GCPOrg: o.Org, Projects: o.Projects,
				TokenFile: o.TokenFile, SaveRaw: o.SaveRaw, DirectoryEndpoint: o.DirEndpoint, ResourceManagerEndpoint: o.CRMEndpoint, IAMEndpoint: o.IAMEndpoint}
			return runCollectCloud(cmd.Context(), g, s, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "read a capture/export directory instead of calling Google")
	f.StringVar(&o.SaveRaw, "save-raw", "", "also record every API page into this directory (for --from later)")
	f.StringVar(&o.At, "at", "", "snapshot time (RFC 3339; default now)")
	f.StringVar(&o.Customer, "customer", "", "Workspace customer id (default: the caller's own, my_customer)")
	f.StringVar(&o.AdminEmail, "admin-email", "", "Workspace admin to impersonate (domain-wide delegation)")
	f.StringVar(&o.Org, "org", "", "GCP organization id (organizations/N or N)")
	f.StringArrayVar(&o.Projects, "project", nil, "only these GCP projects (repeatable)")
	f.StringVar(&o.TokenFile, "token-file", "", "file holding a Google access token (env PERMGRAPH_GOOGLE_TOKEN)")
	f.StringVar(&o.DirEndpoint, "directory-endpoint", "", "Admin SDK Directory API base URL override")
	f.StringVar(&o.CRMEndpoint, "resourcemanager-endpoint", "", "Cloud Resource Manager API base URL override")
	f.StringVar(&o.IAMEndpoint, "iam-endpoint", "", "IAM API base URL override")
	return cmd
}

func runCollectCloud(ctx context.Context, g *globalOptions, s config.Source, o collectCloudOptions) error {
	at, err := parseTime(o.At)
	if err != nil {
		return err
	}
	if o.From != "" {
		if o.SaveRaw != "" {
			return usagef("--save-raw records a live collection; it does not apply with --from")
		}
		s.From = []string{o.From}
	}
	if err := (&config.Config{Sources: []config.Source{s}}).Validate(); err != nil {
		return usageError{err}
	}
	b, err := all.Build(ctx, s, g.logger)
	if err != nil {
		return fmt.Errorf("collect %s: %w", s.Type, err)
	}
	ms, err := ingest.Run(ctx, b.Collector, g.opener(), ingest.Options{At: at, SourceHint: b.Hint, Logger: g.logger})
	printManifests(g, ms)
	return err
}
