package ctmscsv

import "github.com/fr-it4ct/it4ct/connectors"

// Snapshot implements connectors.Snapshotter: a CTMS CSV export is the full
// current list of the establishment's studies and inclusions, so a row that
// disappears from it was deleted at the source. Opened at its last cursor,
// the source returns ErrEndOfInput at once when neither file changed.
func (s *Source) Snapshot() bool { return true }

var _ connectors.Snapshotter = (*Source)(nil)
