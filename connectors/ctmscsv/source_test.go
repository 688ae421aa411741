package ctmscsv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
)

// smallConfig maps a small French export; tests override file settings.
const smallConfig = `
studies:
  path: etudes.csv
  columns:
    local_code: "Code étude"
    id_rcb: "N° ID-RCB"
    eudract: "N° EudraCT"
    eu_ct: "N° EU CT"
    nct: "NCT"
    title: "Titre"
    sponsor_finess: "FINESS promoteur"
    target_france: "Objectif France"
    status: "Statut"
    site_opened: "Date d'ouverture"
inclusions:
  path: inclusions.csv
  columns:
    study_ref: "Code étude"
    subject_id: "N° patient"
    inclusion_date: "Date d'inclusion"
    status: "Statut patient"
values:
  status: {"En cours": recruiting, "Clôturée": completed}
  inclusion_status: {"Inclus": included, "Sorti": withdrawn}
batch_size: 100
`

const (
	smallStudiesHeader = "Code étude;N° ID-RCB;N° EudraCT;N° EU CT;NCT;Titre;FINESS promoteur;Objectif France;Statut;Date d'ouverture"
	smallStudyRow      = "ONCO-01;2024-A00101-11;;;;Étude fictive;990000017;100;En cours;02/04/2024"
	smallInclHeader    = "Code étude;N° patient;Date d'inclusion;Statut patient"
)

// export writes the two files (lines joined with "\n") into a temp dir.
func export(t testing.TB, studies, inclusions []string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "etudes.csv"), []byte(strings.Join(studies, "\n")+"\n"))
	writeFile(t, filepath.Join(dir, "inclusions.csv"), []byte(strings.Join(inclusions, "\n")+"\n"))
	return dir
}

func allRejects(bs []connectors.Batch) []canonical.Reject {
	var out []canonical.Reject
	for _, b := range bs {
		out = append(out, b.Rejects...)
	}
	return out
}

func allRecords(bs []connectors.Batch) []canonical.Record {
	var out []canonical.Record
	for _, b := range bs {
		out = append(out, b.Records...)
	}
	return out
}

