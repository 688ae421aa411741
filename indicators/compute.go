package indicators

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fr-it4ct/it4ct/store"
)

// Pair is an indicator seen from the investigating site and from the sponsor.
type Pair struct {
	Site    int64 `json:"site"`
	Sponsor int64 `json:"sponsor"`
}

// Row holds indicators A1–A4 of one establishment for one calendar year
// (domain/sigrec.md, "A. Activity"):
//
//   - A1 active studies. Site: distinct reconciled studies with a site of E
//     open in Y. Sponsor: distinct reconciled studies sponsored by E with any
//     known site (any establishment) open in Y.
//
// A study is a reconciled study (Reconcile): national ids that share an
// identifier count once, and its sponsor is that of the preferred version
// across all of them.
//   - A2 new studies. Site: sites of E opened in Y. Sponsor: studies
//     sponsored by E whose earliest known site opening falls in Y.
//   - A3 site inclusions: inclusions reported by E with inclusion date in Y,
//     screen failures excluded (withdrawn subjects count).
//   - A4 sponsor inclusions: inclusions in Y at all sites of studies
//     sponsored by E, screen failures excluded.
//
// A site is open in Y when it opened on or before 31 Dec Y and has no closing
// date or closed on or after 1 Jan Y; a site without an opening date is never
// open.
type Row struct {
	Year          int        `json:"year"`
	Establishment string     `json:"establishment"`
	A1            Pair       `json:"a1"`
	A2            Pair       `json:"a2"`
	A3            int64      `json:"a3"`
	A4            int64      `json:"a4"`
	ComputedAt    *time.Time `json:"computed_at,omitempty"`
}

// AllRows is the answer for every establishment at once.
type AllRows struct {
	Year           int       `json:"year"`
	ComputedAt     time.Time `json:"computed_at"`
	Establishments []Row     `json:"establishments"`
}

// national is the state the indicators read, loaded once per query.
type national struct {
	rec     Reconciliation    // national study id -> reconciled study key
	sponsor map[string]string // reconciled study key -> sponsor FINESS of the preferred version ("" unknown)
	sites   []store.SiteStudy
	siteOf  map[[2]string]*store.SiteStudy // (establishment, id)
	ests    map[string]bool                // every establishment seen
}

// preferred picks, among the versions of one national study (each reported by
// one establishment) or of one reconciled study, the one reported by the
// sponsor establishment itself, else the one reported by the lowest FINESS
// (then the lowest id). Deterministic whatever the order of vs.
// Preferred picks, among the versions of one national study reported by
// several establishments, the one the national side trusts: the version
// reported by the sponsor establishment itself, else the lowest FINESS (then
// the lowest id). ok is false for no version.
func Preferred(vs []store.NationalStudy) (store.NationalStudy, bool) {
	return preferred(vs)
}

func preferred(vs []store.NationalStudy) (store.NationalStudy, bool) {
	if len(vs) == 0 {
		return store.NationalStudy{}, false
	}
	best := -1
	for i, v := range vs {
		self := v.SponsorFINESS != "" && v.SponsorFINESS == v.Establishment
		switch {
		case best < 0:
			best = i
		case self != (vs[best].SponsorFINESS != "" && vs[best].SponsorFINESS == vs[best].Establishment):
			if self {
				best = i
			}
		case v.Establishment < vs[best].Establishment,
			v.Establishment == vs[best].Establishment && v.ID < vs[best].ID:
			best = i
		}
	}
	return vs[best], true
}

func (s *Service) load(ctx context.Context) (*national, error) {
	all, err := s.st.NationalStudies(ctx)
	if err != nil {
		return nil, fmt.Errorf("indicators: %w", err)
	}
	n := &national{rec: Reconcile(all), sponsor: map[string]string{}, siteOf: map[[2]string]*store.SiteStudy{}, ests: map[string]bool{}}
	groups := map[string][]store.NationalStudy{} // reconciled key -> versions
	for _, v := range all {
		n.ests[v.Establishment] = true
		k := n.rec.StudyKey(v.ID)
		groups[k] = append(groups[k], v)
	}
	for k, vs := range groups {
		p, _ := preferred(vs)
		n.sponsor[k] = p.SponsorFINESS
		if p.SponsorFINESS != "" {
			n.ests[p.SponsorFINESS] = true
		}
	}
	if n.sites, err = s.st.SiteStudies(ctx); err != nil {
		return nil, fmt.Errorf("indicators: %w", err)
	}
	for i := range n.sites {
		t := &n.sites[i]
		n.siteOf[[2]string{t.Establishment, t.ID}] = t
		n.ests[t.Establishment] = true
	}
	return n, nil
}

