package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"permgraph/queries"
	"permgraph/report"
)

// Names in cloud directories are attacker-controlled: terminal output must
// not carry control characters (ANSI escapes could rewrite the screen), CSV
// cells must not start a formula, Markdown cells must not break the table.

// The escaping itself lives in package report (shared with the review
// report's renderers).

// termSafe replaces control and format characters with visible escapes.
func termSafe(s string) string { return report.TermSafe(s) }

// csvSafe defuses spreadsheet formula injection.
func csvSafe(s string) string { return report.CSVSafe(s) }

// mdSafe escapes characters that would end a Markdown table cell or start markup.
func mdSafe(s string) string { return report.MDSafe(s) }

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeWhoCanJSON writes what writeJSON would, one principal at a time:
// encoding/json buffers a whole value, and at 378k principals that buffer
// was most of the command's 1 GB of memory.
func writeWhoCanJSON(w io.Writer, res *queries.WhoCanResult) error {
	head := *res
	head.Principals = []queries.Principal{}
	b, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return fmt.Errorf("encode who-can: %w", err)
	}
	const empty = `"principals": []`
	before, after, ok := bytes.Cut(b, []byte(empty))
	if !ok || len(res.Principals) == 0 {
		return writeJSON(w, res)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(before)
	bw.WriteString(`"principals": [`)
	for i := range res.Principals {
		row, err := json.MarshalIndent(&res.Principals[i], "    ", "  ")
		if err != nil {
			return fmt.Errorf("encode who-can row %d: %w", i, err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(row)
	}
	bw.WriteString("\n  ]")
	bw.Write(after)
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write who-can: %w", err)
	}
	return nil
}

// table is a tiny renderer shared by table, csv and md output.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) render(w io.Writer, format string) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(t.header); err != nil {
			return err
		}
		for _, r := range t.rows {
			safe := make([]string, len(r))
			for i, c := range r {
				safe[i] = csvSafe(c)
			}
			if err := cw.Write(safe); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "md":
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(t.header, " | "), strings.Repeat(" --- |", len(t.header)))
		for _, r := range t.rows {
			safe := make([]string, len(r))
			for i, c := range r {
				safe[i] = mdSafe(c)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(safe, " | "))
		}
		return nil
	default:
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
		for _, r := range t.rows {
			safe := make([]string, len(r))
			for i, c := range r {
				safe[i] = strings.ReplaceAll(termSafe(c), "\t", " ")
			}
			fmt.Fprintln(tw, strings.Join(safe, "\t"))
		}
		return tw.Flush()
	}
}

