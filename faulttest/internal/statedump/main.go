// Command statedump prints, as JSON, everything a reader of a national
// SQLite store can see: every row of every state table (resource ids and
// FHIR JSON included; Kafka positions and schema bookkeeping left out) and
// the indicators of every year. The fault tests compare its output between
// runs; it is a separate process so that it runs without their race
// detector, under which the pure-Go SQLite driver is very slow.
//
//	statedump /path/to/national.db
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	_ "modernc.org/sqlite"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/store"
)

// State is the output. Columns named *_at (when a connector ran, ...) are
// left out: they date a run rather than describe the state.
type State struct {
	Tables     map[string][]string `json:"tables"`
	Indicators string              `json:"indicators"`
}

// bookkeeping tables hold positions in the Kafka log (they legitimately
// differ between a clean run and one with redeliveries) or schema metadata.
var bookkeeping = map[string]bool{"consumed_offsets": true, "quality_events": true, "schema_version": true}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: statedump DB")
		os.Exit(2)
	}
	st, err := dump(context.Background(), os.Args[1])
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(st)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "statedump:", err)
		os.Exit(1)
	}
}

func dump(ctx context.Context, path string) (State, error) {
	if _, err := os.Stat(path); err != nil {
		return State{}, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return State{}, err
	}
	defer db.Close()
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return State{}, fmt.Errorf("list tables of %s: %w", path, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return State{}, err
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := State{Tables: map[string][]string{}}
	for _, tb := range tables {
		if bookkeeping[tb] {
			continue
		}
		if out.Tables[tb], err = dumpTable(ctx, db, tb); err != nil {
			return State{}, err
		}
	}

	s, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		return State{}, err
	}
	defer s.Close()
	var years []int
	for y := 2014; y <= 2030; y++ {
		years = append(years, y)
	}
	sum, err := indicators.New(s).Summary(ctx, years)
	if err != nil {
		return State{}, fmt.Errorf("indicators of %s: %w", path, err)
	}
	b, err := json.MarshalIndent(sum, "", " ")
	if err != nil {
		return State{}, err
	}
	out.Indicators = string(b)
	return out, nil
}

// dumpTable returns every row of table as "col=value;..." strings, sorted.
func dumpTable(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rs, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT * FROM %q`, table))
	if err != nil {
		return nil, fmt.Errorf("dump %s: %w", table, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	out := []string{}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("dump %s: %w", table, err)
		}
		var b strings.Builder
		for i, c := range cols {
			if strings.HasSuffix(c, "_at") {
				continue
			}
			v := vals[i]
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%s=%v;", c, v)
		}
		out = append(out, b.String())
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("dump %s: %w", table, err)
	}
	slices.Sort(out)
	return out, nil
}
