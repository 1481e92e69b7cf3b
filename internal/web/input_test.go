package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/store"
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
			why := "no account has this name"
			if strings.Contains(v, "\x00") {
				why = "NUL" // readJSON refuses it first
			}
			if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["message"]), why) {
				t.Errorf("API sign-in as %q = %d %v, want 400 saying %s", v, status, out, why)
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

// TestInputNotText checks that a NUL byte or bytes that are not UTF-8,
// anywhere a request carries text (path, query, form, JSON, the device
// header), and a query string or form that does not parse, get 400 with
// a reason and store nothing. On PostgreSQL each of these reached a text
// column and failed with 500; on SQLite they were taken, silently dropped
// (malformed pairs) or stored (a maintenance reason with a NUL).
func TestInputNotText(t *testing.T) {
	e := newEnv(t, web.Config{})
	tr := withFleet(t, e, web.Config{})
	tm := e.enroll(t, "T-1")
	form := func(reason string) string {
		return "from=2030-01-01T08:00&to=2030-01-01T18:00&reason=" + reason
	}
	tests := []struct {
		name         string
		role         qorgau.Role
		method, path string
		ctype, body  string
		want         int
		wantMsg      string
	}{
		{"NUL in a query", qorgau.RoleAdmin, "GET", "/devices?q=%00", "", "", 400, "query parameter"},
		{"not UTF-8 in a query", qorgau.RoleAdmin, "GET", "/devices?facility=EC-166-1%FF", "", "", 400, "query parameter"},
		{"not UTF-8 in a query name", qorgau.RoleAdmin, "GET", "/devices?%FF=1", "", "", 400, "query parameter name"},
		{"undecodable query", qorgau.RoleAdmin, "GET", "/devices?q=%zz", "", "", 400, "malformed query"},
		{"semicolon query", qorgau.RoleAdmin, "GET", "/devices?kind=camera;q=x", "", "", 400, "malformed query"},
		{"NUL in a path value", qorgau.RoleAdmin, "GET", "/facilities/EC-166-1%00", "", "", 400, "address"},
		{"not UTF-8 in a path value", qorgau.RoleNPM, "GET", "/fleet/facility/%C0", "", "", 400, "address"},
		{"NUL in an audit filter", qorgau.RoleAuditor, "GET", "/audit?actor=u-admin%00", "", "", 400, "query parameter"},
		{"NUL in an API filter", qorgau.RoleMember, "GET", "/api/v1/inbox?facility=%00", "", "", 400, "query parameter"},
		{"NUL in a console form", qorgau.RoleLiaison, "POST", "/fleet/facility/EC-166-1/maintenance",
			"application/x-www-form-urlencoded", form("new%00cables+in+block+1"), 400, "form field"},
		{"not UTF-8 in a console form", qorgau.RoleLiaison, "POST", "/fleet/facility/EC-166-1/maintenance",
			"application/x-www-form-urlencoded", form("new+cables+%FF"), 400, "form field"},
		{"undecodable console form", qorgau.RoleLiaison, "POST", "/fleet/facility/EC-166-1/maintenance",
			"application/x-www-form-urlencoded", form("new+cables+%zz"), 400, "malformed form"},
		{"oversized console form", qorgau.RoleLiaison, "POST", "/fleet/facility/EC-166-1/maintenance",
			"application/x-www-form-urlencoded", form(strings.Repeat("a", 3<<20)), 413, "2097152"},
		{"NUL in JSON", qorgau.RoleLiaison, "POST", "/api/v1/maintenance", "application/json",
			`{"from":"2030-01-01T08:00:00Z","to":"2030-01-01T18:00:00Z","reason":"new\u0000cables in block 1"}`, 400, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.snapshot()
			req, err := http.NewRequest(tt.method, e.ts.URL+tt.path, strings.NewReader(tt.body))
			must(t, err)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			token := e.session(tt.role).Value
			if strings.HasPrefix(tt.path, "/api/") {
				req.Header.Set("Authorization", "Bearer "+token)
			} else {
				req.AddCookie(&http.Cookie{Name: "qorgau_session", Value: token})
			}
			resp, err := e.client().Do(req)
			must(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !strings.Contains(html.UnescapeString(string(b)), tt.wantMsg) {
				t.Errorf("%s %s = %d, want %d saying %q; body:\n%.300s", tt.method, tt.path, resp.StatusCode, tt.want, tt.wantMsg, b)
			}
			before.check(t)
		})
	}

	// A terminal's JSON and its device header.
	before, _, _ := tr.LastSeen("T-1")
	if code, v := tm.sendJSON(t, "/api/terminal/v1/heartbeat", `{"boot":"b\u00001","network":"up"}`); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(v["message"]), "NUL") {
		t.Errorf("heartbeat with a NUL = %d %v, want 400 naming the NUL", code, v)
	}
	if after, _, _ := tr.LastSeen("T-1"); !after.Equal(before) {
		t.Errorf("a refused heartbeat moved last-seen from %v to %v", before, after)
	}
	odd := &terminal{e: e, id: "T-\xff", priv: tm.priv}
	if code, v := send(t, odd.signed("GET", "/api/terminal/v1/hello", nil, e.now, nonce())); code != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(v["message"]), "UTF-8") {
		t.Errorf("device header not UTF-8 = %d %v, want 401 saying so", code, v)
	}
}

