package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/web"
)

// apiCall sends a JSON request with an optional bearer token.
func (e *env) apiCall(method, path, body, token string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	must(e.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client().Do(req)
	must(e.t, err)
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestAPISignIn(t *testing.T) {
	e := newEnv(t, web.Config{})
	member := e.users[qorgau.RoleMember].Name

	status, out := e.apiCall("POST", "/api/v1/session", `{"name":"`+member+`","password":"`+testPassword+`"}`, "")
	if status != http.StatusCreated {
		t.Fatalf("sign-in: %d %v", status, out)
	}
	token, _ := out["token"].(string)
	if token == "" || out["role"] != "member" || out["body"] != "PROS-KZ-35" {
		t.Fatalf("sign-in answer %v", out)
	}
	if status, out := e.apiCall("GET", "/api/v1/inbox", "", token); status != http.StatusOK || out["body"] != "PROS-KZ-35" {
		t.Fatalf("inbox with the token: %d %v", status, out)
	}
	if !slices.Contains(e.auditActions(member), qorgau.AuditLogin) {
		t.Errorf("no login audit record for the API sign-in: %v", e.auditActions(member))
	}

	// A bearer token opens the API only, never the console.
	req, _ := http.NewRequest("GET", e.ts.URL+"/inbox", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.client().Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("console page with a bearer token: %d %s, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The role table holds for token sessions too.
	status, out = e.apiCall("POST", "/api/v1/session", `{"name":"`+e.users[qorgau.RoleLiaison].Name+`","password":"`+testPassword+`"}`, "")
	if status != http.StatusCreated {
		t.Fatalf("liaison sign-in: %d %v", status, out)
	}
	if status, _ := e.apiCall("GET", "/api/v1/inbox", "", out["token"].(string)); status != http.StatusForbidden {
		t.Errorf("liaison token on the inbox: %d, want 403", status)
	}

	// Signing out ends the session.
	if status, out := e.apiCall("DELETE", "/api/v1/session", "", token); status != http.StatusNoContent {
		t.Fatalf("sign-out: %d %v", status, out)
	}
	if status, out := e.apiCall("GET", "/api/v1/inbox", "", token); status != http.StatusUnauthorized || out["error"] != "unauthorized" {
		t.Errorf("inbox after sign-out: %d %v, want 401", status, out)
	}
	// So does idleness.
	status, out = e.apiCall("POST", "/api/v1/session", `{"name":"`+member+`","password":"`+testPassword+`"}`, "")
	if status != http.StatusCreated {
		t.Fatal(status, out)
	}
	e.now = e.now.Add(2 * time.Hour)
	if status, _ := e.apiCall("GET", "/api/v1/inbox", "", out["token"].(string)); status != http.StatusUnauthorized {
		t.Errorf("idle token: %d, want 401", status)
	}
}

func TestAPISignInRefusals(t *testing.T) {
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	npm := e.users[qorgau.RoleNPM]
	secret, err := auth.NewTOTPSecret("test", npm.Name)
	must(t, err)
	npm.TOTPSecret = secret
	must(t, e.db.UpdateUser(ctx, npm, false, nil))
	admin := e.users[qorgau.RoleAdmin]
	admin.MustChangePassword = true
	must(t, e.db.UpdateUser(ctx, admin, false, nil))
	code, err := auth.TOTPCode(secret, e.now)
	must(t, err)

	for _, tt := range []struct {
		name, body, ctype string
		want              int
	}{
		{"wrong password", `{"name":"` + npm.Name + `","password":"nope","totp":"` + code + `"}`, "application/json", 401},
		{"no such user", `{"name":"ghost","password":"` + testPassword + `"}`, "application/json", 401},
		{"missing TOTP", `{"name":"` + npm.Name + `","password":"` + testPassword + `"}`, "application/json", 401},
		{"one-time password not yet replaced", `{"name":"` + admin.Name + `","password":"` + testPassword + `"}`, "application/json", 403},
		{"malformed JSON", `{"name":`, "application/json", 400},
		{"unknown field", `{"name":"a","password":"b","role":"admin"}`, "application/json", 400},
		{"form instead of JSON", `name=a&password=b`, "application/x-www-form-urlencoded", 415},
	} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/session", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ctype)
		resp, err := e.client().Do(req)
		must(t, err)
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != tt.want || out["token"] != nil || out["message"] == "" {
			t.Errorf("%s: %d %v, want %d with a message and no token", tt.name, resp.StatusCode, out, tt.want)
		}
	}
	// With the code, the second factor passes.
	status, out := e.apiCall("POST", "/api/v1/session", `{"name":"`+npm.Name+`","password":"`+testPassword+`","totp":"`+code+`"}`, "")
	if status != http.StatusCreated || out["token"] == "" {
		t.Fatalf("sign-in with TOTP: %d %v", status, out)
	}
	// Failures count towards the throttle: after five, even the right
	// password waits.
	for range 5 {
		e.apiCall("POST", "/api/v1/session", `{"name":"`+npm.Name+`","password":"wrong"}`, "")
	}
	if status, out := e.apiCall("POST", "/api/v1/session", `{"name":"`+npm.Name+`","password":"`+testPassword+`","totp":"`+code+`"}`, ""); status != http.StatusTooManyRequests {
		t.Errorf("after 5 failures: %d %v, want 429", status, out)
	}
}
