package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

// snapSource is a full-snapshot source over a list of rows: "S:<code>" is a
// study with its site, "I:<code>:<subject>" an inclusion, "R:<code>" a row
// the source rejects (record key code), "R:" one without record key. Its
// cursor is "<version>:<pos>"; opened at the cursor of another version it
// reads from the top, like a CSV export whose file hash changed.
type snapSource struct {
	rows    []string
	size    int
	version int
	pos     int
	opens   int
}

func (s *snapSource) Snapshot() bool { return true }

func (s *snapSource) Open(_ context.Context, c connectors.Cursor) error {
	s.opens++
	s.pos = 0
	if c != nil {
		v, p, _ := strings.Cut(string(c), ":")
		if v == strconv.Itoa(s.version) {
			s.pos, _ = strconv.Atoi(p)
		}
	}
	return nil
}

func (s *snapSource) Read(ctx context.Context) (connectors.Batch, error) {
	if err := ctx.Err(); err != nil {
		return connectors.Batch{}, err
	}
	if s.pos >= len(s.rows) {
		return connectors.Batch{}, connectors.ErrEndOfInput
	}
	var b connectors.Batch
	for i := 0; i < s.size && s.pos < len(s.rows); i++ {
		f := strings.Split(s.rows[s.pos], ":")
		prov := canonical.Provenance{Source: "src", Establishment: finess, File: "export.csv", Line: s.pos + 2}
		ids := canonical.Identifiers{SponsorCode: f[1], SponsorKey: "X"}
		if len(f) > 1 {
			prov.RecordKey = f[1]
		}
		switch f[0] {
		case "S":
			b.Records = append(b.Records, canonical.Record{Study: &canonical.Study{IDs: ids, Title: f[1], Prov: prov},
				Site: &canonical.Site{Study: ids, Establishment: finess, Prov: prov}})
		case "I":
			b.Records = append(b.Records, canonical.Record{Inclusion: &canonical.Inclusion{Study: ids, Establishment: finess,
				LocalSubjectID: f[2], Prov: prov}})
		case "R":
			b.Rejects = append(b.Rejects, canonical.Reject{Prov: prov, Column: "Date", Code: "bad-date", Reason: "not a date", Raw: []string{"P-SECRET-1"}})
		}
		s.pos++
	}
	b.Cursor = connectors.Cursor(fmt.Sprintf("%d:%d", s.version, s.pos))
	return b, nil
}

func (s *snapSource) Close() error { return nil }

// codeMapper maps a study to st-<code> and ss-<code>, an inclusion to
// sj-<subject>; a study titled "BAD" or a subject "BAD" fails.
type codeMapper struct{}

func (codeMapper) Map(r canonical.Record) ([]mapping.Resource, error) {
	if r.Study != nil {
		if r.Study.Title == "BAD" || strings.HasPrefix(r.Study.IDs.SponsorCode, "BAD") {
			return nil, errors.New("bad study")
		}
		c := r.Study.IDs.SponsorCode
		return []mapping.Resource{{Type: stream.ResourceStudy, ID: "st-" + c, JSON: []byte(`{}`)},
			{Type: stream.ResourceStudy, ID: "ss-" + c, JSON: []byte(`{}`)}}, nil
	}
	if r.Inclusion.LocalSubjectID == "BAD" {
		return nil, errors.New("bad subject")
	}
	return []mapping.Resource{{Type: stream.ResourceSubject, ID: "sj-" + r.Inclusion.LocalSubjectID, JSON: []byte(`{}`)}}, nil
}

// logPublisher keeps every acknowledged message in order and fails the
// calls listed in fail (1-based).
type logPublisher struct {
	calls int
	fail  map[int]bool
	msgs  []stream.Message
}

func (p *logPublisher) Publish(_ context.Context, msgs []stream.Message) error {
	p.calls++
	if p.fail[p.calls] {
		return errors.New("broker unreachable")
	}
	p.msgs = append(p.msgs, msgs...)
	return nil
}

// tombstones lists "topic-family key" of the deletions published, sorted.
func (p *logPublisher) tombstones() []string {
	var out []string
	for _, m := range p.msgs {
		if m.Value == nil {
			fam := strings.Split(m.Topic, ".")[3]
			out = append(out, fam+" "+m.Key)
		}
	}
	slices.Sort(out)
	return out
}

func (p *logPublisher) upserts() int {
	n := 0
	for _, m := range p.msgs {
		if m.Value != nil && !strings.Contains(m.Topic, ".dataquality.") {
			n++
		}
	}
	return n
}

