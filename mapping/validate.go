package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Validate checks one resource as the project publishes and accepts it:
// base R4 checks (see ValidateWith) plus the checks of an it4ct profile — the
// one claimed in meta.profile or, without a claim, the one its shape implies
// (ResearchStudy with partOf: site, without: national; ResearchSubject:
// subject). Map and the decoders use it. It never panics and keeps going
// after a problem; issues are sorted by path.
func Validate(resourceJSON []byte) []Issue {
	return ValidateWith(resourceJSON, ValidateOptions{Strict: true})
}

// ValidateOptions tune ValidateWith. The zero value validates as a neutral
// FHIR R4 consumer would, plus the checks of the it4ct profiles a resource
// claims in meta.profile.
type ValidateOptions struct {
	// Profile forces the checks of one it4ct profile (ProfileNationalStudy,
	// ProfileSiteStudy or ProfileSubject) on every ResearchStudy /
	// ResearchSubject, whatever meta.profile claims.
	Profile string
	// Strict applies profile checks to resources that claim none (the
	// profile is inferred from the resource's shape), as Validate does.
	Strict bool
	// Terminology resolves code systems and value sets for bindings; nil
	// uses PublishedTerminology (BuiltinTerminology answers for what it
	// does not know).
	Terminology Terminology
}

// ValidateWith checks a FHIR R4 JSON document: a ResearchStudy, a
// ResearchSubject, a Bundle of them, or one of the conformance resources
// the project publishes. It works on the JSON itself (the samply structs
// drop unknown elements and invent zero values).
//
// Base R4 checks (every ResearchStudy / ResearchSubject, whatever it claims):
//   - the document is a JSON object with a resourceType; other resource
//     types get one "not-checked" information issue (conformance resources
//     only need an id and url);
//   - no element outside the R4 definition of the resource ("_x" siblings
//     only for primitive elements); id is a FHIR id;
//   - status is present, as a code of the R4 value set or as a "_status"
//     primitive extension alone (e.g. data-absent-reason);
//   - ResearchSubject.study and .individual are present and not empty (an
//     extension-only Reference is valid R4);
//   - Reference.reference is "Type/id", an absolute URL, "#id" or a
//     urn:uuid/urn:oid, of an allowed target type; Reference.type too;
//   - identifiers: value format by system (ID-RCB, EudraCT, EU CT, NCT,
//     FINESS; a failing FINESS check key is only a warning); identifiers
//     without system or value are warnings;
//   - dates (date, dateTime, instant, Period.start/end) are well-formed and
//     exist;
//   - extensions have a url and either a value[x] or sub-extensions, not
//     both (ext-1); URLs under the project base are ones the project
//     defines; R5 cross-version extensions the validator knows
//     (recruitment, progressStatus, associatedParty, outcomeMeasure, label,
//     descriptionSummary) have the R5 sub-extensions with R5 types and
//     cardinalities; phase codes in the HL7 research-study-phase system exist.
//
// Profile checks: see checkProfile.
func ValidateWith(resourceJSON []byte, opts ValidateOptions) []Issue {
	if _, published := opts.Terminology.(publishedTerminology); published || opts.Terminology == nil {
		opts.Terminology = cachedPublished()
	}
	var pre []Issue                     // issues of the decoding
	obj, ok := decodeTree(resourceJSON) // the common case, fast
	if !ok {
		v := &validator{opts: opts}
		dec := json.NewDecoder(bytes.NewReader(resourceJSON))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			v.add("", "invalid-json", "not valid JSON: "+err.Error(), "emit one JSON object per resource")
			return v.issues
		}
		if dec.More() {
			v.add("", "invalid-json", "trailing data after the JSON object", "emit one JSON object per resource")
		}
		if obj, ok = doc.(map[string]any); !ok {
			v.add("", "invalid-json", "not a JSON object", "emit one JSON object per resource")
			return v.issues
		}
		pre = v.issues
	}
	// The checks visit the members of objects in map order: the set of
	// issues does not depend on it, but the order of issues with equal
	// paths does (the final sort is stable). So when there are issues, check
	// again visiting members in key order, for a deterministic result; a
	// valid resource (the common case) is checked once and never sorts keys.
	v := &validator{opts: opts, issues: slices.Clone(pre)}
	v.document(obj)
	if len(v.issues) > len(pre) {
		v = &validator{opts: opts, sorted: true, issues: slices.Clone(pre)}
		v.document(obj)
	}
	sort.SliceStable(v.issues, func(i, j int) bool { return v.issues[i].Path < v.issues[j].Path })
	return v.issues
}

