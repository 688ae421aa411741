package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/server"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

const defaultDB = "sqlite:./it4ct-national.db"

func newAggregateCmd(g *globalFlags) *cobra.Command {
	var (
		brokers []string
		dsn     string
		group   string
	)
	cmd := &cobra.Command{
		Use:   "aggregate",
		Short: "Consume every establishment's topics into the national store",
		Long: `aggregate joins the consumer group, reads all it4ct.site.<FINESS>.* topics,
checks each payload against its topic's establishment and upserts the national
state. Consumed offsets are stored in the same database transaction as the
state they produced: a crash neither loses nor re-applies an update.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := ctxOf(cmd)
			log, err := g.logger()
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			return stream.Consume(ctx, stream.ConsumerConfig{Brokers: brokers, Group: group, Logger: log}, indicators.New(st))
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&brokers, "brokers", []string{"127.0.0.1:9092"}, "Kafka brokers host:port, comma-separated")
	f.StringVar(&dsn, "db", defaultDB, "national store: sqlite:PATH or postgres://user@host:port/db")
	f.StringVar(&group, "group", "it4ct-aggregator", "Kafka consumer group")
	return cmd
}

func newServeCmd(g *globalFlags) *cobra.Command {
	var (
		dsn  string
		addr string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the FHIR API, the indicators API and health endpoints from the national store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := ctxOf(cmd)
			log, err := g.logger()
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--http-addr %s: %w", addr, err)
			}
			base := "http://" + ln.Addr().String()
			srv := server.NewHTTPServer(ln.Addr().String(), server.New(indicators.New(st), server.Options{Logger: log, Ready: func() bool { return true }, BaseURL: base, Version: version}))
			fmt.Fprintf(cmd.OutOrStdout(), "serving on http://%s\n", ln.Addr())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			case <-ctx.Done():
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				return srv.Shutdown(sctx)
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&dsn, "db", defaultDB, "national store: sqlite:PATH or postgres://user@host:port/db")
	f.StringVar(&addr, "http-addr", "127.0.0.1:8080", "HTTP listen address")
	return cmd
}
