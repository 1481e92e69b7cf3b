package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/web"
)

// serveFlags configure the HTTP server; serve and demo share them.
type serveFlags struct {
	dbFlags
	addr          string
	tlsCert       string
	tlsKey        string
	secureCookies bool
	idleTimeout   time.Duration
	maxSession    time.Duration
	debug         bool
}

func (f *serveFlags) register(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS when given with -tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.BoolVar(&f.secureCookies, "secure-cookies", false, "mark cookies Secure when HTTPS is terminated by a proxy (implied by -tls-cert)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 30*time.Minute, "end a console session after this long without activity")
	fs.DurationVar(&f.maxSession, "max-session", 12*time.Hour, "end a console session this long after login")
	fs.BoolVar(&f.debug, "debug", false, "log debug messages")
}

func (f *serveFlags) validate() error {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageError("-tls-cert and -tls-key go together")
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usageError(fmt.Sprintf("-addr %q: %v", f.addr, err))
	}
	if f.idleTimeout < time.Minute || f.maxSession < f.idleTimeout {
		return usageError("-idle-timeout must be at least 1m and -max-session at least as long")
	}
	return nil
}

func runServe(ctx context.Context, args []string) error {
	fs := newFlagSet("serve", "Usage: qorgau serve [-addr 127.0.0.1:8080] [-data DIR] [-db postgres://…]\n\nRuns the Qorgau server: the staff console, /healthz, /readyz and /metrics.\nThe database is SQLite in -data unless -db names a PostgreSQL server.\nPending schema migrations are applied on start.")
	var f serveFlags
	f.register(fs)
	f.dbFlags.register(fs, "./qorgau-data")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	log := newLogger(os.Stderr, level(f.debug))
	db, err := f.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	return serve(ctx, log, db, f, web.Config{RequireTOTP: true}, nil)
}

func level(debug bool) slog.Level {
	if debug {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// serve runs the HTTP server and its background loops until ctx is
// cancelled, then shuts down gracefully: it stops accepting, lets requests
// in flight finish for up to 10 s, and stops the loops. ready, if not nil,
// is called with the listening address once the server accepts.
func serve(ctx context.Context, log *slog.Logger, db *store.DB, f serveFlags, cfg web.Config, ready func(addr string)) error {
	cfg.SecureCookies = f.secureCookies || f.tlsCert != ""
	cfg.IdleTimeout, cfg.MaxSessionAge, cfg.Version = f.idleTimeout, f.maxSession, version
	srv, err := web.New(db, log, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	loops, cancelLoops := context.WithCancel(ctx)
	defer cancelLoops()
	sweepDone := make(chan error, 1)
	go func() { sweepDone <- srv.SweepSessions(loops, time.Minute) }()

	errc := make(chan error, 1)
	go func() {
		if f.tlsCert != "" {
			errc <- hs.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	log.Info("qorgau serving", "url", scheme+"://"+ln.Addr().String(), "engine", db.Engine(), "version", version)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdownCtx)
	cancelLoops()
	<-sweepDone
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("requests still running after 10 s were cut off")
		return nil
	}
	return err
}
