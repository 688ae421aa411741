package mapping

import (
	"sync"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/conformance"
)

// Terminology resolves the codes of code systems and value sets for the
// profile bindings. The default, PublishedTerminology, reads the
// conformance resources the project publishes; BuiltinTerminology (the
// same Go tables Map uses) answers for what they do not define.
type Terminology interface {
	// CodeSystemCodes returns the codes of a CodeSystem by canonical URL.
	CodeSystemCodes(url string) (map[string]bool, bool)
	// ValueSetCodes returns the codes of a ValueSet by canonical URL, per
	// code system.
	ValueSetCodes(url string) (map[string]map[string]bool, bool)
}

// R4 core value sets bound (required) by the profiles.
const (
	ValueSetResearchStudyStatus   = "http://hl7.org/fhir/ValueSet/research-study-status"
	ValueSetResearchSubjectStatus = "http://hl7.org/fhir/ValueSet/research-subject-status"
	ValueSetResearchStudyPhase    = "http://hl7.org/fhir/ValueSet/research-study-phase"
	// R4 systems of the status codes (the value sets include whole systems).
	SystemResearchStudyStatus   = "http://hl7.org/fhir/research-study-status"
	SystemResearchSubjectStatus = "http://hl7.org/fhir/research-subject-status"
)

type builtinTerminology struct {
	cs map[string]map[string]bool
	vs map[string]map[string]map[string]bool
}

func set[S ~string](xs ...S) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[string(x)] = true
	}
	return m
}

// BuiltinTerminology returns the code systems and value sets the profiles
// bind, built from the tables of this package and of canonical. A test
// checks that they agree with the published conformance resources.
func BuiltinTerminology() Terminology { return builtin() }

// builtin is computed once: immutable tables, like the regexps.
var builtin = sync.OnceValue(func() Terminology {
	milestones := set(canonical.Milestones...)
	for _, c := range []string{SiteMsContractSent, SiteMsContractSigned, SiteMsOpened, SiteMsFirstInclusion, SiteMsClosed} {
		milestones[c] = true
	}
	cs := map[string]map[string]bool{
		CodeSystemCategory:    set(categories...),
		CodeSystemMilestone:   milestones,
		CodeSystemSponsorType: set(sponsorTypes...),
		CodeSystemSiteRole:    set(siteRoles...),
		SystemPhase:           set(phaseCodes...),
		SystemR5PartyRole:     set(r5PartyRoleLeadSponsor),
	}
	return builtinTerminology{cs: cs, vs: map[string]map[string]map[string]bool{
		ValueSetResearchStudyStatus:   {SystemResearchStudyStatus: set(researchStudyStatusCodes...)},
		ValueSetResearchSubjectStatus: {SystemResearchSubjectStatus: set(researchSubjectStatusCodes...)},
		ValueSetResearchStudyPhase:    {SystemPhase: set(phaseCodes...)},
	}}
})

func (b builtinTerminology) CodeSystemCodes(url string) (map[string]bool, bool) {
	m, ok := b.cs[url]
	return m, ok
}

func (b builtinTerminology) ValueSetCodes(url string) (map[string]map[string]bool, bool) {
	m, ok := b.vs[url]
	return m, ok
}

// boundCodeSystems and boundValueSets are every code system and value set
// the profile checks look up (the systems of codings, status value sets).
var (
	boundCodeSystems = []string{CodeSystemCategory, SystemECLAIRERegulation, SystemPhase, CodeSystemSiteRole, CodeSystemMilestone,
		SystemR5PartyRole, CodeSystemSponsorType, SystemR5PartyOrgType}
	boundValueSets = []string{ValueSetResearchStudyStatus, ValueSetResearchSubjectStatus, ValueSetResearchStudyPhase}
)

type lookup[T any] struct {
	codes T
	ok    bool
}

// cachedPublishedTerminology answers like PublishedTerminology, from the
// answers for the bound URLs read once (the conformance resources are
// embedded, so they never change; conformance copies its sets on every
// call, which cost a fifth of Validate). It is what the validator uses
// when the options name PublishedTerminology or none; it only reads the
// shared maps. Other URLs go to conformance.
type cachedPublishedTerminology struct {
	cs map[string]lookup[map[string]bool]
	vs map[string]lookup[map[string]map[string]bool]
}

var cachedPublished = sync.OnceValue(func() *cachedPublishedTerminology {
	c := &cachedPublishedTerminology{cs: map[string]lookup[map[string]bool]{}, vs: map[string]lookup[map[string]map[string]bool]{}}
	for _, u := range boundCodeSystems {
		m, ok := conformance.CodeSystemCodes(u)
		c.cs[u] = lookup[map[string]bool]{m, ok}
	}
	for _, u := range boundValueSets {
		m, ok := conformance.ValueSetCodes(u)
		c.vs[u] = lookup[map[string]map[string]bool]{m, ok}
	}
	return c
})

func (c *cachedPublishedTerminology) CodeSystemCodes(url string) (map[string]bool, bool) {
	if l, ok := c.cs[url]; ok {
		return l.codes, l.ok
	}
	return conformance.CodeSystemCodes(url)
}

func (c *cachedPublishedTerminology) ValueSetCodes(url string) (map[string]map[string]bool, bool) {
	if l, ok := c.vs[url]; ok {
		return l.codes, l.ok
	}
	return conformance.ValueSetCodes(url)
}

// codeSystem looks a code system up in the configured terminology, then in
// the built-in one.
func (v *validator) codeSystem(url string) (map[string]bool, bool) {
	if m, ok := v.opts.Terminology.CodeSystemCodes(url); ok {
		return m, true
	}
	return BuiltinTerminology().CodeSystemCodes(url)
}

// valueSetSystem returns the codes a value set takes from one system.
func (v *validator) valueSetSystem(url, system string) (map[string]bool, bool) {
	if m, ok := v.opts.Terminology.ValueSetCodes(url); ok {
		if c, ok := m[system]; ok {
			return c, true
		}
	}
	m, ok := BuiltinTerminology().ValueSetCodes(url)
	c, ok2 := m[system]
	return c, ok && ok2
}

// Profiles lists the it4ct profiles Validate knows.
func Profiles() []string {
	return []string{ProfileNationalStudy, ProfileSiteStudy, ProfileSubject}
}

type publishedTerminology struct{}

// PublishedTerminology resolves codes from the embedded conformance
// resources (package conformance), including the R4 core value sets the
// profiles bind.
func PublishedTerminology() Terminology { return publishedTerminology{} }

func (publishedTerminology) CodeSystemCodes(url string) (map[string]bool, bool) {
	return conformance.CodeSystemCodes(url)
}

func (publishedTerminology) ValueSetCodes(url string) (map[string]map[string]bool, bool) {
	return conformance.ValueSetCodes(url)
}
