// Package indicators builds the national state from the site topics and
// computes the SIGREC indicators from it. It consumes FHIR resources decoded
// by package mapping, never source-system types.
package indicators

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

// Data-quality event codes recorded for consumed records.
const (
	QualityBadTopic              = "bad-topic"
	QualitySchemaVersion         = "unknown-schema-version"
	QualityUndecodable           = "undecodable"
	QualityKeyMismatch           = "key-mismatch"
	QualityEstablishmentMismatch = "establishment-mismatch"
)

// supportedSchemaMajor is the major version of stream.HeaderSchemaVersion
// this aggregator understands: "1" and "1.<minor>" (minor versions only add
// optional content). A missing header is read as this version.
const supportedSchemaMajor = "1"

// decoder turns FHIR JSON into views; the default is package mapping.
type decoder interface {
	DecodeResearchStudy(b []byte) (mapping.StudyView, error)
	DecodeResearchSubject(b []byte) (mapping.SubjectView, error)
}

type mappingDecoder struct{}

func (mappingDecoder) DecodeResearchStudy(b []byte) (mapping.StudyView, error) {
	return mapping.DecodeResearchStudy(b)
}

func (mappingDecoder) DecodeResearchSubject(b []byte) (mapping.SubjectView, error) {
	return mapping.DecodeResearchSubject(b)
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the clock used for computed_at (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// withDecoder replaces package mapping's decoders (tests).
func withDecoder(d decoder) Option { return func(s *Service) { s.dec = d } }

// Service consumes the site topics into the store (it is a stream.Handler)
// and answers indicator and resource queries from it.
type Service struct {
	st  store.Store
	dec decoder
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	quality map[string]int64 // data-quality events seen by this process, per code
}

// New returns a Service over st.
func New(st store.Store, opts ...Option) *Service {
	s := &Service{st: st, dec: mappingDecoder{}, log: slog.Default(), now: time.Now, quality: map[string]int64{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Committed implements stream.Handler.
func (s *Service) Committed(ctx context.Context, topic string) (map[int32]int64, error) {
	offs, err := s.st.Offsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("indicators: committed offsets: %w", err)
	}
	return offs, nil
}

// QualityCounts returns the data-quality events this Service recorded since
// it started, per code. The stored events are in store.QualityEvents.
func (s *Service) QualityCounts() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.quality))
	for k, v := range s.quality {
		out[k] = v
	}
	return out
}

// decoded is one record after decoding, before the establishment checks.
type decoded struct {
	rec     stream.Record
	finess  string
	resType string
	key     string
	study   *mapping.StudyView
	subject *mapping.SubjectView
	report  *store.SiteQuality  // a data-quality report (nil value: withdrawn)
	problem *store.QualityEvent // set: the record is skipped
}

// Handle implements stream.Handler: it decodes and checks each record and
// applies the resulting changes and the batch's offsets in one store
// transaction. A bad record becomes a data-quality event and is skipped; only
// a store failure fails the batch (and then nothing of it is stored).
func (s *Service) Handle(ctx context.Context, recs []stream.Record) error {
	items := make([]decoded, len(recs))
	var siteIDs []string
	seen := map[string]bool{}
	for i, r := range recs {
		items[i] = s.decode(r)
		if sub := items[i].subject; sub != nil && !seen[sub.SiteStudyID] {
			seen[sub.SiteStudyID] = true
			siteIDs = append(siteIDs, sub.SiteStudyID)
		}
	}
	// Who reported each referenced site study, as stored, then as changed
	// by earlier records of this batch.
	owners, err := s.st.SiteStudyEstablishments(ctx, siteIDs)
	if err != nil {
		return fmt.Errorf("indicators: handle %d records: %w", len(recs), err)
	}
	overlay := map[string]map[string]bool{} // site study id -> establishment -> present
	for id, ests := range owners {
		overlay[id] = map[string]bool{}
		for _, e := range ests {
			overlay[id][e] = true
		}
	}
	setOwner := func(id, est string, present bool) {
		if !seen[id] {
			return // no subject in this batch refers to it
		}
		if overlay[id] == nil {
			overlay[id] = map[string]bool{}
		}
		overlay[id][est] = present
	}

	changes := make([]store.Change, 0, len(recs))
	type tp struct {
		topic string
		part  int32
	}
	next := map[tp]int64{}
	var order []tp
	var codes []string
	for _, it := range items {
		k := tp{it.rec.Topic, it.rec.Partition}
		if _, ok := next[k]; !ok {
			order = append(order, k)
		}
		next[k] = max(next[k], it.rec.Offset+1)

		if it.problem == nil && it.subject != nil {
			it.problem = s.checkSubjectSite(it, overlay[it.subject.SiteStudyID])
		}
		if it.problem != nil {
			changes = append(changes, store.Change{Kind: store.KindQuality, Quality: it.problem})
			codes = append(codes, it.problem.Code)
			s.log.WarnContext(ctx, "record skipped", "topic", it.rec.Topic, "partition", it.rec.Partition,
				"offset", it.rec.Offset, "record_key", it.key, "finess", it.finess, "code", it.problem.Code, "reason", it.problem.Reason)
			continue
		}
		switch {
		case it.resType == resourceDataQuality && it.rec.Value == nil:
			changes = append(changes, store.Change{Kind: store.KindSiteQuality, Establishment: it.finess, ID: it.key, Delete: true})
		case it.resType == resourceDataQuality:
			changes = append(changes, store.Change{Kind: store.KindSiteQuality, Establishment: it.finess, ID: it.key, SiteQuality: it.report})
		case it.rec.Value == nil && it.resType == stream.ResourceStudy:
			changes = append(changes, store.Change{Kind: store.KindStudy, Establishment: it.finess, ID: it.key, Delete: true})
			setOwner(it.key, it.finess, false)
		case it.rec.Value == nil:
			changes = append(changes, store.Change{Kind: store.KindSubject, Establishment: it.finess, ID: it.key, Delete: true})
		case it.study != nil:
			changes = append(changes, studyChange(it.finess, *it.study, it.rec.Value))
			setOwner(it.key, it.finess, it.study.Level == mapping.LevelSite)
		case it.subject != nil:
			v := it.subject
			changes = append(changes, store.Change{Kind: store.KindSubject, Establishment: it.finess, ID: v.ID, Subject: &store.Subject{
				Establishment: it.finess, ID: v.ID, SiteStudyID: v.SiteStudyID,
				InclusionDate: v.InclusionDate.String(), Status: string(v.Status), JSON: it.rec.Value,
			}})
		}
	}
	offsets := make([]store.Offset, 0, len(order))
	for _, k := range order {
		offsets = append(offsets, store.Offset{Topic: k.topic, Partition: k.part, Next: next[k]})
	}
	if err := s.st.Apply(ctx, changes, offsets); err != nil {
		return fmt.Errorf("indicators: handle %d records: %w", len(recs), err)
	}
	if len(codes) > 0 {
		s.mu.Lock()
		for _, c := range codes {
			s.quality[c]++
		}
		s.mu.Unlock()
	}
	return nil
}

// decode parses the topic, checks the headers and decodes the value.
func (s *Service) decode(r stream.Record) decoded {
	it := decoded{rec: r, key: string(r.Key)}
	problem := func(code, reason string) decoded {
		it.problem = &store.QualityEvent{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
			Establishment: it.finess, RecordKey: truncate(it.key, 128), Code: code, Reason: truncate(reason, 1000)}
		return it
	}
	finess, resType, ok := stream.ParseTopic(r.Topic)
	if !ok {
		if finess, ok = stream.ParseDataQualityTopic(r.Topic); ok {
			resType = resourceDataQuality
		}
	}
	if !ok {
		return problem(QualityBadTopic, fmt.Sprintf("topic %q is not a site topic (%s)", r.Topic, stream.TopicPattern))
	}
	it.finess, it.resType = finess, resType
	if v, ok := r.Headers[stream.HeaderSchemaVersion]; ok && !supportedSchema(v) {
		return problem(QualitySchemaVersion, fmt.Sprintf("%s partition %d offset %d: header %s is %q; this aggregator reads schema major version %s (\"1\" or \"1.x\") only, so the record was skipped rather than misread: upgrade it4ct aggregate, then replay the topic",
			r.Topic, r.Partition, r.Offset, stream.HeaderSchemaVersion, v, supportedSchemaMajor))
	}
	if it.key == "" {
		return problem(QualityKeyMismatch, "record has no key; the key must be the resource id")
	}
	if resType == resourceDataQuality {
		return s.decodeReport(it, problem)
	}
	if r.Value == nil {
		return it // tombstone
	}
	switch resType {
	case stream.ResourceStudy:
		v, err := s.dec.DecodeResearchStudy(r.Value)
		if err != nil {
			return problem(QualityUndecodable, "ResearchStudy: "+err.Error())
		}
		if v.ID != it.key {
			return problem(QualityKeyMismatch, fmt.Sprintf("ResearchStudy id %q differs from the record key", v.ID))
		}
		switch v.Level {
		case mapping.LevelNational:
		case mapping.LevelSite:
			if v.Site.Establishment != finess {
				return problem(QualityEstablishmentMismatch, fmt.Sprintf("site-level ResearchStudy names site %q but was published on the topic of %s",
					v.Site.Establishment, finess))
			}
		default:
			return problem(QualityUndecodable, fmt.Sprintf("ResearchStudy level %q is neither national nor site", v.Level))
		}
		it.study = &v
	case stream.ResourceSubject:
		v, err := s.dec.DecodeResearchSubject(r.Value)
		if err != nil {
			return problem(QualityUndecodable, "ResearchSubject: "+err.Error())
		}
		if v.ID != it.key {
			return problem(QualityKeyMismatch, fmt.Sprintf("ResearchSubject id %q differs from the record key", v.ID))
		}
		it.subject = &v
	}
	return it
}

// checkSubjectSite rejects a subject whose site study is known only under
// other establishments. An unknown site study is accepted (it may arrive
// later); the subject then counts for its topic's establishment only.
func (s *Service) checkSubjectSite(it decoded, owners map[string]bool) *store.QualityEvent {
	var others []string
	for est, present := range owners {
		if !present {
			continue
		}
		if est == it.finess {
			return nil
		}
		others = append(others, est)
	}
	if len(others) == 0 {
		return nil
	}
	sort.Strings(others)
	return &store.QualityEvent{Topic: it.rec.Topic, Partition: it.rec.Partition, Offset: it.rec.Offset,
		Establishment: it.finess, RecordKey: truncate(it.key, 128), Code: QualityEstablishmentMismatch,
		Reason: fmt.Sprintf("ResearchSubject refers to site-level study %q of establishment %v, not of %s whose topic carries it",
			it.subject.SiteStudyID, others, it.finess)}
}

func studyChange(finess string, v mapping.StudyView, raw []byte) store.Change {
	c := store.Change{Kind: store.KindStudy, Establishment: finess, ID: v.ID}
	if v.Level == mapping.LevelSite {
		t := v.Site
		c.SiteStudy = &store.SiteStudy{Establishment: finess, ID: v.ID, NationalID: v.PartOf, Role: string(t.Role),
			Status: string(t.Status), Opened: t.Opened.String(), FirstInclusion: t.FirstInclusion.String(),
			Closed: t.Closed.String(), JSON: raw}
		return c
	}
	st := v.Study
	c.NationalStudy = &store.NationalStudy{Establishment: finess, ID: v.ID, SponsorFINESS: st.SponsorFINESS,
		SponsorType: string(st.SponsorType), Category: string(st.Category), Phase: string(st.Phase),
		Status: string(st.Status), Identifiers: identifiers(st.IDs, raw), JSON: raw}
	return c
}

// identifiers lists a study's identifiers for search: every FHIR identifier
// of the resource as published, plus the canonical ones under the systems
// package mapping emits (so a search by NCT works with either NCT system).
func identifiers(ids canonical.Identifiers, raw []byte) []store.Identifier {
	var out []store.Identifier
	var doc struct {
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	if json.Unmarshal(raw, &doc) == nil {
		for _, x := range doc.Identifier {
			if x.Value != "" {
				out = append(out, store.Identifier{System: x.System, Value: x.Value})
			}
		}
	}
	add := func(system, value string) {
		if value != "" {
			out = append(out, store.Identifier{System: system, Value: value})
		}
	}
	add(mapping.SystemEUCT, ids.EUCT)
	add(mapping.SystemIDRCB, ids.IDRCB)
	add(mapping.SystemEudraCT, ids.EudraCT)
	add(mapping.SystemNCT, ids.NCT)
	add(mapping.SystemNCTLegacy, ids.NCT)
	add(mapping.SystemSponsorCode, ids.SponsorCode)
	if ids.SponsorCode != "" {
		// The issuer of the sponsor code, which FHIR carries in the
		// identifier's assigner: study reconciliation needs the pair.
		add(mapping.SystemSponsorKey, ids.SponsorKey)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var _ stream.Handler = (*Service)(nil)
