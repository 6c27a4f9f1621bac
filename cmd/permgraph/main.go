// Command permgraph maps who can do what across clouds; see README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"permgraph/cli"
)

// defaultMemoryLimit is a soft heap target: the GC works harder near it
// instead of letting the heap double. Issue 10 budgets 4 GiB of RSS for a
// 5M-edge organisation; a lower limit (it was 900 MiB) made such runs
// collect garbage continuously (a 500k-user Google import took 27 min
// instead of 7, docs/performance.md). 3.5 GiB rather than 3: a 5M-edge
// first snapshot then peaks at 3.58 GiB with 82 CPU-s, where 3 GiB cost
// 3.26 GB but the GC ran through the whole write (session 4). Below ~1.5 GiB
// of live heap it changes nothing. It is soft, so a larger organisation
// still completes; set GOMEMLIMIT (e.g. 900MiB on a small host, "off" for
// none) to override.
const defaultMemoryLimit = 7 << 29 // 3.5 GiB

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	// PERMGRAPH_CPUPROFILE=FILE profiles any command (docs/performance.md
	// explains how the numbers there were taken).
	stopProfile, err := startCPUProfile(os.Getenv("PERMGRAPH_CPUPROFILE"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "permgraph: %v\n", err)
		os.Exit(cli.ExitError)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err := stopProfile(); err != nil {
		fmt.Fprintf(os.Stderr, "permgraph: %v\n", err)
	}
	os.Exit(code)
}

func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
