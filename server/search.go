package server

import (
	"errors"
	"strings"
)

// token is one value of a FHIR token search parameter.
type token struct {
	system   string // "" = any system, unless noSystem
	value    string
	noSystem bool // "|value": the identifier must have no system
}

// parseTokens reads a token search value: comma-separated alternatives,
// each "system|value", "|value" or "value", with "\," "\|" "\$" "\\" as
// escapes (FHIR R4 search, "Escaping Search Parameters").
func parseTokens(s string) ([]token, error) {
	var toks []token
	for _, alt := range splitUnescaped(s, ',') {
		parts := splitUnescaped(alt, '|')
		var t token
		switch len(parts) {
		case 1:
			t.value = unescape(parts[0])
		case 2:
			t.system, t.value = unescape(parts[0]), unescape(parts[1])
			t.noSystem = parts[0] == ""
		default:
			return nil, errors.New(`more than one unescaped "|" in ` + strconvQuote(alt) + `; use system|value, |value or value (escape a literal | as \|)`)
		}
		if t.value == "" {
			return nil, errors.New("empty identifier value in " + strconvQuote(alt) + "; a search by system alone (system|) is not supported: use system|value")
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// splitUnescaped splits s on sep where sep is not preceded by a backslash
// escape. Escapes are kept for unescape.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped byte
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
