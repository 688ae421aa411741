package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

// DenyList is the local list of erased subjects: the ids of their
// ResearchSubject resources (keyed hashes, never a local id), one per line.
// The runner never publishes a resource whose id is on it, so an erasure
// survives later runs of an export that still holds the subject.
type DenyList struct {
	mu   sync.Mutex
	path string
}

// NewDenyList returns the deny list stored at path.
func NewDenyList(path string) *DenyList { return &DenyList{path: path} }

// Load returns the erased ids.
func (d *DenyList) Load() (map[string]bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]bool{}
	err := readLines(d.path, func(line string) error {
		out[line] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("erased subjects: %w", err)
	}
	return out, nil
}

// Add records ids durably (the file is rewritten atomically).
func (d *DenyList) Add(ids ...string) error {
	cur, err := d.Load()
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if !strings.HasPrefix(id, mapping.PrefixSubject) {
			return fmt.Errorf("erase: %q is not a ResearchSubject id", id)
		}
		cur[id] = true
	}
	all := make([]string, 0, len(cur))
	for id := range cur {
		all = append(all, id)
	}
	slices.Sort(all)
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
		return fmt.Errorf("erased subjects: %w", err)
	}
	if err := writeFileAtomic(d.path, []byte(strings.Join(all, "\n")+"\n")); err != nil {
		return fmt.Errorf("erased subjects: %w", err)
	}
	return nil
}

// ErrSubjectNotFound: no source of the connector holds the subject.
var ErrSubjectNotFound = errors.New("subject not found")

// FindSubject reads every source from its beginning (without moving any
// cursor or publishing anything) and returns the ResearchSubject ids of the
// inclusions of local subject id subject in the study named by study: any of
// its identifiers (EU CT, ID-RCB, EudraCT, NCT number or sponsor code),
// compared case-insensitively.
func (c *Connector) FindSubject(ctx context.Context, study, subject string) ([]string, error) {
	want := mapping.NormaliseLocalID(subject)
	if want == "" || strings.TrimSpace(study) == "" {
		return nil, errors.New("erase: both the study identifier and the local subject id are needed")
	}
	var out []string
	for _, j := range c.jobs {
		ids, err := findSubject(ctx, j, study, want)
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("erase: %w in the current export of any source (study %q); if the row was removed there, the next run deletes it", ErrSubjectNotFound, study)
	}
	return out, nil
}

func findSubject(ctx context.Context, j Job, study, want string) ([]string, error) {
	if err := j.Source.Open(ctx, nil); err != nil {
		return nil, fmt.Errorf("source %s: open: %w", j.SourceID, err)
	}
	defer j.Source.Close()
	var out []string
	for {
		b, err := j.Source.Read(ctx)
		if errors.Is(err, connectors.ErrEndOfInput) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("source %s: read: %w", j.SourceID, err)
		}
		for _, rec := range b.Records {
			in := rec.Inclusion
			if in == nil || mapping.NormaliseLocalID(in.LocalSubjectID) != want || !studyMatches(in.Study, study) {
				continue
			}
			res, err := j.Mapper.Map(rec)
			if err != nil {
				return nil, fmt.Errorf("source %s %s: the subject's row does not map (%v); fix it first", j.SourceID, rec.Prov().String(), err)
			}
			for _, r := range res {
				if r.Type == stream.ResourceSubject {
					out = append(out, r.ID)
				}
			}
		}
	}
}

func studyMatches(ids canonical.Identifiers, s string) bool {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, v := range []string{ids.EUCT, ids.IDRCB, ids.EudraCT, ids.NCT, ids.SponsorCode} {
		if v != "" && strings.ToUpper(strings.TrimSpace(v)) == s {
			return true
		}
	}
	return false
}

// Erase records ids on the deny list, then publishes their tombstones and
// waits for the broker's acknowledgement. Run it again after a failure: it
// is idempotent.
func (c *Connector) Erase(ctx context.Context, ids []string) error {
	if err := c.State.Erased.Add(ids...); err != nil {
		return err
	}
	msgs := make([]stream.Message, 0, len(ids))
	for _, id := range ids {
		m, err := tombstone(c.Establishment(), "erase", id)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := c.pub.Publish(ctx, msgs); err != nil {
		return fmt.Errorf("erase: publish %d tombstones (the erasure is recorded locally; run the command again): %w", len(msgs), err)
	}
	return nil
}