// TestRejects checks that each kind of bad row becomes one reject with the
// exact message, and that the rows after it are still read.
func TestRejects(t *testing.T) {
	tests := []struct {
		name      string
		study     string // replaces smallStudyRow when set
		incl      string // one inclusion row
		code      string
		column    string
		field     string
		key       string
		wantError string
	}{
		{
			name:      "impossible date",
			incl:      "ONCO-01;FIC-1;31/02/2024;Inclus",
			code:      "bad-date",
			column:    "Date d'inclusion",
			field:     "inclusion_date",
			key:       "ONCO-01",
			wantError: `chu-test inclusions.csv:2 column "Date d'inclusion": "31/02/2024" is not a calendar date; fix: correct the date in the export; accepted formats (inclusions.date_formats): dd/mm/yyyy, yyyy-mm-dd`,
		},
		{
			name:      "date in no accepted format",
			incl:      "ONCO-01;FIC-1;2024/02/01;Inclus",
			code:      "bad-date",
			column:    "Date d'inclusion",
			field:     "inclusion_date",
			key:       "ONCO-01",
			wantError: `chu-test inclusions.csv:2 column "Date d'inclusion": "2024/02/01" is not a date in an accepted format; fix: correct the date in the export; accepted formats (inclusions.date_formats): dd/mm/yyyy, yyyy-mm-dd`,
		},
		{
			name:      "date in another supported format",
			incl:      "ONCO-01;FIC-1;01.02.2024 00:00;Inclus",
			code:      "bad-date",
			column:    "Date d'inclusion",
			field:     "inclusion_date",
			key:       "ONCO-01",
			wantError: `chu-test inclusions.csv:2 column "Date d'inclusion": "01.02.2024 00:00" is not a date in an accepted format; fix: correct the date in the export, or add dd.mm.yyyy to inclusions.date_formats; accepted formats now: dd/mm/yyyy, yyyy-mm-dd`,
		},
		{
			name:      "compact date",
			incl:      "ONCO-01;FIC-1;20240201;Inclus",
			code:      "bad-date",
			column:    "Date d'inclusion",
			field:     "inclusion_date",
			key:       "ONCO-01",
			wantError: `chu-test inclusions.csv:2 column "Date d'inclusion": "20240201" is not a date in an accepted format; fix: correct the date in the export, or add yyyymmdd to inclusions.date_formats; accepted formats now: dd/mm/yyyy, yyyy-mm-dd`,
		},
		{
			name:      "unknown status",
			incl:      "ONCO-01;FIC-1;01/02/2024;Décédé",
			code:      "unknown-value",
			column:    "Statut patient",
			field:     "inclusion_status",
			key:       "ONCO-01",
			wantError: `chu-test inclusions.csv:2 column "Statut patient": "Décédé" is not a known inclusion_status; fix: use one of "Inclus", "Sorti", included, withdrawn, completed, screen-failed; or add it under values.inclusion_status in the connector config`,
		},
		{
			name:      "unknown study status",
			study:     "ONCO-01;2024-A00101-11;;;;Étude fictive;990000017;100;En stand-by;02/04/2024",
			code:      "unknown-value",
			column:    "Statut",
			field:     "status",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "Statut": "En stand-by" is not a known status; fix: use one of "Clôturée", "En cours", in-preparation, approved, recruiting, suspended, closed-to-accrual, completed, terminated, withdrawn; or add it under values.status in the connector config`,
		},
		{
			name:      "bad ID-RCB",
			study:     "ONCO-01;2024-A0101-11;;;;Étude fictive;990000017;100;En cours;02/04/2024",
			code:      "bad-identifier",
			column:    "N° ID-RCB",
			field:     "id_rcb",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "N° ID-RCB": "2024-A0101-11" is not a valid ID-RCB; fix: an ID-RCB looks like 2024-A01234-56; correct it in the export`,
		},
		{
			name:      "bad EudraCT",
			study:     "ONCO-01;;2019-1234-56;;;Étude fictive;990000017;100;En cours;02/04/2024",
			code:      "bad-identifier",
			column:    "N° EudraCT",
			field:     "eudract",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "N° EudraCT": "2019-1234-56" is not a valid EudraCT number; fix: an EudraCT number looks like 2019-001234-56; correct it in the export`,
		},
		{
			name:      "bad EU CT",
			study:     "ONCO-01;;;2023-50123-12-00;;Étude fictive;990000017;100;En cours;02/04/2024",
			code:      "bad-identifier",
			column:    "N° EU CT",
			field:     "eu_ct",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "N° EU CT": "2023-50123-12-00" is not a valid EU CT number; fix: an EU CT number looks like 2023-501234-12-00; correct it in the export`,
		},
		{
			name:      "bad NCT",
			study:     "ONCO-01;;;;NCT123;Étude fictive;990000017;100;En cours;02/04/2024",
			code:      "bad-identifier",
			column:    "NCT",
			field:     "nct",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "NCT": "NCT123" is not a valid NCT number; fix: an NCT number looks like NCT01234567; correct it in the export`,
		},
		{
			name:      "bad FINESS",
			study:     "ONCO-01;2024-A00101-11;;;;Étude fictive;99000;100;En cours;02/04/2024",
			code:      "bad-identifier",
			column:    "FINESS promoteur",
			field:     "sponsor_finess",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "FINESS promoteur": "99000" is not a valid FINESS number; fix: a FINESS number has 9 characters: 9 digits, or 2A/2B followed by 7 digits; correct it in the export`,
		},
		{
			name:      "bad integer",
			study:     "ONCO-01;2024-A00101-11;;;;Étude fictive;990000017;12,5;En cours;02/04/2024",
			code:      "bad-integer",
			column:    "Objectif France",
			field:     "target_france",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "Objectif France": "12,5" is not a whole number; fix: write a whole number of subjects without decimals, e.g. 120`,
		},
		{
			name:      "no identifier",
			study:     ";;;;;Étude fictive;990000017;100;En cours;02/04/2024",
			code:      "missing-identifier",
			wantError: `chu-test etudes.csv:2: the study has no identifier; fix: fill in at least one of the columns "Code étude", "N° EU CT", "N° ID-RCB", "N° EudraCT", "NCT" (local_code, eu_ct, id_rcb, eudract, nct)`,
		},
		{
			name:      "no status",
			study:     "ONCO-01;2024-A00101-11;;;;Étude fictive;990000017;100;;02/04/2024",
			code:      "missing-value",
			column:    "Statut",
			field:     "status",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2 column "Statut": status is empty; fix: fill in the column "Statut" or set defaults.status in the connector config`,
		},
		{
			name:      "site with neither status nor date",
			study:     "ONCO-01;2024-A00101-11;;;;Étude fictive;990000017;100;En cours;",
			code:      "missing-value",
			field:     "site_status",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:2: this establishment's participation has neither a status nor any date; fix: fill in the site's status or one of its dates, or set defaults.site_status in the connector config`,
		},
		{
			name:      "wrong field count",
			incl:      "ONCO-01;FIC-1;01/02/2024",
			code:      "bad-field-count",
			wantError: `chu-test inclusions.csv:2: row has 3 fields but the header on line 1 has 4; fix: check that the file's separator is ";" (inclusions.separator) and that fields containing it are quoted`,
		},
		{
			name:      "invalid UTF-8",
			incl:      "ONCO-01;FIC-1;01/02/2024;Termin\xe9",
			code:      "bad-encoding",
			column:    "Statut patient",
			wantError: `chu-test inclusions.csv:2 column "Statut patient": value is not valid UTF-8; fix: the file is probably Windows-1252: set encoding: windows-1252 under inclusions in the connector config`,
		},
		{
			name:      "bare quote",
			incl:      `ONCO-01;FIC-"1;01/02/2024;Inclus`,
			code:      "bad-csv",
			wantError: `chu-test inclusions.csv:2: row is not valid CSV: bare " in non-quoted-field; fix: put fields that contain ";", a quote or a line break between double quotes, and double the quotes inside them ("")`,
		},
		{
			name:      "no subject id",
			incl:      "ONCO-01; ;01/02/2024;Inclus",
			code:      "missing-value",
			column:    "N° patient",
			field:     "subject_id",
			key:       "ONCO-01",
			wantError: `chu-test inclusions.csv:2 column "N° patient": subject_id is empty; fix: fill in the column "N° patient"`,
		},
		{
			name:      "unknown study",
			incl:      "CARDIO-99;FIC-1;01/02/2024;Inclus",
			code:      "unknown-study",
			column:    "Code étude",
			field:     "study_ref",
			key:       "CARDIO-99",
			wantError: `chu-test inclusions.csv:2 column "Code étude": study "CARDIO-99" is not in etudes.csv; fix: add the study to etudes.csv or correct the reference (it is matched against the studies' local_code)`,
		},
		{
			name:      "duplicate study",
			study:     smallStudyRow + "\n" + strings.Replace(smallStudyRow, "Étude fictive", "Autre titre", 1),
			code:      "duplicate-study",
			column:    "Code étude",
			field:     "local_code",
			key:       "ONCO-01",
			wantError: `chu-test etudes.csv:3 column "Code étude": study "ONCO-01" already appears on line 2; fix: keep one row per study in etudes.csv; remove or merge the duplicate`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			study := smallStudyRow
			if tc.study != "" {
				study = tc.study
			}
			// A good study and inclusion follow the bad row: the batch goes on.
			studies := []string{smallStudiesHeader, study, "CARDIO-02;;;;NCT07654321;Autre;;;Clôturée;01/01/2023"}
			incl := []string{smallInclHeader}
			if tc.incl != "" {
				incl = append(incl, tc.incl)
			}
			incl = append(incl, "CARDIO-02;FIC-2;01/02/2023;Inclus")
			dir := export(t, studies, incl)
			bs := readAll(t, newSource(t, dir, mustDecode(t, smallConfig), nil))
			rejects := allRejects(bs)
			if len(rejects) != 1 {
				t.Fatalf("got %d rejects, want 1:\n%s", len(rejects), render(bs))
			}
			r := rejects[0]
			if got := r.Error(); got != tc.wantError {
				t.Errorf("Error():\n got %s\nwant %s", got, tc.wantError)
			}
			if r.Code != tc.code || r.Column != tc.column || r.Field != tc.field || r.Prov.RecordKey != tc.key {
				t.Errorf("code, column, field, key = %q, %q, %q, %q; want %q, %q, %q, %q", r.Code, r.Column, r.Field, r.Prov.RecordKey, tc.code, tc.column, tc.field, tc.key)
			}
			if r.Prov.Source != testSource || r.Prov.Establishment != testFINESS || r.Prov.Line <= 0 || len(r.Raw) == 0 && r.Code != "bad-csv" {
				t.Errorf("provenance or raw incomplete: %+v raw=%d", r.Prov, len(r.Raw))
			}
			if strings.Contains(r.Error(), "FIC-") {
				t.Errorf("reject message leaks a subject id: %s", r.Error())
			}
			// CARDIO-02 study + site + its inclusion always get through.
			var incls int
			for _, rec := range allRecords(bs) {
				if rec.Inclusion != nil && rec.Inclusion.Study.NCT == "NCT07654321" {
					incls++
				}
			}
			if incls != 1 {
				t.Errorf("the good inclusion after the bad row was not read:\n%s", render(bs))
			}
		})
	}
}

