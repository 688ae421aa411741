package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
)

// The indicators API is plain JSON, not FHIR: its errors are apiError
// objects, not OperationOutcome.

// apiError is the body of every indicators API error: what failed, the
// query parameter at fault (if any) and how to fix the request.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	Fix   string `json:"fix,omitempty"`
}

func writeAPIError(w http.ResponseWriter, status int, e apiError) {
	writeJSON(w, status, "application/json", e)
}

var (
	yearPattern = regexp.MustCompile(`^[0-9]{4}$`)
	// finessPattern: 9 characters, digits, except a Corsican department
	// (2A, 2B) in first position. The check key is not verified here: a bad
	// key is a data-quality warning in the national data, not a bad request.
	finessPattern = regexp.MustCompile(`^(?:[0-9]{2}|2A|2B)[0-9]{7}$`)
)

// minYear is the first year the indicators API answers for.
const minYear = 2000

var indicatorParams = []string{"year", "establishment"}

func (s *srv) indicators(w http.ResponseWriter, r *http.Request) {
	if !allowGetHead(w, r, apiMethodNotAllowed) {
		return
	}
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(indicatorParams, name) {
			writeAPIError(w, http.StatusBadRequest, apiError{
				Error: "unknown query parameter " + strconvQuote(name),
				Field: name,
				Fix:   "remove it; supported parameters: year (required), establishment (optional FINESS)",
			})
			return
		}
		if len(q[name]) > 1 {
			writeAPIError(w, http.StatusBadRequest, apiError{
				Error: "query parameter " + strconvQuote(name) + " given more than once",
				Field: name,
				Fix:   "give it once",
			})
			return
		}
	}
	maxYear := s.opts.Now().Year() + 1
	yearFix := "give a calendar year with 4 digits between " + strconv.Itoa(minYear) + " and " + strconv.Itoa(maxYear) + ", e.g. year=" + strconv.Itoa(maxYear-2)
	ys, has := q["year"]
	if !has {
		writeAPIError(w, http.StatusBadRequest, apiError{Error: "year is required", Field: "year", Fix: yearFix})
		return
	}
	year, err := strconv.Atoi(ys[0])
	if !yearPattern.MatchString(ys[0]) || err != nil || year < minYear || year > maxYear {
		writeAPIError(w, http.StatusBadRequest, apiError{Error: "invalid year " + strconvQuote(ys[0]), Field: "year", Fix: yearFix})
		return
	}
	establishment := ""
	if es, has := q["establishment"]; has {
		establishment = es[0]
		if !finessPattern.MatchString(establishment) {
			writeAPIError(w, http.StatusBadRequest, apiError{
				Error: "invalid establishment " + strconvQuote(establishment) + ": not a FINESS number",
				Field: "establishment",
				Fix:   "give the 9-character FINESS of the establishment (digits; 2A or 2B first for Corsica), e.g. establishment=750712184, or omit it for national indicators",
			})
			return
		}
	}
	v, err := s.backend.Indicators(r.Context(), year, establishment)
	if err != nil {
		level := slog.LevelError
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			level = slog.LevelInfo
		}
		s.log.LogAttrs(r.Context(), level, "backend failed",
			slog.String("op", "indicators"), slog.Int("year", year), slog.String("finess", establishment), slog.String("error", err.Error()))
		writeAPIError(w, http.StatusInternalServerError, apiError{
			Error: "internal error while computing indicators",
			Fix:   "retry later, and report it if it persists",
		})
		return
	}
	if v == nil {
		writeAPIError(w, http.StatusNotFound, apiError{
			Error: "no indicators for this year and establishment",
			Field: "establishment",
			Fix:   "check the FINESS and the year; omit establishment for national indicators",
		})
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "encode indicators failed",
			slog.Int("year", year), slog.String("finess", establishment), slog.String("error", err.Error()))
		writeAPIError(w, http.StatusInternalServerError, apiError{
			Error: "internal error while encoding indicators",
			Fix:   "report it",
		})
		return
	}
	writeBody(w, http.StatusOK, "application/json", body)
}
