package faulttest

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestReplay replays the whole history both ways: the aggregator forgets
// its offsets (kept state, and a new empty store) and re-consumes
// everything; the connector forgets its cursors and re-publishes
// everything. The national state never changes.
func TestReplay(t *testing.T) {
	s := theSuite
	ref := s.reference(t)
	dir := t.TempDir()
	br := s.startBroker(t, filepath.Join(dir, "broker"))
	wm := newWatermarks(t, br.brokers(), s.export.FINESS)
	stateDir := filepath.Join(dir, "state")
	log := filepath.Join(dir, "it4ct.log")
	db := filepath.Join(dir, "national.db")

	s.runConnect(t, br.brokers(), stateDir, log)
	s.runAggregate(t, br, db, "replay", log)
	compareState(t, "second clean run", ref.state, readState(t, db))

	t.Run("consumer reset", func(t *testing.T) {
		resetOffsets(t, db)
		s.runAggregate(t, br, db, "replay", log)
		compareState(t, "re-consumed into the existing state", ref.state, readState(t, db))

		fresh := filepath.Join(t.TempDir(), "national.db")
		s.runAggregate(t, br, fresh, "replay-fresh", log)
		compareState(t, "re-consumed into an empty store", ref.state, readState(t, fresh))
	})

	t.Run("re-publish", func(t *testing.T) {
		cursors, err := filepath.Glob(filepath.Join(stateDir, "cursors", "*.cursor"))
		if err != nil || len(cursors) == 0 {
			t.Fatalf("no cursor file under %s (%v): re-running would not re-publish", stateDir, err)
		}
		for _, c := range cursors {
			if err := os.Remove(c); err != nil {
				t.Fatal(err)
			}
		}
		s.runConnect(t, br.brokers(), stateDir, log)
		if got := wm.total(t.Context()); got != 2*ref.published {
			t.Fatalf("after re-publishing the topics hold %d records, want twice %d", got, ref.published)
		}
		s.runAggregate(t, br, db, "replay", log)
		compareState(t, "re-published history, existing state", ref.state, readState(t, db))

		fresh := filepath.Join(t.TempDir(), "national.db")
		s.runAggregate(t, br, fresh, "replay-fresh2", log)
		compareState(t, "re-published history, empty store", ref.state, readState(t, fresh))
	})
}

// resetOffsets makes the aggregator start again from the beginning of every
// partition while keeping its state: its positions live in the store, in
// the same transactions as the state (the consumer group's committed
// offsets are only for monitoring).
func resetOffsets(t *testing.T, dbPath string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(t.Context(), `DELETE FROM consumed_offsets`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("no stored offsets to reset")
	}
}
