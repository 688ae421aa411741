package disclosure

import (
	"errors"
	"fmt"
	"strconv"
)

// Table is a two-way table of counts: Cells[i][j] is the count of row
// RowKeys[i] (e.g. an establishment's FINESS) and column ColKeys[j] (e.g. a
// year or a study category). Its marginal totals are computed, never given,
// so they always add up.
type Table struct {
	RowKeys []string
	ColKeys []string
	Cells   [][]int64
}

// Validate checks the shape of t and that every count is non-negative.
func (t Table) Validate() error {
	var errs []error
	if len(t.Cells) != len(t.RowKeys) {
		errs = append(errs, fmt.Errorf("%d rows of cells for %d row keys", len(t.Cells), len(t.RowKeys)))
	}
	for i, row := range t.Cells {
		if len(row) != len(t.ColKeys) {
			errs = append(errs, fmt.Errorf("row %d: %d cells for %d column keys", i, len(row), len(t.ColKeys)))
		}
		for j, n := range row {
			if n < 0 {
				errs = append(errs, fmt.Errorf("row %d column %d: negative count %d", i, j, n))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("disclosure table: %w", errors.Join(errs...))
	}
	return nil
}

// RowTotals returns the sum of each row.
func (t Table) RowTotals() []int64 {
	out := make([]int64, len(t.Cells))
	for i, row := range t.Cells {
		for _, n := range row {
			out[i] += n
		}
	}
	return out
}

// ColTotals returns the sum of each column.
func (t Table) ColTotals() []int64 {
	out := make([]int64, len(t.ColKeys))
	for _, row := range t.Cells {
		for j, n := range row {
			if j < len(out) {
				out[j] += n
			}
		}
	}
	return out
}

// GrandTotal returns the sum of all cells.
func (t Table) GrandTotal() int64 {
	var g int64
	for _, n := range t.RowTotals() {
		g += n
	}
	return g
}

// Published is a Table as it may appear in an open export. Every entry, cell
// or total, is the exact count, Options.Mark() (e.g. "<11": a count from 1
// to 10, or 0 to 10 with Options.MaskZeros) or Complementary ("x": a count of
// at least the threshold, hidden to protect another entry).
type Published struct {
	RowKeys    []string
	ColKeys    []string
	Cells      [][]string
	RowTotals  []string
	ColTotals  []string
	GrandTotal string
}

// Grid returns p as rows of text ready for CSV: a header row (empty corner,
// the column keys, "Total"), one row per row key ending with its total, and
// a last "Total" row of column totals and the grand total.
func (p Published) Grid() [][]string {
	out := make([][]string, 0, len(p.Cells)+2)
	head := append([]string{""}, p.ColKeys...)
	out = append(out, append(head, "Total"))
	for i, row := range p.Cells {
		line := append([]string{p.RowKeys[i]}, row...)
		out = append(out, append(line, p.RowTotals[i]))
	}
	last := append([]string{"Total"}, p.ColTotals...)
	return append(out, append(last, p.GrandTotal))
}

// state of an entry of the extended table.
type state uint8

const (
	shown     state = iota
	primary         // small count, shown as the mark
	secondary       // hidden to protect another entry
)

// grid is the table extended with its totals: entry (i, C) is the total of
// row i, (R, j) the total of column j, (R, C) the grand total. With the
// totals counted negatively (sign), every line of the grid sums to zero,
// which is what the audit relies on.
type grid struct {
	rows, cols int // R+1, C+1
	val        [][]int64
	st         [][]state
	opts       Options
}

func newGrid(t Table, opts Options) *grid {
	r, c := len(t.Cells), len(t.ColKeys)
	g := &grid{rows: r + 1, cols: c + 1, opts: opts}
	rt, ct := t.RowTotals(), t.ColTotals()
	g.val = make([][]int64, r+1)
	g.st = make([][]state, r+1)
	for i := range g.val {
		g.val[i] = make([]int64, c+1)
		g.st[i] = make([]state, c+1)
		if i < r {
			copy(g.val[i], t.Cells[i])
			g.val[i][c] = rt[i]
		} else {
			copy(g.val[i], ct)
			g.val[i][c] = t.GrandTotal()
		}
	}
	return g
}

func (g *grid) isTotal(i, j int) bool { return i == g.rows-1 || j == g.cols-1 }

// sign of entry (i, j) in the zero-sum form: +1 for cells and the grand
// total, -1 for row and column totals.
func (g *grid) sign(i, j int) int {
	if (i == g.rows-1) != (j == g.cols-1) {
		return -1
	}
	return 1
}

// bounds of a masked entry as an attacker knows them from its mark.
func (g *grid) bounds(i, j int) (lo, hi int64) {
	if g.st[i][j] == primary {
		return g.opts.low(), g.opts.Threshold - 1
	}
	return g.opts.Threshold, math64
}

const math64 = int64(^uint64(0) >> 1)

// canMove reports whether the zero-sum form of masked entry (i, j) can go up
// (up = true) or down by one without leaving its bounds.
func (g *grid) canMove(i, j int, up bool) bool {
	lo, hi := g.bounds(i, j)
	n := g.val[i][j]
	if (g.sign(i, j) > 0) == up {
		return n < hi
	}
	return n > lo
}

// exposed reports whether masked entry (i, j) has exactly one value
// consistent with the published entries and the bounds of every mark.
//
// The published grid fixes every line sum, so two consistent grids differ by
// a zero-sum integer pattern on masked entries, which splits into
// alternating cycles (conformal decomposition). Entry (i, j) can therefore
// move iff one alternating cycle through it can move by one: with node Ri
// for row i and Cj for column j, an edge Ri→Cj for each other masked entry
// that can go down and Cj→Ri for each one that can go up, (i, j) can go up
// iff Cj is reachable from Ri, and down iff Ri is reachable from Cj. This is
// exact, not an interval approximation.
func (g *grid) exposed(i, j int) bool {
	if g.canMove(i, j, true) && g.reach(i, j, true) {
		return false
	}
	return !(g.canMove(i, j, false) && g.reach(i, j, false))
}

// reach searches the cycle graph without entry (ti, tj): from row ti to
// column tj when up, from column tj to row ti when down.
func (g *grid) reach(ti, tj int, up bool) bool {
	seenR := make([]bool, g.rows)
	seenC := make([]bool, g.cols)
	type node struct {
		row bool
		k   int
	}
	var queue []node
	if up {
		seenR[ti] = true
		queue = append(queue, node{true, ti})
	} else {
		seenC[tj] = true
		queue = append(queue, node{false, tj})
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n.row {
			i := n.k
			for j := range g.cols {
				if seenC[j] || g.st[i][j] == shown || (i == ti && j == tj) || !g.canMove(i, j, false) {
					continue
				}
				if up && j == tj {
					return true
				}
				seenC[j] = true
				queue = append(queue, node{false, j})
			}
			continue
		}
		j := n.k
		for i := range g.rows {
			if seenR[i] || g.st[i][j] == shown || (i == ti && j == tj) || !g.canMove(i, j, true) {
				continue
			}
			if !up && i == ti {
				return true
			}
			seenR[i] = true
			queue = append(queue, node{true, i})
		}
	}
	return false
}

// firstExposed returns the first masked entry, in row-major order, whose
// value can be recomputed.
func (g *grid) firstExposed() (int, int, bool) {
	for i := range g.rows {
		for j := range g.cols {
			if g.st[i][j] != shown && g.exposed(i, j) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// maskedInRow and maskedInCol count the masked entries of a line.
func (g *grid) maskedInRow(i int) (n int) {
	for j := range g.cols {
		if g.st[i][j] != shown {
			n++
		}
	}
	return n
}

func (g *grid) maskedInCol(j int) (n int) {
	for i := range g.rows {
		if g.st[i][j] != shown {
			n++
		}
	}
	return n
}

// candidate is an entry that complementary suppression may hide.
type candidate struct{ i, j int }

// better orders candidates: cells before totals, then those whose other
// line already has a masked entry (they close a cycle), then the smallest
// count, then row-major position. The order is total, so the result is
// deterministic.
func (g *grid) better(a, b candidate, closesA, closesB bool) bool {
	ta, tb := g.isTotal(a.i, a.j), g.isTotal(b.i, b.j)
	if ta != tb {
		return !ta
	}
	if closesA != closesB {
		return closesA
	}
	va, vb := g.val[a.i][a.j], g.val[b.i][b.j]
	if va != vb {
		return va < vb
	}
	if a.i != b.i {
		return a.i < b.i
	}
	return a.j < b.j
}

// pickInLine returns the best shown non-zero entry of row i (when row) or column
// j, and whether the entry's other line has a masked entry (it closes a
// cycle).
// Zeros are never picked: a line with a masked entry has a non-zero shown
// entry or another masked one, and hiding a zero would make "x" ambiguous.
func (g *grid) pickInLine(i, j int, row bool) (candidate, bool, bool) {
	var best candidate
	var bestCloses, found bool
	consider := func(c candidate, closes bool) {
		if g.st[c.i][c.j] != shown || g.val[c.i][c.j] == 0 {
			return
		}
		if !found || g.better(c, best, closes, bestCloses) {
			best, bestCloses, found = c, closes, true
		}
	}
	if row {
		for k := range g.cols {
			consider(candidate{i, k}, g.maskedInCol(k) > 0)
		}
	} else {
		for k := range g.rows {
			consider(candidate{k, j}, g.maskedInRow(k) > 0)
		}
	}
	return best, bestCloses, found
}

// pickAny is the fallback when the lines of an exposed entry have no shown
// non-zero entry left.
func (g *grid) pickAny() (candidate, bool) {
	var best candidate
	var bestCloses, found bool
	for i := range g.rows {
		for j := range g.cols {
			c := candidate{i, j}
			if g.st[i][j] != shown || g.val[i][j] == 0 {
				continue
			}
			closes := g.maskedInRow(i) > 0 && g.maskedInCol(j) > 0
			if !found || g.better(c, best, closes, bestCloses) {
				best, bestCloses, found = c, closes, true
			}
		}
	}
	return best, found
}

// Suppress masks t for an open export: primary suppression of every small
// count (cells and totals alike), then, unless opts.NoComplementary,
// complementary suppression until no masked entry can be recomputed:
//
//  1. every line (row or column, its total included) with exactly one
//     masked entry gets a second one, the smallest non-zero shown count of
//     the line, cells before totals, ties broken by position; repeated to a
//     fixed point;
//  2. an exact audit then looks for any masked entry that the published
//     entries and the bounds of the marks ([1, Threshold-1] for "<11", at
//     least Threshold for "x") pin to a single value, and hides one more
//     entry of its row or column, until none is left.
//
// The result is deterministic. It is safe, not minimal: see
// docs/disclosure.md.
func Suppress(t Table, opts Options) (Published, error) {
	if err := opts.Validate(); err != nil {
		return Published{}, fmt.Errorf("suppress: %w", err)
	}
	if err := t.Validate(); err != nil {
		return Published{}, fmt.Errorf("suppress: %w", err)
	}
	opts = opts.withDefaults()
	g := newGrid(t, opts)
	for i := range g.rows {
		for j := range g.cols {
			if opts.small(g.val[i][j]) {
				g.st[i][j] = primary
			}
		}
	}
	if !opts.NoComplementary {
		if err := g.complement(); err != nil {
			return Published{}, fmt.Errorf("suppress: %w", err)
		}
	}
	return g.publish(t), nil
}

func (g *grid) complement() error {
	// Step 1: lines with a single masked entry.
	for changed := true; changed; {
		changed = false
		for i := range g.rows {
			if g.maskedInRow(i) == 1 {
				if c, _, ok := g.pickInLine(i, 0, true); ok {
					g.st[c.i][c.j] = secondary
					changed = true
				}
			}
		}
		for j := range g.cols {
			if g.maskedInCol(j) == 1 {
				if c, _, ok := g.pickInLine(0, j, false); ok {
					g.st[c.i][c.j] = secondary
					changed = true
				}
			}
		}
	}
	// Step 2: exact audit.
	for {
		i, j, ok := g.firstExposed()
		if !ok {
			return nil
		}
		c, closes, found := g.pickInLine(i, j, true)
		if alt, altCloses, ok := g.pickInLine(i, j, false); ok && (!found || g.better(alt, c, altCloses, closes)) {
			c, found = alt, true
		}
		if !found {
			c, found = g.pickAny()
		}
		if !found {
			return fmt.Errorf("row %d column %d of a %dx%d table: %w", i, j, g.rows-1, g.cols-1, ErrCannotProtect)
		}
		g.st[c.i][c.j] = secondary
	}
}

func (g *grid) text(i, j int) string {
	switch g.st[i][j] {
	case primary:
		return g.opts.Mark()
	case secondary:
		return Complementary
	}
	return strconv.FormatInt(g.val[i][j], 10)
}

func (g *grid) publish(t Table) Published {
	r, c := g.rows-1, g.cols-1
	p := Published{
		RowKeys:   append([]string(nil), t.RowKeys...),
		ColKeys:   append([]string(nil), t.ColKeys...),
		Cells:     make([][]string, r),
		RowTotals: make([]string, r),
		ColTotals: make([]string, c),
	}
	for i := range r {
		p.Cells[i] = make([]string, c)
		for j := range c {
			p.Cells[i][j] = g.text(i, j)
		}
		p.RowTotals[i] = g.text(i, c)
	}
	for j := range c {
		p.ColTotals[j] = g.text(r, j)
	}
	p.GrandTotal = g.text(r, c)
	return p
}
