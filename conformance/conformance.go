package conformance

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// Version is the business version of every conformance resource it4ct
// publishes (StructureDefinition.version, CodeSystem.version, …). Bump it
// when any resource changes; see docs/fhir.md, "Versions".
const Version = "0.1.0"

// CanonicalBase is the canonical URL of every project-defined artefact. It
// equals mapping.CanonicalBase (tested); it is repeated here because mapping
// may depend on this package.
const CanonicalBase = "https://fr-it4ct.github.io/fhir"

// Value sets the profiles bind to.
const (
	ValueSetStudyCategory  = CanonicalBase + "/ValueSet/study-category"
	ValueSetStudyMilestone = CanonicalBase + "/ValueSet/study-milestone"
	ValueSetSiteMilestone  = CanonicalBase + "/ValueSet/site-milestone"
	ValueSetSponsorType    = CanonicalBase + "/ValueSet/sponsor-type"
	ValueSetSiteRole       = CanonicalBase + "/ValueSet/site-role"

	ValueSetR4StudyStatus   = "http://hl7.org/fhir/ValueSet/research-study-status"
	ValueSetR4SubjectStatus = "http://hl7.org/fhir/ValueSet/research-subject-status"
	ValueSetR4StudyPhase    = "http://hl7.org/fhir/ValueSet/research-study-phase"
	ValueSetR5PartyRole     = "http://hl7.org/fhir/ValueSet/research-study-party-role"
)

// URLs of the R5 cross-version extensions that carry a NamingSystem's
// canonical URL and version in R4.
const (
	extNamingSystemURL     = "http://hl7.org/fhir/5.0/StructureDefinition/extension-NamingSystem.url"
	extNamingSystemVersion = "http://hl7.org/fhir/5.0/StructureDefinition/extension-NamingSystem.version"
)

//go:embed resources/*.json
var resources embed.FS

// FS returns the embedded conformance resources: resources/*.json, one FHIR
// R4 resource per file.
func FS() fs.FS { return resources }

// Resource is one conformance resource.
type Resource struct {
	Type    string // resourceType: StructureDefinition, CodeSystem, ValueSet, NamingSystem
	URL     string // canonical URL, without |version
	Version string // business version (Version)
	Name    string // computable name
	JSON    []byte // the resource as stored in resources/
}

// Element is the part of a differential ElementDefinition that a validator
// needs.
type Element struct {
	ID        string
	Path      string
	SliceName string
	Min       *int   // nil: not constrained
	Max       string // "": not constrained; "0", "1" or "*"
	// Types: code of each allowed type, with its profiles (extensions) and
	// target profiles (references).
	Types    []ElementType
	FixedURI string
	Binding  *Binding
	// MustSupport is true for elements the mapping fills whenever the
	// canonical record has the data.
	MustSupport bool
}

// ElementType is one ElementDefinition.type.
type ElementType struct {
	Code          string
	Profile       []string
	TargetProfile []string
}

// Binding is an ElementDefinition.binding.
type Binding struct {
	Strength string // required | extensible | preferred | example
	ValueSet string // canonical, possibly with |version
}

// All returns every conformance resource, sorted by type then URL.
func All() ([]Resource, error) {
	ix, err := loadIndex()
	if err != nil {
		return nil, err
	}
	return slices.Clone(ix.resources), nil
}

// Lookup returns the resource whose canonical URL is url (a "|version"
// suffix is ignored). A NamingSystem is also found by the identifier system
// it defines (e.g. mapping.SystemIDRCB).
func Lookup(url string) (Resource, bool) {
	ix, err := loadIndex()
	if err != nil {
		return Resource{}, false
	}
	i, ok := ix.byURL[stripVersion(url)]
	if !ok {
		return Resource{}, false
	}
	return ix.resources[i], true
}

// CodeSystemCodes returns the codes of a code system: one of it4ct's
// CodeSystems, or one of the FHIR core code systems the profiles bind to
// (R4 research-study-status, research-subject-status, research-study-phase;
// R5 research-study-party-role, research-study-party-org-type). ok is false
// for any other system. The map is the caller's.
func CodeSystemCodes(url string) (map[string]bool, bool) {
	url = stripVersion(url)
	if ix, err := loadIndex(); err == nil {
		if codes, ok := ix.codeSystems[url]; ok {
			return set(codes), true
		}
	}
	if cs, ok := coreBySystem(url); ok {
		return set(cs.codes), true
	}
	return nil, false
}

// ValueSetCodes returns the expansion of a value set as system -> codes: one
// of it4ct's ValueSets (expanded from compose), or one of the core value sets
// holding every code of a core code system listed at CodeSystemCodes
// (e.g. ValueSetR4StudyStatus). A "|version" suffix is ignored. The map is
// the caller's.
func ValueSetCodes(url string) (map[string]map[string]bool, bool) {
	url = stripVersion(url)
	if ix, err := loadIndex(); err == nil {
		if vs, ok := ix.valueSets[url]; ok {
			out := make(map[string]map[string]bool, len(vs))
			for system, codes := range vs {
				out[system] = set(codes)
			}
			return out, true
		}
	}
	if cs, ok := coreByValueSet(url); ok {
		return map[string]map[string]bool{cs.system: set(cs.codes)}, true
	}
	return nil, false
}

