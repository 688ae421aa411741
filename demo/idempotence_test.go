package demo

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

// dumpState reads every row of every table of the national SQLite store,
// leaving out Kafka offsets and bookkeeping timestamps, which legitimately
// move when records are re-delivered.
func dumpState(t *testing.T, dbPath string) map[string][]string {
	t.Helper()
	return dumpTables(t, dbPath,
		func(tb string) bool {
			return strings.Contains(tb, "offset") || strings.Contains(tb, "schema") || strings.Contains(tb, "quality")
		},
		func(c string) bool { return strings.HasSuffix(c, "_at") || strings.Contains(c, "offset") })
}

// dumpTables renders every row of every table of the SQLite file at dbPath,
// sorted, except the tables and columns the skip functions name.
func dumpTables(t *testing.T, dbPath string, skipTable, skipCol func(string) bool) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string][]string{}
	for _, tb := range tables {
		if skipTable(tb) {
			continue
		}
		rs, err := db.Query(fmt.Sprintf(`SELECT * FROM %q`, tb))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, c := range cols {
				if skipCol(c) {
					continue
				}
				fmt.Fprintf(&b, "%s=%v;", c, fmt.Sprint(deref(vals[i])))
			}
			out[tb] = append(out[tb], b.String())
		}
		rs.Close()
		sort.Strings(out[tb])
	}
	return out
}

func deref(v any) any {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// TestRepublishIsIdempotent publishes the same exports twice (the second
// time after forgetting every cursor, so every record goes to Kafka again)
// and checks that the national state is identical.
func TestRepublishIsIdempotent(t *testing.T) {
	data := t.TempDir()
	r := startDemo(t, data)
	r.stop(t)
	db := filepath.Join(data, "national.db")
	before := dumpState(t, db)
	total := 0
	for _, rows := range before {
		total += len(rows)
	}
	if total < 3000 {
		t.Fatalf("national state has %d rows after the first run: too few to prove anything", total)
	}

	cursors, _ := filepath.Glob(filepath.Join(data, "sites", "*", "cursors", "*"))
	if len(cursors) == 0 {
		t.Fatal("no cursor files found: the second run would not republish")
	}
	for _, c := range cursors {
		if err := os.Remove(c); err != nil {
			t.Fatal(err)
		}
	}
	r = startDemo(t, data)
	r.stop(t)
	after := dumpState(t, db)
	if d := cmp.Diff(before, after); d != "" {
		t.Fatalf("national state changed after re-publishing the same exports (-before +after):\n%s", d)
	}
}
