package indicators

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

// Fictional establishments.
const (
	estA = "350000007"
	estB = "690000008"
	estC = "130000009"
)

// jsonDecoder decodes views marshalled with encoding/json, so the tests do
// not depend on the FHIR mapping.
type jsonDecoder struct{}

func (jsonDecoder) DecodeResearchStudy(b []byte) (mapping.StudyView, error) {
	var v mapping.StudyView
	err := json.Unmarshal(b, &v)
	return v, err
}

func (jsonDecoder) DecodeResearchSubject(b []byte) (mapping.SubjectView, error) {
	var v mapping.SubjectView
	err := json.Unmarshal(b, &v)
	return v, err
}

func date(s string) canonical.Date {
	if s == "" {
		return canonical.Date{}
	}
	d, err := canonical.ParseISODate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// msg is one record to publish: topic establishment, resource type, key and
// value (nil: tombstone).
type msg struct {
	est, typ, key string
	value         any
	headers       map[string]string
}

func nat(reportedBy, id, sponsor, nct string) msg {
	return msg{est: reportedBy, typ: stream.ResourceStudy, key: id, value: mapping.StudyView{ID: id, Level: mapping.LevelNational,
		Study: canonical.Study{IDs: canonical.Identifiers{NCT: nct}, SponsorFINESS: sponsor, Phase: canonical.PhaseII}}}
}

func site(est, id, national, opened, closed string) msg {
	return msg{est: est, typ: stream.ResourceStudy, key: id, value: mapping.StudyView{ID: id, Level: mapping.LevelSite, PartOf: national,
		Site: canonical.Site{Establishment: est, Role: canonical.RoleInvestigatingSite, Opened: date(opened), Closed: date(closed)}}}
}

func subj(est, id, siteStudy, incl string, status canonical.InclusionStatus) msg {
	return msg{est: est, typ: stream.ResourceSubject, key: id, value: mapping.SubjectView{ID: id, SiteStudyID: siteStudy,
		Pseudonym: "ps-" + id, InclusionDate: date(incl), Status: status}}
}

func tombstone(est, typ, key string) msg { return msg{est: est, typ: typ, key: key} }

// log assigns offsets per topic, like a broker, and keeps every record.
type log struct {
	next map[string]int64
	recs []stream.Record
}

func (l *log) add(t *testing.T, ms ...msg) []stream.Record {
	t.Helper()
	if l.next == nil {
		l.next = map[string]int64{}
	}
	var out []stream.Record
	for _, m := range ms {
		topic := stream.Topic(m.est, m.typ)
		r := stream.Record{Topic: topic, Partition: 0, Offset: l.next[topic], Key: []byte(m.key), Headers: m.headers}
		l.next[topic]++
		switch v := m.value.(type) {
		case nil:
		case []byte:
			r.Value = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			r.Value = b
		}
		out = append(out, r)
	}
	l.recs = append(l.recs, out...)
	return out
}

func newService(t *testing.T, opts ...Option) (*Service, store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }
	quiet := slog.New(slog.DiscardHandler)
	return New(st, append([]Option{withDecoder(jsonDecoder{}), WithClock(clock), WithLogger(quiet)}, opts...)...), st
}

func handle(t *testing.T, s *Service, recs []stream.Record) {
	t.Helper()
	if err := s.Handle(context.Background(), recs); err != nil {
		t.Fatalf("Handle: %v", err)
	}
}

