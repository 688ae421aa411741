// Package storetest is the contract suite every store.Store implementation
// runs: upserts, deletes, offsets stored atomically with the state, reopen
// persistence and the read path.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fr-it4ct/it4ct/store"
)

// Run runs the suite. open opens the implementation's database for the
// calling test: the first call within a test returns an empty store, later
// calls within the same test reopen that same database (the suite closes a
// store before reopening it).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"ApplyAndRead", testApplyAndRead},
		{"UpsertReplaces", testUpsertReplaces},
		{"Delete", testDelete},
		{"LevelChange", testLevelChange},
		{"EstablishmentsIsolated", testEstablishmentsIsolated},
		{"Offsets", testOffsets},
		{"FailedApplyChangesNothing", testFailedApply},
		{"ReopenPersists", testReopen},
		{"InclusionCounts", testInclusionCounts},
		{"QualityEventsReplay", testQualityReplay},
		{"SiteQualityLatestWins", testSiteQuality},
		{"LargeBatch", testLargeBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

const (
	estA = "350000007"
	estB = "690000008"
)

func national(est, id, sponsor string, ids ...store.Identifier) store.Change {
	return store.Change{Kind: store.KindStudy, Establishment: est, ID: id, NationalStudy: &store.NationalStudy{
		Establishment: est, ID: id, SponsorFINESS: sponsor, SponsorType: "academic", Category: "RIPH1", Phase: "II",
		Status: "recruiting", Identifiers: ids, JSON: fmt.Appendf(nil, `{"resourceType":"ResearchStudy","id":%q,"reportedBy":%q}`, id, est),
	}}
}

func site(est, id, nat, opened, closed string) store.Change {
	return store.Change{Kind: store.KindStudy, Establishment: est, ID: id, SiteStudy: &store.SiteStudy{
		Establishment: est, ID: id, NationalID: nat, Role: "investigating-site", Status: "recruiting",
		Opened: opened, Closed: closed, JSON: fmt.Appendf(nil, `{"resourceType":"ResearchStudy","id":%q,"partOf":%q}`, id, nat),
	}}
}

func subject(est, id, siteStudy, date, status string) store.Change {
	return store.Change{Kind: store.KindSubject, Establishment: est, ID: id, Subject: &store.Subject{
		Establishment: est, ID: id, SiteStudyID: siteStudy, InclusionDate: date, Status: status,
		JSON: fmt.Appendf(nil, `{"resourceType":"ResearchSubject","id":%q}`, id),
	}}
}

func del(kind store.Kind, est, id string) store.Change {
	return store.Change{Kind: kind, Establishment: est, ID: id, Delete: true}
}

func apply(t *testing.T, st store.Store, changes []store.Change, offs ...store.Offset) {
	t.Helper()
	if err := st.Apply(context.Background(), changes, offs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// snapshot reads everything observable through the read path.
type snapshot struct {
	National []store.NationalStudy
	Versions map[string][]store.NationalStudy
	Sites    []store.SiteStudy
	Subjects map[string][]store.Subject
	Counts   []store.InclusionCount
	Quality  []store.QualityEvent
	Offsets  map[int32]int64
}

func snap(t *testing.T, st store.Store, topic string) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	must := func(e error) {
		t.Helper()
		if e != nil {
			t.Fatal(e)
		}
	}
	s.National, err = st.NationalStudies(ctx)
	must(err)
	s.Versions = map[string][]store.NationalStudy{}
	for _, n := range s.National {
		s.Versions[n.ID], err = st.NationalStudyVersions(ctx, n.ID)
		must(err)
	}
	s.Sites, err = st.SiteStudies(ctx)
	must(err)
	s.Subjects = map[string][]store.Subject{}
	for _, x := range s.Sites {
		subs, err := st.SubjectsBySiteStudy(ctx, x.Establishment, x.ID)
		must(err)
		s.Subjects[x.Establishment+"/"+x.ID] = subs
	}
	s.Counts, err = st.InclusionCounts(ctx, "0000-01-01", "9999-12-31")
	must(err)
	s.Quality, err = st.QualityEvents(ctx)
	must(err)
	s.Offsets, err = st.Offsets(ctx, topic)
	must(err)
	return s
}

func testApplyAndRead(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	idrcb := store.Identifier{System: "urn:it4ct:idrcb", Value: "2024-A00001-35"}
	nct := store.Identifier{System: "https://clinicaltrials.gov/nctid", Value: "NCT00000001"}
	apply(t, st, []store.Change{
		national(estA, "s1", estA, idrcb, nct),
		national(estB, "s1", estA, idrcb),
		national(estB, "s2", "", store.Identifier{System: "urn:other", Value: "2024-A00001-35"}),
		site(estA, "s1-a", "s1", "2024-01-10", ""),
		site(estB, "s1-b", "s1", "2024-03-01", "2024-12-31"),
		subject(estA, "p1", "s1-a", "2024-02-01", "included"),
		subject(estA, "p2", "s1-a", "2024-02-02", "screen-failed"),
		subject(estB, "p3", "s1-b", "2024-04-01", "withdrawn"),
	})

	nat, err := st.NationalStudies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range nat {
		if n.JSON != nil {
			t.Errorf("NationalStudies returned JSON for %s/%s; it must not", n.Establishment, n.ID)
		}
		got = append(got, n.ID+"@"+n.Establishment+" sponsor="+n.SponsorFINESS)
	}
	want := []string{"s1@" + estA + " sponsor=" + estA, "s1@" + estB + " sponsor=" + estA, "s2@" + estB + " sponsor="}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("NationalStudies (-want +got):\n%s", d)
	}

	vs, err := st.NationalStudyVersions(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Establishment != estA || vs[1].Establishment != estB {
		t.Fatalf("NationalStudyVersions(s1) = %+v, want versions from %s then %s", vs, estA, estB)
	}
	wantIDs := []store.Identifier{nct, idrcb} // ordered by system
	if d := cmp.Diff(wantIDs, vs[0].Identifiers); d != "" {
		t.Errorf("identifiers of s1@A (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantIDs, nat[0].Identifiers); d != "" {
		t.Errorf("NationalStudies: identifiers of s1@A (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]store.Identifier{idrcb}, nat[1].Identifiers); d != "" {
		t.Errorf("NationalStudies: identifiers of s1@B (-want +got):\n%s", d)
	}
	if want := fmt.Sprintf(`{"resourceType":"ResearchStudy","id":"s1","reportedBy":%q}`, estB); string(vs[1].JSON) != want {
		t.Errorf("JSON of s1@B = %s, want %s", vs[1].JSON, want)
	}

	for _, tc := range []struct {
		system, value string
		want          []string
	}{
		{idrcb.System, idrcb.Value, []string{"s1"}},
		{"", idrcb.Value, []string{"s1", "s2"}},
		{nct.System, nct.Value, []string{"s1"}},
		{nct.System, idrcb.Value, nil},
		{"", "nothing", nil},
	} {
		ids, err := st.NationalStudyIDsByIdentifier(ctx, tc.system, tc.value)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, ids); d != "" {
			t.Errorf("NationalStudyIDsByIdentifier(%q, %q) (-want +got):\n%s", tc.system, tc.value, d)
		}
	}

	sites, err := st.SiteStudiesOf(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	wantSites := []store.SiteStudy{*site(estA, "s1-a", "s1", "2024-01-10", "").SiteStudy, *site(estB, "s1-b", "s1", "2024-03-01", "2024-12-31").SiteStudy}
	if d := cmp.Diff(wantSites, sites); d != "" {
		t.Errorf("SiteStudiesOf(s1) (-want +got):\n%s", d)
	}
	byID, err := st.SiteStudiesByID(ctx, "s1-b")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantSites[1:], byID); d != "" {
		t.Errorf("SiteStudiesByID(s1-b) (-want +got):\n%s", d)
	}
	ests, err := st.SiteStudyEstablishments(ctx, []string{"s1-a", "s1-b", "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string][]string{"s1-a": {estA}, "s1-b": {estB}}, ests); d != "" {
		t.Errorf("SiteStudyEstablishments (-want +got):\n%s", d)
	}

	subs, err := st.SubjectsBySiteStudy(ctx, estA, "s1-a")
	if err != nil {
		t.Fatal(err)
	}
	wantSubs := []store.Subject{*subject(estA, "p1", "s1-a", "2024-02-01", "included").Subject, *subject(estA, "p2", "s1-a", "2024-02-02", "screen-failed").Subject}
	if d := cmp.Diff(wantSubs, subs); d != "" {
		t.Errorf("SubjectsBySiteStudy (-want +got):\n%s", d)
	}
	// The site study belongs to A: B reports nothing for it.
	if subs, err := st.SubjectsBySiteStudy(ctx, estB, "s1-a"); err != nil || len(subs) != 0 {
		t.Errorf("SubjectsBySiteStudy(B, s1-a) = %v, %v; want none", subs, err)
	}
	one, err := st.SubjectsByID(ctx, "p3")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]store.Subject{*subject(estB, "p3", "s1-b", "2024-04-01", "withdrawn").Subject}, one); d != "" {
		t.Errorf("SubjectsByID(p3) (-want +got):\n%s", d)
	}
}

func testUpsertReplaces(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	old := store.Identifier{System: "urn:x", Value: "old"}
	apply(t, st, []store.Change{national(estA, "s1", estA, old), subject(estA, "p1", "x", "2024-01-01", "included")})
	// Same key again in later batches, and twice within one batch: the last wins.
	n2 := national(estA, "s1", estB, store.Identifier{System: "urn:x", Value: "new"})
	apply(t, st, []store.Change{
		subject(estA, "p1", "x", "2023-01-01", "screen-failed"),
		national(estA, "s1", "ignored"),
		n2,
		subject(estA, "p1", "y", "2025-06-30", "completed"),
	})
	vs, err := st.NationalStudyVersions(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].SponsorFINESS != estB {
		t.Fatalf("after upserts, versions = %+v; want one with sponsor %s", vs, estB)
	}
	for value, want := range map[string][]string{"old": nil, "new": {"s1"}} {
		ids, err := st.NationalStudyIDsByIdentifier(ctx, "urn:x", value)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, ids); d != "" {
			t.Errorf("identifier %q after replacement (-want +got):\n%s", value, d)
		}
	}
	subs, err := st.SubjectsByID(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]store.Subject{*subject(estA, "p1", "y", "2025-06-30", "completed").Subject}, subs); d != "" {
		t.Errorf("subject after upserts (-want +got):\n%s", d)
	}
}

