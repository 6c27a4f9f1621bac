// Package aws parses and evaluates AWS IAM policy documents: identity
// policies, permissions boundaries and role trust policies.
package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Document is a parsed IAM policy document.
type Document struct {
	Version   string
	Statement []Statement
}

// Statement is one policy statement. Lists are normalised from the
// string-or-array JSON forms.
type Statement struct {
	Index       int
	Sid         string
	Effect      Effect
	Action      []string
	NotAction   []string
	Resource    []string
	NotResource []string
	// Principal / NotPrincipal map a principal type ("AWS", "Service",
	// "Federated", "CanonicalUser", or "*" for the bare wildcard) to values.
	Principal    map[string][]string
	NotPrincipal map[string][]string
	// Condition is operator -> key -> values, kept for display and (later)
	// offline evaluation; ConditionText is its compact JSON.
	Condition     map[string]map[string][]string
	ConditionText string
	label         string // cached Label(): evidence is built on hot paths
}

// Effect is Allow or Deny.
type Effect uint8

const (
	EffectAllow Effect = iota + 1
	EffectDeny
)

func (e Effect) String() string {
	switch e {
	case EffectAllow:
		return "Allow"
	case EffectDeny:
		return "Deny"
	}
	return "invalid"
}

// HasCondition reports whether the statement applies only under a condition.
func (s *Statement) HasCondition() bool { return len(s.Condition) > 0 }

// Label names the statement for evidence: its Sid, else its index.
func (s *Statement) Label() string {
	if s.label != "" {
		return s.label
	}
	if s.Sid != "" {
		return fmt.Sprintf("%d (%s)", s.Index, s.Sid)
	}
	return fmt.Sprintf("%d", s.Index)
}

type rawDocument struct {
	Version   string          `json:"Version"`
	Statement json.RawMessage `json:"Statement"`
}

type rawStatement struct {
	Sid          json.RawMessage `json:"Sid"`
	Effect       string          `json:"Effect"`
	Action       json.RawMessage `json:"Action"`
	NotAction    json.RawMessage `json:"NotAction"`
	Resource     json.RawMessage `json:"Resource"`
	NotResource  json.RawMessage `json:"NotResource"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
	Condition    json.RawMessage `json:"Condition"`
}

// Parse parses a policy document (compact or indented JSON text). Errors name
// the statement index and field.
func Parse(text string) (*Document, error) {
	var raw rawDocument
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	doc := &Document{Version: raw.Version}
	stmts, err := statementList(raw.Statement)
	if err != nil {
		return nil, fmt.Errorf("parse policy: field Statement: %w", err)
	}
	for i, rs := range stmts {
		st, err := parseStatement(i, rs)
		if err != nil {
			return nil, fmt.Errorf("parse policy: Statement[%d]: %w", i, err)
		}
		doc.Statement = append(doc.Statement, st)
	}
	return doc, nil
}

// statementList accepts a single statement object or an array of them.
func statementList(b json.RawMessage) ([]rawStatement, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if b[0] == '{' {
		var one rawStatement
		if err := json.Unmarshal(b, &one); err != nil {
			return nil, err
		}
		return []rawStatement{one}, nil
	}
	var many []rawStatement
	if err := json.Unmarshal(b, &many); err != nil {
		return nil, err
	}
	return many, nil
}

func parseStatement(i int, rs rawStatement) (Statement, error) {
	st := Statement{Index: i}
	if len(rs.Sid) > 0 {
		// Sid is usually a string; some generators emit numbers.
		var s string
		if json.Unmarshal(rs.Sid, &s) == nil {
			st.Sid = s
		} else {
			st.Sid = strings.Trim(string(rs.Sid), `"`)
		}
	}
	switch {
	case strings.EqualFold(rs.Effect, "Allow"):
		st.Effect = EffectAllow
	case strings.EqualFold(rs.Effect, "Deny"):
		st.Effect = EffectDeny
	default:
		return st, fmt.Errorf("field Effect: want Allow or Deny, got %q", rs.Effect)
	}
	var err error
	if st.Action, err = stringList(rs.Action); err != nil {
		return st, fmt.Errorf("field Action: %w", err)
	}
	if st.NotAction, err = stringList(rs.NotAction); err != nil {
		return st, fmt.Errorf("field NotAction: %w", err)
	}
	if st.Resource, err = stringList(rs.Resource); err != nil {
		return st, fmt.Errorf("field Resource: %w", err)
	}
	if st.NotResource, err = stringList(rs.NotResource); err != nil {
		return st, fmt.Errorf("field NotResource: %w", err)
	}
	if st.Principal, err = principalMap(rs.Principal); err != nil {
		return st, fmt.Errorf("field Principal: %w", err)
	}
	if st.NotPrincipal, err = principalMap(rs.NotPrincipal); err != nil {
		return st, fmt.Errorf("field NotPrincipal: %w", err)
	}
	if c := bytes.TrimSpace(rs.Condition); len(c) > 0 && string(c) != "null" && string(c) != "{}" {
		cond := map[string]map[string]json.RawMessage{}
		if err := json.Unmarshal(c, &cond); err != nil {
			return st, fmt.Errorf("field Condition: %w", err)
		}
		st.Condition = map[string]map[string][]string{}
		for op, keys := range cond {
			if len(keys) == 0 {
				continue
			}
			m := map[string][]string{}
			for k, v := range keys {
				vals, err := conditionValues(v)
				if err != nil {
					return st, fmt.Errorf("field Condition.%s.%s: %w", op, k, err)
				}
				m[k] = vals
			}
			st.Condition[op] = m
		}
		if len(st.Condition) == 0 {
			st.Condition = nil
		} else {
			st.ConditionText = conditionText(st.Condition)
		}
	}
	if len(st.Action) == 0 && len(st.NotAction) == 0 {
		return st, fmt.Errorf("neither Action nor NotAction is set")
	}
	st.label = st.Label()
	if len(st.Action) > 0 && len(st.NotAction) > 0 {
		return st, fmt.Errorf("both Action and NotAction are set")
	}
	return st, nil
}

