package mapping

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fr-it4ct/it4ct/canonical"
)

func TestMapErrors(t *testing.T) {
	m := testMapper(t, finessA)
	prov := canonical.Provenance{Source: "chu-a-ctms", File: "inclusions.csv", Line: 12}
	ids := canonical.Identifiers{IDRCB: "2024-A01234-56"}
	for _, c := range []struct {
		name  string
		rec   canonical.Record
		paths []string
	}{
		{"empty record", canonical.Record{}, []string{"Record"}},
		{"two records", canonical.Record{Study: &canonical.Study{}, Site: &canonical.Site{}}, []string{"Record"}},
		{"blank local id", canonical.Record{Inclusion: &canonical.Inclusion{Study: ids, Establishment: finessA, LocalSubjectID: " \t", Status: canonical.InclIncluded, InclusionDate: canonical.NewDate(2024, 1, 2), Prov: prov}},
			[]string{"Inclusion.LocalSubjectID"}},
		{"missing inclusion date", canonical.Record{Inclusion: &canonical.Inclusion{Study: ids, Establishment: finessA, LocalSubjectID: "IPP-998877", Status: canonical.InclWithdrawn, Prov: prov}},
			[]string{"Inclusion.InclusionDate"}},
		{"foreign inclusion", canonical.Record{Inclusion: &canonical.Inclusion{Study: ids, Establishment: finessB, LocalSubjectID: "IPP-998877", Status: canonical.InclIncluded, InclusionDate: canonical.NewDate(2024, 1, 2), Prov: prov}},
			[]string{"Inclusion.Establishment"}},
		{"sponsor key without code", canonical.Record{Study: &canonical.Study{IDs: canonical.Identifiers{NCT: "NCT01234567", SponsorKey: finessA}, Status: canonical.StatusRecruiting}},
			[]string{"Study.IDs.SponsorCode"}},
		{"negative target", canonical.Record{Site: &canonical.Site{Study: ids, Establishment: finessA, Status: canonical.StatusRecruiting, Target: ptr(-1)}},
			[]string{"Site.Target"}},
		{"bad site date", canonical.Record{Site: &canonical.Site{Study: ids, Establishment: finessA, Status: canonical.StatusRecruiting, Opened: canonical.NewDate(2024, 13, 1)}},
			[]string{"Site.Opened"}},
		{"bad role and missing status", canonical.Record{Site: &canonical.Site{Study: ids, Establishment: finessA, Role: "coordinator"}},
			[]string{"Site.Status", "Site.Role"}},
		{"bad sponsor FINESS", canonical.Record{Study: &canonical.Study{IDs: ids, Status: canonical.StatusRecruiting, SponsorFINESS: "12"}},
			[]string{"Study.SponsorFINESS"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := m.Map(c.rec)
			if err == nil {
				t.Fatalf("want error, got %d resources", len(res))
			}
			var me *Error
			if !errors.As(fmt.Errorf("wrapped: %w", err), &me) {
				t.Fatalf("error %T is not *mapping.Error", err)
			}
			if !me.Permanent() {
				t.Error("not permanent")
			}
			var paths []string
			for _, is := range me.Issues {
				paths = append(paths, is.Path)
			}
			if strings.Join(paths, ",") != strings.Join(c.paths, ",") {
				t.Errorf("issue paths %v, want %v", paths, c.paths)
			}
			if me.Prov != c.rec.Prov() {
				t.Errorf("provenance %v, want %v", me.Prov, c.rec.Prov())
			}
			if strings.Contains(err.Error(), "IPP-998877") {
				t.Errorf("error shows the local subject id: %v", err)
			}
			rj := me.Rejects()
			if len(rj) != len(c.paths) || rj[0].Field != c.paths[0] || rj[0].Code == "" || rj[0].Prov != c.rec.Prov() {
				t.Errorf("rejects %+v", rj)
			}
		})
	}
}

func TestNewMapper(t *testing.T) {
	k := testKey(t, "k1", secret32)
	if _, err := NewMapper("12345", k); err == nil {
		t.Error("bad FINESS accepted")
	}
	if _, err := NewMapper(finessA, PseudonymKey{}); err == nil {
		t.Error("zero key accepted")
	}
	if _, err := NewMapper("2B0000012", k); err != nil {
		t.Errorf("Corsican FINESS: %v", err)
	}
}

// Every canonical code maps to an R4 code the validator accepts, and back.
func TestStatusTables(t *testing.T) {
	for c, r4 := range studyStatusToR4 {
		if !contains(researchStudyStatusCodes, r4) || studyStatusFromR4[r4] != c {
			t.Errorf("study status %s -> %s not bijective onto R4", c, r4)
		}
	}
	if len(studyStatusToR4) != 8 || len(studyStatusFromR4) != 8 {
		t.Error("study status table is not a bijection of the 8 canonical statuses")
	}
	for c, r4 := range inclusionStatusToR4 {
		if !contains(researchSubjectStatusCodes, r4) || inclusionStatusFromR4[r4] != c {
			t.Errorf("inclusion status %s -> %s not bijective onto R4", c, r4)
		}
	}
	if len(inclusionStatusFromR4) != 4 {
		t.Error("inclusion status table is not a bijection")
	}
	for c, r4 := range phaseToR4 {
		if !contains(phaseCodes, r4) || phaseFromR4[r4] != c {
			t.Errorf("phase %s -> %s", c, r4)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
