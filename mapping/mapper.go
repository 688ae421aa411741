package mapping

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Canonical study status -> R4 ResearchStudy.status (bijective, so that
// decoding gives the canonical status back). Aligned with the ECLAIRE
// ConceptMap where it covers the status (terminee-fin-anticipee ->
// administratively-completed, abandonnee -> withdrawn, suspendue ->
// temporarily-closed-to-accrual).
//
//	canonical          R4
//	in-preparation     in-review
//	approved           approved
//	recruiting         active
//	suspended          temporarily-closed-to-accrual
//	closed-to-accrual  closed-to-accrual
//	completed          completed
//	terminated         administratively-completed
//	withdrawn          withdrawn
var studyStatusToR4 = map[canonical.StudyStatus]string{
	canonical.StatusInPreparation:   "in-review",
	canonical.StatusApproved:        "approved",
	canonical.StatusRecruiting:      "active",
	canonical.StatusSuspended:       "temporarily-closed-to-accrual",
	canonical.StatusClosedToAccrual: "closed-to-accrual",
	canonical.StatusCompleted:       "completed",
	canonical.StatusTerminated:      "administratively-completed",
	canonical.StatusWithdrawn:       "withdrawn",
}

// Canonical inclusion status -> R4 ResearchSubject.status:
//
//	included       on-study
//	withdrawn      withdrawn
//	completed      off-study
//	screen-failed  ineligible  (published; the indicators exclude it)
var inclusionStatusToR4 = map[canonical.InclusionStatus]string{
	canonical.InclIncluded:     "on-study",
	canonical.InclWithdrawn:    "withdrawn",
	canonical.InclCompleted:    "off-study",
	canonical.InclScreenFailed: "ineligible",
}

// Canonical phase -> http://terminology.hl7.org/CodeSystem/research-study-phase.
var phaseToR4 = map[canonical.Phase]string{
	canonical.PhaseI:      "phase-1",
	canonical.PhaseI_II:   "phase-1-phase-2",
	canonical.PhaseII:     "phase-2",
	canonical.PhaseII_III: "phase-2-phase-3",
	canonical.PhaseIII:    "phase-3",
	canonical.PhaseIV:     "phase-4",
	canonical.PhaseNA:     "n-a",
}

var (
	categories   = []canonical.Category{canonical.CatRIPH1, canonical.CatRIPH2, canonical.CatRIPH3, canonical.CatCTR}
	sponsorTypes = []canonical.SponsorType{canonical.SponsorAcademic, canonical.SponsorIndustry}
	siteRoles    = []canonical.SiteRole{canonical.RoleSponsorSite, canonical.RoleInvestigatingSite}
)

func invert[K comparable, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	studyStatusFromR4     = invert(studyStatusToR4)
	inclusionStatusFromR4 = invert(inclusionStatusToR4)
	phaseFromR4           = invert(phaseToR4)
)

// Mapper maps the canonical records of one establishment to FHIR R4.
// It is safe for concurrent use: Map may be called from any number of
// goroutines at once (its only mutable state, the reusable HMACs of the
// pseudonyms, lives in a sync.Pool; TestMapConcurrent checks it under
// -race). A Mapper must not be copied.
type Mapper struct {
	finess string
	key    PseudonymKey
	macs   sync.Pool // of *pseudonymer for key
}

// NewMapper returns a mapper for the establishment with this FINESS, whose
// subjects are pseudonymised with key.
func NewMapper(finess string, key PseudonymKey) (*Mapper, error) {
	if !isFINESS(finess) {
		return nil, fmt.Errorf("mapping: establishment FINESS %q is not 9 characters (digits, 2A/2B)", finess)
	}
	if key.IsZero() {
		return nil, fmt.Errorf("mapping: establishment %s: no pseudonym key", finess)
	}
	m := &Mapper{finess: finess, key: key}
	m.macs.New = func() any { return key.newPseudonymer() }
	return m, nil
}

// pseudonym is m.key.Pseudonym with a pooled HMAC.
func (m *Mapper) pseudonym(studyKey, localSubjectID string) string {
	p := m.macs.Get().(*pseudonymer)
	defer m.macs.Put(p)
	return p.pseudonym(studyKey, localSubjectID)
}

// Map turns one canonical record into the resources to publish:
//   - Study -> the national ResearchStudy (id NationalStudyID);
//   - Site -> the site-level ResearchStudy (id SiteStudyID), partOf the
//     national one, site = logical reference by FINESS;
//   - Inclusion -> a ResearchSubject (id SubjectID) whose study is the
//     site-level ResearchStudy and whose individual holds only the pseudonym.
//
// Site and Inclusion records must belong to the mapper's establishment. Every
// emitted resource passes Validate. Failures are *Error (permanent).
func (m *Mapper) Map(rec canonical.Record) ([]Resource, error) {
	n := 0
	for _, set := range []bool{rec.Study != nil, rec.Site != nil, rec.Inclusion != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, &Error{Prov: rec.Prov(), Issues: []Issue{{Path: "Record", Severity: SeverityError, Code: "invalid-record",
			Message: fmt.Sprintf("record sets %d of Study, Site, Inclusion; want exactly one", n), Fix: "connector bug: report it"}}}
	}
	var (
		res    Resource
		issues []Issue
	)
	switch {
	case rec.Study != nil:
		res, issues = m.mapStudy(rec.Study)
	case rec.Site != nil:
		res, issues = m.mapSite(rec.Site)
	default:
		res, issues = m.mapInclusion(rec.Inclusion)
	}
	if HasErrors(issues) {
		return nil, &Error{Prov: rec.Prov(), Issues: issues}
	}
	if vi := Validate(res.JSON); HasErrors(vi) {
		return nil, &Error{Prov: rec.Prov(), Issues: vi}
	}
	return []Resource{res}, nil
}

type issues []Issue

func (is *issues) add(path, code, msg, fix string) {
	*is = append(*is, Issue{Path: path, Severity: SeverityError, Code: code, Message: msg, Fix: fix})
}

func ptr[T any](v T) *T { return &v }

func codeable(system, code string) fhir.CodeableConcept {
	return fhir.CodeableConcept{Coding: []fhir.Coding{{System: ptr(system), Code: ptr(code)}}}
}

func validDate(d canonical.Date) bool {
	if d.IsZero() {
		return true
	}
	return d.Y >= 1900 && d.Y <= 9999 && canonical.DateOf(d.Time()) == d
}

func (is *issues) checkDate(path string, d canonical.Date) {
	if !validDate(d) {
		is.add(path, "bad-date", fmt.Sprintf("date %04d-%02d-%02d does not exist", d.Y, int(d.M), d.D), "correct the date in the source")
	}
}

func (is *issues) checkCount(path string, n *int) {
	if n != nil && (*n < 0 || *n > 1<<31-1) {
		is.add(path, "bad-value", fmt.Sprintf("count %d is out of range", *n), "use a whole number >= 0")
	}
}

// identifiers checks the study identifiers and returns the national id.
func (is *issues) studyIdentifiers(path string, ids canonical.Identifiers) string {
	if (ids.SponsorCode == "") != (ids.SponsorKey == "") {
		is.add(path+".SponsorCode", "incomplete-sponsor-code", "sponsor code and sponsor key go together", "give both the sponsor's local code and the sponsor (FINESS or name), or neither")
	}
	id, err := NationalStudyID(ids)
	if err != nil {
		is.add(path, "no-identifier", err.Error(), "add an EU CT, ID-RCB, EudraCT or NCT number, or the sponsor's code")
		return ""
	}
	return id
}

// fhirIdentifiers renders the study identifiers, strongest first.
func fhirIdentifiers(ids canonical.Identifiers) []fhir.Identifier {
	var out []fhir.Identifier
	add := func(system, value string) {
		if value != "" {
			out = append(out, fhir.Identifier{System: ptr(system), Value: ptr(value)})
		}
	}
	add(SystemEUCT, ids.EUCT)
	add(SystemIDRCB, ids.IDRCB)
	add(SystemEudraCT, ids.EudraCT)
	add(SystemNCT, ids.NCT)
	if ids.SponsorCode != "" {
		assignerSystem := SystemSponsorKey
		if isFINESS(ids.SponsorKey) {
			assignerSystem = SystemFINESS
		}
		out = append(out, fhir.Identifier{System: ptr(SystemSponsorCode), Value: ptr(ids.SponsorCode),
			Assigner: &fhir.Reference{Type: ptr("Organization"), Identifier: &fhir.Identifier{System: ptr(assignerSystem), Value: ptr(ids.SponsorKey)}}})
	}
	return out
}

func progressStatus(code string, d canonical.Date) fhir.Extension {
	return fhir.Extension{Url: ExtProgressStatus, Extension: []fhir.Extension{
		{Url: subExtState, ValueCodeableConcept: ptr(codeable(CodeSystemMilestone, code))},
		{Url: subExtActual, ValueBoolean: ptr(true)},
		{Url: subExtPeriod, ValuePeriod: &fhir.Period{Start: ptr(d.String())}},
	}}
}

func recruitment(target, actual *int) []fhir.Extension {
	var sub []fhir.Extension
	if target != nil {
		sub = append(sub, fhir.Extension{Url: subExtTargetNumber, ValueUnsignedInt: ptr(*target)})
	}
	if actual != nil {
		sub = append(sub, fhir.Extension{Url: subExtActualNumber, ValueUnsignedInt: ptr(*actual)})
	}
	if sub == nil {
		return nil
	}
	return []fhir.Extension{{Url: ExtRecruitment, Extension: sub}}
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs, strings, ints and bools are marshalled here.
		panic(fmt.Sprintf("mapping: marshal: %v", err))
	}
	return b
}

