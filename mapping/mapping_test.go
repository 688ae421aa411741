package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fr-it4ct/it4ct/canonical"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output of mapping/testdata/*.txtar")

// Fictional establishments (valid Luhn keys) and a fictional test key.
const (
	finessA = "350000006"
	finessB = "690000005"
	finessC = "750000002"
)

func testKey(t testing.TB, id, secret string) PseudonymKey {
	t.Helper()
	k, err := NewPseudonymKey(id, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testMapper(t testing.TB, finess string) *Mapper {
	t.Helper()
	m, err := NewMapper(finess, testKey(t, "k1", "fictional-test-key-0123456789-abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// goldenCase is one testdata/*.txtar file: "input.json" (a canonical.Record
// in JSON, Go field names, dates as {"Y":..,"M":..,"D":..}), then either one
// "<Type>/<id>.json" section per resource (indented JSON) or an "error"
// section with the error text.
type goldenCase struct {
	name string
	path string
	arc  *txtar.Archive
	rec  canonical.Record
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases in testdata (err=%v)", err)
	}
	var out []goldenCase
	for _, f := range files {
		arc, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(arc.Files) == 0 || arc.Files[0].Name != "input.json" {
			t.Fatalf("%s: first section must be input.json", f)
		}
		var rec canonical.Record
		dec := json.NewDecoder(bytes.NewReader(arc.Files[0].Data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("%s: input.json: %v", f, err)
		}
		out = append(out, goldenCase{name: strings.TrimSuffix(filepath.Base(f), ".txtar"), path: f, arc: arc, rec: rec})
	}
	return out
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func render(t *testing.T, res []Resource, err error) []txtar.File {
	t.Helper()
	if err != nil {
		return []txtar.File{{Name: "error", Data: []byte(err.Error() + "\n")}}
	}
	var out []txtar.File
	for _, r := range res {
		out = append(out, txtar.File{Name: r.Type + "/" + r.ID + ".json", Data: indent(t, r.JSON)})
	}
	return out
}

func TestGolden(t *testing.T) {
	for _, gc := range loadGolden(t) {
		t.Run(gc.name, func(t *testing.T) {
			res, err := testMapper(t, finessA).Map(gc.rec)
			if err != nil {
				var me *Error
				if !errors.As(err, &me) {
					t.Fatalf("error is %T, want *mapping.Error", err)
				}
			}
			got := render(t, res, err)
			if *update {
				gc.arc.Files = append(gc.arc.Files[:1], got...)
				if err := os.WriteFile(gc.path, txtar.Format(gc.arc), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := gc.arc.Files[1:]
			if len(want) != len(got) {
				t.Fatalf("got %d sections, want %d; run go test ./mapping -update and review the diff\ngot: %s", len(got), len(want), txtar.Format(&txtar.Archive{Files: got}))
			}
			for i := range want {
				if want[i].Name != got[i].Name || !bytes.Equal(want[i].Data, got[i].Data) {
					t.Errorf("section %d: got\n-- %s --\n%s\nwant\n-- %s --\n%s", i, got[i].Name, got[i].Data, want[i].Name, want[i].Data)
				}
			}
		})
	}
}

// goldenOutputs returns every resource JSON of the golden files, compacted.
func goldenOutputs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, gc := range loadGolden(t) {
		for _, f := range gc.arc.Files[1:] {
			if f.Name == "error" {
				continue
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, f.Data); err != nil {
				t.Fatalf("%s %s: %v", gc.name, f.Name, err)
			}
			out[gc.name+"/"+f.Name] = buf.Bytes()
		}
	}
	if len(out) == 0 {
		t.Fatal("no golden outputs")
	}
	return out
}

// goldenOutputsF is goldenOutputs for fuzz seeds.
func goldenOutputsF(f *testing.F) [][]byte {
	files, _ := filepath.Glob("testdata/*.txtar")
	var out [][]byte
	for _, p := range files {
		arc, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range arc.Files[1:] {
			if s.Name != "error" {
				out = append(out, s.Data)
			}
		}
	}
	return out
}
