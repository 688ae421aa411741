// Package ctmscsv reads CTMS CSV exports (one file of studies with this
// establishment's participation, one file of inclusions) through a
// declarative YAML column mapping, so that a research directorate can point
// it at its own export without writing code.
package ctmscsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Type is the source kind this package implements, as written in the
// gateway's configuration.
const Type = "ctms-csv"

// Config is the YAML configuration of a ctms-csv source.
//
// Example (see docs/connectors/ctms-csv.md for every key):
//
//	studies:
//	  path: etudes.csv
//	  separator: ";"
//	  encoding: windows-1252
//	  date_formats: [dd/mm/yyyy, yyyy-mm-dd]
//	  columns:
//	    local_code: "Code étude"
//	    id_rcb: "N° ID-RCB"
//	    status: "Statut"
//	    site_opened: "Date d'ouverture"
//	inclusions:
//	  path: inclusions.csv
//	  columns:
//	    study_ref: "Code étude"
//	    subject_id: "N° patient"
//	    inclusion_date: "Date d'inclusion"
//	    status: "Statut patient"
//	values:
//	  status: {"En cours": recruiting, "Clôturée": completed}
type Config struct {
	Studies    FileConfig `yaml:"studies"`
	Inclusions FileConfig `yaml:"inclusions"`
	// StudyRef says which study field the inclusions' study_ref column
	// matches: local_code (default), id_rcb, eu_ct, eudract or nct.
	StudyRef string `yaml:"study_ref"`
	// Values maps the export's free-text words to canonical codes, per
	// canonical field: status, site_status, sponsor_type, category, phase,
	// site_role, inclusion_status, international. Matching ignores case,
	// accents and surrounding blanks.
	Values map[string]map[string]string `yaml:"values"`
	// Defaults gives a canonical value for a field whose column is not in
	// the export (e.g. site_role: investigating-site).
	Defaults map[string]string `yaml:"defaults"`
	// BatchSize is the maximum number of CSV rows per batch (default 2000: each batch ends with a durable cursor save, so larger batches mean fewer fsyncs and at most one batch re-published after a crash).
	BatchSize int `yaml:"batch_size"`
}

// FileConfig describes one CSV file of the export.
type FileConfig struct {
	Path string `yaml:"path"` // relative to the config file's directory
	// Separator is ";" (default), "," or "\t".
	Separator string `yaml:"separator"`
	// Encoding is utf-8 (default; a BOM is stripped), windows-1252 or
	// iso-8859-1 (latin-1).
	Encoding string `yaml:"encoding"`
	// DateFormats are tried in order: dd/mm/yyyy, yyyy-mm-dd, dd-mm-yyyy,
	// dd.mm.yyyy, yyyymmdd. Default: [dd/mm/yyyy, yyyy-mm-dd].
	DateFormats []string `yaml:"date_formats"`
	// Columns maps canonical field names to the export's header text.
	//
	// Study file fields: local_code, eu_ct, id_rcb, eudract, nct, title,
	// sponsor_name, sponsor_finess, sponsor_type, category, phase,
	// international, target_france, target_global, actual_global, status,
	// submitted, ansm_authorised, ethics_approved, eu_authorised,
	// first_site_open, recruitment_closed, completed, terminated, withdrawn;
	// and this establishment's participation: site_role, site_target,
	// site_status, site_contract_sent, site_contract_signed, site_opened,
	// site_first_inclusion, site_closed.
	//
	// Inclusion file fields: study_ref, subject_id, inclusion_date,
	// inclusion_status ("status" is accepted as an alias).
	Columns map[string]string `yaml:"columns"`
	// HeaderLine is the 1-based line holding the column headers (default 1);
	// lines before it are skipped.
	HeaderLine int `yaml:"header_line"`
}

// DefaultBatchSize is the number of rows per batch when batch_size is unset.
const DefaultBatchSize = 2000

const maxBatchSize = 100000

// DefaultConfig returns a configuration with every default filled in and no
// file or column set.
func DefaultConfig() Config {
	return Config{
		Studies:    defaultFileConfig(),
		Inclusions: defaultFileConfig(),
		StudyRef:   "local_code",
		BatchSize:  DefaultBatchSize,
	}
}