// fixture is the hand-built national picture the expected values below are
// worked out from. Years are 2024 unless said otherwise.
//
// National studies (reported by → sponsor in that version):
//
//	N1: A → A.                     Sponsor A.
//	N2: A → C (stale), B → B.      Sponsor B: the sponsor's own version wins over the lowest FINESS (A).
//	N3: C → A.                     Sponsor A: the only version.
//	N4: B → none (industry).       No sponsor credit.
//	N5: C → C.                     Sponsor C.
//
// Site studies (establishment, opened, closed):
//
//	S1A N1 A 2023-05-01 -      open 2024
//	S1B N1 B 2024-12-31 -      open 2024 (opened on 31 Dec), opened in 2024
//	S1C N1 C 2022-01-01 2024-01-01 open 2024 (closed on 1 Jan)
//	S2A N2 A 2021-01-01 2023-12-31 not open 2024
//	S2B N2 B 2024-03-01 -      open, opened in 2024
//	S3A N3 A -          -      never open (no opening date)
//	S3C N3 C 2025-01-01 -      not open 2024; opened 2025
//	S4B N4 B 2024-06-01 -      open, opened in 2024
//	S5C N5 C 2024-02-01 -      open, opened in 2024
//
// Subjects (topic establishment, site study, date, status):
//
//	a1 A S1A 2024-01-01 included      A3(A), A4(sponsor N1 = A)
//	a2 A S1A 2024-12-31 withdrawn     A3(A), A4(A): withdrawn still counts
//	a3 A S1A 2024-05-05 screen-failed never counts
//	a4 A S1A 2023-12-31 included      2023
//	b1 B S1B 2024-06-01 completed     A3(B), A4(A): sponsor's inclusion at another site
//	b2 B S2B 2024-07-01 included      A3(B), A4(B)
//	b3 B S2B 2024-07-02 screen-failed never counts
//	b4 B S4B 2025-01-01 included      2025; N4 has no sponsor
//	c1 C S3C 2024-03-03 included      A3(C), A4(A)
//	c2 C SX  2024-08-08 included      A3(C); SX unknown: no sponsor
func fixture() []msg {
	return []msg{
		nat(estA, "N1", estA, "NCT00000001"),
		nat(estA, "N2", estC, "NCT00000002"),
		nat(estB, "N2", estB, "NCT00000002"),
		nat(estC, "N3", estA, ""),
		nat(estB, "N4", "", "NCT00000004"),
		nat(estC, "N5", estC, ""),
		site(estA, "S1A", "N1", "2023-05-01", ""),
		site(estB, "S1B", "N1", "2024-12-31", ""),
		site(estC, "S1C", "N1", "2022-01-01", "2024-01-01"),
		site(estA, "S2A", "N2", "2021-01-01", "2023-12-31"),
		site(estB, "S2B", "N2", "2024-03-01", ""),
		site(estA, "S3A", "N3", "", ""),
		site(estC, "S3C", "N3", "2025-01-01", ""),
		site(estB, "S4B", "N4", "2024-06-01", ""),
		site(estC, "S5C", "N5", "2024-02-01", ""),
		subj(estA, "a1", "S1A", "2024-01-01", canonical.InclIncluded),
		subj(estA, "a2", "S1A", "2024-12-31", canonical.InclWithdrawn),
		subj(estA, "a3", "S1A", "2024-05-05", canonical.InclScreenFailed),
		subj(estA, "a4", "S1A", "2023-12-31", canonical.InclIncluded),
		subj(estB, "b1", "S1B", "2024-06-01", canonical.InclCompleted),
		subj(estB, "b2", "S2B", "2024-07-01", canonical.InclIncluded),
		subj(estB, "b3", "S2B", "2024-07-02", canonical.InclScreenFailed),
		subj(estB, "b4", "S4B", "2025-01-01", canonical.InclIncluded),
		subj(estC, "c1", "S3C", "2024-03-03", canonical.InclIncluded),
		subj(estC, "c2", "SX", "2024-08-08", canonical.InclIncluded),
	}
}

func row(y int, e string, a1s, a1p, a2s, a2p, a3, a4 int64) Row {
	return Row{Year: y, Establishment: e, A1: Pair{a1s, a1p}, A2: Pair{a2s, a2p}, A3: a3, A4: a4}
}

