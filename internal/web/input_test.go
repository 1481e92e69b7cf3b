package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/web"
)

// The tests of this file send what a hostile or clumsy client sends and
// check that each gets a 4xx that says why, and that nothing was stored.

// unchanged snapshots what a refused request must not change: the audit
// chain, the liaison's maintenance windows and the terminal's key.
type unchanged struct {
	e           *env
	audit       int
	maintenance int
	keyed       bool
}

func (e *env) snapshot() unchanged {
	e.t.Helper()
	ctx := context.Background()
	recs, err := e.db.AuditRecords(ctx, qorgau.AuditFilter{Limit: 1 << 20})
	must(e.t, err)
	maint, err := e.db.MaintenanceWindows(ctx, "EC-166-1", time.Time{}, e.now.AddDate(100, 0, 0))
	must(e.t, err)
	_, err = e.db.DeviceKey(ctx, "T-1")
	return unchanged{e: e, audit: len(recs), maintenance: len(maint), keyed: err == nil}
}

func (u unchanged) check(t *testing.T) {
	t.Helper()
	if now := u.e.snapshot(); now != u {
		t.Errorf("a refused request changed the database: audit records %d → %d, maintenance windows %d → %d, T-1 enrolled %v → %v",
			u.audit, now.audit, u.maintenance, now.maintenance, u.keyed, now.keyed)
	}
}

// TestJSONBodyLimit checks that the staff API and terminal enrolment
// refuse an oversized JSON body with 413, before reading it all: the staff
// API had no bound at all, so that anyone could make the server read and
// hold any amount through POST /api/v1/session.
func TestJSONBodyLimit(t *testing.T) {
	e := newEnv(t, web.Config{})
	huge := strings.Repeat("a", 3<<20)
	tests := []struct {
		name, path string
		role       qorgau.Role
		body       string
		limit      int
	}{
		{"anonymous sign-in", "/api/v1/session", "", `{"name":"` + huge + `","password":"x"}`, 2 << 20},
		{"member's reply", "/api/v1/complaints/1/reply", qorgau.RoleMember, `{"text":"` + huge + `"}`, 2 << 20},
		{"liaison's maintenance", "/api/v1/maintenance", qorgau.RoleLiaison,
			`{"from":"2030-01-01T00:00:00Z","to":"2030-01-02T00:00:00Z","reason":"` + huge + `"}`, 2 << 20},
		{"terminal enrolment", "/api/terminal/v1/enroll", "", `{"token":"` + strings.Repeat("a", 8<<10) + `","public_key":"x"}`, 4 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			token := ""
			if tt.role != "" {
				token = e.session(tt.role).Value
			}
			status, out := e.apiCall("POST", tt.path, tt.body, token)
			if status != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(out["message"]), fmt.Sprint(tt.limit)) {
				t.Errorf("POST %s with a %d-byte body = %d %v, want 413 naming the limit %d", tt.path, len(tt.body), status, out, tt.limit)
			}
			before.check(t)
		})
	}
}

// TestSignInNameNoAccountHas checks that a sign-in with a name no account
// can have (qorgau.ValidCode) is refused with 400 before the throttle and
// the audit: both recorded whatever was typed, so that an anonymous client
// could write megabytes into the append-only audit chain per request, and
// lock an address out with names that cannot exist.
func TestSignInNameNoAccountHas(t *testing.T) {
	e := newEnv(t, web.Config{})
	names := map[string]string{
		"NUL":         "u-admin\x00",
		"not UTF-8":   "\xff\xfe",
		"long":        strings.Repeat("a", 100<<10),
		"space":       "u admin",
		"markup":      "<b>u-admin</b>",
		"65 bytes":    strings.Repeat("a", 65),
		"leading dot": ".u-admin",
	}
	for name, v := range names {
		t.Run(name, func(t *testing.T) {
			before := e.snapshot()
			resp, body := e.do(e.client(), "POST", "/login", login(v, testPassword), nil)
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, v) {
				t.Errorf("console login as %q = %d, want 400 without echoing the name", v, resp.StatusCode)
			}
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/session", strings.NewReader(`{"name":"`+strings.ReplaceAll(v, "\x00", `\u0000`)+`","password":"`+testPassword+`"}`))
			req.Header.Set("Content-Type", "application/json")
			status, out := send(t, req)
			if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["message"]), "no account has this name") {
				t.Errorf("API sign-in as %q = %d %v, want 400 saying no account has this name", v, status, out)
			}
			before.check(t)
		})
	}
	// None of it counted against the address: the right name and password
	// still pass after more refusals than the address throttle allows.
	for range 40 {
		e.apiCall("POST", "/api/v1/session", `{"name":"no such\u0000name","password":"x"}`, "")
	}
	if status, out := e.apiCall("POST", "/api/v1/session", `{"name":"u-admin","password":"`+testPassword+`"}`, ""); status != http.StatusCreated {
		t.Errorf("sign-in after refused names = %d %v, want 201", status, out)
	}
}
