// Package bigexport writes a large, fictional CTMS CSV export of one
// establishment (a studies file, an inclusions file, a pseudonymisation key
// and the connect.yaml of the ctms-csv connector), for backfill, crash and
// load tests. Output is a pure function of Options: the same options give
// byte-identical files. Nothing in it describes a real study or patient.
package bigexport

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options sizes the export.
type Options struct {
	// Inclusions is the number of inclusion rows to write. Required (> 0).
	Inclusions int
	// PerStudy is the mean number of inclusions per study; default 40.
	PerStudy int
	// Seed makes the export; default 1.
	Seed uint64
	// FINESS of the fictional establishment; default DefaultFINESS.
	FINESS string
	// Name of the fictional establishment; default "CHU Fictif du Grand Test".
	Name string
	// BatchSize is the connector's batch_size (rows per batch); 0 keeps the
	// connector's default.
	BatchSize int
	// RejectEvery makes every n-th inclusion row carry an unparsable date,
	// so that the quarantine path is exercised; 0 writes none.
	RejectEvery int
}

// Export says what was written.
type Export struct {
	Dir            string
	Config         string // connect.yaml
	KeyFile        string // pseudonymisation key (hex)
	FINESS         string
	Studies        int // study rows
	Inclusions     int // inclusion rows
	BadInclusions  int // rows written to be rejected
	SponsoredByUs  int // studies this establishment sponsors
	StudiesFile    string
	InclusionsFile string
}

// DefaultFINESS is the establishment's FINESS unless Options says
// otherwise. Every FINESS the export uses is in département 99, which does
// not exist, and has a valid Luhn key.
const DefaultFINESS = "990000010"

const (
	studiesFile    = "etudes.csv"
	inclusionsFile = "inclusions.csv"
	keyFile        = "pseudonym.key"
	configFile     = "connect.yaml"
)

// Write writes the export into dir (created if needed).
func Write(dir string, o Options) (Export, error) {
	if o.Inclusions <= 0 {
		return Export{}, errors.New("bigexport: Options.Inclusions must be > 0")
	}
	if o.PerStudy <= 0 {
		o.PerStudy = 40
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.FINESS == "" {
		o.FINESS = DefaultFINESS
	}
	if o.Name == "" {
		o.Name = "CHU Fictif du Grand Test"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Export{}, fmt.Errorf("bigexport: %w", err)
	}
	ex := Export{Dir: dir, FINESS: o.FINESS,
		Config: filepath.Join(dir, configFile), KeyFile: filepath.Join(dir, keyFile),
		StudiesFile: filepath.Join(dir, studiesFile), InclusionsFile: filepath.Join(dir, inclusionsFile)}
	rng := rand.New(rand.NewPCG(o.Seed, 0x1745_2026))

	nStudies := max(1, (o.Inclusions+o.PerStudy-1)/o.PerStudy)
	studies := make([]study, nStudies)
	for i := range studies {
		studies[i] = newStudy(rng, i, o.FINESS)
		if studies[i].sponsorFINESS == o.FINESS {
			ex.SponsoredByUs++
		}
	}
	ex.Studies = nStudies
	if err := writeStudies(ex.StudiesFile, o, studies); err != nil {
		return Export{}, err
	}
	bad, err := writeInclusions(ex.InclusionsFile, o, rng, studies)
	if err != nil {
		return Export{}, err
	}
	ex.Inclusions, ex.BadInclusions = o.Inclusions, bad
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(rng.UintN(256))
	}
	if err := os.WriteFile(ex.KeyFile, []byte(fmt.Sprintf("%x\n", key)), 0o600); err != nil {
		return Export{}, fmt.Errorf("bigexport: write key: %w", err)
	}
	if err := os.WriteFile(ex.Config, []byte(configYAML(o)), 0o644); err != nil {
		return Export{}, fmt.Errorf("bigexport: write config: %w", err)
	}
	return ex, nil
}

// study is one generated study row (this establishment's participation).
type study struct {
	code, rcb, nct, title        string
	sponsorName, sponsorFINESS   string
	sponsorType, category, phase string
	status, siteRole, siteStatus string
	submitted, ethics, opened    time.Time
	firstInclusion, closed       time.Time
	target                       int
}

