package export

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
)

// Summarizer computes indicator rows; *indicators.Service implements it.
type Summarizer interface {
	Summary(ctx context.Context, years []int) ([]indicators.Row, error)
}

// StateReader is the part of store.Store the declaration table reads.
type StateReader interface {
	SiteStudies(ctx context.Context) ([]store.SiteStudy, error)
	NationalStudyVersions(ctx context.Context, id string) ([]store.NationalStudy, error)
	InclusionCounts(ctx context.Context, from, to string) ([]store.InclusionCount, error)
}

var _ StateReader = store.Store(nil)
var _ Summarizer = (*indicators.Service)(nil)

// Column keys shared by the tables.
const (
	keyEstablishment = "establishment"
	keyYear          = "year"
)

// IndicatorColumns are the columns of IndicatorsTable.
var IndicatorColumns = []Column{
	{keyEstablishment, "Établissement (FINESS)", KindText},
	{keyYear, "Année", KindInt},
	{"a1_site", "A1 Études actives (investigateur)", KindInt},
	{"a1_sponsor", "A1 Études actives (promoteur)", KindInt},
	{"a2_site", "A2 Sites ouverts dans l'année (investigateur)", KindInt},
	{"a2_sponsor", "A2 Nouvelles études (promoteur)", KindInt},
	{"a3", "A3 Inclusions (investigateur)", KindInt},
	{"a4", "A4 Inclusions (promoteur)", KindInt},
}

// IndicatorsTable lays out A1–A4 with one line per establishment and year,
// in the order of rows.
func IndicatorsTable(rows []indicators.Row) Table {
	t := Table{Name: "indicateurs", Columns: IndicatorColumns, Rows: make([][]Value, 0, len(rows))}
	for _, r := range rows {
		t.Rows = append(t.Rows, []Value{Text(r.Establishment), Int(int64(r.Year)),
			Int(r.A1.Site), Int(r.A1.Sponsor), Int(r.A2.Site), Int(r.A2.Sponsor), Int(r.A3), Int(r.A4)})
	}
	return t
}

// Indicators computes the indicators of years and lays them out; with
// establishment set, only that establishment's lines are kept.
func Indicators(ctx context.Context, s Summarizer, years []int, establishment string) (Table, error) {
	rows, err := s.Summary(ctx, years)
	if err != nil {
		return Table{}, fmt.Errorf("export: indicators: %w", err)
	}
	if establishment != "" {
		rows = slices.DeleteFunc(rows, func(r indicators.Row) bool { return r.Establishment != establishment })
	}
	return IndicatorsTable(rows), nil
}

// DeclarationColumns are the columns of DeclarationTable.
var DeclarationColumns = []Column{
	{keyEstablishment, "Établissement (FINESS)", KindText},
	{keyYear, "Année", KindInt},
	{"study_id", "Étude (identifiant national it4ct)", KindText},
	{"site_study_id", "Participation du site (identifiant it4ct)", KindText},
	{"euct", "N° EU CT", KindText},
	{"id_rcb", "ID-RCB", KindText},
	{"eudract", "N° EudraCT", KindText},
	{"nct", "N° NCT", KindText},
	{"sponsor_code", "Code promoteur", KindText},
	{"title", "Titre", KindText},
	{"category", "Catégorie", KindText},
	{"phase", "Phase", KindText},
	{"sponsor_type", "Type de promoteur", KindText},
	{"sponsor_finess", "Promoteur (FINESS)", KindText},
	{"role", "Rôle de l'établissement", KindText},
	{"site_opened", "Ouverture du site", KindText},
	{"first_inclusion", "Première inclusion", KindText},
	{"site_closed", "Clôture du site", KindText},
	{"active", "Active dans l'année (A1)", KindText},
	{"opened_in_year", "Ouverte dans l'année (A2)", KindText},
	{"inclusions", "Inclusions dans l'année (A3)", KindInt},
}