func (v *validator) document(obj map[string]any) {
	if rt, _ := obj["resourceType"].(string); rt == "Bundle" {
		v.bundle(obj)
	} else {
		v.resource("", obj)
	}
}

// conformanceTypes are the resource types of the project's published
// conformance resources: checked only for a resourceType, an id and a url.
var conformanceTypes = []string{"StructureDefinition", "CodeSystem", "ValueSet", "NamingSystem"}

// resource checks one resource; root is its FHIRPath prefix inside a Bundle
// ("Bundle.entry[2].resource"), or "" for a top-level resource (the prefix
// is then its type).
func (v *validator) resource(root string, obj map[string]any) {
	rt, _ := obj["resourceType"].(string)
	at := func(p string) string {
		if root == "" {
			return p
		}
		return root + "." + p
	}
	switch {
	case rt == "ResearchStudy" || rt == "ResearchSubject":
		if root == "" {
			root = rt
		}
		v.root = root
		if rt == "ResearchStudy" {
			v.researchStudy(obj)
		} else {
			v.researchSubject(obj)
		}
		if p := v.profileFor(rt, obj); p != "" {
			v.checkProfile(p, obj)
		}
	case slices.Contains(conformanceTypes, rt):
		if root == "" {
			root = rt
		}
		if s, _ := obj["id"].(string); !isFHIRID(s) {
			v.add(root+".id", "bad-id", "id is missing or not a FHIR id ([A-Za-z0-9-.]{1,64})", "")
		}
		if s, _ := obj["url"].(string); rt != "NamingSystem" && !isCanonicalURL(s) { // R4 NamingSystem has no url
			v.add(root+".url", "required", "a conformance resource needs an absolute canonical url", "")
		}
		v.info(root, "not-checked", rt+" is checked only for its id and url (NamingSystem: id)", "")
	case rt == "":
		v.add(at("resourceType"), "unknown-resource-type", "resourceType is missing", "")
	default:
		v.info(at("resourceType"), "not-checked", fmt.Sprintf("resource type %q is not checked (only ResearchStudy and ResearchSubject are)", clip(rt)), "")
	}
}

func (v *validator) bundle(obj map[string]any) {
	entries, ok := obj["entry"].([]any)
	if _, has := obj["entry"]; has && !ok {
		v.add("Bundle.entry", "bad-type", "entry must be an array", "")
	}
	for i, e := range entries {
		p := indexPath("Bundle.entry", i)
		eo, _ := e.(map[string]any)
		res, ok := eo["resource"].(map[string]any)
		if !ok {
			v.info(p, "not-checked", "entry without a resource", "")
			continue
		}
		v.resource(p+".resource", res)
	}
}

// profileFor says which it4ct profile applies to a resource, if any.
func (v *validator) profileFor(rt string, obj map[string]any) string {
	if v.opts.Profile != "" {
		return v.opts.Profile
	}
	meta, _ := obj["meta"].(map[string]any)
	claimed, _ := meta["profile"].([]any)
	for _, c := range claimed {
		if s, _ := c.(string); slices.Contains(Profiles(), s) {
			return s
		}
	}
	if !v.opts.Strict {
		return ""
	}
	if rt == "ResearchSubject" {
		return ProfileSubject
	}
	if _, ok := obj["partOf"]; ok {
		return ProfileSiteStudy
	}
	return ProfileNationalStudy
}

