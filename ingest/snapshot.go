package ingest

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

// KeyStore keeps, per snapshot source, the resource keys its last complete
// pass published (<source>.keys, replaced atomically) and the keys of the
// pass in progress (<source>.pass, appended and fsynced after each
// acknowledged batch). The difference between the two at the end of a pass
// is what was deleted at the source.
//
// Each key is stored with a short hash of the source record key it came
// from (canonical.Provenance.RecordKey), so that a record rejected in the
// current pass holds back the deletion of what it published before: a typo
// in an export must not delete national data.
type KeyStore struct{ dir string }

// NewKeyStore returns a store rooted at dir (created if needed).
func NewKeyStore(dir string) (*KeyStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key store %s: %w", dir, err)
	}
	return &KeyStore{dir: dir}, nil
}

func (k *KeyStore) path(sourceID, ext string) (string, error) {
	if !safeName.MatchString(sourceID) {
		return "", fmt.Errorf("source id %q: use letters, digits, '.', '_' or '-'", sourceID)
	}
	return filepath.Join(k.dir, sourceID+ext), nil
}

// recordKeyHash is the stored form of a source record key ("" stays "").
func recordKeyHash(rk string) string {
	rk = strings.ToUpper(strings.TrimSpace(rk))
	if rk == "" {
		return ""
	}
	h := sha256.Sum256([]byte(rk))
	return hex.EncodeToString(h[:8])
}

// Complete returns the keys of the last complete pass: resource id ->
// record key hash. Empty when no pass ever completed.
func (k *KeyStore) Complete(sourceID string) (map[string]string, error) {
	p, err := k.path(sourceID, ".keys")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	err = readLines(p, func(line string) error {
		id, rk, _ := strings.Cut(line, " ")
		if id == "" {
			return errors.New("empty key")
		}
		out[id] = rk
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("published keys of %s: %w", sourceID, err)
	}
	return out, nil
}

// InPass reports whether a pass of sourceID was begun and not finished.
func (k *KeyStore) InPass(sourceID string) (bool, error) {
	p, err := k.path(sourceID, ".pass")
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pass state of %s: %w", sourceID, err)
	}
	return true, nil
}

// Begin starts a new pass of sourceID (an empty pass file).
func (k *KeyStore) Begin(sourceID string) error {
	p, err := k.path(sourceID, ".pass")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p, nil); err != nil {
		return fmt.Errorf("begin pass of %s: %w", sourceID, err)
	}
	return nil
}

// Abandon forgets the pass in progress, if any.
func (k *KeyStore) Abandon(sourceID string) error {
	p, err := k.path(sourceID, ".pass")
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abandon pass of %s: %w", sourceID, err)
	}
	return nil
}

// passBatch is what one acknowledged batch adds to the pass.
type passBatch struct {
	keys    map[string]string // resource id -> record key hash
	held    []string          // record key hashes of rejects; "*" for a reject without record key
	records int               // canonical records read
	rejects int               // source rejects (rows that gave no record)
	cursor  connectors.Cursor
}

// Append adds one acknowledged batch to the pass of sourceID, durably.
func (k *KeyStore) Append(sourceID string, b passBatch) error {
	p, err := k.path(sourceID, ".pass")
	if err != nil {
		return err
	}
	var sb strings.Builder
	ids := make([]string, 0, len(b.keys))
	for id := range b.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(&sb, "k %s %s\n", id, b.keys[id])
	}
	for _, h := range b.held {
		fmt.Fprintf(&sb, "h %s\n", h)
	}
	fmt.Fprintf(&sb, "b %d %d %s\n", b.records, b.rejects, base64.RawURLEncoding.EncodeToString(b.cursor))
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("pass of %s: %w", sourceID, err)
	}
	if _, err := f.WriteString(sb.String()); err != nil {
		f.Close()
		return fmt.Errorf("pass of %s: %w", sourceID, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pass of %s: %w", sourceID, err)
	}
	return f.Close()
}

// pass is the state of a pass in progress, as read back.
type pass struct {
	keys    map[string]string
	held    map[string]bool
	holdAll bool
	records int
	rejects int
}

