package conformance_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/conformance"
	"github.com/fr-it4ct/it4ct/mapping"
	"golang.org/x/tools/txtar"
)

// r5Extensions are the only resources whose url is not under CanonicalBase.
var r5Extensions = []string{mapping.ExtRecruitment, mapping.ExtProgressStatus, mapping.ExtAssociatedParty}

func all(t *testing.T) []conformance.Resource {
	t.Helper()
	rs, err := conformance.All()
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	if len(rs) == 0 {
		t.Fatal("All returned no resource")
	}
	return rs
}

func TestCanonicalBaseMatchesMapping(t *testing.T) {
	if conformance.CanonicalBase != mapping.CanonicalBase {
		t.Errorf("conformance.CanonicalBase = %q, mapping.CanonicalBase = %q", conformance.CanonicalBase, mapping.CanonicalBase)
	}
}

// TestResourcesMetadata checks what every published resource must say:
// canonical url under the one base (R5 cross-version extensions aside),
// unique; the one Version; draft; publisher; jurisdiction FR; file name.
func TestResourcesMetadata(t *testing.T) {
	rs := all(t)
	seen := map[string]string{}
	files, err := fs.Glob(conformance.FS(), "resources/*.json")
	if err != nil || len(files) != len(rs) {
		t.Fatalf("FS holds %d resource files (err %v), All returned %d", len(files), err, len(rs))
	}
	for _, r := range rs {
		t.Run(r.Type+"/"+r.Name, func(t *testing.T) {
			if prev, dup := seen[r.URL]; dup {
				t.Errorf("url %s also used by %s", r.URL, prev)
			}
			seen[r.URL] = r.Name
			if !strings.HasPrefix(r.URL, conformance.CanonicalBase+"/"+r.Type+"/") && !slices.Contains(r5Extensions, r.URL) {
				t.Errorf("url %s is not under %s/%s/", r.URL, conformance.CanonicalBase, r.Type)
			}
			if r.Version != conformance.Version {
				t.Errorf("version %q, want %q", r.Version, conformance.Version)
			}
			doc, err := decode(r.JSON)
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if doc["resourceType"] != r.Type {
				t.Errorf("resourceType %v, Type %s", doc["resourceType"], r.Type)
			}
			for k, want := range map[string]any{"status": "draft", "publisher": "FR-IT4CT", "date": nil} {
				if got, ok := doc[k]; !ok || want != nil && got != want {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
			if j, _ := json.Marshal(doc["jurisdiction"]); !bytes.Contains(j, []byte(`"code":"FR"`)) {
				t.Errorf("jurisdiction %s lacks FR", j)
			}
			if r.Type == "StructureDefinition" {
				for k, want := range map[string]any{"fhirVersion": "4.0.1", "derivation": "constraint", "abstract": false} {
					if doc[k] != want {
						t.Errorf("%s = %v, want %v", k, doc[k], want)
					}
				}
			}
			if r.Type == "CodeSystem" {
				if doc["content"] != "complete" {
					t.Errorf("content %v, want complete", doc["content"])
				}
				for _, c := range asList(doc["concept"]) {
					m := c.(map[string]any)
					if m["display"] == nil || m["definition"] == nil {
						t.Errorf("concept %v lacks display or definition", m["code"])
					}
				}
				if n := len(asList(doc["concept"])); doc["count"] != float64(n) {
					t.Errorf("count %v, %d concepts", doc["count"], n)
				}
			}
			got, ok := conformance.Lookup(r.URL + "|" + r.Version)
			if !ok || got.URL != r.URL {
				t.Errorf("Lookup(%s|%s) = %v, %v", r.URL, r.Version, got.URL, ok)
			}
		})
	}
}

// TestMappingURLsArePublished fails when mapping emits a profile, an
// extension, a code system or an identifier system of its own that has no
// conformance resource.
func TestMappingURLsArePublished(t *testing.T) {
	tests := []struct {
		url, typ, sdType string // sdType: StructureDefinition.type
		kind             string // StructureDefinition.kind
	}{
		{mapping.ProfileNationalStudy, "StructureDefinition", "ResearchStudy", "resource"},
		{mapping.ProfileSiteStudy, "StructureDefinition", "ResearchStudy", "resource"},
		{mapping.ProfileSubject, "StructureDefinition", "ResearchSubject", "resource"},
		{mapping.ExtRecruitment, "StructureDefinition", "Extension", "complex-type"},
		{mapping.ExtProgressStatus, "StructureDefinition", "Extension", "complex-type"},
		{mapping.ExtAssociatedParty, "StructureDefinition", "Extension", "complex-type"},
		{mapping.ExtInternational, "StructureDefinition", "Extension", "complex-type"},
		{mapping.ExtTargetFrance, "StructureDefinition", "Extension", "complex-type"},
		{mapping.ExtSiteRole, "StructureDefinition", "Extension", "complex-type"},
		{mapping.CodeSystemCategory, "CodeSystem", "", ""},
		{mapping.CodeSystemMilestone, "CodeSystem", "", ""},
		{mapping.CodeSystemSponsorType, "CodeSystem", "", ""},
		{mapping.CodeSystemSiteRole, "CodeSystem", "", ""},
		{mapping.SystemIDRCB, "NamingSystem", "", ""},
		{mapping.SystemEudraCT, "NamingSystem", "", ""},
		{mapping.SystemSponsorCode, "NamingSystem", "", ""},
		{mapping.SystemSponsorKey, "NamingSystem", "", ""},
		{mapping.SystemPseudonym, "NamingSystem", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			r, ok := conformance.Lookup(tt.url)
			if !ok {
				t.Fatalf("mapping emits %s but no conformance resource has that url", tt.url)
			}
			if r.Type != tt.typ {
				t.Fatalf("%s is a %s, want %s", tt.url, r.Type, tt.typ)
			}
			doc, err := decode(r.JSON)
			if err != nil {
				t.Fatal(err)
			}
			switch tt.typ {
			case "StructureDefinition":
				if doc["type"] != tt.sdType || doc["kind"] != tt.kind {
					t.Errorf("type %v kind %v, want %s %s", doc["type"], doc["kind"], tt.sdType, tt.kind)
				}
				if tt.sdType == "Extension" {
					ctx, _ := json.Marshal(doc["context"])
					if !bytes.Contains(ctx, []byte(`"expression":"ResearchStudy"`)) {
						t.Errorf("context %s, want ResearchStudy", ctx)
					}
				}
			case "NamingSystem":
				var ids []string
				for _, u := range asList(doc["uniqueId"]) {
					m := u.(map[string]any)
					if m["type"] == "uri" {
						ids = append(ids, m["value"].(string))
					}
				}
				if !slices.Equal(ids, []string{tt.url}) {
					t.Errorf("uniqueId uri %v, want [%s]", ids, tt.url)
				}
				if doc["kind"] != "identifier" {
					t.Errorf("kind %v, want identifier", doc["kind"])
				}
			}
		})
	}
	// Conversely: every NamingSystem defines one of mapping's systems.
	for _, r := range all(t) {
		if r.Type != "NamingSystem" {
			continue
		}
		doc, _ := decode(r.JSON)
		sys := asList(doc["uniqueId"])[0].(map[string]any)["value"].(string)
		if !slices.Contains([]string{mapping.SystemIDRCB, mapping.SystemEudraCT, mapping.SystemSponsorCode, mapping.SystemSponsorKey, mapping.SystemPseudonym}, sys) {
			t.Errorf("NamingSystem %s defines %s, which mapping does not use", r.Name, sys)
		}
	}
}

func keys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// TestCanonicalCodesArePublished: the code systems hold exactly the
// canonical codes that mapping emits, no more, no less.
func TestCanonicalCodesArePublished(t *testing.T) {
	strs := func(xs ...string) []string { slices.Sort(xs); return xs }
	var studyMs []string
	for _, m := range canonical.Milestones {
		studyMs = append(studyMs, string(m))
	}
	siteMs := []string{mapping.SiteMsContractSent, mapping.SiteMsContractSigned, mapping.SiteMsOpened, mapping.SiteMsFirstInclusion, mapping.SiteMsClosed}
	tests := []struct {
		system string
		want   []string
	}{
		{mapping.CodeSystemCategory, strs(string(canonical.CatRIPH1), string(canonical.CatRIPH2), string(canonical.CatRIPH3), string(canonical.CatCTR))},
		{mapping.CodeSystemSponsorType, strs(string(canonical.SponsorAcademic), string(canonical.SponsorIndustry))},
		{mapping.CodeSystemSiteRole, strs(string(canonical.RoleSponsorSite), string(canonical.RoleInvestigatingSite))},
		{mapping.CodeSystemMilestone, strs(append(slices.Clone(studyMs), siteMs...)...)},
	}
	for _, tt := range tests {
		codes, ok := conformance.CodeSystemCodes(tt.system)
		if !ok {
			t.Errorf("CodeSystemCodes(%s): not found", tt.system)
			continue
		}
		if got := keys(codes); !slices.Equal(got, tt.want) {
			t.Errorf("%s codes %v, want %v", tt.system, got, tt.want)
		}
	}
	for _, tt := range []struct {
		vs   string
		want []string
	}{
		{conformance.ValueSetStudyMilestone, strs(studyMs...)},
		{conformance.ValueSetSiteMilestone, strs(siteMs...)},
	} {
		vs, ok := conformance.ValueSetCodes(tt.vs)
		if !ok || len(vs) != 1 {
			t.Errorf("ValueSetCodes(%s) = %v, %v", tt.vs, vs, ok)
			continue
		}
		if got := keys(vs[mapping.CodeSystemMilestone]); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.vs, got, tt.want)
		}
	}
}

