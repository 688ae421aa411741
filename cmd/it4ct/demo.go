package main

import (
	"github.com/spf13/cobra"

	"github.com/fr-it4ct/it4ct/demo"
)

func newDemoCmd(g *globalFlags) *cobra.Command {
	o := demo.Options{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole system in one process on embedded defaults",
		Long: `demo starts an embedded Kafka-protocol broker (franz-go kfake, persisted
under --data-dir), the connectors of three fictional establishments
(testdata/demo), the national aggregator on SQLite and the HTTP server
(FHIR API, indicators, health). It prints where everything is and an
indicator summary, then serves until Ctrl-C. /readyz answers 200 once the
initial ingest is done. Running it again on the same --data-dir gives the
same numbers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			o.Logger, o.Out, o.Factories, o.Version = log, cmd.OutOrStdout(), sourceFactories(), version
			return demo.Run(ctxOf(cmd), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", "./it4ct-data", "directory for the broker's log, the national SQLite store and the hospital-side state (cursors, quarantine, demo keys)")
	f.StringVar(&o.HTTPAddr, "http-addr", "127.0.0.1:8080", "address of the HTTP server (FHIR API, indicators, /healthz, /readyz)")
	f.StringVar(&o.KafkaAddr, "kafka-addr", "127.0.0.1:9092", "address the embedded Kafka-protocol broker listens on (reachable by kcat, kafka-go ...)")
	f.StringVar(&o.DemoDir, "demo-dir", "", "directory of the fictional establishments' exports (default: testdata/demo of the checkout)")
	f.BoolVar(&o.ExitAfterIngest, "exit-after-ingest", false, "stop once the initial ingest is done and the summary printed")
	return cmd
}
