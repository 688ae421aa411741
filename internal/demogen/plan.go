package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// exportDate is the day the fictional CTMS exports were taken. Nothing in the
// data is dated after it.
var exportDate = mustDate("2026-03-31")

// firstCountedYear is the first year inclusions are generated for: sites opened
// earlier have inclusions only from this year on (the exports keep 5 years).
const firstCountedYear = 2021

// Establishment is one fictional establishment of the demo.
type Establishment struct {
	Key    string // E1..E4
	Slug   string // directory name under testdata/demo
	FINESS string
	Name   string
	Kind   string // CHU | CLCC
}

// SitePlan is the participation of one establishment in one study.
type SitePlan struct {
	Est          *Establishment
	Code         string // this establishment's local study code
	Role         string // sponsor-site | investigating-site
	Opened       time.Time
	Closed       time.Time
	Status       string // canonical site status
	Target       int
	Investigator string
	Rate         float64 // non-screen-failure inclusions per full year
	// Counts[year] = {non-screen-failure inclusions, screen failures}.
	Counts map[int][2]int
}

// Study is one distinct study of the plan.
type Study struct {
	Key           string // S01..
	Acronym       string
	Title         string
	SponsorName   string
	SponsorFINESS string
	SponsorType   string // academic | industry
	Category      string // RIPH1 | RIPH2 | RIPH3 | CTR
	Phase         string // I | I/II | II | III | IV | NA
	International bool
	IDRCB         string
	EUCT          string
	EudraCT       string
	NCT           string
	TargetFrance  int
	Submitted     time.Time
	ANSM          time.Time
	CPP           time.Time
	EUAuth        time.Time
	Status        string // canonical study status
	Terminated    bool
	Suspended     bool
	Sites         []*SitePlan
	Note          string // why this study is in the plan (edge case)
}

// Inclusion is one generated inclusion row.
type Inclusion struct {
	Study   *Study
	Site    *SitePlan
	Subject string
	Date    time.Time
	Status  string // canonical: included | withdrawn | completed | screen-failed
}

// Plan is the whole demo data set before rendering.
type Plan struct {
	Ests       []*Establishment
	Studies    []*Study // the three main establishments
	Other      []*Study // the other-layout establishment
	Inclusions []*Inclusion
	OtherIncl  []*Inclusion
}

