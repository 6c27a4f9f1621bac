package gcpiam

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"permgraph/bench/gengoogle"
	"permgraph/collectors/internal/rawcapture"
	"permgraph/graph"
)

// referenceCapture is the capture replay as it was before rawscan: every
// line decoded by rawcapture.Each.
func referenceCapture(ctx context.Context, path string, em *emitter) (int, error) {
	r := replayer{em: em}
	err := rawcapture.Each(ctx, path, func(p rawcapture.Page) error {
		op, resource, ok := pageKind(p.Path(), p.URL)
		if !ok {
			r.unknown++
			return nil
		}
		return r.known(p, op, resource)
	})
	return r.used, err
}

// compareCaptureReplays replays path both ways and fails unless graph,
// counts and error agree.
func compareCaptureReplays(t *testing.T, path string) error {
	t.Helper()
	ctx := context.Background()
	want := graph.NewCollection()
	wem := newEmitter(testSource, want)
	wantN, wantErr := referenceCapture(ctx, path, wem)
	wem.flush()
	got := graph.NewCollection()
	gem := newEmitter(testSource, got)
	gotN, cai, gotErr := importJSONL(ctx, path, gem, slog.New(slog.DiscardHandler))
	gem.flush()
	if cai {
		t.Fatal("a capture was taken for a CAI export")
	}
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("error:\n got %v\nwant %v", gotErr, wantErr)
	}
	if wantErr != nil {
		return gotErr
	}
	if gotN != wantN || gem.counts != wem.counts {
		t.Errorf("pages %d, counts %+v; want %d, %+v", gotN, gem.counts, wantN, wem.counts)
	}
	if d := cmp.Diff(want.Sources(), got.Sources()); d != "" {
		t.Fatalf("graph (-reference +rawscan):\n%s", d)
	}
	return nil
}

// TestCaptureReplayMatchesRawcapture replays a generated capture whose GCP
// pages are mixed into the Workspace pages, as is and broken in several
// ways, with rawscan and with rawcapture.Each.
func TestCaptureReplayMatchesRawcapture(t *testing.T) {
	o, err := gengoogle.New(gengoogle.Config{Users: 200, Groups: 50, Depth: 3, Projects: 6, Seed: 4, Format: gengoogle.FormatCapture})
	if err != nil {
		t.Fatal(err)
	}
	gen := t.TempDir()
	if _, err := o.Write(gen); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, name := range []string{RawCaptureFile, "directory.jsonl"} {
		b, err := os.ReadFile(filepath.Join(gen, name))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	r := rand.New(rand.NewPCG(3, 3))
	r.Shuffle(len(lines)-1, func(i, j int) { lines[i+1], lines[j+1] = lines[j+1], lines[i+1] })
	write := func(lines []string) string {
		path := filepath.Join(t.TempDir(), "mixed.jsonl")
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if err := compareCaptureReplays(t, write(lines)); err != nil {
		t.Fatal(err)
	}
	var gcp []int
	for i, l := range lines {
		if !strings.Contains(l, "admin/directory") {
			gcp = append(gcp, i)
		}
	}
	breaks := []func(string) string{
		func(l string) string { return l[:len(l)/2] },
		func(l string) string { return strings.Replace(l, `"status":200`, `"status":500`, 1) },
		func(l string) string { return strings.Replace(l, `"status":200`, `"status":404`, 1) },
		func(l string) string { return strings.Replace(l, `"status":200`, `"Status":200`, 1) },
		func(l string) string { return strings.Replace(l, `"body":{`, `"body":{"bindings":1,`, 1) },
		func(l string) string { return strings.Replace(l, `"url":"https://`, `"url":"https://%zz`, 1) },
		func(l string) string { return strings.Replace(l, `"body":`, `"body":null,"x":`, 1) },
	}
	failed := 0
	for bi, brk := range breaks {
		for k := range 6 {
			i := r.IntN(len(lines))
			if k%2 == 0 {
				i = gcp[r.IntN(len(gcp))]
			}
			t.Run(fmt.Sprintf("break %d line %d", bi, i+1), func(t *testing.T) {
				broken := append([]string(nil), lines...)
				broken[i] = brk(broken[i])
				if compareCaptureReplays(t, write(broken)) != nil {
					failed++
				}
			})
		}
	}
	if failed == 0 {
		t.Error("no broken capture failed")
	}
}
