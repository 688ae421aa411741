package demo

import (
	"context"
	"encoding/json"
	"github.com/fr-it4ct/it4ct/internal/fhirjs"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/fr-it4ct/it4ct/stream"
)

// readAllWithKafkaGo reads every record of every topic (Kafka's internal
// "__" topics excepted) with an independent Kafka client
// (segmentio/kafka-go), not the franz-go code that wrote them.
func readAllWithKafkaGo(t *testing.T, broker string) map[string][]kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", broker)
	if err != nil {
		t.Fatalf("kafka-go dial %s: %v", broker, err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions()
	if err != nil {
		t.Fatalf("kafka-go read partitions: %v", err)
	}
	out := map[string][]kafka.Message{}
	for _, p := range parts {
		if strings.HasPrefix(p.Topic, "__") {
			continue
		}
		pc, err := kafka.DialLeader(ctx, "tcp", broker, p.Topic, p.ID)
		if err != nil {
			t.Fatalf("kafka-go dial leader %s/%d: %v", p.Topic, p.ID, err)
		}
		first, last, err := pc.ReadOffsets()
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last <= first {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: p.Topic, Partition: p.ID, MaxWait: 200 * time.Millisecond})
		if err := r.SetOffset(first); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("kafka-go read %s/%d: %v", p.Topic, p.ID, err)
			}
			out[p.Topic] = append(out[p.Topic], m)
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

// TestPublishedResources checks everything the demo published, read back
// with kafka-go: every value is FHIR that the independent FHIR.js validator
// accepts and keys are the resource ids. That nothing identifying is
// published is TestNothingIdentifyingLeaves (privacy_test.go).
func TestPublishedResources(t *testing.T) {
	r := startDemo(t, t.TempDir())
	defer r.stop(t)
	topics := readAllWithKafkaGo(t, r.kafka)
	var docs [][]byte
	n, resourceTopics := 0, 0
	for topic, msgs := range topics {
		if _, _, ok := stream.ParseTopic(topic); !ok {
			continue // not a FHIR resource topic (e.g. data-quality reports)
		}
		resourceTopics++
		for _, m := range msgs {
			if m.Value == nil {
				continue // tombstone (deletion)
			}
			var res struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if err := json.Unmarshal(m.Value, &res); err != nil {
				t.Fatalf("%s offset %d: not JSON: %v", topic, m.Offset, err)
			}
			if res.ID != string(m.Key) {
				t.Errorf("%s offset %d: key %q but resource id %q", topic, m.Offset, m.Key, res.ID)
			}
			docs = append(docs, m.Value)
			n++
		}
	}
	if resourceTopics != 6 {
		t.Fatalf("kafka-go saw %d FHIR resource topics, want 6 (3 establishments x 2)", resourceTopics)
	}
	if n < 3000 {
		t.Fatalf("only %d resources published", n)
	}
	validateWithFHIRJS(t, docs)
}

// validateWithFHIRJS runs the independent FHIR.js validator (npm fhir) over
// the resources; it must accept every one.
func validateWithFHIRJS(t *testing.T, docs [][]byte) {
	t.Helper()
	res, code := fhirjs.Validate(t, docs)
	bad := 0
	for _, r := range res {
		if !r.Valid {
			bad++
			if bad <= 5 {
				t.Errorf("FHIR.js rejects %s: %v", r.ID, r.Messages)
			}
		}
	}
	if bad > 0 || code != 0 {
		t.Fatalf("FHIR.js rejected %d of %d resources (exit %d)", bad, len(docs), code)
	}
}
