package ingest

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleConfigValidates(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "deploy", "connect.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate([]string{"ctms-csv"}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrorsNameThePath(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "establisment: {}\n", []string{`unknown key "establisment" (known keys here: establishment, pseudonym, kafka, state_dir, sources); did you mean "establishment"?`}},
		{"config instead of settings", "sources: [{id: a, type: ctms-csv, config: {}}]\n", []string{`unknown key "config" (known keys here: id, type, settings); did you mean "settings"?`}},
		{"everything wrong", "establishment: {finess: '12'}\npseudonym: {key_file: a, key_env: B}\nsources: [{id: 'a b', type: redcapp}]\n", []string{
			`establishment.finess: "12" is not a FINESS number`,
			"pseudonym.key_id: missing",
			"pseudonym: set exactly one of key_file or key_env",
			`sources[0].id: "a b": use letters`,
			`sources[0].type: unknown source type "redcapp" (known: ctms-csv)`,
		}},
		{"no sources", "establishment: {finess: '990000013'}\npseudonym: {key_id: k, key_env: K}\n", []string{"sources: no source configured"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := DecodeConfig([]byte(tt.yaml))
			if err == nil {
				err = cfg.Validate([]string{"ctms-csv"})
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not mention %q", err, w)
				}
			}
		})
	}
}
