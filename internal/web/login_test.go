package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/seal"
	"qorgau.kz/qorgau/internal/web"
)

func login(name, password string) url.Values {
	return url.Values{"name": {name}, "password": {password}, "next": {"/"}}
}

func TestLoginWithTOTP(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	ctx := context.Background()
	u := e.users[qorgau.RoleMember]
	secret, err := auth.NewTOTPSecret("Qorgau", u.Name)
	must(t, err)
	u.TOTPSecret = secret
	must(t, e.db.UpdateUser(ctx, u, false, nil))

	c := e.client()
	resp, _ := e.do(c, "GET", "/facilities", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Ffacilities" {
		t.Fatalf("GET /facilities anonymous = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, body := e.do(c, "POST", "/login", login(u.Name, "wrong-password-here"), nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "alert") {
		t.Fatalf("wrong password = %d, want 401 with a message", resp.StatusCode)
	}

	resp, _ = e.do(c, "POST", "/login", login(u.Name, testPassword), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/totp" {
		t.Fatalf("right password = %d %s, want 303 to /login/totp", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := sessionCookie(t, resp)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", cookie)
	}
	// Half logged in: the console is still closed.
	resp, _ = e.do(c, "GET", "/facilities", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/totp" {
		t.Fatalf("GET /facilities before TOTP = %d %s, want 303 to /login/totp", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.do(c, "POST", "/login/totp", url.Values{"code": {"000000"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong TOTP code = %d, want 401", resp.StatusCode)
	}
	code, err := auth.TOTPCode(secret, e.now)
	must(t, err)
	resp, _ = e.do(c, "POST", "/login/totp", url.Values{"code": {code}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("right TOTP code = %d %s, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = e.do(c, "GET", "/facilities", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "EC-166-1") {
		t.Fatalf("GET /facilities after login = %d", resp.StatusCode)
	}

	// Idle for longer than the timeout: the session is gone.
	e.now = e.now.Add(31 * time.Minute)
	resp, _ = e.do(c, "GET", "/facilities", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("GET /facilities after 31 idle minutes = %d %s, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}

	want := []string{qorgau.AuditLoginFailed, qorgau.AuditTOTPFailed, qorgau.AuditLogin}
	if got := e.auditActions(u.Name); !slices.Equal(got, want) {
		t.Errorf("audit of %s = %v, want %v", u.Name, got, want)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: false})
	c := e.client()
	resp, _ := e.do(c, "POST", "/login", login("u-admin", testPassword), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login without TOTP required = %d %s, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.do(c, "POST", "/logout", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	resp, _ = e.do(c, "GET", "/", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("GET / after logout = %d, want a redirect to /login", resp.StatusCode)
	}
	if got := e.auditActions("u-admin"); !slices.Equal(got, []string{qorgau.AuditLogin, qorgau.AuditLogout}) {
		t.Errorf("audit = %v", got)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: false})
	c := e.client()
	for i := 0; i < 5; i++ {
		resp, _ := e.do(c, "POST", "/login", login("u-npm", "not-the-password"), nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	// Now even the right password is refused, with a clear message.
	resp, body := e.do(c, "POST", "/login", login("u-npm", testPassword), nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth attempt = %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "15") {
		t.Errorf("throttle message does not say how many minutes to wait: %s", between(body, `role="alert">`, "</p>"))
	}
	// Another account from the same address is not locked by this one's failures.
	resp, _ = e.do(c, "POST", "/login", login("u-admin", testPassword), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another account = %d, want 303", resp.StatusCode)
	}
	// After the window the account may try again.
	e.now = e.now.Add(16 * time.Minute)
	resp, _ = e.do(e.client(), "POST", "/login", login("u-npm", testPassword), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window = %d, want 303", resp.StatusCode)
	}
	if got := e.auditActions("u-npm"); !slices.Contains(got, qorgau.AuditLoginThrottled) {
		t.Errorf("audit %v lacks %s", got, qorgau.AuditLoginThrottled)
	}
}

func TestOneTimePasswordAndEnrolment(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	ctx := context.Background()
	u := e.users[qorgau.RoleAuditor]
	u.MustChangePassword = true
	must(t, e.db.UpdateUser(ctx, u, false, nil))
	c := e.client()

	resp, _ := e.do(c, "POST", "/login", login(u.Name, testPassword), nil)
	if resp.Header.Get("Location") != "/login/password" {
		t.Fatalf("login with a one-time password goes to %q, want /login/password", resp.Header.Get("Location"))
	}
	for _, tt := range []struct {
		name, pw, again string
	}{
		{"mismatch", "a-good-long-password", "a-good-long-passw0rd"},
		{"short", "short", "short"},
		{"contains name", "my-" + u.Name + "-pass", "my-" + u.Name + "-pass"},
		{"same as before", testPassword, testPassword},
	} {
		resp, _ := e.do(c, "POST", "/login/password", url.Values{"password": {tt.pw}, "again": {tt.again}}, nil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("new password %s = %d, want 400", tt.name, resp.StatusCode)
		}
	}
	resp, _ = e.do(c, "POST", "/login/password", url.Values{"password": {"a-good-long-password"}, "again": {"a-good-long-password"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/totp-setup" {
		t.Fatalf("good new password = %d %s, want 303 to /login/totp-setup", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := e.do(c, "GET", "/login/totp-setup", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "data:image/png;base64,") {
		t.Fatalf("enrolment page = %d, want a QR code", resp.StatusCode)
	}
	secret := between(body, `<code id="secret">`, "</code>")
	if len(secret) < 16 {
		t.Fatalf("enrolment page shows secret %q", secret)
	}
	resp, _ = e.do(c, "POST", "/login/totp-setup", url.Values{"secret": {secret}, "code": {"123456"}}, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("enrolment with a wrong code = %d, want 400", resp.StatusCode)
	}
	code, _ := auth.TOTPCode(secret, e.now)
	resp, _ = e.do(c, "POST", "/login/totp-setup", url.Values{"secret": {secret}, "code": {code}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("enrolment = %d %s, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	stored, err := e.db.UserByName(ctx, u.Name)
	must(t, err)
	if stored.TOTPSecret != secret || stored.MustChangePassword {
		t.Errorf("stored user: totp %q, must change %v", stored.TOTPSecret, stored.MustChangePassword)
	}
	if ok, _ := auth.CheckPassword(stored.PasswordHash, "a-good-long-password"); !ok {
		t.Error("the new password was not stored")
	}
	want := []string{qorgau.AuditPasswordChange, qorgau.AuditTOTPEnrolled, qorgau.AuditLogin}
	if got := e.auditActions(u.Name); !slices.Equal(got, want) {
		t.Errorf("audit = %v, want %v", got, want)
	}
}

func TestDisabledUserCannotLogIn(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: false})
	u := e.users[qorgau.RoleNPM]
	u.Disabled = true
	must(t, e.db.UpdateUser(context.Background(), u, true, nil))
	resp, _ := e.do(e.client(), "POST", "/login", login(u.Name, testPassword), nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled user login = %d, want 401", resp.StatusCode)
	}
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: false})
	req, _ := http.NewRequest("POST", e.ts.URL+"/login", strings.NewReader(login("u-admin", testPassword).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := e.client().Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /login = %d, want 403", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", e.ts.URL+"/logout", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.AddCookie(e.session(qorgau.RoleAdmin))
	resp, err = e.client().Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST /logout = %d, want 403", resp.StatusCode)
	}
}

func TestSecureCookies(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: false, SecureCookies: true})
	resp, _ := e.do(e.client(), "POST", "/login", login("u-admin", testPassword), nil)
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-qorgau_session" {
			found = c.Secure && c.HttpOnly && c.SameSite == http.SameSiteStrictMode && c.Path == "/"
		}
	}
	if !found {
		t.Errorf("with SecureCookies the session cookie is %v, want __Host- prefixed, Secure, HttpOnly, SameSite=Strict", resp.Cookies())
	}
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: false})
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		f := login("u-admin", testPassword)
		f.Set("next", next)
		resp, _ := e.do(e.client(), "POST", "/login", f, nil)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("login with next=%q redirects to %q, want /", next, loc)
		}
	}
	f := login("u-admin", testPassword)
	f.Set("next", "/devices?kind=camera")
	resp, _ := e.do(e.client(), "POST", "/login", f, nil)
	if loc := resp.Header.Get("Location"); loc != "/devices?kind=camera" {
		t.Errorf("login with a local next redirects to %q", loc)
	}
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "qorgau_session" {
			return c
		}
	}
	t.Fatal("no session cookie set")
	return nil
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

// TestMemberKeyAtFirstPassword checks that a member's key is made when the
// member chooses a password, wrapped with it, and not before.
func TestMemberKeyAtFirstPassword(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: false})
	ctx := context.Background()
	u := e.users[qorgau.RoleMember]
	u.MustChangePassword = true
	must(t, e.db.UpdateUser(ctx, u, false, nil))
	if _, err := e.db.MemberKey(ctx, u.ID); qorgau.ErrorCode(err) != qorgau.ENOTFOUND {
		t.Fatalf("member key before the first password = %v, want none", err)
	}
	c := e.client()
	e.do(c, "POST", "/login", login(u.Name, testPassword), nil)
	resp, _ := e.do(c, "POST", "/login/password", url.Values{"password": {"my-own-long-password"}, "again": {"my-own-long-password"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("new password = %d", resp.StatusCode)
	}
	k, err := e.db.MemberKey(ctx, u.ID)
	if err != nil {
		t.Fatalf("member key after the first password: %v", err)
	}
	if _, err := seal.UnwrapMemberKey(k.Wrapped, "my-own-long-password"); err != nil {
		t.Errorf("the member key does not open with the member's password: %v", err)
	}
	if _, err := seal.UnwrapMemberKey(k.Wrapped, testPassword); err == nil {
		t.Error("the member key opens with the one-time password")
	}
}
