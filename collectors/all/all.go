// Package all is the explicit list of collectors: it turns one configured
// source (a permgraph.yaml entry or the flags of `collect`) into the
// collector that reads it. It lives apart from the collectors so that none
// of them imports another.
package all

import (
	"context"
	"fmt"
	"log/slog"

	"permgraph/collectors/awsiam"
	"permgraph/collectors/awsorg"
	"permgraph/config"
	"permgraph/ingest"
)

// Built is a ready collector plus the source id to record a failure under
// when the collector fails before it learns its real source id.
type Built struct {
	Collector ingest.Collector
	Hint      string
}

// Build returns the collector for s.
func Build(ctx context.Context, s config.Source, log *slog.Logger) (Built, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := build(ctx, s, log)
	if h := s.Hint(); h != "" {
		b.Hint = h
	}
	return b, err
}

func build(ctx context.Context, s config.Source, log *slog.Logger) (Built, error) {
	switch s.Type {
	case "aws":
		return buildAWS(ctx, s, log)
	case "google":
		return buildGoogle(ctx, s, log)
	case "azure":
		return buildAzure(ctx, s, log)
	}
	return Built{}, fmt.Errorf("source %s: unknown type %q", s.Label(), s.Type)
}

// buildAWS: files, an organisation fan-out, or one live account.
func buildAWS(ctx context.Context, s config.Source, log *slog.Logger) (Built, error) {
	offline := len(s.From) > 0 || s.OrgFrom != ""
	if offline && (s.Profile != "" || s.EndpointURL != "" || s.Org || s.OrgRole != "") {
		return Built{}, fmt.Errorf("source %s: from/org_from import files; profile, endpoint_url, org and org_role are for live collection", s.Label())
	}
	if s.OrgRole != "" && !s.Org {
		return Built{}, fmt.Errorf("source %s: org_role needs org", s.Label())
	}
	if offline {
		var m ingest.Multi
		if s.OrgFrom != "" {
			m = append(m, &awsorg.FileCollector{Path: s.OrgFrom, Logger: log})
		}
		for _, f := range s.From {
			m = append(m, &awsiam.FileCollector{Path: f, Logger: log, AllowTruncated: s.AllowTruncated})
		}
		hint := "aws:unknown-account"
		if len(s.From) == 0 {
			hint = "aws-org:unknown"
		}
		return Built{Collector: m, Hint: hint}, nil
	}
	iamClient := func(ctx context.Context, assume string) (*awsiam.LiveCollector, error) {
		client, err := awsiam.NewLiveClient(ctx, awsiam.LiveOptions{Profile: s.Profile, Region: s.Region, EndpointURL: s.EndpointURL, Logger: log, AssumeRoleARN: assume})
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.Label(), err)
		}
		return &awsiam.LiveCollector{Client: client, STS: awsiam.NewLiveSTS(client, ""), Logger: log}, nil
	}
	if !s.Org {
		c, err := iamClient(ctx, "")
		return Built{Collector: c, Hint: "aws:unknown-account"}, err
	}
	orgClient, err := awsorg.NewLiveClient(ctx, awsorg.LiveOptions{Profile: s.Profile, Region: s.Region, Logger: log})
	if err != nil {
		return Built{}, fmt.Errorf("source %s: organizations: %w", s.Label(), err)
	}
	org := &awsorg.LiveCollector{Client: orgClient, Logger: log}
	if s.OrgRole == "" {
		own, err := iamClient(ctx, "")
		if err != nil {
			return Built{}, err
		}
		return Built{Collector: ingest.Multi{org, own}, Hint: "aws-org:unknown"}, nil
	}
	fan := &ingest.OrgFanOut{Org: org, Accounts: s.Accounts, Account: func(ctx context.Context, account string) (ingest.Collector, error) {
		return iamClient(ctx, fmt.Sprintf("arn:aws:iam::%s:role/%s", account, s.OrgRole))
	}}
	return Built{Collector: fan, Hint: "aws-org:unknown"}, nil
}
