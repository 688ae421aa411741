package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/indicators/export"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

// exportStore fills a SQLite national store the way the aggregator does:
// canonical records of a fictional establishment mapped to FHIR by
// mapping.Mapper and consumed by indicators.Service.Handle.
func exportStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	const est = "350000007"
	key, err := mapping.NewPseudonymKey("k1", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.NewMapper(est, key)
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) canonical.Date {
		x, err := canonical.ParseISODate(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	ids := canonical.Identifiers{IDRCB: "2023-A01234-56", NCT: "NCT01234567"}
	recs := []canonical.Record{
		{Study: &canonical.Study{IDs: ids, Title: "Étude « Hôpital » fictive", SponsorName: "CHU fictif", SponsorFINESS: est,
			SponsorType: canonical.SponsorAcademic, Category: canonical.CatRIPH1, Phase: canonical.PhaseII, Status: canonical.StatusRecruiting}},
		{Site: &canonical.Site{Study: ids, Establishment: est, Role: canonical.RoleSponsorSite, Opened: d("2023-03-01"), Status: canonical.StatusRecruiting}},
		{Inclusion: &canonical.Inclusion{Study: ids, Establishment: est, LocalSubjectID: "S-001", InclusionDate: d("2024-02-01"), Status: canonical.InclIncluded}},
		{Inclusion: &canonical.Inclusion{Study: ids, Establishment: est, LocalSubjectID: "S-002", InclusionDate: d("2024-03-01"), Status: canonical.InclWithdrawn}},
		{Inclusion: &canonical.Inclusion{Study: ids, Establishment: est, LocalSubjectID: "S-003", InclusionDate: d("2024-03-02"), Status: canonical.InclScreenFailed}},
	}
	var srecs []stream.Record
	next := map[string]int64{}
	for _, r := range recs {
		res, err := m.Map(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range res {
			topic := stream.Topic(est, x.Type)
			srecs = append(srecs, stream.Record{Topic: topic, Offset: next[topic], Key: []byte(x.ID), Value: x.JSON})
			next[topic]++
		}
	}
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "n.db")
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := indicators.New(st).Handle(ctx, srecs); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func TestExport(t *testing.T) {
	dsn := exportStore(t)
	dir := t.TempDir()

	// JSON of the declaration, on stdout.
	out, err := run(t, "export", "--log-level", "error", "--db", dsn, "--year", "2024", "--establishment", "350000007", "--table", "declaration", "--format", "json")
	if err != nil {
		t.Fatalf("export json: %v\n%s", err, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0]["id_rcb"] != "2023-A01234-56" || rows[0]["title"] != "Étude « Hôpital » fictive" ||
		rows[0]["inclusions"] != 2.0 || rows[0]["role"] != "sponsor-site" || rows[0]["active"] != "oui" {
		t.Fatalf("declaration: %s", out)
	}
	if strings.Contains(out, "S-00") {
		t.Fatalf("a local subject id leaked into the export:\n%s", out)
	}

	// The same as CSV with BOM and as XLSX, read back equal to the JSON.
	csvPath, xlsxPath := filepath.Join(dir, "d.csv"), filepath.Join(dir, "d.xlsx")
	for _, args := range [][]string{{"--format", "csv", "--bom", "--out", csvPath}, {"--format", "xlsx", "--out", xlsxPath}} {
		base := []string{"export", "--log-level", "error", "--db", dsn, "--year", "2024", "--establishment", "350000007", "--table", "declaration"}
		if o, err := run(t, append(base, args...)...); err != nil {
			t.Fatalf("export %v: %v\n%s", args, err, o)
		}
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBFÉtablissement (FINESS);Année;")) {
		t.Fatalf("csv does not start with the BOM and the French header: %q", b[:min(len(b), 60)])
	}
	fromCSV, err := export.ReadCSV(bytes.NewReader(b), "declaration-350000007", export.DeclarationColumns, export.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(xlsxPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromXLSX, err := export.ReadXLSX(f, "declaration-350000007", export.DeclarationColumns)
	if err != nil {
		t.Fatal(err)
	}
	for name, tb := range map[string]export.Table{"csv": fromCSV, "xlsx": fromXLSX} {
		var js bytes.Buffer
		if err := export.WriteJSON(&js, tb); err != nil {
			t.Fatal(err)
		}
		if js.String() != out {
			t.Errorf("%s read back differs from the JSON export:\n%s\nwant\n%s", name, js.String(), out)
		}
	}

	// Indicators, national: A3 = 2 (screen failure excluded), A4 = 2.
	out, err = run(t, "export", "--log-level", "error", "--db", dsn, "--year", "2023,2024", "--format", "json")
	if err != nil {
		t.Fatalf("export indicators: %v\n%s", err, out)
	}
	want := `[
  {"establishment": "350000007", "year": 2023, "a1_site": 1, "a1_sponsor": 1, "a2_site": 1, "a2_sponsor": 1, "a3": 0, "a4": 0},
  {"establishment": "350000007", "year": 2024, "a1_site": 1, "a1_sponsor": 1, "a2_site": 0, "a2_sponsor": 0, "a3": 2, "a4": 2}
]
`
	if out != want {
		t.Errorf("indicators:\n%s\nwant\n%s", out, want)
	}
}

func TestExportFlagErrors(t *testing.T) {
	dsn := exportStore(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--year", "24"}, `--year "24": "24" is not a year`},
		{[]string{"--year", "2024", "--format", "ods"}, `--format "ods"`},
		{[]string{"--year", "2024", "--format", "json", "--bom"}, "--bom only applies to --format csv"},
		{[]string{"--year", "2024", "--table", "scores"}, `--table "scores"`},
		{[]string{}, `required flag(s) "year" not set`},
	}
	for _, tt := range tests {
		_, err := run(t, append([]string{"export", "--db", dsn}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
