package export

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// WriteXLSX writes one sheet per table, named after it: a bold header row of
// labels, frozen so it stays visible while scrolling, with an auto filter;
// numbers are stored as numeric cells (so Excel sums them), text as strings
// (never as formulas), null values as empty cells.
func WriteXLSX(w io.Writer, tables ...Table) (err error) {
	if len(tables) == 0 {
		return fmt.Errorf("export: xlsx: no table to write")
	}
	seen := map[string]bool{}
	for _, t := range tables {
		if err := t.Validate(); err != nil {
			return err
		}
		if err := checkSheetName(t.Name); err != nil {
			return err
		}
		if seen[strings.ToLower(t.Name)] {
			return fmt.Errorf("export: xlsx: two tables named %q", t.Name)
		}
		seen[strings.ToLower(t.Name)] = true
	}
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("export: xlsx: %w", cerr)
		}
	}()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("export: xlsx: header style: %w", err)
	}
	first := f.GetSheetName(0)
	for i, t := range tables {
		if i == 0 {
			err = f.SetSheetName(first, t.Name)
		} else {
			_, err = f.NewSheet(t.Name)
		}
		if err != nil {
			return fmt.Errorf("export: xlsx: sheet %q: %w", t.Name, err)
		}
		if err := writeSheet(f, t, bold); err != nil {
			return fmt.Errorf("export: xlsx: sheet %q: %w", t.Name, err)
		}
	}
	f.SetActiveSheet(0)
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("export: write xlsx: %w", err)
	}
	return nil
}

func writeSheet(f *excelize.File, t Table, bold int) error {
	sh := t.Name
	header := make([]any, len(t.Columns))
	for j, c := range t.Columns {
		header[j] = c.Label
		col, _ := excelize.ColumnNumberToName(j + 1)
		width := float64(utf8.RuneCountInString(c.Label)) + 2
		if width < 10 {
			width = 10
		}
		if width > 40 {
			width = 40
		}
		if err := f.SetColWidth(sh, col, col, width); err != nil {
			return err
		}
	}
	if err := f.SetSheetRow(sh, "A1", &header); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(t.Columns))
	if err := f.SetCellStyle(sh, "A1", last+"1", bold); err != nil {
		return err
	}
	for i, r := range t.Rows {
		for j, v := range r {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
			var err error
			switch v.Kind {
			case KindText:
				err = f.SetCellStr(sh, cell, v.Str)
			case KindInt:
				err = f.SetCellInt(sh, cell, v.Int)
			case KindFloat:
				err = f.SetCellFloat(sh, cell, v.Float, -1, 64)
			default:
				continue
			}
			if err != nil {
				return err
			}
		}
	}
	if err := f.SetPanes(sh, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	return f.AutoFilter(sh, "A1:"+last+strconv.Itoa(len(t.Rows)+1), nil)
}

// checkSheetName applies Excel's sheet-name rules.
func checkSheetName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 31 || strings.ContainsAny(name, `[]:*?/\`) ||
		strings.HasPrefix(name, "'") || strings.HasSuffix(name, "'") {
		return fmt.Errorf("export: xlsx: table name %q is not a valid sheet name (1-31 characters, none of []:*?/\\, no leading or trailing ')", name)
	}
	return nil
}

// ReadXLSX reads the sheet name of an XLSX written by WriteXLSX: the header
// must hold the labels of cols, in order, and numeric columns must hold
// numeric cells (a number stored as text is an error). Empty numeric cells
// read as null, empty text cells as Text("").
func ReadXLSX(r io.Reader, name string, cols []Column) (t Table, err error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return Table{}, fmt.Errorf("export: read xlsx: %w", err)
	}
	defer f.Close()
	rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
	if err != nil {
		return Table{}, fmt.Errorf("export: read xlsx sheet %q: %w", name, err)
	}
	if len(rows) == 0 {
		return Table{}, fmt.Errorf("export: read xlsx sheet %q: no header row", name)
	}
	header := make([]string, len(cols))
	copy(header, rows[0])
	if len(rows[0]) > len(cols) {
		header = rows[0]
	}
	if err := checkHeader(name, cols, header); err != nil {
		return Table{}, err
	}
	t = Table{Name: name, Columns: cols}
	for i, raw := range rows[1:] {
		if len(raw) > len(cols) {
			return Table{}, fmt.Errorf("export: read xlsx sheet %q row %d: %d cells for %d columns", name, i+2, len(raw), len(cols))
		}
		row := make([]Value, len(cols))
		for j, c := range cols {
			s := ""
			if j < len(raw) {
				s = raw[j]
			}
			if c.Kind != KindText && s != "" {
				cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
				ct, err := f.GetCellType(name, cell)
				if err != nil {
					return Table{}, fmt.Errorf("export: read xlsx sheet %q cell %s: %w", name, cell, err)
				}
				if ct != excelize.CellTypeNumber && ct != excelize.CellTypeUnset {
					return Table{}, fmt.Errorf("export: read xlsx sheet %q cell %s (%s): %q is not a numeric cell", name, cell, c.Label, s)
				}
			}
			if row[j], err = parseField(c.Kind, s, false); err != nil {
				return Table{}, fmt.Errorf("export: read xlsx sheet %q row %d column %q: %w", name, i+2, c.Label, err)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
