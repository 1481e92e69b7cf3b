package qorgau

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"strconv"
)

// A heartbeat session lets a terminal send its heartbeats without an
// Ed25519 signature each, which costs the server more than everything
// else a heartbeat needs together.
//
// The terminal opens a session once per boot with a signed terminal API
// request (POST /api/terminal/v1/heartbeat/session, BeatSessionOpen): the
// signature, the nonce and the clock window protect it like every other
// terminal request. The body carries a fresh X25519 public key; the
// server answers (BeatSession) with its own fresh X25519 public key and a
// random session id. Both sides compute
//
//	key = HKDF-SHA256(secret = X25519(own private, peer public),
//	                  salt   = terminal public ‖ server public,
//	                  info   = "qorgau-heartbeat-session/v1\n" device "\n" session)
//
// and discard the private halves. The key never crosses the network.
// Because the terminal's public key is under the device signature and the
// server's private key never leaves the server, nobody else — not even
// someone who can read and change the traffic — learns the key the server
// holds, so only the terminal can produce heartbeats that the server
// accepts under the session.
//
// Each heartbeat is then POST /api/terminal/v1/heartbeat/beat with the
// JSON Heartbeat as body and three headers: the session id, a counter, and
// BeatMAC over them and the body. The counter starts at 1 and must grow
// with every heartbeat (gaps are allowed): the server keeps the highest it
// accepted and refuses the rest, so a captured heartbeat cannot be
// replayed and no nonce needs remembering. The answer (HeartbeatReply)
// carries BeatReplyMAC under the same key. An unknown or expired session
// is refused with 401, and the terminal opens a new one.
//
// A server with a heartbeat listener of its own (qorgau serve -beat-addr)
// names its URL in BeatSession.BeatURL; the terminal sends heartbeats
// there, under the same session, and to its server's own route when the
// listener cannot be reached.
const (
	HeaderSession = "Qorgau-Session" // heartbeat session id
	HeaderCounter = "Qorgau-Counter" // decimal, strictly increasing per session
	HeaderMAC     = "Qorgau-Mac"     // base64url HMAC-SHA256
)

// BeatSessionOpen is the body of a request that opens a heartbeat session.
type BeatSessionOpen struct {
	Boot      string `json:"boot"`
	Ephemeral []byte `json:"ephemeral"` // the terminal's X25519 public key, 32 bytes
}

// BeatSession is the server's answer to BeatSessionOpen.
type BeatSession struct {
	Session   string `json:"session"`
	Ephemeral []byte `json:"ephemeral"` // the server's X25519 public key, 32 bytes
	// Expires is when the server forgets the session at the latest (Unix
	// seconds); it forgets it sooner after IdleSeconds without a
	// heartbeat, or when it restarts.
	Expires     int64 `json:"expires"`
	IdleSeconds int   `json:"idle_seconds"`
	Interval    int   `json:"interval_seconds"`
	ServerTime  int64 `json:"server_time"`
	// BeatURL, if not empty, is where to POST the session's heartbeats
	// instead of the server's /api/terminal/v1/heartbeat/beat.
	BeatURL string `json:"beat_url,omitempty"`
}

// BeatSessionKey derives a heartbeat session's 32-byte key from the X25519
// shared secret and the two public keys, bound to the device and session.
func BeatSessionKey(secret, terminalPub, serverPub []byte, device, session string) ([]byte, error) {
	salt := make([]byte, 0, len(terminalPub)+len(serverPub))
	salt = append(append(salt, terminalPub...), serverPub...)
	return hkdf.Key(sha256.New, secret, salt, "qorgau-heartbeat-session/v1\n"+device+"\n"+session, 32)
}

// BeatMAC appends to dst the HMAC-SHA256 of a heartbeat: session, counter
// and body under the session key. m is a reusable HMAC-SHA256 under that
// key (hmac.New(sha256.New, key)); it is reset first.
func BeatMAC(dst []byte, m hash.Hash, session string, counter uint64, body []byte) []byte {
	return beatMAC(dst, m, "qorgau-heartbeat/v1\n", session, counter, body)
}

// BeatReplyMAC is BeatMAC for the server's answer to the heartbeat with
// that counter.
func BeatReplyMAC(dst []byte, m hash.Hash, session string, counter uint64, body []byte) []byte {
	return beatMAC(dst, m, "qorgau-heartbeat-reply/v1\n", session, counter, body)
}

func beatMAC(dst []byte, m hash.Hash, domain, session string, counter uint64, body []byte) []byte {
	var buf [96]byte
	b := append(buf[:0], domain...)
	b = append(b, session...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, counter, 10)
	b = append(b, '\n')
	m.Reset()
	m.Write(b)
	m.Write(body)
	return m.Sum(dst)
}

// NewBeatHMAC returns the HMAC-SHA256 that BeatMAC and BeatReplyMAC take.
func NewBeatHMAC(key []byte) hash.Hash { return hmac.New(sha256.New, key) }
