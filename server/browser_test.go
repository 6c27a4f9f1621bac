package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"permgraph/report/reporttest"
)

// TestBrowserServe drives the web UI in headless Chromium: the deployer
// table, its filter, a path diagram, principal search, and hostile names
// that must stay text.
func TestBrowserServe(t *testing.T) {
	ctx := reporttest.Browser(t)
	ts := hostileServer(t)
	dialogs := reporttest.Dialogs(t, ctx)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#deployers tbody tr")),
	); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		return reporttest.Eval[int](t, ctx, `document.querySelectorAll('#deployers tbody tr').length`)
	}
	if n := rows(); n != 8 { // conditional-carl only with "include conditional"
		t.Errorf("deployer table: %d rows, want 8", n)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#f-cond"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#deployers tbody tr').length === 9`)); err != nil {
		t.Errorf("include conditional: %d rows, want 9: %v", rows(), err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#filter"), "guest")); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 1 {
		t.Errorf("filter 'guest': %d rows, want 1", n)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#deployers tbody tr")),
		chromedp.WaitVisible(chromedp.CSS("#deploy-detail svg.pathsvg")),
	); err != nil {
		t.Fatal(err)
	}
	titles := reporttest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#deploy-detail svg.pathsvg g title')).map(function(e){return e.textContent})`)
	if len(titles) != 3 || titles[1] != reporttest.ImgName {
		t.Errorf("path diagram boxes %q, want guest -> %q -> capability", titles, reporttest.ImgName)
	}
	// Path form and principal search.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#p-from"), "bob"),
		chromedp.Click(chromedp.CSS(`#path-form button`)),
		chromedp.WaitVisible(chromedp.CSS("#path-out svg.pathsvg")),
		chromedp.SendKeys(chromedp.CSS("#q"), "conditional"),
		chromedp.Click(chromedp.CSS(`#search-form button`)),
		chromedp.WaitVisible(chromedp.CSS("#whatcan svg.pathsvg")),
	); err != nil {
		t.Fatal(err)
	}
	if got := reporttest.Eval[string](t, ctx, `document.getElementById('whatcan').innerText`); !strings.Contains(got, `</script><img src=x onerror=alert(1)>`) {
		t.Errorf("what-can shows no hostile condition as text:\n%s", got)
	}
	reporttest.Eval[bool](t, ctx, `(function(){var f=document.getElementById('filter');f.value='';f.dispatchEvent(new Event('input'));return true})()`)
	reporttest.CheckHostile(t, ctx, dialogs)
	reporttest.Screenshot(t, ctx, "serve.png")

	// The review report served by the UI runs under its hashed CSP.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/report"),
		chromedp.WaitVisible(chromedp.CSS("#deployers tbody tr")),
	); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 9 {
		t.Errorf("served report: %d rows, want 9", n)
	}
	reporttest.CheckHostile(t, ctx, dialogs)
}
