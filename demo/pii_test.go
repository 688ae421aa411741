package demo

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// Kinds of identifying values collected from the fictional exports.
const (
	kindSubjectID    = "subject id"
	kindName         = "patient name"
	kindInitials     = "patient initials"
	kindBirthDate    = "birth date"
	kindIPP          = "IPP"
	kindNIR          = "NIR"
	kindINS          = "INS"
	kindPostalCode   = "postal code"
	kindTown         = "town"
	kindAddress      = "address"
	kindComment      = "free-text comment"
	kindInvestigator = "investigator name"
)

// identifyingColumns lists, per demo layout, the unmapped columns that hold
// identifying data, by header text, in either file of the export. It is
// written here from the exports themselves (not taken from the generator),
// so a renamed or dropped column fails the test instead of silently
// shrinking the scan. The subject id column comes from connect.yaml.
var identifyingColumns = map[string]map[string]string{
	"chu-val-de-loire-est": {
		"IPP": kindIPP, "Nom": kindName, "Prénom": kindName, "Date de naissance": kindBirthDate,
		"Commentaire": kindComment, "Investigateur principal": kindInvestigator,
	},
	"chu-garonne-amont": {
		"Initiales": kindInitials, "Date de naissance": kindBirthDate, "Matricule INS": kindINS, "IPP": kindIPP,
		"Code postal": kindPostalCode, "Commune": kindTown, "Commentaire ARC": kindComment,
		"Investigateur principal": kindInvestigator,
	},
	"institut-aurore-mediterranee": {
		"Patient": kindName, "Né(e) le": kindBirthDate, "IPP": kindIPP, "NIR": kindNIR, "Adresse": kindAddress,
		"Commentaire": kindComment, "Investigateur coordonnateur local": kindInvestigator,
	},
}

// minPerKind is how many distinct needles of each kind the scan must hold
// at least, so that it cannot pass by having collected nothing.
var minPerKind = map[string]int{
	kindSubjectID: 200, kindName: 40, kindInitials: 100, kindBirthDate: 3000, kindIPP: 3000, kindNIR: 2000,
	kindINS: 1000, kindPostalCode: 10, kindTown: 10, kindAddress: 800, kindComment: 100, kindInvestigator: 30,
}

// needle is one identifying value in matching form.
type needle struct {
	kind, raw, from string
}

// piiSet is every identifying value of the demo sources, normalised for
// matching (see normalise), with where it was found.
type piiSet struct {
	needles map[string]needle
	lengths []int // distinct needle lengths in bytes, longest first
	perKind map[string]int
}

// minNeedleAlnum is the shortest needle scanned (alphanumeric characters):
// shorter values (sex, "RAS") are too common to mean anything.
const minNeedleAlnum = 4

func (s *piiSet) add(kind, raw, from string) {
	n := strings.Trim(normalise(raw), " ,;.:-'()")
	alnum := 0
	for _, r := range n {
		if isAlnum(r) {
			alnum++
		}
	}
	if alnum < minNeedleAlnum {
		return
	}
	if _, dup := s.needles[n]; dup {
		return
	}
	s.needles[n] = needle{kind: kind, raw: raw, from: from}
	s.perKind[kind]++
	if !slices.Contains(s.lengths, len(n)) {
		s.lengths = append(s.lengths, len(n))
		sort.Sort(sort.Reverse(sort.IntSlice(s.lengths)))
	}
}

// normalise lower-cases and strips accents, so that "QUÉRÉ", "Quéré" and
// "quere" match alike.
func normalise(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// hit is one identifying value found in a text.
type hit struct {
	needle
	at int
}

// find returns every needle that occurs in text as a whole token sequence
// (not inside a longer word or number).
func (s *piiSet) find(text string) []hit {
	h := normalise(text)
	var out []hit
	prevAlnum := false
	for i, r := range h {
		start := isAlnum(r) && !prevAlnum
		prevAlnum = isAlnum(r)
		if !start {
			continue
		}
		for _, l := range s.lengths {
			if i+l > len(h) {
				continue
			}
			n, ok := s.needles[h[i:i+l]]
			if !ok {
				continue
			}
			if next, _ := utf8.DecodeRuneInString(h[i+l:]); i+l < len(h) && isAlnum(next) {
				continue
			}
			out = append(out, hit{needle: n, at: i})
			break
		}
	}
	return out
}

// findAll scans a text and, when it is JSON, every key and string value of
// it decoded (so that escaping cannot hide a value).
func (s *piiSet) findAll(b []byte) []hit {
	hits := s.find(string(b))
	var v any
	if json.Unmarshal(b, &v) == nil {
		var walk func(any)
		walk = func(x any) {
			switch x := x.(type) {
			case string:
				hits = append(hits, s.find(x)...)
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					hits = append(hits, s.find(k)...)
					walk(e)
				}
			}
		}
		walk(v)
	}
	return hits
}

