// Command demogen writes the fictional CTMS exports of the demo
// (testdata/demo): three establishments with three different CSV layouts, an
// unexpected fourth layout, their connect.yaml, and the plan the expected
// SIGREC indicators are derived from (PLAN.md, tables in README.md).
//
//	go run ./internal/demogen -out testdata/demo
//
// Everything is drawn from a fixed seed: the same command writes the same
// bytes. No record describes a real person, study or establishment.
package main

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

func main() {
	out := flag.String("out", "testdata/demo", "output directory")
	seed := flag.Uint64("seed", 20260331, "random seed (keep the default: README expectations depend on it)")
	flag.Parse()
	if err := run(*out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "demogen:", err)
		os.Exit(1)
	}
}

// broken is one deliberately invalid row.
type broken struct {
	Est    *Establishment
	File   string
	Line   int
	Code   string // expected reject code
	Field  string
	What   string
	record []string
}

type fileOut struct {
	layout *fileLayout
	rows   [][]string
	// brokenAt[i] is inserted before valid row i.
	inserts map[int][]*broken
}

func run(out string, seed uint64) error {
	p := buildPlan(seed)
	if err := checkPlan(p); err != nil {
		return err
	}
	var allBroken []*broken
	totals := map[*Establishment][2]int{}
	for _, e := range p.Ests {
		br, st, in, err := writeEstablishment(out, seed, e, p.Studies, p.Inclusions, brokenFor(e))
		if err != nil {
			return err
		}
		allBroken = append(allBroken, br...)
		totals[e] = [2]int{st, in}
	}
	if _, st, in, err := writeEstablishment(out, seed, e4, p.Other, p.OtherIncl, nil); err != nil {
		return err
	} else {
		totals[e4] = [2]int{st, in}
	}
	if err := writeFile(filepath.Join(out, "PLAN.md"), []byte(planMarkdown(p, p.Ests, p.Studies, p.Inclusions))); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(out, e4.Slug, "PLAN.md"), []byte(planMarkdown(p, []*Establishment{e4}, p.Other, p.OtherIncl))); err != nil {
		return err
	}
	sections := map[string]string{
		"expected": expectedTable(p.Ests, p.Studies),
		"totals":   totalsTable(p.Ests, totals, allBroken),
		"broken":   brokenTable(allBroken),
		"layouts":  layoutsTable(),
	}
	if err := fillReadme(filepath.Join(out, "README.md"), sections); err != nil {
		return err
	}
	other := map[string]string{
		"expected": expectedTable([]*Establishment{e4}, p.Other),
		"totals":   totalsTable([]*Establishment{e4}, totals, nil),
	}
	return fillReadme(filepath.Join(out, e4.Slug, "README.md"), other)
}

// brokenFor returns the deliberately broken rows of an establishment, before
// their line numbers are known.
func brokenFor(e *Establishment) []*broken {
	switch e {
	case e1:
		return []*broken{
			{Est: e, File: "etudes.csv", Code: "unknown-value", Field: "status", What: `study status "En stand-by" is not in values.status`},
			{Est: e, File: "inclusions.csv", Code: "bad-date", Field: "inclusion_date", What: `inclusion date "31/02/2024" does not exist`},
		}
	case e2:
		return []*broken{
			{Est: e, File: "export_etudes.csv", Code: "bad-identifier", Field: "id_rcb", What: `ID-RCB "2023-A1234-05" has 4 digits instead of 5`},
			{Est: e, File: "export_patients.csv", Code: "unknown-study", Field: "study_ref", What: `inclusion refers to study "GA99999", absent from export_etudes.csv`},
			{Est: e, File: "export_patients.csv", Code: "bad-field-count", What: ""}, // What is set once the row is built: it depends on the column count
		}
	case e3:
		return []*broken{
			{Est: e, File: "essais.csv", Code: "bad-date", Field: "site_opened", What: `opening date "31/02/2024" does not exist`},
			{Est: e, File: "inclusions_patients.csv", Code: "unknown-value", Field: "inclusion_status", What: `patient status "Perdu de vue ?" is not in values.inclusion_status`},
		}
	}
	return nil
}

