package awsorg

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"permgraph/graph"
)

// FileCollector imports an organisation file (docs/aws-organizations.md):
//
//	{"Organization": {...}, "Roots": [...], "OrganizationalUnits": [...],
//	 "Accounts": [...], "Policies": [...]}
//
// built from `aws organizations` calls, without any credentials.
type FileCollector struct {
	Path   string
	Logger *slog.Logger
	// Counts is filled in by Collect.
	Counts Counts
}

// Collect streams the file into sink; errors name the file, the record
// (list and index) and the field.
func (c *FileCollector) Collect(ctx context.Context, sink graph.Sink) error {
	f, err := os.Open(c.Path)
	if err != nil {
		return fmt.Errorf("import organization: %w", err)
	}
	defer f.Close()
	counts, err := ImportOrg(ctx, bufio.NewReaderSize(f, 1<<20), sink)
	c.Counts = counts
	if err != nil {
		return fmt.Errorf("import organization %s: %w", c.Path, err)
	}
	if c.Logger != nil {
		c.Logger.Info("imported organization", "file", c.Path, "roots", counts.Roots, "ous", counts.OUs,
			"accounts", counts.Accounts, "scps", counts.Policies, "attachments", counts.Attachments)
	}
	return nil
}

// File shapes. Field names are the AWS API's; encoding/json matches them
// case-insensitively, and fields the graph does not need are ignored.

type fileOrganization struct {
	Id, Arn, FeatureSet                                   string
	MasterAccountId, MasterAccountArn, MasterAccountEmail string
}

type filePolicyType struct {
	Type, Status string
}

type fileRoot struct {
	Id, Arn, Name string
	PolicyTypes   []filePolicyType
}

type fileOU struct {
	Id, Arn, Name, ParentId string
}

type fileAccount struct {
	Id, Arn, Email, Name, Status, State, JoinedMethod string
	JoinedTimestamp                                   json.RawMessage
	ParentId                                          string
}

type filePolicySummary struct {
	Id, Arn, Name, Description, Type string
	AwsManaged                       bool
}

type fileTarget struct {
	TargetId, Arn, Name, Type string
}

type filePolicy struct {
	PolicySummary *filePolicySummary
	Content       json.RawMessage
	Targets       []fileTarget
}

// ImportOrg reads one organisation file from r into sink. The lists are
// decoded one record at a time; references (ParentId, policy targets) are
// checked once the whole file has been read, so the lists may come in any
// order.
func ImportOrg(ctx context.Context, r io.Reader, sink graph.Sink) (Counts, error) {
	dec := json.NewDecoder(r)
	em := newEmitter(sink, true)
	tok, err := dec.Token()
	if err != nil {
		return em.counts, posErr(dec, "read start of document", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return em.counts, fmt.Errorf("offset %d: not an organization file: want a JSON object", dec.InputOffset())
	}
	seen := map[string]bool{}
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return em.counts, err
		}
		keyTok, err := dec.Token()
		if err != nil {
			return em.counts, posErr(dec, "read key", err)
		}
		key, _ := keyTok.(string)
		if seen[key] {
			return em.counts, fmt.Errorf("offset %d: field %s given twice", dec.InputOffset(), key)
		}
		seen[key] = true
		switch key {
		case "Organization":
			err = decodeOrganization(dec, em)
		case "Roots":
			err = eachElement(ctx, dec, key, func(where string) error {
				var fr fileRoot
				if err := decodeAt(dec, where, &fr); err != nil {
					return err
				}
				rec := rootRecord{ID: fr.Id, Arn: fr.Arn, Name: fr.Name}
				for _, pt := range fr.PolicyTypes {
					if pt.Type == PolicyTypeSCP {
						rec.SCPStatus = pt.Status
					}
				}
				return em.root(where, rec)
			})
		case "OrganizationalUnits":
			err = eachElement(ctx, dec, key, func(where string) error {
				var fo fileOU
				if err := decodeAt(dec, where, &fo); err != nil {
					return err
				}
				_, err := em.ou(where, ouRecord{ID: fo.Id, Arn: fo.Arn, Name: fo.Name, ParentID: fo.ParentId})
				return err
			})
		case "Accounts":
			err = eachElement(ctx, dec, key, func(where string) error {
				var fa fileAccount
				if err := decodeAt(dec, where, &fa); err != nil {
					return err
				}
				joined, err := parseTimestamp(fa.JoinedTimestamp)
				if err != nil {
					return fmt.Errorf("%s (account %q): field JoinedTimestamp: %w", where, fa.Id, err)
				}
				return em.account(where, accountRecord{ID: fa.Id, Arn: fa.Arn, Email: fa.Email, Name: fa.Name,
					Status: fa.Status, State: fa.State, JoinedMethod: fa.JoinedMethod, Joined: joined, ParentID: fa.ParentId})
			})
		case "Policies":
			err = eachElement(ctx, dec, key, func(where string) error {
				var fp filePolicy
				if err := decodeAt(dec, where, &fp); err != nil {
					return err
				}
				rec, err := convertFilePolicy(where, fp)
				if err != nil {
					return err
				}
				return em.policy(where, rec)
			})
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
			if err == nil {
				em.warnf("organization file: unknown top-level field %q ignored", key)
			}
		}
		if err != nil {
			return em.counts, posErr(dec, "field "+key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return em.counts, posErr(dec, "read end of document", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return em.counts, fmt.Errorf("offset %d: trailing data after the organization document", dec.InputOffset())
	}
	warnings, err := em.finish()
	if err != nil {
		return em.counts, err
	}
	for _, w := range warnings {
		sink.Warn(em.source(), w)
	}
	return em.counts, nil
}

func decodeOrganization(dec *json.Decoder, em *emitter) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("want an object (the Organization member of `aws organizations describe-organization`)")
	}
	var fo fileOrganization
	if err := json.Unmarshal(raw, &fo); err != nil {
		return err
	}
	if fo.Id == "" {
		return fmt.Errorf("field Id: missing")
	}
	return em.organization(orgRecord{ID: fo.Id, Arn: fo.Arn, FeatureSet: fo.FeatureSet,
		MasterAccountID: fo.MasterAccountId, MasterAccountArn: fo.MasterAccountArn, MasterAccountEmail: fo.MasterAccountEmail})
}

