package faulttest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	_ "modernc.org/sqlite"

	"github.com/fr-it4ct/it4ct/stream"
)

// ---- broker ----------------------------------------------------------------

// broker is an embedded broker (internal/testbroker) in a process of its
// own, so that it runs without the race detector's cost and can be stopped
// and started again on the same data dir and address.
type broker struct {
	s         *suite
	dir, addr string
	log       string
	p         *proc
	keep      bool // outlives the test that started it (the reference)
}

func (s *suite) startBroker(t *testing.T, dir string) *broker {
	t.Helper()
	br := &broker{s: s, dir: dir, addr: "127.0.0.1:0", log: dir + ".log"}
	br.start(t)
	t.Cleanup(func() { br.stop(t) })
	return br
}

// start starts the broker on br.addr (the address it got the first time
// when restarting) and waits until it listens.
func (br *broker) start(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := filepath.Join(filepath.Dir(br.dir), filepath.Base(br.dir)+".addr")
		os.Remove(out)
		p := br.s.startCmd(t, false, br.log, out, br.s.brokerBin, "--data-dir", br.dir, "--addr", br.addr)
		for time.Now().Before(deadline) && !p.exited() {
			if b, err := os.ReadFile(out); err == nil && strings.HasSuffix(string(b), "\n") {
				addr, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "listening ")
				if !ok {
					t.Fatalf("testbroker printed %q", b)
				}
				br.addr, br.p = addr, p
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The port may not be free yet right after a stop: try again.
		p.kill()
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start on %s (data dir %s)\n%s", br.addr, br.dir, logTail(t, br.log))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop stops the broker cleanly (SIGTERM: state written to the data dir).
func (br *broker) stop(t *testing.T) {
	if br.p == nil {
		return
	}
	if br.p.exited() {
		t.Errorf("broker had exited before being stopped: %v\n%s", br.p.err, logTail(t, br.log))
	} else if err := br.p.stop(t, 30*time.Second); err != nil {
		t.Errorf("stop broker: %v\n%s", err, logTail(t, br.log))
	}
	br.p = nil
}

func (br *broker) brokers() string { return br.addr }

// ---- subprocesses -----------------------------------------------------------

// proc is one running it4ct subprocess; its stderr and stdout are appended to
// a log file shared by every run of the same role.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (s *suite) start(t *testing.T, logFile string, args ...string) *proc {
	t.Helper()
	return s.startCmd(t, true, logFile, "", s.bin, args...)
}

// startCmd starts bin; stderr goes to logFile, stdout too unless outFile is
// set. With cleanup, the process is killed when the test ends, if still
// running.
func (s *suite) startCmd(t *testing.T, cleanup bool, logFile, outFile, bin string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "==== %s %s %s\n", time.Now().Format(time.RFC3339Nano), filepath.Base(bin), strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	var out *os.File
	if outFile != "" {
		if out, err = os.Create(outFile); err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = out
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &proc{name: args[0], cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		if out != nil {
			out.Close()
		}
		close(p.done)
	}()
	if cleanup {
		t.Cleanup(func() { p.kill() })
	}
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone. It reports
// whether the process was still running (a real crash) when killed.
func (p *proc) kill() bool {
	if p.exited() {
		return false
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	return false
}

// stop sends SIGTERM (a clean shutdown) and waits.
func (p *proc) stop(t *testing.T, timeout time.Duration) error {
	t.Helper()
	if p.exited() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("it4ct %s did not stop within %s of SIGTERM", p.name, timeout)
	}
}

// wait waits for the process to exit on its own.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("it4ct %s still running: %w", p.name, ctx.Err())
	}
}

func logTail(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail(string(b), 30)
}

// connectArgs runs the establishment's connector once against brokers.
func (s *suite) connectArgs(brokers, stateDir string) []string {
	return []string{"connect", "--config", s.export.Config, "--brokers", brokers, "--state-dir", stateDir, "--log-level", "warn"}
}

func (s *suite) aggregateArgs(brokers, db, group string) []string {
	return []string{"aggregate", "--brokers", brokers, "--db", "sqlite:" + db, "--group", group, "--log-level", "warn"}
}

// runConnect runs one connector to completion (no faults).
func (s *suite) runConnect(t *testing.T, brokers, stateDir, logFile string) {
	t.Helper()
	p := s.start(t, logFile, s.connectArgs(brokers, stateDir)...)
	if err := p.wait(testCtx(t)); err != nil {
		t.Fatalf("it4ct connect: %v\n%s", err, logTail(t, logFile))
	}
}

// runAggregate runs an aggregator until it has handled everything on the
// broker, then stops it with SIGTERM.
func (s *suite) runAggregate(t *testing.T, br *broker, db, group, logFile string) time.Duration {
	t.Helper()
	start := time.Now()
	p := s.start(t, logFile, s.aggregateArgs(br.brokers(), db, group)...)
	s.waitCaughtUp(t, br, db, p, logFile)
	if err := p.stop(t, 30*time.Second); err != nil {
		t.Fatalf("it4ct aggregate: %v\n%s", err, logTail(t, logFile))
	}
	return time.Since(start)
}

// waitCaughtUp polls until the store at db has handled every record on the
// broker (stream.CaughtUp with the store's offsets). p must keep running.
func (s *suite) waitCaughtUp(t *testing.T, br *broker, db string, p *proc, logFile string) {
	t.Helper()
	ctx := testCtx(t)
	h := &offsetReader{path: db}
	defer h.close()
	for {
		ok, err := stream.CaughtUp(ctx, []string{br.brokers()}, h)
		if err == nil && ok {
			return
		}
		if p != nil && p.exited() {
			t.Fatalf("it4ct aggregate exited before catching up: %v\n%s", p.err, logTail(t, logFile))
		}
		select {
		case <-ctx.Done():
			t.Fatalf("aggregator did not catch up (last error %v)\n%s", err, logTail(t, logFile))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// caughtUpBy polls until the store at db has handled everything on the
// broker, and reports false if ctx ends first.
func caughtUpBy(ctx context.Context, br *broker, db string) bool {
	h := &offsetReader{path: db}
	defer h.close()
	for {
		if ok, err := stream.CaughtUp(ctx, []string{br.brokers()}, h); err == nil && ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logEnd sums the end offsets of every site topic on the broker.
func logEnd(t *testing.T, br *broker) int64 {
	t.Helper()
	ends, err := stream.EndOffsets(t.Context(), []string{br.brokers()})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, ps := range ends {
		for _, o := range ps {
			n += o
		}
	}
	return n
}

// ---- progress ---------------------------------------------------------------

// offsetReader reads the consumed offsets the aggregator stored, without
// opening the store for writing; it is a read-only stream.Handler for
// stream.CaughtUp.
type offsetReader struct {
	path string
	db   *sql.DB
}

func (o *offsetReader) open() error {
	if o.db != nil {
		return nil
	}
	if _, err := os.Stat(o.path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+o.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	o.db = db
	return nil
}

func (o *offsetReader) close() {
	if o.db != nil {
		o.db.Close()
	}
}

func (o *offsetReader) Committed(ctx context.Context, topic string) (map[int32]int64, error) {
	if err := o.open(); err != nil {
		return nil, err
	}
	rows, err := o.db.QueryContext(ctx, `SELECT partition_id, next_offset FROM consumed_offsets WHERE topic = ?`, topic)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}

func (o *offsetReader) Handle(context.Context, []stream.Record) error {
	return errors.New("offsetReader is read-only")
}

// consumed is the sum of the stored next offsets (0 before the aggregator
// created its store).
func (o *offsetReader) consumed(ctx context.Context) int64 {
	if err := o.open(); err != nil {
		return 0
	}
	var n sql.NullInt64
	if err := o.db.QueryRowContext(ctx, `SELECT SUM(next_offset) FROM consumed_offsets`).Scan(&n); err != nil {
		return 0
	}
	return n.Int64
}

// watermarks follows the high watermarks of the establishment's topics
// through one long-lived client.
type watermarks struct {
	cl     *kgo.Client
	adm    *kadm.Client
	topics []string
}

func newWatermarks(t *testing.T, brokers, finess string) *watermarks {
	t.Helper()
	// Short metadata ages: the client must notice the topics the
	// connector creates after the first look.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.MetadataMinAge(10*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &watermarks{cl: cl, adm: kadm.NewClient(cl),
		topics: []string{stream.Topic(finess, stream.ResourceStudy), stream.Topic(finess, stream.ResourceSubject)}}
}

// total sums the high watermarks; -1 when the broker does not answer.
func (w *watermarks) total(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	listed, err := w.adm.ListEndOffsets(ctx, w.topics...)
	if err != nil {
		return -1
	}
	var n int64
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			n += o.Offset
		}
	})
	return n
}

// ---- crash loop -------------------------------------------------------------

// crashPlan kills a restartable process at random points of its work.
type crashPlan struct {
	kills    int
	total    int64                           // progress at which the work is done
	progress func(ctx context.Context) int64 // monotonic measure of the work done
	start    func() *proc
	// jitter bounds the random wait between the progress threshold and
	// the kill, which decides the instruction the kill lands on.
	jitter time.Duration
	// below bounds the thresholds: they are drawn in [2% of total, below).
	below int64
	// fresh is the probability that a kill also waits for the restarted
	// process to make progress of its own (else it may land during the
	// restart itself, when the threshold is already behind).
	fresh float64
	// onPublish, when set, is the probability that a kill waits, after
	// the threshold, for published to move and then strikes at once
	// (within 2 ms): between the broker appending a batch and the cursor
	// save, the window where a crash makes the connector re-publish.
	onPublish float64
	published func(ctx context.Context) int64
}

// crashResult records what happened.
type crashResult struct {
	kills    int     // SIGKILLs that hit a running process with work left
	attempts int     // processes started, the final one included
	at       []int64 // progress observed just before each kill
	took     time.Duration
}

// run kills the process at least p.kills times, each at a random point:
// when its progress passes the next of p.kills sorted random thresholds
// in [2% of the work, below) (or, with probability fresh, past the progress
// at restart, whichever is later), after a further random wait of up to
// jitter.
// It then restarts it a last time and hands it to finish.
func (p crashPlan) run(t *testing.T, rng *rand.Rand, finish func(*proc)) crashResult {
	t.Helper()
	ctx := testCtx(t)
	start := time.Now()
	thresholds := make([]int64, p.kills)
	for i := range thresholds {
		lo := p.total / 50
		thresholds[i] = lo + rng.Int64N(max(1, p.below-lo))
	}
	slices.Sort(thresholds)
	t.Logf("kill thresholds %v of %d, jitter up to %s", thresholds, p.total, p.jitter)
	var res crashResult
	for i := 0; res.kills < p.kills; i++ {
		if res.attempts >= 3*p.kills {
			t.Fatalf("only %d kills during the work after %d attempts", res.kills, res.attempts)
		}
		th := thresholds[min(i, len(thresholds)-1)]
		if rng.Float64() < p.fresh {
			th = max(th, p.progress(ctx)+1)
		}
		jitter := time.Duration(rng.Int64N(int64(p.jitter) + 1))
		pr := p.start()
		res.attempts++
		for p.progress(ctx) < th && !pr.exited() {
			select {
			case <-ctx.Done():
				t.Fatalf("crash loop: %v", ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
		}
		if pr.exited() {
			t.Fatalf("%s exited on its own before kill %d (progress %d of %d, err %v): the work was done before the planned kills",
				pr.name, res.kills+1, p.progress(ctx), p.total, pr.err)
		}
		if p.published != nil && rng.Float64() < p.onPublish {
			jitter = time.Duration(rng.Int64N(int64(2 * time.Millisecond)))
			h0 := p.published(ctx)
			for !pr.exited() && p.published(ctx) <= h0 {
				select {
				case <-ctx.Done():
					t.Fatalf("crash loop: %v", ctx.Err())
				case <-time.After(500 * time.Microsecond):
				}
			}
		}
		time.Sleep(jitter) // the random instruction the kill lands on
		before := p.progress(ctx)
		if pr.kill() && before < p.total {
			res.kills++
			res.at = append(res.at, before)
		}
	}
	pr := p.start()
	res.attempts++
	finish(pr)
	res.took = time.Since(start)
	t.Logf("%d SIGKILLs at progress %v of %d, %d starts, %s", res.kills, res.at, p.total, res.attempts, res.took.Round(time.Millisecond))
	return res
}

// ---- national state ---------------------------------------------------------

// state is everything a consumer of the national store can see: every row of
// every state table (resource ids and their FHIR JSON included) and the
// indicators of every year.
type state struct {
	Tables     map[string][]string `json:"tables"`
	Indicators string              `json:"indicators"`
}

func (st state) rows(table string) int { return len(st.Tables[table]) }

// readState dumps the national store at dbPath with the statedump helper.
func readState(t *testing.T, dbPath string) state {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), theSuite.dumpBin, dbPath).Output()
	if err != nil {
		t.Fatalf("statedump %s: %v\n%s", dbPath, err, exitStderr(err))
	}
	var st state
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("statedump %s: %v", dbPath, err)
	}
	for _, tb := range []string{"national_studies", "site_studies", "subjects"} {
		if _, ok := st.Tables[tb]; !ok {
			t.Fatalf("store %s has no table %s (tables: %s)", dbPath, tb, st.summary())
		}
	}
	return st
}

// compareState fails t when got differs from the reference state; the
// message shows a bounded number of differing rows per table.
func compareState(t *testing.T, what string, want, got state) {
	t.Helper()
	same := true
	for _, tb := range unionKeys(want.Tables, got.Tables) {
		w, g := want.Tables[tb], got.Tables[tb]
		if slices.Equal(w, g) {
			continue
		}
		same = false
		missing, extra := diffSorted(w, g)
		t.Errorf("%s: table %s differs from the clean run: %d rows vs %d; %d missing, %d extra\nmissing: %s\nextra: %s",
			what, tb, len(w), len(g), len(missing), len(extra), clip(missing), clip(extra))
	}
	if want.Indicators != got.Indicators {
		same = false
		t.Errorf("%s: indicators differ from the clean run\nwant %s\ngot  %s", what, clipS(want.Indicators), clipS(got.Indicators))
	}
	if same {
		t.Logf("%s: national state identical to the clean run (%s)", what, got.summary())
	}
}

func (st state) summary() string {
	var parts []string
	for _, tb := range slices.Sorted(maps.Keys(st.Tables)) {
		parts = append(parts, fmt.Sprintf("%s=%d", tb, len(st.Tables[tb])))
	}
	return strings.Join(parts, " ")
}

func unionKeys(a, b map[string][]string) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func diffSorted(want, got []string) (missing, extra []string) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || (i < len(want) && want[i] < got[j]):
			missing = append(missing, want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			extra = append(extra, got[j])
			j++
		default:
			i++
			j++
		}
	}
	return missing, extra
}

