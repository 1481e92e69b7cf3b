package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/web"
)

// addNPM adds an NPM body and a member of it to the env.
func (e *env) addNPM(t *testing.T) *qorgau.User {
	t.Helper()
	ctx := context.Background()
	must(t, e.db.SaveBodies(ctx, []qorgau.Body{{Code: "NPM", Kind: qorgau.BodyNPM, NameKK: "ҰАТ", NameRU: "НПМ", NameEN: "NPM"}}, nil))
	u := &qorgau.User{Name: "u-npm-member", Role: qorgau.RoleMember, Body: "NPM", PasswordHash: e.users[qorgau.RoleMember].PasswordHash}
	must(t, e.db.CreateUser(ctx, u, nil))
	return u
}

func (e *env) sessionOf(u *qorgau.User) *http.Cookie {
	e.t.Helper()
	saved := e.users[u.Role]
	e.users[u.Role] = u
	defer func() { e.users[u.Role] = saved }()
	return e.session(u.Role)
}

// TestNoticesConsole checks who sees which notice, the unread count in the
// header, marking read, and the text in each language.
func TestNoticesConsole(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	ctx := context.Background()
	npmMember := e.addNPM(t)
	save := func(n *qorgau.Notice) int64 {
		t.Helper()
		if _, err := e.db.SaveNotice(ctx, n, false); err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	overdue := save(&qorgau.Notice{Kind: qorgau.NoticeOverdue, Bodies: []string{"PROS-KZ-35"}, Complaint: 7, Facility: "EC-166-1", Key: "overdue/7/PROS-KZ-35", Text: "late"})
	test := save(&qorgau.Notice{Kind: qorgau.NoticeTestDelivered, Bodies: []string{"NPM"}, Complaint: 9, Key: "test_delivered/9", Text: "test"})
	down := save(&qorgau.Notice{Kind: qorgau.NoticeTerminalDown, Bodies: []string{"PROS-KZ-35", "NPM"}, Device: "T-1", Facility: "EC-166-1", Key: "terminal_down/T-1/1", Text: "down"})

	member, npm, admin := e.session(qorgau.RoleMember), e.session(qorgau.RoleNPM), e.session(qorgau.RoleAdmin)
	get := func(c *http.Cookie, lang string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", e.ts.URL+"/notices", nil)
		req.AddCookie(c)
		req.AddCookie(&http.Cookie{Name: "qorgau_lang", Value: lang})
		resp, err := e.client().Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name   string
		cookie *http.Cookie
		see    []string
		notSee []string
	}{
		{"prosecutor's member", member, []string{"The answer to complaint No. 7 is late", "Terminal T-1 has not been working"}, []string{"Test complaint No. 9"}},
		{"NPM member", e.sessionOf(npmMember), []string{"Test complaint No. 9 arrived", "Terminal T-1"}, []string{"complaint No. 7"}},
		{"NPM coordinator", npm, []string{"Test complaint No. 9 arrived", "Terminal T-1"}, []string{"complaint No. 7"}},
		{"administrator", admin, []string{"complaint No. 7", "Test complaint No. 9", "Terminal T-1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(tt.cookie, "en")
			if status != http.StatusOK {
				t.Fatalf("GET /notices = %d", status)
			}
			for _, s := range tt.see {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q", s)
				}
			}
			for _, s := range tt.notSee {
				if strings.Contains(body, s) {
					t.Errorf("shows %q of another body", s)
				}
			}
			if !strings.Contains(body, `aria-label="2 unread"`) && tt.name != "administrator" {
				t.Errorf("the header does not count 2 unread notices")
			}
		})
	}
	// Kazakh and Russian from the same fields.
	if _, body := get(member, "kk"); !strings.Contains(body, "№ 7 шағымға жауап беру мерзімі өтіп кетті") || !strings.Contains(body, "T-1 терминалы") {
		t.Error("the Kazakh page lacks the notices in Kazakh")
	}
	if _, body := get(member, "ru"); !strings.Contains(body, "Ответ на жалобу № 7 просрочен") {
		t.Error("the Russian page lacks the notices in Russian")
	}

	// Marking read: one, then another body's (refused), then all.
	post := func(c *http.Cookie, path string) int {
		resp, _ := e.do(e.client(), "POST", path, nil, c)
		return resp.StatusCode
	}
	if got := post(member, fmt.Sprintf("/notices/%d/read", overdue)); got != http.StatusSeeOther {
		t.Fatalf("mark read = %d, want 303", got)
	}
	if _, body := get(member, "en"); !strings.Contains(body, `aria-label="1 unread"`) {
		t.Error("after one is read the header does not count 1 unread")
	}
	if got := post(member, fmt.Sprintf("/notices/%d/read", test)); got != http.StatusNotFound {
		t.Errorf("marking another body's notice read = %d, want 404", got)
	}
	if got := post(member, "/notices/abc/read"); got != http.StatusBadRequest {
		t.Errorf("marking notice abc read = %d, want 400", got)
	}
	if got := post(member, "/notices/read-all"); got != http.StatusSeeOther {
		t.Fatalf("mark all read = %d", got)
	}
	if _, body := get(member, "en"); strings.Contains(body, "unread") || strings.Contains(body, fmt.Sprintf(`action="/notices/%d/read"`, down)) {
		t.Error("after all are read the page still shows unread notices")
	}
	// Read marks are per person: the NPM coordinator's are untouched.
	if _, body := get(npm, "en"); !strings.Contains(body, `aria-label="2 unread"`) {
		t.Error("another user's read marks changed the coordinator's count")
	}
}

