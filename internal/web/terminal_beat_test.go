package web_test

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/fleet"
	"qorgau.kz/qorgau/internal/kiosk"
	"qorgau.kz/qorgau/internal/web"
)

// beatSession is the terminal's side of a heartbeat session, written from
// the protocol's description rather than taken from the kiosk package.
type beatSession struct {
	tm  *terminal
	id  string
	key []byte
	mac hash.Hash
	url string // where its heartbeats go
}

// openBeat opens a heartbeat session for tm with a signed request.
func (tm *terminal) openBeat(t *testing.T) *beatSession {
	t.Helper()
	priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
	pub := priv.PublicKey().Bytes()
	code, v := tm.sendJSON(t, "/api/terminal/v1/heartbeat/session", qorgau.BeatSessionOpen{Boot: "b1", Ephemeral: pub})
	if code != http.StatusOK {
		t.Fatalf("open heartbeat session = %d %v", code, v)
	}
	srvPub, _ := base64.StdEncoding.DecodeString(v["ephemeral"].(string))
	peer, err := ecdh.X25519().NewPublicKey(srvPub)
	must(t, err)
	secret, err := priv.ECDH(peer)
	must(t, err)
	id := v["session"].(string)
	key, err := qorgau.BeatSessionKey(secret, pub, srvPub, tm.id, id)
	must(t, err)
	to, _ := v["beat_url"].(string)
	if to == "" {
		to = tm.e.ts.URL + "/api/terminal/v1/heartbeat/beat"
	}
	return &beatSession{tm: tm, id: id, key: key, mac: qorgau.NewBeatHMAC(key), url: to}
}

// withBeatListener restarts e's server with a fleet watch, as withFleet
// does, and with a heartbeat listener on loopback whose URL the server
// tells terminals. It returns the tracker and the listener's URL.
func withBeatListener(t *testing.T, e *env, cfg web.Config) (*fleet.Tracker, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	cfg.BeatURL = "http://" + ln.Addr().String() + "/api/terminal/v1/heartbeat/beat"
	tr := withFleet(t, e, cfg)
	bs := e.srv.NewBeatServer()
	go bs.Serve(ln)
	t.Cleanup(func() { bs.Shutdown(context.Background()) })
	return tr, cfg.BeatURL
}

