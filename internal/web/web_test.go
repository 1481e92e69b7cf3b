package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/auth"
	"qorgau.kz/qorgau/internal/store"
	"qorgau.kz/qorgau/internal/web"
)

// fastParams keep Argon2id cheap in tests; production uses auth.DefaultParams.
var fastParams = auth.Params{Memory: 1024, Time: 1, Threads: 1}

const testPassword = "correct-horse-battery"

// env is a console over a real SQLite store with a small registry and one
// user per role.
type env struct {
	t     *testing.T
	db    *store.DB
	srv   *web.Server
	ts    *httptest.Server
	users map[qorgau.Role]*qorgau.User
	now   time.Time
}

func newEnv(t *testing.T, cfg web.Config) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	must(t, db.SaveFacilities(ctx, []qorgau.Facility{
		{Code: "EC-166-1", Name: "Colony 1", Region: "KZ-35", Type: qorgau.ColonyMedium, Authority: "KUIS", Capacity: 1000, Population: 900},
		{Code: "EC-166-2", Name: "Colony 2", Region: "KZ-35", Type: qorgau.ColonyMaximum, Authority: "KUIS", Capacity: 800, Population: 700},
	}, nil))
	must(t, db.SaveZones(ctx, []qorgau.Zone{
		{Facility: "EC-166-1", Code: "B1", Name: "Block 1", Kind: qorgau.ZoneCellBlock},
		{Facility: "EC-166-2", Code: "B1", Name: "Block 1", Kind: qorgau.ZoneCellBlock},
	}, nil))
	must(t, db.SaveDevices(ctx, []qorgau.Device{
		{ID: "T-1", Kind: qorgau.DeviceTerminal, Facility: "EC-166-1", Zone: "B1", Interval: 60},
		{ID: "C-1", Kind: qorgau.DeviceCamera, Facility: "EC-166-1", Zone: "B1", Interval: 30},
		{ID: "C-2", Kind: qorgau.DeviceCamera, Facility: "EC-166-2", Zone: "B1", Interval: 30},
	}, nil))
	must(t, db.SaveBodies(ctx, []qorgau.Body{
		{Code: "PROS-KZ-35", Kind: qorgau.BodyProsecutor, Region: "KZ-35", NameKK: "a", NameRU: "b", NameEN: "c"},
	}, nil))
	e := &env{t: t, db: db, users: map[qorgau.Role]*qorgau.User{}, now: time.Now()}
	hash, err := auth.HashPassword(testPassword, fastParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range qorgau.Roles {
		u := &qorgau.User{Name: "u-" + string(role), Role: role, PasswordHash: hash}
		switch role {
		case qorgau.RoleMember:
			u.Body = "PROS-KZ-35"
		case qorgau.RoleLiaison:
			u.Facility = "EC-166-1"
		}
		must(t, db.CreateUser(ctx, u, nil))
		e.users[role] = u
	}
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	e.srv, err = web.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Now = func() time.Time { return e.now }
	e.srv.PasswordParams = fastParams
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// session returns a cookie of a complete session of the role's user,
// made directly in the store.
func (e *env) session(role qorgau.Role) *http.Cookie {
	e.t.Helper()
	token, id := auth.NewToken()
	must(e.t, e.db.CreateSession(context.Background(), &qorgau.Session{ID: id, UserID: e.users[role].ID, Stage: qorgau.StageFull}))
	return &http.Cookie{Name: "qorgau_session", Value: token}
}

// client returns an HTTP client with a cookie jar that does not follow
// redirects, so tests see each step.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) do(c *http.Client, method, path string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) auditActions(actor string) []string {
	e.t.Helper()
	recs, err := e.db.AuditRecords(context.Background(), qorgau.AuditFilter{Actor: actor})
	must(e.t, err)
	var out []string
	for i := len(recs) - 1; i >= 0; i-- {
		out = append(out, recs[i].Action)
	}
	return out
}
