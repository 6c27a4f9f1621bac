package read

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// FollowOptions configure OpenFollow.
type FollowOptions struct {
	// Poll is how often the file is checked for new data (default 500ms).
	Poll time.Duration
	// FromEnd starts at the current end of the file (like tail -f) instead
	// of reading it from the beginning.
	FromEnd bool
}

// OpenFollow reads a growing JSON-lines file, like `tail -F`: at the end of
// the file it polls for more data instead of returning io.EOF, and it notices
// truncation (reads again from the start) and rotation (the path now names a
// new file: the old one is finished, the new one read from its start). Next
// returns the context's error once ctx is cancelled. Gzip and JSON documents
// are not supported in this mode; a partial last line waits for its newline.
func OpenFollow(ctx context.Context, path, format string, opts FollowOptions) (*Reader, error) {
	f, err := checkFormat(format)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", path, err)
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	fr, err := newFollowFile(ctx, path, opts)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", path, err)
	}
	r := &Reader{ctx: ctx, format: f, follow: &opts, inputs: []input{{path: path, stdin: fr}}}
	return r, nil
}

// followFile is an io.Reader over a file that blocks (polling) at its end.
type followFile struct {
	ctx    context.Context
	path   string
	poll   time.Duration
	f      *os.File
	info   os.FileInfo
	offset int64
}

func newFollowFile(ctx context.Context, path string, opts FollowOptions) (*followFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	ff := &followFile{ctx: ctx, path: path, poll: opts.Poll, f: f, info: info}
	if opts.FromEnd {
		off, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			f.Close()
			return nil, err
		}
		ff.offset = off
	}
	return ff, nil
}

func (ff *followFile) Read(p []byte) (int, error) {
	for {
		n, err := ff.f.Read(p)
		ff.offset += int64(n)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if err := ff.reopenIfChanged(); err != nil {
			return 0, err
		}
		t := time.NewTimer(ff.poll)
		select {
		case <-ff.ctx.Done():
			t.Stop()
			return 0, ff.ctx.Err()
		case <-t.C:
		}
	}
}

// reopenIfChanged handles truncation and rotation at end of file.
func (ff *followFile) reopenIfChanged() error {
	info, err := os.Stat(ff.path)
	if err != nil {
		return nil // rotated away and not recreated yet: keep waiting
	}
	if !os.SameFile(info, ff.info) {
		f, err := os.Open(ff.path)
		if err != nil {
			return nil
		}
		ff.f.Close()
		ff.f, ff.info, ff.offset = f, info, 0
		return nil
	}
	if info.Size() < ff.offset {
		if _, err := ff.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind truncated file: %w", err)
		}
		ff.offset = 0
	}
	return nil
}

// Close closes the current file.
func (ff *followFile) Close() error { return ff.f.Close() }