func mustDate(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// luhnKey returns the 9-digit FINESS made of the 8-digit body and its Luhn key.
func luhnKey(body string) string {
	sum := 0
	// Positions counted from the right of the final 9-digit number: the key
	// is position 1, so body digits at even positions from the right are doubled.
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + fmt.Sprint((10-sum%10)%10)
}

// luhnValid checks a full number.
func luhnValid(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

var (
	e1 = &Establishment{Key: "E1", Slug: "chu-val-de-loire-est", FINESS: luhnKey("45000917"), Name: "CHU de Val-de-Loire-Est", Kind: "CHU"}
	e2 = &Establishment{Key: "E2", Slug: "chu-garonne-amont", FINESS: luhnKey("82000408"), Name: "CHU de Garonne-Amont", Kind: "CHU"}
	e3 = &Establishment{Key: "E3", Slug: "institut-aurore-mediterranee", FINESS: luhnKey("30001276"), Name: "Institut de cancérologie Aurore-Méditerranée", Kind: "CLCC"}
	e4 = &Establishment{Key: "E4", Slug: "other-layout", FINESS: luhnKey("48000153"), Name: "CHU de Haute-Brume", Kind: "CHU"}
	// extCHU sponsors some studies but runs no connector in the demo.
	extCHU = &Establishment{Key: "X1", FINESS: luhnKey("55000214"), Name: "CHU de Lorraine-Ouest", Kind: "CHU"}
)

const extGroup = "Intergroupe d'oncologie fictif (IOF)"

var companies = []string{"Laboratoires Zéphyrine", "Nérélia Biotech", "Quilmar Pharma", "Oncaldo Therapeutics", "Véloria Medical", "Brisane Santé"}

// sh is the literal spec of a hand-designed study.
type sh struct {
	sponsor string // E1 E2 E3 E4 X1 IOF or a company name
	cat     string
	phase   string
	sites   []ss
	note    string
	flags   string // "T" terminated, "S" suspended
}

type ss struct {
	est   *Establishment
	open  string
	close string
	rate  float64 // 0 = random
}

// sharedSpecs are the 15 multi-centre studies and their edge cases.
var sharedSpecs = []sh{
	{"E1", "RIPH1", "III", []ss{{e1, "2022-03-15", "", 30}, {e2, "2022-06-01", "", 20}, {e3, "2022-09-12", "2025-06-30", 12}}, "3 sites, sponsor E1", ""},
	{"E1", "RIPH2", "NA", []ss{{e2, "2022-12-20", "", 25}, {e1, "2023-01-09", "", 35}}, "partner E2 opened before the sponsor site: A2 sponsor of E1 in 2022", ""},
	{"E2", "RIPH1", "II", []ss{{e2, "2021-05-10", "2023-12-31", 15}, {e3, "2022-02-01", "2024-01-01", 10}}, "E2 closed 31/12/2023 (not open 2024); E3 closed 01/01/2024 (open 2024); first opening 2021", ""},
	{"E3", "CTR", "I/II", []ss{{e3, "2023-04-03", "", 8}, {e1, "2023-10-02", "", 5}, {e2, "2024-01-15", "", 4}}, "3 sites, CLCC sponsor, phase I/II", ""},
	{"E3", "RIPH1", "II", []ss{{e3, "2024-12-31", "", 12}, {e2, "2025-02-03", "", 6}}, "sponsor site opened on 31/12/2024: open in 2024, A2 2024", ""},
	{"Laboratoires Zéphyrine", "CTR", "III", []ss{{e1, "2022-05-02", "2025-09-30", 8}, {e2, "2022-07-18", "", 10}, {e3, "2023-01-16", "", 9}}, "industry, 3 sites", ""},
	{"Nérélia Biotech", "CTR", "I", []ss{{e3, "2023-06-05", "", 5}, {e1, "2024-03-11", "", 3}}, "industry phase I", ""},
	{"Véloria Medical", "RIPH1", "NA", []ss{{e1, "2021-09-01", "", 12}, {e2, "2021-10-04", "2022-12-31", 8}}, "device trial; E2 closed 31/12/2022 (not open 2023)", ""},
	{"X1", "RIPH2", "NA", []ss{{e1, "2022-01-10", "", 20}, {e2, "2022-02-14", "", 15}, {e3, "2022-04-04", "", 10}}, "academic sponsor outside the demo: counts for nobody's sponsor view", ""},
	{"IOF", "CTR", "III", []ss{{e3, "2022-11-07", "", 14}, {e1, "2023-02-06", "", 6}}, "academic cooperative group without FINESS", ""},
	{"E2", "RIPH3", "NA", []ss{{e2, "2023-03-01", "", 40}, {e1, "", "", 0}}, "E1 site never opened (no opening date)", ""},
	{"E1", "CTR", "IV", []ss{{e1, "", "", 0}, {e3, "2025-03-03", "", 10}}, "sponsor site never opened but partner E3 open in 2025: A1/A2 sponsor of E1 in 2025", ""},
	{"Quilmar Pharma", "CTR", "II", []ss{{e2, "2023-09-04", "", 6}, {e3, "2023-05-22", "", 9}}, "industry phase II", ""},
	{"E2", "RIPH1", "I/II", []ss{{e2, "2022-10-03", "", 6}, {e1, "2023-01-23", "", 4}, {e3, "2023-03-13", "", 5}}, "3 sites, CHU sponsor, phase I/II", ""},
	{"E3", "RIPH2", "NA", []ss{{e3, "2022-06-13", "", 30}, {e1, "2022-09-05", "2023-06-30", 10}}, "E1 site stopped early (closed 30/06/2023)", ""},
}

// edgeSingles are hand-designed single-site studies; the rest are drawn.
var edgeSingles = []sh{
	{"E1", "RIPH2", "NA", []ss{{e1, "2019-03-04", "2021-12-31", 20}}, "closed 31/12/2021: never open in 2022-2025", ""},
	{"E1", "RIPH1", "II", []ss{{e1, "2023-12-31", "", 10}}, "opened on 31/12/2023: open 2023, A2 2023", ""},
	{"E1", "RIPH3", "NA", []ss{{e1, "2020-06-15", "2022-12-31", 25}}, "closed 31/12/2022: open 2022 only", ""},
	{"Brisane Santé", "CTR", "III", []ss{{e1, "2021-02-01", "2023-01-01", 8}}, "closed 01/01/2023: still open in 2023", ""},
	{"E1", "RIPH1", "III", []ss{{e1, "2022-04-04", "", 15}}, "suspended: still open", "S"},
	{"E1", "RIPH2", "NA", []ss{{e1, "2026-02-02", "", 10}}, "opened 2026: never open in 2022-2025", ""},
	{"E1", "RIPH1", "II", []ss{{e1, "", "", 0}}, "awaiting authorisation: no opening date", ""},
	{"E2", "RIPH1", "III", []ss{{e2, "", "", 0}}, "awaiting authorisation: no opening date", ""},
	{"E2", "RIPH2", "NA", []ss{{e2, "2022-01-01", "2023-06-15", 20}}, "opened 01/01/2022, terminated early", "T"},
	{"E3", "CTR", "I", []ss{{e3, "", "", 0}}, "awaiting authorisation: no opening date", ""},
	{"E3", "CTR", "I", []ss{{e3, "2021-11-15", "2025-01-01", 5}}, "closed 01/01/2025: open in 2025", ""},
}

// drawn single-site studies per establishment: count, share sponsored by the
// establishment itself.
var drawCounts = map[*Establishment]int{e1: 10, e2: 11, e3: 13}

var (
	syll        = []string{"AL", "BE", "CA", "DO", "E", "FI", "GA", "HE", "I", "LU", "MA", "NO", "O", "PRI", "QUA", "RA", "SO", "TE", "U", "VA", "XE", "ZO", "TRI", "CO", "NE", "STA", "ME", "LI"}
	chuConds    = []string{"l'insuffisance cardiaque à fraction d'éjection préservée", "l'accident vasculaire cérébral ischémique", "le sepsis en réanimation", "la bronchiolite du nourrisson", "le diabète de type 1 de l'enfant", "la maladie de Parkinson débutante", "la BPCO sévère", "la polyarthrite rhumatoïde", "la fracture de l'extrémité supérieure du fémur du sujet âgé", "la maladie de Crohn", "l'insuffisance rénale chronique", "la sclérose en plaques rémittente", "la drépanocytose", "l'obésité sévère de l'adolescent", "la fibrillation atriale", "la douleur post-opératoire en chirurgie orthopédique", "la prématurité extrême", "l'épilepsie pharmacorésistante", "la cirrhose décompensée", "la dépression résistante", "le cœur pulmonaire chronique", "la mucoviscidose", "les infections urinaires à entérobactéries"}
	cancerConds = []string{"le cancer du sein triple négatif", "le cancer bronchique non à petites cellules", "le cancer colorectal métastatique", "le cancer de la prostate résistant à la castration", "le cancer de l'ovaire en rechute", "le lymphome diffus à grandes cellules B", "le mélanome avancé", "le glioblastome", "le carcinome hépatocellulaire", "le cancer du pancréas localement avancé", "les sarcomes des tissus mous", "le cancer de l'endomètre", "les tumeurs ORL", "le myélome multiple", "le cancer du col de l'utérus", "le cancer gastrique HER2 positif"}
	drugs       = []string{"un anticorps anti-PD-1", "une immunothérapie néoadjuvante", "un inhibiteur de tyrosine kinase", "une radiothérapie hypofractionnée", "un anticoagulant oral direct", "une corticothérapie courte", "une stimulation cérébrale profonde", "un programme d'activité physique adaptée", "une antibiothérapie de 7 jours", "un anticorps conjugué", "une chimiothérapie métronomique", "une désescalade thérapeutique", "un dispositif de télésurveillance", "une vaccination thérapeutique"}
	firstNames  = []string{"Camille", "Claire", "Julien", "Hélène", "Marc", "Sophie", "Thomas", "Élise", "Antoine", "Nadia", "Pierre", "Inès", "Olivier", "Léa", "Yannick", "Agnès", "Karim", "Mathilde"}
	lastNames   = []string{"Morvan", "Lestrade", "Bonnafoux", "Quéré", "Delarive", "Ferrandi", "Guillou", "Maréchaux", "Pélissier", "Raynaud-Tessier", "Vautrin", "Le Goff", "Chastel", "Dumonteil", "Barthès", "Nicolaÿ", "Serreau", "Aubertin"}
)

// buildPlan builds the whole plan deterministically from seed.
func buildPlan(seed uint64) *Plan {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	p := &Plan{Ests: []*Establishment{e1, e2, e3}}
	g := &gen{r: r, acr: map[string]bool{}}
	for _, s := range sharedSpecs {
		p.Studies = append(p.Studies, g.fromSpec(s))
	}
	for _, s := range edgeSingles {
		p.Studies = append(p.Studies, g.fromSpec(s))
	}
	for _, e := range []*Establishment{e1, e2, e3} {
		for i := 0; i < drawCounts[e]; i++ {
			p.Studies = append(p.Studies, g.fromSpec(g.drawSingle(e)))
		}
	}
	for i, s := range p.Studies {
		s.Key = fmt.Sprintf("S%02d", i+1)
	}
	g.assignIDs(p.Studies, "main")
	g.codes(p.Studies)
	p.Inclusions = g.inclusions(p.Studies)

	// Other layout: one establishment, 5 studies.
	others := []sh{
		{"E4", "RIPH1", "II", []ss{{e4, "2022-05-16", "", 6}}, "", ""},
		{"E4", "RIPH2", "NA", []ss{{e4, "2023-02-01", "2025-07-31", 8}}, "", ""},
		{"Oncaldo Therapeutics", "CTR", "III", []ss{{e4, "2023-09-18", "", 3}}, "", ""},
		{"Quilmar Pharma", "CTR", "I/II", []ss{{e4, "2024-04-08", "", 2}}, "", ""},
		{"X1", "RIPH3", "NA", []ss{{e4, "2022-01-03", "2024-06-30", 4}}, "", ""},
	}
	for i, s := range others {
		st := g.fromSpec(s)
		st.Key = fmt.Sprintf("O%d", i+1)
		p.Other = append(p.Other, st)
	}
	g.assignIDs(p.Other, "other")
	for i, s := range p.Other {
		s.Sites[0].Code = fmt.Sprintf("HB/%d/%02d", s.Submitted.Year(), i+1)
	}
	p.OtherIncl = g.inclusions(p.Other)
	return p
}

type gen struct {
	r   *rand.Rand
	acr map[string]bool
	nid int
}

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) between(a, b time.Time) time.Time {
	days := int(b.Sub(a).Hours() / 24)
	if days <= 0 {
		return a
	}
	return a.AddDate(0, 0, g.r.IntN(days+1))
}

func (g *gen) drawSingle(e *Establishment) sh {
	s := sh{}
	x := g.r.Float64()
	switch {
	case x < 0.5:
		s.sponsor = e.Key
	case x < 0.85:
		s.sponsor = g.pick(companies)
	default:
		s.sponsor = "X1"
		if e.Kind == "CLCC" {
			s.sponsor = "IOF"
		}
	}
	industry := strings.HasPrefix(s.sponsor, "E") == false && s.sponsor != "X1" && s.sponsor != "IOF"
	if industry {
		s.cat = "CTR"
		if g.r.IntN(4) == 0 {
			s.cat = "RIPH1"
		}
	} else {
		s.cat = []string{"RIPH1", "RIPH1", "RIPH2", "RIPH2", "RIPH3", "CTR"}[g.r.IntN(6)]
	}
	switch s.cat {
	case "CTR":
		s.phase = []string{"I", "I/II", "II", "III", "III", "IV"}[g.r.IntN(6)]
	case "RIPH1":
		s.phase = []string{"II", "III", "NA", "I/II"}[g.r.IntN(4)]
	default:
		s.phase = "NA"
	}
	open := g.between(mustDate("2020-01-06"), mustDate("2025-09-30"))
	cl := ""
	if g.r.IntN(10) < 4 {
		c := open.AddDate(1+g.r.IntN(3), g.r.IntN(12), 0)
		if c.Before(mustDate("2025-12-31")) {
			cl = c.Format("2006-01-02")
		}
	}
	s.sites = []ss{{e, open.Format("2006-01-02"), cl, 0}}
	s.note = "drawn"
	return s
}

func (g *gen) acronym() string {
	for {
		n := 2 + g.r.IntN(2)
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(g.pick(syll))
		}
		a := b.String()
		if len(a) >= 4 && !g.acr[a] {
			g.acr[a] = true
			return a
		}
	}
}

