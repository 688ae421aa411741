package ctmscsv

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestDecodeDefaults(t *testing.T) {
	cfg := mustDecode(t, "studies: {path: a.csv}\ninclusions: {path: b.csv, separator: \",\"}\n")
	want := DefaultConfig()
	want.Studies.Path = "a.csv"
	want.Inclusions.Path = "b.csv"
	want.Inclusions.Separator = ","
	if d := cmp.Diff(want, cfg); d != "" {
		t.Errorf("defaults not kept (-want +got):\n%s", d)
	}
	cfg = mustDecode(t, "studies: {date_formats: [yyyymmdd]}\n")
	if d := cmp.Diff([]string{"yyyymmdd"}, cfg.Studies.DateFormats); d != "" {
		t.Errorf("date_formats replaced the default list (-want +got):\n%s", d)
	}
	empty := mustDecode(t, "")
	if d := cmp.Diff(DefaultConfig(), empty); d != "" {
		t.Errorf("empty document (-want +got):\n%s", d)
	}
}

func TestDecodeUnknownKey(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"studies:\n  path: a.csv\n  separateur: \";\"\n", "decode ctms-csv config: yaml: unmarshal errors:\n  line 3: field separateur not found in type ctmscsv.FileConfig"},
		{"study_reference: nct\n", "decode ctms-csv config: yaml: unmarshal errors:\n  line 1: field study_reference not found in type ctmscsv.Config"},
	}
	for _, tc := range tests {
		_, err := Decode([]byte(tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("Decode(%q) = %v, want %s", tc.yaml, err, tc.want)
		}
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte("batch_size: 10\nbogus: 1\n"), &node); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeNode(&node); err == nil || !strings.Contains(err.Error(), "field bogus not found") {
		t.Errorf("DecodeNode with an unknown key = %v", err)
	}
	if err := yaml.Unmarshal([]byte("batch_size: 10\n"), &node); err != nil {
		t.Fatal(err)
	}
	if cfg, err := DecodeNode(&node); err != nil || cfg.BatchSize != 10 || cfg.Studies.Separator != ";" {
		t.Errorf("DecodeNode = %+v, %v", cfg, err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		yaml string // appended to smallConfig unless full is set
		full bool
		want []string
	}{
		{name: "valid", want: nil},
		{
			name: "fixture config is valid",
			yaml: "", want: nil,
		},
		{
			name: "everything empty",
			full: true,
			yaml: "{}",
			want: []string{
				"studies.path: required; give the CSV file's path (relative to the config file)",
				"inclusions.path: required; give the CSV file's path (relative to the config file)",
				"studies.columns: no study identifier column; map at least one of local_code, eu_ct, id_rcb, eudract, nct",
				"studies.columns: no status column; map status or set defaults.status",
				"studies.columns: this establishment's participation needs site_status, a site date column (site_contract_sent, site_contract_signed, site_opened, site_first_inclusion, site_closed) or defaults.site_status",
				"inclusions.columns.study_ref: required column is not mapped",
				"inclusions.columns.subject_id: required column is not mapped",
				"inclusions.columns.inclusion_date: required column is not mapped",
				"inclusions.columns: no inclusion_status column; map it or set defaults.inclusion_status",
				"study_ref: inclusions refer to studies by local_code but studies.columns.local_code is not mapped",
			},
		},
		{
			name: "typos everywhere",
			full: true,
			yaml: `
studies:
  path: e.csv
  separator: "|"
  encoding: utf8
  date_formats: [dd/mm/yy, yyyy-mm-dd]
  header_line: -1
  columns: {local_code: "Code", titel: "Titre", status: "Statut", site_opened: "Ouv", subject_id: "Patient", nct: " "}
inclusions:
  path: i.csv
  columns: {study_ref: "Code", subject_id: "Patient", inclusion_date: "Date", status: "S", inclusion_status: "S2"}
study_ref: nct_id
values:
  statut: {"En cours": recruiting}
  status: {"En cours": recruting, "en  COURS": completed, "Suspendue": suspended, "suspendue ": completed}
  phase: {"Phase 2": II}
defaults:
  subject_id: X
  site_role: investigator
  target_france: "douze"
  sponsor_type: Academik
batch_size: 1000000
`,
			want: []string{
				`studies.separator: "|" is not supported; use ";", "," or "\t"`,
				`studies.encoding: "utf8" is not supported (did you mean "utf-8"?); use utf-8 (with or without BOM), windows-1252 or iso-8859-1`,
				`studies.date_formats[0]: unknown format "dd/mm/yy" (did you mean "dd/mm/yyyy"?); known formats: dd/mm/yyyy, yyyy-mm-dd, dd-mm-yyyy, dd.mm.yyyy, yyyymmdd`,
				`studies.header_line: -1 must be 1 or more`,
				`studies.columns.nct: header text is empty`,
				`studies.columns: canonical field "subject_id" belongs to the other file`,
				`studies.columns: unknown canonical field "titel" (did you mean "title"?)`,
				`inclusions.columns: status and inclusion_status are the same field; keep inclusion_status`,
				`study_ref: unknown study field "nct_id" (did you mean "nct"?); use one of local_code, id_rcb, eu_ct, eudract, nct`,
				`batch_size: 1000000 is out of range; use 1 to 100000 (0 means 2000)`,
				`values.status."En cours": "recruting" is not a canonical status (did you mean "recruiting"?); canonical values: in-preparation, approved, recruiting, suspended, closed-to-accrual, completed, terminated, withdrawn`,
				`values.status."suspendue ": same word (ignoring case and accents) as another entry mapped to "suspended"`,
				`values: unknown field "statut" (did you mean "status"?); known fields: category, inclusion_status, international, phase, site_role, site_status, sponsor_type, status`,
				`defaults.site_role: "investigator" is not a canonical site_role; canonical values: sponsor-site, investigating-site`,
				`defaults.sponsor_type: "Academik" is not a canonical sponsor_type (did you mean "academic"?); canonical values: academic, industry`,
				`defaults: field "subject_id" cannot have a default`,
				`defaults.target_france: "douze" is not a whole number`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			switch {
			case tc.name == "fixture config is valid":
				_, cfg = fixture(t, "chu-fictif")
			case tc.full:
				cfg = mustDecode(t, tc.yaml)
			default:
				cfg = mustDecode(t, smallConfig+tc.yaml)
			}
			err := cfg.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Validate (-want +got):\n%s", d)
			}
		})
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := New(testSettings(t.TempDir()), mustDecode(t, "studies: {path: a.csv}"))
	if err == nil || !strings.HasPrefix(err.Error(), `ctms-csv source "chu-test": invalid config:`+"\ninclusions.path: required") {
		t.Errorf("New with an invalid config = %v", err)
	}
}