var (
	sponsors = []struct{ name, finess, typ string }{
		{"", "", "Institutionnel"}, // this establishment, filled in newStudy
		{"CHU Fictif du Littoral", "990000028", "Institutionnel"},
		{"Centre Imaginaire de Lutte contre le Cancer", "990000036", "Institutionnel"},
		{"Laboratoires Chimères", "", "Industriel"},
		{"Pharmafiction SA", "", "Industriel"},
	}
	categories = []string{"CTR", "RIPH1", "RIPH2", "RIPH3"}
	phases     = []string{"1", "1/2", "2", "2/3", "3", "4", "NA"}
	statuses   = []string{"Ouverte aux inclusions", "Fermée aux inclusions", "Terminée", "Suspendue"}
	siteStatus = map[string]string{"Ouverte aux inclusions": "Ouvert aux inclusions", "Fermée aux inclusions": "Fermé", "Terminée": "Fermé", "Suspendue": "Suspendu"}
	inclStatus = []string{"inclus", "inclus", "inclus", "fin de suivi", "screen failure", "sortie d'étude"}
	diseases   = []string{"la polyarthrite imaginaire", "le syndrome de Fictivus", "l'asthme sévère de test", "la migraine chronique simulée", "le lymphome fictif"}
	treatments = []string{"une biothérapie", "une stratégie de désescalade", "un programme d'activité physique", "une antibiothérapie courte"}
	epoch      = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	dateLayout = "2006-01-02"
)

func newStudy(rng *rand.Rand, i int, finess string) study {
	sp := sponsors[rng.IntN(len(sponsors))]
	if sp.name == "" {
		sp.name, sp.finess = "CHU Fictif du Grand Test", finess
	}
	s := study{
		code:          fmt.Sprintf("BX%06d", i+1),
		sponsorName:   sp.name,
		sponsorFINESS: sp.finess,
		sponsorType:   sp.typ,
		category:      categories[rng.IntN(len(categories))],
		phase:         phases[rng.IntN(len(phases))],
		status:        statuses[rng.IntN(len(statuses))],
		target:        5 + rng.IntN(200),
	}
	s.submitted = epoch.AddDate(0, 0, rng.IntN(9*365))
	s.ethics = s.submitted.AddDate(0, 0, 30+rng.IntN(90))
	s.opened = s.ethics.AddDate(0, 0, 30+rng.IntN(180))
	s.firstInclusion = s.opened.AddDate(0, 0, 1+rng.IntN(60))
	// Registry identifiers: most studies have an ID-RCB (unique per study),
	// some an NCT too.
	s.rcb = fmt.Sprintf("%d-A%05d-%02d", s.submitted.Year(), (i+1)%100000, rng.IntN(100))
	if rng.IntN(3) == 0 {
		s.nct = fmt.Sprintf("NCT9%07d", i+1)
	}
	s.title = fmt.Sprintf("FICT%d - Essai évaluant %s dans %s", i+1, treatments[rng.IntN(len(treatments))], diseases[rng.IntN(len(diseases))])
	s.siteStatus = siteStatus[s.status]
	if s.status == "Terminée" || s.status == "Fermée aux inclusions" {
		s.closed = s.firstInclusion.AddDate(0, 0, 180+rng.IntN(900))
	}
	s.siteRole = "Centre associé"
	if s.sponsorFINESS == finess {
		s.siteRole = "Promoteur (centre coordonnateur)"
	}
	return s
}

var studyHeader = []string{"Réf. locale", "ID-RCB", "NCT", "Intitulé de l'étude", "Promoteur", "FINESS du promoteur",
	"Typologie promoteur", "Catégorie réglementaire", "Phase", "Statut", "Soumission", "Avis CPP",
	"Rôle de l'établissement", "Statut du centre", "Date d'ouverture du centre", "Date de 1ère inclusion",
	"Date de fermeture du centre", "Nb patients attendus centre"}

var inclusionHeader = []string{"Réf. locale", "Identifiant patient", "Statut", "Date d'inclusion"}

