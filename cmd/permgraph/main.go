// Command permgraph maps who can do what across clouds; see README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"permgraph/cli"
)

// defaultMemoryLimit is a soft heap target (ARCHITECTURE.md section 8 budgets
// 1 GiB): the GC works harder near it instead of letting the heap double.
// It is soft, so a larger organisation still completes. GOMEMLIMIT overrides.
const defaultMemoryLimit = 900 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