func (p *logPublisher) reset() { p.msgs, p.calls, p.fail = nil, 0, nil }

func snapJob(t *testing.T, state *LocalState, src connectors.Source, pub Publisher) Job {
	t.Helper()
	q, err := state.Quarantine("src")
	if err != nil {
		t.Fatal(err)
	}
	return Job{SourceID: "src", Establishment: finess, Source: src, Mapper: codeMapper{}, Publisher: pub,
		Cursors: state.Cursors, Quarantine: q, Keys: state.Keys, Erased: state.Erased, QualityReport: true,
		Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }}
}

func openState(t *testing.T) *LocalState {
	t.Helper()
	s, err := OpenLocalState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSnapshotDeletesWhatDisappeared(t *testing.T) {
	ctx := context.Background()
	state := openState(t)
	pub := &logPublisher{}
	src := &snapSource{size: 2, rows: []string{"S:A", "S:B", "I:A:P1", "I:A:P2", "I:B:P3"}}

	st, err := Run(ctx, snapJob(t, state, src, pub))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Snapshot || pub.upserts() != 7 || len(pub.tombstones()) != 0 {
		t.Fatalf("first pass: snapshot=%v upserts=%d tombstones=%v", st.Snapshot, pub.upserts(), pub.tombstones())
	}

	// Same export again: probed, nothing read, nothing published.
	pub.reset()
	st, err = Run(ctx, snapJob(t, state, src, pub))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Unchanged || len(pub.msgs) != 0 {
		t.Fatalf("unchanged export: unchanged=%v, published %d messages", st.Unchanged, len(pub.msgs))
	}

	// Study B and subject P2 removed at the source.
	pub.reset()
	src.rows, src.version = []string{"S:A", "I:A:P1"}, 1
	st, err = Run(ctx, snapJob(t, state, src, pub))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"researchstudy ss-B", "researchstudy st-B", "researchsubject sj-P2", "researchsubject sj-P3"}
	if diff := cmp.Diff(want, pub.tombstones()); diff != "" {
		t.Errorf("tombstones (-want +got):\n%s", diff)
	}
	if st.Deleted != 4 {
		t.Errorf("Stats.Deleted = %d, want 4", st.Deleted)
	}
	for _, m := range pub.msgs {
		if m.Value == nil && (m.Headers[stream.HeaderSource] != "src" || !strings.HasPrefix(m.Topic, "it4ct.site."+finess+".")) {
			t.Errorf("tombstone %s on %s with headers %v", m.Key, m.Topic, m.Headers)
		}
	}
	keys, err := state.Keys.Complete("src")
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(mapsKeys(keys)); !slices.Equal(got, []string{"sj-P1", "ss-A", "st-A"}) {
		t.Errorf("stored key set %v", got)
	}

	// Deletions are not repeated.
	pub.reset()
	src.version = 2
	if _, err := Run(ctx, snapJob(t, state, src, pub)); err != nil {
		t.Fatal(err)
	}
	if len(pub.tombstones()) != 0 {
		t.Errorf("second pass of the same content re-deleted %v", pub.tombstones())
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// A broker failure at any publish call of a pass - a batch, the tombstones,
// the quality report - then a rerun gives the same national result as an
// uninterrupted pass: every row present published, every removed one
// deleted, nothing present deleted.
func TestSnapshotPassSurvivesFailureAtEveryStep(t *testing.T) {
	first := []string{"S:A", "I:A:P1", "I:A:P2", "S:B", "I:B:P3", "I:B:P4"}
	second := []string{"S:A", "I:A:P1", "I:B:P4", "S:C", "I:C:P5"}
	// second pass publish calls: 3 batches of 2 rows, tombstones, report.
	for failOn := 1; failOn <= 5; failOn++ {
		t.Run(strconv.Itoa(failOn), func(t *testing.T) {
			ctx := context.Background()
			state := openState(t)
			pub := &logPublisher{}
			if _, err := Run(ctx, snapJob(t, state, &snapSource{size: 2, rows: first}, pub)); err != nil {
				t.Fatal(err)
			}
			pub.reset()
			pub.fail = map[int]bool{failOn: true}
			src := &snapSource{size: 2, rows: second, version: 1}
			if _, err := Run(ctx, snapJob(t, state, src, pub)); err == nil {
				t.Fatal("want the broker error")
			}
			if _, err := Run(ctx, snapJob(t, state, src, pub)); err != nil {
				t.Fatal(err)
			}
			want := []string{"researchstudy ss-B", "researchstudy st-B", "researchsubject sj-P2", "researchsubject sj-P3"}
			if diff := cmp.Diff(want, slices.Compact(pub.tombstones())); diff != "" {
				t.Errorf("tombstones (-want +got):\n%s", diff)
			}
			published := map[string]bool{}
			for _, m := range pub.msgs {
				if m.Value != nil {
					published[m.Key] = true
				}
			}
			for _, k := range []string{"st-A", "ss-A", "sj-P1", "sj-P4", "st-C", "ss-C", "sj-P5"} {
				if !published[k] {
					t.Errorf("%s not published", k)
				}
			}
			keys, err := state.Keys.Complete("src")
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(mapsKeys(keys)); !slices.Equal(got, []string{"sj-P1", "sj-P4", "sj-P5", "ss-A", "ss-C", "st-A", "st-C"}) {
				t.Errorf("stored key set %v", got)
			}
			if in, _ := state.Keys.InPass("src"); in {
				t.Error("pass still marked in progress")
			}
		})
	}
}

// A crash between the key set's replacement and the removal of the pass
// file, or a torn last line of the pass file, changes nothing.
func TestSnapshotPassFileCrashes(t *testing.T) {
	ctx := context.Background()
	state := openState(t)
	pub := &logPublisher{}
	src := &snapSource{size: 10, rows: []string{"S:A", "I:A:P1"}}
	if _, err := Run(ctx, snapJob(t, state, src, pub)); err != nil {
		t.Fatal(err)
	}
	// Simulate: pass of an export without P1 done up to Finish's rename.
	pass := filepath.Join(state.Dir, "published", "src.pass")
	if err := state.Keys.Begin("src"); err != nil {
		t.Fatal(err)
	}
	if err := state.Keys.Append("src", passBatch{keys: map[string]string{"st-A": "x", "ss-A": "x"}, records: 1, cursor: connectors.Cursor("1:1")}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(pass, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("k sj-P9") // torn: no newline, never acknowledged
	f.Close()
	src.rows, src.version = []string{"S:A"}, 1
	pub.reset()
	st, err := Run(ctx, snapJob(t, state, src, pub))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"researchsubject sj-P1"}, pub.tombstones()); diff != "" {
		t.Errorf("tombstones (-want +got):\n%s", diff)
	}
	if st.Batches != 1 {
		t.Errorf("resumed pass read %d batches, want 1 (the cursor had not moved)", st.Batches)
	}
}

// A record rejected in this pass holds back the deletion of what it
// published before; a reject without record key holds back every deletion.
func TestSnapshotHoldsDeletionOfRejectedRecords(t *testing.T) {
	cases := []struct {
		name      string
		second    []string
		tombstone []string
		held      int
	}{
		{"source rejects the row", []string{"R:A", "S:B"}, nil, 2},
		{"reject without key", []string{"R:", "S:B"}, nil, 2},
		{"other row rejected", []string{"R:B"}, []string{"researchstudy ss-A", "researchstudy st-A"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			state := openState(t)
			pub := &logPublisher{}
			if _, err := Run(ctx, snapJob(t, state, &snapSource{size: 5, rows: []string{"S:A", "S:B"}}, pub)); err != nil {
				t.Fatal(err)
			}
			pub.reset()
			st, err := Run(ctx, snapJob(t, state, &snapSource{size: 5, rows: c.second, version: 1}, pub))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.tombstone, pub.tombstones()); diff != "" {
				t.Errorf("tombstones (-want +got):\n%s", diff)
			}
			if st.Held != c.held {
				t.Errorf("held %d, want %d", st.Held, c.held)
			}
		})
	}
}

// A row that no longer maps (same record key) holds back the deletion of
// its resources: holding back works on the source record key.
func TestSnapshotHoldIsByRecordKey(t *testing.T) {
	ctx := context.Background()
	state := openState(t)
	pub := &logPublisher{}
	if _, err := Run(ctx, snapJob(t, state, &snapSource{size: 5, rows: []string{"S:A"}}, pub)); err != nil {
		t.Fatal(err)
	}
	pub.reset()
	// Same record key A, but the row no longer maps.
	src := &snapSource{size: 5, rows: []string{"S:A"}, version: 1}
	job := snapJob(t, state, src, pub)
	job.Mapper = failingMapper{}
	st, err := Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.tombstones()) != 0 || st.Held != 2 || st.Rejects != 1 {
		t.Fatalf("tombstones %v held %d rejects %d; want none, 2, 1", pub.tombstones(), st.Held, st.Rejects)
	}
}

