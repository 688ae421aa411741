package indicators

import (
	"context"
	"fmt"

	"github.com/fr-it4ct/it4ct/stream"
)

// Resource returns the FHIR JSON of a ResearchStudy or ResearchSubject by id.
// For a national study reported by several establishments it is the preferred
// version (the sponsor's own, else the lowest FINESS's); for a site-level
// study or a subject reported under the same id by several establishments, the
// lowest FINESS's. Other resource types are never found.
func (s *Service) Resource(ctx context.Context, resourceType, id string) (json []byte, found bool, err error) {
	switch resourceType {
	case stream.ResourceStudy:
		vs, err := s.st.NationalStudyVersions(ctx, id)
		if err != nil {
			return nil, false, fmt.Errorf("indicators: resource: %w", err)
		}
		if p, ok := preferred(vs); ok {
			return p.JSON, true, nil
		}
		sites, err := s.st.SiteStudiesByID(ctx, id)
		if err != nil {
			return nil, false, fmt.Errorf("indicators: resource: %w", err)
		}
		if len(sites) > 0 {
			return sites[0].JSON, true, nil
		}
	case stream.ResourceSubject:
		subs, err := s.st.SubjectsByID(ctx, id)
		if err != nil {
			return nil, false, fmt.Errorf("indicators: resource: %w", err)
		}
		if len(subs) > 0 {
			return subs[0].JSON, true, nil
		}
	}
	return nil, false, nil
}

// StudiesByIdentifier returns the national ResearchStudy JSONs (preferred
// versions) having an identifier with that system and value; an empty system
// matches any system.
func (s *Service) StudiesByIdentifier(ctx context.Context, system, value string) ([][]byte, error) {
	ids, err := s.st.NationalStudyIDsByIdentifier(ctx, system, value)
	if err != nil {
		return nil, fmt.Errorf("indicators: studies by identifier: %w", err)
	}
	out := [][]byte{}
	for _, id := range ids {
		vs, err := s.st.NationalStudyVersions(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("indicators: studies by identifier: %w", err)
		}
		if p, ok := preferred(vs); ok {
			out = append(out, p.JSON)
		}
	}
	return out, nil
}

// SubjectsByStudy returns the ResearchSubject JSONs of a site-level study, or,
// when studyID is a national study, of all its site-level studies. Each
// site-level study contributes the subjects its own establishment reported.
func (s *Service) SubjectsByStudy(ctx context.Context, studyID string) ([][]byte, error) {
	sites, err := s.st.SiteStudiesByID(ctx, studyID)
	if err != nil {
		return nil, fmt.Errorf("indicators: subjects by study: %w", err)
	}
	if len(sites) == 0 {
		if sites, err = s.st.SiteStudiesOf(ctx, studyID); err != nil {
			return nil, fmt.Errorf("indicators: subjects by study: %w", err)
		}
	}
	out := [][]byte{}
	for _, t := range sites {
		subs, err := s.st.SubjectsBySiteStudy(ctx, t.Establishment, t.ID)
		if err != nil {
			return nil, fmt.Errorf("indicators: subjects by study: %w", err)
		}
		for _, u := range subs {
			out = append(out, u.JSON)
		}
	}
	return out, nil
}