// Differential returns the differential elements of one of it4ct's
// StructureDefinitions (profiles and extensions), in file order.
func Differential(url string) ([]Element, bool) {
	ix, err := loadIndex()
	if err != nil {
		return nil, false
	}
	els, ok := ix.differentials[stripVersion(url)]
	if !ok {
		return nil, false
	}
	out := make([]Element, len(els))
	for i, e := range els {
		out[i] = e
		out[i].Types = make([]ElementType, len(e.Types))
		for j, t := range e.Types {
			out[i].Types[j] = ElementType{Code: t.Code, Profile: slices.Clone(t.Profile), TargetProfile: slices.Clone(t.TargetProfile)}
		}
		if e.Min != nil {
			out[i].Min = new(*e.Min)
		}
		if e.Binding != nil {
			out[i].Binding = new(*e.Binding)
		}
	}
	return out, true
}

// Bundle returns every conformance resource in one FHIR R4 Bundle of type
// collection; each entry's fullUrl is the resource's canonical URL.
func Bundle() ([]byte, error) {
	ix, err := loadIndex()
	if err != nil {
		return nil, err
	}
	type entry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	}
	b := struct {
		ResourceType string  `json:"resourceType"`
		ID           string  `json:"id"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{
		ResourceType: "Bundle",
		ID:           "it4ct-conformance-" + strings.ReplaceAll(Version, ".", "-"),
		Type:         "collection",
	}
	for _, r := range ix.resources {
		var buf bytes.Buffer
		if err := json.Compact(&buf, r.JSON); err != nil {
			return nil, fmt.Errorf("conformance: bundle %s: %w", r.URL, err)
		}
		b.Entry = append(b.Entry, entry{FullURL: r.URL, Resource: buf.Bytes()})
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("conformance: bundle: %w", err)
	}
	return out, nil
}

// index is the parsed content of the embedded resources; immutable once
// built.
type index struct {
	resources     []Resource
	byURL         map[string]int
	codeSystems   map[string][]string            // url -> codes
	valueSets     map[string]map[string][]string // url -> system -> codes
	differentials map[string][]Element
}

// loadIndex parses the embedded resources once.
var loadIndex = sync.OnceValues(func() (*index, error) { return buildIndex(resources) })

// raw is the subset of a conformance resource that the index reads.
type raw struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	URL          string `json:"url"`
	Version      string `json:"version"`
	Name         string `json:"name"`
	Extension    []struct {
		URL         string `json:"url"`
		ValueURI    string `json:"valueUri"`
		ValueString string `json:"valueString"`
	} `json:"extension"`
	UniqueID []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"uniqueId"`
	Concept []concept `json:"concept"`
	Compose *struct {
		Include []include `json:"include"`
		Exclude []include `json:"exclude"`
	} `json:"compose"`
	Differential *struct {
		Element []rawElement `json:"element"`
	} `json:"differential"`
}

type concept struct {
	Code    string    `json:"code"`
	Concept []concept `json:"concept"`
}

type include struct {
	System   string                  `json:"system"`
	Concept  []struct{ Code string } `json:"concept"`
	Filter   []json.RawMessage       `json:"filter"`
	ValueSet []string                `json:"valueSet"`
}

type rawElement struct {
	ID          string   `json:"id"`
	Path        string   `json:"path"`
	SliceName   string   `json:"sliceName"`
	Min         *int     `json:"min"`
	Max         string   `json:"max"`
	FixedURI    string   `json:"fixedUri"`
	MustSupport bool     `json:"mustSupport"`
	Binding     *Binding `json:"binding"`
	Type        []struct {
		Code          string   `json:"code"`
		Profile       []string `json:"profile"`
		TargetProfile []string `json:"targetProfile"`
	} `json:"type"`
}

func (c concept) codes(out []string) []string {
	out = append(out, c.Code)
	for _, sub := range c.Concept {
		out = sub.codes(out)
	}
	return out
}

