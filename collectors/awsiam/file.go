package awsiam

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

	"permgraph/graph"
)

// FileCollector imports the output of `aws iam get-account-authorization-details`
// (AWS CLI or boto3 style) without any credentials.
type FileCollector struct {
	Path   string
	Logger *slog.Logger
	// AllowTruncated accepts an export with IsTruncated=true (stored with a
	// warning). By default such a file is refused: it is a partial
	// collection and must not replace the last good snapshot.
	AllowTruncated bool
	// Counts is filled in by Collect.
	Counts Counts
}

// Collect streams the export: each list element is decoded, emitted and
// dropped, so a large export is never held in memory as both text and structs.
func (c *FileCollector) Collect(ctx context.Context, sink graph.Sink) error {
	f, err := os.Open(c.Path)
	if err != nil {
		return fmt.Errorf("import GAAD: %w", err)
	}
	defer f.Close()
	counts, err := ImportGAAD(ctx, bufio.NewReaderSize(f, 1<<20), sink)
	c.Counts = counts
	if err != nil {
		return fmt.Errorf("import GAAD %s: %w", c.Path, err)
	}
	if counts.Truncated && !c.AllowTruncated {
		return fmt.Errorf("import GAAD %s: export is truncated (IsTruncated=true): re-run `aws iam get-account-authorization-details` without --max-items, or pass --allow-truncated to store it as incomplete", c.Path)
	}
	if c.Logger != nil {
		c.Logger.Info("imported GAAD", "file", c.Path, "users", counts.Users, "groups", counts.Groups, "roles", counts.Roles, "policies", counts.Policies)
	}
	return nil
}

// ImportGAAD reads one GAAD document from r into sink. Errors carry the byte
// offset and the record (list and index) that failed.
func ImportGAAD(ctx context.Context, r io.Reader, sink graph.Sink) (Counts, error) {
	dec := json.NewDecoder(r)
	em := newEmitter(sink)
	tok, err := dec.Token()
	if err != nil {
		return em.counts, posErr(dec, "read start of document", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return em.counts, fmt.Errorf("offset %d: not a GAAD document: want a JSON object", dec.InputOffset())
	}
	known := 0
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return em.counts, err
		}
		keyTok, err := dec.Token()
		if err != nil {
			return em.counts, posErr(dec, "read key", err)
		}
		key, _ := keyTok.(string)
		switch key {
		case "UserDetailList":
			known++
			err = eachElement(ctx, dec, func(int) error {
				var u gaadUser
				if err := dec.Decode(&u); err != nil {
					return err
				}
				return em.user(u)
			})
		case "GroupDetailList":
			known++
			err = eachElement(ctx, dec, func(int) error {
				var g gaadGroup
				if err := dec.Decode(&g); err != nil {
					return err
				}
				return em.group(g)
			})
		case "RoleDetailList":
			known++
			err = eachElement(ctx, dec, func(int) error {
				var r gaadRole
				if err := dec.Decode(&r); err != nil {
					return err
				}
				return em.role(r)
			})
		case "Policies":
			known++
			err = eachElement(ctx, dec, func(int) error {
				var p gaadPolicy
				if err := dec.Decode(&p); err != nil {
					return err
				}
				return em.policy(p)
			})
		case "IsTruncated":
			err = dec.Decode(&em.counts.Truncated)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return em.counts, posErr(dec, "field "+key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return em.counts, posErr(dec, "read end of document", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return em.counts, fmt.Errorf("offset %d: trailing data after the GAAD document", dec.InputOffset())
	}
	if known == 0 {
		return em.counts, fmt.Errorf("not a GAAD document: none of UserDetailList, GroupDetailList, RoleDetailList, Policies found")
	}
	warnings, err := em.finish()
	if err != nil {
		return em.counts, err
	}
	if em.counts.Truncated {
		warnings = append(warnings, "export is truncated (IsTruncated=true): it holds only its first page(s); answers are incomplete")
	}
	for _, w := range warnings {
		sink.Warn(em.source(), w)
	}
	return em.counts, nil
}

func eachElement(ctx context.Context, dec *json.Decoder, fn func(i int) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "UserDetailList": null
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array")
	}
	for i := 0; dec.More(); i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(i); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	_, err = dec.Token()
	return err
}

func posErr(dec *json.Decoder, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("offset %d: %s: unexpected end of file (truncated export?)", dec.InputOffset(), what)
	}
	return fmt.Errorf("offset %d: %s: %w", dec.InputOffset(), what, err)
}

func sortStrings(s []string) { sort.Strings(s) }
