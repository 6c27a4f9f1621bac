//go:build unix

package graph

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps path read-only. unmap releases it (nil when nothing was
// mapped, e.g. an empty file read into memory instead).
func mapFile(path string) (data []byte, unmap func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("stat view cache: %w", err)
	}
	if fi.Size() == 0 {
		return []byte{}, nil, nil
	}
	if int64(int(fi.Size())) != fi.Size() {
		return nil, nil, fmt.Errorf("view cache too large to map: %d bytes", fi.Size())
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errNoMmap, err)
	}
	return data, func() { _ = syscall.Munmap(data) }, nil
}

// diskBytes is the space a file occupies on disk (Badger preallocates
// sparse value-log files, so the apparent size overstates it).
func diskBytes(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
