package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// fhirBase is the FHIR service base URL, used in fullUrl and links.
func (s *srv) fhirBase(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL + "/fhir"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// fhirPreamble checks the method and negotiates the format; it answers the
// request itself and returns ok=false when the handler must stop.
func fhirPreamble(w http.ResponseWriter, r *http.Request) (contentType string, ok bool) {
	if !allowGetHead(w, r, func(w http.ResponseWriter, r *http.Request) {
		writeOutcome(w, http.StatusMethodNotAllowed, fhirJSON, issue{
			Severity:    "error",
			Code:        "not-supported",
			Diagnostics: "method " + r.Method + " is not supported: this FHIR API is read-only (GET, HEAD)",
		})
	}) {
		return "", false
	}
	ct, ok := negotiate(r)
	if !ok {
		notAcceptable(w)
		return "", false
	}
	return ct, true
}

// backendFailed logs a backend error (never its payload) and answers 500
// without revealing it.
func (s *srv) backendFailed(w http.ResponseWriter, r *http.Request, ct, op string, err error) {
	level := slog.LevelError
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		level = slog.LevelInfo // the client went away
	}
	s.log.LogAttrs(r.Context(), level, "backend failed",
		slog.String("op", op), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	writeOutcome(w, http.StatusInternalServerError, ct, issue{
		Severity:    "error",
		Code:        "exception",
		Diagnostics: "internal error while reading the national store; retry later, and report it if it persists",
	})
}

func (s *srv) fhirNotFound(w http.ResponseWriter, r *http.Request) {
	ct, ok := negotiate(r)
	if !ok {
		ct = fhirJSON
	}
	writeOutcome(w, http.StatusNotFound, ct, issue{
		Severity:    "error",
		Code:        "not-found",
		Diagnostics: "no FHIR endpoint at " + r.URL.Path + "; supported: metadata, ResearchStudy, ResearchSubject (read and search)",
	})
}

func (s *srv) metadata(w http.ResponseWriter, r *http.Request) {
	ct, ok := fhirPreamble(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, ct, s.capabilityStatement(r))
}

type capabilityStatement struct {
	ResourceType   string           `json:"resourceType"`
	Name           string           `json:"name"`
	Title          string           `json:"title"`
	Status         string           `json:"status"`
	Date           string           `json:"date"`
	Publisher      string           `json:"publisher"`
	Kind           string           `json:"kind"`
	Software       csSoftware       `json:"software"`
	Implementation csImplementation `json:"implementation"`
	FHIRVersion    string           `json:"fhirVersion"`
	Format         []string         `json:"format"`
	Rest           []csRest         `json:"rest"`
}

type csSoftware struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type csImplementation struct {
	Description string `json:"description"`
	URL         string `json:"url"`
}

type csRest struct {
	Mode          string       `json:"mode"`
	Documentation string       `json:"documentation"`
	Resource      []csResource `json:"resource"`
}

type csResource struct {
	Type         string          `json:"type"`
	Interaction  []csInteraction `json:"interaction"`
	Versioning   string          `json:"versioning"`
	ReadHistory  bool            `json:"readHistory"`
	UpdateCreate bool            `json:"updateCreate"`
	SearchParam  []csSearchParam `json:"searchParam"`
}

type csInteraction struct {
	Code string `json:"code"`
}

type csSearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition"`
	Type          string `json:"type"`
	Documentation string `json:"documentation"`
}