// stringList accepts "x", ["x","y"] or absent.
func stringList(b json.RawMessage) ([]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("want a string or an array of strings")
	}
	return list, nil
}

// conditionValues accepts strings, numbers and booleans (IAM compares them as
// strings) alone or in arrays.
func conditionValues(b json.RawMessage) ([]string, error) {
	b = bytes.TrimSpace(b)
	var anyv any
	if err := json.Unmarshal(b, &anyv); err != nil {
		return nil, err
	}
	scalar := func(v any) (string, error) {
		switch x := v.(type) {
		case string:
			return x, nil
		case bool, float64:
			return fmt.Sprint(x), nil
		case nil:
			return "", nil
		}
		return "", fmt.Errorf("want a scalar or an array of scalars")
	}
	if arr, ok := anyv.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, v := range arr {
			s, err := scalar(v)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(anyv)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// principalMap accepts "*" or {"AWS": "..."|[...], "Service": ..., ...}.
func principalMap(b json.RawMessage) (map[string][]string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		if s != "*" {
			return nil, fmt.Errorf("a string principal must be \"*\", got %q", s)
		}
		return map[string][]string{"*": {"*"}}, nil
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("want \"*\" or an object")
	}
	out := map[string][]string{}
	for k, v := range raw {
		list, err := stringList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = list
	}
	return out, nil
}

// conditionText renders a condition deterministically for evidence output.
func conditionText(c map[string]map[string][]string) string {
	ops := make([]string, 0, len(c))
	for op := range c {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var sb strings.Builder
	sb.WriteByte('{')
	for i, op := range ops {
		if i > 0 {
			sb.WriteByte(',')
		}
		b, _ := json.Marshal(op)
		sb.Write(b)
		sb.WriteString(":{")
		keys := make([]string, 0, len(c[op]))
		for k := range c[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for j, k := range keys {
			if j > 0 {
				sb.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			vb, _ := json.Marshal(c[op][k])
			sb.Write(kb)
			sb.WriteByte(':')
			sb.Write(vb)
		}
		sb.WriteByte('}')
	}
	sb.WriteByte('}')
	return sb.String()
}