// TestMonitorTestsAccess checks that test codes are made by the NPM only:
// its coordinators and the members of an NPM body, not another body's
// members, and that a code is shown once and audited.
func TestMonitorTestsAccess(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	npmMember := e.addNPM(t)
	prosecutor := e.session(qorgau.RoleMember)
	for _, path := range []string{"/tests"} {
		if resp, _ := e.do(e.client(), "GET", path, nil, prosecutor); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a prosecutor's member = %d, want 403", path, resp.StatusCode)
		}
		if resp, _ := e.do(e.client(), "POST", path, nil, prosecutor); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s as a prosecutor's member = %d, want 403", path, resp.StatusCode)
		}
	}
	if _, body := e.do(e.client(), "GET", "/", nil, prosecutor); strings.Contains(body, `href="/tests"`) {
		t.Error("a prosecutor's member is offered the test page")
	}
	code := regexp.MustCompile(`id="test-code">([0-9]{4} [0-9]{4} [0-9]{4} [0-9]{4})</output>`)
	for _, c := range []struct {
		name   string
		actor  string
		cookie *http.Cookie
	}{
		{"NPM coordinator", "u-npm", e.session(qorgau.RoleNPM)},
		{"NPM member", npmMember.Name, e.sessionOf(npmMember)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, body := e.do(e.client(), "GET", "/", nil, c.cookie); !strings.Contains(body, `href="/tests"`) {
				t.Error("the header offers no test page")
			}
			resp, body := e.do(e.client(), "POST", "/tests", nil, c.cookie)
			m := code.FindStringSubmatch(body)
			if resp.StatusCode != http.StatusOK || m == nil {
				t.Fatalf("POST /tests = %d, shows no code", resp.StatusCode)
			}
			_, body = e.do(e.client(), "GET", "/tests", nil, c.cookie)
			if strings.Contains(body, m[1]) || strings.Contains(body, strings.ReplaceAll(m[1], " ", "")) {
				t.Error("the code is shown again")
			}
			if !strings.Contains(body, "not used yet") && !strings.Contains(body, "ещё не использован") {
				t.Error("the new code is not listed as unused")
			}
			if got := e.auditActions(c.actor); len(got) == 0 || got[len(got)-1] != qorgau.AuditTestCodeIssued {
				t.Errorf("audit of %s = %v, want %s last", c.actor, got, qorgau.AuditTestCodeIssued)
			}
		})
	}
}
