// Command it4ct is the FR-IT4CT interoperability gateway: hospital-side
// connectors (connect), the national aggregator (aggregate), the FHIR and
// indicators server (serve) and an all-in-one demo (demo).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		var ee interface{ ExitCode() int }
		if errors.As(err, &ee) {
			// The command already reported (e.g. validate: 1 = invalid, 2 = unreadable).
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "it4ct:", msg)
			}
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "it4ct:", err)
		os.Exit(1)
	}
}
