package mapping

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fr-it4ct/it4ct/conformance"
)

// golden returns one golden output whose name contains part.
func golden(t *testing.T, part string) string {
	t.Helper()
	outs := goldenOutputs(t)
	for _, n := range slices.Sorted(maps.Keys(outs)) {
		if strings.Contains(n, part) {
			return string(outs[n])
		}
	}
	t.Fatalf("no golden output matching %q", part)
	return ""
}

// TestValidateProfileTable mutates golden outputs (which claim their
// profile) and checks the exact issues of the profile level.
func TestValidateProfileTable(t *testing.T) {
	e := SeverityError
	national, site, subject := golden(t, "study-full/"), golden(t, "site-full/"), golden(t, "inclusion/")
	dar := []any{map[string]any{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}}
	ext := func(m map[string]any, i int) map[string]any { return m["extension"].([]any)[i].(map[string]any) }
	cases := []struct {
		name string
		base string
		f    func(m map[string]any)
		want []issueKey
	}{
		{"national ok", national, func(map[string]any) {}, nil},
		{"site ok", site, func(map[string]any) {}, nil},
		{"subject ok", subject, func(map[string]any) {}, nil},
		{"_status only", national, func(m map[string]any) { delete(m, "status"); m["_status"] = map[string]any{"extension": dar} },
			[]issueKey{{"ResearchStudy._status.extension", e, "unknown-extension"}, {"ResearchStudy.status", e, "required"}}},
		{"no id", subject, func(m map[string]any) { delete(m, "id") }, []issueKey{{"ResearchSubject.id", e, "required"}}},
		{"no identifier", national, func(m map[string]any) { delete(m, "identifier") }, []issueKey{{"ResearchStudy.identifier", e, "required"}}},
		{"foreign identifier system", national, func(m map[string]any) {
			m["identifier"].([]any)[0].(map[string]any)["system"] = "urn:oid:1.2.3"
		}, []issueKey{{"ResearchStudy.identifier[0].system", e, "unknown-code-system"}}},
		{"sponsor code without assigner", national, func(m map[string]any) {
			delete(m["identifier"].([]any)[4].(map[string]any), "assigner")
		}, []issueKey{{"ResearchStudy.identifier[4].assigner", e, "required"}}},
		{"bad category", national, func(m map[string]any) {
			m["category"].([]any)[0].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "RIPH4"
		}, []issueKey{{"ResearchStudy.category[0].coding[0].code", e, "unknown-code"}}},
		{"bad milestone", national, func(m map[string]any) {
			ext(m, 4)["extension"].([]any)[0].(map[string]any)["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "launched"
		}, []issueKey{{"ResearchStudy.extension[4].extension[0].valueCodeableConcept.coding[0].code", e, "unknown-code"}}},
		{"milestone without date", national, func(m map[string]any) {
			ext(m, 4)["extension"].([]any)[2] = map[string]any{"url": "period", "valuePeriod": map[string]any{"end": "2024-01-01"}}
		}, []issueKey{{"ResearchStudy.extension[4].extension[2].valuePeriod.start", e, "required"}}},
		{"bad sponsor type", national, func(m map[string]any) {
			ext(m, 0)["extension"].([]any)[2].(map[string]any)["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "charity"
		}, []issueKey{{"ResearchStudy.extension[0].extension[2].valueCodeableConcept.coding[0].code", e, "unknown-code"}}},
		{"foreign extension", national, func(m map[string]any) {
			m["extension"] = append(m["extension"].([]any), map[string]any{"url": "http://example.org/x", "valueString": "x"})
		}, []issueKey{{"ResearchStudy.extension[7].url", e, "unknown-extension"}}},
		{"two international", national, func(m map[string]any) {
			m["extension"] = append(m["extension"].([]any), ext(m, 1))
		}, []issueKey{{"ResearchStudy.extension[7]", e, "cardinality"}}},
		{"national with partOf", national, func(m map[string]any) { m["partOf"] = []any{map[string]any{"reference": "ResearchStudy/st-1"}} },
			[]issueKey{{"ResearchStudy.partOf", e, "cardinality"}}},
		{"site-role on national", national, func(m map[string]any) {
			m["extension"] = append(m["extension"].([]any), map[string]any{"url": ExtSiteRole, "valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": CodeSystemSiteRole, "code": "sponsor-site"}}}})
		}, []issueKey{{"ResearchStudy.extension[7].url", e, "unknown-extension"}}},
		{"site without partOf", site, func(m map[string]any) { delete(m, "partOf") }, []issueKey{{"ResearchStudy.partOf", e, "cardinality"}}},
		{"partOf by identifier", site, func(m map[string]any) {
			m["partOf"] = []any{map[string]any{"identifier": map[string]any{"system": SystemIDRCB, "value": "2024-A01234-56"}}}
		}, []issueKey{{"ResearchStudy.partOf[0].identifier", e, "reference-shape"}, {"ResearchStudy.partOf[0].reference", e, "reference-shape"}}},
		{"site by reference", site, func(m map[string]any) { m["site"] = []any{map[string]any{"reference": "Location/l1"}} },
			[]issueKey{{"ResearchStudy.site[0].identifier", e, "required"}, {"ResearchStudy.site[0].reference", e, "reference-shape"}}},
		{"site not FINESS", site, func(m map[string]any) {
			m["site"] = []any{map[string]any{"identifier": map[string]any{"system": "urn:oid:1.2.3", "value": "x"}}}
		}, []issueKey{{"ResearchStudy.site[0].identifier.system", e, "reference-shape"}}},
		{"bad site role", site, func(m map[string]any) {
			ext(m, 0)["valueCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "hub"
		}, []issueKey{{"ResearchStudy.extension[0].valueCodeableConcept.coding[0].code", e, "unknown-code"}}},
		{"subject with identifier", subject, func(m map[string]any) {
			m["identifier"] = []any{map[string]any{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "x"}}
		}, []issueKey{{"ResearchSubject.identifier", e, "privacy"}}},
		{"individual by reference", subject, func(m map[string]any) { m["individual"] = map[string]any{"reference": "Patient/p1"} },
			[]issueKey{{"ResearchSubject.individual.identifier", e, "required"}, {"ResearchSubject.individual.reference", e, "reference-shape"}}},
		{"individual with display", subject, func(m map[string]any) { m["individual"].(map[string]any)["display"] = "x" },
			[]issueKey{{"ResearchSubject.individual.display", e, "privacy"}}},
		{"individual not pseudonym", subject, func(m map[string]any) {
			m["individual"].(map[string]any)["identifier"].(map[string]any)["system"] = "urn:oid:1.2.250.1.213.1.4.8"
		}, []issueKey{{"ResearchSubject.individual.identifier.system", e, "reference-shape"}}},
		{"study absolute", subject, func(m map[string]any) {
			m["study"] = map[string]any{"reference": "https://x.example/fhir/ResearchStudy/ss-1"}
		}, []issueKey{{"ResearchSubject.study.reference", e, "reference-shape"}}},
		{"no inclusion date", subject, func(m map[string]any) { delete(m, "period") }, []issueKey{{"ResearchSubject.period.start", e, "required"}}},
		{"screen failure without date", subject, func(m map[string]any) { delete(m, "period"); m["status"] = "ineligible" }, nil},
		{"profile of another type", subject, func(m map[string]any) { m["meta"] = map[string]any{"profile": []any{ProfileSiteStudy}} },
			[]issueKey{{"ResearchSubject.resourceType", e, "profile-mismatch"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mutateJSON(t, c.base, c.f)
			if d := cmp.Diff(c.want, keys(ValidateWith(b, ValidateOptions{}))); d != "" {
				t.Errorf("issues (-want +got):\n%s", d)
			}
		})
	}
}

// The profile applies when claimed, when forced, or under Validate
// (inferred); not otherwise.
func TestValidateProfileSelection(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal([]byte(golden(t, "inclusion/")), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "meta")
	m["individual"] = map[string]any{"reference": "Patient/p1"}
	b, _ := json.Marshal(m)
	if is := ValidateWith(b, ValidateOptions{}); HasErrors(is) {
		t.Errorf("base level: %v", is)
	}
	for name, is := range map[string][]Issue{
		"forced":   ValidateWith(b, ValidateOptions{Profile: ProfileSubject}),
		"Validate": Validate(b),
	} {
		if d := cmp.Diff([]issueKey{{"ResearchSubject.individual.identifier", SeverityError, "required"}, {"ResearchSubject.individual.reference", SeverityError, "reference-shape"}}, keys(is)); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
}

// The built-in code lists (what Map emits) and the published conformance
// resources define the same codes.
func TestBuiltinTerminologyMatchesPublished(t *testing.T) {
	bt := BuiltinTerminology().(builtinTerminology)
	for url, want := range bt.cs {
		got, ok := conformance.CodeSystemCodes(url)
		if !ok {
			t.Errorf("code system %s is not published", url)
			continue
		}
		if url == SystemR5PartyRole { // the R5 system has more roles; we emit lead-sponsor only
			for c := range want {
				if !got[c] {
					t.Errorf("%s: %s not published", url, c)
				}
			}
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("code system %s (-builtin +published):\n%s", url, d)
		}
	}
	for url, want := range bt.vs {
		got, ok := conformance.ValueSetCodes(url)
		if !ok {
			t.Errorf("value set %s is not known to conformance", url)
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("value set %s (-builtin +published):\n%s", url, d)
		}
	}
}

func TestOperationOutcome(t *testing.T) {
	got := OperationOutcome([]Issue{
		{Path: "Bundle.entry[2].resource.status", Severity: SeverityError, Code: "required", Message: "status is required", Fix: "set status"},
		{Path: "ResearchStudy.extension[3].extension[0].value[x]", Severity: SeverityWarning, Code: "structure", Message: "m"},
		{Severity: SeverityError, Code: "invalid-json", Message: "not valid JSON"},
	})
	want := `{"resourceType":"OperationOutcome","issue":[` +
		`{"severity":"error","code":"required","details":{"text":"set status"},"diagnostics":"status is required [required]","expression":["Bundle.entry[2].resource.status"]},` +
		`{"severity":"warning","code":"structure","diagnostics":"m [structure]","expression":["ResearchStudy.extension[3].extension[0].value[x]"]},` +
		`{"severity":"error","code":"structure","diagnostics":"not valid JSON [invalid-json]"}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := string(OperationOutcome(nil)); got != `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"no issues"}]}` {
		t.Errorf("empty: %s", got)
	}
	for code := range issueTypes {
		if !slices.Contains([]string{"required", "code-invalid", "value", "structure", "invariant", "extension", "not-supported", "security", "informational"}, IssueType(code)) {
			t.Errorf("%s maps to %s", code, IssueType(code))
		}
	}
}