func (g *gen) fromSpec(spec sh) *Study {
	s := &Study{Category: spec.cat, Phase: spec.phase, Note: spec.note}
	s.Terminated = strings.Contains(spec.flags, "T")
	s.Suspended = strings.Contains(spec.flags, "S")
	switch spec.sponsor {
	case "E1", "E2", "E3", "E4":
		est := map[string]*Establishment{"E1": e1, "E2": e2, "E3": e3, "E4": e4}[spec.sponsor]
		s.SponsorName, s.SponsorFINESS, s.SponsorType = est.Name, est.FINESS, "academic"
	case "X1":
		s.SponsorName, s.SponsorFINESS, s.SponsorType = extCHU.Name, extCHU.FINESS, "academic"
	case "IOF":
		s.SponsorName, s.SponsorType = extGroup, "academic"
	default:
		s.SponsorName, s.SponsorType = spec.sponsor, "industry"
	}
	s.International = s.SponsorType == "industry" || (s.Category == "CTR" && g.r.IntN(2) == 0)
	s.Acronym = g.acronym()
	onco := false
	for _, x := range spec.sites {
		if x.est.Kind == "CLCC" {
			onco = true
		}
	}
	cond := g.pick(chuConds)
	if onco {
		cond = g.pick(cancerConds)
	}
	switch s.Category {
	case "RIPH1", "CTR":
		if s.Phase == "NA" {
			s.Title = fmt.Sprintf("Essai randomisé évaluant %s dans %s", g.pick(drugs), cond)
		} else {
			s.Title = fmt.Sprintf("Essai de phase %s évaluant %s dans %s", s.Phase, g.pick(drugs), cond)
		}
	case "RIPH2":
		s.Title = fmt.Sprintf("Étude prospective à risques minimes, biomarqueurs et qualité de vie dans %s", cond)
	default:
		s.Title = fmt.Sprintf("Cohorte observationnelle multicentrique sur %s", cond)
	}
	var first time.Time
	for _, x := range spec.sites {
		site := &SitePlan{Est: x.est, Opened: mustDate(x.open), Closed: mustDate(x.close), Rate: x.rate}
		if site.Rate == 0 && !site.Opened.IsZero() {
			switch s.Phase {
			case "I", "I/II":
				site.Rate = 3 + g.r.Float64()*6
			case "II":
				site.Rate = 6 + g.r.Float64()*12
			default:
				site.Rate = 8 + g.r.Float64()*25
			}
		}
		site.Role = "investigating-site"
		if x.est.FINESS == s.SponsorFINESS {
			site.Role = "sponsor-site"
		}
		site.Investigator = "Dr " + g.pick(firstNames) + " " + g.pick(lastNames)
		s.Sites = append(s.Sites, site)
		if !site.Opened.IsZero() && (first.IsZero() || site.Opened.Before(first)) {
			first = site.Opened
		}
	}
	// Regulatory milestones: before the first opening, or recent when no site opened.
	if first.IsZero() {
		s.Submitted = g.between(mustDate("2025-06-02"), mustDate("2026-01-30"))
	} else {
		s.Submitted = first.AddDate(0, -(6 + g.r.IntN(8)), -g.r.IntN(20))
	}
	s.CPP = s.Submitted.AddDate(0, 0, 35+g.r.IntN(60))
	if s.Category == "RIPH1" {
		s.ANSM = s.Submitted.AddDate(0, 0, 30+g.r.IntN(40))
	}
	if s.Category == "CTR" {
		auth := s.Submitted.AddDate(0, 0, 60+g.r.IntN(50))
		if s.Submitted.Before(mustDate("2022-02-01")) {
			s.ANSM = auth // authorised under the directive, transitioned later
		} else {
			s.EUAuth = auth
			s.CPP = time.Time{}
		}
	}
	if first.IsZero() {
		// awaiting authorisation: no decision yet
		s.ANSM, s.EUAuth = time.Time{}, time.Time{}
		if s.Category != "CTR" && g.r.IntN(2) == 0 {
			s.CPP = time.Time{}
		}
	}
	// Statuses.
	anyOpen, anyOpened, allClosed, future := false, false, true, false
	for _, site := range s.Sites {
		switch {
		case site.Opened.IsZero():
			site.Status = "in-preparation"
			allClosed = false
		case site.Opened.After(exportDate):
			site.Status = "approved"
			future = true
			allClosed = false
		case !site.Closed.IsZero():
			site.Status = "completed"
			if s.Terminated {
				site.Status = "terminated"
			}
			anyOpened = true
		default:
			site.Status = "recruiting"
			if s.Suspended {
				site.Status = "suspended"
			}
			anyOpen, anyOpened, allClosed = true, true, false
		}
	}
	switch {
	case s.Suspended:
		s.Status = "suspended"
	case anyOpen:
		s.Status = "recruiting"
	case anyOpened && allClosed && s.Terminated:
		s.Status = "terminated"
	case anyOpened && allClosed:
		s.Status = "completed"
	case anyOpened:
		s.Status = "recruiting"
	case future:
		s.Status = "approved"
	default:
		s.Status = "in-preparation"
	}
	s.TargetFrance = 10 * (2 + g.r.IntN(30))
	for _, site := range s.Sites {
		site.Target = 5 * (1 + g.r.IntN(12))
	}
	return s
}