func defaultFileConfig() FileConfig {
	return FileConfig{
		Separator:   ";",
		Encoding:    "utf-8",
		DateFormats: []string{"dd/mm/yyyy", "yyyy-mm-dd"},
		HeaderLine:  1,
	}
}

// Decode reads a YAML configuration over DefaultConfig. Unknown keys are
// errors. It does not validate: call Validate.
func Decode(data []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, nil // empty document: all defaults
		}
		return Config{}, fmt.Errorf("decode %s config: %w", Type, err)
	}
	return cfg, nil
}

// DecodeNode is Decode for a YAML node already parsed by the caller (the
// source's block of the gateway configuration).
func DecodeNode(node *yaml.Node) (Config, error) {
	if node == nil {
		return DefaultConfig(), nil
	}
	data, err := yaml.Marshal(node)
	if err != nil {
		return Config{}, fmt.Errorf("decode %s config: %w", Type, err)
	}
	return Decode(data)
}

// Field kinds.
const (
	kindText = iota
	kindIdentifier
	kindFINESS
	kindValue // mapped through Values
	kindDate
	kindInt
)

type fieldSpec struct {
	name  string
	kind  int
	value string // value vocabulary name for kindValue
}

// studyFields lists the study file's canonical fields in the order rows are
// checked (the first problem found in a row is reported).
var studyFields = []fieldSpec{
	{"local_code", kindText, ""},
	{"eu_ct", kindIdentifier, ""},
	{"id_rcb", kindIdentifier, ""},
	{"eudract", kindIdentifier, ""},
	{"nct", kindIdentifier, ""},
	{"title", kindText, ""},
	{"sponsor_name", kindText, ""},
	{"sponsor_finess", kindFINESS, ""},
	{"sponsor_type", kindValue, "sponsor_type"},
	{"category", kindValue, "category"},
	{"phase", kindValue, "phase"},
	{"international", kindValue, "international"},
	{"target_france", kindInt, ""},
	{"target_global", kindInt, ""},
	{"actual_global", kindInt, ""},
	{"status", kindValue, "status"},
	{"submitted", kindDate, ""},
	{"ansm_authorised", kindDate, ""},
	{"ethics_approved", kindDate, ""},
	{"eu_authorised", kindDate, ""},
	{"first_site_open", kindDate, ""},
	{"recruitment_closed", kindDate, ""},
	{"completed", kindDate, ""},
	{"terminated", kindDate, ""},
	{"withdrawn", kindDate, ""},
	{"site_role", kindValue, "site_role"},
	{"site_target", kindInt, ""},
	{"site_status", kindValue, "site_status"},
	{"site_contract_sent", kindDate, ""},
	{"site_contract_signed", kindDate, ""},
	{"site_opened", kindDate, ""},
	{"site_first_inclusion", kindDate, ""},
	{"site_closed", kindDate, ""},
}

var inclusionFields = []fieldSpec{
	{"study_ref", kindText, ""},
	{"subject_id", kindText, ""},
	{"inclusion_date", kindDate, ""},
	{"inclusion_status", kindValue, "inclusion_status"},
}

var siteDateFields = []string{"site_contract_sent", "site_contract_signed", "site_opened", "site_first_inclusion", "site_closed"}

var identifierFields = []string{"local_code", "eu_ct", "id_rcb", "eudract", "nct"}

// vocabularies lists, per Values field, the canonical codes it accepts.
var vocabularies = map[string][]string{
	"status":           statusCodes,
	"site_status":      statusCodes,
	"sponsor_type":     {"academic", "industry"},
	"category":         {"RIPH1", "RIPH2", "RIPH3", "CTR"},
	"phase":            {"I", "I/II", "II", "II/III", "III", "IV", "NA"},
	"site_role":        {"sponsor-site", "investigating-site"},
	"inclusion_status": {"included", "withdrawn", "completed", "screen-failed"},
	"international":    {"true", "false"},
}

var statusCodes = []string{"in-preparation", "approved", "recruiting", "suspended", "closed-to-accrual", "completed", "terminated", "withdrawn"}

var dateFormats = []string{"dd/mm/yyyy", "yyyy-mm-dd", "dd-mm-yyyy", "dd.mm.yyyy", "yyyymmdd"}

var encodings = []string{"utf-8", "windows-1252", "iso-8859-1", "latin-1"}

var studyRefs = []string{"local_code", "id_rcb", "eu_ct", "eudract", "nct"}

