package web

import (
	"context"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"hash"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"qorgau.kz/qorgau"
)

// Heartbeat sessions (see qorgau.BeatSessionOpen for the protocol) live in
// memory only: a restart forgets them and every terminal opens a new one
// with its next heartbeat.
const (
	beatPath = "/api/terminal/v1/heartbeat/beat"
	// beatSessionAge bounds a session's life, so that a terminal proves
	// its device key again at least daily.
	beatSessionAge = 24 * time.Hour
	// beatSessionIdle is how long a session survives without a heartbeat
	// (at least; three intervals if that is longer).
	beatSessionIdle = 10 * time.Minute
	// maxBeatSessions bounds the sessions held: one per terminal at a
	// time, since a terminal's new session replaces its old one.
	maxBeatSessions = 200_000
	// maxBeatBody bounds a heartbeat's body; a real one is under 250 bytes.
	maxBeatBody = 1024
)

// errBeatSession is the answer to a heartbeat under a session the server
// does not hold: the terminal opens a new one.
var errBeatSession = qorgau.Errorf(qorgau.EUNAUTHORIZED, "heartbeat session unknown or expired: open a new one")

// beatSession is one open heartbeat session.
type beatSession struct {
	id, device string
	expires    int64        // Unix nanoseconds; fixed
	idle       int64        // nanoseconds without a heartbeat before it lapses
	last       atomic.Int64 // Unix nanoseconds of the last accepted heartbeat (or the opening)
	mu         sync.Mutex   // guards what follows
	mac        hash.Hash    // HMAC-SHA256 under the session key
	counter    uint64       // the highest accepted
	bufs       [2][]byte    // scratch for the MACs
}

// lapsed reports whether the session is over at now (Unix nanoseconds).
func (b *beatSession) lapsed(now int64) bool {
	return now >= b.expires || now-b.last.Load() >= b.idle
}

// beatSessions holds the open sessions, by id and by device.
type beatSessions struct {
	mu       sync.RWMutex
	byID     map[string]*beatSession
	byDevice map[string]*beatSession
	next     int64 // Unix nanoseconds of the next sweep of lapsed sessions
}

func (ss *beatSessions) get(id string) *beatSession {
	ss.mu.RLock()
	b := ss.byID[id]
	ss.mu.RUnlock()
	return b
}

// put adds b, replacing its device's earlier session. It refuses when the
// store is full of sessions that have not lapsed.
func (ss *beatSessions) put(b *beatSession, now int64) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.byID == nil {
		ss.byID, ss.byDevice = map[string]*beatSession{}, map[string]*beatSession{}
	}
	if old := ss.byDevice[b.device]; old != nil {
		delete(ss.byID, old.id)
	}
	if now >= ss.next || len(ss.byID) >= maxBeatSessions {
		for id, o := range ss.byID {
			if o.lapsed(now) {
				delete(ss.byID, id)
				if ss.byDevice[o.device] == o {
					delete(ss.byDevice, o.device)
				}
			}
		}
		ss.next = now + int64(time.Minute)
	}
	if len(ss.byID) >= maxBeatSessions {
		return qorgau.Errorf(qorgau.ETOOMANY, "too many heartbeat sessions are open; use signed heartbeats")
	}
	ss.byID[b.id], ss.byDevice[b.device] = b, b
	return nil
}

// drop forgets b, if it is still held.
func (ss *beatSessions) drop(b *beatSession) {
	ss.mu.Lock()
	if ss.byID[b.id] == b {
		delete(ss.byID, b.id)
	}
	if ss.byDevice[b.device] == b {
		delete(ss.byDevice, b.device)
	}
	ss.mu.Unlock()
}

// terminalBeatSession opens a heartbeat session for the terminal that
// signed the request: an X25519 exchange whose result only the two ends
// know (qorgau.BeatSessionKey).
func (s *Server) terminalBeatSession(w http.ResponseWriter, r *request) error {
	tr, err := s.watcher()
	if err != nil {
		return err
	}
	var open qorgau.BeatSessionOpen
	if err := readJSON(r, &open); err != nil {
		return err
	}
	if len(open.Boot) > 64 {
		return qorgau.Errorf(qorgau.EINVALID, "boot id is longer than 64 bytes")
	}
	peer, err := ecdh.X25519().NewPublicKey(open.Ephemeral)
	if err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "ephemeral is not an X25519 public key")
	}
	device := r.Device.Device
	_, _, interval, ok := tr.Device(device)
	if !ok {
		return qorgau.Errorf(qorgau.ENOTFOUND, "device %s is not in the fleet watch", device)
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	secret, err := priv.ECDH(peer)
	if err != nil {
		return qorgau.Errorf(qorgau.EINVALID, "ephemeral is a low-order X25519 point")
	}
	idb := make([]byte, 18)
	rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	serverPub := priv.PublicKey().Bytes()
	key, err := qorgau.BeatSessionKey(secret, open.Ephemeral, serverPub, device, id)
	if err != nil {
		return err
	}
	now := s.Now()
	b := &beatSession{id: id, device: device, expires: now.Add(beatSessionAge).UnixNano(),
		idle: int64(max(beatSessionIdle, 3*time.Duration(interval)*time.Second)), mac: qorgau.NewBeatHMAC(key)}
	b.last.Store(now.UnixNano())
	if err := s.beats.put(b, now.UnixNano()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, qorgau.BeatSession{Session: id, Ephemeral: serverPub,
		Expires: now.Add(beatSessionAge).Unix(), IdleSeconds: int(time.Duration(b.idle) / time.Second),
		Interval: interval / 2, ServerTime: now.Unix(), BeatURL: s.cfg.BeatURL})
}

