package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// dialect holds what differs between SQLite and PostgreSQL. Both accept
// $N placeholders (modernc binds $N to the N-th argument) and
// INSERT … ON CONFLICT … DO UPDATE, so most SQL text is shared. Multi-row
// statements use ? on SQLite: resolving the name of each $N parameter is
// linear in the parameter count in SQLite, which made a 500-row statement
// spend most of its time binding.
type dialect struct {
	postgres bool
	// maxParams bounds the placeholders of one statement.
	maxParams int
}

// sqlStore implements Store on database/sql.
type sqlStore struct {
	db *sql.DB
	d  dialect
}

func openSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// WAL + synchronous=NORMAL: durable at each checkpoint and never
	// corrupt; a power loss may drop the last transactions, which the
	// offsets stored with them make Kafka redeliver. IMMEDIATE transactions
	// avoid lock-upgrade deadlocks between writers. A 64 MB page cache and a
	// 64 MB WAL between checkpoints keep batch commits off fsync (measured
	// in BenchmarkApply).
	dsn := "file:" + path + sep +
		"_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(16384)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s := &sqlStore{db: db, d: dialect{maxParams: 32000}}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store %s: %w", redactDSN(dsn), err)
	}
	s := &sqlStore{db: db, d: dialect{postgres: true, maxParams: 65000}}
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store %s: %w", redactDSN(dsn), err)
	}
	return s, nil
}

func (s *sqlStore) init(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return migrate(ctx, s.db, s.d)
}

func (s *sqlStore) Close() error { return s.db.Close() }

// table describes one upsert target.
type table struct {
	name string
	cols []string
	key  []string // conflict target, a prefix-free subset of cols
}

var (
	tNational = table{"national_studies",
		[]string{"id", "establishment", "sponsor_finess", "sponsor_type", "category", "phase", "status", "json"},
		[]string{"id", "establishment"}}
	tIdentifiers = table{"study_identifiers",
		[]string{"system", "value", "id", "establishment"},
		[]string{"value", "system", "id", "establishment"}}
	tSite = table{"site_studies",
		[]string{"id", "establishment", "national_id", "role", "status", "opened", "first_inclusion", "closed", "json"},
		[]string{"id", "establishment"}}
	tSubject = table{"subjects",
		[]string{"establishment", "id", "site_study_id", "inclusion_date", "status", "json"},
		[]string{"establishment", "id"}}
	tQuality = table{"quality_events",
		[]string{"topic", "partition_id", "record_offset", "establishment", "record_key", "code", "reason"},
		[]string{"topic", "partition_id", "record_offset"}}
	tSiteQuality = table{"site_quality",
		[]string{"establishment", "source", "run_at", "total_records", "counts"},
		[]string{"establishment", "source"}}
	tOffsets = table{"consumed_offsets",
		[]string{"topic", "partition_id", "next_offset"},
		[]string{"topic", "partition_id"}}
)

// placeholder returns the p-th (1-based) placeholder.
func (d dialect) placeholder(p int) string {
	if d.postgres {
		return "$" + strconv.Itoa(p)
	}
	return "?"
}

// upsertSQL builds a multi-row INSERT … ON CONFLICT DO UPDATE for n rows.
func (d dialect) upsertSQL(t table, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.name)
	b.WriteString(" (")
	b.WriteString(strings.Join(t.cols, ", "))
	b.WriteString(") VALUES ")
	p := 1
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range t.cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.placeholder(p))
			p++
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (")
	b.WriteString(strings.Join(t.key, ", "))
	b.WriteString(")")
	var set []string
	for _, c := range t.cols {
		if !slices.Contains(t.key, c) {
			set = append(set, c+" = excluded."+c)
		}
	}
	if len(set) == 0 {
		b.WriteString(" DO NOTHING")
	} else {
		b.WriteString(" DO UPDATE SET ")
		b.WriteString(strings.Join(set, ", "))
	}
	return b.String()
}

// bulk writes rows (each len(t.cols) values) in as few statements as the
// placeholder limit allows, reusing one prepared statement for full chunks.
func (s *sqlStore) bulk(ctx context.Context, tx *sql.Tx, t table, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	per := min(s.d.maxParams/len(t.cols), 500)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, per*len(t.cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		var err error
		if len(chunk) == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, s.d.upsertSQL(t, per)); err != nil {
					return fmt.Errorf("prepare upsert %s: %w", t.name, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, s.d.upsertSQL(t, len(chunk)), args...)
		}
		if err != nil {
			return fmt.Errorf("upsert %s: %w", t.name, err)
		}
	}
	return nil
}

