package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Record headers set by the producer.
const (
	// HeaderSchemaVersion is the version of the value's schema (the FHIR
	// profile set); Publish sets it to SchemaVersion when missing.
	HeaderSchemaVersion = "it4ct-schema-version"
	// HeaderSource names the connector instance that produced the record.
	HeaderSource = "it4ct-source"
	// HeaderTraceParent is the W3C trace context header.
	HeaderTraceParent = "traceparent"
)

// SchemaVersion is the current value of HeaderSchemaVersion.
const SchemaVersion = "1"

// DefaultPartitions is how many partitions EnsureTopics gives a new topic.
const DefaultPartitions = 3

// Message is one record to publish.
type Message struct {
	Topic   string
	Key     string // resource id: the compaction key
	Value   []byte // FHIR JSON; nil publishes a tombstone (deletion)
	Headers map[string]string
}

// ProducerOpt configures NewProducer.
type ProducerOpt func(*producerConfig)

type producerConfig struct {
	log         *slog.Logger
	clientID    string
	linger      time.Duration
	maxBuffered int
	retries     int // <0: kgo default (retry until the context ends)
	partitions  int32
	propagator  propagation.TextMapPropagator
	tracer      trace.Tracer // nil: no spans
	tls         *TLSConfig
	sasl        *SASLConfig
	kgoOpts     []kgo.Opt
}

// ProducerLogger sets the logger for the producer and for franz-go
// (franz-go's info level maps to debug). Default: discard.
func ProducerLogger(l *slog.Logger) ProducerOpt {
	return func(c *producerConfig) { c.log = l }
}

// ProducerClientID sets the Kafka client.id, which brokers log and quota on;
// default "it4ct".
func ProducerClientID(id string) ProducerOpt {
	return func(c *producerConfig) { c.clientID = id }
}

// ProducerLinger waits up to d for more records before sending a partial
// batch; default 0 (send as soon as possible: Publish already hands over
// whole batches).
func ProducerLinger(d time.Duration) ProducerOpt {
	return func(c *producerConfig) { c.linger = d }
}

// ProducerMaxBufferedRecords bounds the records buffered and not yet
// acknowledged; Publish blocks when the bound is reached, which is the
// back-pressure on the connector. Default 10,000 (franz-go's).
func ProducerMaxBufferedRecords(n int) ProducerOpt {
	return func(c *producerConfig) { c.maxBuffered = n }
}

// ProducerRecordRetries bounds how often one record is retried after a
// retriable broker error; default unbounded (until Publish's context ends),
// which is what "never drop data" wants.
func ProducerRecordRetries(n int) ProducerOpt {
	return func(c *producerConfig) { c.retries = n }
}

// ProducerPartitions sets the partition count EnsureTopics gives new topics;
// default DefaultPartitions.
func ProducerPartitions(n int32) ProducerOpt {
	return func(c *producerConfig) { c.partitions = n }
}

// ProducerPropagator sets how the trace context of Publish's ctx is written
// into headers; default W3C trace context (traceparent/tracestate).
func ProducerPropagator(p propagation.TextMapPropagator) ProducerOpt {
	return func(c *producerConfig) { c.propagator = p }
}

// ProducerTracerProvider makes Publish record a "publish" span (kind
// producer, child of ctx's span) whose context goes into the traceparent
// header. Default: no span; ctx's own trace context is still propagated.
func ProducerTracerProvider(tp trace.TracerProvider) ProducerOpt {
	return func(c *producerConfig) {
		if tp != nil {
			c.tracer = tp.Tracer(instrumentationName)
		}
	}
}

// ProducerTLS connects to the brokers over TLS; the CA and client
// certificate files are read by NewProducer. nil: plaintext.
func ProducerTLS(t *TLSConfig) ProducerOpt {
	return func(c *producerConfig) { c.tls = t }
}

// ProducerSASL authenticates with SASL; the password is read by
// NewProducer. nil: no authentication.
func ProducerSASL(s *SASLConfig) ProducerOpt {
	return func(c *producerConfig) { c.sasl = s }
}

