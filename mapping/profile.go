package mapping

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Profile checks, applied on top of the base R4 checks to a resource that
// claims an it4ct profile in meta.profile (or is forced to, see
// ValidateOptions). They encode what Map emits:
//
//   - every profile: id present; status a real code (a "_status" extension
//     alone is not enough) of the bound R4 value set; no extension outside
//     the profile's own (resource-level list below, with cardinalities), and
//     none on elements; references with "reference" or "identifier";
//   - studies (national and site): at least one identifier, each with a
//     value and a system among EU CT, ID-RCB, EudraCT, NCT and sponsor code
//     (a sponsor code needs an identifier-only assigner, by FINESS or sponsor
//     key); category codings from the study-category code system (and the
//     ECLAIRE regulation code); phase codings from research-study-phase; the
//     sponsor, when present, by FINESS identifier only; progressStatus state
//     from the milestone code system with a period.start; associatedParty
//     role lead-sponsor, classifier from sponsor-type (or the R5 org type),
//     party by FINESS identifier only; site-role from the site-role code
//     system;
//   - national study: no partOf, no site; extensions associatedParty 0..1,
//     international 0..1, recruitment 0..1, recruitment-target-france 0..1,
//     progressStatus 0..*;
//   - site study: partOf 1..1 "ResearchStudy/<id>"; site 1..1 by FINESS
//     identifier only; extensions site-role 0..1, recruitment 0..1,
//     progressStatus 0..*;
//   - subject: no identifier (local ids never leave the hospital); study
//     "ResearchStudy/<id>"; individual by pseudonym identifier only (no
//     reference, no display); period.start unless the status is ineligible
//     (screen failure); no extension.
func (v *validator) checkProfile(profile string, obj map[string]any) {
	rt, _ := obj["resourceType"].(string)
	r := v.root
	want := "ResearchStudy"
	if profile == ProfileSubject {
		want = "ResearchSubject"
	}
	if !slices.Contains(Profiles(), profile) {
		v.add(r+".meta.profile", "profile-mismatch", fmt.Sprintf("%q is not an it4ct profile", clip(profile)), "use one of: "+strings.Join(Profiles(), ", "))
		return
	}
	if rt != want {
		v.add(r+".resourceType", "profile-mismatch", fmt.Sprintf("profile %s is for %s, not %s", profile, want, rt), "")
		return
	}
	if _, ok := obj["id"]; !ok {
		v.add(r+".id", "required", "id is required by "+profile, "")
	}
	v.profileStatus(rt, obj)
	allowed := map[string]int{} // extension url -> max (-1 unbounded)
	switch profile {
	case ProfileNationalStudy:
		allowed = map[string]int{ExtAssociatedParty: 1, ExtInternational: 1, ExtRecruitment: 1, ExtTargetFrance: 1, ExtProgressStatus: -1}
		for _, k := range []string{"partOf", "site"} {
			if _, ok := obj[k]; ok {
				v.add(r+"."+k, "cardinality", k+" is not allowed in a national study (only in a site study)", "use "+ProfileSiteStudy+" for a site")
			}
		}
	case ProfileSiteStudy:
		allowed = map[string]int{ExtSiteRole: 1, ExtRecruitment: 1, ExtProgressStatus: -1}
		v.exactlyOne(r+".partOf", obj["partOf"], func(p string, ref map[string]any) {
			v.literalRef(p, ref, "ResearchStudy")
		})
		v.exactlyOne(r+".site", obj["site"], func(p string, ref map[string]any) {
			v.logicalRef(p, ref, SystemFINESS)
		})
	case ProfileSubject:
		if _, ok := obj["identifier"]; ok {
			v.add(r+".identifier", "privacy", "a ResearchSubject must not carry identifiers (local subject ids never leave the hospital)", "remove identifier; the subject is known by its pseudonym only")
		}
		if s, ok := obj["study"].(map[string]any); ok {
			v.literalRef(r+".study", s, "ResearchStudy")
		}
		if ind, ok := obj["individual"].(map[string]any); ok {
			v.logicalRef(r+".individual", ind, SystemPseudonym)
			if _, ok := ind["display"]; ok {
				v.add(r+".individual.display", "privacy", "individual must not have a display", "remove it")
			}
		}
		if st, _ := obj["status"].(string); st != "ineligible" {
			per, _ := obj["period"].(map[string]any)
			if _, ok := per["start"]; !ok {
				v.add(r+".period.start", "required", "period.start (inclusion date) is required unless the status is ineligible", "")
			}
		}
	}
	v.profileExtensions(obj, allowed)
	if want == "ResearchStudy" {
		v.studyProfile(obj)
	}
}