// capabilityStatement describes this server: what the handlers of this
// file do, nothing more.
func (s *srv) capabilityStatement(r *http.Request) capabilityStatement {
	interactions := []csInteraction{{Code: "read"}, {Code: "search-type"}}
	return capabilityStatement{
		ResourceType: "CapabilityStatement",
		Name:         "It4ctNationalServer",
		Title:        "it4ct national FHIR API",
		Status:       "active",
		Date:         s.started.UTC().Format(time.RFC3339),
		Publisher:    "FR-IT4CT",
		Kind:         "instance",
		Software:     csSoftware{Name: "it4ct", Version: s.opts.Version},
		Implementation: csImplementation{
			Description: "it4ct national server: research studies and subjects reported by French health establishments",
			URL:         s.fhirBase(r),
		},
		FHIRVersion: "4.0.1",
		Format:      []string{"json"},
		Rest: []csRest{{
			Mode:          "server",
			Documentation: "Read-only. Searches are strict: unknown parameters are rejected with 400 unless the request carries Prefer: handling=lenient. No paging: a search returns every match.",
			Resource: []csResource{
				{
					Type:        "ResearchStudy",
					Interaction: interactions,
					Versioning:  "no-version",
					SearchParam: []csSearchParam{{
						Name:          "identifier",
						Definition:    "http://hl7.org/fhir/SearchParameter/ResearchStudy-identifier",
						Type:          "token",
						Documentation: "system|value, |value (no system) or value (any system); comma for OR",
					}},
				},
				{
					Type:        "ResearchSubject",
					Interaction: interactions,
					Versioning:  "no-version",
					SearchParam: []csSearchParam{{
						Name:          "study",
						Definition:    "http://hl7.org/fhir/SearchParameter/ResearchSubject-study",
						Type:          "reference",
						Documentation: "ResearchStudy/{id} or {id}; comma for OR",
					}},
				},
			},
		}},
	}
}

func (s *srv) read(resourceType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct, ok := fhirPreamble(w, r)
		if !ok {
			return
		}
		id := r.PathValue("id")
		if !idPattern.MatchString(id) {
			writeOutcome(w, http.StatusBadRequest, ct, issue{
				Severity:    "error",
				Code:        "invalid",
				Diagnostics: "invalid resource id: a FHIR id is 1 to 64 characters among A-Z a-z 0-9 - .",
			})
			return
		}
		body, found, err := s.backend.Resource(r.Context(), resourceType, id)
		if err != nil {
			s.backendFailed(w, r, ct, "read "+resourceType, err)
			return
		}
		if !found {
			writeOutcome(w, http.StatusNotFound, ct, issue{
				Severity:    "error",
				Code:        "not-found",
				Diagnostics: resourceType + "/" + id + " is not known",
			})
			return
		}
		head, err := checkResource(body, resourceType)
		if err == nil && head.ID != id {
			err = fmt.Errorf("id %q, want %q", head.ID, id)
		}
		if err != nil {
			s.backendFailed(w, r, ct, "read "+resourceType, fmt.Errorf("stored resource is malformed: %w", err))
			return
		}
		if head.Meta != nil && idPattern.MatchString(head.Meta.VersionID) {
			w.Header().Set("ETag", `W/"`+head.Meta.VersionID+`"`)
		}
		if head.Meta != nil && head.Meta.LastUpdated != "" {
			if t, err := time.Parse(time.RFC3339Nano, head.Meta.LastUpdated); err == nil {
				w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
			}
		}
		writeBody(w, http.StatusOK, ct, body)
	})
}

// checkResource decodes the head of a stored resource and checks its type
// and id, so that a corrupt store yields a 500 rather than a wrong answer.
func checkResource(body []byte, resourceType string) (resourceHead, error) {
	var head resourceHead
	if err := json.Unmarshal(body, &head); err != nil {
		return head, fmt.Errorf("decode: %w", err)
	}
	if head.ResourceType != resourceType {
		return head, fmt.Errorf("resourceType %q, want %q", head.ResourceType, resourceType)
	}
	if !idPattern.MatchString(head.ID) {
		return head, fmt.Errorf("invalid id %q", head.ID)
	}
	return head, nil
}

// searchRequest is a parsed type-level search.
type searchRequest struct {
	ct       string
	params   url.Values // the search parameters applied, for the self link
	warnings []issue    // lenient mode: parameters ignored
}

// resultParams are accepted on every search and do not change the result.
var resultParams = []string{"_format", "_pretty"}

