//go:build !unix

package graph

func mapFile(string) ([]byte, func(), error) { return nil, nil, errNoMmap }