func testDelete(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	apply(t, st, []store.Change{
		national(estA, "s1", estA, store.Identifier{System: "urn:x", Value: "v"}),
		site(estA, "s1-a", "s1", "2024-01-01", ""),
		subject(estA, "p1", "s1-a", "2024-01-01", "included"),
		subject(estA, "p2", "s1-a", "2024-01-02", "included"),
	})
	apply(t, st, []store.Change{
		del(store.KindStudy, estA, "s1"),
		del(store.KindStudy, estA, "s1-a"),
		del(store.KindSubject, estA, "p1"),
		del(store.KindSubject, estA, "never-existed"),
		del(store.KindStudy, estB, "never-existed"),
	})
	s := snap(t, st, "t")
	if len(s.National) != 0 || len(s.Sites) != 0 {
		t.Errorf("after deletes: national %v, sites %v; want none", s.National, s.Sites)
	}
	if ids, err := st.NationalStudyIDsByIdentifier(ctx, "", "v"); err != nil || len(ids) != 0 {
		t.Errorf("identifier of deleted study still found: %v, %v", ids, err)
	}
	subs, err := st.SubjectsByID(ctx, "p1")
	if err != nil || len(subs) != 0 {
		t.Errorf("deleted subject p1 still there: %v, %v", subs, err)
	}
	subs, err = st.SubjectsByID(ctx, "p2")
	if err != nil || len(subs) != 1 {
		t.Errorf("subject p2 = %v, %v; want it kept", subs, err)
	}
	// Delete then re-create within one batch: the last change wins.
	apply(t, st, []store.Change{del(store.KindSubject, estA, "p2"), subject(estA, "p2", "s1-a", "2024-05-05", "included")})
	apply(t, st, []store.Change{subject(estA, "p3", "s1-a", "2024-05-05", "included"), del(store.KindSubject, estA, "p3")})
	for id, want := range map[string]int{"p2": 1, "p3": 0} {
		subs, err := st.SubjectsByID(ctx, id)
		if err != nil || len(subs) != want {
			t.Errorf("SubjectsByID(%s) = %v, %v; want %d", id, subs, err, want)
		}
	}
}

