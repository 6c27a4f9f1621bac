package aws

import "strings"

// MatchWildcard reports whether s matches pattern, where '*' matches any run
// of characters (including none) and '?' exactly one. foldCase compares ASCII
// letters case-insensitively (IAM action names); resource ARNs are matched
// case-sensitively. It runs in O(len(pattern)*len(s)) worst case without
// allocating, using the classic single-backtrack-point algorithm.
func MatchWildcard(pattern, s string, foldCase bool) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			c := pattern[p]
			switch {
			case c == '*':
				starP, starI = p, i
				p++
				continue
			case c == '?':
				// '?' matches one character; step over a whole UTF-8 sequence.
				p++
				i += utf8Len(s[i])
				continue
			case eqByte(c, s[i], foldCase):
				p++
				i++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starI++
		i = starI
		p = starP + 1
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func utf8Len(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b>>5 == 0x6:
		return 2
	case b>>4 == 0xe:
		return 3
	case b>>3 == 0x1e:
		return 4
	}
	return 1
}

func eqByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

// MatchAction matches an IAM action pattern ("ecs:Run*", "*") against an
// action ("ecs:RunTask"), case-insensitively.
func MatchAction(pattern, action string) bool {
	return MatchWildcard(pattern, action, true)
}

// MatchResource matches an IAM resource pattern against a resource ARN.
// Wildcards in the first five ARN fields stay inside their field; in the
// resource field '*' spans '/' and ':'. Matching is case-sensitive.
func MatchResource(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	// Walk the first five fields of both without allocating; the sixth
	// (resource) field is the rest of the string.
	p, a := pattern, arn
	for field := 0; field < 5; field++ {
		j := strings.IndexByte(a, ':')
		if j < 0 {
			if field == 0 {
				// Not an ARN (a bare name in odd data): plain glob.
				return MatchWildcard(pattern, arn, false)
			}
			return false
		}
		i := strings.IndexByte(p, ':')
		if i < 0 {
			// A pattern with fewer fields cannot stretch a wildcard across ':'.
			return false
		}
		if !MatchWildcard(p[:i], a[:j], false) {
			return false
		}
		p, a = p[i+1:], a[j+1:]
	}
	return MatchWildcard(p, a, false)
}

// actionService returns the service prefix of an action, lower-cased.
func actionService(action string) string {
	if i := strings.IndexByte(action, ':'); i >= 0 {
		return strings.ToLower(action[:i])
	}
	return strings.ToLower(action)
}

// resourceCouldBelongTo reports whether a resource pattern could match some
// resource of the given service: "*" and ARN patterns whose service field
// matches. Used for "some resource" questions such as "can P run any task?".
func resourceCouldBelongTo(pattern, service string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	if len(pp) < 3 {
		return MatchWildcard(pattern, "arn:aws:"+service+":", false)
	}
	return MatchWildcard(pp[2], service, true)
}

// resourceCoversService reports whether a pattern matches every resource of
// the service: "*", or an ARN pattern whose region, account and resource
// fields are all "*". Only such a Deny denies "any resource".
func resourceCoversService(pattern, service string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	if len(pp) != 6 {
		return false
	}
	return (pp[1] == "*" || strings.HasPrefix(pp[1], "aws")) && MatchWildcard(pp[2], service, true) && pp[3] == "*" && pp[4] == "*" && pp[5] == "*"
}
