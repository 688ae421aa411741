package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fr-it4ct/it4ct/ingest"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

// loadConnectConfig reads an establishment config and applies the command
// line's overrides of the brokers and the state directory.
func loadConnectConfig(path string, brokers []string, stateDir string) (ingest.Config, error) {
	cfg, err := ingest.LoadConfig(path)
	if err != nil {
		return cfg, err
	}
	if len(brokers) > 0 {
		cfg.Kafka.Brokers = brokers
	}
	if stateDir != "" {
		cfg.StateDir = stateDir
	}
	return cfg, nil
}

// openPublishing validates everything a real (not dry) run needs, loads the
// pseudonym key and connects the producer with the config's TLS and SASL
// settings. The caller closes the producer.
func openPublishing(ctx context.Context, cfg ingest.Config, log *slog.Logger) (mapping.PseudonymKey, *stream.Producer, error) {
	if err := cfg.Validate(sourceFactories().Types()); err != nil {
		return mapping.PseudonymKey{}, nil, err
	}
	key, err := mapping.LoadPseudonymKey(cfg.Pseudonym.KeyID, cfg.Resolve(cfg.Pseudonym.KeyFile), cfg.Pseudonym.KeyEnv)
	if err != nil {
		return key, nil, fmt.Errorf("pseudonym key: %w", err)
	}
	if err := cfg.ValidateRuntime(); err != nil {
		return key, nil, err
	}
	kc := cfg.KafkaClient()
	prod, err := stream.NewProducer(ctx, kc.Brokers, stream.ProducerLogger(log), stream.ProducerTLS(kc.TLS), stream.ProducerSASL(kc.SASL))
	if err != nil {
		return key, nil, err
	}
	return key, prod, nil
}
