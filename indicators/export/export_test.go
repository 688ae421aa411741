package export

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Fictional establishments.
const (
	estA = "350000007"
	estB = "690000008"
)

// fakeState is a small fictional national state.
type fakeState struct {
	sites    []store.SiteStudy
	versions map[string][]store.NationalStudy
	subjects []store.Subject // only Establishment, SiteStudyID, InclusionDate, Status
	calls    int             // NationalStudyVersions calls
}

func (f *fakeState) SiteStudies(context.Context) ([]store.SiteStudy, error) { return f.sites, nil }

func (f *fakeState) NationalStudyVersions(_ context.Context, id string) ([]store.NationalStudy, error) {
	f.calls++
	return f.versions[id], nil
}

func (f *fakeState) InclusionCounts(_ context.Context, from, to string) ([]store.InclusionCount, error) {
	n := map[[2]string]int64{}
	for _, s := range f.subjects {
		if s.InclusionDate >= from && s.InclusionDate <= to && s.Status != "screen-failed" {
			n[[2]string{s.Establishment, s.SiteStudyID}]++
		}
	}
	var out []store.InclusionCount
	for k, c := range n {
		out = append(out, store.InclusionCount{Establishment: k[0], SiteStudyID: k[1], Count: c})
	}
	return out, nil
}

func newFakeState() *fakeState {
	return &fakeState{
		sites: []store.SiteStudy{
			// Open 2023-2024 at A, with inclusions in 2024.
			{Establishment: estA, ID: "ss-a1", NationalID: "st-1", Role: "sponsor-site", Opened: "2023-03-01", FirstInclusion: "2023-04-02", Closed: ""},
			// Opened and closed in 2023 at A: nothing in 2024.
			{Establishment: estA, ID: "ss-a2", NationalID: "st-2", Role: "investigating-site", Opened: "2023-01-10", Closed: "2023-11-30"},
			// B's site of study 1.
			{Establishment: estB, ID: "ss-b1", NationalID: "st-1", Role: "investigating-site", Opened: "2024-06-15"},
		},
		versions: map[string][]store.NationalStudy{
			"st-1": {
				{Establishment: estA, ID: "st-1", SponsorFINESS: estA, SponsorType: "academic", Category: "RIPH1", Phase: "II",
					Identifiers: []store.Identifier{{System: mapping.SystemIDRCB, Value: "2023-A01234-56"}, {System: mapping.SystemNCT, Value: "NCT01234567"}},
					JSON:        []byte(`{"resourceType":"ResearchStudy","title":"Étude pédiatrique « Hôpital » ; phase II"}`)},
				{Establishment: estB, ID: "st-1", SponsorFINESS: estA, SponsorType: "industry", Category: "RIPH2", Phase: "III",
					JSON: []byte(`{"title":"wrong version"}`)},
			},
			"st-2": {{Establishment: estA, ID: "st-2", SponsorType: "industry", Category: "CTR", Phase: "I/II",
				Identifiers: []store.Identifier{{System: mapping.SystemEUCT, Value: "2023-501234-12-00"}}}},
		},
		subjects: []store.Subject{
			{Establishment: estA, SiteStudyID: "ss-a1", InclusionDate: "2023-04-02", Status: "included"},
			{Establishment: estA, SiteStudyID: "ss-a1", InclusionDate: "2024-02-01", Status: "included"},
			{Establishment: estA, SiteStudyID: "ss-a1", InclusionDate: "2024-03-01", Status: "withdrawn"},
			{Establishment: estA, SiteStudyID: "ss-a1", InclusionDate: "2024-03-05", Status: "screen-failed"},
			// On a site study nobody reported: still counted for A.
			{Establishment: estA, SiteStudyID: "ss-unknown", InclusionDate: "2024-05-05", Status: "included"},
			{Establishment: estB, SiteStudyID: "ss-b1", InclusionDate: "2024-07-01", Status: "included"},
		},
	}
}

type fakeSummary []indicators.Row