func yearBounds(y int) (from, to string) {
	return fmt.Sprintf("%04d-01-01", y), fmt.Sprintf("%04d-12-31", y)
}

func openIn(t *store.SiteStudy, from, to string) bool {
	return t.Opened != "" && t.Opened <= to && (t.Closed == "" || t.Closed >= from)
}

// compute returns the rows of year y for every establishment in n or counts.
func compute(y int, n *national, counts []store.InclusionCount) map[string]*Row {
	from, to := yearBounds(y)
	rows := map[string]*Row{}
	row := func(e string) *Row {
		r := rows[e]
		if r == nil {
			r = &Row{Year: y, Establishment: e}
			rows[e] = r
		}
		return r
	}
	for e := range n.ests {
		row(e)
	}

	a1Site := map[string]map[string]bool{} // establishment -> study keys
	activeStudies := map[string]bool{}     // reconciled study keys with a site open in y
	firstOpen := map[string]string{}       // reconciled study key -> earliest opening
	for i := range n.sites {
		t := &n.sites[i]
		key := ""               // reconciled study, "" when the site names none
		study := "site:" + t.ID // no partOf: the site stands for its study
		if t.NationalID != "" {
			key = n.rec.StudyKey(t.NationalID)
			study = key
		}
		if openIn(t, from, to) {
			if a1Site[t.Establishment] == nil {
				a1Site[t.Establishment] = map[string]bool{}
			}
			a1Site[t.Establishment][study] = true
			if key != "" {
				activeStudies[key] = true
			}
		}
		if t.Opened != "" && t.Opened >= from && t.Opened <= to {
			row(t.Establishment).A2.Site++
		}
		if key != "" && t.Opened != "" && (firstOpen[key] == "" || t.Opened < firstOpen[key]) {
			firstOpen[key] = t.Opened
		}
	}
	for e, studies := range a1Site {
		row(e).A1.Site = int64(len(studies))
	}
	for key, sponsor := range n.sponsor {
		if sponsor == "" {
			continue
		}
		if activeStudies[key] {
			row(sponsor).A1.Sponsor++
		}
		if f := firstOpen[key]; f >= from && f <= to {
			row(sponsor).A2.Sponsor++
		}
	}
	for _, c := range counts {
		// Subjects are joined to the site study the same establishment
		// reported: an establishment only ever adds inclusions to itself.
		row(c.Establishment).A3 += c.Count
		if t := n.siteOf[[2]string{c.Establishment, c.SiteStudyID}]; t != nil && t.NationalID != "" {
			if sp := n.sponsor[n.rec.StudyKey(t.NationalID)]; sp != "" {
				row(sp).A4 += c.Count
			}
		}
	}
	return rows
}

func (s *Service) rows(ctx context.Context, n *national, y int) (map[string]*Row, error) {
	from, to := yearBounds(y)
	counts, err := s.st.InclusionCounts(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("indicators: year %d: %w", y, err)
	}
	return compute(y, n, counts), nil
}

// Indicators returns A1–A4 of year for establishment (a Row), or for every
// known establishment when establishment is "" (an AllRows).
func (s *Service) Indicators(ctx context.Context, year int, establishment string) (any, error) {
	if year < 1900 || year > 9999 {
		return nil, fmt.Errorf("indicators: year %d out of range", year)
	}
	n, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.rows(ctx, n, year)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if establishment != "" {
		if !n.ests[establishment] {
			// Never seen, neither as a publishing site nor as a sponsor:
			// say so (the API answers 404) rather than show zeros that look
			// like a connected establishment without activity.
			return nil, nil
		}
		r := Row{Year: year, Establishment: establishment}
		if got := rows[establishment]; got != nil {
			r = *got
		}
		r.ComputedAt = &now
		return r, nil
	}
	all := AllRows{Year: year, ComputedAt: now, Establishments: []Row{}}
	for _, e := range slices.Sorted(maps.Keys(rows)) {
		all.Establishments = append(all.Establishments, *rows[e])
	}
	return all, nil
}

// Summary returns the rows of every known establishment for each year, by
// year then establishment.
func (s *Service) Summary(ctx context.Context, years []int) ([]Row, error) {
	n, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []Row
	for _, y := range years {
		rows, err := s.rows(ctx, n, y)
		if err != nil {
			return nil, err
		}
		for _, e := range slices.Sorted(maps.Keys(rows)) {
			out = append(out, *rows[e])
		}
	}
	return out, nil
}
