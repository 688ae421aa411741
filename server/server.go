// Package server holds the national HTTP server of it4ct: a read-only FHIR
// R4 API over ResearchStudy and ResearchSubject (for sponsors), the JSON
// indicators API (for national coordination) and the health/readiness probes.
//
// Routes:
//
//	GET /fhir/metadata                         CapabilityStatement
//	GET /fhir/ResearchStudy/{id}               read
//	GET /fhir/ResearchStudy?identifier=…       search (token)
//	GET /fhir/ResearchSubject/{id}             read
//	GET /fhir/ResearchSubject?study=…          search (reference)
//	GET /api/v1/indicators?year=&establishment= indicators (plain JSON, not FHIR)
//	GET /healthz, GET /readyz                  probes
//
// Every FHIR error is an OperationOutcome; every indicators API error is a
// JSON object {"error","field","fix"}. The server never logs payloads nor
// echoes internal error text to clients. HEAD is accepted wherever GET is.
//
// Search is strict by default: an unknown or unsupported search parameter is
// a 400. A client that sends "Prefer: handling=lenient" gets the unknown
// parameters ignored instead, each reported as a warning in an
// OperationOutcome entry (search.mode = outcome) of the Bundle, as the FHIR
// search page describes.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Backend is the read side the server serves from. The JSON it returns are
// FHIR R4 resources (ResearchStudy or ResearchSubject) as stored.
type Backend interface {
	// Resource returns one resource; found is false when there is none.
	Resource(ctx context.Context, resourceType, id string) (json []byte, found bool, err error)
	// StudiesByIdentifier returns the ResearchStudy resources carrying the
	// identifier; an empty system matches any system.
	StudiesByIdentifier(ctx context.Context, system, value string) ([][]byte, error)
	// SubjectsByStudy returns the ResearchSubject resources whose study is
	// ResearchStudy/studyID.
	SubjectsByStudy(ctx context.Context, studyID string) ([][]byte, error)
	// Indicators returns a JSON-marshallable value; establishment is a FINESS
	// or "" for the national level.
	Indicators(ctx context.Context, year int, establishment string) (any, error)
}

// Options configure New. Every field is optional.
type Options struct {
	// Logger receives request logs and errors; nil discards them.
	Logger *slog.Logger
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func() bool
	// BaseURL is the public URL of the server root, without "/fhir" and
	// without a trailing slash (e.g. "https://it4ct.example.fr"). It prefixes
	// Bundle fullUrl and links. Empty: derived from each request's Host.
	BaseURL string
	// Version is reported as CapabilityStatement.software.version; empty
	// means "dev".
	Version string
	// Now is the clock (Bundle meta.lastUpdated, CapabilityStatement.date);
	// nil means time.Now.
	Now func() time.Time
	// Authorize, when set, wraps every data route (FHIR reads and searches,
	// indicators) but not the probes nor /fhir/metadata. It is the hook for
	// the roles of the roadmap (sponsor, establishment, national): handlers
	// hold no authorisation logic. It may reject the request itself or pass
	// it on with whatever it learnt in the request context.
	Authorize func(next http.Handler) http.Handler
}

// New returns the handler of the national server.
func New(b Backend, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Ready == nil {
		opts.Ready = func() bool { return true }
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	auth := opts.Authorize
	if auth == nil {
		auth = func(next http.Handler) http.Handler { return next }
	}

	s := &srv{backend: b, opts: opts, log: opts.Logger, started: opts.Now()}
	mux := http.NewServeMux()
	// Patterns carry no method: the handlers answer 405 themselves, so that
	// the body is an OperationOutcome rather than the mux's plain text.
	mux.Handle("/fhir/metadata", http.HandlerFunc(s.metadata))
	mux.Handle("/fhir/ResearchStudy", auth(http.HandlerFunc(s.searchStudies)))
	mux.Handle("/fhir/ResearchStudy/{id}", auth(s.read("ResearchStudy")))
	mux.Handle("/fhir/ResearchSubject", auth(http.HandlerFunc(s.searchSubjects)))
	mux.Handle("/fhir/ResearchSubject/{id}", auth(s.read("ResearchSubject")))
	mux.Handle("/fhir/", http.HandlerFunc(s.fhirNotFound))
	mux.Handle("/fhir", http.HandlerFunc(s.fhirNotFound))
	mux.Handle("/api/v1/indicators", auth(http.HandlerFunc(s.indicators)))
	mux.Handle("/healthz", http.HandlerFunc(s.healthz))
	mux.Handle("/readyz", http.HandlerFunc(s.readyz))
	mux.Handle("/", http.HandlerFunc(s.notFound))
	return s.logRequests(s.recoverPanics(mux))
}

// NewHTTPServer returns an http.Server for h with timeouts suited to a
// public API: slow clients cannot hold connections open, and large search
// Bundles still have time to be written.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

type srv struct {
	backend Backend
	opts    Options
	log     *slog.Logger
	started time.Time
}

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs one line per request: method, path, route, status,
// duration and size. The query string is not logged (it may hold
// identifiers), nor any body.
func (s *srv) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", r.Pattern),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
			slog.Int64("bytes", sw.bytes),
		)
	})
}

// recoverPanics turns a handler panic into a 500 OperationOutcome (when
// nothing was written yet) and a log line without the request's payload.
func (s *srv) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "handler panic",
				slog.String("path", r.URL.Path), slog.String("panic", fmt.Sprint(v)))
			writeOutcome(w, http.StatusInternalServerError, fhirJSON, issue{
				Severity: "fatal", Code: "exception", Diagnostics: "internal server error",
			})
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *srv) healthz(w http.ResponseWriter, r *http.Request) {
	if !allowGetHead(w, r, apiMethodNotAllowed) {
		return
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]string{"status": "ok"})
}

func (s *srv) readyz(w http.ResponseWriter, r *http.Request) {
	if !allowGetHead(w, r, apiMethodNotAllowed) {
		return
	}
	if !s.opts.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, "application/json", map[string]string{"status": "not ready"})
		return
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]string{"status": "ready"})
}

func (s *srv) notFound(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusNotFound, apiError{
		Error: "no such endpoint: " + r.URL.Path,
		Fix:   "use /fhir/… (FHIR R4), /api/v1/indicators, /healthz or /readyz",
	})
}

// allowGetHead answers 405 (with Allow) for other methods and reports
// whether the handler should go on.
func allowGetHead(w http.ResponseWriter, r *http.Request, reject func(http.ResponseWriter, *http.Request)) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	reject(w, r)
	return false
}

func apiMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeAPIError(w, http.StatusMethodNotAllowed, apiError{
		Error: "method " + r.Method + " not allowed",
		Fix:   "use GET or HEAD",
	})
}
