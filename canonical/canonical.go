// Package canonical holds the source-independent records that connectors
// produce and mapping consumes: a study, a site participation (study ×
// establishment) and an inclusion, each with its provenance so that any
// error can name the source, file, line and field it came from.
//
// The package depends on nothing else in the module; every other package may
// import it.
package canonical

import (
	"fmt"
	"time"
)

// Provenance says where a record came from. It travels with every record and
// every reject so that an error message can point a research coordinator at
// the exact place to fix. It never holds patient data.
type Provenance struct {
	Source        string // configured source id, e.g. "chu-rennes-ctms"
	Establishment string // FINESS of the establishment running the connector
	File          string // file name (base name or path as configured), empty for API sources
	Line          int    // 1-based physical line (CSV) or record number (API); 0 if unknown
	RecordKey     string // source record key (e.g. local study code, row key); never a patient identifier
}

// String renders "source file:line" for messages.
func (p Provenance) String() string {
	s := p.Source
	if p.File != "" {
		s += " " + p.File
		if p.Line > 0 {
			s += fmt.Sprintf(":%d", p.Line)
		}
	} else if p.Line > 0 {
		s += fmt.Sprintf(" record %d", p.Line)
	}
	return s
}

// Identifiers are the business identifiers of a study, from strongest to
// weakest (see domain/sigrec.md, "Study reconciliation").
type Identifiers struct {
	EUCT        string // EU CT number (CTIS), ^\d{4}-\d{6}-\d{2}-\d{2}$
	IDRCB       string // ID-RCB, ^20\d{2}-A\d{5}-\d{2}$
	EudraCT     string // EudraCT, ^20\d{2}-0\d{5}-\d{2}$
	NCT         string // ClinicalTrials.gov, ^NCT\d{8}$
	SponsorCode string // sponsor's local code; only meaningful with SponsorKey
	SponsorKey  string // who issued SponsorCode: sponsor FINESS or normalised sponsor name
}

// IsZero reports whether no identifier at all is set.
func (id Identifiers) IsZero() bool {
	return id.EUCT == "" && id.IDRCB == "" && id.EudraCT == "" && id.NCT == "" && id.SponsorCode == ""
}

// Strongest returns the kind and value of the strongest identifier present,
// in the order EU CT > ID-RCB > EudraCT > NCT > sponsor code. ok is false when
// there is none. The sponsor code value is "SponsorKey|SponsorCode".
func (id Identifiers) Strongest() (kind IDKind, value string, ok bool) {
	switch {
	case id.EUCT != "":
		return IDEUCT, id.EUCT, true
	case id.IDRCB != "":
		return IDIDRCB, id.IDRCB, true
	case id.EudraCT != "":
		return IDEudraCT, id.EudraCT, true
	case id.NCT != "":
		return IDNCT, id.NCT, true
	case id.SponsorCode != "":
		return IDSponsorCode, id.SponsorKey + "|" + id.SponsorCode, true
	}
	return "", "", false
}

// IDKind names an identifier kind.
type IDKind string

const (
	IDEUCT        IDKind = "euct"
	IDIDRCB       IDKind = "idrcb"
	IDEudraCT     IDKind = "eudract"
	IDNCT         IDKind = "nct"
	IDSponsorCode IDKind = "sponsor-code"
)

// SponsorType is academic or industry.
type SponsorType string

const (
	SponsorAcademic SponsorType = "academic"
	SponsorIndustry SponsorType = "industry"
)

// Category is the French regulatory category of a study.
type Category string

const (
	CatRIPH1 Category = "RIPH1" // interventional
	CatRIPH2 Category = "RIPH2" // minimal risk
	CatRIPH3 Category = "RIPH3" // non-interventional
	CatCTR   Category = "CTR"   // EU regulation 536/2014
)

// Phase of a study.
type Phase string

const (
	PhaseI      Phase = "I"
	PhaseI_II   Phase = "I/II"
	PhaseII     Phase = "II"
	PhaseII_III Phase = "II/III"
	PhaseIII    Phase = "III"
	PhaseIV     Phase = "IV"
	PhaseNA     Phase = "NA"
)

// StudyStatus is the canonical overall status of a study or of a site's
// participation. Sources' free-text statuses are mapped onto these by
// configuration.
type StudyStatus string

const (
	StatusInPreparation   StudyStatus = "in-preparation" // submitted / awaiting authorisation
	StatusApproved        StudyStatus = "approved"       // authorised, not yet recruiting
	StatusRecruiting      StudyStatus = "recruiting"
	StatusSuspended       StudyStatus = "suspended"
	StatusClosedToAccrual StudyStatus = "closed-to-accrual" // recruitment closed, follow-up ongoing
	StatusCompleted       StudyStatus = "completed"
	StatusTerminated      StudyStatus = "terminated" // stopped early
	StatusWithdrawn       StudyStatus = "withdrawn"  // never started
)

// Milestone names a dated study milestone (domain/sigrec.md, Entities).
type Milestone string

