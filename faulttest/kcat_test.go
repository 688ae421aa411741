package faulttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os/exec"
	"slices"
	"testing"

	"github.com/fr-it4ct/it4ct/stream"
)

// TestKcatReadsTopics lists and consumes the reference run's topics with
// kcat (librdkafka): every record's value is FHIR JSON of the topic's
// resource type whose id is the record key.
func TestKcatReadsTopics(t *testing.T) {
	kcat := need(t, "kcat")
	s := theSuite
	ref := s.reference(t)
	addr := ref.br.brokers()

	out, err := exec.CommandContext(t.Context(), kcat, "-b", addr, "-L", "-J").Output()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, exitStderr(err))
	}
	var md struct {
		Topics []struct {
			Topic      string            `json:"topic"`
			Partitions []json.RawMessage `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat -L -J output is not JSON: %v\n%s", err, clipS(string(out)))
	}
	listed := map[string]int{}
	for _, tp := range md.Topics {
		listed[tp.Topic] = len(tp.Partitions)
	}

	ends := newWatermarks(t, addr, s.export.FINESS)
	var total int64
	for _, rt := range []string{stream.ResourceStudy, stream.ResourceSubject} {
		topic := stream.Topic(s.export.FINESS, rt)
		if listed[topic] != stream.DefaultPartitions {
			t.Errorf("kcat -L lists topic %s with %d partitions, want %d (listed: %v)", topic, listed[topic], stream.DefaultPartitions, slices.Sorted(maps.Keys(listed)))
		}
		out, err := exec.CommandContext(t.Context(), kcat, "-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-J").Output()
		if err != nil {
			t.Fatalf("kcat -C -t %s: %v\n%s", topic, err, exitStderr(err))
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var env struct {
				Topic   string  `json:"topic"`
				Key     *string `json:"key"`
				Payload *string `json:"payload"`
			}
			if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
				t.Fatalf("kcat -J line is not JSON: %v\n%s", err, clipS(sc.Text()))
			}
			if env.Key == nil || env.Payload == nil {
				t.Fatalf("%s: record without key or value: %s", topic, clipS(sc.Text()))
			}
			var res struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if err := json.Unmarshal([]byte(*env.Payload), &res); err != nil {
				t.Fatalf("%s key %s: value is not JSON: %v", topic, *env.Key, err)
			}
			if res.ResourceType != rt || res.ID != *env.Key {
				t.Fatalf("%s: record key %s holds a %s with id %q, want a %s with id = key", topic, *env.Key, res.ResourceType, res.ID, rt)
			}
			n++
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		total += int64(n)
		t.Logf("kcat read %d %s records from %s", n, rt, topic)
	}
	if want := ends.total(t.Context()); total != want || total != ref.published {
		t.Errorf("kcat read %d records, the topics hold %d (reference run published %d)", total, want, ref.published)
	}
}

// exitStderr returns what a failed exec.Cmd.Output wrote on stderr.
func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
