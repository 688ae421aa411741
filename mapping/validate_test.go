package mapping

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type issueKey struct {
	Path     string
	Severity Severity
	Code     string
}

func keys(is []Issue) []issueKey {
	var out []issueKey
	for _, i := range is {
		out = append(out, issueKey{i.Path, i.Severity, i.Code})
	}
	return out
}

// sampleVerdicts is the agreement table between our base R4 level
// (ValidateWith, no profile claimed by these third-party resources) and
// FHIR.js (npm "fhir" 4.12.0, errorOnUnexpected), on the third-party
// samples of testdata/samples (shared/samples/fhir and eclaire). base lists
// our exact issues; fhirJSValid is what tools/node/validate-fhir.mjs says
// (checked by TestSamplesAgreeWithFHIRJS); why explains every verdict that
// differs from the other validator's or from the sample's own label.
var sampleVerdicts = []struct {
	file        string
	base        []issueKey
	fhirJSValid bool
	why         string
}{
	{"ResearchStudy-2022-500014-26-00-example.json", []issueKey{
		{"ResearchStudy.identifier[0].system", SeverityWarning, "identifier-no-system"},
		{"ResearchStudy.identifier[1].system", SeverityWarning, "identifier-no-system"},
	}, true, "ECLAIRE IG example, valid: both accept (our warnings: identifiers without system)"},
	{"ResearchStudy-fake-study-example.json", []issueKey{
		{"ResearchStudy.extension[6].extension[0].url", SeverityError, "unknown-extension"},
		{"ResearchStudy.extension[6].extension[3]", SeverityError, "structure"},
		{"ResearchStudy.extension[6].extension[3].value[x]", SeverityError, "structure"},
		{"ResearchStudy.extension[7].extension[0].url", SeverityError, "unknown-extension"},
		{"ResearchStudy.extension[7].extension[3]", SeverityError, "structure"},
		{"ResearchStudy.extension[7].extension[3].value[x]", SeverityError, "structure"},
		{"ResearchStudy.identifier[0].system", SeverityWarning, "identifier-no-system"},
		{"ResearchStudy.identifier[1].system", SeverityWarning, "identifier-no-system"},
	}, true, "ECLAIRE invalid example. DISAGREE: we reject it without the ECLAIRE profile, from the R5 " +
		"definition of the outcomeMeasure cross-version extension (sub-extension 'value' unknown, " +
		"'description' twice, description as valueReference instead of valueMarkdown) = 6 of the 24 errors " +
		"of eclaire/qa.txt; the other 18 need reference resolution (Organization/1, EvidenceVariable/1, " +
		"text.div links...), which neither validator does. FHIR.js does not read extension definitions, " +
		"so it accepts it (warnings only)"},
	{"ResearchStudyFactoryJARDE.snap.json", []issueKey{
		{"ResearchStudy.identifier[0].system", SeverityWarning, "identifier-no-system"},
		{"ResearchStudy.referenceContents", SeverityError, "unknown-element"},
	}, false, "ECLAIRE back-end output: both reject referenceContents, not an R4 element"},
	{"ibm-complete-mock-ResearchSubject-1.json", []issueKey{
		{"ResearchSubject.consent.reference", SeverityError, "bad-reference"},
		{"ResearchSubject.consent.type", SeverityError, "reference-type"},
		{"ResearchSubject.individual.reference", SeverityError, "bad-reference"},
		{"ResearchSubject.individual.type", SeverityError, "reference-type"},
		{"ResearchSubject.study.reference", SeverityError, "bad-reference"},
		{"ResearchSubject.study.type", SeverityError, "reference-type"},
	}, false, "labelled valid by IBM, but both reject it: its references are random tokens " +
		"(\"nzU6CoHn4b\" is not Type/id, \"8fjW7DGmDa\" is not a resource type); FHIR.js says " +
		"\"Invalid type for reference\" on the same three elements"},
	{"ibm-minimal-ResearchStudy-1.json", nil, false, "valid R4. DISAGREE: status is carried only by _status " +
		"with a data-absent-reason extension, which R4 JSON allows for a required primitive; FHIR.js " +
		"ignores _status and reports \"Missing property\" on status. (Our profiles do require a code.)"},
	{"ibm-minimal-ResearchSubject-1.json", nil, false, "valid R4. DISAGREE as for the minimal study " +
		"(_status only); study and individual made of an extension only are valid R4 References and " +
		"FHIR.js accepts them too"},
}

