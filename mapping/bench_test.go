package mapping

import (
	"fmt"
	"testing"

	"github.com/fr-it4ct/it4ct/canonical"
)

// BenchmarkMapInclusion measures Map (build, marshal, Validate) for the
// commonest record, an inclusion.
func BenchmarkMapInclusion(b *testing.B) {
	m := testMapper(b, finessA)
	ids := canonical.Identifiers{IDRCB: "2024-A01234-56"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		_, err := m.Map(canonical.Record{Inclusion: &canonical.Inclusion{Study: ids, Establishment: finessA,
			LocalSubjectID: fmt.Sprintf("SUBJ-%d", i), InclusionDate: canonical.NewDate(2024, 6, 3), Status: canonical.InclIncluded}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapStudy(b *testing.B) {
	m := testMapper(b, finessA)
	n := 400
	s := &canonical.Study{IDs: canonical.Identifiers{EUCT: "2024-512345-21-00", IDRCB: "2024-A01234-56", NCT: "NCT01234567"},
		Title: "Essai fictif", SponsorName: "CHU fictif", SponsorFINESS: finessA, SponsorType: canonical.SponsorAcademic,
		Category: canonical.CatCTR, Phase: canonical.PhaseIII, TargetGlobal: &n, Status: canonical.StatusRecruiting,
		Milestones: map[canonical.Milestone]canonical.Date{canonical.MsSubmitted: canonical.NewDate(2024, 1, 1), canonical.MsEUAuthorised: canonical.NewDate(2024, 3, 1)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(canonical.Record{Study: s}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeResearchSubject(b *testing.B) {
	m := testMapper(b, finessA)
	res, err := m.Map(canonical.Record{Inclusion: &canonical.Inclusion{Study: canonical.Identifiers{IDRCB: "2024-A01234-56"}, Establishment: finessA,
		LocalSubjectID: "S1", InclusionDate: canonical.NewDate(2024, 6, 3), Status: canonical.InclIncluded}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResearchSubject(res[0].JSON); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateSubject measures Validate alone on the ResearchSubject
// Map emits for an inclusion.
func BenchmarkValidateSubject(b *testing.B) {
	m := testMapper(b, finessA)
	res, err := m.Map(canonical.Record{Inclusion: &canonical.Inclusion{Study: canonical.Identifiers{IDRCB: "2024-A01234-56"}, Establishment: finessA,
		LocalSubjectID: "S1", InclusionDate: canonical.NewDate(2024, 6, 3), Status: canonical.InclIncluded}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if is := Validate(res[0].JSON); len(is) != 0 {
			b.Fatal(is)
		}
	}
}

// BenchmarkMapSite measures Map for a site participation.
func BenchmarkMapSite(b *testing.B) {
	m := testMapper(b, finessA)
	n := 20
	s := &canonical.Site{Study: canonical.Identifiers{IDRCB: "2024-A01234-56"}, Establishment: finessA, Status: canonical.StatusRecruiting,
		Role: canonical.RoleInvestigatingSite, Target: &n, ContractSigned: canonical.NewDate(2024, 2, 1), Opened: canonical.NewDate(2024, 3, 1)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(canonical.Record{Site: s}); err != nil {
			b.Fatal(err)
		}
	}
}
