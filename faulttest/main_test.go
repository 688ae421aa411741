package faulttest

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fr-it4ct/it4ct/internal/bigexport"
)

// sizes of one run of the package; see README.md.
type sizes struct {
	full       bool
	inclusions int
	kills      int           // at least this many SIGKILLs per crash test
	outage     time.Duration // how long the broker stays down
}

func sizesFromEnv() sizes {
	if os.Getenv("IT4CT_FAULT_FULL") == "1" {
		return sizes{full: true, inclusions: 100_000, kills: 10, outage: 30 * time.Second}
	}
	return sizes{inclusions: 20_000, kills: 10, outage: 3 * time.Second}
}

// suite is what every test of the package shares: the binary, the export
// and (built on first use) the clean reference run.
type suite struct {
	sz        sizes
	seed      uint64
	bin       string // it4ct built from this checkout
	brokerBin string // internal/testbroker
	dumpBin   string // faulttest/internal/statedump
	tmp       string
	export    bigexport.Export
	refOnce   sync.Once
	ref       *reference
	refErr    error
}

var theSuite *suite

func TestMain(m *testing.M) {
	flag.Parse()
	s, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faulttest:", err)
		os.Exit(1)
	}
	theSuite = s
	code := m.Run()
	s.close()
	os.RemoveAll(s.tmp)
	os.Exit(code)
}

func setup() (*suite, error) {
	s := &suite{sz: sizesFromEnv()}
	s.seed = rand.Uint64()
	if v := os.Getenv("IT4CT_FAULT_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("IT4CT_FAULT_SEED=%q: %w", v, err)
		}
		s.seed = seed
	}
	tmp, err := os.MkdirTemp("", "it4ct-faulttest-")
	if err != nil {
		return nil, err
	}
	s.tmp = tmp
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	s.bin, s.brokerBin, s.dumpBin = filepath.Join(tmp, "it4ct"), filepath.Join(tmp, "testbroker"), filepath.Join(tmp, "statedump")
	start := time.Now()
	// Built without -race even under go test -race: the subprocesses do
	// the heavy lifting, and the race detector is for this package.
	build := exec.Command("go", "build", "-o", tmp+string(filepath.Separator), "./cmd/it4ct", "./internal/testbroker", "./faulttest/internal/statedump")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/it4ct ./internal/testbroker ./faulttest/internal/statedump: %w\n%s", err, out)
	}
	slog.Info("faulttest: built it4ct, testbroker and statedump", "took", time.Since(start).Round(time.Millisecond))
	s.export, err = bigexport.Write(filepath.Join(tmp, "export"), bigexport.Options{
		Inclusions: s.sz.inclusions, Seed: 2026, RejectEvery: 997,
		// Small batches: many cursor positions, so the planned kills land
		// mid-backfill however fast the connector is.
		BatchSize: 250,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *suite) close() {
	if s.ref != nil {
		s.ref.close()
	}
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// rng returns a generator for one test, seeded from the suite seed and the
// test name, and logs how to reproduce it.
func (s *suite) rng(t *testing.T) *rand.Rand {
	t.Helper()
	t.Logf("seed %d (rerun with IT4CT_FAULT_SEED=%d); sizes: %d inclusions, >= %d kills, outage %s, full=%v",
		s.seed, s.seed, s.sz.inclusions, s.sz.kills, s.sz.outage, s.sz.full)
	var h uint64 = 14695981039346656037
	for _, c := range []byte(t.Name()) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(s.seed, h))
}

// interop reports whether missing external tools are fatal (make test).
func interop() bool { return os.Getenv("IT4CT_INTEROP") == "1" }

// need skips (or fails under IT4CT_INTEROP=1) when tool is not installed.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if interop() {
			t.Fatalf("%s not found in PATH but IT4CT_INTEROP=1: install it (scripts/test-deps.sh)", tool)
		}
		t.Skipf("%s not installed (apt-get install %s); set IT4CT_INTEROP=1 to make this fatal", tool, tool)
	}
	return p
}

// testCtx returns a context bounded by the test deadline, minus a margin
// for reporting.
func testCtx(t *testing.T) context.Context {
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		c, cancel := context.WithDeadline(ctx, d.Add(-15*time.Second))
		t.Cleanup(cancel)
		ctx = c
	}
	return ctx
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
