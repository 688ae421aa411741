package mapping

import (
	"encoding/json"
)

// SeverityInformation marks a note that is not a problem ("not checked").
const SeverityInformation Severity = "information"

// issueTypes maps the stable Issue.Code values to FHIR R4 IssueType codes
// (http://hl7.org/fhir/issue-type).
var issueTypes = map[string]string{
	"required":              "required",
	"empty-reference":       "required",
	"bad-code":              "code-invalid",
	"unknown-code":          "code-invalid",
	"unknown-code-system":   "code-invalid",
	"bad-format":            "value",
	"bad-value":             "value",
	"bad-date":              "value",
	"bad-id":                "value",
	"bad-reference":         "value",
	"reference-type":        "value",
	"reference-shape":       "value",
	"finess-key":            "value",
	"identifier-no-system":  "value",
	"identifier-no-value":   "value",
	"invalid-json":          "structure",
	"bad-type":              "structure",
	"structure":             "structure",
	"unknown-element":       "structure",
	"cardinality":           "structure",
	"invariant":             "invariant",
	"unknown-extension":     "extension",
	"unknown-resource-type": "not-supported",
	"profile-mismatch":      "not-supported",
	"privacy":               "security",
	"not-checked":           "informational",
	"source":                "informational",
}

// IssueType returns the FHIR IssueType code of an Issue.Code ("processing"
// for codes without a more precise type).
func IssueType(code string) string {
	if t, ok := issueTypes[code]; ok {
		return t
	}
	return "processing"
}

type outcomeIssue struct {
	Severity    string          `json:"severity"`
	Code        string          `json:"code"`
	Details     *outcomeDetails `json:"details,omitempty"`
	Diagnostics string          `json:"diagnostics,omitempty"`
	Expression  []string        `json:"expression,omitempty"`
}

type outcomeDetails struct {
	Text string `json:"text"`
}

// OperationOutcome renders issues as a FHIR R4 OperationOutcome (JSON):
// severity, code (FHIR IssueType, see IssueType), details.text (the fix,
// when there is one), diagnostics (the message, then the stable it4ct code
// in brackets: "status is required [required]") and expression
// (the FHIRPath of the issue; none for document-level issues). An empty
// list gives the single "informational" issue R4 requires (issue is 1..*).
func OperationOutcome(issues []Issue) []byte {
	out := struct {
		ResourceType string         `json:"resourceType"`
		Issue        []outcomeIssue `json:"issue"`
	}{ResourceType: "OperationOutcome", Issue: []outcomeIssue{}}
	for _, is := range issues {
		sev := string(is.Severity)
		if sev == "" {
			sev = string(SeverityError)
		}
		oi := outcomeIssue{Severity: sev, Code: IssueType(is.Code), Diagnostics: is.Message}
		if is.Code != "" && is.Code != "source" {
			oi.Diagnostics += " [" + is.Code + "]"
		}
		if is.Fix != "" {
			oi.Details = &outcomeDetails{Text: is.Fix}
		}
		if is.Path != "" {
			oi.Expression = []string{is.Path}
		}
		out.Issue = append(out.Issue, oi)
	}
	if len(out.Issue) == 0 {
		out.Issue = append(out.Issue, outcomeIssue{Severity: string(SeverityInformation), Code: "informational", Diagnostics: "no issues"})
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic("mapping: marshal OperationOutcome: " + err.Error()) // only strings: cannot fail
	}
	return b
}
