package demo

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/ingest"
)

// PrintSummary writes the indicator table A1-A4 per establishment and year.
func PrintSummary(ctx context.Context, w io.Writer, svc *indicators.Service, cfgs []ingest.Config, years []int) error {
	rows, err := svc.Summary(ctx, years)
	if err != nil {
		return fmt.Errorf("indicator summary: %w", err)
	}
	names := map[string]string{}
	for _, c := range cfgs {
		names[c.Establishment.FINESS] = c.Establishment.Name
	}
	fmt.Fprintln(w, "SIGREC indicators (A1 active studies, A2 new, A3 site inclusions, A4 sponsor inclusions)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINESS\testablishment\tyear\tA1 site\tA1 sponsor\tA2 site\tA2 sponsor\tA3\tA4\t")
	for _, r := range rows {
		name, ok := names[r.Establishment]
		if !ok {
			name = "(sponsor, not connected)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Establishment, name, r.Year,
			r.A1.Site, r.A1.Sponsor, r.A2.Site, r.A2.Sponsor, r.A3, r.A4)
	}
	return tw.Flush()
}
