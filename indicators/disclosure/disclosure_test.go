package disclosure

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// truthAt is entry (i, j) of t extended with its totals.
func truthAt(t Table, i, j int) int64 {
	r, c := len(t.Cells), len(t.ColKeys)
	switch {
	case i < r && j < c:
		return t.Cells[i][j]
	case i < r:
		return t.RowTotals()[i]
	case j < c:
		return t.ColTotals()[j]
	}
	return t.GrandTotal()
}

func publishedAt(p Published, i, j int) string {
	r, c := len(p.Cells), len(p.ColKeys)
	switch {
	case i < r && j < c:
		return p.Cells[i][j]
	case i < r:
		return p.RowTotals[i]
	case j < c:
		return p.ColTotals[j]
	}
	return p.GrandTotal
}

// checkMarks checks every published entry against the truth: small counts
// carry the mark, "x" hides a count of at least the threshold, anything
// else is the exact count.
func checkMarks(t *testing.T, tbl Table, opts Options, p Published) {
	t.Helper()
	o := opts.withDefaults()
	if len(p.Cells) != len(tbl.Cells) || len(p.RowTotals) != len(tbl.Cells) || len(p.ColTotals) != len(tbl.ColKeys) {
		t.Fatalf("published shape %dx%d (+%d, %d) for a %dx%d table", len(p.Cells), len(p.ColKeys), len(p.RowTotals), len(p.ColTotals), len(tbl.Cells), len(tbl.ColKeys))
	}
	for i := range len(tbl.Cells) + 1 {
		for j := range len(tbl.ColKeys) + 1 {
			n, s := truthAt(tbl, i, j), publishedAt(p, i, j)
			small := n < o.Threshold && (n > 0 || o.MaskZeros)
			switch {
			case small && s != "<"+strconv.FormatInt(o.Threshold, 10):
				t.Errorf("entry (%d,%d) = %d published as %q, want the mark", i, j, n, s)
			case !small && s == Complementary && (opts.NoComplementary || n < o.Threshold):
				t.Errorf("entry (%d,%d) = %d published as %q (no complementary %v)", i, j, n, s, opts.NoComplementary)
			case !small && s != Complementary && s != strconv.FormatInt(n, 10):
				t.Errorf("entry (%d,%d) = %d published as %q", i, j, n, s)
			}
		}
	}
}

// checkProtected runs the attacker on p: every masked entry must have a
// second value consistent with everything published.
func checkProtected(t *testing.T, tbl Table, opts Options, p Published) {
	t.Helper()
	o := opts.withDefaults()
	limit := 4*tbl.GrandTotal() + 4*o.Threshold + 100
	m, err := attackerModel(p, opts, limit)
	if err != nil {
		t.Fatal(err)
	}
	truth := make([]int64, len(m.pos))
	for v, ij := range m.pos {
		truth[v] = truthAt(tbl, ij[0], ij[1])
	}
	if !m.satisfied(truth) {
		t.Fatalf("attacker model excludes the true table %v; published %v", tbl.Cells, p.Grid())
	}
	lo, hi, ok := m.recover()
	if !ok {
		t.Fatalf("propagation found no table at all for %v", p.Grid())
	}
	for v, ij := range m.pos {
		if lo[v] == hi[v] {
			t.Errorf("entry (%d,%d) recovered by propagation: %d (true %d)\ntable %v\npublished %v", ij[0], ij[1], lo[v], truth[v], tbl.Cells, p.Grid())
			continue
		}
		budget := 200000
		sol, ok := m.witness(v, math.MinInt64/4, truth[v]-1, &budget)
		if !ok {
			sol, ok = m.witness(v, truth[v]+1, math.MaxInt64/4, &budget)
		}
		if !ok {
			t.Errorf("entry (%d,%d) = %d: no other consistent table (budget left %d, bounds [%d,%d])\ntable %v\npublished %v", ij[0], ij[1], truth[v], budget, lo[v], hi[v], tbl.Cells, p.Grid())
			continue
		}
		if !m.satisfied(sol) || sol[v] == truth[v] {
			t.Fatalf("witness %v for entry (%d,%d) is not a valid alternative", sol, ij[0], ij[1])
		}
	}
}

