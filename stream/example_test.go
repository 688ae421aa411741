package stream_test

import (
	"context"
	"log"

	"github.com/fr-it4ct/it4ct/stream"
)

// The demo's wiring: an embedded broker, a producer publishing one site's
// study, and the aggregator's consumer loop.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	b, err := stream.StartBroker(ctx, stream.BrokerConfig{DataDir: "/var/lib/it4ct/kafka"})
	if err != nil {
		log.Fatal(err) // e.g. "127.0.0.1:9092 is in use: pass --kafka-addr ..."
	}
	defer b.Close()

	p, err := stream.NewProducer(ctx, b.Addrs(), stream.ProducerClientID("it4ct-connect-750712184"))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	topic := stream.Topic("750712184", stream.ResourceStudy)
	if err := p.EnsureTopics(ctx, topic); err != nil {
		log.Fatal(err)
	}
	// Returns once the broker acknowledged every record: only then may the
	// connector move its source cursor.
	if err := p.Publish(ctx, []stream.Message{{
		Topic: topic,
		Key:   "rs-3f2a9c",
		Value: []byte(`{"resourceType":"ResearchStudy","id":"rs-3f2a9c"}`),
	}}); err != nil {
		log.Fatal(err)
	}

	var h stream.Handler // the national store
	go func() {
		if err := stream.Consume(ctx, stream.ConsumerConfig{Brokers: b.Addrs()}, h); err != nil {
			log.Print(err)
		}
	}()
}
