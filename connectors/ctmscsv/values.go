package ctmscsv

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/fr-it4ct/it4ct/canonical"
)

// foldWord normalises a free-text word for matching: accents removed, lower
// case, surrounding blanks trimmed and inner blanks collapsed.
func foldWord(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(strings.TrimSpace(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// vocab maps folded words to one field's canonical codes.
type vocab struct {
	field string
	words map[string]string // folded word -> canonical code
	shown []string          // configured words, for fixes
}

func (v vocab) lookup(s string) (string, bool) {
	c, ok := v.words[foldWord(s)]
	return c, ok
}

// builtinWords are accepted for a field without configuration: the usual
// French CTMS wording (matched ignoring case, accents and blanks). The
// connector config's values extend and override them. The table is
// documented in docs/connectors/ctms-csv.md ("Built-in vocabulary").
var builtinWords = map[string]map[string]string{
	"international": {"yes": "true", "no": "false", "oui": "true", "non": "false", "true": "true", "false": "false", "1": "true", "0": "false"},
	"status":        frenchStatuses,
	"site_status":   frenchStatuses,
	"inclusion_status": {
		"inclus": "included", "incluse": "included", "inclus(e)": "included", "randomisé": "included", "randomisée": "included",
		"en cours de traitement": "included", "en suivi": "included", "suivi en cours": "included",
		"terminé": "completed", "terminée": "completed", "fin d'étude": "completed", "fin de participation": "completed",
		"sorti d'étude": "withdrawn", "sortie d'étude": "withdrawn", "sortie prématurée": "withdrawn", "sorti prématurément": "withdrawn",
		"retrait du consentement": "withdrawn", "arrêt prématuré": "withdrawn",
		"échec de screening": "screen-failed", "échec de sélection": "screen-failed", "non éligible": "screen-failed", "non inclus": "screen-failed",
	},
	"sponsor_type": {"académique": "academic", "institutionnel": "academic", "industriel": "industry", "industrie": "industry"},
	"category": {
		"riph 1": "RIPH1", "riph1": "RIPH1", "riph 2": "RIPH2", "riph2": "RIPH2", "riph 3": "RIPH3", "riph3": "RIPH3",
		"catégorie 1": "RIPH1", "catégorie 2": "RIPH2", "catégorie 3": "RIPH3", "ctr": "CTR", "essai ctr": "CTR",
	},
	"phase": {
		"phase i": "I", "phase 1": "I", "phase i/ii": "I/II", "phase 1/2": "I/II", "phase ii": "II", "phase 2": "II",
		"phase ii/iii": "II/III", "phase 2/3": "II/III", "phase iii": "III", "phase 3": "III", "phase iv": "IV", "phase 4": "IV",
		"1": "I", "2": "II", "3": "III", "4": "IV", "1/2": "I/II", "2/3": "II/III", "sans objet": "NA", "non applicable": "NA", "n/a": "NA",
	},
	"site_role": {"promoteur": "sponsor-site", "centre promoteur": "sponsor-site", "coordonnateur": "sponsor-site",
		"investigateur": "investigating-site", "centre associé": "investigating-site", "centre investigateur": "investigating-site"},
}

// frenchStatuses is the default vocabulary of study and site statuses.
var frenchStatuses = map[string]string{
	"en préparation": "in-preparation", "en attente autorisation": "in-preparation", "en attente d'autorisation": "in-preparation",
	"soumise": "in-preparation", "en cours de soumission": "in-preparation", "en instruction": "in-preparation",
	"autorisée": "approved", "autorisée - non démarrée": "approved", "à démarrer": "approved", "en attente d'ouverture": "approved",
	"en cours": "recruiting", "ouverte": "recruiting", "ouverte aux inclusions": "recruiting", "recrutement en cours": "recruiting",
	"inclusions en cours": "recruiting", "active": "recruiting",
	"suspendue": "suspended", "inclusions suspendues": "suspended",
	"clôturée aux inclusions": "closed-to-accrual", "inclusions terminées": "closed-to-accrual", "fermée aux inclusions": "closed-to-accrual",
	"en suivi": "closed-to-accrual", "suivi en cours": "closed-to-accrual",
	"clôturée": "completed", "terminée": "completed", "close": "completed",
	"arrêtée prématurément": "terminated", "arrêtée": "terminated", "interrompue": "terminated",
	"abandonnée": "withdrawn", "retirée": "withdrawn", "annulée": "withdrawn", "jamais démarrée": "withdrawn",
}

// buildVocab returns the vocabulary of a value field: canonical codes, the
// built-in words, then the configured words (site_status also accepts the
// words configured for status).
func buildVocab(values map[string]map[string]string, field string) vocab {
	v := vocab{field: field, words: map[string]string{}}
	codes := vocabularies[field]
	for _, c := range codes {
		v.words[foldWord(c)] = c
	}
	for w, c := range builtinWords[field] {
		v.words[foldWord(w)] = c
	}
	layers := []string{field}
	if field == "site_status" {
		layers = []string{"status", "site_status"}
	}
	for _, l := range layers {
		for _, w := range sortedKeys(values[l]) {
			if c, ok := canonicalCode(codes, values[l][w]); ok {
				v.words[foldWord(w)] = c
				v.shown = append(v.shown, w)
			}
		}
	}
	return v
}

// known lists the accepted words for a fix message.
func (v vocab) known() string {
	var parts []string
	for _, w := range v.shown {
		parts = append(parts, strconv.Quote(w))
	}
	parts = append(parts, vocabularies[v.field]...)
	return strings.Join(parts, ", ")
}

// Date parsing.

// parseDateAs parses s in one of the configured formats. matched is false
// when s does not have the format's shape; err is set when it has the shape
// but is not a calendar date.
func parseDateAs(s, format string) (d canonical.Date, matched bool) {
	var y, m, dd int
	var ok bool
	switch format {
	case "dd/mm/yyyy":
		dd, m, y, ok = threeParts(s, '/', false)
	case "dd-mm-yyyy":
		dd, m, y, ok = threeParts(s, '-', false)
	case "dd.mm.yyyy":
		dd, m, y, ok = threeParts(s, '.', false)
	case "yyyy-mm-dd":
		y, m, dd, ok = threeParts(s, '-', true)
	case "yyyymmdd":
		if len(s) == 8 && allDigits(s) {
			y, _ = strconv.Atoi(s[:4])
			m, _ = strconv.Atoi(s[4:6])
			dd, _ = strconv.Atoi(s[6:])
			ok = true
		}
	}
	if !ok {
		return canonical.Date{}, false
	}
	return canonical.Date{Y: y, M: time.Month(m), D: dd}, true
}

// threeParts splits a-b-c on sep; with yearFirst the first part has four
// digits and the others one or two, otherwise the last part has four.
func threeParts(s string, sep byte, yearFirst bool) (a, b, c int, ok bool) {
	p := strings.Split(s, string(sep))
	if len(p) != 3 {
		return 0, 0, 0, false
	}
	for i, x := range p {
		four := (yearFirst && i == 0) || (!yearFirst && i == 2)
		if !allDigits(x) || (four && len(x) != 4) || (!four && (len(x) < 1 || len(x) > 2)) {
			return 0, 0, 0, false
		}
	}
	a, _ = strconv.Atoi(p[0])
	b, _ = strconv.Atoi(p[1])
	c, _ = strconv.Atoi(p[2])
	return a, b, c, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validDate(d canonical.Date) bool {
	if d.M < 1 || d.M > 12 || d.D < 1 || d.Y < 1 {
		return false
	}
	return d.D <= daysIn(d.Y, int(d.M))
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// stripTime drops a trailing time of day ("01/02/2024 00:00:00"), which
// spreadsheet exports often add to dates.
func stripTime(s string) string {
	i := strings.IndexAny(s, " T")
	if i < 0 {
		return s
	}
	rest := strings.TrimSpace(s[i+1:])
	if rest == "" {
		return s[:i]
	}
	for _, r := range rest {
		if (r < '0' || r > '9') && r != ':' && r != '.' {
			return s
		}
	}
	if !strings.Contains(rest, ":") {
		return s
	}
	return s[:i]
}

type dateError struct {
	impossible bool // has an accepted shape but is not a calendar date
}

// parseDate parses a non-empty cell with the file's formats.
func parseDate(s string, formats []string) (canonical.Date, *dateError) {
	s = stripTime(s)
	impossible := false
	for _, f := range formats {
		d, ok := parseDateAs(s, f)
		if !ok {
			continue
		}
		if validDate(d) {
			return d, nil
		}
		impossible = true
	}
	return canonical.Date{}, &dateError{impossible: impossible}
}

// canonicalDate parses a default value: ISO only.
func canonicalDate(s string) (canonical.Date, error) {
	d, derr := parseDate(strings.TrimSpace(s), []string{"yyyy-mm-dd"})
	if derr != nil {
		return canonical.Date{}, fmt.Errorf("not a date")
	}
	return d, nil
}

// parseInt reads a non-negative whole number; blanks and non-breaking
// spaces used as thousands separators are ignored.
func parseInt(s string) (int, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '\u202f' {
			return -1
		}
		return r
	}, s)
	if !allDigits(s) || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Identifiers.

type idFormat struct {
	re      *regexp.Regexp
	name    string
	example string
}

var idFormats = map[string]idFormat{
	"id_rcb":  {regexp.MustCompile(`^20\d{2}-A\d{5}-\d{2}$`), "ID-RCB", "2024-A01234-56"},
	"eudract": {regexp.MustCompile(`^20\d{2}-0\d{5}-\d{2}$`), "EudraCT number", "2019-001234-56"},
	"eu_ct":   {regexp.MustCompile(`^\d{4}-\d{6}-\d{2}-\d{2}$`), "EU CT number", "2023-501234-12-00"},
	"nct":     {regexp.MustCompile(`^NCT\d{8}$`), "NCT number", "NCT01234567"},
}

// normIdentifier trims and upper-cases an identifier and checks its format.
func normIdentifier(field, s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, idFormats[field].re.MatchString(s)
}

var finessRe = regexp.MustCompile(`^(\d{9}|2[AB]\d{7})$`)

func normFINESS(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, finessRe.MatchString(s)
}

// sponsorKey normalises a sponsor name into a stable key: accents removed,
// lower case, runs of non-alphanumerics collapsed into one blank.
func sponsorKey(name string) string {
	var b strings.Builder
	gap := false
	for _, r := range foldWord(name) {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte(' ')
		}
		gap = false
		b.WriteRune(r)
	}
	return b.String()
}
