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

func TestKafkaSecurityConfig(t *testing.T) {
	base := "establishment: {finess: '990000013'}\npseudonym: {key_id: k, key_env: K}\nsources: [{id: a, type: ctms-csv}]\n"
	tests := []struct {
		name, yaml string
		want       []string // error substrings; none: valid
	}{
		{"tls and scram", "kafka: {brokers: ['k:9093'], tls: {ca_file: ca.pem, server_name: kafka.example}, sasl: {mechanism: SCRAM-SHA-512, username: it4ct-990000013, password_file: kafka.password}}\n", nil},
		{"typo in sasl", "kafka: {sasl: {mechanism: SCRAM-SHA-512, usename: u}}\n", []string{`unknown key "usename" (known keys here: mechanism, username, password_file, password_env); did you mean "username"?`}},
		{"typo in tls", "kafka: {tls: {ca: x}}\n", []string{`unknown key "ca" (known keys here: ca_file, cert_file, key_file, server_name, insecure_skip_verify)`}},
		{"password in two places", "kafka: {tls: {key_file: k.pem}, sasl: {mechanism: SCRAM-SHA-1, username: u, password_file: f, password_env: E}}\n", []string{
			"kafka.tls.cert_file: cert_file and key_file go together",
			`kafka.sasl.mechanism: unknown mechanism "SCRAM-SHA-1"`,
			"kafka.sasl: set exactly one of password_file or password_env",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := DecodeConfig([]byte(base + tt.yaml))
			if err == nil {
				err = cfg.Validate([]string{"ctms-csv"})
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
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

func TestKafkaClientResolvesPaths(t *testing.T) {
	cfg, err := DecodeConfig([]byte("kafka: {brokers: ['k:9093'], tls: {ca_file: ca.pem}, sasl: {mechanism: SCRAM-SHA-512, username: u, password_file: secrets/kafka.password}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = filepath.FromSlash("/etc/it4ct")
	cc := cfg.KafkaClient()
	if want := filepath.FromSlash("/etc/it4ct/ca.pem"); cc.TLS.CAFile != want {
		t.Errorf("ca_file resolved to %q, want %q", cc.TLS.CAFile, want)
	}
	if want := filepath.FromSlash("/etc/it4ct/secrets/kafka.password"); cc.SASL.PasswordFile != want {
		t.Errorf("password_file resolved to %q, want %q", cc.SASL.PasswordFile, want)
	}
	if cfg.Kafka.SASL.PasswordFile != "secrets/kafka.password" {
		t.Errorf("KafkaClient modified the config: %q", cfg.Kafka.SASL.PasswordFile)
	}
}

func TestSecureExampleConfigValidates(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("..", "deploy", "connect.secure.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate([]string{"ctms-csv"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.SASL == nil || cfg.Kafka.SASL.Mechanism != "SCRAM-SHA-512" || cfg.Kafka.TLS == nil {
		t.Errorf("kafka block not decoded: %+v", cfg.Kafka)
	}
}
