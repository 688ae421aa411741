package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/fr-it4ct/it4ct/connectors"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/stream"
)

// Factory builds a source of one kind from its YAML settings. It must not
// touch the source system (no I/O): that happens in Source.Open.
type Factory func(set connectors.Settings, settings *yaml.Node) (connectors.Source, error)

// Factories maps a source type name to its factory. The binary lists them
// in one place (cmd/it4ct).
type Factories map[string]Factory

// Types lists the known source types, sorted.
func (f Factories) Types() []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Connector is one establishment's configured set of sources, ready to run.
type Connector struct {
	cfg     Config
	jobs    []Job
	log     *slog.Logger
	pub     Publisher
	Cursors *CursorStore
	State   *LocalState

	qualityTopic bool // the data-quality topic was ensured
}

// NewConnector validates cfg, loads the pseudonymisation key and builds
// every source. Nothing is read from the sources yet.
func NewConnector(cfg Config, facs Factories, key mapping.PseudonymKey, pub Publisher, log *slog.Logger) (*Connector, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(facs.Types()); err != nil {
		return nil, err
	}
	if err := cfg.ValidateRuntime(); err != nil {
		return nil, err
	}
	finess := cfg.Establishment.FINESS
	mapper, err := mapping.NewMapper(finess, key)
	if err != nil {
		return nil, fmt.Errorf("establishment %s: %w", finess, err)
	}
	state, err := OpenLocalState(cfg.Resolve(cfg.StateDir))
	if err != nil {
		return nil, err
	}
	c := &Connector{cfg: cfg, log: log, Cursors: state.Cursors, State: state, pub: pub}
	for i, sc := range cfg.Sources {
		set := connectors.Settings{SourceID: sc.ID, Establishment: finess, BaseDir: cfg.Dir, Logger: log.With("source", sc.ID)}
		src, err := facs[sc.Type](set, &cfg.Sources[i].Settings)
		if err != nil {
			return nil, fmt.Errorf("sources[%d] (%s): %w", i, sc.ID, err)
		}
		q, err := state.Quarantine(sc.ID)
		if err != nil {
			return nil, err
		}
		c.jobs = append(c.jobs, Job{SourceID: sc.ID, Establishment: finess, Source: src, Mapper: mapper,
			Publisher: pub, Cursors: state.Cursors, Quarantine: q, Keys: state.Keys, Erased: state.Erased,
			QualityReport: true, Logger: log})
	}
	return c, nil
}

// Establishment is the FINESS this connector publishes for.
func (c *Connector) Establishment() string { return c.cfg.Establishment.FINESS }

// Name is the establishment's display name.
func (c *Connector) Name() string { return c.cfg.Establishment.Name }

// Quarantines returns the quarantine of each source.
func (c *Connector) Quarantines() map[string]*Quarantine {
	out := map[string]*Quarantine{}
	for _, j := range c.jobs {
		out[j.SourceID] = j.Quarantine
	}
	return out
}

// topicEnsurer is implemented by publishers that can create topics
// (stream.Producer).
type topicEnsurer interface {
	EnsureTopics(ctx context.Context, topics ...string) error
}

// RunOnce runs every source to its end, one after the other.
func (c *Connector) RunOnce(ctx context.Context) (map[string]Stats, error) {
	out := map[string]Stats{}
	if te, ok := c.pub.(topicEnsurer); ok && !c.qualityTopic {
		// The data-quality topic is created here so that the binary's
		// wiring only needs to know the resource topics.
		if err := te.EnsureTopics(ctx, stream.DataQualityTopic(c.Establishment())); err != nil {
			return out, fmt.Errorf("establishment %s: %w", c.Establishment(), err)
		}
		c.qualityTopic = true
	}
	for _, j := range c.jobs {
		st, err := Run(ctx, j)
		out[j.SourceID] = st
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
