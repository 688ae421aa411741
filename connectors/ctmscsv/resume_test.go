package ctmscsv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fr-it4ct/it4ct/connectors"
)

// item is one record or reject in reading order, for comparisons.
type item struct {
	file string
	line int
	text string
}

func items(bs []connectors.Batch) []item {
	var out []item
	for _, b := range bs {
		for _, r := range b.Records {
			p := r.Prov()
			out = append(out, item{p.File, p.Line, renderRecord(r)})
		}
		for _, r := range b.Rejects {
			out = append(out, item{r.Prov.File, r.Prov.Line, r.Error()})
		}
	}
	// Records and rejects are separate lists in a batch: restore file order.
	sort.SliceStable(out, func(i, j int) bool {
		fi, fj := out[i].file == "inclusions.csv", out[j].file == "inclusions.csv"
		if fi != fj {
			return fj
		}
		return out[i].line < out[j].line
	})
	return out
}

var cmpItems = []cmp.Option{cmp.AllowUnexported(item{}), cmpopts.EquateEmpty()}

// copyFixture copies a fixture into a temp dir so the test can change it.
func copyFixture(t *testing.T, name string) (string, Config) {
	t.Helper()
	src, cfg := fixture(t, name)
	dir := t.TempDir()
	for _, f := range []string{"etudes.csv", "inclusions.csv"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), data)
	}
	return dir, cfg
}

// TestResumeFromEveryBatch resumes from each batch's cursor and checks the
// result is exactly the rest of one full run.
func TestResumeFromEveryBatch(t *testing.T) {
	for _, size := range []int{1, 2, 3, 500} {
		t.Run(fmt.Sprint("batch_size=", size), func(t *testing.T) {
			dir, cfg := fixture(t, "chu-fictif")
			cfg.BatchSize = size
			full := readAll(t, newSource(t, dir, cfg, nil))
			all := items(full)
			if len(all) < 20 {
				t.Fatalf("fixture too small: %d items", len(all))
			}
			seen := 0
			for i, b := range full {
				seen += len(b.Records) + len(b.Rejects)
				rest := readAll(t, newSource(t, dir, cfg, b.Cursor))
				if d := cmp.Diff(all[seen:], items(rest), cmpItems...); d != "" {
					t.Errorf("resume after batch %d (cursor %s) (-want +got):\n%s", i, b.Cursor, d)
				}
				if len(rest) > 0 && string(rest[len(rest)-1].Cursor) != string(full[len(full)-1].Cursor) {
					t.Errorf("resume after batch %d ends at %s, full run at %s", i, rest[len(rest)-1].Cursor, full[len(full)-1].Cursor)
				}
			}
		})
	}
}

// TestResumeFromEveryLine builds cursors on every physical line of both
// files (including the inner line of a multi-line row, blank lines and
// rejected rows) and checks that exactly the rows starting after it come.
func TestResumeFromEveryLine(t *testing.T) {
	dir, cfg := fixture(t, "chu-fictif")
	full := readAll(t, newSource(t, dir, cfg, nil))
	all := items(full)
	var last cursor
	if err := json.Unmarshal(full[len(full)-1].Cursor, &last); err != nil {
		t.Fatal(err)
	}
	var first cursor
	if err := json.Unmarshal(full[0].Cursor, &first); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"studies", "inclusions"} {
		for line := 0; line <= 14; line++ {
			c := cursor{File: file, Line: line, SHA256: first.SHA256}
			name := "etudes.csv"
			if file == "inclusions" {
				c = cursor{File: file, Line: line, SHA256: last.SHA256, StudiesSHA256: first.SHA256}
				name = "inclusions.csv"
			}
			var want []item
			for _, it := range all {
				after := it.line > line
				if it.file != name {
					after = file == "studies" // every inclusion comes after a studies cursor
				}
				if after {
					want = append(want, it)
				}
			}
			raw, _ := json.Marshal(c)
			got := items(readAll(t, newSource(t, dir, cfg, raw)))
			if d := cmp.Diff(want, got, cmpItems...); d != "" {
				t.Errorf("cursor %s (-want +got):\n%s", raw, d)
			}
		}
	}
}

