package mapping

import (
	"encoding/json"
	"sync"
	"unicode/utf8"
)

// maxTreeDepth bounds the nesting decodeTree accepts; deeper documents go
// to encoding/json (whose own limit is 10000).
const maxTreeDepth = 512

// decodeTree parses a JSON document into the generic tree the validator
// walks (map[string]any, []any, string, json.Number, bool, nil), giving
// exactly what encoding/json's Decoder with UseNumber gives, in one pass and
// with one copy of the input (strings and numbers are substrings of it).
//
// It handles only the common case: one JSON object followed by nothing but
// white space, strings without escapes and in valid UTF-8. Anything else
// (escapes, invalid UTF-8, control characters, syntax errors, trailing
// data, other top-level values, very deep nesting) returns ok false and the
// caller must use encoding/json, which also words the errors. When ok is
// true, encoding/json would have decoded the same tree without error
// (FuzzDecodeTree checks it).
func decodeTree(b []byte) (obj map[string]any, ok bool) {
	p := treeParser{s: string(b)}
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, false
	}
	obj, ok = p.object(0)
	if !ok {
		return nil, false
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, false
	}
	return obj, true
}

type treeParser struct {
	s string
	i int
}

func (p *treeParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *treeParser) value(depth int) (any, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		m, ok := p.object(depth + 1)
		if !ok {
			return nil, false
		}
		return m, true
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		if x, ok := internedStrings()[s]; ok {
			return x, true // no allocation for a boxed constant
		}
		return s, true
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, false
}

func (p *treeParser) lit(word string) bool {
	if len(p.s)-p.i < len(word) || p.s[p.i:p.i+len(word)] != word {
		return false
	}
	p.i += len(word)
	return true
}

// object parses an object; p.s[p.i] is '{'.
func (p *treeParser) object(depth int) (map[string]any, bool) {
	if depth > maxTreeDepth {
		return nil, false
	}
	p.i++
	m := make(map[string]any)
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return m, true
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.ws()
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		m[k] = v // last duplicate wins, as in encoding/json
		p.ws()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case '}':
			p.i++
			return m, true
		default:
			return nil, false
		}
	}
}

// array parses an array; p.s[p.i] is '['.
func (p *treeParser) array(depth int) (any, bool) {
	if depth > maxTreeDepth {
		return nil, false
	}
	p.i++
	p.ws()
	arr := []any{} // encoding/json gives an empty, non-nil slice for []
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return arr, true
	}
	for {
		v, ok := p.value(depth)
		if !ok {
			return nil, false
		}
		arr = append(arr, v)
		p.ws()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			return arr, true
		default:
			return nil, false
		}
	}
}

// str parses a string without escapes; p.s[p.i] is '"'.
func (p *treeParser) str() (string, bool) {
	start := p.i + 1
	ascii := true
	for j := start; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case c == '"':
			s := p.s[start:j]
			if !ascii && !utf8.ValidString(s) {
				return "", false // encoding/json replaces invalid bytes
			}
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// number parses a JSON number (RFC 8259 grammar) as a json.Number.
func (p *treeParser) number() (any, bool) {
	s, start := p.s, p.i
	i := start
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		digits()
	default:
		return nil, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	p.i = i
	return json.Number(s[start:i]), true
}

// internedStrings are string values Map emits in every resource, boxed
// once (immutable, like the regexps): decodeTree returns these interface
// values instead of boxing a new copy of the string each time.
var internedStrings = sync.OnceValue(func() map[string]any {
	m := map[string]any{}
	for _, s := range []string{
		"ResearchStudy", "ResearchSubject", "Patient", "Organization", "Location",
		ProfileNationalStudy, ProfileSiteStudy, ProfileSubject,
		SystemNCT, SystemEUCT, SystemFINESS, SystemIDRCB, SystemEudraCT, SystemSponsorCode, SystemSponsorKey, SystemPseudonym,
		SystemPhase, CodeSystemCategory, CodeSystemMilestone, CodeSystemSponsorType, CodeSystemSiteRole, SystemR5PartyRole,
		SystemR5PartyOrgType, SystemECLAIRERegulation, ExtRecruitment, ExtProgressStatus, ExtAssociatedParty,
		ExtInternational, ExtTargetFrance, ExtSiteRole,
		subExtTargetNumber, subExtActualNumber, subExtState, subExtActual, subExtPeriod, subExtPartyName, subExtPartyRole,
		subExtPartyClassifier, subExtPartyParty, r5PartyRoleLeadSponsor, "JARDE", "REG536",
	} {
		m[s] = s
	}
	for _, codes := range [][]string{researchStudyStatusCodes, researchSubjectStatusCodes, phaseCodes} {
		for _, s := range codes {
			m[s] = s
		}
	}
	return m
})