func (m *Mapper) mapStudy(s *canonical.Study) (Resource, []Issue) {
	var is issues
	id := is.studyIdentifiers("Study.IDs", s.IDs)
	r4status, ok := studyStatusToR4[s.Status]
	if !ok {
		is.add("Study.Status", "unknown-status", fmt.Sprintf("study status %q is not a canonical status", clip(string(s.Status))), "map the source status to one of in-preparation, approved, recruiting, suspended, closed-to-accrual, completed, terminated, withdrawn")
	}
	if s.SponsorType != "" && !slices.Contains(sponsorTypes, s.SponsorType) {
		is.add("Study.SponsorType", "unknown-code", fmt.Sprintf("sponsor type %q is not academic or industry", clip(string(s.SponsorType))), "")
	}
	if s.Category != "" && !slices.Contains(categories, s.Category) {
		is.add("Study.Category", "unknown-code", fmt.Sprintf("category %q is not RIPH1, RIPH2, RIPH3 or CTR", clip(string(s.Category))), "")
	}
	phase, phaseOK := phaseToR4[s.Phase]
	if s.Phase != "" && !phaseOK {
		is.add("Study.Phase", "unknown-code", fmt.Sprintf("phase %q is not I, I/II, II, II/III, III, IV or NA", clip(string(s.Phase))), "")
	}
	if s.SponsorFINESS != "" && !isFINESS(s.SponsorFINESS) {
		is.add("Study.SponsorFINESS", "bad-format", fmt.Sprintf("sponsor FINESS %q is not 9 characters (digits, 2A/2B)", clip(s.SponsorFINESS)), "")
	}
	is.checkCount("Study.TargetFrance", s.TargetFrance)
	is.checkCount("Study.TargetGlobal", s.TargetGlobal)
	is.checkCount("Study.ActualGlobal", s.ActualGlobal)
	msKeys := slices.Sorted(maps.Keys(s.Milestones))
	for _, ms := range msKeys {
		d := s.Milestones[ms]
		if !slices.Contains(canonical.Milestones, ms) {
			is.add("Study.Milestones", "unknown-code", fmt.Sprintf("milestone %q is not a canonical milestone", clip(string(ms))), "")
		}
		is.checkDate("Study.Milestones["+string(ms)+"]", d)
	}
	if len(is) > 0 {
		return Resource{}, is
	}

	rs := fhir.ResearchStudy{
		Id:         ptr(id),
		Meta:       &fhir.Meta{Profile: []string{ProfileNationalStudy}},
		Identifier: fhirIdentifiers(s.IDs),
	}
	if err := rs.Status.UnmarshalJSON([]byte(`"` + r4status + `"`)); err != nil {
		panic(err) // the table holds R4 codes only; tested
	}
	if t := strings.TrimSpace(s.Title); t != "" {
		rs.Title = ptr(t)
	}
	if phaseOK {
		rs.Phase = ptr(codeable(SystemPhase, phase))
	}
	if s.Category != "" {
		cc := codeable(CodeSystemCategory, string(s.Category))
		// ECLAIRE alignment: its regulation code, as a second coding.
		eclaire := "JARDE"
		if s.Category == canonical.CatCTR {
			eclaire = "REG536"
		}
		cc.Coding = append(cc.Coding, fhir.Coding{System: ptr(SystemECLAIRERegulation), Code: ptr(eclaire)})
		rs.Category = []fhir.CodeableConcept{cc}
	}
	// Sponsor: R5 associatedParty (name, role, classifier, party) carries
	// everything; R4 sponsor is set too when the sponsor has a FINESS.
	var party []fhir.Extension
	if n := strings.TrimSpace(s.SponsorName); n != "" {
		party = append(party, fhir.Extension{Url: subExtPartyName, ValueString: ptr(n)})
	}
	if s.SponsorName != "" || s.SponsorFINESS != "" || s.SponsorType != "" {
		party = append(party, fhir.Extension{Url: subExtPartyRole, ValueCodeableConcept: ptr(codeable(SystemR5PartyRole, r5PartyRoleLeadSponsor))})
	}
	if s.SponsorType != "" {
		cc := codeable(CodeSystemSponsorType, string(s.SponsorType))
		cc.Coding = append(cc.Coding, fhir.Coding{System: ptr(SystemR5PartyOrgType), Code: ptr(string(s.SponsorType))})
		party = append(party, fhir.Extension{Url: subExtPartyClassifier, ValueCodeableConcept: &cc})
	}
	if s.SponsorFINESS != "" {
		ref := fhir.Reference{Type: ptr("Organization"), Identifier: &fhir.Identifier{System: ptr(SystemFINESS), Value: ptr(s.SponsorFINESS)}}
		party = append(party, fhir.Extension{Url: subExtPartyParty, ValueReference: &ref})
		sponsor := ref
		if n := strings.TrimSpace(s.SponsorName); n != "" {
			sponsor.Display = ptr(n)
		}
		rs.Sponsor = &sponsor
	}
	if party != nil {
		rs.Extension = append(rs.Extension, fhir.Extension{Url: ExtAssociatedParty, Extension: party})
	}
	if s.International != nil { // unknown: no extension rather than a false "no"
		rs.Extension = append(rs.Extension, fhir.Extension{Url: ExtInternational, ValueBoolean: ptr(*s.International)})
	}
	rs.Extension = append(rs.Extension, recruitment(s.TargetGlobal, s.ActualGlobal)...)
	if s.TargetFrance != nil {
		rs.Extension = append(rs.Extension, fhir.Extension{Url: ExtTargetFrance, ValueUnsignedInt: ptr(*s.TargetFrance)})
	}
	for _, ms := range canonical.Milestones {
		if d, ok := s.Milestones[ms]; ok && !d.IsZero() {
			rs.Extension = append(rs.Extension, progressStatus(string(ms), d))
		}
	}
	return Resource{Type: "ResearchStudy", ID: id, JSON: marshal(rs)}, nil
}

