package ctmscsv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// HeaderError is the fatal error for a file whose header cannot be used: the
// whole file cannot be read until the header or the configuration is fixed.
type HeaderError struct {
	File   string // base name
	Line   int    // physical line of the header (0 if none was found)
	Path   string // YAML path of the offending setting, e.g. studies.columns.status
	Reason string
	Fix    string
}

func (e *HeaderError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	s += ": " + e.Reason
	if e.Path != "" {
		s += " (" + e.Path + ")"
	}
	if e.Fix != "" {
		s += "; fix: " + e.Fix
	}
	return s
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// csvFile streams the rows of one CSV file of the export.
type csvFile struct {
	kind     string // "studies" or "inclusions": YAML key of the file
	name     string // base name, for provenance
	f        *os.File
	sha      string // hex SHA-256 of the file's bytes
	r        *csv.Reader
	offset   int // physical lines skipped before the csv reader started
	utf8     bool
	header   []string
	hline    int            // physical line of the header
	col      map[string]int // canonical field -> column index
	fieldSep string
}

type row struct {
	line   int
	fields []string // nil when err is set
	err    *csv.ParseError
}

// openCSV opens path, hashes it, checks its encoding and header and resolves
// the configured columns. The caller must close the returned file.
func openCSV(ctx context.Context, kind, path string, fc FileConfig, columns map[string]string) (_ *csvFile, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s file: %w", kind, err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	c := &csvFile{kind: kind, name: filepath.Base(path), f: f}
	if c.sha, err = hashFile(ctx, f); err != nil {
		return nil, fmt.Errorf("hash %s file %s: %w", kind, c.name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind %s file %s: %w", kind, c.name, err)
	}

	br := bufio.NewReaderSize(f, 64<<10)
	enc := strings.ToLower(fc.Encoding)
	head, _ := br.Peek(3)
	c.utf8 = enc == "" || enc == "utf-8"
	if !c.utf8 && bytes.Equal(head, utf8BOM) {
		return nil, &HeaderError{File: c.name, Path: kind + ".encoding",
			Reason: fmt.Sprintf("file starts with a UTF-8 byte order mark but the encoding is %s", enc),
			Fix:    "set encoding: utf-8 under " + kind}
	}
	src := decoded(br, enc)

	// Skip the lines before the header.
	lr := bufio.NewReaderSize(src, 64<<10)
	hl := max(fc.HeaderLine, 1)
	for c.offset < hl-1 {
		_, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			break
		}
		c.offset++
	}

	sep, _ := separatorRune(fc.Separator)
	c.fieldSep = string(sep)
	if sep == '\t' {
		c.fieldSep = `\t`
	}
	c.r = csv.NewReader(lr)
	c.r.Comma = sep
	c.r.FieldsPerRecord = -1
	c.r.LazyQuotes = false
	c.r.ReuseRecord = true

	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &HeaderError{File: c.name, Path: kind + ".header_line",
			Reason: fmt.Sprintf("no header: the file has no line %d", hl),
			Fix:    "check the file is the right export and header_line is right"}
	}
	if pe, ok := errors.AsType[*csv.ParseError](err); ok {
		c.hline = pe.StartLine + c.offset
		herr := &HeaderError{File: c.name, Line: c.hline,
			Reason: "header is not valid CSV: " + pe.Err.Error(),
			Fix:    fmt.Sprintf("check %s.separator and the quotes in the header", kind)}
		hints, _ := c.layoutHints(fc, columns)
		return nil, errors.Join(append(hints, herr)...)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s file %s: %w", kind, c.name, err)
	}
	line, _ := c.r.FieldPos(0)
	c.hline = line + c.offset
	c.header = make([]string, len(rec))
	for i, h := range rec {
		if c.utf8 && !utf8.ValidString(h) {
			return nil, &HeaderError{File: c.name, Line: c.hline, Path: kind + ".encoding",
				Reason: "header is not valid UTF-8",
				Fix:    "the file is probably Windows-1252: set encoding: windows-1252 under " + kind}
		}
		c.header[i] = normHeader(h)
	}
	if err := c.resolve(fc, columns); err != nil {
		return nil, err
	}
	return c, nil
}

