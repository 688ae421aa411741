package bigexport

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestWriteIsDeterministic(t *testing.T) {
	o := Options{Inclusions: 3000, Seed: 7, RejectEvery: 100, BatchSize: 250}
	a, err := Write(filepath.Join(t.TempDir(), "a"), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Write(filepath.Join(t.TempDir(), "b"), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{studiesFile, inclusionsFile, keyFile, configFile} {
		x, err := os.ReadFile(filepath.Join(a.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same options", f)
		}
	}
	c, err := Write(filepath.Join(t.TempDir(), "c"), Options{Inclusions: 3000, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a.InclusionsFile)
	y, _ := os.ReadFile(c.InclusionsFile)
	if bytes.Equal(x, y) {
		t.Error("different seeds gave the same inclusions")
	}
}

func TestWriteCounts(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		bad  int
	}{
		{"small", Options{Inclusions: 10}, 0},
		{"with rejects", Options{Inclusions: 1000, RejectEvery: 100}, 10},
		{"one study", Options{Inclusions: 5, PerStudy: 100}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := Write(t.TempDir(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			studies := lines(t, ex.StudiesFile)
			incl := lines(t, ex.InclusionsFile)
			if len(studies)-1 != ex.Studies || len(incl)-1 != tc.o.Inclusions || ex.Inclusions != tc.o.Inclusions {
				t.Errorf("files hold %d studies and %d inclusions, Export says %d and %d, asked %d inclusions",
					len(studies)-1, len(incl)-1, ex.Studies, ex.Inclusions, tc.o.Inclusions)
			}
			if ex.BadInclusions != tc.bad {
				t.Errorf("BadInclusions = %d, want %d", ex.BadInclusions, tc.bad)
			}
			codes := map[string]bool{}
			for _, l := range studies[1:] {
				cells := strings.Split(l, ";")
				if len(cells) != len(studyHeader) {
					t.Fatalf("study row has %d cells, header %d: %s", len(cells), len(studyHeader), l)
				}
				codes[cells[0]] = true
			}
			for _, l := range incl[1:] {
				cells := strings.Split(l, ";")
				if len(cells) != len(inclusionHeader) || !codes[cells[0]] {
					t.Fatalf("inclusion row refers to no study or has %d cells: %s", len(cells), l)
				}
			}
		})
	}
}

func TestConfigMatchesFiles(t *testing.T) {
	ex, err := Write(t.TempDir(), Options{Inclusions: 20, BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ex.Config)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Establishment struct{ FINESS string } `yaml:"establishment"`
		Pseudonym     struct {
			KeyFile string `yaml:"key_file"`
		} `yaml:"pseudonym"`
		Sources []struct {
			Type     string `yaml:"type"`
			Settings struct {
				BatchSize int `yaml:"batch_size"`
				Studies   struct {
					Path    string            `yaml:"path"`
					Columns map[string]string `yaml:"columns"`
				} `yaml:"studies"`
				Inclusions struct {
					Path    string            `yaml:"path"`
					Columns map[string]string `yaml:"columns"`
				} `yaml:"inclusions"`
			} `yaml:"settings"`
		} `yaml:"sources"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Establishment.FINESS != ex.FINESS || len(cfg.Sources) != 1 || cfg.Sources[0].Type != "ctms-csv" {
		t.Fatalf("unexpected config:\n%s", b)
	}
	set := cfg.Sources[0].Settings
	if set.BatchSize != 50 || filepath.Join(ex.Dir, set.Studies.Path) != ex.StudiesFile ||
		filepath.Join(ex.Dir, set.Inclusions.Path) != ex.InclusionsFile || filepath.Join(ex.Dir, cfg.Pseudonym.KeyFile) != ex.KeyFile {
		t.Errorf("config does not point at the written files:\n%s", b)
	}
	for _, c := range []struct {
		header []string
		cols   map[string]string
	}{{studyHeader, set.Studies.Columns}, {inclusionHeader, set.Inclusions.Columns}} {
		for field, col := range c.cols {
			found := false
			for _, h := range c.header {
				found = found || h == col
			}
			if !found {
				t.Errorf("column %q of %s is not in the file's header %v", col, field, c.header)
			}
		}
	}
}

func TestFictionalFINESSHaveValidKeys(t *testing.T) {
	all := []string{DefaultFINESS}
	for _, sp := range sponsors {
		if sp.finess != "" {
			all = append(all, sp.finess)
		}
	}
	if len(all) < 3 {
		t.Fatalf("expected the default and at least two sponsor FINESS, got %v", all)
	}
	for _, f := range all {
		sum := 0
		for i := 0; i < 9; i++ {
			d := int(f[8-i] - '0')
			if i%2 == 1 {
				if d *= 2; d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		if sum%10 != 0 {
			t.Errorf("FINESS %s fails its Luhn key", f)
		}
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
