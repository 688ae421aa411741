package indicators

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

func TestSupportedSchema(t *testing.T) {
	for v, want := range map[string]bool{
		"1": true, "1.0": true, "1.7": true, "1.12": true,
		"2": false, "2.1": false, "10": false, "1.": false, "1.x": false, "": false, "v1": false, "01": false, "1.1.1": false,
	} {
		if got := supportedSchema(v); got != want {
			t.Errorf("supportedSchema(%q) = %v, want %v", v, got, want)
		}
	}
}

// A record of an unknown major schema version is refused with a reason
// naming its position and the supported version, and stores nothing; 1.x
// is read.
func TestSchemaVersionHeader(t *testing.T) {
	for _, tc := range []struct {
		version string
		stored  bool
	}{{"1", true}, {"1.3", true}, {"2", false}, {"2.1", false}} {
		t.Run(tc.version, func(t *testing.T) {
			s, st := newService(t)
			var l log
			m := nat(estA, "st-1", estA, "NCT00000001")
			m.headers = map[string]string{stream.HeaderSchemaVersion: tc.version}
			l.add(t, nat(estA, "st-0", estA, "NCT00000000"))
			handle(t, s, l.add(t, m))
			got, err := st.NationalStudyVersions(context.Background(), "st-1")
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != tc.stored {
				t.Fatalf("stored %d versions, want stored=%v", len(got), tc.stored)
			}
			evs, err := st.QualityEvents(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.stored {
				if len(evs) != 0 {
					t.Fatalf("quality events %+v", evs)
				}
				return
			}
			if len(evs) != 1 || evs[0].Code != QualitySchemaVersion {
				t.Fatalf("quality events %+v", evs)
			}
			want := `it4ct.site.350000007.researchstudy.v1 partition 0 offset 1: header it4ct-schema-version is "` + tc.version +
				`"; this aggregator reads schema major version 1 ("1" or "1.x") only, so the record was skipped rather than misread: upgrade it4ct aggregate, then replay the topic`
			if evs[0].Reason != want {
				t.Errorf("reason\n got %s\nwant %s", evs[0].Reason, want)
			}
		})
	}
}

func qualityRec(est, key string, off int64, v any) stream.Record {
	r := stream.Record{Topic: stream.DataQualityTopic(est), Offset: off, Key: []byte(key)}
	if v != nil {
		r.Value, _ = json.Marshal(v)
	}
	return r
}

// Establishments' data-quality reports are stored per (establishment,
// source), the latest wins, a tombstone withdraws one, and a report that
// contradicts its topic or key is refused.
func TestDataQualityReports(t *testing.T) {
	ctx := context.Background()
	s, st := newService(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rep := func(est, src string, total int, counts map[string]int) stream.DataQualityReport {
		return stream.DataQualityReport{Establishment: est, Source: src, RunAt: at, Counts: counts, TotalRecords: total}
	}
	handle(t, s, []stream.Record{
		qualityRec(estA, "ctms", 0, rep(estA, "ctms", 120, map[string]int{"bad-date": 4})),
		qualityRec(estA, "xls", 1, rep(estA, "xls", 10, nil)),
		qualityRec(estB, "ctms", 0, rep(estB, "ctms", 80, map[string]int{"invalid-fhir-required": 1})),
	})
	handle(t, s, []stream.Record{
		qualityRec(estA, "ctms", 2, rep(estA, "ctms", 121, map[string]int{"bad-date": 1})),
		qualityRec(estA, "xls", 3, nil),
		qualityRec(estB, "other", 1, rep(estA, "other", 1, nil)),  // names another establishment
		qualityRec(estB, "ctms", 2, rep(estB, "renamed", 1, nil)), // source differs from the key
		{Topic: stream.DataQualityTopic(estB), Offset: 3, Key: []byte("ctms"), Value: []byte(`{"counts":`)},
	})
	got, err := s.SiteQuality(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.SiteQuality{
		{Establishment: estA, Source: "ctms", RunAt: "2026-03-01T12:00:00Z", TotalRecords: 121, Counts: map[string]int64{"bad-date": 1}},
		{Establishment: estB, Source: "ctms", RunAt: "2026-03-01T12:00:00Z", TotalRecords: 80, Counts: map[string]int64{"invalid-fhir-required": 1}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("site quality (-want +got):\n%s", d)
	}
	evs, err := st.QualityEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range evs {
		codes = append(codes, e.Code)
	}
	if d := cmp.Diff([]string{QualityEstablishmentMismatch, QualityKeyMismatch, QualityUndecodable}, codes); d != "" {
		t.Errorf("refused reports (-want +got):\n%s", d)
	}
	offs, err := s.Committed(ctx, stream.DataQualityTopic(estB))
	if err != nil {
		t.Fatal(err)
	}
	if offs[0] != 4 {
		t.Errorf("next offset of %s = %d, want 4", stream.DataQualityTopic(estB), offs[0])
	}
}

// The data-quality topic is under the establishment's prefix, so broker ACLs
// on "it4ct.site.<FINESS>." cover it.
func TestDataQualityTopic(t *testing.T) {
	topic := stream.DataQualityTopic("2a0000001")
	if topic != "it4ct.site.2A0000001.dataquality.v1" || !strings.HasPrefix(topic, stream.TopicPrefix+"2A0000001.") {
		t.Fatalf("topic %q", topic)
	}
	if f, ok := stream.ParseDataQualityTopic(topic); !ok || f != "2A0000001" {
		t.Fatalf("ParseDataQualityTopic = %q, %v", f, ok)
	}
	if _, ok := stream.ParseDataQualityTopic(stream.Topic("350000007", stream.ResourceStudy)); ok {
		t.Fatal("a resource topic parsed as a data-quality topic")
	}
}
