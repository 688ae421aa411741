package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fr-it4ct/it4ct/ingest"
)

func newEraseCmd(g *globalFlags) *cobra.Command {
	var (
		cfgPath, stateDir, study, subject string
		brokers                           []string
	)
	cmd := &cobra.Command{
		Use:   "erase --config FILE --study ID --subject LOCAL-ID",
		Short: "Erase a subject (erasure request): delete it nationally and never publish it again",
		Long: `erase finds the subject's inclusions in the sources' current exports,
computes their pseudonymous ResearchSubject ids, records them in the local
erasure list (state_dir/erased.keys: keyed hashes only) and publishes a
tombstone for each, which removes the subject from the national state and
API. Later runs skip the subject even if the export still lists it. The
local subject id is used only to compute the ids on this machine.

--study is one of the study's identifiers as the export gives it: EU CT,
ID-RCB, EudraCT, NCT number or sponsor code.`,
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
			key, prod, err := openPublishing(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer prod.Close()
			conn, err := ingest.NewConnector(cfg, sourceFactories(), key, prod, log)
			if err != nil {
				return err
			}
			ids, err := conn.FindSubject(ctx, study, subject)
			if err != nil {
				return err
			}
			if err := conn.Erase(ctx, ids); err != nil {
				return err
			}
			for _, id := range ids {
				fmt.Fprintf(cmd.OutOrStdout(), "erased ResearchSubject %s: tombstone acknowledged, recorded in %s/erased.keys\n", id, conn.State.Dir)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "establishment config file (YAML; see docs/connectors/)")
	f.StringSliceVar(&brokers, "brokers", nil, "Kafka brokers host:port, comma-separated (overrides kafka.brokers)")
	f.StringVar(&stateDir, "state-dir", "", "directory for cursors, quarantine and the erasure list (overrides state_dir)")
	f.StringVar(&study, "study", "", "an identifier of the study: EU CT, ID-RCB, EudraCT, NCT or sponsor code")
	f.StringVar(&subject, "subject", "", "the subject's local id in the export (stays on this machine)")
	for _, n := range []string{"config", "study", "subject"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}
