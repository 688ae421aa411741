package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fr-it4ct/it4ct/connectors/ctmscsv"
	"github.com/fr-it4ct/it4ct/ingest"
)

func factories() ingest.Factories {
	return ingest.Factories{ctmscsv.Type: ctmscsv.Factory}
}

// expectedRow is one line of the hand-computed table in testdata/demo/README.md.
type expectedRow struct {
	FINESS                    string
	Year                      int
	A1Site, A1Sponsor         int
	A2Site, A2Sponsor, A3, A4 int
}

// readExpected parses the table whose header is
// | finess | year | A1_site | A1_sponsor | A2_site | A2_sponsor | A3 | A4 |
// from the test data's README, where the values were worked out by hand.
func readExpected(t *testing.T, readme string) []expectedRow {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []expectedRow
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		cells := splitRow(line)
		if len(cells) == 8 && cells[0] == "finess" && cells[2] == "A1_site" {
			in = true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		if strings.HasPrefix(cells[0], "-") || strings.HasPrefix(cells[0], ":") {
			continue
		}
		if len(cells) != 8 {
			t.Fatalf("README table row %q: want 8 cells", line)
		}
		var n [7]int
		for i := 1; i < 8; i++ {
			v, err := strconv.Atoi(strings.Trim(cells[i], "* "))
			if err != nil {
				t.Fatalf("README table row %q: cell %d: %v", line, i, err)
			}
			n[i-1] = v
		}
		rows = append(rows, expectedRow{strings.Trim(cells[0], "` "), n[0], n[1], n[2], n[3], n[4], n[5], n[6]})
	}
	if len(rows) == 0 {
		t.Fatalf("no expectation table found in %s", readme)
	}
	return rows
}

func splitRow(line string) []string {
	if !strings.HasPrefix(line, "|") {
		return nil
	}
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// demoDir is testdata/demo of the checkout, found from this file's
// location so that tests may change directory.
func demoDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "demo")
}

type running struct {
	http, kafka string
	done        chan error
	cancel      context.CancelFunc
}

func startDemo(t *testing.T, dataDir string) *running {
	t.Helper()
	return startDemoCapturing(t, dataDir, io.Discard, io.Discard)
}

// startDemoCapturing starts the demo on free ports with its console output
// and its logs (every level) captured, and waits until it is ready.
func startDemoCapturing(t *testing.T, dataDir string, out, logs io.Writer) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{done: make(chan error, 1), cancel: cancel}
	ready := make(chan struct{})
	go func() {
		r.done <- Run(ctx, Options{
			DataDir: dataDir, HTTPAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0",
			DemoDir: demoDir(t), Factories: factories(), Out: out,
			Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			OnReady: func(h, k string) { r.http, r.kafka = h, k; close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("demo stopped before ready: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("demo not ready after 2 minutes")
	}
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("demo: %v", err)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode
}

// indicatorsOf fetches A1-A4 for one establishment and year from the API.
func indicatorsOf(t *testing.T, base string, finess string, year int) [6]int {
	t.Helper()
	var got struct {
		A1 struct{ Site, Sponsor int }
		A2 struct{ Site, Sponsor int }
		A3 int
		A4 int
	}
	url := fmt.Sprintf("http://%s/api/v1/indicators?year=%d&establishment=%s", base, year, finess)
	if code := getJSON(t, url, &got); code != 200 {
		t.Fatalf("GET %s: status %d", url, code)
	}
	return [6]int{got.A1.Site, got.A1.Sponsor, got.A2.Site, got.A2.Sponsor, got.A3, got.A4}
}

// TestDemoEndToEnd runs the three fictional establishments through the
// connectors, kfake and the aggregator, and checks every A1-A4 value against
// the table worked out by hand in testdata/demo/README.md.
func TestDemoEndToEnd(t *testing.T) {
	exp := readExpected(t, filepath.Join(demoDir(t), "README.md"))
	data := t.TempDir()
	r := startDemo(t, data)
	if code := getJSON(t, "http://"+r.http+"/readyz", nil); code != 200 {
		t.Fatalf("/readyz = %d after ready", code)
	}
	first := map[string][6]int{}
	for _, e := range exp {
		got := indicatorsOf(t, r.http, e.FINESS, e.Year)
		want := [6]int{e.A1Site, e.A1Sponsor, e.A2Site, e.A2Sponsor, e.A3, e.A4}
		if got != want {
			t.Errorf("%s %d: got A1 site/sponsor, A2 site/sponsor, A3, A4 = %v, want %v (testdata/demo/README.md)", e.FINESS, e.Year, got, want)
		}
		first[fmt.Sprint(e.FINESS, e.Year)] = got
	}
	r.stop(t)

	// Running it twice on the same data dir gives the same numbers.
	r = startDemo(t, data)
	defer r.stop(t)
	for _, e := range exp {
		if got := indicatorsOf(t, r.http, e.FINESS, e.Year); got != first[fmt.Sprint(e.FINESS, e.Year)] {
			t.Errorf("second run %s %d: %v, first run %v", e.FINESS, e.Year, got, first[fmt.Sprint(e.FINESS, e.Year)])
		}
	}
}

// TestRelativeDataDir: with a relative --data-dir (the default is
// ./it4ct-data), every file the demo writes lands under it, none beside the
// demo exports.
func TestRelativeDataDir(t *testing.T) {
	before, err := filepath.Glob(filepath.Join(demoDir(t), "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	r := startDemo(t, "it4ct-data")
	r.stop(t)
	after, err := filepath.Glob(filepath.Join(demoDir(t), "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("the demo wrote into testdata/demo: %d entries before, %d after", len(before), len(after))
	}
	if _, err := os.Stat(filepath.Join("it4ct-data", "sites")); err != nil {
		t.Fatalf("hospital-side state not under the relative data dir: %v", err)
	}
}
