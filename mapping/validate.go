package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Validate checks one FHIR R4 resource given as JSON, against the rules the
// project applies to what it publishes and accepts. It works on the JSON
// itself (the samply structs drop unknown elements and invent zero values).
// It never panics and keeps going after a problem; issues are sorted by path.
//
// Checks:
//   - the document is a JSON object whose resourceType is ResearchStudy or ResearchSubject;
//   - no top-level element outside the R4 definition of that resource
//     (primitive "_x" siblings allowed only for primitive elements);
//   - id, when present, is a valid FHIR id;
//   - status is present with an R4 code of the resource's status value set (a
//     "_status" extension alone is not enough for the project);
//   - ResearchSubject.study and .individual are present;
//   - every reference (known Reference elements, identifier assigners,
//     valueReference) has a "Type/id"-shaped reference (relative, absolute URL,
//     "#contained" or urn:uuid/urn:oid) of the expected type, or an identifier
//     with a value; "{}" or display-only references are errors;
//   - identifiers: value format by system (ID-RCB, EudraCT, EU CT, NCT, FINESS;
//     a failing FINESS check key is only a warning); identifiers without system
//     or value are warnings;
//   - dates (date, dateTime, instant, Period.start/end) are well-formed and exist;
//   - extension URLs: the project's (under CanonicalBase) or R5 cross-version
//     ones; the sub-extensions of recruitment / progressStatus / associatedParty
//     are the R5 ones with the right value types; phase codes in the HL7
//     research-study-phase system exist.
func Validate(resourceJSON []byte) []Issue {
	v := &validator{}
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
	obj, ok := doc.(map[string]any)
	if !ok {
		v.add("", "invalid-json", "not a JSON object", "emit one JSON object per resource")
		return v.issues
	}
	rt, _ := obj["resourceType"].(string)
	switch rt {
	case "ResearchStudy":
		v.researchStudy(obj)
	case "ResearchSubject":
		v.researchSubject(obj)
	default:
		v.add("resourceType", "unknown-resource-type", fmt.Sprintf("resourceType %q is not ResearchStudy or ResearchSubject", clip(rt)), "")
		return v.issues
	}
	sort.SliceStable(v.issues, func(i, j int) bool { return v.issues[i].Path < v.issues[j].Path })
	return v.issues
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

type validator struct{ issues []Issue }

func (v *validator) add(path, code, msg, fix string) {
	v.issues = append(v.issues, Issue{Path: path, Severity: SeverityError, Code: code, Message: msg, Fix: fix})
}

func (v *validator) warn(path, code, msg, fix string) {
	v.issues = append(v.issues, Issue{Path: path, Severity: SeverityWarning, Code: code, Message: msg, Fix: fix})
}

// clip bounds a value quoted in a message (inputs may be hostile or huge).
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (v *validator) topLevel(rt string, obj map[string]any, elements, primitives []string) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, prim := strings.CutPrefix(k, "_")
		if prim && slices.Contains(primitives, name) {
			continue
		}
		if !prim && slices.Contains(elements, k) {
			continue
		}
		v.add(rt+"."+clip(k), "unknown-element", fmt.Sprintf("%q is not an element of R4 %s", clip(k), rt), "remove it (R5 elements go in the cross-version extensions)")
	}
	if id, ok := obj["id"]; ok {
		s, _ := id.(string)
		if !fhirIDRe.MatchString(s) {
			v.add(rt+".id", "bad-id", "id is not a FHIR id ([A-Za-z0-9-.]{1,64})", "")
		}
	}
	v.status(rt, obj)
	v.walk(rt, obj, "")
}

func (v *validator) status(rt string, obj map[string]any) {
	codes := researchStudyStatusCodes
	if rt == "ResearchSubject" {
		codes = researchSubjectStatusCodes
	}
	raw, ok := obj["status"]
	if !ok {
		msg := "status is required"
		if _, ext := obj["_status"]; ext {
			msg = "status has no code (only a _status extension); it4ct requires a code"
		}
		v.add(rt+".status", "required", msg, "set status to one of: "+strings.Join(codes, ", "))
		return
	}
	s, isStr := raw.(string)
	if !isStr || !slices.Contains(codes, s) {
		v.add(rt+".status", "bad-code", fmt.Sprintf("status %s is not an R4 %s status code", clipJSON(raw), rt), "use one of: "+strings.Join(codes, ", "))
	}
}