// beatMetrics are the request counter and latency of the heartbeat route,
// resolved once: the route skips the generic instrumentation.
type beatMetrics struct {
	ok      prometheus.Counter
	latency prometheus.Observer
}

func (s *Server) initBeatMetrics() {
	route := "POST " + beatPath
	s.beatMetrics = beatMetrics{ok: s.requests.WithLabelValues(route, "POST", "200"),
		latency: s.latency.WithLabelValues(route, "POST")}
}

var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
	nosniff         = []string{"nosniff"}
)

// beatBuf is a heartbeat's body and answer, reused across requests.
type beatBuf struct {
	body  [maxBeatBody + 1]byte
	reply []byte
	mac   [64]byte
}

var beatBufs = sync.Pool{New: func() any { return &beatBuf{reply: make([]byte, 0, 256)} }}

// serveBeat takes one heartbeat under a session. It is the hot path of the
// fleet watch and is served ahead of the generic middleware (session
// cookies, locale, cross-origin check, page headers): nothing of it
// applies to a MAC-authenticated terminal request.
func (s *Server) serveBeat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	buf := beatBufs.Get().(*beatBuf)
	err := s.beat(w, r, buf)
	beatBufs.Put(buf)
	if err != nil {
		req := &request{Request: r, L: s.locale[defaultLanguage], Addr: remoteIP(r)}
		s.renderError(w, req, err)
		code := statusOf[qorgau.ErrorCode(err)]
		s.requests.WithLabelValues("POST "+beatPath, "POST", strconv.Itoa(code)).Inc()
		return
	}
	s.beatMetrics.ok.Inc()
	s.beatMetrics.latency.Observe(time.Since(start).Seconds())
}

// terminalBeat is serveBeat as a route of the table, for a server whose
// handler is not Handler (tests of the route table).
func (s *Server) terminalBeat(w http.ResponseWriter, r *request) error {
	buf := beatBufs.Get().(*beatBuf)
	defer beatBufs.Put(buf)
	return s.beat(w, r.Request, buf)
}

// beat authenticates, decodes and records one heartbeat arriving through
// net/http (see beatCore), and writes the answer.
func (s *Server) beat(w http.ResponseWriter, r *http.Request, buf *beatBuf) error {
	h := r.Header
	in := beatIn{session: headerValue(h, qorgau.HeaderSession), counter: headerValue(h, qorgau.HeaderCounter),
		mac: headerValue(h, qorgau.HeaderMAC), contentType: headerValue(h, "Content-Type")}
	n, err := io.ReadFull(r.Body, buf.body[:])
	in.body, in.tooLarge = buf.body[:min(n, maxBeatBody)], n > maxBeatBody
	in.unread = !in.tooLarge && err != io.ErrUnexpectedEOF && err != io.EOF
	rep, mac, err := s.beatCore(r.Context(), &in, buf)
	if err != nil {
		return err
	}
	wh := w.Header()
	wh["Content-Type"] = jsonContentType
	wh["Cache-Control"] = noStore
	wh["X-Content-Type-Options"] = nosniff
	wh[qorgau.HeaderMAC] = []string{string(mac[:])}
	wh["Content-Length"] = []string{strconv.Itoa(len(rep))}
	w.WriteHeader(http.StatusOK)
	w.Write(rep)
	return nil
}

// beatIn is one heartbeat request as a front end (net/http, or the
// heartbeat listener's fasthttp) read it.
type beatIn struct {
	session, counter, mac, contentType string
	body                               []byte
	tooLarge                           bool // the body is over maxBeatBody
	unread                             bool // the body could not be read
}

