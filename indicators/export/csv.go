package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// bom is the UTF-8 byte order mark: French Excel reads a CSV as UTF-8 only
// when it starts with it (otherwise as Windows-1252, garbling accents).
var bom = []byte{0xEF, 0xBB, 0xBF}

// CSVOptions controls the CSV dialect.
type CSVOptions struct {
	// Separator between fields; 0 means ';' (French Excel's list
	// separator, since ',' is its decimal separator).
	Separator rune
	// BOM writes a UTF-8 byte order mark first.
	BOM bool
	// DecimalComma writes decimals with ',' (3,5), as French Excel
	// expects; it needs a separator other than ','.
	DecimalComma bool
}

func (o CSVOptions) sep() (rune, error) {
	s := o.Separator
	if s == 0 {
		s = ';'
	}
	if s == '"' || s == '\r' || s == '\n' {
		return 0, fmt.Errorf("export: csv separator %q is not usable", s)
	}
	if o.DecimalComma && s == ',' {
		return 0, fmt.Errorf("export: csv: a decimal comma needs a separator other than ','")
	}
	return s, nil
}

// WriteCSV writes t with a header row of column labels and CRLF line ends.
// Null values are empty fields.
func WriteCSV(w io.Writer, t Table, o CSVOptions) error {
	sep, err := o.sep()
	if err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if o.BOM {
		bw.Write(bom)
	}
	cw := csv.NewWriter(bw)
	cw.Comma = sep
	cw.UseCRLF = true
	rec := make([]string, len(t.Columns))
	for j, c := range t.Columns {
		rec[j] = c.Label
	}
	cw.Write(rec)
	for _, r := range t.Rows {
		for j, v := range r {
			rec[j] = csvField(v, o.DecimalComma)
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: write csv table %q: %w", t.Name, err)
	}
	return flush(bw, t.Name, "csv")
}

func csvField(v Value, decimalComma bool) string {
	switch v.Kind {
	case KindText:
		return v.Str
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindFloat:
		s := strconv.FormatFloat(v.Float, 'f', -1, 64)
		if decimalComma {
			s = strings.Replace(s, ".", ",", 1)
		}
		return s
	}
	return ""
}

// ReadCSV reads a table written by WriteCSV with the same options: the
// header must hold the labels of cols, in order; a leading BOM is skipped
// whatever o.BOM says. Empty numeric fields read as null, empty text fields
// as Text("").
func ReadCSV(r io.Reader, name string, cols []Column, o CSVOptions) (Table, error) {
	sep, err := o.sep()
	if err != nil {
		return Table{}, err
	}
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(bom)); err == nil && bytes.Equal(b, bom) {
		br.Discard(len(bom))
	}
	cr := csv.NewReader(br)
	cr.Comma = sep
	cr.FieldsPerRecord = len(cols)
	recs, err := cr.ReadAll()
	if err != nil {
		return Table{}, fmt.Errorf("export: read csv table %q: %w", name, err)
	}
	if len(recs) == 0 {
		return Table{}, fmt.Errorf("export: read csv table %q: no header row", name)
	}
	if err := checkHeader(name, cols, recs[0]); err != nil {
		return Table{}, err
	}
	t := Table{Name: name, Columns: cols}
	for i, rec := range recs[1:] {
		row := make([]Value, len(cols))
		for j, s := range rec {
			if row[j], err = parseField(cols[j].Kind, s, o.DecimalComma); err != nil {
				return Table{}, fmt.Errorf("export: read csv table %q line %d column %q: %w", name, i+2, cols[j].Label, err)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func checkHeader(name string, cols []Column, got []string) error {
	if len(got) != len(cols) {
		return fmt.Errorf("export: table %q: header has %d columns, want %d", name, len(got), len(cols))
	}
	for j, c := range cols {
		if got[j] != c.Label {
			return fmt.Errorf("export: table %q: header column %d is %q, want %q", name, j+1, got[j], c.Label)
		}
	}
	return nil
}

func parseField(k Kind, s string, decimalComma bool) (Value, error) {
	if k == KindText {
		return Text(s), nil
	}
	if s == "" {
		return Null(), nil
	}
	switch k {
	case KindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a whole number", s)
		}
		return Int(n), nil
	case KindFloat:
		if decimalComma {
			s = strings.Replace(s, ",", ".", 1)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a number", s)
		}
		return Float(f), nil
	}
	return Value{}, fmt.Errorf("column kind %s", k)
}
