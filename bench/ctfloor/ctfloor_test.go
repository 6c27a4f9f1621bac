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
