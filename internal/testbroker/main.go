// Command testbroker runs the embedded Kafka-protocol broker
// (stream.StartBroker, franz-go's kfake) as a process of its own, for tests
// that stop, kill and restart the broker, or that must not run it under
// their race detector. It prints "listening <host:port>" on stdout once the
// broker accepts connections, and stops cleanly (state written to the data
// dir) on SIGTERM or SIGINT.
//
//	go run ./internal/testbroker --data-dir /tmp/b --addr 127.0.0.1:0
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fr-it4ct/it4ct/stream"
)

func main() {
	dataDir := flag.String("data-dir", "", "directory holding the broker's state (required)")
	addr := flag.String("addr", "127.0.0.1:0", "host:port to listen on; port 0 picks a free port")
	flag.Parse()
	if err := run(*dataDir, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "testbroker:", err)
		os.Exit(1)
	}
}

func run(dataDir, addr string) error {
	if dataDir == "" {
		return fmt.Errorf("--data-dir is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := stream.StartBroker(ctx, stream.BrokerConfig{DataDir: dataDir, Addr: addr, Logger: log})
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", b.Addrs()[0])
	<-ctx.Done()
	return b.Close()
}
