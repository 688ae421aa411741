package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const samples = "../../mapping/testdata/samples"

// exitCode is the code main exits with for err (0 for nil).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) {
		t.Fatalf("error without exit code: %v", err)
	}
	return ee.ExitCode()
}

func runStdin(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestValidateCommand(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	okSubject := `{"resourceType":"ResearchSubject","id":"sj-1","status":"on-study","study":{"reference":"ResearchStudy/ss-1"},"individual":{"identifier":{"system":"https://fr-it4ct.github.io/fhir/sid/subject-pseudonym","value":"k1.00"}}}`
	nd := write("two.ndjson", okSubject+"\n\n"+strings.Replace(okSubject, `"on-study"`, `"active"`, 1)+"\n")
	notJSON := write("bad.json", "{not json")
	bundle := write("bundle.json", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p"}},{"resource":`+strings.Replace(okSubject, `"sj-1"`, `"sj-2"`, 1)+`}]}`)
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		lines []string // each must appear in the output
		not   []string // none may appear
	}{
		{"ibm minimal is valid R4", "", []string{"validate", samples + "/ibm-minimal-ResearchStudy-1.json"}, 0,
			[]string{"1 resource(s) checked: 0 error(s), 0 warning(s)"}, nil},
		{"profile forced", "", []string{"validate", "--profile", "national", samples + "/ibm-minimal-ResearchStudy-1.json"}, 1,
			[]string{samples + "/ibm-minimal-ResearchStudy-1.json ResearchStudy ResearchStudy.status: error: status has no code"}, nil},
		{"fake study rejected", "", []string{"validate", samples + "/ResearchStudy-fake-study-example.json"}, 1,
			[]string{"ResearchStudy/fake-study-example ResearchStudy.extension[6].extension[0].url: error: \"value\" is not a sub-extension",
				"ResearchStudy/fake-study-example ResearchStudy.identifier[0].system: warning: identifier has no system"}, nil},
		{"directory", "", []string{"validate", samples}, 1,
			[]string{"6 resource(s) checked: 13 error(s), 5 warning(s)", "ResearchStudyFactoryJARDE.snap.json ResearchStudy/2021-A01022-39 ResearchStudy.referenceContents: error:"}, nil},
		{"quiet", "", []string{"validate", "--quiet", samples + "/ResearchStudy-fake-study-example.json"}, 1,
			[]string{"ResearchStudy.extension[7].extension[3].value[x]: error:"}, []string{"warning", "checked"}},
		{"ndjson lines", "", []string{"validate", nd}, 1,
			[]string{nd + ":3 ResearchSubject/sj-1 ResearchSubject.status: error:", "2 resource(s) checked: 1 error(s)"}, []string{nd + ":1 "}},
		{"bundle", "", []string{"validate", bundle}, 0,
			[]string{bundle + " Patient/p Bundle.entry[0].resource.resourceType: information: resource type \"Patient\" is not checked"}, nil},
		{"stdin", okSubject, []string{"validate", "-"}, 0, []string{"1 resource(s) checked: 0 error(s)"}, nil},
		{"stdin ndjson", okSubject + "\n" + okSubject + "\n", []string{"validate", "-"}, 0, []string{"2 resource(s) checked"}, nil},
		{"not json", "", []string{"validate", notJSON}, 2, nil, nil},
		{"missing file", "", []string{"validate", filepath.Join(tmp, "nope.json")}, 2, nil, nil},
		{"no argument", "", []string{"validate"}, 2, nil, nil},
		{"bad format", "", []string{"validate", "--format", "xml", nd}, 2, nil, nil},
		{"bad profile", "", []string{"validate", "--profile", "patient", nd}, 2, nil, nil},
		{"unknown flag", "", []string{"validate", "--nope", nd}, 2, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runStdin(t, c.stdin, c.args...)
			if got := exitCode(t, err); got != c.code {
				t.Fatalf("exit %d, want %d (err %v)\n%s", got, c.code, err, out)
			}
			for _, l := range c.lines {
				if !strings.Contains(out, l) {
					t.Errorf("output lacks %q:\n%s", l, out)
				}
			}
			for _, l := range c.not {
				if strings.Contains(out, l) {
					t.Errorf("output has %q:\n%s", l, out)
				}
			}
		})
	}
}

func TestValidateCommandJSON(t *testing.T) {
	out, err := run(t, "validate", "--format", "json", samples+"/ResearchStudy-fake-study-example.json", samples+"/ibm-minimal-ResearchSubject-1.json")
	if c := exitCode(t, err); c != 1 {
		t.Fatalf("exit %d, want 1", c)
	}
	var b struct {
		ResourceType, Type string
		Entry              []struct {
			Resource struct {
				ResourceType string
				Issue        []struct {
					Severity, Code, Diagnostics string
					Expression                  []string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &b); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if b.ResourceType != "Bundle" || b.Type != "collection" || len(b.Entry) != 2 {
		t.Fatalf("bundle: %+v", b)
	}
	fake := b.Entry[0].Resource
	if fake.ResourceType != "OperationOutcome" || len(fake.Issue) != 9 {
		t.Fatalf("fake study outcome: %+v", fake)
	}
	if is := fake.Issue[0]; is.Code != "informational" || !strings.HasSuffix(is.Diagnostics, "ResearchStudy-fake-study-example.json ResearchStudy/fake-study-example") {
		t.Errorf("source issue: %+v", is)
	}
	if is := fake.Issue[1]; is.Severity != "error" || is.Code != "extension" || len(is.Expression) != 1 || is.Expression[0] != "ResearchStudy.extension[6].extension[0].url" {
		t.Errorf("first issue: %+v", is)
	}
	if n := len(b.Entry[1].Resource.Issue); n != 1 {
		t.Errorf("minimal subject: %d issues, want only the source one", n)
	}
}
