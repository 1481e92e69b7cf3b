package web

import (
	"context"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthz says the process is up. It touches nothing else, so that a slow
// database does not get a healthy process restarted.
func (s *Server) healthz(w http.ResponseWriter, r *request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write([]byte("ok\n"))
	return err
}

// readyz says the database answers, its schema is the one this binary
// expects, and this server is the complaint log's sequencer; a load
// balancer sends traffic only then. A standby (several servers on one
// PostgreSQL database) answers 503: it refuses appends and devices'
// reports, which must go to the sequencer. Its console pages still work
// for whoever reaches it directly.
func (s *Server) readyz(w http.ResponseWriter, r *request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := s.db.Ping(ctx)
	if err == nil {
		err = s.db.CheckSchema(ctx)
	}
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, werr := w.Write([]byte("not ready: " + err.Error() + "\n"))
		return werr
	}
	if s.cfg.Log != nil && s.cfg.Log.IsStandby() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err := w.Write([]byte("standby: another server is the complaint log's sequencer\n"))
		return err
	}
	_, err = w.Write([]byte("ready\n"))
	return err
}

func (s *Server) metrics(w http.ResponseWriter, r *request) error {
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r.Request)
	return nil
}

var staticFS, _ = fs.Sub(assets, "static")
var staticHandler = http.StripPrefix("/static/", http.FileServerFS(staticFS))

// static serves the embedded files, and answers a folder as any other
// address nothing serves: the list of files is nobody's business.
func (s *Server) static(w http.ResponseWriter, r *request) error {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if fi, err := fs.Stat(staticFS, strings.TrimSuffix(name, "/")); name == "" || (err == nil && fi.IsDir()) {
		return errNoPage(r)
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	staticHandler.ServeHTTP(w, r.Request)
	return nil
}
