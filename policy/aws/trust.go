package aws

import (
	"strings"
)

// TrustPrincipal is a would-be caller of sts:AssumeRole*.
type TrustPrincipal struct {
	// Type is "AWS", "Service" or "Federated".
	Type string
	// Value is the principal ARN (AWS), the service name or the provider
	// ARN / well-known IdP name (Federated).
	Value string
	// Account is the caller's account id for AWS principals.
	Account string
	// Vars are the caller's known context keys (see Vars), used to decide
	// trust-policy conditions such as aws:PrincipalTag offline.
	Vars map[string]string
}

// TrustResult says whether a trust policy lets a principal assume the role.
type TrustResult struct {
	Allowed     bool
	Conditional bool
	Condition   string
	// NamesPrincipal is true when the trust policy names the principal itself
	// (or "*"), so a same-account caller needs no identity-policy allow; false
	// when it only names the account, which delegates to identity policies.
	NamesPrincipal bool
	Statements     []StatementRef
}

// AssumeAction is the STS action a principal type uses to assume a role.
func AssumeAction(principalType, federatedValue string) string {
	if principalType == "Federated" {
		if strings.Contains(federatedValue, ":saml-provider/") {
			return "sts:AssumeRoleWithSAML"
		}
		return "sts:AssumeRoleWithWebIdentity"
	}
	return "sts:AssumeRole"
}

// EvaluateTrust checks a role trust policy for one principal. A matching
// Deny blocks; a conditional Deny makes the answer conditional.
func EvaluateTrust(trust *Document, policyID string, p TrustPrincipal) TrustResult {
	var res TrustResult
	if trust == nil {
		return res
	}
	action := AssumeAction(p.Type, p.Value)
	var denyMaybe []StatementRef
	var allowYes, allowMaybe []StatementRef
	namesYes, namesMaybe := false, false
	for i := range trust.Statement {
		st := &trust.Statement[i]
		if !actionMatches(st, action) {
			continue
		}
		matched, named := principalMatches(st, p)
		if !matched {
			continue
		}
		ref := StatementRef{PolicyID: policyID, PolicyName: "trust policy", Statement: st.Label(), Effect: st.Effect.String()}
		conditional := false
		if st.HasCondition() {
			holds, rest := evalCondition(st.Condition, p.Vars)
			if holds == triNo {
				continue
			}
			if holds == triMaybe {
				conditional = true
				ref.Condition = conditionText(rest)
			}
		}
		switch {
		case st.Effect == EffectDeny && conditional:
			denyMaybe = append(denyMaybe, ref)
		case st.Effect == EffectDeny:
			res.Statements = []StatementRef{ref}
			return res // explicit deny in the trust policy
		case conditional:
			allowMaybe = append(allowMaybe, ref)
			namesMaybe = namesMaybe || named
		default:
			allowYes = append(allowYes, ref)
			namesYes = namesYes || named
		}
	}
	switch {
	case len(allowYes) > 0:
		res.Allowed, res.Statements, res.NamesPrincipal = true, allowYes, namesYes
	case len(allowMaybe) > 0:
		res.Allowed, res.Conditional, res.Statements, res.NamesPrincipal = true, true, allowMaybe, namesMaybe
		res.Condition = allowMaybe[0].Condition
	default:
		return res
	}
	if len(denyMaybe) > 0 {
		res.Conditional = true
		if res.Condition == "" {
			res.Condition = "not " + denyMaybe[0].Condition
		}
		res.Statements = append(res.Statements, denyMaybe...)
	}
	return res
}

// principalMatches reports whether a statement's Principal (or NotPrincipal)
// covers p, and whether it names p itself rather than p's account.
func principalMatches(st *Statement, p TrustPrincipal) (matched, named bool) {
	if st.NotPrincipal != nil {
		m, _ := principalIn(st.NotPrincipal, p)
		return !m, false
	}
	return principalIn(st.Principal, p)
}

func principalIn(pm map[string][]string, p TrustPrincipal) (bool, bool) {
	if _, ok := pm["*"]; ok {
		return true, true
	}
	for typ, vals := range pm {
		if !strings.EqualFold(typ, p.Type) {
			continue
		}
		for _, v := range vals {
			switch p.Type {
			case "AWS":
				if v == "*" {
					return true, true
				}
				if v == p.Value {
					return true, true
				}
				if p.Account != "" && (v == p.Account || v == "arn:aws:iam::"+p.Account+":root" || strings.HasSuffix(v, "::"+p.Account+":root")) {
					return true, false
				}
			default:
				if strings.EqualFold(v, p.Value) || v == "*" {
					return true, true
				}
			}
		}
	}
	return false, false
}

// TrustedPrincipals lists every principal value named by Allow statements of
// a trust policy, by type, so callers can create edges for services,
// federated providers and external accounts without enumerating them.
func TrustedPrincipals(trust *Document) map[string][]string {
	out := map[string][]string{}
	if trust == nil {
		return out
	}
	seen := map[string]bool{}
	for i := range trust.Statement {
		st := &trust.Statement[i]
		if st.Effect != EffectAllow {
			continue
		}
		for typ, vals := range st.Principal {
			for _, v := range vals {
				k := typ + "\x00" + v
				if !seen[k] {
					seen[k] = true
					out[typ] = append(out[typ], v)
				}
			}
		}
	}
	return out
}
