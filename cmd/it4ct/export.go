package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/indicators/export"
	"github.com/fr-it4ct/it4ct/store"
)

func newExportCmd(g *globalFlags) *cobra.Command {
	var (
		dsn, years, est, format, out, table string
		bom                                 bool
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the indicators or an establishment's SIGREC-style declaration as CSV, XLSX or JSON",
		Long: `export writes, from the national store, either the indicators A1-A4 per
establishment and year (--table indicators) or the declaration table (--table
declaration): one line per study and year with the study identifiers, category,
phase, sponsor type, the establishment's role, the site dates and the inclusions
counted for the establishment that year, so a DRCI can check what will be
counted before the campaign closes. Without --establishment every
establishment is exported (national).

CSV uses ';' as separator; add --bom for French Excel to read accents right.`,
		Example: `  it4ct export --db sqlite:national.db --year 2024 --establishment 350000007 --table declaration --format xlsx --out decl.xlsx
  it4ct export --db sqlite:national.db --year 2023,2024 --format csv --bom --out indicateurs.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			ctx := ctxOf(cmd)
			log, err := g.logger()
			if err != nil {
				return err
			}
			ys, err := parseYears(years)
			if err != nil {
				return err
			}
			if format != "csv" && format != "xlsx" && format != "json" {
				return fmt.Errorf("--format %q: use csv, xlsx or json", format)
			}
			if bom && format != "csv" {
				return fmt.Errorf("--bom only applies to --format csv")
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			var t export.Table
			switch table {
			case "indicators":
				t, err = export.Indicators(ctx, indicators.New(st, indicators.WithLogger(log)), ys, est)
			case "declaration":
				t, err = export.DeclarationTable(ctx, st, ys, est)
			default:
				return fmt.Errorf("--table %q: use indicators or declaration", table)
			}
			if err != nil {
				return err
			}
			if est != "" {
				t.Name += "-" + est
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer func() {
					if cerr := f.Close(); cerr != nil && err == nil {
						err = fmt.Errorf("--out: %w", cerr)
					}
				}()
				bw := bufio.NewWriter(f)
				defer func() {
					if ferr := bw.Flush(); ferr != nil && err == nil {
						err = fmt.Errorf("--out: %w", ferr)
					}
				}()
				w = bw
			}
			switch format {
			case "csv":
				err = export.WriteCSV(w, t, export.CSVOptions{BOM: bom})
			case "xlsx":
				err = export.WriteXLSX(w, t)
			default:
				err = export.WriteJSON(w, t)
			}
			if err != nil {
				return err
			}
			log.InfoContext(ctx, "exported", "table", table, "format", format, "rows", len(t.Rows), "out", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dsn, "db", defaultDB, "national store: sqlite:PATH or postgres://user@host:port/db")
	f.StringVar(&years, "year", "", "calendar year(s) to export, comma-separated (required), e.g. 2023,2024")
	f.StringVar(&est, "establishment", "", "FINESS of one establishment (default: every establishment)")
	f.StringVar(&format, "format", "csv", "output format: csv, xlsx or json")
	f.BoolVar(&bom, "bom", false, "start the CSV with a UTF-8 byte order mark (French Excel then reads accents right)")
	f.StringVar(&out, "out", "-", "output file, - for standard output")
	f.StringVar(&table, "table", "indicators", "what to export: indicators (A1-A4) or declaration (studies, sites and inclusions per year)")
	_ = cmd.MarkFlagRequired("year")
	return cmd
}

func parseYears(s string) ([]int, error) {
	var ys []int
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		y, err := strconv.Atoi(p)
		if err != nil || y < 1900 || y > 9999 {
			return nil, fmt.Errorf("--year %q: %q is not a year", s, p)
		}
		ys = append(ys, y)
	}
	return ys, nil
}
