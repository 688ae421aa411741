package mapping

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreProv = cmp.Options{
	cmpopts.IgnoreFields(canonical.Study{}, "Prov"),
	cmpopts.IgnoreFields(canonical.Site{}, "Prov"),
	cmpopts.EquateEmpty(),
}

// checkRoundTrip maps rec, decodes the result and compares every canonical field.
func checkRoundTrip(t *testing.T, m *Mapper, rec canonical.Record) {
	t.Helper()
	res, err := m.Map(rec)
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if len(res) != 1 {
		t.Fatalf("Map returned %d resources, want 1", len(res))
	}
	r := res[0]
	switch {
	case rec.Study != nil:
		v, err := DecodeResearchStudy(r.JSON)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if v.ID != r.ID || v.Level != LevelNational || v.PartOf != "" {
			t.Errorf("view id/level/partOf = %q/%q/%q, want %q/national/\"\"", v.ID, v.Level, v.PartOf, r.ID)
		}
		if d := cmp.Diff(*rec.Study, v.Study, ignoreProv); d != "" {
			t.Errorf("study round trip (-in +decoded):\n%s", d)
		}
	case rec.Site != nil:
		v, err := DecodeResearchStudy(r.JSON)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		nat, _ := NationalStudyID(rec.Site.Study)
		if v.ID != r.ID || v.Level != LevelSite || v.PartOf != nat {
			t.Errorf("view id/level/partOf = %q/%q/%q, want %q/site/%q", v.ID, v.Level, v.PartOf, r.ID, nat)
		}
		if d := cmp.Diff(*rec.Site, v.Site, ignoreProv); d != "" {
			t.Errorf("site round trip (-in +decoded):\n%s", d)
		}
	default:
		in := rec.Inclusion
		v, err := DecodeResearchSubject(r.JSON)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		nat, _ := NationalStudyID(in.Study)
		ss := SiteStudyID(nat, in.Establishment)
		want := SubjectView{ID: r.ID, SiteStudyID: ss, Pseudonym: m.key.Pseudonym(nat, in.LocalSubjectID),
			InclusionDate: in.InclusionDate, Status: in.Status}
		if d := cmp.Diff(want, v); d != "" {
			t.Errorf("subject round trip (-want +decoded):\n%s", d)
		}
		if bytes.Contains(r.JSON, []byte(strings.TrimSpace(in.LocalSubjectID))) {
			t.Errorf("published JSON contains the local subject id")
		}
	}
}

func TestRoundTripGolden(t *testing.T) {
	n := 0
	for _, gc := range loadGolden(t) {
		if strings.HasPrefix(gc.name, "error-") {
			continue
		}
		n++
		t.Run(gc.name, func(t *testing.T) { checkRoundTrip(t, testMapper(t, finessA), gc.rec) })
	}
	if n < 5 {
		t.Fatalf("only %d golden success cases", n)
	}
}

