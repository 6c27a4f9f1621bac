package report_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"permgraph/report/reporttest"
)

// TestBrowserLargeReport opens a large HTML report (PERMGRAPH_LARGE_REPORT,
// e.g. from a 50k-principal organisation) and times the first table render
// and a filter. Opt-in: skipped without the variable.
func TestBrowserLargeReport(t *testing.T) {
	file := os.Getenv("PERMGRAPH_LARGE_REPORT")
	if file == "" {
		t.Skip("set PERMGRAPH_LARGE_REPORT to an HTML report")
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := reporttest.Browser(t)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+abs), chromedp.WaitVisible(chromedp.CSS("#deployers tbody tr"))); err != nil {
		t.Fatal(err)
	}
	t.Logf("load and first render: %s; rows on the page: %d; %s", time.Since(start).Round(time.Millisecond),
		reporttest.Eval[int](t, ctx, `document.querySelectorAll('#deployers tbody tr').length`),
		reporttest.Eval[string](t, ctx, `document.getElementById('page-info').textContent`))
	start = time.Now()
	got := reporttest.Eval[string](t, ctx, `(function(){var f=document.getElementById('filter');f.value='admin';f.dispatchEvent(new Event('input'));return document.getElementById('page-info').textContent})()`)
	t.Logf("filter: %s (%s)", time.Since(start).Round(time.Millisecond), got)
	start = time.Now()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`th[data-key="h"]`))); err != nil {
		t.Fatal(err)
	}
	t.Logf("sort: %s", time.Since(start).Round(time.Millisecond))
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()) // the full page is too tall for one capture
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(reporttest.ArtifactDir(t), "report-large.png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
