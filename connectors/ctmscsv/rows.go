package ctmscsv

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
)

// rowParser converts one row's cells, keeping the first problem found.
type rowParser struct {
	s    *Source
	f    *csvFile
	fc   *FileConfig
	r    row
	prov canonical.Provenance
	rej  *canonical.Reject
	// unusable is set when the row's cells cannot be trusted to be in their
	// columns (bad CSV, wrong field count, bad encoding).
	unusable bool
}

func (s *Source) newRowParser(r row) *rowParser {
	fc := &s.cfg.Studies
	if s.cur.kind == "inclusions" {
		fc = &s.cfg.Inclusions
	}
	p := &rowParser{s: s, f: s.cur, fc: fc, r: r, prov: canonical.Provenance{
		Source: s.set.SourceID, Establishment: s.set.Establishment, File: s.cur.name, Line: r.line,
	}}
	p.checkRow()
	p.unusable = p.rej != nil
	return p
}

// checkRow rejects rows that are not valid CSV, have the wrong number of
// fields, or are not valid UTF-8.
func (p *rowParser) checkRow() {
	if p.r.err != nil {
		p.rej = &canonical.Reject{Prov: p.prov, Code: "bad-csv",
			Reason: "row is not valid CSV: " + p.r.err.Err.Error(),
			Fix: fmt.Sprintf(`put fields that contain %q, a quote or a line break between double quotes, and double the quotes inside them ("")`,
				p.f.fieldSep)}
		return
	}
	if n, want := len(p.r.fields), len(p.f.header); n != want {
		p.fail("", "bad-field-count",
			fmt.Sprintf("row has %d fields but the header on line %d has %d", n, p.f.hline, want),
			fmt.Sprintf("check that the file's separator is %q (%s.separator) and that fields containing it are quoted", p.f.fieldSep, p.f.kind))
		return
	}
	if p.f.utf8 {
		for i, v := range p.r.fields {
			if !utf8.ValidString(v) {
				p.rej = &canonical.Reject{Prov: p.prov, Column: p.f.header[i], Code: "bad-encoding",
					Reason: "value is not valid UTF-8",
					Fix:    fmt.Sprintf("the file is probably Windows-1252: set encoding: windows-1252 under %s in the connector config", p.f.kind)}
				return
			}
		}
	}
}

// column returns the header text of field's column, or "".
func (p *rowParser) column(field string) string {
	if i, ok := p.f.col[field]; ok {
		return p.f.header[i]
	}
	return ""
}

// cell returns the trimmed cell of field, or "" when it is not mapped or
// the row is unusable.
func (p *rowParser) cell(field string) string {
	i, ok := p.f.col[field]
	if !ok || p.unusable || i >= len(p.r.fields) {
		return ""
	}
	return strings.TrimSpace(p.r.fields[i])
}

// text returns the cell, or the configured default when it is empty.
func (p *rowParser) text(field string) string {
	if v := p.cell(field); v != "" {
		return v
	}
	return strings.TrimSpace(p.s.cfg.Defaults[field])
}

func (p *rowParser) fail(field, code, reason, fix string) {
	if p.rej != nil {
		return
	}
	p.rej = &canonical.Reject{Prov: p.prov, Column: p.column(field), Field: field, Code: code, Reason: reason, Fix: fix}
}

func (p *rowParser) ident(field string) string {
	raw := p.cell(field)
	if raw == "" || p.rej != nil {
		return ""
	}
	v, ok := normIdentifier(field, raw)
	if !ok {
		f := idFormats[field]
		p.fail(field, "bad-identifier", fmt.Sprintf("%q is not a valid %s", raw, f.name),
			fmt.Sprintf("an %s looks like %s; correct it in the export", f.name, f.example))
	}
	return v
}

func (p *rowParser) finess(field string) string {
	raw := p.text(field)
	if raw == "" || p.rej != nil {
		return ""
	}
	v, ok := normFINESS(raw)
	if !ok {
		p.fail(field, "bad-identifier", fmt.Sprintf("%q is not a valid FINESS number", raw),
			"a FINESS number has 9 characters: 9 digits, or 2A/2B followed by 7 digits; correct it in the export")
	}
	return v
}