// randomRecord builds a valid random record; every optional field is set or
// not at random so that the round trip covers all combinations over many runs.
func randomRecord(r *rand.Rand, finess string) canonical.Record {
	pick := func(p float64) bool { return r.Float64() < p }
	date := func() canonical.Date {
		if !pick(0.6) {
			return canonical.Date{}
		}
		return canonical.DateOf(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(4000)))
	}
	num := func() *int {
		if !pick(0.5) {
			return nil
		}
		n := r.IntN(5000)
		return &n
	}
	triBool := func() *bool { // nil (unknown), true or false
		if pick(0.3) {
			return nil
		}
		b := pick(0.5)
		return &b
	}
	var ids canonical.Identifiers
	if pick(0.3) {
		ids.EUCT = fmt.Sprintf("20%02d-5%05d-%02d-00", r.IntN(30), r.IntN(100000), r.IntN(100))
	}
	if pick(0.6) {
		ids.IDRCB = fmt.Sprintf("20%02d-A%05d-%02d", r.IntN(30), r.IntN(100000), r.IntN(100))
	}
	if pick(0.3) {
		ids.EudraCT = fmt.Sprintf("20%02d-0%05d-%02d", r.IntN(30), r.IntN(100000), r.IntN(100))
	}
	if pick(0.4) {
		ids.NCT = fmt.Sprintf("NCT%08d", r.IntN(100000000))
	}
	if pick(0.3) || ids.IsZero() {
		ids.SponsorCode = fmt.Sprintf("CODE-%d", r.IntN(1000))
		ids.SponsorKey = []string{finessB, "LABO FICTIF"}[r.IntN(2)]
	}
	statuses := []canonical.StudyStatus{canonical.StatusInPreparation, canonical.StatusApproved, canonical.StatusRecruiting, canonical.StatusSuspended,
		canonical.StatusClosedToAccrual, canonical.StatusCompleted, canonical.StatusTerminated, canonical.StatusWithdrawn}
	phases := []canonical.Phase{"", canonical.PhaseI, canonical.PhaseI_II, canonical.PhaseII, canonical.PhaseII_III, canonical.PhaseIII, canonical.PhaseIV, canonical.PhaseNA}
	switch r.IntN(3) {
	case 0:
		s := &canonical.Study{IDs: ids, Status: statuses[r.IntN(len(statuses))], Phase: phases[r.IntN(len(phases))],
			Category:      []canonical.Category{"", canonical.CatRIPH1, canonical.CatRIPH2, canonical.CatRIPH3, canonical.CatCTR}[r.IntN(5)],
			SponsorType:   []canonical.SponsorType{"", canonical.SponsorAcademic, canonical.SponsorIndustry}[r.IntN(3)],
			International: triBool(), TargetFrance: num(), TargetGlobal: num(), ActualGlobal: num()}
		if pick(0.7) {
			s.Title = fmt.Sprintf("Étude fictive n°%d « test »", r.IntN(1000))
		}
		if pick(0.5) {
			s.SponsorName = "Promoteur fictif"
		}
		if pick(0.5) {
			s.SponsorFINESS = finessB
		}
		for _, ms := range canonical.Milestones {
			if d := date(); !d.IsZero() {
				if s.Milestones == nil {
					s.Milestones = map[canonical.Milestone]canonical.Date{}
				}
				s.Milestones[ms] = d
			}
		}
		return canonical.Record{Study: s}
	case 1:
		return canonical.Record{Site: &canonical.Site{Study: ids, Establishment: finess,
			Role:   []canonical.SiteRole{"", canonical.RoleSponsorSite, canonical.RoleInvestigatingSite}[r.IntN(3)],
			Target: num(), ContractSent: date(), ContractSigned: date(), Opened: date(), FirstInclusion: date(), Closed: date(),
			Status: statuses[r.IntN(len(statuses))]}}
	default:
		in := &canonical.Inclusion{Study: ids, Establishment: finess, LocalSubjectID: fmt.Sprintf("SUBJ-%04d", r.IntN(10000)),
			InclusionDate: canonical.NewDate(2020+r.IntN(5), time.Month(1+r.IntN(12)), 1+r.IntN(28)),
			Status:        []canonical.InclusionStatus{canonical.InclIncluded, canonical.InclWithdrawn, canonical.InclCompleted, canonical.InclScreenFailed}[r.IntN(4)]}
		return canonical.Record{Inclusion: in}
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := testMapper(t, finessA)
	for i := range 2000 {
		rec := randomRecord(r, finessA)
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkRoundTrip(t, m, rec) })
		if t.Failed() {
			break
		}
	}
}

func TestDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		rec := randomRecord(r, finessA)
		a, errA := testMapper(t, finessA).Map(rec)
		b, errB := testMapper(t, finessA).Map(rec)
		if errA != nil || errB != nil {
			t.Fatalf("Map: %v / %v", errA, errB)
		}
		if a[0].ID != b[0].ID || !bytes.Equal(a[0].JSON, b[0].JSON) {
			t.Fatalf("same input gave different output:\n%s\n%s", a[0].JSON, b[0].JSON)
		}
	}
}

