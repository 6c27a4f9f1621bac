//go:build unix

package job

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockJob takes the store's job lock without waiting. flock locks belong to
// the open file: the kernel drops them when the process exits, so a crashed
// or killed job never leaves the lock stuck.
func lockJob(db string) (func(), error) {
	if err := ensureDir(db); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lockPath(db), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open job lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(lockPath(db))
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (pid %s holds %s)", ErrJobRunning, strings.TrimSpace(string(holder)), lockPath(db))
		}
		return nil, fmt.Errorf("take job lock: %w", err)
	}
	// The pid is informational (for the error above); the flock is the lock.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
