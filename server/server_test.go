package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fr-it4ct/it4ct/server"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

const testBase = "https://it4ct.example.fr"

// testNow is the injected clock: Bundle meta.lastUpdated and
// CapabilityStatement.date are this instant.
var testNow = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)

func newTestHandler(t *testing.T, b server.Backend, opts server.Options) http.Handler {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	if opts.Version == "" {
		opts.Version = "0.0.0-test"
	}
	if opts.BaseURL == "" {
		opts.BaseURL = testBase
	}
	return server.New(b, opts)
}

const (
	ctFHIR = "application/fhir+json; fhirVersion=4.0"
	ctJSON = "application/json"
)

type httpCase struct {
	name      string
	method    string // default GET
	target    string
	header    map[string]string
	status    int
	ct        string // expected Content-Type
	golden    string // testdata/golden/<golden>.json, if set
	issue     string // expected OperationOutcome.issue[0].code
	total     int    // expected Bundle.total (searches answering 200)
	field     string // expected apiError.field
	entryIDs  []string
	respHead  map[string]string // expected response headers
	bodyEqual string            // exact expected body (small JSON)
}

const (
	study1  = "5f2c9a1e0b7d4c3a" // national, NCT09990001 + EU CT
	study2  = "c0ffee0000000002" // national, NCT09990002 + LOCAL-0002 without system
	site1   = "a41d07c3e9b25f68" // site level of study1, NCT09990001 + LOCAL-0002 with a system
	subj1   = "5b0e1d2c3a4f5001"
	subj2   = "5b0e1d2c3a4f5002"
	subj3   = "5b0e1d2c3a4f5003"
	nctSys  = "https://clinicaltrials.gov/nctid"
	euctSys = "https://euclinicaltrials.eu/clinicalTrialId"
)

