package aws

import "testing"

func TestMatchWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"ecs:*", "ecs:RunTask", true, true},
		{"ecs:Run*", "ecs:runtask", true, true},
		{"ECS:RUNTASK", "ecs:RunTask", true, true},
		{"ecs:RunTask", "ecs:RunTasks", true, false},
		{"ecs:?unTask", "ecs:RunTask", true, true},
		{"ecs:??nTask", "ecs:RunTask", true, true},
		{"ecs:?Task", "ecs:RunTask", true, false},
		{"ecs:*Task", "ecs:RunTask", true, true},
		{"ecs:*Task", "ecs:RunTaskX", true, false},
		{"*:Get*", "s3:GetObject", true, true},
		{"a*b*c", "aXXbYYc", false, true},
		{"a*b*c", "aXXbYY", false, false},
		{"a*a*a", "aaaa", false, true},
		{"Bucket", "bucket", false, false},
		{"", "", false, true},
		{"", "x", false, false},
	}
	for _, tt := range tests {
		if got := MatchWildcard(tt.pattern, tt.s, tt.fold); got != tt.want {
			t.Errorf("MatchWildcard(%q, %q, fold=%v) = %v, want %v", tt.pattern, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestMatchResource(t *testing.T) {
	tests := []struct {
		name, pattern, arn string
		want               bool
	}{
		{"star matches all", "*", "arn:aws:iam::111122223333:role/x", true},
		{"exact", "arn:aws:iam::111122223333:role/x", "arn:aws:iam::111122223333:role/x", true},
		{"case-sensitive resource", "arn:aws:iam::111122223333:role/X", "arn:aws:iam::111122223333:role/x", false},
		{"wildcard account", "arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:role/x", true},
		{"star in resource spans slash", "arn:aws:iam::111122223333:role/app/*", "arn:aws:iam::111122223333:role/app/team/x", true},
		{"star in account stays in field", "arn:aws:iam::*", "arn:aws:iam::111122223333:role/x", false},
		{"question mark", "arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-1", true},
		{"other service", "arn:aws:s3:::*", "arn:aws:iam::111122223333:role/x", false},
		{"star resource field spans colon", "arn:aws:ecs:us-east-1:111122223333:*", "arn:aws:ecs:us-east-1:111122223333:task-definition/app:3", true},
	}
	for _, tt := range tests {
		if got := MatchResource(tt.pattern, tt.arn); got != tt.want {
			t.Errorf("%s: MatchResource(%q, %q) = %v, want %v", tt.name, tt.pattern, tt.arn, got, tt.want)
		}
	}
}

func FuzzMatchWildcard(f *testing.F) {
	for _, s := range [][2]string{{"ecs:*", "ecs:RunTask"}, {"a?b*", "axbyy"}, {"*a*a*", "banana"}, {"é?", "éé"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := MatchWildcard(pattern, s, false)
		// A pattern without wildcards matches only itself.
		if !containsAny(pattern, "*?") && got != (pattern == s) {
			t.Fatalf("literal %q vs %q: got %v", pattern, s, got)
		}
		// "*" + pattern + "*" must match whenever pattern matches.
		if got && !MatchWildcard("*"+pattern+"*", s, false) {
			t.Fatalf("%q matched %q but *%q* did not", pattern, s, pattern)
		}
		_ = MatchResource(pattern, s)
	})
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}
