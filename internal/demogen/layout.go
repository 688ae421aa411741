package main

import (
	"strings"
)

// column is one column of an export file: its header text and the canonical
// field it holds ("x-..." for columns the connector must ignore).
type column struct {
	Header string
	Field  string
}

// fileLayout is how one CSV file of an export is written.
type fileLayout struct {
	Path        string
	Sep         rune
	Encoding    string // utf-8 | utf-8-bom | windows-1252 | iso-8859-1
	CRLF        bool
	DateLayout  string   // Go layout used to write dates
	DateFormats []string // what the connector is told (connectors/ctmscsv names)
	HeaderLine  int      // 1-based; lines before it are Preamble
	Preamble    []string
	Cols        []column
}

// layout is one establishment's export: two files and its vocabulary.
type layout struct {
	Studies    fileLayout
	Inclusions fileLayout
	// Vocab[field][canonical] = local words; the first one is written.
	Vocab    map[string]map[string][]string
	Defaults map[string]string
}

func (l *layout) word(field, canonical string) string {
	ws := l.Vocab[field][canonical]
	if len(ws) == 0 {
		panic("no local word for " + field + "=" + canonical)
	}
	return ws[0]
}

func (l *layout) has(field string) bool {
	for _, c := range l.Studies.Cols {
		if c.Field == field {
			return true
		}
	}
	return false
}

