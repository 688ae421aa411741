// Package fhirjs runs the independent FHIR.js validator (npm package
// `fhir`, through tools/node/validate-fhir.mjs) from Go tests. It is a test
// helper: it takes a testing.TB and skips the test when node or the npm
// package is missing, or fails it when IT4CT_INTEROP=1 (what `make test`
// sets after installing them).
package fhirjs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Message is one issue FHIR.js reports.
type Message struct {
	Severity string `json:"severity"`
	Location string `json:"location"`
	Message  string `json:"message"`
}

func (m Message) String() string { return fmt.Sprintf("%s %s: %s", m.Severity, m.Location, m.Message) }

// Result is FHIR.js's verdict on one resource.
type Result struct {
	ID       string    `json:"id"`
	Valid    bool      `json:"valid"`
	Messages []Message `json:"messages"`
}

// Need skips the test (or fails it under IT4CT_INTEROP=1) when ok is false.
func Need(t testing.TB, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("IT4CT_INTEROP") == "1" {
		t.Fatalf("%s is missing and IT4CT_INTEROP=1", what)
	}
	t.Skipf("%s is missing; install it (make test does) or set IT4CT_INTEROP=1 to make this a failure", what)
}

// Root is the repository root, found from this file's location.
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("fhirjs: cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Tools returns the node binary and the repository root, or skips/fails.
func Tools(t testing.TB) (node, root string) {
	t.Helper()
	node, err := exec.LookPath("node")
	Need(t, "node", err == nil)
	root = Root(t)
	_, err = os.Stat(filepath.Join(root, "tools", "node", "node_modules", "fhir", "package.json"))
	Need(t, "npm package fhir in tools/node/node_modules (npm ci --prefix tools/node)", err == nil)
	return node, root
}

// Validate runs FHIR.js on each document (one FHIR JSON resource each) and
// returns one result per document, in order, with the script's exit code
// (0 all valid, 1 some invalid).
func Validate(t testing.TB, docs [][]byte) ([]Result, int) {
	t.Helper()
	node, root := Tools(t)
	var in bytes.Buffer
	for _, d := range docs {
		if err := json.Compact(&in, d); err != nil {
			t.Fatalf("fhirjs: document is not JSON: %v", err)
		}
		in.WriteByte('\n')
	}
	f := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(f, in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(root, "tools", "node", "validate-fhir.mjs"), f)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() > 1 {
			t.Fatalf("validate-fhir.mjs: %v: %s", err, stderr.String())
		}
		code = ee.ExitCode()
	}
	var res []Result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("validate-fhir.mjs: bad output line %q: %v", sc.Text(), err)
		}
		res = append(res, r)
	}
	if len(res) != len(docs) {
		t.Fatalf("validate-fhir.mjs printed %d results for %d resources; stderr: %s", len(res), len(docs), stderr.String())
	}
	return res, code
}