func testLevelChange(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	apply(t, st, []store.Change{national(estA, "k", estA)})
	apply(t, st, []store.Change{site(estA, "k", "n", "2024-01-01", "")})
	if vs, err := st.NationalStudyVersions(ctx, "k"); err != nil || len(vs) != 0 {
		t.Errorf("national row survived a site-level upsert of the same key: %v, %v", vs, err)
	}
	if ss, err := st.SiteStudiesByID(ctx, "k"); err != nil || len(ss) != 1 {
		t.Errorf("SiteStudiesByID(k) = %v, %v; want 1", ss, err)
	}
	apply(t, st, []store.Change{national(estA, "k", estA)})
	if ss, err := st.SiteStudiesByID(ctx, "k"); err != nil || len(ss) != 0 {
		t.Errorf("site row survived a national upsert of the same key: %v, %v", ss, err)
	}
}

func testEstablishmentsIsolated(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	apply(t, st, []store.Change{
		national(estA, "s", estA), national(estB, "s", estA),
		subject(estA, "p", "x", "2024-01-01", "included"), subject(estB, "p", "y", "2024-01-01", "included"),
	})
	// A tombstone on B's topic removes B's rows only.
	apply(t, st, []store.Change{del(store.KindStudy, estB, "s"), del(store.KindSubject, estB, "p")})
	vs, err := st.NationalStudyVersions(ctx, "s")
	if err != nil || len(vs) != 1 || vs[0].Establishment != estA {
		t.Errorf("versions of s = %v, %v; want only %s's", vs, err, estA)
	}
	subs, err := st.SubjectsByID(ctx, "p")
	if err != nil || len(subs) != 1 || subs[0].Establishment != estA {
		t.Errorf("subjects p = %v, %v; want only %s's", subs, err, estA)
	}
}

