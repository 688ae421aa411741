package mapping

import (
	"os"
	"strings"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/google/go-cmp/cmp"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/samples/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(baseStudy))
	f.Add([]byte(baseSubject))
	f.Add([]byte(`{"resourceType":"ResearchStudy","status":"active","partOf":[{"reference":"ResearchStudy/x"}],"site":[{}]}`))
}

// FuzzValidate: Validate never panics, is deterministic and only ever
// reports error or warning issues with a code.
func FuzzValidate(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		a := Validate(b)
		c := Validate(b)
		if len(a) != len(c) {
			t.Fatalf("not deterministic: %d vs %d issues", len(a), len(c))
		}
		for i, is := range a {
			if is != c[i] {
				t.Fatalf("not deterministic: %v vs %v", is, c[i])
			}
			if is.Code == "" || (is.Severity != SeverityError && is.Severity != SeverityWarning && is.Severity != SeverityInformation) {
				t.Fatalf("bad issue %+v", is)
			}
		}
	})
}

// FuzzDecodeResearchStudy: decoding never panics; a national study that
// decodes and can be mapped again decodes to the same canonical study
// (Map∘Decode is idempotent up to the trimming of title and sponsor name).
func FuzzDecodeResearchStudy(f *testing.F) {
	addSeeds(f)
	for _, b := range goldenOutputsF(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeResearchStudy(b)
		if err != nil {
			return
		}
		if v.Level != LevelNational && v.Level != LevelSite {
			t.Fatalf("level %q", v.Level)
		}
		_, _ = DecodeResearchSubject(b)
		if v.Level != LevelNational {
			return
		}
		res, err := testMapper(t, finessA).Map(canonical.Record{Study: &v.Study})
		if err != nil {
			return // e.g. no identifier at all: Map refuses, Decode need not
		}
		v2, err := DecodeResearchStudy(res[0].JSON)
		if err != nil {
			t.Fatalf("re-decode of mapped output: %v", err)
		}
		want := v.Study
		want.Title, want.SponsorName = strings.TrimSpace(want.Title), strings.TrimSpace(want.SponsorName)
		if d := cmp.Diff(want, v2.Study, ignoreProv); d != "" {
			t.Fatalf("decode/map/decode differs:\n%s", d)
		}
	})
}
