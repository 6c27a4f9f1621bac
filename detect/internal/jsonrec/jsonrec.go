// Package jsonrec holds the small decoding helpers the encoding/json based
// format parsers share.
package jsonrec

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"permgraph/detect/event"
)

// Decode unmarshals one JSON object into v. err is non-nil for invalid JSON
// and, wrapping event.ErrUnrecognized, for valid JSON that is not an object.
// typeErr reports a field of an unexpected type; v is then filled as far as
// possible, so the caller can decide whether the record is its format at all
// (Unknown) or a damaged record of its format (Malformed).
func Decode(raw []byte, v any) (typeErr, err error) {
	i := 0
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	if i < len(raw) && raw[i] != '{' && json.Valid(raw) {
		return nil, fmt.Errorf("%w: not a JSON object", event.ErrUnrecognized)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %s: %w", te.Field, err), nil
		}
		return nil, err
	}
	return nil, nil
}

// String reads a raw JSON value that is a string, a number or a boolean, or
// an object carrying the string in "value" (Azure {"value","localizedValue"}).
func String(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '{':
		var o struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(raw, &o) == nil && len(o.Value) > 0 && o.Value[0] != '{' {
			return String(o.Value)
		}
	case '[', 'n':
	default:
		return string(raw)
	}
	return ""
}

// Object returns the JSON object in raw, unwrapping it when it was logged as
// a JSON string holding the object (Azure Claims, Authorization, Entra
// InitiatedBy in Log Analytics). nil when raw holds neither.
func Object(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '{' || raw[0] == '[' {
		return raw
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			s = strings.TrimSpace(s)
			if len(s) > 0 && (s[0] == '{' || s[0] == '[') && json.Valid([]byte(s)) {
				return json.RawMessage(s)
			}
		}
	}
	return nil
}

// Time parses RFC 3339 timestamps, with or without fractional seconds, and
// the zone-less "2006-01-02T15:04:05[.fff]" / "2006-01-02 15:04:05" forms
// (read as UTC). Zero time when s is empty or unparseable.
func Time(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