// TestListParameters checks the parameters of the list routes: a flag of
// the inbox that is not 0 or 1 used to be read as 0 (overdue=true answered
// with every complaint), and a device page that is not a number as page 1,
// and one so large that its offset overflowed showed the first page.
func TestListParameters(t *testing.T) {
	e := newEnv(t, web.Config{})
	member, admin := e.session(qorgau.RoleMember), e.session(qorgau.RoleAdmin)
	tests := []struct {
		cookie  *http.Cookie
		path    string
		want    int
		wantMsg string
	}{
		{member, "/api/v1/inbox?overdue=1&torture=0&mine=", 200, ""},
		{member, "/api/v1/inbox?overdue=true", 400, "overdue"},
		{member, "/api/v1/inbox?torture=yes", 400, "torture"},
		{member, "/api/v1/inbox?mine=2", 400, "mine"},
		{member, "/inbox?overdue=on", 400, "overdue"},
		{admin, "/devices?page=1", 200, ""},
		{admin, "/devices?page=7", 200, ""},
		{admin, "/devices?page=abc", 400, "page"},
		{admin, "/devices?page=0", 400, "page"},
		{admin, "/devices?page=-1", 400, "page"},
		{admin, "/devices?page=92233720368547758", 400, "page"},
		{admin, "/devices?page=1e3", 400, "page"},
		{admin, "/facilities?region=KZ-35", 200, ""},
		{admin, "/facilities?region=KZ-99", 400, "unknown region"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var status int
			var msg string
			if strings.HasPrefix(tt.path, "/api/") {
				var out map[string]any
				status, out = e.apiCall("GET", tt.path, "", tt.cookie.Value)
				msg = fmt.Sprint(out["message"])
			} else {
				resp, body := e.do(e.client(), "GET", tt.path, nil, tt.cookie)
				status, msg = resp.StatusCode, html.UnescapeString(body)
			}
			if status != tt.want || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("GET %s = %d, want %d saying %q; message %.200q", tt.path, status, tt.want, tt.wantMsg, msg)
			}
		})
	}
}

// TestWrongMethod checks that a request with a method its address does not
// take gets 405 with the methods it does take, said like every other
// error (JSON under /api/, a page in the visitor's language elsewhere), and
// that an address nothing serves is 404 whatever the method. The console's
// catch-all used to be a GET route, so net/http answered every POST to an
// unknown address with 405 and listed GET in Allow where GET was a 404.
func TestWrongMethod(t *testing.T) {
	e := newEnv(t, web.Config{})
	member := e.session(qorgau.RoleMember)
	tests := []struct {
		method, path string
		want         int
		allow        string
		wantMsg      string
	}{
		{"PUT", "/api/v1/session", 405, "POST, DELETE", "does not take PUT"},
		{"GET", "/api/v1/session", 405, "POST, DELETE", "does not take GET"},
		{"DELETE", "/inbox", 405, "GET, HEAD", "Метод не поддерживается"},
		{"POST", "/healthz", 405, "GET, HEAD", "Метод не поддерживается"},
		{"POST", "/no-such-page", 404, "", "no page at /no-such-page"},
		{"PUT", "/api/v1/no-such-route", 404, "", "no page at /api/v1/no-such-route"},
		{"GET", "/no-such-page", 404, "", "no page at /no-such-page"},
		{"GET", "/static/", 404, "", "no page at /static/"}, // not a list of the files
		{"POST", "/static/style.css", 405, "GET, HEAD", "Метод не поддерживается"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			before := e.snapshot()
			resp, body := e.do(e.client(), tt.method, tt.path, nil, member)
			if resp.StatusCode != tt.want || resp.Header.Get("Allow") != tt.allow || !strings.Contains(html.UnescapeString(body), tt.wantMsg) {
				t.Errorf("%s %s = %d, Allow %q; want %d, Allow %q, saying %q:\n%.300s",
					tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), tt.want, tt.allow, tt.wantMsg, body)
			}
			if api := strings.HasPrefix(tt.path, "/api/"); api != strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s answered %s", tt.method, tt.path, resp.Header.Get("Content-Type"))
			}
			before.check(t)
		})
	}
}

// TestContentTypeCase checks that a media type is matched as RFC 9110
// says, without regard to case or parameters, and that a type that only
// starts like the right one is still refused.
func TestContentTypeCase(t *testing.T) {
	e := newEnv(t, web.Config{})
	for _, tt := range []struct {
		ct   string
		want int
	}{
		{"application/json", 401},
		{"Application/JSON", 401},
		{"application/json ; charset=UTF-8", 401},
		{"application/jsonx", 415},
		{"application/json-seq", 415},
		{"text/plain", 415},
		{"", 415},
	} {
		before := e.snapshot()
		req, err := http.NewRequest("POST", e.ts.URL+"/api/v1/session", strings.NewReader(`{"name":"nobody","password":"x"}`))
		must(t, err)
		req.Header.Set("Content-Type", tt.ct)
		resp, err := e.client().Do(req)
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("sign-in with Content-Type %q = %d %s, want %d", tt.ct, resp.StatusCode, body, tt.want)
		}
		if tt.want == 415 {
			before.check(t)
		}
	}
}

