// Command facegate is the facegate binary: the CLI today, and the server and console as they arrive. All logic
// lives in internal/cli and the domain packages.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/facegate/facegate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
