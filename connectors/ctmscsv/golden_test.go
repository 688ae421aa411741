package ctmscsv

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden reads the fictional CHU export end to end: Windows-1252 and
// UTF-8 with BOM, both separators, both date formats, French headers, a
// multi-line quoted field, and one bad row of each kind.
func TestGolden(t *testing.T) {
	dir, cfg := fixture(t, "chu-fictif")
	got := render(readAll(t, newSource(t, dir, cfg, nil)))
	golden := filepath.Join(dir, "golden.txt")
	if *update {
		writeFile(t, golden, []byte(got))
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("output differs from %s (-want +got; go test -update to accept):\n%s", golden, d)
	}
}
