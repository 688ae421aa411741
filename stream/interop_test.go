package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"
)

// interopRecord is what every client must agree on.
type interopRecord struct {
	Topic   string
	Key     string
	Value   *string // nil: tombstone
	Headers map[string]string
}

// publishInterop publishes a few records, one a tombstone, to two topics and
// returns them as interopRecords sorted by topic and key.
func publishInterop(t *testing.T, b *Broker) ([]string, []interopRecord) {
	t.Helper()
	p := newTestProducer(t, b)
	topics := []string{Topic(siteA, ResourceStudy), Topic(siteB, ResourceSubject)}
	if err := p.EnsureTopics(t.Context(), topics...); err != nil {
		t.Fatal(err)
	}
	msgs := testMessages(20, topics...)
	msgs = append(msgs, Message{Topic: topics[1], Key: "res-99999", Value: nil, Headers: map[string]string{HeaderSource: "ctms-test", "x-ctx": "é ✓"}})
	if err := p.Publish(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	var want []interopRecord
	for _, m := range msgs {
		r := interopRecord{Topic: m.Topic, Key: m.Key, Headers: map[string]string{HeaderSchemaVersion: SchemaVersion}}
		for k, v := range m.Headers {
			r.Headers[k] = v
		}
		if m.Value != nil {
			v := string(m.Value)
			r.Value = &v
		}
		want = append(want, r)
	}
	sortInterop(want)
	return topics, want
}

func sortInterop(rs []interopRecord) {
	slices.SortFunc(rs, func(a, b interopRecord) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
}

func fromKafkaGo(m kafka.Message) interopRecord {
	r := interopRecord{Topic: m.Topic, Key: string(m.Key), Headers: map[string]string{}}
	if m.Value != nil {
		v := string(m.Value)
		r.Value = &v
	}
	for _, h := range m.Headers {
		r.Headers[h.Key] = string(h.Value)
	}
	return r
}

// TestInteropKafkaGo reads topics written by franz-go with segmentio's
// kafka-go, partition by partition and as a consumer group.
func TestInteropKafkaGo(t *testing.T) {
	t.Parallel()
	b := startBroker(t, "")
	topics, want := publishInterop(t, b)
	ends, err := EndOffsets(t.Context(), b.Addrs())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("partition reader", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var got []interopRecord
		for _, topic := range topics {
			for p, end := range ends[topic] {
				if end == 0 {
					continue
				}
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: topic, Partition: int(p), MaxWait: 100 * time.Millisecond})
				for {
					m, err := r.ReadMessage(ctx)
					if err != nil {
						r.Close()
						t.Fatalf("kafka-go read %s/%d: %v", topic, p, err)
					}
					got = append(got, fromKafkaGo(m))
					if m.Offset >= end-1 {
						break
					}
				}
				r.Close()
			}
		}
		sortInterop(got)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("kafka-go partition readers saw (-franz-go +kafka-go):\n%s", d)
		}
	})

	t.Run("group reader", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:           b.Addrs(),
			GroupID:           "kafka-go-interop",
			GroupTopics:       topics,
			MaxWait:           100 * time.Millisecond,
			HeartbeatInterval: 200 * time.Millisecond,
			StartOffset:       kafka.FirstOffset,
		})
		defer r.Close()
		var got []interopRecord
		for len(got) < len(want) {
			m, err := r.ReadMessage(ctx) // commits synchronously
			if err != nil {
				t.Fatalf("kafka-go group read after %d records: %v", len(got), err)
			}
			got = append(got, fromKafkaGo(m))
		}
		sortInterop(got)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("kafka-go group reader saw (-franz-go +kafka-go):\n%s", d)
		}
		// Its commits are visible to franz-go's admin client.
		if d := cmp.Diff(ends, groupOffsets(t, b, "kafka-go-interop")); d != "" {
			t.Errorf("kafka-go group commits differ from end offsets (-ends +committed):\n%s", d)
		}
	})
}

// needTool returns the path of an external tool, skipping the test when it
// is missing unless IT4CT_INTEROP=1.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("IT4CT_INTEROP") == "1" {
			t.Fatalf("%s not found and IT4CT_INTEROP=1: install it (Debian: apt-get install %s)", name, name)
		}
		t.Skipf("%s not found; install it (Debian: apt-get install %s) or set IT4CT_INTEROP=1 to make this a failure", name, name)
	}
	return path
}

// TestInteropKcat lists and consumes topics with kcat (librdkafka).
func TestInteropKcat(t *testing.T) {
	t.Parallel()
	kcat := needTool(t, "kcat")
	b := startBroker(t, "")
	topics, want := publishInterop(t, b)
	addr := b.Addrs()[0]
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, append([]string{"-b", addr}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, stderr.Bytes())
		}
		return out
	}

	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
		Topics []struct {
			Topic      string            `json:"topic"`
			Partitions []json.RawMessage `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(run("-L", "-J"), &md); err != nil {
		t.Fatalf("kcat -L -J output: %v", err)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].Name != addr {
		t.Errorf("kcat sees brokers %+v, want one at %s", md.Brokers, addr)
	}
	parts := map[string]int{}
	for _, tp := range md.Topics {
		parts[tp.Topic] = len(tp.Partitions)
	}
	for _, topic := range topics {
		if parts[topic] != DefaultPartitions {
			t.Errorf("kcat lists %s with %d partitions, want %d (listing: %v)", topic, parts[topic], DefaultPartitions, parts)
		}
	}

	var got []interopRecord
	for _, topic := range topics {
		sc := bufio.NewScanner(bytes.NewReader(run("-C", "-t", topic, "-e", "-q", "-J")))
		for sc.Scan() {
			var m struct {
				Topic   string   `json:"topic"`
				Key     *string  `json:"key"`
				Payload *string  `json:"payload"`
				Headers []string `json:"headers"`
			}
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("kcat -C -J line %q: %v", sc.Text(), err)
			}
			r := interopRecord{Topic: m.Topic, Value: m.Payload, Headers: map[string]string{}}
			if m.Key != nil {
				r.Key = *m.Key
			}
			if len(m.Headers)%2 != 0 {
				t.Fatalf("kcat headers %q: odd length", m.Headers)
			}
			for i := 0; i < len(m.Headers); i += 2 {
				r.Headers[m.Headers[i]] = m.Headers[i+1]
			}
			got = append(got, r)
		}
	}
	sortInterop(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("kcat consumed (-franz-go +kcat):\n%s", d)
	}
}
