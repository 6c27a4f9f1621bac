package k8saudit_test

import (
	"testing"

	"permgraph/detect/event"
	"permgraph/detect/k8saudit"
)

// BenchmarkParseEvent measures the record parser alone (no I/O, no line
// splitting) on a generated stream with the default attack mix (about 1.3
// KB per record, creates with request and response objects), against the
// encoding/json reference.
func BenchmarkParseEvent(b *testing.B) {
	lines := generated(b, "", 4000, 1)
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	for _, bc := range []struct {
		name  string
		parse func([]byte) (event.Event, error)
	}{
		{"parser", k8saudit.NewParser().Parse}, // shared strings, as detect/read uses it
		{"jsonscan", k8saudit.ParseEvent},
		{"reference", k8saudit.RefParseEvent},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(lines)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := bc.parse(lines[i%len(lines)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
