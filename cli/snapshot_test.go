package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSnapshotCommandAndDiff(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	gaad, err := filepath.Abs(sampleGAAD)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "permgraph.yaml")
	write := func(text string) {
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("sources:\n  - name: sample\n    type: aws\n    from: [" + gaad + "]\n  - name: broken\n    type: aws\n    account: \"999999999999\"\n    from: [" + filepath.Join(dir, "missing.json") + "]\n")
	code, out, stderr := run(t, "--db", db, "snapshot", "--config", cfg)
	if code != 1 || !strings.Contains(out, "1 failed") || !strings.Contains(stderr, "source broken") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "sample ") || !strings.Contains(out, "aws:111122223333@1") {
		t.Fatalf("summary misses the good source:\n%s", out)
	}

	// Second run: bob leaves the deploy group; the diff says he lost deploy.
	raw, _ := os.ReadFile(gaad)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, u := range doc["UserDetailList"].([]any) {
		m := u.(map[string]any)
		if m["UserName"] == "alice" {
			m["GroupList"] = []any{}
		}
	}
	changed := filepath.Join(dir, "changed.json")
	b, _ := json.Marshal(doc)
	os.WriteFile(changed, b, 0o600)
	write("sources:\n  - name: sample\n    type: aws\n    from: [" + changed + "]\n")
	if code, out, stderr := run(t, "--db", db, "snapshot", "--config", cfg); code != 0 {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = run(t, "--db", db, "-o", "json", "diff")
	if code != 0 {
		t.Fatalf("diff: exit %d: %s", code, stderr)
	}
	var res struct {
		Capabilities []struct{ Name, Change, Summary string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range res.Capabilities {
		if c.Name == "alice" && c.Change == "lost" {
			found = true
		}
	}
	if !found {
		t.Fatalf("diff does not report alice losing deploy: %+v", res.Capabilities)
	}
	if code, out, _ := run(t, "--db", db, "snapshots", "prune", "--keep", "1"); code != 0 || !strings.Contains(out, "removed 1 snapshot") {
		t.Fatalf("prune: exit %d: %s", code, out)
	}
	if code, _, stderr := run(t, "--db", db, "snapshot", "--config", filepath.Join(dir, "nope.yaml")); code != 2 || !strings.Contains(stderr, "nope.yaml") {
		t.Fatalf("missing config: exit %d: %s", code, stderr)
	}
}