// TestAuditPagerKeepsFilter checks that the audit page's "older" link
// carries the filter over, escaped: an actor is also "cli:<OS user>", and
// an OS user name may hold '+', ' ' or '&', which pasted into the address
// unescaped gave the next page of another actor, or of everyone.
func TestAuditPagerKeepsFilter(t *testing.T) {
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	const actor = "cli:a+b c&d"
	for i := range 101 {
		must(t, e.db.AppendAudit(ctx, &qorgau.AuditRecord{At: e.now, Actor: actor, Action: qorgau.AuditExport, Target: fmt.Sprintf("page-test-%03d", i)}))
	}
	auditor := e.session(qorgau.RoleAuditor)
	resp, page := e.do(e.client(), "GET", "/audit?actor="+url.QueryEscape(actor), nil, auditor)
	m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("first page = %d with no older link", resp.StatusCode)
	}
	resp, page = e.do(e.client(), "GET", html.UnescapeString(m[1]), nil, auditor)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "page-test-000") || strings.Contains(page, "page-test-001") || strings.Contains(page, "EC-166") {
		t.Errorf("the older page (%s) = %d, want only the filtered actor's oldest record:\n%.400s", m[1], resp.StatusCode, page)
	}
}

// TestInboxPages checks that an inbox longer than a page is paged, in the
// console and in the API, with the filters kept from page to page. Both
// used to stop at a fixed number of rows (500, 1,000) without a word.
func TestInboxPages(t *testing.T) {
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	var list []*store.Complaint
	for i := range 250 {
		list = append(list, &store.Complaint{ID: int64(i), Idem: fmt.Sprintf("idem-%d", i), Device: "T-1", Facility: "EC-166-1", Region: "KZ-35",
			Category: qorgau.CategoryMedical, LookupID: "00", Received: e.now,
			Bodies: []store.ComplaintBody{{Body: "PROS-KZ-35", State: qorgau.StateDelivered, Delivered: e.now, Due: e.now.AddDate(0, 0, 10+i%7)}}})
	}
	must(t, e.db.SaveComplaints(ctx, list))
	member := e.session(qorgau.RoleMember)
	rowRe := regexp.MustCompile(`<td class="num"><a href="/inbox/(\d+)">`)
	seen := map[string]bool{}
	next := "/inbox?facility=EC-166-1"
	for page := 1; next != ""; page++ {
		resp, body := e.do(e.client(), "GET", next, nil, member)
		if resp.StatusCode != http.StatusOK || page > 2 {
			t.Fatalf("inbox page %d (%s) = %d", page, next, resp.StatusCode)
		}
		rows := rowRe.FindAllStringSubmatch(body, -1)
		for _, m := range rows {
			if seen[m[1]] {
				t.Errorf("complaint %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		if want := []int{200, 50}[page-1]; len(rows) != want {
			t.Errorf("inbox page %d shows %d complaints, want %d", page, len(rows), want)
		}
		next = ""
		if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
			if !strings.Contains(next, "facility=EC-166-1") || !strings.Contains(next, "page=2") {
				t.Errorf("the next page's link %q does not keep the filter", next)
			}
		}
	}
	if len(seen) != 250 {
		t.Errorf("the pages showed %d complaints, want all 250", len(seen))
	}

	ids := map[float64]bool{}
	path := "/api/v1/inbox?facility=EC-166-1&limit=100"
	for calls := 0; path != ""; calls++ {
		status, out := e.apiCall("GET", path, "", member.Value)
		items, _ := out["complaints"].([]any)
		if status != http.StatusOK || calls > 2 {
			t.Fatalf("GET %s = %d %v", path, status, out["message"])
		}
		for _, it := range items {
			ids[it.(map[string]any)["id"].(float64)] = true
		}
		path, _ = out["next"].(string)
		if want := []int{100, 100, 50}[calls]; len(items) != want || (path == "") != (calls == 2) {
			t.Errorf("API call %d: %d complaints, next %q; want %d", calls, len(items), path, want)
		}
	}
	if len(ids) != 250 {
		t.Errorf("the API's pages held %d complaints, want all 250", len(ids))
	}
	if status, out := e.apiCall("GET", "/api/v1/inbox", "", member.Value); status != http.StatusOK || len(out["complaints"].([]any)) != 250 || out["next"] != nil {
		t.Errorf("the whole inbox in one answer = %d, next %v", status, out["next"])
	}
	for _, bad := range []string{"limit=0", "limit=1001", "limit=x", "offset=-1", "offset=99999999999"} {
		if status, out := e.apiCall("GET", "/api/v1/inbox?"+bad, "", member.Value); status != http.StatusBadRequest {
			t.Errorf("GET /api/v1/inbox?%s = %d %v, want 400", bad, status, out["message"])
		}
	}
}
