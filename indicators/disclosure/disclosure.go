// Package disclosure masks small counts in tables published as open data
// (domain/sigrec.md, "Disclosure control").
//
// Authenticated national users see exact figures; open exports do not. The
// rule is the small-cell rule applied to French health-data publications
// (counts below 11 are masked in ATIH and SNDS open data, to prevent
// re-identification of patients): any count from 1 to 10 at
// establishment level is shown as "<11", and any indicator computed from
// fewer than 11 subjects is not shown. Masking must not be undone by totals,
// so Suppress adds complementary suppression: further cells, marked "x", are
// hidden until no masked value can be recomputed exactly from the published
// cells and totals, even by an attacker who knows that every "<11" lies in
// [1, 10] and every "x" is at least 11.
//
// The package is self-contained: it knows nothing about studies or
// inclusions. A Table is any two-way table of counts (inclusions per
// establishment × year, studies per establishment × category...). See
// docs/disclosure.md for the algorithm and its limits.
package disclosure

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Default values of Options.
const (
	DefaultThreshold   = 11
	DefaultMinSubjects = 11
)

// Complementary is the published mark of a cell hidden only to protect
// another one (complementary, or secondary, suppression). Its value is at
// least the threshold; it is not shown as "<11" because that would be false.
const Complementary = "x"

// ErrCannotProtect is returned when even hiding every non-zero entry leaves a
// masked value recoverable; it only happens with degenerate options.
var ErrCannotProtect = errors.New("disclosure: masked cells cannot be protected")

// Options configure Suppress and MaskIndicator. The zero value applies the
// French rule: counts 1..10 masked as "<11", zeros published, indicators from
// fewer than 11 subjects masked.
type Options struct {
	// Threshold is the smallest count published as such: counts from 1 to
	// Threshold-1 are masked and shown as "<Threshold". 0 means
	// DefaultThreshold (11). It must be at least 3 unless MaskZeros is set
	// (a "<2" that can only be 1 protects nothing).
	Threshold int64
	// MaskZeros also masks counts equal to 0 (then "<11" means 0..10). By
	// default zeros are published: an empty cell discloses no individual.
	MaskZeros bool
	// MinSubjects is the smallest number of subjects an indicator value may
	// be computed from to be published (MaskIndicator). 0 means
	// DefaultMinSubjects (11).
	MinSubjects int64
	// NoComplementary disables complementary suppression: only the small
	// counts themselves are masked, which totals can undo. It exists for
	// tests that show the attack succeeds without it; never set it for an
	// open export.
	NoComplementary bool
}

func (o Options) withDefaults() Options {
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if o.MinSubjects == 0 {
		o.MinSubjects = DefaultMinSubjects
	}
	return o
}

// Validate reports options that cannot protect anything.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.Threshold < 0 {
		errs = append(errs, fmt.Errorf("threshold %d: must not be negative", o.Threshold))
	} else if lo := o.low(); o.Threshold-1 <= lo {
		errs = append(errs, fmt.Errorf("threshold %d: a masked count could only be %d; use at least %d", o.Threshold, lo, lo+2))
	}
	if o.MinSubjects < 0 {
		errs = append(errs, fmt.Errorf("min subjects %d: must not be negative", o.MinSubjects))
	}
	if len(errs) > 0 {
		return fmt.Errorf("disclosure options: %w", errors.Join(errs...))
	}
	return nil
}

// low is the smallest masked count.
func (o Options) low() int64 {
	if o.MaskZeros {
		return 0
	}
	return 1
}

// Mark is the published text of a count masked by the small-cell rule, e.g.
// "<11".
func (o Options) Mark() string {
	return "<" + strconv.FormatInt(o.withDefaults().Threshold, 10)
}

// small reports whether the count n must be masked by the primary rule.
func (o Options) small(n int64) bool {
	return n >= o.low() && n < o.Threshold
}

// MaskIndicator formats an indicator value (a rate, a median delay...) for
// an open export: the value when it was computed from at least MinSubjects
// subjects, else the mark "<MinSubjects" (e.g. "<11"), which then reads
// "computed from fewer than 11 subjects", not a bound on the value. A value
// that is not a finite number is published as "NA".
func MaskIndicator(value float64, subjects int64, opts Options) string {
	opts = opts.withDefaults()
	if subjects < opts.MinSubjects {
		return "<" + strconv.FormatInt(opts.MinSubjects, 10)
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return "NA"
	}
	return strconv.FormatFloat(value, 'f', -1, 64)
}
