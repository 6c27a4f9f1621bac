package ads_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/detect/rules"
	"permgraph/docs/ads"
)

// TestDocumentsMatchRules fails when a rule has no document, or when a
// document's id, name, severity, ATT&CK ids or parameters differ from the
// rule definition in code, or when it lacks an ADS section.
func TestDocumentsMatchRules(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules.DefaultRules(nil) {
		m := r.Meta()
		seen[m.ID] = true
		t.Run(m.ID, func(t *testing.T) {
			doc, err := ads.Doc(m.ID)
			if err != nil {
				t.Fatal(err)
			}
			f, body, err := ads.Parse(doc)
			if err != nil {
				t.Fatal(err)
			}
			params := m.Params
			if params == nil {
				params = map[string]string{}
			}
			if f.Params == nil {
				f.Params = map[string]string{}
			}
			want := ads.Front{ID: m.ID, Name: m.Name, Severity: m.Severity.String(), Attack: m.Attack, Params: params}
			if d := cmp.Diff(want, f); d != "" {
				t.Errorf("docs/ads/%s.md front matter differs from the rule in code (-code +doc):\n%s", m.ID, d)
			}
			if !strings.Contains(body, m.Title) {
				t.Errorf("docs/ads/%s.md does not carry the rule title %q", m.ID, m.Title)
			}
			last := -1
			for _, s := range ads.Sections() {
				i := strings.Index(body, "\n## "+s+"\n")
				if i < 0 || i < last {
					t.Errorf("docs/ads/%s.md: section %q missing or out of order", m.ID, s)
				}
				last = i
			}
			for _, a := range m.Attack {
				if !strings.Contains(body, a) {
					t.Errorf("docs/ads/%s.md: Categorization does not name %s", m.ID, a)
				}
			}
		})
	}
	for _, id := range ads.IDs() {
		if !seen[id] {
			t.Errorf("docs/ads/%s.md documents a rule that does not exist", id)
		}
	}
}
