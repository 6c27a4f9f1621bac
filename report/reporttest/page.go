package reporttest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Dialogs counts JavaScript dialogs (alert, confirm, prompt) the page opens,
// closing each one so the page never blocks. A hostile name that executed
// alert(1) shows up here.
func Dialogs(t testing.TB, ctx context.Context) *atomic.Int32 {
	t.Helper()
	var n atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			n.Add(1)
			t.Logf("dialog opened: %q", ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return &n
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Screenshot saves a full-page PNG in ArtifactDir and logs its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(ArtifactDir(t), name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// CheckHostile checks that the hostile names are on the page as text, that
// they made no elements (no img, no extra script, no svg onload) and that
// nothing ran: no dialog, no window.pwned.
func CheckHostile(t testing.TB, ctx context.Context, dialogs *atomic.Int32) {
	t.Helper()
	text := Eval[string](t, ctx, `document.body.innerText`)
	for _, name := range []string{ImgName, ScriptName, FlagName} {
		if !strings.Contains(text, name) {
			t.Errorf("page text lacks the hostile name %q", name)
		}
	}
	if n := Eval[int](t, ctx, `document.images.length + document.querySelectorAll('[onerror],[onload],[onclick]').length`); n != 0 {
		t.Errorf("hostile markup became %d element(s) or handler(s)", n)
	}
	if n := Eval[int](t, ctx, `Array.from(document.scripts).filter(function(s){return s.type !== 'application/json'}).length`); n != 1 {
		t.Errorf("%d executable script elements, want 1", n)
	}
	if pwned := Eval[bool](t, ctx, `window.pwned !== undefined`); pwned {
		t.Error("a hostile name executed script (window.pwned is set)")
	}
	// Give a late onerror a moment, then count dialogs.
	if _, err := chromedp.Run(ctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialog(s) opened: a hostile name executed", n)
	}
}
