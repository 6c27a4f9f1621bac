package httpstats

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCountsOnlyWithCounter(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 2 {
			w.WriteHeader(429)
		}
	}))
	defer srv.Close()
	c := &Counter{}
	ctx := NewContext(context.Background(), c)
	client := &http.Client{Transport: Wrap(nil)}
	doer := WrapDoer(&http.Client{})
	for i, useCtx := range []bool{true, true, false, true} {
		cx := context.Background()
		if useCtx {
			cx = ctx
		}
		req, _ := http.NewRequestWithContext(cx, "GET", srv.URL, nil)
		var resp *http.Response
		var err error
		if i == 3 {
			resp, err = doer.Do(req)
		} else {
			resp, err = client.Do(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if c.Requests() != 3 || c.Throttled() != 1 {
		t.Fatalf("requests %d throttled %d, want 3 and 1", c.Requests(), c.Throttled())
	}
	if Wrap(Wrap(nil)) == nil {
		t.Fatal("double wrap")
	}
}
