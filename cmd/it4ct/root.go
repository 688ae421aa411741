package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

type globalFlags struct {
	logLevel  string
	logFormat string
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "it4ct",
		Short: "FR-IT4CT gateway: hospital research data to FHIR R4, Kafka and national SIGREC indicators",
		Long: `it4ct moves clinical-research data from hospital systems (CTMS exports, ...)
to the national level: connectors map studies, sites and inclusions to FHIR R4
ResearchStudy / ResearchSubject (pseudonymised), publish them on Kafka, and the
national aggregator computes the SIGREC indicators served over a FHIR API.

Start with:  it4ct demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json (logs go to stderr)")
	root.AddCommand(newDemoCmd(g), newConnectCmd(g), newAggregateCmd(g), newServeCmd(g), newValidateCmd(g), newExportCmd(g))
	return root
}

func (g *globalFlags) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(g.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", g.logFormat)
}

func ctxOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