func (p *rowParser) code(field, vocabName string) string {
	raw := p.text(field)
	if raw == "" || p.rej != nil {
		return ""
	}
	v := p.s.vocabs[vocabName]
	c, ok := v.lookup(raw)
	if !ok {
		p.fail(field, "unknown-value", fmt.Sprintf("%q is not a known %s", raw, vocabName),
			fmt.Sprintf("use one of %s; or add it under values.%s in the connector config", v.known(), vocabName))
	}
	return c
}

func (p *rowParser) date(field string) canonical.Date {
	raw := p.text(field)
	if raw == "" || p.rej != nil {
		return canonical.Date{}
	}
	d, derr := parseDate(raw, p.fc.DateFormats)
	if derr != nil {
		reason := fmt.Sprintf("%q is not a date in an accepted format", raw)
		if derr.impossible {
			reason = fmt.Sprintf("%q is not a calendar date", raw)
		}
		p.fail(field, "bad-date", reason, dateFix(raw, p.f.kind, p.fc.DateFormats))
	}
	return d
}

func (p *rowParser) integer(field string) *int {
	raw := p.text(field)
	if raw == "" || p.rej != nil {
		return nil
	}
	n, ok := parseInt(raw)
	if !ok {
		p.fail(field, "bad-integer", fmt.Sprintf("%q is not a whole number", raw),
			"write a whole number of subjects without decimals, e.g. 120")
		return nil
	}
	return &n
}

func (p *rowParser) required(field, v string) {
	if v != "" || p.rej != nil {
		return
	}
	fix := fmt.Sprintf("fill in the column %q", p.column(field))
	if p.column(field) == "" {
		fix = "map the column"
	}
	if field != "subject_id" && field != "study_ref" {
		fix += " or set defaults." + field + " in the connector config"
	}
	p.fail(field, "missing-value", field+" is empty", fix)
}

func (p *rowParser) reject() canonical.Reject {
	rej := *p.rej
	rej.Prov.RecordKey = p.prov.RecordKey
	if p.r.fields != nil {
		rej.Raw = slices.Clone(p.r.fields)
	}
	return rej
}

// refKey normalises a study reference for the index.
func refKey(v string) string { return strings.ToUpper(strings.TrimSpace(v)) }

