// Package config is the schema of permgraph.yaml: the sources the scheduled
// snapshot job collects, retention, and settings detection reads. The
// reference is docs/config.md; Load rejects unknown fields so a typo never
// silently drops a source.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is permgraph.yaml.
type Config struct {
	// Store is the store directory; --db / PERMGRAPH_DB win over it.
	Store string `yaml:"store"`
	// Concurrency bounds how many sources collect at once (default 2).
	Concurrency int `yaml:"concurrency"`
	// Every is the default interval for `snapshot --every` ("6h").
	Every     string     `yaml:"every"`
	Retention Retention  `yaml:"retention"`
	Sources   []Source   `yaml:"sources"`
	Detection *Detection `yaml:"detection"`
}

// Retention is applied after every run of the job (snapshots prune).
type Retention struct {
	Keep      int    `yaml:"keep"`
	OlderThan string `yaml:"older_than"` // "90d", "720h"
}

// Detection holds the allowlists `detect` reads from the same file.
type Detection struct {
	// Collectors are the identities the snapshot job runs as (ARNs, UPNs,
	// service account emails); their discovery calls are expected.
	Collectors []string `yaml:"collectors"`
	// ApprovedDeployers may deploy even where the graph says they cannot
	// (break-glass, CI not yet collected).
	ApprovedDeployers []string `yaml:"approved_deployers"`
}

// Source is one collection unit of the job. Type selects which fields apply.
type Source struct {
	// Name labels the source in logs and the summary (default: type).
	Name string `yaml:"name"`
	// Type is aws, azure or google.
	Type string `yaml:"type"`
	// Timeout bounds one collection of this source ("2h"; default none).
	Timeout string `yaml:"timeout"`
	// From imports files instead of calling the cloud: GAAD JSON files for
	// aws (several allowed), one capture/export directory for azure and
	// google.
	From []string `yaml:"from"`

	// aws
	// Account is the account id this source reads (optional); it lets a
	// failure be recorded against aws:<account> before the collector has
	// learned its account from the data.
	Account     string   `yaml:"account"`
	OrgFrom     string   `yaml:"org_from"`
	Org         bool     `yaml:"org"`
	OrgRole     string   `yaml:"org_role"`
	Accounts    []string `yaml:"accounts"`
	Profile     string   `yaml:"profile"`
	Region      string   `yaml:"region"`
	EndpointURL string   `yaml:"endpoint_url"`
	// AllowTruncated stores an export with IsTruncated=true as an
	// incomplete snapshot instead of refusing it.
	AllowTruncated bool `yaml:"allow_truncated"`

	// azure
	Tenant        string   `yaml:"tenant"`
	Subscriptions []string `yaml:"subscriptions"`
	TokenFile     string   `yaml:"token_file"`     // Graph token (azure) or Google token (google)
	ARMTokenFile  string   `yaml:"arm_token_file"` // azure: separate ARM token
	GraphEndpoint string   `yaml:"graph_endpoint"`
	ARMEndpoint   string   `yaml:"arm_endpoint"`

	// google
	// DirectoryEndpoint, ResourceManagerEndpoint and IAMEndpoint override
	// the Google API base URLs (private endpoints, proxies).
	DirectoryEndpoint       string   `yaml:"directory_endpoint"`
	ResourceManagerEndpoint string   `yaml:"resourcemanager_endpoint"`
	IAMEndpoint             string   `yaml:"iam_endpoint"`
	Customer                string   `yaml:"customer"`
	AdminEmail              string   `yaml:"admin_email"`
	GCPOrg                  string   `yaml:"gcp_org"`
	Projects                []string `yaml:"projects"`

	// SaveRaw keeps a raw capture of every API page (azure, google) in
	// this directory, for offline replay.
	SaveRaw string `yaml:"save_raw"`
}

// Label is the name used in logs: Name, or Type.
func (s Source) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Type
}

// Hint is the source id a failure is recorded under when the collector
// fails before it learns its source: from account / tenant / customer when
// configured.
func (s Source) Hint() string {
	switch {
	case s.Type == "aws" && s.Account != "":
		return "aws:" + s.Account
	case s.Type == "azure" && s.Tenant != "":
		return "azure:" + s.Tenant
	case s.Type == "google" && s.Customer != "":
		return "google:" + s.Customer
	}
	return ""
}