// parseSearch checks the query against the parameters the resource type
// supports. It answers the request itself and returns ok=false on error.
func parseSearch(w http.ResponseWriter, r *http.Request, resourceType string, supported string) (searchRequest, bool) {
	ct, ok := fhirPreamble(w, r)
	if !ok {
		return searchRequest{}, false
	}
	req := searchRequest{ct: ct, params: url.Values{}}
	lenient := preferLenient(r)
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case name == supported:
			req.params[name] = q[name]
		case slices.Contains(resultParams, name):
		default:
			base, _, hasModifier := strings.Cut(name, ":")
			msg := "unknown search parameter " + strconvQuote(name) + " for " + resourceType + "; supported: " + supported
			if hasModifier && base == supported {
				msg = "search parameter modifier not supported: " + strconvQuote(name)
			}
			if lenient {
				req.warnings = append(req.warnings, issue{Severity: "warning", Code: "not-supported", Diagnostics: msg + " (ignored: Prefer handling=lenient)"})
				continue
			}
			writeOutcome(w, http.StatusBadRequest, ct, issue{
				Severity:    "error",
				Code:        "not-supported",
				Diagnostics: msg + " (searches are strict; send Prefer: handling=lenient to ignore unknown parameters)",
			})
			return searchRequest{}, false
		}
	}
	vals := req.params[supported]
	if len(vals) == 0 || slices.Contains(vals, "") {
		writeOutcome(w, http.StatusBadRequest, ct, issue{
			Severity:    "error",
			Code:        "required",
			Diagnostics: "search parameter " + supported + " is required and must not be empty",
		})
		return searchRequest{}, false
	}
	return req, true
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// preferLenient reports whether the Prefer header asks for handling=lenient.
func preferLenient(r *http.Request) bool {
	for _, line := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(line, func(c rune) bool { return c == ',' || c == ';' }) {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(strings.TrimSpace(k), "handling") && strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "lenient") {
				return true
			}
		}
	}
	return false
}

func badSearchValue(w http.ResponseWriter, ct, msg string) {
	writeOutcome(w, http.StatusBadRequest, ct, issue{Severity: "error", Code: "value", Diagnostics: msg})
}

func (s *srv) searchStudies(w http.ResponseWriter, r *http.Request) {
	req, ok := parseSearch(w, r, "ResearchStudy", "identifier")
	if !ok {
		return
	}
	// Repeated parameters are ANDed, comma-separated values ORed.
	var groups [][]token
	for _, v := range req.params["identifier"] {
		toks, err := parseTokens(v)
		if err != nil {
			badSearchValue(w, req.ct, "identifier: "+err.Error())
			return
		}
		groups = append(groups, toks)
	}
	var result [][]byte
	for i, toks := range groups {
		var matched [][]byte
		for _, tok := range toks {
			found, err := s.backend.StudiesByIdentifier(r.Context(), tok.system, tok.value)
			if err != nil {
				s.backendFailed(w, r, req.ct, "search ResearchStudy", err)
				return
			}
			if tok.noSystem {
				found, err = withoutSystem(found, tok.value)
				if err != nil {
					s.backendFailed(w, r, req.ct, "search ResearchStudy", err)
					return
				}
			}
			matched = append(matched, found...)
		}
		if i == 0 {
			result = matched
		} else {
			result, ok = intersect(result, matched, "ResearchStudy")
			if !ok {
				s.backendFailed(w, r, req.ct, "search ResearchStudy", errors.New("stored resource is malformed"))
				return
			}
		}
	}
	s.writeBundle(w, r, req, "ResearchStudy", result)
}

func (s *srv) searchSubjects(w http.ResponseWriter, r *http.Request) {
	req, ok := parseSearch(w, r, "ResearchSubject", "study")
	if !ok {
		return
	}
	var result [][]byte
	for i, v := range req.params["study"] {
		var matched [][]byte
		for _, ref := range strings.Split(v, ",") {
			id, err := studyReference(ref)
			if err != nil {
				badSearchValue(w, req.ct, "study: "+err.Error())
				return
			}
			found, err := s.backend.SubjectsByStudy(r.Context(), id)
			if err != nil {
				s.backendFailed(w, r, req.ct, "search ResearchSubject", err)
				return
			}
			matched = append(matched, found...)
		}
		if i == 0 {
			result = matched
		} else {
			result, ok = intersect(result, matched, "ResearchSubject")
			if !ok {
				s.backendFailed(w, r, req.ct, "search ResearchSubject", errors.New("stored resource is malformed"))
				return
			}
		}
	}
	s.writeBundle(w, r, req, "ResearchSubject", result)
}