func (f fakeSummary) Summary(_ context.Context, years []int) ([]indicators.Row, error) {
	var out []indicators.Row
	for _, y := range years {
		for _, r := range f {
			if r.Year == y {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

var fakeRows = fakeSummary{
	{Year: 2023, Establishment: estA, A1: indicators.Pair{Site: 2, Sponsor: 1}, A2: indicators.Pair{Site: 2, Sponsor: 1}, A3: 1, A4: 1},
	{Year: 2024, Establishment: estA, A1: indicators.Pair{Site: 1, Sponsor: 1}, A3: 3, A4: 3},
	{Year: 2024, Establishment: estB, A1: indicators.Pair{Site: 1}, A2: indicators.Pair{Site: 1}, A3: 1},
}

func tables(t *testing.T) []Table {
	t.Helper()
	ctx := context.Background()
	ind, err := Indicators(ctx, fakeRows, []int{2023, 2024}, "")
	if err != nil {
		t.Fatal(err)
	}
	decl, err := DeclarationTable(ctx, newFakeState(), []int{2023, 2024}, "")
	if err != nil {
		t.Fatal(err)
	}
	return []Table{ind, decl}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

func TestGolden(t *testing.T) {
	for _, tb := range tables(t) {
		t.Run(tb.Name, func(t *testing.T) {
			var js, cs bytes.Buffer
			if err := WriteJSON(&js, tb); err != nil {
				t.Fatal(err)
			}
			golden(t, tb.Name+".json", js.Bytes())
			if err := WriteCSV(&cs, tb, CSVOptions{BOM: true}); err != nil {
				t.Fatal(err)
			}
			golden(t, tb.Name+".csv", cs.Bytes())
		})
	}
}

// The declaration shows what is counted: lines only for years where the
// site is open, opened or has inclusions; the sponsor's version of the
// study; screen failures excluded; unknown site studies visible.
func TestDeclarationContent(t *testing.T) {
	st := newFakeState()
	tb, err := DeclarationTable(context.Background(), st, []int{2024}, estA)
	if err != nil {
		t.Fatal(err)
	}
	col := func(key string) int {
		for j, c := range tb.Columns {
			if c.Key == key {
				return j
			}
		}
		t.Fatalf("no column %q", key)
		return -1
	}
	type line struct{ site, idrcb, title, category, active, openedIn string }
	var got []line
	var incl []int64
	for _, r := range tb.Rows {
		if r[col("establishment")].Str != estA || r[col("year")].Int != 2024 {
			t.Errorf("line of another establishment or year: %v", r)
		}
		got = append(got, line{r[col("site_study_id")].Str, r[col("id_rcb")].Str, r[col("title")].Str, r[col("category")].Str,
			r[col("active")].Str, r[col("opened_in_year")].Str})
		incl = append(incl, r[col("inclusions")].Int)
	}
	want := []line{
		{"ss-unknown", "", "", "", "", ""},
		{"ss-a1", "2023-A01234-56", "Étude pédiatrique « Hôpital » ; phase II", "RIPH1", "oui", "non"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(line{})); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{1, 2}, incl); diff != "" {
		t.Errorf("inclusions (-want +got):\n%s", diff)
	}
	if st.calls != 1 {
		t.Errorf("NationalStudyVersions called %d times, want 1 (st-1 only)", st.calls)
	}
}

// CSV with BOM and ';', and XLSX, read back equal to what JSON says.
func TestRoundTrip(t *testing.T) {
	for _, tb := range append(tables(t), floatTable()) {
		var want bytes.Buffer
		if err := WriteJSON(&want, tb); err != nil {
			t.Fatal(err)
		}
		for _, o := range []CSVOptions{{BOM: true}, {}, {Separator: ',', BOM: true}, {DecimalComma: true, BOM: true}} {
			t.Run(tb.Name+"/csv", func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteCSV(&b, tb, o); err != nil {
					t.Fatal(err)
				}
				back, err := ReadCSV(bytes.NewReader(b.Bytes()), tb.Name, tb.Columns, o)
				if err != nil {
					t.Fatal(err)
				}
				sameJSON(t, want.String(), back)
			})
		}
		t.Run(tb.Name+"/xlsx", func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteXLSX(&b, tb); err != nil {
				t.Fatal(err)
			}
			back, err := ReadXLSX(bytes.NewReader(b.Bytes()), tb.Name, tb.Columns)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, want.String(), back)
		})
	}
}

func sameJSON(t *testing.T, want string, back Table) {
	t.Helper()
	var got bytes.Buffer
	if err := WriteJSON(&got, back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.String()); diff != "" {
		t.Errorf("read back differs from the JSON (-want +got):\n%s", diff)
	}
}

func floatTable() Table {
	return Table{Name: "scores", Columns: []Column{{"label", "Libellé", KindText}, {"score", "Score (√ inclusions)", KindFloat}, {"n", "Nombre", KindInt}},
		Rows: [][]Value{{Text("a;b \"c\"\nd"), Float(3.5), Int(-2)}, {Text(""), Null(), Null()}, {Text("=1+1"), Float(1e-7), Int(0)}}}
}

// Bytes as French Excel needs them: BOM first, ';' between fields, CRLF,
// accents in UTF-8, decimal comma when asked.
func TestCSVBytes(t *testing.T) {
	tb := floatTable()
	tests := []struct {
		name string
		o    CSVOptions
		want string
	}{
		{"bom-semicolon", CSVOptions{BOM: true}, "\xEF\xBB\xBFLibellé;Score (√ inclusions);Nombre\r\n\"a;b \"\"c\"\"\r\nd\";3.5;-2\r\n;;\r\n=1+1;0.0000001;0\r\n"},
		{"no-bom-decimal-comma", CSVOptions{DecimalComma: true}, "Libellé;Score (√ inclusions);Nombre\r\n\"a;b \"\"c\"\"\r\nd\";3,5;-2\r\n;;\r\n=1+1;0,0000001;0\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteCSV(&b, tb, tt.o); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestXLSXNumbersAreNumbers(t *testing.T) {
	tb := tables(t)[0]
	var b bytes.Buffer
	if err := WriteXLSX(&b, tables(t)...); err != nil {
		t.Fatal(err)
	}
	// Reading the A3 column as text works; reading the establishment
	// (stored as text) as a number must fail: the reader checks cell types.
	cols := append([]Column(nil), tb.Columns...)
	cols[0].Kind = KindInt
	_, err := ReadXLSX(bytes.NewReader(b.Bytes()), tb.Name, cols)
	if err == nil || !strings.Contains(err.Error(), "not a numeric cell") {
		t.Fatalf("establishment read as a number: got %v, want a not-numeric error", err)
	}
	// Both sheets are there.
	if _, err := ReadXLSX(bytes.NewReader(b.Bytes()), "declaration", DeclarationColumns); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	good := floatTable()
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"ragged row", func() error {
			return WriteJSON(&bytes.Buffer{}, Table{Name: "x", Columns: good.Columns, Rows: [][]Value{{Text("a")}}})
		}, "1 values for 3 columns"},
		{"wrong kind", func() error {
			return WriteCSV(&bytes.Buffer{}, Table{Name: "x", Columns: good.Columns, Rows: [][]Value{{Int(1), Null(), Null()}}}, CSVOptions{})
		}, `column "label": int value in a text column`},
		{"decimal comma with comma separator", func() error {
			return WriteCSV(&bytes.Buffer{}, good, CSVOptions{Separator: ',', DecimalComma: true})
		}, "decimal comma needs a separator other than ','"},
		{"bad sheet name", func() error { return WriteXLSX(&bytes.Buffer{}, Table{Name: "a/b", Columns: good.Columns}) }, "not a valid sheet name"},
		{"duplicate sheet", func() error { return WriteXLSX(&bytes.Buffer{}, good, good) }, `two tables named "scores"`},
		{"csv header", func() error {
			_, err := ReadCSV(strings.NewReader("Libelle;Score (√ inclusions);Nombre\r\n"), "x", good.Columns, CSVOptions{})
			return err
		}, `header column 1 is "Libelle", want "Libellé"`},
		{"csv number", func() error {
			_, err := ReadCSV(strings.NewReader("Libellé;Score (√ inclusions);Nombre\r\na;1;deux\r\n"), "x", good.Columns, CSVOptions{})
			return err
		}, `line 2 column "Nombre": "deux" is not a whole number`},
		{"declaration year", func() error {
			_, err := DeclarationTable(context.Background(), newFakeState(), []int{24}, "")
			return err
		}, "year 24 out of range"},
		{"summary failure", func() error {
			_, err := Indicators(context.Background(), failing{}, []int{2024}, "")
			return err
		}, "export: indicators: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

type failing struct{}

func (failing) Summary(context.Context, []int) ([]indicators.Row, error) {
	return nil, errors.New("boom")
}