var (
	civilityName = regexp.MustCompile(`(?:M\.|Mme) (\p{Lu}[\p{L}-]+) (\p{Lu}[\p{Lu}'-]+\p{Lu})`)
	dateLayouts  = []string{"02/01/2006", "2006-01-02", "02.01.2006", "20060102"}
	nirDigits    = regexp.MustCompile(`^[12]\d{14}$`)
)

// addValue adds a source value and the other forms it could be rendered in.
func (s *piiSet) addValue(kind, v, from string) {
	s.add(kind, v, from)
	switch kind {
	case kindName:
		for _, part := range strings.Fields(v) { // "NOM Prénom"
			s.add(kind, part, from)
		}
	case kindBirthDate:
		for _, l := range dateLayouts {
			if d, err := time.Parse(l, v); err == nil {
				for _, out := range dateLayouts {
					s.add(kind, d.Format(out), from)
				}
				s.add(kind, d.Format("2/1/2006"), from)
			}
		}
	case kindNIR, kindINS:
		digits := strings.ReplaceAll(v, " ", "")
		if nirDigits.MatchString(digits) {
			s.add(kind, digits, from)
			s.add(kind, strings.Join([]string{digits[0:1], digits[1:3], digits[3:5], digits[5:7], digits[7:10], digits[10:13], digits[13:15]}, " "), from)
			s.add(kind, digits[:13], from) // without the key
		}
	case kindComment:
		for _, m := range civilityName.FindAllStringSubmatch(v, -1) {
			s.add(kindName, m[1]+" "+m[2], from)
			s.add(kindName, m[2], from)
			s.add(kindName, m[1], from)
		}
	case kindAddress:
		if street, rest, ok := strings.Cut(v, ","); ok { // "12 rue des X, 30991 Town"
			s.add(kind, street, from)
			if postal, town, ok := strings.Cut(strings.TrimSpace(rest), " "); ok {
				s.add(kindPostalCode, postal, from)
				s.add(kindTown, town, from)
			}
		}
	case kindInvestigator:
		name := strings.TrimPrefix(strings.TrimPrefix(v, "Dr "), "Pr ")
		s.add(kind, name, from)
		if f := strings.Fields(name); len(f) >= 2 {
			s.add(kind, strings.Join(f[1:], " "), from) // surname
		}
	}
}

type fileSettings struct {
	Path       string            `yaml:"path"`
	Separator  string            `yaml:"separator"`
	Encoding   string            `yaml:"encoding"`
	HeaderLine int               `yaml:"header_line"`
	Columns    map[string]string `yaml:"columns"`
}

// collectIdentifying reads every demo export and collects the identifying
// values: the subject ids (column from connect.yaml) and every value of the
// identifyingColumns of its layout.
func collectIdentifying(t *testing.T) *piiSet {
	t.Helper()
	cfgs, err := LoadEstablishments(demoDir(t))
	if err != nil {
		t.Fatal(err)
	}
	set := &piiSet{needles: map[string]needle{}, perKind: map[string]int{}}
	for _, c := range cfgs {
		layout := filepath.Base(c.Dir)
		cols, ok := identifyingColumns[layout]
		if !ok {
			t.Fatalf("layout %s has no list of identifying columns in this test", layout)
		}
		found := map[string]bool{}
		for _, s := range c.Sources {
			var settings struct {
				Studies    fileSettings `yaml:"studies"`
				Inclusions fileSettings `yaml:"inclusions"`
			}
			if err := s.Settings.Decode(&settings); err != nil {
				t.Fatal(err)
			}
			for _, f := range []fileSettings{settings.Studies, settings.Inclusions} {
				header, rows := readExport(t, filepath.Join(c.Dir, f.Path), f)
				for i, h := range header {
					kind := cols[h]
					if h == f.Columns["subject_id"] {
						kind = kindSubjectID
					}
					if kind == "" {
						continue
					}
					found[h] = true
					for _, r := range rows {
						if i < len(r.fields) && strings.TrimSpace(r.fields[i]) != "" {
							set.addValue(kind, strings.TrimSpace(r.fields[i]), fmt.Sprintf("%s/%s:%d %q", layout, f.Path, r.line, h))
						}
					}
				}
			}
		}
		for h := range cols {
			if !found[h] {
				t.Errorf("%s: identifying column %q not found in its exports", layout, h)
			}
		}
	}
	t.Logf("identifying values collected (distinct, all renderings): %v", set.perKind)
	for kind, min := range minPerKind {
		if set.perKind[kind] < min {
			t.Errorf("only %d distinct %s values collected from the demo exports, want at least %d: the scan would prove little", set.perKind[kind], kind, min)
		}
	}
	return set
}

