package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/report"
	"permgraph/report/reporttest"
)

func hostileReport(t *testing.T) *report.Report {
	t.Helper()
	r, err := report.Build(context.Background(), report.Input{View: reporttest.HostileView(t)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSafe(t *testing.T) {
	tests := []struct {
		in, csv, md string
	}{
		{"alice", "alice", "alice"},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`, `=HYPERLINK("http://x","y")`},
		{"+1", "'+1", "+1"},
		{"-1", "'-1", "-1"},
		{"@SUM(A1)", "'@SUM(A1)", "@SUM(A1)"},
		{"\tx", `\u0009x`, `\\u0009x`},
		{"\rx", `\u000dx`, `\\u000dx`},
		{"a|b", "a|b", `a\|b`},
		{`a\|b`, `a\|b`, `a\\\|b`},
		{"<img src=x>", "<img src=x>", "&lt;img src=x&gt;"},
		{"[x](javascript:y) *b* _i_ `c`", "[x](javascript:y) *b* _i_ `c`", "\\[x\\](javascript:y) \\*b\\* \\_i\\_ \\`c\\`"},
		{"line\nbreak\x1b[31m", `line\u000abreak\u001b[31m`, `line\\u000abreak\\u001b\[31m`},
	}
	for _, tt := range tests {
		if got := report.CSVSafe(tt.in); got != tt.csv {
			t.Errorf("CSVSafe(%q) = %q, want %q", tt.in, got, tt.csv)
		}
		if got := report.MDSafe(tt.in); got != tt.md {
			t.Errorf("MDSafe(%q) = %q, want %q", tt.in, got, tt.md)
		}
	}
}

func TestBuildHostile(t *testing.T) {
	r := hostileReport(t)
	names := map[string]string{}
	for _, d := range r.Deployers {
		names[d.Name] = d.Category
	}
	want := map[string]string{
		reporttest.ImgName: "direct", reporttest.ScriptName: "direct", reporttest.FormulaName: "direct", reporttest.FlagName: "direct",
		reporttest.GuestName: "direct", "bob": "direct", reporttest.MarkdownName: "direct", reporttest.OwnerName: "escalation",
		"conditional-carl": "conditional",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("deployers (-want +got):\n%s", diff)
	}
	if len(r.RiskyMembers) != 1 || r.RiskyMembers[0].Member.Name != reporttest.GuestName {
		t.Fatalf("risky members: %+v", r.RiskyMembers)
	}
	if got := strings.Join(r.RiskyMembers[0].Flags, ","); got != "external,dormant" {
		t.Errorf("guest flags = %q, want external,dormant", got)
	}
	var owner *report.OwnerChecklist
	for i := range r.Checklist {
		if r.Checklist[i].Owner.Name == reporttest.OwnerName {
			owner = &r.Checklist[i]
		}
	}
	if owner == nil || len(owner.Items) != 2 { // the guest and the nested group
		t.Fatalf("owner checklist: %+v", r.Checklist)
	}
	if len(r.Escalations) != 1 || r.Escalations[0].Techniques[0] != "CanAddMember" {
		t.Errorf("escalations: %+v", r.Escalations)
	}
}

// TestCSVInjection: a group named =HYPERLINK(...) must not become a formula.
func TestCSVInjection(t *testing.T) {
	var buf bytes.Buffer
	if err := report.RenderCSV(&buf, hostileReport(t)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(report.CSVHeader(), rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	found := false
	for _, row := range rows[1:] {
		for _, c := range row {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %q starts a formula", c)
			}
		}
		if row[0] == `'`+reporttest.FormulaName {
			found = true
		}
	}
	if !found {
		t.Errorf("no neutralised row for %s", reporttest.FormulaName)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	var buf bytes.Buffer
	if err := report.RenderMarkdown(&buf, hostileReport(t)); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, bad := range []string{"<img", "<script", "</script", "[click](", "<svg"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown contains raw %q", bad)
		}
	}
	// Every table row keeps its column count: no name breaks a cell.
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Count(strings.ReplaceAll(strings.ReplaceAll(line, `\\`, ""), `\|`, ""), "|")
		if cells < 2 {
			t.Errorf("odd table row %q", line)
		}
	}
	if !strings.Contains(md, `\| \[click\](javascript:alert(1)) \*\*x\*\* \`+"`y\\`"+`\\`) {
		t.Errorf("markdown name not escaped as expected:\n%s", md)
	}
}

func TestHTMLEscapes(t *testing.T) {
	var buf bytes.Buffer
	if err := report.RenderHTML(&buf, hostileReport(t), report.HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, bad := range []string{reporttest.ImgName, reporttest.ScriptName, "<svg onload", "<script>window.pwned", `src="http`, `href="http`, "<link", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("html contains raw %q", bad)
		}
	}
	if n := strings.Count(html, "<script"); n != 2 {
		t.Errorf("%d <script> tags, want 2 (data and code)", n)
	}
	if !strings.Contains(html, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("escaped group name missing")
	}
	if !strings.Contains(html, `http-equiv="Content-Security-Policy"`) || !strings.Contains(html, "script-src &#39;sha256-") {
		t.Errorf("no hashed CSP meta tag")
	}
}

// TestJSONRoundTrip: the JSON report parses back to the model.
func TestJSONRoundTrip(t *testing.T) {
	r := hostileReport(t)
	var buf bytes.Buffer
	if err := report.RenderJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back report.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	if err := report.Render(&bytes.Buffer{}, "xml", hostileReport(t)); err == nil {
		t.Fatal("want an error")
	}
}