// beat sends body under the session with counter n; change, if not nil,
// alters the request after the MAC was computed, as an attacker would.
func (s *beatSession) beat(t *testing.T, n uint64, body string, change func(*http.Request)) (int, map[string]any, *http.Response) {
	t.Helper()
	mac := qorgau.BeatMAC(nil, s.mac, s.id, n, []byte(body))
	req, _ := http.NewRequest("POST", s.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(qorgau.HeaderSession, s.id)
	req.Header.Set(qorgau.HeaderCounter, fmt.Sprint(n))
	req.Header.Set(qorgau.HeaderMAC, base64.RawURLEncoding.EncodeToString(mac))
	if change != nil {
		change(req)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	if resp.StatusCode == http.StatusOK {
		got, _ := base64.RawURLEncoding.DecodeString(resp.Header.Get(qorgau.HeaderMAC))
		if !hmac.Equal(got, qorgau.BeatReplyMAC(nil, s.mac, s.id, n, b)) {
			t.Errorf("heartbeat %d: the answer's MAC does not verify", n)
		}
	}
	return resp.StatusCode, v, resp
}

// TestBeatSession runs heartbeats under a session through the server's
// own route and through the heartbeat listener (serve -beat-addr).
func TestBeatSession(t *testing.T) {
	t.Run("server", func(t *testing.T) { testBeatSession(t, false) })
	t.Run("listener", func(t *testing.T) { testBeatSession(t, true) })
}

func testBeatSession(t *testing.T, listener bool) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	must(t, e.db.SaveDevices(context.Background(), []qorgau.Device{
		{ID: "T-2", Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Zone: "B1", Interval: 60}}, nil))
	var tr *fleet.Tracker
	var want string
	if listener {
		tr, want = withBeatListener(t, e, web.Config{RequireTOTP: true})
	} else {
		tr = withFleet(t, e, web.Config{RequireTOTP: true})
		want = e.ts.URL + "/api/terminal/v1/heartbeat/beat"
	}
	tm := e.enroll(t, "T-1")
	s := tm.openBeat(t)
	if s.url != want {
		t.Fatalf("the session's heartbeats go to %s, want %s", s.url, want)
	}
	hb := `{"boot":"b1","uptime_seconds":10,"outbox":2,"log_size":5,"network":"up"}`

	code, v, _ := s.beat(t, 1, hb, nil)
	if code != http.StatusOK || v["interval_seconds"] != float64(60) || v["server_time"] != float64(e.now.Unix()) || v["journal_seq"] != float64(0) {
		t.Fatalf("first heartbeat = %d %v", code, v)
	}
	if at, down, _ := tr.LastSeen("T-1"); !at.Equal(e.now) || down {
		t.Fatalf("LastSeen(T-1) = %v, down %v; want %v, up", at, down, e.now)
	}
	e.now = e.now.Add(time.Second)
	if code, v, _ := s.beat(t, 5, hb, nil); code != http.StatusOK {
		t.Fatalf("heartbeat 5 after 1 = %d %v, want 200 (gaps are allowed)", code, v)
	}
	if ts := tr.Terminals("EC-166-1"); len(ts) == 0 || ts[0].Outbox != 2 || ts[0].LogSize != 5 {
		t.Errorf("Terminals = %+v, want the heartbeat's outbox and log size", ts)
	}
	seen, _, _ := tr.LastSeen("T-1")

	other := e.enroll(t, "T-2")
	e.now = e.now.Add(time.Second)
	refused := []struct {
		name   string
		n      uint64
		body   string
		change func(*http.Request)
		want   int
	}{
		{"replayed counter", 5, hb, nil, http.StatusUnauthorized},
		{"older counter", 3, hb, nil, http.StatusUnauthorized},
		{"zero counter", 0, hb, nil, http.StatusUnauthorized},
		{"bad MAC", 6, hb, func(r *http.Request) {
			r.Header.Set(qorgau.HeaderMAC, base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
		}, http.StatusUnauthorized},
		{"body changed", 6, hb, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(hb, `"outbox":2`, `"outbox":0`, 1)))
			r.ContentLength = -1
		}, http.StatusUnauthorized},
		{"counter changed", 6, hb, func(r *http.Request) { r.Header.Set(qorgau.HeaderCounter, "7") }, http.StatusUnauthorized},
		{"unknown session", 6, hb, func(r *http.Request) { r.Header.Set(qorgau.HeaderSession, "AAAAAAAAAAAAAAAAAAAAAAAA") }, http.StatusUnauthorized},
		{"no MAC", 6, hb, func(r *http.Request) { r.Header.Del(qorgau.HeaderMAC) }, http.StatusUnauthorized},
		{"not JSON", 6, hb, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, http.StatusUnsupportedMediaType},
		{"bad JSON", 6, `{"boot":`, nil, http.StatusBadRequest},
		{"bad network", 7, `{"boot":"b1","network":"sideways"}`, nil, http.StatusBadRequest},
		{"too large", 8, `{"boot":"` + strings.Repeat("x", 2000) + `"}`, nil, http.StatusRequestEntityTooLarge},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			code, v, _ := s.beat(t, c.n, c.body, c.change)
			if code != c.want || v["message"] == nil {
				t.Errorf("heartbeat = %d %v, want %d with a message", code, v, c.want)
			}
		})
	}
	if at, _, _ := tr.LastSeen("T-1"); !at.Equal(seen) {
		t.Errorf("a refused heartbeat moved last-seen from %v to %v", seen, at)
	}
	// Counters 6 and 7 came with a valid MAC (and a refused body), so they
	// are spent; the rest were refused before and spent nothing.
	if code, v, _ := s.beat(t, 9, hb, nil); code != http.StatusOK {
		t.Errorf("heartbeat 9 after refusals = %d %v, want 200", code, v)
	}
	if code, _, _ := s.beat(t, 8, hb, nil); code != http.StatusUnauthorized {
		t.Errorf("heartbeat 8 after 9 = %d, want 401", code)
	}

	// Another device's session key does not open this session.
	s2 := other.openBeat(t)
	if code, _, _ := (&beatSession{tm: tm, id: s.id, mac: s2.mac, url: s.url}).beat(t, 10, hb, nil); code != http.StatusUnauthorized {
		t.Errorf("heartbeat under T-1's session with T-2's key = %d, want 401", code)
	}

	// A new session of the same device replaces the old one.
	s3 := tm.openBeat(t)
	if code, _, _ := s.beat(t, 11, hb, nil); code != http.StatusUnauthorized {
		t.Errorf("heartbeat under a replaced session = %d, want 401", code)
	}
	if code, _, _ := s3.beat(t, 1, hb, nil); code != http.StatusOK {
		t.Errorf("heartbeat under the new session = %d, want 200", code)
	}

	// An idle session lapses.
	e.now = e.now.Add(11 * time.Minute)
	if code, v, _ := s3.beat(t, 2, hb, nil); code != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(v["message"]), "open a new one") {
		t.Errorf("heartbeat after 11 idle minutes = %d %v, want 401 asking for a new session", code, v)
	}

	// A retired device is refused, session or not, and cannot open one.
	s4 := tm.openBeat(t)
	must(t, e.db.RevokeDeviceKey(context.Background(), "T-1", nil))
	e.now = e.now.Add(10 * time.Second) // past the key cache
	if code, _, _ := s4.beat(t, 1, hb, nil); code != http.StatusForbidden {
		t.Errorf("heartbeat of a retired device = %d, want 403", code)
	}
	if code, _, _ := s4.beat(t, 2, hb, nil); code != http.StatusUnauthorized {
		t.Errorf("heartbeat of a retired device after its refusal = %d, want 401 (session dropped)", code)
	}
	code, _ = tm.sendJSON(t, "/api/terminal/v1/heartbeat/session", qorgau.BeatSessionOpen{Boot: "b1", Ephemeral: make([]byte, 32)})
	if code != http.StatusForbidden {
		t.Errorf("open a session for a retired device = %d, want 403", code)
	}
}

