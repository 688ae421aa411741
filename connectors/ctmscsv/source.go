package ctmscsv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/connectors"
)

// Source reads a CTMS CSV export: the studies file first (each row gives a
// Study and this establishment's Site), then the inclusions file. It is not
// safe for concurrent use.
type Source struct {
	set        connectors.Settings
	cfg        Config
	studies    string // resolved paths
	inclusions string
	inclCols   map[string]string
	batchSize  int
	studyRef   string
	vocabs     map[string]vocab

	// Per-run state, reset by Open.
	stage    int // stageStudies, stageInclusions, stageDone
	cur      *csvFile
	skip     int    // rows of cur starting on or before this line are not emitted
	silent   bool   // studies pass that only rebuilds the index
	resume   cursor // cursor given to Open, for the inclusions file
	studySHA string
	index    map[string]canonical.Identifiers // study reference -> identifiers
	seen     map[string]int                   // study reference -> line of its row
	bad      map[string]int                   // study reference -> line of its rejected row
}

const (
	stageStudies = iota
	stageInclusions
	stageDone
)

// cursor is the JSON form of connectors.Cursor for this source.
type cursor struct {
	File   string `json:"file"`   // "studies" or "inclusions"
	SHA256 string `json:"sha256"` // of the file the position refers to
	Line   int    `json:"line"`   // physical line where the last consumed row starts
	// StudiesSHA256 is the studies file's hash when File is "inclusions":
	// if the studies file changed, the whole export is read again.
	StudiesSHA256 string `json:"studies_sha256,omitempty"`
}

// New builds a source from a validated-or-not configuration. It has no side
// effects: files are opened by Open.
func New(set connectors.Settings, cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s source %q: invalid config:\n%w", Type, set.SourceID, err)
	}
	if set.Logger == nil {
		return nil, fmt.Errorf("%s source %q: settings have no logger", Type, set.SourceID)
	}
	s := &Source{
		set:        set,
		cfg:        cfg,
		studies:    resolvePath(set.BaseDir, cfg.Studies.Path),
		inclusions: resolvePath(set.BaseDir, cfg.Inclusions.Path),
		inclCols:   cfg.Inclusions.inclusionColumns(),
		batchSize:  cfg.BatchSize,
		studyRef:   cfg.StudyRef,
		vocabs:     map[string]vocab{},
	}
	if s.batchSize == 0 {
		s.batchSize = DefaultBatchSize
	}
	if s.studyRef == "" {
		s.studyRef = "local_code"
	}
	for f := range vocabularies {
		s.vocabs[f] = buildVocab(cfg.Values, f)
	}
	for _, fc := range []*FileConfig{&s.cfg.Studies, &s.cfg.Inclusions} {
		if len(fc.DateFormats) == 0 {
			fc.DateFormats = defaultFileConfig().DateFormats
		}
	}
	return s, nil
}

