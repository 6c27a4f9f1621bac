package gcpiam

import (
	"context"
	"testing"
	"time"
)

var contextDeadline = context.DeadlineExceeded

func contextWithTimeout(t testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