// recovered returns the masked entries an attacker pins, as "(i,j)=n".
func recovered(t *testing.T, tbl Table, opts Options, p Published) []string {
	t.Helper()
	limit := 4*tbl.GrandTotal() + 4*opts.withDefaults().Threshold + 100
	m, err := attackerModel(p, opts, limit)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, ok := m.recover()
	if !ok {
		t.Fatalf("propagation found no table at all for %v", p.Grid())
	}
	var out []string
	for v, ij := range m.pos {
		if lo[v] == hi[v] {
			if n := truthAt(tbl, ij[0], ij[1]); n != lo[v] {
				t.Fatalf("attacker pinned entry (%d,%d) to %d, true %d: the attacker is unsound", ij[0], ij[1], lo[v], n)
			}
			out = append(out, "("+strconv.Itoa(ij[0])+","+strconv.Itoa(ij[1])+")="+strconv.FormatInt(lo[v], 10))
		}
	}
	return out
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func table(cells ...[]int64) Table {
	c := 0
	if len(cells) > 0 {
		c = len(cells[0])
	}
	return Table{RowKeys: keys("r", len(cells)), ColKeys: keys("c", c), Cells: cells}
}

func row(n ...int64) []int64 { return n }

func TestSuppressGolden(t *testing.T) {
	// Expected grids are worked out by hand in the comments, from the
	// algorithm's rules, not produced by the code.
	tests := []struct {
		name string
		tbl  Table
		opts Options
		want [][]string
	}{{
		// (0,0)=5 is small. Row 0 then has one masked entry: its smallest
		// shown cell 40 is hidden. Column 0 has one: 12 and 30 do not
		// close a cycle, 12 is smaller. Column 1 has one (40): 60 closes a
		// cycle with row 2. The 5 can then lie in [1,6].
		name: "2x2 plus a clean row",
		tbl:  table(row(5, 40), row(30, 25), row(12, 60)),
		want: [][]string{
			{"", "c0", "c1", "Total"},
			{"r0", "<11", "x", "45"},
			{"r1", "30", "25", "55"},
			{"r2", "x", "x", "72"},
			{"Total", "47", "125", "172"},
		},
	}, {
		name: "no complementary: the 5 is 45-40",
		tbl:  table(row(5, 40), row(30, 25), row(12, 60)),
		opts: Options{NoComplementary: true},
		want: [][]string{
			{"", "c0", "c1", "Total"},
			{"r0", "<11", "40", "45"},
			{"r1", "30", "25", "55"},
			{"r2", "12", "60", "72"},
			{"Total", "47", "125", "172"},
		},
	}, {
		// One column: a row total repeats its cell, so both are small.
		// Column c0 and the totals column each get a second masked entry,
		// row r1 (50) being the smallest and then closing the cycle.
		name: "single column",
		tbl:  table(row(5), row(50), row(70)),
		want: [][]string{
			{"", "c0", "Total"},
			{"r0", "<11", "<11"},
			{"r1", "x", "x"},
			{"r2", "70", "70"},
			{"Total", "125", "125"},
		},
	}, {
		name: "nothing small",
		tbl:  table(row(11, 0), row(25, 300)),
		want: [][]string{
			{"", "c0", "c1", "Total"},
			{"r0", "11", "0", "11"},
			{"r1", "25", "300", "325"},
			{"Total", "36", "300", "336"},
		},
	}, {
		// Zeros masked too: the zero and the 3 of row 0 share the row, and
		// column 1 needs a second entry: 12 (row 1) closes a cycle.
		name: "masked zeros",
		tbl:  table(row(0, 3, 40), row(20, 12, 30)),
		opts: Options{MaskZeros: true},
		want: [][]string{
			{"", "c0", "c1", "c2", "Total"},
			{"r0", "<11", "<11", "40", "43"},
			{"r1", "x", "x", "30", "62"},
			{"Total", "20", "15", "70", "105"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Suppress(tt.tbl, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p.Grid()); diff != "" {
				t.Errorf("published grid (-want +got):\n%s", diff)
			}
			checkMarks(t, tt.tbl, tt.opts, p)
			if !tt.opts.NoComplementary {
				checkProtected(t, tt.tbl, tt.opts, p)
			}
		})
	}
}

// TestAttackSucceedsWithoutComplementary shows the attacker is real: with
// primary suppression only, totals give masked cells back.
func TestAttackSucceedsWithoutComplementary(t *testing.T) {
	tests := []struct {
		name string
		tbl  Table
		want []string
	}{
		{"one unknown in a row", table(row(5, 40), row(30, 25)), []string{"(0,0)=5"}},
		// Two unknowns per line, but [1,10] bounds: 20 = a + b forces 10s.
		{"bounds", table(row(10, 10, 30), row(10, 10, 30)), []string{"(0,0)=10", "(0,1)=10", "(1,0)=10", "(1,1)=10"}},
		// Propagation: columns 1 and 2 give (0,1) and (0,2), then row 0 gives
		// (0,0) and column 0 gives (1,0).
		{"chain", table(row(4, 6, 3), row(2, 50, 60), row(30, 40, 50)), []string{"(0,0)=4", "(0,1)=6", "(0,2)=3", "(1,0)=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{NoComplementary: true}
			p, err := Suppress(tt.tbl, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, recovered(t, tt.tbl, opts, p)); diff != "" {
				t.Errorf("recovered entries (-want +got):\n%s\npublished %v", diff, p.Grid())
			}
			p, err = Suppress(tt.tbl, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := recovered(t, tt.tbl, Options{}, p); len(got) > 0 {
				t.Errorf("with complementary suppression, recovered %v from %v", got, p.Grid())
			}
			checkProtected(t, tt.tbl, Options{}, p)
		})
	}
}

// randomTable draws a table up to 8x6 with many small counts and zeros.
func randomTable(rng *rand.Rand) Table {
	r, c := 1+rng.IntN(8), 1+rng.IntN(6)
	pSmall := 0.1 + 0.8*rng.Float64()
	cells := make([][]int64, r)
	for i := range cells {
		cells[i] = make([]int64, c)
		for j := range cells[i] {
			switch x := rng.Float64(); {
			case x < pSmall*0.3:
				cells[i][j] = 0
			case x < pSmall:
				cells[i][j] = 1 + rng.Int64N(10)
			case x < pSmall+(1-pSmall)*0.2:
				cells[i][j] = 11 + rng.Int64N(3) // at the threshold
			default:
				cells[i][j] = 11 + rng.Int64N(300)
			}
		}
	}
	return Table{RowKeys: keys("e", r), ColKeys: keys("y", c), Cells: cells}
}

func randomOptions(rng *rand.Rand) Options {
	var o Options
	if rng.IntN(4) == 0 {
		o.MaskZeros = true
	}
	if rng.IntN(5) == 0 {
		o.Threshold = 3 + rng.Int64N(10)
	}
	return o
}

func TestSuppressRandomTablesResistAttack(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240611, 7))
	n := 500
	if testing.Short() {
		n = 100
	}
	var masked, hidden int
	for k := range n {
		tbl, opts := randomTable(rng), randomOptions(rng)
		p, err := Suppress(tbl, opts)
		if err != nil {
			t.Fatalf("table %d %v %+v: %v", k, tbl.Cells, opts, err)
		}
		p2, err := Suppress(tbl, opts)
		if err != nil || !cmp.Equal(p, p2) {
			t.Fatalf("table %d: Suppress is not deterministic", k)
		}
		checkMarks(t, tbl, opts, p)
		checkProtected(t, tbl, opts, p)
		for _, l := range p.Grid() {
			for _, s := range l {
				switch s {
				case opts.Mark():
					masked++
				case Complementary:
					hidden++
				}
			}
		}
		if t.Failed() {
			t.Fatalf("table %d with %+v failed", k, opts)
		}
	}
	t.Logf("%d tables: %d small entries, %d complementary", n, masked, hidden)
	if masked == 0 || hidden == 0 {
		t.Fatalf("random tables exercised nothing: %d masked, %d complementary", masked, hidden)
	}
}

func TestRandomTablesLeakWithoutComplementary(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240611, 8))
	leaky := 0
	for range 500 {
		tbl, opts := randomTable(rng), randomOptions(rng)
		opts.NoComplementary = true
		p, err := Suppress(tbl, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkMarks(t, tbl, opts, p)
		if len(recovered(t, tbl, opts, p)) > 0 {
			leaky++
		}
	}
	t.Logf("%d of 500 tables leak without complementary suppression", leaky)
	if leaky < 100 {
		t.Errorf("only %d of 500 tables leak without complementary suppression: the attacker is too weak", leaky)
	}
}

