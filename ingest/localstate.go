package ingest

import (
	"fmt"
	"os"
	"path/filepath"
)

// LocalState is a connector's hospital-side state under state_dir:
//
//	cursors/<source>.cursor      position of each source (CursorStore)
//	published/<source>.keys      keys of the last complete snapshot pass (KeyStore)
//	published/<source>.pass      keys of the snapshot pass in progress
//	quarantine/<source>.jsonl    rejected records with their raw values (Quarantine)
//	erased.keys                  ResearchSubject ids of erased subjects (DenyList)
//
// None of it leaves the hospital. The directory is created 0700.
type LocalState struct {
	Dir     string
	Cursors *CursorStore
	Keys    *KeyStore
	Erased  *DenyList
}

// OpenLocalState opens (creating) the state directory dir.
func OpenLocalState(dir string) (*LocalState, error) {
	if dir == "" {
		return nil, fmt.Errorf("state_dir: missing: a local directory for cursors and quarantine, or pass --state-dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	cursors, err := NewCursorStore(filepath.Join(dir, "cursors"))
	if err != nil {
		return nil, err
	}
	keys, err := NewKeyStore(filepath.Join(dir, "published"))
	if err != nil {
		return nil, err
	}
	return &LocalState{Dir: dir, Cursors: cursors, Keys: keys, Erased: NewDenyList(filepath.Join(dir, "erased.keys"))}, nil
}

// Quarantine returns the quarantine of one source.
func (s *LocalState) Quarantine(sourceID string) (*Quarantine, error) {
	if !safeName.MatchString(sourceID) {
		return nil, fmt.Errorf("source id %q: use letters, digits, '.', '_' or '-'", sourceID)
	}
	return NewQuarantine(filepath.Join(s.Dir, "quarantine", sourceID+".jsonl"), nil)
}

// Retry makes the next run read sourceID again from its beginning: the
// cursor and any snapshot pass in progress are forgotten. That run rebuilds
// the source's quarantine, so entries whose rows now pass disappear; the
// keys of the last complete pass are kept, so deletions are still detected.
func (s *LocalState) Retry(sourceID string) error {
	if err := s.Keys.Abandon(sourceID); err != nil {
		return err
	}
	return s.Cursors.Reset(sourceID)
}
