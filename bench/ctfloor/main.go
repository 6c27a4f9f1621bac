// Command ctfloor generates a synthetic CloudTrail or Kubernetes audit
// stream for an organisation of bench/gen and measures the floors under
// `permgraph detect` on it (bench/README.md, bench/gen/EVENTS.md):
//
//	ctfloor gen -principals 20000 -events 500000 -out trail.jsonl
//	ctfloor gen -format k8s -events 200000 -rate 500 -mix exec=0.002,scenario=0.001 -out audit.jsonl
//	ctfloor floor -runs 5 trail.jsonl
//
// floor prints key=value lines: lines_eps (reading and splitting lines, no
// JSON), reader_eps (detect/read alone: parse and classify every record, no
// graph, no rules), both events per wall second and per CPU second, medians.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"permgraph/bench/gen"
	"permgraph/detect/read"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ctfloor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: gen, floor")
	}
	switch args[0] {
	case "gen":
		return runGen(args[1:], stdout, stderr)
	case "floor":
		return runFloor(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func runGen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "cloudtrail", "stream format: cloudtrail or k8s (Kubernetes audit.k8s.io/v1 events, EKS users)")
	principals := fs.Int("principals", 20000, "organisation size (users + roles), as gengaad -principals")
	events := fs.Int("events", 500000, "events to write")
	attack := fs.Int("attack-every", 0, "one event slot in N starts an attack, cycling through the kinds (0: the format's default, 20 for cloudtrail, 100 for k8s; -1: no attacks)")
	mixFlag := fs.String("mix", "", "attack mix instead of -attack-every: kind=fraction,... (fraction of event slots that start that attack) or none; kinds: cloudtrail "+
		strings.Join(gen.CloudTrailAttackKinds(), ", ")+"; k8s "+strings.Join(gen.K8sAttackKinds(), ", "))
	gap := fs.Duration("scenario-gap", 0, "event time between discovery and deploy in a scenario attack (0: 5m)")
	rate := fs.Float64("rate", 1000, "events per second of event time")
	actors := fs.Int("actors", 0, "IAM users and roles acting in the stream (0: 1000)")
	start := fs.String("start", "", "event time of the first event, RFC 3339 (default 2026-01-02T00:00:00Z)")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "-", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("gen: unexpected argument %q", fs.Arg(0))
	}
	if *format != "cloudtrail" && *format != "k8s" {
		return fmt.Errorf("gen: -format %q: want cloudtrail or k8s", *format)
	}
	if *events < 0 || *rate <= 0 {
		return errors.New("gen: want -events >= 0 and -rate > 0")
	}
	var mix gen.AttackMix
	if *mixFlag != "" {
		m, err := gen.ParseAttackMix(*mixFlag)
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		mix = m
	}
	var t0 time.Time
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			return fmt.Errorf("gen: -start: %w", err)
		}
		t0 = t
	}
	o, err := gen.NewOrg(gen.ForPrincipals(*principals))
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	w := stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		w = f
	}
	t, c0 := time.Now(), gen.CPUTime()
	var n int64
	if *format == "k8s" {
		n, err = o.WriteK8sAudit(w, gen.K8sAuditConfig{Events: *events, Rate: *rate, AttackEvery: *attack, Mix: mix,
			ScenarioGap: *gap, Start: t0, Seed: *seed, Actors: *actors})
	} else {
		n, err = o.WriteCloudTrail(w, gen.CloudTrailConfig{Events: *events, Rate: *rate, AttackEvery: *attack, Mix: mix,
			ScenarioGap: *gap, Start: t0, Seed: *seed, Actors: *actors})
	}
	if f != nil {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("gen: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	wall, cpu := time.Since(t), gen.CPUTime()-c0
	fmt.Fprintf(stderr, "ctfloor: %d %s events, %.1f MB, %.0f events/s wall, %.0f events/CPU-s\n", *events, *format, float64(n)/1e6,
		float64(*events)/wall.Seconds(), float64(*events)/max(cpu.Seconds(), 1e-9))
	return nil
}

// pass is one measured pass over the file: events, wall and CPU time.
type pass struct {
	events    int
	wall, cpu time.Duration
}

func measure(f func() (int, error)) (pass, error) {
	c0, t0 := gen.CPUTime(), time.Now()
	n, err := f()
	return pass{events: n, wall: time.Since(t0), cpu: gen.CPUTime() - c0}, err
}

// countLines is the I/O floor: read the file and split it into lines.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("lines: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("lines: %w", err)
	}
	return n, nil
}

// readAll is the parse floor: the reader `detect` uses, alone.
func readAll(ctx context.Context, path string) (int, error) {
	r, err := read.Open(ctx, path, read.FormatAuto)
	if err != nil {
		return 0, fmt.Errorf("reader: %w", err)
	}
	defer r.Close()
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("reader: %w", err)
		}
		n++
	}
	if s := r.Stats(); s.Unknown+s.Malformed != 0 {
		return n, fmt.Errorf("reader: %d unknown, %d malformed records", s.Unknown, s.Malformed)
	}
	return n, nil
}

func rates(ps []pass) (wallEPS, cpuEPS float64) {
	var w, c []float64
	for _, p := range ps {
		w = append(w, float64(p.events)/p.wall.Seconds())
		if p.cpu > 0 {
			c = append(c, float64(p.events)/p.cpu.Seconds())
		}
	}
	return medianF(w), medianF(c)
}

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func runFloor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("runs", 5, "passes per measurement (median reported)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *runs < 1 {
		return errors.New("floor: want one FILE and -runs >= 1")
	}
	path := fs.Arg(0)
	var lines, reader []pass
	for range *runs {
		p, err := measure(func() (int, error) { return countLines(path) })
		if err != nil {
			return err
		}
		lines = append(lines, p)
		if p, err = measure(func() (int, error) { return readAll(ctx, path) }); err != nil {
			return err
		}
		reader = append(reader, p)
		if reader[len(reader)-1].events != lines[len(lines)-1].events {
			return fmt.Errorf("floor: reader returned %d events for %d lines", p.events, lines[0].events)
		}
	}
	lw, lc := rates(lines)
	rw, rc := rates(reader)
	fmt.Fprintf(stdout, "events=%d\nlines_eps=%.0f\nlines_cpu_eps=%.0f\nreader_eps=%.0f\nreader_cpu_eps=%.0f\n", lines[0].events, lw, lc, rw, rc)
	return nil
}
