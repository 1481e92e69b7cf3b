package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/web"
)

// allow is the expected role table: for every route, the roles that may
// use it. It is written out here, apart from routes.go, so that a change of
// access shows up as a failing test, and a new route without an entry
// fails too.
var allow = map[string][]qorgau.Role{
	"GET /healthz":                   nil,
	"GET /readyz":                    nil,
	"GET /metrics":                   nil,
	"GET /static/":                   nil,
	"/":                              nil,
	"POST /lang":                     nil,
	"GET /login":                     nil,
	"POST /login":                    nil,
	"GET /login/totp":                nil,
	"POST /login/totp":               nil,
	"GET /login/totp-setup":          nil,
	"POST /login/totp-setup":         nil,
	"GET /login/password":            nil,
	"POST /login/password":           nil,
	"POST /logout":                   nil,
	"GET /{$}":                       {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison, qorgau.RoleAuditor},
	"GET /facilities":                {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /facilities/{code}":         {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /devices":                   {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /audit":                     {qorgau.RoleAdmin, qorgau.RoleAuditor},
	"POST /audit/verify":             {qorgau.RoleAdmin, qorgau.RoleAuditor},
	"GET /users":                     {qorgau.RoleAdmin},
	"GET /inbox":                     {qorgau.RoleMember},
	"GET /inbox/{id}":                {qorgau.RoleMember},
	"GET /inbox/{id}/voice":          {qorgau.RoleMember},
	"POST /inbox/{id}/reply":         {qorgau.RoleMember},
	"POST /inbox/{id}/extend":        {qorgau.RoleMember},
	"POST /inbox/{id}/close":         {qorgau.RoleMember},
	"POST /inbox/{id}/redirect":      {qorgau.RoleMember},
	"POST /inbox/{id}/code":          {qorgau.RoleMember},
	"POST /inbox/{id}/clear-flag":    {qorgau.RoleMember},
	"POST /inbox/{id}/approve-clear": {qorgau.RoleMember},
	"POST /inbox/{id}/assign":        {qorgau.RoleMember},
	"GET /notices":                   {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM},
	"POST /notices/{id}/read":        {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM},
	"POST /notices/read-all":         {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM},
	"GET /tests":                     {qorgau.RoleMember, qorgau.RoleNPM},
	"POST /tests":                    {qorgau.RoleMember, qorgau.RoleNPM},

	"GET /api/v1/openapi.json":                     nil,
	"GET /api/v1/stats":                            nil,
	"POST /api/v1/session":                         nil,
	"DELETE /api/v1/session":                       {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison, qorgau.RoleAuditor},
	"GET /api/v1/inbox":                            {qorgau.RoleMember},
	"GET /api/v1/complaints/{id}":                  {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/reply":           {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/extend":          {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/close":           {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/redirect":        {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/assign":          {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/clear-flag":      {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/approve-clear":   {qorgau.RoleMember},
	"GET /api/v1/complaints/{id}/voice":            {qorgau.RoleMember},
	"POST /api/v1/complaints/{id}/code":            {qorgau.RoleMember},
	"GET /stats":                                   nil,
	"GET /stats.csv":                               nil,
	"POST /api/terminal/v1/enroll":                 nil,
	"GET /api/terminal/v1/hello":                   nil,
	"GET /api/terminal/v1/directory":               nil,
	"GET /api/terminal/v1/facility":                nil,
	"POST /api/terminal/v1/complaints":             nil,
	"POST /api/terminal/v1/test-codes/check":       nil,
	"GET /api/terminal/v1/complaints/{id}/receipt": nil,
	"GET /api/terminal/v1/followup/{lookup}":       nil,
	"POST /api/terminal/v1/complaints/{id}/read":   nil,
	"GET /log/checkpoint":                          nil,
	"GET /log/key":                                 nil,
	"GET /log/tile/{path...}":                      nil,

	"POST /api/terminal/v1/heartbeat":         nil,
	"POST /api/terminal/v1/heartbeat/session": nil,
	"POST /api/terminal/v1/heartbeat/beat":    nil,
	"POST /api/terminal/v1/journal":           nil,
	"POST /api/terminal/v1/usage":             nil,
	"POST /api/v1/devices/heartbeats":         nil,
	"POST /api/v1/maintenance":                {qorgau.RoleLiaison},
	"POST /fleet/facility/{code}/maintenance": {qorgau.RoleLiaison},
	"GET /fleet":                  {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /fleet/events":           {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /fleet/facility/{code}":  {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /fleet/availability":     {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /fleet/availability.csv": {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
	"GET /fleet/availability.pdf": {qorgau.RoleAdmin, qorgau.RoleMember, qorgau.RoleNPM, qorgau.RoleLiaison},
}

// terminalOnly are the routes only a signed terminal request may use; every
// staff session and anonymous visitor gets 401.
var terminalOnly = map[string]bool{
	"GET /api/terminal/v1/hello":                   true,
	"GET /api/terminal/v1/directory":               true,
	"GET /api/terminal/v1/facility":                true,
	"POST /api/terminal/v1/complaints":             true,
	"POST /api/terminal/v1/test-codes/check":       true,
	"GET /api/terminal/v1/complaints/{id}/receipt": true,
	"GET /api/terminal/v1/followup/{lookup}":       true,
	"POST /api/terminal/v1/complaints/{id}/read":   true,
	"POST /api/terminal/v1/heartbeat":              true,
	"POST /api/terminal/v1/heartbeat/session":      true,
	"POST /api/terminal/v1/journal":                true,
	"POST /api/terminal/v1/usage":                  true,
}

// sourceOnly are the routes only a camera source's bearer token opens;
// every staff session and anonymous visitor gets 401.
var sourceOnly = map[string]bool{
	"POST /api/v1/devices/heartbeats": true,
}

// beatOnly are the routes only a heartbeat session's MAC opens; every
// staff session and anonymous visitor gets 401.
var beatOnly = map[string]bool{
	"POST /api/terminal/v1/heartbeat/beat": true,
}

// ownerNarrowed are routes a role of the table may use only by what it
// owns: test complaints belong to members of an NPM body, and the table's
// member belongs to a prosecutor's office, so it gets 403 there.
// TestMonitorTestsAccess checks both sides.
var ownerNarrowed = map[string]qorgau.Role{
	"GET /tests":  qorgau.RoleMember,
	"POST /tests": qorgau.RoleMember,
}

// concrete turns a route pattern into a request path; wildcards take values
// the liaison may see, so that role, not ownership, decides.
func concrete(pattern string) (method, path string) {
	if pattern == "/" {
		return http.MethodGet, "/no-such-page"
	}
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "{code}", "EC-166-1")
	path = strings.ReplaceAll(path, "{id}", "0")
	path = strings.ReplaceAll(path, "{lookup}", "00000000000000000000000000000000")
	path = strings.ReplaceAll(path, "{path...}", "0/000")
	if strings.HasSuffix(path, "/static/") {
		path += "style.css"
	}
	return method, path
}

func TestRoleTable(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	routes := e.srv.Routes()
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.Pattern] = true
		want, ok := allow[rt.Pattern]
		if !ok {
			t.Errorf("route %q has no entry in the role table of this test: add one", rt.Pattern)
			continue
		}
		if (rt.Access == web.Staff) != (want != nil) {
			t.Errorf("route %q: access %v, but the test table says roles %v", rt.Pattern, rt.Access, want)
		}
		if (rt.Access == web.Terminal) != terminalOnly[rt.Pattern] {
			t.Errorf("route %q: access %v, but the test table says terminal-only %v", rt.Pattern, rt.Access, terminalOnly[rt.Pattern])
		}
		method, path := concrete(rt.Pattern)
		var form url.Values
		if method == http.MethodPost {
			form = url.Values{}
		}
		if (rt.Access == web.Source) != sourceOnly[rt.Pattern] {
			t.Errorf("route %q: access %v, but the test table says source-only %v", rt.Pattern, rt.Access, sourceOnly[rt.Pattern])
		}
		if (rt.Access == web.Beat) != beatOnly[rt.Pattern] {
			t.Errorf("route %q: access %v, but the test table says heartbeat-session-only %v", rt.Pattern, rt.Access, beatOnly[rt.Pattern])
		}
		if rt.Access == web.Terminal || rt.Access == web.Source || rt.Access == web.Beat {
			for _, role := range append([]qorgau.Role{""}, qorgau.Roles...) {
				var c *http.Cookie
				if role != "" {
					c = e.session(role)
				}
				if resp, _ := e.do(e.client(), method, path, form, c); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s as %q without a terminal signature or source token = %d, want 401", rt.Pattern, role, resp.StatusCode)
				}
			}
			continue
		}
		if rt.Access == web.Staff {
			resp, _ := e.do(e.client(), method, path, form, nil)
			switch {
			case strings.HasPrefix(path, "/api/"):
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s anonymous = %d, want 401", rt.Pattern, resp.StatusCode)
				}
			case resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login"):
				t.Errorf("%s anonymous = %d %s, want 303 to /login", rt.Pattern, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		for _, role := range qorgau.Roles {
			allowed := rt.Access != web.Staff
			for _, r := range want {
				allowed = allowed || r == role
			}
			resp, _ := e.do(e.client(), method, path, form, e.session(role))
			got := resp.StatusCode
			switch {
			case allowed && got == http.StatusForbidden && ownerNarrowed[rt.Pattern] == role:
			case allowed && (got == http.StatusForbidden || got >= 500 ||
				got == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login?")):
				t.Errorf("%s as %s = %d (%s), want allowed", rt.Pattern, role, got, resp.Header.Get("Location"))
			case !allowed && got != http.StatusForbidden:
				t.Errorf("%s as %s = %d, want 403", rt.Pattern, role, got)
			}
		}
	}
	for p := range allow {
		if !seen[p] {
			t.Errorf("the test table lists %q, which is not a route", p)
		}
	}
}

// TestLiaisonSeesOwnFacilityOnly checks the ownership rule the role table
// cannot: a liaison sees its own facility and nothing of another.
func TestLiaisonSeesOwnFacilityOnly(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	c := e.client()
	tests := []struct {
		path       string
		wantStatus int
		wantIn     string
		wantNotIn  string
	}{
		{"/facilities/EC-166-1", http.StatusOK, "Colony 1", ""},
		{"/facilities/EC-166-2", http.StatusForbidden, "", "Colony 2"},
		{"/facilities", http.StatusSeeOther, "", ""},
		{"/devices", http.StatusOK, "C-1", "C-2"},
		{"/devices?facility=EC-166-2", http.StatusForbidden, "", "C-2"},
		{"/devices?region=KZ-35", http.StatusOK, "C-1", "C-2"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := e.do(c, "GET", tt.path, nil, e.session(qorgau.RoleLiaison))
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("GET %s as liaison = %d, want %d", tt.path, resp.StatusCode, tt.wantStatus)
			}
			if tt.wantIn != "" && !strings.Contains(body, tt.wantIn) {
				t.Errorf("GET %s as liaison lacks %q", tt.path, tt.wantIn)
			}
			if tt.wantNotIn != "" && strings.Contains(body, tt.wantNotIn) {
				t.Errorf("GET %s as liaison shows %q of another facility", tt.path, tt.wantNotIn)
			}
		})
	}
	// Other roles see both facilities.
	_, body := e.do(c, "GET", "/facilities", nil, e.session(qorgau.RoleNPM))
	if !strings.Contains(body, "EC-166-1") || !strings.Contains(body, "EC-166-2") {
		t.Error("the NPM coordinator does not see every facility")
	}
	resp, _ := e.do(c, "GET", "/facilities/NOPE", nil, e.session(qorgau.RoleAdmin))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /facilities/NOPE = %d, want 404", resp.StatusCode)
	}
	resp, _ = e.do(c, "GET", "/devices?kind=toaster", nil, e.session(qorgau.RoleAdmin))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /devices?kind=toaster = %d, want 400", resp.StatusCode)
	}
}
