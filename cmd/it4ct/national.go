package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/server"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

const defaultDB = "sqlite:./it4ct-national.db"

func newAggregateCmd(g *globalFlags) *cobra.Command {
	var (
		brokers  []string
		dsn      string
		group    string
		instance string
		kafka    kafkaFlags
	)
	cmd := &cobra.Command{
		Use:   "aggregate",
		Short: "Consume every establishment's topics into the national store",
		Long: `aggregate joins the consumer group, reads all it4ct.site.<FINESS>.* topics,
checks each payload against its topic's establishment and upserts the national
state. Consumed offsets are stored in the same database transaction as the
state they produced: a crash neither loses nor re-applies an update.

On a secured Kafka (docs/kafka-security.md), pass the aggregator's user with
--kafka-sasl-user and its password in a file (--kafka-sasl-password-file) or
in the environment variable IT4CT_KAFKA_PASSWORD; --kafka-tls-ca turns TLS on.`,
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
			ccfg := stream.ConsumerConfig{Brokers: brokers, Group: group, InstanceID: instance, Logger: log, TLS: kafka.tls(), SASL: kafka.sasl()}
			if err := (stream.ClientConfig{Brokers: brokers, TLS: ccfg.TLS, SASL: ccfg.SASL}).Validate(); err != nil {
				return fmt.Errorf("kafka flags: %w", err)
			}
			return stream.Consume(ctx, ccfg, indicators.New(st))
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&brokers, "brokers", []string{"127.0.0.1:9092"}, "Kafka brokers host:port, comma-separated")
	f.StringVar(&dsn, "db", defaultDB, "national store: sqlite:PATH or postgres://user@host:port/db")
	f.StringVar(&group, "group", "it4ct-aggregator", "Kafka consumer group")
	host, _ := os.Hostname()
	f.StringVar(&instance, "instance-id", "it4ct-aggregator-"+host, "static group member id: a restarted aggregator with the same id resumes at once; unique per running instance, empty to disable")
	kafka.register(f)
	return cmd
}

// kafkaPasswordEnv is where the Kafka password is read from when no
// --kafka-sasl-password-file is given.
const kafkaPasswordEnv = "IT4CT_KAFKA_PASSWORD"

// kafkaFlags are the TLS and SASL flags of the national commands.
type kafkaFlags struct {
	tlsCA, tlsServerName            string
	saslUser, saslMech, saslPwdFile string
}

func (k *kafkaFlags) register(f *pflag.FlagSet) {
	f.StringVar(&k.tlsCA, "kafka-tls-ca", "", "connect to Kafka over TLS, trusting the CAs in this PEM file")
	f.StringVar(&k.tlsServerName, "kafka-tls-server-name", "", "name to check in the brokers' certificates (default: the broker host); implies TLS")
	f.StringVar(&k.saslUser, "kafka-sasl-user", "", "authenticate to Kafka as this user (SASL); the password comes from --kafka-sasl-password-file or $"+kafkaPasswordEnv)
	f.StringVar(&k.saslMech, "kafka-sasl-mechanism", stream.MechanismScramSHA512, "SASL mechanism: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
	f.StringVar(&k.saslPwdFile, "kafka-sasl-password-file", "", "file holding the Kafka password (default: environment variable "+kafkaPasswordEnv+")")
}

func (k *kafkaFlags) tls() *stream.TLSConfig {
	if k.tlsCA == "" && k.tlsServerName == "" {
		return nil
	}
	return &stream.TLSConfig{CAFile: k.tlsCA, ServerName: k.tlsServerName}
}

func (k *kafkaFlags) sasl() *stream.SASLConfig {
	if k.saslUser == "" && k.saslPwdFile == "" {
		return nil
	}
	s := &stream.SASLConfig{Mechanism: k.saslMech, Username: k.saslUser, PasswordFile: k.saslPwdFile}
	if s.PasswordFile == "" {
		s.PasswordEnv = kafkaPasswordEnv
	}
	return s
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
