package mapping

import (
	"fmt"
	"slices"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// DecodeResearchStudy is the inverse of Map for a ResearchStudy: it validates
// the JSON (any error issue fails the decode with *Error), then reads back the
// canonical fields. A resource with partOf is a site-level study (Level site,
// Site filled), otherwise national (Study filled).
//
// Not round-tripped: Provenance (never published), and surrounding blanks of
// Title and SponsorName (trimmed on output).
func DecodeResearchStudy(b []byte) (StudyView, error) {
	if is := Validate(b); HasErrors(is) {
		return StudyView{}, &Error{Issues: is}
	}
	rs, err := fhir.UnmarshalResearchStudy(b)
	if err != nil {
		return StudyView{}, decodeErr("ResearchStudy", "invalid-json", "cannot decode: "+err.Error())
	}
	if rs.Id == nil {
		return StudyView{}, decodeErr("ResearchStudy.id", "required", "id is required")
	}
	status, ok := studyStatusFromR4[rs.Status.Code()]
	if !ok {
		return StudyView{}, decodeErr("ResearchStudy.status", "unmapped-code", fmt.Sprintf("status %q has no canonical equivalent", rs.Status.Code()))
	}
	ids, err := decodeIdentifiers(rs.Identifier)
	if err != nil {
		return StudyView{}, err
	}
	v := StudyView{ID: *rs.Id}
	if len(rs.PartOf) > 0 {
		return decodeSite(v, rs, ids, status)
	}
	v.Level = LevelNational
	st := canonical.Study{IDs: ids, Status: status}
	if rs.Title != nil {
		st.Title = *rs.Title
	}
	if rs.Phase != nil {
		code := codeIn(*rs.Phase, SystemPhase)
		p, ok := phaseFromR4[code]
		if !ok {
			return StudyView{}, decodeErr("ResearchStudy.phase", "unmapped-code", fmt.Sprintf("phase %q has no canonical equivalent", code))
		}
		st.Phase = p
	}
	for i, cc := range rs.Category {
		if c := codeIn(cc, CodeSystemCategory); c != "" {
			if !slices.Contains(categories, canonical.Category(c)) {
				return StudyView{}, decodeErr(fmt.Sprintf("ResearchStudy.category[%d]", i), "unmapped-code", fmt.Sprintf("category %q is unknown", c))
			}
			st.Category = canonical.Category(c)
		}
	}
	for i, e := range rs.Extension {
		path := fmt.Sprintf("ResearchStudy.extension[%d]", i)
		switch e.Url {
		case ExtAssociatedParty:
			if err := decodeSponsor(path, e, &st); err != nil {
				return StudyView{}, err
			}
		case ExtInternational:
			if e.ValueBoolean != nil {
				b := *e.ValueBoolean
				st.International = &b
			}
		case ExtTargetFrance:
			st.TargetFrance = copyInt(e.ValueUnsignedInt)
		case ExtRecruitment:
			st.TargetGlobal = copyInt(sub(e, subExtTargetNumber).ValueUnsignedInt)
			st.ActualGlobal = copyInt(sub(e, subExtActualNumber).ValueUnsignedInt)
		case ExtProgressStatus:
			code, d, err := decodeProgress(path, e)
			if err != nil {
				return StudyView{}, err
			}
			if !slices.Contains(canonical.Milestones, canonical.Milestone(code)) {
				return StudyView{}, decodeErr(path, "unmapped-code", fmt.Sprintf("milestone %q is not a study milestone", code))
			}
			if st.Milestones == nil {
				st.Milestones = map[canonical.Milestone]canonical.Date{}
			}
			st.Milestones[canonical.Milestone(code)] = d
		}
	}
	v.Study = st
	return v, nil
}

func decodeSite(v StudyView, rs fhir.ResearchStudy, ids canonical.Identifiers, status canonical.StudyStatus) (StudyView, error) {
	v.Level = LevelSite
	ref := ""
	if rs.PartOf[0].Reference != nil {
		ref = *rs.PartOf[0].Reference
	}
	nat, ok := cutPrefix(ref, "ResearchStudy/")
	if !ok || len(rs.PartOf) != 1 {
		return StudyView{}, decodeErr("ResearchStudy.partOf", "bad-reference", "a site-level study has exactly one partOf \"ResearchStudy/<id>\"")
	}
	v.PartOf = nat
	site := canonical.Site{Study: ids, Status: status}
	if len(rs.Site) != 1 || rs.Site[0].Identifier == nil || rs.Site[0].Identifier.System == nil ||
		*rs.Site[0].Identifier.System != SystemFINESS || rs.Site[0].Identifier.Value == nil {
		return StudyView{}, decodeErr("ResearchStudy.site", "required", "a site-level study has exactly one site identified by FINESS")
	}
	site.Establishment = *rs.Site[0].Identifier.Value
	dates := map[string]*canonical.Date{
		SiteMsContractSent: &site.ContractSent, SiteMsContractSigned: &site.ContractSigned,
		SiteMsOpened: &site.Opened, SiteMsFirstInclusion: &site.FirstInclusion, SiteMsClosed: &site.Closed,
	}
	for i, e := range rs.Extension {
		path := fmt.Sprintf("ResearchStudy.extension[%d]", i)
		switch e.Url {
		case ExtSiteRole:
			if e.ValueCodeableConcept != nil {
				r := canonical.SiteRole(codeIn(*e.ValueCodeableConcept, CodeSystemSiteRole))
				if !slices.Contains(siteRoles, r) {
					return StudyView{}, decodeErr(path, "unmapped-code", fmt.Sprintf("site role %q is unknown", r))
				}
				site.Role = r
			}
		case ExtRecruitment:
			site.Target = copyInt(sub(e, subExtTargetNumber).ValueUnsignedInt)
		case ExtProgressStatus:
			code, d, err := decodeProgress(path, e)
			if err != nil {
				return StudyView{}, err
			}
			p, ok := dates[code]
			if !ok {
				return StudyView{}, decodeErr(path, "unmapped-code", fmt.Sprintf("milestone %q is not a site milestone", code))
			}
			*p = d
		}
	}
	v.Site = site
	return v, nil
}

// DecodeResearchSubject is the inverse of Map for a ResearchSubject.
func DecodeResearchSubject(b []byte) (SubjectView, error) {
	if is := Validate(b); HasErrors(is) {
		return SubjectView{}, &Error{Issues: is}
	}
	rs, err := fhir.UnmarshalResearchSubject(b)
	if err != nil {
		return SubjectView{}, decodeErr("ResearchSubject", "invalid-json", "cannot decode: "+err.Error())
	}
	if rs.Id == nil {
		return SubjectView{}, decodeErr("ResearchSubject.id", "required", "id is required")
	}
	status, ok := inclusionStatusFromR4[rs.Status.Code()]
	if !ok {
		return SubjectView{}, decodeErr("ResearchSubject.status", "unmapped-code", fmt.Sprintf("status %q has no canonical equivalent", rs.Status.Code()))
	}
	v := SubjectView{ID: *rs.Id, Status: status}
	ref := ""
	if rs.Study.Reference != nil {
		ref = *rs.Study.Reference
	}
	if v.SiteStudyID, ok = cutPrefix(ref, "ResearchStudy/"); !ok {
		return SubjectView{}, decodeErr("ResearchSubject.study", "bad-reference", "study must be \"ResearchStudy/<site study id>\"")
	}
	id := rs.Individual.Identifier
	if id == nil || id.System == nil || *id.System != SystemPseudonym || id.Value == nil || *id.Value == "" || rs.Individual.Reference != nil {
		return SubjectView{}, decodeErr("ResearchSubject.individual", "bad-reference", "individual must be a logical reference holding only a pseudonym identifier")
	}
	v.Pseudonym = *id.Value
	if rs.Period != nil && rs.Period.Start != nil {
		d, err := canonical.ParseISODate(*rs.Period.Start)
		if err != nil {
			return SubjectView{}, decodeErr("ResearchSubject.period.start", "bad-date", "inclusion date must be YYYY-MM-DD")
		}
		v.InclusionDate = d
	}
	return v, nil
}

func decodeErr(path, code, msg string) *Error {
	return &Error{Issues: []Issue{{Path: path, Severity: SeverityError, Code: code, Message: msg}}}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	return ptr(*p)
}

func codeIn(cc fhir.CodeableConcept, system string) string {
	for _, c := range cc.Coding {
		if c.System != nil && *c.System == system && c.Code != nil {
			return *c.Code
		}
	}
	return ""
}

func sub(e fhir.Extension, url string) fhir.Extension {
	for _, s := range e.Extension {
		if s.Url == url {
			return s
		}
	}
	return fhir.Extension{}
}

func decodeProgress(path string, e fhir.Extension) (string, canonical.Date, error) {
	st := sub(e, subExtState)
	code := ""
	if st.ValueCodeableConcept != nil {
		code = codeIn(*st.ValueCodeableConcept, CodeSystemMilestone)
	}
	if code == "" {
		return "", canonical.Date{}, decodeErr(path, "required", "progressStatus without a milestone state")
	}
	p := sub(e, subExtPeriod).ValuePeriod
	if p == nil || p.Start == nil {
		return "", canonical.Date{}, decodeErr(path, "required", "progressStatus without period.start")
	}
	d, err := canonical.ParseISODate(*p.Start)
	if err != nil {
		return "", canonical.Date{}, decodeErr(path, "bad-date", "milestone date must be YYYY-MM-DD")
	}
	return code, d, nil
}

func decodeSponsor(path string, e fhir.Extension, st *canonical.Study) error {
	if n := sub(e, subExtPartyName).ValueString; n != nil {
		st.SponsorName = *n
	}
	if c := sub(e, subExtPartyClassifier).ValueCodeableConcept; c != nil {
		t := canonical.SponsorType(codeIn(*c, CodeSystemSponsorType))
		if !slices.Contains(sponsorTypes, t) {
			return decodeErr(path, "unmapped-code", fmt.Sprintf("sponsor type %q is unknown", t))
		}
		st.SponsorType = t
	}
	if r := sub(e, subExtPartyParty).ValueReference; r != nil && r.Identifier != nil && r.Identifier.System != nil &&
		*r.Identifier.System == SystemFINESS && r.Identifier.Value != nil {
		st.SponsorFINESS = *r.Identifier.Value
	}
	return nil
}

func decodeIdentifiers(list []fhir.Identifier) (canonical.Identifiers, error) {
	var ids canonical.Identifiers
	for i, id := range list {
		if id.System == nil || id.Value == nil {
			continue
		}
		val := *id.Value
		switch *id.System {
		case SystemEUCT:
			ids.EUCT = val
		case SystemIDRCB:
			ids.IDRCB = val
		case SystemEudraCT:
			ids.EudraCT = val
		case SystemNCT, SystemNCTLegacy:
			ids.NCT = val
		case SystemSponsorCode:
			ids.SponsorCode = val
			if a := id.Assigner; a != nil && a.Identifier != nil && a.Identifier.Value != nil {
				ids.SponsorKey = *a.Identifier.Value
			} else {
				return ids, decodeErr(fmt.Sprintf("ResearchStudy.identifier[%d].assigner", i), "required", "sponsor code without assigner (sponsor FINESS or key)")
			}
		}
	}
	return ids, nil
}
