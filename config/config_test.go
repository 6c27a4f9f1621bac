package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(`
concurrency: 3
every: 6h
retention: {keep: 30, older_than: 90d}
sources:
  - name: prod-aws
    type: aws
    org: true
    org_role: PermgraphReader
  - name: offline-aws
    type: aws
    from: [a.json, b.json]
    org_from: org.json
  - name: corp
    type: azure
    tenant: 00000000-0000-0000-0000-000000000001
    token_file: /run/secrets/graph
    arm_token_file: /run/secrets/arm
  - type: google
    customer: C01abc
    admin_email: admin@corp.example
    gcp_org: "123456789"
detection:
  collectors: [arn:aws:iam::111122223333:role/PermgraphReader]
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Concurrency != 3 || len(c.Sources) != 4 || c.Sources[3].Label() != "google" || c.Retention.Keep != 30 {
		t.Fatalf("parsed %+v", c)
	}
	if d, _ := ParseDuration(c.Retention.OlderThan); d != 90*24*time.Hour {
		t.Fatalf("older_than = %v", d)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "empty config"},
		{"no sources", "concurrency: 1\n", "sources: none configured"},
		{"unknown field", "sources:\n  - type: aws\n    profle: x\n", "field profle not found"},
		{"bad type", "sources:\n  - type: oracle\n", `sources[0]: type: "oracle"`},
		{"missing type", "sources:\n  - name: x\n", "sources[0] (x): type: missing"},
		{"dup name", "sources:\n  - type: aws\n  - type: aws\n", `sources[1]: name: "aws" is used twice`},
		{"foreign field", "sources:\n  - type: azure\n    customer: C1\n", "sources[0]: customer: does not apply to type azure"},
		{"from and profile", "sources:\n  - type: aws\n    from: [a]\n    profile: p\n", "profile, endpoint_url"},
		{"two dirs", "sources:\n  - type: google\n    from: [a, b]\n", "google reads one directory"},
		{"bad retention", "retention: {older_than: soon}\nsources:\n  - type: aws\n", "retention.older_than"},
		{"bad every", "every: 5s\nsources:\n  - type: aws\n", "every:"},
		{"bad timeout", "sources:\n  - type: aws\n    timeout: x\n", "sources[0]: timeout"},
		{"bad name", "sources:\n  - type: aws\n    name: \"a b\"\n", "name:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "permgraph.yaml")
	os.WriteFile(p, []byte("sources: [{type: nope}]\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v", err)
	}
}
