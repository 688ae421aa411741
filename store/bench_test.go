package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fr-it4ct/it4ct/store"
)

const (
	benchSubjects = 100_000
	benchBatch    = 10_000
)

// benchRows builds subjects with random-looking (hash) ids, as the mapping
// produces, spread over 150 establishments and 2,000 site studies.
func benchRows() []store.Change {
	out := make([]store.Change, benchSubjects)
	for i := range out {
		h := sha256.Sum256(fmt.Appendf(nil, "subject-%d", i))
		id := "rsub-" + hex.EncodeToString(h[:15])
		est := fmt.Sprintf("%09d", 100000000+(i%150)*1000)
		site := fmt.Sprintf("rs-site-%04d", i%2000)
		js := fmt.Sprintf(`{"resourceType":"ResearchSubject","id":%q,"status":"on-study","period":{"start":"2024-03-01"},`+
			`"study":{"reference":"ResearchStudy/%s"},"individual":{"identifier":{"system":"https://fr-it4ct.github.io/fhir/sid/subject-pseudonym","value":"%x"}}}`,
			id, site, h[15:])
		out[i] = store.Change{Kind: store.KindSubject, Establishment: est, ID: id, Subject: &store.Subject{
			Establishment: est, ID: id, SiteStudyID: site, InclusionDate: "2024-03-01", Status: "included", JSON: []byte(js)}}
	}
	return out
}

func applyAll(b *testing.B, st store.Store, rows []store.Change) {
	ctx := context.Background()
	for start := 0; start < len(rows); start += benchBatch {
		end := min(start+benchBatch, len(rows))
		if err := st.Apply(ctx, rows[start:end], []store.Offset{{Topic: "t", Partition: 0, Next: int64(end)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply measures the national store's write path on SQLite against
// a baseline: the same rows inserted one prepared INSERT at a time, in the
// same 10k-row transactions, into a minimal rowid table without any key.
func BenchmarkApply(b *testing.B) {
	rows := benchRows()
	ctx := context.Background()
	perSec := func(b *testing.B) {
		b.ReportMetric(float64(benchSubjects*b.N)/b.Elapsed().Seconds(), "rows/s")
	}

	b.Run("store-fresh", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, err := store.Open(ctx, filepath.Join(b.TempDir(), "n.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			applyAll(b, st, rows)
			b.StopTimer()
			st.Close()
			b.StartTimer()
		}
		perSec(b)
	})

	b.Run("store-replay", func(b *testing.B) {
		st, err := store.Open(ctx, filepath.Join(b.TempDir(), "n.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		applyAll(b, st, rows)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			applyAll(b, st, rows) // every row is an update of itself
		}
		perSec(b)
	})

	b.Run("baseline-plain-insert", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "plain.db")+
				"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TABLE subjects (establishment TEXT, id TEXT, site_study_id TEXT, inclusion_date TEXT, status TEXT, json TEXT)`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for start := 0; start < len(rows); start += benchBatch {
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				stmt, err := tx.Prepare(`INSERT INTO subjects VALUES ($1, $2, $3, $4, $5, $6)`)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range rows[start:min(start+benchBatch, len(rows))] {
					u := c.Subject
					if _, err := stmt.Exec(u.Establishment, u.ID, u.SiteStudyID, u.InclusionDate, u.Status, string(u.JSON)); err != nil {
						b.Fatal(err)
					}
				}
				stmt.Close()
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
		perSec(b)
	})
}