func TestGolden(t *testing.T) {
	cases := []httpCase{
		// metadata and content negotiation
		{name: "metadata", target: "/fhir/metadata", status: 200, ct: ctFHIR, golden: "metadata"},
		{name: "metadata _format=json", target: "/fhir/metadata?_format=json", status: 200, ct: ctFHIR},
		{name: "metadata _format=application/fhir+json unescaped plus", target: "/fhir/metadata?_format=application/fhir+json", status: 200, ct: ctFHIR},
		{name: "metadata Accept fhir+json", target: "/fhir/metadata", header: map[string]string{"Accept": "application/fhir+json"}, status: 200, ct: ctFHIR},
		{name: "metadata Accept json", target: "/fhir/metadata", header: map[string]string{"Accept": "application/json"}, status: 200, ct: "application/json; fhirVersion=4.0"},
		{name: "metadata Accept browser", target: "/fhir/metadata", header: map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, status: 200, ct: ctFHIR},
		{name: "metadata Accept xml", target: "/fhir/metadata", header: map[string]string{"Accept": "application/fhir+xml"}, status: 406, ct: ctFHIR, issue: "not-supported", golden: "not-acceptable"},
		{name: "metadata Accept json q=0", target: "/fhir/metadata", header: map[string]string{"Accept": "application/json;q=0, text/plain"}, status: 406, ct: ctFHIR, issue: "not-supported"},
		{name: "metadata Accept fhirVersion 3.0", target: "/fhir/metadata", header: map[string]string{"Accept": "application/fhir+json; fhirVersion=3.0"}, status: 406, ct: ctFHIR, issue: "not-supported"},
		{name: "metadata _format=xml", target: "/fhir/metadata?_format=xml", status: 406, ct: ctFHIR, issue: "not-supported"},
		{name: "metadata POST", method: "POST", target: "/fhir/metadata", status: 405, ct: ctFHIR, issue: "not-supported", golden: "method-not-allowed", respHead: map[string]string{"Allow": "GET, HEAD"}},

		// read
		{name: "read study", target: "/fhir/ResearchStudy/" + study1, status: 200, ct: ctFHIR, golden: "read-study",
			respHead: map[string]string{"ETag": `W/"3"`, "Last-Modified": "Fri, 14 Mar 2025 09:26:53 GMT"}},
		{name: "read subject", target: "/fhir/ResearchSubject/" + subj1, status: 200, ct: ctFHIR, golden: "read-subject"},
		{name: "read study without meta has no ETag", target: "/fhir/ResearchStudy/" + study2, status: 200, ct: ctFHIR, respHead: map[string]string{"ETag": ""}},
		{name: "read unknown study", target: "/fhir/ResearchStudy/0000000000000000", status: 404, ct: ctFHIR, issue: "not-found", golden: "read-not-found"},
		{name: "read subject id as study", target: "/fhir/ResearchStudy/" + subj1, status: 404, ct: ctFHIR, issue: "not-found"},
		{name: "read invalid id", target: "/fhir/ResearchSubject/bad_id", status: 400, ct: ctFHIR, issue: "invalid", golden: "read-invalid-id"},
		{name: "read id too long", target: "/fhir/ResearchStudy/" + strings.Repeat("a", 65), status: 400, ct: ctFHIR, issue: "invalid"},
		{name: "read id with encoded slash", target: "/fhir/ResearchStudy/a%2Fb", status: 400, ct: ctFHIR, issue: "invalid"},
		{name: "read DELETE", method: "DELETE", target: "/fhir/ResearchStudy/" + study1, status: 405, ct: ctFHIR, issue: "not-supported", respHead: map[string]string{"Allow": "GET, HEAD"}},
		{name: "read Accept xml", target: "/fhir/ResearchStudy/" + study1, header: map[string]string{"Accept": "application/xml"}, status: 406, ct: ctFHIR, issue: "not-supported"},

		// ResearchStudy?identifier
		{name: "search study system|value", target: "/fhir/ResearchStudy?identifier=" + nctSys + "|NCT09990001", status: 200, ct: ctFHIR, total: 2, entryIDs: []string{study1, site1}, golden: "search-study-identifier"},
		{name: "search study value any system", target: "/fhir/ResearchStudy?identifier=NCT09990002", status: 200, ct: ctFHIR, total: 1, entryIDs: []string{study2}},
		{name: "search study value in two systems", target: "/fhir/ResearchStudy?identifier=LOCAL-0002", status: 200, ct: ctFHIR, total: 2, entryIDs: []string{site1, study2}},
		{name: "search study |value no system", target: "/fhir/ResearchStudy?identifier=%7CLOCAL-0002", status: 200, ct: ctFHIR, total: 1, entryIDs: []string{study2}},
		{name: "search study wrong system", target: "/fhir/ResearchStudy?identifier=" + euctSys + "|NCT09990001", status: 200, ct: ctFHIR, total: 0, golden: "search-study-empty"},
		{name: "search study OR", target: "/fhir/ResearchStudy?identifier=" + nctSys + "|NCT09990002," + euctSys + "|2024-590001-12-00", status: 200, ct: ctFHIR, total: 2, entryIDs: []string{study2, study1}},
		{name: "search study OR duplicates removed", target: "/fhir/ResearchStudy?identifier=NCT09990001," + euctSys + "|2024-590001-12-00", status: 200, ct: ctFHIR, total: 2, entryIDs: []string{study1, site1}},
		{name: "search study AND", target: "/fhir/ResearchStudy?identifier=NCT09990001&identifier=" + euctSys + "|2024-590001-12-00", status: 200, ct: ctFHIR, total: 1, entryIDs: []string{study1}},
		{name: "search study with _format", target: "/fhir/ResearchStudy?identifier=NCT09990002&_format=json", status: 200, ct: ctFHIR, total: 1, entryIDs: []string{study2}},
		{name: "search study missing identifier", target: "/fhir/ResearchStudy", status: 400, ct: ctFHIR, issue: "required", golden: "search-missing-param"},
		{name: "search study empty identifier", target: "/fhir/ResearchStudy?identifier=", status: 400, ct: ctFHIR, issue: "required"},
		{name: "search study system only", target: "/fhir/ResearchStudy?identifier=" + nctSys + "|", status: 400, ct: ctFHIR, issue: "value"},
		{name: "search study two bars", target: "/fhir/ResearchStudy?identifier=a|b|c", status: 400, ct: ctFHIR, issue: "value"},
		{name: "search study unknown parameter", target: "/fhir/ResearchStudy?identifier=NCT09990002&status=active", status: 400, ct: ctFHIR, issue: "not-supported", golden: "search-unknown-param"},
		{name: "search study modifier", target: "/fhir/ResearchStudy?identifier:text=x", status: 400, ct: ctFHIR, issue: "not-supported"},
		{name: "search study unknown parameter lenient", target: "/fhir/ResearchStudy?identifier=NCT09990002&status=active",
			header: map[string]string{"Prefer": "handling=lenient"}, status: 200, ct: ctFHIR, total: 1, entryIDs: []string{study2}, golden: "search-lenient"},
		{name: "search study POST", method: "POST", target: "/fhir/ResearchStudy", status: 405, ct: ctFHIR, issue: "not-supported"},

		// ResearchSubject?study
		{name: "search subjects by reference", target: "/fhir/ResearchSubject?study=ResearchStudy/" + site1, status: 200, ct: ctFHIR, total: 2, entryIDs: []string{subj1, subj2}, golden: "search-subject-study"},
		{name: "search subjects by id", target: "/fhir/ResearchSubject?study=" + study2, status: 200, ct: ctFHIR, total: 1, entryIDs: []string{subj3}},
		{name: "search subjects OR", target: "/fhir/ResearchSubject?study=" + study2 + ",ResearchStudy/" + site1, status: 200, ct: ctFHIR, total: 3, entryIDs: []string{subj3, subj1, subj2}},
		{name: "search subjects unknown study", target: "/fhir/ResearchSubject?study=ResearchStudy/" + study1, status: 200, ct: ctFHIR, total: 0},
		{name: "search subjects wrong type", target: "/fhir/ResearchSubject?study=Patient/123", status: 400, ct: ctFHIR, issue: "value"},
		{name: "search subjects bad id", target: "/fhir/ResearchSubject?study=ResearchStudy/a_b", status: 400, ct: ctFHIR, issue: "value"},
		{name: "search subjects missing study", target: "/fhir/ResearchSubject?identifier=x", status: 400, ct: ctFHIR, issue: "not-supported"},
		{name: "search subjects no parameter", target: "/fhir/ResearchSubject", status: 400, ct: ctFHIR, issue: "required"},

		// unknown FHIR paths
		{name: "fhir unknown type", target: "/fhir/Patient/1", status: 404, ct: ctFHIR, issue: "not-found", golden: "fhir-unknown-path"},
		{name: "fhir root", target: "/fhir", status: 404, ct: ctFHIR, issue: "not-found"},
		{name: "fhir history", target: "/fhir/ResearchStudy/" + study1 + "/_history/1", status: 404, ct: ctFHIR, issue: "not-found"},

		// indicators (plain JSON)
		{name: "indicators establishment", target: "/api/v1/indicators?year=2024&establishment=990000017", status: 200, ct: ctJSON, bodyEqual: `{"year":2024,"establishment":"990000017"}`},
		{name: "indicators national", target: "/api/v1/indicators?year=2024", status: 200, ct: ctJSON, bodyEqual: `{"year":2024,"establishment":""}`},
		{name: "indicators Corsica", target: "/api/v1/indicators?year=2025&establishment=2A0000017", status: 200, ct: ctJSON, bodyEqual: `{"year":2025,"establishment":"2A0000017"}`},
		{name: "indicators next year", target: "/api/v1/indicators?year=2026", status: 200, ct: ctJSON, bodyEqual: `{"year":2026,"establishment":""}`},
		{name: "indicators year short", target: "/api/v1/indicators?year=24", status: 400, ct: ctJSON, field: "year", golden: "indicators-bad-year"},
		{name: "indicators year signed", target: "/api/v1/indicators?year=+2024", status: 400, ct: ctJSON, field: "year"},
		{name: "indicators year future", target: "/api/v1/indicators?year=2027", status: 400, ct: ctJSON, field: "year"},
		{name: "indicators year past", target: "/api/v1/indicators?year=1999", status: 400, ct: ctJSON, field: "year"},
		{name: "indicators year missing", target: "/api/v1/indicators?establishment=990000017", status: 400, ct: ctJSON, field: "year"},
		{name: "indicators FINESS 8 chars", target: "/api/v1/indicators?year=2024&establishment=99000001", status: 400, ct: ctJSON, field: "establishment", golden: "indicators-bad-finess"},
		{name: "indicators FINESS 10 chars", target: "/api/v1/indicators?year=2024&establishment=9900000170", status: 400, ct: ctJSON, field: "establishment"},
		{name: "indicators FINESS lower-case Corsica", target: "/api/v1/indicators?year=2024&establishment=2a0000017", status: 400, ct: ctJSON, field: "establishment"},
		{name: "indicators FINESS letters", target: "/api/v1/indicators?year=2024&establishment=99000A017", status: 400, ct: ctJSON, field: "establishment"},
		{name: "indicators FINESS empty", target: "/api/v1/indicators?year=2024&establishment=", status: 400, ct: ctJSON, field: "establishment"},
		{name: "indicators unknown parameter", target: "/api/v1/indicators?year=2024&region=11", status: 400, ct: ctJSON, field: "region"},
		{name: "indicators repeated year", target: "/api/v1/indicators?year=2024&year=2025", status: 400, ct: ctJSON, field: "year"},
		{name: "indicators POST", method: "POST", target: "/api/v1/indicators?year=2024", status: 405, ct: ctJSON, respHead: map[string]string{"Allow": "GET, HEAD"}},

		// probes and the rest
		{name: "healthz", target: "/healthz", status: 200, ct: ctJSON, bodyEqual: `{"status":"ok"}`},
		{name: "readyz", target: "/readyz", status: 200, ct: ctJSON, bodyEqual: `{"status":"ready"}`},
		{name: "unknown path", target: "/nope", status: 404, ct: ctJSON},
	}

	fb := newFakeBackend(t)
	fb.indicators = indicatorsEcho{}
	h := newTestHandler(t, echoIndicators{fb}, server.Options{})
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, tc)
			body := rec.Body.Bytes()
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, body)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.ct {
				t.Errorf("Content-Type = %q, want %q", got, tc.ct)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			for k, want := range tc.respHead {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if !json.Valid(body) {
				t.Fatalf("body is not JSON: %q", body)
			}
			if strings.HasPrefix(tc.target, "/fhir") {
				checkFHIRBody(t, tc, body)
			} else if tc.status >= 400 {
				checkAPIError(t, tc, body)
			}
			if tc.bodyEqual != "" && string(body) != tc.bodyEqual {
				t.Errorf("body = %s, want %s", body, tc.bodyEqual)
			}
			if tc.golden != "" {
				if seen[tc.golden] {
					t.Fatalf("golden %s used twice", tc.golden)
				}
				seen[tc.golden] = true
				checkGolden(t, tc.golden, body)
			}
		})
	}
}