// Pass reads the pass in progress. A batch appended twice (crash between
// Append and the cursor save, then the batch read again) counts once.
func (k *KeyStore) Pass(sourceID string) (pass, error) {
	ps := pass{keys: map[string]string{}, held: map[string]bool{}}
	p, err := k.path(sourceID, ".pass")
	if err != nil {
		return ps, err
	}
	seen := map[string]bool{}
	data, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ps, fmt.Errorf("pass of %s: %w", sourceID, err)
	}
	// A crash in the middle of Append can leave a torn last line: it was
	// never followed by a cursor save, so the batch is read again; drop it.
	if i := strings.LastIndexByte(string(data), '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	err = eachLine(data, func(line string) error {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "k":
			id, rk, _ := strings.Cut(rest, " ")
			ps.keys[id] = rk
		case "h":
			if rest == "*" {
				ps.holdAll = true
			}
			ps.held[rest] = true
		case "b":
			f := strings.Fields(rest)
			if len(f) < 2 {
				return fmt.Errorf("bad batch line %q", line)
			}
			cur := ""
			if len(f) > 2 {
				cur = f[2]
			}
			if seen[cur] && cur != "" {
				return nil
			}
			seen[cur] = true
			r, err1 := strconv.Atoi(f[0])
			j, err2 := strconv.Atoi(f[1])
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("bad batch line %q: %w", line, err)
			}
			ps.records += r
			ps.rejects += j
		default:
			return fmt.Errorf("bad line %q", line)
		}
		return nil
	})
	if err != nil {
		return ps, fmt.Errorf("pass of %s: %w", sourceID, err)
	}
	return ps, nil
}

// deletions returns, sorted, the ids published by the last complete pass
// and absent from p, except those whose record is held back by a reject of
// p; and the key set to store as the new complete pass (p's keys plus the
// held-back ones, still owed a decision).
func deletions(prev map[string]string, p pass) (gone []string, next map[string]string, held int) {
	next = make(map[string]string, len(p.keys))
	for id, rk := range p.keys {
		next[id] = rk
	}
	for id, rk := range prev {
		if _, ok := p.keys[id]; ok {
			continue
		}
		if p.holdAll || (rk != "" && p.held[rk]) {
			next[id] = rk
			held++
			continue
		}
		gone = append(gone, id)
	}
	slices.Sort(gone)
	return gone, next, held
}

// Finish stores keys as the last complete pass of sourceID and ends the
// pass. Crash-safe: until the pass file is removed, a rerun recomputes the
// same (by then empty) difference.
func (k *KeyStore) Finish(sourceID string, keys map[string]string) error {
	p, err := k.path(sourceID, ".keys")
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(id)
		sb.WriteByte(' ')
		sb.WriteString(keys[id])
		sb.WriteByte('\n')
	}
	if err := writeFileAtomic(p, []byte(sb.String())); err != nil {
		return fmt.Errorf("store published keys of %s: %w", sourceID, err)
	}
	return k.Abandon(sourceID)
}

// tombstone returns the deletion message of a resource id published by
// establishment finess; the topic follows from the id's prefix.
func tombstone(finess, sourceID, id string) (stream.Message, error) {
	var typ string
	switch {
	case strings.HasPrefix(id, mapping.PrefixNationalStudy), strings.HasPrefix(id, mapping.PrefixSiteStudy):
		typ = stream.ResourceStudy
	case strings.HasPrefix(id, mapping.PrefixSubject):
		typ = stream.ResourceSubject
	default:
		return stream.Message{}, fmt.Errorf("resource id %q has no known prefix (st-, ss-, sj-)", id)
	}
	return stream.Message{Topic: stream.Topic(finess, typ), Key: id, Value: nil,
		Headers: map[string]string{stream.HeaderSource: sourceID}}, nil
}

func eachLine(data []byte, fn func(string) error) error {
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
	}
	return nil
}

// readLines calls fn with each non-empty line of path; a missing file has
// no lines.
func readLines(path string, fn func(string) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		if line := sc.Text(); line != "" {
			if err := fn(line); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
		}
	}
	return sc.Err()
}
