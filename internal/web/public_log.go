package web

import (
	"bytes"
	"net/http"
)

// logFiles serves the complaint log's read-only C2SP surface (checkpoint,
// key, tiles) through the log's own handler, which never serves anything
// beyond the latest checkpoint.
func (s *Server) logFiles(w http.ResponseWriter, r *request) error {
	if s.cfg.Log == nil {
		return errNoLog
	}
	s.cfg.Log.Handler().ServeHTTP(w, r.Request)
	return nil
}

// logCheckpoint serves the latest checkpoint with the witnesses'
// cosignatures when they have cosigned it, and the log's own otherwise.
func (s *Server) logCheckpoint(w http.ResponseWriter, r *request) error {
	if s.cfg.Log == nil {
		return errNoLog
	}
	if s.cfg.Cosigned != nil {
		cp := s.cfg.Log.Checkpoint()
		if cos := s.cfg.Cosigned(); cos != nil && sameCheckpoint(cp, cos) {
			h := w.Header()
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			_, err := w.Write(cos)
			return err
		}
	}
	s.cfg.Log.Handler().ServeHTTP(w, r.Request)
	return nil
}

// sameCheckpoint reports whether two signed notes have the same text.
func sameCheckpoint(a, b []byte) bool {
	i, j := bytes.Index(a, []byte("\n\n")), bytes.Index(b, []byte("\n\n"))
	return i > 0 && i == j && bytes.Equal(a[:i], b[:j])
}
