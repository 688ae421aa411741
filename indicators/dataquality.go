package indicators

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

// resourceDataQuality marks a record of an establishment's data-quality
// topic (stream.DataQualityTopic) in decoded.resType.
const resourceDataQuality = "DataQualityReport"

// supportedSchema reports whether a schema-version header value has the
// major version this aggregator reads: "1" or "1.<minor>".
func supportedSchema(v string) bool {
	major, minor, hasMinor := strings.Cut(strings.TrimSpace(v), ".")
	if major != supportedSchemaMajor {
		return false
	}
	if !hasMinor {
		return true
	}
	if minor == "" {
		return false
	}
	for _, c := range minor {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// decodeReport decodes a stream.DataQualityReport (a null value withdraws
// the source's report) and checks it against the topic and the key.
func (s *Service) decodeReport(it decoded, problem func(code, reason string) decoded) decoded {
	if it.rec.Value == nil {
		return it
	}
	var r stream.DataQualityReport
	if err := json.Unmarshal(it.rec.Value, &r); err != nil {
		return problem(QualityUndecodable, "data-quality report: "+err.Error())
	}
	if r.Establishment != it.finess {
		return problem(QualityEstablishmentMismatch, fmt.Sprintf("data-quality report names establishment %q but was published on the topic of %s", r.Establishment, it.finess))
	}
	if r.Source != it.key {
		return problem(QualityKeyMismatch, fmt.Sprintf("data-quality report of source %q differs from the record key", r.Source))
	}
	counts := make(map[string]int64, len(r.Counts))
	for c, n := range r.Counts {
		if n < 0 || c == "" {
			return problem(QualityUndecodable, fmt.Sprintf("data-quality report count %q=%d is not valid", c, n))
		}
		counts[c] = int64(n)
	}
	it.report = &store.SiteQuality{Establishment: it.finess, Source: r.Source, RunAt: r.RunAt.UTC().Format(time.RFC3339),
		TotalRecords: int64(r.TotalRecords), Counts: counts}
	return it
}

// SiteQuality returns the latest data-quality report of every source of
// every establishment: counts of the records each keeps in its local
// quarantine, per reason code.
func (s *Service) SiteQuality(ctx context.Context) ([]store.SiteQuality, error) {
	out, err := s.st.SiteQuality(ctx)
	if err != nil {
		return nil, fmt.Errorf("indicators: site data quality: %w", err)
	}
	return out, nil
}