// R4 (4.0.1) elements, from the ResearchStudy and ResearchSubject pages.
var (
	researchStudyElements = []string{"resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
		"identifier", "title", "protocol", "partOf", "status", "primaryPurposeType", "phase", "category", "focus", "condition", "contact",
		"relatedArtifact", "keyword", "location", "description", "enrollment", "period", "sponsor", "principalInvestigator", "site",
		"reasonStopped", "note", "arm", "objective"}
	researchStudyPrimitives   = []string{"id", "implicitRules", "language", "title", "status", "description"}
	researchSubjectElements   = []string{"resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension", "identifier", "status", "period", "study", "individual", "assignedArm", "actualArm", "consent"}
	researchSubjectPrimitives = []string{"id", "implicitRules", "language", "status", "assignedArm", "actualArm"}

	researchStudyStatusCodes = []string{"active", "administratively-completed", "approved", "closed-to-accrual", "closed-to-accrual-and-intervention",
		"completed", "disapproved", "in-review", "temporarily-closed-to-accrual", "temporarily-closed-to-accrual-and-intervention", "withdrawn"}
	researchSubjectStatusCodes = []string{"candidate", "eligible", "follow-up", "ineligible", "not-registered", "off-study", "on-study",
		"on-study-intervention", "on-study-observation", "pending-on-study", "potential-candidate", "screening", "withdrawn"}
	phaseCodes = []string{"n-a", "early-phase-1", "phase-1", "phase-1-phase-2", "phase-2", "phase-2-phase-3", "phase-3", "phase-4"}
)

var (
	fhirIDRe    = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	yearRe      = `([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)`
	dateRe      = regexp.MustCompile(`^` + yearRe + `(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`)
	timeRe      = `T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))`
	dateTimeRe  = regexp.MustCompile(`^` + yearRe + `(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(` + timeRe + `)?)?)?$`)
	instantRe   = regexp.MustCompile(`^` + yearRe + `-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])` + timeRe + `$`)
	refRelRe    = regexp.MustCompile(`^([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?$`)
	refAbsRe    = regexp.MustCompile(`^https?://[^\s/]+(/[^\s/]+)*/([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?$`)
	refURNRe    = regexp.MustCompile(`^(urn:uuid:[0-9a-fA-F-]{36}|urn:oid:[0-2](\.(0|[1-9][0-9]*))+|#[A-Za-z0-9\-.]{1,64})$`)
	idrcbRe     = regexp.MustCompile(`^20\d{2}-A\d{5}-\d{2}$`)
	eudractRe   = regexp.MustCompile(`^20\d{2}-0\d{5}-\d{2}$`)
	euctRe      = regexp.MustCompile(`^\d{4}-\d{6}-\d{2}-\d{2}$`)
	nctRe       = regexp.MustCompile(`^NCT\d{8}$`)
	finessRe    = regexp.MustCompile(`^(\d{9}|2[AB]\d{7})$`)
	canonicalRe = regexp.MustCompile(`^https?://\S+$`)
)

type validator struct {
	opts   ValidateOptions
	sorted bool   // visit object members in key order (see members)
	root   string // FHIRPath of the resource being checked
	issues []Issue
}

func (v *validator) add(path, code, msg, fix string) {
	v.issues = append(v.issues, Issue{Path: path, Severity: SeverityError, Code: code, Message: msg, Fix: fix})
}

func (v *validator) warn(path, code, msg, fix string) {
	v.issues = append(v.issues, Issue{Path: path, Severity: SeverityWarning, Code: code, Message: msg, Fix: fix})
}

func (v *validator) info(path, code, msg, fix string) {
	v.issues = append(v.issues, Issue{Path: path, Severity: SeverityInformation, Code: code, Message: msg, Fix: fix})
}

// clip bounds a value quoted in a message (inputs may be hostile or huge).
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func clipJSON(x any) string {
	b, _ := json.Marshal(x)
	return clip(string(b))
}

