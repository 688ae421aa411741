// Package mapping turns canonical records into FHIR R4 ResearchStudy /
// ResearchSubject resources (and back), with deterministic resource ids,
// keyed pseudonyms for subjects and validation of everything emitted.
//
// Resources (built with github.com/samply/golang-fhir-models, never relying
// on its zero values, and checked by Validate before they leave Map):
//   - national ResearchStudy (id NationalStudyID, "st-…"): identifiers (EU CT,
//     ID-RCB, EudraCT, NCT, sponsor code with its assigner), title, status,
//     phase (HL7 research-study-phase), category (project CodeSystem + the
//     ECLAIRE regulation code), sponsor (R5 associatedParty extension: name,
//     role lead-sponsor, classifier academic/industry, party by FINESS; R4
//     sponsor too when a FINESS is known), international flag, recruitment
//     (R5: targetNumber = global target, actualNumber = global actual), French
//     target (project extension), dated milestones (R5 progressStatus, one per
//     milestone, state from the project milestone CodeSystem, actual = true,
//     period.start = date).
//   - site-level ResearchStudy (id SiteStudyID, "ss-…"): the same identifiers,
//     status, partOf the national study, site = logical reference by FINESS,
//     role (project extension), site target (R5 recruitment.targetNumber) and
//     site milestones contract-sent, contract-signed, site-opened,
//     first-inclusion, site-closed (R5 progressStatus).
//   - ResearchSubject (id SubjectID, "sj-…"): status, study =
//     "ResearchStudy/<site study id>", individual = logical reference holding
//     only the pseudonym identifier, period.start = inclusion date. Screen
//     failures are published (ineligible); the indicators exclude them.
//
// No free text is published except the study title and the sponsor name.
// Status tables are in mapper.go; every URL is in systems.go.
package mapping

import (
	"github.com/fr-it4ct/it4ct/canonical"
)

// Resource is one FHIR resource ready to publish.
type Resource struct {
	Type string // "ResearchStudy" or "ResearchSubject"
	ID   string // deterministic resource id (Kafka key)
	JSON []byte // FHIR R4 JSON, validated
}

// Level tells a national study from a site-level one.
type Level string

const (
	LevelNational Level = "national"
	LevelSite     Level = "site"
)

// StudyView is what a published ResearchStudy says, decoded back into
// canonical terms. Exactly one of Study (national level) or Site (site
// level) is meaningful.
type StudyView struct {
	ID     string
	Level  Level
	PartOf string // national study id; site level only
	Study  canonical.Study
	Site   canonical.Site
}

// SubjectView is what a published ResearchSubject says.
type SubjectView struct {
	ID            string
	SiteStudyID   string // id of the site-level ResearchStudy it references
	Pseudonym     string
	InclusionDate canonical.Date
	Status        canonical.InclusionStatus
}
