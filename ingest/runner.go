// Package ingest runs connectors on the hospital side: it reads a Source,
// maps each canonical record to FHIR, keeps every reject in the local
// quarantine, publishes the resources and moves the source cursor only once
// the broker has acknowledged everything before it.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

// Mapper turns a canonical record into FHIR resources. A returned error is
// permanent for that record: it becomes a quarantined reject.
type Mapper interface {
	Map(rec canonical.Record) ([]mapping.Resource, error)
}

// Publisher publishes messages and returns once every one of them has been
// acknowledged by the broker (stream.Producer).
type Publisher interface {
	Publish(ctx context.Context, msgs []stream.Message) error
}

// Job is one source run for one establishment.
type Job struct {
	SourceID      string
	Establishment string // FINESS; every record must belong to it
	Source        connectors.Source
	Mapper        Mapper
	Publisher     Publisher
	Cursors       *CursorStore
	Quarantine    *Quarantine
	// Keys, when set and the source is a connectors.Snapshotter, turns on
	// deletion detection by difference between complete passes.
	Keys *KeyStore
	// Erased, when set, lists subject ids never to publish again.
	Erased *DenyList
	// QualityReport publishes a stream.DataQualityReport at the end of a
	// run (counts only) on the establishment's data-quality topic.
	QualityReport bool
	Logger        *slog.Logger
	Now           func() time.Time // default time.Now
}

// Stats counts what a run did.
type Stats struct {
	Batches   int
	Records   int
	Published int
	Rejects   int
	ByCode    map[string]int
	// Snapshot: the source is a full snapshot; Unchanged: its export had not
	// changed since the last complete pass, so nothing was read.
	Snapshot, Unchanged bool
	// Deleted counts tombstones published for resources gone from the
	// source; Held counts deletions held back because the record that
	// produced them is rejected in this pass; Erased counts resources
	// withheld because their subject is on the erasure list.
	Deleted, Held, Erased int
	Duration              time.Duration
}

