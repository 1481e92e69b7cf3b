package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // on -pprof's own listener only
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/fleet"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/tlog"
	"qorgau.kz/qorgau/internal/web"
	"qorgau.kz/qorgau/internal/witness"
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
	logOrigin     string
	witnessPolicy string
	clockSkew     time.Duration
	maxEnvelope   int
	pprof         string
	beatAddr      string
	beatURL       string
	notifyFlags
	// The fleet watch.
	sweepEvery         time.Duration
	alertAfter         time.Duration
	availabilityTarget float64
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
	fs.StringVar(&f.logOrigin, "log-origin", "", "the complaint log's name, its URL prefix without scheme (default HOSTNAME/qorgau/log; fixed once the log exists)")
	fs.StringVar(&f.witnessPolicy, "witness-policy", "", "witness policy file: witnesses to ask for cosignatures, and the quorum")
	fs.DurationVar(&f.clockSkew, "clock-skew", 5*time.Minute, "how far a terminal's clock may be off before its requests are refused")
	intVar(fs, &f.maxEnvelope, "max-envelope", seal.DefaultMaxSize, "largest complaint envelope accepted, in bytes")
	fs.StringVar(&f.beatAddr, "beat-addr", "", "also take terminals' heartbeats on this address, with a lighter HTTP server (for fleets of tens of thousands); off when empty")
	fs.StringVar(&f.beatURL, "beat-url", "", "the URL terminals reach -beat-addr at, e.g. https://qorgau.example.kz:8443 (default: the scheme of this server and -beat-addr)")
	fs.StringVar(&f.pprof, "pprof", "", "serve Go's profiler on this address (keep it on loopback), e.g. 127.0.0.1:6060")
	f.notifyFlags.register(fs)
	fs.DurationVar(&f.sweepEvery, "sweep-every", 500*time.Millisecond, "how often the fleet watch looks for silent devices; an outage is detected at most 2 × interval + this after the last heartbeat")
	fs.DurationVar(&f.alertAfter, "alert-after", 30*time.Minute, "tell the region's prosecutor and the NPM when a terminal is down this long in its required hours")
	float64Var(fs, &f.availabilityTarget, "availability-target", 0.95, "availability a facility must keep over 24 h (0-1); below it the bodies are told")
}

// float64Var adds a float flag to fs, which register sees through a narrow
// interface.
func float64Var(fs any, p *float64, name string, value float64, usage string) {
	fs.(interface {
		Float64Var(*float64, string, float64, string)
	}).Float64Var(p, name, value, usage)
}

// intVar adds an int flag to fs, which register sees through a narrow
// interface.
func intVar(fs any, p *int, name string, value int, usage string) {
	fs.(interface {
		IntVar(*int, string, int, string)
	}).IntVar(p, name, value, usage)
}

func (f *serveFlags) validate() error {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageError("-tls-cert and -tls-key go together")
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usageError(fmt.Sprintf("-addr %q: %v", f.addr, err))
	}
	if f.beatAddr != "" {
		host, _, err := net.SplitHostPort(f.beatAddr)
		if err != nil {
			return usageError(fmt.Sprintf("-beat-addr %q: %v", f.beatAddr, err))
		}
		if ip := net.ParseIP(host); f.beatURL == "" && (host == "" || ip != nil && ip.IsUnspecified()) {
			return usageError("-beat-addr listens on every address: give -beat-url, the URL terminals reach it at")
		}
	}
	if f.beatURL != "" {
		u, err := url.Parse(f.beatURL)
		if f.beatAddr == "" || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
			return usageError("-beat-url goes with -beat-addr and is a base URL such as https://qorgau.example.kz:8443")
		}
	}
	if f.idleTimeout < time.Minute || f.maxSession < f.idleTimeout {
		return usageError("-idle-timeout must be at least 1m and -max-session at least as long")
	}
	if f.clockSkew < 10*time.Second || f.clockSkew > time.Hour {
		return usageError("-clock-skew must be between 10s and 1h")
	}
	if f.maxEnvelope < 64<<10 || f.maxEnvelope > 256<<20 {
		return usageError("-max-envelope must be between 64 KiB and 256 MiB")
	}
	if f.sweepEvery < 50*time.Millisecond || f.sweepEvery > 10*time.Second {
		return usageError("-sweep-every must be between 50ms and 10s")
	}
	if f.alertAfter < time.Minute {
		return usageError("-alert-after must be at least 1m")
	}
	if f.availabilityTarget <= 0 || f.availabilityTarget > 1 {
		return usageError("-availability-target must be above 0 and at most 1 (0.95 is 95 %)")
	}
	return f.notifyFlags.validate()
}

