package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/fleet"
	"qorgau.kz/qorgau/internal/tlog"
	"qorgau.kz/qorgau/internal/web"
)

// withStandby restarts e's server as one of several on a database, as
// serve wires it: a complaint log opened as a standby, a fleet watch that
// asks it whether it is one, and a heartbeat listener. It returns the log,
// the tracker and the listener's base URL; nothing runs yet.
func withStandby(t *testing.T, e *env) (*tlog.Log, *fleet.Tracker, string) {
	t.Helper()
	ctx := context.Background()
	skey, vkey, err := tlog.GenerateKey("qorgau.test/log")
	must(t, err)
	signer, _, err := tlog.NewSigner(skey)
	must(t, err)
	lg, err := tlog.Open(ctx, e.db, tlog.Config{Origin: "qorgau.test/log", Signer: signer, VerifierKey: vkey, Standby: true})
	must(t, err)
	tr, err := fleet.Load(ctx, e.db, fleet.Config{SweepEvery: 20 * time.Millisecond, Standby: lg.IsStandby,
		Now: func() time.Time { return e.now }})
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	base := "http://" + ln.Addr().String()
	e.srv, err = web.New(e.db, slog.New(slog.NewTextHandler(io.Discard, nil)), web.Config{RequireTOTP: true, Version: "test",
		Log: lg, Fleet: tr, BeatURL: base + "/api/terminal/v1/heartbeat/beat"})
	must(t, err)
	e.srv.Now = func() time.Time { return e.now }
	e.srv.PasswordParams = fastParams
	e.ts.Close()
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	bs := e.srv.NewBeatServer()
	go bs.Serve(ln)
	t.Cleanup(func() { bs.Shutdown(context.Background()) })
	return lg, tr, base
}

// sendFull sends req and returns the response, its body closed, and the
// body decoded as JSON.
func sendFull(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp, v
}

// TestStandby: a standby of the complaint log tells load balancers, on
// /readyz, not to send it traffic, and answers every report that feeds
// the fleet watch with 503 and Retry-After, so that no terminal or
// camera feeds a tracker that does not watch; its console pages work.
// Once it leads, it is ready and takes heartbeats.
func TestStandby(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	lg, tr, beatBase := withStandby(t, e)
	tm := e.enroll(t, "T-1")
	token := e.addSource(t, qorgau.CameraSource{Name: "vms-1", Facility: "EC-166-1"})
	before, _, _ := tr.LastSeen("T-1")
	e.now = e.now.Add(time.Second) // so that a heartbeat taken would show
	c := e.client()

	resp, body := e.do(c, "GET", "/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || body != "standby: another server is the complaint log's sequencer\n" {
		t.Errorf("/readyz on a standby = %d %q, want 503 saying it is a standby", resp.StatusCode, body)
	}
	if resp, _ := e.do(c, "GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz on a standby = %d, want 200: the process is healthy", resp.StatusCode)
	}
	if resp, _ := e.do(c, "GET", "/fleet", nil, e.session(qorgau.RoleAdmin)); resp.StatusCode != http.StatusOK {
		t.Errorf("/fleet on a standby = %d, want 200: console pages work when reached directly", resp.StatusCode)
	}

	signedJSON := func(path string, v any) *http.Request {
		b, _ := json.Marshal(v)
		req := tm.signed("POST", path, b, e.now, nonce())
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	underSession := func(base string) *http.Request {
		req, _ := http.NewRequest("POST", base+"/api/terminal/v1/heartbeat/beat", strings.NewReader(`{"boot":"b1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(qorgau.HeaderSession, "a-session-of-the-leader")
		req.Header.Set(qorgau.HeaderCounter, "7")
		req.Header.Set(qorgau.HeaderMAC, strings.Repeat("A", 43))
		return req
	}
	batch := func() *http.Request {
		b := fmt.Sprintf(`{"heartbeats":[{"device":"C-1","time":%q,"ok":true}]}`, e.now.UTC().Format(time.RFC3339))
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/devices/heartbeats", strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
	maintenance := func() *http.Request {
		b := fmt.Sprintf(`{"from":%q,"to":%q,"reason":"new screens"}`,
			e.now.Add(time.Hour).UTC().Format(time.RFC3339), e.now.Add(2*time.Hour).UTC().Format(time.RFC3339))
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/maintenance", strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(e.session(qorgau.RoleLiaison))
		return req
	}
	for _, r := range []struct {
		name string
		req  func() *http.Request
	}{
		{"signed heartbeat", func() *http.Request {
			return signedJSON("/api/terminal/v1/heartbeat", qorgau.Heartbeat{Boot: "b1", Sent: e.now})
		}},
		{"heartbeat session", func() *http.Request {
			return signedJSON("/api/terminal/v1/heartbeat/session", qorgau.BeatSessionOpen{Boot: "b1", Ephemeral: make([]byte, 32)})
		}},
		{"heartbeat under a session", func() *http.Request { return underSession(e.ts.URL) }},
		{"heartbeat under a session, to the listener", func() *http.Request { return underSession(beatBase) }},
		{"journal", func() *http.Request {
			return signedJSON("/api/terminal/v1/journal", map[string]any{"entries": journalChain(0, qorgau.JournalGenesis, e.now, qorgau.JournalBoot)})
		}},
		{"usage", func() *http.Request {
			return signedJSON("/api/terminal/v1/usage", qorgau.UsageReport{Day: e.now.Format(time.DateOnly)})
		}},
		{"camera batch", batch},
		{"maintenance", maintenance},
	} {
		resp, v := sendFull(t, r.req())
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" || v["error"] != qorgau.EUNAVAILABLE {
			t.Errorf("%s on a standby = %d, Retry-After %q, %v; want 503, Retry-After 2, error %q",
				r.name, resp.StatusCode, resp.Header.Get("Retry-After"), v, qorgau.EUNAVAILABLE)
		}
	}
	if after, _, _ := tr.LastSeen("T-1"); !after.Equal(before) {
		t.Errorf("the standby's tracker took a heartbeat: last seen moved from %v to %v", before, after)
	}
	if seq, _, _ := e.db.JournalHead(context.Background(), "T-1"); seq != 0 {
		t.Errorf("the standby stored a journal, up to %d", seq)
	}

	// The server takes the lock (on SQLite at once) and the watch.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go lg.Lead(ctx, 20*time.Millisecond)
	go tr.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := e.do(c, "GET", "/readyz", nil, nil)
		hb, v := sendFull(t, signedJSON("/api/terminal/v1/heartbeat", qorgau.Heartbeat{Boot: "b1", Sent: e.now}))
		if resp.StatusCode == http.StatusOK && body == "ready\n" && hb.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after it leads: /readyz = %d %q, heartbeat = %d %v; want both 200", resp.StatusCode, body, hb.StatusCode, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, r := range []func() *http.Request{batch, maintenance} {
		if resp, v := sendFull(t, r()); resp.StatusCode >= 300 {
			t.Errorf("%s %s on the leader = %d %v", r().Method, r().URL.Path, resp.StatusCode, v)
		}
	}
	s := tm.openBeat(t)
	if code, v, _ := s.beat(t, 1, `{"boot":"b1"}`, nil); code != http.StatusOK {
		t.Errorf("heartbeat under a session on the leader = %d %v", code, v)
	}
}