// Run reads the source to its end. It returns the first non-record error
// (source I/O, broker); record-level problems are quarantined and counted.
// The cursor is saved after each batch's publication is acknowledged, so a
// crash at any point resumes without losing a record (re-publishing is an
// idempotent upsert downstream).
//
// For a snapshot source (connectors.IsSnapshot, with Keys set) a run is a
// pass over the whole export, resumable after a crash: it starts from the
// beginning unless a pass is in progress, and is skipped when the export did
// not change. At the end of a complete pass, every resource the previous
// complete pass published and this one did not becomes a tombstone; the new
// key set is stored only once the tombstones are acknowledged.
func Run(ctx context.Context, j Job) (Stats, error) {
	start := time.Now()
	st := Stats{ByCode: map[string]int{}}
	log := j.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("source", j.SourceID, "finess", j.Establishment)
	now := j.Now
	if now == nil {
		now = time.Now
	}

	cur, err := j.Cursors.Load(j.SourceID)
	if err != nil {
		return st, err
	}
	st.Snapshot = j.Keys != nil && connectors.IsSnapshot(j.Source)
	if st.Snapshot {
		inPass, err := j.Keys.InPass(j.SourceID)
		if err != nil {
			return st, err
		}
		if !inPass {
			if cur != nil {
				changed, err := probe(ctx, j, cur)
				if err != nil {
					return st, err
				}
				if !changed {
					st.Unchanged = true
					st.Duration = time.Since(start)
					log.Info("source export unchanged since the last complete pass", "duration", st.Duration)
					return st, nil
				}
			}
			// Order matters for crash safety: with the cursor gone first, a
			// crash before Begin simply starts a fresh pass again.
			if err := j.Cursors.Reset(j.SourceID); err != nil {
				return st, err
			}
			cur = nil
			if err := j.Quarantine.Reset(j.SourceID); err != nil {
				return st, fmt.Errorf("source %s: %w", j.SourceID, err)
			}
			if err := j.Keys.Begin(j.SourceID); err != nil {
				return st, err
			}
		}
	} else if cur == nil {
		// Reading from the beginning: the quarantine is rebuilt.
		if err := j.Quarantine.Reset(j.SourceID); err != nil {
			return st, fmt.Errorf("source %s: %w", j.SourceID, err)
		}
	}
	erased := map[string]bool{}
	if j.Erased != nil {
		if erased, err = j.Erased.Load(); err != nil {
			return st, err
		}
	}

	if err := j.Source.Open(ctx, cur); err != nil {
		return st, fmt.Errorf("source %s: open: %w", j.SourceID, err)
	}
	defer j.Source.Close()

	// Reading and mapping run one batch ahead of publication: while batch n
	// is published and acknowledged, batch n+1 is read and mapped. Every
	// durable step (quarantine, publish, pass keys, cursor) still happens
	// here, in batch order, so the crash guarantees are unchanged; the
	// read-ahead only holds one more prepared batch in memory.
	readCtx, cancelRead := context.WithCancel(ctx)
	ready := make(chan prepared, 1)
	readErr := make(chan error, 1)
	var reader sync.WaitGroup
	reader.Add(1)
	go func() {
		defer reader.Done()
		defer close(ready)
		for {
			b, err := j.Source.Read(readCtx)
			if errors.Is(err, connectors.ErrEndOfInput) {
				return
			}
			if err != nil {
				readErr <- fmt.Errorf("source %s: read: %w", j.SourceID, err)
				return
			}
			select {
			case ready <- prepare(j, b, erased):
			case <-readCtx.Done():
				return
			}
		}
	}()
	// Runs before the source is closed: stop and wait for the reader.
	defer func() {
		cancelRead()
		for range ready {
		}
		reader.Wait()
	}()

	sourceRejects := 0
	for p := range ready {
		st.Batches++
		st.Records += p.records
		st.Erased += p.erased
		sourceRejects += p.sourceRejects
		rejects, msgs, pb := p.rejects, p.msgs, p.pb
		// Rejects are kept before the cursor moves past them.
		if len(rejects) > 0 {
			if err := j.Quarantine.Add(rejects); err != nil {
				return st, fmt.Errorf("source %s: quarantine: %w", j.SourceID, err)
			}
			for _, r := range rejects {
				st.ByCode[r.Code]++
				h := recordKeyHash(r.Prov.RecordKey)
				if h == "" {
					h = "*"
				}
				pb.held = append(pb.held, h)
				log.Debug("record rejected", "code", r.Code, "at", r.Prov.String(), "column", r.Column, "record_key", r.Prov.RecordKey)
			}
			st.Rejects += len(rejects)
		}
		if len(msgs) > 0 {
			if err := j.Publisher.Publish(ctx, msgs); err != nil {
				return st, fmt.Errorf("source %s: publish: %w", j.SourceID, err)
			}
			st.Published += len(msgs)
		}
		// The pass's keys are durable before the cursor moves past them.
		if st.Snapshot {
			if err := j.Keys.Append(j.SourceID, pb); err != nil {
				return st, fmt.Errorf("source %s: %w", j.SourceID, err)
			}
		}
		if err := j.Cursors.Save(j.SourceID, p.cursor); err != nil {
			return st, err
		}
	}
	select {
	case err := <-readErr:
		return st, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	total := st.Records + sourceRejects
	if st.Snapshot {
		n, err := finishPass(ctx, j, log, &st)
		if err != nil {
			return st, err
		}
		total = n
	} else if j.QualityReport && st.Batches > 0 {
		if err := publishQuality(ctx, j, now(), total); err != nil {
			return st, err
		}
	}
	st.Duration = time.Since(start)
	if st.Rejects > 0 {
		log.Warn("records rejected and kept in the quarantine", "rejects", st.Rejects, "quarantine", j.Quarantine.Path())
	}
	log.Info("source run done", "records", st.Records, "published", st.Published, "rejects", st.Rejects,
		"deleted", st.Deleted, "deletions_held", st.Held, "erased", st.Erased, "total_records", total, "duration", st.Duration)
	return st, nil
}

// probe opens a snapshot source at the cursor of its last complete pass and
// reports whether anything follows it (the export changed).
func probe(ctx context.Context, j Job, cur connectors.Cursor) (bool, error) {
	if err := j.Source.Open(ctx, cur); err != nil {
		return false, fmt.Errorf("source %s: open: %w", j.SourceID, err)
	}
	defer j.Source.Close()
	_, err := j.Source.Read(ctx)
	if errors.Is(err, connectors.ErrEndOfInput) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("source %s: read: %w", j.SourceID, err)
	}
	return true, nil
}

// tombstoneBatch bounds the messages of one Publish call of deletions.
const tombstoneBatch = 1000