func testOffsets(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	got, err := st.Offsets(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("Offsets of a new store = %v, want empty", got)
	}
	apply(t, st, nil, off("t1", 0, 10), off("t1", 2, 5), off("t2", 0, 99))
	apply(t, st, []store.Change{subject(estA, "p", "x", "", "included")},
		off("t1", 0, 11), off("t1", 0, 12), off("t1", 1, 1))
	for topic, want := range map[string]map[int32]int64{
		"t1": {0: 12, 1: 1, 2: 5},
		"t2": {0: 99},
		"t3": {},
	} {
		got, err := st.Offsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Offsets(%s) (-want +got):\n%s", topic, d)
		}
	}
}

func testFailedApply(t *testing.T, open func(t *testing.T) store.Store) {
	st := open(t)
	defer st.Close()
	apply(t, st, []store.Change{national(estA, "s0", estA), subject(estA, "p0", "x", "2024-01-01", "included")},
		off("t", 0, 2))
	before := snap(t, st, "t")

	// Studies are written before subjects; the subject with an empty id
	// violates a constraint, so the transaction fails after writing some
	// rows. Nothing of it may remain, offsets included.
	bad := subject(estA, "", "x", "2024-01-01", "included")
	err := st.Apply(context.Background(), []store.Change{
		national(estA, "s1", estA, store.Identifier{System: "urn:x", Value: "v"}),
		site(estA, "s1-a", "s1", "2024-01-01", ""),
		del(store.KindStudy, estA, "s0"),
		subject(estA, "p1", "s1-a", "2024-01-01", "included"),
		bad,
	}, []store.Offset{off("t", 0, 7), off("t", 1, 3)})
	if err == nil {
		t.Fatal("Apply with a constraint-violating change succeeded; want an error")
	}
	after := snap(t, st, "t")
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("a failed Apply changed the store (-before +after):\n%s", d)
	}
	// A cancelled context fails too, and changes nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Apply(ctx, []store.Change{national(estA, "s9", estA)}, []store.Offset{off("t", 0, 9)}); err == nil {
		t.Error("Apply with a cancelled context succeeded; want an error")
	}
	if d := cmp.Diff(before, snap(t, st, "t")); d != "" {
		t.Errorf("a cancelled Apply changed the store (-before +after):\n%s", d)
	}
	// An invalid change is refused before anything is written.
	if err := st.Apply(context.Background(), []store.Change{{Kind: store.KindSubject, Establishment: estA, ID: "p"}}, nil); err == nil {
		t.Error("Apply of a subject upsert without Subject succeeded; want an error")
	}
}

