package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Years of the expectation table.
var years = []int{2022, 2023, 2024, 2025}

// openIn is the brief's definition: opened on or before 31 Dec y and (no
// closing date or closed on or after 1 Jan y); no opening date = never open.
func openIn(site *SitePlan, y int) bool {
	if site.Opened.IsZero() {
		return false
	}
	if site.Opened.After(time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC)) {
		return false
	}
	return site.Closed.IsZero() || !site.Closed.Before(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC))
}

// cell holds one (establishment, year) expectation and the terms it sums.
type cell struct {
	A1Site, A1Sponsor, A2Site, A2Sponsor []string // study keys
	A3Terms, A4Terms                     []string // "S01@E1:12"
	A3, A4                               int
}

func expect(e *Establishment, y int, studies []*Study) cell {
	var c cell
	for _, s := range studies {
		sponsored := s.SponsorFINESS == e.FINESS
		anyOpen := false
		var first time.Time
		for _, site := range s.Sites {
			if openIn(site, y) {
				anyOpen = true
				if site.Est == e {
					c.A1Site = append(c.A1Site, s.Key)
				}
			}
			if site.Est == e && !site.Opened.IsZero() && site.Opened.Year() == y {
				c.A2Site = append(c.A2Site, s.Key)
			}
			if !site.Opened.IsZero() && (first.IsZero() || site.Opened.Before(first)) {
				first = site.Opened
			}
			n := site.Counts[y][0]
			if n > 0 && site.Est == e {
				c.A3 += n
				c.A3Terms = append(c.A3Terms, fmt.Sprintf("%s:%d", s.Key, n))
			}
			if n > 0 && sponsored {
				c.A4 += n
				c.A4Terms = append(c.A4Terms, fmt.Sprintf("%s@%s:%d", s.Key, site.Est.Key, n))
			}
		}
		if sponsored && anyOpen {
			c.A1Sponsor = append(c.A1Sponsor, s.Key)
		}
		if sponsored && !first.IsZero() && first.Year() == y {
			c.A2Sponsor = append(c.A2Sponsor, s.Key)
		}
	}
	return c
}

func expectedTable(ests []*Establishment, studies []*Study) string {
	var b strings.Builder
	b.WriteString("| finess | year | A1_site | A1_sponsor | A2_site | A2_sponsor | A3 | A4 |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, e := range ests {
		for _, y := range years {
			c := expect(e, y, studies)
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d |\n", e.FINESS, y,
				len(c.A1Site), len(c.A1Sponsor), len(c.A2Site), len(c.A2Sponsor), c.A3, c.A4)
		}
	}
	return b.String()
}