// TestValidateSamples checks our exact base-level issues on the third-party
// samples, and that the project level (Validate) rejects every one of them
// (none is an it4ct resource: no identifier system of ours, ECLAIRE
// extensions, no status code...).
func TestValidateSamples(t *testing.T) {
	for _, c := range sampleVerdicts {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/samples/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.base, keys(ValidateWith(b, ValidateOptions{}))); d != "" {
				t.Errorf("base issues (-want +got):\n%s", d)
			}
			if !HasErrors(Validate(b)) {
				t.Errorf("Validate (it4ct profiles) accepted a third-party resource")
			}
		})
	}
}

// base resources for mutation cases: a valid national study and subject.
const (
	baseStudy = `{"resourceType":"ResearchStudy","id":"st-1","status":"active",
	 "identifier":[{"system":"https://fr-it4ct.github.io/fhir/sid/id-rcb","value":"2024-A01234-56"}],
	 "extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-ResearchStudy.recruitment","extension":[{"url":"targetNumber","valueUnsignedInt":10}]}]}`
	baseSubject = `{"resourceType":"ResearchSubject","id":"sj-1","status":"on-study","period":{"start":"2024-06-03"},
	 "study":{"reference":"ResearchStudy/ss-1"},
	 "individual":{"identifier":{"system":"https://fr-it4ct.github.io/fhir/sid/subject-pseudonym","value":"k1.00"}}}`
)

