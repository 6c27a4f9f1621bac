//go:build !unix

package graph

import "os"

func mapFile(string) ([]byte, func(), error) { return nil, nil, errNoMmap }

// diskBytes is the file size where allocated blocks are not known.
func diskBytes(fi os.FileInfo) int64 { return fi.Size() }