func buildIndex(fsys fs.FS) (*index, error) {
	names, err := fs.Glob(fsys, "resources/*.json")
	if err != nil {
		return nil, fmt.Errorf("conformance: list resources: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("conformance: no resource under resources/")
	}
	ix := &index{byURL: map[string]int{}, codeSystems: map[string][]string{},
		valueSets: map[string]map[string][]string{}, differentials: map[string][]Element{}}
	var vsRaw []raw
	type parsed struct {
		r   Resource
		raw raw
	}
	var all []parsed
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("conformance: read %s: %w", name, err)
		}
		var r raw
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("conformance: parse %s: %w", name, err)
		}
		res := Resource{Type: r.ResourceType, URL: r.URL, Version: r.Version, Name: r.Name, JSON: b}
		if r.ResourceType == "NamingSystem" {
			for _, e := range r.Extension {
				switch e.URL {
				case extNamingSystemURL:
					res.URL = e.ValueURI
				case extNamingSystemVersion:
					res.Version = e.ValueString
				}
			}
		}
		if want := r.ResourceType + "-" + r.ID + ".json"; path.Base(name) != want {
			return nil, fmt.Errorf("conformance: %s holds %s/%s; name the file %s", name, r.ResourceType, r.ID, want)
		}
		switch {
		case res.URL == "":
			return nil, fmt.Errorf("conformance: %s: no canonical url", name)
		case res.Version != Version:
			return nil, fmt.Errorf("conformance: %s: version %q, want %q (conformance.Version)", name, res.Version, Version)
		case res.Name == "":
			return nil, fmt.Errorf("conformance: %s: no name", name)
		}
		all = append(all, parsed{res, r})
	}
	slices.SortFunc(all, func(a, b parsed) int {
		if c := strings.Compare(a.r.Type, b.r.Type); c != 0 {
			return c
		}
		return strings.Compare(a.r.URL, b.r.URL)
	})
	addURL := func(url string, i int) error {
		if j, dup := ix.byURL[url]; dup {
			return fmt.Errorf("conformance: url %s is used by both %s and %s", url, ix.resources[j].Name, ix.resources[i].Name)
		}
		ix.byURL[url] = i
		return nil
	}
	for i, p := range all {
		ix.resources = append(ix.resources, p.r)
		if err := addURL(p.r.URL, i); err != nil {
			return nil, err
		}
		switch p.r.Type {
		case "NamingSystem":
			for _, u := range p.raw.UniqueID {
				if u.Type == "uri" {
					if err := addURL(u.Value, i); err != nil {
						return nil, err
					}
				}
			}
		case "CodeSystem":
			var codes []string
			for _, c := range p.raw.Concept {
				codes = c.codes(codes)
			}
			ix.codeSystems[p.r.URL] = codes
		case "ValueSet":
			vsRaw = append(vsRaw, p.raw)
		case "StructureDefinition":
			if p.raw.Differential != nil {
				ix.differentials[p.r.URL] = elements(p.raw.Differential.Element)
			}
		}
	}
	for _, vs := range vsRaw {
		exp, err := ix.expand(vs)
		if err != nil {
			return nil, err
		}
		ix.valueSets[vs.URL] = exp
	}
	return ix, nil
}

// expand computes a ValueSet's codes from its compose: whole code systems
// (ours or core) and enumerated concepts. Filters, exclusions and imported
// value sets are not used by it4ct and are refused.
func (ix *index) expand(vs raw) (map[string][]string, error) {
	if vs.Compose == nil || len(vs.Compose.Include) == 0 {
		return nil, fmt.Errorf("conformance: ValueSet %s: no compose.include", vs.URL)
	}
	if len(vs.Compose.Exclude) > 0 {
		return nil, fmt.Errorf("conformance: ValueSet %s: compose.exclude is not supported", vs.URL)
	}
	out := map[string][]string{}
	for _, inc := range vs.Compose.Include {
		if inc.System == "" || len(inc.Filter) > 0 || len(inc.ValueSet) > 0 {
			return nil, fmt.Errorf("conformance: ValueSet %s: only includes of a system with or without concepts are supported", vs.URL)
		}
		if len(inc.Concept) > 0 {
			known, checkable := ix.codeSystems[inc.System]
			if !checkable {
				if cs, ok := coreBySystem(inc.System); ok {
					known, checkable = cs.codes, true
				}
			}
			for _, c := range inc.Concept {
				if checkable && !slices.Contains(known, c.Code) {
					return nil, fmt.Errorf("conformance: ValueSet %s: code %q is not in %s", vs.URL, c.Code, inc.System)
				}
				out[inc.System] = append(out[inc.System], c.Code)
			}
			continue
		}
		codes, ok := ix.codeSystems[inc.System]
		if !ok {
			cs, core := coreBySystem(inc.System)
			if !core {
				return nil, fmt.Errorf("conformance: ValueSet %s: cannot expand unknown code system %s", vs.URL, inc.System)
			}
			codes = cs.codes
		}
		out[inc.System] = append(out[inc.System], codes...)
	}
	return out, nil
}

func elements(raws []rawElement) []Element {
	out := make([]Element, 0, len(raws))
	for _, r := range raws {
		e := Element{ID: r.ID, Path: r.Path, SliceName: r.SliceName, Min: r.Min, Max: r.Max,
			FixedURI: r.FixedURI, Binding: r.Binding, MustSupport: r.MustSupport}
		for _, t := range r.Type {
			e.Types = append(e.Types, ElementType{Code: t.Code, Profile: t.Profile, TargetProfile: t.TargetProfile})
		}
		out = append(out, e)
	}
	return out
}
