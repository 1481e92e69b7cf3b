// Package web serves Qorgau's HTTP surfaces: the staff console
// (server-rendered html/template pages), health and metrics endpoints, and,
// as they arrive, the JSON API and the terminal API.
//
// Every route is listed once, with who may use it, in routes.go. Handlers
// return errors; one function maps them to a status and renders them.
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/complaints"
	"qorgau.kz/qorgau/internal/fleet"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/tlog"
)

//go:embed templates static locales
var assets embed.FS

// Config is what the console needs to know about its deployment.
type Config struct {
	// RequireTOTP makes every role enrol and use a second factor. Only the
	// demo turns it off.
	RequireTOTP bool
	// SecureCookies marks cookies Secure; set it whenever the console is
	// reached over HTTPS, directly or through a proxy.
	SecureCookies bool
	// IdleTimeout ends a session after this long without a request.
	IdleTimeout time.Duration
	// MaxSessionAge ends a session this long after login, active or not.
	MaxSessionAge time.Duration
	// Issuer names the deployment in authenticator apps.
	Issuer string
	// Version is shown in the footer and in /healthz.
	Version string
	// ClockSkew is how far a terminal's clock may be from the server's
	// before its signed requests are refused.
	ClockSkew time.Duration
	// BeatURL is the heartbeat listener's URL (NewBeatServer), told to
	// terminals when they open a heartbeat session; empty: heartbeats
	// come to this server's own route.
	BeatURL string
	// MaxTerminalBody bounds a terminal request's body in bytes.
	MaxTerminalBody int64
	// Terminal is what enrolling terminals are given to pin.
	Terminal TerminalConfig
	// Log is the complaint log served under /log/; nil serves none.
	Log *tlog.Log
	// Cosigned, if not nil, returns the latest checkpoint with witness
	// cosignatures, or nil.
	Cosigned func() []byte
	// Complaints accepts terminals' submissions; nil refuses them.
	Complaints *complaints.Service
	// Notifier, if set, is told when a monitor's test complaint arrives.
	Notifier qorgau.Notifier
	// Fleet tracks terminals' and cameras' heartbeats; nil turns the fleet
	// watch routes off (404).
	Fleet *fleet.Tracker
	// PDFFont is a TrueType font with Cyrillic for the PDF availability
	// report; "" is Debian's DejaVu Sans (fonts-dejavu-core).
	PDFFont string
}

// Server is the HTTP application. Create it with New.
type Server struct {
	db     *store.DB
	log    *slog.Logger
	cfg    Config
	pages  map[string]*template.Template
	locale map[string]*Locale
	routes []Route
	mux    *http.ServeMux

	accountThrottle *auth.Throttle
	addrThrottle    *auth.Throttle
	nonces          nonceCache
	beats           beatSessions
	beatMetrics     beatMetrics
	deviceKeys      sync.Map // device id → cachedKey
	keys            keyring

	// closing is closed by CloseStreams, to end the open event streams.
	closing   chan struct{}
	closeOnce sync.Once

	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	// Now is the clock; tests replace it.
	Now func() time.Time
	// PasswordParams are the Argon2id costs for new passwords.
	PasswordParams auth.Params
}

// New returns a server over db. It parses every template and catalogue now,
// so that a broken one stops start-up rather than a request.
func New(db *store.DB, logger *slog.Logger, cfg Config) (*Server, error) {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxSessionAge <= 0 {
		cfg.MaxSessionAge = 12 * time.Hour
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Qorgau"
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = 5 * time.Minute
	}
	if cfg.MaxTerminalBody <= 0 {
		cfg.MaxTerminalBody = defaultMaxTerminalBody
	}
	s := &Server{
		db:              db,
		log:             logger,
		cfg:             cfg,
		accountThrottle: auth.NewThrottle(5, 15*time.Minute),
		addrThrottle:    auth.NewThrottle(30, 15*time.Minute),
		Now:             time.Now,
		PasswordParams:  auth.DefaultParams,
		closing:         make(chan struct{}),
	}
	clock := func() time.Time { return s.Now() }
	s.accountThrottle.Now, s.addrThrottle.Now = clock, clock
	var err error
	if s.locale, err = loadLocales(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.initMetrics()
	s.initBeatMetrics()
	s.mux = http.NewServeMux()
	s.registerRoutes()
	return s, nil
}

// Handler returns the root handler: metrics, cross-origin protection, then
// the routes. Heartbeats under a session take a shorter way (serveBeat).
func (s *Server) Handler() http.Handler {
	csrf := http.NewCrossOriginProtection()
	h := s.instrument(csrf.Handler(securityHeaders(s.mux)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == beatPath && r.URL.RawQuery == "" {
			s.serveBeat(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// CloseStreams ends every open event stream (GET /fleet/events). A
// stream runs until its client goes away, so without this an open live
// fleet page keeps http.Server.Shutdown waiting until its deadline; give
// it to http.Server.RegisterOnShutdown. The browser reconnects by itself.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) initMetrics() {
	s.registry = prometheus.NewRegistry()
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qorgau_http_requests_total",
		Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "qorgau_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method"})
	s.registry.MustRegister(s.requests, s.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "qorgau"}))
	for name, pool := range s.db.Pools() {
		s.registry.MustRegister(collectors.NewDBStatsCollector(pool, "qorgau_"+name))
	}
}

// Registry returns the Prometheus registry, so that other parts of the
// process can add their metrics to /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts requests and their latency by the route pattern the mux
// matched (it sets r.Pattern on the request it is given).
func (s *Server) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.requests.WithLabelValues(route, r.Method, fmt.Sprint(sw.code)).Inc()
		s.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := n[len("templates/"):]
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		pages[base[:len(base)-len(".html")]] = t
	}
	return pages, nil
}

// SweepSessions ends idle and expired sessions every interval until ctx is
// cancelled. serve runs it in the background.
func (s *Server) SweepSessions(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := s.Now()
		if n, err := s.db.DeleteIdleSessions(ctx, now.Add(-s.cfg.IdleTimeout), now.Add(-s.cfg.MaxSessionAge)); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep sessions", "err", err)
		} else if n > 0 {
			s.log.Debug("ended idle sessions", "count", n)
		}
		// Body keys live only as long as their session.
		s.keys.keep(func(id string) bool {
			_, _, err := s.db.Session(ctx, id)
			return qorgau.ErrorCode(err) != qorgau.ENOTFOUND
		})
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
