package mapping

// Every URL the mapping emits. Project artefacts live under ONE canonical
// base, CanonicalBase; their conformance resources (CodeSystem,
// StructureDefinition, NamingSystem) are to be published there (later issue).
const (
	// CanonicalBase is the canonical URL of every project-defined artefact.
	CanonicalBase = "https://fr-it4ct.github.io/fhir"

	// Profiles claimed in meta.profile.
	ProfileNationalStudy = CanonicalBase + "/StructureDefinition/it4ct-researchstudy-national"
	ProfileSiteStudy     = CanonicalBase + "/StructureDefinition/it4ct-researchstudy-site"
	ProfileSubject       = CanonicalBase + "/StructureDefinition/it4ct-researchsubject"

	// Identifier systems defined by other bodies.
	SystemNCT       = "https://clinicaltrials.gov/nctid" // emitted
	SystemNCTLegacy = "https://clinicaltrials.gov"       // accepted on input only
	SystemEUCT      = "https://euclinicaltrials.eu/clinicalTrialId"
	SystemFINESS    = "https://finess.esante.gouv.fr"

	// Identifier systems the project defines (published later as NamingSystem).
	SystemIDRCB       = CanonicalBase + "/sid/id-rcb"
	SystemEudraCT     = CanonicalBase + "/sid/eudract"
	SystemSponsorCode = CanonicalBase + "/sid/sponsor-code"
	// SystemSponsorKey identifies a sponsor that has no FINESS by its
	// normalised name; used only in a sponsor code's assigner.
	SystemSponsorKey = CanonicalBase + "/sid/sponsor-key"
	// SystemPseudonym is the system of keyed subject pseudonyms.
	SystemPseudonym = CanonicalBase + "/sid/subject-pseudonym"

	// Code systems.
	SystemPhase             = "http://terminology.hl7.org/CodeSystem/research-study-phase"
	CodeSystemCategory      = CanonicalBase + "/CodeSystem/study-category"
	CodeSystemMilestone     = CanonicalBase + "/CodeSystem/milestone"
	CodeSystemSponsorType   = CanonicalBase + "/CodeSystem/sponsor-type"
	CodeSystemSiteRole      = CanonicalBase + "/CodeSystem/site-role"
	SystemR5PartyRole       = "http://hl7.org/fhir/research-study-party-role"
	SystemR5PartyOrgType    = "http://hl7.org/fhir/research-study-party-org-type"
	SystemECLAIRERegulation = "https://interop.esante.gouv.fr/ig/fhir/eclaire/CodeSystem/eclaire-regulation-code-code-system"

	// R5 cross-version extensions (official back-port URLs).
	R5ExtensionBase        = "http://hl7.org/fhir/5.0/StructureDefinition/"
	ExtRecruitment         = R5ExtensionBase + "extension-ResearchStudy.recruitment"
	ExtProgressStatus      = R5ExtensionBase + "extension-ResearchStudy.progressStatus"
	ExtAssociatedParty     = R5ExtensionBase + "extension-ResearchStudy.associatedParty"
	subExtTargetNumber     = "targetNumber"
	subExtActualNumber     = "actualNumber"
	subExtState            = "state"
	subExtActual           = "actual"
	subExtPeriod           = "period"
	subExtPartyName        = "name"
	subExtPartyRole        = "role"
	subExtPartyClassifier  = "classifier"
	subExtPartyParty       = "party"
	r5PartyRoleLeadSponsor = "lead-sponsor"

	// Project extensions.
	ExtInternational      = CanonicalBase + "/StructureDefinition/international"
	ExtTargetFrance       = CanonicalBase + "/StructureDefinition/recruitment-target-france"
	ExtSiteRole           = CanonicalBase + "/StructureDefinition/site-role"
	ProjectExtensionsBase = CanonicalBase + "/StructureDefinition/"
)

// Site milestone codes in CodeSystemMilestone, beside the study milestones of
// canonical.Milestones (same code system, disjoint codes).
const (
	SiteMsContractSent   = "contract-sent"
	SiteMsContractSigned = "contract-signed"
	SiteMsOpened         = "site-opened"
	SiteMsFirstInclusion = "first-inclusion"
	SiteMsClosed         = "site-closed"
)