func convertFilePolicy(where string, fp filePolicy) (policyRecord, error) {
	if fp.PolicySummary == nil {
		return policyRecord{}, fmt.Errorf("%s: field PolicySummary: missing", where)
	}
	s := fp.PolicySummary
	what := fmt.Sprintf("%s (policy %q)", where, s.Id)
	rec := policyRecord{ID: s.Id, Arn: s.Arn, Name: s.Name, Description: s.Description, Type: s.Type, AwsManaged: s.AwsManaged}
	content, err := policyContent(fp.Content)
	if err != nil {
		return policyRecord{}, fmt.Errorf("%s: field Content: %w", what, err)
	}
	rec.Content = content
	for _, t := range fp.Targets {
		rec.Targets = append(rec.Targets, targetRecord{TargetID: t.TargetId, Arn: t.Arn, Name: t.Name, Type: t.Type})
	}
	return rec, nil
}

// policyContent accepts the Content of `aws organizations describe-policy`
// (a JSON string holding the policy) or the policy document as an object.
func policyContent(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", fmt.Errorf("missing")
	}
	switch t[0] {
	case '"':
		var text string
		if err := json.Unmarshal(t, &text); err != nil {
			return "", err
		}
		return compactContent(text)
	case '{':
		return compactContent(string(t))
	}
	return "", fmt.Errorf("want a JSON string holding the policy document, or the document as an object")
}

// parseTimestamp accepts the AWS CLI's forms of a timestamp: ISO 8601 text
// (CLI v2's default) or epoch seconds (the wire form, CLI v1's default).
func parseTimestamp(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return "", nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
			if ts, err := time.Parse(layout, s); err == nil {
				return ts.UTC().Format(time.RFC3339), nil
			}
		}
		return "", fmt.Errorf("%q is not an ISO 8601 time", s)
	}
	var f float64
	if err := json.Unmarshal(t, &f); err != nil {
		return "", fmt.Errorf("want ISO 8601 text or epoch seconds")
	}
	if math.IsNaN(f) || f < 0 || f > 1e11 {
		return "", fmt.Errorf("epoch seconds %v out of range", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format(time.RFC3339), nil
}

// eachElement calls fn for each element of the array that comes next, with
// the element's place ("Accounts[3]").
func eachElement(ctx context.Context, dec *json.Decoder, list string, fn func(where string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "Accounts": null
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
		// fn's errors name the element themselves.
		if err := fn(fmt.Sprintf("%s[%d]", list, i)); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

var errTruncated = errors.New("unexpected end of file (truncated file?)")

// decodeAt decodes the next value into v, naming the record on error.
func decodeAt(dec *json.Decoder, where string, v any) error {
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: %w", where, errTruncated)
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

func posErr(dec *json.Decoder, what string, err error) error {
	if !errors.Is(err, errTruncated) && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		err = errTruncated
	}
	return fmt.Errorf("offset %d: %s: %w", dec.InputOffset(), what, err)
}
