package indicators

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

func idf(system, value string) store.Identifier {
	return store.Identifier{System: system, Value: value}
}

func euct(v string) store.Identifier    { return idf(mapping.SystemEUCT, v) }
func idrcb(v string) store.Identifier   { return idf(mapping.SystemIDRCB, v) }
func eudract(v string) store.Identifier { return idf(mapping.SystemEudraCT, v) }
func nct(v string) store.Identifier     { return idf(mapping.SystemNCT, v) }

// code is a sponsor code as stored: the code and its issuer.
func code(key, c string) []store.Identifier {
	return []store.Identifier{idf(mapping.SystemSponsorCode, c), idf(mapping.SystemSponsorKey, key)}
}

func version(est, id string, ids ...store.Identifier) store.NationalStudy {
	return store.NationalStudy{Establishment: est, ID: id, Identifiers: ids}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name      string
		in        []store.NationalStudy
		want      map[string]string
		conflicts []Conflict
	}{
		{
			name: "transitive: A~B via NCT, B~C via ID-RCB",
			in: []store.NationalStudy{
				version(estA, "nA", nct("NCT00000001")),
				version(estB, "nB", idrcb("2024-A00001-35"), nct("NCT00000001")),
				version(estC, "nC", euct("2024-500001-11-00"), idrcb("2024-A00001-35")),
			},
			want: map[string]string{"nA": "nA", "nB": "nA", "nC": "nA"},
		},
		{
			name: "values are compared case- and space-insensitively, legacy NCT system too",
			in: []store.NationalStudy{
				version(estA, "n1", idf(mapping.SystemNCTLegacy, " nct00000001")),
				version(estB, "n2", nct("NCT00000001")),
			},
			want: map[string]string{"n1": "n1", "n2": "n1"},
		},
		{
			name: "different identifiers of different kinds only: not merged",
			in: []store.NationalStudy{
				version(estA, "n1", nct("NCT00000001")),
				version(estB, "n2", idrcb("2024-A00001-35")),
				version(estC, "n3", idf("urn:other", "NCT00000001")),
			},
			want: map[string]string{"n1": "n1", "n2": "n2", "n3": "n3"},
		},
		{
			name: "conflict: one NCT, two ID-RCB: not merged, reported",
			in: []store.NationalStudy{
				version(estA, "nX", idrcb("2024-A00001-35"), nct("NCT00000001")),
				version(estB, "nY", idrcb("2024-A00002-35"), nct("NCT00000001")),
			},
			want: map[string]string{"nX": "nX", "nY": "nY"},
			conflicts: []Conflict{{Kind: KindIDRCB, Via: IdentifierValue{KindNCT, "NCT00000001"}, Sides: [2]ConflictSide{
				{Value: "2024-A00001-35", Studies: []StudyRef{{estA, "nX"}}},
				{Value: "2024-A00002-35", Studies: []StudyRef{{estB, "nY"}}},
			}}},
		},
		{
			name: "conflict found through a transitive group; the NCT-only version joins the first group",
			in: []store.NationalStudy{
				version(estA, "n1", eudract("2020-000001-11"), nct("NCT00000001")),
				version(estB, "n2", eudract("2020-000002-22"), idrcb("2020-A00009-99")),
				version(estC, "n3", idrcb("2020-A00009-99"), nct("NCT00000001")),
				version(estC, "n4", nct("NCT00000001")),
			},
			// n2~n3 via ID-RCB first (stronger); then NCT links n1 with
			// {n2,n3}: the EudraCT values differ, so no merge; n4 joins n1.
			want: map[string]string{"n1": "n1", "n2": "n2", "n3": "n2", "n4": "n1"},
			conflicts: []Conflict{{Kind: KindEudraCT, Via: IdentifierValue{KindNCT, "NCT00000001"}, Sides: [2]ConflictSide{
				{Value: "2020-000001-11", Studies: []StudyRef{{estA, "n1"}}},
				{Value: "2020-000002-22", Studies: []StudyRef{{estB, "n2"}}},
			}}},
		},
		{
			name: "sponsor code merges only under the same sponsor key",
			in: []store.NationalStudy{
				version(estA, "n1", code("750000001", "PROTO-1")...),
				version(estB, "n2", code("750000001", "proto-1")...),
				version(estC, "n3", code("CHU EXEMPLE", "PROTO-1")...),
				version(estC, "n4", idf(mapping.SystemSponsorCode, "PROTO-1")), // no key: unusable
			},
			want: map[string]string{"n1": "n1", "n2": "n1", "n3": "n3", "n4": "n4"},
		},
		{
			name: "sponsor codes of different sponsor keys do not conflict",
			in: []store.NationalStudy{
				version(estA, "n1", append(code("750000001", "P-1"), nct("NCT00000002"))...),
				version(estB, "n2", append(code("CHU EXEMPLE", "X-9"), nct("NCT00000002"))...),
			},
			want: map[string]string{"n1": "n1", "n2": "n1"},
		},
		{
			name: "sponsor codes of one sponsor key conflict",
			in: []store.NationalStudy{
				version(estA, "n1", append(code("750000001", "P-1"), nct("NCT00000002"))...),
				version(estB, "n2", append(code("750000001", "P-2"), nct("NCT00000002"))...),
			},
			want: map[string]string{"n1": "n1", "n2": "n2"},
			conflicts: []Conflict{{Kind: KindSponsorCode, Via: IdentifierValue{KindNCT, "NCT00000002"}, Sides: [2]ConflictSide{
				{Value: "750000001|P-1", Studies: []StudyRef{{estA, "n1"}}},
				{Value: "750000001|P-2", Studies: []StudyRef{{estB, "n2"}}},
			}}},
		},
		{
			name: "versions of one national id stay one study; their conflict is reported",
			in: []store.NationalStudy{
				version(estA, "n1", idrcb("2024-A00001-35"), nct("NCT00000001")),
				version(estB, "n1", idrcb("2024-A00001-35"), nct("NCT00000009")),
			},
			want: map[string]string{"n1": "n1"},
			conflicts: []Conflict{{Kind: KindNCT, Via: IdentifierValue{KindStudyID, "n1"}, Sides: [2]ConflictSide{
				{Value: "NCT00000001", Studies: []StudyRef{{estA, "n1"}}},
				{Value: "NCT00000009", Studies: []StudyRef{{estB, "n1"}}},
			}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Reconcile(tc.in)
			if d := cmp.Diff(tc.want, r.Key); d != "" {
				t.Errorf("keys (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.conflicts, r.Conflicts); d != "" {
				t.Errorf("conflicts (-want +got):\n%s", d)
			}
		})
	}
}

// TestReconcileOrderIndependent shuffles a picture with transitive links and
// conflicts and checks every order gives the same answer.
func TestReconcileOrderIndependent(t *testing.T) {
	in := []store.NationalStudy{
		version(estA, "n1", eudract("2020-000001-11"), nct("NCT00000001")),
		version(estB, "n2", eudract("2020-000002-22"), idrcb("2020-A00009-99")),
		version(estC, "n3", idrcb("2020-A00009-99"), nct("NCT00000001")),
		version(estC, "n4", nct("NCT00000001")),
		version(estA, "n5", idrcb("2024-A00001-35"), nct("NCT00000005")),
		version(estB, "n6", idrcb("2024-A00002-35"), nct("NCT00000005")),
		version(estA, "n7", euct("2024-500001-11-00"), idrcb("2024-A00002-35")),
		version(estB, "n7", euct("2024-500001-11-00")),
		version(estC, "n8", append(code("750000001", "P-1"), euct("2024-500001-11-00"))...),
	}
	want := Reconcile(in)
	if len(want.Conflicts) < 2 || want.Key["n8"] != want.Key["n6"] || want.Key["n1"] == want.Key["n2"] {
		t.Fatalf("fixture does not exercise links and conflicts: %+v", want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		got := slices.Clone(in)
		rng.Shuffle(len(got), func(a, b int) { got[a], got[b] = got[b], got[a] })
		for j := range got {
			ids := slices.Clone(got[j].Identifiers)
			rng.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
			got[j].Identifiers = ids
		}
		r := Reconcile(got)
		if d := cmp.Diff(want, r); d != "" {
			t.Fatalf("shuffle %d: result differs (-first +shuffled):\n%s", i, d)
		}
	}
}

// natIDs is a national study version with full identifiers.
func natIDs(reportedBy, id, sponsor string, ids canonical.Identifiers) msg {
	return msg{est: reportedBy, typ: stream.ResourceStudy, key: id, value: mapping.StudyView{ID: id, Level: mapping.LevelNational,
		Study: canonical.Study{IDs: ids, SponsorFINESS: sponsor, Phase: canonical.PhaseII}}}
}

// TestIndicatorsReconciled: A knows the study by its NCT only, B (the
// sponsor) by its EU CT number and NCT, so they publish two national ids; the
// study is still one study sponsored by B.
func TestIndicatorsReconciled(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	var l log
	handle(t, s, l.add(t,
		natIDs(estA, "nat-nct", estC, canonical.Identifiers{NCT: "NCT01234567"}), // stale sponsor in A's version
		natIDs(estB, "nat-euct", estB, canonical.Identifiers{EUCT: "2024-500001-11-00", NCT: "NCT01234567"}),
		site(estA, "sa", "nat-nct", "2024-02-01", ""),
		site(estB, "sb", "nat-euct", "2024-03-01", ""),
		// A reports its site under B's national id too (same study).
		site(estA, "sa2", "nat-euct", "2024-05-01", ""),
		subj(estA, "p1", "sa", "2024-04-01", canonical.InclIncluded),
		subj(estB, "p2", "sb", "2024-04-02", canonical.InclIncluded),
		subj(estB, "p3", "sb", "2024-04-03", canonical.InclIncluded),
	))
	got, err := s.Indicators(ctx, 2024, "")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Row{}
	for _, r := range got.(AllRows).Establishments {
		rows[r.Establishment] = r
	}
	want := map[string]Row{
		// One study: A has it active once as a site; B sponsors it (its own
		// version wins over A's stale one) and gets all 3 inclusions once.
		estA: {Year: 2024, Establishment: estA, A1: Pair{Site: 1}, A2: Pair{Site: 2}, A3: 1},
		estB: {Year: 2024, Establishment: estB, A1: Pair{Site: 1, Sponsor: 1}, A2: Pair{Site: 1, Sponsor: 1}, A3: 2, A4: 3},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	cs, err := s.Conflicts(ctx)
	if err != nil || len(cs) != 0 {
		t.Errorf("Conflicts = %+v, %v; want none", cs, err)
	}
}

func TestServiceConflicts(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	var l log
	handle(t, s, l.add(t,
		natIDs(estA, "nX", estA, canonical.Identifiers{IDRCB: "2024-A00001-35", NCT: "NCT01234567"}),
		natIDs(estB, "nY", estB, canonical.Identifiers{IDRCB: "2024-A00002-35", NCT: "NCT01234567"}),
		site(estA, "sa", "nX", "2024-02-01", ""),
		site(estB, "sb", "nY", "2024-03-01", ""),
	))
	cs, err := s.Conflicts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Conflict{{Kind: KindIDRCB, Via: IdentifierValue{KindNCT, "NCT01234567"}, Sides: [2]ConflictSide{
		{Value: "2024-A00001-35", Studies: []StudyRef{{estA, "nX"}}},
		{Value: "2024-A00002-35", Studies: []StudyRef{{estB, "nY"}}},
	}}}
	if d := cmp.Diff(want, cs); d != "" {
		t.Errorf("Conflicts (-want +got):\n%s", d)
	}
	// Not merged: each establishment sponsors its own study.
	got, err := s.Indicators(ctx, 2024, estA)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.(Row); r.A1.Sponsor != 1 || r.A1.Site != 1 {
		t.Errorf("A1 of %s = %+v, want site 1 sponsor 1", estA, r.A1)
	}
}
