// Package ingest runs connectors on the hospital side: it reads a Source,
// maps each canonical record to FHIR, keeps every reject in the local
// quarantine, publishes the resources and moves the source cursor only once
// the broker has acknowledged everything before it.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Logger        *slog.Logger
}

// Stats counts what a run did.
type Stats struct {
	Batches   int
	Records   int
	Published int
	Rejects   int
	ByCode    map[string]int
	Duration  time.Duration
}

// Run reads the source to its end. It returns the first non-record error
// (source I/O, broker); record-level problems are quarantined and counted.
// The cursor is saved after each batch's publication is acknowledged, so a
// crash at any point resumes without losing a record (re-publishing is an
// idempotent upsert downstream).
func Run(ctx context.Context, j Job) (Stats, error) {
	start := time.Now()
	st := Stats{ByCode: map[string]int{}}
	log := j.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("source", j.SourceID, "finess", j.Establishment)

	cur, err := j.Cursors.Load(j.SourceID)
	if err != nil {
		return st, err
	}
	if err := j.Source.Open(ctx, cur); err != nil {
		return st, fmt.Errorf("source %s: open: %w", j.SourceID, err)
	}
	defer j.Source.Close()

	for {
		b, err := j.Source.Read(ctx)
		if errors.Is(err, connectors.ErrEndOfInput) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("source %s: read: %w", j.SourceID, err)
		}
		st.Batches++
		rejects := append([]canonical.Reject(nil), b.Rejects...)
		var msgs []stream.Message
		for _, rec := range b.Records {
			st.Records++
			if r, ok := checkEstablishment(rec, j.Establishment); !ok {
				rejects = append(rejects, r)
				continue
			}
			res, err := j.Mapper.Map(rec)
			if err != nil {
				rejects = append(rejects, mappingReject(rec, err))
				continue
			}
			for _, r := range res {
				msgs = append(msgs, stream.Message{
					Topic: stream.Topic(j.Establishment, r.Type),
					Key:   r.ID,
					Value: r.JSON,
					Headers: map[string]string{
						"it4ct-source": j.SourceID,
					},
				})
			}
		}
		// Rejects are kept before the cursor moves past them.
		if len(rejects) > 0 {
			if err := j.Quarantine.Add(rejects); err != nil {
				return st, fmt.Errorf("source %s: quarantine: %w", j.SourceID, err)
			}
			for _, r := range rejects {
				st.ByCode[r.Code]++
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
		if err := j.Cursors.Save(j.SourceID, b.Cursor); err != nil {
			return st, err
		}
	}
	st.Duration = time.Since(start)
	if st.Rejects > 0 {
		log.Warn("records rejected and kept in the quarantine", "rejects", st.Rejects, "quarantine", j.Quarantine.Path())
	}
	log.Info("source run done", "records", st.Records, "published", st.Published, "rejects", st.Rejects, "duration", st.Duration)
	return st, nil
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
