package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/kiosk/ui"
)

const terminalUsage = `Usage: qorgau terminal --server URL [--enroll TOKEN] [--listen 127.0.0.1:7070] [--data DIR]
                       [--tamper-file F] [--printer DEV] [--idle 60s]

Runs a complaint kiosk: the terminal agent and the kiosk screens, served on
loopback for a browser in kiosk mode. The first start enrols the terminal
with the one-time token from 'qorgau admin terminal enroll'; the device key
and what the server pinned stay in --data, and later starts need no token.

The agent seals each complaint on the terminal and keeps only the sealed
envelope in its outbox until the server answers with a receipt whose
inclusion proof verifies; it sends signed heartbeats, keeps a hash-chained
journal (boot, shutdown, network lost and restored, submissions, tamper) and
uploads it on reconnect. SIGTERM journals the shutdown and stops cleanly.`

func runTerminal(ctx context.Context, args []string) error {
	fs := newFlagSet("terminal", terminalUsage)
	server := fs.String("server", "", "base URL of the Qorgau server, e.g. https://qorgau.example")
	token := fs.String("enroll", "", "one-time enrolment token; needed only on the first start")
	listen := fs.String("listen", "127.0.0.1:7070", "address of the kiosk screens; loopback only unless --allow-remote")
	allowRemote := fs.Bool("allow-remote", false, "allow a --listen address that is not loopback (the screens carry complaints: keep them on the kiosk)")
	data := fs.String("data", "./qorgau-terminal", "folder for the device key, enrolment, outbox and journal (created 0700)")
	tamper := fs.String("tamper-file", "", `file (or GPIO value file) of the case switch: "1" or "open" means open; missing means closed`)
	printer := fs.String("printer", "", "ESC/POS receipt printer device, e.g. /dev/usb/lp0; empty for none")
	idle := fs.Duration("idle", 60*time.Second, "wipe the screen and memory after this long without a touch")
	heartbeat := fs.Duration("heartbeat", 0, "heartbeat interval; 0 uses the one the server gives")
	retryMax := fs.Duration("retry-max", 60*time.Second, "longest wait between delivery attempts of the outbox")
	refresh := fs.Duration("refresh", 10*time.Minute, "how often to fetch the directory and send the usage counters")
	agentAPI := fs.Bool("agent-api", false, "also serve the agent's JSON API (/agent/v1/send, /agent/v1/status) to this machine, for engineers and tests")
	verbose := fs.Bool("verbose", false, "log debug messages")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *server == "" {
		fs.Usage()
		return usageError("terminal: --server is required")
	}
	if !*allowRemote && !loopbackAddr(*listen) {
		return usageError(fmt.Sprintf("terminal: --listen %s is not a loopback address; the kiosk screens must stay on the kiosk (use --allow-remote to override)", *listen))
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := newLogger(os.Stderr, level)

	agent, err := kiosk.Open(ctx, kiosk.Config{
		Server: strings.TrimSuffix(*server, "/"), DataDir: *data, Token: *token,
		TamperFile: *tamper, Printer: *printer, Logger: log,
		Heartbeat: *heartbeat, RetryMax: *retryMax, Refresh: *refresh,
	})
	if err != nil {
		return err
	}
	uo := ui.Options{Idle: *idle, Log: log, AnyHost: *allowRemote}
	if espeak, err := exec.LookPath("espeak-ng"); err == nil {
		uo.Speak = ui.Espeak(espeak) // answers read aloud; without it they are shown only
	}
	screens, err := ui.New(agent, uo)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	if *agentAPI {
		mux.Handle("/agent/v1/", agent.LocalAPI())
	}
	mux.Handle("/", screens)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	var h http.Handler = mux
	if !*allowRemote {
		h = loopbackHost(mux)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	st := agent.Status()
	log.Info("terminal running", "device", st.Device, "screens", "http://"+ln.Addr().String(), "outbox", st.Outbox, "boot", st.Boot)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- agent.Run(runCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	stop()
	if rerr := <-done; rerr != nil && err == nil {
		err = rerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("terminal stopped")
	return err
}

// loopbackAddr reports whether a listen address is on loopback only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost refuses a request whose Host is not a loopback name: a web
// page elsewhere that rebinds its own name to 127.0.0.1 cannot reach the
// kiosk's screens or agent API through the kiosk's browser.
func loopbackHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if !loopbackAddr(net.JoinHostPort(host, "0")) {
			http.Error(w, "this kiosk answers only on loopback", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
