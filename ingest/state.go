package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
)

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CursorStore keeps one cursor file per source under dir. Writes are atomic
// (temporary file, fsync, rename), so a crash leaves either the old or the
// new cursor, never a torn one.
type CursorStore struct{ dir string }

// NewCursorStore returns a store rooted at dir (created if needed).
func NewCursorStore(dir string) (*CursorStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cursor store %s: %w", dir, err)
	}
	return &CursorStore{dir: dir}, nil
}

func (c *CursorStore) path(sourceID string) (string, error) {
	if !safeName.MatchString(sourceID) {
		return "", fmt.Errorf("source id %q: use letters, digits, '.', '_' or '-'", sourceID)
	}
	return filepath.Join(c.dir, sourceID+".cursor"), nil
}

// Load returns the saved cursor of sourceID, or nil when there is none.
func (c *CursorStore) Load(sourceID string) (connectors.Cursor, error) {
	p, err := c.path(sourceID)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load cursor of %s: %w", sourceID, err)
	}
	return connectors.Cursor(b), nil
}

// Save stores the cursor of sourceID durably.
func (c *CursorStore) Save(sourceID string, cur connectors.Cursor) error {
	p, err := c.path(sourceID)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p, cur); err != nil {
		return fmt.Errorf("save cursor of %s: %w", sourceID, err)
	}
	return nil
}

// Reset forgets the cursor of sourceID: the next run reads from the start.
func (c *CursorStore) Reset(sourceID string) error {
	p, err := c.path(sourceID)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reset cursor of %s: %w", sourceID, err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Quarantine is the hospital-side store of rejected records. Entries may
// hold raw source values (possibly identifying): the file is created 0600,
// stays on the hospital side and is never published or logged.
type Quarantine struct {
	mu   sync.Mutex
	path string
	now  func() time.Time
}

// QuarantineEntry is one line of the quarantine file (JSON Lines).
type QuarantineEntry struct {
	Time      time.Time `json:"time"`
	Source    string    `json:"source"`
	File      string    `json:"file,omitempty"`
	Line      int       `json:"line,omitempty"`
	RecordKey string    `json:"record_key,omitempty"`
	Column    string    `json:"column,omitempty"`
	Field     string    `json:"field,omitempty"`
	Code      string    `json:"code"`
	Reason    string    `json:"reason"`
	Fix       string    `json:"fix,omitempty"`
	Message   string    `json:"message"`
	Raw       []string  `json:"raw,omitempty"`
}

// NewQuarantine opens (or creates) the quarantine file at path.
func NewQuarantine(path string, now func() time.Time) (*Quarantine, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("quarantine %s: %w", path, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Quarantine{path: path, now: now}, nil
}

// Path is the quarantine file's location.
func (q *Quarantine) Path() string { return q.path }

// Add appends rejects durably (fsync) before returning.
func (q *Quarantine) Add(rs []canonical.Reject) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	f, err := os.OpenFile(q.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	t := q.now().UTC()
	for _, r := range rs {
		e := QuarantineEntry{Time: t, Source: r.Prov.Source, File: r.Prov.File, Line: r.Prov.Line,
			RecordKey: r.Prov.RecordKey, Column: r.Column, Field: r.Field, Code: r.Code,
			Reason: r.Reason, Fix: r.Fix, Message: r.Error(), Raw: r.Raw}
		if err := enc.Encode(e); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// List reads the entries of the quarantine, oldest first. A record rejected
// again with the same reason (a batch read twice after a crash, a rerun of
// an incremental source) is listed once, with its latest time.
func (q *Quarantine) List() ([]QuarantineEntry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	all, err := q.readAll()
	if err != nil {
		return nil, err
	}
	type key struct {
		source, file, recordKey, column, field, code string
		line                                         int
	}
	at := map[key]int{}
	var out []QuarantineEntry
	for _, e := range all {
		k := key{e.Source, e.File, e.RecordKey, e.Column, e.Field, e.Code, e.Line}
		if i, ok := at[k]; ok {
			out[i] = e
			continue
		}
		at[k] = len(out)
		out = append(out, e)
	}
	return out, nil
}

// Counts returns the number of listed entries of sourceID per code.
func (q *Quarantine) Counts(sourceID string) (map[string]int, error) {
	es, err := q.List()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, e := range es {
		if e.Source == sourceID {
			out[e.Code]++
		}
	}
	return out, nil
}

// Reset removes the entries of sourceID (atomically): called when a run
// reads the source from its beginning, so the quarantine then holds the
// rejects of the current export only, not those of every past run.
func (q *Quarantine) Reset(sourceID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	all, err := q.readAll()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	kept := 0
	for _, e := range all {
		if e.Source != sourceID {
			kept++
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
	}
	if kept == len(all) {
		return nil
	}
	if err := writeFileAtomic(q.path, buf.Bytes()); err != nil {
		return fmt.Errorf("quarantine %s: reset %s: %w", q.path, sourceID, err)
	}
	return nil
}

func (q *Quarantine) readAll() ([]QuarantineEntry, error) {
	f, err := os.Open(q.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []QuarantineEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e QuarantineEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("quarantine %s: corrupt line: %w", q.path, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
