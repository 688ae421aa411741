package conformance

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuildIndexRejects(t *testing.T) {
	cs := func(id, url, version string) string {
		return `{"resourceType":"CodeSystem","id":"` + id + `","url":"` + url + `","version":"` + version + `","name":"N` + id + `","concept":[{"code":"a"}]}`
	}
	vs := func(id, include string) string {
		return `{"resourceType":"ValueSet","id":"` + id + `","url":"u:vs-` + id + `","version":"` + Version + `","name":"V` + id + `","compose":{"include":[` + include + `]}}`
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty", map[string]string{}, "no resource"},
		{"bad JSON", map[string]string{"resources/CodeSystem-a.json": `{`}, "parse resources/CodeSystem-a.json"},
		{"file name", map[string]string{"resources/x.json": cs("a", "u:a", Version)}, "name the file CodeSystem-a.json"},
		{"version", map[string]string{"resources/CodeSystem-a.json": cs("a", "u:a", "9.9.9")}, `version "9.9.9"`},
		{"no url", map[string]string{"resources/CodeSystem-a.json": cs("a", "", Version)}, "no canonical url"},
		{"duplicate url", map[string]string{
			"resources/CodeSystem-a.json": cs("a", "u:same", Version),
			"resources/CodeSystem-b.json": cs("b", "u:same", Version),
		}, "url u:same is used by both"},
		{"unknown system", map[string]string{"resources/ValueSet-v.json": vs("v", `{"system":"u:nowhere"}`)}, "cannot expand unknown code system u:nowhere"},
		{"unknown code", map[string]string{
			"resources/CodeSystem-a.json": cs("a", "u:a", Version),
			"resources/ValueSet-v.json":   vs("v", `{"system":"u:a","concept":[{"code":"zz"}]}`),
		}, `code "zz" is not in u:a`},
		{"filter", map[string]string{"resources/ValueSet-v.json": vs("v", `{"system":"u:a","filter":[{}]}`)}, "only includes of a system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fstest.MapFS{}
			for k, v := range tt.files {
				m[k] = &fstest.MapFile{Data: []byte(v)}
			}
			_, err := buildIndex(m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("buildIndex: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestBuildIndexExpands(t *testing.T) {
	m := fstest.MapFS{
		"resources/CodeSystem-a.json": {Data: []byte(`{"resourceType":"CodeSystem","id":"a","url":"u:a","version":"` + Version + `","name":"A","concept":[{"code":"x","concept":[{"code":"y"}]}]}`)},
		"resources/ValueSet-v.json":   {Data: []byte(`{"resourceType":"ValueSet","id":"v","url":"u:v","version":"` + Version + `","name":"V","compose":{"include":[{"system":"u:a"},{"system":"http://hl7.org/fhir/research-subject-status","concept":[{"code":"on-study"}]}]}}`)},
	}
	ix, err := buildIndex(m)
	if err != nil {
		t.Fatal(err)
	}
	got := ix.valueSets["u:v"]
	if strings.Join(got["u:a"], ",") != "x,y" || strings.Join(got["http://hl7.org/fhir/research-subject-status"], ",") != "on-study" {
		t.Errorf("expansion %v", got)
	}
}
