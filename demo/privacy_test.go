package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the demo's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// TestNothingIdentifyingLeaves runs the demo on the fictional exports,
// whose inclusion files carry names, birth dates, IPP, NIR, INS, addresses
// and free-text comments, and scans for every one of those values (and the
// subject ids, investigators and comments): every key, value and header of
// every message on every topic (read with kafka-go), every API response
// (metadata, every study and subject read, every identifier and study
// search, the indicators of every year and establishment), every row of the
// national store, the demo's console output and its logs at debug level.
// Only the hospital-side quarantine may hold them, and it must (the broken
// rows' raw values are kept there).
func TestNothingIdentifyingLeaves(t *testing.T) {
	set := collectIdentifying(t)
	data := t.TempDir()
	var out, logs syncBuffer
	r := startDemoCapturing(t, data, &out, &logs)
	stopped := false
	defer func() {
		if !stopped {
			r.stop(t)
		}
	}()
	rep := &leakReport{t: t, set: set, scanned: map[string]int{}, found: map[string]int{}}

	// Kafka: every message of every site topic.
	topics := readAllWithKafkaGo(t, r.kafka)
	if len(topics) < 6 {
		t.Fatalf("kafka-go saw %d topics, want at least 6 (3 establishments x 2 resource types)", len(topics))
	}
	var studyIDs, subjectIDs []string
	identifiers := map[string]bool{}
	for topic, msgs := range topics {
		for _, m := range msgs {
			where := fmt.Sprintf("%s offset %d", topic, m.Offset)
			rep.scan("kafka key", where, m.Key)
			rep.scan("kafka value", where, m.Value)
			for _, h := range m.Headers {
				rep.scan("kafka header", where, []byte(h.Key+"="+string(h.Value)))
			}
			var res struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
				Identifier   []struct{ System, Value string }
			}
			if len(m.Value) == 0 || json.Unmarshal(m.Value, &res) != nil {
				continue // tombstone or not a resource (scanned above all the same)
			}
			switch res.ResourceType {
			case "ResearchStudy":
				studyIDs = append(studyIDs, res.ID)
				for _, i := range res.Identifier {
					identifiers[i.System+"|"+i.Value] = true
				}
			case "ResearchSubject":
				subjectIDs = append(subjectIDs, res.ID)
			}
		}
	}
	studyIDs, subjectIDs = uniq(studyIDs), uniq(subjectIDs)
	if len(studyIDs) < 100 || len(subjectIDs) < 3000 || len(identifiers) < 60 {
		t.Fatalf("topics hold %d studies, %d subjects, %d identifiers: too few to prove anything", len(studyIDs), len(subjectIDs), len(identifiers))
	}

	// API: everything the server can answer about what was published.
	base := "http://" + r.http
	get := func(path string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d: %s", path, resp.StatusCode, b)
		}
		var hdr strings.Builder
		for k, vs := range resp.Header {
			hdr.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
		rep.scan("API response", "GET "+path, b)
		rep.scan("API header", "GET "+path, []byte(hdr.String()))
	}
	get("/fhir/metadata")
	for _, id := range studyIDs {
		get("/fhir/ResearchStudy/" + id)
		get("/fhir/ResearchSubject?study=" + url.QueryEscape("ResearchStudy/"+id))
	}
	for ident := range identifiers {
		get("/fhir/ResearchStudy?identifier=" + url.QueryEscape(ident))
	}
	for _, id := range subjectIDs {
		get("/fhir/ResearchSubject/" + id)
	}
	cfgs, err := LoadEstablishments(demoDir(t))
	if err != nil {
		t.Fatal(err)
	}
	ests := []string{"550002141"} // the academic sponsor without a connector
	for _, c := range cfgs {
		ests = append(ests, c.Establishment.FINESS)
	}
	for y := 2021; y <= 2026; y++ {
		get(fmt.Sprintf("/api/v1/indicators?year=%d", y))
		for _, e := range ests {
			get(fmt.Sprintf("/api/v1/indicators?year=%d&establishment=%s", y, e))
		}
	}

	r.stop(t)
	stopped = true

	// National store: every row of every table.
	for table, rows := range dumpAllRows(t, filepath.Join(data, "national.db")) {
		for i, row := range rows {
			rep.scan("national store", fmt.Sprintf("table %s row %d", table, i+1), []byte(row))
		}
	}

	// Console output and logs, whole.
	console, logged := out.Bytes(), logs.Bytes()
	if !bytes.Contains(console, []byte("SIGREC indicators")) || !bytes.Contains(logged, []byte("source run done")) {
		t.Fatalf("console output (%d bytes) or logs (%d bytes) not captured", len(console), len(logged))
	}
	if !bytes.Contains(logged, []byte("level=DEBUG")) || !bytes.Contains(logged, []byte("record rejected")) {
		t.Fatalf("logs were not captured at debug level (no reject logged)")
	}
	for i, line := range bytes.Split(console, []byte("\n")) {
		rep.scan("console output", fmt.Sprintf("line %d", i+1), line)
	}
	for i, line := range bytes.Split(logged, []byte("\n")) {
		rep.scan("log", fmt.Sprintf("line %d", i+1), line)
	}

	want := map[string]int{"kafka value": 3000, "API response": 3500, "national store": 3000, "console output": 20, "log": 10}
	for place, n := range want {
		if rep.scanned[place] < n {
			t.Errorf("only %d texts scanned in %s, want at least %d", rep.scanned[place], place, n)
		}
	}
	if rep.hits > 0 {
		t.Errorf("%d identifying values found outside the hospital-side quarantine (per place: %v)", rep.hits, rep.found)
	}

	// Positive control on real output: the quarantine keeps the raw broken
	// rows, identities included, and the scan finds them there.
	qs, _ := filepath.Glob(filepath.Join(data, "sites", "*", "quarantine", "*.jsonl"))
	if len(qs) != 3 {
		t.Fatalf("%d quarantine files, want 3", len(qs))
	}
	for _, q := range qs {
		b, err := os.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, h := range set.findAll(b) {
			kinds[h.kind] = true
		}
		if !kinds[kindSubjectID] && !kinds[kindBirthDate] {
			t.Errorf("quarantine %s: no identifying value found in the raw rejected rows (kinds %v): the scan or the quarantine is broken", q, kinds)
		}
		if fi, err := os.Stat(q); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("quarantine %s: mode %v, want 0600 (%v)", q, fi.Mode().Perm(), err)
		}
	}
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// dumpAllRows reads every row of every table of the national SQLite store,
// as "column=value;..." text.
func dumpAllRows(t *testing.T, dbPath string) map[string][]string {
	t.Helper()
	none := func(string) bool { return false }
	return dumpTables(t, dbPath, none, none)
}
