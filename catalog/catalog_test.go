package catalog

import (
	"strings"
	"testing"
)

func TestLoadDeploy(t *testing.T) {
	d, err := LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range d.AWS {
		if ids[r.ID] {
			t.Errorf("duplicate recipe id %s", r.ID)
		}
		ids[r.ID] = true
	}
	for _, want := range []string{"ecs-run-task", "lambda-create-image-function", "apprunner-create-service", "batch-submit-job", "ecs-update-service"} {
		if !ids[want] {
			t.Errorf("recipe %s missing", want)
		}
	}
}

func TestAWSActions(t *testing.T) {
	c, err := LoadAWSActions()
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() < 20000 {
		t.Fatalf("catalog has %d actions, want the full SAR (>20k)", c.Len())
	}
	a, ok := c.Lookup("ECS:runtask")
	if !ok || a.Name != "ecs:RunTask" || a.Access != "Write" {
		t.Fatalf("lookup ecs:RunTask = %+v, %v", a, ok)
	}
	// Every action named by the deploy catalog must exist in the SAR.
	d, err := LoadDeploy()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.AWS {
		for _, act := range r.Actions {
			if _, ok := c.Lookup(act); !ok {
				t.Errorf("recipe %s names %s, which is not in the action catalog", r.ID, act)
			}
		}
	}
	prefix := func(p, a string) bool {
		return strings.HasPrefix(strings.ToLower(a), strings.ToLower(strings.TrimSuffix(p, "*")))
	}
	run := c.Expand("ecs:Run*", prefix)
	if len(run) != 1 || run[0].Name != "ecs:RunTask" {
		t.Errorf("Expand ecs:Run* = %v", run)
	}
	if n := len(c.Service("ecs")); n < 50 {
		t.Errorf("ecs has %d actions", n)
	}
}