func testReopen(t *testing.T, open func(t *testing.T) store.Store) {
	st := open(t)
	apply(t, st, []store.Change{
		national(estA, "s1", estA, store.Identifier{System: "urn:x", Value: "v"}),
		site(estA, "s1-a", "s1", "2024-01-01", ""),
		subject(estA, "p1", "s1-a", "2024-01-01", "included"),
		{Kind: store.KindQuality, Quality: &store.QualityEvent{Topic: "t", Partition: 0, Offset: 3, Establishment: estA, RecordKey: "k", Code: "undecodable", Reason: "bad json"}},
	}, off("t", 0, 4))
	want := snap(t, st, "t")
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st2 := open(t)
	defer st2.Close()
	if d := cmp.Diff(want, snap(t, st2, "t")); d != "" {
		t.Errorf("state after reopen differs (-before +after):\n%s", d)
	}
	if len(want.National) != 1 || len(want.Sites) != 1 || len(want.Quality) != 1 || want.Offsets[0] != 4 {
		t.Errorf("fixture not stored as expected: %+v", want)
	}
}

func testInclusionCounts(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	apply(t, st, []store.Change{
		subject(estA, "p1", "sa", "2023-12-31", "included"),      // before the range
		subject(estA, "p2", "sa", "2024-01-01", "included"),      // first day: counts
		subject(estA, "p3", "sa", "2024-12-31", "withdrawn"),     // last day, withdrawn: counts
		subject(estA, "p4", "sa", "2024-06-01", "screen-failed"), // never counts
		subject(estA, "p5", "sa", "", "included"),                // no date: never counts
		subject(estA, "p6", "sb", "2024-06-01", "completed"),
		subject(estB, "p7", "sa", "2024-06-01", "included"),
		subject(estA, "p8", "sa", "2025-01-01", "included"), // after the range
	})
	got, err := st.InclusionCounts(ctx, "2024-01-01", "2024-12-31")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.InclusionCount{cnt(estA, "sa", 2), cnt(estA, "sb", 1), cnt(estB, "sa", 1)}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("InclusionCounts 2024 (-want +got):\n%s", d)
	}
}

