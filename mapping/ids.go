package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/fr-it4ct/it4ct/canonical"
)

// Resource ids are "<prefix>" + the first 16 bytes (128 bits) of SHA-256 over
// a domain tag and the business key, in hex: 35 characters, always a valid
// FHIR id ([A-Za-z0-9-.]{1,64}). They are deterministic so that republishing
// is an idempotent upsert and establishments describing the same study
// converge.
const (
	PrefixNationalStudy = "st-"
	PrefixSiteStudy     = "ss-"
	PrefixSubject       = "sj-"
)

func hashID(prefix string, parts ...string) string {
	var buf [256]byte // no heap for usual keys
	in := buf[:0]
	for _, p := range parts {
		in = append(in, p...)
		in = append(in, 0)
	}
	sum := sha256.Sum256(in)
	var out [8 + 32]byte
	b := append(out[:0], prefix...)
	return string(hex.AppendEncode(b, sum[:16]))
}

// normaliseID trims and upper-cases a registry identifier; every registry
// format we know is case-insensitive.
func normaliseID(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// NationalStudyID returns the id of the national ResearchStudy, derived from
// the strongest identifier present (canonical.Identifiers.Strongest), after
// trimming and upper-casing: two establishments that know the study by the
// same strongest identifier get the same id. An establishment that knows a
// stronger identifier than another gets a different id; the national
// aggregator reconciles them through the shared identifiers.
func NationalStudyID(ids canonical.Identifiers) (string, error) {
	kind, _, ok := ids.Strongest()
	if !ok {
		return "", fmt.Errorf("study has no identifier (EU CT, ID-RCB, EudraCT, NCT or sponsor code)")
	}
	var v string
	switch kind {
	case canonical.IDEUCT:
		v = normaliseID(ids.EUCT)
	case canonical.IDIDRCB:
		v = normaliseID(ids.IDRCB)
	case canonical.IDEudraCT:
		v = normaliseID(ids.EudraCT)
	case canonical.IDNCT:
		v = normaliseID(ids.NCT)
	case canonical.IDSponsorCode:
		if strings.TrimSpace(ids.SponsorKey) == "" {
			return "", fmt.Errorf("study sponsor code has no sponsor key (sponsor FINESS or name)")
		}
		v = normaliseID(ids.SponsorKey) + "|" + normaliseID(ids.SponsorCode)
	}
	if v == "" || v == "|" {
		return "", fmt.Errorf("study identifier %s is blank", kind)
	}
	return hashID(PrefixNationalStudy, "it4ct/study/v1", string(kind), v), nil
}

// SiteStudyID returns the id of the site-level ResearchStudy of an
// establishment (FINESS) in a national study.
func SiteStudyID(nationalID, finess string) string {
	return hashID(PrefixSiteStudy, "it4ct/site-study/v1", nationalID, normaliseID(finess))
}

// SubjectID returns the id of the ResearchSubject of a pseudonymous subject
// in a site-level study.
func SubjectID(siteStudyID, pseudonym string) string {
	return hashID(PrefixSubject, "it4ct/subject/v1", siteStudyID, pseudonym)
}