// indicatorsEcho marks that the fake should echo its arguments.
type indicatorsEcho struct{}

// echoIndicators answers Indicators with its arguments, so that tests see
// what the handler passed on.
type echoIndicators struct{ *fakeBackend }

func (e echoIndicators) Indicators(ctx contextT, year int, establishment string) (any, error) {
	if _, err := e.fakeBackend.Indicators(ctx, year, establishment); err != nil {
		return nil, err
	}
	return struct {
		Year          int    `json:"year"`
		Establishment string `json:"establishment"`
	}{year, establishment}, nil
}

func serve(h http.Handler, tc httpCase) *httptest.ResponseRecorder {
	method := tc.method
	if method == "" {
		method = http.MethodGet
	}
	req := httptest.NewRequest(method, tc.target, nil)
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var (
	issueSeverities = []string{"fatal", "error", "warning", "information"}
	// R4 IssueType codes.
	issueCodes = []string{"invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule", "conflict", "transient", "lock-lost", "no-store", "exception", "timeout", "incomplete", "throttled", "informational"}
)

type outcomeDoc struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity    string `json:"severity"`
		Code        string `json:"code"`
		Diagnostics string `json:"diagnostics"`
	} `json:"issue"`
}

type bundleDoc struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string `json:"fullUrl"`
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		} `json:"resource"`
		Search struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