// assignIDs gives each study identifiers consistent with its category, all
// distinct across studies.
func (g *gen) assignIDs(studies []*Study, salt string) {
	base := 1200
	if salt == "other" {
		base = 7700
	}
	for _, s := range studies {
		g.nid++
		n := base + g.nid*37 + g.r.IntN(30)
		y := s.Submitted.Year()
		switch s.Category {
		case "CTR":
			s.EUCT = fmt.Sprintf("%d-5%05d-%02d-00", max(y, 2023), 90000+n%10000, 10+g.r.IntN(89))
			if y < 2023 {
				// transitioned trial: EudraCT kept as well
				s.EudraCT = fmt.Sprintf("%d-0%05d-%02d", y, n, 10+g.r.IntN(89))
			}
		default:
			s.IDRCB = fmt.Sprintf("%d-A%05d-%02d", y, n, 10+g.r.IntN(89))
		}
		if s.International || s.SponsorType == "industry" || g.r.IntN(3) == 0 {
			s.NCT = fmt.Sprintf("NCT09%06d", n*7%1000000)
		}
	}
}

// codes assigns each establishment's local study codes.
func (g *gen) codes(studies []*Study) {
	seq := map[*Establishment]int{}
	for _, s := range studies {
		for _, site := range s.Sites {
			seq[site.Est]++
			n := seq[site.Est]
			y := s.Submitted.Year()
			switch site.Est {
			case e1:
				site.Code = fmt.Sprintf("VLE-%d-%03d", y, 100+n*3)
			case e2:
				site.Code = fmt.Sprintf("GA%02d%03d", y%100, 10+n*7)
			case e3:
				site.Code = fmt.Sprintf("IAM-ONC-%04d", 300+n*11)
			}
		}
	}
}

