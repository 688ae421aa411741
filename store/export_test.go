package store

import (
	"context"
	"database/sql"
)

// BumpSchemaVersionForTest sets the schema version of a SQLite file.
func BumpSchemaVersionForTest(ctx context.Context, path string, v int) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `UPDATE schema_version SET version = $1`, v)
	return err
}