func pathText(hops []queries.Hop) string { return report.PathText(hops) }

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func renderWhoCan(g *globalOptions, res *queries.WhoCanResult) error {
	if g.Output == "json" {
		return writeWhoCanJSON(g.stdout, res)
	}
	// Paths only when asked for (--paths): the columns stay the same for
	// scripts, the cell is empty.
	withPaths := len(res.Principals) > 0 && res.Principals[0].Path != nil
	t := &table{header: []string{"PRINCIPAL", "KIND", "VIA", "CONDITIONAL", "SCOPES", "HOPS", "THROUGH"}}
	if withPaths {
		t.header = append(t.header, "PATH")
	}
	if g.Output == "csv" {
		t.header = []string{"principal", "id", "kind", "via", "conditional", "scopes", "hops", "through", "through_id", "path", "incomplete"}
	}
	for _, p := range res.Principals {
		if g.Output == "csv" {
			t.add(p.Name, p.ID, p.Kind, p.Via, yesNo(p.Conditional), strings.Join(p.Scopes, " "), strconv.Itoa(p.Hops), p.ThroughName, p.Through, pathText(p.Path), p.Incomplete)
			continue
		}
		through := p.ThroughName
		if through == "" {
			through = "(itself)"
		}
		cells := []string{p.Name, p.Kind, p.Via, yesNo(p.Conditional), strings.Join(p.Scopes, ","), strconv.Itoa(p.Hops), through}
		if withPaths {
			cells = append(cells, pathText(p.Path))
		}
		t.add(cells...)
	}
	if err := t.render(g.stdout, g.Output); err != nil {
		return err
	}
	if g.Output == "table" {
		fmt.Fprintf(g.stdout, "\n%d principal(s) can %s", len(res.Principals), res.Capability)
		if res.Resource != "" {
			fmt.Fprintf(g.stdout, " on %s", termSafe(res.Resource))
		}
		fmt.Fprintf(g.stdout, " (snapshots: %s)\n", strings.Join(res.Snapshots, ", "))
		if res.HiddenConditional > 0 {
			fmt.Fprintf(g.stdout, "%d more only under a request-time condition: add --include-conditional to list them\n", res.HiddenConditional)
		}
		if !withPaths && len(res.Principals) > 0 {
			fmt.Fprintln(g.stdout, "hop-by-hop paths with evidence: add --paths, or run `permgraph path NAME deploy` for one principal")
		}
		for _, p := range res.Principals {
			if p.Incomplete != "" {
				fmt.Fprintf(g.stdout, "incomplete: %s: %s\n", termSafe(p.Name), termSafe(p.Incomplete))
			}
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(g.stderr, "warning: %s\n", termSafe(w))
	}
	return nil
}

func renderPath(g *globalOptions, res *queries.PathResult) error {
	if g.Output == "json" {
		return writeJSON(g.stdout, res)
	}
	if g.Output == "table" {
		for i, p := range res.Paths {
			cond := ""
			if p.Conditional {
				cond = " (conditional)"
			}
			fmt.Fprintf(g.stdout, "path %d: %d hop(s), via %s%s\n", i+1, len(p.Hops), p.Via, cond)
			for j, h := range p.Hops {
				fmt.Fprintf(g.stdout, "  %d. %s -%s-> %s\n", j+1, termSafe(nameOr(h.FromName, h.From)), h.Edge, termSafe(nameOr(h.ToName, h.To)))
				if h.Conditional {
					fmt.Fprintf(g.stdout, "       only if: %s\n", termSafe(h.Condition))
				}
				for _, ev := range h.Evidence {
					stmt := ""
					if ev.Statement != "" {
						stmt = " statement " + ev.Statement
					}
					fmt.Fprintf(g.stdout, "       evidence: %s%s: %s\n", termSafe(ev.Source), termSafe(stmt), termSafe(ev.Detail))
				}
			}
		}
		if res.Truncated {
			fmt.Fprintln(g.stdout, "(more paths exist; raise --max-depth or narrow FROM/TO)")
		}
		return nil
	}
	t := &table{header: []string{"path", "hop", "from", "edge", "to", "conditional", "evidence"}}
	for i, p := range res.Paths {
		for j, h := range p.Hops {
			var ev []string
			for _, e := range h.Evidence {
				ev = append(ev, strings.TrimSpace(e.Source+" "+e.Statement+" "+e.Detail))
			}
			t.add(fmt.Sprint(i+1), fmt.Sprint(j+1), h.From, h.Edge, h.To, yesNo(h.Conditional), strings.Join(ev, "; "))
		}
	}
	return t.render(g.stdout, g.Output)
}

func renderWhatCan(g *globalOptions, res *queries.WhatCanResult) error {
	if g.Output == "json" {
		return writeJSON(g.stdout, res)
	}
	t := &table{header: []string{"REACHES", "KIND", "NAME", "VIA", "CONDITIONAL", "PATH"}}
	for _, r := range res.Capabilities {
		t.add("capability", r.Kind, r.Name, r.Via, yesNo(r.Conditional), pathText(r.Path))
	}
	for _, r := range res.Identities {
		t.add("identity", r.Kind, r.Name, r.Via, yesNo(r.Conditional), pathText(r.Path))
	}
	for _, p := range res.Policies {
		t.add("policy", "policy", p.Name, p.Via, "", "")
	}
	for _, a := range res.Actions {
		var stmts []string
		for _, s := range a.Statements {
			stmts = append(stmts, s.PolicyName+" stmt "+s.Statement)
		}
		cond := ""
		if a.Conditional {
			cond = "yes"
		}
		t.add("action", a.Access, a.Action, a.Decision, cond, strings.Join(stmts, "; "))
	}
	if err := t.render(g.stdout, g.Output); err != nil {
		return err
	}
	if g.Output == "table" {
		for _, inc := range res.Incomplete {
			fmt.Fprintf(g.stdout, "incomplete: %s\n", termSafe(inc))
		}
	}
	return nil
}