func (m *Mapper) mapSite(s *canonical.Site) (Resource, []Issue) {
	var is issues
	natID := is.studyIdentifiers("Site.Study", s.Study)
	if s.Establishment != m.finess {
		is.add("Site.Establishment", "foreign-establishment", fmt.Sprintf("site establishment %q is not this connector's establishment %s", clip(s.Establishment), m.finess), "publish only your own site participations; other establishments publish theirs")
	}
	r4status, ok := studyStatusToR4[s.Status]
	if !ok {
		is.add("Site.Status", "unknown-status", fmt.Sprintf("site status %q is not a canonical status", clip(string(s.Status))), "map the source status to a canonical status")
	}
	if s.Role != "" && !slices.Contains(siteRoles, s.Role) {
		is.add("Site.Role", "unknown-code", fmt.Sprintf("site role %q is not sponsor-site or investigating-site", clip(string(s.Role))), "")
	}
	is.checkCount("Site.Target", s.Target)
	dates := siteMilestones(s)
	for _, d := range dates {
		is.checkDate("Site."+d.field, d.date)
	}
	if len(is) > 0 {
		return Resource{}, is
	}
	id := SiteStudyID(natID, s.Establishment)
	rs := fhir.ResearchStudy{
		Id:         ptr(id),
		Meta:       &fhir.Meta{Profile: []string{ProfileSiteStudy}},
		Identifier: fhirIdentifiers(s.Study),
		PartOf:     []fhir.Reference{{Reference: ptr("ResearchStudy/" + natID)}},
		Site: []fhir.Reference{{Type: ptr("Location"),
			Identifier: &fhir.Identifier{System: ptr(SystemFINESS), Value: ptr(s.Establishment)}}},
	}
	if err := rs.Status.UnmarshalJSON([]byte(`"` + r4status + `"`)); err != nil {
		panic(err)
	}
	if s.Role != "" {
		rs.Extension = append(rs.Extension, fhir.Extension{Url: ExtSiteRole, ValueCodeableConcept: ptr(codeable(CodeSystemSiteRole, string(s.Role)))})
	}
	rs.Extension = append(rs.Extension, recruitment(s.Target, nil)...)
	for _, d := range dates {
		if !d.date.IsZero() {
			rs.Extension = append(rs.Extension, progressStatus(d.code, d.date))
		}
	}
	return Resource{Type: "ResearchStudy", ID: id, JSON: marshal(rs)}, nil
}

