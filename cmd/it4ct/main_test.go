package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// Every subcommand's --help explains every flag it has.
func TestHelpExplainsEveryFlag(t *testing.T) {
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		out, err := run(t, c.Name(), "--help")
		if err != nil {
			t.Fatalf("%s --help: %v", c.Name(), err)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(out, "--"+f.Name) {
				t.Errorf("%s --help does not mention --%s", c.Name(), f.Name)
			}
			if f.Usage == "" {
				t.Errorf("%s --%s has no description", c.Name(), f.Name)
			}
		})
	}
	out, _ := run(t, "--help")
	for _, sub := range []string{"demo", "connect", "aggregate", "serve"} {
		if !strings.Contains(out, sub) {
			t.Errorf("it4ct --help does not list %s", sub)
		}
	}
}

// A new user points the connector at an export layout the demo does not
// use, and checks it with --dry-run: every row read, the rejects listed.
func TestConnectDryRunOnOtherLayout(t *testing.T) {
	cfg := filepath.Join("..", "..", "testdata", "demo", "other-layout", "connect.yaml")
	out, err := run(t, "connect", "--config", cfg, "--dry-run")
	if err != nil {
		t.Fatalf("connect --dry-run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "would publish") || strings.Contains(out, " 0 records read") {
		t.Fatalf("unexpected dry-run output:\n%s", out)
	}
}

func TestConnectReportsConfigErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := run(t, "connect", "--config", filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("want an error naming the file, got %v", err)
	}
}
