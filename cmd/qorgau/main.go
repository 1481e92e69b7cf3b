// Command qorgau is the one binary of the Qorgau oversight platform: the
// server, the demo, and the administration commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Qorgau — a complaint channel and oversight platform for places of detention.

Usage:
  qorgau <command> [flags]

Commands:
  serve     run the server (staff console, health, metrics)
  demo      run the server on a synthetic country with demo accounts
  admin     administration: users, registry imports and exports, audit log
  verify    check a complaint log and a receipt independently of the server
  sim       simulate terminals submitting complaints, and measure the server
  terminal  run a complaint kiosk: the terminal agent and its screens on loopback
  version   print the version
  help      print this help, or a command's help: qorgau help serve

Every flag can also be set with an environment variable QORGAU_<FLAG>,
for example QORGAU_ADDR=0.0.0.0:8080 or QORGAU_DB=postgres://…
A flag given on the command line wins over the environment.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(os.Stderr, "qorgau:", err)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "qorgau:", err)
		os.Exit(1)
	}
}

// usageError is a mistake in the command line: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return usageError("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest)
	case "demo":
		return runDemo(ctx, rest)
	case "admin":
		return runAdmin(ctx, rest)
	case "verify":
		return runVerify(ctx, rest)
	case "sim":
		return runSim(ctx, rest)
	case "terminal":
		return runTerminal(ctx, rest)
	case "version", "-version", "--version":
		fmt.Println("qorgau", version)
		return nil
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "-h"})
		}
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return usageError(fmt.Sprintf("unknown command %q", cmd))
}
