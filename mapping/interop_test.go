package mapping

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// repoRoot walks up from the package directory to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// needTool skips (or fails under IT4CT_INTEROP=1) when a tool is missing.
func needTool(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("IT4CT_INTEROP") == "1" {
		t.Fatalf("%s is missing and IT4CT_INTEROP=1", what)
	}
	t.Skipf("%s is missing; install it (make test does) or set IT4CT_INTEROP=1 to make this a failure", what)
}

type fhirJSResult struct {
	ID       string            `json:"id"`
	Valid    bool              `json:"valid"`
	Messages []json.RawMessage `json:"messages"`
}

// runFHIRJS runs tools/node/validate-fhir.mjs on NDJSON lines.
func runFHIRJS(t *testing.T, lines [][]byte) ([]fhirJSResult, int) {
	t.Helper()
	node, err := exec.LookPath("node")
	needTool(t, "node", err == nil)
	root := repoRoot(t)
	script := filepath.Join(root, "tools", "node", "validate-fhir.mjs")
	_, err = os.Stat(filepath.Join(root, "tools", "node", "node_modules", "fhir", "package.json"))
	needTool(t, "npm package fhir in tools/node/node_modules (npm ci --prefix tools/node)", err == nil)

	in := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(in, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s: %v", script, err)
		}
		code = ee.ExitCode()
	}
	if code > 1 {
		t.Fatalf("validate-fhir.mjs exit %d: %s", code, stderr.String())
	}
	var res []fhirJSResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r fhirJSResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad output line %q: %v", sc.Text(), err)
		}
		res = append(res, r)
	}
	if len(res) != len(lines) {
		t.Fatalf("validate-fhir.mjs printed %d results for %d resources; stderr: %s", len(res), len(lines), stderr.String())
	}
	return res, code
}

// TestFHIRJSAcceptsGoldenOutputs checks every golden resource with FHIR.js,
// an independent R4 validator (errorOnUnexpected: R5 elements are errors).
func TestFHIRJSAcceptsGoldenOutputs(t *testing.T) {
	outs := goldenOutputs(t)
	names := make([]string, 0, len(outs))
	for n := range outs {
		names = append(names, n)
	}
	sort.Strings(names)
	var lines [][]byte
	for _, n := range names {
		lines = append(lines, outs[n])
	}
	res, code := runFHIRJS(t, lines)
	for i, r := range res {
		if !r.Valid {
			t.Errorf("%s: FHIR.js says invalid: %s", names[i], r.Messages)
		}
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// TestFHIRJSRejects proves the interop check can fail: FHIR.js must reject
// a resource without status and one with an unknown status code.
func TestFHIRJSRejects(t *testing.T) {
	outs := goldenOutputs(t)
	var study []byte
	for n, b := range outs {
		if strings.Contains(n, "study-full") {
			study = b
		}
	}
	if study == nil {
		t.Fatal("golden study-full output not found")
	}
	mutate := func(f func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(study, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	cases := [][]byte{
		mutate(func(m map[string]any) { delete(m, "status") }),
		mutate(func(m map[string]any) { m["status"] = "recruiting" }),
		mutate(func(m map[string]any) { m["recruitment"] = map[string]any{"targetNumber": 3} }), // R5 element in R4
	}
	res, code := runFHIRJS(t, cases)
	for i, r := range res {
		if r.Valid {
			t.Errorf("case %d: FHIR.js accepted an invalid resource", i)
		}
		// our own validator agrees
		if !HasErrors(Validate(cases[i])) {
			t.Errorf("case %d: Validate accepted an invalid resource", i)
		}
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}
