package faulttest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// aggregatorBatch is the most records the aggregator handles in one store
// transaction (stream.ConsumerConfig.MaxPollRecords' default).
const aggregatorBatch = 5000

// cursorProgress reads how far the connector's saved cursor is, in lines
// of the export (studies file, then inclusions file). It knows the
// ctms-csv cursor's JSON (file, line): if that changes, progress stays 0
// and the crash test fails saying the work finished before the kills.
type cursorProgress struct {
	dir     string
	studies int
}

func (c cursorProgress) lines(context.Context) int64 {
	b, err := os.ReadFile(filepath.Join(c.dir, "big-ctms.cursor"))
	if err != nil {
		return 0
	}
	var cur struct {
		File string `json:"file"`
		Line int64  `json:"line"`
	}
	if json.Unmarshal(b, &cur) != nil {
		return 0
	}
	if cur.File == "inclusions" {
		return int64(c.studies+1) + cur.Line
	}
	return cur.Line
}

// TestConnectorCrash kills the connector subprocess with SIGKILL at random
// points of the backfill, restarts it each time on the same state dir, and
// checks that the national state is the clean run's: the cursor only moves
// past what the broker acknowledged, and re-published records are
// idempotent upserts.
func TestConnectorCrash(t *testing.T) {
	s := theSuite
	ref := s.reference(t)
	rng := s.rng(t)
	dir := t.TempDir()
	br := s.startBroker(t, filepath.Join(dir, "broker"))
	stateDir := filepath.Join(dir, "state")
	log := filepath.Join(dir, "connect.log")
	wm := newWatermarks(t, br.brokers(), s.export.FINESS)

	cur := cursorProgress{dir: filepath.Join(stateDir, "cursors"), studies: s.export.Studies}
	total := int64(s.export.Studies + 1 + s.export.Inclusions + 1)
	plan := crashPlan{
		kills:    s.sz.kills,
		total:    total,
		progress: cur.lines,
		start:    func() *proc { return s.start(t, log, s.connectArgs(br.brokers(), stateDir)...) },
		// A kill lands up to one batch (500 rows) after a cursor save:
		// anywhere in reading, mapping and publishing the next batch.
		jitter: max(ref.connTook*500/time.Duration(total), 5*time.Millisecond),
		// Five batches short of the end: the jitter (one batch) never
		// lets the process finish before its kill.
		below: total - 5*500,
		fresh: 0.5,
	}
	plan.run(t, rng, func(p *proc) {
		if err := p.wait(testCtx(t)); err != nil {
			t.Fatalf("final connector run: %v\n%s", err, logTail(t, log))
		}
	})
	if got := wm.total(t.Context()); got < ref.published {
		t.Fatalf("after the crashes the topics hold %d records, fewer than the clean run's %d", got, ref.published)
	} else {
		t.Logf("topics hold %d records (clean run %d): %d re-published after crashes", got, ref.published, got-ref.published)
	}

	db := filepath.Join(dir, "national.db")
	s.runAggregate(t, br, db, "connector-crash", log)
	compareState(t, "connector crashed and restarted", ref.state, readState(t, db))
}

// TestAggregatorCrash publishes the export once (the reference run's
// topics), then kills the aggregator subprocess with SIGKILL at random
// points and restarts it until it has caught up: the state and the offsets
// are stored in one transaction, so nothing is lost or applied twice.
func TestAggregatorCrash(t *testing.T) {
	s := theSuite
	ref := s.reference(t)
	rng := s.rng(t)
	dir := t.TempDir()
	if ref.logEnd < 4*aggregatorBatch {
		t.Fatalf("%d records are too few to kill the aggregator at 10 points of its backfill: it commits %d at a time", ref.logEnd, aggregatorBatch)
	}
	db := filepath.Join(dir, "national.db")
	log := filepath.Join(dir, "aggregate.log")
	offs := &offsetReader{path: db}
	defer offs.close()

	plan := crashPlan{
		kills:    s.sz.kills,
		total:    ref.logEnd,
		progress: offs.consumed,
		// The same group every time, as a supervisor would restart it:
		// the static member id lets the new process take the killed
		// one's place at once (TestAggregatorRestartSameGroup).
		start: func() *proc {
			return s.start(t, log, s.aggregateArgs(ref.br.brokers(), db, "aggregator-crash")...)
		},
		// The aggregator commits up to aggregatorBatch records per
		// transaction: progress moves in steps; the random wait after a
		// step (up to half a transaction) decides where in the next
		// transaction, or in the restart, the kill lands. Thresholds stay
		// two transactions short of the end so that every kill finds
		// work left.
		jitter: max(ref.aggTook*aggregatorBatch/2/time.Duration(ref.logEnd), 20*time.Millisecond),
		below:  ref.logEnd - 2*aggregatorBatch,
	}
	plan.run(t, rng, func(p *proc) {
		s.waitCaughtUp(t, ref.br, db, p, log)
		if err := p.stop(t, 30*time.Second); err != nil {
			t.Fatalf("final aggregator run: %v\n%s", err, logTail(t, log))
		}
	})
	if got := offs.consumed(context.Background()); got != ref.logEnd {
		t.Errorf("stored offsets add up to %d, want %d (the end of every site topic)", got, ref.logEnd)
	}
	compareState(t, "aggregator crashed and restarted", ref.state, readState(t, db))
}
