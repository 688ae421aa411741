package stream

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// processSpans are the consumer spans of one handled batch.
type processSpans []trace.Span

// startProcessSpans starts one "process" span per distinct trace context
// found in recs' headers (records of one Publish call share one), each a
// child of the producer's span, or one root span for records without trace
// context. A batch mixing several traces gets several spans rather than one
// span with an arbitrary parent. It returns the ctx to hand to Handle: the
// span's when there is exactly one, ctx otherwise. With a nil tracer it
// does nothing.
func startProcessSpans(ctx context.Context, tracer trace.Tracer, prop propagation.TextMapPropagator, recs []Record) (context.Context, processSpans) {
	if tracer == nil || len(recs) == 0 {
		return ctx, nil
	}
	type group struct {
		parent context.Context
		n      int
		topics map[string]bool
	}
	type key struct {
		trace trace.TraceID
		span  trace.SpanID
	}
	var (
		order  []key
		groups = map[key]*group{}
	)
	for _, r := range recs {
		pctx := prop.Extract(ctx, propagation.MapCarrier(r.Headers))
		sc := trace.SpanContextFromContext(pctx)
		k := key{sc.TraceID(), sc.SpanID()}
		g, ok := groups[k]
		if !ok {
			g = &group{parent: pctx, topics: map[string]bool{}}
			groups[k] = g
			order = append(order, k)
		}
		g.n++
		g.topics[r.Topic] = true
	}
	spans := make(processSpans, 0, len(order))
	hctx := ctx
	for _, k := range order {
		g := groups[k]
		attrs := []attribute.KeyValue{
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "process"),
			attribute.Int("messaging.batch.message_count", g.n),
		}
		if len(g.topics) == 1 {
			for t := range g.topics {
				attrs = append(attrs, attribute.String("messaging.destination.name", t))
			}
		}
		sctx, span := tracer.Start(g.parent, "process", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
		spans = append(spans, span)
		if len(order) == 1 {
			hctx = sctx // derived from ctx: keeps its cancellation
		}
	}
	return hctx, spans
}

// end ends every span, marking them failed when err is not nil.
func (s processSpans) end(err error) {
	for _, span := range s {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "batch not handled")
		}
		span.End()
	}
}