type exportRow struct {
	line   int
	fields []string
}

// readExport decodes a demo CSV file the way the configuration describes it
// and returns its header and data rows with their physical line numbers.
func readExport(t *testing.T, path string, f fileSettings) ([]string, []exportRow) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch strings.ToLower(f.Encoding) {
	case "windows-1252", "cp1252":
		b, err = charmap.Windows1252.NewDecoder().Bytes(b)
	case "iso-8859-1", "latin-1", "latin1":
		b, err = charmap.ISO8859_1.NewDecoder().Bytes(b)
	}
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	lines := strings.SplitAfter(string(b), "\n")
	hl := max(f.HeaderLine, 1)
	if len(lines) < hl {
		t.Fatalf("%s: no header line %d", path, hl)
	}
	sep := f.Separator
	if sep == "" {
		sep = ";"
	}
	var header []string
	var rows []exportRow
	for i, l := range lines[hl-1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		r := csv.NewReader(strings.NewReader(l))
		r.Comma = []rune(sep)[0]
		r.LazyQuotes = true
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("%s:%d: %v", path, hl+i, err)
		}
		if header == nil {
			for _, h := range rec {
				header = append(header, strings.TrimSpace(h))
			}
			continue
		}
		rows = append(rows, exportRow{line: hl + i, fields: rec})
	}
	return header, rows
}

// leakReport collects hits per place and reports them, a few per place.
type leakReport struct {
	t       *testing.T
	set     *piiSet
	scanned map[string]int // place kind -> texts scanned
	found   map[string]int // place kind -> hits
	hits    int
}

// maxReportedPerPlace bounds the hits reported one by one per place kind.
const maxReportedPerPlace = 10

func (r *leakReport) scan(place, where string, b []byte) {
	r.scanned[place]++
	for _, h := range r.set.findAll(b) {
		r.hits++
		r.found[place]++
		if r.found[place] <= maxReportedPerPlace {
			r.t.Errorf("%s %s: %s %q (source %s) found", place, where, h.kind, h.raw, h.from)
		}
	}
}

// TestIdentifyingValueMatcher makes sure the scan can fail: for every kind,
// a planted value is found in a synthetic published resource, also upper
// cased and without accents, and is not found inside a longer token.
func TestIdentifyingValueMatcher(t *testing.T) {
	set := collectIdentifying(t)
	byKind := map[string]needle{}
	for _, n := range set.needles {
		if prev, ok := byKind[n.kind]; !ok || n.raw < prev.raw {
			byKind[n.kind] = n
		}
	}
	for kind := range minPerKind {
		n, ok := byKind[kind]
		if !ok {
			t.Errorf("no %s collected", kind)
			continue
		}
		for _, planted := range []string{n.raw, strings.ToUpper(n.raw), stripAccents(n.raw)} {
			msg := []byte(fmt.Sprintf(`{"resourceType":"ResearchSubject","id":"sj-0","status":"on-study","note":[{"text":"suivi: %s."}]}`, jsonEscape(planted)))
			hits := set.findAll(msg)
			if !slices.ContainsFunc(hits, func(h hit) bool { return h.kind == kind }) {
				t.Errorf("planted %s %q not found in %s", kind, planted, msg)
			}
		}
		if hits := set.find("x" + n.raw + "9"); slices.ContainsFunc(hits, func(h hit) bool { return h.raw == n.raw }) {
			t.Errorf("%s %q found inside a longer token", kind, n.raw)
		}
	}
	// A NIR rendered without spaces is found when the source had spaces, and vice versa.
	for _, n := range set.needles {
		if n.kind == kindNIR && strings.Contains(n.raw, " ") {
			digits := strings.ReplaceAll(n.raw, " ", "")
			if len(set.find(`{"value":"`+digits+`"}`)) == 0 {
				t.Errorf("NIR %q not found as %s", n.raw, digits)
			}
			break
		}
	}
}

func stripAccents(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
