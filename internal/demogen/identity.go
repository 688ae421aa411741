package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
)

// Identifying columns. Real CTMS exports carry the patient's identity next
// to the study subject number (name, birth date, sex, hospital patient id,
// social security number, address, free-text comments). The connector must
// ignore them and nothing of them may be published; the end-to-end privacy
// test scans everything published for every one of these values. They are
// all FICTIONAL: invented names, towns and streets, and NIR numbers drawn at
// random (with a valid key, so that they look real to a checker).
//
// They are drawn from their own random stream (seeded from the demo seed and
// the establishment), so adding or changing them never moves anything the
// expected indicators depend on.

var (
	patientLastNames = []string{"Fictivier", "Inventaud", "Imaginel", "Songebert", "Chimérand", "Fabulot", "Factisse", "Mirandole",
		"Irréaldi", "Brumaille", "Nuageon", "Pseudonnet", "Oniricaud", "Fantasquin", "Illusson", "Apocryphin", "Songe-Creux",
		"Lunembert", "Chimerot", "Vapeuril", "Féerin", "Légendreau", "Allégorel", "Mythonnet", "D'Inventé", "Chimérault"}
	femaleFirstNames = []string{"Aurélise", "Mélisandre", "Eulalie", "Philomène", "Séraphine", "Ludovine", "Albérie", "Sidonie",
		"Ombeline", "Clémentine", "Bérengère", "Hyacinthe"}
	maleFirstNames = []string{"Zéphirin", "Clothaire", "Firmin", "Anselme", "Gontran", "Théodric", "Évariste", "Léonce",
		"Barnabé", "Aristide", "Onésime"}
	fictionalStreets = []string{"rue des Chimères", "impasse de l'Invention", "avenue du Mirage", "chemin des Songes",
		"place de la Fable", "allée des Licornes", "boulevard de l'Utopie", "quai des Brumes-Imaginaires"}
	// Fictional towns per establishment: name and postal code.
	fictionalTowns = map[*Establishment][][2]string{
		e1: {{"Brumeville-sur-Loire", "45991"}, {"Saint-Fictif", "45992"}, {"Songeons-le-Vieux", "41993"}, {"Vaux-les-Songes", "45994"}, {"Chimère-la-Haute", "18995"}},
		e2: {{"Mirage-en-Garonne", "82991"}, {"Fablières", "82992"}, {"Onirac", "31993"}, {"Nulle-Part-sur-Tarn", "82994"}, {"Irréville", "47995"}},
		e3: {{"Utopia-Plage", "30991"}, {"Chimérac", "34992"}, {"Saint-Songe-du-Gard", "30993"}, {"Fabulargues", "13994"}, {"Mirabelle-des-Songes", "30995"}},
		e4: {{"Haute-Brume-Village", "48991"}},
	}
	// Department of birth written in the NIR (metropolitan, not Corsica).
	birthDepts = map[*Establishment][]int{e1: {45, 41, 18, 75}, e2: {82, 31, 47, 75}, e3: {30, 34, 13, 75}, e4: {48}}
)

// person is the fictional identity of one inclusion row.
type person struct {
	Last, First string
	Sex         string // "M" | "F"
	Birth       time.Time
	IPP         string // hospital patient id, establishment-specific format
	NIR         string // 15 digits with a valid key
	Street      string // "12 rue des Chimères"
	Postal      string
	Town        string
	Comment     string // free text, often naming the patient
}

// civility is "M." or "Mme".
func (p person) civility() string {
	if p.Sex == "F" {
		return "Mme"
	}
	return "M."
}

// NIRSpaced renders the NIR as printed on a carte Vitale: "1 84 12 75 123 456 78".
func (p person) NIRSpaced() string {
	n := p.NIR
	return strings.Join([]string{n[0:1], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:15]}, " ")
}

// people draws fictional identities for one establishment.
type people struct {
	r *rand.Rand
	e *Establishment
	n int
}

func newPeople(seed uint64, e *Establishment) *people {
	h := fnv.New64a()
	h.Write([]byte("demogen/identities/" + e.Key))
	return &people{r: rand.New(rand.NewPCG(seed, h.Sum64())), e: e}
}

