// Package ads embeds the Alerting and Detection Strategy documents of the
// detection rules (docs/ads/<rule-id>.md), so an installed binary can print
// them (`permgraph rules show ID`).
//
// Each document starts with a YAML front matter (id, name, severity, attack,
// params) that TestDocumentsMatchRules compares with the rule definitions in
// detect/rules: the prose is written by hand, the checked facts must equal
// the code.
package ads

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed R*.md
var docs embed.FS

// Front is the checked front matter of a document.
type Front struct {
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Severity string            `yaml:"severity"`
	Attack   []string          `yaml:"attack"`
	Params   map[string]string `yaml:"params"`
}

// Sections are the ADS sections every document must have, in order.
func Sections() []string {
	return []string{"Goal", "Categorization", "Strategy Abstract", "Technical Context", "Blind Spots and Assumptions",
		"False Positives", "Validation", "Priority", "Response", "Additional Resources"}
}

// IDs lists the rule ids that have a document.
func IDs() []string {
	ents, _ := fs.ReadDir(docs, ".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".md"))
	}
	sort.Strings(out)
	return out
}

// Doc returns the document of rule id (case-insensitive).
func Doc(id string) (string, error) {
	b, err := docs.ReadFile(strings.ToUpper(id) + ".md")
	if err != nil {
		return "", fmt.Errorf("no ADS document for rule %q (have %s)", id, strings.Join(IDs(), ", "))
	}
	return string(b), nil
}

// Parse splits a document into its front matter and body.
func Parse(doc string) (Front, string, error) {
	var f Front
	rest, ok := strings.CutPrefix(doc, "---\n")
	if !ok {
		return f, "", fmt.Errorf("parse ADS document: no front matter")
	}
	fm, body, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		return f, "", fmt.Errorf("parse ADS document: unterminated front matter")
	}
	if err := yaml.Unmarshal([]byte(fm), &f); err != nil {
		return f, "", fmt.Errorf("parse ADS front matter: %w", err)
	}
	return f, body, nil
}
