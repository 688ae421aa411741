package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/store/storetest"
)

// postgresDSN returns IT4CT_TEST_POSTGRES_DSN, or skips (fails under
// IT4CT_INTEROP=1) when it is unset or the server does not answer.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("IT4CT_TEST_POSTGRES_DSN")
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("IT4CT_INTEROP") == "1" {
			t.Fatalf("PostgreSQL needed (IT4CT_INTEROP=1): %s", why)
		}
		t.Skipf("skipping PostgreSQL tests: %s (set IT4CT_TEST_POSTGRES_DSN, e.g. postgres://postgres@127.0.0.1:5433/it4ct_test?sslmode=disable)", why)
	}
	if dsn == "" {
		unavailable("IT4CT_TEST_POSTGRES_DSN is not set")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		unavailable(err.Error())
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		unavailable(fmt.Sprintf("cannot reach the server: %v", err))
	}
	return dsn
}

var schemaSeq atomic.Int64

func TestPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var mu sync.Mutex
	schemas := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) store.Store {
		ctx := context.Background()
		mu.Lock()
		schema, ok := schemas[t]
		if !ok {
			schema = fmt.Sprintf("it4ct_test_%d_%d", os.Getpid(), schemaSeq.Add(1))
			schemas[t] = schema
		}
		mu.Unlock()
		if !ok {
			if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
				t.Fatalf("create schema: %v", err)
			}
			t.Cleanup(func() {
				if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
					t.Errorf("drop schema %s: %v", schema, err)
				}
			})
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		st, err := store.Open(ctx, dsn+sep+"search_path="+schema)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