// TestChangedFileRestarts checks that a cursor on a file that has changed
// restarts that file (and, for the studies file, the whole export).
func TestChangedFileRestarts(t *testing.T) {
	dir, cfg := copyFixture(t, "chu-fictif")
	full := readAll(t, newSource(t, dir, cfg, nil))
	all := items(full)
	var mid connectors.Cursor
	for _, b := range full {
		var c cursor
		json.Unmarshal(b.Cursor, &c)
		if c.File == "inclusions" && c.Line > 2 {
			mid = b.Cursor
			break
		}
	}
	if mid == nil {
		t.Fatal("no cursor in the inclusions file")
	}
	var studyItems, inclItems []item
	for _, it := range all {
		if it.file == "etudes.csv" {
			studyItems = append(studyItems, it)
		} else {
			inclItems = append(inclItems, it)
		}
	}

	appendLine := func(name, line string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(f, line)
		f.Close()
	}

	// Inclusions changed: every inclusion again plus the new one, no study.
	appendLine("inclusions.csv", "ONCO-01,FIC-0009,2024-06-01,Inclus\n")
	got := items(readAll(t, newSource(t, dir, cfg, mid)))
	if len(got) != len(inclItems)+1 {
		t.Fatalf("after an inclusions change got %d items, want %d", len(got), len(inclItems)+1)
	}
	if d := cmp.Diff(inclItems, got[:len(inclItems)], cmpItems...); d != "" {
		t.Errorf("after an inclusions change (-want +got):\n%s", d)
	}

	// Studies changed: the whole export again.
	appendLine("etudes.csv", "OPHTA-08;2025-A00808-88;;Etude fictive (ASCII: the file is Windows-1252);CHU Fictif;990000017;Academique;RIPH 3;Sans objet;non;;En cours;;;;;En cours;;\r\n")
	got = items(readAll(t, newSource(t, dir, cfg, mid)))
	if want := len(studyItems) + 2 + len(inclItems) + 1; len(got) != want {
		t.Fatalf("after a studies change got %d items, want %d", len(got), want)
	}
	if d := cmp.Diff(studyItems, got[:len(studyItems)], cmpItems...); d != "" {
		t.Errorf("after a studies change (-want +got):\n%s", d)
	}
}

func TestBadCursor(t *testing.T) {
	dir, cfg := fixture(t, "chu-fictif")
	src, err := New(testSettings(dir), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for cur, want := range map[string]string{
		`{"file":`:                     `open ctms-csv source "chu-test": cursor is not valid: unexpected end of JSON input`,
		`{"file":"patients","line":3}`: `open ctms-csv source "chu-test": cursor names unknown file "patients"`,
	} {
		if err := src.Open(context.Background(), connectors.Cursor(cur)); err == nil || err.Error() != want {
			t.Errorf("Open(%s) = %v, want %s", cur, err, want)
		}
	}
}

// TestLifecycle: Read before Open, Close twice, Close after a failed Open.
func TestLifecycle(t *testing.T) {
	dir, cfg := fixture(t, "chu-fictif")
	src, err := New(testSettings(dir), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(context.Background()); err == nil || errors.Is(err, connectors.ErrEndOfInput) {
		t.Errorf("Read before Open = %v, want an error", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close before Open: %v", err)
	}
	bad, _ := New(testSettings(t.TempDir()), cfg)
	if err := bad.Open(context.Background(), nil); err == nil {
		t.Error("Open on a missing file succeeded")
	}
	if err := bad.Close(); err != nil {
		t.Errorf("Close after failed Open: %v", err)
	}
	if err := src.Open(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// bigExport writes one study and n inclusions.
func bigExport(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "etudes.csv"), []byte(smallStudiesHeader+"\n"+smallStudyRow+"\n"))
	f, err := os.Create(filepath.Join(dir, "inclusions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, smallInclHeader)
	for i := range n {
		fmt.Fprintf(w, "ONCO-01;FIC-%07d;%02d/%02d/2024;Inclus\n", i, i%28+1, i%12+1)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return dir
}

// TestBoundedMemory reads 200k inclusions and checks the live heap does not
// grow with the input.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 200k rows")
	}
	const n = 200_000
	dir := bigExport(t, n)
	src := newSource(t, dir, mustDecode(t, smallConfig), nil)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var base, peak uint64
	count := 0
	for i := 0; ; i++ {
		b, err := src.Read(context.Background())
		if errors.Is(err, connectors.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			if r.Inclusion != nil {
				count++
			}
		}
		count += len(b.Rejects) * 1000000 // any reject fails the count
		switch {
		case i == 20:
			base = heap()
		case i > 20 && i%100 == 0:
			peak = max(peak, heap())
		}
	}
	if count != n {
		t.Fatalf("read %d inclusions, want %d", count, n)
	}
	const bound = 4 << 20
	if peak > base+bound {
		t.Errorf("heap grew from %d to %d bytes while reading %d rows (bound +%d)", base, peak, n, bound)
	}
	t.Logf("heap after 20 batches %d bytes, peak later %d bytes", base, peak)
}

// TestCancel checks that a cancelled context stops Open and Read.
func TestCancel(t *testing.T) {
	dir := bigExport(t, 5000)
	cfg := mustDecode(t, smallConfig)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src, err := New(testSettings(dir), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.Open(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v, want context.Canceled", err)
	}

	src = newSource(t, dir, cfg, nil)
	ctx, cancel = context.WithCancel(context.Background())
	if _, err := src.Read(ctx); err != nil {
		t.Fatalf("first Read: %v", err)
	}
	cancel()
	if _, err := src.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v, want context.Canceled", err)
	}
}
