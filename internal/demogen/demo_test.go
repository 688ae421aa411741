package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/connectors/ctmscsv"
)

const demoDir = "../../testdata/demo"

// TestGeneratedDataIsUpToDate regenerates the demo data into a temporary
// directory and requires it to be byte-identical to testdata/demo: the data
// is deterministic and nobody edited a generated file by hand.
func TestGeneratedDataIsUpToDate(t *testing.T) {
	out := t.TempDir()
	for _, readme := range []string{"README.md", "other-layout/README.md"} {
		b, err := os.ReadFile(filepath.Join(demoDir, readme))
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFile(filepath.Join(out, readme), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(out, 20260331); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		got, _ := os.ReadFile(path)
		want, err := os.ReadFile(filepath.Join(demoDir, rel))
		if err != nil {
			return fmt.Errorf("%s generated but not in testdata/demo: %w", rel, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output; run: go run ./internal/demogen -out testdata/demo", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Fatalf("only %d files generated", n)
	}
}

func TestFINESSKeys(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{"45000917", "450009170"},
		{"82000408", "820004083"},
		{"30001276", "300012762"},
	} {
		if got := luhnKey(tc.body); got != tc.want || !luhnValid(got) {
			t.Errorf("luhnKey(%s) = %s (valid %v), want %s", tc.body, got, luhnValid(got), tc.want)
		}
	}
	if luhnValid("450009171") {
		t.Error("luhnValid accepts a wrong key")
	}
}

type connectFile struct {
	Establishment struct {
		FINESS string `yaml:"finess"`
		Name   string `yaml:"name"`
		Kind   string `yaml:"kind"`
	} `yaml:"establishment"`
	Sources []struct {
		ID       string         `yaml:"id"`
		Type     string         `yaml:"type"`
		Settings ctmscsv.Config `yaml:"settings"`
	} `yaml:"sources"`
}

// TestConnectorReadsDemo runs the CTMS CSV connector over every demo
// establishment and checks it against the README's hand-checked tables:
// row counts, the deliberately broken rows (file, line, code) and A3, the
// one indicator that needs no reconciliation. It is a check of the data and
// the connector together, not where the expectations come from.
func TestConnectorReadsDemo(t *testing.T) {
	for _, tc := range []struct{ dir, readme string }{
		{"chu-val-de-loire-est", "README.md"},
		{"chu-garonne-amont", "README.md"},
		{"institut-aurore-mediterranee", "README.md"},
		{"other-layout", "other-layout/README.md"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join(demoDir, tc.dir)
			raw, err := os.ReadFile(filepath.Join(dir, "connect.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var cf connectFile
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			dec.KnownFields(true)
			if err := dec.Decode(&cf); err != nil {
				t.Fatalf("connect.yaml: %v", err)
			}
			if len(cf.Sources) != 1 || cf.Sources[0].Type != "ctms-csv" {
				t.Fatalf("connect.yaml: want one ctms-csv source, got %+v", cf.Sources)
			}
			fin := cf.Establishment.FINESS
			src, err := ctmscsv.New(connectors.Settings{
				SourceID: cf.Sources[0].ID, Establishment: fin, BaseDir: dir,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}, cf.Sources[0].Settings)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := src.Open(ctx, nil); err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			var studies, sites, incl int
			a3 := map[int]int{}
			var rejects []string
			for {
				b, err := src.Read(ctx)
				if errors.Is(err, connectors.ErrEndOfInput) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range b.Records {
					switch {
					case r.Study != nil:
						studies++
					case r.Site != nil:
						sites++
					case r.Inclusion != nil:
						incl++
						if r.Inclusion.Status != "screen-failed" {
							a3[r.Inclusion.InclusionDate.Y]++
						}
					}
				}
				for _, rj := range b.Rejects {
					rejects = append(rejects, fmt.Sprintf("%s/%s|%d|%s", tc.dir, filepath.Base(rj.Prov.File), rj.Prov.Line, rj.Code))
				}
			}
			readme, err := os.ReadFile(filepath.Join(demoDir, tc.readme))
			if err != nil {
				t.Fatal(err)
			}
			totals := tableRows(string(readme), "| finess | studies_rows |")
			want, ok := totals[fin]
			if !ok {
				t.Fatalf("README has no totals row for %s", fin)
			}
			got := []string{fin, strconv.Itoa(studies), strconv.Itoa(incl), strconv.Itoa(len(rejects))}
			if strings.Join(got, "|") != strings.Join(want[0], "|") || sites != studies {
				t.Errorf("studies/inclusions/rejects = %v (sites %d), README says %v", got, sites, want[0])
			}
			var wantRej []string
			for _, r := range tableRows(string(readme), "| finess | file | line |")[fin] {
				wantRej = append(wantRej, r[1]+"|"+r[2]+"|"+strings.Trim(r[3], "`"))
			}
			if strings.Join(rejects, "\n") != strings.Join(wantRej, "\n") {
				t.Errorf("rejects:\n%s\nREADME:\n%s", strings.Join(rejects, "\n"), strings.Join(wantRej, "\n"))
			}
			for _, r := range tableRows(string(readme), "| finess | year | A1_site |")[fin] {
				y, _ := strconv.Atoi(r[1])
				if strconv.Itoa(a3[y]) != r[6] {
					t.Errorf("A3 %d: connector records give %d, README says %s", y, a3[y], r[6])
				}
			}
		})
	}
}

// tableRows returns the data rows of the markdown table whose header line
// starts with header, grouped by first cell.
func tableRows(md, header string) map[string][][]string {
	out := map[string][][]string{}
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, header) {
			continue
		}
		for _, r := range lines[i+2:] {
			if !strings.HasPrefix(r, "|") {
				break
			}
			cells := strings.Split(strings.Trim(r, "|"), "|")
			for j := range cells {
				cells[j] = strings.TrimSpace(cells[j])
			}
			out[cells[0]] = append(out[cells[0]], cells)
		}
		break
	}
	return out
}