// isContainer reports a JSON object or array: the recursive checks do
// nothing with other values, so their paths need not be built.
func isContainer(x any) bool {
	switch x.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// indexPath is fmt.Sprintf("%s[%d]", path, i), cheaper.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// members iterates over the members of an object: in map order on the
// first pass over a resource, in key order on the second (see
// ValidateWith).
func (v *validator) members(m map[string]any) iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		if !v.sorted {
			for k, x := range m {
				if !yield(k, x) {
					return
				}
			}
			return
		}
		for _, k := range sortedKeys(m) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (v *validator) topLevel(rt string, obj map[string]any, elements, primitives []string) {
	for k := range v.members(obj) {
		name, prim := strings.CutPrefix(k, "_")
		if prim && slices.Contains(primitives, name) {
			continue
		}
		if !prim && slices.Contains(elements, k) {
			continue
		}
		v.add(v.root+"."+clip(k), "unknown-element", fmt.Sprintf("%q is not an element of R4 %s", clip(k), rt), "remove it (R5 elements go in the cross-version extensions)")
	}
	if id, ok := obj["id"]; ok {
		s, _ := id.(string)
		if !isFHIRID(s) {
			v.add(v.root+".id", "bad-id", "id is not a FHIR id ([A-Za-z0-9-.]{1,64})", "")
		}
	}
	v.status(rt, obj)
	v.walk(v.root, obj, "", false)
}

func statusCodes(rt string) []string {
	if rt == "ResearchSubject" {
		return researchSubjectStatusCodes
	}
	return researchStudyStatusCodes
}

// status checks the required status: base R4 accepts a "_status" primitive
// extension instead of a code (the profiles do not, see checkProfile).
func (v *validator) status(rt string, obj map[string]any) {
	codes := statusCodes(rt)
	raw, ok := obj["status"]
	if !ok {
		if se, ext := obj["_status"].(map[string]any); ext && len(se) > 0 {
			return
		}
		v.add(v.root+".status", "required", "status is required", "set status to one of: "+strings.Join(codes, ", "))
		return
	}
	s, isStr := raw.(string)
	if !isStr || !slices.Contains(codes, s) {
		v.add(v.root+".status", "bad-code", fmt.Sprintf("status %s is not an R4 %s status code", clipJSON(raw), rt), "use one of: "+strings.Join(codes, ", "))
	}
}

func (v *validator) researchStudy(obj map[string]any) {
	const rt = "ResearchStudy"
	r := v.root
	v.topLevel(rt, obj, researchStudyElements, researchStudyPrimitives)
	v.refList(r+".partOf", obj["partOf"], "ResearchStudy")
	v.refList(r+".protocol", obj["protocol"], "PlanDefinition")
	v.refList(r+".enrollment", obj["enrollment"], "Group")
	v.refList(r+".site", obj["site"], "Location")
	v.refOpt(r+".sponsor", obj["sponsor"], "Organization")
	v.refOpt(r+".principalInvestigator", obj["principalInvestigator"], "Practitioner", "PractitionerRole")
	if ph, ok := obj["phase"]; ok {
		v.phase(r+".phase", ph)
	}
}

func (v *validator) researchSubject(obj map[string]any) {
	const rt = "ResearchSubject"
	v.topLevel(rt, obj, researchSubjectElements, researchSubjectPrimitives)
	for _, e := range []struct{ name, typ string }{{"study", "ResearchStudy"}, {"individual", "Patient"}} {
		x, ok := obj[e.name]
		if !ok {
			v.add(v.root+"."+e.name, "required", e.name+" is required", "")
			continue
		}
		v.ref(v.root+"."+e.name, x, e.typ)
	}
	v.refOpt(v.root+".consent", obj["consent"], "Consent")
}

func (v *validator) refList(path string, x any, types ...string) {
	if x == nil {
		return
	}
	arr, ok := x.([]any)
	if !ok {
		v.add(path, "bad-type", "must be an array", "")
		return
	}
	for i, e := range arr {
		v.ref(indexPath(path, i), e, types...)
	}
}

func (v *validator) refOpt(path string, x any, types ...string) {
	if x != nil {
		v.ref(path, x, types...)
	}
}

// ref checks a Reference as base R4 does. types are the allowed target
// types (empty: any). A Reference needs some content: reference,
// identifier, display or an extension (data-absent-reason...).
func (v *validator) ref(path string, x any, types ...string) {
	obj, ok := x.(map[string]any)
	if !ok {
		v.add(path, "bad-type", "a Reference must be a JSON object", "")
		return
	}
	r, hasRef := obj["reference"]
	if len(obj) == 0 || (len(obj) == 1 && obj["type"] != nil) {
		v.add(path, "empty-reference", "reference is empty", "point to \"Type/id\" or give an identifier (system and value)")
	}
	if hasRef {
		s, _ := r.(string)
		var typ string
		if t, ok := relRefType(s); ok {
			typ = t
		} else if m := refAbsRe.FindStringSubmatch(s); m != nil {
			typ = m[2]
		} else if !refURNRe.MatchString(s) {
			v.add(path+".reference", "bad-reference", fmt.Sprintf("reference %s is not \"Type/id\", an absolute URL, \"#id\" or a urn:uuid/urn:oid", clipJSON(r)), "")
		}
		if typ != "" && len(types) > 0 && !slices.Contains(types, typ) {
			v.add(path+".reference", "reference-type", fmt.Sprintf("reference targets %s, want %s", typ, strings.Join(types, " or ")), "")
		}
	}
	if t, ok := obj["type"]; ok {
		s, _ := t.(string)
		if len(types) > 0 && !slices.Contains(types, s) {
			v.add(path+".type", "reference-type", fmt.Sprintf("type %s, want %s", clipJSON(t), strings.Join(types, " or ")), "")
		}
	}
}

func (v *validator) phase(path string, x any) {
	cc, ok := x.(map[string]any)
	if !ok {
		v.add(path, "bad-type", "phase must be a CodeableConcept", "")
		return
	}
	codings, _ := cc["coding"].([]any)
	for i, c := range codings {
		co, _ := c.(map[string]any)
		if sys, _ := co["system"].(string); sys != SystemPhase {
			continue
		}
		if code, _ := co["code"].(string); !slices.Contains(phaseCodes, code) {
			v.add(fmt.Sprintf("%s.coding[%d].code", path, i), "bad-code", fmt.Sprintf("%s is not a research-study-phase code", clipJSON(co["code"])), "use one of: "+strings.Join(phaseCodes, ", "))
		}
	}
}

// walk visits every object and array below x, checking identifiers, dates,
// extensions, assigners and valueReference wherever they occur. key is the
// name of the member x is the value of; subExt says x is (an array of) the
// sub-extensions of a complex extension, which their parent checks.
func (v *validator) walk(path string, x any, key string, subExt bool) {
	switch t := x.(type) {
	case []any:
		for i, e := range t {
			if isContainer(e) { // walk does nothing with scalars: no path to build
				v.walk(indexPath(path, i), e, key, subExt)
			}
		}
	case map[string]any:
		isExt := false
		switch key {
		case "identifier":
			v.identifier(path, t)
		case "period", "valuePeriod":
			for _, k := range []string{"start", "end"} {
				if s, ok := t[k]; ok {
					v.date(path+"."+k, s, dateTimeRe, "dateTime")
				}
			}
		case "extension", "modifierExtension":
			isExt = true
			v.extension(path, t, subExt)
		case "assigner", "valueReference":
			v.ref(path, t)
		}
		for k, val := range v.members(t) {
			switch k { // short keys: clip(k) is k
			case "valueDate":
				v.date(path+"."+k, val, dateRe, "date")
			case "valueDateTime":
				v.date(path+"."+k, val, dateTimeRe, "dateTime")
			case "valueInstant", "lastUpdated":
				v.date(path+"."+k, val, instantRe, "instant")
			}
			if key == "div" || k == "div" || !isContainer(val) {
				continue
			}
			v.walk(path+"."+clip(k), val, k, isExt && k == "extension")
		}
	}
}

func (v *validator) date(path string, x any, re *regexp.Regexp, kind string) {
	s, _ := x.(string)
	if !(re != instantRe && isPlainDate(s)) && !re.MatchString(s) {
		v.add(path, "bad-date", fmt.Sprintf("%s is not a FHIR %s", clipJSON(x), kind), "use YYYY-MM-DD (or YYYY, YYYY-MM; times need a time zone)")
		return
	}
	if len(s) >= 10 {
		if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
			v.add(path, "bad-date", fmt.Sprintf("%q is not a calendar date", s[:10]), "")
		}
	}
}

