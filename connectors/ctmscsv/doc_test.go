package ctmscsv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDocExample decodes and validates the complete example of
// docs/connectors/ctms-csv.md, so that the documentation cannot drift from
// what the connector accepts (the connector's settings sit under
// sources[].settings).
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "connectors", "ctms-csv.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("## Complete, annotated example"))
	if !ok {
		t.Fatal("no example section in the doc")
	}
	_, rest, ok = bytes.Cut(rest, []byte("```yaml\n"))
	block, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("no yaml block in the example section")
	}
	var file struct {
		Establishment struct {
			FINESS string `yaml:"finess"`
			Name   string `yaml:"name"`
			Kind   string `yaml:"kind"`
		} `yaml:"establishment"`
		Pseudonym struct {
			KeyID   string `yaml:"key_id"`
			KeyFile string `yaml:"key_file"`
			KeyEnv  string `yaml:"key_env"`
		} `yaml:"pseudonym"`
		Kafka struct {
			Brokers []string `yaml:"brokers"`
		} `yaml:"kafka"`
		StateDir string `yaml:"state_dir"`
		Sources  []struct {
			ID       string    `yaml:"id"`
			Type     string    `yaml:"type"`
			Settings yaml.Node `yaml:"settings"`
		} `yaml:"sources"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(block))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("example does not decode as a connect config: %v", err)
	}
	if file.Establishment.FINESS == "" || file.Pseudonym.KeyID == "" || (file.Pseudonym.KeyFile == "") == (file.Pseudonym.KeyEnv == "") ||
		len(file.Kafka.Brokers) == 0 || file.StateDir == "" || len(file.Sources) != 1 || file.Sources[0].Type != Type {
		t.Fatalf("example is not a complete connect config: %+v", file)
	}
	cfg, err := DecodeNode(&file.Sources[0].Settings)
	if err != nil {
		t.Fatalf("example settings: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("example settings do not validate:\n%v", err)
	}
	if cfg.Studies.Path == "" || len(cfg.Studies.Columns) < 20 || len(cfg.Values) < 5 {
		t.Errorf("example settings were not read: %+v", cfg)
	}
	if strings.Contains(string(block), "\n    config:") {
		t.Error("example uses config: instead of settings:")
	}
}

// TestBuiltinVocabularyDocumented: every built-in word is in the doc's
// "Built-in vocabulary" tables, next to its canonical code.
func TestBuiltinVocabularyDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "connectors", "ctms-csv.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for field, words := range builtinWords {
		for w, code := range words {
			row := ""
			for _, line := range strings.Split(doc, "\n") {
				if strings.HasPrefix(line, "| `"+code+"` |") && strings.Contains(line, "`"+w+"`") {
					row = line
				}
			}
			if row == "" {
				t.Errorf("built-in %s word %q -> %s is not documented in docs/connectors/ctms-csv.md", field, w, code)
			}
		}
	}
}
