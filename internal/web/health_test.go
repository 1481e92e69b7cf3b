package web_test

import (
	"net/http"
	"strings"
	"testing"

	"qorgau.kz/qorgau"
	"qorgau.kz/qorgau/internal/web"
)

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	c := e.client()
	resp, body := e.do(c, "GET", "/healthz", nil, nil)
	if resp.StatusCode != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", resp.StatusCode, body)
	}
	resp, body = e.do(c, "GET", "/readyz", nil, nil)
	if resp.StatusCode != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz = %d %q", resp.StatusCode, body)
	}
	e.do(c, "GET", "/facilities", nil, e.session(qorgau.RoleAdmin))
	e.do(c, "GET", "/nowhere", nil, nil)
	resp, body = e.do(c, "GET", "/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics = %d", resp.StatusCode)
	}
	for _, want := range []string{
		`qorgau_http_requests_total{code="200",method="GET",route="GET /facilities"} 1`,
		`qorgau_http_requests_total{code="404",method="GET",route="/"} 1`,
		`qorgau_http_request_duration_seconds_bucket{method="GET",route="GET /healthz"`,
		`go_sql_open_connections{db_name="qorgau_write"}`,
		`go_sql_max_open_connections{db_name="qorgau_write"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A database that has gone away makes /readyz say so; /healthz stays up.
	e.db.Close()
	resp, body = e.do(c, "GET", "/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready") {
		t.Errorf("/readyz with the database closed = %d %q, want 503", resp.StatusCode, body)
	}
	resp, _ = e.do(c, "GET", "/healthz", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz with the database closed = %d, want 200", resp.StatusCode)
	}
}