func TestBeatSessionOpenRefusals(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	withFleet(t, e, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	low := make([]byte, 32) // the all-zero point: X25519 with it gives zero
	for name, body := range map[string]any{
		"short key":     qorgau.BeatSessionOpen{Boot: "b1", Ephemeral: []byte{1, 2, 3}},
		"low-order key": qorgau.BeatSessionOpen{Boot: "b1", Ephemeral: low},
		"long boot":     qorgau.BeatSessionOpen{Boot: strings.Repeat("b", 65), Ephemeral: make([]byte, 32)},
		"bad JSON":      `{"boot":`,
	} {
		if code, v := tm.sendJSON(t, "/api/terminal/v1/heartbeat/session", body); code != http.StatusBadRequest {
			t.Errorf("open with %s = %d %v, want 400", name, code, v)
		}
	}
	// Unsigned: 401.
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/terminal/v1/heartbeat/session", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if code, _ := send(t, req); code != http.StatusUnauthorized {
		t.Errorf("unsigned open = %d, want 401", code)
	}
}

// TestBeatSessionKioskClient runs the kiosk's client against the server:
// it opens a session, beats, and after the server forgets every session
// (a restart) is told 401 and opens a new one.
func TestBeatSessionKioskClient(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	tr := withFleet(t, e, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	c := &kiosk.Client{Server: e.ts.URL, DeviceID: "T-1", Key: tm.priv, Now: func() time.Time { return e.now }}
	ctx := context.Background()
	s, err := c.OpenBeatSession(ctx, "b1")
	must(t, err)
	for i := range 3 {
		e.now = e.now.Add(time.Second)
		r, err := c.Beat(ctx, s, &qorgau.Heartbeat{Boot: "b1", Uptime: int64(i), Outbox: i, Network: qorgau.NetworkUp})
		if err != nil || r.Interval != 60 || r.ServerTime != e.now.Unix() {
			t.Fatalf("Beat %d = %+v, %v", i, r, err)
		}
	}
	if at, _, _ := tr.LastSeen("T-1"); !at.Equal(e.now) {
		t.Errorf("LastSeen = %v, want %v", at, e.now)
	}
	withFleet(t, e, web.Config{RequireTOTP: true}) // a restart: sessions are gone
	c.Server = e.ts.URL
	_, err = c.Beat(ctx, s, &qorgau.Heartbeat{Boot: "b1"})
	var ae *kiosk.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("Beat after a restart = %v, want a 401", err)
	}
	s, err = c.OpenBeatSession(ctx, "b1")
	must(t, err)
	if _, err := c.Beat(ctx, s, &qorgau.Heartbeat{Boot: "b1"}); err != nil {
		t.Errorf("Beat under the new session = %v", err)
	}
}