// checkOutcome checks the shape of an OperationOutcome and returns it.
func checkOutcome(t *testing.T, body []byte) outcomeDoc {
	t.Helper()
	var oo outcomeDoc
	if err := json.Unmarshal(body, &oo); err != nil {
		t.Fatalf("decode OperationOutcome: %v", err)
	}
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome with issues: %s", body)
	}
	for i, is := range oo.Issue {
		if !contains(issueSeverities, is.Severity) || !contains(issueCodes, is.Code) || is.Diagnostics == "" {
			t.Errorf("issue %d: severity %q code %q diagnostics %q: not a valid R4 issue with diagnostics", i, is.Severity, is.Code, is.Diagnostics)
		}
	}
	return oo
}

func checkFHIRBody(t *testing.T, tc httpCase, body []byte) {
	t.Helper()
	if tc.status >= 400 {
		oo := checkOutcome(t, body)
		if oo.Issue[0].Code != tc.issue {
			t.Errorf("issue code = %q, want %q", oo.Issue[0].Code, tc.issue)
		}
		return
	}
	if tc.issue != "" {
		t.Fatalf("bad case: issue %q on a %d", tc.issue, tc.status)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	_ = json.Unmarshal(body, &head)
	if head.ResourceType != "Bundle" {
		return
	}
	var b bundleDoc
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("decode Bundle: %v", err)
	}
	if b.Type != "searchset" || b.Total == nil {
		t.Fatalf("Bundle type %q total %v, want searchset with a total", b.Type, b.Total)
	}
	if *b.Total != tc.total {
		t.Errorf("total = %d, want %d", *b.Total, tc.total)
	}
	if len(b.Link) != 1 || b.Link[0].Relation != "self" || !strings.HasPrefix(b.Link[0].URL, testBase+"/fhir/") {
		t.Errorf("links = %+v, want one self link under %s/fhir/", b.Link, testBase)
	}
	var ids []string
	for _, e := range b.Entry {
		if e.Search.Mode == "outcome" {
			if e.Resource.ResourceType != "OperationOutcome" {
				t.Errorf("outcome entry holds a %s", e.Resource.ResourceType)
			}
			continue
		}
		if e.Search.Mode != "match" {
			t.Errorf("entry %s: search.mode %q", e.FullURL, e.Search.Mode)
		}
		want := testBase + "/fhir/" + e.Resource.ResourceType + "/" + e.Resource.ID
		if e.FullURL != want {
			t.Errorf("fullUrl = %q, want %q", e.FullURL, want)
		}
		ids = append(ids, e.Resource.ID)
	}
	if len(ids) != tc.total {
		t.Errorf("%d match entries, total %d", len(ids), tc.total)
	}
	if tc.entryIDs != nil {
		if diff := cmp.Diff(tc.entryIDs, ids); diff != "" {
			t.Errorf("entry ids (-want +got):\n%s", diff)
		}
	}
}

