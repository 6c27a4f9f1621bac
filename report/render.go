package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"permgraph/graph"
	"permgraph/queries"
)

// Formats are the report formats Render accepts.
func Formats() []string { return []string{"html", "md", "csv", "json"} }

// Render writes the report in one format.
func Render(w io.Writer, format string, r *Report) error {
	switch format {
	case "json":
		return RenderJSON(w, r)
	case "md":
		return RenderMarkdown(w, r)
	case "csv":
		return RenderCSV(w, r)
	case "html":
		return RenderHTML(w, r, HTMLOptions{})
	}
	return fmt.Errorf("report: unknown format %q: want %s", format, strings.Join(Formats(), ", "))
}

// RenderJSON writes the model as indented JSON (docs/report.md).
func RenderJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// CSVHeader is the header row of the CSV report.
func CSVHeader() []string {
	return []string{"principal", "id", "kind", "cloud", "capability", "scope", "category", "via", "conditional", "eligible", "path", "evidence", "incomplete"}
}

// RenderCSV writes one row per (principal, capability, scope, path), every
// cell neutralised against formula injection.
func RenderCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	write := func(cells []string) error {
		safe := make([]string, len(cells))
		for i, c := range cells {
			safe[i] = CSVSafe(c)
		}
		return cw.Write(safe)
	}
	if err := write(CSVHeader()); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	for _, d := range r.Deployers {
		path, ev := PathText(d.Path), evidenceText(d.Path)
		for _, scope := range d.Scopes {
			if err := write([]string{d.Name, d.ID, d.Kind, d.Cloud, queries.DeployCapability, scope, d.Category, d.Via,
				yesNo(d.Conditional), yesNo(d.Eligible), path, ev, d.Incomplete}); err != nil {
				return fmt.Errorf("report: csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// evidenceText lists a path's evidence, hop by hop.
func evidenceText(hops []queries.Hop) string {
	var parts []string
	for i, h := range hops {
		for _, e := range h.Evidence {
			s := fmt.Sprintf("%d: %s", i+1, e.Source)
			if e.Statement != "" {
				s += " statement " + e.Statement
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// mdTable accumulates a Markdown table; every cell is escaped.
type mdTable struct {
	header []string
	rows   [][]string
}

func (t *mdTable) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *mdTable) write(w io.Writer) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(t.header, " | "), strings.Repeat(" --- |", len(t.header)))
	for _, r := range t.rows {
		safe := make([]string, len(r))
		for i, c := range r {
			safe[i] = MDSafe(c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(safe, " | "))
	}
	fmt.Fprintln(w)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func refText(r Ref) string {
	if r.ID == "" || r.Name == r.ID {
		return r.Name
	}
	return r.Name + " (" + r.ID + ")"
}

func refsText(rs []Ref) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Name
	}
	return strings.Join(parts, ", ")
}

// RenderMarkdown writes the review as one Markdown document.
func RenderMarkdown(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	w = ew
	fmt.Fprintf(w, "# Permission review\n\n")
	fmt.Fprintf(w, "As of %s; snapshots: %s.", fmtTime(r.At), MDSafe(strings.Join(r.Snapshots, ", ")))
	if !r.Since.IsZero() {
		fmt.Fprintf(w, " Review period since %s.", fmtTime(r.Since))
	}
	fmt.Fprintf(w, "\n\n")

	fmt.Fprintf(w, "## Summary\n\n")
	t := &mdTable{header: []string{"cloud", "principals", "groups", "can deploy", "direct", "via escalation", "conditional", "eligible only", "deploy-capable groups"}}
	for _, c := range r.Clouds {
		t.add(c.Cloud, itoa(c.Principals), itoa(c.Groups), itoa(c.Deployers), itoa(c.Direct), itoa(c.Escalation), itoa(c.Conditional), itoa(c.EligibleOnly), itoa(c.DeployerGroups))
	}
	t.write(w)

	fmt.Fprintf(w, "## Who can deploy, and how (%d)\n\n", len(r.Deployers))
	for _, d := range r.Deployers {
		fmt.Fprintf(w, "### %s\n\n", MDSafe(d.Name))
		fmt.Fprintf(w, "%s `%s`, %s, %s (%s) in %s.", MDSafe(d.Kind), codeSafe(d.ID), d.Cloud, d.Category, d.Via, MDSafe(strings.Join(d.Scopes, ", ")))
		if d.Incomplete != "" {
			fmt.Fprintf(w, " Incomplete: %s.", MDSafe(d.Incomplete))
		}
		fmt.Fprintf(w, "\n\n")
		for i, h := range d.Path {
			fmt.Fprintf(w, "%d. %s **%s** %s", i+1, MDSafe(nameOr(h.FromName, h.From)), h.Edge, MDSafe(nameOr(h.ToName, h.To)))
			if h.Conditional {
				fmt.Fprintf(w, " (only if: %s)", MDSafe(h.Condition))
			}
			fmt.Fprintln(w)
			for _, e := range h.Evidence {
				s := e.Source
				if e.Statement != "" {
					s += " statement " + e.Statement
				}
				if e.Detail != "" {
					s += ": " + e.Detail
				}
				fmt.Fprintf(w, "   - evidence: %s\n", MDSafe(s))
			}
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## Privileged groups (%d)\n\n", len(r.PrivilegedGroups))
	if len(r.PrivilegedGroups) == 0 {
		fmt.Fprintf(w, "No group grants deploy rights.\n\n")
	} else {
		t = &mdTable{header: []string{"group", "cloud", "via", "scopes", "owners", "can add members", "members"}}
		for _, g := range r.PrivilegedGroups {
			owners := refsText(g.Owners)
			if owners == "" {
				owners = "(none recorded)"
			}
			t.add(g.Name, g.Cloud, g.Via+condText(g.Conditional), strings.Join(g.Scopes, ", "), owners, refsText(g.CanAddMembers), itoa(len(g.Members)))
		}
		t.write(w)
	}

	fmt.Fprintf(w, "## External, guest, disabled and dormant members of deploy-capable groups (%d)\n\n", len(r.RiskyMembers))
	if len(r.RiskyMembers) == 0 {
		fmt.Fprintf(w, "None found (dormant: no sign-in for %d days, where the directory reports sign-ins).\n\n", r.DormantDays)
	} else {
		t = &mdTable{header: []string{"group", "member", "through", "flags", "last sign-in"}}
		for _, m := range r.RiskyMembers {
			t.add(m.Group.Name, refText(m.Member), m.Through, strings.Join(m.Flags, ", "), m.LastSignIn)
		}
		t.write(w)
	}

	fmt.Fprintf(w, "## Escalation paths, shortest and widest first (%d)\n\n", len(r.Escalations))
	if len(r.Escalations) == 0 {
		fmt.Fprintf(w, "None.\n\n")
	} else {
		t = &mdTable{header: []string{"principal", "cloud", "hops", "blast radius (scopes)", "techniques", "path"}}
		for _, e := range r.Escalations {
			t.add(e.Principal.Name, e.Cloud, itoa(e.Length), itoa(e.BlastRadius), strings.Join(e.Techniques, ", ")+condText(e.Conditional), e.Path)
		}
		t.write(w)
	}

	fmt.Fprintf(w, "## Changes since the previous review\n\n")
	if r.Changes == nil {
		fmt.Fprintf(w, "No earlier snapshot to compare with.\n\n")
	} else {
		c := r.Changes
		fmt.Fprintf(w, "From %s to %s.\n\n", fmtTime(c.From), fmtTime(c.To))
		if len(c.Capabilities) == 0 {
			fmt.Fprintf(w, "No principal gained or lost deploy rights.\n\n")
		} else {
			t = &mdTable{header: []string{"change", "principal", "kind", "cloud", "scope", "before", "after", "via", "why"}}
			for _, cc := range c.Capabilities {
				t.add(cc.Change, cc.Name, cc.Kind, cc.Cloud, cc.Scope, cc.Before, cc.After, cc.Via, cc.Summary)
			}
			t.write(w)
		}
		for _, s := range []struct {
			title string
			list  []queries.EdgeRef
		}{{"Escalation edges added", c.EscalationsAdded}, {"Escalation edges removed", c.EscalationsRemoved}} {
			if len(s.list) == 0 {
				continue
			}
			fmt.Fprintf(w, "%s:\n\n", s.title)
			t = &mdTable{header: []string{"from", "edge", "to"}}
			for _, e := range s.list {
				t.add(nameOr(e.FromName, e.From), e.Edge, nameOr(e.ToName, e.To))
			}
			t.write(w)
		}
	}

	fmt.Fprintf(w, "## Alerts in the period (%d)\n\n", len(r.Alerts))
	if len(r.Alerts) == 0 {
		fmt.Fprintf(w, "None stored.\n\n")
	} else {
		t = &mdTable{header: []string{"time", "rule", "severity", "ATT&CK", "actor", "summary"}}
		for _, a := range r.Alerts {
			t.add(fmtTime(a.Time), a.Rule, a.Severity, strings.Join(a.Attack, ", "), a.Actor, a.Summary)
		}
		t.write(w)
	}

	fmt.Fprintf(w, "## Review checklist per group owner\n\n")
	if len(r.Checklist) == 0 {
		fmt.Fprintf(w, "Nothing to review.\n\n")
	}
	for _, c := range r.Checklist {
		fmt.Fprintf(w, "### %s\n\n", MDSafe(refText(c.Owner)))
		for _, it := range c.Items {
			fmt.Fprintf(w, "- [ ] confirm %s %s in %s", MDSafe(it.Member.Kind), MDSafe(refText(it.Member)), MDSafe(it.Group.Name))
			if it.Through != "" {
				fmt.Fprintf(w, " (through %s)", MDSafe(it.Through))
			}
			if len(it.Flags) > 0 {
				fmt.Fprintf(w, ": %s", MDSafe(strings.Join(it.Flags, ", ")))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "## Warnings\n\n")
		for _, s := range r.Warnings {
			fmt.Fprintf(w, "- %s\n", MDSafe(s))
		}
		fmt.Fprintln(w)
	}
	if ew.err != nil {
		return fmt.Errorf("report: markdown: %w", ew.err)
	}
	return nil
}

func condText(c bool) string {
	if c {
		return " (conditional)"
	}
	return ""
}

// codeSafe keeps a value inside a Markdown code span: backticks and line
// breaks cannot appear.
func codeSafe(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(TermSafe(s))
}

func itoa(n int) string { return strconv.Itoa(n) }

// errWriter remembers the first write error so the renderers can use
// fmt.Fprintf freely.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// kindIsGroup reports whether a kind name is a group.
func kindIsGroup(kind string) bool { return kind == graph.NodeGroup.String() }
