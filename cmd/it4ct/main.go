// Command it4ct is the FR-IT4CT interoperability gateway: hospital-side
// connectors (connect), the national aggregator (aggregate), the FHIR and
// indicators server (serve) and an all-in-one demo (demo).
package main

import (
	"context"
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
		fmt.Fprintln(os.Stderr, "it4ct:", err)
		os.Exit(1)
	}
}