// decoded returns br's content decoded to UTF-8 for a file of encoding enc,
// without a leading UTF-8 byte order mark. Encoding errors are left to the
// caller (openCSV checks them).
func decoded(br *bufio.Reader, enc string) io.Reader {
	switch strings.ToLower(enc) {
	case "windows-1252":
		return transform.NewReader(br, charmap.Windows1252.NewDecoder())
	case "iso-8859-1", "latin-1":
		return transform.NewReader(br, charmap.ISO8859_1.NewDecoder())
	}
	if head, _ := br.Peek(3); bytes.Equal(head, utf8BOM) {
		br.Discard(3)
	}
	return br
}

func normHeader(h string) string { return norm.NFC.String(strings.TrimSpace(h)) }

// resolve finds every configured column in the header. When columns are
// missing, the errors start with what looks wrong in the file's layout (a
// separator or header_line setting); when that explains every missing
// column, only it is reported.
func (c *csvFile) resolve(fc FileConfig, columns map[string]string) error {
	c.col = make(map[string]int, len(columns))
	var errs []error
	missing := false
	for _, field := range sortedKeys(columns) {
		want := normHeader(columns[field])
		idx := -1
		for i, h := range c.header {
			if h == want {
				if idx >= 0 {
					errs = append(errs, &HeaderError{File: c.name, Line: c.hline, Path: c.kind + ".columns." + field,
						Reason: fmt.Sprintf("header %q appears twice (columns %d and %d)", want, idx+1, i+1),
						Fix:    "rename one of the columns in the export"})
					break
				}
				idx = i
			}
		}
		if idx >= 0 {
			c.col[field] = idx
			continue
		}
		fix := fmt.Sprintf("correct %s.columns.%s in the connector config or the export's header", c.kind, field)
		if s, ok := closestHeader(want, c.header); ok {
			fix = fmt.Sprintf("did you mean %q? %s", s, fix)
		}
		errs = append(errs, &HeaderError{File: c.name, Line: c.hline, Path: c.kind + ".columns." + field,
			Reason: fmt.Sprintf("header has no column %q", want), Fix: fix})
		missing = true
	}
	if !missing {
		return errors.Join(errs...)
	}
	hints, explained := c.layoutHints(fc, columns)
	if explained {
		return errors.Join(hints...)
	}
	return errors.Join(append(hints, errs...)...)
}

// sniffLines is how many lines from the top of a file are looked at to
// explain a header that does not match the configuration.
const sniffLines = 10

var separatorNames = map[rune][2]string{ // name in messages, YAML value
	';':  {`";"`, `";"`},
	',':  {`","`, `","`},
	'\t': {"TAB", `"\t"`},
}