type siteDate struct {
	code, field string
	date        canonical.Date
}

func siteMilestones(s *canonical.Site) []siteDate {
	return []siteDate{
		{SiteMsContractSent, "ContractSent", s.ContractSent},
		{SiteMsContractSigned, "ContractSigned", s.ContractSigned},
		{SiteMsOpened, "Opened", s.Opened},
		{SiteMsFirstInclusion, "FirstInclusion", s.FirstInclusion},
		{SiteMsClosed, "Closed", s.Closed},
	}
}

func (m *Mapper) mapInclusion(in *canonical.Inclusion) (Resource, []Issue) {
	var is issues
	natID := is.studyIdentifiers("Inclusion.Study", in.Study)
	if in.Establishment != m.finess {
		is.add("Inclusion.Establishment", "foreign-establishment", fmt.Sprintf("inclusion establishment %q is not this connector's establishment %s", clip(in.Establishment), m.finess), "publish only your own inclusions")
	}
	// Never quote the local subject id: it must not leave the hospital.
	if NormaliseLocalID(in.LocalSubjectID) == "" {
		is.add("Inclusion.LocalSubjectID", "required", "local subject id is empty", "fill the subject number column")
	}
	r4status, ok := inclusionStatusToR4[in.Status]
	if !ok {
		is.add("Inclusion.Status", "unknown-status", fmt.Sprintf("inclusion status %q is not included, withdrawn, completed or screen-failed", clip(string(in.Status))), "map the source status")
	}
	is.checkDate("Inclusion.InclusionDate", in.InclusionDate)
	if in.InclusionDate.IsZero() && in.Status != canonical.InclScreenFailed {
		is.add("Inclusion.InclusionDate", "required", "inclusion date is missing", "fill the inclusion (consent) date; only screen failures may lack one")
	}
	if len(is) > 0 {
		return Resource{}, is
	}
	ssID := SiteStudyID(natID, in.Establishment)
	pseudo := m.pseudonym(natID, in.LocalSubjectID)
	id := SubjectID(ssID, pseudo)
	return Resource{Type: "ResearchSubject", ID: id, JSON: subjectJSON(id, r4status, in.InclusionDate, ssID, pseudo)}, nil
}

