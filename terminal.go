package qorgau

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Headers of a device-signed request to the terminal API. The signature
// covers the method, the path with its query, the SHA-256 of the body, the
// time, a random nonce and the device id, so that a captured request cannot
// be replayed, redirected or altered.
const (
	HeaderDevice    = "Qorgau-Device"
	HeaderTimestamp = "Qorgau-Timestamp" // Unix seconds
	HeaderNonce     = "Qorgau-Nonce"     // base64url, 16 random bytes
	HeaderSignature = "Qorgau-Signature" // base64url Ed25519 signature
)

// DeviceRequest is what a terminal signs for one request.
type DeviceRequest struct {
	Method   string
	Path     string // path and query, as sent
	Body     []byte
	DeviceID string
	Time     time.Time
	Nonce    string
}

// Message returns the domain-separated bytes that are signed. The server
// checks the signature over them with internal/sig, which this package,
// of the standard library alone, cannot import.
func (r *DeviceRequest) Message() []byte {
	sum := sha256.Sum256(r.Body)
	return fmt.Appendf(nil, "qorgau-terminal-request/v1\n%s\n%s\n%s\n%d\n%s\n%s\n",
		r.Method, r.Path, hex.EncodeToString(sum[:]), r.Time.Unix(), r.Nonce, r.DeviceID)
}

// Sign returns the base64url signature of r under the device key.
func (r *DeviceRequest) Sign(key ed25519.PrivateKey) string {
	return base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, r.Message()))
}

// ParseDeviceSignature decodes the signature header. Anything but the
// base64url of 64 bytes is an EUNAUTHORIZED error.
func ParseDeviceSignature(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.SignatureSize {
		return nil, Errorf(EUNAUTHORIZED, "signature is not a base64url Ed25519 signature")
	}
	return b, nil
}

// ParseDeviceTime parses the timestamp header.
func ParseDeviceTime(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, Errorf(EUNAUTHORIZED, "timestamp %q is not Unix seconds", s)
	}
	return time.Unix(n, 0), nil
}

// Enrollment is the server's answer to a terminal's enrolment
// (POST /api/terminal/v1/enroll): what the terminal pins from then on.
type Enrollment struct {
	Device       string `json:"device"`
	Facility     string `json:"facility"`
	Zone         string `json:"zone,omitempty"`
	Interval     int    `json:"interval_seconds"`
	LogKey       string `json:"log_key"`
	DirectoryKey string `json:"directory_key"`
	ReplySalt    string `json:"reply_salt"`
	ServerTime   int64  `json:"server_time"`
}

// TerminalFacility is what an enrolled terminal is told of its own facility
// (GET /api/terminal/v1/facility), for the kiosk's "where" screen.
type TerminalFacility struct {
	Code   string         `json:"code"`
	Name   string         `json:"name"`
	Region string         `json:"region"`
	Zones  []TerminalZone `json:"zones"`
}

// TerminalZone is a zone of a terminal's facility.
type TerminalZone struct {
	Code string   `json:"code"`
	Name string   `json:"name"`
	Kind ZoneKind `json:"kind"`
}

// ValidLookupID reports whether s is a lookup id as a kiosk derives it from
// a receipt code: 32 lower-case hex digits. Upper case is not folded but
// refused: complaints are found by the exact id, and a complaint filed
// under a second spelling could never be found with its receipt code.
func ValidLookupID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FollowupComplaint is a complaint's status as a kiosk shows it to the
// person holding its receipt code (GET /api/terminal/v1/followup/{lookup}).
type FollowupComplaint struct {
	ID       int64             `json:"complaint"`
	Received time.Time         `json:"received"`
	Bodies   map[string]string `json:"bodies"` // body → state
	Events   []FollowupEvent   `json:"events"`
	Replies  []FollowupReply   `json:"replies"`
}

// FollowupEvent is an event as the complainant sees it: the state and its
// facts, which the kiosk words in the person's language. The member's own
// words (a reason) stay in the console: the answer to the person is the
// sealed reply.
type FollowupEvent struct {
	Body     string    `json:"body"`
	At       time.Time `json:"at"`
	State    string    `json:"state"`
	Term     string    `json:"term,omitempty"`     // YYYY-MM-DD: last day of an extended or missed term
	To       string    `json:"to,omitempty"`       // the body a complaint was redirected to
	Outcome  string    `json:"outcome,omitempty"`  // the Outcome of a closing
	Evidence []string  `json:"evidence,omitempty"` // kinds of evidence the body considered
}

// FollowupReply is a body's answer, sealed to the receipt code's reply key
// (and the body's key).
type FollowupReply struct {
	Body       string    `json:"body"`
	At         time.Time `json:"at"`
	Ciphertext []byte    `json:"ciphertext"` // JSON base64
}
