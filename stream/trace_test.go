package stream

import (
	"context"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceContextConnectorToAggregator: the span around a connector's
// batch, the producer's "publish" span and the aggregator's "process" span
// are one trace, carried by the traceparent header.
func TestTraceContextConnectorToAggregator(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	b := startBroker(t, "")
	p := newTestProducer(t, b, ProducerTracerProvider(tp))
	topic := Topic(siteA, ResourceStudy)
	if err := p.EnsureTopics(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	ctx, batch := tp.Tracer("it4ct/connector-test").Start(t.Context(), "ingest batch")
	if err := p.Publish(ctx, testMessages(4, topic)); err != nil {
		t.Fatal(err)
	}
	batch.End()

	h := newMemHandler()
	cfg := testConsumerConfig(b)
	cfg.TracerProvider = tp
	stop := runConsume(t, cfg, h)
	waitFor(t, 10*time.Second, "4 records", func() bool { return h.len() >= 4 })
	stop() // ends the process spans of handled batches (they end after Handle anyway)

	spans := exp.GetSpans()
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	if len(byName["publish"]) != 1 || len(byName["ingest batch"]) != 1 || len(byName["process"]) == 0 {
		t.Fatalf("spans %v, want one ingest batch, one publish and some process spans", names(spans))
	}
	root, pub := byName["ingest batch"][0], byName["publish"][0]
	if pub.Parent.SpanID() != root.SpanContext.SpanID() || pub.SpanKind != trace.SpanKindProducer {
		t.Errorf("publish span: parent %s kind %v, want child of the ingest batch span (%s), kind producer",
			pub.Parent.SpanID(), pub.SpanKind, root.SpanContext.SpanID())
	}
	for _, r := range h.records() {
		tp := r.Headers[HeaderTraceParent]
		if !strings.Contains(tp, pub.SpanContext.TraceID().String()) || !strings.Contains(tp, pub.SpanContext.SpanID().String()) {
			t.Errorf("record %s: traceparent %q does not name the publish span %s/%s", r.Key, tp, pub.SpanContext.TraceID(), pub.SpanContext.SpanID())
		}
	}
	var n int64
	for _, s := range byName["process"] {
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("process span in trace %s, want the connector's trace %s", s.SpanContext.TraceID(), root.SpanContext.TraceID())
		}
		if s.Parent.SpanID() != pub.SpanContext.SpanID() || !s.Parent.IsRemote() {
			t.Errorf("process span parent %s (remote %v), want the publish span %s, remote", s.Parent.SpanID(), s.Parent.IsRemote(), pub.SpanContext.SpanID())
		}
		if s.SpanKind != trace.SpanKindConsumer {
			t.Errorf("process span kind %v, want consumer", s.SpanKind)
		}
		for _, a := range s.Attributes {
			if a.Key == "messaging.batch.message_count" {
				n += a.Value.AsInt64()
			}
		}
	}
	if n != 4 {
		t.Errorf("process spans cover %d records, want 4", n)
	}
}

func TestNoTracerNoSpans(t *testing.T) {
	// Without a TracerProvider, Publish still propagates ctx's own span.
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	b := startBroker(t, "")
	p := newTestProducer(t, b)
	topic := Topic(siteA, ResourceStudy)
	if err := p.EnsureTopics(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	ctx, span := tp.Tracer("test").Start(t.Context(), "caller")
	if err := p.Publish(ctx, testMessages(1, topic)); err != nil {
		t.Fatal(err)
	}
	span.End()
	recs := readLog(t, b, topic)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	var tpHeader string
	for _, h := range recs[0].Headers {
		if h.Key == HeaderTraceParent {
			tpHeader = string(h.Value)
		}
	}
	if !strings.Contains(tpHeader, span.SpanContext().SpanID().String()) {
		t.Errorf("traceparent %q, want the caller's span %s", tpHeader, span.SpanContext().SpanID())
	}
	if got := names(exp.GetSpans()); len(got) != 1 {
		t.Errorf("spans %v, want only the caller's", got)
	}
}

func names(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}
