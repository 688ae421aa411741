package conformance_test

import (
	"encoding/json"
	"github.com/fr-it4ct/it4ct/internal/fhirjs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fr-it4ct/it4ct/conformance"
)

func nodeTools(t *testing.T) (node, root string) {
	t.Helper()
	return fhirjs.Tools(t)
}

// fhirJS runs tools/node/validate-fhir.mjs (FHIR.js, errorOnUnexpected) on
// resources, one result per resource.
func fhirJS(t *testing.T, docs [][]byte) []fhirjs.Result {
	t.Helper()
	res, _ := fhirjs.Validate(t, docs)
	return res
}

// TestFHIRJSAcceptsConformanceResources validates every conformance resource
// and the Bundle with FHIR.js, an independent R4 implementation.
func TestFHIRJSAcceptsConformanceResources(t *testing.T) {
	rs := all(t)
	var docs [][]byte
	for _, r := range rs {
		docs = append(docs, r.JSON)
	}
	b, err := conformance.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, b)
	// Negative control: R4 NamingSystem has no url element, so FHIR.js must
	// reject it (this is why the url travels in an R5 extension).
	ns, _ := conformance.Lookup("https://fr-it4ct.github.io/fhir/sid/id-rcb")
	bad, _ := decode(ns.JSON)
	bad["url"] = "https://fr-it4ct.github.io/fhir/NamingSystem/id-rcb"
	badJSON, _ := json.Marshal(bad)
	docs = append(docs, badJSON)

	res := fhirJS(t, docs)
	for i, r := range res[:len(res)-1] {
		if !r.Valid {
			name := "Bundle"
			if i < len(rs) {
				name = rs[i].Type + " " + rs[i].URL
			}
			t.Errorf("%s: FHIR.js says invalid: %+v", name, r.Messages)
		}
	}
	if res[len(res)-1].Valid {
		t.Error("FHIR.js accepted a NamingSystem with an R4-unknown url element: the check is blind")
	}
}

// TestCoreCodesMatchFHIRJS compares the R4 core code lists held as Go data
// with the R4 value sets shipped by FHIR.js.
func TestCoreCodesMatchFHIRJS(t *testing.T) {
	_, root := nodeTools(t)
	b, err := os.ReadFile(filepath.Join(root, "tools", "node", "node_modules", "fhir", "profiles", "valuesets.json"))
	fhirjs.Need(t, "fhir/profiles/valuesets.json", err == nil)
	var vss map[string]struct {
		Systems []struct {
			URI   string `json:"uri"`
			Codes []struct {
				Code string `json:"code"`
			} `json:"codes"`
		} `json:"systems"`
	}
	if err := json.Unmarshal(b, &vss); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{conformance.ValueSetR4StudyStatus, conformance.ValueSetR4SubjectStatus, conformance.ValueSetR4StudyPhase} {
		ours, ok := conformance.ValueSetCodes(url)
		if !ok {
			t.Fatalf("ValueSetCodes(%s): not found", url)
		}
		ref, ok := vss[url]
		if !ok || len(ref.Systems) != 1 {
			t.Fatalf("FHIR.js has no single-system value set %s", url)
		}
		var want []string
		for _, c := range ref.Systems[0].Codes {
			want = append(want, c.Code)
		}
		slices.Sort(want)
		if got := keys(ours[ref.Systems[0].URI]); !slices.Equal(got, want) {
			t.Errorf("%s: ours %v, FHIR.js %v", url, got, want)
		}
	}
}