// subjectJSON writes the ResearchSubject of an inclusion directly: the
// bytes json.Marshal gives for the samply fhir.ResearchSubject
//
//	Id: id, Meta: {Profile: [ProfileSubject]}, Status: status,
//	Period: {Start: date} (when the date is set),
//	Study: {Reference: "ResearchStudy/" + ssID},
//	Individual: {Type: "Patient", Identifier: {System: SystemPseudonym, Value: pseudo}}
//
// (samply's MarshalJSON marshals twice through a wrapper and json.Marshal
// compacts the result again: a fifth of Map). TestSubjectJSONMatchesSamply
// compares the two byte for byte.
func subjectJSON(id, status string, date canonical.Date, ssID, pseudo string) []byte {
	b := make([]byte, 0, 320+len(id)+len(ssID)+len(pseudo))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"meta":{"profile":[`...)
	b = appendJSONString(b, ProfileSubject)
	b = append(b, `]},"status":`...)
	b = appendJSONString(b, status)
	if !date.IsZero() {
		b = append(b, `,"period":{"start":`...)
		b = appendJSONString(b, isoDate(date))
		b = append(b, '}')
	}
	b = append(b, `,"study":{"reference":`...)
	b = appendJSONString(b, "ResearchStudy/"+ssID)
	b = append(b, `},"individual":{"type":"Patient","identifier":{"system":`...)
	b = appendJSONString(b, SystemPseudonym)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, pseudo)
	b = append(b, `}},"resourceType":"ResearchSubject"}`...)
	return b
}

// appendJSONString appends s as encoding/json writes it (HTML-safe).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return append(b, marshal(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// isoDate is d.String() ("YYYY-MM-DD") without fmt.
func isoDate(d canonical.Date) string {
	if d.Y < 0 || d.Y > 9999 || d.M < 1 || d.M > 12 || d.D < 1 || d.D > 99 {
		return d.String()
	}
	m := int(d.M)
	b := [10]byte{byte('0' + d.Y/1000), byte('0' + d.Y/100%10), byte('0' + d.Y/10%10), byte('0' + d.Y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d.D/10), byte('0' + d.D%10)}
	return string(b[:])
}