// execEach runs one prepared statement per argument list.
func execEach(ctx context.Context, tx *sql.Tx, query string, argss [][]any) error {
	if len(argss) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return fmt.Errorf("prepare %q: %w", query, err)
	}
	defer st.Close()
	for _, a := range argss {
		if _, err := st.ExecContext(ctx, a...); err != nil {
			return fmt.Errorf("exec %q: %w", query, err)
		}
	}
	return nil
}

type changeKey struct {
	kind      Kind
	est, id   string
	part      int32
	recOffset int64
}

func keyOf(c Change) changeKey {
	if c.Kind == KindQuality && c.Quality != nil {
		q := c.Quality
		return changeKey{kind: KindQuality, est: q.Topic, part: q.Partition, recOffset: q.Offset}
	}
	return changeKey{kind: c.Kind, est: c.Establishment, id: c.ID}
}

func (s *sqlStore) Apply(ctx context.Context, changes []Change, offsets []Offset) error {
	// Keep the last change per key, then write in key order: B-tree
	// inserts in key order touch far fewer pages than random order.
	last := make(map[changeKey]int, len(changes))
	for i, c := range changes {
		if err := validChange(c); err != nil {
			return fmt.Errorf("apply change %d: %w", i, err)
		}
		last[keyOf(c)] = i
	}
	idx := make([]int, 0, len(last))
	for _, i := range last {
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		ka, kb := keyOf(changes[a]), keyOf(changes[b])
		return cmp.Or(cmp.Compare(ka.kind, kb.kind), cmp.Compare(ka.est, kb.est), cmp.Compare(ka.id, kb.id),
			cmp.Compare(ka.part, kb.part), cmp.Compare(ka.recOffset, kb.recOffset))
	})

	var (
		delStudies, delSubjects          [][]any
		delIdentifiers                   [][]any
		natRows, idRows, siteRows, sRows [][]any
		qRows                            [][]any
		sqRows, delSQ                    [][]any
	)
	for _, i := range idx {
		c := changes[i]
		switch {
		case c.Kind == KindStudy && c.Delete:
			delStudies = append(delStudies, []any{c.ID, c.Establishment})
			delIdentifiers = append(delIdentifiers, []any{c.ID, c.Establishment})
		case c.Kind == KindStudy && c.NationalStudy != nil:
			n := c.NationalStudy
			// Drop a site-level row with the same key and the old identifiers.
			delStudies = append(delStudies, []any{c.ID, c.Establishment})
			delIdentifiers = append(delIdentifiers, []any{c.ID, c.Establishment})
			natRows = append(natRows, []any{c.ID, c.Establishment, n.SponsorFINESS, n.SponsorType, n.Category, n.Phase, n.Status, string(n.JSON)})
			seen := map[Identifier]bool{}
			for _, id := range n.Identifiers {
				if !seen[id] {
					seen[id] = true
					idRows = append(idRows, []any{id.System, id.Value, c.ID, c.Establishment})
				}
			}
		case c.Kind == KindStudy && c.SiteStudy != nil:
			t := c.SiteStudy
			delStudies = append(delStudies, []any{c.ID, c.Establishment})
			delIdentifiers = append(delIdentifiers, []any{c.ID, c.Establishment})
			siteRows = append(siteRows, []any{c.ID, c.Establishment, t.NationalID, t.Role, t.Status, t.Opened, t.FirstInclusion, t.Closed, string(t.JSON)})
		case c.Kind == KindSubject && c.Delete:
			delSubjects = append(delSubjects, []any{c.Establishment, c.ID})
		case c.Kind == KindSubject:
			u := c.Subject
			sRows = append(sRows, []any{c.Establishment, c.ID, u.SiteStudyID, u.InclusionDate, u.Status, string(u.JSON)})
		case c.Kind == KindSiteQuality && c.Delete:
			delSQ = append(delSQ, []any{c.Establishment, c.ID})
		case c.Kind == KindSiteQuality:
			q := c.SiteQuality
			counts, err := json.Marshal(q.Counts)
			if err != nil {
				return fmt.Errorf("apply: site quality %s/%s: %w", c.Establishment, c.ID, err)
			}
			sqRows = append(sqRows, []any{c.Establishment, c.ID, q.RunAt, q.TotalRecords, string(counts)})
		case c.Kind == KindQuality:
			q := c.Quality
			qRows = append(qRows, []any{q.Topic, int64(q.Partition), q.Offset, q.Establishment, q.RecordKey, q.Code, q.Reason})
		}
	}
	var offRows [][]any
	for _, o := range offsets {
		offRows = append(offRows, []any{o.Topic, int64(o.Partition), o.Next})
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit

	steps := []func() error{
		func() error {
			return execEach(ctx, tx, `DELETE FROM study_identifiers WHERE id = $1 AND establishment = $2`, delIdentifiers)
		},
		func() error {
			return execEach(ctx, tx, `DELETE FROM national_studies WHERE id = $1 AND establishment = $2`, delStudies)
		},
		func() error {
			return execEach(ctx, tx, `DELETE FROM site_studies WHERE id = $1 AND establishment = $2`, delStudies)
		},
		func() error {
			return execEach(ctx, tx, `DELETE FROM subjects WHERE establishment = $1 AND id = $2`, delSubjects)
		},
		func() error { return s.bulk(ctx, tx, tNational, natRows) },
		func() error { return s.bulk(ctx, tx, tIdentifiers, idRows) },
		func() error { return s.bulk(ctx, tx, tSite, siteRows) },
		func() error { return s.bulk(ctx, tx, tSubject, sRows) },
		func() error { return s.bulk(ctx, tx, tQuality, qRows) },
		func() error {
			return execEach(ctx, tx, `DELETE FROM site_quality WHERE establishment = $1 AND source = $2`, delSQ)
		},
		func() error { return s.bulk(ctx, tx, tSiteQuality, sqRows) },
		func() error { return s.bulk(ctx, tx, tOffsets, dedupeOffsets(offRows)) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("apply %d changes: %w", len(changes), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply %d changes: commit: %w", len(changes), err)
	}
	return nil
}

// dedupeOffsets keeps the last offset given per (topic, partition).
func dedupeOffsets(rows [][]any) [][]any {
	type tp struct {
		t string
		p int64
	}
	last := map[tp]int{}
	for i, r := range rows {
		last[tp{r[0].(string), r[1].(int64)}] = i
	}
	out := rows[:0:0]
	for i, r := range rows {
		if last[tp{r[0].(string), r[1].(int64)}] == i {
			out = append(out, r)
		}
	}
	return out
}

func validChange(c Change) error {
	switch c.Kind {
	case KindStudy:
		if !c.Delete && (c.NationalStudy == nil) == (c.SiteStudy == nil) {
			return fmt.Errorf("study change %q: exactly one of NationalStudy and SiteStudy must be set", c.ID)
		}
	case KindSubject:
		if !c.Delete && c.Subject == nil {
			return fmt.Errorf("subject change %q: Subject not set", c.ID)
		}
	case KindSiteQuality:
		if !c.Delete && (c.SiteQuality == nil || c.SiteQuality.Establishment != c.Establishment || c.SiteQuality.Source != c.ID) {
			return fmt.Errorf("site quality change %s/%s: SiteQuality not set or not matching the key", c.Establishment, c.ID)
		}
	case KindQuality:
		if c.Delete || c.Quality == nil {
			return errors.New("quality change: Quality not set (quality events cannot be deleted)")
		}
	default:
		return fmt.Errorf("change %q: unknown kind %v", c.ID, c.Kind)
	}
	return nil
}

func (s *sqlStore) Offsets(ctx context.Context, topic string) (map[int32]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT partition_id, next_offset FROM consumed_offsets WHERE topic = $1`, topic)
	if err != nil {
		return nil, fmt.Errorf("read offsets of %s: %w", topic, err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("read offsets of %s: %w", topic, err)
		}
		out[p] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read offsets of %s: %w", topic, err)
	}
	return out, nil
}

// query runs q and calls scan for each row.
func query(ctx context.Context, db *sql.DB, what, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

func (s *sqlStore) NationalStudies(ctx context.Context) ([]NationalStudy, error) {
	var out []NationalStudy
	err := query(ctx, s.db, "national studies",
		`SELECT id, establishment, sponsor_finess, sponsor_type, category, phase, status FROM national_studies ORDER BY id, establishment`,
		nil, func(r *sql.Rows) error {
			var n NationalStudy
			err := r.Scan(&n.ID, &n.Establishment, &n.SponsorFINESS, &n.SponsorType, &n.Category, &n.Phase, &n.Status)
			out = append(out, n)
			return err
		})
	if err != nil {
		return nil, err
	}
	// Identifiers in one pass; out is ordered by (id, establishment).
	at := make(map[[2]string]int, len(out))
	for i := range out {
		at[[2]string{out[i].ID, out[i].Establishment}] = i
	}
	err = query(ctx, s.db, "identifiers of national studies",
		`SELECT id, establishment, system, value FROM study_identifiers ORDER BY id, establishment, system, value`,
		nil, func(r *sql.Rows) error {
			var id, est string
			var x Identifier
			if err := r.Scan(&id, &est, &x.System, &x.Value); err != nil {
				return err
			}
			if i, ok := at[[2]string{id, est}]; ok {
				out[i].Identifiers = append(out[i].Identifiers, x)
			}
			return nil
		})
	return out, err
}

func (s *sqlStore) NationalStudyVersions(ctx context.Context, id string) ([]NationalStudy, error) {
	var out []NationalStudy
	err := query(ctx, s.db, "national study "+id,
		`SELECT id, establishment, sponsor_finess, sponsor_type, category, phase, status, json FROM national_studies WHERE id = $1 ORDER BY establishment`,
		[]any{id}, func(r *sql.Rows) error {
			var n NationalStudy
			var js string
			err := r.Scan(&n.ID, &n.Establishment, &n.SponsorFINESS, &n.SponsorType, &n.Category, &n.Phase, &n.Status, &js)
			n.JSON = []byte(js)
			out = append(out, n)
			return err
		})
	if err != nil {
		return nil, err
	}
	for i := range out {
		err := query(ctx, s.db, "identifiers of study "+id,
			`SELECT system, value FROM study_identifiers WHERE id = $1 AND establishment = $2 ORDER BY system, value`,
			[]any{id, out[i].Establishment}, func(r *sql.Rows) error {
				var x Identifier
				err := r.Scan(&x.System, &x.Value)
				out[i].Identifiers = append(out[i].Identifiers, x)
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *sqlStore) NationalStudyIDsByIdentifier(ctx context.Context, system, value string) ([]string, error) {
	q := `SELECT DISTINCT id FROM study_identifiers WHERE value = $1 ORDER BY id`
	args := []any{value}
	if system != "" {
		q = `SELECT DISTINCT id FROM study_identifiers WHERE value = $1 AND system = $2 ORDER BY id`
		args = append(args, system)
	}
	var out []string
	err := query(ctx, s.db, "studies by identifier", q, args, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		out = append(out, id)
		return err
	})
	return out, err
}

const siteCols = `id, establishment, national_id, role, status, opened, first_inclusion, closed`

func scanSite(r *sql.Rows, withJSON bool) (SiteStudy, error) {
	var t SiteStudy
	dst := []any{&t.ID, &t.Establishment, &t.NationalID, &t.Role, &t.Status, &t.Opened, &t.FirstInclusion, &t.Closed}
	var js string
	if withJSON {
		dst = append(dst, &js)
	}
	err := r.Scan(dst...)
	t.JSON = []byte(js)
	if !withJSON {
		t.JSON = nil
	}
	return t, err
}

func (s *sqlStore) sites(ctx context.Context, what, where string, args []any, withJSON bool) ([]SiteStudy, error) {
	cols := siteCols
	if withJSON {
		cols += ", json"
	}
	var out []SiteStudy
	err := query(ctx, s.db, what, `SELECT `+cols+` FROM site_studies `+where+` ORDER BY id, establishment`, args,
		func(r *sql.Rows) error {
			t, err := scanSite(r, withJSON)
			out = append(out, t)
			return err
		})
	return out, err
}

func (s *sqlStore) SiteStudies(ctx context.Context) ([]SiteStudy, error) {
	return s.sites(ctx, "site studies", "", nil, false)
}

func (s *sqlStore) SiteStudiesByID(ctx context.Context, id string) ([]SiteStudy, error) {
	return s.sites(ctx, "site study "+id, "WHERE id = $1", []any{id}, true)
}

func (s *sqlStore) SiteStudiesOf(ctx context.Context, nationalID string) ([]SiteStudy, error) {
	return s.sites(ctx, "site studies of "+nationalID, "WHERE national_id = $1", []any{nationalID}, true)
}

func (s *sqlStore) SiteStudyEstablishments(ctx context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	const per = 500
	for start := 0; start < len(ids); start += per {
		chunk := ids[start:min(start+per, len(ids))]
		ph := make([]string, len(chunk))
		args := make([]any, len(chunk))
		for i, id := range chunk {
			ph[i] = s.d.placeholder(i + 1)
			args[i] = id
		}
		err := query(ctx, s.db, "site study establishments",
			`SELECT id, establishment FROM site_studies WHERE id IN (`+strings.Join(ph, ", ")+`) ORDER BY id, establishment`,
			args, func(r *sql.Rows) error {
				var id, est string
				err := r.Scan(&id, &est)
				out[id] = append(out[id], est)
				return err
			})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *sqlStore) subjects(ctx context.Context, what, where string, args []any) ([]Subject, error) {
	var out []Subject
	err := query(ctx, s.db, what,
		`SELECT establishment, id, site_study_id, inclusion_date, status, json FROM subjects `+where+` ORDER BY id, establishment`,
		args, func(r *sql.Rows) error {
			var u Subject
			var js string
			err := r.Scan(&u.Establishment, &u.ID, &u.SiteStudyID, &u.InclusionDate, &u.Status, &js)
			u.JSON = []byte(js)
			out = append(out, u)
			return err
		})
	return out, err
}

func (s *sqlStore) SubjectsByID(ctx context.Context, id string) ([]Subject, error) {
	return s.subjects(ctx, "subject "+id, "WHERE id = $1", []any{id})
}

func (s *sqlStore) SubjectsBySiteStudy(ctx context.Context, establishment, siteStudyID string) ([]Subject, error) {
	return s.subjects(ctx, "subjects of site study "+siteStudyID,
		"WHERE establishment = $1 AND site_study_id = $2", []any{establishment, siteStudyID})
}

// statusScreenFailed mirrors canonical.InclScreenFailed; kept as a literal so
// the store depends on nothing but the database drivers.
const statusScreenFailed = "screen-failed"

func (s *sqlStore) InclusionCounts(ctx context.Context, from, to string) ([]InclusionCount, error) {
	var out []InclusionCount
	err := query(ctx, s.db, "inclusion counts",
		`SELECT establishment, site_study_id, COUNT(*) FROM subjects
		 WHERE inclusion_date >= $1 AND inclusion_date <= $2 AND inclusion_date <> '' AND status <> $3
		 GROUP BY establishment, site_study_id ORDER BY establishment, site_study_id`,
		[]any{from, to, statusScreenFailed}, func(r *sql.Rows) error {
			var c InclusionCount
			err := r.Scan(&c.Establishment, &c.SiteStudyID, &c.Count)
			out = append(out, c)
			return err
		})
	return out, err
}

func (s *sqlStore) QualityEvents(ctx context.Context) ([]QualityEvent, error) {
	var out []QualityEvent
	err := query(ctx, s.db, "quality events",
		`SELECT topic, partition_id, record_offset, establishment, record_key, code, reason FROM quality_events ORDER BY topic, partition_id, record_offset`,
		nil, func(r *sql.Rows) error {
			var q QualityEvent
			err := r.Scan(&q.Topic, &q.Partition, &q.Offset, &q.Establishment, &q.RecordKey, &q.Code, &q.Reason)
			out = append(out, q)
			return err
		})
	return out, err
}

func (s *sqlStore) SiteQuality(ctx context.Context) ([]SiteQuality, error) {
	var out []SiteQuality
	err := query(ctx, s.db, "site quality",
		`SELECT establishment, source, run_at, total_records, counts FROM site_quality ORDER BY establishment, source`,
		nil, func(r *sql.Rows) error {
			var q SiteQuality
			var counts string
			if err := r.Scan(&q.Establishment, &q.Source, &q.RunAt, &q.TotalRecords, &counts); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(counts), &q.Counts); err != nil {
				return fmt.Errorf("counts of %s/%s: %w", q.Establishment, q.Source, err)
			}
			out = append(out, q)
			return nil
		})
	return out, err
}

var _ Store = (*sqlStore)(nil)
