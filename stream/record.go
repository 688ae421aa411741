// Package stream carries FHIR resources over the Kafka protocol: topic
// naming, the franz-go producer the connectors' runner publishes with, the
// consumer-group loop the aggregator reads with, and the embedded kfake
// broker used by the demo and tests.
package stream

import "context"

// Record is one Kafka record as the aggregator sees it.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte // nil: tombstone (deletion)
	Headers   map[string]string
}

// Handler consumes records and owns the consumed offsets: it stores them in
// the same transaction as the state they produced, so a crash can neither
// lose nor re-apply an update.
type Handler interface {
	// Committed returns, for the given topic, the next offset to read per
	// partition as last stored by Handle. Missing partitions start at the
	// beginning.
	Committed(ctx context.Context, topic string) (map[int32]int64, error)
	// Handle applies a batch of records and records offset+1 of each
	// (topic, partition) as its next offset, atomically.
	Handle(ctx context.Context, recs []Record) error
}
