package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fr-it4ct/it4ct/ingest"
)

// quarantineFlags are shared by the quarantine subcommands.
type quarantineFlags struct {
	cfgPath  string
	stateDir string
	source   string
}

func (f *quarantineFlags) bind(cmd *cobra.Command, withSource bool) {
	cmd.Flags().StringVarP(&f.cfgPath, "config", "c", "", "establishment config file (YAML; see docs/connectors/)")
	cmd.Flags().StringVar(&f.stateDir, "state-dir", "", "directory for cursors and quarantine (overrides state_dir)")
	if withSource {
		cmd.Flags().StringVar(&f.source, "source", "", "only this source id (default: every source of the config)")
	}
	_ = cmd.MarkFlagRequired("config")
}

// open loads the config and the local state, and returns the source ids
// selected (config order).
func (f *quarantineFlags) open() (*ingest.LocalState, []string, error) {
	cfg, err := loadConnectConfig(f.cfgPath, nil, f.stateDir)
	if err != nil {
		return nil, nil, err
	}
	state, err := ingest.OpenLocalState(cfg.Resolve(cfg.StateDir))
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	for _, s := range cfg.Sources {
		ids = append(ids, s.ID)
	}
	if f.source != "" {
		if !slices.Contains(ids, f.source) {
			return nil, nil, fmt.Errorf("--source %q: no such source in %s (sources: %s)", f.source, f.cfgPath, strings.Join(ids, ", "))
		}
		ids = []string{f.source}
	}
	return state, ids, nil
}

// numbered is a quarantine entry with its number in `list` (1-based, over
// every source of the config in config order).
type numbered struct {
	n int
	e ingest.QuarantineEntry
}

func (f *quarantineFlags) entries() ([]numbered, error) {
	src := f.source
	f.source = "" // numbers are global, so that show N works with any filter
	state, ids, err := f.open()
	f.source = src
	if err != nil {
		return nil, err
	}
	var out []numbered
	for _, id := range ids {
		q, err := state.Quarantine(id)
		if err != nil {
			return nil, err
		}
		es, err := q.List()
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			out = append(out, numbered{n: len(out) + 1, e: e})
		}
	}
	return out, nil
}

func newQuarantineCmd(_ *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "List, show and retry the records the connector rejected (kept on this side only)",
		Long: `The quarantine (state_dir/quarantine/<source>.jsonl) keeps every record a
source run rejected, with the reason, the place to fix it and its raw values.
It never leaves the hospital: the national side only receives counts per
reason code. Each run that reads a source from its beginning rebuilds that
source's entries, so fixing the export and running again empties it.`,
	}
	cmd.AddCommand(newQuarantineListCmd(), newQuarantineShowCmd(), newQuarantineRetryCmd())
	return cmd
}

func newQuarantineListCmd() *cobra.Command {
	var (
		f    quarantineFlags
		code string
	)
	cmd := &cobra.Command{
		Use:   "list --config FILE",
		Short: "List rejected records: time, source, place, column, code, reason (no raw values)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := f.open(); err != nil { // checks --source
				return err
			}
			all, err := f.entries()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var sel []numbered
			for _, x := range all {
				if (f.source == "" || x.e.Source == f.source) && (code == "" || x.e.Code == code) {
					sel = append(sel, x)
				}
			}
			if len(sel) == 0 {
				fmt.Fprintln(out, "no quarantined record")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "N\tTIME\tSOURCE\tPLACE\tCOLUMN\tCODE\tREASON")
			for _, x := range sel {
				e := x.e
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", x.n, e.Time.UTC().Format(time.RFC3339), e.Source, place(e),
					dash(e.Column), e.Code, oneLine(e.Reason))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "%d record(s); details and raw values: it4ct connect quarantine show --config %s N\n", len(sel), f.cfgPath)
			return nil
		},
	}
	f.bind(cmd, true)
	cmd.Flags().StringVar(&code, "code", "", "only entries with this reason code (e.g. bad-date)")
	return cmd
}

func newQuarantineShowCmd() *cobra.Command {
	var f quarantineFlags
	cmd := &cobra.Command{
		Use:   "show --config FILE N",
		Short: "Show one rejected record with its raw values (they may identify a patient)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return fmt.Errorf("%q: give the entry number N printed by `it4ct connect quarantine list`", args[0])
			}
			all, err := f.entries()
			if err != nil {
				return err
			}
			if n > len(all) {
				return fmt.Errorf("entry %d: the quarantine has %d entries", n, len(all))
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "warning: this entry holds raw values of the source export, which may identify a patient; keep them inside the hospital")
			printEntry(cmd.OutOrStdout(), n, len(all), all[n-1].e)
			return nil
		},
	}
	f.bind(cmd, false)
	return cmd
}

func printEntry(out io.Writer, n, total int, e ingest.QuarantineEntry) {
	raw, _ := json.Marshal(e.Raw)
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "entry\t%d of %d\n", n, total)
	fmt.Fprintf(tw, "time\t%s\n", e.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "source\t%s\n", e.Source)
	fmt.Fprintf(tw, "place\t%s\n", place(e))
	fmt.Fprintf(tw, "record key\t%s\n", dash(e.RecordKey))
	fmt.Fprintf(tw, "column\t%s\n", dash(e.Column))
	fmt.Fprintf(tw, "field\t%s\n", dash(e.Field))
	fmt.Fprintf(tw, "code\t%s\n", e.Code)
	fmt.Fprintf(tw, "reason\t%s\n", oneLine(e.Reason))
	fmt.Fprintf(tw, "fix\t%s\n", dash(oneLine(e.Fix)))
	fmt.Fprintf(tw, "raw\t%s\n", raw)
	_ = tw.Flush()
}

func newQuarantineRetryCmd() *cobra.Command {
	var f quarantineFlags
	cmd := &cobra.Command{
		Use:   "retry --config FILE",
		Short: "Make the next run read the sources again from the start and re-check every quarantined record",
		Long: `retry forgets the cursor of each selected source (and any full-snapshot pass
in progress), so the next ` + "`it4ct connect`" + ` run reads the export again from its
beginning: records fixed at the source are published, and the source's
quarantine is rebuilt with only the records that still fail. Nothing is
published by retry itself; re-publishing unchanged records is harmless.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			state, ids, err := f.open()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, id := range ids {
				q, err := state.Quarantine(id)
				if err != nil {
					return err
				}
				es, err := q.List()
				if err != nil {
					return err
				}
				if err := state.Retry(id); err != nil {
					return err
				}
				fmt.Fprintf(out, "source %s: cursor reset; the next run re-reads it and re-checks its %d quarantined record(s)\n", id, len(es))
			}
			return nil
		},
	}
	f.bind(cmd, true)
	return cmd
}

func place(e ingest.QuarantineEntry) string {
	switch {
	case e.File != "" && e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line)
	case e.File != "":
		return e.File
	case e.Line > 0:
		return "record " + strconv.Itoa(e.Line)
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