func fieldNames(specs []fieldSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.name
	}
	return out
}

func specOf(name string) (fieldSpec, bool) {
	for _, specs := range [][]fieldSpec{studyFields, inclusionFields} {
		for _, s := range specs {
			if s.name == name {
				return s, true
			}
		}
	}
	return fieldSpec{}, false
}

// inclusionColumns returns the inclusion file's columns with the "status"
// alias resolved to inclusion_status.
func (f FileConfig) inclusionColumns() map[string]string {
	if _, ok := f.Columns["status"]; !ok {
		return f.Columns
	}
	out := make(map[string]string, len(f.Columns))
	for k, v := range f.Columns {
		if k == "status" {
			k = "inclusion_status"
		}
		out[k] = v
	}
	return out
}

// Validate reports every problem of the configuration at once, each
// prefixed with its YAML path.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	errs = append(errs, c.Studies.validate("studies", fieldNames(studyFields), fieldNames(inclusionFields))...)
	errs = append(errs, c.Inclusions.validate("inclusions", append(fieldNames(inclusionFields), "status"), fieldNames(studyFields))...)

	sc := c.Studies.Columns
	if !slices.ContainsFunc(identifierFields, func(f string) bool { return sc[f] != "" }) {
		add("studies.columns: no study identifier column; map at least one of %s", strings.Join(identifierFields, ", "))
	}
	if sc["status"] == "" && c.Defaults["status"] == "" {
		add("studies.columns: no status column; map status or set defaults.status")
	}
	if sc["site_status"] == "" && c.Defaults["site_status"] == "" &&
		!slices.ContainsFunc(siteDateFields, func(f string) bool { return sc[f] != "" }) {
		add("studies.columns: this establishment's participation needs site_status, a site date column (%s) or defaults.site_status", strings.Join(siteDateFields, ", "))
	}
	ic := c.Inclusions.inclusionColumns()
	if _, both := c.Inclusions.Columns["status"]; both && c.Inclusions.Columns["inclusion_status"] != "" {
		add("inclusions.columns: status and inclusion_status are the same field; keep inclusion_status")
	}
	for _, f := range []string{"study_ref", "subject_id", "inclusion_date"} {
		if ic[f] == "" {
			add("inclusions.columns.%s: required column is not mapped", f)
		}
	}
	if ic["inclusion_status"] == "" && c.Defaults["inclusion_status"] == "" {
		add("inclusions.columns: no inclusion_status column; map it or set defaults.inclusion_status")
	}

	switch {
	case c.StudyRef == "":
		// New treats empty as local_code.
	case !slices.Contains(studyRefs, c.StudyRef):
		add("study_ref: unknown study field %q%s; use one of %s", c.StudyRef, suggest(c.StudyRef, studyRefs), strings.Join(studyRefs, ", "))
	case sc[c.StudyRef] == "":
		add("study_ref: inclusions refer to studies by %s but studies.columns.%s is not mapped", c.StudyRef, c.StudyRef)
	}
	if c.BatchSize < 0 || c.BatchSize > maxBatchSize {
		add("batch_size: %d is out of range; use 1 to %d (0 means %d)", c.BatchSize, maxBatchSize, DefaultBatchSize)
	}

	for _, field := range sortedKeys(c.Values) {
		codes, ok := vocabularies[field]
		if !ok {
			add("values: unknown field %q%s; known fields: %s", field, suggest(field, sortedKeys(vocabularies)), strings.Join(sortedKeys(vocabularies), ", "))
			continue
		}
		seen := map[string]string{}
		for _, word := range sortedKeys(c.Values[field]) {
			target := c.Values[field][word]
			code, ok := canonicalCode(codes, target)
			if !ok {
				add("values.%s.%q: %q is not a canonical %s%s; canonical values: %s", field, word, target, field, suggest(target, codes), strings.Join(codes, ", "))
				continue
			}
			key := foldWord(word)
			if key == "" {
				add("values.%s: empty word %q", field, word)
				continue
			}
			if prev, dup := seen[key]; dup && prev != code {
				add("values.%s.%q: same word (ignoring case and accents) as another entry mapped to %q", field, word, prev)
			}
			seen[key] = code
		}
	}

	for _, field := range sortedKeys(c.Defaults) {
		spec, ok := specOf(field)
		if !ok || field == "study_ref" || field == "subject_id" || spec.kind == kindIdentifier || field == "local_code" {
			add("defaults: field %q cannot have a default%s", field, suggest(field, defaultable()))
			continue
		}
		if msg := checkDefault(c, spec, c.Defaults[field]); msg != "" {
			add("defaults.%s: %s", field, msg)
		}
	}
	return errors.Join(errs...)
}

