package stream

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"permgraph/graph"
)

const acct = "111122223333"

func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("PERMGRAPH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// cluster starts an in-process Kafka with the given topics (name ->
// partitions) and returns its Conn.
func cluster(t *testing.T, topics map[string]int32) Conn {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500 * time.Millisecond)}
	for name, n := range topics {
		opts = append(opts, kfake.SeedTopics(n, name))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return ConnOpts(kgo.SeedBrokers(c.ListenAddrs()...))
}

func client(t *testing.T, conn Conn, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := conn.NewClient(extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// viewFile writes a one-source snapshot at `at` with the given AWS users and
// returns the store directory holding latest.view.
func viewFile(t *testing.T, at time.Time, users ...string) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "db")
	st, err := graph.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := graph.NewSourceGraph("aws:" + acct)
	for _, u := range users {
		if err := g.AddNode(graph.Node{ID: "aws:arn:aws:iam::" + acct + ":user/" + u, Kind: graph.NodeUser, Name: u}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.WriteSnapshot(ctx, g, at); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, viewFileName)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slicesSortStable[T any](xs []T, key func(T) string) {
	sort.SliceStable(xs, func(i, j int) bool { return key(xs[i]) < key(xs[j]) })
}
