package all

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"permgraph/collectors/azurerbac"
	"permgraph/collectors/entra"
	"permgraph/collectors/internal/azauth"
	"permgraph/config"
	"permgraph/graph"
	"permgraph/ingest"
)

// Environment variables holding pre-acquired Azure tokens (instead of
// DefaultAzureCredential): one for Microsoft Graph, one for Resource Manager
// (tokens are audience-bound, so one cannot serve both).
const (
	AzureTokenEnv = "PERMGRAPH_AZURE_TOKEN"
	ARMTokenEnv   = "PERMGRAPH_ARM_TOKEN"
)

// staticAzureToken returns the credential from file or env, or nil.
func staticAzureToken(file, env string) (azcore.TokenCredential, error) {
	if file != "" {
		return azauth.TokenFromFile(file)
	}
	if v := os.Getenv(env); v != "" {
		t, err := azauth.NewStaticToken(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", env, err)
		}
		return t, nil
	}
	return nil, nil
}

// azure collects the Entra tenant, then the Azure RBAC it governs into the
// same source (azure:<tenant>): the tenant is learned from Entra when not
// configured.
type azure struct {
	s         config.Source
	log       *slog.Logger
	dir       string
	graphCred azcore.TokenCredential
	armCred   azcore.TokenCredential
	skipGraph bool
	// ids are the identities the last Collect called Graph and ARM as.
	ids []string
}

// CallerIdentities is the union of the Entra and ARM callers' identities
// (token claims) in the last Collect; empty offline.
func (a *azure) CallerIdentities() []string { return a.ids }

func buildAzure(_ context.Context, s config.Source, log *slog.Logger) (Built, error) {
	a := &azure{s: s, log: log}
	if len(s.From) == 1 {
		a.dir = s.From[0]
		if st, err := os.Stat(a.dir); err != nil || !st.IsDir() {
			return Built{}, fmt.Errorf("source %s: from: %s is not a directory (want a --save-raw capture and/or az CLI exports; docs/offline.md)", s.Label(), a.dir)
		}
		if _, err := os.Stat(filepath.Join(a.dir, entra.CaptureFile)); err != nil {
			if s.Tenant == "" {
				return Built{}, fmt.Errorf("source %s: %s has no Graph capture (%s) to name the tenant: pass --tenant", s.Label(), a.dir, entra.CaptureFile)
			}
			a.skipGraph = true
		}
		return Built{Collector: a, Hint: s.Hint()}, nil
	}
	var err error
	if a.graphCred, err = staticAzureToken(s.TokenFile, AzureTokenEnv); err != nil {
		return Built{}, fmt.Errorf("source %s: Graph token: %w", s.Label(), err)
	}
	if a.armCred, err = staticAzureToken(s.ARMTokenFile, ARMTokenEnv); err != nil {
		return Built{}, fmt.Errorf("source %s: ARM token: %w", s.Label(), err)
	}
	if a.graphCred == nil || a.armCred == nil {
		if (a.graphCred == nil) != (a.armCred == nil) {
			log.Info("azure: one pre-acquired token given; DefaultAzureCredential serves the other API")
		}
		def, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return Built{}, fmt.Errorf("source %s: DefaultAzureCredential: %w", s.Label(), err)
		}
		if a.graphCred == nil {
			a.graphCred = def
		}
		if a.armCred == nil {
			a.armCred = def
		}
	}
	return Built{Collector: a, Hint: s.Hint()}, nil
}

func (a *azure) Collect(ctx context.Context, sink graph.Sink) error {
	a.ids = nil
	rec := &recordingSink{Sink: sink}
	eo := entra.Options{Tenant: a.s.Tenant, GraphEndpoint: a.s.GraphEndpoint, Credential: a.graphCred, SaveRawDir: a.s.SaveRaw, Logger: a.log}
	if !a.skipGraph {
		if a.dir != "" {
			if err := entra.NewFile(a.dir, eo).Collect(ctx, rec); err != nil {
				return fmt.Errorf("azure: entra: %w", err)
			}
		} else {
			l, err := entra.NewLive(eo)
			if err != nil {
				return fmt.Errorf("azure: entra: %w", err)
			}
			err = l.Collect(ctx, rec)
			a.ids = ingest.UnionIdentities(a.ids, l.CallerIdentities())
			if err != nil {
				return fmt.Errorf("azure: entra: %w", err)
			}
		}
	}
	source, tenant := rec.first, a.s.Tenant
	if source == "" {
		source = "azure:" + strings.ToLower(tenant)
	}
	if tenant == "" {
		tenant = strings.TrimPrefix(source, "azure:")
	}
	ro := azurerbac.Options{Tenant: tenant, Source: source, ARMEndpoint: a.s.ARMEndpoint, Credential: a.armCred,
		Subscriptions: a.s.Subscriptions, SaveRawDir: a.s.SaveRaw, Logger: a.log}
	if a.dir != "" {
		if err := azurerbac.NewFile(a.dir, ro).Collect(ctx, sink); err != nil {
			return fmt.Errorf("azure: rbac: %w", err)
		}
		return nil
	}
	l, err := azurerbac.NewLive(ro)
	if err != nil {
		return fmt.Errorf("azure: rbac: %w", err)
	}
	err = l.Collect(ctx, sink)
	a.ids = ingest.UnionIdentities(a.ids, l.CallerIdentities())
	if err != nil {
		return fmt.Errorf("azure: rbac: %w", err)
	}
	return nil
}
