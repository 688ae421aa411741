package mapping

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MinKeyBytes is the minimum pseudonym key length, after decoding.
const MinKeyBytes = 32

var keyIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)

// PseudonymKey is an establishment's secret HMAC key for subject pseudonyms,
// with a public key id. It redacts itself in fmt, %#v and slog output; errors
// that concern it never show its bytes.
type PseudonymKey struct {
	id     string
	secret []byte
}

// NewPseudonymKey builds a key. id is public (it prefixes every pseudonym, so
// that a key rotation is visible): 1-20 characters of [a-z0-9-], starting with
// a letter or digit. secret must hold at least MinKeyBytes bytes.
func NewPseudonymKey(id string, secret []byte) (PseudonymKey, error) {
	if !keyIDRe.MatchString(id) {
		return PseudonymKey{}, fmt.Errorf("pseudonym key id %q: want 1-20 characters of a-z, 0-9, '-'", id)
	}
	if len(secret) < MinKeyBytes {
		return PseudonymKey{}, fmt.Errorf("pseudonym key %q: %d bytes, want at least %d (generate one with: openssl rand -hex 32)", id, len(secret), MinKeyBytes)
	}
	return PseudonymKey{id: id, secret: append([]byte(nil), secret...)}, nil
}

// LoadPseudonymKey reads the secret from a file or from an environment
// variable: exactly one of file and envVar must be set. The content (trimmed
// of surrounding white space) is decoded as hex if it is entirely hex, else as
// standard or URL base64 (padded or not) if it decodes as such, else taken as
// raw bytes; it must give at least MinKeyBytes bytes.
func LoadPseudonymKey(id, file, envVar string) (PseudonymKey, error) {
	var raw []byte
	switch {
	case file != "" && envVar != "":
		return PseudonymKey{}, fmt.Errorf("pseudonym key %q: set either a key file or an environment variable, not both", id)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // keep the cause, the path is added below
			}
			return PseudonymKey{}, fmt.Errorf("pseudonym key %q: read key file %s: %w", id, file, err)
		}
		raw = b
	case envVar != "":
		v, ok := os.LookupEnv(envVar)
		if !ok || strings.TrimSpace(v) == "" {
			return PseudonymKey{}, fmt.Errorf("pseudonym key %q: environment variable %s is not set or empty", id, envVar)
		}
		raw = []byte(v)
	default:
		return PseudonymKey{}, fmt.Errorf("pseudonym key %q: no key file or environment variable configured", id)
	}
	k, err := NewPseudonymKey(id, decodeSecret(raw))
	if err != nil {
		return PseudonymKey{}, err
	}
	return k, nil
}

func decodeSecret(raw []byte) []byte {
	s := strings.TrimSpace(string(raw))
	if len(s)%2 == 0 && len(s) > 0 {
		if b, err := hex.DecodeString(s); err == nil {
			return b
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return b
		}
	}
	return []byte(s)
}

// ID returns the public key id.
func (k PseudonymKey) ID() string { return k.id }

// IsZero reports whether the key is unset.
func (k PseudonymKey) IsZero() bool { return len(k.secret) == 0 }

func (k PseudonymKey) String() string   { return "PseudonymKey(" + k.id + ", [REDACTED])" }
func (k PseudonymKey) GoString() string { return k.String() }

// LogValue implements slog.LogValuer.
func (k PseudonymKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.id), slog.String("secret", "[REDACTED]"))
}

// Format makes every fmt verb (%v, %+v, %s, %x, %q, %#v) print the redacted form.
func (k PseudonymKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// pseudonymDomain separates pseudonym HMAC inputs from any other use of the key.
const pseudonymDomain = "it4ct/pseudonym/v1"

// Pseudonym returns the keyed pseudonym of a local subject id within a study:
//
//	"<key id>." + hex(first 16 bytes of HMAC-SHA-256(key, "it4ct/pseudonym/v1" 0x00 studyKey 0x00 NormaliseLocalID(localSubjectID)))
//
// 16 bytes (128 bits) make collisions negligible at national scale (5 million
// subjects: probability ~1e-26) while keeping identifiers short; the key id
// prefix makes a rotation visible instead of silently producing unrelated
// values. The study key (the national study id in Map) makes the pseudonyms of
// one patient in two studies unlinkable. Without the key the value cannot be
// recomputed from a guessed local id, unlike a plain hash.
func (k PseudonymKey) Pseudonym(studyKey, localSubjectID string) string {
	return k.newPseudonymer().pseudonym(studyKey, localSubjectID)
}

// pseudonymer computes the pseudonyms of one key with a reusable HMAC and
// scratch buffers. Not safe for concurrent use: Mapper keeps them in a
// sync.Pool.
type pseudonymer struct {
	id  string
	mac hash.Hash // HMAC-SHA-256 keyed with the secret; Reset before use
	in  []byte
	sum []byte
}

func (k PseudonymKey) newPseudonymer() *pseudonymer {
	return &pseudonymer{id: k.id, mac: hmac.New(sha256.New, k.secret), in: make([]byte, 0, 128), sum: make([]byte, 0, sha256.Size)}
}

func (p *pseudonymer) pseudonym(studyKey, localSubjectID string) string {
	in := append(p.in[:0], pseudonymDomain...)
	in = append(in, 0)
	in = append(in, studyKey...)
	in = append(in, 0)
	in = append(in, NormaliseLocalID(localSubjectID)...)
	p.in = in
	p.mac.Reset()
	p.mac.Write(in)
	p.sum = p.mac.Sum(p.sum[:0])
	var out [20 + 1 + 32]byte // key id (≤ 20) "." hex(16 bytes)
	b := append(out[:0], p.id...)
	b = append(b, '.')
	b = hex.AppendEncode(b, p.sum[:16])
	return string(b)
}

// NormaliseLocalID normalises a local subject id so that trivial differences
// between exports do not change the pseudonym: Unicode NFC, surrounding white
// space trimmed, every run of white space collapsed to one ASCII space, and
// upper-cased ("  ab\u00a0 01 " and "AB 01" give the same value).
func NormaliseLocalID(s string) string {
	if n, ok := normaliseASCII(s); ok {
		return n
	}
	s = norm.NFC.String(s)
	var b strings.Builder
	space := false
	for _, r := range strings.TrimFunc(s, unicode.IsSpace) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return norm.NFC.String(b.String())
}

// normaliseASCII is NormaliseLocalID for ASCII input (NFC leaves ASCII
// alone; ASCII white space for unicode.IsSpace is \t \n \v \f \r and
// space); ok is false for other input. It returns s itself when s is
// already normalised.
func normaliseASCII(s string) (string, bool) {
	clean := true // s is already normalised
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			return "", false
		case asciiSpace(c):
			if prevSpace || c != ' ' {
				clean = false
			}
			prevSpace = true
		case 'a' <= c && c <= 'z':
			clean = false
			prevSpace = false
		default:
			prevSpace = false
		}
	}
	if prevSpace && len(s) > 0 {
		clean = false // trailing space
	}
	if clean {
		return s, true
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if asciiSpace(c) {
			space = len(b) > 0
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b), true
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
