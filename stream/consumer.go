package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// DefaultGroup is the consumer group the aggregator joins.
const DefaultGroup = "it4ct-aggregator"

// ConsumerConfig configures Consume.
type ConsumerConfig struct {
	// Brokers to bootstrap from. Required.
	Brokers []string
	// Group is the consumer group; default DefaultGroup. The group only
	// spreads partitions over aggregator instances and exposes lag to
	// monitoring: the positions that count are the Handler's.
	Group string
	// InstanceID, when set, makes this consumer a static group member
	// (KIP-345): an aggregator restarted after a crash with the same
	// instance id takes its partitions back at once instead of waiting for
	// the dead member's session to time out. Give each aggregator instance
	// its own stable id (e.g. the host name).
	InstanceID string
	// SessionTimeout bounds how long a vanished member without an
	// InstanceID keeps its partitions; default 10s.
	SessionTimeout time.Duration
	// MetadataMaxAge bounds how long a new establishment's topic can go
	// unnoticed; default 5s.
	MetadataMaxAge time.Duration
	// MaxPollRecords bounds the records handed to one Handle call;
	// default 5000.
	MaxPollRecords int
	// FetchMaxWait is how long the broker may hold a fetch waiting for
	// data; default 1s. Lower it in tests for snappier discovery.
	FetchMaxWait time.Duration
	// Backoff returns the wait before retry attempt n (1, 2, ...) after
	// Handle or Committed fails; default 100ms doubling to 30s.
	Backoff func(attempt int) time.Duration
	// ClientID is the Kafka client.id; default "it4ct-aggregator".
	ClientID string
	// Logger for the loop and franz-go; default discard.
	Logger *slog.Logger
	// TLS and SASL secure the connection (see ClientConfig); nil: off.
	// Files and environment variables are read when Consume starts.
	TLS  *TLSConfig
	SASL *SASLConfig
	// TracerProvider, when set, makes Consume record a "process" span
	// (kind consumer) around Handle for each distinct trace context
	// found in the batch's traceparent headers, as a child of the
	// producer's span: one trace runs from connector to aggregator.
	// Handle's ctx carries the span when the batch has a single one.
	TracerProvider trace.TracerProvider
	// Propagator reads the trace context from record headers; default
	// W3C trace context.
	Propagator propagation.TextMapPropagator
	// KgoOpts are passed straight to the franz-go client (hooks such as
	// kotel or kprom, a custom dialer).
	KgoOpts []kgo.Opt
}

func (c *ConsumerConfig) withDefaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("consumer: no broker address (ConsumerConfig.Brokers)")
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.MetadataMaxAge <= 0 {
		c.MetadataMaxAge = 5 * time.Second
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.MaxPollRecords <= 0 {
		c.MaxPollRecords = 5000
	}
	if c.FetchMaxWait <= 0 {
		c.FetchMaxWait = time.Second
	}
	if c.Backoff == nil {
		c.Backoff = defaultBackoff
	}
	if c.ClientID == "" {
		c.ClientID = "it4ct-aggregator"
	}
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
	if c.Propagator == nil {
		c.Propagator = propagation.TraceContext{}
	}
	return nil
}

func defaultBackoff(attempt int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < attempt && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// Consume reads every site topic (TopicPattern, including topics created
// while it runs) as member of cfg.Group and hands the records to h, one
// Handle call per poll, until ctx ends; it then returns nil.
//
// Positions come from the Handler: when partitions are assigned, each starts
// at h.Committed's offset, or at the beginning when h has none. A failing
// Handle is retried with the same batch, with backoff, until it succeeds or
// ctx ends: no batch is ever skipped. After a successful Handle the same
// offsets are committed to the group, best effort, so that standard tools
// show the aggregator's lag. Auto-commit is off and partitions are not
// rebalanced away while a batch is being handled.
func Consume(ctx context.Context, cfg ConsumerConfig, h Handler) error {
	if err := cfg.withDefaults(); err != nil {
		return err
	}
	log := cfg.Logger.With("group", cfg.Group)
	minAge := min(cfg.MetadataMaxAge, 5*time.Second)
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(newKgoLogger(cfg.Logger)),
		kgo.ConsumerGroup(cfg.Group),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(max(cfg.SessionTimeout/5, 500*time.Millisecond)),
		kgo.ConsumeTopics(TopicPattern),
		kgo.ConsumeRegex(),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.MetadataMaxAge(cfg.MetadataMaxAge),
		kgo.MetadataMinAge(minAge),
		kgo.FetchMaxWait(cfg.FetchMaxWait),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AdjustFetchOffsetsFn(func(actx context.Context, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			return handlerOffsets(actx, log, cfg.Backoff, h, offs)
		}),
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	sec, err := securityOpts(cfg.TLS, cfg.SASL)
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", cfg.Group, err)
	}
	opts = append(opts, sec...)
	opts = append(opts, cfg.KgoOpts...)
	var tracer trace.Tracer
	if cfg.TracerProvider != nil {
		tracer = cfg.TracerProvider.Tracer(instrumentationName)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", cfg.Group, err)
	}
	defer cl.CloseAllowingRebalance()

	for {
		fetches := cl.PollRecords(ctx, cfg.MaxPollRecords)
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return errors.New("consumer: client closed")
		}
		fetches.EachError(func(t string, p int32, err error) {
			if isAuthError(err) {
				log.Error("the broker refuses this credential: it needs READ on topics prefixed it4ct.site. and on the consumer group (see docs/kafka-security.md)", "topic", t, "partition", p, "err", err)
				return
			}
			log.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		var krecs []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) { krecs = append(krecs, r) })
		if len(krecs) > 0 {
			recs := toRecords(krecs)
			hctx, spans := startProcessSpans(ctx, tracer, cfg.Propagator, recs)
			err := handleRetrying(hctx, log, cfg.Backoff, h, recs)
			spans.end(err)
			if err != nil {
				return nil // ctx ended while retrying; the batch was not applied and will be re-read
			}
			if err := cl.CommitRecords(ctx, krecs...); err != nil && ctx.Err() == nil {
				log.Warn("committing offsets to the group (for lag monitoring only)", "err", err)
			}
		}
		cl.AllowRebalance()
	}
}

