package stream

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBrokerSurvivesProcessCrash runs a broker, producer and consumer in a
// child process that exits without closing anything (as on SIGKILL), then
// reopens the data dir: acknowledged records, topics with their config, and
// committed group offsets are all there.
func TestBrokerSurvivesProcessCrash(t *testing.T) {
	t.Parallel()
	const group = "crash-test"
	topic := Topic(siteA, ResourceStudy)
	if dir := os.Getenv("IT4CT_STREAM_CRASH_DIR"); dir != "" {
		crashChild(t, dir, topic, group)
		return
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokerSurvivesProcessCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), "IT4CT_STREAM_CRASH_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}

	b := startBroker(t, dir)
	ends, err := EndOffsets(t.Context(), b.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, end := range ends[topic] {
		n += end
	}
	if n != 100 {
		t.Errorf("after the crash the high watermarks add up to %d, want 100", n)
	}
	if got := len(readLog(t, b, topic)); got != 100 {
		t.Errorf("after the crash the log holds %d records, want 100", got)
	}
	if d := cmp.Diff(ends, groupOffsets(t, b, group)); d != "" {
		t.Errorf("after the crash group offsets differ from end offsets (-ends +group):\n%s", d)
	}
	if got := topicConfig(t, b, topic, "cleanup.policy"); got != "compact" {
		t.Errorf("after the crash cleanup.policy = %q, want compact", got)
	}
}

func crashChild(t *testing.T, dir, topic, group string) {
	b, err := StartBroker(t.Context(), BrokerConfig{DataDir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProducer(t, b)
	if err := p.EnsureTopics(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(t.Context(), testMessages(100, topic)); err != nil {
		t.Fatal(err)
	}
	h := newMemHandler()
	cfg := testConsumerConfig(b)
	cfg.Group = group
	runConsume(t, cfg, h)
	waitFor(t, 10*time.Second, "100 records", func() bool { return h.len() >= 100 })
	waitFor(t, 10*time.Second, "the group commit", func() bool {
		var n int64
		for _, ps := range groupOffsets(t, b, group) {
			for _, o := range ps {
				n += o
			}
		}
		return n == 100
	})
	os.Exit(0) // no Close, no cleanup: the crash
}