func TestSuppressErrors(t *testing.T) {
	tests := []struct {
		name string
		tbl  Table
		opts Options
		want string
	}{
		{"negative", table(row(1, -2)), Options{}, "row 0 column 1: negative count -2"},
		{"ragged", Table{RowKeys: []string{"a"}, ColKeys: []string{"x", "y"}, Cells: [][]int64{{1}}}, Options{}, "row 0: 1 cells for 2 column keys"},
		{"rows", Table{RowKeys: []string{"a", "b"}, ColKeys: []string{"x"}, Cells: [][]int64{{1}}}, Options{}, "1 rows of cells for 2 row keys"},
		{"threshold", table(row(1)), Options{Threshold: 2}, "threshold 2: a masked count could only be 1; use at least 3"},
		{"negative threshold", table(row(1)), Options{Threshold: -1}, "threshold -1: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Suppress(tt.tbl, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if errors.Is(err, ErrCannotProtect) {
				t.Fatalf("input error reported as %v", ErrCannotProtect)
			}
		})
	}
	if _, err := Suppress(table(row(1)), Options{Threshold: 2, MaskZeros: true}); err != nil {
		t.Errorf("threshold 2 with masked zeros: %v", err)
	}
}

func TestMaskIndicator(t *testing.T) {
	tests := []struct {
		value    float64
		subjects int64
		opts     Options
		want     string
	}{
		{12.5, 11, Options{}, "12.5"},
		{12.5, 10, Options{}, "<11"},
		{0.25, 0, Options{}, "<11"},
		{3, 4, Options{MinSubjects: 5}, "<5"},
		{3, 5, Options{MinSubjects: 5}, "3"},
		{math.NaN(), 20, Options{}, "NA"},
		{math.Inf(1), 20, Options{}, "NA"},
	}
	for _, tt := range tests {
		if got := MaskIndicator(tt.value, tt.subjects, tt.opts); got != tt.want {
			t.Errorf("MaskIndicator(%v, %d, %+v) = %q, want %q", tt.value, tt.subjects, tt.opts, got, tt.want)
		}
	}
}