func clipJSON(x any) string {
	b, _ := json.Marshal(x)
	return clip(string(b))
}

func (v *validator) researchStudy(obj map[string]any) {
	const rt = "ResearchStudy"
	v.topLevel(rt, obj, researchStudyElements, researchStudyPrimitives)
	v.refList(rt+".partOf", obj["partOf"], "ResearchStudy")
	v.refList(rt+".protocol", obj["protocol"], "PlanDefinition")
	v.refList(rt+".enrollment", obj["enrollment"], "Group")
	v.refList(rt+".site", obj["site"], "Location")
	v.refOpt(rt+".sponsor", obj["sponsor"], "Organization")
	v.refOpt(rt+".principalInvestigator", obj["principalInvestigator"], "Practitioner", "PractitionerRole")
	if ph, ok := obj["phase"]; ok {
		v.phase(rt+".phase", ph)
	}
}

func (v *validator) researchSubject(obj map[string]any) {
	const rt = "ResearchSubject"
	v.topLevel(rt, obj, researchSubjectElements, researchSubjectPrimitives)
	for _, e := range []struct{ name, typ string }{{"study", "ResearchStudy"}, {"individual", "Patient"}} {
		x, ok := obj[e.name]
		if !ok {
			v.add(rt+"."+e.name, "required", e.name+" is required", "")
			continue
		}
		v.ref(rt+"."+e.name, x, e.typ)
	}
	v.refOpt(rt+".consent", obj["consent"], "Consent")
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
		v.ref(fmt.Sprintf("%s[%d]", path, i), e, types...)
	}
}

func (v *validator) refOpt(path string, x any, types ...string) {
	if x != nil {
		v.ref(path, x, types...)
	}
}

