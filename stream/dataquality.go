package stream

import (
	"regexp"
	"strings"
	"time"
)

// DataQualityFamily is the topic family of the hospital-side data-quality
// reports.
const DataQualityFamily = "dataquality"

// DataQualityTopicPattern matches the data-quality topics, capturing the
// FINESS. It is anchored.
const DataQualityTopicPattern = `^it4ct\.site\.((?:[0-9]{2}|2[AB])[0-9]{7})\.dataquality\.v1$`

var dataQualityRE = regexp.MustCompile(DataQualityTopicPattern)

// DataQualityTopic returns the topic an establishment publishes its
// data-quality reports to, e.g. "it4ct.site.750712184.dataquality.v1". It is
// under the establishment's prefix, so the same ACLs cover it.
func DataQualityTopic(finess string) string {
	return TopicPrefix + strings.ToUpper(finess) + "." + DataQualityFamily + ".v1"
}

// ParseDataQualityTopic returns the FINESS of a data-quality topic.
func ParseDataQualityTopic(topic string) (finess string, ok bool) {
	m := dataQualityRE.FindStringSubmatch(topic)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// DataQualityReport is the value of a data-quality message: what one source
// of one establishment rejected, as counts per reason code, never the
// records. The key is the source id; the topic is compacted, so the latest
// report of each source is the current one. A null value withdraws it.
type DataQualityReport struct {
	Establishment string         `json:"establishment"` // FINESS, equals the topic's
	Source        string         `json:"source"`        // source id, equals the key
	RunAt         time.Time      `json:"run_at"`
	Counts        map[string]int `json:"counts"`        // rejected records held in the local quarantine, per reason code
	TotalRecords  int            `json:"total_records"` // records read by the run (full pass for snapshot sources)
}
