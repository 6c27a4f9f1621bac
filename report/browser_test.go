package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"permgraph/report"
	"permgraph/report/reporttest"
)

// TestBrowserHTMLReport opens the self-contained HTML report (file://) in
// headless Chromium and checks through the DOM that the deployer table,
// its filter, sorting and a path diagram render, and that hostile names
// are shown as text and execute nothing.
func TestBrowserHTMLReport(t *testing.T) {
	ctx := reporttest.Browser(t)
	file := filepath.Join(t.TempDir(), "review.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.RenderHTML(f, hostileReport(t), report.HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	dialogs := reporttest.Dialogs(t, ctx)
	if err := chromedp.Do(ctx,
		chromedp.Navigate("file://"+file),
		chromedp.WaitVisible(chromedp.CSS("#deployers tbody tr")),
	); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		return reporttest.Eval[int](t, ctx, `document.querySelectorAll('#deployers tbody tr').length`)
	}
	if n := rows(); n != 9 {
		t.Errorf("deployer table: %d rows, want 9", n)
	}
	// The script picked the first row: its path is drawn as SVG.
	if n := reporttest.Eval[int](t, ctx, `document.querySelectorAll('#detail svg.pathsvg rect').length`); n < 2 {
		t.Errorf("detail path diagram: %d boxes", n)
	}
	// Server-rendered (printable) diagrams.
	if n := reporttest.Eval[int](t, ctx, `document.querySelectorAll('#paths ~ .path-block svg.pathsvg').length`); n != 9 {
		t.Errorf("printed path diagrams: %d, want 9", n)
	}

	// Filter by typing, as a reviewer would.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#filter"), "bob")); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 1 {
		t.Errorf("filter 'bob': %d rows, want 1", n)
	}
	if got := reporttest.Eval[string](t, ctx, `document.getElementById('page-info').textContent`); !strings.HasPrefix(got, "1 of 9") {
		t.Errorf("page info %q", got)
	}
	// Clear it, filter by category, then sort by hops (descending on the second click).
	reporttest.Eval[bool](t, ctx, `(function(){var f=document.getElementById('filter');f.value='';f.dispatchEvent(new Event('input'));var s=document.getElementById('f-cat');s.value='escalation';s.dispatchEvent(new Event('change'));return true})()`)
	if n := rows(); n != 1 {
		t.Errorf("category escalation: %d rows, want 1", n)
	}
	reporttest.Eval[bool](t, ctx, `(function(){var s=document.getElementById('f-cat');s.value='';s.dispatchEvent(new Event('change'));return true})()`)
	firstHops := func() string {
		return reporttest.Eval[string](t, ctx, `document.querySelector('#deployers tbody tr td:nth-child(6)').textContent`)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`th[data-key="h"]`))); err != nil {
		t.Fatal(err)
	}
	if got := firstHops(); got != "1" {
		t.Errorf("sorted by hops: first row has %s hops, want 1", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`th[data-key="h"]`))); err != nil {
		t.Fatal(err)
	}
	if got := firstHops(); got != "2" {
		t.Errorf("sorted by hops descending: first row has %s hops, want 2", got)
	}

	// Click the group with the </script> name: its diagram carries the name as text.
	reporttest.Eval[bool](t, ctx, `(function(){var f=document.getElementById('filter');f.value='script';f.dispatchEvent(new Event('input'));return true})()`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#deployers tbody tr"))); err != nil {
		t.Fatal(err)
	}
	titles := reporttest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#detail svg.pathsvg g title')).map(function(e){return e.textContent})`)
	if !contains(titles, reporttest.ScriptName) {
		t.Errorf("diagram titles %q lack %q", titles, reporttest.ScriptName)
	}
	reporttest.CheckHostile(t, ctx, dialogs)
	reporttest.Screenshot(t, ctx, "report.png")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