// wantFixture are the rows worked out by hand from fixture's comment.
// Rows are ordered by year then FINESS: C (130…), A (350…), B (690…).
var wantFixture = []Row{
	// 2023: open sites S1A (N1, A), S1C (N1, C), S2A (N2, A; closed 31 Dec 2023).
	// A: A1 site {N1, N2} = 2; sponsor: N1 active = 1. A2 site S1A = 1.
	//    A2 sponsor: first openings N1 2022, N2 2021 → 0. A3: a4 = 1; A4: a4 (N1) = 1.
	// B: sponsor of N2, active in 2023 through S2A → A1 sponsor 1.
	// C: A1 site {N1} = 1.
	row(2023, estC, 1, 0, 0, 0, 0, 0),
	row(2023, estA, 2, 1, 1, 0, 1, 1),
	row(2023, estB, 0, 1, 0, 0, 0, 0),
	// 2024:
	// A: A1 site {N1} (S2A closed 2023, S3A never open) = 1; sponsor {N1} (N3 not active) = 1.
	//    A2 site 0; A2 sponsor 0 (N1 first opened 2022, N3 2025). A3 a1+a2 = 2. A4 a1+a2+b1+c1 = 4.
	// B: A1 site {N1, N2, N4} = 3; sponsor {N2} = 1. A2 site S1B, S2B, S4B = 3; sponsor 0 (N2 2021).
	//    A3 b1+b2 = 2; A4 b2 = 1.
	// C: A1 site {N1 (S1C closed 1 Jan), N5} = 2; sponsor {N5} = 1. A2 site S5C = 1; sponsor N5 = 1.
	//    A3 c1+c2 = 2; A4 0.
	row(2024, estC, 2, 1, 1, 1, 2, 0),
	row(2024, estA, 1, 1, 0, 0, 2, 4),
	row(2024, estB, 3, 1, 3, 0, 2, 1),
	// 2025:
	// A: A1 site {N1} = 1; sponsor {N1, N3 (S3C opens 2025)} = 2. A2 site 0; sponsor N3 = 1. A3 0, A4 0.
	// B: A1 site {N1, N2, N4} = 3; sponsor {N2} = 1; A2 0/0; A3 b4 = 1; A4 0 (N4 unsponsored).
	// C: A1 site {N3, N5} = 2 (S1C closed 2024); sponsor {N5} = 1; A2 site S3C = 1; sponsor 0. A3 0, A4 0.
	row(2025, estC, 2, 1, 1, 0, 0, 0),
	row(2025, estA, 1, 2, 0, 1, 0, 0),
	row(2025, estB, 3, 1, 0, 0, 1, 0),
}

var years = []int{2023, 2024, 2025}

func summary(t *testing.T, s *Service) []Row {
	t.Helper()
	rows, err := s.Summary(context.Background(), years)
	if err != nil {
		t.Fatalf("Summary: %v", err)
	}
	return rows
}

