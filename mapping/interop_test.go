package mapping

import (
	"bytes"
	"encoding/json"
	"github.com/fr-it4ct/it4ct/internal/fhirjs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fr-it4ct/it4ct/conformance"
)

// repoRoot walks up from the package directory to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// runFHIRJS runs FHIR.js (tools/node/validate-fhir.mjs) on the resources.
func runFHIRJS(t *testing.T, lines [][]byte) ([]fhirjs.Result, int) {
	t.Helper()
	return fhirjs.Validate(t, lines)
}

// TestFHIRJSAcceptsGoldenOutputs checks every golden resource with FHIR.js,
// an independent R4 validator (errorOnUnexpected: R5 elements are errors).
func TestFHIRJSAcceptsGoldenOutputs(t *testing.T) {
	outs := goldenOutputs(t)
	names := make([]string, 0, len(outs))
	for n := range outs {
		names = append(names, n)
	}
	sort.Strings(names)
	var lines [][]byte
	for _, n := range names {
		lines = append(lines, outs[n])
	}
	res, code := runFHIRJS(t, lines)
	for i, r := range res {
		if !r.Valid {
			t.Errorf("%s: FHIR.js says invalid: %s", names[i], r.Messages)
		}
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// TestFHIRJSRejects proves the interop check can fail: FHIR.js must reject
// a resource without status and one with an unknown status code.
func TestFHIRJSRejects(t *testing.T) {
	outs := goldenOutputs(t)
	var study []byte
	for n, b := range outs {
		if strings.Contains(n, "study-full") {
			study = b
		}
	}
	if study == nil {
		t.Fatal("golden study-full output not found")
	}
	mutate := func(f func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(study, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := [][]byte{
		mutate(func(m map[string]any) { delete(m, "status") }),
		mutate(func(m map[string]any) { m["status"] = "recruiting" }),
		mutate(func(m map[string]any) { m["recruitment"] = map[string]any{"targetNumber": 3} }), // R5 element in R4
	}
	res, code := runFHIRJS(t, cases)
	for i, r := range res {
		if r.Valid {
			t.Errorf("case %d: FHIR.js accepted an invalid resource", i)
		}
		// our own validator agrees
		if !HasErrors(Validate(cases[i])) {
			t.Errorf("case %d: Validate accepted an invalid resource", i)
		}
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}

// TestSamplesAgreeWithFHIRJS runs FHIR.js on the third-party samples and
// checks its verdicts against sampleVerdicts (the agreement table, with the
// reason for each disagreement), so a change in either validator shows.
func TestSamplesAgreeWithFHIRJS(t *testing.T) {
	var lines [][]byte
	for _, c := range sampleVerdicts {
		b, err := os.ReadFile("testdata/samples/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		lines = append(lines, buf.Bytes())
	}
	res, _ := runFHIRJS(t, lines)
	for i, c := range sampleVerdicts {
		ours := !HasErrors(ValidateWith(lines[i], ValidateOptions{}))
		if res[i].Valid != c.fhirJSValid {
			t.Errorf("%s: FHIR.js valid=%v, table says %v (%s); messages: %s", c.file, res[i].Valid, c.fhirJSValid, c.why, res[i].Messages)
		}
		if ours != c.fhirJSValid && !strings.Contains(c.why, "DISAGREE") {
			t.Errorf("%s: we say valid=%v, FHIR.js %v, and the table does not document the disagreement", c.file, ours, res[i].Valid)
		}
		if ours == c.fhirJSValid && strings.Contains(c.why, "DISAGREE") {
			t.Errorf("%s: documented as a disagreement but both say valid=%v", c.file, ours)
		}
	}
}

// TestMutatedGoldenRejected mutates every golden resource in the ways a
// broken mapper could, and checks that Validate rejects each one and that
// FHIR.js agrees where it can see the problem (fhirJS false: FHIR.js has no
// rule for it, documented in why).
func TestMutatedGoldenRejected(t *testing.T) {
	mutations := []struct {
		name   string
		f      func(m map[string]any)
		fhirJS bool
		why    string
	}{
		{"drop status", func(m map[string]any) { delete(m, "status") }, true, ""},
		{"bad status code", func(m map[string]any) { m["status"] = "recruiting" }, true, ""},
		{"bad identifier", func(m map[string]any) {
			if m["resourceType"] == "ResearchSubject" {
				m["individual"].(map[string]any)["identifier"].(map[string]any)["system"] = SystemFINESS // pseudonym is not a FINESS
				return
			}
			m["identifier"].([]any)[0] = map[string]any{"system": SystemIDRCB, "value": "2024-XYZ"}
		}, false, "FHIR.js knows no identifier system format"},
		{"empty reference", func(m map[string]any) {
			if m["resourceType"] == "ResearchSubject" {
				m["study"] = map[string]any{}
				return
			}
			m["partOf"] = []any{map[string]any{}}
		}, false, "FHIR.js accepts an empty Reference object"},
		{"bad calendar date", func(m map[string]any) { m["meta"].(map[string]any)["lastUpdated"] = "2024-02-30T10:00:00Z" }, false,
			"FHIR.js checks the instant regex only, not the calendar"},
		{"malformed date", func(m map[string]any) { m["meta"].(map[string]any)["lastUpdated"] = "30/01/2024" }, false,
			"FHIR.js 4.12 does not check the format of meta.lastUpdated (instant)"},
		{"unknown element", func(m map[string]any) { m["recruitment"] = map[string]any{"targetNumber": 3} }, true, ""},
	}
	outs := goldenOutputs(t)
	names := slices.Sorted(maps.Keys(outs))
	var lines [][]byte
	type ref struct{ name, mutation string }
	var refs []ref
	for _, n := range names {
		for _, mu := range mutations {
			var m map[string]any
			if err := json.Unmarshal(outs[n], &m); err != nil {
				t.Fatal(err)
			}
			mu.f(m)
			b, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if !HasErrors(Validate(b)) {
				t.Errorf("%s / %s: Validate accepted it", n, mu.name)
			}
			lines = append(lines, b)
			refs = append(refs, ref{n, mu.name})
		}
	}
	res, _ := runFHIRJS(t, lines)
	for i, r := range res {
		mu := mutations[i%len(mutations)]
		if mu.fhirJS && r.Valid {
			t.Errorf("%s / %s: FHIR.js accepted it", refs[i].name, refs[i].mutation)
		}
		if !mu.fhirJS && !r.Valid {
			t.Errorf("%s / %s: FHIR.js now rejects it (%s): update the table; messages %s", refs[i].name, refs[i].mutation, mu.why, r.Messages)
		}
	}
}

// TestFHIRJSAcceptsConformanceAndOutcomes: the published conformance
// resources and our OperationOutcome are valid R4 for FHIR.js, and our own
// validator raises no error on the conformance resources.
func TestFHIRJSAcceptsConformanceAndOutcomes(t *testing.T) {
	all, err := conformance.All()
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	var names []string
	for _, r := range all {
		var buf bytes.Buffer
		if err := json.Compact(&buf, r.JSON); err != nil {
			t.Fatalf("%s: %v", r.URL, err)
		}
		if is := ValidateWith(buf.Bytes(), ValidateOptions{}); HasErrors(is) {
			t.Errorf("%s: %v", r.URL, is)
		}
		lines = append(lines, buf.Bytes())
		names = append(names, r.URL)
	}
	if len(lines) < 10 {
		t.Fatalf("only %d conformance resources", len(lines))
	}
	b, _ := os.ReadFile("testdata/samples/ResearchStudy-fake-study-example.json")
	lines = append(lines, OperationOutcome(ValidateWith(b, ValidateOptions{})), OperationOutcome(nil))
	names = append(names, "OperationOutcome of the fake study", "empty OperationOutcome")
	res, code := runFHIRJS(t, lines)
	for i, r := range res {
		if !r.Valid {
			t.Errorf("%s: FHIR.js says invalid: %s", names[i], r.Messages)
		}
	}
	if code != 0 {
		t.Errorf("exit code %d", code)
	}
}
