package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"qorgau.kz/qorgau/internal/web"
)

// TestTerminalFacility checks that an enrolled terminal learns its own
// facility and zones, and nothing of another facility.
func TestTerminalFacility(t *testing.T) {
	e := newEnv(t, web.Config{RequireTOTP: true})
	tm := e.enroll(t, "T-1")
	code, v := send(t, tm.signed("GET", "/api/terminal/v1/facility", nil, e.now, nonce()))
	if code != http.StatusOK {
		t.Fatalf("facility = %d %v", code, v)
	}
	if v["code"] != "EC-166-1" || v["name"] != "Colony 1" || v["region"] != "KZ-35" {
		t.Errorf("facility = %v, want EC-166-1, Colony 1, KZ-35", v)
	}
	zones, _ := v["zones"].([]any)
	if len(zones) != 1 {
		t.Fatalf("zones = %v, want the one zone of EC-166-1", v["zones"])
	}
	z := zones[0].(map[string]any)
	if z["code"] != "B1" || z["name"] != "Block 1" || z["kind"] == "" {
		t.Errorf("zone = %v", z)
	}
	if s := fmt.Sprint(v); strings.Contains(s, "EC-166-2") || strings.Contains(s, "Colony 2") {
		t.Errorf("the answer mentions another facility: %s", s)
	}
	// Unsigned, it is refused.
	resp, err := http.Get(e.ts.URL + "/api/terminal/v1/facility")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned facility request = %d, want 401", resp.StatusCode)
	}
}