const (
	MsSubmitted         Milestone = "submitted"
	MsANSMAuthorised    Milestone = "ansm-authorised"
	MsEthicsApproved    Milestone = "ethics-approved"
	MsEUAuthorised      Milestone = "eu-authorised"
	MsFirstSiteOpen     Milestone = "first-site-open"
	MsRecruitmentClosed Milestone = "recruitment-closed"
	MsCompleted         Milestone = "completed"
	MsTerminated        Milestone = "terminated"
	MsWithdrawn         Milestone = "withdrawn"
)

// Milestones lists every milestone in chronological order of the lifecycle.
var Milestones = []Milestone{MsSubmitted, MsANSMAuthorised, MsEthicsApproved, MsEUAuthorised, MsFirstSiteOpen, MsRecruitmentClosed, MsCompleted, MsTerminated, MsWithdrawn}

// Study is a study as described by one establishment's source.
type Study struct {
	IDs           Identifiers
	Title         string
	SponsorName   string
	SponsorFINESS string // set when the sponsor is a French health establishment
	SponsorType   SponsorType
	Category      Category
	Phase         Phase
	International *bool // nil: unknown (the source does not say)
	TargetFrance  *int
	TargetGlobal  *int
	ActualGlobal  *int
	Status        StudyStatus
	Milestones    map[Milestone]Date
	Prov          Provenance
}

// SiteRole is the role of an establishment in a study.
type SiteRole string

const (
	RoleSponsorSite       SiteRole = "sponsor-site"
	RoleInvestigatingSite SiteRole = "investigating-site"
)

// Site is the participation of one establishment in one study.
type Site struct {
	Study          Identifiers // identifies the study this site belongs to
	Establishment  string      // FINESS of the site
	Role           SiteRole
	Target         *int
	ContractSent   Date
	ContractSigned Date
	Opened         Date
	FirstInclusion Date
	Closed         Date
	Status         StudyStatus
	Prov           Provenance
}

// InclusionStatus is the status of a subject in a study.
type InclusionStatus string

const (
	InclIncluded     InclusionStatus = "included"
	InclWithdrawn    InclusionStatus = "withdrawn"
	InclCompleted    InclusionStatus = "completed"
	InclScreenFailed InclusionStatus = "screen-failed"
)

// Inclusion is one subject's inclusion at one site of one study.
//
// LocalSubjectID is the hospital-side subject identifier (study subject
// number, or IPP in some exports). It must never leave the hospital: mapping
// replaces it with a keyed pseudonym and nothing else may publish it.
type Inclusion struct {
	Study          Identifiers
	Establishment  string // FINESS of the including site
	LocalSubjectID string
	InclusionDate  Date
	Status         InclusionStatus
	Prov           Provenance
}

// Date is a local calendar date (Europe/Paris) without a time.
// The zero value means "unknown".
type Date struct {
	Y int
	M time.Month
	D int
}

// NewDate builds a Date.
func NewDate(y int, m time.Month, d int) Date { return Date{y, m, d} }

// IsZero reports whether the date is unknown.
func (d Date) IsZero() bool { return d.Y == 0 }

// String renders YYYY-MM-DD, or "" for the zero date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Y, int(d.M), d.D)
}

// Time returns midnight UTC of the date (for arithmetic only).
func (d Date) Time() time.Time { return time.Date(d.Y, d.M, d.D, 0, 0, 0, 0, time.UTC) }

// Before reports whether d is strictly before e. Zero dates compare as unknown: false.
func (d Date) Before(e Date) bool {
	if d.IsZero() || e.IsZero() {
		return false
	}
	return d.Time().Before(e.Time())
}

// ParseISODate parses YYYY-MM-DD and rejects impossible dates.
func ParseISODate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// DateOf returns the calendar date of t.
func DateOf(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

// Record is one item a Source produces: exactly one of Study, Site,
// Inclusion is set.
type Record struct {
	Study     *Study
	Site      *Site
	Inclusion *Inclusion
}

// Prov returns the provenance of whichever record is set.
func (r Record) Prov() Provenance {
	switch {
	case r.Study != nil:
		return r.Study.Prov
	case r.Site != nil:
		return r.Site.Prov
	case r.Inclusion != nil:
		return r.Inclusion.Prov
	}
	return Provenance{}
}

// Reject is a record a connector or the mapping could not accept. It names
// where the problem is and how to fix it. Raw may hold the raw source record
// (possibly with identifying data): it stays in the hospital-side quarantine
// and must never be published or logged.
type Reject struct {
	Prov   Provenance
	Column string // source column / field name, if known
	Field  string // canonical field concerned, if known
	Code   string // stable machine reason code, e.g. "bad-date", "unknown-status"
	Reason string // what is wrong, for a human
	Fix    string // how to fix it, for a human
	Raw    []string
}

// Error renders the reject as one line: "source file:line column "X": reason; fix: ...".
func (r Reject) Error() string {
	s := r.Prov.String()
	if r.Column != "" {
		s += fmt.Sprintf(" column %q", r.Column)
	}
	s += ": " + r.Reason
	if r.Fix != "" {
		s += "; fix: " + r.Fix
	}
	return s
}
