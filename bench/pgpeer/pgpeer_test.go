package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"permgraph/bench/gen"
	"permgraph/collectors/awsiam"
	"permgraph/graph"
	"permgraph/ingest"
	"permgraph/queries"
)

// smallStore imports a generated 600-principal export through the real
// import path (awsiam.FileCollector, ingest.Run: import, derive, write) and returns the store and its who-can answer.
func smallStore(t *testing.T) (db string, who queries.WhoCanResult) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	export := filepath.Join(dir, "gaad.json")
	if _, err := gen.WriteFile(export, gen.ForPrincipals(600)); err != nil {
		t.Fatal(err)
	}
	db = filepath.Join(dir, "db")
	open := func(ctx context.Context) (ingest.Store, error) { return graph.Open(ctx, db, nil) }
	at := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	if _, err := ingest.Run(ctx, &awsiam.FileCollector{Path: export}, open, ingest.Options{At: at}); err != nil {
		t.Fatalf("collect: %v", err)
	}
	v, err := graph.LoadLatestView(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := queries.WhoCanDeploy(v, queries.WhoCanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	who = *res
	if len(who.Principals) == 0 {
		t.Fatal("generated organisation has nobody who can deploy")
	}
	return db, who
}

// TestExportMatchesWhoCan: the generated export imports cleanly, the COPY
// rows parse, and the recursive CTE's rule evaluated over them gives exactly
// permgraph's who-can deploy principals.
func TestExportMatchesWhoCan(t *testing.T) {
	ctx := context.Background()
	db, who := smallStore(t)
	v, err := graph.LoadLatestView(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	n, e, err := exportFiles(ctx, v, out)
	if err != nil {
		t.Fatal(err)
	}
	if n != v.NumNodes() || e != v.NumEdges() {
		t.Fatalf("exported %d nodes, %d edges; view has %d, %d", n, e, v.NumNodes(), v.NumEdges())
	}
	nf, err := os.Open(filepath.Join(out, "nodes.copy"))
	if err != nil {
		t.Fatal(err)
	}
	defer nf.Close()
	nodes, err := parseNodes(nf)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := os.Open(filepath.Join(out, "edges.copy"))
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	edges, err := parseEdges(ef)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != n || len(edges) != e {
		t.Fatalf("read back %d nodes, %d edges; wrote %d, %d", len(nodes), len(edges), n, e)
	}
	got := referenceWhoCan(nodes, edges)
	var want []string
	for _, p := range who.Principals {
		want = append(want, p.ID)
	}
	slices.Sort(want)
	if a, b := setDiff(got, want); len(a)+len(b) > 0 {
		t.Fatalf("CTE rule and who-can differ: only rule %v, only who-can %v", head(a, 5), head(b, 5))
	}
	sql, err := os.ReadFile(filepath.Join(out, "whocan.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"WITH RECURSIVE", "'CanAssume'", "'MemberOf'", "NOT e.conditional", "'user'"} {
		if !strings.Contains(string(sql), s) {
			t.Errorf("whocan.sql lacks %q:\n%s", s, sql)
		}
	}
	if strings.Contains(string(sql), "'service'") || strings.Contains(string(sql), "'HasPolicy'") {
		t.Errorf("whocan.sql reports services or walks policy attachments:\n%s", sql)
	}
}

func TestMeasureAndCompare(t *testing.T) {
	ctx := context.Background()
	db, who := smallStore(t)
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"measure", "-db", db, "-runs", "1", "-write-runs", "1", "-tmp", t.TempDir()}, &out, &errb); err != nil {
		t.Fatalf("measure: %v: %s", err, errb.String())
	}
	for _, k := range []string{"load_ms=", "whocan_warm_ms=", "write_ms=", "whocan_principals="} {
		if !strings.Contains(out.String(), k) {
			t.Errorf("measure output lacks %s:\n%s", k, out.String())
		}
	}
	dir := t.TempDir()
	whoFile := filepath.Join(dir, "who.json")
	raw, _ := json.Marshal(who)
	if err := os.WriteFile(whoFile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range who.Principals {
		ids = append(ids, p.ID)
	}
	pgFile := filepath.Join(dir, "pg.txt")
	if err := os.WriteFile(pgFile, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"compare", "-pg", pgFile, "-permgraph", whoFile}, &out, &errb); err != nil {
		t.Fatalf("compare of equal sets: %v", err)
	}
	if err := os.WriteFile(pgFile, []byte(strings.Join(ids[1:], "\n")+"\naws:extra\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"compare", "-pg", pgFile, "-permgraph", whoFile}, &out, &errb); err == nil {
		t.Fatal("compare of different sets succeeded")
	}
}

func TestCopyEscape(t *testing.T) {
	if got := copyEscape("a\tb\\c\nd"); got != `a\tb\\c\nd` {
		t.Fatalf("copyEscape = %q", got)
	}
}