func testQualityReplay(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	q := func(off int64, code string) store.Change {
		return store.Change{Kind: store.KindQuality, Quality: &store.QualityEvent{Topic: "t", Partition: 1, Offset: off, Establishment: estA, RecordKey: "k", Code: code, Reason: "r"}}
	}
	batch := []store.Change{q(5, "undecodable"), q(6, "establishment-mismatch")}
	apply(t, st, batch)
	apply(t, st, batch)
	got, err := st.QualityEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range got {
		codes = append(codes, fmt.Sprintf("%d:%s", e.Offset, e.Code))
	}
	if d := cmp.Diff([]string{"5:undecodable", "6:establishment-mismatch"}, codes); d != "" {
		t.Errorf("quality events after a replay (-want +got):\n%s", d)
	}
	if err := st.Apply(ctx, []store.Change{q(7, "")}, nil); err == nil {
		t.Error("a quality event without code was stored; want a constraint error")
	}
}

func testSiteQuality(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	rep := func(est, src, at string, total int64, counts map[string]int64) store.Change {
		return store.Change{Kind: store.KindSiteQuality, Establishment: est, ID: src, SiteQuality: &store.SiteQuality{
			Establishment: est, Source: src, RunAt: at, TotalRecords: total, Counts: counts}}
	}
	apply(t, st, []store.Change{
		rep(estA, "ctms", "2026-03-01T10:00:00Z", 100, map[string]int64{"bad-date": 3}),
		rep(estB, "ctms", "2026-03-01T10:00:00Z", 50, map[string]int64{}),
		rep(estA, "xls", "2026-03-01T10:00:00Z", 9, map[string]int64{"bad-date": 1}),
	})
	apply(t, st, []store.Change{
		rep(estA, "ctms", "2026-03-02T10:00:00Z", 101, map[string]int64{"bad-date": 1, "invalid-fhir": 2}),
		{Kind: store.KindSiteQuality, Establishment: estA, ID: "xls", Delete: true},
	})
	got, err := st.SiteQuality(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.SiteQuality{
		{Establishment: estA, Source: "ctms", RunAt: "2026-03-02T10:00:00Z", TotalRecords: 101, Counts: map[string]int64{"bad-date": 1, "invalid-fhir": 2}},
		{Establishment: estB, Source: "ctms", RunAt: "2026-03-01T10:00:00Z", TotalRecords: 50, Counts: map[string]int64{}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("site quality (-want +got):\n%s", d)
	}
	bad := rep(estA, "other", "x", 1, nil)
	bad.ID = "ctms"
	if err := st.Apply(ctx, []store.Change{bad}, nil); err == nil {
		t.Error("a report whose source differs from the change id was stored")
	}
}

func testLargeBatch(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	st := open(t)
	defer st.Close()
	const n = 1234 // more than one multi-row chunk
	var cs []store.Change
	for i := range n {
		status := "included"
		if i%10 == 0 {
			status = "screen-failed"
		}
		cs = append(cs, subject(estA, fmt.Sprintf("p%05d", (i*7919)%n), "sa", "2024-03-01", status))
	}
	apply(t, st, cs, off("t", 0, n))
	got, err := st.InclusionCounts(ctx, "2024-01-01", "2024-12-31")
	if err != nil {
		t.Fatal(err)
	}
	// (i*7919) mod 1234 is a permutation (7919 is prime, not a factor of
	// 1234), so all n ids are distinct; i%10==0 marks 124 screen failures.
	if want := []store.InclusionCount{cnt(estA, "sa", n-124)}; !slices.Equal(want, got) {
		t.Errorf("InclusionCounts after %d subjects = %v, want %v", n, got, want)
	}
	subs, err := st.SubjectsBySiteStudy(ctx, estA, "sa")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != n {
		t.Errorf("SubjectsBySiteStudy returned %d subjects, want %d", len(subs), n)
	}
}

func off(topic string, partition int32, next int64) store.Offset {
	return store.Offset{Topic: topic, Partition: partition, Next: next}
}

func cnt(est, siteStudy string, n int64) store.InclusionCount {
	return store.InclusionCount{Establishment: est, SiteStudyID: siteStudy, Count: n}
}