// ProducerKgoOpts passes options straight to the franz-go client: hooks
// (kotel, kprom), SASL, TLS, a custom dialer.
func ProducerKgoOpts(opts ...kgo.Opt) ProducerOpt {
	return func(c *producerConfig) { c.kgoOpts = append(c.kgoOpts, opts...) }
}

// Producer publishes messages to the site topics with an idempotent
// franz-go producer: a retried batch is written once, in order.
type Producer struct {
	cl     *kgo.Client
	cfg    producerConfig
	auth   *authWatch
	closed atomic.Bool
}

// NewProducer returns a producer bootstrapping from brokers. It does not
// contact the brokers until first used.
func NewProducer(ctx context.Context, brokers []string, opts ...ProducerOpt) (*Producer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	if len(brokers) == 0 {
		return nil, errors.New("new producer: no broker address")
	}
	cfg := producerConfig{
		clientID:   "it4ct",
		retries:    -1,
		partitions: DefaultPartitions,
		propagator: propagation.TraceContext{},
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = discardLogger()
	}
	if cfg.partitions < 1 {
		return nil, fmt.Errorf("new producer: partitions is %d, want at least 1", cfg.partitions)
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID(cfg.clientID),
		kgo.WithLogger(newKgoLogger(cfg.log)),
		kgo.ProducerLinger(cfg.linger),
		kgo.RequiredAcks(kgo.AllISRAcks()), // required by idempotence; the default, said aloud
	}
	if cfg.maxBuffered > 0 {
		kopts = append(kopts, kgo.MaxBufferedRecords(cfg.maxBuffered))
	}
	if cfg.retries >= 0 {
		kopts = append(kopts, kgo.RecordRetries(cfg.retries))
	}
	sec, err := securityOpts(cfg.tls, cfg.sasl)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	kopts = append(kopts, sec...)
	auth := newAuthWatch(cfg.sasl != nil)
	kopts = append(kopts, kgo.WithHooks(auth))
	kopts = append(kopts, cfg.kgoOpts...)
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("new producer for %v: %w", brokers, err)
	}
	return &Producer{cl: cl, cfg: cfg, auth: auth}, nil
}

// EnsureTopics creates the given topics, compacted (cleanup.policy=compact)
// with the configured partition count and the broker's default replication
// factor. Topics that already exist are left as they are.
func (p *Producer) EnsureTopics(ctx context.Context, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	adm := kadm.NewClient(p.cl)
	resps, err := adm.CreateTopics(ctx, p.cfg.partitions, -1, map[string]*string{
		"cleanup.policy": kadm.StringPtr("compact"),
	}, topics...)
	if err != nil {
		return fmt.Errorf("create topics %v: %w", topics, classify(err, "check the Kafka credentials in kafka.sasl"))
	}
	var (
		errs    []error
		existed []string
	)
	for _, t := range topics {
		r, ok := resps[t]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("create topic %s: no answer from the broker", t))
		case r.Err == nil:
			p.cfg.log.Info("created topic", "topic", t, "partitions", p.cfg.partitions)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
			existed = append(existed, t)
		default:
			errs = append(errs, fmt.Errorf("create topic %s: %w (%s)", t, classify(r.Err, writeHint), r.ErrMessage))
		}
	}
	if len(errs) == 0 && len(existed) > 0 {
		p.warnNotCompacted(ctx, adm, existed)
	}
	return errors.Join(errs...)
}

// warnNotCompacted logs topics created by someone else without compaction:
// they work, but keep every version of every resource forever.
func (p *Producer) warnNotCompacted(ctx context.Context, adm *kadm.Client, topics []string) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		p.cfg.log.Debug("cannot check the cleanup policy of existing topics", "err", err)
		return
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			continue
		}
		for _, c := range rc.Configs {
			if c.Key == "cleanup.policy" && (c.Value == nil || !strings.Contains(*c.Value, "compact")) {
				p.cfg.log.Warn("existing topic is not compacted: set cleanup.policy=compact on it",
					"topic", rc.Name, "cleanup_policy", c.Value)
			}
		}
	}
}

