package web

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
)

// TerminalConfig is what an enrolling terminal learns and pins.
type TerminalConfig struct {
	// LogKey is the complaint log's verifier key (note format).
	LogKey string
	// DirectoryKey is the Ed25519 public key that signs the directory of
	// recipient bodies; terminals accept no directory signed otherwise.
	DirectoryKey ed25519.PublicKey
	// DirectorySigner is its private half, with which the server signs the
	// directory it serves.
	DirectorySigner ed25519.PrivateKey
	// ReplySalt is the per-deployment salt of the complainant's reply-key
	// derivation.
	ReplySalt []byte
}

type enrollRequest struct {
	Token     string `json:"token"`
	PublicKey string `json:"public_key"` // base64 (standard) Ed25519 public key
}

// terminalEnroll binds a terminal's Ed25519 key to its device record with a
// one-time token from `qorgau admin terminal enroll`.
func (s *Server) terminalEnroll(w http.ResponseWriter, r *request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	var req enrollRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	pub, err := base64.StdEncoding.DecodeString(req.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return qorgau.Errorf(qorgau.EINVALID, "public_key must be a base64 Ed25519 public key of %d bytes", ed25519.PublicKeySize)
	}
	if req.Token == "" {
		return qorgau.Errorf(qorgau.EINVALID, "token is required")
	}
	if wait := s.addrThrottle.RetryAfter(r.Addr); wait > 0 {
		return qorgau.Errorf(qorgau.ETOOMANY, "too many failed enrolments from this address; retry in %s", wait.Round(1e9))
	}
	d, err := s.db.Enroll(r.Context(), auth.TokenID(req.Token), ed25519.PublicKey(pub),
		&qorgau.AuditRecord{Actor: "terminal", Action: qorgau.AuditEnrolled, Detail: "key " + base64.StdEncoding.EncodeToString(pub), Addr: r.Addr})
	if err != nil {
		if qorgau.ErrorCode(err) == qorgau.EUNAUTHORIZED {
			s.addrThrottle.Fail(r.Addr)
			s.audit(r.Context(), r, "terminal", qorgau.AuditEnrollmentFailed, "", qorgau.ErrorMessage(err))
		}
		return err
	}
	return writeJSON(w, http.StatusOK, qorgau.Enrollment{
		Device: d.ID, Facility: d.Facility, Zone: d.Zone, Interval: d.Interval,
		LogKey:       s.cfg.Terminal.LogKey,
		DirectoryKey: base64.StdEncoding.EncodeToString(s.cfg.Terminal.DirectoryKey),
		ReplySalt:    base64.StdEncoding.EncodeToString(s.cfg.Terminal.ReplySalt),
		ServerTime:   s.Now().Unix(),
	})
}

// terminalHello answers a signed request with what the server knows of the
// terminal: a way for the agent to check its enrolment and clock.
func (s *Server) terminalHello(w http.ResponseWriter, r *request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"device": r.Device.Device, "facility": r.Device.Facility, "server_time": s.Now().Unix(),
	})
}
