package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// WriteJSON writes t as a JSON array of objects, one per row, keyed by
// column key in column order (one object per line). Null values are null;
// numbers are JSON numbers.
func WriteJSON(w io.Writer, t Table) error {
	if err := t.Validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if len(t.Rows) == 0 {
		bw.WriteString("[]\n")
		return flush(bw, t.Name, "json")
	}
	bw.WriteString("[\n")
	for i, r := range t.Rows {
		bw.WriteString("  {")
		for j, v := range r {
			if j > 0 {
				bw.WriteString(", ")
			}
			k, _ := json.Marshal(t.Columns[j].Key)
			bw.Write(k)
			bw.WriteString(": ")
			b, err := jsonValue(v)
			if err != nil {
				return fmt.Errorf("export: json table %q row %d column %q: %w", t.Name, i+1, t.Columns[j].Key, err)
			}
			bw.Write(b)
		}
		bw.WriteString("}")
		if i < len(t.Rows)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return flush(bw, t.Name, "json")
}

func jsonValue(v Value) ([]byte, error) {
	switch v.Kind {
	case KindText:
		return json.Marshal(v.Str)
	case KindInt:
		return strconv.AppendInt(nil, v.Int, 10), nil
	case KindFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", v.Float)
		}
		return json.Marshal(v.Float)
	}
	return []byte("null"), nil
}

func flush(bw *bufio.Writer, name, format string) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: write %s table %q: %w", format, name, err)
	}
	return nil
}
