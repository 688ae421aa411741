package faulttest

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// restartBound is how long an aggregator restarted after a crash may take
// to catch up on the rest of the backfill (a few thousand records).
const restartBound = 15 * time.Second

// TestAggregatorRestartSameGroup kills the aggregator mid-backfill and
// restarts it with the same consumer group, as systemd or Kubernetes would.
// The state is right either way (TestAggregatorCrash); this checks that the
// restart resumes promptly instead of waiting for the dead member's session
// to expire in the group (franz-go's default session timeout is 45 s,
// during which the national state does not move).
func TestAggregatorRestartSameGroup(t *testing.T) {
	s := theSuite
	ref := s.reference(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "national.db")
	log := filepath.Join(dir, "aggregate.log")
	offs := &offsetReader{path: db}
	defer offs.close()
	ctx := testCtx(t)

	p := s.start(t, log, s.aggregateArgs(ref.br.brokers(), db, "same-group")...)
	for offs.consumed(ctx) == 0 {
		if p.exited() {
			t.Fatalf("aggregator exited: %v\n%s", p.err, logTail(t, log))
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if !p.kill() {
		t.Fatal("aggregator was not running when killed")
	}
	if got := offs.consumed(ctx); got >= ref.logEnd {
		t.Fatalf("aggregator had already caught up (%d records) when killed", got)
	}
	restarted := time.Now()
	p = s.start(t, log, s.aggregateArgs(ref.br.brokers(), db, "same-group")...)
	bctx, cancel := context.WithTimeout(ctx, restartBound)
	defer cancel()
	if !caughtUpBy(bctx, ref.br, db) {
		t.Fatalf("aggregator restarted after SIGKILL with the same consumer group had not caught up %s later "+
			"(%d of %d records): the group waits for the killed member's session to time out. "+
			"Static membership (kgo.InstanceID) or a short session timeout in stream.Consume would let it resume at once",
			restartBound, offs.consumed(ctx), ref.logEnd)
	}
	t.Logf("restarted aggregator caught up in %s", time.Since(restarted).Round(time.Millisecond))
	if err := p.stop(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	compareState(t, "aggregator restarted in the same group", ref.state, readState(t, db))
}
