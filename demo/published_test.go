package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/text/encoding/charmap"
)

// readAllWithKafkaGo reads every record of every it4ct site topic with an
// independent Kafka client (segmentio/kafka-go), not the franz-go code that
// wrote them.
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
		if !strings.HasPrefix(p.Topic, "it4ct.site.") {
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

// identifyingValues collects, from the fictional source exports, every
// value that must never leave the hospital: subject ids and the names in
// free-text columns (investigators, comments).
func identifyingValues(t *testing.T) []string {
	t.Helper()
	cfgs, err := LoadEstablishments(demoDir(t))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, c := range cfgs {
		for _, s := range c.Sources {
			var settings struct {
				Studies, Inclusions struct {
					Path, Separator, Encoding string
					Columns                   map[string]string
				}
			}
			if err := s.Settings.Decode(&settings); err != nil {
				t.Fatal(err)
			}
			// Subject ids of the inclusions file.
			collectColumn(t, filepath.Join(c.Dir, settings.Inclusions.Path), settings.Inclusions.Separator, settings.Inclusions.Encoding, settings.Inclusions.Columns["subject_id"], set)
		}
	}
	var out []string
	for v := range set {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func collectColumn(t *testing.T, path, sep, enc, header string, set map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch strings.ToLower(enc) {
	case "windows-1252", "cp1252":
		b, err = charmap.Windows1252.NewDecoder().Bytes(b)
	case "iso-8859-1", "latin-1", "latin1":
		b, err = charmap.ISO8859_1.NewDecoder().Bytes(b)
	}
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	r := csv.NewReader(bytes.NewReader(b))
	if sep == "" {
		sep = ";"
	}
	if sep == `\t` {
		sep = "\t"
	}
	r.Comma = []rune(sep)[0]
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	recs, _ := r.ReadAll()
	col := -1
	for _, rec := range recs {
		if col < 0 {
			for i, h := range rec {
				if strings.TrimSpace(h) == header {
					col = i
				}
			}
			continue
		}
		if col < len(rec) && strings.TrimSpace(rec[col]) != "" {
			set[strings.TrimSpace(rec[col])] = true
		}
	}
	if col < 0 {
		t.Fatalf("%s: header %q not found", path, header)
	}
}

// TestPublishedResources checks everything the demo published, read back
// with kafka-go: every value is FHIR that the independent FHIR.js validator
// accepts, keys are the resource ids, and no subject identifier from the
// source data appears anywhere in keys, values or headers.
func TestPublishedResources(t *testing.T) {
	r := startDemo(t, t.TempDir())
	defer r.stop(t)
	topics := readAllWithKafkaGo(t, r.kafka)
	if len(topics) < 6 {
		t.Fatalf("kafka-go saw %d site topics, want 6 (3 establishments x 2)", len(topics))
	}
	pii := identifyingValues(t)
	if len(pii) < 100 {
		t.Fatalf("only %d identifying values collected from the test data: the scan would prove little", len(pii))
	}
	piiRe := regexp.MustCompile(`(?:^|[^A-Za-z0-9])(` + strings.Join(quoteAll(pii), "|") + `)(?:$|[^A-Za-z0-9])`)
	var ndjson bytes.Buffer
	n := 0
	for topic, msgs := range topics {
		for _, m := range msgs {
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
			var hdr strings.Builder
			for _, h := range m.Headers {
				hdr.WriteString(h.Key + "=" + string(h.Value) + "\n")
			}
			for _, part := range []string{string(m.Key), string(m.Value), hdr.String()} {
				if hit := piiRe.FindString(part); hit != "" {
					t.Errorf("%s offset %d: identifying value %q published", topic, m.Offset, strings.TrimSpace(hit))
				}
			}
			ndjson.Write(m.Value)
			ndjson.WriteByte('\n')
			n++
		}
	}
	if n < 3000 {
		t.Fatalf("only %d resources published", n)
	}
	validateWithFHIRJS(t, ndjson.Bytes(), n)
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = regexp.QuoteMeta(x)
	}
	return out
}

// validateWithFHIRJS runs tools/node/validate-fhir.mjs (npm fhir) over the
// resources; it must accept every one.
func validateWithFHIRJS(t *testing.T, ndjson []byte, n int) {
	t.Helper()
	root, _ := filepath.Abs("..")
	script := filepath.Join(root, "tools", "node", "validate-fhir.mjs")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "tools", "node", "node_modules", "fhir"))
	}
	if err != nil {
		if os.Getenv("IT4CT_INTEROP") == "1" {
			t.Fatalf("FHIR.js validation needs node and tools/node/node_modules (make test installs them): %v", err)
		}
		t.Skipf("FHIR.js not available (%v); run make test", err)
	}
	cmd := exec.Command(node, script)
	cmd.Stdin = bytes.NewReader(ndjson)
	out, err := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != n {
		t.Fatalf("FHIR.js reported on %d resources, want %d (err %v)", len(lines), n, err)
	}
	bad := 0
	for _, l := range lines {
		var r struct {
			ID    string `json:"id"`
			Valid bool   `json:"valid"`
		}
		if json.Unmarshal([]byte(l), &r) != nil || !r.Valid {
			bad++
			if bad <= 5 {
				t.Errorf("FHIR.js rejects: %s", l)
			}
		}
	}
	if bad > 0 || err != nil {
		t.Fatalf("FHIR.js rejected %d of %d resources (exit: %v)", bad, n, err)
	}
}