// inclusions draws the per-site, per-year counts (recorded in the plan) and
// then the inclusion rows.
func (g *gen) inclusions(studies []*Study) []*Inclusion {
	var all []*Inclusion
	for _, s := range studies {
		var rows []*Inclusion
		for _, site := range s.Sites {
			site.Counts = map[int][2]int{}
			if site.Opened.IsZero() || site.Opened.After(exportDate) {
				continue
			}
			for y := firstCountedYear; y <= exportDate.Year(); y++ {
				lo, hi := yearWindow(site, y)
				if hi.Before(lo) {
					continue
				}
				days := hi.Sub(lo).Hours()/24 + 1
				mean := site.Rate * days / 365 * (0.7 + 0.6*g.r.Float64())
				n := int(math.Round(mean))
				if n == 0 && days > 60 && g.r.IntN(2) == 0 {
					n = 1
				}
				sf := int(math.Round(float64(n) * (0.04 + 0.18*g.r.Float64())))
				site.Counts[y] = [2]int{n, sf}
				for i := 0; i < n+sf; i++ {
					d := g.between(lo, hi)
					st := "screen-failed"
					if i < n {
						st = "included"
						switch x := g.r.Float64(); {
						case x < 0.08:
							st = "withdrawn"
						case d.Year() <= 2023 && x < 0.6:
							st = "completed"
						}
					}
					rows = append(rows, &Inclusion{Study: s, Site: site, Date: d, Status: st})
				}
			}
		}
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Date.Before(rows[j].Date) })
		for i, in := range rows {
			in.Subject = fmt.Sprintf("P-%04d", i+1)
		}
		all = append(all, rows...)
	}
	return all
}

// yearWindow is the part of year y during which site is open (inclusive),
// capped at the export date.
func yearWindow(site *SitePlan, y int) (time.Time, time.Time) {
	lo := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	hi := time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC)
	if site.Opened.After(lo) {
		lo = site.Opened
	}
	if !site.Closed.IsZero() && site.Closed.Before(hi) {
		hi = site.Closed
	}
	if exportDate.Before(hi) {
		hi = exportDate
	}
	return lo, hi
}
