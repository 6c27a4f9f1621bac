package report

import (
	"fmt"
	"strings"
	"unicode"
)

// Names in cloud directories are attacker-controlled: terminal output must
// not carry control characters (ANSI escapes could rewrite the screen), CSV
// cells must not start a formula, Markdown must not turn into markup.

// TermSafe replaces control and format characters with visible escapes.
func TermSafe(s string) string {
	if strings.IndexFunc(s, needsEscape) < 0 {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if needsEscape(r) {
			fmt.Fprintf(&sb, "\\u%04x", r)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
}

// CSVSafe defuses spreadsheet formula injection (OWASP: prefix a quote to
// cells starting with = + - @ tab or carriage return).
func CSVSafe(s string) string {
	s = TermSafe(s) // a leading tab or CR becomes a visible \u0009 / \u000d
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// mdReplacer escapes what would end a Markdown table cell or start markup.
func mdReplacer() *strings.Replacer {
	// Backslashes too: a name ending in a backslash followed by an
	// escaped "|" would otherwise un-escape it and end the cell.
	return strings.NewReplacer("\\", `\\`, "|", `\|`, "`", "\\`", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)
}

// MDSafe escapes characters that would end a Markdown table cell or start markup.
func MDSafe(s string) string {
	return mdReplacer().Replace(TermSafe(s))
}
