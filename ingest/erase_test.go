package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Erasing a subject publishes its tombstone, records it on the deny list
// and the next pass of an export still holding it does not publish it.
func TestEraseSubject(t *testing.T) {
	ctx := context.Background()
	state := openState(t)
	pub := &logPublisher{}
	src := &snapSource{size: 2, rows: []string{"S:A", "S:B", "I:A:p-1", "I:B:P-1", "I:A:P-2"}}
	j := snapJob(t, state, src, pub)
	c := &Connector{cfg: Config{Establishment: Establishment{FINESS: finess}}, jobs: []Job{j}, pub: pub, State: state, Cursors: state.Cursors}
	if _, err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	ids, err := c.FindSubject(ctx, " a ", "P-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"sj-p-1"}, ids); d != "" {
		t.Fatalf("found (-want +got):\n%s", d)
	}
	if _, err := c.FindSubject(ctx, "A", "P-9"); !errors.Is(err, ErrSubjectNotFound) || strings.Contains(err.Error(), "P-9") {
		t.Fatalf("unknown subject: %v (the local id must not appear)", err)
	}

	pub.reset()
	pub.fail = map[int]bool{1: true}
	if err := c.Erase(ctx, ids); err == nil {
		t.Fatal("want the broker error")
	}
	if err := c.Erase(ctx, ids); err != nil { // idempotent retry
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"researchsubject sj-p-1"}, pub.tombstones()); d != "" {
		t.Errorf("tombstones (-want +got):\n%s", d)
	}

	pub.reset()
	src.version = 1
	st, err := c.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range pub.msgs {
		if m.Key == "sj-p-1" && m.Value != nil {
			t.Fatal("erased subject published again")
		}
	}
	if st["src"].Erased != 1 {
		t.Errorf("Stats.Erased = %d", st["src"].Erased)
	}
}
