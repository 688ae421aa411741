package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fr-it4ct/it4ct/mapping"
)

// exitError carries the process exit code of a failed command: 1 when
// resources are invalid, 2 for usage, I/O and parse errors. main should
// exit with ExitCode() when the error has one.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

var profileFlag = map[string]string{
	"national": mapping.ProfileNationalStudy,
	"site":     mapping.ProfileSiteStudy,
	"subject":  mapping.ProfileSubject,
}

type validateFlags struct {
	format  string
	profile string
	quiet   bool
}

func newValidateCmd(g *globalFlags) *cobra.Command {
	f := &validateFlags{}
	cmd := &cobra.Command{
		Use:   "validate [FILE|DIR|-]...",
		Short: "Validate FHIR R4 JSON (resources, Bundles, NDJSON) against R4 and the it4ct profiles",
		Long: `validate checks FHIR R4 JSON: a .json file holds one resource or a Bundle,
a .ndjson file one resource per line; a directory is searched recursively for
*.json and *.ndjson; "-" reads standard input (one JSON document, or NDJSON).

ResearchStudy and ResearchSubject get the base R4 checks (elements, required
status/study/individual, codes, references, identifiers, dates, extensions),
plus the checks of an it4ct profile when meta.profile claims one (or --profile
forces it). Other resource types are reported as not checked.

Output (--format text): one line per issue,
  FILE[:LINE] Type/id PATH: severity: message (fix)
then a summary. --format json prints one FHIR Bundle (type collection) with
one OperationOutcome per input resource, in input order; the first issue of
each (severity information) names the source as "FILE[:LINE] Type/id".

Exit status: 0 when no issue is an error (warnings are fine), 1 when any
resource has an error, 2 on usage, I/O or JSON parse errors.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{2, errors.New("validate: give at least one FILE, DIR or - (stdin)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd, f, args)
		},
	}
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text (one line per issue) or json (a Bundle of OperationOutcome)")
	cmd.Flags().StringVar(&f.profile, "profile", "", "force the checks of an it4ct profile on every study/subject: national, site or subject")
	cmd.Flags().BoolVar(&f.quiet, "quiet", false, "print only error issues (no warnings, information or summary)")
	// usage errors (bad flags, no argument) exit 2 as well
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{2, err} })
	_ = g
	return cmd
}

// input is one resource (or Bundle) read from a file.
type input struct {
	file string
	line int // 0 for a whole .json file
	data []byte
}

func runValidate(cmd *cobra.Command, f *validateFlags, args []string) error {
	if f.format != "text" && f.format != "json" {
		return &exitError{2, fmt.Errorf("--format %q: use text or json", f.format)}
	}
	opts := mapping.ValidateOptions{}
	if f.profile != "" {
		p, ok := profileFlag[f.profile]
		if !ok {
			return &exitError{2, fmt.Errorf("--profile %q: use national, site or subject", f.profile)}
		}
		opts.Profile = p
	}
	var inputs []input
	for _, a := range args {
		in, err := readInputs(cmd.InOrStdin(), a)
		if err != nil {
			return &exitError{2, err}
		}
		inputs = append(inputs, in...)
	}
	out := cmd.OutOrStdout()
	var outcomes []json.RawMessage
	nErr, nWarn := 0, 0
	for _, in := range inputs {
		var doc map[string]any
		if err := json.Unmarshal(in.data, &doc); err != nil {
			return &exitError{2, fmt.Errorf("%s: not a JSON object: %w", in.where(), err)}
		}
		issues := mapping.ValidateWith(in.data, opts)
		src := in.where() + " " + resourceName(doc)
		for _, is := range issues {
			switch is.Severity {
			case mapping.SeverityError:
				nErr++
			case mapping.SeverityWarning:
				nWarn++
			}
			if f.format == "text" && (!f.quiet || is.Severity == mapping.SeverityError) {
				name := resourceName(entryOf(doc, is.Path))
				line := fmt.Sprintf("%s %s %s: %s: %s", in.where(), name, is.Path, is.Severity, is.Message)
				if is.Fix != "" {
					line += " (" + is.Fix + ")"
				}
				fmt.Fprintln(out, line)
			}
		}
		if f.format == "json" {
			head := mapping.Issue{Severity: mapping.SeverityInformation, Code: "source", Message: src}
			outcomes = append(outcomes, mapping.OperationOutcome(append([]mapping.Issue{head}, issues...)))
		}
	}
	if f.format == "json" {
		type entry struct {
			Resource json.RawMessage `json:"resource"`
		}
		b := struct {
			ResourceType string  `json:"resourceType"`
			Type         string  `json:"type"`
			Entry        []entry `json:"entry,omitempty"`
		}{ResourceType: "Bundle", Type: "collection"}
		for _, o := range outcomes {
			b.Entry = append(b.Entry, entry{o})
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(b); err != nil {
			return &exitError{2, fmt.Errorf("write output: %w", err)}
		}
	} else if !f.quiet {
		fmt.Fprintf(out, "%d resource(s) checked: %d error(s), %d warning(s)\n", len(inputs), nErr, nWarn)
	}
	if nErr > 0 {
		return &exitError{1, fmt.Errorf("%d error(s) in %d input(s)", nErr, len(inputs))}
	}
	return nil
}

func (in input) where() string {
	if in.line > 0 {
		return in.file + ":" + strconv.Itoa(in.line)
	}
	return in.file
}

var entryPathRe = regexp.MustCompile(`^Bundle\.entry\[(\d+)\]\.resource`)

// entryOf returns the Bundle entry resource an issue path points into, or
// doc itself.
func entryOf(doc map[string]any, path string) map[string]any {
	m := entryPathRe.FindStringSubmatch(path)
	if m == nil {
		return doc
	}
	i, _ := strconv.Atoi(m[1])
	entries, _ := doc["entry"].([]any)
	if i < len(entries) {
		e, _ := entries[i].(map[string]any)
		if r, ok := e["resource"].(map[string]any); ok {
			return r
		}
	}
	return doc
}

// resourceName is "Type/id" (or "Type" without id, "-" without type).
func resourceName(doc map[string]any) string {
	rt, _ := doc["resourceType"].(string)
	id, _ := doc["id"].(string)
	switch {
	case rt == "":
		return "-"
	case id == "":
		return rt
	}
	return rt + "/" + id
}

// readInputs reads one argument: "-" (stdin), a file or a directory.
func readInputs(stdin io.Reader, arg string) ([]input, error) {
	if arg == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		if isOneJSON(b) {
			return []input{{file: "-", data: b}}, nil
		}
		return ndjson("-", b)
	}
	st, err := os.Stat(arg)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if !st.IsDir() {
		return readFile(arg)
	}
	var files []string
	err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".ndjson")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", arg, err)
	}
	sort.Strings(files)
	var out []input
	for _, p := range files {
		in, err := readFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, in...)
	}
	return out, nil
}

func readFile(p string) ([]input, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if strings.HasSuffix(p, ".ndjson") {
		return ndjson(p, b)
	}
	return []input{{file: p, data: b}}, nil
}

func isOneJSON(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return false
	}
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}

func ndjson(file string, b []byte) ([]input, error) {
	var out []input
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	n := 0
	for sc.Scan() {
		n++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		out = append(out, input{file: file, line: n, data: bytes.Clone(sc.Bytes())})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s line %d: %w", file, n+1, err)
	}
	return out, nil
}