// TestAuditMatchesAttacker checks the cycle audit used by Suppress against
// the attacker, both ways, on primary suppression alone: an entry is
// exposed iff the attacker finds no other consistent value for it.
func TestAuditMatchesAttacker(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240611, 9))
	var exposed, safe int
	for k := range 300 {
		tbl, opts := randomTable(rng), randomOptions(rng)
		opts.NoComplementary = true
		p, err := Suppress(tbl, opts)
		if err != nil {
			t.Fatal(err)
		}
		g := newGrid(tbl, opts.withDefaults())
		for i := range g.rows {
			for j := range g.cols {
				if g.opts.small(g.val[i][j]) {
					g.st[i][j] = primary
				}
			}
		}
		m, err := attackerModel(p, opts, 4*tbl.GrandTotal()+200)
		if err != nil {
			t.Fatal(err)
		}
		for v, ij := range m.pos {
			n := truthAt(tbl, ij[0], ij[1])
			budget := 200000
			_, other := m.witness(v, math.MinInt64/4, n-1, &budget)
			if !other {
				_, other = m.witness(v, n+1, math.MaxInt64/4, &budget)
			}
			if budget <= 0 {
				t.Fatalf("table %d: search budget exhausted", k)
			}
			if got := g.exposed(ij[0], ij[1]); got == other {
				t.Fatalf("table %d %v %+v entry (%d,%d): audit says exposed=%v, attacker found another value=%v", k, tbl.Cells, opts, ij[0], ij[1], got, other)
			}
			if other {
				safe++
			} else {
				exposed++
			}
		}
	}
	t.Logf("%d exposed and %d safe masked entries agree", exposed, safe)
	if exposed == 0 || safe == 0 {
		t.Fatalf("one side never exercised: %d exposed, %d safe", exposed, safe)
	}
}

// BenchmarkSuppress is a national export: 300 establishments x 10 years.
func BenchmarkSuppress(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	tbl := Table{RowKeys: keys("e", 300), ColKeys: keys("y", 10), Cells: make([][]int64, 300)}
	for i := range tbl.Cells {
		tbl.Cells[i] = make([]int64, 10)
		for j := range tbl.Cells[i] {
			if rng.IntN(3) == 0 {
				tbl.Cells[i][j] = rng.Int64N(11)
			} else {
				tbl.Cells[i][j] = 11 + rng.Int64N(200)
			}
		}
	}
	for b.Loop() {
		if _, err := Suppress(tbl, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
