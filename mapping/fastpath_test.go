package mapping

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/google/go-cmp/cmp"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
	"golang.org/x/text/unicode/norm"
)

// samplySubject is how mapInclusion built its JSON before subjectJSON:
// the reference subjectJSON must equal byte for byte.
func samplySubject(t *testing.T, id, status string, date canonical.Date, ssID, pseudo string) []byte {
	t.Helper()
	rs := fhir.ResearchSubject{
		Id:         ptr(id),
		Meta:       &fhir.Meta{Profile: []string{ProfileSubject}},
		Study:      fhir.Reference{Reference: ptr("ResearchStudy/" + ssID)},
		Individual: fhir.Reference{Type: ptr("Patient"), Identifier: &fhir.Identifier{System: ptr(SystemPseudonym), Value: ptr(pseudo)}},
	}
	if err := rs.Status.UnmarshalJSON([]byte(`"` + status + `"`)); err != nil {
		t.Fatal(err)
	}
	if !date.IsZero() {
		rs.Period = &fhir.Period{Start: ptr(date.String())}
	}
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSubjectJSONMatchesSamply(t *testing.T) {
	dates := []canonical.Date{{}, canonical.NewDate(2024, 6, 3), canonical.NewDate(1900, 1, 1), canonical.NewDate(9999, 12, 31)}
	// Hostile strings too: subjectJSON must escape exactly as encoding/json.
	strs := []string{"sj-5e3c98ce4c2a3393d6b65069a1d83a67", "k1.015c803ef006ae347b8342e1615971cd", `a"b\c`, "<&>", "é\u2028\u2029", "\x01\x7f", "\xff\xfe", ""}
	n := 0
	for _, status := range inclusionStatusToR4 {
		for _, d := range dates {
			for _, s := range strs {
				want := samplySubject(t, s, status, d, s, s)
				if got := subjectJSON(s, status, d, s, s); string(got) != string(want) {
					t.Errorf("subjectJSON(%q, %s, %v):\n got %s\nwant %s", s, status, d, got, want)
				}
				n++
			}
		}
	}
	// And what Map emits for real inclusions.
	m := testMapper(t, finessA)
	for i, st := range []canonical.InclusionStatus{canonical.InclIncluded, canonical.InclWithdrawn, canonical.InclCompleted, canonical.InclScreenFailed} {
		in := &canonical.Inclusion{Study: canonical.Identifiers{NCT: "NCT01234567"}, Establishment: finessA,
			LocalSubjectID: fmt.Sprintf(" sub-%d ", i), InclusionDate: canonical.NewDate(2023, 2, 28), Status: st}
		if st == canonical.InclScreenFailed {
			in.InclusionDate = canonical.Date{}
		}
		res, err := m.Map(canonical.Record{Inclusion: in})
		if err != nil {
			t.Fatal(err)
		}
		nat, _ := NationalStudyID(in.Study)
		ss := SiteStudyID(nat, finessA)
		pseudo := m.key.Pseudonym(nat, in.LocalSubjectID)
		if want := samplySubject(t, SubjectID(ss, pseudo), inclusionStatusToR4[st], in.InclusionDate, ss, pseudo); string(res[0].JSON) != string(want) {
			t.Errorf("Map(%s):\n got %s\nwant %s", st, res[0].JSON, want)
		}
	}
	if n < 100 {
		t.Fatalf("only %d cases", n)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", `a"b\c`, "<&>", "é\u2028", "\x01\x7f\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want x%s", s, got, want)
		}
	})
}

func TestISODate(t *testing.T) {
	for _, d := range []canonical.Date{{Y: 1, M: 1, D: 1}, canonical.NewDate(2024, 6, 3), canonical.NewDate(9999, 12, 31), {Y: 10000, M: 1, D: 1}, {Y: -5, M: 1, D: 1}, {Y: 2024, M: 13, D: 1}} {
		if got, want := isoDate(d), d.String(); got != want {
			t.Errorf("isoDate(%v) = %q, want %q", d, got, want)
		}
	}
}

// oldNormaliseLocalID is NormaliseLocalID without the ASCII fast path.
func oldNormaliseLocalID(s string) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	space := false
	for _, r := range strings.TrimFunc(s, unicode.IsSpace) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return norm.NFC.String(b.String())
}

func FuzzNormaliseLocalID(f *testing.F) {
	for _, s := range []string{"", " ", "AB 01", " ab\t\v01 \r\n", "ab  01", "AB01 ", "é", "\x00x\x1f", "a\u00a0b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormaliseLocalID(s), oldNormaliseLocalID(s); got != want {
			t.Fatalf("NormaliseLocalID(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestPseudonymerMatchesDefinition: the pooled HMAC gives the documented
// value, call after call (Reset works).
func TestPseudonymerMatchesDefinition(t *testing.T) {
	secret := "fictional-test-key-0123456789-abcdef"
	k := testKey(t, "key-id-of-20-chars-x", secret)
	p := k.newPseudonymer()
	for i := range 50 {
		study, local := fmt.Sprintf("st-%d", i%7), fmt.Sprintf(" sub %d ", i)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("it4ct/pseudonym/v1\x00" + study + "\x00" + NormaliseLocalID(local)))
		want := "key-id-of-20-chars-x." + hex.EncodeToString(mac.Sum(nil)[:16])
		if got := p.pseudonym(study, local); got != want {
			t.Fatalf("pseudonym %d = %s, want %s", i, got, want)
		}
	}
}

func TestHashID(t *testing.T) {
	long := strings.Repeat("x", 300) // beyond the stack buffer
	for _, parts := range [][]string{{"a"}, {"it4ct/study/v1", "ID-RCB", "2024-A01234-56"}, {long, long}, {}} {
		h := sha256.New()
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		if got, want := hashID("st-", parts...), "st-"+hex.EncodeToString(h.Sum(nil)[:16]); got != want {
			t.Errorf("hashID(%q) = %s, want %s", parts, got, want)
		}
	}
}

// TestCachedTerminology: the validator's cache answers exactly as
// PublishedTerminology, for the bound URLs and others.
func TestCachedTerminology(t *testing.T) {
	c, p := cachedPublished(), PublishedTerminology()
	for _, u := range append(append([]string{"http://example.org/none", SystemFINESS}, boundCodeSystems...), boundValueSets...) {
		gm, gok := c.CodeSystemCodes(u)
		wm, wok := p.CodeSystemCodes(u)
		if gok != wok || !cmp.Equal(gm, wm) {
			t.Errorf("CodeSystemCodes(%s) = %v, %v; want %v, %v", u, gm, gok, wm, wok)
		}
		gv, gok := c.ValueSetCodes(u)
		wv, wok := p.ValueSetCodes(u)
		if gok != wok || !cmp.Equal(gv, wv) {
			t.Errorf("ValueSetCodes(%s) = %v, %v; want %v, %v", u, gv, gok, wv, wok)
		}
	}
	if m, ok := c.CodeSystemCodes(CodeSystemMilestone); !ok || len(m) == 0 {
		t.Errorf("milestone code system not cached: %v %v", m, ok)
	}
}

// TestMapConcurrent: Map from several goroutines at once (run with -race)
// gives what it gives sequentially.
func TestMapConcurrent(t *testing.T) {
	m := testMapper(t, finessA)
	n := 20
	recs := []canonical.Record{
		{Study: &canonical.Study{IDs: canonical.Identifiers{IDRCB: "2024-A01234-56"}, Title: "Essai fictif", Status: canonical.StatusRecruiting, TargetGlobal: &n}},
		{Site: &canonical.Site{Study: canonical.Identifiers{IDRCB: "2024-A01234-56"}, Establishment: finessA, Status: canonical.StatusRecruiting, Target: &n}},
	}
	for i := range 200 {
		recs = append(recs, canonical.Record{Inclusion: &canonical.Inclusion{Study: canonical.Identifiers{IDRCB: "2024-A01234-56"}, Establishment: finessA,
			LocalSubjectID: fmt.Sprintf("SUBJ-%d", i), InclusionDate: canonical.NewDate(2024, 6, 3), Status: canonical.InclIncluded}})
	}
	want := make([]string, len(recs))
	for i, r := range recs {
		res, err := testMapper(t, finessA).Map(r)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = string(res[0].JSON)
	}
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for k := range recs {
				i := (k + w*len(recs)/workers) % len(recs) // each worker starts elsewhere
				res, err := m.Map(recs[i])
				if err != nil {
					errs <- err
					return
				}
				if string(res[0].JSON) != want[i] {
					errs <- fmt.Errorf("record %d: got %s, want %s", i, res[0].JSON, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
