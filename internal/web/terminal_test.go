package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/web"
)

// terminal is a test double of the kiosk agent's client side: it signs its
// requests as the real agent does.
type terminal struct {
	e    *env
	id   string
	priv ed25519.PrivateKey
}

// enroll issues a token for device and enrols a new key with it.
func (e *env) enroll(t *testing.T, device string) *terminal {
	t.Helper()
	token, id := auth.NewToken()
	must(t, e.db.CreateEnrollmentToken(context.Background(), id, device, e.now.Add(24*time.Hour), nil))
	pub, priv, _ := ed25519.GenerateKey(nil)
	body := fmt.Sprintf(`{"token":%q,"public_key":%q}`, token, base64.StdEncoding.EncodeToString(pub))
	resp, b := e.post(t, "/api/terminal/v1/enroll", "application/json", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enroll = %d %s", resp.StatusCode, b)
	}
	return &terminal{e: e, id: device, priv: priv}
}

func (e *env) post(t *testing.T, path, ctype, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(e.ts.URL+path, ctype, strings.NewReader(body))
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func nonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signed builds a signed request; change, if not nil, alters it after
// signing, as an attacker would.
func (tm *terminal) signed(method, path string, body []byte, at time.Time, n string) *http.Request {
	dr := qorgau.DeviceRequest{Method: method, Path: path, Body: body, DeviceID: tm.id, Time: at, Nonce: n}
	req, _ := http.NewRequest(method, tm.e.ts.URL+path, bytes.NewReader(body))
	req.Header.Set(qorgau.HeaderDevice, tm.id)
	req.Header.Set(qorgau.HeaderTimestamp, fmt.Sprint(at.Unix()))
	req.Header.Set(qorgau.HeaderNonce, n)
	req.Header.Set(qorgau.HeaderSignature, dr.Sign(tm.priv))
	return req
}

func send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestTerminalEnroll(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true, Terminal: web.TerminalConfig{LogKey: "log+1+AA", ReplySalt: []byte("salt")}})
	ctx := context.Background()
	token, id := auth.NewToken()
	must(t, e.db.CreateEnrollmentToken(ctx, id, "T-1", e.now.Add(24*time.Hour), nil))
	pub, _, _ := ed25519.GenerateKey(nil)
	good := fmt.Sprintf(`{"token":%q,"public_key":%q}`, token, base64.StdEncoding.EncodeToString(pub))

	bad := []struct {
		name, ctype, body string
		want              int
	}{
		{"wrong content type", "text/plain", good, http.StatusUnsupportedMediaType},
		{"malformed JSON", "application/json", `{"token":`, http.StatusBadRequest},
		{"unknown field", "application/json", `{"token":"x","public_key":"y","admin":true}`, http.StatusBadRequest},
		{"short key", "application/json", `{"token":"x","public_key":"AAAA"}`, http.StatusBadRequest},
		{"unknown token", "application/json", fmt.Sprintf(`{"token":"nope","public_key":%q}`, base64.StdEncoding.EncodeToString(pub)), http.StatusUnauthorized},
	}
	for _, tt := range bad {
		resp, body := e.post(t, "/api/terminal/v1/enroll", tt.ctype, tt.body)
		if resp.StatusCode != tt.want || !strings.Contains(body, `"message"`) {
			t.Errorf("enroll with %s = %d %s, want %d with a message", tt.name, resp.StatusCode, body, tt.want)
		}
	}
	if _, err := e.db.DeviceKey(ctx, "T-1"); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		t.Fatalf("bad enrolments left a key: %v", err)
	}
	resp, body := e.post(t, "/api/terminal/v1/enroll", "application/json", good)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"facility":"EC-166-1"`) || !strings.Contains(body, `"log_key":"log+1+AA"`) {
		t.Fatalf("enroll = %d %s", resp.StatusCode, body)
	}
	resp, _ = e.post(t, "/api/terminal/v1/enroll", "application/json", good)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second use of a token = %d, want 401", resp.StatusCode)
	}
}

func TestTerminalSignedRequests(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	path := "/api/terminal/v1/hello"

	code, v := send(t, tm.signed("GET", path, nil, e.now, nonce()))
	if code != http.StatusOK || v["device"] != "T-1" {
		t.Fatalf("signed hello = %d %v", code, v)
	}

	replayed := tm.signed("GET", path, nil, e.now, nonce())
	if code, _ := send(t, replayed.Clone(context.Background())); code != http.StatusOK {
		t.Fatalf("first use = %d", code)
	}

	other := &terminal{e: e, id: "T-1"}
	_, other.priv, _ = ed25519.GenerateKey(nil)
	unknown := &terminal{e: e, id: "T-404", priv: tm.priv}

	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"replayed nonce", replayed, http.StatusUnauthorized},
		{"stale timestamp", tm.signed("GET", path, nil, e.now.Add(-10*time.Minute), nonce()), http.StatusUnauthorized},
		{"future timestamp", tm.signed("GET", path, nil, e.now.Add(10*time.Minute), nonce()), http.StatusUnauthorized},
		{"another key", other.signed("GET", path, nil, e.now, nonce()), http.StatusUnauthorized},
		{"unknown device", unknown.signed("GET", path, nil, e.now, nonce()), http.StatusUnauthorized},
		{"short nonce", tm.signed("GET", path, nil, e.now, "abc"), http.StatusUnauthorized},
	}
	noHeaders, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	tests = append(tests, struct {
		name string
		req  *http.Request
		want int
	}{"no signature headers", noHeaders, http.StatusUnauthorized})
	tampered := tm.signed("GET", path, nil, e.now, nonce())
	tampered.Header.Set(qorgau.HeaderDevice, "T-2")
	tests = append(tests, struct {
		name string
		req  *http.Request
		want int
	}{"device header changed", tampered, http.StatusUnauthorized})
	garbled := tm.signed("GET", path, nil, e.now, nonce())
	garbled.Header.Set(qorgau.HeaderSignature, "not-a-signature!")
	tests = append(tests, struct {
		name string
		req  *http.Request
		want int
	}{"signature not base64url", garbled, http.StatusUnauthorized})
	for _, tt := range tests {
		code, v := send(t, tt.req)
		if code != tt.want || v["message"] == nil {
			t.Errorf("%s = %d %v, want %d with a message", tt.name, code, v, tt.want)
		}
	}

	// A revoked terminal is refused with 403 and a reason, at the latest
	// when its cached key expires.
	must(t, e.db.RevokeDeviceKey(context.Background(), "T-1", nil))
	e.now = e.now.Add(6 * time.Second)
	code, v = send(t, tm.signed("GET", path, nil, e.now, nonce()))
	if code != http.StatusForbidden || !strings.Contains(fmt.Sprint(v["message"]), "retired") {
		t.Errorf("revoked terminal = %d %v, want 403 saying retired", code, v)
	}
}

func TestTerminalBodyLimit(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true, MaxTerminalBody: 1024})
	tm := e.enroll(t, "T-1")
	code, v := send(t, tm.signed("GET", "/api/terminal/v1/hello", bytes.Repeat([]byte("x"), 2048), e.now, nonce()))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(v["message"]), "1024") {
		t.Errorf("oversized body = %d %v, want 413 naming the limit", code, v)
	}
}