func defaultable() []string {
	var out []string
	for _, s := range append(slices.Clone(studyFields), inclusionFields...) {
		if s.kind != kindIdentifier && s.name != "local_code" && s.name != "study_ref" && s.name != "subject_id" {
			out = append(out, s.name)
		}
	}
	return out
}

func checkDefault(c *Config, spec fieldSpec, v string) string {
	switch spec.kind {
	case kindValue:
		vocab := buildVocab(c.Values, spec.value)
		if _, ok := vocab.lookup(v); !ok {
			codes := vocabularies[spec.value]
			return fmt.Sprintf("%q is not a canonical %s%s; canonical values: %s", v, spec.value, suggest(v, codes), strings.Join(codes, ", "))
		}
	case kindDate:
		if _, err := canonicalDate(v); err != nil {
			return fmt.Sprintf("%q is not a date; write it as yyyy-mm-dd", v)
		}
	case kindInt:
		if _, ok := parseInt(v); !ok {
			return fmt.Sprintf("%q is not a whole number", v)
		}
	case kindFINESS:
		if _, ok := normFINESS(v); !ok {
			return fmt.Sprintf("%q is not a FINESS number (9 characters: digits, or 2A/2B then 7 digits)", v)
		}
	}
	return ""
}

func (f FileConfig) validate(path string, known, other []string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(path+format, args...)) }
	if strings.TrimSpace(f.Path) == "" {
		add(".path: required; give the CSV file's path (relative to the config file)")
	}
	if _, ok := separatorRune(f.Separator); !ok {
		add(`.separator: %q is not supported; use ";", "," or "\t"`, f.Separator)
	}
	if !slices.Contains(encodings, strings.ToLower(f.Encoding)) && f.Encoding != "" {
		add(".encoding: %q is not supported%s; use utf-8 (with or without BOM), windows-1252 or iso-8859-1", f.Encoding, suggest(strings.ToLower(f.Encoding), encodings))
	}
	for i, df := range f.DateFormats {
		if !slices.Contains(dateFormats, df) {
			add(".date_formats[%d]: unknown format %q%s; known formats: %s", i, df, suggest(df, dateFormats), strings.Join(dateFormats, ", "))
		}
	}
	if f.HeaderLine < 0 {
		add(".header_line: %d must be 1 or more", f.HeaderLine)
	}
	for _, field := range sortedKeys(f.Columns) {
		if !slices.Contains(known, field) {
			if slices.Contains(other, field) {
				add(".columns: canonical field %q belongs to the other file", field)
			} else {
				add(".columns: unknown canonical field %q%s", field, suggest(field, known))
			}
			continue
		}
		if strings.TrimSpace(f.Columns[field]) == "" {
			add(".columns.%s: header text is empty", field)
		}
	}
	return errs
}

func separatorRune(s string) (rune, bool) {
	switch s {
	case ";", "":
		return ';', true
	case ",":
		return ',', true
	case "\t", `\t`, "tab":
		return '\t', true
	}
	return 0, false
}

func canonicalCode(codes []string, v string) (string, bool) {
	k := foldWord(v)
	for _, c := range codes {
		if foldWord(c) == k {
			return c, true
		}
	}
	return "", false
}

// suggest returns ` (did you mean "x"?)` for the closest candidate, or "".
func suggest(s string, candidates []string) string {
	if best, ok := closest(s, candidates); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// closest finds the candidate nearest to s, ignoring case and accents, within
// an edit distance of a third of its length (at least 2).
func closest(s string, candidates []string) (string, bool) {
	k := foldWord(s)
	best, bestD := "", -1
	for _, c := range candidates {
		fc := foldWord(c)
		d := editDistance(k, fc)
		if min(len(k), len(fc)) >= 3 && (strings.HasPrefix(k, fc) || strings.HasPrefix(fc, k)) {
			d = min(d, 1) // "nct_id" for "nct"
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len([]rune(k))/3)
	if bestD < 0 || bestD > limit {
		return "", false
	}
	return best, true
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
