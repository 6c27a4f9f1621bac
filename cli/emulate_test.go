package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"permgraph/emulate"
)

func TestEmulateList(t *testing.T) {
	code, stdout, stderr := run(t, "emulate", "--list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"E1", "E9", "X1-ephemeral", "X2-terraform", "X3-gained", "DETECTIONS.md"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("emulate --list does not mention %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := run(t, "emulate", "E42", "--out", t.TempDir()); code != 2 || !strings.Contains(stderr, "unknown scenario") {
		t.Errorf("unknown scenario: exit %d, %s", code, stderr)
	}
	if code, _, _ := run(t, "emulate", "E1"); code != 2 {
		t.Errorf("missing --out: exit %d, want 2", code)
	}
}

// TestEmulateDeterministic: the same seed writes the same files.
func TestEmulateDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if code, _, stderr := run(t, "emulate", "E7", "--out", d, "--seed", "7"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	fa, _ := filepath.Glob(filepath.Join(a, "logs", "*"))
	fb, _ := filepath.Glob(filepath.Join(b, "logs", "*"))
	if len(fa) == 0 || len(fa) != len(fb) {
		t.Fatalf("file counts %d vs %d", len(fa), len(fb))
	}
	for i := range fa {
		x, _ := os.ReadFile(fa[i])
		y, _ := os.ReadFile(fb[i])
		if filepath.Base(fa[i]) != filepath.Base(fb[i]) || string(x) != string(y) {
			t.Fatalf("%s differs between two runs with the same seed", filepath.Base(fa[i]))
		}
	}
}

func TestRulesCommand(t *testing.T) {
	code, stdout, stderr := run(t, "rules")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"R01", "window=10m0s", "R10", "T1610"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("rules does not list %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = run(t, "rules", "show", "r05")
	if code != 0 || !strings.Contains(stdout, "## Blind Spots and Assumptions") || !strings.Contains(stdout, "lookback") {
		t.Errorf("rules show r05: exit %d:\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "rules", "show", "R99"); code != 2 || !strings.Contains(stderr, "no ADS document") {
		t.Errorf("rules show R99: exit %d: %s", code, stderr)
	}
}

// TestValidateCommand emulates E1, validates it (pass), then breaks rules on
// purpose through the rules config and sees validate fail.
func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := emulate.BuildSampleStore(context.Background(), filepath.Join("..", "testdata", "sample-org"), db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	emu := filepath.Join(dir, "emu")
	if code, _, stderr := run(t, "emulate", "E1", "--out", emu); code != 0 {
		t.Fatalf("emulate: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, "--db", db, "validate", emu)
	if code != 0 || !strings.Contains(stdout, "PASS") {
		t.Fatalf("validate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = run(t, "--db", db, "-o", "json", "validate", emu)
	var rep emulate.Report
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil || !rep.Pass || len(rep.Scenarios) != 1 {
		t.Fatalf("validate -o json: exit %d, %v: %s", code, err, stdout)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, config string
		code         int
		want         string
	}{
		// A window of 0 is rejected: a typo never silently keeps a default.
		{"R10 window 0", "params: {R10: {window: 0s}}\n", 2, "must be positive"},
		// R01 thresholds out of reach: E1's recon burst is missed.
		{"R01 blinded", "params: {R01: {min_actions: \"50\"}}\n", 1, "MISSED"},
		// R10 window too short for E1's 5 minutes between recon and grant.
		{"R10 window 1s", "params: {R10: {window: 1s}}\n", 1, "MISSED"},
		{"R05 disabled", "disabled: [R05]\n", 1, "MISSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := write(strings.ReplaceAll(tt.name, " ", "_")+".yaml", tt.config)
			code, stdout, stderr := run(t, "--db", db, "validate", emu, "--rules", cfg)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("exit %d (want %d), want %q in output:\n%s\n%s", code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}