type failingMapper struct{}

func (failingMapper) Map(canonical.Record) ([]mapping.Resource, error) {
	return nil, errors.New("no longer valid")
}

// Resources of erased subjects are never published again and, when they
// were, are deleted by the next pass.
func TestSnapshotSkipsErasedSubjects(t *testing.T) {
	ctx := context.Background()
	state := openState(t)
	pub := &logPublisher{}
	src := &snapSource{size: 5, rows: []string{"S:A", "I:A:P1", "I:A:P2"}}
	if _, err := Run(ctx, snapJob(t, state, src, pub)); err != nil {
		t.Fatal(err)
	}
	if err := state.Erased.Add("sj-P2"); err != nil {
		t.Fatal(err)
	}
	pub.reset()
	src.version = 1 // export re-written, P2 still in it
	st, err := Run(ctx, snapJob(t, state, src, pub))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range pub.msgs {
		if m.Key == "sj-P2" && m.Value != nil {
			t.Error("erased subject published again")
		}
	}
	if diff := cmp.Diff([]string{"researchsubject sj-P2"}, pub.tombstones()); diff != "" {
		t.Errorf("tombstones (-want +got):\n%s", diff)
	}
	if st.Erased != 1 {
		t.Errorf("Stats.Erased = %d", st.Erased)
	}
}