// DeclarationTable is the SIGREC-style declaration of establishment (every
// establishment when ""), for each year: one line per site-level study of
// the establishment that is open that year, opened that year or has
// inclusions that year, with the study's identifiers and characteristics
// (from the preferred version of its national study: the sponsor's own, else
// the lowest FINESS's, as the indicators use), the site's dates and the
// inclusions the establishment reported that year (screen failures
// excluded). Inclusions on a site-level study the store does not know still
// count for A3; they get a line with the site study id only, so the DRCI sees
// what to fix. Lines are ordered by establishment, year, study, site study.
func DeclarationTable(ctx context.Context, st StateReader, years []int, establishment string) (Table, error) {
	sites, err := st.SiteStudies(ctx)
	if err != nil {
		return Table{}, fmt.Errorf("export: declaration: %w", err)
	}
	type key struct{ est, id string }
	siteOf := map[key]store.SiteStudy{}
	var mine []store.SiteStudy
	for _, s := range sites {
		if establishment == "" || s.Establishment == establishment {
			siteOf[key{s.Establishment, s.ID}] = s
			mine = append(mine, s)
		}
	}
	studies := map[string]*studyInfo{}
	info := func(id string) (*studyInfo, error) {
		if id == "" {
			return &studyInfo{}, nil
		}
		if si, ok := studies[id]; ok {
			return si, nil
		}
		vs, err := st.NationalStudyVersions(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("export: declaration: %w", err)
		}
		si := newStudyInfo(vs)
		studies[id] = si
		return si, nil
	}

	t := Table{Name: "declaration", Columns: DeclarationColumns, Rows: [][]Value{}}
	type line struct {
		est, study, site string
		year             int
		row              []Value
	}
	var lines []line
	for _, y := range years {
		if y < 1900 || y > 9999 {
			return Table{}, fmt.Errorf("export: declaration: year %d out of range", y)
		}
		from, to := strconv.Itoa(y)+"-01-01", strconv.Itoa(y)+"-12-31"
		counts, err := st.InclusionCounts(ctx, from, to)
		if err != nil {
			return Table{}, fmt.Errorf("export: declaration: year %d: %w", y, err)
		}
		incl := map[key]int64{}
		for _, c := range counts {
			if establishment == "" || c.Establishment == establishment {
				incl[key{c.Establishment, c.SiteStudyID}] += c.Count
			}
		}
		for _, s := range mine {
			open := s.Opened != "" && s.Opened <= to && (s.Closed == "" || s.Closed >= from)
			openedIn := s.Opened >= from && s.Opened <= to
			n := incl[key{s.Establishment, s.ID}]
			if !open && !openedIn && n == 0 {
				continue
			}
			si, err := info(s.NationalID)
			if err != nil {
				return Table{}, err
			}
			lines = append(lines, line{s.Establishment, s.NationalID, s.ID, y, []Value{
				Text(s.Establishment), Int(int64(y)), Text(s.NationalID), Text(s.ID),
				Text(si.euct), Text(si.idrcb), Text(si.eudract), Text(si.nct), Text(si.sponsorCode), Text(si.title),
				Text(si.category), Text(si.phase), Text(si.sponsorType), Text(si.sponsorFINESS),
				Text(s.Role), Text(s.Opened), Text(s.FirstInclusion), Text(s.Closed),
				Text(yesNo(open)), Text(yesNo(openedIn)), Int(n),
			}})
		}
		for k, n := range incl {
			if _, known := siteOf[k]; known || n == 0 {
				continue
			}
			row := make([]Value, len(DeclarationColumns))
			for j := range row {
				row[j] = Text("")
			}
			row[0], row[1], row[3] = Text(k.est), Int(int64(y)), Text(k.id)
			row[len(row)-1] = Int(n)
			lines = append(lines, line{k.est, "", k.id, y, row})
		}
	}
	slices.SortFunc(lines, func(a, b line) int {
		return cmp.Or(cmp.Compare(a.est, b.est), cmp.Compare(a.year, b.year), cmp.Compare(a.study, b.study), cmp.Compare(a.site, b.site))
	})
	for _, l := range lines {
		t.Rows = append(t.Rows, l.row)
	}
	return t, nil
}

func yesNo(b bool) string {
	if b {
		return "oui"
	}
	return "non"
}

// studyInfo is what the declaration shows of a national study.
type studyInfo struct {
	euct, idrcb, eudract, nct, sponsorCode, title string
	category, phase, sponsorType, sponsorFINESS   string
}

func newStudyInfo(vs []store.NationalStudy) *studyInfo {
	p, ok := indicators.Preferred(vs)
	if !ok {
		return &studyInfo{}
	}
	si := &studyInfo{category: p.Category, phase: p.Phase, sponsorType: p.SponsorType, sponsorFINESS: p.SponsorFINESS}
	for _, x := range p.Identifiers {
		var dst *string
		switch x.System {
		case mapping.SystemEUCT:
			dst = &si.euct
		case mapping.SystemIDRCB:
			dst = &si.idrcb
		case mapping.SystemEudraCT:
			dst = &si.eudract
		case mapping.SystemNCT, mapping.SystemNCTLegacy:
			dst = &si.nct
		case mapping.SystemSponsorCode:
			dst = &si.sponsorCode
		default:
			continue
		}
		if *dst == "" {
			*dst = x.Value
		}
	}
	var doc struct {
		Title string `json:"title"`
	}
	if json.Unmarshal(p.JSON, &doc) == nil {
		si.title = doc.Title
	}
	return si
}
