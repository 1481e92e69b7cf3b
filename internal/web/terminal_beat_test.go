package web_test

import (
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
	"net/http"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
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
	return &beatSession{tm: tm, id: id, key: key, mac: qorgau.NewBeatHMAC(key)}
}

// beat sends body under the session with counter n; change, if not nil,
// alters the request after the MAC was computed, as an attacker would.
func (s *beatSession) beat(t *testing.T, n uint64, body string, change func(*http.Request)) (int, map[string]any, *http.Response) {
	t.Helper()
	mac := qorgau.BeatMAC(nil, s.mac, s.id, n, []byte(body))
	req, _ := http.NewRequest("POST", s.tm.e.ts.URL+"/api/terminal/v1/heartbeat/beat", strings.NewReader(body))
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

func TestBeatSession(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	must(t, e.db.SaveDevices(context.Background(), []qorgau.Device{
		{ID: "T-2", Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Zone: "B1", Interval: 60}}, nil))
	tr := withFleet(t, e, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	s := tm.openBeat(t)
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
	if code, _, _ := (&beatSession{tm: tm, id: s.id, mac: s2.mac}).beat(t, 10, hb, nil); code != http.StatusUnauthorized {
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
