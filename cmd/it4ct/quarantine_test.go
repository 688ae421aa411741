package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fr-it4ct/it4ct/canonical"
	"github.com/fr-it4ct/it4ct/ingest"
)

// quarantineFixture writes a config with two sources and three quarantined
// records, and returns the config path and the state.
func quarantineFixture(t *testing.T) (string, *ingest.LocalState) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connect.yaml")
	yaml := "establishment: {finess: \"990000013\"}\nstate_dir: state\nsources:\n  - {id: ctms, type: ctms-csv}\n  - {id: xls, type: ctms-csv}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	state, err := ingest.OpenLocalState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	at := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	add := func(src string, rs ...canonical.Reject) {
		q, err := ingest.NewQuarantine(filepath.Join(state.Dir, "quarantine", src+".jsonl"), at)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Add(rs); err != nil {
			t.Fatal(err)
		}
	}
	add("ctms",
		canonical.Reject{Prov: canonical.Provenance{Source: "ctms", File: "inclusions.csv", Line: 5, RecordKey: "ONCO-01"}, Column: "Date inclusion",
			Code: "bad-date", Reason: "\"31/02/2024\" is not a date", Fix: "use DD/MM/YYYY", Raw: []string{"ONCO-01", "FIC-0042", "31/02/2024"}},
		canonical.Reject{Prov: canonical.Provenance{Source: "ctms", File: "etudes.csv", Line: 9, RecordKey: "GERIA-06"}, Field: "ResearchStudy.identifier",
			Code: "invalid-fhir-required", Reason: "study has no identifier"})
	add("xls", canonical.Reject{Prov: canonical.Provenance{Source: "xls", File: "suivi.csv", Line: 2}, Column: "Date inclusion",
		Code: "bad-date", Reason: "\"hier\" is not a date", Raw: []string{"FIC-0077", "hier"}})
	return cfg, state
}

func TestQuarantineList(t *testing.T) {
	cfg, _ := quarantineFixture(t)
	cases := []struct {
		args []string
		want string
	}{
		{nil, `N  TIME                  SOURCE  PLACE             COLUMN          CODE                   REASON
1  2026-03-01T12:00:00Z  ctms    inclusions.csv:5  Date inclusion  bad-date               "31/02/2024" is not a date
2  2026-03-01T12:00:00Z  ctms    etudes.csv:9      -               invalid-fhir-required  study has no identifier
3  2026-03-01T12:00:00Z  xls     suivi.csv:2       Date inclusion  bad-date               "hier" is not a date
3 record(s); details and raw values: it4ct connect quarantine show --config CFG N
`},
		{[]string{"--source", "xls"}, `N  TIME                  SOURCE  PLACE        COLUMN          CODE      REASON
3  2026-03-01T12:00:00Z  xls     suivi.csv:2  Date inclusion  bad-date  "hier" is not a date
1 record(s); details and raw values: it4ct connect quarantine show --config CFG N
`},
		{[]string{"--code", "invalid-fhir-required"}, `N  TIME                  SOURCE  PLACE         COLUMN  CODE                   REASON
2  2026-03-01T12:00:00Z  ctms    etudes.csv:9  -       invalid-fhir-required  study has no identifier
1 record(s); details and raw values: it4ct connect quarantine show --config CFG N
`},
		{[]string{"--code", "nope"}, "no quarantined record\n"},
	}
	for _, c := range cases {
		out, err := run(t, append([]string{"connect", "quarantine", "list", "--config", cfg}, c.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
		out = strings.ReplaceAll(out, cfg, "CFG")
		if out != c.want {
			t.Errorf("list %v:\n got:\n%s\nwant:\n%s", c.args, out, c.want)
		}
		for _, raw := range []string{"FIC-0042", "FIC-0077"} {
			if strings.Contains(out, raw) {
				t.Errorf("list %v prints the raw value %s", c.args, raw)
			}
		}
	}
	if _, err := run(t, "connect", "quarantine", "list", "--config", cfg, "--source", "nope"); err == nil ||
		!strings.Contains(err.Error(), `--source "nope": no such source`) || !strings.Contains(err.Error(), "ctms, xls") {
		t.Errorf("unknown source: %v", err)
	}
}

func TestQuarantineShow(t *testing.T) {
	cfg, _ := quarantineFixture(t)
	out, err := run(t, "connect", "quarantine", "show", "--config", cfg, "1")
	if err != nil {
		t.Fatal(err)
	}
	want := `warning: this entry holds raw values of the source export, which may identify a patient; keep them inside the hospital
entry      1 of 3
time       2026-03-01T12:00:00Z
source     ctms
place      inclusions.csv:5
record key ONCO-01
column     Date inclusion
field      -
code       bad-date
reason     "31/02/2024" is not a date
fix        use DD/MM/YYYY
raw        ["ONCO-01","FIC-0042","31/02/2024"]
`
	if out != want {
		t.Errorf("show:\n got:\n%s\nwant:\n%s", out, want)
	}
	for _, bad := range []string{"0", "4", "x"} {
		if _, err := run(t, "connect", "quarantine", "show", "--config", cfg, bad); err == nil {
			t.Errorf("show %s: no error", bad)
		}
	}
}

func TestQuarantineRetry(t *testing.T) {
	cfg, state := quarantineFixture(t)
	for _, id := range []string{"ctms", "xls"} {
		if err := state.Cursors.Save(id, []byte(`{"line":9}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := state.Keys.Begin("ctms"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "connect", "quarantine", "retry", "--config", cfg, "--source", "ctms")
	if err != nil {
		t.Fatal(err)
	}
	if want := "source ctms: cursor reset; the next run re-reads it and re-checks its 2 quarantined record(s)\n"; out != want {
		t.Errorf("retry: got %q, want %q", out, want)
	}
	if c, _ := state.Cursors.Load("ctms"); c != nil {
		t.Errorf("ctms cursor still %s", c)
	}
	if in, _ := state.Keys.InPass("ctms"); in {
		t.Error("ctms pass still in progress")
	}
	if c, _ := state.Cursors.Load("xls"); c == nil {
		t.Error("xls cursor reset although not selected")
	}
}