func checkAPIError(t *testing.T, tc httpCase, body []byte) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
		Field string `json:"field"`
		Fix   string `json:"fix"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("decode API error: %v", err)
	}
	if e.Error == "" || e.Fix == "" {
		t.Errorf("API error without error or fix: %s", body)
	}
	if e.Field != tc.field {
		t.Errorf("field = %q, want %q", e.Field, tc.field)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkGolden compares body, indented, with testdata/golden/name.json, or
// rewrites the file with -update.
func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	got := normalise(t, body)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); go test -update rewrites it:\n%s", path, diff)
	}
}

// normalise indents body and replaces what varies between runs (a live
// server's base URL) with fixed text.
func normalise(t *testing.T, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		ready  bool
		status int
		body   string
	}{
		{true, 200, `{"status":"ready"}`},
		{false, 503, `{"status":"not ready"}`},
	} {
		h := newTestHandler(t, newFakeBackend(t), server.Options{Ready: func() bool { return tc.ready }})
		for _, path := range []string{"/readyz", "/healthz"} {
			rec := serve(h, httpCase{target: path})
			want, wantBody := tc.status, tc.body
			if path == "/healthz" {
				want, wantBody = 200, `{"status":"ok"}`
			}
			if rec.Code != want || rec.Body.String() != wantBody {
				t.Errorf("ready=%v %s: %d %s, want %d %s", tc.ready, path, rec.Code, rec.Body, want, wantBody)
			}
		}
	}
}

// TestBackendFailure checks that a failing store yields 500s that do not
// leak the error, and a log line that names the operation.
func TestBackendFailure(t *testing.T) {
	const secret = "open /var/lib/it4ct/national.db: disk I/O error"
	fb := newFakeBackend(t)
	fb.fail(errors.New(secret))
	var logs bytes.Buffer
	h := newTestHandler(t, fb, server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	for _, target := range []string{
		"/fhir/ResearchStudy/" + study1,
		"/fhir/ResearchSubject/" + subj1,
		"/fhir/ResearchStudy?identifier=NCT09990001",
		"/fhir/ResearchSubject?study=" + site1,
		"/api/v1/indicators?year=2024",
	} {
		t.Run(target, func(t *testing.T) {
			logs.Reset()
			rec := serve(h, httpCase{target: target})
			if rec.Code != 500 {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "disk") || strings.Contains(rec.Body.String(), "/var/lib") {
				t.Errorf("body leaks the internal error: %s", rec.Body)
			}
			if strings.HasPrefix(target, "/fhir") {
				if oo := checkOutcome(t, rec.Body.Bytes()); oo.Issue[0].Code != "exception" {
					t.Errorf("issue code %q, want exception", oo.Issue[0].Code)
				}
			} else {
				checkAPIError(t, httpCase{}, rec.Body.Bytes())
			}
			if !strings.Contains(logs.String(), `"msg":"backend failed"`) || !strings.Contains(logs.String(), "disk I/O error") {
				t.Errorf("the error is not logged: %s", logs.String())
			}
			if !strings.Contains(logs.String(), `"level":"ERROR","msg":"http request"`) {
				t.Errorf("the request is not logged at ERROR: %s", logs.String())
			}
		})
	}
}

// corruptBackend returns resources that do not match what was asked.
type corruptBackend struct {
	*fakeBackend
	body []byte
}

func (c corruptBackend) Resource(ctx contextT, resourceType, id string) ([]byte, bool, error) {
	return c.body, true, nil
}

func (c corruptBackend) StudiesByIdentifier(ctx contextT, system, value string) ([][]byte, error) {
	return [][]byte{c.body}, nil
}

func TestCorruptStore(t *testing.T) {
	fb := newFakeBackend(t)
	for name, body := range map[string]string{
		"not JSON":       `{"resourceType":`,
		"wrong type":     string(fb.resources["ResearchSubject/"+subj1]),
		"other id":       string(fb.resources["ResearchStudy/"+study2]),
		"invalid id":     `{"resourceType":"ResearchStudy","id":"a b","status":"active"}`,
		"trailing bytes": `{"resourceType":"ResearchStudy","id":"` + study1 + `","status":"active"} x`,
	} {
		t.Run(name, func(t *testing.T) {
			h := newTestHandler(t, corruptBackend{fb, []byte(body)}, server.Options{})
			rec := serve(h, httpCase{target: "/fhir/ResearchStudy/" + study1})
			if rec.Code != 500 {
				t.Errorf("read: status %d, want 500: %s", rec.Code, rec.Body)
			}
			if name == "other id" {
				return // a search may legitimately return another study
			}
			rec = serve(h, httpCase{target: "/fhir/ResearchStudy?identifier=x"})
			if rec.Code != 500 {
				t.Errorf("search: status %d, want 500: %s", rec.Code, rec.Body)
			}
		})
	}
}

// TestRequestLog checks the request log line: its keys, and that neither
// the query string nor the payload appear.
func TestRequestLog(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, newFakeBackend(t), server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	rec := serve(h, httpCase{target: "/fhir/ResearchSubject?study=ResearchStudy/" + site1})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "hmac-sha256-fictional-0001") {
		t.Fatalf("search failed: %d %s", rec.Code, rec.Body)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %s", len(lines), logs.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"msg": "http request", "method": "GET", "path": "/fhir/ResearchSubject",
		"route": "/fhir/ResearchSubject", "status": float64(200), "bytes": float64(rec.Body.Len()),
	} {
		if entry[k] != want {
			t.Errorf("log %s = %v, want %v", k, entry[k], want)
		}
	}
	if d, ok := entry["duration"].(float64); !ok || d <= 0 {
		t.Errorf("log duration = %v, want a positive number of nanoseconds", entry["duration"])
	}
	for _, leak := range []string{"hmac-sha256", site1, "study="} {
		if strings.Contains(lines[0], leak) {
			t.Errorf("log line holds %q: %s", leak, lines[0])
		}
	}
}

// TestAuthorizeHook checks that Options.Authorize wraps the data routes and
// only them.
func TestAuthorizeHook(t *testing.T) {
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Test-Role") != "national" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	fb := newFakeBackend(t)
	fb.indicators = map[string]int{"a3": 1}
	h := newTestHandler(t, fb, server.Options{Authorize: auth})
	for _, tc := range []struct {
		target    string
		protected bool
	}{
		{"/fhir/ResearchStudy/" + study1, true},
		{"/fhir/ResearchSubject/" + subj1, true},
		{"/fhir/ResearchStudy?identifier=NCT09990001", true},
		{"/fhir/ResearchSubject?study=" + site1, true},
		{"/api/v1/indicators?year=2024", true},
		{"/fhir/metadata", false},
		{"/healthz", false},
		{"/readyz", false},
	} {
		without := serve(h, httpCase{target: tc.target}).Code
		with := serve(h, httpCase{target: tc.target, header: map[string]string{"X-Test-Role": "national"}}).Code
		wantWithout := 200
		if tc.protected {
			wantWithout = 403
		}
		if without != wantWithout || with != 200 {
			t.Errorf("%s: %d without role, %d with; want %d and 200", tc.target, without, with, wantWithout)
		}
	}
}

// TestNilIndicators: a backend with nothing for the establishment is a 404.
func TestNilIndicators(t *testing.T) {
	fb := newFakeBackend(t)
	h := newTestHandler(t, fb, server.Options{})
	rec := serve(h, httpCase{target: "/api/v1/indicators?year=2024&establishment=990000017"})
	if rec.Code != 404 {
		t.Fatalf("status %d, want 404: %s", rec.Code, rec.Body)
	}
	if diff := cmp.Diff([]string{"2024/990000017"}, fb.calls); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}
}

// TestBaseURLFromHost: without Options.BaseURL, links use the request host.
func TestBaseURLFromHost(t *testing.T) {
	h := server.New(newFakeBackend(t), server.Options{})
	req := httptest.NewRequest(http.MethodGet, "/fhir/ResearchStudy?identifier=NCT09990002", nil)
	req.Host = "gateway.test:8443"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var b bundleDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || len(b.Entry) != 1 {
		t.Fatalf("bad bundle (%v): %s", err, rec.Body)
	}
	if want := "http://gateway.test:8443/fhir/ResearchStudy/" + study2; b.Entry[0].FullURL != want {
		t.Errorf("fullUrl %q, want %q", b.Entry[0].FullURL, want)
	}
	if want := "http://gateway.test:8443/fhir/ResearchStudy?identifier=NCT09990002"; b.Link[0].URL != want {
		t.Errorf("self %q, want %q", b.Link[0].URL, want)
	}
}

// TestHEAD runs on a real listener: HEAD answers the GET headers, no body.
func TestHEAD(t *testing.T) {
	ts := httptest.NewServer(newTestHandler(t, newFakeBackend(t), server.Options{}))
	t.Cleanup(ts.Close)
	for _, path := range []string{"/fhir/ResearchStudy/" + study1, "/fhir/metadata", "/healthz", "/api/v1/indicators?year=2024&establishment=bad"} {
		get, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		get.Body.Close()
		head, err := http.Head(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := head.Body.Read(make([]byte, 1))
		head.Body.Close()
		if head.StatusCode != get.StatusCode || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") ||
			head.ContentLength != get.ContentLength || n != 0 {
			t.Errorf("%s: HEAD %d %q len %d body %d; GET %d %q len %d", path, head.StatusCode, head.Header.Get("Content-Type"),
				head.ContentLength, n, get.StatusCode, get.Header.Get("Content-Type"), get.ContentLength)
		}
	}
}

func TestNewHTTPServer(t *testing.T) {
	s := server.NewHTTPServer(":0", http.NotFoundHandler())
	if s.Addr != ":0" || s.Handler == nil {
		t.Fatalf("addr %q handler %v", s.Addr, s.Handler)
	}
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout,
	} {
		if d <= 0 || d > 5*time.Minute {
			t.Errorf("%s = %v, want a bound between 0 and 5m", name, d)
		}
	}
	if s.MaxHeaderBytes <= 0 {
		t.Errorf("MaxHeaderBytes = %d", s.MaxHeaderBytes)
	}
}

// panicBackend panics in Resource.
type panicBackend struct{ *fakeBackend }

func (panicBackend) Resource(ctx contextT, resourceType, id string) ([]byte, bool, error) {
	panic("boom")
}

// TestPanic: a panic becomes a logged 500 OperationOutcome.
func TestPanic(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, panicBackend{newFakeBackend(t)}, server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	rec := serve(h, httpCase{target: "/fhir/ResearchStudy/" + study1})
	if rec.Code != 500 {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if oo := checkOutcome(t, rec.Body.Bytes()); oo.Issue[0].Code != "exception" || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("body %s: want an exception issue without the panic value", rec.Body)
	}
	for _, want := range []string{`"msg":"handler panic"`, `"panic":"boom"`, `"status":500`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s: %s", want, logs.String())
		}
	}
}

func BenchmarkRead(b *testing.B) {
	h := server.New(newFakeBackend(b), server.Options{BaseURL: testBase})
	req := httptest.NewRequest(http.MethodGet, "/fhir/ResearchStudy/"+study1, nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

func BenchmarkSearchSubjects(b *testing.B) {
	h := server.New(newFakeBackend(b), server.Options{BaseURL: testBase})
	req := httptest.NewRequest(http.MethodGet, "/fhir/ResearchSubject?study=ResearchStudy/"+site1, nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
