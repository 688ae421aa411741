package mapping

import "strings"

// Hand-written matchers for the patterns the validator checks on every
// resource (a regexp costs about a microsecond per match, a fifth of Map).
// Each is exactly its regular expression, which the comment gives; the
// tests (TestMatchersAgreeWithRegexps, FuzzMatchers) compare them with it.

func isIDChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// isFHIRID: ^[A-Za-z0-9\-.]{1,64}$
func isFHIRID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIDChar(s[i]) {
			return false
		}
	}
	return true
}

// refType splits "Type/rest" where Type is [A-Z][A-Za-z]+.
func refType(s string) (typ, rest string, ok bool) {
	slash := strings.IndexByte(s, '/')
	if slash < 2 || s[0] < 'A' || s[0] > 'Z' {
		return "", "", false
	}
	for i := 1; i < slash; i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", "", false
		}
	}
	return s[:slash], s[slash+1:], true
}

// localRefType returns the type of a reference matching
// ^([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}$ (refLocalRe).
func localRefType(s string) (string, bool) {
	typ, id, ok := refType(s)
	if !ok || !isFHIRID(id) {
		return "", false
	}
	return typ, true
}

// relRefType returns the type of a reference matching
// ^([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?$
// (refRelRe).
func relRefType(s string) (string, bool) {
	typ, rest, ok := refType(s)
	if !ok {
		return "", false
	}
	id, version, hasVersion := strings.Cut(rest, "/")
	if !isFHIRID(id) {
		return "", false
	}
	if hasVersion {
		v, ok := strings.CutPrefix(version, "_history/")
		if !ok || !isFHIRID(v) {
			return "", false
		}
	}
	return typ, true
}

// isCanonicalURL: ^https?://\S+$ (RE2's \s is [\t\n\f\r ]).
func isCanonicalURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	return rest != "" && !strings.ContainsAny(rest, "\t\n\f\r ")
}

// matchMask matches s against a mask where 'd' is an ASCII digit (RE2's
// \d) and any other byte stands for itself.
func matchMask(s, mask string) bool {
	if len(s) != len(mask) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if mask[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != mask[i] {
			return false
		}
	}
	return true
}

// isFINESS: ^(\d{9}|2[AB]\d{7})$
func isFINESS(s string) bool {
	return matchMask(s, "ddddddddd") || matchMask(s, "2Addddddd") || matchMask(s, "2Bddddddd")
}

// isPlainDate reports a "YYYY-MM-DD" date that dateRe and dateTimeRe both
// accept (year 0001-9999, month 01-12, day 01-31). The validator tries it
// before the regular expression, which decides for everything else.
func isPlainDate(s string) bool {
	if !matchMask(s, "dddd-dd-dd") || s[:4] == "0000" {
		return false
	}
	m, d := s[5:7], s[8:10]
	return m >= "01" && m <= "12" && d >= "01" && d <= "31"
}

// identifierMatch checks a value against the format of a known identifier
// system; known is false for other systems.
func identifierMatch(sys, val string) (ok, known bool) {
	switch sys {
	case SystemIDRCB: // ^20\d{2}-A\d{5}-\d{2}$
		return matchMask(val, "20dd-Addddd-dd"), true
	case SystemEudraCT: // ^20\d{2}-0\d{5}-\d{2}$
		return matchMask(val, "20dd-0ddddd-dd"), true
	case SystemEUCT: // ^\d{4}-\d{6}-\d{2}-\d{2}$
		return matchMask(val, "dddd-dddddd-dd-dd"), true
	case SystemNCT, SystemNCTLegacy: // ^NCT\d{8}$
		return matchMask(val, "NCTdddddddd"), true
	case SystemFINESS:
		return isFINESS(val), true
	}
	return false, false
}
