package indicators

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
)

// Identifier kinds used to reconcile national studies, strongest first
// (domain/sigrec.md, "Study reconciliation").
const (
	KindEUCT        = "eu-ct"
	KindIDRCB       = "id-rcb"
	KindEudraCT     = "eudract"
	KindNCT         = "nct"
	KindSponsorCode = "sponsor-code"
	// KindStudyID is not an identifier kind: it marks a conflict between
	// versions that already share a national study id (they are one study
	// by construction and stay merged; the conflict is still reported).
	KindStudyID = "study-id"
)

// kindRank orders the kinds by strength (lower is stronger).
var kindRank = map[string]int{KindEUCT: 0, KindIDRCB: 1, KindEudraCT: 2, KindNCT: 3, KindSponsorCode: 4, KindStudyID: 5}

// StudyRef names one establishment's version of a national study.
type StudyRef struct {
	Establishment string `json:"establishment"`
	StudyID       string `json:"study_id"`
}

// ConflictSide is one of the two values of a conflict and the versions,
// within the would-be merged group on that side, that carry it.
type ConflictSide struct {
	Value   string     `json:"value"`
	Studies []StudyRef `json:"studies"`
}

// Conflict is a data-quality finding of the reconciliation: two groups of
// national study versions are linked by a shared identifier (Via) but carry
// two different values of the same identifier kind (Kind), so they were not
// merged. Sides are ordered by value. For Via.Kind == KindStudyID the
// versions share a national study id and are counted as one study anyway.
type Conflict struct {
	Kind  string          `json:"kind"`
	Via   IdentifierValue `json:"via"`
	Sides [2]ConflictSide `json:"sides"`
}

// IdentifierValue is a normalised identifier: a kind and its value. The value
// of a sponsor code is "SPONSOR KEY|CODE".
type IdentifierValue struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Reconciliation maps every national study id to the key of its reconciled
// study: the smallest national id of its group.
type Reconciliation struct {
	Key       map[string]string
	Conflicts []Conflict
}

// StudyKey returns the reconciled key of a national study id; an id that was
// not reconciled (no version known) stands for itself.
func (r *Reconciliation) StudyKey(id string) string {
	if k, ok := r.Key[id]; ok {
		return k
	}
	return id
}

// identifierValues extracts the normalised reconciliation identifiers of one
// version, deduplicated and sorted. A sponsor code is only usable together
// with exactly one sponsor key (the FINESS or normalised name of its issuer).
func identifierValues(ids []store.Identifier) []IdentifierValue {
	var out []IdentifierValue
	var codes, keys []string
	for _, x := range ids {
		v := strings.ToUpper(strings.TrimSpace(x.Value))
		if v == "" {
			continue
		}
		switch x.System {
		case mapping.SystemEUCT:
			out = append(out, IdentifierValue{KindEUCT, v})
		case mapping.SystemIDRCB:
			out = append(out, IdentifierValue{KindIDRCB, v})
		case mapping.SystemEudraCT:
			out = append(out, IdentifierValue{KindEudraCT, v})
		case mapping.SystemNCT, mapping.SystemNCTLegacy:
			out = append(out, IdentifierValue{KindNCT, v})
		case mapping.SystemSponsorCode:
			codes = append(codes, v)
		case mapping.SystemSponsorKey:
			keys = append(keys, v)
		}
	}
	slices.Sort(keys)
	if keys = slices.Compact(keys); len(keys) == 1 {
		for _, c := range codes {
			out = append(out, IdentifierValue{KindSponsorCode, keys[0] + "|" + c})
		}
	}
	slices.SortFunc(out, compareIdentifier)
	return slices.Compact(out)
}

func compareIdentifier(a, b IdentifierValue) int {
	return cmp.Or(cmp.Compare(kindRank[a.Kind], kindRank[b.Kind]), cmp.Compare(a.Value, b.Value))
}

// slot is where a group holds the one value it may have of a kind: the kind
// itself, or for a sponsor code the kind and the sponsor key (two sponsor
// codes issued by different keys do not conflict).
func slot(x IdentifierValue) string {
	if x.Kind == KindSponsorCode {
		key, _, _ := strings.Cut(x.Value, "|")
		return x.Kind + "|" + key
	}
	return x.Kind
}

// Reconcile groups the reported versions of national studies into reconciled
// studies. Two versions are the same study when they have the same national
// id, or share an identifier value of the same kind (EU CT, ID-RCB, EudraCT,
// NCT, or sponsor code issued by the same sponsor key), transitively, unless
// the merge would put two different values of one kind in the same group
// (two sponsor codes conflict only under the same sponsor key): then the link
// is not followed and a Conflict is reported. Links are tried strongest kind
// first, then by value and by (id, establishment), so the result does not
// depend on the order of versions.
func Reconcile(versions []store.NationalStudy) Reconciliation {
	vs := slices.Clone(versions)
	slices.SortFunc(vs, func(a, b store.NationalStudy) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Establishment, b.Establishment))
	})
	vs = slices.CompactFunc(vs, func(a, b store.NationalStudy) bool { return a.ID == b.ID && a.Establishment == b.Establishment })

	n := len(vs)
	parent := make([]int, n)
	slots := make([]map[string]string, n)  // group root -> slot -> value
	members := make([][]int, n)            // group root -> versions
	vals := make([][]IdentifierValue, n)   // version -> identifiers
	holders := map[IdentifierValue][]int{} // identifier -> versions
	var conflicts []Conflict
	seen := map[string]bool{}
	for i := range vs {
		parent[i], members[i], slots[i] = i, []int{i}, map[string]string{}
		vals[i] = identifierValues(vs[i].Identifiers)
		for _, x := range vals[i] {
			holders[x] = append(holders[x], i)
		}
	}
	var find func(int) int
	find = func(i int) int {
		if parent[i] != i {
			parent[i] = find(parent[i])
		}
		return parent[i]
	}
	// side lists the versions of group g carrying value x.
	side := func(g int, x IdentifierValue) ConflictSide {
		s := ConflictSide{Value: x.Value}
		for _, m := range members[g] {
			if slices.Contains(vals[m], x) {
				s.Studies = append(s.Studies, StudyRef{Establishment: vs[m].Establishment, StudyID: vs[m].ID})
			}
		}
		slices.SortFunc(s.Studies, func(a, b StudyRef) int {
			return cmp.Or(cmp.Compare(a.StudyID, b.StudyID), cmp.Compare(a.Establishment, b.Establishment))
		})
		return s
	}
	report := func(via IdentifierValue, ga, gb int, kind, va, vb string) {
		a, b := side(ga, IdentifierValue{kind, va}), side(gb, IdentifierValue{kind, vb})
		if a.Value > b.Value {
			a, b = b, a
		}
		c := Conflict{Kind: kind, Via: via, Sides: [2]ConflictSide{a, b}}
		k := fmt.Sprint(c)
		if !seen[k] {
			seen[k] = true
			conflicts = append(conflicts, c)
		}
	}
	// clashes lists the slots where groups a and b hold different values.
	clashes := func(a, b int) []string {
		var out []string
		for s, va := range slots[a] {
			if vb, ok := slots[b][s]; ok && vb != va {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return out
	}
	union := func(a, b int) {
		if b < a {
			a, b = b, a
		}
		parent[b] = a
		members[a] = append(members[a], members[b]...)
		for s, v := range slots[b] {
			if _, ok := slots[a][s]; !ok {
				slots[a][s] = v
			}
		}
		members[b], slots[b] = nil, nil
	}
	kindOfSlot := func(s string) string { k, _, _ := strings.Cut(s, "|"); return k }

	// Each version fills its own slots; a version carrying two values of
	// one kind keeps the strongest-sorted (smallest) one in the slot.
	for i := range vs {
		for _, x := range vals[i] {
			if _, ok := slots[i][slot(x)]; !ok {
				slots[i][slot(x)] = x.Value
			}
		}
	}
	// Versions with the same national id are one study by construction.
	for i := 1; i < n; i++ {
		if vs[i].ID != vs[i-1].ID {
			continue
		}
		a, b := find(i-1), find(i)
		for _, s := range clashes(a, b) {
			report(IdentifierValue{KindStudyID, vs[i].ID}, a, b, kindOfSlot(s), slots[a][s], slots[b][s])
		}
		union(a, b)
	}
	// Shared identifiers, strongest first.
	keys := make([]IdentifierValue, 0, len(holders))
	for x := range holders {
		keys = append(keys, x)
	}
	slices.SortFunc(keys, compareIdentifier)
	for _, x := range keys {
		hs := holders[x]
		for i := 1; i < len(hs); i++ {
			for j := 0; j < i; j++ {
				a, b := find(hs[j]), find(hs[i])
				if a == b {
					break
				}
				cl := clashes(a, b)
				if len(cl) == 0 {
					union(a, b)
					break
				}
				for _, s := range cl {
					report(x, a, b, kindOfSlot(s), slots[a][s], slots[b][s])
				}
			}
		}
	}

	r := Reconciliation{Key: make(map[string]string, n), Conflicts: conflicts}
	for i := range vs {
		// members are sorted by (id, establishment) at the root: the
		// root is the smallest index, hence the smallest id.
		r.Key[vs[i].ID] = vs[find(i)].ID
	}
	slices.SortFunc(r.Conflicts, func(a, b Conflict) int {
		return cmp.Or(cmp.Compare(kindRank[a.Kind], kindRank[b.Kind]), cmp.Compare(a.Sides[0].Value, b.Sides[0].Value),
			cmp.Compare(a.Sides[1].Value, b.Sides[1].Value), compareIdentifier(a.Via, b.Via))
	})
	return r
}

// Conflicts returns the identifier conflicts found when reconciling the
// national studies reported by every establishment (data-quality output).
func (s *Service) Conflicts(ctx context.Context) ([]Conflict, error) {
	all, err := s.st.NationalStudies(ctx)
	if err != nil {
		return nil, fmt.Errorf("indicators: conflicts: %w", err)
	}
	out := Reconcile(all).Conflicts
	if out == nil {
		out = []Conflict{}
	}
	return out, nil
}