// beatCore authenticates, decodes and records one heartbeat: session, MAC,
// counter, the device not retired, then the tracker. It returns the answer
// and the answer's MAC (base64url), the answer in buf. Nothing changes on
// failure.
func (s *Server) beatCore(ctx context.Context, in *beatIn, buf *beatBuf) ([]byte, [43]byte, error) {
	var replyMAC [43]byte
	if s.standby() {
		// Before the session lookup: a standby holds no sessions, and
		// 401 would send the terminal to open one here.
		return nil, replyMAC, errFleetStandby
	}
	id := in.session
	if id == "" || in.counter == "" || in.mac == "" {
		return nil, replyMAC, qorgau.Errorf(qorgau.EUNAUTHORIZED, "missing heartbeat session headers (%s, %s, %s)",
			qorgau.HeaderSession, qorgau.HeaderCounter, qorgau.HeaderMAC)
	}
	counter, err := strconv.ParseUint(in.counter, 10, 64)
	if err != nil || counter == 0 {
		return nil, replyMAC, qorgau.Errorf(qorgau.EUNAUTHORIZED, "counter %q is not a positive decimal number", in.counter)
	}
	var sum [32]byte
	if n, err := base64.RawURLEncoding.Decode(buf.mac[:], []byte(in.mac)); err != nil || n != len(sum) {
		return nil, replyMAC, qorgau.Errorf(qorgau.EUNAUTHORIZED, "MAC is not a base64url HMAC-SHA256")
	}
	copy(sum[:], buf.mac[:32])
	if !hasMediaType(in.contentType, "application/json") {
		return nil, replyMAC, qorgau.Errorf(qorgau.EUNSUPPORTED, "content type must be application/json, not %q", in.contentType)
	}
	if in.tooLarge {
		return nil, replyMAC, qorgau.Errorf(qorgau.ETOOLARGE, "a heartbeat is at most %d bytes", maxBeatBody)
	} else if in.unread {
		return nil, replyMAC, qorgau.Errorf(qorgau.EINVALID, "could not read the request body")
	}
	body := in.body
	now := s.Now()
	b := s.beats.get(id)
	if b == nil || b.lapsed(now.UnixNano()) {
		return nil, replyMAC, errBeatSession
	}
	b.mu.Lock()
	b.bufs[0] = qorgau.BeatMAC(b.bufs[0][:0], b.mac, id, counter, body)
	good := hmac.Equal(b.bufs[0], sum[:])
	held := b.counter
	fresh := counter > held
	if good && fresh {
		b.counter = counter
	}
	b.mu.Unlock()
	switch {
	case !good:
		return nil, replyMAC, qorgau.Errorf(qorgau.EUNAUTHORIZED, "heartbeat MAC does not verify under session %s", id)
	case !fresh:
		return nil, replyMAC, qorgau.Errorf(qorgau.EUNAUTHORIZED, "counter %d is not above %d: heartbeat replayed", counter, held)
	}
	key, err := s.deviceKey(ctx, b.device)
	if err != nil {
		return nil, replyMAC, err
	}
	if key.Revoked {
		s.beats.drop(b)
		return nil, replyMAC, qorgau.Errorf(qorgau.EFORBIDDEN, "device %s is retired: enrol it again", b.device)
	}
	var hb qorgau.Heartbeat
	if err := decodeHeartbeat(body, &hb); err != nil {
		return nil, replyMAC, err
	}
	if err := checkHeartbeat(&hb); err != nil {
		return nil, replyMAC, err
	}
	tr, err := s.watcher()
	if err != nil {
		return nil, replyMAC, err
	}
	res, err := tr.Heartbeat(ctx, b.device, &hb, now)
	if err != nil {
		return nil, replyMAC, err
	}
	b.last.Store(now.UnixNano())
	var logSize int64
	if s.cfg.Log != nil {
		logSize = s.cfg.Log.Size()
	}
	rep := append(buf.reply[:0], `{"interval_seconds":`...)
	rep = strconv.AppendInt(rep, int64(res.Interval), 10)
	rep = append(rep, `,"server_time":`...)
	rep = strconv.AppendInt(rep, now.Unix(), 10)
	rep = append(rep, `,"log_size":`...)
	rep = strconv.AppendInt(rep, logSize, 10)
	rep = append(rep, `,"journal_seq":`...)
	rep = strconv.AppendInt(rep, res.JournalSeq, 10)
	rep = append(rep, "}\n"...)
	buf.reply = rep
	b.mu.Lock()
	b.bufs[1] = qorgau.BeatReplyMAC(b.bufs[1][:0], b.mac, id, counter, rep)
	base64.RawURLEncoding.Encode(replyMAC[:], b.bufs[1])
	b.mu.Unlock()
	return rep, replyMAC, nil
}

// headerValue is h.Get for a canonical key, without canonicalising it.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// checkHeartbeat refuses values a terminal never sends.
func checkHeartbeat(hb *qorgau.Heartbeat) error {
	if hb.Network != "" && hb.Network != qorgau.NetworkUp && hb.Network != qorgau.NetworkRestored {
		return qorgau.Errorf(qorgau.EINVALID, "network must be %q or %q", qorgau.NetworkUp, qorgau.NetworkRestored)
	}
	if hb.Uptime < 0 || hb.Outbox < 0 || hb.LogSize < 0 {
		return qorgau.Errorf(qorgau.EINVALID, "uptime, outbox and log size must not be negative")
	}
	return nil
}