// studyReference reads a study search value: "ResearchStudy/{id}" or "{id}".
func studyReference(ref string) (string, error) {
	id := ref
	if typ, rest, found := strings.Cut(ref, "/"); found {
		if typ != "ResearchStudy" {
			return "", fmt.Errorf("reference %q is not to a ResearchStudy; use ResearchStudy/{id} or {id}", ref)
		}
		id = rest
	}
	if !idPattern.MatchString(id) {
		return "", fmt.Errorf("%q is not a valid study id (1 to 64 characters among A-Z a-z 0-9 - .); use ResearchStudy/{id} or {id}", ref)
	}
	return id, nil
}

// intersect keeps the resources of a whose id is also in b.
func intersect(a, b [][]byte, resourceType string) ([][]byte, bool) {
	ids := make(map[string]bool, len(b))
	for _, body := range b {
		head, err := checkResource(body, resourceType)
		if err != nil {
			return nil, false
		}
		ids[head.ID] = true
	}
	out := a[:0:0]
	for _, body := range a {
		head, err := checkResource(body, resourceType)
		if err != nil {
			return nil, false
		}
		if ids[head.ID] {
			out = append(out, body)
		}
	}
	return out, true
}

// withoutSystem keeps the studies that carry value in an identifier with no
// system ("|value" in a token search).
func withoutSystem(found [][]byte, value string) ([][]byte, error) {
	var out [][]byte
	for _, body := range found {
		var h identifierHead
		if err := json.Unmarshal(body, &h); err != nil {
			return nil, fmt.Errorf("decode identifiers: %w", err)
		}
		for _, id := range h.Identifier {
			if id.System == "" && id.Value == value {
				out = append(out, body)
				break
			}
		}
	}
	return out, nil
}

// writeBundle answers a searchset Bundle of the found resources, in the
// backend's order, without duplicates.
func (s *srv) writeBundle(w http.ResponseWriter, r *http.Request, req searchRequest, resourceType string, found [][]byte) {
	base := s.fhirBase(r)
	b := bundle{
		ResourceType: "Bundle",
		Meta:         meta{LastUpdated: s.opts.Now().UTC().Format(time.RFC3339Nano)},
		Type:         "searchset",
		Link:         []bundleLink{{Relation: "self", URL: base + "/" + resourceType + "?" + req.params.Encode()}},
		Entry:        make([]bundleEntry, 0, len(found)+1),
	}
	seen := make(map[string]bool, len(found))
	for i, body := range found {
		head, err := checkResource(body, resourceType)
		if err != nil {
			s.backendFailed(w, r, req.ct, "search "+resourceType, fmt.Errorf("result %d: stored resource is malformed: %w", i, err))
			return
		}
		if seen[head.ID] {
			continue
		}
		seen[head.ID] = true
		b.Entry = append(b.Entry, bundleEntry{
			FullURL:  base + "/" + resourceType + "/" + head.ID,
			Resource: body,
			Search:   bundleSearch{Mode: "match"},
		})
	}
	b.Total = len(b.Entry)
	if len(req.warnings) > 0 {
		oo, err := json.Marshal(outcome(req.warnings...))
		if err != nil {
			panic("server: marshal outcome: " + err.Error())
		}
		b.Entry = append(b.Entry, bundleEntry{Resource: oo, Search: bundleSearch{Mode: "outcome"}})
	}
	body, err := json.Marshal(b)
	if err != nil {
		// Only a resource that is not JSON can fail here.
		s.backendFailed(w, r, req.ct, "search "+resourceType, fmt.Errorf("encode bundle: %w", err))
		return
	}
	writeBody(w, http.StatusOK, req.ct, body)
}
