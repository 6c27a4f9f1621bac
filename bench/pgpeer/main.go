// Command pgpeer is the Go half of the PostgreSQL side-by-side benchmark
// (bench/pgpeer/pgpeer.sh, bench/README.md):
//
//	pgpeer export  -db DIR -out DIR   latest graph as nodes.copy / edges.copy (COPY text) + schema.sql, index.sql, whocan.sql
//	pgpeer measure -db DIR -runs N    permgraph in process: load-to-memory, who-can deploy warm, path warm, store write of the same graph
//	pgpeer compare -permgraph who.json -pg keys.txt   the two answers as sets; exit 1 when they differ
//
// measure and compare print key=value lines for the script.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"permgraph/graph"
	"permgraph/queries"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pgpeer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: export, measure, compare")
	}
	switch args[0] {
	case "export":
		return runExport(ctx, args[1:], stdout, stderr)
	case "measure":
		return runMeasure(ctx, args[1:], stdout, stderr)
	case "compare":
		return runCompare(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "permgraph store directory")
	out := fs.String("out", "", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" || *out == "" {
		return errors.New("export: want -db and -out")
	}
	v, err := graph.LoadLatestView(ctx, *db, nil)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	n, e, err := exportFiles(ctx, v, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nodes=%d\nedges=%d\n", n, e)
	return nil
}

// exportFiles writes the COPY data and the SQL of one run into dir.
func exportFiles(ctx context.Context, v *graph.View, dir string) (nodes, edges int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, fmt.Errorf("export: %w", err)
	}
	write := func(name string, f func(w io.Writer) (int, error)) (int, error) {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		n, werr := f(fh)
		if cerr := fh.Close(); werr == nil && cerr != nil {
			werr = fmt.Errorf("export %s: %w", name, cerr)
		}
		return n, werr
	}
	if nodes, err = write("nodes.copy", func(w io.Writer) (int, error) { return writeNodes(ctx, v, w) }); err != nil {
		return 0, 0, err
	}
	if edges, err = write("edges.copy", func(w io.Writer) (int, error) { return writeEdges(ctx, v, w) }); err != nil {
		return 0, 0, err
	}
	for name, text := range map[string]string{"schema.sql": schemaSQL, "index.sql": indexSQL, "whocan.sql": whoCanSQL() + ";\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return 0, 0, fmt.Errorf("export: %w", err)
		}
	}
	return nodes, edges, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

func runMeasure(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "permgraph store directory")
	runs := fs.Int("runs", 5, "runs per measurement (median reported)")
	writeRuns := fs.Int("write-runs", 3, "store writes of the whole graph (median reported); 0 skips")
	pathFrom := fs.String("path-from", "", "principal for the warm path query (default: first user of the who-can answer)")
	tmp := fs.String("tmp", "", "directory for the write measurement's stores (default: system temp)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" || *runs < 1 {
		return errors.New("measure: want -db and -runs >= 1")
	}
	// Load to memory: the cached latest view, as a query process does.
	var loads []time.Duration
	var v *graph.View
	for range *runs {
		t0 := time.Now()
		var err error
		if v, err = graph.LoadLatestView(ctx, *db, nil); err != nil {
			return fmt.Errorf("measure: %w", err)
		}
		loads = append(loads, time.Since(t0))
	}
	fmt.Fprintf(stdout, "nodes=%d\nedges=%d\nload_ms=%s\n", v.NumNodes(), v.NumEdges(), ms(median(loads)))

	// who-can deploy on a warm view (what `serve` would answer).
	var whos []time.Duration
	var res *queries.WhoCanResult
	for range *runs + 1 {
		t0 := time.Now()
		var err error
		if res, err = queries.WhoCanDeploy(v, queries.WhoCanOptions{}); err != nil {
			return fmt.Errorf("measure: who-can: %w", err)
		}
		whos = append(whos, time.Since(t0))
	}
	fmt.Fprintf(stdout, "whocan_first_ms=%s\nwhocan_warm_ms=%s\nwhocan_principals=%d\n", ms(whos[0]), ms(median(whos[1:])), len(res.Principals))

	from := *pathFrom
	if from == "" {
		for _, p := range res.Principals {
			if p.Kind == "user" && len(p.Path) > 1 {
				from = p.ID
				break
			}
		}
	}
	if from != "" {
		var paths []time.Duration
		for range *runs {
			t0 := time.Now()
			if _, err := queries.FindPath(v, from, "deploy", queries.PathOptions{}); err != nil {
				return fmt.Errorf("measure: path %s: %w", from, err)
			}
			paths = append(paths, time.Since(t0))
		}
		fmt.Fprintf(stdout, "path_from=%s\npath_warm_ms=%s\n", from, ms(median(paths)))
	}

	if *writeRuns > 0 {
		d, err := measureWrite(ctx, v, *writeRuns, *tmp)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "write_ms=%s\n", ms(d))
	}
	return nil
}

