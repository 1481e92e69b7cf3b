package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestOpenAPICoversEveryRoute checks that /api/v1/openapi.json describes
// exactly the /api/v1 routes of the route table, with the same methods.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	b, err := assets.ReadFile("static/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	s := &Server{mux: http.NewServeMux()}
	s.registerRoutes()
	routed := map[string]bool{}
	for _, rt := range s.routes {
		if strings.Contains(rt.Pattern, " /api/v1/") {
			routed[rt.Pattern] = true
			if !documented[rt.Pattern] {
				t.Errorf("route %s is not in openapi.json", rt.Pattern)
			}
		}
	}
	if len(routed) < 5 {
		t.Fatalf("found %d /api/v1 routes: the test is not looking at the route table", len(routed))
	}
	for p := range documented {
		if !routed[p] {
			t.Errorf("openapi.json documents %s, which is not a route", p)
		}
	}
}
