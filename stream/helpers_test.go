package stream

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Fictional establishments (FINESS-shaped, not real ones).
const (
	siteA = "990000011"
	siteB = "2A0000021"
)

// startBroker starts an embedded broker on a free loopback port, closed at
// the end of the test. dir "" keeps it in memory.
func startBroker(t *testing.T, dir string) *Broker {
	t.Helper()
	b, err := StartBroker(t.Context(), BrokerConfig{DataDir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func newTestProducer(t *testing.T, b *Broker, opts ...ProducerOpt) *Producer {
	t.Helper()
	opts = append([]ProducerOpt{ProducerKgoOpts(
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.MetadataMinAge(10*time.Millisecond),
	)}, opts...)
	p, err := NewProducer(t.Context(), b.Addrs(), opts...)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// testConsumerConfig is ConsumerConfig tuned for fast tests.
func testConsumerConfig(b *Broker) ConsumerConfig {
	return ConsumerConfig{
		Brokers:        b.Addrs(),
		MetadataMaxAge: 100 * time.Millisecond,
		FetchMaxWait:   50 * time.Millisecond,
		Backoff:        func(int) time.Duration { return 10 * time.Millisecond },
		KgoOpts:        []kgo.Opt{kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond })},
	}
}

// runConsume runs Consume in the background; the returned stop cancels it
// and checks it returned nil. stop is also registered as cleanup.
func runConsume(t *testing.T, cfg ConsumerConfig, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- Consume(ctx, cfg, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Consume returned %v after cancel, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Consume did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// memHandler is a Handler keeping records and offsets in memory, like the
// store does in one transaction.
type memHandler struct {
	mu       sync.Mutex
	recs     []Record
	offsets  map[string]map[int32]int64
	failNext int // Handle calls to fail before applying anything
	calls    int
	failures int
}

func newMemHandler() *memHandler {
	return &memHandler{offsets: map[string]map[int32]int64{}}
}

func (h *memHandler) Committed(_ context.Context, topic string) (map[int32]int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.offsets[topic]), nil
}

func (h *memHandler) Handle(_ context.Context, recs []Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.failNext > 0 {
		h.failNext--
		h.failures++
		return errors.New("store unavailable (injected)")
	}
	for _, r := range recs {
		h.recs = append(h.recs, r)
		if h.offsets[r.Topic] == nil {
			h.offsets[r.Topic] = map[int32]int64{}
		}
		h.offsets[r.Topic][r.Partition] = r.Offset + 1
	}
	return nil
}

func (h *memHandler) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.recs)
}

func (h *memHandler) records() []Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Record(nil), h.recs...)
}

// clone returns a handler with the same records and offsets.
func (h *memHandler) clone() *memHandler {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := newMemHandler()
	c.recs = append(c.recs, h.recs...)
	for t, m := range h.offsets {
		c.offsets[t] = maps.Clone(m)
	}
	return c
}

// checkNoDuplicates fails if a (topic, partition, offset) was handled twice.
func checkNoDuplicates(t *testing.T, recs []Record) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range recs {
		k := fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)
		if seen[k] {
			t.Errorf("record %s handled twice", k)
		}
		seen[k] = true
	}
}

// testMessages returns n messages spread over topics, with distinct keys.
func testMessages(n int, topics ...string) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{
			Topic:   topics[i%len(topics)],
			Key:     fmt.Sprintf("res-%05d", i),
			Value:   fmt.Appendf(nil, `{"resourceType":"ResearchStudy","id":"res-%05d"}`, i),
			Headers: map[string]string{HeaderSource: "ctms-test"},
		}
	}
	return msgs
}

// readLog reads every record currently in topics from the start, without a
// group, until each partition's high watermark is reached.
func readLog(t *testing.T, b *Broker, topics ...string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ends, err := EndOffsets(ctx, b.Addrs())
	if err != nil {
		t.Fatalf("EndOffsets: %v", err)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(b.Addrs()...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(50*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pending := map[string]int64{} // "topic/partition" -> last offset to see
	for _, topic := range topics {
		for p, end := range ends[topic] {
			if end > 0 {
				pending[fmt.Sprintf("%s/%d", topic, p)] = end - 1
			}
		}
	}
	var out []*kgo.Record
	for len(pending) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading the log: %v (still waiting for %v)", ctx.Err(), pending)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
			if last, ok := pending[k]; ok && r.Offset >= last {
				delete(pending, k)
			}
		})
	}
	return out
}
