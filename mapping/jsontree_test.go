package mapping

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stdTree decodes as ValidateWith's slow path does.
func stdTree(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, false
	}
	m, ok := doc.(map[string]any)
	return m, ok
}

func TestDecodeTree(t *testing.T) {
	cases := []struct {
		in   string
		fast bool // decodeTree handles it itself
	}{
		{`{}`, true},
		{" \t\r\n{\"a\" : [ 1 , -0.5e+3, true, false, null, {}, [], \"é\" ] } \n", true},
		{`{"a":1,"a":2}`, true},
		{`{"a":"x\"y"}`, false},     // escape: slow path
		{`{"a":"\u00e9"}`, false},   // escape: slow path
		{"{\"a\":\"\xff\"}", false}, // invalid UTF-8: encoding/json replaces it
		{"{\"a\":\"\x01\"}", false}, // control character: invalid
		{`{"a":01}`, false},         // invalid number
		{`{"a":1.}`, false},         // invalid number
		{`{"a":-}`, false},          // invalid number
		{`{"a":tru}`, false},        // invalid literal
		{`{"a":1,}`, false},         // trailing comma
		{`{"a":1}{}`, false},        // trailing data
		{`{"a":1}]`, false},         // trailing delimiter (Decoder.More says no more)
		{`[1]`, false},              // not an object
		{`{"a":[1,2}`, false},       // unbalanced
		{`{"a" 1}`, false},          // missing colon
		{"\ufeff{}", false},         // BOM
	}
	for _, c := range cases {
		got, ok := decodeTree([]byte(c.in))
		if ok != c.fast {
			t.Errorf("decodeTree(%q) ok = %v, want %v", c.in, ok, c.fast)
			continue
		}
		if ok {
			want, wok := stdTree([]byte(c.in))
			if !wok {
				t.Errorf("decodeTree(%q) accepted what encoding/json refuses", c.in)
			} else if d := cmp.Diff(want, got); d != "" {
				t.Errorf("decodeTree(%q) differs from encoding/json (-want +got):\n%s", c.in, d)
			}
		}
	}
}

// FuzzDecodeTree: whenever decodeTree accepts a document, encoding/json
// accepts it too and gives the same tree.
func FuzzDecodeTree(f *testing.F) {
	addSeeds(f)
	for _, b := range goldenOutputsF(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"a":[1,-0.5e+3,true,false,null,{},[],"é"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := decodeTree(b)
		if !ok {
			return
		}
		want, wok := stdTree(b)
		if !wok {
			t.Fatalf("decodeTree accepted %q, encoding/json refuses it", b)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("tree differs (-want +got):\n%s", d)
		}
	})
}
