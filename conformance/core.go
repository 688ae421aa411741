package conformance

import "strings"

// coreCodeSystem is a FHIR core code system the profiles bind to.
type coreCodeSystem struct {
	system   string
	valueSet string // the core value set holding every code of the system
	codes    []string
}

// coreCodeSystems returns the FHIR core code systems it4ct binds to or emits.
// R4 lists come from FHIR 4.0.1; the R5 ones (used inside R5 cross-version
// extensions) from FHIR 5.0.0.
func coreCodeSystems() []coreCodeSystem {
	return []coreCodeSystem{
		{
			system:   "http://hl7.org/fhir/research-study-status",
			valueSet: "http://hl7.org/fhir/ValueSet/research-study-status",
			codes: []string{"active", "administratively-completed", "approved", "closed-to-accrual",
				"closed-to-accrual-and-intervention", "completed", "disapproved", "in-review",
				"temporarily-closed-to-accrual", "temporarily-closed-to-accrual-and-intervention", "withdrawn"},
		},
		{
			system:   "http://hl7.org/fhir/research-subject-status",
			valueSet: "http://hl7.org/fhir/ValueSet/research-subject-status",
			codes: []string{"candidate", "eligible", "follow-up", "ineligible", "not-registered", "off-study",
				"on-study", "on-study-intervention", "on-study-observation", "pending-on-study",
				"potential-candidate", "screening", "withdrawn"},
		},
		{
			system:   "http://terminology.hl7.org/CodeSystem/research-study-phase",
			valueSet: "http://hl7.org/fhir/ValueSet/research-study-phase",
			codes: []string{"n-a", "early-phase-1", "phase-1", "phase-1-phase-2", "phase-2",
				"phase-2-phase-3", "phase-3", "phase-4"},
		},
		{
			system:   "http://hl7.org/fhir/research-study-party-role",
			valueSet: "http://hl7.org/fhir/ValueSet/research-study-party-role",
			codes: []string{"sponsor", "lead-sponsor", "sponsor-investigator", "primary-investigator",
				"collaborator", "funding-source", "general-contact", "recruitment-contact",
				"sub-investigator", "study-director", "study-chair", "irb"},
		},
		{
			system:   "http://hl7.org/fhir/research-study-party-org-type",
			valueSet: "http://hl7.org/fhir/ValueSet/research-study-party-org-type",
			codes:    []string{"nih", "fda", "government", "nonprofit", "academic", "industry"},
		},
	}
}

func coreBySystem(system string) (coreCodeSystem, bool) {
	for _, cs := range coreCodeSystems() {
		if cs.system == system {
			return cs, true
		}
	}
	return coreCodeSystem{}, false
}

func coreByValueSet(url string) (coreCodeSystem, bool) {
	for _, cs := range coreCodeSystems() {
		if cs.valueSet == url {
			return cs, true
		}
	}
	return coreCodeSystem{}, false
}

func set(codes []string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// stripVersion removes a "|version" suffix from a canonical reference.
func stripVersion(url string) string {
	u, _, _ := strings.Cut(url, "|")
	return u
}