// Each full pass rebuilds the source's quarantine; the report carries
// counts only.
func TestSnapshotRebuildsQuarantineAndReportsCounts(t *testing.T) {
	ctx := context.Background()
	state := openState(t)
	pub := &logPublisher{}
	src := &snapSource{size: 2, rows: []string{"S:A", "R:A", "I:A:BAD", "R:"}}
	for v := range 3 {
		src.version = v
		pub.reset()
		if _, err := Run(ctx, snapJob(t, state, src, pub)); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := state.Quarantine("src")
	es, err := q.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 {
		t.Fatalf("quarantine holds %d entries after 3 passes, want 3", len(es))
	}
	var reports []stream.Message
	for _, m := range pub.msgs {
		if m.Topic == stream.DataQualityTopic(finess) {
			reports = append(reports, m)
		}
	}
	if len(reports) != 1 || reports[0].Key != "src" {
		t.Fatalf("quality reports: %+v", reports)
	}
	want := `{"establishment":"990000013","source":"src","run_at":"2026-03-01T12:00:00Z","counts":{"bad-date":2,"invalid-fhir":1},"total_records":4}`
	if string(reports[0].Value) != want {
		t.Errorf("report\n got %s\nwant %s", reports[0].Value, want)
	}
	if strings.Contains(string(reports[0].Value), "P-SECRET") {
		t.Error("raw value in the report")
	}
	// Fix the export: the quarantine empties, the report says so.
	src.rows, src.version = []string{"S:A", "I:A:P1"}, 9
	pub.reset()
	if _, err := Run(ctx, snapJob(t, state, src, pub)); err != nil {
		t.Fatal(err)
	}
	if es, _ := q.List(); len(es) != 0 {
		t.Errorf("quarantine still holds %d entries", len(es))
	}
	var rep stream.DataQualityReport
	for _, m := range pub.msgs {
		if m.Topic == stream.DataQualityTopic(finess) {
			if err := json.Unmarshal(m.Value, &rep); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(rep.Counts) != 0 || rep.TotalRecords != 2 {
		t.Errorf("report after fix: %+v", rep)
	}
}

// Retry forgets the cursor and the pass in progress: the next run reads
// the export again although it did not change.
func TestRetryRereadsUnchangedExport(t *testing.T) {
	ctx := context.Background()
	state := openState(t)
	pub := &logPublisher{}
	src := &snapSource{size: 5, rows: []string{"S:A", "R:A"}}
	if _, err := Run(ctx, snapJob(t, state, src, pub)); err != nil {
		t.Fatal(err)
	}
	if err := state.Retry("src"); err != nil {
		t.Fatal(err)
	}
	pub.reset()
	st, err := Run(ctx, snapJob(t, state, src, pub))
	if err != nil {
		t.Fatal(err)
	}
	if st.Unchanged || st.Records != 1 || pub.upserts() != 2 || len(pub.tombstones()) != 0 {
		t.Fatalf("after retry: %+v, %d upserts, tombstones %v", st, pub.upserts(), pub.tombstones())
	}
}
