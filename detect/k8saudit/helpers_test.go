package k8saudit

import (
	"strings"
	"testing"
)

func TestARNAccount(t *testing.T) {
	for _, arn := range []string{"arn:aws:iam::111122223333:role/deployer", "arn:aws:iam::1:role/a:b:c", "arn:aws:iam::1", "arn:aws:iam::1:",
		"arn:aws:iam:", "arn::::", "arn:::::", "notarn:aws:iam::1:role/x", "", "arn:aws:sts::2:assumed-role/r/s"} {
		want := ""
		if strings.HasPrefix(arn, "arn:") {
			if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
				want = parts[4]
			}
		}
		if got := arnAccount(arn); got != want {
			t.Errorf("arnAccount(%q) = %q, want %q", arn, got, want)
		}
	}
}
