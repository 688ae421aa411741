package faulttest

import (
	"path/filepath"
	"testing"
	"time"
)

// TestBrokerOutage stops the broker in the middle of a backfill, keeps it
// down (30 s at full size), and starts it again on the same data dir and
// address. The connector subprocess must wait and retry rather than exit or
// drop anything, the aggregator running all along must catch up, and the
// national state must be the clean run's.
func TestBrokerOutage(t *testing.T) {
	s := theSuite
	ref := s.reference(t)
	rng := s.rng(t)
	dir := t.TempDir()
	br := s.startBroker(t, filepath.Join(dir, "broker"))
	wm := newWatermarks(t, br.brokers(), s.export.FINESS)
	db := filepath.Join(dir, "national.db")
	connLog, aggLog := filepath.Join(dir, "connect.log"), filepath.Join(dir, "aggregate.log")
	ctx := testCtx(t)

	agg := s.start(t, aggLog, s.aggregateArgs(br.brokers(), db, "outage")...)
	conn := s.start(t, connLog, s.connectArgs(br.brokers(), filepath.Join(dir, "state"))...)

	at := int64(float64(ref.published) * (0.2 + 0.4*rng.Float64()))
	for wm.total(ctx) < at {
		if conn.exited() {
			t.Fatalf("connector exited before the outage (%v)\n%s", conn.err, logTail(t, connLog))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no progress to %d records before the outage", at)
		case <-time.After(2 * time.Millisecond):
		}
	}
	before := wm.total(ctx)
	br.stop(t)
	down := time.Now()
	t.Logf("broker stopped with %d of %d records published; down for %s", before, ref.published, s.sz.outage)
	for time.Since(down) < s.sz.outage {
		for _, p := range []*proc{conn, agg} {
			if p.exited() {
				t.Fatalf("it4ct %s exited during the broker outage instead of retrying: %v\nconnect:\n%s\naggregate:\n%s",
					p.name, p.err, logTail(t, connLog), logTail(t, aggLog))
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	br.start(t)
	up := time.Now()
	if err := conn.wait(ctx); err != nil {
		t.Fatalf("connector after the outage: %v\n%s", err, logTail(t, connLog))
	}
	t.Logf("connector finished %s after the broker came back", time.Since(up).Round(time.Millisecond))
	if got := wm.total(ctx); got < ref.published {
		t.Errorf("after the outage the topics hold %d records, fewer than the clean run's %d", got, ref.published)
	}
	s.waitCaughtUp(t, br, db, agg, aggLog)
	t.Logf("aggregator caught up %s after the broker came back", time.Since(up).Round(time.Millisecond))
	if err := agg.stop(t, 30*time.Second); err != nil {
		t.Fatalf("aggregator: %v\n%s", err, logTail(t, aggLog))
	}
	compareState(t, "broker outage", ref.state, readState(t, db))
}