// writeEstablishment writes one establishment's directory and returns its
// broken rows (with lines) and its valid study and inclusion row counts.
func writeEstablishment(out string, seed uint64, e *Establishment, studies []*Study, incls []*Inclusion, brk []*broken) ([]*broken, int, int, error) {
	l := layouts[e]
	dir := filepath.Join(out, e.Slug)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, 0, fmt.Errorf("create %s: %w", dir, err)
	}
	// first inclusion per site (non screen-failure)
	first := map[*SitePlan]time.Time{}
	for _, in := range incls {
		if in.Status == "screen-failed" {
			continue
		}
		if f, ok := first[in.Site]; !ok || in.Date.Before(f) {
			first[in.Site] = in.Date
		}
	}
	type srow struct {
		code string
		rec  []string
	}
	var srows []srow
	ci := 0
	for _, s := range studies {
		for _, site := range s.Sites {
			if site.Est != e {
				continue
			}
			ci++
			v := studyValues(l, s, site, fmtDate(first[site], l.Studies.DateLayout), comments[(ci*7)%len(comments)])
			srows = append(srows, srow{site.Code, row(l.Studies.Cols, v)})
		}
	}
	sort.SliceStable(srows, func(i, j int) bool { return srows[i].code < srows[j].code })
	studyFile := &fileOut{layout: &l.Studies, inserts: map[int][]*broken{}}
	for _, r := range srows {
		studyFile.rows = append(studyFile.rows, r.rec)
	}

	type irow struct {
		code, subj string
		date       time.Time
		rec        []string
	}
	var irows []irow
	who := newPeople(seed, e)
	for i, in := range incls {
		if in.Site.Est != e {
			continue
		}
		v := identityValues(who.next(in.Date), l.Inclusions.DateLayout)
		v["study_ref"] = in.Site.Code
		v["subject_id"] = in.Subject
		v["inclusion_date"] = fmtDate(in.Date, l.Inclusions.DateLayout)
		v["inclusion_status"] = l.word("inclusion_status", in.Status)
		v["x-arm"] = arms(i)
		v["x-service"] = "Unité de recherche clinique"
		if in.Status == "screen-failed" {
			v["x-arm"] = ""
		}
		irows = append(irows, irow{in.Site.Code, in.Subject, in.Date, row(l.Inclusions.Cols, v)})
	}
	if e == e3 || e == e4 {
		// this CTMS exports patients in date order
		sort.SliceStable(irows, func(i, j int) bool { return irows[i].date.Before(irows[j].date) })
	} else {
		sort.SliceStable(irows, func(i, j int) bool {
			if irows[i].code != irows[j].code {
				return irows[i].code < irows[j].code
			}
			return irows[i].subj < irows[j].subj
		})
	}
	inclFile := &fileOut{layout: &l.Inclusions, inserts: map[int][]*broken{}}
	for _, r := range irows {
		inclFile.rows = append(inclFile.rows, r.rec)
	}

	// Broken rows.
	for bi, b := range brk {
		switch {
		case b.File == l.Studies.Path:
			s := brokenStudy(e, bi)
			site := s.Sites[0]
			v := studyValues(l, s, site, "", "")
			switch b.Code {
			case "unknown-value":
				v["status"] = "En stand-by"
			case "bad-identifier":
				v["id_rcb"] = "2023-A1234-05"
			case "bad-date":
				v["site_opened"] = "31/02/2024"
				v["status"] = l.word("status", "recruiting")
			}
			b.record = row(l.Studies.Cols, v)
			pos := len(studyFile.rows) / 2
			studyFile.inserts[pos] = append(studyFile.inserts[pos], b)
		default:
			// take a valid inclusion row as a model
			at := (len(inclFile.rows) * (bi + 1)) / (len(brk) + 1)
			rec := append([]string(nil), inclFile.rows[at]...)
			idx := func(f string) int {
				for i, c := range l.Inclusions.Cols {
					if c.Field == f {
						return i
					}
				}
				panic(f)
			}
			switch b.Code {
			case "bad-date":
				rec[idx("inclusion_date")] = "31/02/2024"
			case "unknown-study":
				rec[idx("study_ref")] = "GA99999"
				rec[idx("subject_id")] = "P-0999"
			case "unknown-value":
				rec[idx("inclusion_status")] = "Perdu de vue ?"
				rec[idx("subject_id")] = "P-0998"
			case "bad-field-count":
				rec = append(rec[:idx("inclusion_status")], rec[idx("inclusion_status")+1:]...)
				b.What = fmt.Sprintf("row has %d fields, the header has %d (the status column is missing)", len(rec), len(l.Inclusions.Cols))
			}
			if b.Code != "unknown-study" && b.Code != "unknown-value" {
				rec[idx("subject_id")] = "P-0997"
			}
			if b.Code != "unknown-value" && b.Code != "bad-field-count" {
				// a counted status, so that wrongly accepting the row shows in A3
				rec[idx("inclusion_status")] = l.word("inclusion_status", "included")
			}
			b.record = rec
			inclFile.inserts[at] = append(inclFile.inserts[at], b)
		}
	}
	if err := writeCSV(filepath.Join(dir, l.Studies.Path), studyFile); err != nil {
		return nil, 0, 0, err
	}
	if err := writeCSV(filepath.Join(dir, l.Inclusions.Path), inclFile); err != nil {
		return nil, 0, 0, err
	}
	if err := writeFile(filepath.Join(dir, "connect.yaml"), []byte(connectYAML(e, l))); err != nil {
		return nil, 0, 0, err
	}
	return brk, len(studyFile.rows), len(inclFile.rows), nil
}

