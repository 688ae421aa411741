package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fr-it4ct/it4ct/server"
)

// nodeTools returns the node binary and the tools/node directory, or skips
// the test when they are missing, unless IT4CT_INTEROP=1 (then it fails).
func nodeTools(t *testing.T, packages ...string) (node, dir string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("IT4CT_INTEROP") == "1" {
			t.Fatalf(format+" (IT4CT_INTEROP=1: interop tools are required; run npm ci --prefix tools/node)", args...)
		}
		t.Skipf(format+" (install node and run npm ci --prefix tools/node to run this test)", args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found: %v", err)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(root, "tools", "node")
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			missing("npm package %s not installed in %s", p, dir)
		}
	}
	return node, dir
}

// repoRoot walks up from the working directory to go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

type clientSummary struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
	StudiesFound  []string `json:"studiesFound"`
	SubjectsFound int      `json:"subjectsFound"`
	Software      struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"software"`
}

// runClientCheck runs tools/node/fhir-client-check.mjs and decodes its
// summary; exit is the process exit code.
func runClientCheck(t *testing.T, node, dir string, args ...string) (sum clientSummary, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, "fhir-client-check.mjs")}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		exit = exitErr.ExitCode()
	default:
		t.Fatalf("run node: %v; stderr: %s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("client check summary is not JSON (%v); exit %d; stdout %s; stderr %s", err, exit, stdout.String(), stderr.String())
	}
	return sum, exit
}

// TestFHIRKitClient drives the server with an independent FHIR client.
func TestFHIRKitClient(t *testing.T) {
	node, dir := nodeTools(t, "fhir-kit-client")
	// No BaseURL: links are built from the request host, which the client
	// must then find consistent with the base URL it was given.
	ts := httptest.NewServer(server.New(newFakeBackend(t), server.Options{Version: "9.9.9-interop"}))
	t.Cleanup(ts.Close)
	base := ts.URL + "/fhir"

	t.Run("pass", func(t *testing.T) {
		sum, exit := runClientCheck(t, node, dir, base, site1, nctSys+"|NCT09990001", "2")
		if exit != 0 || !sum.OK {
			t.Errorf("exit %d ok %v, want 0 true: %+v", exit, sum.OK, sum.Checks)
		}
		got := map[string]bool{}
		for _, c := range sum.Checks {
			got[c.Name] = c.OK
			if !c.OK {
				t.Errorf("check %s failed: %s", c.Name, c.Detail)
			}
		}
		for _, name := range []string{"metadata", "read-study", "search-study-by-identifier", "search-subjects-by-study", "read-subject", "read-absent-study"} {
			if _, ran := got[name]; !ran {
				t.Errorf("check %s did not run", name)
			}
		}
		if sum.Software.Version != "9.9.9-interop" {
			t.Errorf("software version seen by the client = %q", sum.Software.Version)
		}
		if strings.Join(sum.StudiesFound, ",") != study1+","+site1 || sum.SubjectsFound != 2 {
			t.Errorf("client found studies %v and %d subjects, want [%s %s] and 2", sum.StudiesFound, sum.SubjectsFound, study1, site1)
		}
	})

	// The script must be able to fail: an absent study and a wrong count.
	t.Run("fail", func(t *testing.T) {
		sum, exit := runClientCheck(t, node, dir, base, "0000000000000000", "NCT09990001", "5")
		if exit != 1 || sum.OK {
			t.Fatalf("exit %d ok %v, want 1 false", exit, sum.OK)
		}
		failed := map[string]bool{}
		for _, c := range sum.Checks {
			if !c.OK {
				failed[c.Name] = true
			}
		}
		for _, name := range []string{"read-study", "search-study-by-identifier", "search-subjects-by-study"} {
			if !failed[name] {
				t.Errorf("check %s passed, want a failure", name)
			}
		}
		if failed["metadata"] || failed["read-absent-study"] {
			t.Errorf("unexpected failures: %v", failed)
		}
	})
}

// validateScript validates each resource of a JSON array read on stdin with
// FHIR.js and prints [{valid, messages}] (errors and fatals only).
const validateScript = `
const { Fhir } = require('fhir');
const fhir = new Fhir();
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((r) => {
    const res = fhir.validate(r, { errorOnUnexpected: true });
    return { valid: res.valid, messages: res.messages.filter((m) => m.severity === 'error' || m.severity === 'fatal') };
  });
  process.stdout.write(JSON.stringify(out));
});
`

// TestFHIRJSValidation validates what the server emits (CapabilityStatement,
// Bundles, OperationOutcomes) and the test resources with FHIR.js.
func TestFHIRJSValidation(t *testing.T) {
	node, dir := nodeTools(t, "fhir")
	fb := newFakeBackend(t)
	h := newTestHandler(t, fb, server.Options{})
	failing := newTestHandler(t, failingBackend{fb}, server.Options{})

	type doc struct {
		name  string
		body  json.RawMessage
		valid bool
	}
	var docs []doc
	add := func(name string, h http.Handler, tc httpCase) {
		rec := serve(h, tc)
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s: not JSON: %s", name, rec.Body)
		}
		docs = append(docs, doc{name, rec.Body.Bytes(), true})
	}
	add("CapabilityStatement", h, httpCase{target: "/fhir/metadata"})
	add("Bundle of studies", h, httpCase{target: "/fhir/ResearchStudy?identifier=NCT09990001"})
	add("empty Bundle", h, httpCase{target: "/fhir/ResearchStudy?identifier=NCT00000000"})
	add("Bundle of subjects", h, httpCase{target: "/fhir/ResearchSubject?study=" + site1})
	add("Bundle with an outcome entry", h, httpCase{target: "/fhir/ResearchStudy?identifier=NCT09990002&x=1", header: map[string]string{"Prefer": "handling=lenient"}})
	add("OperationOutcome 404", h, httpCase{target: "/fhir/ResearchStudy/0000"})
	add("OperationOutcome 400", h, httpCase{target: "/fhir/ResearchStudy?status=active"})
	add("OperationOutcome 405", h, httpCase{method: "PUT", target: "/fhir/ResearchStudy/0000"})
	add("OperationOutcome 406", h, httpCase{target: "/fhir/metadata?_format=xml"})
	add("OperationOutcome 500", failing, httpCase{target: "/fhir/ResearchStudy/" + study1})
	for _, key := range fb.order {
		docs = append(docs, doc{"testdata " + key, fb.resources[key], true})
	}
	// Controls: the validator must reject these.
	docs = append(docs,
		doc{"control: bad issue code", json.RawMessage(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"bogus"}]}`), false},
		doc{"control: study without status", json.RawMessage(`{"resourceType":"ResearchStudy","id":"x"}`), false},
		doc{"control: Bundle with a misspelt element", json.RawMessage(`{"resourceType":"Bundle","type":"searchset","totl":0}`), false},
	)

	bodies := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		bodies[i] = d.body
	}
	in, err := json.Marshal(bodies)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", validateScript)
	cmd.Dir = dir // so that require('fhir') resolves to tools/node/node_modules
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node FHIR.js: %v; stderr: %s", err, stderr.String())
	}
	var results []struct {
		Valid    bool              `json:"valid"`
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("FHIR.js output: %v: %s", err, stdout.String())
	}
	if len(results) != len(docs) {
		t.Fatalf("%d results for %d documents", len(results), len(docs))
	}
	for i, d := range docs {
		if results[i].Valid != d.valid {
			t.Errorf("%s: FHIR.js valid=%v, want %v; messages %s", d.name, results[i].Valid, d.valid, results[i].Messages)
		}
	}
}

// failingBackend fails every call.
type failingBackend struct{ *fakeBackend }

func (failingBackend) Resource(ctx context.Context, resourceType, id string) ([]byte, bool, error) {
	return nil, false, errors.New("store down")
}