// TestEncodings reads the same export in every encoding, separator and date
// format.
func TestEncodings(t *testing.T) {
	title := "Étude fictive de l'œsophage « Cœur »"
	latin1Title := "Étude fictive ès « œil »" // œ is not in Latin-1: replaced below
	latin1Title = strings.ReplaceAll(latin1Title, "œ", "o")
	tests := []struct {
		name     string
		encoding string
		sep      string
		bom      bool
		dates    string // date_formats YAML
		date     string // how 2024-04-02 is written
		title    string
		encode   func(string) []byte
	}{
		{"utf-8 ;", "utf-8", ";", false, "[dd/mm/yyyy]", "02/04/2024", title, utf8Bytes},
		{"utf-8 BOM ,", "utf-8", ",", true, "[yyyy-mm-dd]", "2024-04-02", title, utf8Bytes},
		{"utf-8 default encoding tab", "", "\t", true, "[dd.mm.yyyy]", "2.4.2024", title, utf8Bytes},
		{"windows-1252 ;", "windows-1252", ";", false, "[dd/mm/yyyy, yyyy-mm-dd]", "2024-04-02", title, cp1252Bytes},
		{"iso-8859-1 ,", "iso-8859-1", ",", false, "[dd-mm-yyyy]", "02-04-2024", latin1Title, latin1Bytes},
		{"latin-1 tab", "latin-1", "\t", false, "[yyyymmdd]", "20240402", latin1Title, latin1Bytes},
		{"date with time", "utf-8", ";", false, "[dd/mm/yyyy]", "02/04/2024 00:00:00", title, utf8Bytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.sep
			studies := strings.Join([]string{"Code étude", "N° ID-RCB", "Titre", "Statut", "Date d'ouverture"}, s) + "\r\n" +
				strings.Join([]string{"ONCO-01", "2024-A00101-11", `"` + tc.title + `"`, "Clôturée", tc.date}, s) + "\r\n"
			incl := strings.Join([]string{"Code étude", "N° patient", "Date d'inclusion", "Statut patient"}, s) + "\n" +
				strings.Join([]string{"ONCO-01", "FIC-1", tc.date, "Inclus"}, s) + "\n"
			dir := t.TempDir()
			for name, content := range map[string]string{"etudes.csv": studies, "inclusions.csv": incl} {
				data := tc.encode(content)
				if tc.bom {
					data = append([]byte("\xef\xbb\xbf"), data...)
				}
				writeFile(t, filepath.Join(dir, name), data)
			}
			sepYAML := fmt.Sprintf("%q", tc.sep)
			y := fmt.Sprintf(`
studies:
  path: etudes.csv
  separator: %[1]s
  encoding: %[2]q
  date_formats: %[3]s
  columns: {local_code: "Code étude", id_rcb: "N° ID-RCB", title: "Titre", status: "Statut", site_opened: "Date d'ouverture"}
inclusions:
  path: inclusions.csv
  separator: %[1]s
  encoding: %[2]q
  date_formats: %[3]s
  columns: {study_ref: "Code étude", subject_id: "N° patient", inclusion_date: "Date d'inclusion", inclusion_status: "Statut patient"}
values:
  status: {"Clôturée": completed}
  inclusion_status: {"Inclus": included}
`, sepYAML, tc.encoding, tc.dates)
			bs := readAll(t, newSource(t, dir, mustDecode(t, y), nil))
			recs := allRecords(bs)
			if rj := allRejects(bs); len(rj) > 0 || len(recs) != 3 {
				t.Fatalf("want 3 records and no reject, got:\n%s", render(bs))
			}
			want := canonical.NewDate(2024, 4, 2)
			st, site, in := recs[0].Study, recs[1].Site, recs[2].Inclusion
			if st == nil || site == nil || in == nil {
				t.Fatalf("records in wrong order:\n%s", render(bs))
			}
			if st.Title != tc.title || st.Status != canonical.StatusCompleted || site.Opened != want || in.InclusionDate != want {
				t.Errorf("got title %q status %q opened %v inclusion %v; want %q completed %v", st.Title, st.Status, site.Opened, in.InclusionDate, tc.title, want)
			}
		})
	}
}