func (v *validator) profileStatus(rt string, obj map[string]any) {
	raw, ok := obj["status"]
	if !ok {
		if _, ext := obj["_status"]; ext {
			v.add(v.root+".status", "required", "status has no code (only a _status extension); the it4ct profiles require a code", "set status to one of: "+strings.Join(statusCodes(rt), ", "))
		}
		return // base already reported a missing status
	}
	s, _ := raw.(string)
	vs, sys := ValueSetResearchStudyStatus, SystemResearchStudyStatus
	if rt == "ResearchSubject" {
		vs, sys = ValueSetResearchSubjectStatus, SystemResearchSubjectStatus
	}
	codes, known := v.valueSetSystem(vs, sys)
	if known && !codes[s] && slices.Contains(statusCodes(rt), s) {
		// base accepted it from the R4 table; the terminology disagrees
		v.add(v.root+".status", "bad-code", fmt.Sprintf("status %q is not in %s", clip(s), vs), "")
	}
}

// exactlyOne checks a 1..1 array of Reference.
func (v *validator) exactlyOne(path string, x any, f func(string, map[string]any)) {
	arr, _ := x.([]any)
	if len(arr) != 1 {
		v.add(path, "cardinality", fmt.Sprintf("exactly one %s is required, found %d", path[strings.LastIndex(path, ".")+1:], len(arr)), "")
	}
	for i, e := range arr {
		if o, ok := e.(map[string]any); ok {
			f(indexPath(path, i), o)
		}
	}
}

var refLocalRe = regexp.MustCompile(`^([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}$`)

// literalRef requires a relative "Type/id" reference and nothing else.
func (v *validator) literalRef(path string, ref map[string]any, typ string) {
	s, _ := ref["reference"].(string)
	if t, ok := localRefType(s); !ok || t != typ {
		v.add(path+".reference", "reference-shape", fmt.Sprintf("reference must be %q, got %s", typ+"/<id>", clipJSON(ref["reference"])), "")
	}
	if _, ok := ref["identifier"]; ok {
		v.add(path+".identifier", "reference-shape", "a literal reference must not also carry an identifier", "")
	}
}

// logicalRef requires an identifier-only reference with the given system.
func (v *validator) logicalRef(path string, ref map[string]any, system string) {
	if _, ok := ref["reference"]; ok {
		v.add(path+".reference", "reference-shape", "must be a logical reference (identifier only), not a literal reference", "remove reference")
	}
	id, ok := ref["identifier"].(map[string]any)
	if !ok {
		v.add(path+".identifier", "required", "identifier (system "+system+") is required", "")
		return
	}
	if s, _ := id["system"].(string); s != system {
		v.add(path+".identifier.system", "reference-shape", fmt.Sprintf("identifier system must be %s, got %s", system, clipJSON(id["system"])), "")
	}
	if s, _ := id["value"].(string); s == "" {
		v.add(path+".identifier.value", "required", "identifier value is required", "")
	}
}

// profileExtensions checks the resource-level extensions against the
// profile's list and refuses extensions anywhere else.
func (v *validator) profileExtensions(obj map[string]any, allowed map[string]int) {
	r := v.root
	exts, _ := obj["extension"].([]any)
	count := map[string]int{}
	for i, e := range exts {
		eo, _ := e.(map[string]any)
		url, _ := eo["url"].(string)
		p := indexPath(r+".extension", i)
		max, ok := allowed[url]
		if !ok {
			if url != "" {
				v.add(p+".url", "unknown-extension", fmt.Sprintf("extension %q is not allowed by this profile", clip(url)), "")
			}
			continue
		}
		count[url]++
		if max >= 0 && count[url] == max+1 {
			v.add(p, "cardinality", fmt.Sprintf("extension %s appears more than %d time(s)", url, max), "")
		}
		for j, s := range subExtensionsOf(eo) {
			v.noExtensions(indexPath(p+".extension", j), s, true)
		}
		v.noExtensions(p, eo, true)
	}
	for k, val := range v.members(obj) {
		if k != "extension" && isContainer(val) {
			v.noExtensions(r+"."+clip(k), val, false)
		}
	}
}

func subExtensionsOf(ext map[string]any) []map[string]any {
	arr, _ := ext["extension"].([]any)
	var out []map[string]any
	for _, s := range arr {
		if so, ok := s.(map[string]any); ok {
			out = append(out, so)
		}
	}
	return out
}

// noExtensions reports extension / modifierExtension members below x. When
// skipOwn, x is itself an (allowed) extension: its own "extension" member
// (the sub-extensions) is not reported, but extensions inside its values are.
func (v *validator) noExtensions(path string, x any, skipOwn bool) {
	switch t := x.(type) {
	case []any:
		for i, e := range t {
			if isContainer(e) { // nothing to check in scalars: no path to build
				v.noExtensions(indexPath(path, i), e, false)
			}
		}
	case map[string]any:
		for k, val := range v.members(t) {
			if k == "extension" && skipOwn {
				continue
			}
			if k == "extension" || k == "modifierExtension" {
				v.add(path+"."+k, "unknown-extension", "the it4ct profiles allow no extension here", "remove it")
				continue
			}
			if !isContainer(val) {
				continue
			}
			if strings.HasPrefix(k, "value") && skipOwn {
				v.noExtensions(path+"."+k, val, false)
				continue
			}
			if !skipOwn {
				v.noExtensions(path+"."+clip(k), val, false)
			}
		}
	}
}

var studyIdentifierSystems = []string{SystemEUCT, SystemIDRCB, SystemEudraCT, SystemNCT, SystemNCTLegacy, SystemSponsorCode}

