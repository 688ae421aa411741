package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; migration i brings the schema to version
// i+1. Never edit a released migration: append a new one. The SQL is shared by
// SQLite and PostgreSQL (both accept TEXT, BIGINT and ON CONFLICT).
var migrations = []string{
	`
CREATE TABLE national_studies (
	id             TEXT NOT NULL CHECK (id <> ''),
	establishment  TEXT NOT NULL CHECK (establishment <> ''),
	sponsor_finess TEXT NOT NULL,
	sponsor_type   TEXT NOT NULL,
	category       TEXT NOT NULL,
	phase          TEXT NOT NULL,
	status         TEXT NOT NULL,
	json           TEXT NOT NULL,
	PRIMARY KEY (id, establishment)
);
CREATE TABLE study_identifiers (
	system        TEXT NOT NULL,
	value         TEXT NOT NULL,
	id            TEXT NOT NULL,
	establishment TEXT NOT NULL,
	PRIMARY KEY (value, system, id, establishment)
);
CREATE INDEX study_identifiers_study ON study_identifiers (id, establishment);
CREATE TABLE site_studies (
	id              TEXT NOT NULL CHECK (id <> ''),
	establishment   TEXT NOT NULL CHECK (establishment <> ''),
	national_id     TEXT NOT NULL,
	role            TEXT NOT NULL,
	status          TEXT NOT NULL,
	opened          TEXT NOT NULL,
	first_inclusion TEXT NOT NULL,
	closed          TEXT NOT NULL,
	json            TEXT NOT NULL,
	PRIMARY KEY (id, establishment)
);
CREATE INDEX site_studies_national ON site_studies (national_id);
CREATE TABLE subjects (
	establishment  TEXT NOT NULL CHECK (establishment <> ''),
	id             TEXT NOT NULL CHECK (id <> ''),
	site_study_id  TEXT NOT NULL,
	inclusion_date TEXT NOT NULL,
	status         TEXT NOT NULL,
	json           TEXT NOT NULL,
	PRIMARY KEY (establishment, id)
);
CREATE INDEX subjects_site_study ON subjects (establishment, site_study_id);
CREATE TABLE consumed_offsets (
	topic        TEXT NOT NULL,
	partition_id INTEGER NOT NULL,
	next_offset  BIGINT NOT NULL CHECK (next_offset >= 0),
	PRIMARY KEY (topic, partition_id)
);
CREATE TABLE quality_events (
	topic         TEXT NOT NULL,
	partition_id  INTEGER NOT NULL,
	record_offset BIGINT NOT NULL,
	establishment TEXT NOT NULL,
	record_key    TEXT NOT NULL,
	code          TEXT NOT NULL CHECK (code <> ''),
	reason        TEXT NOT NULL,
	PRIMARY KEY (topic, partition_id, record_offset)
);
`,
	`
CREATE TABLE site_quality (
	establishment TEXT NOT NULL,
	source        TEXT NOT NULL,
	run_at        TEXT NOT NULL,
	total_records BIGINT NOT NULL,
	counts        TEXT NOT NULL,
	PRIMARY KEY (establishment, source)
);
`,
}

// migrate brings the schema to the latest version in one transaction.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if d.postgres {
		// Serialise concurrent first opens of the same database.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(4474001)`); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_version: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d; upgrade it4ct", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate: to version %d: %w", i+1, err)
		}
	}
	if v < len(migrations) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, len(migrations)); err != nil {
			return fmt.Errorf("migrate: record version: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
