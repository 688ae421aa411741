package ctmscsv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
)

const (
	testSource = "chu-test"
	testFINESS = "990000017"
)

func testSettings(dir string) connectors.Settings {
	return connectors.Settings{
		SourceID:      testSource,
		Establishment: testFINESS,
		BaseDir:       dir,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// mustDecode decodes YAML or fails the test.
func mustDecode(t testing.TB, y string) Config {
	t.Helper()
	cfg, err := Decode([]byte(y))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return cfg
}

// newSource builds and opens a source over dir.
func newSource(t testing.TB, dir string, cfg Config, cur connectors.Cursor) *Source {
	t.Helper()
	src, err := New(testSettings(dir), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	if err := src.Open(context.Background(), cur); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return src
}

// readAll reads batches until ErrEndOfInput.
func readAll(t testing.TB, src *Source) []connectors.Batch {
	t.Helper()
	var out []connectors.Batch
	for i := 0; ; i++ {
		b, err := src.Read(context.Background())
		if errors.Is(err, connectors.ErrEndOfInput) {
			return out
		}
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if len(b.Records)+len(b.Rejects) == 0 {
			t.Fatalf("Read %d returned an empty batch", i)
		}
		out = append(out, b)
	}
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// render prints records and rejects one per line, in order, for golden
// files and comparisons.
func render(batches []connectors.Batch) string {
	var b strings.Builder
	for i, bt := range batches {
		fmt.Fprintf(&b, "== batch %d cursor %s\n", i, bt.Cursor)
		for _, r := range bt.Records {
			b.WriteString(renderRecord(r) + "\n")
		}
		for _, r := range bt.Rejects {
			fmt.Fprintf(&b, "reject %s field=%s code=%s key=%q raw=%d fields\n  %s\n", r.Prov.String(), r.Field, r.Code, r.Prov.RecordKey, len(r.Raw), r.Error())
		}
	}
	return b.String()
}

func renderRecord(r canonical.Record) string {
	var kind string
	var v any
	switch {
	case r.Study != nil:
		kind, v = "study", r.Study
	case r.Site != nil:
		kind, v = "site", r.Site
	case r.Inclusion != nil:
		kind, v = "inclusion", r.Inclusion
	}
	j, _ := json.Marshal(v)
	return kind + " " + string(j)
}

func fixture(t testing.TB, name string) (dir string, cfg Config) {
	t.Helper()
	dir = filepath.Join("testdata", name)
	y, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, mustDecode(t, string(y))
}
