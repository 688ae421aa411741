package mapping

import (
	"testing"
)

// matcherCases are inputs around every pattern's edges.
var matcherCases = []string{
	"", "a", "ResearchStudy/x", "ResearchStudy/ss-1", "Patient/1/_history/2", "Patient/1/_history/", "Patient/1/history/2",
	"P/1", "Pa/1", "pa/1", "Pa1/1", "Pa/", "Pa//1", "Pa/1/", "Pa/1/_history/2/3", "Pa/é",
	"ResearchStudy/0123456789012345678901234567890123456789012345678901234567890123",
	"ResearchStudy/01234567890123456789012345678901234567890123456789012345678901234",
	"https://x", "http://x", "https://", "http:// x", "https://x\vy", "https://x\ty", "https://é", "https://\xff", "ftp://x", "https:/x",
	"2024-A01234-56", "2024-012345-56", "2024-512345-21-00", "NCT01234567", "NCT0123456", "350000006", "2A0000006", "2C0000006",
	"2024-06-03", "0000-06-03", "0001-01-01", "2024-13-01", "2024-00-01", "2024-12-32", "2024-12-00", "2024-02-31", "2024-06", "2024",
	"2024-06-03T10:00:00Z", "2024-6-03", "2024-06-03 ", "２０２４-06-03", "st-1", "a.b-C", "a_b", "a/b",
}

func TestMatchersAgreeWithRegexps(t *testing.T) {
	for _, s := range matcherCases {
		checkMatchers(t, s)
	}
}

func FuzzMatchers(f *testing.F) {
	for _, s := range matcherCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkMatchers(t, s) })
}

func checkMatchers(t *testing.T, s string) {
	t.Helper()
	if got, want := isFHIRID(s), fhirIDRe.MatchString(s); got != want {
		t.Errorf("isFHIRID(%q) = %v, regexp says %v", s, got, want)
	}
	if got, want := isCanonicalURL(s), canonicalRe.MatchString(s); got != want {
		t.Errorf("isCanonicalURL(%q) = %v, regexp says %v", s, got, want)
	}
	if got, want := isFINESS(s), finessRe.MatchString(s); got != want {
		t.Errorf("isFINESS(%q) = %v, regexp says %v", s, got, want)
	}
	typ, ok := relRefType(s)
	if m := refRelRe.FindStringSubmatch(s); (m != nil) != ok || (ok && m[1] != typ) {
		t.Errorf("relRefType(%q) = %q, %v; regexp says %q", s, typ, ok, m)
	}
	typ, ok = localRefType(s)
	if m := refLocalRe.FindStringSubmatch(s); (m != nil) != ok || (ok && m[1] != typ) {
		t.Errorf("localRefType(%q) = %q, %v; regexp says %q", s, typ, ok, m)
	}
	if isPlainDate(s) && (!dateRe.MatchString(s) || !dateTimeRe.MatchString(s)) {
		t.Errorf("isPlainDate(%q) accepts what the date regexps refuse", s)
	}
	for _, sys := range []string{SystemIDRCB, SystemEudraCT, SystemEUCT, SystemNCT, SystemNCTLegacy, SystemFINESS, SystemPseudonym} {
		re, _ := identifierFormat(sys)
		match, known := identifierMatch(sys, s)
		if known != (re != nil) || (re != nil && match != re.MatchString(s)) {
			t.Errorf("identifierMatch(%s, %q) = %v, %v; regexp %v", sys, s, match, known, re)
		}
	}
}

// TestPlainDatesAreDates: every plain date the fast path accepts is one
// the regexps accept (exhaustive over months and days of a few years).
func TestPlainDatesAreDates(t *testing.T) {
	n := 0
	for _, y := range []string{"0000", "0001", "1999", "2024", "9999"} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				s := y + "-" + two(m) + "-" + two(d)
				if isPlainDate(s) {
					n++
				}
				if want := dateRe.MatchString(s); isPlainDate(s) != want {
					t.Errorf("isPlainDate(%q) = %v, dateRe says %v", s, isPlainDate(s), want)
				}
			}
		}
	}
	if n != 4*12*31 {
		t.Errorf("%d plain dates accepted, want %d", n, 4*12*31)
	}
}

func two(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }
