package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fr-it4ct/it4ct/stream"
)

// Config is the YAML configuration of `it4ct connect` for one establishment.
//
//	establishment:
//	  finess: "350000071"
//	  name: CHU de ...
//	  kind: CHU
//	pseudonym:
//	  key_id: "2026-01"
//	  key_file: /etc/it4ct/pseudonym.key   # or key_env: IT4CT_PSEUDONYM_KEY
//	kafka:
//	  brokers: ["kafka.example:9093"]
//	  tls: { ca_file: /etc/it4ct/kafka-ca.pem }           # omit for plaintext
//	  sasl:                                               # omit without authentication
//	    mechanism: SCRAM-SHA-512
//	    username: it4ct-350000071                         # this establishment's own user
//	    password_file: /etc/it4ct/kafka.password          # or password_env: IT4CT_KAFKA_PASSWORD
//	state_dir: /var/lib/it4ct
//	sources:
//	  - id: ctms
//	    type: ctms-csv
//	    settings: { ... }                    # the connector kind's own config
//
// Secrets (the pseudonym key, the Kafka password) are never in this file:
// only the path of a file or the name of an environment variable that
// holds them. Relative paths resolve against the config file's directory.
type Config struct {
	Establishment Establishment  `yaml:"establishment"`
	Pseudonym     PseudonymConf  `yaml:"pseudonym"`
	Kafka         KafkaConf      `yaml:"kafka"`
	StateDir      string         `yaml:"state_dir"`
	Sources       []SourceConfig `yaml:"sources"`

	// Dir is the directory of the config file; relative paths resolve
	// against it. Not read from YAML.
	Dir string `yaml:"-"`
}

// Establishment identifies who runs the connector.
type Establishment struct {
	FINESS string `yaml:"finess"`
	Name   string `yaml:"name"`
	Kind   string `yaml:"kind"` // CHU, CLCC, CH, ESPIC ... informative
}

// PseudonymConf says where the establishment's pseudonymisation key is.
type PseudonymConf struct {
	KeyID   string `yaml:"key_id"`
	KeyFile string `yaml:"key_file"`
	KeyEnv  string `yaml:"key_env"`
}

// KafkaConf is the national broker to publish to, and how to reach it
// (see stream.ClientConfig and docs/kafka-security.md). The SASL user must
// be the establishment's own: the broker lets it write only the topics
// prefixed it4ct.site.<establishment.finess>.
type KafkaConf struct {
	Brokers []string           `yaml:"brokers"`
	TLS     *stream.TLSConfig  `yaml:"tls"`
	SASL    *stream.SASLConfig `yaml:"sasl"`
}

// validate checks the TLS and SASL blocks (the brokers are checked by
// ValidateRuntime, since --brokers may supply them).
func (k KafkaConf) validate() []error {
	var errs []error
	if err := k.TLS.ValidateAt("kafka.tls"); err != nil {
		errs = append(errs, err)
	}
	if err := k.SASL.ValidateAt("kafka.sasl"); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// KafkaClient returns the Kafka client configuration with the file paths
// (CA, client certificate, password file) resolved against the config
// directory.
func (c *Config) KafkaClient() stream.ClientConfig {
	cc := stream.ClientConfig{Brokers: c.Kafka.Brokers}
	if t := c.Kafka.TLS; t != nil {
		tc := *t
		tc.CAFile, tc.CertFile, tc.KeyFile = c.Resolve(tc.CAFile), c.Resolve(tc.CertFile), c.Resolve(tc.KeyFile)
		cc.TLS = &tc
	}
	if s := c.Kafka.SASL; s != nil {
		sc := *s
		sc.PasswordFile = c.Resolve(sc.PasswordFile)
		cc.SASL = &sc
	}
	return cc
}

// SourceConfig is one configured source; Settings is decoded by the
// source kind's factory.
type SourceConfig struct {
	ID       string    `yaml:"id"`
	Type     string    `yaml:"type"`
	Settings yaml.Node `yaml:"settings"`
}

var finessRe = regexp.MustCompile(`^(\d{2}|2A|2B)\d{7}$`)

// LoadConfig reads and decodes a config file; unknown keys are errors.
// It does not validate: call Validate.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := DecodeConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Config{}, err
	}
	cfg.Dir = abs
	return cfg, nil
}

