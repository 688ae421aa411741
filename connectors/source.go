// Package connectors holds the Source contract that every connector kind
// implements, the factory registry the binary builds from, and one
// sub-package per source kind. Connectors know nothing of Kafka or FHIR: they
// turn a hospital system's export into canonical records and rejects.
package connectors

import (
	"context"
	"errors"
	"log/slog"

	"github.com/fr-it4ct/it4ct/canonical"
)

// ErrEndOfInput is returned by Source.Read when the source has nothing more
// to give for this run.
var ErrEndOfInput = errors.New("end of input")

// Cursor is an opaque, source-defined position. The runner persists it
// locally and hands it back to Open after a restart. A nil cursor means
// "from the beginning".
type Cursor []byte

// Batch is what one Read returns: the records and rejects found in a slice of
// the input, and the cursor position just after them. The runner commits
// Cursor only once every record of this batch and of all batches before it
// has been acknowledged downstream.
type Batch struct {
	Records []canonical.Record
	Rejects []canonical.Reject
	Cursor  Cursor
}

// Source pulls records from one hospital system.
//
// Implementations stream (bounded memory whatever the input size), report
// bad records as Rejects in the batch without stopping, return promptly when
// ctx is cancelled, and never put a secret or patient identifier in an error
// or a log line.
type Source interface {
	// Open prepares the source to read from cursor (nil: from the start).
	Open(ctx context.Context, cursor Cursor) error
	// Read returns the next batch, or ErrEndOfInput when exhausted.
	Read(ctx context.Context) (Batch, error)
	// Close releases resources; safe to call more than once and after a
	// failed Open.
	Close() error
}

// Settings is what every connector instance receives from the binary: no
// globals.
type Settings struct {
	SourceID      string       // configured source id, used in provenance
	Establishment string       // FINESS of the establishment running the connector
	BaseDir       string       // directory relative paths in the config resolve against
	Logger        *slog.Logger // never nil
}

// Snapshotter is implemented by sources whose every read from a nil cursor
// to ErrEndOfInput returns the whole current content of the source system
// (a full export), not a change feed. For such a source the runner detects
// deletions by difference: a resource published by the last complete pass
// and absent from the current one was removed at the source, and becomes a
// tombstone. Sources that only stream changes do not implement it (or
// return false) and must report deletions explicitly.
//
// A Snapshotter must also honour this: opening it at the cursor of the last
// batch of a complete pass and getting ErrEndOfInput from the first Read
// means the export has not changed since (the runner then skips the pass).
type Snapshotter interface {
	Snapshot() bool
}

// IsSnapshot reports whether src declares full-snapshot semantics.
func IsSnapshot(src Source) bool {
	s, ok := src.(Snapshotter)
	return ok && s.Snapshot()
}
