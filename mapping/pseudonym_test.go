package mapping

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const secret32 = "0123456789abcdef0123456789abcdef" // 32 raw bytes, fictional

func TestPseudonym(t *testing.T) {
	k1 := testKey(t, "k1", secret32)
	k1b := testKey(t, "k1", secret32+"x") // same id, different secret
	k2 := testKey(t, "k2", secret32)      // same secret, different id
	p := k1.Pseudonym("st-1", "SUB-0042")
	if ok := regexp.MustCompile(`^k1\.[0-9a-f]{32}$`).MatchString(p); !ok {
		t.Fatalf("pseudonym %q: want k1.<32 hex>", p)
	}
	if got := k1.Pseudonym("st-1", "SUB-0042"); got != p {
		t.Errorf("not deterministic: %s vs %s", got, p)
	}
	for name, other := range map[string]string{
		"different secret": k1b.Pseudonym("st-1", "SUB-0042"),
		"different study":  k1.Pseudonym("st-2", "SUB-0042"),
		"different id":     k1.Pseudonym("st-1", "SUB-0043"),
	} {
		if other == p {
			t.Errorf("%s gives the same pseudonym %s", name, p)
		}
	}
	if h1, h2 := strings.SplitN(p, ".", 2)[1], strings.SplitN(k2.Pseudonym("st-1", "SUB-0042"), ".", 2)[1]; h1 != h2 {
		t.Errorf("key id should only prefix the value: %s vs %s", h1, h2)
	}
	// Normalisation: trim, NFC, upper-case, collapsed blanks.
	for _, variant := range []string{" SUB-0042", "sub-0042", "Sub-0042\t", "\u00a0SUB-0042\n"} {
		if got := k1.Pseudonym("st-1", variant); got != p {
			t.Errorf("Pseudonym(%q) = %s, want %s (normalised)", variant, got, p)
		}
	}
	if a, b := k1.Pseudonym("s", "JOSE\u0301 01"), k1.Pseudonym("s", "jos\u00e9   01"); a != b {
		t.Errorf("NFC/case/blank variants differ: %s vs %s", a, b)
	}
	if a, b := k1.Pseudonym("s", "AB 01"), k1.Pseudonym("s", "AB01"); a == b {
		t.Error("blanks are collapsed, not removed: AB 01 and AB01 must differ")
	}
	// Never contains the input, in any case.
	for _, id := range []string{"123456789", "SUB-0042", "k1", "a"} {
		h := strings.SplitN(k1.Pseudonym("st-1", id), ".", 2)[1]
		if strings.Contains(strings.ToUpper(h), strings.ToUpper(id)) && len(id) > 3 {
			t.Errorf("pseudonym of %q contains it: %s", id, h)
		}
	}
}

func TestNormaliseLocalID(t *testing.T) {
	for in, want := range map[string]string{
		"  ab\u00a0 01 ": "AB 01",
		"e\u0301":        "\u00c9",
		"x\t\ny":         "X Y",
		"":               "",
		" \t ":           "",
		"ß":              "ß", // unicode.ToUpper keeps ß (no length change)
		"Ǆ":              "Ǆ",
		"sub-0042":       "SUB-0042",
	} {
		if got := NormaliseLocalID(in); got != want {
			t.Errorf("NormaliseLocalID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewPseudonymKey(t *testing.T) {
	for _, c := range []struct {
		id, secret, err string
	}{
		{"k1", secret32, ""},
		{"k1", secret32[:31], "31 bytes, want at least 32"},
		{"", secret32, "want 1-20 characters"},
		{"K1", secret32, "want 1-20 characters"},
		{"k.1", secret32, "want 1-20 characters"},
	} {
		_, err := NewPseudonymKey(c.id, []byte(c.secret))
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("NewPseudonymKey(%q): err %v, want %q", c.id, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), c.secret) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestLoadPseudonymKey(t *testing.T) {
	raw := []byte("fictional key material, 32+ bytes long!!")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := testKey(t, "k1", string(raw)).Pseudonym("s", "X")
	hexFile := write("hex", hex.EncodeToString(raw)+"\n")
	b64File := write("b64", base64.StdEncoding.EncodeToString(raw))
	rawFile := write("raw", string(raw))
	shortFile := write("short", hex.EncodeToString(raw[:16]))
	t.Setenv("IT4CT_TEST_KEY", base64.RawURLEncoding.EncodeToString(raw))
	t.Setenv("IT4CT_TEST_EMPTY", "")
	for _, c := range []struct {
		name, file, env, err string
	}{
		{"hex file", hexFile, "", ""},
		{"base64 file", b64File, "", ""},
		{"raw file", rawFile, "", ""},
		{"env base64url", "", "IT4CT_TEST_KEY", ""},
		{"short", shortFile, "", "16 bytes, want at least 32"},
		{"both", hexFile, "IT4CT_TEST_KEY", "not both"},
		{"neither", "", "", "no key file or environment variable"},
		{"missing file", filepath.Join(dir, "nope"), "", "no such file"},
		{"empty env", "", "IT4CT_TEST_EMPTY", "not set or empty"},
		{"unset env", "", "IT4CT_TEST_UNSET_XYZ", "not set or empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := LoadPseudonymKey("k1", c.file, c.env)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				for _, leak := range []string{string(raw[:16]), hex.EncodeToString(raw[:16])} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("error shows key material: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Pseudonym("s", "X"); got != want {
				t.Errorf("decoded key differs from the raw key: %s vs %s", got, want)
			}
		})
	}
}

func TestPseudonymKeyRedacted(t *testing.T) {
	k := testKey(t, "k1", secret32)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("key", "key", k)
	outs := []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k), k.String(), k.GoString(), buf.String(),
		fmt.Sprintf("%v", struct{ K PseudonymKey }{k}), fmt.Sprintf("%+v", &k)}
	for _, o := range outs {
		if strings.Contains(o, secret32[:8]) || strings.Contains(o, hex.EncodeToString([]byte(secret32[:8]))) || strings.Contains(o, "48 49 50") {
			t.Errorf("secret leaked: %s", o)
		}
		if !strings.Contains(o, "REDACTED") {
			t.Errorf("no redaction marker in %q", o)
		}
	}
}