// ref checks a Reference. types are the allowed target types (empty: any).
func (v *validator) ref(path string, x any, types ...string) {
	obj, ok := x.(map[string]any)
	if !ok {
		v.add(path, "bad-type", "a Reference must be a JSON object", "")
		return
	}
	r, hasRef := obj["reference"]
	id, hasID := obj["identifier"]
	if !hasRef && !hasID {
		v.add(path, "empty-reference", "reference has neither reference nor identifier", "point to \"Type/id\" or give an identifier (system and value)")
		return
	}
	if hasRef {
		s, _ := r.(string)
		var typ string
		if m := refRelRe.FindStringSubmatch(s); m != nil {
			typ = m[1]
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
	if hasID && !hasRef {
		io, _ := id.(map[string]any)
		if s, _ := io["value"].(string); s == "" {
			v.add(path+".identifier.value", "empty-reference", "logical reference without identifier value", "set identifier.system and identifier.value")
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
// name of the member x is the value of.
func (v *validator) walk(path string, x any, key string) {
	switch t := x.(type) {
	case []any:
		for i, e := range t {
			v.walk(fmt.Sprintf("%s[%d]", path, i), e, key)
		}
	case map[string]any:
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
			v.extension(path, t)
		case "assigner", "valueReference":
			v.ref(path, t)
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := t[k]
			p := path + "." + clip(k)
			switch k {
			case "valueDate":
				v.date(p, val, dateRe, "date")
			case "valueDateTime":
				v.date(p, val, dateTimeRe, "dateTime")
			case "valueInstant", "lastUpdated":
				v.date(p, val, instantRe, "instant")
			}
			if key == "div" || k == "div" {
				continue
			}
			v.walk(p, val, k)
		}
	}
}

func (v *validator) date(path string, x any, re *regexp.Regexp, kind string) {
	s, _ := x.(string)
	if !re.MatchString(s) {
		v.add(path, "bad-date", fmt.Sprintf("%s is not a FHIR %s", clipJSON(x), kind), "use YYYY-MM-DD (or YYYY, YYYY-MM; times need a time zone)")
		return
	}
	if len(s) >= 10 {
		if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
			v.add(path, "bad-date", fmt.Sprintf("%q is not a calendar date", s[:10]), "")
		}
	}
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
	var re *regexp.Regexp
	var what string
	switch sys {
	case SystemIDRCB:
		re, what = idrcbRe, "ID-RCB (20YY-A99999-99)"
	case SystemEudraCT:
		re, what = eudractRe, "EudraCT (20YY-099999-99)"
	case SystemEUCT:
		re, what = euctRe, "EU CT number (YYYY-999999-99-99)"
	case SystemNCT, SystemNCTLegacy:
		re, what = nctRe, "NCT number (NCT99999999)"
	case SystemFINESS:
		re, what = finessRe, "FINESS (9 characters: digits, 2A/2B for Corsica)"
	default:
		return
	}
	if !re.MatchString(val) {
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

// extension checks one extension object at the resource level or nested.
func (v *validator) extension(path string, ext map[string]any) {
	url, _ := ext["url"].(string)
	if url == "" {
		v.add(path+".url", "required", "extension has no url", "")
		return
	}
	nested := strings.Count(path, "extension[") > 1
	if nested {
		return // sub-extensions are checked by their parent
	}
	switch url {
	case ExtRecruitment:
		v.subExtensions(path, ext, map[string]string{subExtTargetNumber: "valueUnsignedInt", subExtActualNumber: "valueUnsignedInt", "eligibility": "valueReference", "actualGroup": "valueReference"})
	case ExtProgressStatus:
		v.subExtensions(path, ext, map[string]string{subExtState: "valueCodeableConcept", subExtActual: "valueBoolean", subExtPeriod: "valuePeriod"})
	case ExtAssociatedParty:
		v.subExtensions(path, ext, map[string]string{subExtPartyName: "valueString", subExtPartyRole: "valueCodeableConcept", subExtPartyClassifier: "valueCodeableConcept", subExtPartyParty: "valueReference", "period": "valuePeriod"})
	case ExtInternational:
		v.simpleExtension(path, ext, "valueBoolean")
	case ExtTargetFrance:
		v.simpleExtension(path, ext, "valueUnsignedInt")
	case ExtSiteRole:
		v.simpleExtension(path, ext, "valueCodeableConcept")
	default:
		switch {
		case strings.HasPrefix(url, ProjectExtensionsBase):
			v.add(path+".url", "unknown-extension", fmt.Sprintf("%q is not an extension the project defines", clip(url)), "")
		case strings.HasPrefix(url, R5ExtensionBase) && canonicalRe.MatchString(url):
			// other R5 cross-version extensions: accepted, not checked further
		default:
			v.add(path+".url", "unknown-extension", fmt.Sprintf("extension %q is neither a project extension nor an R5 cross-version one", clip(url)), "carry the data in a project or R5 cross-version extension, or drop it")
		}
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
		v.add(path, "bad-extension", fmt.Sprintf("extension %s needs exactly one %s", ext["url"], want), "")
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

func (v *validator) subExtensions(path string, ext map[string]any, allowed map[string]string) {
	if len(valueKeys(ext)) > 0 {
		v.add(path, "bad-extension", "complex extension must not have a value[x]", "")
	}
	subs, _ := ext["extension"].([]any)
	if len(subs) == 0 {
		v.add(path+".extension", "bad-extension", "complex extension without sub-extension", "")
		return
	}
	for i, s := range subs {
		p := fmt.Sprintf("%s.extension[%d]", path, i)
		so, ok := s.(map[string]any)
		if !ok {
			v.add(p, "bad-type", "extension must be a JSON object", "")
			continue
		}
		url, _ := so["url"].(string)
		want, known := allowed[url]
		if !known {
			v.add(p+".url", "unknown-extension", fmt.Sprintf("%q is not a sub-extension of %s", clip(url), ext["url"]), "")
			continue
		}
		ks := valueKeys(so)
		if len(ks) != 1 || ks[0] != want {
			v.add(p, "bad-extension", fmt.Sprintf("sub-extension %s needs exactly one %s", url, want), "")
			continue
		}
		if want == "valueUnsignedInt" {
			v.unsignedInt(p+"."+want, so[want])
		}
	}
}