func mutateJSON(t *testing.T, base string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestValidateTable: base R4 level (the base resources claim no profile).
func TestValidateTable(t *testing.T) {
	e, w, i := SeverityError, SeverityWarning, SeverityInformation
	ident := func(sys, val string) func(m map[string]any) {
		return func(m map[string]any) { m["identifier"] = []any{map[string]any{"system": sys, "value": val}} }
	}
	cases := []struct {
		name string
		base string
		f    func(m map[string]any)
		raw  string // used instead of base+f when set
		want []issueKey
	}{
		{"valid study", baseStudy, func(map[string]any) {}, "", nil},
		{"valid subject", baseSubject, func(map[string]any) {}, "", nil},
		{"not json", "", nil, `{"resourceType":`, []issueKey{{"", e, "invalid-json"}}},
		{"array", "", nil, `[1]`, []issueKey{{"", e, "invalid-json"}}},
		{"trailing", "", nil, baseStudy + `{}`, []issueKey{{"", e, "invalid-json"}}},
		{"patient", "", nil, `{"resourceType":"Patient"}`, []issueKey{{"resourceType", i, "not-checked"}}},
		{"no resourceType", "", nil, `{"status":"active"}`, []issueKey{{"resourceType", e, "unknown-resource-type"}}},
		{"missing status", baseStudy, func(m map[string]any) { delete(m, "status") }, "", []issueKey{{"ResearchStudy.status", e, "required"}}},
		{"unknown status", baseStudy, func(m map[string]any) { m["status"] = "recruiting" }, "", []issueKey{{"ResearchStudy.status", e, "bad-code"}}},
		{"subject status of study", baseSubject, func(m map[string]any) { m["status"] = "active" }, "", []issueKey{{"ResearchSubject.status", e, "bad-code"}}},
		{"status not string", baseStudy, func(m map[string]any) { m["status"] = 3 }, "", []issueKey{{"ResearchStudy.status", e, "bad-code"}}},
		{"R5 element", baseStudy, func(m map[string]any) { m["recruitment"] = map[string]any{} }, "", []issueKey{{"ResearchStudy.recruitment", e, "unknown-element"}}},
		{"primitive sibling ok", baseStudy, func(m map[string]any) { m["_title"] = map[string]any{} }, "", nil},
		{"sibling of complex", baseStudy, func(m map[string]any) { m["_phase"] = map[string]any{} }, "", []issueKey{{"ResearchStudy._phase", e, "unknown-element"}}},
		{"bad id", baseStudy, func(m map[string]any) { m["id"] = "a_b" }, "", []issueKey{{"ResearchStudy.id", e, "bad-id"}}},
		{"long id", baseStudy, func(m map[string]any) { m["id"] = strings.Repeat("a", 65) }, "", []issueKey{{"ResearchStudy.id", e, "bad-id"}}},
		{"no study", baseSubject, func(m map[string]any) { delete(m, "study") }, "", []issueKey{{"ResearchSubject.study", e, "required"}}},
		{"no individual", baseSubject, func(m map[string]any) { delete(m, "individual") }, "", []issueKey{{"ResearchSubject.individual", e, "required"}}},
		{"empty reference", baseSubject, func(m map[string]any) { m["study"] = map[string]any{} }, "", []issueKey{{"ResearchSubject.study", e, "empty-reference"}}},
		{"display-only reference", baseSubject, func(m map[string]any) { m["study"] = map[string]any{"display": "x"} }, "", nil}, // valid R4
		{"type-only reference", baseSubject, func(m map[string]any) { m["study"] = map[string]any{"type": "ResearchStudy"} }, "", []issueKey{{"ResearchSubject.study", e, "empty-reference"}}},
		{"extension-only reference", baseSubject, func(m map[string]any) {
			m["study"] = map[string]any{"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}}}
		}, "", nil},
		{"status as _status only", baseStudy, func(m map[string]any) {
			delete(m, "status")
			m["_status"] = map[string]any{"extension": []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}}}
		}, "", nil},
		{"empty _status", baseStudy, func(m map[string]any) { delete(m, "status"); m["_status"] = map[string]any{} }, "", []issueKey{{"ResearchStudy.status", e, "required"}}},
		{"ext-1 both", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": "http://example.org/x", "valueString": "x", "extension": []any{map[string]any{"url": "a", "valueString": "y"}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0]", e, "invariant"}}},
		{"ext-1 neither", baseStudy, func(m map[string]any) { m["extension"] = []any{map[string]any{"url": "http://example.org/x"}} }, "", []issueKey{{"ResearchStudy.extension[0]", e, "invariant"}}},
		{"relative extension url", baseStudy, func(m map[string]any) { m["extension"] = []any{map[string]any{"url": "x", "valueString": "x"}} }, "", []issueKey{{"ResearchStudy.extension[0].url", e, "bad-value"}}},
		{"sub-extension ext-1", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": ExtRecruitment, "extension": []any{map[string]any{"url": "targetNumber", "valueUnsignedInt": 1, "extension": []any{map[string]any{"url": "x", "valueString": "y"}}}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension[0]", e, "invariant"}}},
		{"R5 sub-extension max", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": R5ExtensionBase + "extension-ResearchStudy.outcomeMeasure", "extension": []any{
				map[string]any{"url": "description", "valueMarkdown": "a"}, map[string]any{"url": "description", "valueMarkdown": "b"}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension[1]", e, "structure"}}},
		{"R5 sub-extension unknown", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": R5ExtensionBase + "extension-ResearchStudy.outcomeMeasure", "extension": []any{map[string]any{"url": "value", "valueString": "a"}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension[0].url", e, "unknown-extension"}}},
		{"R5 sub-extension type", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": R5ExtensionBase + "extension-ResearchStudy.outcomeMeasure", "extension": []any{map[string]any{"url": "description", "valueReference": map[string]any{"reference": "EvidenceVariable/1"}}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension[0].value[x]", e, "structure"}}},
		{"bundle entry", "", nil, `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}},{"resource":` + strings.Replace(baseSubject, `"on-study"`, `"active"`, 1) + `}]}`,
			[]issueKey{{"Bundle.entry[0].resource.resourceType", i, "not-checked"}, {"Bundle.entry[1].resource.status", e, "bad-code"}}},
		{"reference shape", baseSubject, func(m map[string]any) { m["study"] = map[string]any{"reference": "ss-1"} }, "", []issueKey{{"ResearchSubject.study.reference", e, "bad-reference"}}},
		{"reference type", baseSubject, func(m map[string]any) { m["study"] = map[string]any{"reference": "Group/ss-1"} }, "", []issueKey{{"ResearchSubject.study.reference", e, "reference-type"}}},
		{"absolute reference", baseSubject, func(m map[string]any) {
			m["study"] = map[string]any{"reference": "https://fhir.example.org/r4/ResearchStudy/ss-1/_history/2"}
		}, "", nil},
		{"logical ref without value", baseSubject, func(m map[string]any) {
			m["individual"] = map[string]any{"identifier": map[string]any{"system": SystemPseudonym}}
		}, "", []issueKey{{"ResearchSubject.individual.identifier.value", w, "identifier-no-value"}}},
		{"partOf empty", baseStudy, func(m map[string]any) { m["partOf"] = []any{map[string]any{}} }, "", []issueKey{{"ResearchStudy.partOf[0]", e, "empty-reference"}}},
		{"partOf not array", baseStudy, func(m map[string]any) { m["partOf"] = map[string]any{} }, "", []issueKey{{"ResearchStudy.partOf", e, "bad-type"}}},
		{"site by FINESS", baseStudy, func(m map[string]any) {
			m["site"] = []any{map[string]any{"type": "Location", "identifier": map[string]any{"system": SystemFINESS, "value": "350000006"}}}
		}, "", nil},
		{"site bad FINESS", baseStudy, func(m map[string]any) {
			m["site"] = []any{map[string]any{"identifier": map[string]any{"system": SystemFINESS, "value": "35000000"}}}
		}, "", []issueKey{{"ResearchStudy.site[0].identifier.value", e, "bad-format"}}},
		{"FINESS key", baseStudy, func(m map[string]any) {
			m["site"] = []any{map[string]any{"identifier": map[string]any{"system": SystemFINESS, "value": "350000007"}}}
		}, "", []issueKey{{"ResearchStudy.site[0].identifier.value", w, "finess-key"}}},
		{"FINESS Corsica", baseStudy, func(m map[string]any) {
			m["site"] = []any{map[string]any{"identifier": map[string]any{"system": SystemFINESS, "value": "2A0000012"}}}
		}, "", nil},
		{"ID-RCB", baseStudy, ident(SystemIDRCB, "2024-01234-56"), "", []issueKey{{"ResearchStudy.identifier[0].value", e, "bad-format"}}},
		{"EudraCT", baseStudy, ident(SystemEudraCT, "2024-A12345-67"), "", []issueKey{{"ResearchStudy.identifier[0].value", e, "bad-format"}}},
		{"EudraCT ok", baseStudy, ident(SystemEudraCT, "2004-012345-67"), "", nil},
		{"EU CT", baseStudy, ident(SystemEUCT, "2022-500014-26"), "", []issueKey{{"ResearchStudy.identifier[0].value", e, "bad-format"}}},
		{"EU CT ok", baseStudy, ident(SystemEUCT, "2022-500014-26-00"), "", nil},
		{"NCT", baseStudy, ident(SystemNCT, "nct01234567"), "", []issueKey{{"ResearchStudy.identifier[0].value", e, "bad-format"}}},
		{"NCT legacy system", baseStudy, ident(SystemNCTLegacy, "NCT0123456"), "", []issueKey{{"ResearchStudy.identifier[0].value", e, "bad-format"}}},
		{"other system", baseStudy, ident("urn:oid:1.2.3", "anything"), "", nil},
		{"bad period", baseSubject, func(m map[string]any) { m["period"] = map[string]any{"start": "2024-02-30"} }, "", []issueKey{{"ResearchSubject.period.start", e, "bad-date"}}},
		{"french date", baseSubject, func(m map[string]any) { m["period"] = map[string]any{"start": "03/06/2024"} }, "", []issueKey{{"ResearchSubject.period.start", e, "bad-date"}}},
		{"datetime without zone", baseSubject, func(m map[string]any) { m["period"] = map[string]any{"end": "2024-06-03T10:00:00"} }, "", []issueKey{{"ResearchSubject.period.end", e, "bad-date"}}},
		{"partial dates ok", baseSubject, func(m map[string]any) {
			m["period"] = map[string]any{"start": "2024", "end": "2024-06-03T10:00:00+02:00"}
		}, "", nil},
		{"bad lastUpdated", baseSubject, func(m map[string]any) { m["meta"] = map[string]any{"lastUpdated": "2024-06-03"} }, "", []issueKey{{"ResearchSubject.meta.lastUpdated", e, "bad-date"}}},
		{"foreign extension", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": "http://example.org/x", "valueString": "x"}}
		}, "", nil}, // any extension is valid base R4
		{"unknown project extension", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": ProjectExtensionsBase + "nope", "valueString": "x"}}
		}, "", []issueKey{{"ResearchStudy.extension[0].url", e, "unknown-extension"}}},
		{"extension without url", baseStudy, func(m map[string]any) { m["extension"] = []any{map[string]any{"valueString": "x"}} }, "", []issueKey{{"ResearchStudy.extension[0].url", e, "required"}}},
		{"recruitment sub-extension", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": ExtRecruitment, "extension": []any{map[string]any{"url": "target", "valueUnsignedInt": 1}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension[0].url", e, "unknown-extension"}}},
		{"negative target", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": ExtRecruitment, "extension": []any{map[string]any{"url": "targetNumber", "valueUnsignedInt": -1}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension[0].valueUnsignedInt", e, "bad-value"}}},
		{"progress wrong type", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": ExtProgressStatus, "extension": []any{map[string]any{"url": "period", "valueDate": "2024-01-01"}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension", e, "required"}, {"ResearchStudy.extension[0].extension[0].value[x]", e, "structure"}}},
		{"progress bad date", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": ExtProgressStatus, "extension": []any{map[string]any{"url": "period", "valuePeriod": map[string]any{"start": "2024-13-01"}}}}}
		}, "", []issueKey{{"ResearchStudy.extension[0].extension", e, "required"}, {"ResearchStudy.extension[0].extension[0].valuePeriod.start", e, "bad-date"}}},
		{"international wrong type", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": ExtInternational, "valueString": "yes"}}
		}, "", []issueKey{{"ResearchStudy.extension[0].value[x]", e, "structure"}}},
		{"other R5 extension", baseStudy, func(m map[string]any) {
			m["extension"] = []any{map[string]any{"url": R5ExtensionBase + "extension-ResearchStudy.classifier", "valueCodeableConcept": map[string]any{"text": "x"}}}
		}, "", nil},
		{"phase code", baseStudy, func(m map[string]any) {
			m["phase"] = map[string]any{"coding": []any{map[string]any{"system": SystemPhase, "code": "phase-5"}}}
		}, "", []issueKey{{"ResearchStudy.phase.coding[0].code", e, "bad-code"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := []byte(c.raw)
			if c.raw == "" {
				b = mutateJSON(t, c.base, c.f)
			}
			if d := cmp.Diff(c.want, keys(ValidateWith(b, ValidateOptions{}))); d != "" {
				t.Errorf("issues (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidateAcceptsGolden(t *testing.T) {
	for name, b := range goldenOutputs(t) {
		if is := Validate(b); len(is) != 0 {
			t.Errorf("%s: %v", name, is)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []struct {
		name, json, want string
	}{
		{"missing status", `{"resourceType":"ResearchStudy","id":"x"}`, "ResearchStudy.status: status is required"},
		{"subject as study", baseSubject, ""},
		{"unmapped status", strings.Replace(baseStudy, `"active"`, `"disapproved"`, 1), `status "disapproved" has no canonical equivalent`},
		{"no id", `{"resourceType":"ResearchStudy","status":"active","identifier":[{"system":"https://clinicaltrials.gov","value":"NCT01234567"}]}`, "id is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeResearchStudy([]byte(c.json))
			if err == nil {
				t.Fatal("want error")
			}
			if c.want != "" && !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := DecodeResearchSubject([]byte(strings.Replace(baseSubject, `"on-study"`, `"candidate"`, 1))); err == nil || !strings.Contains(err.Error(), "no canonical equivalent") {
		t.Errorf("candidate status: err %v", err)
	}
	if _, err := DecodeResearchSubject([]byte(strings.Replace(baseSubject, SystemPseudonym, "urn:oid:1.2.250.1.213.1.4.8", 1))); err == nil || !strings.Contains(err.Error(), "pseudonym") {
		t.Errorf("non-pseudonym individual: err %v", err)
	}
	if v, err := DecodeResearchSubject([]byte(baseSubject)); err != nil || v.Pseudonym != "k1.00" || v.SiteStudyID != "ss-1" {
		t.Errorf("base subject: %+v, %v", v, err)
	}
}