// identifierFormat returns the value pattern of a known identifier system
// (identifierMatch is the same check, faster).
func identifierFormat(sys string) (*regexp.Regexp, string) {
	switch sys {
	case SystemIDRCB:
		return idrcbRe, "ID-RCB (20YY-A99999-99)"
	case SystemEudraCT:
		return eudractRe, "EudraCT (20YY-099999-99)"
	case SystemEUCT:
		return euctRe, "EU CT number (YYYY-999999-99-99)"
	case SystemNCT, SystemNCTLegacy:
		return nctRe, "NCT number (NCT99999999)"
	case SystemFINESS:
		return finessRe, "FINESS (9 characters: digits, 2A/2B for Corsica)"
	}
	return nil, ""
}

func (v *validator) identifier(path string, id map[string]any) {
	sys, _ := id["system"].(string)
	val, _ := id["value"].(string)
	if sys == "" {
		v.warn(path+".system", "identifier-no-system", "identifier has no system", "set the system (NCT, EU CT, FINESS or a project URI)")
	}
	if val == "" {
		v.warn(path+".value", "identifier-no-value", "identifier has no value", "")
		return
	}
	match, known := identifierMatch(sys, val) // identifierFormat's regexp
	if !known {
		return
	}
	if !match {
		_, what := identifierFormat(sys)
		v.add(path+".value", "bad-format", fmt.Sprintf("%q is not a valid %s", clip(val), what), "correct the identifier in the source")
		return
	}
	if sys == SystemFINESS && !finessKeyOK(val) {
		v.warn(path+".value", "finess-key", fmt.Sprintf("FINESS %q fails its check key (Luhn)", val), "check the FINESS number")
	}
}

