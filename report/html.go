package report

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"unicode/utf8"

	"permgraph/graph"
	"permgraph/queries"
)

//go:embed assets/report.css assets/report.js assets/report.html.tmpl
var assets embed.FS

// HTMLOptions bound the server-rendered parts of the HTML report, so that a
// 50k-principal organisation stays a usable file. The deployer table itself
// is data for the (paginated) script and holds every deployer.
type HTMLOptions struct {
	// MaxDiagrams is how many printed path diagrams to draw (default 200).
	MaxDiagrams int
	// MaxRows caps the other server-rendered tables (default 1000).
	MaxRows int
}

// Asset returns an embedded asset (the stylesheet and script are shared
// with the web UI).
func Asset(name string) ([]byte, error) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return nil, fmt.Errorf("report: asset %s: %w", name, err)
	}
	return b, nil
}

// CSPHash is the CSP source expression ('sha256-...') of an inline block.
func CSPHash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Diagram is a path drawn as SVG (fixed layout, text escaped by html/template).
type Diagram struct {
	Width int
	Title string
	Nodes []DiagramNode
	Edges []DiagramEdge
}

// DiagramNode is one box.
type DiagramNode struct {
	X, CX       int
	Label, Full string
	Class       string
}

// DiagramEdge is one arrow.
type DiagramEdge struct {
	X1, X2, TipBase, Mid int
	Label                string
	Class                string
}

// Layout constants shared with assets/report.js.
const (
	boxW   = 170
	boxGap = 110
	boxPad = 10
)

// NewDiagram lays out a path left to right.
func NewDiagram(hops []queries.Hop) Diagram {
	if len(hops) == 0 {
		return Diagram{}
	}
	names := []string{nameOr(hops[0].FromName, hops[0].From)}
	for _, h := range hops {
		names = append(names, nameOr(h.ToName, h.To))
	}
	d := Diagram{Width: boxPad*2 + len(names)*boxW + (len(names)-1)*boxGap, Title: strings.Join(names, " → ")}
	for i, n := range names {
		x := boxPad + i*(boxW+boxGap)
		cls := "node"
		if i == 0 {
			cls += " start"
		}
		if i == len(names)-1 {
			cls += " cap"
		}
		d.Nodes = append(d.Nodes, DiagramNode{X: x, CX: x + boxW/2, Label: clip(n, 24), Full: n, Class: cls})
	}
	for i, h := range hops {
		x1 := boxPad + i*(boxW+boxGap) + boxW
		x2 := x1 + boxGap
		cls := "edge"
		label := h.Edge
		if h.Conditional {
			cls += " cond"
			label += " (if)"
		}
		if k, err := graph.ParseEdgeKind(h.Edge); err == nil && k.IsEscalation() {
			cls += " esc"
		}
		d.Edges = append(d.Edges, DiagramEdge{X1: x1, X2: x2, TipBase: x2 - 8, Mid: (x1 + x2) / 2, Label: label, Class: cls})
	}
	return d
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// jsRow is one deployer as the table script sees it (short keys keep a
// 50k-principal report small).
type jsRow struct {
	N string  `json:"n"` // name
	I string  `json:"i"` // id
	K string  `json:"k"` // kind
	C string  `json:"c"` // cloud
	G string  `json:"g"` // category
	S string  `json:"s"` // scopes
	H int     `json:"h"` // hops
	T string  `json:"t"` // path text
	P [][]any `json:"p"` // hops: [from, edge, to, conditional, escalation, evidence...]
}

type jsData struct {
	Deployers []jsRow `json:"deployers"`
}

type htmlView struct {
	*Report
	CSS         template.CSS
	Script      template.JS
	CSP         string
	Data        jsData
	Diagrams    []pathBlock
	MoreDiagram int
	MaxRows     int
	Categories  []string
	CloudNames  []string
}

type pathBlock struct {
	D       Deployer
	Diagram Diagram
}

func evidenceLines(h queries.Hop) []string {
	out := make([]string, 0, len(h.Evidence))
	for _, e := range h.Evidence {
		s := e.Source
		if e.Statement != "" {
			s += " statement " + e.Statement
		}
		if e.Detail != "" {
			s += ": " + e.Detail
		}
		out = append(out, s)
	}
	return out
}

func htmlTemplate() (*template.Template, error) {
	funcs := template.FuncMap{
		"join":     strings.Join,
		"time":     fmtTime,
		"refs":     refsText,
		"ref":      refText,
		"evidence": evidenceLines,
		"limit": func(n, max int) int {
			if max > 0 && n > max {
				return max
			}
			return n
		},
		"more": func(n, max int) int {
			if max > 0 && n > max {
				return n - max
			}
			return 0
		},
		"isGroup": kindIsGroup,
	}
	b, err := assets.ReadFile("assets/report.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("report: template: %w", err)
	}
	t, err := template.New("report").Funcs(funcs).Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("report: template: %w", err)
	}
	return t, nil
}

// RenderHTML writes one self-contained HTML file: inline CSS, SVG and
// script (allowed by hash in a Content-Security-Policy meta tag), no
// network fetches.
func RenderHTML(w io.Writer, r *Report, o HTMLOptions) error {
	if o.MaxDiagrams <= 0 {
		o.MaxDiagrams = 200
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 1000
	}
	css, err := Asset("report.css")
	if err != nil {
		return err
	}
	js, err := Asset("report.js")
	if err != nil {
		return err
	}
	t, err := htmlTemplate()
	if err != nil {
		return err
	}
	v := htmlView{Report: r, CSS: template.CSS(css), Script: template.JS(js), MaxRows: o.MaxRows,
		Categories: []string{"direct", "escalation", "conditional", "eligible-only"}, CloudNames: Clouds()}
	v.CSP = "default-src 'none'; img-src data:; style-src " + CSPHash(string(css)) + "; script-src " + CSPHash(string(js)) +
		"; base-uri 'none'; form-action 'none'"
	v.Data.Deployers = make([]jsRow, 0, len(r.Deployers))
	for i, d := range r.Deployers {
		row := jsRow{N: d.Name, I: d.ID, K: d.Kind, C: d.Cloud, G: d.Category, S: strings.Join(d.Scopes, ", "), H: len(d.Path), T: PathText(d.Path), P: make([][]any, 0, len(d.Path))}
		for _, h := range d.Path {
			esc := false
			if k, err := graph.ParseEdgeKind(h.Edge); err == nil {
				esc = k.IsEscalation()
			}
			row.P = append(row.P, []any{nameOr(h.FromName, h.From), h.Edge, nameOr(h.ToName, h.To), h.Conditional, esc, evidenceLines(h)})
		}
		v.Data.Deployers = append(v.Data.Deployers, row)
		if i < o.MaxDiagrams {
			v.Diagrams = append(v.Diagrams, pathBlock{D: d, Diagram: NewDiagram(d.Path)})
		}
	}
	v.MoreDiagram = len(r.Deployers) - len(v.Diagrams)
	ew := &errWriter{w: w}
	if err := t.Execute(ew, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if ew.err != nil {
		return fmt.Errorf("report: html: %w", ew.err)
	}
	return nil
}