func (g *people) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// next returns the identity of a subject included on date.
func (g *people) next(date time.Time) person {
	g.n++
	p := person{Sex: "M"}
	if g.r.IntN(2) == 0 {
		p.Sex = "F"
		p.First = g.pick(femaleFirstNames)
	} else {
		p.First = g.pick(maleFirstNames)
	}
	p.Last = g.pick(patientLastNames)
	age := 18 + g.r.IntN(70)
	p.Birth = date.AddDate(-age, 0, -g.r.IntN(365))
	switch g.e {
	case e1:
		p.IPP = fmt.Sprintf("%09d", 450000000+g.r.IntN(9000000)) // numeric, 9 digits
	case e2:
		p.IPP = fmt.Sprintf("GA%07d", g.r.IntN(10000000))
	default:
		p.IPP = fmt.Sprintf("AM-%06d", g.r.IntN(1000000))
	}
	depts := birthDepts[g.e]
	p.NIR = nir(p.Sex, p.Birth, depts[g.r.IntN(len(depts))], 1+g.r.IntN(899), 1+g.r.IntN(998))
	p.Street = fmt.Sprintf("%d %s", 1+g.r.IntN(120), g.pick(fictionalStreets))
	town := fictionalTowns[g.e][g.r.IntN(len(fictionalTowns[g.e]))]
	p.Town, p.Postal = town[0], town[1]
	name := p.civility() + " " + p.First + " " + strings.ToUpper(p.Last)
	switch x := g.r.IntN(10); x {
	case 0:
		p.Comment = "Appel de " + name + " : rendez-vous décalé"
	case 1:
		p.Comment = name + " injoignable, relance faite"
	case 2:
		p.Comment = "Consentement de " + name + " signé en présence de l'aidant"
	case 3:
		p.Comment = "Transport à organiser pour " + name + " (" + p.Town + ")"
	case 4:
		p.Comment = "RAS"
	default:
		p.Comment = ""
	}
	return p
}

// nir builds a 15-digit French social security number: sex (1 or 2), year
// and month of birth, department and commune of birth, order number, and
// the key 97 - (first 13 digits mod 97).
func nir(sex string, birth time.Time, dept, commune, order int) string {
	s := 1
	if sex == "F" {
		s = 2
	}
	body := fmt.Sprintf("%d%02d%02d%02d%03d%03d", s, birth.Year()%100, int(birth.Month()), dept, commune, order)
	var n uint64
	for _, c := range body {
		n = n*10 + uint64(c-'0')
	}
	return fmt.Sprintf("%s%02d", body, 97-n%97)
}

// identityValues renders a person into the x- fields of an inclusion row,
// with dates in the file's layout.
func identityValues(p person, dateLayout string) map[string]string {
	sexFR := map[string]string{"M": "H", "F": "F"}[p.Sex]
	return map[string]string{
		"x-ipp":      p.IPP,
		"x-last":     strings.ToUpper(p.Last),
		"x-first":    p.First,
		"x-patient":  strings.ToUpper(p.Last) + " " + p.First,
		"x-initials": initials(p),
		"x-sex":      p.Sex,
		"x-sex-fr":   sexFR,
		"x-birth":    p.Birth.Format(dateLayout),
		"x-nir":      p.NIRSpaced(),
		"x-ins":      p.NIR,
		"x-postal":   p.Postal,
		"x-town":     p.Town,
		"x-address":  p.Street + ", " + p.Postal + " " + p.Town,
		"x-comment":  p.Comment,
	}
}

// initials as a CRF writes them: first three letters of the surname, first
// two of the first name ("FIC-AU").
func initials(p person) string {
	up := func(s string, n int) string {
		var out []rune
		for _, r := range strings.ToUpper(s) {
			if r >= 'A' && r <= 'Z' || r > 127 {
				out = append(out, r)
			}
			if len(out) == n {
				break
			}
		}
		return string(out)
	}
	return up(p.Last, 3) + "-" + up(p.First, 2)
}