// layoutHints looks at the first lines of the file for a separator or a
// header line that would match more of the configured headers than the
// current settings do. It returns one HeaderError
// per setting to change, and whether those changes would find every
// configured header.
func (c *csvFile) layoutHints(fc FileConfig, columns map[string]string) ([]error, bool) {
	lines := c.firstLines(fc, sniffLines)
	if len(lines) == 0 {
		return nil, false
	}
	want := make(map[string]bool, len(columns))
	for _, h := range columns {
		want[normHeader(h)] = true
	}
	countCells := func(cells []string) int { // distinct configured headers among cells
		n := 0
		seen := map[string]bool{}
		for _, cell := range cells {
			if h := normHeader(cell); want[h] && !seen[h] {
				seen[h] = true
				n++
			}
		}
		return n
	}
	count := func(line string, sep rune) int { return countCells(splitLine(line, sep)) }
	found := countCells(c.header) // with the current settings
	missing := len(want) - found
	conf, _ := separatorRune(fc.Separator)
	seps := []rune{conf}
	for _, r := range []rune{';', ',', '\t'} {
		if r != conf {
			seps = append(seps, r)
		}
	}
	// Best (line, separator): the most configured headers; ties go to the
	// current header line, then the earliest line, then the configured
	// separator.
	bestLine, bestSep, best := c.hline, conf, found
	for _, sep := range seps {
		if c.hline >= 1 && c.hline <= len(lines) {
			if n := count(lines[c.hline-1], sep); n > best {
				bestLine, bestSep, best = c.hline, sep, n
			}
		}
	}
	if missing*2 > len(want) { // most headers missing: maybe not the header line
		for i, line := range lines {
			for _, sep := range seps {
				if n := count(line, sep); n > best {
					bestLine, bestSep, best = i+1, sep, n
				}
			}
		}
	}
	var hints []error
	if bestSep == conf && best == found && c.hline >= 1 && c.hline <= len(lines) && len(c.header) == 1 {
		// Nothing matches better, but a one-cell header holding another
		// separator is a wrong separator whatever the headers say.
		most := 0
		for _, sep := range seps[1:] {
			if n := strings.Count(lines[c.hline-1], string(sep)); n > most {
				bestSep, most = sep, n
			}
		}
	}
	if bestSep != conf {
		name := separatorNames[bestSep]
		hints = append(hints, &HeaderError{File: c.name, Line: c.hline, Path: c.kind + ".separator",
			Reason: "the header line looks like it is separated by " + name[0],
			Fix:    fmt.Sprintf("set %s.separator: %s", c.kind, name[1])})
	}
	if bestLine != c.hline && best > found {
		hints = append(hints, &HeaderError{File: c.name, Line: c.hline, Path: c.kind + ".header_line",
			Reason: fmt.Sprintf("the headers seem to be on line %d", bestLine),
			Fix:    fmt.Sprintf("set %s.header_line: %d", c.kind, bestLine)})
	}
	return hints, len(hints) > 0 && best == len(want)
}

// firstLines returns up to n physical lines from the top of the file,
// decoded, without line ends. It is only used to explain a header error: it
// moves the file position and reads at most 1 MiB.
func (c *csvFile) firstLines(fc FileConfig, n int) []string {
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	lr := bufio.NewReader(decoded(bufio.NewReader(io.LimitReader(c.f, 1<<20)), fc.Encoding))
	var out []string
	for len(out) < n {
		l, err := lr.ReadString('\n')
		if l != "" || err == nil {
			out = append(out, strings.TrimRight(l, "\r\n"))
		}
		if err != nil {
			break
		}
	}
	return out
}

// splitLine splits one line into cells with sep, tolerating bad quotes.
func splitLine(line string, sep rune) []string {
	r := csv.NewReader(strings.NewReader(line))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = sep, true, -1
	rec, err := r.Read()
	if err != nil {
		return strings.Split(line, string(sep))
	}
	return rec
}

// closestHeader suggests the header matching want ignoring case and accents,
// else the nearest by edit distance.
func closestHeader(want string, header []string) (string, bool) {
	k := foldWord(want)
	for _, h := range header {
		if foldWord(h) == k {
			return h, true
		}
	}
	return closest(want, header)
}

// next returns the next non-blank row, or io.EOF.
func (c *csvFile) next() (row, error) {
	for {
		rec, err := c.r.Read()
		if errors.Is(err, io.EOF) {
			return row{}, io.EOF
		}
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			return row{line: pe.StartLine + c.offset, err: pe}, nil
		}
		if err != nil {
			return row{}, fmt.Errorf("read %s file %s: %w", c.kind, c.name, err)
		}
		if blank(rec) {
			continue
		}
		line, _ := c.r.FieldPos(0)
		return row{line: line + c.offset, fields: rec}, nil
	}
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func (c *csvFile) close() error {
	if c == nil || c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}

// hashFile returns the hex SHA-256 of f's content, checking ctx between
// chunks.
func hashFile(ctx context.Context, f *os.File) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