// studyRow turns a studies row into a Study and a Site, indexes it, and
// appends the outcome to b when emit is set.
func (s *Source) studyRow(r row, emit bool, b *connectors.Batch) {
	p := s.newRowParser(r)
	p.prov.RecordKey = p.cell("local_code")
	if p.prov.RecordKey == "" && !p.unusable {
		for _, f := range identifierFields {
			if v := p.cell(f); v != "" {
				p.prov.RecordKey = refKey(v)
				break
			}
		}
	}
	st := &canonical.Study{Prov: p.prov}
	localCode := p.cell("local_code")
	st.IDs.SponsorCode = localCode
	st.IDs.EUCT = p.ident("eu_ct")
	st.IDs.IDRCB = p.ident("id_rcb")
	st.IDs.EudraCT = p.ident("eudract")
	st.IDs.NCT = p.ident("nct")
	if p.rej == nil && st.IDs.IsZero() {
		var cols, fields []string
		for _, f := range identifierFields {
			if c := p.column(f); c != "" {
				cols = append(cols, strconv.Quote(c))
				fields = append(fields, f)
			}
		}
		p.fail("", "missing-identifier", "the study has no identifier",
			fmt.Sprintf("fill in at least one of the columns %s (%s)", strings.Join(cols, ", "), strings.Join(fields, ", ")))
	}
	st.Title = p.text("title")
	st.SponsorName = p.text("sponsor_name")
	st.SponsorFINESS = p.finess("sponsor_finess")
	st.SponsorType = canonical.SponsorType(p.code("sponsor_type", "sponsor_type"))
	st.Category = canonical.Category(p.code("category", "category"))
	st.Phase = canonical.Phase(p.code("phase", "phase"))
	if c := p.code("international", "international"); c != "" {
		intl := c == "true"
		st.International = &intl // left nil (unknown) when neither the cell nor a default says
	}
	st.TargetFrance = p.integer("target_france")
	st.TargetGlobal = p.integer("target_global")
	st.ActualGlobal = p.integer("actual_global")
	st.Status = canonical.StudyStatus(p.code("status", "status"))
	p.required("status", string(st.Status))
	for _, m := range []struct {
		field string
		ms    canonical.Milestone
	}{
		{"submitted", canonical.MsSubmitted}, {"ansm_authorised", canonical.MsANSMAuthorised},
		{"ethics_approved", canonical.MsEthicsApproved}, {"eu_authorised", canonical.MsEUAuthorised},
		{"first_site_open", canonical.MsFirstSiteOpen}, {"recruitment_closed", canonical.MsRecruitmentClosed},
		{"completed", canonical.MsCompleted}, {"terminated", canonical.MsTerminated}, {"withdrawn", canonical.MsWithdrawn},
	} {
		if d := p.date(m.field); !d.IsZero() {
			if st.Milestones == nil {
				st.Milestones = map[canonical.Milestone]canonical.Date{}
			}
			st.Milestones[m.ms] = d
		}
	}
	if st.SponsorFINESS != "" {
		st.IDs.SponsorKey = st.SponsorFINESS
	} else {
		st.IDs.SponsorKey = sponsorKey(st.SponsorName)
	}
	// The local code is the sponsor's code only when this establishment is
	// the sponsor. An investigating site's own code for a study is not an
	// identifier anyone else shares: drop it when a registry identifier
	// exists, else keep it keyed by this establishment so that the study
	// still has a (weak, local) identifier.
	if st.SponsorFINESS != s.set.Establishment && (st.IDs.EUCT != "" || st.IDs.IDRCB != "" || st.IDs.EudraCT != "" || st.IDs.NCT != "") {
		st.IDs.SponsorCode, st.IDs.SponsorKey = "", ""
	} else if st.SponsorFINESS != s.set.Establishment && st.IDs.SponsorCode != "" {
		st.IDs.SponsorKey = "site:" + s.set.Establishment
	}

	site := &canonical.Site{Establishment: s.set.Establishment, Prov: p.prov}
	site.Role = canonical.SiteRole(p.code("site_role", "site_role"))
	if site.Role == "" && p.rej == nil {
		// Neither a cell nor defaults.site_role: this establishment is the
		// sponsor site when it is the study's sponsor.
		site.Role = canonical.RoleInvestigatingSite
		if st.SponsorFINESS != "" && st.SponsorFINESS == s.set.Establishment {
			site.Role = canonical.RoleSponsorSite
		}
	}
	site.Target = p.integer("site_target")
	site.Status = canonical.StudyStatus(p.code("site_status", "site_status"))
	site.ContractSent = p.date("site_contract_sent")
	site.ContractSigned = p.date("site_contract_signed")
	site.Opened = p.date("site_opened")
	site.FirstInclusion = p.date("site_first_inclusion")
	site.Closed = p.date("site_closed")
	if p.rej == nil && site.Status == "" && site.ContractSent.IsZero() && site.ContractSigned.IsZero() &&
		site.Opened.IsZero() && site.FirstInclusion.IsZero() && site.Closed.IsZero() {
		fix := "fill in the site's status or one of its dates, or set defaults.site_status in the connector config"
		if c := p.column("site_status"); c != "" {
			fix = fmt.Sprintf("fill in the column %q or one of the site's dates, or set defaults.site_status in the connector config", c)
		}
		p.fail("site_status", "missing-value", "this establishment's participation has neither a status nor any date", fix)
	}
	if site.Status == "" {
		site.Status = inferSiteStatus(site)
	}
	site.Study = st.IDs

	// Index the study for the inclusions file.
	var ref string
	switch s.studyRef {
	case "local_code":
		ref = refKey(localCode)
	default:
		ref = refKey(p.cell(s.studyRef))
	}
	if p.rej == nil && ref != "" {
		if prev, dup := s.seen[ref]; dup {
			p.fail(s.studyRef, "duplicate-study", fmt.Sprintf("study %q already appears on line %d", ref, prev),
				fmt.Sprintf("keep one row per study in %s; remove or merge the duplicate", p.f.name))
		} else {
			s.seen[ref] = r.line
			s.index[ref] = st.IDs
		}
	}
	if p.rej != nil {
		if ref == "" && !p.unusable {
			ref = refKey(p.cell(s.studyRef))
		}
		if _, ok := s.seen[ref]; ref != "" && !ok {
			if _, ok := s.bad[ref]; !ok {
				s.bad[ref] = r.line
			}
		}
		if emit {
			b.Rejects = append(b.Rejects, p.reject())
		}
		return
	}
	if emit {
		b.Records = append(b.Records, canonical.Record{Study: st}, canonical.Record{Site: site})
	}
}

