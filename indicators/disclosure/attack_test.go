package disclosure

import (
	"fmt"
	"strconv"
)

// This file is the attacker of the tests. It is written independently of
// the cycle audit of Suppress: it sees only a Published table and the
// publication rule, and works on linear equations.
//
//   - recover runs interval propagation to a fixed point on every line
//     equation (a line with one unknown is the degenerate case; propagation
//     chains them). Each step only drops impossible values, so a pinned
//     entry is truly recovered.
//   - witness searches, by propagation and domain splitting, for a whole
//     published-consistent table in which one masked entry differs from its
//     true value. A witness found is checked equation by equation, so it is
//     a proof that the entry is not recovered.

// unknownModel is what an attacker derives from a publication.
type unknownModel struct {
	pos    [][2]int // extended (row, col) of each unknown
	lo, hi []int64  // bounds from the marks
	eqs    []equation
}

// equation reads sum(coef[k] * x[vars[k]]) == k.
type equation struct {
	vars []int
	coef []int64
	k    int64
}

// attackerModel builds the equations of p. Marks mean what the publication
// says: Options.Mark() is a count in [low, Threshold-1], Complementary a
// count of at least Threshold. limit caps otherwise unbounded unknowns; it
// must be above every true count so the model keeps the truth.
func attackerModel(p Published, opts Options, limit int64) (unknownModel, error) {
	opts = opts.withDefaults()
	r, c := len(p.Cells), len(p.ColKeys)
	text := func(i, j int) string {
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
	var m unknownModel
	id := make([][]int, r+1)
	known := make([][]int64, r+1)
	for i := range r + 1 {
		id[i] = make([]int, c+1)
		known[i] = make([]int64, c+1)
		for j := range c + 1 {
			id[i][j] = -1
			switch s := text(i, j); s {
			case opts.Mark():
				id[i][j] = len(m.pos)
				m.pos = append(m.pos, [2]int{i, j})
				m.lo = append(m.lo, opts.low())
				m.hi = append(m.hi, opts.Threshold-1)
			case Complementary:
				id[i][j] = len(m.pos)
				m.pos = append(m.pos, [2]int{i, j})
				m.lo = append(m.lo, opts.Threshold)
				m.hi = append(m.hi, limit)
			default:
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return m, fmt.Errorf("entry (%d,%d) %q: %w", i, j, s, err)
				}
				known[i][j] = n
			}
		}
	}
	sign := func(i, j int) int64 {
		if (i == r) != (j == c) {
			return -1
		}
		return 1
	}
	line := func(cells [][2]int) {
		var e equation
		for _, ij := range cells {
			i, j := ij[0], ij[1]
			if v := id[i][j]; v >= 0 {
				e.vars = append(e.vars, v)
				e.coef = append(e.coef, sign(i, j))
			} else {
				e.k -= sign(i, j) * known[i][j]
			}
		}
		m.eqs = append(m.eqs, e)
	}
	for i := range r + 1 {
		var cells [][2]int
		for j := range c + 1 {
			cells = append(cells, [2]int{i, j})
		}
		line(cells)
	}
	for j := range c + 1 {
		var cells [][2]int
		for i := range r + 1 {
			cells = append(cells, [2]int{i, j})
		}
		line(cells)
	}
	return m, nil
}

// propagate narrows lo and hi in place; false means no table fits.
func (m unknownModel) propagate(lo, hi []int64) bool {
	for changed := true; changed; {
		changed = false
		for _, e := range m.eqs {
			var minSum, maxSum int64
			for k, v := range e.vars {
				if e.coef[k] > 0 {
					minSum, maxSum = minSum+lo[v], maxSum+hi[v]
				} else {
					minSum, maxSum = minSum-hi[v], maxSum-lo[v]
				}
			}
			if minSum > e.k || maxSum < e.k {
				return false
			}
			for k, v := range e.vars {
				var cmin, cmax int64 // contribution of v
				if e.coef[k] > 0 {
					cmin, cmax = lo[v], hi[v]
				} else {
					cmin, cmax = -hi[v], -lo[v]
				}
				// coef*x = k - others, others in [minSum-cmin, maxSum-cmax]
				a, b := e.k-(maxSum-cmax), e.k-(minSum-cmin)
				if e.coef[k] < 0 {
					a, b = -b, -a
				}
				if a > lo[v] {
					lo[v], changed = a, true
				}
				if b < hi[v] {
					hi[v], changed = b, true
				}
				if lo[v] > hi[v] {
					return false
				}
			}
		}
	}
	return true
}

// recover returns the bounds an attacker derives for every unknown.
func (m unknownModel) recover() (lo, hi []int64, ok bool) {
	lo, hi = append([]int64(nil), m.lo...), append([]int64(nil), m.hi...)
	return lo, hi, m.propagate(lo, hi)
}

// witness looks for a full assignment with unknown v in [vlo, vhi], visiting
// at most *budget search nodes.
func (m unknownModel) witness(v int, vlo, vhi int64, budget *int) ([]int64, bool) {
	lo, hi := append([]int64(nil), m.lo...), append([]int64(nil), m.hi...)
	lo[v], hi[v] = max(lo[v], vlo), min(hi[v], vhi)
	if lo[v] > hi[v] {
		return nil, false
	}
	return m.search(lo, hi, budget)
}

func (m unknownModel) search(lo, hi []int64, budget *int) ([]int64, bool) {
	if *budget <= 0 {
		return nil, false
	}
	*budget--
	if !m.propagate(lo, hi) {
		return nil, false
	}
	pick := -1
	for v := range lo {
		if lo[v] < hi[v] && (pick < 0 || hi[v]-lo[v] < hi[pick]-lo[pick]) {
			pick = v
		}
	}
	if pick < 0 {
		if m.satisfied(lo) {
			return lo, true
		}
		return nil, false
	}
	mid := lo[pick] + (hi[pick]-lo[pick])/2
	for _, half := range [2][2]int64{{lo[pick], mid}, {mid + 1, hi[pick]}} {
		l, h := append([]int64(nil), lo...), append([]int64(nil), hi...)
		l[pick], h[pick] = half[0], half[1]
		if sol, ok := m.search(l, h, budget); ok {
			return sol, true
		}
	}
	return nil, false
}

// satisfied checks x against every equation and every mark's bounds.
func (m unknownModel) satisfied(x []int64) bool {
	for v := range x {
		if x[v] < m.lo[v] || x[v] > m.hi[v] {
			return false
		}
	}
	for _, e := range m.eqs {
		var s int64
		for k, v := range e.vars {
			s += e.coef[k] * x[v]
		}
		if s != e.k {
			return false
		}
	}
	return true
}