// handlerOffsets replaces the group's offsets for newly assigned partitions
// with the Handler's.
func handlerOffsets(ctx context.Context, log *slog.Logger, backoff func(int) time.Duration, h Handler, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	for _, topic := range slices.Sorted(maps.Keys(offs)) {
		var committed map[int32]int64
		err := retry(ctx, log, backoff, "reading handler offsets", func() error {
			var err error
			committed, err = h.Committed(ctx, topic)
			return err
		}, "topic", topic)
		if err != nil {
			return nil, fmt.Errorf("handler offsets for %s: %w", topic, err)
		}
		for p := range offs[topic] {
			if o, ok := committed[p]; ok {
				offs[topic][p] = kgo.NewOffset().At(o).WithEpoch(-1)
			} else {
				offs[topic][p] = kgo.NewOffset().AtStart()
			}
			log.Debug("partition assigned", "topic", topic, "partition", p, "handler_offset", committed[p])
		}
	}
	return offs, nil
}

func handleRetrying(ctx context.Context, log *slog.Logger, backoff func(int) time.Duration, h Handler, recs []Record) error {
	return retry(ctx, log, backoff, "handling batch", func() error {
		return h.Handle(ctx, recs)
	}, "records", len(recs), "topic", recs[0].Topic, "partition", recs[0].Partition, "offset", recs[0].Offset)
}

// retry calls fn until it succeeds or ctx ends, waiting backoff(n) after
// the n-th failure. It returns ctx's error only.
func retry(ctx context.Context, log *slog.Logger, backoff func(int) time.Duration, what string, fn func() error, attrs ...any) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := backoff(attempt)
		log.Warn(what+" failed, retrying", append(attrs, "attempt", attempt, "backoff", d, "err", err)...)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func toRecords(krecs []*kgo.Record) []Record {
	recs := make([]Record, len(krecs))
	for i, r := range krecs {
		var hdr map[string]string
		if len(r.Headers) > 0 {
			hdr = make(map[string]string, len(r.Headers))
			for _, h := range r.Headers {
				hdr[h.Key] = string(h.Value)
			}
		}
		recs[i] = Record{
			Topic:     r.Topic,
			Partition: r.Partition,
			Offset:    r.Offset,
			Key:       r.Key,
			Value:     r.Value,
			Headers:   hdr,
		}
	}
	return recs
}

// EndOffsets returns the high watermark (offset of the next record) of
// every partition of every site topic on the cluster. opts are extra
// franz-go options: pass ClientConfig.Opts() for TLS and SASL.
func EndOffsets(ctx context.Context, brokers []string, opts ...kgo.Opt) (map[string]map[int32]int64, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("end offsets: list topics: %w", err)
	}
	re := regexp.MustCompile(TopicPattern)
	var topics []string
	for _, t := range details.Names() {
		if re.MatchString(t) {
			topics = append(topics, t)
		}
	}
	out := make(map[string]map[int32]int64, len(topics))
	if len(topics) == 0 {
		return out, nil
	}
	listed, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	if err := listed.Error(); err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	listed.Each(func(o kadm.ListedOffset) {
		if out[o.Topic] == nil {
			out[o.Topic] = make(map[int32]int64)
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, nil
}

// CaughtUp reports whether h has handled everything the site topics held
// when it was called: for every partition, h.Committed is at the high
// watermark. Readiness probes use it.
func CaughtUp(ctx context.Context, brokers []string, h Handler, opts ...kgo.Opt) (bool, error) {
	ends, err := EndOffsets(ctx, brokers, opts...)
	if err != nil {
		return false, err
	}
	for topic, parts := range ends {
		committed, err := h.Committed(ctx, topic)
		if err != nil {
			return false, fmt.Errorf("caught up: handler offsets for %s: %w", topic, err)
		}
		for p, end := range parts {
			if committed[p] < end {
				return false, nil
			}
		}
	}
	return true, nil
}
