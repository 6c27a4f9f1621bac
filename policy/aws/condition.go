package aws

import (
	"strings"
)

// Offline condition evaluation. Keys whose values are known without a
// request (who the principal is, its tags, the service a role is passed to)
// are decided; everything else stays "depends on the request" and is shown.

// tagsComplete marks a context in which the principal's full tag set is
// known, so a missing aws:PrincipalTag/<k> is known to be absent.
const tagsComplete = "aws:principaltag/*"

// keyState is what the context knows about a condition key.
type keyState uint8

const (
	keyUnknown keyState = iota
	keyPresent
	keyAbsent
)

// lookup finds a context key (case-insensitive, as IAM treats key names).
func lookup(vars map[string]string, key string) (string, keyState) {
	k := strings.ToLower(key)
	if v, ok := vars[k]; ok {
		return v, keyPresent
	}
	if strings.HasPrefix(k, "aws:principaltag/") {
		if _, ok := vars[tagsComplete]; ok {
			return "", keyAbsent
		}
	}
	return "", keyUnknown
}

// evalCondition decides a statement's Condition block: triYes when every
// entry holds, triNo when one fails, triMaybe otherwise; rest is the part
// still depending on the request (nil unless triMaybe).
func evalCondition(cond map[string]map[string][]string, vars map[string]string) (tri, map[string]map[string][]string) {
	result := triYes
	var rest map[string]map[string][]string
	for op, keys := range cond {
		for key, values := range keys {
			r := evalEntry(op, key, values, vars)
			switch r {
			case triNo:
				return triNo, nil
			case triMaybe:
				result = triMaybe
				if rest == nil {
					rest = map[string]map[string][]string{}
				}
				if rest[op] == nil {
					rest[op] = map[string][]string{}
				}
				rest[op][key] = values
			}
		}
	}
	return result, rest
}

// evalEntry decides one operator/key pair.
func evalEntry(op, key string, values []string, vars map[string]string) tri {
	base := op
	set := ""
	if i := strings.IndexByte(base, ':'); i >= 0 {
		set, base = strings.ToLower(base[:i]), base[i+1:]
	}
	ifExists := false
	if strings.HasSuffix(base, "IfExists") {
		ifExists, base = true, strings.TrimSuffix(base, "IfExists")
	}
	val, state := lookup(vars, key)
	if strings.EqualFold(base, "Null") {
		if state == keyUnknown || len(values) == 0 {
			return triMaybe
		}
		wantAbsent := strings.EqualFold(values[0], "true")
		if (state == keyAbsent) == wantAbsent {
			return triYes
		}
		return triNo
	}
	switch state {
	case keyUnknown:
		return triMaybe
	case keyAbsent:
		switch {
		case ifExists:
			return triYes
		case set == "forallvalues":
			return triYes // vacuously true over an empty set
		case isNegated(base):
			return triYes
		}
		return triNo
	}
	matched, known := matchOperator(base, val, values, vars)
	if !known {
		return triMaybe
	}
	if isNegated(base) {
		matched = !matched
	}
	if matched {
		return triYes
	}
	return triNo
}

func isNegated(op string) bool {
	switch strings.ToLower(op) {
	case "stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike", "numericnotequals", "datenotequals", "notipaddress":
		return true
	}
	return false
}

// matchOperator reports whether val matches any of values under the
// positive form of op; known is false for operators we do not evaluate.
func matchOperator(op, val string, values []string, vars map[string]string) (matched, known bool) {
	for _, raw := range values {
		want, unresolved := substitute(raw, vars)
		if unresolved {
			return false, false
		}
		switch strings.ToLower(op) {
		case "stringequals", "stringnotequals":
			if val == want {
				return true, true
			}
		case "stringequalsignorecase", "stringnotequalsignorecase":
			if strings.EqualFold(val, want) {
				return true, true
			}
		case "stringlike", "stringnotlike":
			if MatchWildcard(want, val, false) {
				return true, true
			}
		case "arnequals", "arnlike", "arnnotequals", "arnnotlike":
			if MatchResource(want, val) {
				return true, true
			}
		case "bool":
			if strings.EqualFold(val, want) {
				return true, true
			}
		default:
			return false, false
		}
	}
	return false, true
}
