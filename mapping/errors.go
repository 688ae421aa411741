package mapping

import (
	"strings"

	"github.com/fr-it4ct/it4ct/canonical"
)

// Severity of a validation issue.
type Severity string

const (
	SeverityError   Severity = "error"   // the resource must not be published
	SeverityWarning Severity = "warning" // publishable; worth a data-quality report
)

// Issue is one problem found in a record or a resource. Path is FHIRPath-like
// ("ResearchStudy.identifier[1].value") for resources, or names the canonical
// field ("Inclusion.LocalSubjectID") for problems found before mapping.
// Messages never contain a local subject identifier or other patient data.
type Issue struct {
	Path     string
	Severity Severity
	Code     string // stable machine code, e.g. "required", "bad-format"
	Message  string
	Fix      string
}

func (i Issue) String() string {
	s := string(i.Severity) + " " + i.Path + ": " + i.Message + " [" + i.Code + "]"
	if i.Fix != "" {
		s += "; fix: " + i.Fix
	}
	return s
}

// Error is a permanent mapping or decoding failure: the same input always
// fails, so the runner sends the record to quarantine instead of retrying.
// Test with errors.As.
type Error struct {
	Prov   canonical.Provenance // zero when decoding published JSON
	Issues []Issue              // at least one of severity error
}

func (e *Error) Error() string {
	var b strings.Builder
	if p := e.Prov.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	b.WriteString("mapping: ")
	first := true
	for _, is := range e.Issues {
		if is.Severity != SeverityError {
			continue
		}
		if !first {
			b.WriteString("; ")
		}
		first = false
		b.WriteString(is.Path + ": " + is.Message)
		if is.Fix != "" {
			b.WriteString(" (fix: " + is.Fix + ")")
		}
	}
	return b.String()
}

// Permanent reports that retrying cannot succeed.
func (e *Error) Permanent() bool { return true }

// Rejects turns the error issues into quarantine rejects, one per issue.
func (e *Error) Rejects() []canonical.Reject {
	var out []canonical.Reject
	for _, is := range e.Issues {
		if is.Severity != SeverityError {
			continue
		}
		out = append(out, canonical.Reject{Prov: e.Prov, Field: is.Path, Code: is.Code, Reason: is.Message, Fix: is.Fix})
	}
	return out
}

// HasErrors reports whether any issue has severity error.
func HasErrors(issues []Issue) bool {
	for _, is := range issues {
		if is.Severity == SeverityError {
			return true
		}
	}
	return false
}
