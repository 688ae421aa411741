// Package store holds the national state the aggregator builds from the site
// topics: the national and site-level studies and the subjects each
// establishment reported, the consumed Kafka offsets and the data-quality
// events, on embedded SQLite or on PostgreSQL behind one interface.
//
// Every write goes through Apply, which applies a batch of changes and the
// offsets they came from in one transaction: a crash can neither lose an
// update nor apply it twice.
package store

import (
	"context"
	"fmt"
	"strings"
)

// Kind names the table a Change targets.
type Kind uint8

const (
	// KindStudy is a ResearchStudy of either level. Upserting a national
	// study removes a site-level study with the same key and vice versa; a
	// delete removes both.
	KindStudy Kind = iota + 1
	// KindSubject is a ResearchSubject.
	KindSubject
	// KindQuality is a data-quality event; it is keyed by its record
	// position (topic, partition, offset) so replays overwrite it.
	KindQuality
	// KindSiteQuality is an establishment's data-quality report for one
	// source, keyed by (Establishment, ID = source id); a delete removes it.
	KindSiteQuality
)

func (k Kind) String() string {
	switch k {
	case KindStudy:
		return "study"
	case KindSubject:
		return "subject"
	case KindQuality:
		return "quality"
	case KindSiteQuality:
		return "site-quality"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// NationalStudy is one establishment's version of a national-level study.
type NationalStudy struct {
	Establishment string // FINESS of the establishment that reported it (topic)
	ID            string // resource id
	SponsorFINESS string
	SponsorType   string
	Category      string
	Phase         string
	Status        string
	Identifiers   []Identifier
	JSON          []byte // raw FHIR JSON; only filled by reads that say so
}

// Identifier is one business identifier of a study (FHIR system and value).
type Identifier struct {
	System string
	Value  string
}

// SiteStudy is a site-level study: one establishment's participation in a
// national study. Dates are YYYY-MM-DD, "" when unknown.
type SiteStudy struct {
	Establishment  string // FINESS of the site (= reporting establishment)
	ID             string
	NationalID     string // partOf; "" when unknown
	Role           string
	Status         string
	Opened         string
	FirstInclusion string
	Closed         string
	JSON           []byte
}

// Subject is one inclusion (ResearchSubject). InclusionDate is YYYY-MM-DD,
// "" when unknown.
type Subject struct {
	Establishment string // reporting establishment (topic)
	ID            string
	SiteStudyID   string
	InclusionDate string
	Status        string
	JSON          []byte
}

// QualityEvent is a data-quality finding about one consumed record. It never
// holds patient data: only the record's position, key (a resource id) and a
// reason.
type QualityEvent struct {
	Topic         string
	Partition     int32
	Offset        int64
	Establishment string // FINESS of the topic, "" if the topic is unparsable
	RecordKey     string
	Code          string // stable machine code, e.g. "establishment-mismatch"
	Reason        string // for a human
}

// SiteQuality is the latest data-quality report of one source of one
// establishment: counts of rejected records per reason code, never records.
type SiteQuality struct {
	Establishment string
	Source        string
	RunAt         string // RFC 3339, UTC
	TotalRecords  int64
	Counts        map[string]int64
}

// Change is one upsert or delete. Exactly one of NationalStudy, SiteStudy,
// Subject or Quality is set for an upsert (matching Kind); a delete sets
// Kind, Establishment and ID only.
type Change struct {
	Kind          Kind
	Establishment string
	ID            string
	Delete        bool

	NationalStudy *NationalStudy
	SiteStudy     *SiteStudy
	Subject       *Subject
	Quality       *QualityEvent
	SiteQuality   *SiteQuality
}

// Offset is the next offset to consume for one topic partition.
type Offset struct {
	Topic     string
	Partition int32
	Next      int64
}

// InclusionCount counts the inclusions (screen failures excluded) one
// establishment reported for one site-level study over a date range.
type InclusionCount struct {
	Establishment string
	SiteStudyID   string
	Count         int64
}

// Store is the national state.
type Store interface {
	// Apply applies changes and records offsets in one transaction: either
	// all of it is stored or nothing is. Within a batch a later change to
	// the same key supersedes an earlier one.
	Apply(ctx context.Context, changes []Change, offsets []Offset) error
	// Offsets returns the next offset per partition stored for topic.
	Offsets(ctx context.Context, topic string) (map[int32]int64, error)

	// NationalStudies lists every reported version of every national
	// study, ordered by id then establishment, with identifiers (ordered
	// by system, value) and without JSON.
	NationalStudies(ctx context.Context) ([]NationalStudy, error)
	// NationalStudyVersions returns the versions of one national study,
	// ordered by establishment, with JSON and identifiers.
	NationalStudyVersions(ctx context.Context, id string) ([]NationalStudy, error)
	// NationalStudyIDsByIdentifier returns the ids of national studies
	// holding the identifier; an empty system matches any system.
	NationalStudyIDsByIdentifier(ctx context.Context, system, value string) ([]string, error)
	// SiteStudies lists every site-level study, ordered by id then
	// establishment, without JSON.
	SiteStudies(ctx context.Context) ([]SiteStudy, error)
	// SiteStudiesByID returns the site-level studies with that id (one per
	// establishment that reported it), with JSON.
	SiteStudiesByID(ctx context.Context, id string) ([]SiteStudy, error)
	// SiteStudiesOf returns the site-level studies part of a national
	// study, with JSON.
	SiteStudiesOf(ctx context.Context, nationalID string) ([]SiteStudy, error)
	// SiteStudyEstablishments returns, for each id found, the
	// establishments that reported a site-level study with that id.
	SiteStudyEstablishments(ctx context.Context, ids []string) (map[string][]string, error)
	// SubjectsByID returns the subjects with that id (one per reporting
	// establishment), with JSON.
	SubjectsByID(ctx context.Context, id string) ([]Subject, error)
	// SubjectsBySiteStudy returns the subjects establishment reported for
	// one site-level study, ordered by id, with JSON.
	SubjectsBySiteStudy(ctx context.Context, establishment, siteStudyID string) ([]Subject, error)
	// InclusionCounts counts, per (establishment, site study), the
	// subjects whose inclusion date is within [from, to] (YYYY-MM-DD,
	// inclusive) and whose status is not screen-failed.
	InclusionCounts(ctx context.Context, from, to string) ([]InclusionCount, error)
	// QualityEvents lists the data-quality events by topic, partition,
	// offset.
	QualityEvents(ctx context.Context) ([]QualityEvent, error)
	// SiteQuality lists the establishments' data-quality reports by
	// establishment and source.
	SiteQuality(ctx context.Context) ([]SiteQuality, error)

	// Close releases the database.
	Close() error
}

// Open opens (creating and migrating if needed) the store named by dsn:
// "postgres://…" or "postgresql://…" for PostgreSQL, "sqlite:<path>" or a
// plain file path for SQLite.
func Open(ctx context.Context, dsn string) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case dsn == "":
		return nil, fmt.Errorf("open store: empty dsn; use sqlite:<path> or postgres://…")
	case strings.Contains(dsn, "://"):
		return nil, fmt.Errorf("open store: unsupported dsn scheme in %q; use sqlite:<path> or postgres://…", redactDSN(dsn))
	default:
		return openSQLite(ctx, dsn)
	}
}

// redactDSN drops a password from a URL-shaped dsn for error messages.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return dsn
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