// finessKeyOK checks the Luhn key of an all-digit FINESS. Corsican numbers
// (2A/2B) are not checked.
func finessKeyOK(s string) bool {
	if len(s) != 9 || strings.ContainsAny(s, "AB") {
		return true
	}
	sum := 0
	for i := 0; i < 9; i++ {
		d := int(s[8-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// subDef is one sub-extension of a complex extension: its value type and
// cardinality.
type subDef struct {
	value    string // "valueUnsignedInt"...
	min, max int    // max -1: unbounded
}

// extDefs are the extensions whose content the validator knows: the R5
// cross-version extensions (sub-extensions and cardinalities of the R5
// backbone element, from the R5 ResearchStudy definition) and the project
// extensions. simple holds the value type of a simple extension.
var extDefs = map[string]struct {
	subs   map[string]subDef
	simple string
}{
	ExtRecruitment: {subs: map[string]subDef{subExtTargetNumber: {"valueUnsignedInt", 0, 1}, subExtActualNumber: {"valueUnsignedInt", 0, 1},
		"eligibility": {"valueReference", 0, 1}, "actualGroup": {"valueReference", 0, 1}}},
	ExtProgressStatus: {subs: map[string]subDef{subExtState: {"valueCodeableConcept", 1, 1}, subExtActual: {"valueBoolean", 0, 1}, subExtPeriod: {"valuePeriod", 0, 1}}},
	ExtAssociatedParty: {subs: map[string]subDef{subExtPartyName: {"valueString", 0, 1}, subExtPartyRole: {"valueCodeableConcept", 1, 1},
		"period": {"valuePeriod", 0, -1}, subExtPartyClassifier: {"valueCodeableConcept", 0, -1}, subExtPartyParty: {"valueReference", 0, 1}}},
	R5ExtensionBase + "extension-ResearchStudy.outcomeMeasure": {subs: map[string]subDef{"name": {"valueString", 0, 1}, "type": {"valueCodeableConcept", 0, -1},
		"description": {"valueMarkdown", 0, 1}, "reference": {"valueReference", 0, 1}}},
	R5ExtensionBase + "extension-ResearchStudy.label":              {subs: map[string]subDef{"type": {"valueCodeableConcept", 0, 1}, "value": {"valueString", 0, 1}}},
	R5ExtensionBase + "extension-ResearchStudy.descriptionSummary": {simple: "valueMarkdown"},
	ExtInternational: {simple: "valueBoolean"},
	ExtTargetFrance:  {simple: "valueUnsignedInt"},
	ExtSiteRole:      {simple: "valueCodeableConcept"},
}

// extension checks one extension object; sub is true for the
// sub-extensions of a complex extension (their parent checks their urls).
func (v *validator) extension(path string, ext map[string]any, sub bool) {
	url, _ := ext["url"].(string)
	if url == "" {
		v.add(path+".url", "required", "extension has no url", "")
		return
	}
	vals := valueKeys(ext)
	subs, hasSubs := ext["extension"]
	switch {
	case len(vals) > 0 && hasSubs:
		v.add(path, "invariant", "extension has both a value[x] and sub-extensions (ext-1)", "keep one")
	case len(vals) == 0 && !hasSubs:
		v.add(path, "invariant", "extension has neither a value[x] nor sub-extensions (ext-1)", "")
	case len(vals) > 1:
		v.add(path+".value[x]", "structure", fmt.Sprintf("extension has %d value[x] members", len(vals)), "keep one")
	}
	if sub {
		return
	}
	if !isCanonicalURL(url) && !strings.HasPrefix(url, "urn:") {
		v.add(path+".url", "bad-value", fmt.Sprintf("extension url %q is not an absolute URI", clip(url)), "")
		return
	}
	def, known := extDefs[url]
	switch {
	case known && def.simple != "":
		v.simpleExtension(path, ext, def.simple)
	case known:
		v.subExtensions(path, ext, subs, def.subs)
	case strings.HasPrefix(url, ProjectExtensionsBase):
		v.add(path+".url", "unknown-extension", fmt.Sprintf("%q is not an extension the project defines", clip(url)), "")
	}
}

func valueKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, "value") {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func (v *validator) simpleExtension(path string, ext map[string]any, want string) {
	ks := valueKeys(ext)
	if len(ks) != 1 || ks[0] != want {
		v.add(path+".value[x]", "structure", fmt.Sprintf("extension %s needs exactly one %s", ext["url"], want), "")
		return
	}
	if want == "valueUnsignedInt" {
		v.unsignedInt(path+"."+want, ext[want])
	}
}

func (v *validator) unsignedInt(path string, x any) {
	n, ok := x.(json.Number)
	if !ok {
		v.add(path, "bad-type", "unsignedInt must be a JSON number", "")
		return
	}
	if i, err := strconv.ParseInt(string(n), 10, 32); err != nil || i < 0 {
		v.add(path, "bad-value", fmt.Sprintf("%s is not an unsignedInt", clip(string(n))), "use a whole number >= 0")
	}
}

func (v *validator) subExtensions(path string, ext map[string]any, x any, allowed map[string]subDef) {
	subs, ok := x.([]any)
	if !ok || len(subs) == 0 {
		v.add(path+".extension", "structure", fmt.Sprintf("complex extension %s without sub-extension", ext["url"]), "")
		return
	}
	count := map[string]int{}
	for i, s := range subs {
		p := indexPath(path+".extension", i)
		so, ok := s.(map[string]any)
		if !ok {
			v.add(p, "bad-type", "extension must be a JSON object", "")
			continue
		}
		url, _ := so["url"].(string)
		def, known := allowed[url]
		if !known {
			v.add(p+".url", "unknown-extension", fmt.Sprintf("%q is not a sub-extension of %s", clip(url), ext["url"]), "use one of: "+strings.Join(slices.Sorted(maps.Keys(allowed)), ", "))
			continue
		}
		count[url]++
		if def.max >= 0 && count[url] == def.max+1 {
			v.add(p, "structure", fmt.Sprintf("sub-extension %s appears more than %d time(s) in %s", url, def.max, ext["url"]), "")
		}
		ks := valueKeys(so)
		if len(ks) != 1 || ks[0] != def.value {
			v.add(p+".value[x]", "structure", fmt.Sprintf("sub-extension %s needs exactly one %s", url, def.value), "")
			continue
		}
		if def.value == "valueUnsignedInt" {
			v.unsignedInt(p+"."+def.value, so[def.value])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(allowed)) {
		if d := allowed[name]; d.min > 0 && count[name] < d.min {
			v.add(path+".extension", "required", fmt.Sprintf("sub-extension %s is required in %s", name, ext["url"]), "")
		}
	}
}
