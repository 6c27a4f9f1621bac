//go:build unix

package graph

import (
	"syscall"
	"time"
)

// processCPU is the process's user+system CPU time: on a shared machine it
// is steadier than wall time, and it counts Badger's background goroutines.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