func clip(rows []string) string {
	var out []string
	for i, r := range rows {
		if i == 3 {
			out = append(out, fmt.Sprintf("... (%d more)", len(rows)-3))
			break
		}
		out = append(out, clipS(r))
	}
	return strings.Join(out, "\n  ")
}

func clipS(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// ---- reference --------------------------------------------------------------

// reference is the clean run: the export published once by a connector that
// is never disturbed, into a broker that stays up for the whole package, and
// aggregated by an aggregator that is never disturbed.
type reference struct {
	br        *broker
	dir       string
	state     state
	published int64         // records on the resource topics
	logEnd    int64         // records on every site topic (data-quality reports too): the aggregator's work
	connTook  time.Duration // clean connector run
	aggTook   time.Duration // clean aggregator run, start to caught up
}

func (r *reference) close() {
	if r.br != nil && r.br.p != nil {
		_ = r.br.p.cmd.Process.Signal(syscall.SIGTERM)
		<-r.br.p.done
	}
}

// reference returns the clean run, making it on first use.
func (s *suite) reference(t *testing.T) *reference {
	t.Helper()
	s.refOnce.Do(func() {
		dir := filepath.Join(s.tmp, "reference")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			s.refErr = err
			return
		}
		// The reference outlives the test that happens to build it: its
		// broker is started without that test's cleanup and stopped in
		// TestMain (suite.close).
		br := &broker{s: s, dir: filepath.Join(dir, "broker"), addr: "127.0.0.1:0", log: filepath.Join(dir, "broker.log"), keep: true}
		br.start(t)
		r := &reference{br: br, dir: dir}
		s.ref = r
		log := filepath.Join(dir, "it4ct.log")
		start := time.Now()
		s.runConnect(t, br.brokers(), filepath.Join(dir, "state"), log)
		r.connTook = time.Since(start)
		r.published = newWatermarks(t, br.brokers(), s.export.FINESS).total(t.Context())
		r.logEnd = logEnd(t, br)
		db := filepath.Join(dir, "national.db")
		r.aggTook = s.runAggregate(t, br, db, "reference", log)
		r.state = readState(t, db)
		s.checkPlausible(t, r.state, r.published)
		t.Logf("reference run: connect %s, aggregate %s, %d records published; %s",
			r.connTook.Round(time.Millisecond), r.aggTook.Round(time.Millisecond), r.published, r.state.summary())
	})
	if s.refErr != nil {
		t.Fatal(s.refErr)
	}
	if s.ref == nil || s.ref.state.Tables == nil {
		t.Fatal("the reference run failed in an earlier test")
	}
	return s.ref
}

// checkPlausible makes sure the reference is not vacuous: every good
// inclusion of the export is a subject, every study a national and a site
// study, and the topics hold one record per resource.
func (s *suite) checkPlausible(t *testing.T, st state, published int64) {
	t.Helper()
	ex := s.export
	wantSubjects := ex.Inclusions - ex.BadInclusions
	if got := st.rows("subjects"); got != wantSubjects {
		t.Errorf("reference: %d subjects, want %d (inclusions minus rejected rows)", got, wantSubjects)
	}
	if got := st.rows("site_studies"); got != ex.Studies {
		t.Errorf("reference: %d site studies, want %d", got, ex.Studies)
	}
	if got := st.rows("national_studies"); got != ex.Studies {
		t.Errorf("reference: %d national studies, want %d", got, ex.Studies)
	}
	if want := int64(wantSubjects + 2*ex.Studies); published != want {
		t.Errorf("reference: %d records published, want %d", published, want)
	}
	if !strings.Contains(st.Indicators, `"a3"`) || strings.Count(st.Indicators, `"a3": 0`) == strings.Count(st.Indicators, `"a3"`) {
		t.Errorf("reference: indicators are all zero:\n%s", clipS(st.Indicators))
	}
}
