//go:build unix

package gen

import (
	"syscall"
	"time"
)

// CPUTime is the user + system CPU time this process has used so far.
// Benchmarks report it beside wall time because the benchmark machine is
// shared: wall time suffers from other processes, CPU time much less.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