// brokenStudy is a study that exists only as a broken row: industry sponsor,
// no valid opening date, no inclusions, so that it changes no indicator even
// if a connector wrongly accepted it.
func brokenStudy(e *Establishment, i int) *Study {
	s := &Study{
		Acronym: []string{"BRUMALE", "NIVOSE", "FRIMAIRE"}[i%3], SponsorName: "Quilmar Pharma", SponsorType: "industry",
		Category: "RIPH1", Phase: "NA", International: true, IDRCB: fmt.Sprintf("2025-A09%s77-31", e.Key[1:]), TargetFrance: 40,
		Submitted: mustDate("2025-09-15"), Status: "in-preparation",
		Title: "Essai randomisé évaluant un dispositif de télésurveillance (ligne volontairement invalide)",
	}
	code := map[*Establishment]string{e1: "VLE-2025-990", e2: "GA25990", e3: "IAM-ONC-9990"}[e]
	s.Sites = []*SitePlan{{Est: e, Code: code, Role: "investigating-site", Status: "in-preparation", Target: 5, Investigator: "Dr Léa Morvan"}}
	return s
}

// writeCSV writes rows with the layout's separator, line ending and encoding,
// inserting broken rows and recording their physical line numbers.
func writeCSV(path string, f *fileOut) error {
	var buf bytes.Buffer
	l := f.layout
	eol := "\n"
	if l.CRLF {
		eol = "\r\n"
	}
	for _, p := range l.Preamble {
		buf.WriteString(p + eol)
	}
	w := csv.NewWriter(&buf)
	w.Comma = l.Sep
	w.UseCRLF = l.CRLF
	line := l.HeaderLine
	put := func(rec []string) {
		if err := w.Write(rec); err != nil {
			panic(err)
		}
		w.Flush()
	}
	put(headers(l.Cols))
	for i := 0; i <= len(f.rows); i++ {
		for _, b := range f.inserts[i] {
			line++
			b.Line = line
			put(b.record)
		}
		if i < len(f.rows) {
			line++
			put(f.rows[i])
		}
	}
	if err := w.Error(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	data := buf.Bytes()
	if strings.Count(string(data), "\n") != line {
		return fmt.Errorf("write %s: %d lines written, %d expected (a field holds a newline?)", path, strings.Count(string(data), "\n"), line)
	}
	switch l.Encoding {
	case "utf-8":
	case "utf-8-bom":
		data = append([]byte("\xEF\xBB\xBF"), data...)
	case "windows-1252":
		enc, err := charmap.Windows1252.NewEncoder().Bytes(data)
		if err != nil {
			return fmt.Errorf("encode %s as windows-1252: %w", path, err)
		}
		data = enc
	case "iso-8859-1":
		enc, err := charmap.ISO8859_1.NewEncoder().Bytes(data)
		if err != nil {
			return fmt.Errorf("encode %s as iso-8859-1: %w", path, err)
		}
		data = enc
	default:
		return fmt.Errorf("write %s: unknown encoding %q", path, l.Encoding)
	}
	return writeFile(path, data)
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func fmtDate(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(layout)
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// checkPlan asserts the invariants the expectations rely on.
func checkPlan(p *Plan) error {
	seen := map[string]string{}
	for _, set := range [][]*Study{p.Studies, p.Other} {
		for _, s := range set {
			for _, id := range []string{s.IDRCB, s.EUCT, s.EudraCT, s.NCT} {
				if id == "" {
					continue
				}
				if k, dup := seen[id]; dup {
					return fmt.Errorf("plan: identifier %s used by %s and %s", id, k, s.Key)
				}
				seen[id] = s.Key
			}
			if s.IDRCB == "" && s.EUCT == "" {
				return fmt.Errorf("plan: %s has neither ID-RCB nor EU CT", s.Key)
			}
			codes := map[*Establishment]bool{}
			for _, site := range s.Sites {
				if codes[site.Est] {
					return fmt.Errorf("plan: %s has two sites at %s", s.Key, site.Est.Key)
				}
				codes[site.Est] = true
				if !site.Closed.IsZero() && site.Closed.Before(site.Opened) {
					return fmt.Errorf("plan: %s site %s closes before it opens", s.Key, site.Est.Key)
				}
			}
		}
	}
	for _, e := range []*Establishment{e1, e2, e3, e4, extCHU} {
		if !luhnValid(e.FINESS) {
			return fmt.Errorf("plan: FINESS %s fails its Luhn key", e.FINESS)
		}
	}
	for _, set := range [][]*Inclusion{p.Inclusions, p.OtherIncl} {
		for _, in := range set {
			if in.Date.Before(in.Site.Opened) || (!in.Site.Closed.IsZero() && in.Site.Closed.Before(in.Date)) || in.Date.After(exportDate) {
				return fmt.Errorf("plan: inclusion %s %s outside its site's open period", in.Study.Key, in.Date.Format(time.DateOnly))
			}
		}
	}
	return nil
}
