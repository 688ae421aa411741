// Package mapping turns canonical records into FHIR R4 ResearchStudy /
// ResearchSubject resources (and back), with deterministic resource ids,
// keyed pseudonyms for subjects and validation of everything emitted.
//
// CONTRACT STUB: the signatures in this file are the contract other packages
// code against; the bodies are filled in by the mapping work.
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
