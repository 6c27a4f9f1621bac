// Package httpstats counts the HTTP requests a collection makes, for the
// snapshot job's summary. The counter travels in the request context: the
// job puts one per source into the context it collects with, and every
// collector's base transport is wrapped with Wrap, so no collector needs to
// know about the job.
package httpstats

import (
	"context"
	"net/http"
	"sync/atomic"
)

// Counter holds one source's counts. Safe for concurrent use.
type Counter struct {
	requests  atomic.Int64
	throttled atomic.Int64
}

// Requests is the number of HTTP requests sent (every attempt).
func (c *Counter) Requests() int64 { return c.requests.Load() }

// Throttled is the number of responses with status 429 or 5xx: answers the
// SDKs' retry layers retry (AWS query-protocol throttling, a 400 with code
// Throttling, is not visible at this layer).
func (c *Counter) Throttled() int64 { return c.throttled.Load() }

type ctxKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the counter in ctx, or nil.
func FromContext(ctx context.Context) *Counter {
	c, _ := ctx.Value(ctxKey{}).(*Counter)
	return c
}

// Observe records one request and its response status on the counter in
// ctx, if any.
func Observe(ctx context.Context, resp *http.Response) {
	c := FromContext(ctx)
	if c == nil {
		return
	}
	c.requests.Add(1)
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		c.throttled.Add(1)
	}
}

// transport counts requests whose context carries a Counter.
type transport struct{ base http.RoundTripper }

// Wrap returns base (http.DefaultTransport when nil) counting requests.
func Wrap(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if _, ok := base.(transport); ok {
		return base
	}
	return transport{base: base}
}

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	Observe(req.Context(), resp)
	return resp, err
}

// Doer is the AWS SDK's HTTP client shape.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// doer counts requests of a Doer.
type doer struct{ base Doer }

// WrapDoer returns base counting requests.
func WrapDoer(base Doer) Doer { return doer{base: base} }

func (d doer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.base.Do(req)
	Observe(req.Context(), resp)
	return resp, err
}
