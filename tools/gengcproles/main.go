// Command gengcproles builds permgraph's embedded GCP predefined-role catalog
// (catalog/gcp-roles.tsv.gz) from ../shared/catalog/gcp/gcp-role-permissions.compact.json.
// Run it with `go generate ./catalog`; never edit the output by hand. The
// format and the conversion live in package catalog (WriteGCPRolesGzip), next
// to the parser; the output is deterministic (sorted, gzip header without a
// name or timestamp), so a test can regenerate it and compare bytes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"permgraph/catalog"
)

func main() {
	in := flag.String("in", "../../shared/catalog/gcp/gcp-role-permissions.compact.json", "compact GCP role catalog (JSON)")
	out := flag.String("out", "gcp-roles.tsv.gz", "output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gengcproles:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	var buf bytes.Buffer
	roles, perms, err := catalog.WriteGCPRolesGzip(b, &buf)
	if err != nil {
		return fmt.Errorf("convert %s: %w", in, err)
	}
	// Written in one call so an error leaves no half-written catalog that
	// the next build would embed.
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(os.Stderr, "gengcproles: wrote %d roles, %d permissions to %s (%d bytes)\n", roles, perms, out, buf.Len())
	return nil
}