// emitted returns every resource mapping emits for a set of records that
// covers every canonical code, plus the golden outputs of mapping/testdata.
func emitted(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	key, err := mapping.NewPseudonymKey("k1", bytes.Repeat([]byte("conformance-test-key-"), 2))
	if err != nil {
		t.Fatal(err)
	}
	const finess = "350000006"
	m, err := mapping.NewMapper(finess, key)
	if err != nil {
		t.Fatal(err)
	}
	n := func(i int) *int { return &i }
	yes := true
	d := canonical.NewDate(2024, 3, 1)
	ids := canonical.Identifiers{EUCT: "2024-512345-21-00", IDRCB: "2024-A01234-56", EudraCT: "2023-012345-67", NCT: "NCT01234567", SponsorCode: "X-1", SponsorKey: finess}
	var recs []canonical.Record
	studyStatuses := []canonical.StudyStatus{canonical.StatusInPreparation, canonical.StatusApproved, canonical.StatusRecruiting, canonical.StatusSuspended,
		canonical.StatusClosedToAccrual, canonical.StatusCompleted, canonical.StatusTerminated, canonical.StatusWithdrawn}
	phases := []canonical.Phase{canonical.PhaseI, canonical.PhaseI_II, canonical.PhaseII, canonical.PhaseII_III, canonical.PhaseIII, canonical.PhaseIV, canonical.PhaseNA}
	cats := []canonical.Category{canonical.CatRIPH1, canonical.CatRIPH2, canonical.CatRIPH3, canonical.CatCTR}
	sponsors := []canonical.SponsorType{canonical.SponsorAcademic, canonical.SponsorIndustry}
	ms := map[canonical.Milestone]canonical.Date{}
	for _, x := range canonical.Milestones {
		ms[x] = d
	}
	for i, st := range studyStatuses {
		s := &canonical.Study{IDs: ids, Title: "Etude fictive", SponsorName: "Promoteur fictif", SponsorType: sponsors[i%2],
			Category: cats[i%len(cats)], Phase: phases[i%len(phases)], TargetFrance: n(10), TargetGlobal: n(20), ActualGlobal: n(3),
			Status: st, Milestones: ms}
		if i%2 == 0 {
			s.SponsorFINESS, s.International = finess, &yes
		}
		recs = append(recs, canonical.Record{Study: s})
		role := canonical.RoleSponsorSite
		if i%2 == 1 {
			role = canonical.RoleInvestigatingSite
		}
		recs = append(recs, canonical.Record{Site: &canonical.Site{Study: ids, Establishment: finess, Role: role, Target: n(5),
			ContractSent: d, ContractSigned: d, Opened: d, FirstInclusion: d, Closed: d, Status: st}})
	}
	for _, p := range phases[:3] { // the remaining phases are covered above
		recs = append(recs, canonical.Record{Study: &canonical.Study{IDs: canonical.Identifiers{NCT: "NCT01234567"}, Phase: p, Status: canonical.StatusApproved}})
	}
	for _, st := range []canonical.InclusionStatus{canonical.InclIncluded, canonical.InclWithdrawn, canonical.InclCompleted, canonical.InclScreenFailed} {
		recs = append(recs, canonical.Record{Inclusion: &canonical.Inclusion{Study: ids, Establishment: finess, LocalSubjectID: "SUB-" + string(st), InclusionDate: d, Status: st}})
	}
	for i, rec := range recs {
		res, err := m.Map(rec)
		if err != nil {
			t.Fatalf("record %d: Map: %v", i, err)
		}
		for _, r := range res {
			out["mapped/"+r.Type+"/"+r.ID] = r.JSON
		}
	}
	files, err := filepath.Glob(filepath.Join("..", "mapping", "testdata", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in mapping/testdata (err %v)", err)
	}
	for _, f := range files {
		arc, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range arc.Files {
			if s.Name == "input.json" || s.Name == "error" {
				continue
			}
			out["golden/"+filepath.Base(f)+"/"+s.Name] = s.Data
		}
	}
	return out
}

// TestEmittedResourcesConformToProfiles runs every emitted resource through
// the profile it claims: cardinalities, fixed values, bindings (every code
// mapping emits must be in the bound value set), extension definitions,
// identifier systems.
func TestEmittedResourcesConformToProfiles(t *testing.T) {
	external := []string{mapping.SystemEUCT, mapping.SystemNCT, mapping.SystemFINESS}
	for name, b := range emitted(t) {
		t.Run(name, func(t *testing.T) {
			doc, err := decode(b)
			if err != nil {
				t.Fatal(err)
			}
			profiles := asList(doc["meta"].(map[string]any)["profile"])
			if len(profiles) != 1 {
				t.Fatalf("meta.profile %v, want one", profiles)
			}
			for _, p := range conformsTo(doc, profiles[0].(string)) {
				t.Error(p)
			}
			walkIdentifiers(doc, func(sys string) {
				if strings.HasPrefix(sys, conformance.CanonicalBase) {
					if r, ok := conformance.Lookup(sys); !ok || r.Type != "NamingSystem" {
						t.Errorf("identifier system %s has no NamingSystem", sys)
					}
				} else if !slices.Contains(external, sys) {
					t.Errorf("identifier system %s is neither ours nor a documented external one", sys)
				}
			})
			walkCodings(doc, func(sys, code string) {
				if codes, ok := conformance.CodeSystemCodes(sys); ok {
					if !codes[code] {
						t.Errorf("code %s#%s is not in the published code system", sys, code)
					}
					return
				}
				if sys != mapping.SystemECLAIRERegulation {
					t.Errorf("coding system %s is unknown to conformance", sys)
				}
			})
		})
	}
}

// TestCheckerCatches shows that the profile checks above can fail.
func TestCheckerCatches(t *testing.T) {
	golden := emitted(t)
	pick := func(prefix string) map[string]any {
		for _, k := range slices.Sorted(maps.Keys(golden)) {
			if strings.HasPrefix(k, prefix) {
				doc, err := decode(golden[k])
				if err != nil {
					t.Fatal(err)
				}
				return doc
			}
		}
		t.Fatalf("no emitted resource %s*", prefix)
		return nil
	}
	tests := []struct {
		name    string
		prefix  string
		profile string
		mutate  func(map[string]any)
		want    string
	}{
		{"no status", "golden/study-full", mapping.ProfileNationalStudy, func(d map[string]any) { delete(d, "status") }, "ResearchStudy.status: 0 values, min 1"},
		{"R5 status", "golden/study-full", mapping.ProfileNationalStudy, func(d map[string]any) { d["status"] = "recruiting" }, `code "recruiting" is not in`},
		{"partOf on national", "golden/study-full", mapping.ProfileNationalStudy, func(d map[string]any) {
			d["partOf"] = []any{map[string]any{"reference": "ResearchStudy/x"}}
		}, "ResearchStudy.partOf: 1 values, max 0"},
		{"unknown milestone", "golden/study-full", mapping.ProfileNationalStudy, func(d map[string]any) {
			ext := asList(d["extension"])
			ps := ext[len(ext)-1].(map[string]any)
			st := asList(ps["extension"])[0].(map[string]any)
			st["valueCodeableConcept"] = map[string]any{"coding": []any{map[string]any{"system": mapping.CodeSystemMilestone, "code": "site-opened"}}}
		}, "site-opened is not in " + conformance.ValueSetStudyMilestone},
		{"undeclared extension", "golden/study-full", mapping.ProfileNationalStudy, func(d map[string]any) {
			d["extension"] = append(asList(d["extension"]), map[string]any{"url": mapping.ExtSiteRole, "valueCodeableConcept": map[string]any{}})
		}, "is not a slice of"},
		{"bad sub-extension", "golden/study-full", mapping.ProfileNationalStudy, func(d map[string]any) {
			for _, e := range asList(d["extension"]) {
				if m := e.(map[string]any); m["url"] == mapping.ExtRecruitment {
					m["extension"] = append(asList(m["extension"]), map[string]any{"url": "expected", "valueUnsignedInt": 1.0})
				}
			}
		}, `sub-extension "expected" is not defined`},
		{"site without partOf", "golden/site-full", mapping.ProfileSiteStudy, func(d map[string]any) { delete(d, "partOf") }, "ResearchStudy.partOf: 0 values, min 1"},
		{"site by reference", "golden/site-full", mapping.ProfileSiteStudy, func(d map[string]any) {
			asList(d["site"])[0].(map[string]any)["reference"] = "Location/1"
		}, "ResearchStudy.site.reference: 1 values, max 0"},
		{"patient reference", "golden/inclusion.txtar", mapping.ProfileSubject, func(d map[string]any) {
			d["individual"].(map[string]any)["reference"] = "Patient/1"
		}, "ResearchSubject.individual.reference: 1 values, max 0"},
		{"foreign identifier system", "golden/inclusion.txtar", mapping.ProfileSubject, func(d map[string]any) {
			d["individual"].(map[string]any)["identifier"].(map[string]any)["system"] = "urn:oid:1.2.250.1.213.1.4.8"
		}, "fixed " + mapping.SystemPseudonym},
		{"subject identifier", "golden/inclusion.txtar", mapping.ProfileSubject, func(d map[string]any) {
			d["identifier"] = []any{map[string]any{"value": "SUB-1"}}
		}, "ResearchSubject.identifier: 1 values, max 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := pick(tt.prefix)
			if p := conformsTo(doc, tt.profile); len(p) != 0 {
				t.Fatalf("unmutated resource already fails: %v", p)
			}
			tt.mutate(doc)
			problems := conformsTo(doc, tt.profile)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

func walkCodings(x any, f func(system, code string)) {
	switch v := x.(type) {
	case map[string]any:
		if c, ok := v["coding"]; ok {
			for _, co := range asList(c) {
				m := co.(map[string]any)
				s, _ := m["system"].(string)
				code, _ := m["code"].(string)
				f(s, code)
			}
		}
		for _, e := range v {
			walkCodings(e, f)
		}
	case []any:
		for _, e := range v {
			walkCodings(e, f)
		}
	}
}

func walkIdentifiers(x any, f func(system string)) {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "identifier" {
				for _, id := range asList(e) {
					s, _ := id.(map[string]any)["system"].(string)
					f(s)
				}
			}
			walkIdentifiers(e, f)
		}
	case []any:
		for _, e := range v {
			walkIdentifiers(e, f)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		url, wantType, wantName string
		ok                      bool
	}{
		{mapping.ProfileSubject, "StructureDefinition", "IT4CTResearchSubject", true},
		{mapping.ProfileSubject + "|" + conformance.Version, "StructureDefinition", "IT4CTResearchSubject", true},
		{mapping.SystemPseudonym, "NamingSystem", "IT4CTSubjectPseudonym", true},
		{conformance.CanonicalBase + "/NamingSystem/subject-pseudonym", "NamingSystem", "IT4CTSubjectPseudonym", true},
		{conformance.ValueSetStudyCategory, "ValueSet", "IT4CTStudyCategoryVS", true},
		{conformance.CanonicalBase + "/StructureDefinition/nope", "", "", false},
		{"http://hl7.org/fhir/StructureDefinition/ResearchStudy", "", "", false},
	}
	for _, tt := range tests {
		r, ok := conformance.Lookup(tt.url)
		if ok != tt.ok || r.Type != tt.wantType || r.Name != tt.wantName {
			t.Errorf("Lookup(%s) = %s %s %v, want %s %s %v", tt.url, r.Type, r.Name, ok, tt.wantType, tt.wantName, tt.ok)
		}
	}
}

func TestValueSetCodes(t *testing.T) {
	tests := []struct {
		url  string
		want map[string][]string
	}{
		{conformance.ValueSetStudyCategory, map[string][]string{
			mapping.CodeSystemCategory:      {"CTR", "RIPH1", "RIPH2", "RIPH3"},
			mapping.SystemECLAIRERegulation: {"JARDE", "REG536"},
		}},
		{conformance.ValueSetSponsorType, map[string][]string{
			mapping.CodeSystemSponsorType: {"academic", "industry"},
			mapping.SystemR5PartyOrgType:  {"academic", "industry"},
		}},
		{conformance.ValueSetSiteRole, map[string][]string{mapping.CodeSystemSiteRole: {"investigating-site", "sponsor-site"}}},
		{conformance.ValueSetR4SubjectStatus + "|4.0.1", map[string][]string{"http://hl7.org/fhir/research-subject-status": {
			"candidate", "eligible", "follow-up", "ineligible", "not-registered", "off-study", "on-study", "on-study-intervention",
			"on-study-observation", "pending-on-study", "potential-candidate", "screening", "withdrawn"}}},
		{conformance.ValueSetR4StudyPhase, map[string][]string{mapping.SystemPhase: {
			"early-phase-1", "n-a", "phase-1", "phase-1-phase-2", "phase-2", "phase-2-phase-3", "phase-3", "phase-4"}}},
	}
	for _, tt := range tests {
		got, ok := conformance.ValueSetCodes(tt.url)
		if !ok {
			t.Errorf("ValueSetCodes(%s): not found", tt.url)
			continue
		}
		flat := map[string][]string{}
		for s, c := range got {
			flat[s] = keys(c)
		}
		if !maps.EqualFunc(flat, tt.want, slices.Equal) {
			t.Errorf("ValueSetCodes(%s) = %v, want %v", tt.url, flat, tt.want)
		}
	}
	if _, ok := conformance.ValueSetCodes(conformance.CanonicalBase + "/ValueSet/nope"); ok {
		t.Error("unknown value set found")
	}
	// The maps are the caller's.
	a, _ := conformance.ValueSetCodes(conformance.ValueSetSiteRole)
	delete(a[mapping.CodeSystemSiteRole], "sponsor-site")
	b, _ := conformance.ValueSetCodes(conformance.ValueSetSiteRole)
	if !b[mapping.CodeSystemSiteRole]["sponsor-site"] {
		t.Error("mutating a returned map changed the next result")
	}
	c, _ := conformance.CodeSystemCodes(mapping.CodeSystemSiteRole)
	delete(c, "sponsor-site")
	if d, _ := conformance.CodeSystemCodes(mapping.CodeSystemSiteRole); !d["sponsor-site"] {
		t.Error("mutating a returned code map changed the next result")
	}
	if _, ok := conformance.CodeSystemCodes(mapping.SystemECLAIRERegulation); ok {
		t.Error("CodeSystemCodes claims to know the full ECLAIRE regulation code system")
	}
}

func TestBundle(t *testing.T) {
	b, err := conformance.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		ResourceType, Type string
		Entry              []struct {
			FullURL  string
			Resource map[string]any
		}
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	rs := all(t)
	if bundle.ResourceType != "Bundle" || bundle.Type != "collection" || len(bundle.Entry) != len(rs) {
		t.Fatalf("Bundle: %s %s with %d entries, want collection of %d", bundle.ResourceType, bundle.Type, len(bundle.Entry), len(rs))
	}
	for i, e := range bundle.Entry {
		if e.FullURL != rs[i].URL || e.Resource["resourceType"] != rs[i].Type {
			t.Errorf("entry %d: %s %v, want %s %s", i, e.FullURL, e.Resource["resourceType"], rs[i].URL, rs[i].Type)
		}
	}
}

// TestDocsListEveryResource keeps docs/fhir.md in step with the resources.
func TestDocsListEveryResource(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "fhir.md"))
	if err != nil {
		t.Fatalf("docs/fhir.md: %v", err)
	}
	for _, r := range all(t) {
		if !bytes.Contains(doc, []byte(r.URL)) {
			t.Errorf("docs/fhir.md does not mention %s %s", r.Type, r.URL)
		}
		if r.Type == "CodeSystem" {
			codes, _ := conformance.CodeSystemCodes(r.URL)
			for c := range codes {
				if !bytes.Contains(doc, []byte("`"+c+"`")) {
					t.Errorf("docs/fhir.md does not list code `%s` of %s", c, r.URL)
				}
			}
		}
	}
	if !bytes.Contains(doc, []byte(conformance.Version)) {
		t.Errorf("docs/fhir.md does not state version %s", conformance.Version)
	}
}