// The three main layouts and the unexpected one.
var layouts = map[*Establishment]*layout{
	e1: {
		Studies: fileLayout{
			Path: "etudes.csv", Sep: ';', Encoding: "windows-1252", CRLF: true,
			DateLayout: "02/01/2006", DateFormats: []string{"dd/mm/yyyy"}, HeaderLine: 1,
			Cols: []column{
				{"Code étude", "local_code"},
				{"Acronyme", "x-acronym"},
				{"Titre", "title"},
				{"Promoteur", "sponsor_name"},
				{"FINESS promoteur", "sponsor_finess"},
				{"Type de promoteur", "sponsor_type"},
				{"N° ID-RCB", "id_rcb"},
				{"N° EU CT", "eu_ct"},
				{"N° NCT", "nct"},
				{"Catégorie", "category"},
				{"Phase", "phase"},
				{"Internationale", "international"},
				{"Objectif France", "target_france"},
				{"Statut étude", "status"},
				{"Date de soumission", "submitted"},
				{"Date autorisation ANSM", "ansm_authorised"},
				{"Date avis CPP", "ethics_approved"},
				{"Rôle du centre", "site_role"},
				{"Statut centre", "site_status"},
				{"Investigateur principal", "x-investigator"},
				{"Objectif centre", "site_target"},
				{"Date d'ouverture du centre", "site_opened"},
				{"Date de clôture du centre", "site_closed"},
				{"Commentaire", "x-comment"},
			},
		},
		Inclusions: fileLayout{
			Path: "inclusions.csv", Sep: ';', Encoding: "windows-1252", CRLF: true,
			DateLayout: "02/01/2006", DateFormats: []string{"dd/mm/yyyy"}, HeaderLine: 1,
			Cols: []column{
				{"Code étude", "study_ref"},
				{"N° patient", "subject_id"},
				{"IPP", "x-ipp"},
				{"Nom", "x-last"},
				{"Prénom", "x-first"},
				{"Date de naissance", "x-birth"},
				{"Sexe", "x-sex"},
				{"Date d'inclusion", "inclusion_date"},
				{"Statut patient", "inclusion_status"},
				{"Bras", "x-arm"},
				{"Commentaire", "x-comment"},
			},
		},
		Vocab: map[string]map[string][]string{
			"status": {
				"in-preparation":    {"En attente autorisation", "En cours de soumission"},
				"approved":          {"Autorisée - non démarrée"},
				"recruiting":        {"En cours"},
				"suspended":         {"Suspendue"},
				"completed":         {"Terminée", "Clôturée"},
				"terminated":        {"Arrêtée prématurément"},
				"closed-to-accrual": {"Inclusions terminées"},
			},
			"site_status": {
				"in-preparation": {"En attente autorisation"},
				"approved":       {"Ouverture programmée"},
				"recruiting":     {"Ouvert"},
				"suspended":      {"Suspendu"},
				"completed":      {"Clôturé"},
				"terminated":     {"Arrêté"},
			},
			"sponsor_type":     {"academic": {"Académique", "Institutionnel"}, "industry": {"Industriel"}},
			"category":         {"RIPH1": {"RIPH 1"}, "RIPH2": {"RIPH 2"}, "RIPH3": {"RIPH 3"}, "CTR": {"Essai clinique médicament (CTR)"}},
			"phase":            {"I": {"Phase I"}, "I/II": {"Phase I/II"}, "II": {"Phase II"}, "II/III": {"Phase II/III"}, "III": {"Phase III"}, "IV": {"Phase IV"}, "NA": {"Sans objet"}},
			"site_role":        {"sponsor-site": {"Promoteur"}, "investigating-site": {"Investigateur"}},
			"inclusion_status": {"included": {"Inclus"}, "withdrawn": {"Sorti prématurément"}, "completed": {"Terminé"}, "screen-failed": {"Échec de sélection"}},
			"international":    {"true": {"Oui"}, "false": {"Non"}},
		},
	},
	e2: {
		Studies: fileLayout{
			Path: "export_etudes.csv", Sep: ',', Encoding: "utf-8-bom",
			DateLayout: "2006-01-02", DateFormats: []string{"yyyy-mm-dd"}, HeaderLine: 1,
			Cols: []column{
				{"Réf. locale", "local_code"},
				{"N° EU CT", "eu_ct"},
				{"ID-RCB", "id_rcb"},
				{"NCT", "nct"},
				{"Intitulé de l'étude", "title"},
				{"Promoteur", "sponsor_name"},
				{"FINESS du promoteur", "sponsor_finess"},
				{"Typologie promoteur", "sponsor_type"},
				{"Catégorie réglementaire", "category"},
				{"Phase", "phase"},
				{"Étude internationale", "international"},
				{"Statut", "status"},
				{"Soumission", "submitted"},
				{"Autorisation ANSM", "ansm_authorised"},
				{"Avis CPP", "ethics_approved"},
				{"Autorisation UE", "eu_authorised"},
				{"Rôle de l'établissement", "site_role"},
				{"Statut du centre", "site_status"},
				{"Date d'ouverture du centre", "site_opened"},
				{"Date de 1ère inclusion", "site_first_inclusion"},
				{"Date de fermeture du centre", "site_closed"},
				{"Nb patients attendus centre", "site_target"},
				{"Investigateur principal", "x-investigator"},
				{"Service", "x-service"},
			},
		},
		Inclusions: fileLayout{
			Path: "export_patients.csv", Sep: ',', Encoding: "utf-8-bom",
			DateLayout: "2006-01-02", DateFormats: []string{"yyyy-mm-dd"}, HeaderLine: 1,
			Cols: []column{
				{"Réf. locale", "study_ref"},
				{"Service", "x-service"},
				{"Identifiant patient", "subject_id"},
				{"Initiales", "x-initials"},
				{"Sexe", "x-sex-fr"},
				{"Date de naissance", "x-birth"},
				{"Matricule INS", "x-ins"},
				{"IPP", "x-ipp"},
				{"Code postal", "x-postal"},
				{"Commune", "x-town"},
				{"Statut", "inclusion_status"},
				{"Date d'inclusion", "inclusion_date"},
				{"Commentaire ARC", "x-comment"},
			},
		},
		Vocab: map[string]map[string][]string{
			"status": {
				"in-preparation":    {"En soumission"},
				"approved":          {"En attente d'ouverture"},
				"recruiting":        {"Ouverte aux inclusions"},
				"suspended":         {"Suspendue"},
				"closed-to-accrual": {"Fermée aux inclusions"},
				"completed":         {"Terminée"},
				"terminated":        {"Arrêt anticipé"},
			},
			"site_status": {
				"in-preparation": {"En attente autorisation"},
				"approved":       {"En attente d'ouverture"},
				"recruiting":     {"Ouvert aux inclusions"},
				"suspended":      {"Suspendu"},
				"completed":      {"Fermé"},
				"terminated":     {"Arrêt anticipé"},
			},
			"sponsor_type":     {"academic": {"Institutionnel"}, "industry": {"Industriel"}},
			"category":         {"RIPH1": {"RIPH1"}, "RIPH2": {"RIPH2"}, "RIPH3": {"RIPH3"}, "CTR": {"CTR"}},
			"phase":            {"I": {"1"}, "I/II": {"1/2"}, "II": {"2"}, "II/III": {"2/3"}, "III": {"3"}, "IV": {"4"}, "NA": {"NA", "N/A"}},
			"site_role":        {"sponsor-site": {"Promoteur (centre coordonnateur)"}, "investigating-site": {"Centre associé"}},
			"inclusion_status": {"included": {"inclus"}, "withdrawn": {"sortie d'étude"}, "completed": {"fin de suivi"}, "screen-failed": {"screen failure"}},
			"international":    {"true": {"Oui"}, "false": {"Non"}},
		},
	},
	e3: {
		Studies: fileLayout{
			Path: "essais.csv", Sep: ';', Encoding: "utf-8",
			DateLayout: "02/01/2006", DateFormats: []string{"dd/mm/yyyy", "yyyy-mm-dd"}, HeaderLine: 1,
			Cols: []column{
				{"Identifiant essai", "local_code"},
				{"Acronyme", "x-acronym"},
				{"Titre complet", "title"},
				{"Statut", "status"},
				{"Statut du centre", "site_status"},
				{"Rôle", "site_role"},
				{"Date d'ouverture", "site_opened"},
				{"Date de clôture", "site_closed"},
				{"Investigateur coordonnateur local", "x-investigator"},
				{"N° EudraCT", "eudract"},
				{"N° EU CT", "eu_ct"},
				{"N° ID-RCB", "id_rcb"},
				{"N° NCT", "nct"},
				{"Promoteur", "sponsor_name"},
				{"FINESS promoteur", "sponsor_finess"},
				{"Académique / Industriel", "sponsor_type"},
				{"Catégorie", "category"},
				{"Phase", "phase"},
				{"International (O/N)", "international"},
				{"Objectif de recrutement national", "target_france"},
				{"Date dépôt dossier", "submitted"},
				{"Date avis CPP", "ethics_approved"},
				{"Date autorisation (ANSM / UE)", "x-authorisation"},
				{"Commentaire", "x-comment"},
			},
		},
		Inclusions: fileLayout{
			Path: "inclusions_patients.csv", Sep: ';', Encoding: "utf-8",
			DateLayout: "02/01/2006", DateFormats: []string{"dd/mm/yyyy", "yyyy-mm-dd"}, HeaderLine: 1,
			Cols: []column{
				{"Date d'inclusion", "inclusion_date"},
				{"Identifiant essai", "study_ref"},
				{"N° de patient dans l'essai", "subject_id"},
				{"Patient", "x-patient"},
				{"Né(e) le", "x-birth"},
				{"IPP", "x-ipp"},
				{"NIR", "x-nir"},
				{"Adresse", "x-address"},
				{"Statut du patient", "inclusion_status"},
				{"Commentaire", "x-comment"},
			},
		},
		Vocab: map[string]map[string][]string{
			"status": {
				"in-preparation":    {"En instruction réglementaire"},
				"approved":          {"Autorisé - mise en place"},
				"recruiting":        {"Actif - recrutement en cours"},
				"suspended":         {"Suspendu temporairement"},
				"closed-to-accrual": {"Inclusions closes"},
				"completed":         {"Clos"},
				"terminated":        {"Arrêté"},
			},
			"site_status": {
				"in-preparation": {"En attente"},
				"approved":       {"Mise en place prévue"},
				"recruiting":     {"Ouvert"},
				"suspended":      {"Suspendu"},
				"completed":      {"Fermé"},
				"terminated":     {"Arrêté"},
			},
			"sponsor_type":     {"academic": {"A"}, "industry": {"I"}},
			"category":         {"RIPH1": {"Cat. 1 - interventionnelle"}, "RIPH2": {"Cat. 2 - risques et contraintes minimes"}, "RIPH3": {"Cat. 3 - non interventionnelle"}, "CTR": {"Règlement UE 536/2014"}},
			"phase":            {"I": {"Phase 1"}, "I/II": {"Phase 1-2"}, "II": {"Phase 2"}, "II/III": {"Phase 2-3"}, "III": {"Phase 3"}, "IV": {"Phase 4"}, "NA": {"Non applicable"}},
			"site_role":        {"sponsor-site": {"Promoteur"}, "investigating-site": {"Centre investigateur"}},
			"inclusion_status": {"included": {"Inclus(e)"}, "withdrawn": {"Arrêt prématuré"}, "completed": {"Suivi terminé"}, "screen-failed": {"Non éligible (échec screening)"}},
			"international":    {"true": {"O"}, "false": {"N"}},
		},
	},
	e4: {
		Studies: fileLayout{
			Path: "studies_export.txt", Sep: '\t', Encoding: "utf-8",
			DateLayout: "02.01.2006", DateFormats: []string{"dd.mm.yyyy"}, HeaderLine: 3,
			Preamble: []string{"Export CTMS - CHU de Haute-Brume - Direction de la recherche", "Extraction du 31.03.2026 (toutes études actives et closes)"},
			Cols: []column{
				{"Study code", "local_code"},
				{"Titre / Title", "title"},
				{"Sponsor", "sponsor_name"},
				{"Sponsor FINESS", "sponsor_finess"},
				{"Sponsor kind", "sponsor_type"},
				{"RCB number", "id_rcb"},
				{"EU CT number", "eu_ct"},
				{"ClinicalTrials.gov", "nct"},
				{"Category", "category"},
				{"Phase", "phase"},
				{"Overall status", "status"},
				{"Site status", "site_status"},
				{"Site activation", "site_opened"},
				{"Site closure", "site_closed"},
				{"PI", "x-investigator"},
				{"Notes", "x-comment"},
			},
		},
		Inclusions: fileLayout{
			Path: "enrolments.tsv", Sep: '\t', Encoding: "iso-8859-1",
			DateLayout: "20060102", DateFormats: []string{"yyyymmdd"}, HeaderLine: 2,
			Preamble: []string{"Liste des patients inclus - Hôpital de Haute-Brume"},
			Cols: []column{
				{"Subject", "subject_id"},
				{"Study", "study_ref"},
				{"Date d'entrée / Enrolment date", "inclusion_date"},
				{"Subject status", "inclusion_status"},
			},
		},
		Vocab: map[string]map[string][]string{
			"status": {
				"in-preparation": {"Pending"}, "approved": {"Approved"}, "recruiting": {"Recruiting"},
				"suspended": {"On hold"}, "completed": {"Closed"}, "terminated": {"Stopped"},
			},
			"site_status": {
				"in-preparation": {"Pending"}, "approved": {"Not yet active"}, "recruiting": {"Active"},
				"suspended": {"On hold"}, "completed": {"Closed"}, "terminated": {"Stopped"},
			},
			"sponsor_type":     {"academic": {"Academic"}, "industry": {"Pharma"}},
			"category":         {"RIPH1": {"RIPH-1"}, "RIPH2": {"RIPH-2"}, "RIPH3": {"RIPH-3"}, "CTR": {"CTR (EU 536/2014)"}},
			"phase":            {"I": {"Ph 1"}, "I/II": {"Ph 1/2"}, "II": {"Ph 2"}, "II/III": {"Ph 2/3"}, "III": {"Ph 3"}, "IV": {"Ph 4"}, "NA": {"n.a."}},
			"inclusion_status": {"included": {"Enrolled"}, "withdrawn": {"Withdrawn"}, "completed": {"Completed"}, "screen-failed": {"Screen failure"}},
		},
		Defaults: map[string]string{"site_role": "investigating-site"},
	},
}