// TimeoutDuration parses Timeout (0 when unset).
func (s Source) TimeoutDuration() (time.Duration, error) {
	if s.Timeout == "" {
		return 0, nil
	}
	return ParseDuration(s.Timeout)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Load reads and validates a config file. Errors name the file and the
// offending source and field.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates config text.
func Parse(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty config: want at least one source under sources:")
		}
		return nil, fmt.Errorf("parse: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks the config and fills defaults.
func (c *Config) Validate() error {
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		return fmt.Errorf("concurrency: %d is out of range 1..64", c.Concurrency)
	}
	if c.Every != "" {
		if d, err := ParseDuration(c.Every); err != nil || d < time.Minute {
			return fmt.Errorf("every: %q: want a duration of at least 1m (e.g. 6h)", c.Every)
		}
	}
	if c.Retention.Keep < 0 {
		return fmt.Errorf("retention.keep: %d is negative", c.Retention.Keep)
	}
	if c.Retention.OlderThan != "" {
		if _, err := ParseDuration(c.Retention.OlderThan); err != nil {
			return fmt.Errorf("retention.older_than: %w", err)
		}
	}
	if len(c.Sources) == 0 {
		return errors.New("sources: none configured")
	}
	seen := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		where := fmt.Sprintf("sources[%d]", i)
		if s.Name != "" {
			where += " (" + s.Name + ")"
			if !nameRE.MatchString(s.Name) {
				return fmt.Errorf("%s: name: %q: use letters, digits, '.', '_' or '-'", where, s.Name)
			}
		}
		if seen[s.Label()] {
			return fmt.Errorf("%s: name: %q is used twice (give each source a distinct name)", where, s.Label())
		}
		seen[s.Label()] = true
		if _, err := s.TimeoutDuration(); err != nil {
			return fmt.Errorf("%s: timeout: %w", where, err)
		}
		if err := s.validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

func (s *Source) validate() error {
	live := len(s.From) == 0
	switch s.Type {
	case "aws":
		if !live && (s.Profile != "" || s.EndpointURL != "" || s.Org || s.OrgRole != "") {
			return errors.New("from: imports files; profile, endpoint_url, org and org_role are for live collection")
		}
		if s.OrgRole != "" && !s.Org {
			return errors.New("org_role: needs org: true")
		}
		if s.Account != "" && !regexp.MustCompile(`^[0-9]{12}$`).MatchString(s.Account) {
			return fmt.Errorf("account: %q is not a 12-digit AWS account id", s.Account)
		}
		return s.only("aws", "directory_endpoint", s.DirectoryEndpoint, "resourcemanager_endpoint", s.ResourceManagerEndpoint, "iam_endpoint", s.IAMEndpoint, "tenant", s.Tenant, "customer", s.Customer, "admin_email", s.AdminEmail, "gcp_org", s.GCPOrg, "token_file", s.TokenFile)
	case "azure":
		if len(s.From) > 1 {
			return errors.New("from: azure reads one directory")
		}
		return s.only("azure", "account", s.Account, "directory_endpoint", s.DirectoryEndpoint, "resourcemanager_endpoint", s.ResourceManagerEndpoint, "iam_endpoint", s.IAMEndpoint, "org_from", s.OrgFrom, "profile", s.Profile, "customer", s.Customer, "admin_email", s.AdminEmail, "gcp_org", s.GCPOrg)
	case "google":
		if len(s.From) > 1 {
			return errors.New("from: google reads one directory")
		}
		return s.only("google", "account", s.Account, "org_from", s.OrgFrom, "profile", s.Profile, "tenant", s.Tenant, "arm_token_file", s.ARMTokenFile)
	case "":
		return errors.New("type: missing (aws, azure or google)")
	}
	return fmt.Errorf("type: %q: want aws, azure or google", s.Type)
}

// only rejects fields that belong to another source type.
func (s *Source) only(typ string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			return fmt.Errorf("%s: does not apply to type %s", kv[i], typ)
		}
	}
	return nil
}

// ParseDuration accepts Go durations plus a day suffix ("90d").
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad duration %q: want e.g. 90d or 720h", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q: want e.g. 90d or 720h", s)
	}
	return d, nil
}