func runServe(ctx context.Context, args []string) error {
	fs := newFlagSet("serve", "Usage: qorgau serve [-addr 127.0.0.1:8080] [-data DIR] [-db postgres://…]\n\nRuns the Qorgau server: the staff console, /healthz, /readyz and /metrics.\nThe database is SQLite in -data unless -db names a PostgreSQL server.\nPending schema migrations are applied on start.")
	var f serveFlags
	f.register(fs)
	f.dbFlags.register(fs, "./qorgau-data")
	log, db, err := f.start(ctx, fs, args)
	if err != nil {
		return err
	}
	defer db.Close()
	return serve(ctx, log, db, f, web.Config{RequireTOTP: true}, nil)
}

// start parses and checks the flags of serve or demo, and returns the
// logger and the migrated store.
func (f *serveFlags) start(ctx context.Context, fs *flag.FlagSet, args []string) (*slog.Logger, *store.DB, error) {
	if _, err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	if err := f.validate(); err != nil {
		return nil, nil, err
	}
	log := newLogger(os.Stderr, level(f.debug))
	db, err := f.open(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	return log, db, nil
}

func level(debug bool) slog.Level {
	if debug {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// warmConns is how many PostgreSQL connections serve opens before it
// accepts requests (store.DB.Warm): its whole pool. Under qorgau sim the
// first burst on a cold pool stalled up to 0.83–0.90 s, on 16 warm
// connections 0.57–0.62 s, on 32 about 0.3 s.
const warmConns = 32

// serve runs the HTTP server and its background loops until ctx is
// cancelled, then shuts down gracefully: it stops accepting, lets requests
// in flight finish for up to 10 s, and stops the loops. ready, if not nil,
// is called with the listening address once the server accepts.
func serve(ctx context.Context, log *slog.Logger, db *store.DB, f serveFlags, cfg web.Config, ready func(addr string)) error {
	cfg.SecureCookies = f.secureCookies || f.tlsCert != ""
	cfg.IdleTimeout, cfg.MaxSessionAge, cfg.Version = f.idleTimeout, f.maxSession, version
	cfg.ClockSkew, cfg.MaxTerminalBody = f.clockSkew, int64(f.maxEnvelope)+64<<10

	origin := f.logOrigin
	if origin == "" {
		origin = defaultOrigin()
	}
	keys, err := loadKeys(f.data, origin)
	if err != nil {
		return err
	}
	// On SQLite this is the only server; on PostgreSQL one of several,
	// which elect the log's sequencer (tlog.Log.Lead).
	shared := db.Engine() == "postgres"
	if err := db.Warm(ctx, warmConns); err != nil {
		return err
	}
	if !shared {
		release, err := lockData(f.data)
		if err != nil {
			return err
		}
		defer release()
	}
	clog, err := tlog.Open(ctx, db, tlog.Config{
		Origin: origin, Signer: keys.logSigner, VerifierKey: keys.logVKey, StateFile: keys.stateFile, Logger: log,
		Standby: shared,
	})
	if err != nil {
		return fmt.Errorf("the complaint log failed its start-up check, so the server will not start: %w", err)
	}
	loops, cancelLoops := context.WithCancel(ctx)
	defer cancelLoops()
	var background sync.WaitGroup
	fatal := make(chan error, 1)
	background.Go(func() {
		if !shared {
			if err := clog.Run(loops); err != nil {
				log.Error("log sequencer stopped", "err", err)
			}
			return
		}
		if err := clog.Lead(loops, time.Second); err != nil {
			// Lost the sequencer lock, or the takeover's check failed:
			// stop, and let the supervisor start a standby again.
			log.Error("log sequencer stopped", "err", err)
			fatal <- err
		}
	})
	if f.witnessPolicy != "" {
		pb, err := os.ReadFile(f.witnessPolicy)
		if err != nil {
			return err
		}
		policy, err := witness.ParsePolicy(pb)
		if err != nil {
			return fmt.Errorf("-witness-policy: %w", err)
		}
		cosigner := witness.New(clog, policy, nil, log)
		cfg.Cosigned = func() []byte { b, _ := cosigner.Cosigned(); return b }
		background.Go(func() { cosigner.Run(loops) })
	}
	cal, err := loadCalendar(ctx, db)
	if err != nil {
		return err
	}
	svc := &complaints.Service{
		DB: db, Log: clog, Rules: qorgau.KazakhstanRules(), MaxEnvelope: f.maxEnvelope, Logger: log, Calendar: cal,
	}
	if n, err := svc.CatchUp(ctx); err != nil {
		return fmt.Errorf("deliver logged complaints: %w", err)
	} else if n > 0 {
		log.Warn("delivered complaints logged before a crash", "count", n)
	}
	notifier := f.notifier(db, log)
	svc.Notifier, svc.Rules.DueSoonDays, cfg.Notifier = notifier, f.dueSoonDays, notifier
	background.Go(func() { notifier.Run(loops) })
	background.Go(func() { svc.Run(loops) })
	background.Go(func() { svc.RunDeadlines(loops, time.Minute) })
	cfg.Log, cfg.Complaints = clog, svc
	// The same notifier tells the bodies of fleet alerts (terminal down,
	// below target, log rollback, tamper, maintenance declared).
	fcfg := fleet.Config{
		SweepEvery: f.sweepEvery, AlertAfter: f.alertAfter, Target: f.availabilityTarget,
		Location: kazakhstanTime, LogSize: clog.Size, Logger: log,
		Notifier: notifier,
	}
	if shared {
		// Only the log's sequencer watches the fleet; it takes the watch
		// over when it takes the log over.
		fcfg.Standby = clog.IsStandby
	}
	tracker, err := fleet.Load(ctx, db, fcfg)
	if err != nil {
		return fmt.Errorf("fleet watch: %w", err)
	}
	log.Info("fleet watch", "devices", tracker.Len(), "sweep_every", f.sweepEvery)
	background.Go(func() { tracker.Run(loops) })
	cfg.Fleet = tracker
	cfg.Terminal = web.TerminalConfig{
		LogKey: keys.logVKey, DirectoryKey: keys.directoryKey.Public().(ed25519.PublicKey),
		DirectorySigner: keys.directoryKey, ReplySalt: keys.replySalt,
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	// The heartbeat listener's address is known before the server is
	// made, which tells terminals its URL.
	var bl net.Listener
	if f.beatAddr != "" {
		if bl, err = net.Listen("tcp", f.beatAddr); err != nil {
			return fmt.Errorf("-beat-addr: %w", err)
		}
		defer bl.Close()
		cfg.BeatURL = strings.TrimSuffix(f.beatURL, "/")
		if cfg.BeatURL == "" {
			cfg.BeatURL = scheme + "://" + bl.Addr().String()
		}
		cfg.BeatURL += "/api/terminal/v1/heartbeat/beat"
	}
	srv, err := web.New(db, log, cfg)
	if err != nil {
		return err
	}
	log.Info("complaint log open", "origin", origin, "size", clog.Size(), "key", keys.logVKey)
	if f.pprof != "" {
		pl, err := net.Listen("tcp", f.pprof)
		if err != nil {
			return fmt.Errorf("-pprof: %w", err)
		}
		ps := &http.Server{Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		go ps.Serve(pl)
		defer ps.Close()
		log.Warn("profiler listening", "addr", pl.Addr().String())
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	var beats *web.BeatServer
	if bl != nil {
		beats = srv.NewBeatServer()
		go func() {
			var err error
			if f.tlsCert != "" {
				err = beats.ServeTLS(bl, f.tlsCert, f.tlsKey)
			} else {
				err = beats.Serve(bl)
			}
			if err != nil {
				select {
				case fatal <- fmt.Errorf("heartbeat listener: %w", err):
				default:
				}
			}
		}()
		log.Info("heartbeat listener", "addr", bl.Addr().String(), "url", cfg.BeatURL)
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
	hs.RegisterOnShutdown(srv.CloseStreams)
	background.Go(func() { srv.SweepSessions(loops, time.Minute) })

	errc := make(chan error, 1)
	go func() {
		if f.tlsCert != "" {
			errc <- hs.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	log.Info("qorgau serving", "url", scheme+"://"+ln.Addr().String(), "engine", db.Engine(), "version", version)
	if ready != nil {
		ready(ln.Addr().String())
	}
	var fatalErr error
	select {
	case err := <-errc:
		return err
	case fatalErr = <-fatal:
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdownCtx)
	if beats != nil {
		beats.Shutdown(shutdownCtx)
	}
	cancelLoops()
	background.Wait()
	if fatalErr != nil {
		return fatalErr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("requests still running after 10 s were cut off")
		return nil
	}
	return err
}

// kazakhstanTime is the deployment's time zone for working days: since
// 2024 all of Kazakhstan keeps UTC+5.
var kazakhstanTime = time.FixedZone("UTC+5", 5*3600)

// loadCalendar builds the working-day calendar: Kazakhstan's fixed holidays
// for the years around now, then the days the operator imported (qorgau
// admin holidays import), which win. The server reads it at start.
func loadCalendar(ctx context.Context, db *store.DB) (*qorgau.Calendar, error) {
	y := time.Now().Year()
	days := qorgau.KazakhstanHolidays(kazakhstanTime, y-1, y, y+1, y+2)
	imported, err := db.Holidays(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range imported {
		h.Date = time.Date(h.Date.Year(), h.Date.Month(), h.Date.Day(), 0, 0, 0, 0, kazakhstanTime)
		days = append(days, h)
	}
	cal := qorgau.NewCalendar(kazakhstanTime, nil)
	for _, h := range days {
		k := h.Date.Format("2006-01-02")
		delete(cal.Holidays, k)
		delete(cal.Workdays, k)
		if h.Working {
			cal.Workdays[k] = h.Name
		} else {
			cal.Holidays[k] = h.Name
		}
	}
	return cal, nil
}