func totalsTable(ests []*Establishment, totals map[*Establishment][2]int, brk []*broken) string {
	var b strings.Builder
	b.WriteString("| finess | studies_rows | inclusion_rows | expected_rejects |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, e := range ests {
		n := 0
		for _, x := range brk {
			if x.Est == e {
				n++
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", e.FINESS, totals[e][0], totals[e][1], n)
	}
	return b.String()
}

func brokenTable(brk []*broken) string {
	var b strings.Builder
	b.WriteString("| finess | file | line | expected code | field | what is wrong |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, x := range brk {
		fmt.Fprintf(&b, "| %s | %s/%s | %d | `%s` | %s | %s |\n", x.Est.FINESS, x.Est.Slug, x.File, x.Line, x.Code, x.Field, strings.ReplaceAll(x.What, "|", "\\|"))
	}
	return b.String()
}

func layoutsTable() string {
	var b strings.Builder
	b.WriteString("| | " + e1.Slug + " | " + e2.Slug + " | " + e3.Slug + " | " + e4.Slug + " |\n|---|---|---|---|---|\n")
	ls := []*layout{layouts[e1], layouts[e2], layouts[e3], layouts[e4]}
	line := func(name string, f func(l *layout) string) {
		b.WriteString("| " + name + " |")
		for _, l := range ls {
			b.WriteString(" " + f(l) + " |")
		}
		b.WriteString("\n")
	}
	sep := func(r rune) string {
		if r == '\t' {
			return "tab"
		}
		return "`" + string(r) + "`"
	}
	line("files", func(l *layout) string { return "`" + l.Studies.Path + "`, `" + l.Inclusions.Path + "`" })
	line("separator", func(l *layout) string { return sep(l.Studies.Sep) + " / " + sep(l.Inclusions.Sep) })
	line("encoding", func(l *layout) string { return l.Studies.Encoding + " / " + l.Inclusions.Encoding })
	line("line ends", func(l *layout) string {
		if l.Studies.CRLF {
			return "CRLF"
		}
		return "LF"
	})
	line("dates", func(l *layout) string {
		return strings.Join(l.Studies.DateFormats, ",") + " / " + strings.Join(l.Inclusions.DateFormats, ",")
	})
	line("header line", func(l *layout) string { return fmt.Sprintf("%d / %d", l.Studies.HeaderLine, l.Inclusions.HeaderLine) })
	line("study columns", func(l *layout) string { return fmt.Sprint(len(l.Studies.Cols)) })
	line("unmapped columns", func(l *layout) string {
		var xs []string
		for _, c := range append(append([]column{}, l.Studies.Cols...), l.Inclusions.Cols...) {
			if strings.HasPrefix(c.Field, "x-") {
				xs = append(xs, "\""+c.Header+"\"")
			}
		}
		return strings.Join(xs, ", ")
	})
	line("study status words", func(l *layout) string { return words(l, "status") })
	line("site status words", func(l *layout) string { return words(l, "site_status") })
	line("inclusion status words", func(l *layout) string { return words(l, "inclusion_status") })
	line("phase words", func(l *layout) string { return words(l, "phase") })
	return b.String()
}

func words(l *layout, field string) string {
	var xs []string
	for _, ws := range l.Vocab[field] {
		for _, w := range ws {
			xs = append(xs, "\""+w+"\"")
		}
	}
	if len(xs) == 0 {
		return "(no column)"
	}
	sort.Strings(xs)
	return strings.Join(xs, ", ")
}

// planMarkdown renders the plan: studies, per-site per-year counts and the
// arithmetic of every expected cell.
func planMarkdown(p *Plan, ests []*Establishment, studies []*Study, incls []*Inclusion) string {
	var b strings.Builder
	b.WriteString("# Demo data plan (generated by internal/demogen; do not edit)\n\n")
	b.WriteString("Everything here is FICTIONAL. Dates are ISO (YYYY-MM-DD). `—` = no date. E1..E4 are the establishments below; ")
	b.WriteString("X1 is an academic sponsor that runs no connector in the demo.\n\n")
	b.WriteString("| key | establishment | FINESS | kind |\n|---|---|---|---|\n")
	for _, e := range append(append([]*Establishment{}, ests...), extCHU) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", e.Key, e.Name, e.FINESS, e.Kind)
	}
	b.WriteString("\n## Studies\n\n")
	b.WriteString("| study | acronym | sponsor | sponsor FINESS | type | category | phase | ID-RCB | EU CT | EudraCT | NCT | status | note |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range studies {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Key, s.Acronym, s.SponsorName, dash(s.SponsorFINESS),
			s.SponsorType, s.Category, s.Phase, dash(s.IDRCB), dash(s.EUCT), dash(s.EudraCT), dash(s.NCT), s.Status, s.Note)
	}
	b.WriteString("\n## Sites and inclusions per year\n\n")
	b.WriteString("Each cell is `n` non-screen-failure inclusions (included, withdrawn or completed: they count) and, after `+`, screen failures (they do not count).\n\n")
	b.WriteString("| study | site | local code | role | opened | closed |")
	ys := []int{}
	for y := firstCountedYear; y <= exportDate.Year(); y++ {
		ys = append(ys, y)
		fmt.Fprintf(&b, " %d |", y)
	}
	b.WriteString("\n|---|---|---|---|---|---|" + strings.Repeat("---|", len(ys)) + "\n")
	for _, s := range studies {
		for _, site := range s.Sites {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |", s.Key, site.Est.Key, site.Code, site.Role, dashDate(site.Opened), dashDate(site.Closed))
			for _, y := range ys {
				c := site.Counts[y]
				if c[0]+c[1] == 0 {
					b.WriteString(" |")
				} else {
					fmt.Fprintf(&b, " %d+%d |", c[0], c[1])
				}
			}
			b.WriteString("\n")
		}
	}
	total, sf := 0, 0
	for _, in := range incls {
		total++
		if in.Status == "screen-failed" {
			sf++
		}
	}
	fmt.Fprintf(&b, "\nValid inclusion rows: %d, of which %d screen failures.\n", total, sf)
	b.WriteString("\n## Arithmetic of each expected cell\n\n")
	b.WriteString("A1/A2 list the studies counted; A3/A4 add the `n` of the table above (A4 terms are `study@site:n`).\n\n")
	for _, e := range ests {
		for _, y := range years {
			c := expect(e, y, studies)
			fmt.Fprintf(&b, "### %s (%s) %d\n\n", e.Key, e.FINESS, y)
			fmt.Fprintf(&b, "- A1_site = %d: %s\n", len(c.A1Site), list(c.A1Site))
			fmt.Fprintf(&b, "- A1_sponsor = %d: %s\n", len(c.A1Sponsor), list(c.A1Sponsor))
			fmt.Fprintf(&b, "- A2_site = %d: %s\n", len(c.A2Site), list(c.A2Site))
			fmt.Fprintf(&b, "- A2_sponsor = %d: %s\n", len(c.A2Sponsor), list(c.A2Sponsor))
			fmt.Fprintf(&b, "- A3 = %s = %d\n", sum(c.A3Terms), c.A3)
			fmt.Fprintf(&b, "- A4 = %s = %d\n\n", sum(c.A4Terms), c.A4)
		}
	}
	return b.String()
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func sum(terms []string) string {
	if len(terms) == 0 {
		return "0"
	}
	return strings.Join(terms, " + ")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func dashDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format(time.DateOnly)
}

// fillReadme replaces each "<!-- BEGIN generated:NAME -->…<!-- END generated:NAME -->"
// block of a hand-written README with the generated text.
func fillReadme(path string, sections map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s (it is hand-written, with generated blocks): %w", path, err)
	}
	s := string(data)
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		begin, end := "<!-- BEGIN generated:"+n+" -->\n", "<!-- END generated:"+n+" -->"
		i := strings.Index(s, begin)
		j := strings.Index(s, end)
		if i < 0 || j < i {
			return fmt.Errorf("%s: block %q not found", path, n)
		}
		s = s[:i+len(begin)] + sections[n] + s[j:]
	}
	return writeFile(path, []byte(s))
}
