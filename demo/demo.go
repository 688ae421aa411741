// Package demo composes the whole system in one process on embedded
// defaults: a kfake broker persisted under the data directory, one connector
// per fictional establishment of testdata/demo, the national aggregator on
// SQLite and the HTTP server.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/ingest"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/server"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

// Options configures a demo run.
type Options struct {
	DataDir   string // where the broker, national store and hospital-side state live
	HTTPAddr  string // e.g. 127.0.0.1:8080; port 0 picks one
	KafkaAddr string // e.g. 127.0.0.1:9092; port 0 picks one
	DemoDir   string // directory holding one sub-directory per establishment with connect.yaml
	Factories ingest.Factories
	Version   string
	Logger    *slog.Logger
	Out       io.Writer // where the human summary goes
	// ExitAfterIngest stops everything once the initial ingest is done
	// and the summary printed (for scripts and tests).
	ExitAfterIngest bool
	// OnReady, if set, is called once ready, with the HTTP and Kafka addresses.
	OnReady func(httpAddr, kafkaAddr string)
}

// Years are the years the summary table shows.
var Years = []int{2022, 2023, 2024, 2025}

// Run runs the demo until ctx is done (or ingest completes with ExitAfterIngest).
func Run(ctx context.Context, o Options) (err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if o.DemoDir == "" {
		o.DemoDir, err = FindDemoDir()
		if err != nil {
			return err
		}
	}
	cfgs, err := LoadEstablishments(o.DemoDir)
	if err != nil {
		return err
	}
	// Absolute, so that the establishments' state directories (which the
	// connector config resolves against each config's own directory) land
	// under the data dir and not beside the demo exports.
	if o.DataDir, err = filepath.Abs(o.DataDir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir %s: %w", o.DataDir, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Sinks first: broker, national store, aggregator, server; then sources.
	broker, err := stream.StartBroker(ctx, stream.BrokerConfig{DataDir: filepath.Join(o.DataDir, "kafka"), Addr: o.KafkaAddr, Logger: log.With("component", "broker")})
	if err != nil {
		return err
	}
	defer broker.Close()
	brokers := broker.Addrs()

	dbPath := filepath.Join(o.DataDir, "national.db")
	st, err := store.Open(ctx, "sqlite:"+dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := indicators.New(st)

	var ready atomic.Bool
	ln, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP address %s: %w (pass --http-addr with a free port)", o.HTTPAddr, err)
	}
	httpAddr := ln.Addr().String()
	h := server.New(svc, server.Options{Logger: log.With("component", "server"), Ready: ready.Load, BaseURL: "http://" + httpAddr, Version: o.Version})
	srv := server.NewHTTPServer(httpAddr, h)
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
		}
	}()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		wg.Wait()
	}()

	prod, err := stream.NewProducer(ctx, brokers, stream.ProducerLogger(log.With("component", "producer")))
	if err != nil {
		return err
	}
	defer prod.Close()
	var topics []string
	for _, c := range cfgs {
		topics = append(topics, stream.Topic(c.Establishment.FINESS, "ResearchStudy"), stream.Topic(c.Establishment.FINESS, "ResearchSubject"))
	}
	if err := prod.EnsureTopics(ctx, topics...); err != nil {
		return err
	}

	aggCtx, aggCancel := context.WithCancel(ctx)
	defer aggCancel()
	var aggWG sync.WaitGroup
	aggWG.Add(1)
	go func() {
		defer aggWG.Done()
		if err := stream.Consume(aggCtx, stream.ConsumerConfig{Brokers: brokers, Logger: log.With("component", "aggregator")}, svc); err != nil {
			errc <- fmt.Errorf("aggregator: %w", err)
		}
	}()
	defer func() { aggCancel(); aggWG.Wait() }()

	fmt.Fprintf(out, "it4ct demo\n  data dir     %s\n  kafka broker %s (Kafka protocol; try: kcat -b %s -L)\n  national db  %s\n  HTTP server  http://%s  (FHIR at /fhir, indicators at /api/v1/indicators)\n\n",
		o.DataDir, brokers[0], brokers[0], dbPath, httpAddr)

	// Sources: one connector per establishment.
	start := time.Now()
	for _, c := range cfgs {
		c.Kafka.Brokers = brokers
		c.StateDir = filepath.Join(o.DataDir, "sites", c.Establishment.FINESS)
		keyFile, err := ensureKey(filepath.Join(c.StateDir, "pseudonym.key"))
		if err != nil {
			return err
		}
		c.Pseudonym = ingest.PseudonymConf{KeyID: "demo", KeyFile: keyFile}
		key, err := mapping.LoadPseudonymKey(c.Pseudonym.KeyID, keyFile, "")
		if err != nil {
			return err
		}
		conn, err := ingest.NewConnector(c, o.Factories, key, prod, log.With("component", "connector"))
		if err != nil {
			return fmt.Errorf("establishment %s (%s): %w", c.Establishment.Name, c.Dir, err)
		}
		stats, err := conn.RunOnce(ctx)
		if err != nil {
			return fmt.Errorf("establishment %s: %w", c.Establishment.Name, err)
		}
		for id, s := range stats {
			fmt.Fprintf(out, "  %-9s %-38s source %-22s %5d records, %5d published, %3d rejected", c.Establishment.FINESS, c.Establishment.Name, id, s.Records, s.Published, s.Rejects)
			if s.Rejects > 0 {
				fmt.Fprintf(out, " (quarantine: %s)", conn.Quarantines()[id].Path())
			}
			fmt.Fprintln(out)
			if entries, err := conn.Quarantines()[id].List(); err == nil {
				for _, e := range entries {
					fmt.Fprintf(out, "      rejected: %s\n", e.Message)
				}
			}
		}
	}

	// Ready once the aggregator has consumed everything published.
	if err := waitCaughtUp(ctx, brokers, svc, errc); err != nil {
		return err
	}
	ready.Store(true)
	fmt.Fprintf(out, "\ningest done in %s\n\n", time.Since(start).Round(time.Millisecond))
	if err := PrintSummary(ctx, out, svc, cfgs, Years); err != nil {
		return err
	}
	printTry(ctx, out, st, httpAddr, brokers[0], cfgs[0].Establishment.FINESS)
	if o.OnReady != nil {
		o.OnReady(httpAddr, brokers[0])
	}
	if o.ExitAfterIngest {
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

func waitCaughtUp(ctx context.Context, brokers []string, h stream.Handler, errc <-chan error) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := stream.CaughtUp(ctx, brokers, h)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return err
		case <-t.C:
		}
	}
}