func (v *validator) studyProfile(obj map[string]any) {
	r := v.root
	ids, _ := obj["identifier"].([]any)
	if len(ids) == 0 {
		v.add(r+".identifier", "required", "at least one study identifier is required", "give an EU CT, ID-RCB, EudraCT, NCT number or sponsor code")
	}
	for i, x := range ids {
		p := indexPath(r+".identifier", i)
		id, _ := x.(map[string]any)
		sys, _ := id["system"].(string)
		if !slices.Contains(studyIdentifierSystems, sys) {
			v.add(p+".system", "unknown-code-system", fmt.Sprintf("identifier system %s is not a study identifier system of the profile", clipJSON(id["system"])), "use one of: "+strings.Join(studyIdentifierSystems, ", "))
		}
		if s, _ := id["value"].(string); s == "" {
			v.add(p+".value", "required", "identifier value is required", "")
		}
		if sys == SystemSponsorCode {
			as, ok := id["assigner"].(map[string]any)
			if !ok {
				v.add(p+".assigner", "required", "a sponsor code needs its assigner (the sponsor)", "")
			} else {
				aid, _ := as["identifier"].(map[string]any)
				if s, _ := aid["system"].(string); s != SystemFINESS && s != SystemSponsorKey {
					v.add(p+".assigner.identifier.system", "reference-shape", "assigner must be identified by FINESS or sponsor key", "")
				}
				if _, ok := as["reference"]; ok {
					v.add(p+".assigner.reference", "reference-shape", "assigner must be a logical reference (identifier only)", "")
				}
			}
		}
	}
	if cats, ok := obj["category"].([]any); ok && len(cats) > 1 {
		v.add(r+".category", "cardinality", "at most one category", "")
	}
	v.codings(r+".category", obj["category"], []string{CodeSystemCategory, SystemECLAIRERegulation})
	v.codings(r+".phase", obj["phase"], []string{SystemPhase})
	if sp, ok := obj["sponsor"].(map[string]any); ok {
		v.logicalRef(r+".sponsor", sp, SystemFINESS)
	}
	exts, _ := obj["extension"].([]any)
	for i, e := range exts {
		eo, _ := e.(map[string]any)
		p := indexPath(r+".extension", i)
		url, _ := eo["url"].(string)
		switch url {
		case ExtSiteRole:
			v.codings(p+".valueCodeableConcept", eo["valueCodeableConcept"], []string{CodeSystemSiteRole})
		case ExtProgressStatus, ExtAssociatedParty:
			for j, s := range subExtensionsOf(eo) {
				sp := indexPath(p+".extension", j)
				name, _ := s["url"].(string)
				switch url + "#" + name {
				case ExtProgressStatus + "#" + subExtState:
					v.codings(sp+".valueCodeableConcept", s["valueCodeableConcept"], []string{CodeSystemMilestone})
				case ExtProgressStatus + "#" + subExtPeriod:
					per, _ := s["valuePeriod"].(map[string]any)
					if _, ok := per["start"]; !ok {
						v.add(sp+".valuePeriod.start", "required", "a milestone needs its date (period.start)", "")
					}
				case ExtAssociatedParty + "#" + subExtPartyRole:
					v.codings(sp+".valueCodeableConcept", s["valueCodeableConcept"], []string{SystemR5PartyRole})
				case ExtAssociatedParty + "#" + subExtPartyClassifier:
					v.codings(sp+".valueCodeableConcept", s["valueCodeableConcept"], []string{CodeSystemSponsorType, SystemR5PartyOrgType})
				case ExtAssociatedParty + "#" + subExtPartyParty:
					if ref, ok := s["valueReference"].(map[string]any); ok {
						v.logicalRef(sp+".valueReference", ref, SystemFINESS)
					}
				}
			}
		}
	}
}

// codings checks a CodeableConcept (or an array of them): at least one
// coding, each from one of systems, with a code the system defines (when
// the terminology knows the system).
func (v *validator) codings(path string, x any, systems []string) {
	if x == nil {
		return
	}
	if arr, ok := x.([]any); ok {
		for i, e := range arr {
			v.codings(indexPath(path, i), e, systems)
		}
		return
	}
	cc, _ := x.(map[string]any)
	cs, _ := cc["coding"].([]any)
	if len(cs) == 0 {
		v.add(path+".coding", "required", "a coding is required", "")
	}
	for i, c := range cs {
		p := indexPath(path+".coding", i)
		co, _ := c.(map[string]any)
		sys, _ := co["system"].(string)
		code, _ := co["code"].(string)
		if !slices.Contains(systems, sys) {
			v.add(p+".system", "unknown-code-system", fmt.Sprintf("code system %s is not bound here", clipJSON(co["system"])), "use "+strings.Join(systems, " or "))
			continue
		}
		if codes, known := v.codeSystem(sys); known && !codes[code] {
			v.add(p+".code", "unknown-code", fmt.Sprintf("%s is not a code of %s", clipJSON(co["code"]), sys), "use one of: "+strings.Join(slices.Sorted(maps.Keys(codes)), ", "))
		}
	}
}