func utf8Bytes(s string) []byte { return []byte(s) }

func cp1252Bytes(s string) []byte {
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

func latin1Bytes(s string) []byte {
	b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

// TestFatalHeader checks that a header the configuration does not match
// stops the source with the file, line and a suggestion.
func TestFatalHeader(t *testing.T) {
	tests := []struct {
		name    string
		studies string // header line of etudes.csv
		incl    string
		data    []byte // raw studies file, overrides studies
		incData []byte // raw inclusions file, overrides incl
		cfg     string // inserted under studies:
		want    string
	}{
		{
			name: "tab-separated file read with the default separator",
			data: []byte(strings.ReplaceAll(smallStudiesHeader, ";", "\t") + "\n" + strings.ReplaceAll(smallStudyRow, ";", "\t") + "\n"),
			incl: smallInclHeader,
			want: `open ctms-csv source "chu-test": etudes.csv:1: the header line looks like it is separated by TAB (studies.separator); fix: set studies.separator: "\t"`,
		},
		{
			name: "comma-separated header that is not valid CSV with the default separator",
			data: []byte(`"Code étude","N° ID-RCB","N° EudraCT","N° EU CT","NCT","Titre","FINESS promoteur","Objectif France","Statut","Date d'ouverture"` + "\n"),
			incl: smallInclHeader,
			want: `open ctms-csv source "chu-test": etudes.csv:1: the header line looks like it is separated by "," (studies.separator); fix: set studies.separator: ","` + "\n" +
				`etudes.csv:1: header is not valid CSV: extraneous or missing " in quoted-field; fix: check studies.separator and the quotes in the header`,
		},
		{
			name: "title lines before the header",
			data: []byte("Export CTMS du 02/01/2025;;\n\n" + smallStudiesHeader + "\n" + smallStudyRow + "\n"),
			incl: smallInclHeader,
			want: `open ctms-csv source "chu-test": etudes.csv:1: the headers seem to be on line 3 (studies.header_line); fix: set studies.header_line: 3`,
		},
		{
			name: "title line and tabs",
			data: []byte("Export CTMS\n" + strings.ReplaceAll(smallStudiesHeader, ";", "\t") + "\n"),
			incl: smallInclHeader,
			want: `open ctms-csv source "chu-test": etudes.csv:1: the header line looks like it is separated by TAB (studies.separator); fix: set studies.separator: "\t"` + "\n" +
				`etudes.csv:1: the headers seem to be on line 2 (studies.header_line); fix: set studies.header_line: 2`,
		},
		{
			name:    "one-cell header with tabs and unknown headers",
			studies: smallStudiesHeader,
			incData: []byte("Etude\tPatient\tDate\tStatut\n"),
			want: `open ctms-csv source "chu-test": inclusions.csv:1: the header line looks like it is separated by TAB (inclusions.separator); fix: set inclusions.separator: "\t"` + "\n" +
				`inclusions.csv:1: header has no column "Date d'inclusion" (inclusions.columns.inclusion_date); fix: correct inclusions.columns.inclusion_date in the connector config or the export's header` + "\n" +
				`inclusions.csv:1: header has no column "Statut patient" (inclusions.columns.inclusion_status); fix: correct inclusions.columns.inclusion_status in the connector config or the export's header` + "\n" +
				`inclusions.csv:1: header has no column "Code étude" (inclusions.columns.study_ref); fix: correct inclusions.columns.study_ref in the connector config or the export's header` + "\n" +
				`inclusions.csv:1: header has no column "N° patient" (inclusions.columns.subject_id); fix: correct inclusions.columns.subject_id in the connector config or the export's header`,
		},
		{
			name:    "both files wrong: studies first",
			data:    []byte("Export CTMS\n" + smallStudiesHeader + "\n"),
			incData: []byte(strings.ReplaceAll(smallInclHeader, ";", "\t") + "\n"),
			want: `open ctms-csv source "chu-test": etudes.csv:1: the headers seem to be on line 2 (studies.header_line); fix: set studies.header_line: 2` + "\n" +
				`inclusions.csv:1: the header line looks like it is separated by TAB (inclusions.separator); fix: set inclusions.separator: "\t"`,
		},
		{
			name:    "one misspelt column is not a layout problem",
			studies: strings.Replace(smallStudiesHeader, "Titre", "Titr", 1),
			incl:    smallInclHeader,
			want:    `open ctms-csv source "chu-test": etudes.csv:1: header has no column "Titre" (studies.columns.title); fix: did you mean "Titr"? correct studies.columns.title in the connector config or the export's header`,
		},
		{
			name:    "missing column with accent difference",
			studies: strings.Replace(smallStudiesHeader, "Code étude", "Code Etude", 1),
			incl:    smallInclHeader,
			want:    `open ctms-csv source "chu-test": etudes.csv:1: header has no column "Code étude" (studies.columns.local_code); fix: did you mean "Code Etude"? correct studies.columns.local_code in the connector config or the export's header`,
		},
		{
			name:    "missing column in inclusions with typo",
			studies: smallStudiesHeader,
			incl:    "Code étude;N° patiant;Date d'inclusion;Statut patient",
			want:    `open ctms-csv source "chu-test": inclusions.csv:1: header has no column "N° patient" (inclusions.columns.subject_id); fix: did you mean "N° patiant"? correct inclusions.columns.subject_id in the connector config or the export's header`,
		},
		{
			name:    "missing column without suggestion",
			studies: strings.Replace(smallStudiesHeader, ";Objectif France", "", 1),
			incl:    smallInclHeader,
			want:    `open ctms-csv source "chu-test": etudes.csv:1: header has no column "Objectif France" (studies.columns.target_france); fix: correct studies.columns.target_france in the connector config or the export's header`,
		},
		{
			name: "Windows-1252 header in a UTF-8 file",
			data: cp1252Bytes(smallStudiesHeader + "\n"),
			incl: smallInclHeader,
			want: `open ctms-csv source "chu-test": etudes.csv:1: header is not valid UTF-8 (studies.encoding); fix: the file is probably Windows-1252: set encoding: windows-1252 under studies`,
		},
		{
			name: "BOM in a file declared Windows-1252",
			data: []byte("\xef\xbb\xbf" + smallStudiesHeader + "\n"),
			incl: smallInclHeader,
			cfg:  "  encoding: windows-1252\n",
			want: `open ctms-csv source "chu-test": etudes.csv: file starts with a UTF-8 byte order mark but the encoding is windows-1252 (studies.encoding); fix: set encoding: utf-8 under studies`,
		},
		{
			name: "empty file",
			data: []byte{},
			incl: smallInclHeader,
			want: `open ctms-csv source "chu-test": etudes.csv: no header: the file has no line 1 (studies.header_line); fix: check the file is the right export and header_line is right`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := export(t, []string{tc.studies}, []string{tc.incl})
			if tc.data != nil {
				writeFile(t, filepath.Join(dir, "etudes.csv"), tc.data)
			}
			if tc.incData != nil {
				writeFile(t, filepath.Join(dir, "inclusions.csv"), tc.incData)
			}
			y := strings.Replace(smallConfig, "studies:\n", "studies:\n"+tc.cfg, 1)
			src, err := New(testSettings(dir), mustDecode(t, y))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			err = src.Open(context.Background(), nil)
			if err == nil {
				t.Fatal("Open succeeded; want a header error")
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Errorf("error is not a *HeaderError: %T", err)
			}
		})
	}
}

// TestCodedValues checks the value vocabularies: configured words ignoring
// case, accents and blanks; canonical codes directly; built-in yes/no words;
// defaults for unmapped columns and empty cells.
func TestCodedValues(t *testing.T) {
	y := `
studies:
  path: etudes.csv
  columns: {local_code: "Code", international: "Inter", status: "Statut", site_role: "Rôle", site_opened: "Ouverture"}
inclusions:
  path: inclusions.csv
  columns: {study_ref: "Code", subject_id: "Patient", inclusion_date: "Date"}
values:
  status: {"En cours": recruiting, "Clôturée": completed}
  site_role: {"Promoteur": sponsor-site}
defaults:
  site_role: investigating-site
  inclusion_status: included
`
	dir := export(t, []string{
		"Code;Inter;Statut;Rôle;Ouverture",
		"A-1;OUI;  en COURS ;promoteur;01/01/2024",
		"A-2;non;CLOTUREE;;01/01/2024",
		"A-3;1;closed-to-accrual;Investigating-Site;01/01/2024",
		"A-4;;Recruiting;;01/01/2024",
	}, []string{"Code;Patient;Date", "a-1;P1;01/01/2024"})
	bs := readAll(t, newSource(t, dir, mustDecode(t, y), nil))
	type got struct {
		Inter  string // "true", "false" or "unknown"
		Status canonical.StudyStatus
		Role   canonical.SiteRole
	}
	var gots []got
	var incl []canonical.InclusionStatus
	for _, r := range allRecords(bs) {
		switch {
		case r.Study != nil:
			gots = append(gots, got{Inter: triState(r.Study.International), Status: r.Study.Status})
		case r.Site != nil:
			gots[len(gots)-1].Role = r.Site.Role
		case r.Inclusion != nil:
			incl = append(incl, r.Inclusion.Status)
		}
	}
	want := []got{
		{"true", canonical.StatusRecruiting, canonical.RoleSponsorSite},
		{"false", canonical.StatusCompleted, canonical.RoleInvestigatingSite},
		{"true", canonical.StatusClosedToAccrual, canonical.RoleInvestigatingSite},
		{"unknown", canonical.StatusRecruiting, canonical.RoleInvestigatingSite}, // empty cell, no default: not "false"
	}
	if d := cmp.Diff(want, gots); d != "" || len(allRejects(bs)) > 0 {
		t.Errorf("studies (-want +got):\n%s\n%s", d, render(bs))
	}
	if d := cmp.Diff([]canonical.InclusionStatus{canonical.InclIncluded}, incl); d != "" {
		t.Errorf("inclusion status from default (-want +got):\n%s", d)
	}
}

func triState(b *bool) string {
	if b == nil {
		return "unknown"
	}
	return strconv.FormatBool(*b)
}

// TestInferredValues checks what the connector says when the export has no
// site_role or international column: the site role follows the sponsor's
// FINESS (this establishment's FINESS: sponsor site, else investigating
// site), international stays unknown; a default or a filled column wins.
func TestInferredValues(t *testing.T) {
	studies := []string{
		"Code;FINESS promoteur;Statut;Ouverture",
		"A-1;" + testFINESS + ";En cours;01/01/2024", // this establishment is the sponsor
		"A-2;990000025;En cours;01/01/2024",          // another establishment is
		"A-3;;En cours;01/01/2024",                   // sponsor unknown
	}
	base := `
studies:
  path: etudes.csv
  columns: {local_code: "Code", sponsor_finess: "FINESS promoteur", status: "Statut", site_opened: "Ouverture"%s}
inclusions:
  path: inclusions.csv
  columns: {study_ref: "Code", subject_id: "Patient", inclusion_date: "Date", inclusion_status: "Statut"}
values:
  status: {"En cours": recruiting}
  inclusion_status: {"Inclus": included}
  site_role: {"Promoteur": sponsor-site}
`
	incl := []string{"Code;Patient;Date;Statut", "A-1;P1;01/01/2024;Inclus"}
	type got struct {
		Role  canonical.SiteRole
		Inter string
	}
	sp, inv := canonical.RoleSponsorSite, canonical.RoleInvestigatingSite
	for _, tc := range []struct {
		name    string
		cols    string // extra studies.columns
		extra   string // extra config
		studies []string
		want    []got
	}{
		{"inferred", "", "", studies, []got{{sp, "unknown"}, {inv, "unknown"}, {inv, "unknown"}}},
		{"defaults win", "", "defaults: {site_role: investigating-site, international: \"oui\"}\n", studies,
			[]got{{inv, "true"}, {inv, "true"}, {inv, "true"}}},
		{"column wins, empty cell inferred", `, site_role: "Rôle", international: "Inter"`, "",
			[]string{
				"Code;FINESS promoteur;Statut;Ouverture;Rôle;Inter",
				"A-1;" + testFINESS + ";En cours;01/01/2024;investigating-site;non",
				"A-2;990000025;En cours;01/01/2024;Promoteur;",
				"A-3;;En cours;01/01/2024;;oui",
			},
			[]got{{inv, "false"}, {sp, "unknown"}, {inv, "true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := fmt.Sprintf(base, tc.cols) + tc.extra
			bs := readAll(t, newSource(t, export(t, tc.studies, incl), mustDecode(t, y), nil))
			var gots []got
			for _, r := range allRecords(bs) {
				switch {
				case r.Study != nil:
					gots = append(gots, got{Inter: triState(r.Study.International)})
				case r.Site != nil:
					gots[len(gots)-1].Role = r.Site.Role
				}
			}
			if d := cmp.Diff(tc.want, gots); d != "" || len(allRejects(bs)) > 0 {
				t.Errorf("(-want +got):\n%s\n%s", d, render(bs))
			}
		})
	}
}

// TestStudyRefByNCT matches inclusions to studies by NCT number, whatever
// its case, and gives them the study's identifiers.
func TestStudyRefByNCT(t *testing.T) {
	dir := export(t, []string{smallStudiesHeader, "ONCO-01;2024-A00101-11;;;nct01234567;T;990000017;;En cours;02/04/2024"},
		[]string{smallInclHeader, "NCT01234567;FIC-1;03/04/2024;Inclus", " nct01234567 ;FIC-2;03/04/2024;Inclus"})
	bs := readAll(t, newSource(t, dir, mustDecode(t, smallConfig+"study_ref: nct\n"), nil))
	want := canonical.Identifiers{IDRCB: "2024-A00101-11", NCT: "NCT01234567", SponsorCode: "ONCO-01", SponsorKey: "990000017"}
	var n int
	for _, r := range allRecords(bs) {
		if r.Inclusion != nil {
			n++
			if d := cmp.Diff(want, r.Inclusion.Study); d != "" {
				t.Errorf("inclusion study (-want +got):\n%s", d)
			}
		}
	}
	if n != 2 || len(allRejects(bs)) != 0 {
		t.Errorf("want 2 inclusions and no reject:\n%s", render(bs))
	}
}

// TestSiteStatusInferredFromDates: without a site status column, a site
// gets the status its dates imply, so that the mapping (which requires a
// status) does not reject it.
func TestSiteStatusInferredFromDates(t *testing.T) {
	studies := []string{
		"Code;Statut;Ouverture;Fermeture;Contrat",
		"A-1;En cours;01/01/2024;;",
		"A-2;En cours;01/01/2022;31/12/2023;",
		"A-3;En cours;;;05/05/2024",
	}
	y := `
studies:
  path: etudes.csv
  columns: {local_code: "Code", status: "Statut", site_opened: "Ouverture", site_closed: "Fermeture", site_contract_signed: "Contrat"}
inclusions:
  path: inclusions.csv
  columns: {study_ref: "Code", subject_id: "Patient", inclusion_date: "Date", inclusion_status: "Statut"}
values:
  status: {"En cours": recruiting}
  inclusion_status: {"Inclus": included}
`
	incl := []string{"Code;Patient;Date;Statut", "A-1;P1;01/02/2024;Inclus"}
	bs := readAll(t, newSource(t, export(t, studies, incl), mustDecode(t, y), nil))
	var got []canonical.StudyStatus
	for _, r := range allRecords(bs) {
		if r.Site != nil {
			got = append(got, r.Site.Status)
		}
	}
	want := []canonical.StudyStatus{canonical.StatusRecruiting, canonical.StatusCompleted, canonical.StatusApproved}
	if d := cmp.Diff(want, got); d != "" || len(allRejects(bs)) > 0 {
		t.Errorf("(-want +got):\n%s\n%s", d, render(bs))
	}
}