// ensureKey creates a random 32-byte demo pseudonymisation key (hex, 0600)
// on first run and reuses it afterwards, so that re-runs give the same
// pseudonyms and resource ids.
func ensureKey(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write demo key: %w", err)
	}
	return path, nil
}

// LoadEstablishments reads every <dir>/*/connect.yaml, sorted by directory
// name. Directories without one are ignored.
func LoadEstablishments(dir string) ([]ingest.Config, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*", "connect.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	var out []ingest.Config
	for _, m := range matches {
		if filepath.Base(filepath.Dir(m)) == "other-layout" {
			continue // a layout for trying the connector by hand, not part of the demo
		}
		c, err := ingest.LoadConfig(m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no establishment found in %s (expected <dir>/<name>/connect.yaml)", dir)
	}
	return out, nil
}

// FindDemoDir looks for testdata/demo in the working directory and its
// parents, so the demo runs from anywhere in a checkout.
func FindDemoDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "testdata", "demo")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testdata/demo not found from %s: run the demo inside the it4ct checkout or pass --demo-dir", wd)
		}
	}
}

// printTry shows curl and kcat commands on real data of this run.
func printTry(ctx context.Context, out io.Writer, st store.Store, httpAddr, kafkaAddr, finess string) {
	id, ident := "", ""
	if vs, err := st.NationalStudies(ctx); err == nil {
		for _, v := range vs {
			if id != "" {
				break
			}
			full, err := st.NationalStudyVersions(ctx, v.ID)
			if err != nil || len(full) == 0 {
				continue
			}
			for _, i := range full[0].Identifiers {
				if id == "" && strings.HasSuffix(i.System, "/nctid") {
					id, ident = v.ID, i.System+"|"+i.Value
				}
			}
		}
	}
	fmt.Fprintf(out, "\nTry:\n  curl -s http://%s/readyz\n  curl -s 'http://%s/api/v1/indicators?year=2024&establishment=%s'\n", httpAddr, httpAddr, finess)
	if id != "" {
		fmt.Fprintf(out, "  curl -s 'http://%s/fhir/ResearchStudy?identifier=%s'\n  curl -s http://%s/fhir/ResearchStudy/%s\n  curl -s 'http://%s/fhir/ResearchSubject?study=ResearchStudy/%s'\n",
			httpAddr, ident, httpAddr, id, httpAddr, id)
	}
	fmt.Fprintf(out, "  kcat -b %s -L\n  kcat -b %s -C -t %s -e\n\nCtrl-C to stop.\n", kafkaAddr, kafkaAddr, stream.Topic(finess, "ResearchStudy"))
}
