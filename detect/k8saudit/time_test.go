package k8saudit

import (
	"strconv"
	"testing"

	"permgraph/detect/internal/jsonrec"
)

// timeOf must give jsonrec.Time's answer for any timestamp text.
func TestTimeOfMatchesJSONRec(t *testing.T) {
	tests := []string{
		"2025-01-02T03:04:05Z", "2025-01-02T03:04:05.1Z", "2025-01-02T03:04:05.123456Z", "2025-01-02T03:04:05.123456789Z",
		"2025-01-02T03:04:05.1234567891Z", "2025-01-02T03:04:05.Z", "2025-01-02T03:04:05,5Z", "2025-01-02T03:04:05+02:00",
		"2025-01-02T03:04:05.5-07:30", "2025-01-02 03:04:05", "2025-01-02T03:04:05", "2024-02-29T23:59:59Z",
		"2025-02-29T23:59:59Z", "2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-01-00T00:00:00Z",
		"2025-01-32T00:00:00Z", "2025-04-31T00:00:00Z", "2025-01-02T24:00:00Z", "2025-01-02T03:60:00Z",
		"2025-01-02T03:04:60Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "1900-02-29T00:00:00Z",
		"2000-02-29T00:00:00Z", "+025-01-02T03:04:05Z", "2025-1-02T03:04:05Z", "2025-01-02t03:04:05Z",
		"2025-01-02T03:04:05z", "2025-01-02T03:04:05.1a2Z", "", "x", "2025-01-02T03:04:05.-1Z",
	}
	for _, s := range tests {
		want := jsonrec.Time(s)
		got := timeOf([]byte(strconv.Quote(s)))
		if !got.Equal(want) || got.Location().String() != want.Location().String() {
			t.Errorf("timeOf(%q) = %v, jsonrec.Time %v", s, got, want)
		}
	}
}

func FuzzTimeOf(f *testing.F) {
	f.Add("2025-01-02T03:04:05.123456Z")
	f.Add("2024-02-29T23:59:59Z")
	f.Fuzz(func(t *testing.T, s string) {
		want := jsonrec.Time(s)
		got := timeOf([]byte(strconv.Quote(s)))
		if !got.Equal(want) || got.Location().String() != want.Location().String() {
			t.Fatalf("timeOf(%q) = %v, jsonrec.Time %v", s, got, want)
		}
	})
}
