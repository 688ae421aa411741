// Package export turns indicator results and the national state into
// tables an establishment's research directorate (DRCI) can open: CSV (with
// the `;` separator and optional UTF-8 BOM that French Excel expects), XLSX
// (one sheet per table, typed numbers) and JSON (an array of objects keyed
// by column key).
//
// A Table is format-neutral: builders (IndicatorsTable, DeclarationTable)
// produce it, writers serialise it, and readers (ReadCSV, ReadXLSX) parse it
// back for round-trip checks.
package export

import (
	"fmt"
	"strconv"
)

// Kind is the type of a column's values.
type Kind uint8

const (
	KindNull  Kind = iota // only for values: no value
	KindText              // a string
	KindInt               // a whole number
	KindFloat             // a decimal number
)

func (k Kind) String() string {
	switch k {
	case KindNull:
		return "null"
	case KindText:
		return "text"
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Column describes one column: Key names it in JSON, Label (French) heads it
// in CSV and XLSX, Kind types its values.
type Column struct {
	Key   string
	Label string
	Kind  Kind
}

// Value is one cell. Kind tells which field holds it; KindNull is an empty
// cell (JSON null). In a text column, a null value is written as an empty
// string and reads back as Text("").
type Value struct {
	Kind  Kind
	Str   string
	Int   int64
	Float float64
}

// Text, Int, Float and Null build values.
func Text(s string) Value    { return Value{Kind: KindText, Str: s} }
func Int(n int64) Value      { return Value{Kind: KindInt, Int: n} }
func Float(f float64) Value  { return Value{Kind: KindFloat, Float: f} }
func Null() Value            { return Value{} }
func (v Value) IsNull() bool { return v.Kind == KindNull }

// Table is a named list of rows; every row has one value per column.
type Table struct {
	Name    string // sheet name in XLSX (at most 31 characters)
	Columns []Column
	Rows    [][]Value
}

// Validate checks that every row has one value per column and that each
// value is null or of its column's kind.
func (t Table) Validate() error {
	if len(t.Columns) == 0 {
		return fmt.Errorf("export: table %q has no columns", t.Name)
	}
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if c.Key == "" || seen[c.Key] {
			return fmt.Errorf("export: table %q: column key %q is empty or repeated", t.Name, c.Key)
		}
		seen[c.Key] = true
		if c.Kind < KindText || c.Kind > KindFloat {
			return fmt.Errorf("export: table %q: column %q has kind %s", t.Name, c.Key, c.Kind)
		}
	}
	for i, r := range t.Rows {
		if len(r) != len(t.Columns) {
			return fmt.Errorf("export: table %q row %d: %d values for %d columns", t.Name, i+1, len(r), len(t.Columns))
		}
		for j, v := range r {
			if v.Kind != KindNull && v.Kind != t.Columns[j].Kind {
				return fmt.Errorf("export: table %q row %d column %q: %s value in a %s column", t.Name, i+1, t.Columns[j].Key, v.Kind, t.Columns[j].Kind)
			}
		}
	}
	return nil
}