// Publish produces msgs and returns once the broker has acknowledged every
// one of them, or with the first failure, or when ctx ends. Only a nil
// return means all of msgs are durably in the log: the connector moves its
// cursor only then. Records of one key keep their order. After a failure some
// of msgs may still be written; publishing them again is safe because
// consumers upsert by key.
//
// Publish adds HeaderSchemaVersion when a message lacks it, and the trace
// context (traceparent) of its "publish" span (see ProducerTracerProvider),
// or else of ctx's span if any.
//
// A refusal by the broker that retrying cannot fix (authentication failed,
// or the credential may not write the topic) is returned at once as a
// *PermanentError (IsPermanent): it needs an operator, not a retry.
func (p *Producer) Publish(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if p.closed.Load() {
		return errors.New("publish: producer is closed")
	}
	if p.cfg.tracer != nil {
		var span trace.Span
		ctx, span = p.cfg.tracer.Start(ctx, "publish", trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				attribute.String("messaging.system", "kafka"),
				attribute.String("messaging.operation.type", "send"),
				attribute.Int("messaging.batch.message_count", len(msgs)),
			))
		defer span.End()
		err := p.publish(ctx, msgs)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "publish failed")
		}
		return err
	}
	return p.publish(ctx, msgs)
}

func (p *Producer) publish(ctx context.Context, msgs []Message) error {
	carrier := map[string]string{}
	p.cfg.propagator.Inject(ctx, propagation.MapCarrier(carrier))
	p.auth.drain()

	var (
		wg       sync.WaitGroup
		firstErr = make(chan error, 1)
	)
	wg.Add(len(msgs))
	promise := func(r *kgo.Record, err error) {
		defer wg.Done()
		if err != nil {
			select {
			case firstErr <- fmt.Errorf("publish to %s, key %s: %w", r.Topic, r.Key, classify(err, writeHint)):
			default:
			}
		}
	}
	for i := range msgs {
		p.cl.Produce(ctx, p.record(&msgs[i], carrier), promise)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		select {
		case err := <-firstErr:
			return err
		default:
			return nil
		}
	case err := <-firstErr:
		return err
	case err := <-p.auth.failed:
		// The records stay buffered; they are failed by Close. The
		// caller stops: nothing was acknowledged, the cursor stays.
		return fmt.Errorf("publish %d records: %w", len(msgs), err)
	case <-ctx.Done():
		return fmt.Errorf("publish %d records: %w", len(msgs), ctx.Err())
	}
}

func (p *Producer) record(m *Message, trace map[string]string) *kgo.Record {
	r := &kgo.Record{Topic: m.Topic, Key: []byte(m.Key), Value: m.Value}
	keys := make([]string, 0, len(m.Headers)+1+len(trace))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(m.Headers[k])})
	}
	if _, ok := m.Headers[HeaderSchemaVersion]; !ok {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderSchemaVersion, Value: []byte(SchemaVersion)})
	}
	tkeys := make([]string, 0, len(trace))
	for k := range trace {
		if _, ok := m.Headers[k]; !ok {
			tkeys = append(tkeys, k)
		}
	}
	slices.Sort(tkeys)
	for _, k := range tkeys {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(trace[k])})
	}
	return r
}

// Close releases the client. Records Publish has not seen acknowledged are
// failed; since Publish waits for acknowledgements, there are none unless a
// Publish is running concurrently. Close is safe to call more than once.
func (p *Producer) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.cl.Close()
}

// writeHint is the fix for a write refused by the broker.
const writeHint = "the Kafka credential must be allowed to write the topic: each establishment's user may write only it4ct.site.<its FINESS>.*; check establishment.finess and kafka.sasl.username"

// instrumentationName names the tracer of this package.
const instrumentationName = "github.com/fr-it4ct/it4ct/stream"

// TraceContext returns ctx carrying the trace context found in rec's
// headers (W3C traceparent), for a consumer to continue the producer's trace.
func TraceContext(ctx context.Context, rec Record) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier(rec.Headers))
}
