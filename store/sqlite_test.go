package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fr-it4ct/it4ct/store"
	"github.com/fr-it4ct/it4ct/store/storetest"
)

func TestSQLite(t *testing.T) {
	var mu sync.Mutex
	paths := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		p, ok := paths[t]
		if !ok {
			p = filepath.Join(t.TempDir(), "national.db")
			paths[t] = p
		}
		mu.Unlock()
		dsn := "sqlite:" + p
		if ok {
			dsn = p // reopen through the plain-path form
		}
		st, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("Open(%s): %v", dsn, err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"", "open store: empty dsn; use sqlite:<path> or postgres://…"},
		{"mysql://u:secret@h/db", `open store: unsupported dsn scheme in "mysql://u:xxxxx@h/db"; use sqlite:<path> or postgres://…`},
		{"sqlite:", "open sqlite store: empty path"},
	} {
		_, err := store.Open(context.Background(), tc.dsn)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Open(%q) error = %v, want %q", tc.dsn, err, tc.want)
		}
	}
}

func TestSQLiteNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "n.db")
	st, err := store.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := store.BumpSchemaVersionForTest(ctx, p, 999); err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(ctx, p)
	if err == nil {
		t.Fatal("Open of a database with a newer schema succeeded; want an error")
	}
}
