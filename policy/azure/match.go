// Package azure evaluates Azure RBAC and Entra facts collected by the
// entra and azurerbac collectors (docs/model-azure-gcp.md) and derives
// deploy-container Can edges, escalation edges and managed-identity
// impersonation edges (docs/evaluation-azure.md).
package azure

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Mode selects how a `/*/` segment in an Azure action pattern is read.
type Mode uint8

const (
	// Lenient lets `/*/` also match a single `/`, so
	// `Microsoft.App/containerApps/*/write` grants
	// `Microsoft.App/containerApps/write`. This is what Microsoft documents
	// for Container Apps Contributor and Managed Identity Operator, and it is
	// what Derive uses: a missed deployer is worse than an extra one.
	Lenient Mode = iota
	// Strict is a plain glob: `*` matches any run of characters (including
	// `/`), nothing more.
	Strict
)

func (m Mode) String() string {
	if m == Strict {
		return "strict"
	}
	return "lenient"
}

// MatchAction reports whether action matches an Azure RBAC action pattern.
// Both sides are compared case-insensitively; `*` matches any run of
// characters, and in Lenient mode `/*/` may also match a single `/`.
func MatchAction(pattern, action string, mode Mode) bool {
	return matchLower(strings.ToLower(pattern), strings.ToLower(action), mode)
}

// matchLower matches an already lower-cased pattern and action. The common
// case (no `/*/`, or a strict hit) runs the allocation-free single-backtrack
// glob; only a lenient retry of a `/*/` pattern pays for the DP table.
func matchLower(p, s string, mode Mode) bool {
	if globMatch(p, s) {
		return true
	}
	if mode != Lenient || !strings.Contains(p, "/*/") {
		return false
	}
	return lenientMatch(p, s)
}

// globMatch is the classic linear-time wildcard match with one backtrack
// point: `*` matches any run of bytes.
func globMatch(p, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch {
			case p[pi] == '*':
				starP, starS = pi, si
				pi++
				continue
			case p[pi] == s[si]:
				pi++
				si++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		si = starS
		pi = starP + 1
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// lenientMatch is a DP over (pattern index, text index): dp[i][j] says
// p[i:] matches s[j:]. A `*` that sits between two slashes may additionally
// match "minus one slash": it and the following `/` are skipped without
// consuming text, because the preceding `/` already matched the single `/`.
// (FuzzAzureMatch checks it against a direct recursive reading of the rule.)
// O(len(p)*len(s)) time and space; patterns and actions are short.
func lenientMatch(p, s string) bool {
	m, n := len(p), len(s)
	w := n + 1
	dp := make([]bool, (m+1)*w)
	dp[m*w+n] = true
	for i := m - 1; i >= 0; i-- {
		row := dp[i*w : (i+1)*w]
		next := dp[(i+1)*w : (i+2)*w]
		if p[i] == '*' {
			collapse := i > 0 && p[i-1] == '/' && i+1 < m && p[i+1] == '/'
			// acc: the star consumes s[j:k] for some k >= j. The collapse
			// is a separate option at the star's start only: a star that
			// consumed text cannot also swallow the following slash.
			acc := false
			for j := n; j >= 0; j-- {
				acc = acc || next[j]
				v := acc
				if !v && collapse {
					v = dp[(i+2)*w+j]
				}
				row[j] = v
			}
			continue
		}
		for j := n - 1; j >= 0; j-- {
			row[j] = p[i] == s[j] && next[j+1]
		}
	}
	return dp[0]
}

// Block is one entry of a role definition's (or deny assignment's)
// `permissions` list. Patterns are stored lower-cased.
type Block struct {
	Actions, NotActions, DataActions, NotDataActions []string
	// Condition is an ABAC condition carried by the block itself (a few
	// built-in roles have one); the grant then holds only when it is met.
	Condition, ConditionVersion string
}

// Permissions is a parsed `permissions` attribute. NotActions subtract
// within their own block only: a later block can grant what an earlier
// block's NotActions left out.
type Permissions []Block

// rawBlock accepts the ARM spelling (`actions`, `notActions`, ...);
// encoding/json field matching is case-insensitive, so `Actions` works too.
type rawBlock struct {
	Actions          []string `json:"actions"`
	NotActions       []string `json:"notActions"`
	DataActions      []string `json:"dataActions"`
	NotDataActions   []string `json:"notDataActions"`
	Condition        *string  `json:"condition"`
	ConditionVersion *string  `json:"conditionVersion"`
}

// ParsePermissions parses a role definition's or deny assignment's
// `permissions` attribute: a JSON list of blocks. A single object (not a
// list) is accepted too, since hand-written custom roles sometimes use one.
func ParsePermissions(s string) (Permissions, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var raw []rawBlock
	if strings.HasPrefix(s, "{") {
		var one rawBlock
		if err := json.Unmarshal([]byte(s), &one); err != nil {
			return nil, fmt.Errorf("parse permissions: %w", err)
		}
		raw = []rawBlock{one}
	} else if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("parse permissions: %w", err)
	}
	out := make(Permissions, 0, len(raw))
	for _, r := range raw {
		b := Block{Actions: lowerAll(r.Actions), NotActions: lowerAll(r.NotActions),
			DataActions: lowerAll(r.DataActions), NotDataActions: lowerAll(r.NotDataActions)}
		if r.Condition != nil {
			b.Condition = *r.Condition
		}
		if r.ConditionVersion != nil {
			b.ConditionVersion = *r.ConditionVersion
		}
		out = append(out, b)
	}
	return out, nil
}

func lowerAll(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

// Grant says how a permissions list grants one action.
type Grant struct {
	// Block is the index of the granting block.
	Block int
	// Pattern is the (lower-cased) Actions/DataActions entry that matched.
	Pattern string
	// Condition is the block's ABAC condition, empty when unconditional.
	Condition string
}

// Grants reports whether the permissions grant action; data selects
// DataActions/NotDataActions instead of Actions/NotActions (a control-plane
// `*` never grants a data action). An unconditional block wins over a
// conditional one.
func (ps Permissions) Grants(action string, data bool, mode Mode) (Grant, bool) {
	a := strings.ToLower(action)
	var best Grant
	found := false
	for i, b := range ps {
		allow, deny := b.Actions, b.NotActions
		if data {
			allow, deny = b.DataActions, b.NotDataActions
		}
		pat, ok := firstMatch(allow, a, mode)
		if !ok {
			continue
		}
		if _, excluded := firstMatch(deny, a, mode); excluded {
			continue
		}
		g := Grant{Block: i, Pattern: pat, Condition: b.Condition}
		if g.Condition == "" {
			return g, true
		}
		if !found {
			best, found = g, true
		}
	}
	return best, found
}

func firstMatch(patterns []string, a string, mode Mode) (string, bool) {
	for _, p := range patterns {
		if matchLower(p, a, mode) {
			return p, true
		}
	}
	return "", false
}
