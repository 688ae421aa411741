package stream

import (
	"regexp"
	"strings"
)

// FHIR resource types carried on site topics.
const (
	ResourceStudy   = "ResearchStudy"
	ResourceSubject = "ResearchSubject"
)

// TopicPrefix starts every establishment topic; the FINESS and the resource
// family follow it, which lets broker ACLs grant each establishment the
// prefix "it4ct.site.<FINESS>." and nothing else.
const TopicPrefix = "it4ct.site."

// TopicPattern matches every site topic the aggregator consumes, capturing
// the FINESS (9 characters: digits, with 2A/2B for Corsica) and the
// lower-case family: the two resource families and the data-quality reports
// (see DataQualityTopic). It is anchored, as kgo.ConsumeRegex expects.
const TopicPattern = `^it4ct\.site\.((?:[0-9]{2}|2[AB])[0-9]{7})\.(researchstudy|researchsubject|dataquality)\.v1$`

var topicRE = regexp.MustCompile(TopicPattern)

// Topic returns the topic an establishment publishes resources of the given
// FHIR type to, e.g. Topic("750712184", "ResearchStudy") is
// "it4ct.site.750712184.researchstudy.v1". The FINESS is upper-cased (2a ->
// 2A) so one establishment always maps to one topic. Only ResourceStudy and
// ResourceSubject give topics that TopicPattern matches.
func Topic(finess, resourceType string) string {
	return TopicPrefix + strings.ToUpper(finess) + "." + strings.ToLower(resourceType) + ".v1"
}

// ParseTopic is the inverse of Topic: it returns the FINESS and the FHIR
// resource type (ResourceStudy or ResourceSubject) of a site topic, and false
// for any topic TopicPattern does not match.
func ParseTopic(topic string) (finess, resourceType string, ok bool) {
	m := topicRE.FindStringSubmatch(topic)
	if m == nil {
		return "", "", false
	}
	switch m[2] {
	case "researchstudy":
		return m[1], ResourceStudy, true
	case "researchsubject":
		return m[1], ResourceSubject, true
	}
	return "", "", false
}