func resolvePath(base, p string) string {
	if filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// Open checks both files' headers and positions the source at cursor.
func (s *Source) Open(ctx context.Context, c connectors.Cursor) error {
	s.Close()
	s.index = map[string]canonical.Identifiers{}
	s.seen = map[string]int{}
	s.bad = map[string]int{}
	s.stage, s.skip, s.silent, s.resume = stageStudies, 0, false, cursor{}

	var cur cursor
	if len(c) > 0 {
		if err := json.Unmarshal(c, &cur); err != nil {
			return fmt.Errorf("open %s source %q: cursor is not valid: %w", Type, s.set.SourceID, err)
		}
		if cur.File != "studies" && cur.File != "inclusions" {
			return fmt.Errorf("open %s source %q: cursor names unknown file %q", Type, s.set.SourceID, cur.File)
		}
	}

	// Check both headers before emitting anything, and report both files'
	// problems at once (studies first).
	var inclSHA string
	incl, inclErr := openCSV(ctx, "inclusions", s.inclusions, s.cfg.Inclusions, s.inclCols)
	if inclErr == nil {
		inclSHA = incl.sha
		incl.close()
	}
	studies, studErr := openCSV(ctx, "studies", s.studies, s.cfg.Studies, s.cfg.Studies.Columns)
	if err := errors.Join(studErr, inclErr); err != nil {
		studies.close()
		return fmt.Errorf("open %s source %q: %w", Type, s.set.SourceID, err)
	}
	s.cur = studies
	s.studySHA = s.cur.sha
	log := s.set.Logger.With("source", s.set.SourceID, "finess", s.set.Establishment)
	switch {
	case cur.File == "":
	case cur.File == "studies" && cur.SHA256 == s.studySHA:
		s.skip = cur.Line
	case cur.File == "inclusions" && cur.StudiesSHA256 == s.studySHA:
		s.silent = true // rebuild the index only
		if cur.SHA256 == inclSHA {
			s.resume = cur
		} else {
			log.Info("inclusions file changed since the cursor; reading it from the top", "file", filepath.Base(s.inclusions), "cursor", string(c))
		}
	default:
		log.Info("studies file changed since the cursor; reading the export from the top", "file", s.cur.name, "cursor", string(c))
	}
	log.Debug("source opened", "cursor", string(c))
	return nil
}

// Read returns the next batch of at most batch_size rows' records and
// rejects, or connectors.ErrEndOfInput.
func (s *Source) Read(ctx context.Context) (connectors.Batch, error) {
	var b connectors.Batch
	rows := 0
	for {
		if s.stage == stageDone {
			if rows > 0 {
				return b, nil
			}
			return connectors.Batch{}, connectors.ErrEndOfInput
		}
		if s.cur == nil {
			return connectors.Batch{}, fmt.Errorf("read %s source %q: not open", Type, s.set.SourceID)
		}
		for n := 0; ; n++ {
			if n%256 == 0 {
				if err := ctx.Err(); err != nil {
					return connectors.Batch{}, err
				}
			}
			r, err := s.cur.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return connectors.Batch{}, fmt.Errorf("%s source %q: %w", Type, s.set.SourceID, err)
			}
			emit := !s.silent && r.line > s.skip
			if s.stage == stageStudies {
				s.studyRow(r, emit, &b)
			} else if emit {
				s.inclusionRow(r, &b)
			}
			if !emit {
				continue
			}
			rows++
			b.Cursor = s.cursorAt(r.line)
			if rows >= s.batchSize {
				return b, nil
			}
		}
		if err := s.nextFile(ctx); err != nil {
			return connectors.Batch{}, err
		}
		if rows > 0 {
			return b, nil
		}
	}
}

// nextFile moves from the studies file to the inclusions file, or to the end.
func (s *Source) nextFile(ctx context.Context) error {
	s.cur.close()
	s.cur = nil
	if s.stage == stageInclusions {
		s.stage = stageDone
		return nil
	}
	c, err := openCSV(ctx, "inclusions", s.inclusions, s.cfg.Inclusions, s.inclCols)
	if err != nil {
		return fmt.Errorf("read %s source %q: %w", Type, s.set.SourceID, err)
	}
	s.cur, s.stage, s.silent, s.skip = c, stageInclusions, false, 0
	if s.resume.File == "inclusions" && s.resume.SHA256 == c.sha {
		s.skip = s.resume.Line
	}
	return nil
}

func (s *Source) cursorAt(line int) connectors.Cursor {
	c := cursor{File: s.cur.kind, SHA256: s.cur.sha, Line: line}
	if s.stage == stageInclusions {
		c.StudiesSHA256 = s.studySHA
	}
	out, _ := json.Marshal(c)
	return out
}

// Close releases the open file. Safe to call more than once.
func (s *Source) Close() error {
	err := s.cur.close()
	s.cur = nil
	return err
}

var _ connectors.Source = (*Source)(nil)