func TestIndicatorsFixture(t *testing.T) {
	s, _ := newService(t)
	var l log
	handle(t, s, l.add(t, fixture()...))
	if d := cmp.Diff(wantFixture, summary(t, s)); d != "" {
		t.Errorf("Summary (-want +got):\n%s", d)
	}

	ctx := context.Background()
	got, err := s.Indicators(ctx, 2024, estB)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"year":2024,"establishment":"690000008","a1":{"site":3,"sponsor":1},"a2":{"site":3,"sponsor":0},"a3":2,"a4":1,"computed_at":"2025-03-01T12:00:00Z"}`
	if string(b) != want {
		t.Errorf("Indicators(2024, B) =\n%s\nwant\n%s", b, want)
	}
	// An establishment nobody mentions gets nothing (the API answers 404),
	// not zeros that would look like a connected establishment.
	got, err = s.Indicators(ctx, 2024, "750000001")
	if err != nil {
		t.Fatal(err)
	}
	if got != nil {
		t.Errorf("Indicators of an unknown establishment = %+v, want nil", got)
	}
	all, err := s.Indicators(ctx, 2024, "")
	if err != nil {
		t.Fatal(err)
	}
	var wantAll []Row
	for _, r := range wantFixture {
		if r.Year == 2024 {
			wantAll = append(wantAll, r)
		}
	}
	if d := cmp.Diff(wantAll, all.(AllRows).Establishments); d != "" {
		t.Errorf("Indicators(2024, all) (-want +got):\n%s", d)
	}
	if _, err := s.Indicators(ctx, 0, ""); err == nil {
		t.Error("Indicators(year 0) succeeded; want an error")
	}
}

func TestPreferredVersion(t *testing.T) {
	v := func(est, sponsor string) store.NationalStudy {
		return store.NationalStudy{ID: "n", Establishment: est, SponsorFINESS: sponsor}
	}
	for _, tc := range []struct {
		name    string
		vs      []store.NationalStudy
		wantEst string
	}{
		{"sponsor's own version wins over lower FINESS", []store.NationalStudy{v(estC, estB), v(estB, estB), v(estA, estB)}, estB},
		{"no self-report: lowest FINESS", []store.NationalStudy{v(estB, "x"), v(estC, "x"), v(estA, "y")}, estC},
		{"two self-reports: lowest FINESS", []store.NationalStudy{v(estB, estB), v(estA, estA)}, estA},
		{"empty sponsor is not a self-report", []store.NationalStudy{v(estC, ""), v(estB, "")}, estC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Whatever the order the versions come in.
			for i := range tc.vs {
				rot := append(append([]store.NationalStudy{}, tc.vs[i:]...), tc.vs[:i]...)
				got, ok := preferred(rot)
				if !ok || got.Establishment != tc.wantEst {
					t.Errorf("preferred(%v) = %v, want the version of %s", rot, got, tc.wantEst)
				}
			}
		})
	}
	if _, ok := preferred(nil); ok {
		t.Error("preferred(nil) found a version")
	}
}

// snapshot is everything observable through the Service.
type snapshot struct {
	Rows      []Row
	Resources map[string]string
	Subjects  map[string][]string
	ByNCT     []string
	Quality   []store.QualityEvent
	Offsets   map[string]map[int32]int64
}

func snap(t *testing.T, s *Service, st store.Store, topics []string) snapshot {
	t.Helper()
	ctx := context.Background()
	out := snapshot{Rows: summary(t, s), Resources: map[string]string{}, Subjects: map[string][]string{}, Offsets: map[string]map[int32]int64{}}
	for _, m := range fixture() {
		j, found, err := s.Resource(ctx, m.typ, m.key)
		if err != nil {
			t.Fatal(err)
		}
		if found {
			out.Resources[m.typ+"/"+m.key] = string(j)
		}
		if m.typ == stream.ResourceStudy {
			subs, err := s.SubjectsByStudy(ctx, m.key)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range subs {
				out.Subjects[m.key] = append(out.Subjects[m.key], string(b))
			}
		}
	}
	studies, err := s.StudiesByIdentifier(ctx, "", "NCT00000002")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range studies {
		out.ByNCT = append(out.ByNCT, string(b))
	}
	if out.Quality, err = st.QualityEvents(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tp := range topics {
		if out.Offsets[tp], err = s.Committed(ctx, tp); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func topicsOf(recs []stream.Record) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		if !seen[r.Topic] {
			seen[r.Topic] = true
			out = append(out, r.Topic)
		}
	}
	return out
}

func TestIdempotence(t *testing.T) {
	var l log
	recs := l.add(t, fixture()...)
	// Updates and deletions after the initial load, and a bad record.
	recs = append(recs, l.add(t,
		subj(estA, "a1", "S1A", "2024-02-02", canonical.InclScreenFailed),
		tombstone(estB, stream.ResourceSubject, "b2"),
		msg{est: estC, typ: stream.ResourceSubject, key: "bad", value: []byte("{not json")},
	)...)
	topics := topicsOf(recs)

	// Reference: one batch.
	s1, st1 := newService(t)
	handle(t, s1, recs)
	want := snap(t, s1, st1, topics)

	// The same batch applied twice changes nothing.
	handle(t, s1, recs)
	if d := cmp.Diff(want, snap(t, s1, st1, topics)); d != "" {
		t.Errorf("second application of the same batch changed the state (-first +second):\n%s", d)
	}

	// Replaying from offset 0 in batches of 3, then again in batches of 7
	// over the result, gives the same state.
	s2, st2 := newService(t)
	for _, size := range []int{3, 7} {
		for i := 0; i < len(recs); i += size {
			handle(t, s2, recs[i:min(i+size, len(recs))])
		}
		if d := cmp.Diff(want, snap(t, s2, st2, topics)); d != "" {
			t.Errorf("replay in batches of %d differs (-one batch +replay):\n%s", size, d)
		}
	}
	// The state is not trivially empty.
	if len(want.Rows) == 0 || len(want.Resources) == 0 || len(want.Quality) != 1 || len(want.ByNCT) != 1 {
		t.Errorf("reference snapshot looks empty: %+v", want)
	}
}

// failingStore fails every Apply.
type failingStore struct{ store.Store }

var errInjected = errors.New("injected apply failure")

func (failingStore) Apply(context.Context, []store.Change, []store.Offset) error { return errInjected }

func TestHandleAtomic(t *testing.T) {
	s, st := newService(t)
	var l log
	first := l.add(t, fixture()...)
	handle(t, s, first)
	topics := topicsOf(first)
	before := snap(t, s, st, topics)

	failing := New(failingStore{st}, withDecoder(jsonDecoder{}), WithClock(s.now))
	more := l.add(t, subj(estA, "a9", "S1A", "2024-09-09", canonical.InclIncluded), tombstone(estA, stream.ResourceStudy, "N1"))
	err := failing.Handle(context.Background(), more)
	if !errors.Is(err, errInjected) {
		t.Fatalf("Handle over a failing store = %v, want the injected error", err)
	}
	if d := cmp.Diff(before, snap(t, s, st, topics)); d != "" {
		t.Errorf("a failed Handle changed state or offsets (-before +after):\n%s", d)
	}
	// Redelivery after the failure applies the batch once.
	handle(t, s, more)
	offs, err := s.Committed(context.Background(), stream.Topic(estA, stream.ResourceSubject))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int32]int64{0: 5}; !cmp.Equal(want, offs) { // a1..a4 at 0..3, a9 at 4
		t.Errorf("Committed after redelivery = %v, want %v", offs, want)
	}
}

func TestTombstones(t *testing.T) {
	s, _ := newService(t)
	var l log
	handle(t, s, l.add(t, fixture()...))
	handle(t, s, l.add(t,
		tombstone(estA, stream.ResourceSubject, "a1"), // A3(A) 2→1, A4(A) 4→3
		tombstone(estB, stream.ResourceStudy, "S1B"),  // B: A1 site 3→2, A2 site 3→2; b1 stays in A3(B) but leaves A4(A) 3→2
		tombstone(estC, stream.ResourceStudy, "N5"),   // N5 loses its sponsor: C A1 sponsor 1→0, A2 sponsor 1→0
		tombstone(estB, stream.ResourceSubject, "a2"), // B never reported a2: A's a2 stays
	))
	want := map[string]Row{
		estA: row(2024, estA, 1, 1, 0, 0, 1, 2),
		estB: row(2024, estB, 2, 1, 2, 0, 2, 1),
		estC: row(2024, estC, 2, 0, 1, 0, 2, 0),
	}
	for e, w := range want {
		got, err := s.Indicators(context.Background(), 2024, e)
		if err != nil {
			t.Fatal(err)
		}
		r := got.(Row)
		r.ComputedAt = nil
		if d := cmp.Diff(w, r); d != "" {
			t.Errorf("after tombstones, %s (-want +got):\n%s", e, d)
		}
	}
	if _, found, err := s.Resource(context.Background(), stream.ResourceSubject, "a1"); err != nil || found {
		t.Errorf("deleted subject a1: found=%v err=%v", found, err)
	}
}

func TestRejectedRecords(t *testing.T) {
	s, st := newService(t)
	var l log
	handle(t, s, l.add(t, fixture()...))
	base := summary(t, s)
	good := subj(estA, "a9", "S1A", "2025-05-05", canonical.InclIncluded) // 2025: A3(A) 0→1, A4(A) 0→1
	v2 := subj(estA, "a10", "S1A", "2025-05-05", canonical.InclIncluded)
	v2.headers = map[string]string{stream.HeaderSchemaVersion: "2"}
	badKey := subj(estA, "a11", "S1A", "2025-05-05", canonical.InclIncluded)
	badKey.key = "other"
	recs := l.add(t,
		site(estA, "SZ", "N1", "2025-01-01", ""),                      // accepted: SZ belongs to A
		subj(estC, "c9", "S1A", "2025-05-05", canonical.InclIncluded), // S1A is A's site study
		subj(estB, "b9", "SZ", "2025-05-05", canonical.InclIncluded),  // SZ defined earlier in this batch by A
		msg{est: estB, typ: stream.ResourceStudy, key: "SY", value: mapping.StudyView{ID: "SY", Level: mapping.LevelSite, PartOf: "N1",
			Site: canonical.Site{Establishment: estC, Opened: date("2025-01-01")}}}, // B publishes a site of C
		msg{est: estA, typ: stream.ResourceStudy, key: "N9", value: []byte(`{"ID":`)}, // undecodable
		msg{est: estA, typ: stream.ResourceStudy, key: "N8", value: mapping.StudyView{ID: "N8", Level: "regional"}},
		v2,
		badKey,
		good,
	)
	recs = append(recs, stream.Record{Topic: "it4ct.site.oops", Partition: 0, Offset: 0, Key: []byte("k"), Value: []byte("{}")})
	handle(t, s, recs)

	evs, err := st.QualityEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type ev struct{ Topic, Key, Code string }
	var got []ev
	for _, e := range evs {
		got = append(got, ev{e.Topic, e.RecordKey, e.Code})
		if e.Reason == "" {
			t.Errorf("event %+v has no reason", e)
		}
	}
	st1, st2, st3 := stream.Topic(estA, stream.ResourceStudy), stream.Topic(estB, stream.ResourceStudy), stream.Topic(estA, stream.ResourceSubject)
	want := []ev{ // ordered by topic, partition, offset
		{st1, "N9", QualityUndecodable},
		{st1, "N8", QualityUndecodable},
		{st3, "a10", QualitySchemaVersion},
		{st3, "other", QualityKeyMismatch},
		{stream.Topic(estB, stream.ResourceSubject), "b9", QualityEstablishmentMismatch},
		{st2, "SY", QualityEstablishmentMismatch},
		{stream.Topic(estC, stream.ResourceSubject), "c9", QualityEstablishmentMismatch},
		{"it4ct.site.oops", "k", QualityBadTopic},
	}
	less := func(a, b ev) bool { return a.Topic+a.Key < b.Topic+b.Key }
	if d := cmp.Diff(want, got, cmpopts.SortSlices(less)); d != "" {
		t.Errorf("quality events (-want +got):\n%s", d)
	}
	if c := s.QualityCounts(); c[QualityEstablishmentMismatch] != 3 || c[QualityUndecodable] != 2 || c[QualitySchemaVersion] != 1 {
		t.Errorf("QualityCounts = %v", c)
	}

	// Only the good records changed the indicators: SZ (A, opened 2025) and a9.
	wantRows := append([]Row{}, base...)
	for i, r := range wantRows {
		if r.Year == 2025 && r.Establishment == estA {
			wantRows[i].A2.Site++ // SZ opened 2025
			wantRows[i].A3++      // a9
			wantRows[i].A4++      // a9 is in N1, sponsored by A
			// A1 site already counts N1 in 2025 through S1A.
		}
	}
	if d := cmp.Diff(wantRows, summary(t, s)); d != "" {
		t.Errorf("rows after rejected records (-want +got):\n%s", d)
	}
	// Offsets moved past the rejected records too.
	offs, err := s.Committed(context.Background(), "it4ct.site.oops")
	if err != nil || offs[0] != 1 {
		t.Errorf("Committed(bad topic) = %v, %v; want partition 0 at 1", offs, err)
	}
}

func TestServerReads(t *testing.T) {
	s, _ := newService(t)
	var l log
	handle(t, s, l.add(t, fixture()...))
	ctx := context.Background()

	j, found, err := s.Resource(ctx, stream.ResourceStudy, "N2")
	if err != nil || !found {
		t.Fatalf("Resource(N2) found=%v err=%v", found, err)
	}
	var v mapping.StudyView
	if err := json.Unmarshal(j, &v); err != nil || v.Study.SponsorFINESS != estB {
		t.Errorf("Resource(N2) = %s; want B's own version (sponsor %s)", j, estB)
	}
	for _, tc := range []struct {
		typ, id string
		found   bool
	}{
		{stream.ResourceStudy, "S1C", true},
		{stream.ResourceSubject, "c2", true},
		{stream.ResourceStudy, "nope", false},
		{"Patient", "a1", false},
	} {
		if _, found, err := s.Resource(ctx, tc.typ, tc.id); err != nil || found != tc.found {
			t.Errorf("Resource(%s, %s) found=%v err=%v, want found=%v", tc.typ, tc.id, found, err, tc.found)
		}
	}

	ids := func(bs [][]byte) []string {
		var out []string
		for _, b := range bs {
			var x struct{ ID string }
			if err := json.Unmarshal(b, &x); err != nil {
				t.Fatal(err)
			}
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		system, value string
		want          []string
	}{
		{mapping.SystemNCT, "NCT00000002", []string{"N2"}},
		{mapping.SystemNCTLegacy, "NCT00000004", []string{"N4"}},
		{"", "NCT00000001", []string{"N1"}},
		{mapping.SystemEUCT, "NCT00000001", nil},
	} {
		got, err := s.StudiesByIdentifier(ctx, tc.system, tc.value)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, ids(got)); d != "" {
			t.Errorf("StudiesByIdentifier(%q, %q) (-want +got):\n%s", tc.system, tc.value, d)
		}
	}
	for _, tc := range []struct {
		study string
		want  []string
	}{
		{"S1A", []string{"a1", "a2", "a3", "a4"}},
		{"N1", []string{"a1", "a2", "a3", "a4", "b1"}}, // S1C has no subject
		{"N2", []string{"b2", "b3"}},
		{"SX", nil}, // c2's site study was never published
	} {
		got, err := s.SubjectsByStudy(ctx, tc.study)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, ids(got)); d != "" {
			t.Errorf("SubjectsByStudy(%s) (-want +got):\n%s", tc.study, d)
		}
	}
}