// finishPass ends a complete snapshot pass: tombstones for what is gone,
// acknowledged; the data-quality report; then the new key set. Every step
// before the last is idempotent, so a crash anywhere repeats them harmlessly.
// It returns the pass's total record count.
func finishPass(ctx context.Context, j Job, log *slog.Logger, st *Stats) (int, error) {
	prev, err := j.Keys.Complete(j.SourceID)
	if err != nil {
		return 0, err
	}
	p, err := j.Keys.Pass(j.SourceID)
	if err != nil {
		return 0, err
	}
	gone, next, held := deletions(prev, p)
	st.Held = held
	for start := 0; start < len(gone); start += tombstoneBatch {
		var msgs []stream.Message
		for _, id := range gone[start:min(start+tombstoneBatch, len(gone))] {
			m, err := tombstone(j.Establishment, j.SourceID, id)
			if err != nil {
				log.Warn("published key not understood; not deleted", "key", id, "error", err)
				continue
			}
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		if err := j.Publisher.Publish(ctx, msgs); err != nil {
			return 0, fmt.Errorf("source %s: publish %d deletions: %w", j.SourceID, len(msgs), err)
		}
		st.Deleted += len(msgs)
	}
	if held > 0 {
		log.Warn("deletions held back: the records that published these resources are rejected in this pass; fix them in the quarantine",
			"held", held)
	}
	total := p.records + p.rejects
	if j.QualityReport {
		now := j.Now
		if now == nil {
			now = time.Now
		}
		if err := publishQuality(ctx, j, now(), total); err != nil {
			return 0, err
		}
	}
	if err := j.Keys.Finish(j.SourceID, next); err != nil {
		return 0, err
	}
	return total, nil
}

// publishQuality publishes the source's data-quality report: the rejected
// records currently held in its quarantine, counted per code.
func publishQuality(ctx context.Context, j Job, at time.Time, total int) error {
	counts, err := j.Quarantine.Counts(j.SourceID)
	if err != nil {
		return fmt.Errorf("source %s: quality report: %w", j.SourceID, err)
	}
	v, err := json.Marshal(stream.DataQualityReport{Establishment: j.Establishment, Source: j.SourceID,
		RunAt: at.UTC().Truncate(time.Second), Counts: counts, TotalRecords: total})
	if err != nil {
		return fmt.Errorf("source %s: quality report: %w", j.SourceID, err)
	}
	m := stream.Message{Topic: stream.DataQualityTopic(j.Establishment), Key: j.SourceID, Value: v,
		Headers: map[string]string{stream.HeaderSource: j.SourceID}}
	if err := j.Publisher.Publish(ctx, []stream.Message{m}); err != nil {
		return fmt.Errorf("source %s: publish quality report: %w", j.SourceID, err)
	}
	return nil
}

func checkEstablishment(rec canonical.Record, finess string) (canonical.Reject, bool) {
	var got string
	switch {
	case rec.Site != nil:
		got = rec.Site.Establishment
	case rec.Inclusion != nil:
		got = rec.Inclusion.Establishment
	default:
		return canonical.Reject{}, true
	}
	if got == finess {
		return canonical.Reject{}, true
	}
	return canonical.Reject{
		Prov:   rec.Prov(),
		Field:  "establishment",
		Code:   "wrong-establishment",
		Reason: fmt.Sprintf("record belongs to establishment %q, but this connector publishes for %q", got, finess),
		Fix:    "only export this establishment's own sites and inclusions, or run the record through that establishment's connector",
	}, false
}

// mappingReject turns a mapping failure into a reject that names the
// element at fault.
func mappingReject(rec canonical.Record, err error) canonical.Reject {
	r := canonical.Reject{Prov: rec.Prov(), Code: "invalid-fhir", Reason: err.Error()}
	var me *mapping.Error
	if errors.As(err, &me) && len(me.Issues) > 0 {
		is := me.Issues[0]
		r.Field = is.Path
		if is.Code != "" {
			r.Code = "invalid-fhir-" + is.Code
		}
		r.Reason = is.Message
		r.Fix = is.Fix
	}
	return r
}

type mapResult struct {
	res []mapping.Resource
	err error
}

// mapAll maps a batch's records on every core; results keep the records'
// order, so what is published and quarantined does not depend on the
// scheduling. The Mapper must be safe for concurrent use (mapping.Mapper is).
func mapAll(m Mapper, recs []canonical.Record) []mapResult {
	out := make([]mapResult, len(recs))
	workers := min(runtime.GOMAXPROCS(0), (len(recs)+63)/64)
	if workers <= 1 {
		for i, r := range recs {
			out[i].res, out[i].err = m.Map(r)
		}
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(recs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(recs))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i].res, out[i].err = m.Map(recs[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// prepared is one source batch turned into what publication needs: pure
// work (no file, no broker), done by the read-ahead goroutine.
type prepared struct {
	cursor        connectors.Cursor
	msgs          []stream.Message
	rejects       []canonical.Reject
	pb            passBatch
	records       int
	erased        int
	sourceRejects int
}

func prepare(j Job, b connectors.Batch, erased map[string]bool) prepared {
	p := prepared{
		cursor:        b.Cursor,
		rejects:       append([]canonical.Reject(nil), b.Rejects...),
		pb:            passBatch{keys: map[string]string{}, records: len(b.Records), rejects: len(b.Rejects), cursor: b.Cursor},
		records:       len(b.Records),
		sourceRejects: len(b.Rejects),
	}
	mapped := mapAll(j.Mapper, b.Records)
	for i, rec := range b.Records {
		if r, ok := checkEstablishment(rec, j.Establishment); !ok {
			p.rejects = append(p.rejects, r)
			continue
		}
		res, err := mapped[i].res, mapped[i].err
		if err != nil {
			p.rejects = append(p.rejects, mappingReject(rec, err))
			continue
		}
		rk := recordKeyHash(rec.Prov().RecordKey)
		for _, r := range res {
			if erased[r.ID] {
				p.erased++
				continue
			}
			p.pb.keys[r.ID] = rk
			p.msgs = append(p.msgs, stream.Message{
				Topic:   stream.Topic(j.Establishment, r.Type),
				Key:     r.ID,
				Value:   r.JSON,
				Headers: map[string]string{stream.HeaderSource: j.SourceID},
			})
		}
	}
	return p
}
