package catalog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:generate go run ../tools/gencatalog -in ../../shared/catalog/aws/aws-actions.json -out aws-actions.tsv.gz

//go:embed aws-actions.tsv.gz
var awsActionsGz []byte

// Action is one IAM action from the Service Authorization Reference.
type Action struct {
	Name      string   // "ecs:RunTask", as AWS spells it
	Access    string   // List, Read, Write, Permissions management, Tagging
	Resources []string // resource types; a trailing * marks a required one
}

// AWSActions is the AWS action catalog, for expanding wildcards and
// NotAction into concrete actions.
type AWSActions struct {
	actions   []Action // sorted by lower-cased name
	byService map[string][]int
}

// LoadAWSActions decompresses and parses the embedded catalog (about 20k
// actions). Callers keep the result; there is no package-level cache.
func LoadAWSActions() (*AWSActions, error) {
	zr, err := gzip.NewReader(bytes.NewReader(awsActionsGz))
	if err != nil {
		return nil, fmt.Errorf("load AWS action catalog: %w", err)
	}
	defer zr.Close()
	c := &AWSActions{byService: map[string][]int{}}
	sc := bufio.NewScanner(zr)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 3 || !strings.Contains(f[0], ":") {
			return nil, fmt.Errorf("load AWS action catalog: line %d: want 3 tab-separated fields", line)
		}
		a := Action{Name: f[0], Access: f[1]}
		if f[2] != "" {
			a.Resources = strings.Split(f[2], ",")
		}
		c.actions = append(c.actions, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load AWS action catalog: %w", err)
	}
	sort.Slice(c.actions, func(i, j int) bool { return strings.ToLower(c.actions[i].Name) < strings.ToLower(c.actions[j].Name) })
	for i, a := range c.actions {
		svc := strings.ToLower(a.Name[:strings.IndexByte(a.Name, ':')])
		c.byService[svc] = append(c.byService[svc], i)
	}
	return c, nil
}

// Len is the number of actions.
func (c *AWSActions) Len() int { return len(c.actions) }

// Service returns every action of one service prefix (case-insensitive).
func (c *AWSActions) Service(prefix string) []Action {
	idx := c.byService[strings.ToLower(prefix)]
	out := make([]Action, len(idx))
	for i, j := range idx {
		out[i] = c.actions[j]
	}
	return out
}

// Lookup finds an action by name, case-insensitively.
func (c *AWSActions) Lookup(name string) (Action, bool) {
	l := strings.ToLower(name)
	i := sort.Search(len(c.actions), func(i int) bool { return strings.ToLower(c.actions[i].Name) >= l })
	if i < len(c.actions) && strings.EqualFold(c.actions[i].Name, name) {
		return c.actions[i], true
	}
	return Action{}, false
}

// Expand returns the actions a pattern ("ecs:Run*", "*", "iam:?etRole")
// matches, using match (policy/aws.MatchAction) so the wildcard rules live
// in one place.
func (c *AWSActions) Expand(pattern string, match func(pattern, action string) bool) []Action {
	candidates := c.actions
	if i := strings.IndexByte(pattern, ':'); i > 0 && !strings.ContainsAny(pattern[:i], "*?") {
		candidates = c.Service(pattern[:i])
	}
	var out []Action
	for _, a := range candidates {
		if match(pattern, a.Name) {
			out = append(out, a)
		}
	}
	return out
}