func writeStudies(path string, o Options, studies []study) error {
	return writeCSV(path, studyHeader, func(emit func([]string) error) error {
		for _, s := range studies {
			closed := ""
			if !s.closed.IsZero() {
				closed = s.closed.Format(dateLayout)
			}
			if err := emit([]string{s.code, s.rcb, s.nct, s.title, s.sponsorName, s.sponsorFINESS, s.sponsorType,
				s.category, s.phase, s.status, s.submitted.Format(dateLayout), s.ethics.Format(dateLayout),
				s.siteRole, s.siteStatus, s.opened.Format(dateLayout), s.firstInclusion.Format(dateLayout), closed,
				strconv.Itoa(s.target)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeInclusions(path string, o Options, rng *rand.Rand, studies []study) (bad int, err error) {
	err = writeCSV(path, inclusionHeader, func(emit func([]string) error) error {
		for i := 0; i < o.Inclusions; i++ {
			s := studies[rng.IntN(len(studies))]
			span := 3 * 365
			if !s.closed.IsZero() {
				span = max(1, int(s.closed.Sub(s.firstInclusion).Hours()/24))
			}
			date := s.firstInclusion.AddDate(0, 0, rng.IntN(span)).Format(dateLayout)
			if o.RejectEvery > 0 && (i+1)%o.RejectEvery == 0 {
				date, bad = "31/02/20xx", bad+1
			}
			// Fictional local patient number; only its HMAC pseudonym leaves the connector.
			if err := emit([]string{s.code, fmt.Sprintf("FX-%08d", i+1), inclStatus[rng.IntN(len(inclStatus))], date}); err != nil {
				return err
			}
		}
		return nil
	})
	return bad, err
}

// writeCSV writes a ';'-separated UTF-8 file. Cells never contain ';',
// quotes or newlines, so no quoting is needed; writeCSV checks it.
func writeCSV(path string, header []string, rows func(emit func([]string) error) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bigexport: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	emit := func(cells []string) error {
		for _, c := range cells {
			if strings.ContainsAny(c, ";\"\r\n") {
				return fmt.Errorf("bigexport: cell %q needs quoting", c)
			}
		}
		_, err := w.WriteString(strings.Join(cells, ";") + "\n")
		return err
	}
	err = emit(header)
	if err == nil {
		err = rows(emit)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bigexport: write %s: %w", path, err)
	}
	return nil
}

func configYAML(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# it4ct connect configuration of a FICTIONAL establishment (large generated export).
# Generated by internal/bigexport (inclusions=%d, seed=%d); do not edit by hand.
establishment:
  finess: %q
  name: %q
  kind: CHU
pseudonym:
  key_id: "bigexport"
  key_file: %s
sources:
  - id: big-ctms
    type: ctms-csv
    settings:
`, o.Inclusions, o.Seed, o.FINESS, o.Name, keyFile)
	if o.BatchSize > 0 {
		fmt.Fprintf(&b, "      batch_size: %d\n", o.BatchSize)
	}
	b.WriteString(`      studies:
        path: ` + studiesFile + `
        separator: ";"
        encoding: utf-8
        date_formats: [yyyy-mm-dd]
        columns:
          local_code: "Réf. locale"
          id_rcb: "ID-RCB"
          nct: "NCT"
          title: "Intitulé de l'étude"
          sponsor_name: "Promoteur"
          sponsor_finess: "FINESS du promoteur"
          sponsor_type: "Typologie promoteur"
          category: "Catégorie réglementaire"
          phase: "Phase"
          status: "Statut"
          submitted: "Soumission"
          ethics_approved: "Avis CPP"
          site_role: "Rôle de l'établissement"
          site_status: "Statut du centre"
          site_opened: "Date d'ouverture du centre"
          site_first_inclusion: "Date de 1ère inclusion"
          site_closed: "Date de fermeture du centre"
          site_target: "Nb patients attendus centre"
      inclusions:
        path: ` + inclusionsFile + `
        separator: ";"
        encoding: utf-8
        date_formats: [yyyy-mm-dd]
        columns:
          study_ref: "Réf. locale"
          subject_id: "Identifiant patient"
          inclusion_status: "Statut"
          inclusion_date: "Date d'inclusion"
      study_ref: local_code
      values:
        category:
          "CTR": CTR
          "RIPH1": RIPH1
          "RIPH2": RIPH2
          "RIPH3": RIPH3
        inclusion_status:
          "fin de suivi": completed
          "inclus": included
          "screen failure": screen-failed
          "sortie d'étude": withdrawn
        phase:
          "1": I
          "1/2": I/II
          "2": II
          "2/3": II/III
          "3": III
          "4": IV
          "NA": NA
        site_role:
          "Centre associé": investigating-site
          "Promoteur (centre coordonnateur)": sponsor-site
        site_status:
          "Ouvert aux inclusions": recruiting
          "Fermé": completed
          "Suspendu": suspended
        sponsor_type:
          "Institutionnel": academic
          "Industriel": industry
        status:
          "Ouverte aux inclusions": recruiting
          "Fermée aux inclusions": closed-to-accrual
          "Terminée": completed
          "Suspendue": suspended
`)
	return b.String()
}
