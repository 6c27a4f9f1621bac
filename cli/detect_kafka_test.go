package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// forward then detect --kafka-brokers through the CLI: alerts reach stdout
// and the alerts topic; usage errors exit 2.
func TestForwardAndDetectKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "audit"), kfake.SeedTopics(1, "alerts"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	db := t.TempDir()
	log := filepath.Join(t.TempDir(), "ct.jsonl")
	line := `{"eventVersion":"1.09","eventTime":"2026-03-02T08:00:00Z","eventSource":"iam.amazonaws.com","eventName":"GetAccountAuthorizationDetails","userIdentity":{"type":"IAMUser","accountId":"111122223333","arn":"arn:aws:iam::111122223333:user/eve"},"eventID":"e1","recipientAccountId":"111122223333"}` + "\n"
	if err := os.WriteFile(log, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "--db", db, "forward", log, "--kafka-brokers", brokers, "--topic", "audit"); code != 0 || !strings.Contains(errOut, "1 events produced") {
		t.Fatalf("forward: exit %d: %s", code, errOut)
	}
	if code, _, _ := run(t, "detect", "--kafka-brokers", brokers, "x.json", "--topic", "audit"); code != ExitUsage {
		t.Fatalf("detect with a file and --kafka-brokers: exit %d, want %d", code, ExitUsage)
	}
	if code, _, _ := run(t, "detect", "--kafka-brokers", brokers); code != ExitUsage {
		t.Fatalf("detect --kafka-brokers without --topic: exit %d, want %d", code, ExitUsage)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"--db", db, "detect", "--kafka-brokers", brokers, "--topic", "audit", "--group", "g", "--alerts-topic", "alerts", "--no-store"}, &out, &errb)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), `"rule":"R01"`) {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no R01 alert on stdout; stderr:\n%s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("detect exit %d: %s", code, errb.String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("alerts"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	recs := cl.PollFetches(pctx).Records()
	keys := map[string]bool{}
	for _, r := range recs {
		if keys[string(r.Key)] {
			t.Errorf("alert %s twice", r.Key)
		}
		keys[string(r.Key)] = true
	}
	if n := strings.Count(out.String(), "\n"); n != len(recs) || len(recs) == 0 {
		t.Fatalf("%d alerts on stdout, %d in the topic", n, len(recs))
	}
}
