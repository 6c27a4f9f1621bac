package response

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"permgraph/queries"
	"permgraph/report"
)

// Formats are the incident record formats.
func Formats() []string { return []string{"md", "html", "json"} }

// Render writes inc in format.
func Render(w io.Writer, format string, inc *Incident) error {
	switch format {
	case "md":
		return RenderMarkdown(w, inc)
	case "html":
		return RenderHTML(w, inc)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(inc); err != nil {
			return fmt.Errorf("render incident json: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown incident format %q: want %s", format, strings.Join(Formats(), ", "))
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// md escapes an attacker-controllable value for Markdown.
func md(s string) string { return report.MDSafe(s) }

// code renders a shell command as an indented code block line: nothing in
// it is Markdown, and control characters never reach it (Command).
func pathText(hops []queries.Hop) string { return report.PathText(hops) }

// RenderMarkdown writes the record as Markdown.
func RenderMarkdown(w io.Writer, inc *Incident) error {
	var b strings.Builder
	a := inc.Alert
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Incident %s\n\n", md(inc.ID))
	p("- **Alert**: %s %s (%s), %s\n", md(a.Rule), md(inc.Rule.Name), md(a.Severity.String()), ts(a.Time))
	p("- **Summary**: %s\n", md(a.Summary))
	p("- **Actor**: %s (`%s`, %s", md(a.Actor.Name), md(a.Actor.ID), md(a.Actor.Resolved))
	if a.Actor.Origin != "" {
		p(", session obtained by %s", md(a.Actor.Origin))
	}
	p(")\n- **Window**: %s to %s\n", ts(inc.Window.From), ts(inc.Window.To))
	if len(a.Labels) > 0 {
		p("- **Labels**: %s\n", md(strings.Join(a.Labels, ", ")))
	}
	for _, wn := range inc.Warnings {
		p("- **Warning**: %s\n", md(wn))
	}
	p("\n## ATT&CK\n\n")
	for _, t := range inc.Rule.Attack {
		p("- [%s](%s)\n", md(t.ID), t.URL)
	}
	p("\n## Timeline\n\n| time | kind | action | class | outcome | scope | resource / summary | ref |\n|---|---|---|---|---|---|---|---|\n")
	for _, e := range inc.Timeline {
		kind := e.Kind
		if e.InAlert {
			kind = "**" + kind + "**"
		}
		ref := ""
		if e.Ref.File != "" {
			ref = fmt.Sprintf("%s:%d", md(e.Ref.File), e.Ref.Line)
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", ts(e.Time), kind, md(e.Action), md(e.Class), md(e.Outcome), md(e.Scope), md(nonEmpty(e.Resource, e.Summary)), ref)
	}
	p("\n## Permission changes around the event\n\n")
	if len(inc.PermissionChanges) == 0 && len(inc.EdgeChanges) == 0 {
		p("None in the snapshots around the event touched the actor or its deploy paths.\n")
	}
	for _, c := range inc.PermissionChanges {
		p("- %s\n", md(c.Summary))
	}
	for _, e := range inc.EdgeChanges {
		p("- %s %s -%s-> %s (%s to %s)\n", md(e.Change), md(nameOr(e.FromName, e.From)), md(e.Edge), md(nameOr(e.ToName, e.To)), ts(e.Between[0]), ts(e.Between[1]))
	}
	for _, ps := range []struct {
		title string
		set   PathSet
	}{{"Paths to deploy at the event's time", inc.PathsAtEvent}, {"Paths to deploy now", inc.PathsNow}} {
		p("\n## %s (%s)\n\n", ps.title, ts(ps.set.At))
		p("Snapshots: %s\n\n", md(strings.Join(ps.set.Snapshots, ", ")))
		if ps.set.Note != "" {
			p("%s\n", md(ps.set.Note))
		}
		for _, path := range ps.set.Paths {
			p("- %s (%s%s)\n", md(pathText(path.Hops)), md(path.Via), condText(path.Conditional))
		}
		if ps.set.Truncated {
			p("- ... (truncated)\n")
		}
	}
	p("\n## Containment (printed, never executed)\n\n")
	writeCommands(&b, inc.Containment)
	if len(inc.Reverts) > 0 {
		p("\n### Revert the actor's grants\n\n")
		writeCommands(&b, inc.Reverts)
	}
	p("\n## Revocation: cheapest cut first\n\n")
	if len(inc.Cuts) == 0 {
		p("The actor has no path to deploy in the latest snapshot: nothing to cut.\n")
	}
	for _, c := range inc.Cuts {
		p("### Cut %d (%s, %d edge(s), blast radius %d)\n\n", c.Rank, md(c.Method), len(c.Edges), len(c.BlastRadius))
		for _, h := range c.Edges {
			p("- remove %s -%s-> %s\n", md(nameOr(h.FromName, h.From)), md(h.Edge), md(nameOr(h.ToName, h.To)))
		}
		if len(c.BlastRadius) == 0 {
			p("\nBlast radius: nobody else loses a deploy capability.\n\n")
		} else {
			p("\nBlast radius (who else loses what):\n\n")
			for _, l := range c.BlastRadius {
				p("- %s (%s, `%s`): %s\n", md(l.Name), md(l.Kind), md(l.ID), md(strings.Join(l.Lost, ", ")))
			}
			p("\n")
		}
		writeCommands(&b, c.Commands)
		p("\n")
	}
	p("\n## Rule: blind spots\n\n%s\n\n## Rule: false positives\n\n%s\n", inc.Rule.BlindSpots, inc.Rule.FalsePositives)
	p("\n## Checklist\n")
	for _, s := range inc.Checklist {
		p("\n### %s\n\n", md(s.Step))
		for _, it := range s.Items {
			p("- [ ] %s\n", md(it))
		}
		p("\nNotes:\n\n> \n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func condText(c bool) string {
	if c {
		return ", conditional"
	}
	return ""
}

func writeCommands(b *strings.Builder, cs []Command) {
	if len(cs) == 0 {
		b.WriteString("None.\n")
		return
	}
	for _, c := range cs {
		fmt.Fprintf(b, "- %s\n", md(c.Why))
		if c.Shell != "" {
			// A fenced block: its content is literal in Markdown. A
			// value cannot end the fence: Commands hold no newlines.
			fmt.Fprintf(b, "\n  ```sh\n  %s\n  ```\n\n", strings.ReplaceAll(c.Shell, "```", "` ` `"))
		} else {
			fmt.Fprintf(b, "  - manual: %s\n", md(c.Manual))
		}
	}
}

//go:embed assets/incident.html.tmpl
var assets embed.FS

// RenderHTML writes a self-contained page (no script, inline style with a
// CSP hash); every value is escaped by html/template.
func RenderHTML(w io.Writer, inc *Incident) error {
	css, err := report.Asset("report.css")
	if err != nil {
		return err
	}
	t, err := template.New("incident.html.tmpl").Funcs(template.FuncMap{
		"time": ts, "path": pathText, "join": strings.Join, "nameOr": nameOr,
	}).ParseFS(assets, "assets/incident.html.tmpl")
	if err != nil {
		return fmt.Errorf("incident html template: %w", err)
	}
	data := struct {
		*Incident
		CSS template.CSS
		CSP string
	}{inc, template.CSS(css), "default-src 'none'; style-src " + report.CSPHash(string(css)) + "; img-src 'none'; base-uri 'none'; form-action 'none'"}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("render incident html: %w", err)
	}
	return nil
}