var comments = []string{"", "", "", "", "Avenant n°2 en cours", "Recrutement difficile", "Convention signée", "Relance promoteur", "Monitoring prévu", "Réunion de mise en place faite"}

// cellsOf renders the canonical values of a study row (study + one site).
func studyValues(l *layout, s *Study, site *SitePlan, firstIncl string, comment string) map[string]string {
	v := map[string]string{
		"local_code":     site.Code,
		"x-acronym":      s.Acronym,
		"title":          s.Acronym + " - " + s.Title,
		"sponsor_name":   s.SponsorName,
		"sponsor_finess": s.SponsorFINESS,
		"sponsor_type":   l.word("sponsor_type", s.SponsorType),
		"id_rcb":         s.IDRCB,
		"eu_ct":          s.EUCT,
		"eudract":        s.EudraCT,
		"nct":            s.NCT,
		"category":       l.word("category", s.Category),
		"phase":          l.word("phase", s.Phase),
		"target_france":  itoa(s.TargetFrance),
		"status":         l.word("status", s.Status),
		"site_target":    itoa(site.Target),
		"x-investigator": site.Investigator,
		"x-comment":      comment,
		"x-service":      "Unité de recherche clinique",
	}
	if _, ok := l.Vocab["international"]; ok {
		v["international"] = l.word("international", boolWord(s.International))
	}
	if _, ok := l.Vocab["site_role"]; ok {
		v["site_role"] = l.word("site_role", site.Role)
	}
	if _, ok := l.Vocab["site_status"]; ok {
		v["site_status"] = l.word("site_status", site.Status)
	}
	lay := l.Studies.DateLayout
	v["submitted"] = fmtDate(s.Submitted, lay)
	v["ansm_authorised"] = fmtDate(s.ANSM, lay)
	v["ethics_approved"] = fmtDate(s.CPP, lay)
	v["eu_authorised"] = fmtDate(s.EUAuth, lay)
	if !s.ANSM.IsZero() {
		v["x-authorisation"] = fmtDate(s.ANSM, lay)
	} else {
		v["x-authorisation"] = fmtDate(s.EUAuth, lay)
	}
	v["site_opened"] = fmtDate(site.Opened, lay)
	v["site_closed"] = fmtDate(site.Closed, lay)
	v["site_first_inclusion"] = firstIncl
	return v
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func row(cols []column, v map[string]string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = v[c.Field]
	}
	return out
}

func headers(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Header
	}
	return out
}

func arms(i int) string {
	return []string{"Bras A", "Bras B", "Bras A", "Bras B", "Sans objet"}[i%5]
}

func normSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