// TestBeatListenerRefusals: the heartbeat listener takes heartbeats and
// nothing else, and answers what it refuses as the JSON API does.
func TestBeatListenerRefusals(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	_, beatURL := withBeatListener(t, e, web.Config{RequireTOTP: true})
	base := strings.TrimSuffix(beatURL, "/api/terminal/v1/heartbeat/beat")
	hb := `{"boot":"b1"}`
	for _, c := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"another route", "POST", "/api/terminal/v1/heartbeat/session", hb, http.StatusNotFound},
		{"the console", "GET", "/", "", http.StatusNotFound},
		{"GET", "GET", "/api/terminal/v1/heartbeat/beat", "", http.StatusMethodNotAllowed},
		{"over fasthttp's limit", "POST", "/api/terminal/v1/heartbeat/beat", strings.Repeat("x", 70<<10), http.StatusRequestEntityTooLarge},
		{"no session", "POST", "/api/terminal/v1/heartbeat/beat", hb, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode != c.want || v["message"] == nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %v (%s), want %d with a JSON message", c.name, resp.StatusCode, v, resp.Header.Get("Content-Type"), c.want)
		}
	}
	// A request that is not HTTP.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	must(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/terminal/v1/heartbeat/beat HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 400") {
		t.Errorf("a malformed request was answered %q, want 400", line)
	}
}

// TestBeatListenerKioskClient: the kiosk's client sends its heartbeats to
// the listener the server names, and to the server's own route, under the
// same session, once the listener cannot be reached.
func TestBeatListenerKioskClient(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	counted := &countingListener{Listener: ln}
	beatURL := "http://" + ln.Addr().String() + "/api/terminal/v1/heartbeat/beat"
	tr := withFleet(t, e, web.Config{RequireTOTP: true, BeatURL: beatURL})
	bs := e.srv.NewBeatServer()
	go bs.Serve(counted)
	tm := e.enroll(t, "T-1")
	c := &kiosk.Client{Server: e.ts.URL, DeviceID: "T-1", Key: tm.priv, Now: func() time.Time { return e.now }}
	ctx := context.Background()
	s, err := c.OpenBeatSession(ctx, "b1")
	must(t, err)
	if s.URL != beatURL {
		t.Fatalf("session URL = %q, want the listener's %q", s.URL, beatURL)
	}
	e.now = e.now.Add(time.Second)
	if _, err := c.Beat(ctx, s, &qorgau.Heartbeat{Boot: "b1", Network: qorgau.NetworkUp}); err != nil {
		t.Fatal(err)
	}
	if counted.n.Load() == 0 {
		t.Fatal("the heartbeat did not reach the listener")
	}
	resp, err := http.Get(e.ts.URL + "/metrics")
	must(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `qorgau_http_requests_total{code="200",method="POST",route="POST /api/terminal/v1/heartbeat/beat (listener)"} 1`; !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %s", want)
	}
	must(t, bs.Shutdown(ctx))
	e.now = e.now.Add(time.Second)
	if _, err := c.Beat(ctx, s, &qorgau.Heartbeat{Boot: "b1", Network: qorgau.NetworkUp}); err != nil {
		t.Fatalf("Beat with the listener down = %v, want it sent to the server", err)
	}
	if at, _, _ := tr.LastSeen("T-1"); !at.Equal(e.now) || s.URL != "" {
		t.Errorf("LastSeen = %v (want %v), session URL %q (want the server's route)", at, e.now, s.URL)
	}

}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
