package server

import (
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTokens(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []token
		wantErr string
	}{
		{in: "NCT09990001", want: []token{{value: "NCT09990001"}}},
		{in: "https://clinicaltrials.gov/nctid|NCT09990001", want: []token{{system: "https://clinicaltrials.gov/nctid", value: "NCT09990001"}}},
		{in: "|LOCAL-1", want: []token{{value: "LOCAL-1", noSystem: true}}},
		{in: "a|1,b|2,3", want: []token{{system: "a", value: "1"}, {system: "b", value: "2"}, {value: "3"}}},
		{in: `a\|b`, want: []token{{value: "a|b"}}},
		{in: `s|x\,y`, want: []token{{system: "s", value: "x,y"}}},
		{in: `s\\|v`, want: []token{{system: `s\`, value: "v"}}},
		{in: `urn:x\$y|v`, want: []token{{system: "urn:x$y", value: "v"}}},
		{in: "s|", wantErr: `empty identifier value in "s|"; a search by system alone (system|) is not supported: use system|value`},
		{in: "a,", wantErr: `empty identifier value in ""; a search by system alone (system|) is not supported: use system|value`},
		{in: "a|b|c", wantErr: `more than one unescaped "|" in "a|b|c"; use system|value, |value or value (escape a literal | as \|)`},
	} {
		got, err := parseTokens(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("parseTokens(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTokens(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(token{})); diff != "" {
			t.Errorf("parseTokens(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		query  string
		accept []string
		want   string // "" = not acceptable
	}{
		{want: fhirJSON},
		{accept: []string{"application/fhir+json"}, want: fhirJSON},
		{accept: []string{"application/json+fhir"}, want: fhirJSON},
		{accept: []string{"application/json"}, want: plainJSON},
		{accept: []string{"application/json, application/fhir+json"}, want: fhirJSON},
		{accept: []string{"application/json;q=1, application/fhir+json;q=0.5"}, want: plainJSON},
		{accept: []string{"application/fhir+json; fhirVersion=4.0"}, want: fhirJSON},
		{accept: []string{"application/fhir+json; fhirVersion=5.0", "application/json"}, want: plainJSON},
		{accept: []string{"*/*"}, want: fhirJSON},
		{accept: []string{"application/*;q=0.2, text/html"}, want: fhirJSON},
		{accept: []string{"application/fhir+xml"}},
		{accept: []string{"application/fhir+json;q=0"}},
		{accept: []string{"application/fhir+json;q=abc"}},
		{accept: []string{"garbage;;"}},
		{query: "_format=json", accept: []string{"application/xml"}, want: fhirJSON},
		{query: "_format=application/json", want: plainJSON},
		{query: "_format=application%2Ffhir%2Bjson", want: fhirJSON},
		{query: "_format=application/fhir+json", want: fhirJSON},
		{query: "_format=xml", accept: []string{"application/fhir+json"}},
		{query: "_format=", want: ""},
	} {
		r := httptest.NewRequest("GET", "/fhir/metadata?"+tc.query, nil)
		for _, a := range tc.accept {
			r.Header.Add("Accept", a)
		}
		got, ok := negotiate(r)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("negotiate(%q, %q) = %q, %v; want %q", tc.query, tc.accept, got, ok, tc.want)
		}
	}
}

func TestPreferLenient(t *testing.T) {
	for _, tc := range []struct {
		prefer []string
		want   bool
	}{
		{nil, false},
		{[]string{"handling=lenient"}, true},
		{[]string{"return=minimal, handling=lenient"}, true},
		{[]string{"return=minimal", "Handling = \"Lenient\""}, true},
		{[]string{"handling=strict"}, false},
		{[]string{"lenient"}, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		for _, p := range tc.prefer {
			r.Header.Add("Prefer", p)
		}
		if got := preferLenient(r); got != tc.want {
			t.Errorf("preferLenient(%q) = %v, want %v", tc.prefer, got, tc.want)
		}
	}
}

func TestStudyReference(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ResearchStudy/abc-1.2", "abc-1.2"},
		{"abc", "abc"},
		{"Patient/abc", ""},
		{"ResearchStudy/", ""},
		{"ResearchStudy/a/b", ""},
		{"", ""},
	} {
		got, err := studyReference(tc.in)
		if (err == nil) != (tc.want != "") || got != tc.want {
			t.Errorf("studyReference(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
