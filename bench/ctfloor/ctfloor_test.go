package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"permgraph/bench/gen"
)

// TestGenFloor: the generated stream reads cleanly through detect/read (no
// unknown or malformed records, one event per line) and floor reports.
func TestGenFloor(t *testing.T) {
	ctx := context.Background()
	trail := filepath.Join(t.TempDir(), "trail.jsonl")
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"gen", "-principals", "600", "-events", "2000", "-out", trail}, &out, &errb); err != nil {
		t.Fatalf("gen: %v: %s", err, errb.String())
	}
	if err := run(ctx, []string{"floor", "-runs", "1", trail}, &out, &errb); err != nil {
		t.Fatalf("floor: %v: %s", err, errb.String())
	}
	if !strings.Contains(out.String(), "events=2000\n") || !strings.Contains(out.String(), "reader_eps=") {
		t.Fatalf("floor output:\n%s", out.String())
	}
}

func TestCloudTrailDeterministic(t *testing.T) {
	o, err := gen.NewOrg(gen.ForPrincipals(600))
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	c := gen.CloudTrailConfig{Events: 300, Seed: 7}
	if _, err := o.WriteCloudTrail(&a, c); err != nil {
		t.Fatal(err)
	}
	if _, err := o.WriteCloudTrail(&b, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same org and config gave different streams")
	}
}

// BenchmarkReaderFloor is the parse floor in process: detect/read alone over
// a generated stream (run with -cpu 1 for per-core numbers).
func BenchmarkReaderFloor(b *testing.B) {
	trail := filepath.Join(b.TempDir(), "trail.jsonl")
	var out, errb bytes.Buffer
	if err := run(b.Context(), []string{"gen", "-principals", "2000", "-events", "20000", "-out", trail}, &out, &errb); err != nil {
		b.Fatal(err)
	}
	events := 0
	for b.Loop() {
		n, err := readAll(b.Context(), trail)
		if err != nil {
			b.Fatal(err)
		}
		events += n
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// TestGenK8s: the Kubernetes stream reads cleanly through the floor (which
// fails on unknown or malformed records), and bad flags are refused.
func TestGenK8s(t *testing.T) {
	ctx := context.Background()
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"gen", "-format", "k8s", "-principals", "600", "-events", "2000", "-rate", "50", "-mix", "exec=0.01,scenario=0.005", "-out", audit}, &out, &errb); err != nil {
		t.Fatalf("gen: %v: %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "2000 k8s events") {
		t.Fatalf("gen stderr: %s", errb.String())
	}
	if err := run(ctx, []string{"floor", "-runs", "1", audit}, &out, &errb); err != nil {
		t.Fatalf("floor: %v: %s", err, errb.String())
	}
	if !strings.Contains(out.String(), "events=2000\n") {
		t.Fatalf("floor output:\n%s", out.String())
	}
	for _, args := range [][]string{{"-format", "syslog"}, {"-mix", "nope=0.1"}, {"-mix", "exec"}, {"-start", "yesterday"}, {"-rate", "0"}} {
		errb.Reset()
		if err := run(ctx, append([]string{"gen", "-events", "10", "-principals", "600", "-out", filepath.Join(t.TempDir(), "x")}, args...), &out, &errb); err == nil {
			t.Errorf("gen %v: no error", args)
		}
	}
}

// BenchmarkReaderFloorK8s is the parse floor of the Kubernetes audit stream
// (detect/read with detect/k8saudit).
func BenchmarkReaderFloorK8s(b *testing.B) {
	audit := filepath.Join(b.TempDir(), "audit.jsonl")
	var out, errb bytes.Buffer
	if err := run(b.Context(), []string{"gen", "-format", "k8s", "-principals", "2000", "-events", "20000", "-out", audit}, &out, &errb); err != nil {
		b.Fatal(err)
	}
	events := 0
	for b.Loop() {
		n, err := readAll(b.Context(), audit)
		if err != nil {
			b.Fatal(err)
		}
		events += n
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
