package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fr-it4ct/it4ct/ingest"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

func newConnectCmd(g *globalFlags) *cobra.Command {
	var (
		cfgPath  string
		brokers  []string
		stateDir string
		dryRun   bool
		interval time.Duration
		show     int
		dry      *countingPublisher
	)
	cmd := &cobra.Command{
		Use:   "connect --config FILE",
		Short: "Run an establishment's connectors: read sources, map to FHIR, publish to Kafka",
		Long: `connect reads every source of the establishment's YAML config (see
docs/connectors/), maps studies, sites and inclusions to FHIR R4 with keyed
pseudonyms, keeps rejected records in the local quarantine (state_dir/quarantine)
and publishes the rest to the establishment's topics. A source's cursor moves
only after the broker acknowledged everything before it, so it can be stopped
and restarted at any time.

--dry-run reads and maps everything and prints what would be published and
rejected, without publishing or moving cursors: use it to check a new
column mapping against your export.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := ctxOf(cmd)
			log, err := g.logger()
			if err != nil {
				return err
			}
			cfg, err := loadConnectConfig(cfgPath, brokers, stateDir)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var pub ingest.Publisher
			var key mapping.PseudonymKey
			if dryRun {
				tmp, err := os.MkdirTemp("", "it4ct-dryrun-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				cfg.StateDir, cfg.Kafka.Brokers = tmp, []string{"dry-run"}
				if cfg.Pseudonym.KeyID == "" {
					cfg.Pseudonym.KeyID = "dry-run"
				}
				if cfg.Pseudonym.KeyFile != "" || os.Getenv(cfg.Pseudonym.KeyEnv) != "" {
					// Check the real key too: a dry run must catch what the real run would refuse.
					if key, err = mapping.LoadPseudonymKey(cfg.Pseudonym.KeyID, cfg.Resolve(cfg.Pseudonym.KeyFile), cfg.Pseudonym.KeyEnv); err != nil {
						return fmt.Errorf("pseudonym key: %w", err)
					}
				} else {
					fmt.Fprintf(out, "note: pseudonym key not available (%s); using a throw-away key for this dry run\n", keyWhere(cfg.Pseudonym))
					secret := make([]byte, 32)
					_, _ = rand.Read(secret)
					if key, err = mapping.NewPseudonymKey("dry-run", secret); err != nil {
						return err
					}
				}
				if (cfg.Pseudonym.KeyFile == "") == (cfg.Pseudonym.KeyEnv == "") {
					cfg.Pseudonym.KeyEnv = "IT4CT_DRY_RUN_KEY" // placeholder so that validation passes; the throw-away key is used
				}
				dry = &countingPublisher{show: show}
				pub = dry
			} else {
				var prod *stream.Producer
				if key, prod, err = openPublishing(ctx, cfg, log); err != nil {
					return err
				}
				defer prod.Close()
				if err := prod.EnsureTopics(ctx, stream.Topic(cfg.Establishment.FINESS, "ResearchStudy"), stream.Topic(cfg.Establishment.FINESS, "ResearchSubject")); err != nil {
					return err
				}
				pub = prod
			}
			conn, err := ingest.NewConnector(cfg, sourceFactories(), key, pub, log)
			if err != nil {
				return err
			}
			for {
				stats, err := conn.RunOnce(ctx)
				if err == nil || anyRecords(stats) {
					printStats(out, cfg, conn, stats, dryRun)
				}
				if dry != nil {
					dry.print(out)
				}
				if err != nil {
					return err
				}
				if interval <= 0 || ctx.Err() != nil {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "establishment config file (YAML; see docs/connectors/)")
	f.StringSliceVar(&brokers, "brokers", nil, "Kafka brokers host:port, comma-separated (overrides kafka.brokers)")
	f.StringVar(&stateDir, "state-dir", "", "directory for cursors and quarantine (overrides state_dir)")
	f.BoolVar(&dryRun, "dry-run", false, "read and map everything, print what would be published and rejected; publish nothing, move no cursor")
	f.DurationVar(&interval, "interval", 0, "run again every interval (e.g. 15m); 0 runs once and exits")
	f.IntVar(&show, "show", 1, "with --dry-run: print this many example resources of each type that would be published")
	_ = cmd.MarkFlagRequired("config")
	cmd.AddCommand(newQuarantineCmd(g), newEraseCmd(g))
	return cmd
}

func printStats(out interface{ Write([]byte) (int, error) }, cfg ingest.Config, conn *ingest.Connector, stats map[string]ingest.Stats, dry bool) {
	verb := "published"
	if dry {
		verb = "would publish"
	}
	for id, s := range stats {
		if s.Unchanged {
			fmt.Fprintf(out, "%s %s source %s: export unchanged since the last complete run, nothing to publish\n", cfg.Establishment.FINESS, cfg.Establishment.Name, id)
			continue
		}
		fmt.Fprintf(out, "%s %s source %s: %d records read, %s %d resources, %d rejected", cfg.Establishment.FINESS, cfg.Establishment.Name, id, s.Records, verb, s.Published, s.Rejects)
		if s.Deleted > 0 {
			fmt.Fprintf(out, ", %d deleted", s.Deleted)
		}
		if len(s.ByCode) > 0 {
			var parts []string
			for c, n := range s.ByCode {
				parts = append(parts, fmt.Sprintf("%s=%d", c, n))
			}
			fmt.Fprintf(out, " (%s)", strings.Join(parts, ", "))
		}
		fmt.Fprintln(out)
		if s.Rejects > 0 {
			q := conn.Quarantines()[id]
			entries, err := q.List()
			if err == nil {
				for _, e := range entries {
					fmt.Fprintf(out, "  rejected: %s\n", e.Message)
				}
			}
			if !dry {
				fmt.Fprintf(out, "  quarantine: %s\n", q.Path())
			}
		}
	}
}

// countingPublisher accepts everything and publishes nothing (dry run); it
// keeps a few examples of each topic to show.
type countingPublisher struct {
	show     int
	counts   map[string]int
	examples map[string][][]byte
	topics   []string
}

func (p *countingPublisher) Publish(_ context.Context, msgs []stream.Message) error {
	if p.counts == nil {
		p.counts, p.examples = map[string]int{}, map[string][][]byte{}
	}
	for _, m := range msgs {
		if _, seen := p.counts[m.Topic]; !seen {
			p.topics = append(p.topics, m.Topic)
		}
		p.counts[m.Topic]++
		if len(p.examples[m.Topic]) < p.show {
			p.examples[m.Topic] = append(p.examples[m.Topic], m.Value)
		}
	}
	return nil
}

func (p *countingPublisher) print(out io.Writer) {
	for _, t := range p.topics {
		fmt.Fprintf(out, "\nwould publish %d messages to %s", p.counts[t], t)
		for _, ex := range p.examples[t] {
			var buf bytes.Buffer
			if json.Indent(&buf, ex, "  ", "  ") == nil {
				fmt.Fprintf(out, "\n  example:\n  %s", buf.String())
			}
		}
		fmt.Fprintln(out)
	}
}

func anyRecords(stats map[string]ingest.Stats) bool {
	for _, s := range stats {
		if s.Records > 0 {
			return true
		}
	}
	return false
}

func keyWhere(p ingest.PseudonymConf) string {
	if p.KeyFile != "" {
		return "key_file " + p.KeyFile
	}
	if p.KeyEnv != "" {
		return "environment variable " + p.KeyEnv + " is not set"
	}
	return "no key_file or key_env configured"
}