// measureWrite writes the whole latest graph (nodes and edges with their
// evidence and attributes) as one snapshot into a new store, runs times:
// permgraph's "load" of the graph PostgreSQL gets by COPY. Includes opening
// and closing the store and building the latest-view cache.
func measureWrite(ctx context.Context, v *graph.View, runs int, tmp string) (time.Duration, error) {
	g := graph.NewSourceGraph("bench:pgpeer")
	for i := 0; i < v.NumNodes(); i++ {
		if err := g.AddNode(v.Node(graph.NodeID(i))); err != nil {
			return 0, fmt.Errorf("measure write: %w", err)
		}
	}
	for i := 0; i < v.NumEdges(); i++ {
		if err := g.AddEdge(v.Edge(graph.EdgeID(i))); err != nil {
			return 0, fmt.Errorf("measure write: %w", err)
		}
	}
	var ds []time.Duration
	for range runs {
		dir, err := os.MkdirTemp(tmp, "pgpeer-write-")
		if err != nil {
			return 0, fmt.Errorf("measure write: %w", err)
		}
		t0 := time.Now()
		s, err := graph.Open(ctx, filepath.Join(dir, "db"), nil)
		if err == nil {
			_, err = s.WriteSnapshot(ctx, g, v.At())
			if cerr := s.Close(); err == nil {
				err = cerr
			}
		}
		ds = append(ds, time.Since(t0))
		if rerr := os.RemoveAll(dir); err == nil {
			err = rerr
		}
		if err != nil {
			return 0, fmt.Errorf("measure write: %w", err)
		}
	}
	return median(ds), nil
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pgFile := fs.String("pg", "", "PostgreSQL answer: one node id per line")
	pgJSON := fs.String("permgraph", "", "permgraph who-can deploy -o json output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pgFile == "" || *pgJSON == "" {
		return errors.New("compare: want -pg and -permgraph")
	}
	raw, err := os.ReadFile(*pgJSON)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	var res queries.WhoCanResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("compare: %s: %w", *pgJSON, err)
	}
	pg, err := os.ReadFile(*pgFile)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	var want []string
	for _, p := range res.Principals {
		want = append(want, p.ID)
	}
	got := strings.Fields(string(pg))
	onlyPG, onlyPermgraph := setDiff(got, want)
	fmt.Fprintf(stdout, "permgraph_principals=%d\npg_principals=%d\n", len(want), len(got))
	if len(onlyPG)+len(onlyPermgraph) > 0 {
		return fmt.Errorf("ANSWERS DIFFER: %d only in PostgreSQL (first: %v), %d only in permgraph (first: %v)",
			len(onlyPG), head(onlyPG, 5), len(onlyPermgraph), head(onlyPermgraph, 5))
	}
	return nil
}

// setDiff returns a minus b and b minus a, sorted; duplicates count once.
func setDiff(a, b []string) (aOnly, bOnly []string) {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, x := range a {
		as[x] = true
	}
	for _, x := range b {
		bs[x] = true
	}
	for x := range as {
		if !bs[x] {
			aOnly = append(aOnly, x)
		}
	}
	for x := range bs {
		if !as[x] {
			bOnly = append(bOnly, x)
		}
	}
	sort.Strings(aOnly)
	sort.Strings(bOnly)
	return aOnly, bOnly
}

func head(xs []string, n int) []string { return xs[:min(n, len(xs))] }