// inclusionRow turns an inclusions row into an Inclusion and appends the
// outcome to b.
func (s *Source) inclusionRow(r row, b *connectors.Batch) {
	p := s.newRowParser(r)
	ref := p.cell("study_ref")
	if !p.unusable {
		p.prov.RecordKey = ref
	}
	in := &canonical.Inclusion{Establishment: s.set.Establishment, Prov: p.prov}
	p.required("study_ref", ref)
	in.LocalSubjectID = p.cell("subject_id")
	p.required("subject_id", in.LocalSubjectID)
	in.InclusionDate = p.date("inclusion_date")
	p.required("inclusion_date", in.InclusionDate.String())
	in.Status = canonical.InclusionStatus(p.code("inclusion_status", "inclusion_status"))
	p.required("inclusion_status", string(in.Status))
	if p.rej == nil {
		ids, ok := s.index[refKey(ref)]
		switch {
		case ok:
			in.Study = ids
		default:
			studies := filepath.Base(s.studies)
			reason := fmt.Sprintf("study %q is not in %s", ref, studies)
			fix := fmt.Sprintf("add the study to %s or correct the reference (it is matched against the studies' %s)", studies, s.studyRef)
			if line, bad := s.bad[refKey(ref)]; bad {
				reason = fmt.Sprintf("study %q was rejected at %s:%d", ref, studies, line)
				fix = fmt.Sprintf("fix the study's row at %s:%d; this inclusion is then accepted on the next run", studies, line)
			}
			p.fail("study_ref", "unknown-study", reason, fix)
		}
	}
	if p.rej != nil {
		b.Rejects = append(b.Rejects, p.reject())
		return
	}
	b.Records = append(b.Records, canonical.Record{Inclusion: in})
}

// dateFix tells how to fix a date no configured format accepts: correct it,
// or, when another supported format reads it, add that format to the file's
// date_formats. It always lists the configured formats.
func dateFix(raw, kind string, configured []string) string {
	key := kind + ".date_formats"
	list := strings.Join(configured, ", ")
	for _, f := range dateFormats {
		if slices.Contains(configured, f) {
			continue
		}
		if _, err := parseDate(raw, []string{f}); err == nil {
			return fmt.Sprintf("correct the date in the export, or add %s to %s; accepted formats now: %s", f, key, list)
		}
	}
	return fmt.Sprintf("correct the date in the export; accepted formats (%s): %s", key, list)
}

// inferSiteStatus gives a site without a status column (or with an empty
// cell and no default) the status its dates imply: closed -> completed,
// opened or first inclusion -> recruiting, contract only -> approved.
func inferSiteStatus(s *canonical.Site) canonical.StudyStatus {
	switch {
	case !s.Closed.IsZero():
		return canonical.StatusCompleted
	case !s.Opened.IsZero() || !s.FirstInclusion.IsZero():
		return canonical.StatusRecruiting
	case !s.ContractSigned.IsZero() || !s.ContractSent.IsZero():
		return canonical.StatusApproved
	}
	return ""
}
