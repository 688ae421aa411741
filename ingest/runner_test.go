package ingest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

const finess = "990000013"

// sliceSource serves n inclusions in batches of size, cursor = index.
type sliceSource struct {
	n, size, pos int
	badAt        map[int]bool // positions emitted as rejects
}

func (s *sliceSource) Open(_ context.Context, c connectors.Cursor) error {
	s.pos = 0
	if c != nil {
		p, err := strconv.Atoi(string(c))
		if err != nil {
			return err
		}
		s.pos = p
	}
	return nil
}

func (s *sliceSource) Read(ctx context.Context) (connectors.Batch, error) {
	if err := ctx.Err(); err != nil {
		return connectors.Batch{}, err
	}
	if s.pos >= s.n {
		return connectors.Batch{}, connectors.ErrEndOfInput
	}
	var b connectors.Batch
	for i := 0; i < s.size && s.pos < s.n; i++ {
		prov := canonical.Provenance{Source: "src", Establishment: finess, File: "inclusions.csv", Line: s.pos + 2}
		if s.badAt[s.pos] {
			b.Rejects = append(b.Rejects, canonical.Reject{Prov: prov, Column: "Date", Code: "bad-date", Reason: "bad", Fix: "fix it"})
		} else {
			b.Records = append(b.Records, canonical.Record{Inclusion: &canonical.Inclusion{
				Establishment: finess, LocalSubjectID: fmt.Sprintf("P-%04d", s.pos), Prov: prov}})
		}
		s.pos++
	}
	b.Cursor = connectors.Cursor(strconv.Itoa(s.pos))
	return b, nil
}

func (s *sliceSource) Close() error { return nil }

type idMapper struct{}

func (idMapper) Map(r canonical.Record) ([]mapping.Resource, error) {
	if r.Inclusion.LocalSubjectID == "P-0007" {
		return nil, &mapping.Error{Issues: []mapping.Issue{{Path: "ResearchSubject.period.start", Code: "required", Message: "missing inclusion date", Fix: "fill it"}}}
	}
	return []mapping.Resource{{Type: "ResearchSubject", ID: "sj-" + r.Inclusion.LocalSubjectID, JSON: []byte(`{}`)}}, nil
}

// flakyPublisher records what it accepted and fails on call failOn.
type flakyPublisher struct {
	calls, failOn int
	got           map[string]int
}

func (p *flakyPublisher) Publish(_ context.Context, msgs []stream.Message) error {
	p.calls++
	if p.calls == p.failOn {
		return errors.New("broker unreachable")
	}
	for _, m := range msgs {
		p.got[m.Key]++
	}
	return nil
}

func newJob(t *testing.T, dir string, src connectors.Source, pub Publisher) Job {
	t.Helper()
	cs, err := NewCursorStore(filepath.Join(dir, "cursors"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQuarantine(filepath.Join(dir, "q.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return Job{SourceID: "src", Establishment: finess, Source: src, Mapper: idMapper{}, Publisher: pub, Cursors: cs, Quarantine: q}
}

// TestRunResumesAfterPublishFailure: a broker failure in the middle stops
// the run without moving the cursor past unacknowledged records; the rerun
// publishes what is missing, and nothing is lost.
func TestRunResumesAfterPublishFailure(t *testing.T) {
	for _, failOn := range []int{1, 2, 5, 10} {
		t.Run(strconv.Itoa(failOn), func(t *testing.T) {
			dir := t.TempDir()
			pub := &flakyPublisher{failOn: failOn, got: map[string]int{}}
			src := &sliceSource{n: 100, size: 10, badAt: map[int]bool{3: true, 50: true}}
			_, err := Run(context.Background(), newJob(t, dir, src, pub))
			if err == nil {
				t.Fatal("want the publish error")
			}
			pub.failOn = -1
			st, err := Run(context.Background(), newJob(t, dir, &sliceSource{n: 100, size: 10, badAt: src.badAt}, pub))
			if err != nil {
				t.Fatal(err)
			}
			if st.Records == 0 {
				t.Fatal("rerun read nothing")
			}
			for i := 0; i < 100; i++ {
				k := fmt.Sprintf("sj-P-%04d", i)
				want := 1
				if i == 3 || i == 50 || i == 7 {
					want = 0
				}
				if got := pub.got[k]; (want == 0 && got != 0) || (want == 1 && got < 1) {
					t.Errorf("%s published %d times, want %d (at least once)", k, got, want)
				}
			}
			// Only the failed batch may have been published twice.
			dup := 0
			for _, n := range pub.got {
				if n > 1 {
					dup++
				}
			}
			if dup > 0 {
				t.Errorf("%d records published twice although their batch had been acknowledged", dup)
			}
		})
	}
}

// TestRunQuarantinesRejects: source rejects and mapping failures are kept
// with their location, the rest of the batch is published.
func TestRunQuarantinesRejects(t *testing.T) {
	dir := t.TempDir()
	pub := &flakyPublisher{got: map[string]int{}}
	j := newJob(t, dir, &sliceSource{n: 20, size: 6, badAt: map[int]bool{3: true}}, pub)
	st, err := Run(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rejects != 2 || st.Published != 18 {
		t.Fatalf("rejects %d published %d, want 2 and 18", st.Rejects, st.Published)
	}
	es, err := j.Quarantine.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`src inclusions.csv:5 column "Date": bad; fix: fix it`,
		`src inclusions.csv:9: missing inclusion date; fix: fill it`,
	}
	if len(es) != len(want) {
		t.Fatalf("quarantine has %d entries, want %d", len(es), len(want))
	}
	for i, e := range es {
		if e.Message != want[i] {
			t.Errorf("entry %d: %q, want %q", i, e.Message, want[i])
		}
	}
	if es[1].Field != "ResearchSubject.period.start" || es[1].Code != "invalid-fhir-required" {
		t.Errorf("mapping reject field/code = %q/%q", es[1].Field, es[1].Code)
	}
}

func TestRunRejectsOtherEstablishment(t *testing.T) {
	r, ok := checkEstablishment(canonical.Record{Site: &canonical.Site{Establishment: "990000021"}}, finess)
	if ok || r.Code != "wrong-establishment" {
		t.Fatalf("got ok=%v code=%q", ok, r.Code)
	}
}
