package response

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"permgraph/detect/rules"
	"permgraph/graph"
	"permgraph/queries"
)

// fakeStore serves one view at every time and no snapshots or changes.
type fakeStore struct{ v *graph.View }

func (f fakeStore) Snapshots(context.Context) ([]graph.Manifest, error) { return nil, nil }
func (f fakeStore) View(context.Context, time.Time) (*graph.View, error) {
	return f.v, nil
}
func (f fakeStore) Changes(context.Context, string, uint64, uint64) (graph.ChangeSet, error) {
	return graph.ChangeSet{}, nil
}

const (
	hostileHTML  = `<img src=x onerror=alert(1)>`
	hostileShell = `x'; $(touch PWNED) ` + "`touch PWNED2`"
)

func hostileView(t *testing.T) *graph.View {
	t.Helper()
	g := graph.NewSourceGraph("azure:t")
	grp := "entra:group:" + hostileShell
	for _, n := range []graph.Node{
		{ID: "entra:user:eve", Kind: graph.NodeUser, Name: "eve " + hostileHTML},
		{ID: "entra:user:bob", Kind: graph.NodeUser, Name: "bob"},
		{ID: grp, Kind: graph.NodeGroup, Name: hostileHTML},
		{ID: "cap:deploy-container:azure:sub:s1", Kind: graph.NodeCapability, Name: "deploy", Attrs: map[string]string{"capability": queries.DeployCapability, "cloud": "azure", "scope": "/subscriptions/s1"}},
	} {
		if err := g.AddNode(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []graph.Edge{
		{From: "entra:user:eve", Kind: graph.EdgeMemberOf, To: grp, Evidence: []graph.Evidence{{Source: "graph:/groups/x/members"}}},
		{From: "entra:user:bob", Kind: graph.EdgeMemberOf, To: grp, Evidence: []graph.Evidence{{Source: "graph:/groups/x/members"}}},
		{From: grp, Kind: graph.EdgeCan, To: "cap:deploy-container:azure:sub:s1", Evidence: []graph.Evidence{{Source: "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/" + hostileShell, Detail: hostileHTML}}},
	} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	return graph.NewViewFromGraphs(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), nil, g)
}

func hostileIncident(t *testing.T) *Incident {
	t.Helper()
	a := rules.Alert{Rule: "R04", Title: hostileHTML, Time: time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC), Key: "R04|" + hostileHTML,
		Actor:   rules.Actor{ID: "entra:user:eve", Name: "eve " + hostileHTML, Source: hostileHTML, Resolved: "graph"},
		Summary: hostileHTML, Attack: []string{"T1610"}}
	inc, err := Build(context.Background(), fakeStore{hostileView(t)}, a, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func TestIncidentHTMLEscapesHostileNames(t *testing.T) {
	inc := hostileIncident(t)
	if len(inc.Cuts) == 0 {
		t.Fatal("want a cut through the hostile group")
	}
	var buf bytes.Buffer
	if err := RenderHTML(&buf, inc); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if strings.Contains(html, "<img") || strings.Contains(html, "onerror=alert(1)>") {
		t.Errorf("hostile name reached the HTML unescaped")
	}
	if !strings.Contains(html, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("escaped name missing from the HTML")
	}
	if strings.Contains(html, "<script") {
		t.Errorf("the incident page must not carry script")
	}
	var md bytes.Buffer
	if err := RenderMarkdown(&md, inc); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.Contains(line, "<img") && !strings.HasPrefix(strings.TrimSpace(line), "az ") {
			t.Errorf("markdown line carries raw markup: %q", line)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"gina", "gina"},
		{"arn:aws:iam::1:policy/p", "arn:aws:iam::1:policy/p"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$(id)", "'$(id)'"},
		{"`id`", "'`id`'"},
		{"*", "'*'"},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestShellCommandsKeepHostileNamesData runs every printed command of the
// hostile incident through sh with printf in place of the cloud CLI: each
// argument must come back verbatim and nothing may be executed.
func TestShellCommandsKeepHostileNamesData(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	inc := hostileIncident(t)
	var cmds []Command
	cmds = append(cmds, inc.Containment...)
	for _, c := range inc.Cuts {
		cmds = append(cmds, c.Commands...)
	}
	ran := 0
	for _, c := range cmds {
		if c.Shell == "" || !strings.Contains(c.Shell, "PWNED") {
			continue
		}
		dir := t.TempDir()
		// Replace the program (first two words: "az ad", ...) by printf.
		line := "printf '%s\\n' " + c.Shell
		cmd := exec.Command(sh, "-c", line)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		if !strings.Contains(string(out), hostileShell+"\n") {
			t.Errorf("hostile value not passed verbatim as one argument:\n%s\n%s", c.Shell, out)
		}
		for _, f := range []string{"PWNED", "PWNED2"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("command substitution ran: %s", c.Shell)
			}
			if _, err := os.Stat(f); err == nil {
				os.Remove(f)
				t.Errorf("command substitution ran: %s", c.Shell)
			}
		}
		ran++
	}
	if ran == 0 {
		t.Fatalf("no command carried the hostile name: %+v", cmds)
	}
}