// Two establishments describing the same study (same ID-RCB, different
// titles and sites) converge on one national id; their site studies differ
// and both point to it.
func TestNationalIDConvergence(t *testing.T) {
	idsA := canonical.Identifiers{IDRCB: "2024-A01234-56", SponsorCode: "X-1", SponsorKey: finessA}
	idsB := canonical.Identifiers{IDRCB: " 2024-a01234-56 ", NCT: "NCT01234567"}
	ma, mb := testMapper(t, finessA), testMapper(t, finessB)
	ra, err := ma.Map(canonical.Record{Study: &canonical.Study{IDs: idsA, Title: "Titre A", Status: canonical.StatusRecruiting}})
	if err != nil {
		t.Fatal(err)
	}
	idsB.IDRCB = strings.TrimSpace(strings.ToUpper(idsB.IDRCB)) // publishable form
	rb, err := mb.Map(canonical.Record{Study: &canonical.Study{IDs: idsB, Title: "Titre B", Status: canonical.StatusApproved}})
	if err != nil {
		t.Fatal(err)
	}
	if ra[0].ID != rb[0].ID {
		t.Errorf("national ids differ: %s vs %s", ra[0].ID, rb[0].ID)
	}
	// NationalStudyID normalises case and blanks itself.
	n1, _ := NationalStudyID(canonical.Identifiers{IDRCB: " 2024-a01234-56 "})
	if n1 != ra[0].ID {
		t.Errorf("NationalStudyID is not case/blank insensitive: %s vs %s", n1, ra[0].ID)
	}
	sa, err := ma.Map(canonical.Record{Site: &canonical.Site{Study: idsA, Establishment: finessA, Status: canonical.StatusRecruiting}})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := mb.Map(canonical.Record{Site: &canonical.Site{Study: idsB, Establishment: finessB, Status: canonical.StatusRecruiting}})
	if err != nil {
		t.Fatal(err)
	}
	if sa[0].ID == sb[0].ID {
		t.Errorf("two establishments got the same site study id %s", sa[0].ID)
	}
	for _, s := range [][]Resource{sa, sb} {
		v, err := DecodeResearchStudy(s[0].JSON)
		if err != nil {
			t.Fatal(err)
		}
		if v.PartOf != ra[0].ID {
			t.Errorf("site %s partOf %s, want %s", s[0].ID, v.PartOf, ra[0].ID)
		}
	}
	// A different study gets a different id.
	other, _ := NationalStudyID(canonical.Identifiers{IDRCB: "2024-A01234-57"})
	if other == ra[0].ID {
		t.Error("different ID-RCB gave the same national id")
	}
}

func TestIDShapes(t *testing.T) {
	nat, err := NationalStudyID(canonical.Identifiers{NCT: "NCT01234567"})
	if err != nil {
		t.Fatal(err)
	}
	ss := SiteStudyID(nat, finessA)
	sj := SubjectID(ss, "k1.00")
	for _, c := range []struct{ id, prefix string }{{nat, "st-"}, {ss, "ss-"}, {sj, "sj-"}} {
		if !fhirIDRe.MatchString(c.id) || !strings.HasPrefix(c.id, c.prefix) || len(c.id) != len(c.prefix)+32 {
			t.Errorf("id %q: want %s + 32 hex digits, a valid FHIR id", c.id, c.prefix)
		}
	}
	if _, err := NationalStudyID(canonical.Identifiers{}); err == nil {
		t.Error("NationalStudyID without identifier: want error")
	}
	if _, err := NationalStudyID(canonical.Identifiers{SponsorCode: "X"}); err == nil {
		t.Error("NationalStudyID with sponsor code but no key: want error")
	}
}
