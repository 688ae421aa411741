package stream_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/indicators"
	"github.com/fr-it4ct/it4ct/mapping"
	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/stream"
)

// TestAggregatorRejectsPayloadOfAnotherEstablishment: broker ACLs stop an
// establishment from writing another's topics, but a superuser (or a
// misconfigured bridge) still can. B's site study written into A's topic
// must become an establishment-mismatch data-quality event in the national
// store, not a resource.
func TestAggregatorRejectsPayloadOfAnotherEstablishment(t *testing.T) {
	const siteA, siteB = "990000011", "990000021"
	key, err := mapping.NewPseudonymKey("test", bytes.Repeat([]byte{7}, mapping.MinKeyBytes))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.NewMapper(siteB, key)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Map(canonical.Record{Site: &canonical.Site{
		Study:         canonical.Identifiers{NCT: "NCT09999991"},
		Establishment: siteB,
		Role:          canonical.RoleInvestigatingSite,
		Status:        canonical.StatusRecruiting,
		Prov:          canonical.Provenance{Source: "test", Establishment: siteB, RecordKey: "S1"},
	}})
	if err != nil {
		t.Fatalf("mapping B's site study: %v", err)
	}
	var site *mapping.Resource
	for i := range res {
		if res[i].Type == stream.ResourceStudy {
			site = &res[i]
		}
	}
	if site == nil {
		t.Fatalf("mapping returned %d resources, none a ResearchStudy", len(res))
	}

	pw := "admin-password-for-this-test"
	b, err := stream.StartBroker(t.Context(), stream.BrokerConfig{Addr: "127.0.0.1:0", Users: []stream.BrokerUser{
		{Mechanism: stream.MechanismScramSHA512, Name: "admin", Password: stream.Secret(pw), Superuser: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	t.Setenv("IT4CT_TEST_ADMIN_PASSWORD", pw)
	sasl := &stream.SASLConfig{Mechanism: stream.MechanismScramSHA512, Username: "admin", PasswordEnv: "IT4CT_TEST_ADMIN_PASSWORD"}
	p, err := stream.NewProducer(t.Context(), b.Addrs(), stream.ProducerSASL(sasl))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	topicA := stream.Topic(siteA, stream.ResourceStudy)
	if err := p.EnsureTopics(t.Context(), topicA); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(t.Context(), []stream.Message{{Topic: topicA, Key: site.ID, Value: site.JSON}}); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "national.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := indicators.New(st, indicators.WithLogger(slog.New(slog.DiscardHandler)))
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		errc <- stream.Consume(ctx, stream.ConsumerConfig{Brokers: b.Addrs(), SASL: sasl,
			MetadataMaxAge: 100 * time.Millisecond, FetchMaxWait: 50 * time.Millisecond}, svc)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := stream.CaughtUp(t.Context(), b.Addrs(), svc, mustOpts(t, stream.ClientConfig{Brokers: b.Addrs(), SASL: sasl})...)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("aggregator did not catch up within 15s")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Consume: %v", err)
	}

	evs, err := st.QualityEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Code != indicators.QualityEstablishmentMismatch || evs[0].Topic != topicA || evs[0].RecordKey != site.ID {
		t.Errorf("quality events %+v, want one %s on %s for key %s", evs, indicators.QualityEstablishmentMismatch, topicA, site.ID)
	}
	if _, found, err := svc.Resource(t.Context(), stream.ResourceStudy, site.ID); err != nil || found {
		t.Errorf("Resource(%s) found=%v err=%v; want the mismatched study not stored", site.ID, found, err)
	}
}

func mustOpts(t *testing.T, cc stream.ClientConfig) []kgo.Opt {
	t.Helper()
	opts, err := cc.Opts()
	if err != nil {
		t.Fatal(err)
	}
	return opts
}
