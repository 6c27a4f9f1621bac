package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIncidentCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(ctx, append([]string{"--db", db}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}
	if _, e, code := run("demo", "--dir", db, "--sample", "../testdata/sample-org"); code != 0 {
		t.Fatalf("demo: %d %s", code, e)
	}
	scen := filepath.Join(dir, "E1")
	if _, e, code := run("emulate", "E1", "--out", scen); code != 0 {
		t.Fatalf("emulate: %d %s", code, e)
	}
	alerts, e, code := run("detect", "--no-store", filepath.Join(scen, "logs"))
	if code != 0 {
		t.Fatalf("detect: %d %s", code, e)
	}
	af := filepath.Join(dir, "alerts.jsonl")
	if err := os.WriteFile(af, []byte(alerts), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "R05|aws:arn:aws:iam::111122223333:user/ops/gina"
	out, e, code := run("incident", key, "--alert-file", af, "--logs", filepath.Join(scen, "logs"))
	if code != 0 {
		t.Fatalf("incident: %d %s", code, e)
	}
	for _, want := range []string{"# Incident R05", "aws iam delete-user-policy --user-name gina --policy-name GroupAdmin", "aws iam remove-user-from-group --group-name Deployers --user-name gina", "## Checklist"} {
		if !strings.Contains(out, want) {
			t.Errorf("incident md lacks %q", want)
		}
	}
	html := filepath.Join(dir, "incident.html")
	if _, e, code := run("incident", key, "--alert-file", af, "--logs", filepath.Join(scen, "logs"), "--format", "html", "--out", html); code != 0 {
		t.Fatalf("incident html: %d %s", code, e)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<!DOCTYPE html>") {
		t.Errorf("html out: %v", err)
	}
	if _, _, code := run("incident", "R99", "--alert-file", af); code != ExitUsage {
		t.Errorf("unknown alert: exit %d, want %d", code, ExitUsage)
	}
	if _, _, code := run("incident", "R0", "--alert-file", af); code != ExitUsage {
		t.Errorf("ambiguous prefix: exit %d, want %d", code, ExitUsage)
	}
	if _, _, code := run("incident", key, "--alert-file", af, "--format", "pdf"); code != ExitUsage {
		t.Errorf("bad format: exit %d, want %d", code, ExitUsage)
	}
}