// DecodeConfig decodes YAML, rejecting unknown keys.
func DecodeConfig(b []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, friendlyYAMLError(err)
	}
	return cfg, nil
}

var unknownFieldRe = regexp.MustCompile(`field (\S+) not found in type (?:ingest|stream)\.(\w+)`)

// friendlyYAMLError rewrites yaml's "field x not found in type ingest.T"
// into the keys the operator can use, with a suggestion.
func friendlyYAMLError(err error) error {
	known := map[string]any{"Config": Config{}, "Establishment": Establishment{}, "PseudonymConf": PseudonymConf{},
		"KafkaConf": KafkaConf{}, "TLSConfig": stream.TLSConfig{}, "SASLConfig": stream.SASLConfig{}, "SourceConfig": SourceConfig{}}
	msg := unknownFieldRe.ReplaceAllStringFunc(err.Error(), func(m string) string {
		sub := unknownFieldRe.FindStringSubmatch(m)
		keys := yamlKeys(known[sub[2]])
		s := fmt.Sprintf("unknown key %q (known keys here: %s)", sub[1], strings.Join(keys, ", "))
		if best := closest(sub[1], keys); best != "" {
			s += fmt.Sprintf("; did you mean %q?", best)
		}
		return s
	})
	return errors.New(msg)
}

func yamlKeys(v any) []string {
	if v == nil {
		return nil
	}
	t := reflect.TypeOf(v)
	var out []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// closest returns the candidate nearest to s, or "" when none is close;
// "config" for "settings" is a known confusion.
func closest(s string, cands []string) string {
	if s == "config" || s == "configuration" {
		for _, c := range cands {
			if c == "settings" {
				return c
			}
		}
	}
	best, bestD := "", 3
	for _, c := range cands {
		if d := levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Validate reports every problem at once, each with its YAML path and a
// fix. knownTypes lists the source kinds the binary was built with.
func (c *Config) Validate(knownTypes []string) error {
	var errs []error
	add := func(path, msg string) { errs = append(errs, fmt.Errorf("%s: %s", path, msg)) }
	if c.Establishment.FINESS == "" {
		add("establishment.finess", "missing: set the 9-character FINESS number of your establishment")
	} else if !finessRe.MatchString(c.Establishment.FINESS) {
		add("establishment.finess", fmt.Sprintf("%q is not a FINESS number (9 characters: digits, or 2A/2B then 7 digits)", c.Establishment.FINESS))
	}
	if c.Pseudonym.KeyID == "" {
		add("pseudonym.key_id", "missing: name the key (e.g. \"2026-01\") so it can be rotated")
	}
	if (c.Pseudonym.KeyFile == "") == (c.Pseudonym.KeyEnv == "") {
		add("pseudonym", "set exactly one of key_file or key_env (the key itself never goes in this file)")
	}
	errs = append(errs, c.Kafka.validate()...)
	seen := map[string]bool{}
	if len(c.Sources) == 0 {
		add("sources", "no source configured: add at least one (see docs/connectors/)")
	}
	for i, s := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		if s.ID == "" {
			add(p+".id", "missing: give the source a short unique id (letters, digits, '-', '_')")
		} else if !safeName.MatchString(s.ID) {
			add(p+".id", fmt.Sprintf("%q: use letters, digits, '.', '_' or '-'", s.ID))
		} else if seen[s.ID] {
			add(p+".id", fmt.Sprintf("duplicate id %q", s.ID))
		}
		seen[s.ID] = true
		if !contains(knownTypes, s.Type) {
			add(p+".type", fmt.Sprintf("unknown source type %q (known: %s)", s.Type, strings.Join(knownTypes, ", ")))
		}
	}
	return errors.Join(errs...)
}

// ValidateRuntime checks what only the running connector needs.
func (c *Config) ValidateRuntime() error {
	var errs []error
	if len(c.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers: missing: list the national broker addresses (host:port), or pass --brokers"))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("state_dir: missing: a local directory for cursors and quarantine, or pass --state-dir"))
	}
	return errors.Join(errs...)
}

// Resolve makes p absolute against the config directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
