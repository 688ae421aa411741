package server

import (
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

const (
	// fhirJSON is the media type of every FHIR response.
	fhirJSON  = "application/fhir+json; fhirVersion=4.0"
	plainJSON = "application/json; fhirVersion=4.0"
)

// idPattern is the FHIR R4 id datatype.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// issue is one OperationOutcome.issue.
type issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

type operationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []issue `json:"issue"`
}

func outcome(issues ...issue) operationOutcome {
	return operationOutcome{ResourceType: "OperationOutcome", Issue: issues}
}

func writeOutcome(w http.ResponseWriter, status int, contentType string, issues ...issue) {
	writeJSON(w, status, contentType, outcome(issues...))
}

// writeJSON marshals v and writes it with a Content-Length. v is always one
// of this package's own types, so a marshal error is a programming error.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("server: marshal response: " + err.Error())
	}
	writeBody(w, status, contentType, body)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleSearch struct {
	Mode string `json:"mode"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource"`
	Search   bundleSearch    `json:"search"`
}

type meta struct {
	LastUpdated string `json:"lastUpdated,omitempty"`
	VersionID   string `json:"versionId,omitempty"`
}

type bundle struct {
	ResourceType string        `json:"resourceType"`
	Meta         meta          `json:"meta"`
	Type         string        `json:"type"`
	Total        int           `json:"total"`
	Link         []bundleLink  `json:"link"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

// resourceHead is the part of a stored resource the server checks.
type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         *meta  `json:"meta"`
}

// identifierHead reads the identifiers of a stored resource.
type identifierHead struct {
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
}

// negotiate picks the response media type from _format (which wins) or
// Accept. ok is false when the client accepts nothing this server emits.
func negotiate(r *http.Request) (contentType string, ok bool) {
	if f, present := r.URL.Query()["_format"]; present {
		for _, v := range f {
			// A literal "+" in a query string decodes to a space.
			switch strings.ReplaceAll(strings.TrimSpace(v), " ", "+") {
			case "json", "application/fhir+json", "application/json+fhir":
				return fhirJSON, true
			case "application/json":
				return plainJSON, true
			}
		}
		return "", false
	}
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return fhirJSON, true
	}
	best, bestQ := "", -1.0
	for _, line := range accept {
		for _, part := range strings.Split(line, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			q := 1.0
			if qs, has := params["q"]; has {
				if q, err = strconv.ParseFloat(qs, 64); err != nil {
					continue
				}
			}
			if q <= 0 {
				continue
			}
			if v, has := params["fhirversion"]; has && !strings.HasPrefix(v, "4.0") {
				continue
			}
			var ct string
			switch mt {
			case "application/fhir+json", "application/json+fhir", "*/*", "application/*":
				ct = fhirJSON
			case "application/json":
				ct = plainJSON
			default:
				continue
			}
			// Equal q: the FHIR media type wins over plain JSON.
			if q > bestQ || (q == bestQ && ct == fhirJSON) {
				best, bestQ = ct, q
			}
		}
	}
	return best, best != ""
}

// notAcceptable answers 406; the body is FHIR JSON, the only thing we have.
func notAcceptable(w http.ResponseWriter) {
	writeOutcome(w, http.StatusNotAcceptable, fhirJSON, issue{
		Severity:    "error",
		Code:        "not-supported",
		Diagnostics: "this server only produces FHIR R4 JSON: send Accept: application/fhir+json (or application/json), or _format=json",
	})
}
