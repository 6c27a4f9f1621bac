// Command ctfloor generates a synthetic CloudTrail stream for an organisation
// of bench/gen and measures the floors under `permgraph detect` on it
// (bench/README.md):
//
//	ctfloor gen -principals 20000 -events 500000 -out trail.jsonl
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
	principals := fs.Int("principals", 20000, "organisation size (users + roles), as gengaad -principals")
	events := fs.Int("events", 500000, "events to write")
	attack := fs.Int("attack-every", 20, "one event in N is a call the rules judge")
	rate := fs.Float64("rate", 1000, "events per second of event time")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "-", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
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
	c := gen.CloudTrailConfig{Events: *events, Rate: *rate, AttackEvery: *attack, Seed: *seed}
	n, err := o.WriteCloudTrail(w, c)
	if f != nil {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("gen: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ctfloor: %d events, %.1f MB\n", *events, float64(n)/1e6)
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
