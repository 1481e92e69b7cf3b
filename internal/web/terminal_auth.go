package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/sig"
	"qorgau.kz/qorgau/internal/store"
)

// maxTerminalBody bounds a terminal request: an envelope of the configured
// size (16 MiB by default) plus its routing data.
const defaultMaxTerminalBody = 17 << 20

// nonceCache remembers the nonces seen within the clock-skew window, so that
// a captured request cannot be replayed while its timestamp is still
// accepted. Older nonces need no memory: their timestamp is refused.
type nonceCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // device + nonce → when it stops mattering
	next time.Time            // next sweep
}

// use records (device, nonce) and reports whether it was new.
func (c *nonceCache) use(device, nonce string, now, until time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if now.After(c.next) {
		for k, t := range c.seen {
			if now.After(t) {
				delete(c.seen, k)
			}
		}
		c.next = now.Add(time.Minute)
	}
	k := device + "\x00" + nonce
	if _, ok := c.seen[k]; ok {
		return false
	}
	c.seen[k] = until
	return true
}

// authenticateTerminal checks a device-signed request: the device is
// enrolled and not revoked, the timestamp is within the skew window, the
// nonce is new, and the signature covers method, path, body, time, nonce
// and device. It reads the whole body (bounded) and puts it back for the
// handler. It changes nothing on failure.
func (s *Server) authenticateTerminal(r *request) error {
	device := r.Header.Get(qorgau.HeaderDevice)
	nonce := r.Header.Get(qorgau.HeaderNonce)
	sigHeader := r.Header.Get(qorgau.HeaderSignature)
	if device == "" || nonce == "" || sigHeader == "" || r.Header.Get(qorgau.HeaderTimestamp) == "" {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "missing signature headers (%s, %s, %s, %s)",
			qorgau.HeaderDevice, qorgau.HeaderTimestamp, qorgau.HeaderNonce, qorgau.HeaderSignature)
	}
	if !isText(device) {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "%s holds bytes that are not UTF-8", qorgau.HeaderDevice)
	}
	if len(nonce) < 16 || len(nonce) > 64 {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "nonce must be 16 to 64 characters")
	}
	ts, err := qorgau.ParseDeviceTime(r.Header.Get(qorgau.HeaderTimestamp))
	if err != nil {
		return err
	}
	signature, err := qorgau.ParseDeviceSignature(sigHeader)
	if err != nil {
		return err
	}
	now := s.Now()
	skew := s.cfg.ClockSkew
	if d := now.Sub(ts); d > skew || d < -skew {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "timestamp is %s off the server's clock; allowed ±%s", d.Round(time.Second), skew)
	}
	body, err := readBody(r.Request, s.cfg.MaxTerminalBody)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return qorgau.Errorf(qorgau.ETOOLARGE, "request body is larger than %d bytes", s.cfg.MaxTerminalBody)
	} else if err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "could not read the request body")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.signedBody = body
	key, err := s.deviceKey(r.Context(), device)
	if qorgau.ErrorCode(err) == qorgau.ENOTFOUND {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "device %s is not enrolled", device)
	} else if err != nil {
		return err
	}
	if key.Revoked {
		return qorgau.Errorf(qorgau.EFORBIDDEN, "device %s is retired: enrol it again", device)
	}
	dr := qorgau.DeviceRequest{Method: r.Method, Path: r.URL.RequestURI(), Body: body, DeviceID: device, Time: ts, Nonce: nonce}
	if !sig.Verify(key.Public, dr.Message(), signature) {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "signature does not verify for device %s", device)
	}
	// The nonce is spent only by a request whose signature verified, so
	// that nobody can burn a terminal's nonces.
	if !s.nonces.use(device, nonce, now, ts.Add(skew+time.Second)) {
		return qorgau.Errorf(qorgau.EUNAUTHORIZED, "nonce already used: request replayed")
	}
	r.Device = key
	return nil
}

// readBody reads a request body of at most limit bytes whole, into one
// buffer of the announced length when there is one, instead of growing it
// as io.ReadAll does. An over-long body is an *http.MaxBytesError.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(nil, r.Body, limit)
	if n := r.ContentLength; n >= 0 && n <= limit {
		// The announced length is only a size hint: net/http already
		// refuses a body that is shorter or longer than it.
		b := make([]byte, n, n+1)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		// Reach EOF, so that a lying length still fails here.
		if k, err := body.Read(b[n : n+1]); k > 0 || (err != nil && err != io.EOF) {
			if err == nil {
				err = errors.New("body longer than its Content-Length")
			}
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(body)
}

// writeJSON writes v as the JSON answer of an API route.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// maxJSONBody bounds a JSON request body that authentication has not
// already read whole and bounded (terminal requests are bounded by
// Config.MaxTerminalBody). The largest such request, a reply of
// seal.MaxReplyText bytes written entirely in \u escapes, is 1.5 MiB.
const maxJSONBody = 2 << 20

// readJSON decodes a JSON request body into v, refusing unknown fields,
// trailing data and text with a NUL byte, with EINVALID errors that say what is wrong, and a body
// over its bound with ETOOLARGE.
func readJSON(r *request, v any) error {
	if ct := r.Header.Get("Content-Type"); !hasMediaType(ct, "application/json") {
		return qorgau.Errorf(qorgau.EUNSUPPORTED, "content type must be application/json, not %q", ct)
	}
	body := r.Body
	if r.signedBody == nil {
		body = http.MaxBytesReader(nil, body, maxJSONBody)
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return qorgau.Errorf(qorgau.ETOOLARGE, "request body is larger than %d bytes", tooBig.Limit)
		}
		return qorgau.Errorf(qorgau.EINVALID, "malformed JSON: %v", err)
	}
	if dec.More() {
		return qorgau.Errorf(qorgau.EINVALID, "malformed JSON: data after the object")
	}
	if nulText(reflect.ValueOf(v)) {
		return qorgau.Errorf(qorgau.EINVALID, "a text field holds a NUL byte")
	}
	return nil
}

// deviceKeyTTL is how long a terminal's key is cached: a revocation by
// another process (qorgau admin terminal revoke) takes effect within it.
const deviceKeyTTL = 5 * time.Second

type cachedKey struct {
	key *store.DeviceKey
	at  time.Time
}

// deviceKey returns a terminal's enrolled key, from a short-lived cache:
// every terminal request needs it, and reading it is most of their cost.
func (s *Server) deviceKey(ctx context.Context, device string) (*store.DeviceKey, error) {
	now := s.Now()
	if v, ok := s.deviceKeys.Load(device); ok && now.Sub(v.(cachedKey).at) < deviceKeyTTL {
		return v.(cachedKey).key, nil
	}
	k, err := s.db.DeviceKey(ctx, device)
	if err != nil {
		return nil, err
	}
	s.deviceKeys.Store(device, cachedKey{k, now})
	return k, nil
}
